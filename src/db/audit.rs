//! The audit log: one row per change made through the API, written in the change's own
//! transaction (so a change and its record land together or not at all).

use super::accounts::in_subtree_sql;
use super::models::{now, rfc3339};
use super::schema::audit::{self, dsl};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;
use serde_json::{json, Value};

/// Where a change came from: the client address and the request id.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub actor: Option<String>,
}

impl Meta {
    /// The same, with the acting user.
    pub fn by(mut self, actor: &str) -> Meta {
        self.actor = Some(actor.to_string());
        self
    }
}

#[derive(Queryable, Insertable, Debug)]
#[diesel(table_name = audit)]
pub struct Entry {
    pub id: String,
    pub created: i64,
    pub actor_id: Option<String>,
    pub account_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Entry {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "time": rfc3339(self.created),
            "actorId": self.actor_id,
            "accountId": self.account_id,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "requestId": self.request_id,
        })
    }
}

/// Record one change to `account` (the account it affects), of `target` (what it touched).
pub fn record(
    conn: &mut DbConn,
    meta: &Meta,
    action: &str,
    account: Option<&str>,
    target: Option<&str>,
) -> QueryResult<()> {
    let entry = Entry {
        id: crate::ids::new_id(),
        created: now(),
        actor_id: meta.actor.clone(),
        account_id: account.map(str::to_string),
        action: action.to_string(),
        target: target.map(str::to_string),
        ip: meta.ip.clone(),
        request_id: meta.request_id.clone(),
    };
    diesel::insert_into(audit::table)
        .values(&entry)
        .execute(conn)
        .map(|_| ())
}

/// The log, newest last; `scope`: the entries of that account's tree (None: all).
pub fn list(conn: &mut DbConn, scope: Option<&str>, page: &PageRequest) -> QueryResult<Vec<Entry>> {
    let mut q = dsl::audit.into_boxed();
    if let Some(root) = scope {
        q = q.filter(in_subtree_sql("audit.account_id", root));
    }
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::action).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

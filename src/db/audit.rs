//! The audit log: one row per change made through the API, written in the change's own
//! transaction (so a change and its record land together or not at all).

use super::models::now;
use super::schema::audit::{self, dsl};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

/// Where a change came from: the client address and the request id.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub ip: Option<String>,
    /// The client's `User-Agent` (printable, at most 256 characters), for its sessions.
    pub user_agent: Option<String>,
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
    pub account_path: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Record one change to `account` (the account it affects), of `target` (what it touched).
pub fn record(
    conn: &mut DbConn,
    meta: &Meta,
    action: &str,
    account: Option<&str>,
    target: Option<&str>,
) -> QueryResult<()> {
    let account_path = match account {
        Some(a) => Some(path_of(conn, a)?),
        None => None,
    };
    let entry = Entry {
        account_path,
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
        .execute(conn)?;
    // The same change as an event, in the same transaction (the outbox).
    super::events::record(conn, &entry)
}

/// `/id/id/.../`: the account and its ancestors (in any order: only membership is asked).
pub(super) fn path_of(conn: &mut DbConn, account: &str) -> QueryResult<String> {
    use super::schema::accounts::dsl as a;
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let ids: Vec<String> = a::accounts
        .select(a::id)
        .filter(
            sql::<Bool>("accounts.id IN (WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM accounts WHERE id = ")
                .bind::<Text, _>(account.to_string())
                .sql(" UNION ALL SELECT x.id, x.parent_id FROM accounts x JOIN up ON x.id = up.parent_id) SELECT id FROM up)"),
        )
        .load(conn)?;
    // A deleted account (recorded after its removal) still names itself.
    let mut path = format!("/{account}/");
    for id in ids.iter().filter(|i| *i != account) {
        path.push_str(id);
        path.push('/');
    }
    Ok(path)
}

/// LIKE pattern matching `/id/` anywhere, with `_` in the id matching only itself.
pub(super) fn path_pattern(id: &str) -> String {
    let mut out = String::from("%/");
    for ch in id.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push_str("/%");
    out
}

/// The log, newest last; `scope`: the entries of that account's tree (None: all).
pub fn list(conn: &mut DbConn, scope: Option<&str>, page: &PageRequest) -> QueryResult<Vec<Entry>> {
    let mut q = dsl::audit.into_boxed();
    // The tree as it was when each entry was written, not as it is now.
    if let Some(root) = scope {
        q = q.filter(dsl::account_path.like(path_pattern(root)).escape('\\'));
    }
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::action).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

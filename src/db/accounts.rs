//! Account rows and the account tree.

use super::models::Account;
use super::schema::accounts::{self, dsl};
use super::{Db, DbConn};
use crate::pagination::PageRequest;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// Which accounts a list may show.
pub enum Scope {
    All,
    /// The account and all its descendants.
    Subtree(String),
    Only(String),
}

/// `column IN (the subtree rooted at root)`: one recursive query, never one per node.
pub fn in_subtree_sql<T>(
    column: &'static str,
    root: &str,
) -> Box<dyn BoxableExpression<T, Db, SqlType = Bool>>
where
    T: 'static,
{
    Box::new(
        sql::<Bool>(&format!(
            "{column} IN (WITH RECURSIVE sub(id) AS (SELECT id FROM accounts WHERE id = "
        ))
        .bind::<Text, _>(root.to_string())
        .sql(" UNION ALL SELECT a.id FROM accounts a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)"),
    )
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Account> {
    dsl::accounts.find(id).first(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Account>> {
    get(conn, id).optional()
}

pub fn insert(conn: &mut DbConn, account: &Account) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values(account)
        .execute(conn)
        .map(|_| ())
}

/// True when `target` is `root` or one of its descendants.
pub fn is_in_subtree(conn: &mut DbConn, root: &str, target: &str) -> QueryResult<bool> {
    if root == target {
        return Ok(true);
    }
    diesel::select(
        sql::<Bool>("EXISTS (WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM accounts WHERE id = ")
            .bind::<Text, _>(target.to_string())
            .sql(" UNION ALL SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id) SELECT 1 FROM up WHERE up.id = ")
            .bind::<Text, _>(root.to_string())
            .sql(")"),
    )
    .get_result(conn)
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    email: Option<&str>,
    page: &PageRequest,
) -> QueryResult<Vec<Account>> {
    let mut q = dsl::accounts.into_boxed();
    match scope {
        Scope::All => {}
        Scope::Subtree(root) => q = q.filter(in_subtree_sql("accounts.id", root)),
        Scope::Only(id) => q = q.filter(dsl::id.eq(id.clone())),
    }
    if let Some(e) = email {
        q = q.filter(dsl::email_lower.eq(e.to_lowercase()));
    }
    if let Some(f) = &page.filter {
        q = q.filter(
            super::lower(dsl::name)
                .like(f.clone())
                .escape('\\')
                .or(dsl::email_lower.like(f.clone()).escape('\\')),
        );
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

pub fn update_identity(
    conn: &mut DbConn,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
) -> QueryResult<()> {
    if let Some(n) = name {
        diesel::update(dsl::accounts.find(id))
            .set(dsl::name.eq(n))
            .execute(conn)?;
    }
    if let Some(e) = email {
        diesel::update(dsl::accounts.find(id))
            .set((dsl::email.eq(e), dsl::email_lower.eq(e.to_lowercase())))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_plan(conn: &mut DbConn, id: &str, plan_id: &str) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::plan_id.eq(plan_id))
        .execute(conn)
        .map(|_| ())
}

pub fn has_children(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        dsl::accounts.filter(dsl::parent_id.eq(id)),
    ))
    .get_result(conn)
}

pub fn add_seats(conn: &mut DbConn, id: &str, seats: i64) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::device_seats.eq(dsl::device_seats + seats))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::accounts.find(id)).execute(conn)
}

/// Serialize concurrent changes to one account (its users, seats, admins) on PostgreSQL by
/// taking its row lock; SQLite's `BEGIN IMMEDIATE` already serializes writers.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::activity.eq(dsl::activity))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn touch(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::activity.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// True when the account or any ancestor is suspended or closed (so its users are locked out).
pub fn blocked(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::select(
        sql::<Bool>("EXISTS (WITH RECURSIVE up(id, parent_id, suspended, closed) AS (SELECT id, parent_id, suspended, closed FROM accounts WHERE id = ")
            .bind::<Text, _>(id.to_string())
            .sql(" UNION ALL SELECT a.id, a.parent_id, a.suspended, a.closed FROM accounts a JOIN up ON a.id = up.parent_id) SELECT 1 FROM up WHERE up.suspended OR up.closed)"),
    )
    .get_result(conn)
}

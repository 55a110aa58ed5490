//! Account rows and the account tree.

use super::models::Account;
use super::schema::accounts::{self, dsl};
use super::{Db, DbConn};
use crate::pagination::PageRequest;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

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

/// The SQL types of a whole `accounts` row, for statements written in SQL.
pub type AccountColumns = diesel::dsl::SqlTypeOf<<accounts::table as Table>::AllColumns>;

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Account> {
    dsl::accounts.find(id).get_result(conn)
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
    any_up(conn, id, "up.suspended OR up.closed")
}

/// True when the account or any ancestor requires MFA of its users.
pub fn requires_mfa(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    any_up(conn, id, "up.require_mfa")
}

/// Whether `condition` (over `up`'s flags) holds for the account or any of its ancestors.
fn any_up(conn: &mut DbConn, id: &str, condition: &'static str) -> QueryResult<bool> {
    diesel::select(
        sql::<Bool>("EXISTS (WITH RECURSIVE up(id, parent_id, suspended, closed, require_mfa) AS (SELECT id, parent_id, suspended, closed, require_mfa FROM accounts WHERE id = ")
            .bind::<Text, _>(id.to_string())
            .sql(" UNION ALL SELECT a.id, a.parent_id, a.suspended, a.closed, a.require_mfa FROM accounts a JOIN up ON a.id = up.parent_id) SELECT 1 FROM up WHERE ")
            .sql(condition)
            .sql(")"),
    )
    .get_result(conn)
}

pub fn set_require_mfa(conn: &mut DbConn, id: &str, on: bool) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::require_mfa.eq(on))
        .execute(conn)
        .map(|_| ())
}

/// The account and every descendant down to `max_depth`, in one query, in no particular order.
/// The walk carries whole rows: walking ids and then reading their rows made PostgreSQL look
/// up every row a second time (it cannot estimate a walk's size, so it never joins by hash),
/// and callers order siblings themselves, cheaper than a sort of the whole answer in SQL.
pub fn subtree(conn: &mut DbConn, root: &str, max_depth: i64) -> QueryResult<Vec<Account>> {
    const COLUMNS: &str = "id, name, email, email_lower, plan_id, parent_id, device_seats, \
                           used_devices, suspended, closed, created, activity, require_mfa";
    sql::<AccountColumns>(&format!(
        "WITH RECURSIVE sub AS (SELECT {COLUMNS}, 0 AS depth FROM accounts WHERE id = "
    ))
    .bind::<Text, _>(root.to_string())
    .sql(&format!(
        " UNION ALL SELECT a.{}, sub.depth + 1 FROM accounts a JOIN sub ON a.parent_id = sub.id \
         WHERE sub.depth < ",
        COLUMNS.replace(", ", ", a.")
    ))
    .bind::<BigInt, _>(max_depth)
    .sql(&format!(") SELECT {COLUMNS} FROM sub"))
    .load(conn)
}

pub fn has_open_children(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        dsl::accounts
            .filter(dsl::parent_id.eq(id))
            .filter(dsl::closed.eq(false)),
    ))
    .get_result(conn)
}

/// Move `seats` out of the account's free seats; false when it has fewer free. One
/// conditional UPDATE, so concurrent moves never overdraw (PostgreSQL re-checks the condition
/// on the locked row; SQLite runs writers one at a time).
pub fn take_seats(conn: &mut DbConn, id: &str, seats: i64) -> QueryResult<bool> {
    diesel::update(
        dsl::accounts
            .find(id)
            .filter((dsl::device_seats - dsl::used_devices).ge(seats)),
    )
    .set(dsl::device_seats.eq(dsl::device_seats - seats))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn set_seats(conn: &mut DbConn, id: &str, seats: i64) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::device_seats.eq(seats))
        .execute(conn)
        .map(|_| ())
}

/// Take one free seat for a device; false when none is free.
pub fn use_seat(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::update(
        dsl::accounts
            .find(id)
            .filter(dsl::used_devices.lt(dsl::device_seats)),
    )
    .set(dsl::used_devices.eq(dsl::used_devices + 1))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn free_seat(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id).filter(dsl::used_devices.gt(0)))
        .set(dsl::used_devices.eq(dsl::used_devices - 1))
        .execute(conn)
        .map(|_| ())
}

pub fn set_suspended(conn: &mut DbConn, id: &str, suspended: bool) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set(dsl::suspended.eq(suspended))
        .execute(conn)
        .map(|_| ())
}

/// Turn the account into a closed tombstone: no seats, and its email free for reuse.
pub fn close(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::accounts.find(id))
        .set((
            dsl::closed.eq(true),
            dsl::device_seats.eq(0),
            dsl::used_devices.eq(0),
            dsl::email_lower.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The account's direct children, oldest first.
pub fn children(conn: &mut DbConn, id: &str) -> QueryResult<Vec<Account>> {
    dsl::accounts
        .filter(dsl::parent_id.eq(id))
        .order((dsl::created.asc(), dsl::id.asc()))
        .load(conn)
}

pub fn by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Account>> {
    dsl::accounts
        .filter(dsl::email_lower.eq(email.to_lowercase()))
        .get_result(conn)
        .optional()
}

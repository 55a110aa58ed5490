//! The signing keys of access tokens, shared by every instance (see `auth::keys`).

use super::schema::signing_keys::dsl;
use super::DbConn;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = super::schema::signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub private_key: String,
    pub public_jwk: String,
    pub created: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
}

/// Every key, oldest first.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<KeyRow>> {
    dsl::signing_keys
        .order((dsl::activates_at, dsl::kid))
        .select(KeyRow::as_select())
        .load(conn)
}

pub fn insert(conn: &mut DbConn, row: &KeyRow) -> QueryResult<()> {
    diesel::insert_into(dsl::signing_keys)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Every live key but `kid` retires at `at` (when the last token it may sign has expired).
pub fn retire_all_but(conn: &mut DbConn, kid: &str, at: i64) -> QueryResult<usize> {
    diesel::update(
        dsl::signing_keys
            .filter(dsl::kid.ne(kid))
            .filter(dsl::retires_at.is_null().or(dsl::retires_at.gt(at))),
    )
    .set(dsl::retires_at.eq(at))
    .execute(conn)
}

/// Inside a write transaction: instances starting together on PostgreSQL take turns, so only
/// the first creates a key (SQLite's write transaction is exclusive already).
pub fn lock_for_creation(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(7220114)"),
        DbConn::Sqlite(_) => Ok(()),
    }
}

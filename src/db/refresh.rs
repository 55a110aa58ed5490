//! Refresh tokens: one family per login; each use rotates to a new token of the family.

use super::schema::refresh_tokens::dsl;
use super::DbConn;
use diesel::prelude::*;

#[derive(Queryable, Debug)]
pub struct RefreshRow {
    pub id: String,
    pub secret_hash: String,
    pub family: String,
    pub user_id: String,
    pub token_version: i64,
    pub expires: i64,
    pub rotated: bool,
    pub created: i64,
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    secret_hash: &str,
    family: &str,
    user_id: &str,
    token_version: i64,
    expires: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(dsl::refresh_tokens)
        .values((
            dsl::id.eq(id),
            dsl::secret_hash.eq(secret_hash),
            dsl::family.eq(family),
            dsl::user_id.eq(user_id),
            dsl::token_version.eq(token_version),
            dsl::expires.eq(expires),
            dsl::created.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<RefreshRow>> {
    dsl::refresh_tokens.find(id).get_result(conn).optional()
}

/// Mark used; false when it already was (a reuse, or a concurrent use).
pub fn rotate(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::update(dsl::refresh_tokens.find(id).filter(dsl::rotated.eq(false)))
        .set(dsl::rotated.eq(true))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn delete_family(conn: &mut DbConn, family: &str) -> QueryResult<usize> {
    diesel::delete(dsl::refresh_tokens.filter(dsl::family.eq(family))).execute(conn)
}

pub fn delete_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::refresh_tokens.filter(dsl::user_id.eq(user_id))).execute(conn)
}

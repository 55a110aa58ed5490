//! Single-use codes, stored as (public id, hash of the secret).

use super::schema::codes::dsl;
use super::DbConn;
use diesel::prelude::*;

#[derive(Queryable, Debug)]
pub struct CodeRow {
    pub id: String,
    pub secret_hash: String,
    pub kind: String,
    pub user_id: String,
    pub expires: i64,
    pub attempts: i32,
    pub created: i64,
    /// What the code carries (an email change: the new address).
    pub payload: Option<String>,
}

/// A code to store (its secret only as a hash).
#[derive(Insertable)]
#[diesel(table_name = super::schema::codes)]
pub struct NewCode<'a> {
    pub id: &'a str,
    pub secret_hash: &'a str,
    pub kind: &'a str,
    pub user_id: &'a str,
    pub payload: Option<&'a str>,
    pub expires: i64,
    pub created: i64,
}

pub fn insert(conn: &mut DbConn, code: &NewCode) -> QueryResult<()> {
    diesel::insert_into(dsl::codes)
        .values(code)
        .execute(conn)
        .map(|_| ())
}

/// Forget a user's earlier codes of a kind (a new invitation replaces the old one).
pub fn delete_for(conn: &mut DbConn, user_id: &str, kind: &str) -> QueryResult<usize> {
    diesel::delete(
        dsl::codes
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::kind.eq(kind)),
    )
    .execute(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<CodeRow>> {
    dsl::codes.find(id).get_result(conn).optional()
}

/// Delete the code; false when another call used it first.
pub fn take(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::delete(dsl::codes.find(id))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn count_attempt(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::codes.find(id))
        .set(dsl::attempts.eq(dsl::attempts + 1))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_all_for(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::codes.filter(dsl::user_id.eq(user_id))).execute(conn)
}

pub fn count_live(conn: &mut DbConn, user_id: &str, kind: &str, now: i64) -> QueryResult<i64> {
    dsl::codes
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::kind.eq(kind))
        .filter(dsl::expires.gt(now))
        .count()
        .get_result(conn)
}

//! Personal access tokens, stored as (id, hash of the secret).

use super::schema::personal_tokens::{self, dsl};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

#[derive(Queryable, Insertable, Clone, Debug)]
#[diesel(table_name = personal_tokens)]
pub struct Pat {
    pub id: String,
    pub secret_hash: String,
    pub user_id: String,
    pub token_version: i64,
    pub description: String,
    pub created: i64,
    pub last_used: Option<i64>,
    pub expires_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, pat: &Pat) -> QueryResult<()> {
    diesel::insert_into(personal_tokens::table)
        .values(pat)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Pat>> {
    dsl::personal_tokens.find(id).get_result(conn).optional()
}

pub fn list(conn: &mut DbConn, user_id: &str, page: &PageRequest) -> QueryResult<Vec<Pat>> {
    let mut q = dsl::personal_tokens
        .filter(dsl::user_id.eq(user_id.to_string()))
        .into_boxed();
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::description).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::delete(dsl::personal_tokens.find(id))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn touch(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(dsl::personal_tokens.find(id))
        .set(dsl::last_used.eq(now))
        .execute(conn)
        .map(|_| ())
}

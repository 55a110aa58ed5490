//! Login sessions: one row per refresh-token family (`id` = the family, the access tokens'
//! `sid`), with where and when it started and when it was last used.

use super::schema::sessions::dsl;
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = super::schema::sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created: i64,
    pub last_used: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub mfa: bool,
    /// The OAuth client its tokens were issued to, if one authenticated.
    pub client_id: Option<String>,
}

/// Last use is written at most this often (µs): a client's every request must not be a write.
pub const TOUCH_EVERY: i64 = 60 * 1_000_000;

/// A session as it starts.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub now: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub mfa: bool,
}

pub fn start(conn: &mut DbConn, s: &NewSession) -> QueryResult<()> {
    diesel::insert_into(dsl::sessions)
        .values((
            dsl::id.eq(s.id),
            dsl::user_id.eq(s.user_id),
            dsl::created.eq(s.now),
            dsl::last_used.eq(s.now),
            dsl::ip.eq(s.ip),
            dsl::user_agent.eq(s.user_agent),
            dsl::client_id.eq(s.client_id),
            dsl::mfa.eq(s.mfa),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Record a use, unless one was recorded within the last minute.
pub fn touch(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(
        dsl::sessions
            .find(id)
            .filter(dsl::last_used.lt(now - TOUCH_EVERY)),
    )
    .set(dsl::last_used.eq(now))
    .execute(conn)
    .map(|_| ())
}

/// A page of a user's live sessions (those whose refresh family still exists), oldest first.
pub fn list(conn: &mut DbConn, user_id: &str, page: &PageRequest) -> QueryResult<Vec<SessionRow>> {
    use super::schema::refresh_tokens::dsl as refresh;
    let live = diesel::dsl::exists(refresh::refresh_tokens.filter(refresh::family.eq(dsl::id)));
    let mut q = dsl::sessions
        .filter(dsl::user_id.eq(user_id.to_string()))
        .filter(live)
        .into_boxed();
    if let Some(f) = &page.filter {
        q = q.filter(
            super::lower(dsl::user_agent.assume_not_null())
                .like(f.clone())
                .escape('\\'),
        );
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<SessionRow>> {
    dsl::sessions
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::sessions.find(id)).execute(conn)
}

/// The second factor was used in this session (TOTP confirmed in it): its next tokens are
/// whole, not enrolment-only.
/// End every session of a user (its refresh tokens go separately).
pub fn delete_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::sessions.filter(dsl::user_id.eq(user_id))).execute(conn)
}

pub fn mark_mfa(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::sessions.find(id))
        .set(dsl::mfa.eq(true))
        .execute(conn)
        .map(|_| ())
}

/// The sessions whose tokens were issued to a client.
pub fn ids_of_client(conn: &mut DbConn, client_id: &str) -> QueryResult<Vec<String>> {
    dsl::sessions
        .filter(dsl::client_id.eq(client_id))
        .select(dsl::id)
        .load(conn)
}

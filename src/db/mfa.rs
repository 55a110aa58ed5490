//! TOTP secrets and recovery codes per user.

use super::schema::mfa_recovery_codes::dsl as recovery;
use super::schema::mfa_totp::dsl;
use super::DbConn;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = super::schema::mfa_totp)]
pub struct TotpRow {
    pub user_id: String,
    /// Sealed (see `auth::keys::seal`).
    pub secret: String,
    pub confirmed: bool,
    pub last_step: i64,
    pub created: i64,
}

/// Hold the user's TOTP row until the transaction ends: second-factor checks of one user take
/// turns, so each sees the failures counted before it (on every instance).
pub fn lock(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
    diesel::update(dsl::mfa_totp.find(user_id))
        .set(dsl::last_step.eq(dsl::last_step))
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<TotpRow>> {
    dsl::mfa_totp
        .find(user_id)
        .select(TotpRow::as_select())
        .first(conn)
        .optional()
}

/// Whether TOTP is on for the user.
pub fn is_on(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        dsl::mfa_totp.find(user_id).filter(dsl::confirmed.eq(true)),
    ))
    .get_result(conn)
}

/// A new secret, not yet confirmed (replacing one that was never confirmed).
pub fn put_pending(conn: &mut DbConn, user_id: &str, secret: &str, now: i64) -> QueryResult<()> {
    diesel::delete(dsl::mfa_totp.find(user_id).filter(dsl::confirmed.eq(false))).execute(conn)?;
    diesel::insert_into(dsl::mfa_totp)
        .values((
            dsl::user_id.eq(user_id),
            dsl::secret.eq(secret),
            dsl::confirmed.eq(false),
            dsl::last_step.eq(0),
            dsl::created.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Record `step` as used, only if it is after the last one used and the secret is still the
/// one the code was checked against: false when another request used this step (or a later
/// one) first, on any instance, or a new enrolment replaced the secret. With `confirm`, TOTP
/// turns on.
pub fn use_step(conn: &mut DbConn, row: &TotpRow, step: i64, confirm: bool) -> QueryResult<bool> {
    let target = dsl::mfa_totp
        .find(&row.user_id)
        .filter(dsl::secret.eq(&row.secret))
        .filter(dsl::last_step.lt(step))
        .filter(dsl::confirmed.eq(!confirm));
    diesel::update(target)
        .set((dsl::last_step.eq(step), dsl::confirmed.eq(true)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Turn TOTP off: the secret and the recovery codes go.
pub fn delete(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(recovery::mfa_recovery_codes.filter(recovery::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(dsl::mfa_totp.find(user_id)).execute(conn)
}

pub fn put_recovery(conn: &mut DbConn, user_id: &str, hashes: &[String]) -> QueryResult<()> {
    diesel::delete(recovery::mfa_recovery_codes.filter(recovery::user_id.eq(user_id)))
        .execute(conn)?;
    // One by one: the two-backend connection has no multi-row insert.
    for h in hashes {
        diesel::insert_into(recovery::mfa_recovery_codes)
            .values((recovery::user_id.eq(user_id), recovery::code_hash.eq(h)))
            .execute(conn)?;
    }
    Ok(())
}

/// Use a recovery code: true once (the row is deleted), false for any other code.
pub fn take_recovery(conn: &mut DbConn, user_id: &str, hash: &str) -> QueryResult<bool> {
    diesel::delete(recovery::mfa_recovery_codes.find((user_id, hash)))
        .execute(conn)
        .map(|n| n == 1)
}

//! Codes for registration, invitations and password resets: random, single use, expiring,
//! stored as hashes, compared in constant time, and dead after a few wrong guesses.

use crate::db::models::now;
use crate::db::{codes as store, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{new_credential, secret_matches, split_credential};

const HOUR: i64 = 3600 * 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Confirms a registration's email; 24 hours.
    Confirm,
    /// Accepts an invitation and sets the password; 7 days.
    Invite,
    /// Resets a password; 1 hour.
    Reset,
    /// Proves a new email address before a self-service change takes it; 24 hours.
    Email,
    /// A right password waiting for its second factor (`mfaToken`); 5 minutes.
    Mfa,
}

/// Wrong secrets a code survives; then it is deleted.
pub const MAX_ATTEMPTS: i32 = 5;

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Confirm => "confirm",
            Kind::Invite => "invite",
            Kind::Reset => "reset",
            Kind::Email => "email",
            Kind::Mfa => "mfa",
        }
    }

    fn ttl(self) -> i64 {
        match self {
            Kind::Confirm | Kind::Email => 24 * HOUR,
            Kind::Invite => 7 * 24 * HOUR,
            Kind::Reset => HOUR,
            Kind::Mfa => 5 * 60 * 1_000_000,
        }
    }
}

/// One answer for every bad code (unknown, wrong, expired, used), so none is an oracle.
pub fn bad_code(field: &str) -> ApiError {
    ApiError::invalid(format!("{field}: invalid or expired code"))
}

/// Live reset codes a user may have at once; more requests mail nothing.
pub const MAX_LIVE_RESETS: i64 = 3;

/// A new code for the user. An invitation or confirmation replaces the earlier one; reset
/// codes do not cancel each other (so nobody can void another's pending reset by asking again).
pub fn issue(conn: &mut DbConn, kind: Kind, user_id: &str) -> ApiResult<String> {
    issue_with(conn, kind, user_id, None)
}

/// `issue`, for a code that carries a value (an email change: the new address).
pub fn issue_with(
    conn: &mut DbConn,
    kind: Kind,
    user_id: &str,
    payload: Option<&str>,
) -> ApiResult<String> {
    // Reset and MFA codes do not cancel each other (two devices may log in at once).
    if !matches!(kind, Kind::Reset | Kind::Mfa) {
        store::delete_for(conn, user_id, kind.as_str())?;
    }
    let (code, id, hash) = new_credential("");
    let ts = now();
    let row = store::NewCode {
        id: &id,
        secret_hash: &hash,
        kind: kind.as_str(),
        user_id,
        payload,
        expires: ts + kind.ttl(),
        created: ts,
    };
    store::insert(conn, &row)?;
    Ok(code)
}

/// A code used: whose it was, and what it carried.
pub struct Used {
    pub user_id: String,
    pub payload: Option<String>,
}

/// A live code of `kind` whose secret matches, without using it up (the MFA step checks the
/// second factor first). A wrong secret is counted like `consume`'s.
pub fn peek(conn: &mut DbConn, kind: Kind, code: &str) -> ApiResult<Option<store::CodeRow>> {
    let Some((id, secret)) = split_credential(code.trim(), "") else {
        return Ok(None);
    };
    let Some(row) = store::find(conn, id)? else {
        return Ok(None);
    };
    if row.kind != kind.as_str() || row.expires < now() {
        return Ok(None);
    }
    if !secret_matches(secret, &row.secret_hash) {
        wrong_guess(conn, &row)?;
        return Ok(None);
    }
    Ok(Some(row))
}

/// A wrong guess at a code: counted, and the code dies at MAX_ATTEMPTS.
pub fn wrong_guess(conn: &mut DbConn, row: &store::CodeRow) -> ApiResult<()> {
    if row.attempts + 1 >= MAX_ATTEMPTS {
        store::take(conn, &row.id)?;
    } else {
        store::count_attempt(conn, &row.id)?;
    }
    Ok(())
}

/// Use a code: `Some` once, `None` for anything bad. A wrong secret is counted
/// (so the caller must commit even on `None`), and the code dies after MAX_ATTEMPTS.
pub fn consume(conn: &mut DbConn, kind: Kind, code: &str) -> ApiResult<Option<Used>> {
    let Some((id, secret)) = split_credential(code.trim(), "") else {
        return Ok(None);
    };
    let Some(row) = store::find(conn, id)? else {
        return Ok(None);
    };
    if row.kind != kind.as_str() {
        return Ok(None);
    }
    if row.expires < now() {
        store::take(conn, id)?;
        return Ok(None);
    }
    if !secret_matches(secret, &row.secret_hash) {
        wrong_guess(conn, &row)?;
        return Ok(None);
    }
    // Single use, even when two calls race: only the one that deletes the row wins.
    Ok(store::take(conn, id)?.then_some(Used {
        user_id: row.user_id,
        payload: row.payload,
    }))
}

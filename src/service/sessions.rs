//! Logins and sessions: an access token with a rotating refresh token, logouts, and password
//! changes (which end every earlier credential).

use super::throttle;
use crate::auth::jwt::Keys;
use crate::auth::{Caller, Credential};
use crate::db::audit::Meta;
use crate::db::models::{now, Account, User};
use crate::db::{accounts, pats, refresh, revoked, users, DbConn};
use crate::domain::is_login_name;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{new_credential, secret_matches, split_credential};
use crate::state::AppState;

/// Refresh tokens live 30 days from their issue.
const REFRESH_TTL: i64 = 30 * 24 * 3600 * 1_000_000;
pub const REFRESH_PREFIX: &str = "rt_";

pub struct Session {
    pub token: String,
    pub expires: i64,
    pub refresh_token: String,
    pub account: Account,
    pub user: User,
}

/// The one answer for an unknown identity and for a wrong password.
pub fn bad_login() -> ApiError {
    ApiError::unauthorized(crate::error::BAD_LOGIN)
}

/// Check a password login and start a session. The hash is verified (against a dummy for
/// unknown users) before anything else is revealed, and without holding a connection.
pub async fn login(
    state: &AppState,
    identity: String,
    password: String,
    meta: Meta,
) -> ApiResult<Session> {
    let answer = password_login(state, identity, password, meta).await;
    state.metrics.login(crate::metrics::login_outcome(&answer));
    answer
}

async fn password_login(
    state: &AppState,
    identity: String,
    password: String,
    meta: Meta,
) -> ApiResult<Session> {
    // The attempt is counted before the hash is checked: a locked identity or address gets 429,
    // and parallel guesses can never get more checks than the limit.
    if !is_login_name(&identity) {
        return Err(bad_login());
    }
    // A place in the hash queue first: a refused login touches nothing else.
    let ticket = state.hasher.admit().await?;
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    let counted = meta.clone();
    let (user, keys) = state
        .tx(move |c| {
            let meta = counted;
            let user = users::by_login(c, &identity)?;
            let keys = throttle::Keys::login(&identity, user.as_ref(), meta.ip.as_deref());
            // The count (and a new lock) must commit even when this attempt is refused.
            if let Err(locked) = throttle::reserve(c, &config, &metrics, &keys, &meta)? {
                return Ok(Err(locked));
            }
            Ok(Ok((user, keys)))
        })
        .await??;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = ticket.verify(password, hash).await?;
    let user = match (matches, user) {
        (true, Some(u)) => u,
        _ => return Err(bad_login()),
    };
    if !user.verified {
        return Err(ApiError::forbidden("email address not verified"));
    }
    let jwt = state.keys.clone();
    let config = state.config.clone();
    state
        .tx(move |c| {
            throttle::succeeded(c, &config, &keys)?;
            if accounts::blocked(c, &user.account_id)? {
                return Err(ApiError::forbidden("account suspended"));
            }
            let ts = now();
            // Only if the row is still the one whose password was checked: a password change,
            // removal or role change during the hash must not yield a token.
            if !users::touch_if_unchanged(c, &user, ts)? {
                return Err(bad_login());
            }
            accounts::touch(c, &user.account_id, ts)?;
            let user = User {
                activity: ts,
                ..user
            };
            start(c, &jwt, user, &meta)
        })
        .await
}

/// A new login session for `user`, started from where `meta` says: its row and its first
/// tokens.
pub fn start(conn: &mut DbConn, keys: &Keys, user: User, meta: &Meta) -> ApiResult<Session> {
    let family = crate::ids::new_id();
    let (ip, agent) = (meta.ip.as_deref(), meta.user_agent.as_deref());
    crate::db::sessions::start(conn, &family, &user.id, now(), ip, agent)?;
    session(conn, keys, family, user)
}

/// The tokens of the login session `family` for `user`: a new refresh token of the family and
/// an access token that names it. A login starts a family; a refresh continues its own.
pub fn session(conn: &mut DbConn, keys: &Keys, family: String, user: User) -> ApiResult<Session> {
    let refresh_token = new_refresh(conn, &family, &user)?;
    let account = accounts::get(conn, &user.account_id)?;
    let (token, expires) = keys.issue(
        &user.id,
        &user.account_id,
        user.role.as_str(),
        user.token_version,
        Some(&family),
    );
    Ok(Session {
        token,
        expires,
        refresh_token,
        account,
        user,
    })
}

fn new_refresh(conn: &mut DbConn, family: &str, user: &User) -> ApiResult<String> {
    let (whole, id, hash) = new_credential(REFRESH_PREFIX);
    let ts = now();
    refresh::insert(
        conn,
        &id,
        &hash,
        family,
        &user.id,
        user.token_version,
        ts + REFRESH_TTL,
        ts,
    )?;
    Ok(whole)
}

pub enum Refreshed {
    Ok(Box<Session>),
    /// Unknown, expired, or no longer valid for its user.
    Invalid,
    /// A rotated token came back: its whole family was revoked (commit, then refuse).
    Reused,
}

/// Rotate a refresh token: the old one stops working, a new one of the same family and a new
/// access token are answered. Presenting a rotated token revokes the whole family.
pub async fn refresh(state: &AppState, token: String) -> ApiResult<Refreshed> {
    let keys = state.keys.clone();
    state.tx(move |c| refresh_in(c, &keys, &token)).await
}

fn refresh_in(conn: &mut DbConn, keys: &Keys, token: &str) -> ApiResult<Refreshed> {
    let Some((id, secret)) = split_credential(token.trim(), REFRESH_PREFIX) else {
        return Ok(Refreshed::Invalid);
    };
    let Some(row) = refresh::find(conn, id)? else {
        return Ok(Refreshed::Invalid);
    };
    if !secret_matches(secret, &row.secret_hash) {
        return Ok(Refreshed::Invalid);
    }
    if row.rotated || !refresh::rotate(conn, id)? {
        refresh::delete_family(conn, &row.family)?;
        return Ok(Refreshed::Reused);
    }
    if row.expires < now() {
        return Ok(Refreshed::Invalid);
    }
    let Some(user) = users::find(conn, &row.user_id)? else {
        return Ok(Refreshed::Invalid);
    };
    if user.token_version != row.token_version
        || !user.verified
        || accounts::blocked(conn, &user.account_id)?
    {
        return Ok(Refreshed::Invalid);
    }
    crate::db::sessions::touch(conn, &row.family, now())?;
    Ok(Refreshed::Ok(Box::new(session(
        conn, keys, row.family, user,
    )?)))
}

/// End the presented credential (its access token and refresh family, or the personal access
/// token), or with `everywhere` every credential of the user.
pub async fn logout(state: &AppState, caller: Caller, everywhere: bool) -> ApiResult<()> {
    state.tx(move |c| logout_in(c, &caller, everywhere)).await
}

fn logout_in(conn: &mut DbConn, caller: &Caller, everywhere: bool) -> ApiResult<()> {
    if everywhere {
        users::bump_token_version(conn, caller.id())?;
        refresh::delete_for_user(conn, caller.id())?;
        crate::db::audit::record(
            conn,
            &caller.meta,
            "user.logout_everywhere",
            Some(caller.account_id()),
            Some(caller.id()),
        )?;
        return Ok(());
    }
    match &caller.credential {
        Credential::Access { jti, exp, sid } => {
            revoked::revoke(conn, jti, *exp, crate::db::models::now_secs())?;
            if let Some(family) = sid {
                refresh::delete_family(conn, family)?;
                crate::db::sessions::delete(conn, family)?;
            }
        }
        Credential::Pat { id } => {
            pats::delete(conn, id)?;
        }
    }
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.logout",
        Some(caller.account_id()),
        Some(caller.id()),
    )?;
    Ok(())
}

/// A login session as its user sees it: `current` when the caller's own token belongs to it.
pub struct Listed {
    pub row: crate::db::sessions::SessionRow,
    pub current: bool,
}

/// A page of the live login sessions of the caller, or of a user it manages.
pub async fn list(
    state: &AppState,
    caller: Caller,
    user_id: Option<String>,
    page: crate::pagination::PageRequest,
) -> ApiResult<Vec<Listed>> {
    state
        .db(move |c| {
            let user = super::access::self_or_managed(c, &caller, user_id.as_deref())?;
            let mine = match &caller.credential {
                Credential::Access { sid, .. } => sid.clone(),
                Credential::Pat { .. } => None,
            };
            let rows = crate::db::sessions::list(c, &user.id, &page)?;
            Ok(rows
                .into_iter()
                .map(|row| Listed {
                    current: mine.as_ref() == Some(&row.id),
                    row,
                })
                .collect())
        })
        .await
}

/// End a login session of the caller (or of a user it manages) at once: its refresh tokens
/// and, since every request checks that its session lives, its access tokens on every
/// instance. Audited. Another user's session is 404, like one that does not exist.
pub async fn end(state: &AppState, caller: Caller, id: String) -> ApiResult<()> {
    state
        .tx(move |c| {
            let missing = || ApiError::not_found("no such session");
            let row = crate::db::sessions::find(c, &id)?.ok_or_else(missing)?;
            let owner = super::access::self_or_managed(c, &caller, Some(&row.user_id))
                .map_err(|_| missing())?;
            if refresh::delete_family(c, &row.id)? == 0 {
                return Err(missing());
            }
            crate::db::sessions::delete(c, &row.id)?;
            crate::db::audit::record(
                c,
                &caller.meta,
                "session.end",
                Some(&owner.account_id),
                Some(&row.id),
            )?;
            Ok(())
        })
        .await
}

/// Set a new password and end every earlier credential of the user.
pub fn set_password(conn: &mut DbConn, user_id: &str, hash: &str) -> ApiResult<()> {
    users::set_password(conn, user_id, hash)?;
    refresh::delete_for_user(conn, user_id)?;
    Ok(())
}

/// Change one's own password: the current one must match (400 otherwise); every older
/// credential ends. A wrong current password counts toward the user's lockout exactly as a
/// wrong login does (a stolen token must not buy unlimited guesses), and a locked user is
/// answered 429 before any hash.
pub async fn change_password(
    state: &AppState,
    caller: Caller,
    current: String,
    new: String,
) -> ApiResult<()> {
    let ticket = state.hasher.admit().await?;
    let keys = throttle::Keys::login("", Some(&caller.user), caller.meta.ip.as_deref());
    let (config, meta, counted) = (state.config.clone(), caller.meta.clone(), keys.clone());
    let metrics = state.metrics.clone();
    // The count (and a new lock) commits even when this attempt is refused.
    state
        .tx(move |c| throttle::reserve(c, &config, &metrics, &counted, &meta))
        .await??;
    let stored = caller.user.password_hash.clone();
    if !ticket.verify(current, stored).await? {
        return Err(ApiError::invalid("currentPassword: does not match"));
    }
    let hash = state.hasher.hash(new).await?;
    let config = state.config.clone();
    state
        .tx(move |c| {
            throttle::succeeded(c, &config, &keys)?;
            set_password(c, caller.id(), &hash)?;
            crate::db::audit::record(
                c,
                &caller.meta,
                "user.password",
                Some(caller.account_id()),
                Some(caller.id()),
            )?;
            Ok(())
        })
        .await
}

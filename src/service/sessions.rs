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

/// What a right password leads to.
pub enum LoggedIn {
    Session(Box<Session>),
    /// TOTP is on: the second step (`/user/login/mfa`, the `mfa-otp` grant) takes this
    /// token with a code.
    MfaRequired(String),
}

/// What an MFA token carries: the client that started the login (the second step must come
/// from the same one) and the user's token version (a password change in between voids it).
#[derive(Default, Debug, PartialEq)]
pub struct Pending {
    pub client: Option<String>,
    pub ver: i64,
}

impl Pending {
    /// As the code's payload: `<ver>:<client id or nothing>` (client ids hold no `:`).
    pub fn encode(&self) -> String {
        format!("{}:{}", self.ver, self.client.as_deref().unwrap_or(""))
    }

    pub fn decode(payload: &str) -> Option<Pending> {
        let (ver, client) = payload.split_once(':')?;
        Some(Pending {
            ver: ver.parse().ok()?,
            client: (!client.is_empty()).then(|| client.to_string()),
        })
    }
}

/// The one answer for an unknown identity and for a wrong password.
pub fn bad_login() -> ApiError {
    ApiError::unauthorized(crate::error::BAD_LOGIN)
}

/// Check a password login and start a session. The hash is verified (against a dummy for
/// unknown users) before anything else is revealed, and without holding a connection.
/// `client`: the OAuth client that authenticated, whose session this is.
pub async fn login(
    state: &AppState,
    identity: String,
    password: String,
    meta: Meta,
    client: Option<String>,
) -> ApiResult<LoggedIn> {
    let answer = password_login(state, identity, password, meta, client).await;
    let outcome = match &answer {
        // The login is not over: its second step is counted when it ends.
        Ok(LoggedIn::MfaRequired(_)) => "mfa_required",
        other => crate::metrics::login_outcome(other),
    };
    state.metrics.login(outcome);
    answer
}

async fn password_login(
    state: &AppState,
    identity: String,
    password: String,
    meta: Meta,
    client: Option<String>,
) -> ApiResult<LoggedIn> {
    // A locked identity or address gets 429 before any hash; a wrong password is counted after.
    if !is_login_name(&identity) {
        return Err(bad_login());
    }
    // A place in the hash queue first: a refused login touches nothing else.
    let ticket = state.hasher.admit().await?;
    let config = state.config.clone();
    let ip = meta.ip.clone();
    let (user, keys) = state
        .db(move |c| {
            let user = users::by_login(c, &identity)?;
            let keys = throttle::Keys::login(&identity, user.as_ref(), ip.as_deref());
            Ok(throttle::check(c, &config, &keys)?.map(|()| (user, keys)))
        })
        .await??;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = ticket.verify(password, hash).await?;
    let user = match (matches, user) {
        (true, Some(u)) => u,
        _ => {
            count_failure(state, keys, meta).await?;
            return Err(bad_login());
        }
    };
    if !user.verified {
        return Err(ApiError::forbidden("email address not verified"));
    }
    if !user.active {
        return Err(ApiError::forbidden("user deactivated"));
    }
    let jwt = state.keys.clone();
    state
        .tx(move |c| {
            if crate::db::mfa::is_on(c, &user.id)? {
                // The throttle's counts stay until the second factor is right: a password
                // alone must not buy fresh guesses at the code.
                if accounts::blocked(c, &user.account_id)? {
                    return Err(ApiError::forbidden("account suspended"));
                }
                let pending = Pending {
                    client,
                    ver: user.token_version,
                };
                let payload = pending.encode();
                let token =
                    super::codes::issue_with(c, super::codes::Kind::Mfa, &user.id, Some(&payload))?;
                return Ok(LoggedIn::MfaRequired(token));
            }
            throttle::succeeded(c, &keys)?;
            if accounts::blocked(c, &user.account_id)? {
                return Err(ApiError::forbidden("account suspended"));
            }
            let session = begin(c, &jwt, user, &meta, client.as_deref(), false)?;
            Ok(LoggedIn::Session(Box::new(session)))
        })
        .await
}

/// A login whose every factor was right: the user's activity is noted and its session
/// starts. Only if the row is still the one whose password was checked: a password change,
/// removal or role change during the hash must not yield a token.
pub fn begin(
    conn: &mut DbConn,
    keys: &Keys,
    user: User,
    meta: &Meta,
    client: Option<&str>,
    mfa: bool,
) -> ApiResult<Session> {
    let ts = now();
    if !user.active {
        return Err(ApiError::forbidden("user deactivated"));
    }
    if !users::touch_if_unchanged(conn, &user, ts)? {
        return Err(bad_login());
    }
    accounts::touch(conn, &user.account_id, ts)?;
    let user = User {
        activity: ts,
        ..user
    };
    start(conn, keys, user, meta, client, mfa)
}

/// A wrong password: counted (and a lock set when it reaches the limit) in its own transaction.
async fn count_failure(state: &AppState, keys: throttle::Keys, meta: Meta) -> ApiResult<()> {
    let (config, metrics) = (state.config.clone(), state.metrics.clone());
    state
        .tx(move |c| throttle::failed(c, &config, &metrics, &keys, &meta))
        .await
}

/// A new login session for `user`, started from where `meta` says (by `client`, if an OAuth
/// client authenticated): its row and its first tokens.
/// `mfa`: whether a second factor was used.
pub fn start(
    conn: &mut DbConn,
    keys: &Keys,
    user: User,
    meta: &Meta,
    client: Option<&str>,
    mfa: bool,
) -> ApiResult<Session> {
    // Every way in (a password, a second factor, a code that logs in) ends here.
    if !user.active {
        return Err(ApiError::forbidden("user deactivated"));
    }
    let family = crate::ids::new_id();
    let (ip, agent) = (meta.ip.as_deref(), meta.user_agent.as_deref());
    let row = crate::db::sessions::NewSession {
        id: &family,
        user_id: &user.id,
        now: now(),
        ip,
        user_agent: agent,
        client_id: client,
        mfa,
    };
    crate::db::sessions::start(conn, &row)?;
    session(conn, keys, family, user, mfa)
}

/// The tokens of the login session `family` for `user`: a new refresh token of the family and
/// an access token that names it. A login starts a family; a refresh continues its own. In an
/// account that requires MFA, a session that did not use it gets tokens that only enrol TOTP.
pub fn session(
    conn: &mut DbConn,
    keys: &Keys,
    family: String,
    user: User,
    mfa: bool,
) -> ApiResult<Session> {
    let refresh_token = new_refresh(conn, &family, &user)?;
    let account = accounts::get(conn, &user.account_id)?;
    let enrol_only = !mfa && accounts::requires_mfa(conn, &user.account_id)?;
    let (token, expires) = keys.issue_for(
        &user.id,
        &user.account_id,
        user.role.as_str(),
        user.token_version,
        Some(&family),
        enrol_only,
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
    /// Issued to another OAuth client (or to none, or to one when none authenticated): not
    /// used up, since whoever presented it is not its holder's client.
    OtherClient,
}

/// Rotate a refresh token: the old one stops working, a new one of the same family and a new
/// access token are answered. Presenting a rotated token revokes the whole family.
/// `client`: the OAuth client that authenticated; the token must have been issued to it.
pub async fn refresh(
    state: &AppState,
    token: String,
    client: Option<String>,
) -> ApiResult<Refreshed> {
    let keys = state.keys.clone();
    state
        .tx(move |c| refresh_in(c, &keys, &token, client.as_deref()))
        .await
}

fn refresh_in(
    conn: &mut DbConn,
    keys: &Keys,
    token: &str,
    client: Option<&str>,
) -> ApiResult<Refreshed> {
    let Some((id, secret)) = split_credential(token.trim(), REFRESH_PREFIX) else {
        return Ok(Refreshed::Invalid);
    };
    let Some(row) = refresh::find(conn, id)? else {
        return Ok(Refreshed::Invalid);
    };
    if !secret_matches(secret, &row.secret_hash) {
        return Ok(Refreshed::Invalid);
    }
    let found = crate::db::sessions::find(conn, &row.family)?;
    let mfa = found.as_ref().is_some_and(|s| s.mfa);
    if found.and_then(|s| s.client_id).as_deref() != client {
        return Ok(Refreshed::OtherClient);
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
        || !user.active
        || !user.verified
        || accounts::blocked(conn, &user.account_id)?
    {
        return Ok(Refreshed::Invalid);
    }
    crate::db::sessions::touch(conn, &row.family, now())?;
    Ok(Refreshed::Ok(Box::new(session(
        conn, keys, row.family, user, mfa,
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
    // The session the presented credential belongs to, if any: what the logout ends.
    let ended = match &caller.credential {
        Credential::Access { jti, exp, sid } => {
            revoked::revoke(conn, jti, *exp, crate::db::models::now_secs())?;
            if let Some(family) = sid {
                refresh::delete_family(conn, family)?;
            }
            sid.as_deref()
        }
        Credential::Pat { id } => {
            pats::delete(conn, id)?;
            None
        }
    };
    // Recorded while the session's row is still there: its event carries the session.
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.logout",
        Some(caller.account_id()),
        Some(ended.unwrap_or(caller.id())),
    )?;
    if let Some(family) = ended {
        crate::db::sessions::delete(conn, family)?;
    }
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
            // Recorded while the row is still there: its event carries the session.
            crate::db::audit::record(
                c,
                &caller.meta,
                "session.end",
                Some(&owner.account_id),
                Some(&row.id),
            )?;
            crate::db::sessions::delete(c, &row.id)?;
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

/// Whether `password` is the caller's, checked as a login's is: 429 before any hash when the
/// user is locked at this address. The throttle keys come back for the caller to count a
/// failure (or a success) with.
pub async fn own_password(
    state: &AppState,
    caller: &Caller,
    password: String,
) -> ApiResult<(bool, throttle::Keys)> {
    let ticket = state.hasher.admit().await?;
    let keys = throttle::Keys::login("", Some(&caller.user), caller.meta.ip.as_deref());
    let (config, checked) = (state.config.clone(), keys.clone());
    state
        .db(move |c| throttle::check(c, &config, &checked))
        .await??;
    let right = ticket
        .verify(password, caller.user.password_hash.clone())
        .await?;
    Ok((right, keys))
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
    let (right, keys) = own_password(state, &caller, current).await?;
    if !right {
        count_failure(state, keys, caller.meta.clone()).await?;
        return Err(ApiError::invalid("currentPassword: does not match"));
    }
    let hash = state.hasher.hash(new).await?;
    state
        .tx(move |c| {
            throttle::succeeded(c, &keys)?;
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

#[cfg(test)]
mod tests {
    use super::Pending;

    #[test]
    fn an_mfa_tokens_payload_round_trips() {
        for p in [
            Pending {
                client: Some("cl_abc-_1".into()),
                ver: 3,
            },
            Pending {
                client: None,
                ver: 0,
            },
        ] {
            assert_eq!(Pending::decode(&p.encode()), Some(p));
        }
        assert_eq!(Pending::decode("x:y"), None);
    }
}

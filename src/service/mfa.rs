//! TOTP multi-factor login: enrolment, confirmation (with recovery codes), turning it off, an
//! admin's reset, and the second step of a login.

use super::codes::{self, Kind};
use super::sessions::{begin, Pending, Session};
use super::throttle;
use crate::auth::totp;
use crate::auth::{Caller, Credential};
use crate::db::audit::Meta;
use crate::db::mfa as store;
use crate::db::models::{now, now_secs};
use crate::db::{accounts, users, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::secrets::hash_token;
use crate::state::AppState;

/// The name authenticator apps show beside the account.
const ISSUER_LABEL: &str = "accountd";

/// A secret waiting for its first code.
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    pub svg: String,
}

/// The second factor a login step or a change presents.
pub enum Factor {
    Code(String),
    Recovery(String),
}

/// The secret's sealing label: the user it belongs to, so a sealed secret cannot be moved to
/// another user's row.
fn label(user_id: &str) -> String {
    format!("totp:{user_id}")
}

fn already_on() -> ApiError {
    ApiError::conflict("TOTP is already on; turn it off first")
}

fn wrong_code() -> ApiError {
    ApiError::invalid("code: does not match")
}

/// A new, not yet active secret for the caller (replacing one never confirmed).
pub async fn enrol(state: &AppState, caller: Caller) -> ApiResult<Enrolment> {
    let secret = totp::new_secret();
    let sealed = crate::auth::keys::seal(
        state.config.key_encryption_key.as_ref(),
        &label(caller.id()),
        &secret,
    )
    .map_err(ApiError::internal)?;
    let user = caller.id().to_string();
    state
        .tx(move |c| {
            if store::is_on(c, &user)? {
                return Err(already_on());
            }
            store::put_pending(c, &user, &sealed, now())?;
            Ok(())
        })
        .await?;
    let uri = totp::otpauth_uri(ISSUER_LABEL, &caller.user.email, &secret);
    Ok(Enrolment {
        secret: totp::encoded(&secret),
        svg: totp::qr_svg(&uri),
        uri,
    })
}

/// The user's secret, opened.
fn secret_of(state_kek: Option<&[u8; 32]>, row: &store::TotpRow) -> ApiResult<Vec<u8>> {
    crate::auth::keys::open(state_kek, &label(&row.user_id), &row.secret)
        .map_err(ApiError::internal)
}

/// Turn TOTP on with the first right code: answers the ten recovery codes (shown only here,
/// stored hashed). The session it happens in counts as one that used MFA. Audited.
pub async fn confirm(state: &AppState, caller: Caller, code: String) -> ApiResult<Vec<String>> {
    let kek = state.config.key_encryption_key;
    state
        .tx(move |c| {
            let row = store::find(c, caller.id())?.ok_or_else(|| {
                ApiError::conflict("no TOTP enrolment: POST /user/mfa/totp first")
            })?;
            if row.confirmed {
                return Err(already_on());
            }
            let secret = secret_of(kek.as_ref(), &row)?;
            let step = totp::matching_step(&secret, &code, now_secs(), row.last_step)
                .ok_or_else(wrong_code)?;
            if !store::use_step(c, &row, step, true)? {
                return Err(wrong_code());
            }
            let codes = totp::recovery_codes();
            let hashes: Vec<String> = codes.iter().map(|c| hash_token(c)).collect();
            store::put_recovery(c, caller.id(), &hashes)?;
            if let Credential::Access { sid: Some(sid), .. } = &caller.credential {
                crate::db::sessions::mark_mfa(c, sid)?;
            }
            let account = Some(caller.account_id());
            crate::db::audit::record(
                c,
                &caller.meta,
                "user.mfa_enabled",
                account,
                Some(caller.id()),
            )?;
            Ok(codes)
        })
        .await
}

/// Check a second factor of a user with TOTP on: a code (each time step is accepted once,
/// on every instance) or a recovery code (each once).
fn second_factor(
    conn: &mut DbConn,
    kek: Option<&[u8; 32]>,
    user_id: &str,
    factor: &Factor,
) -> ApiResult<bool> {
    let Some(row) = store::find(conn, user_id)?.filter(|r| r.confirmed) else {
        return Ok(false);
    };
    match factor {
        Factor::Code(code) => {
            let secret = secret_of(kek, &row)?;
            match totp::matching_step(&secret, code, now_secs(), row.last_step) {
                Some(step) => Ok(store::use_step(conn, &row, step, false)?),
                None => Ok(false),
            }
        }
        Factor::Recovery(code) => {
            let hash = hash_token(&totp::normalized_recovery(code));
            Ok(store::take_recovery(conn, user_id, &hash)?)
        }
    }
}

/// Turn one's own TOTP off: the password and a code (or a recovery code) must both be right.
/// A wrong password or code counts toward the lockout, as a wrong login does. Audited.
pub async fn disable(
    state: &AppState,
    caller: Caller,
    password: String,
    factor: Factor,
) -> ApiResult<()> {
    let (password_ok, keys) = super::sessions::own_password(state, &caller, password).await?;
    let (config, metrics) = (state.config.clone(), state.metrics.clone());
    let kek = state.config.key_encryption_key;
    state
        .tx(move |c| {
            let meta = &caller.meta;
            store::lock(c, caller.id())?;
            if !store::is_on(c, caller.id())? {
                return Ok(Err(ApiError::conflict("TOTP is not on")));
            }
            if !password_ok {
                throttle::failed(c, &config, &metrics, &keys, meta)?;
                return Ok(Err(ApiError::invalid("password: does not match")));
            }
            if !second_factor(c, kek.as_ref(), caller.id(), &factor)? {
                throttle::failed(c, &config, &metrics, &keys, meta)?;
                return Ok(Err(wrong_code()));
            }
            store::delete(c, caller.id())?;
            let account = Some(caller.account_id());
            crate::db::audit::record(c, meta, "user.mfa_disabled", account, Some(caller.id()))?;
            Ok(Ok(()))
        })
        .await?
}

/// An admin turns TOTP off for a user of its tree below its role (the owner: anyone), who
/// lost its device: it enrols again at its next login. Audited.
pub async fn reset(state: &AppState, caller: Caller, user_id: String) -> ApiResult<()> {
    state
        .tx(move |c| {
            let user = super::access::visible_user_by_id(c, &caller, &user_id)?;
            super::access::may_act_for(&caller, &user, "resets MFA")?;
            if store::delete(c, &user.id)? == 0 {
                return Err(ApiError::conflict("TOTP is not on for this user"));
            }
            let account = Some(user.account_id.as_str());
            crate::db::audit::record(c, &caller.meta, "user.mfa_reset", account, Some(&user.id))?;
            Ok(())
        })
        .await
}

fn bad_mfa_token() -> ApiError {
    ApiError::unauthorized("invalid or expired mfa token")
}

/// The second step of a login: the MFA token a right password got, with a code or a recovery
/// code, from the client that started it. A wrong code counts toward the lockout and toward
/// the token's own five guesses; a right one uses the token up and starts a session that
/// used MFA.
pub async fn complete_login(
    state: &AppState,
    token: String,
    factor: Factor,
    meta: Meta,
    client: Option<String>,
) -> ApiResult<Session> {
    let (jwt, config, metrics) = (
        state.keys.clone(),
        state.config.clone(),
        state.metrics.clone(),
    );
    let kek = config.key_encryption_key;
    let answer = state
        .tx(move |c| {
            let Some(row) = codes::peek(c, Kind::Mfa, &token)? else {
                return Ok(Err(bad_mfa_token()));
            };
            let pending = row
                .payload
                .as_deref()
                .and_then(Pending::decode)
                .unwrap_or_default();
            let user = users::find(c, &row.user_id)?;
            let Some(user) = user.filter(|u| u.token_version == pending.ver) else {
                crate::db::codes::take(c, &row.id)?;
                return Ok(Err(bad_mfa_token()));
            };
            if pending.client != client {
                return Ok(Err(bad_mfa_token()));
            }
            // One check of this user's second factor at a time: the lock's and the token's
            // counts are read after the last failure was written, so parallel guesses get no
            // more checks than the limits.
            store::lock(c, &user.id)?;
            let Some(row) = codes::peek(c, Kind::Mfa, &token)? else {
                return Ok(Err(bad_mfa_token()));
            };
            let keys = throttle::Keys::login("", Some(&user), meta.ip.as_deref());
            if let Err(locked) = throttle::check(c, &config, &keys)? {
                return Ok(Err(locked));
            }
            if !second_factor(c, kek.as_ref(), &user.id, &factor)? {
                throttle::failed(c, &config, &metrics, &keys, &meta)?;
                codes::wrong_guess(c, &row)?;
                return Ok(Err(ApiError::unauthorized("invalid code")));
            }
            if !crate::db::codes::take(c, &row.id)? {
                return Ok(Err(bad_mfa_token()));
            }
            throttle::succeeded(c, &keys)?;
            if accounts::blocked(c, &user.account_id)? {
                return Ok(Err(ApiError::forbidden("account suspended")));
            }
            Ok(Ok(begin(c, &jwt, user, &meta, client.as_deref(), true)?))
        })
        .await?;
    state.metrics.login(crate::metrics::login_outcome(&answer));
    answer
}

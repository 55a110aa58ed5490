//! Who is calling: the bearer credential, checked against the database on every request so that
//! removal, demotion, logout and password changes take effect at once on every instance.
//!
//! `authenticate` is the one way in. The transports (HTTP extractors, RPC frames) only read the
//! credential off the request (`Presented`); the use cases receive the checked `Caller`.

use super::jwt::{Claims, Keys};
use crate::db::audit::Meta;
use crate::db::models::{now, Account, User};
use crate::db::users::{Check, CredentialCheck};
use crate::db::{pats, users, DbConn, Store};
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{secret_matches, split_credential};

pub const PAT_PREFIX: &str = "pat_";

/// An authenticated caller with at least the `user` role.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
    /// Who and where, for the audit log of the changes this caller makes.
    pub meta: Meta,
}

/// What the caller presented.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A JWT access token: its id, expiry (seconds) and login session, if any.
    Access {
        jti: String,
        exp: i64,
        sid: Option<String>,
    },
    /// A personal access token, by id.
    Pat { id: String },
}

impl Caller {
    pub fn id(&self) -> &str {
        &self.user.id
    }
    pub fn account_id(&self) -> &str {
        &self.user.account_id
    }
    pub fn role(&self) -> Role {
        self.user.role
    }
    pub fn is_owner(&self) -> bool {
        self.role() == Role::Owner
    }
}

/// The account a request is about, read in the statement that checks its credential.
pub struct About {
    /// The account, if it exists.
    pub account: Option<Account>,
    /// Whether it lies in the caller's subtree (worked out for admins only).
    pub in_subtree: bool,
}

/// A request's bearer credential, read off the request but not yet checked.
pub struct Presented {
    pub token: String,
    /// Where the request came from, for the audit log.
    pub meta: Meta,
    /// Whether the route serves a session that may only enrol a second factor (TOTP
    /// enrolment, logout, one's own user).
    pub enrolment: bool,
}

/// The answer to a token that may only enrol a second factor, anywhere else.
pub const ENROL_FIRST: &str =
    "your account requires multi-factor login: enrol TOTP (POST /user/mfa/totp, then /user/mfa/totp/confirm) and log in again";

/// Check a presented credential: the caller, and the account `about` (if asked) read in the
/// same statement, so that a read of one account is one statement in all. An access token is
/// checked on the worker's own connection (`db::pipelined`); a personal access token (whose
/// check may write) takes the pool.
pub async fn authenticate(
    store: &Store,
    keys: &std::sync::Arc<Keys>,
    presented: Presented,
    about: Option<String>,
) -> ApiResult<(Caller, About)> {
    let found = check(store, keys, presented, about).await?;
    if let Credential::Access { sid: Some(sid), .. } = &found.0.credential {
        note_use(store, sid);
    }
    Ok(found)
}

thread_local! {
    /// When this thread last recorded a use of each login session (µs).
    static NOTED: std::cell::RefCell<std::collections::HashMap<String, i64>> =
        std::cell::RefCell::default();
}

/// Record that a session was used, at most once a minute per session and thread, off the
/// request's path (a lost write only makes `lastUsed` a minute older).
fn note_use(store: &Store, sid: &str) {
    use crate::db::sessions::TOUCH_EVERY;
    let ts = crate::db::models::now();
    let due = NOTED.with_borrow_mut(|noted| {
        if noted.get(sid).is_some_and(|t| ts - t < TOUCH_EVERY) {
            return false;
        }
        if noted.len() >= 4096 {
            noted.clear();
        }
        noted.insert(sid.to_string(), ts);
        true
    });
    if due {
        let (pool, sid) = (store.pool.clone(), sid.to_string());
        tokio::task::spawn_blocking(move || {
            if let Ok(mut conn) = pool.get() {
                let _ = crate::db::sessions::touch(&mut conn, &sid, ts);
            }
        });
    }
}

async fn check(
    store: &Store,
    keys: &std::sync::Arc<Keys>,
    presented: Presented,
    about: Option<String>,
) -> ApiResult<(Caller, About)> {
    let Presented {
        token,
        meta,
        enrolment,
    } = presented;
    if token.starts_with(PAT_PREFIX) {
        return store
            .run(move |conn| check_pat(conn, &token, meta, about, true))
            .await;
    }
    let claims = claims_or_reload(store, keys, &token).await?;
    let enrol_only = claims.enrol_only;
    let found = check_access(store, claims, meta, about).await?;
    if enrol_only && !enrolment {
        return Err(ApiError::forbidden(ENROL_FIRST));
    }
    Ok(found)
}

/// An access token whose signature checks: its user, session and revocation, in one statement.
async fn check_access(
    store: &Store,
    claims: Claims,
    meta: Meta,
    about: Option<String>,
) -> ApiResult<(Caller, About)> {
    // A NUL in the path's id would fail the whole batch in PostgreSQL; the pool answers it.
    let batchable = !about.as_deref().is_some_and(|a| a.contains('\0'));
    if let (Some(pipeline), true) = (&store.pipeline, batchable) {
        if let Some(found) = pipeline
            .credential(access_check(&claims, about.clone()))
            .await
        {
            return jwt_caller(claims, found, meta);
        }
    }
    store
        .run(move |conn| check_jwt(conn, claims, meta, about))
        .await
}

/// The claims of an access token whose signature checks. A token signed with a key this
/// instance has not loaded yet (another instance rotated) makes it read the keys again, at
/// most every few seconds, rather than refuse the token.
async fn claims_or_reload(
    store: &Store,
    keys: &std::sync::Arc<Keys>,
    token: &str,
) -> ApiResult<Claims> {
    if let Some(claims) = keys.verify(token) {
        return Ok(claims);
    }
    if keys.should_reload_for(token) {
        let k = keys.clone();
        if let Err(e) = store.run(move |c| super::keys::reload(c, &k)).await {
            log::warn!("reloading the signing keys failed: {e}");
        }
    }
    jwt_claims(keys, token)
}

/// `authenticate` on a connection the caller already holds (inside its transaction).
pub fn check_on(
    conn: &mut DbConn,
    keys: &Keys,
    token: &str,
    meta: Meta,
    about: Option<String>,
) -> ApiResult<(Caller, About)> {
    if token.starts_with(PAT_PREFIX) {
        return check_pat(conn, token, meta, about, true);
    }
    // The routes that check a credential here serve no session that may only enrol.
    let claims = jwt_claims(keys, token)?;
    if claims.enrol_only {
        return Err(ApiError::forbidden(ENROL_FIRST));
    }
    check_jwt(conn, claims, meta, about)
}

/// Whose a token is, if it works: `check_on` for a token someone else presents to be
/// checked (validation, introspection). That is not a use of it: its `lastUsed` stays.
pub fn inspect_on(conn: &mut DbConn, keys: &Keys, token: &str) -> ApiResult<(Caller, About)> {
    if token.starts_with(PAT_PREFIX) {
        return check_pat(conn, token, Meta::default(), None, false);
    }
    // A token that may only enrol a second factor is no credential to anyone else.
    let claims = jwt_claims(keys, token)?;
    if claims.enrol_only {
        return Err(ApiError::unauthorized("token not valid"));
    }
    check_jwt(conn, claims, Meta::default(), None)
}

/// The rest of an access token's check, once its signature has: one statement.
fn check_jwt(
    conn: &mut DbConn,
    claims: Claims,
    meta: Meta,
    about: Option<String>,
) -> ApiResult<(Caller, About)> {
    let found = users::for_credential(conn, &access_check(&claims, about))?;
    jwt_caller(claims, found, meta)
}

fn access_check(claims: &Claims, account: Option<String>) -> Check {
    Check {
        user_id: claims.sub.clone(),
        jti: Some(claims.jti.clone()),
        session: claims.sid.clone(),
        account,
    }
}

fn jwt_claims(keys: &Keys, token: &str) -> ApiResult<Claims> {
    keys.verify(token)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
}

/// What the credential statement found, judged: the user exists with the same token version
/// (no removal, role or password change, logout everywhere), the token is not revoked, its
/// login session (if any) still exists, and no account at or above the user's is suspended or
/// closed.
fn judge(found: Option<CredentialCheck>, version: i64) -> ApiResult<(User, About)> {
    let revoked_msg = || ApiError::unauthorized("token revoked");
    let found = found.ok_or_else(revoked_msg)?;
    // A token of a login session lives only as long as the session: logout and a detected
    // refresh-token replay end every access token issued in it.
    // A deactivated user's version moved on too; its flag is checked as well, so that no
    // credential made for it later (a token an admin mints) works either.
    if found.user.token_version != version
        || found.revoked
        || !found.session_alive
        || !found.user.active
    {
        return Err(revoked_msg());
    }
    if found.blocked {
        return Err(ApiError::forbidden("account suspended"));
    }
    let about = match found.account {
        Some((account, in_subtree)) => About {
            account: Some(account),
            in_subtree,
        },
        None => About {
            account: None,
            in_subtree: false,
        },
    };
    Ok((found.user, about))
}

/// The caller of an access token, from its claims and what the credential statement found.
fn jwt_caller(
    claims: Claims,
    found: Option<CredentialCheck>,
    meta: Meta,
) -> ApiResult<(Caller, About)> {
    let (user, about) = judge(found, claims.ver)?;
    if user.account_id != claims.acc {
        return Err(ApiError::unauthorized("token revoked"));
    }
    let credential = Credential::Access {
        jti: claims.jti,
        exp: claims.exp,
        sid: claims.sid,
    };
    Ok((caller(user, credential, meta), about))
}

fn caller(user: User, credential: Credential, meta: Meta) -> Caller {
    let meta = meta.by(&user.id);
    Caller {
        user,
        credential,
        meta,
    }
}

fn check_pat(
    conn: &mut DbConn,
    token: &str,
    meta: Meta,
    account: Option<String>,
    // Whether this check is a use of the token (its holder presenting it).
    used: bool,
) -> ApiResult<(Caller, About)> {
    let invalid = || ApiError::unauthorized("invalid or expired token");
    let (id, secret) = split_credential(token, PAT_PREFIX).ok_or_else(invalid)?;
    let pat = pats::find(conn, id)?.ok_or_else(invalid)?;
    if !secret_matches(secret, &pat.secret_hash) {
        return Err(invalid());
    }
    let ts = now();
    if pat.expires_at.is_some_and(|e| e <= ts) {
        return Err(invalid());
    }
    let check = Check {
        user_id: pat.user_id.clone(),
        jti: None,
        session: None,
        account,
    };
    let (user, about) = judge(users::for_credential(conn, &check)?, pat.token_version)?;
    // lastUsed at most once a minute, so reads do not become a write storm.
    if used && pat.last_used.is_none_or(|t| ts - t >= 60_000_000) {
        pats::touch(conn, &pat.id, ts)?;
    }
    let credential = Credential::Pat { id: pat.id };
    Ok((caller(user, credential, meta), about))
}

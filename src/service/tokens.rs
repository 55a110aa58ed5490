//! Personal access tokens: `pat_...`, shown once, stored as hashes, acting with their user's
//! role, ending with the user's other credentials (removal, role or password change).

use super::access::{managed_user, visible_user};
use crate::auth::credential::inspect_on;
use crate::auth::jwt::Keys;
use crate::auth::{Caller, PAT_PREFIX};
use crate::db::audit::Meta;
use crate::db::models::{now, User};
use crate::db::pats::{self as store, Pat};
use crate::db::{accounts, users, DbConn};
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::secrets::{secret_matches, split_credential};
use crate::state::AppState;

/// Mint a token; the whole `pat_...` string is answered once and never stored.
pub async fn create(
    state: &AppState,
    caller: Caller,
    user_id: Option<String>,
    description: String,
    expires_at: Option<i64>,
) -> ApiResult<(Pat, String)> {
    state
        .tx(move |c| create_in(c, &caller, user_id.as_deref(), description, expires_at))
        .await
}

fn create_in(
    conn: &mut DbConn,
    caller: &Caller,
    user_id: Option<&str>,
    description: String,
    expires_at: Option<i64>,
) -> ApiResult<(Pat, String)> {
    let user = super::access::self_or_managed(conn, caller, user_id)?;
    super::access::may_act_for(caller, &user, "mints tokens")?;
    let (token, id, secret_hash) = crate::secrets::new_credential(PAT_PREFIX);
    let pat = Pat {
        id,
        secret_hash,
        user_id: user.id,
        token_version: user.token_version,
        description,
        created: now(),
        last_used: None,
        expires_at,
    };
    store::insert(conn, &pat)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "token.create",
        Some(&user.account_id),
        Some(&pat.id),
    )?;
    Ok((pat, token))
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    user_id: Option<String>,
    page: PageRequest,
) -> ApiResult<Vec<Pat>> {
    state
        .db(move |c| list_in(c, &caller, user_id.as_deref(), &page))
        .await
}

fn list_in(
    conn: &mut DbConn,
    caller: &Caller,
    user_id: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Vec<Pat>> {
    let user = super::access::self_or_managed(conn, caller, user_id)?;
    Ok(store::list(conn, &user.id, page)?)
}

/// Revoke one's own token, or one of a user the caller manages; others are 404.
pub async fn revoke(state: &AppState, caller: Caller, id: String) -> ApiResult<()> {
    state.tx(move |c| revoke_in(c, &caller, &id)).await
}

fn revoke_in(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<()> {
    let missing = || ApiError::not_found("no such token");
    let pat = store::find(conn, id)?.ok_or_else(missing)?;
    if pat.user_id != caller.id() {
        if caller.role() < Role::Admin {
            return Err(missing());
        }
        let user = users::find(conn, &pat.user_id)?;
        managed_user(conn, caller, user).map_err(|_| missing())?;
    }
    store::delete(conn, &pat.id)?;
    let account = users::find(conn, &pat.user_id)?.map(|u| u.account_id);
    crate::db::audit::record(
        conn,
        &caller.meta,
        "token.revoke",
        account.as_deref(),
        Some(&pat.id),
    )?;
    Ok(())
}

/// Whose is this credential (a personal access token or an access token)? A plain user may
/// validate only its own, an admin those of its tree, the owner any; every other answer is the
/// same 401, so validation reveals nothing about other users' tokens.
pub async fn validate(state: &AppState, caller: Caller, token: String) -> ApiResult<User> {
    let keys = state.keys.clone();
    state
        .tx(move |c| validate_in(c, &keys, &caller, &token))
        .await
}

fn validate_in(conn: &mut DbConn, keys: &Keys, caller: &Caller, token: &str) -> ApiResult<User> {
    let invalid = || ApiError::unauthorized("token not valid");
    let (holder, _) = inspect_on(conn, keys, token.trim()).map_err(|_| invalid())?;
    let allowed = holder.user.id == caller.id()
        || caller.role() == Role::Owner
        || (caller.role() == Role::Admin
            && accounts::is_in_subtree(conn, caller.account_id(), holder.account_id())?);
    if !allowed {
        return Err(invalid());
    }
    visible_user(conn, caller, Some(holder.user)).map_err(|_| invalid())
}

/// What `POST /v1/auth/introspect` tells of a live token (RFC 7662).
pub struct Introspection {
    pub user: User,
    /// `access_token`, `refresh_token` or `personal_access_token`.
    pub kind: &'static str,
    /// Seconds since the epoch.
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
    pub sid: Option<String>,
}

/// Introspect any of accountd's tokens for an admin or the owner (`caller`), or for a
/// confidential OAuth client (`None`: a resource server, which sees every user): `None`
/// (inactive) for a token that does not work, or whose user the caller may not see (so
/// nothing leaks).
pub async fn introspect(
    state: &AppState,
    caller: Option<Caller>,
    token: String,
) -> ApiResult<Option<Introspection>> {
    let keys = state.keys.clone();
    state
        .db(move |c| {
            let token = token.trim();
            if let Some((id, secret)) = split_credential(token, super::sessions::REFRESH_PREFIX) {
                let Some(row) = crate::db::refresh::find(c, id)? else {
                    return Ok(None);
                };
                let user = users::find(c, &row.user_id)?;
                let live = secret_matches(secret, &row.secret_hash)
                    && !row.rotated
                    && row.expires > now()
                    && user
                        .as_ref()
                        .is_some_and(|u| u.token_version == row.token_version);
                let Some(user) = user.filter(|_| live) else {
                    return Ok(None);
                };
                let user = match &caller {
                    None => user,
                    Some(caller) => {
                        match super::access::self_or_managed(c, caller, Some(&user.id)) {
                            Ok(user) => user,
                            Err(_) => return Ok(None),
                        }
                    }
                };
                return Ok(Some(Introspection {
                    user,
                    kind: "refresh_token",
                    exp: Some(row.expires / 1_000_000),
                    iat: Some(row.created / 1_000_000),
                    jti: None,
                    sid: Some(row.family),
                }));
            }
            let holder = match &caller {
                Some(caller) => validate_in(c, &keys, caller, token).ok(),
                None => inspect_on(c, &keys, token).ok().map(|(h, _)| h.user),
            };
            let Some(user) = holder else {
                return Ok(None);
            };
            if token.starts_with(PAT_PREFIX) {
                let pat = split_credential(token, PAT_PREFIX)
                    .map(|(id, _)| store::find(c, id))
                    .transpose()?
                    .flatten();
                return Ok(Some(Introspection {
                    user,
                    kind: "personal_access_token",
                    exp: pat
                        .as_ref()
                        .and_then(|p| p.expires_at)
                        .map(|e| e / 1_000_000),
                    iat: pat.map(|p| p.created / 1_000_000),
                    jti: None,
                    sid: None,
                }));
            }
            let claims = keys.verify(token);
            Ok(Some(Introspection {
                user,
                kind: "access_token",
                exp: claims.as_ref().map(|c| c.exp),
                iat: claims.as_ref().map(|c| c.iat),
                jti: claims.as_ref().map(|c| c.jti.clone()),
                sid: claims.and_then(|c| c.sid),
            }))
        })
        .await
}

/// RFC 7009: end the presented token, whatever it is; a token that does not work is not an
/// error (the answer is the same). An access token is revoked alone; a refresh token ends its
/// whole session (its access tokens too); a personal access token is deleted. Audited.
///
/// `client`: the OAuth client that authenticated, if one did. It may revoke only tokens issued
/// to it (RFC 7009 section 2.1): another's is 403, and nothing is revoked.
pub async fn revoke_presented(
    state: &AppState,
    token: String,
    meta: Meta,
    client: Option<String>,
) -> ApiResult<()> {
    let keys = state.keys.clone();
    state
        .tx(move |c| {
            let token = token.trim();
            // Whether a token of login session `sid` (none: a personal access token) may be
            // revoked by this request's client.
            let allowed = |c: &mut DbConn, sid: Option<&str>| -> ApiResult<()> {
                let Some(client) = &client else {
                    return Ok(());
                };
                let issued_to = match sid {
                    Some(sid) => crate::db::sessions::find(c, sid)?.and_then(|s| s.client_id),
                    None => None,
                };
                if issued_to.as_ref() != Some(client) {
                    return Err(ApiError::forbidden(
                        "the token was issued to another client",
                    ));
                }
                Ok(())
            };
            let (action, user_id, target) = if let Some((id, secret)) =
                split_credential(token, super::sessions::REFRESH_PREFIX)
            {
                let Some(row) = crate::db::refresh::find(c, id)? else {
                    return Ok(());
                };
                if !secret_matches(secret, &row.secret_hash) {
                    return Ok(());
                }
                allowed(c, Some(&row.family))?;
                crate::db::refresh::delete_family(c, &row.family)?;
                ("session.end", row.user_id, row.family)
            } else if let Some((id, secret)) = split_credential(token, PAT_PREFIX) {
                let Some(pat) = store::find(c, id)? else {
                    return Ok(());
                };
                if !secret_matches(secret, &pat.secret_hash) {
                    return Ok(());
                }
                allowed(c, None)?;
                store::delete(c, &pat.id)?;
                ("token.revoke", pat.user_id, pat.id)
            } else {
                let Some(claims) = keys.verify(token) else {
                    return Ok(());
                };
                allowed(c, claims.sid.as_deref())?;
                let now_secs = crate::db::models::now_secs();
                crate::db::revoked::revoke(c, &claims.jti, claims.exp, now_secs)?;
                ("token.revoke", claims.sub, claims.jti)
            };
            let account = users::find(c, &user_id)?.map(|u| u.account_id);
            crate::db::audit::record(
                c,
                &meta.by(&user_id),
                action,
                account.as_deref(),
                Some(&target),
            )?;
            // A session's row goes after its end is recorded: the event carries the session.
            if action == "session.end" {
                crate::db::sessions::delete(c, &target)?;
            }
            Ok(())
        })
        .await
}

//! Registrations and their confirmation, invitations, and password resets: the flows that
//! mail a code and take it back.

use super::codes::{self, bad_code, Kind, Used};
use super::sessions::{set_password, Session};
use super::throttle;
use super::users::{self as user_service, NewUser};
use crate::db::audit::{self, Meta};
use crate::db::models::{now, User};
use crate::db::{accounts, users, DbConn};
use crate::domain::{Email, Role, Seats, UserStatus, Username};
use crate::error::{ApiError, ApiResult};
use crate::mail::{templates, Mail};
use crate::state::AppState;

pub struct Registration {
    pub email: Email,
    pub password: String,
    pub username: Option<Username>,
    pub name: Option<String>,
}

/// Register a new account and its first user (admin, unverified) and mail a confirmation code.
/// An email already in use gets the same answer (a made-up id) and its owner gets a mail, so
/// registration never tells whether an address has an account.
pub async fn register(state: &AppState, r: Registration, meta: Meta) -> ApiResult<String> {
    if state.config.registration == crate::config::Registration::Closed {
        return Err(ApiError::forbidden("registration is closed"));
    }
    // Hash first, on every path, so both answers take the same time.
    let hash = state.hasher.hash(r.password).await?;
    state
        .tx_then_mail(move |c| {
            let email = r.email.as_str();
            // A made-up id: the answer must not tell that the address is in use.
            if users::by_email(c, email)?.is_some() {
                let mail = templates::already_registered(email);
                return Ok((crate::ids::new_id(), vec![mail]));
            }
            // A taken username is told to the mailbox too, never in the answer.
            if let Some(name) = &r.username {
                if users::by_login(c, name.as_str())?.is_some() {
                    let mail = templates::username_taken(email, name.as_str());
                    return Ok((crate::ids::new_id(), vec![mail]));
                }
            }
            // The account takes the email too, unless another account already has it.
            let account_email = accounts::by_email(c, email)?
                .is_none()
                .then(|| r.email.clone());
            let account = super::accounts::insert(
                c,
                super::accounts::NewAccount {
                    id: crate::ids::new_id(),
                    name: r.name.unwrap_or_else(|| r.email.as_str().to_string()),
                    email: account_email,
                    plan_id: None,
                    parent_id: None,
                    device_seats: Seats::ZERO,
                    suspended: false,
                },
            )?;
            let user = user_service::insert(
                c,
                NewUser {
                    id: crate::ids::new_id(),
                    account_id: account.id,
                    email: r.email,
                    username: r.username,
                    first: None,
                    last: None,
                    role: Role::Admin,
                    password_hash: Some(hash),
                    verified: false,
                    external_id: None,
                },
            )?;
            let code = codes::issue(c, Kind::Confirm, &user.id)?;
            audit::record(
                c,
                &meta,
                "user.register",
                Some(&user.account_id),
                Some(&user.id),
            )?;
            let mail = templates::confirmation(&user.email, &code);
            Ok((user.id, vec![mail]))
        })
        .await
}

/// Use a code, counting the attempt against the client's address first. `Ok(Err(..))` for a
/// bad code or a locked address: the caller commits (the counts stay) and then refuses. A code
/// that comes `with` a new password's hash sets it (every older credential ends) and proves the
/// address: the user is active and verified.
fn use_code(
    conn: &mut DbConn,
    config: &crate::config::Config,
    metrics: &crate::metrics::Metrics,
    meta: &Meta,
    kind: Kind,
    code: &str,
    with: Option<&str>,
) -> ApiResult<Result<Used, ApiError>> {
    // The field the code came in.
    let field = if kind == Kind::Invite {
        "invite"
    } else {
        "code"
    };
    let keys = throttle::Keys::code(meta.ip.as_deref());
    if let Err(locked) = throttle::check(conn, config, &keys)? {
        return Ok(Err(locked));
    }
    match codes::consume(conn, kind, code)? {
        Some(used) => {
            throttle::succeeded(conn, &keys)?;
            if let Some(hash) = with {
                let user = &used.user_id;
                set_password(conn, user, hash)?;
                users::activate(conn, user)?;
                // Whoever holds the address may log in again, wherever from.
                throttle::unlock(conn, user)?;
            }
            Ok(Ok(used))
        }
        None => {
            throttle::failed(conn, config, metrics, &keys, meta)?;
            Ok(Err(bad_code(field)))
        }
    }
}

/// After a code that logs the user in: refuse a suspended account, audit, start the session.
fn session_after_code(
    conn: &mut DbConn,
    keys: &crate::auth::jwt::Keys,
    meta: &Meta,
    user_id: &str,
    action: &str,
) -> ApiResult<Session> {
    let user = users::get(conn, user_id)?;
    if accounts::blocked(conn, &user.account_id)? {
        return Err(ApiError::forbidden("account suspended"));
    }
    audit::record(
        conn,
        &meta.clone().by(&user.id),
        action,
        Some(&user.account_id),
        Some(&user.id),
    )?;
    super::sessions::start(conn, keys, user, meta, None, false)
}

/// Use a confirmation code: the user is verified and logged in.
pub async fn confirm(state: &AppState, code: String, meta: Meta) -> ApiResult<Session> {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    let keys = state.keys.clone();
    state
        .tx(move |c| {
            let user_id = match use_code(c, &config, &metrics, &meta, Kind::Confirm, &code, None)? {
                Ok(u) => u.user_id,
                Err(e) => return Ok(Err(e)),
            };
            users::set_verified(c, &user_id)?;
            session_after_code(c, &keys, &meta, &user_id, "user.confirm").map(Ok)
        })
        .await?
}

/// Accept an invitation: set the password; the user is active, verified and logged in.
pub async fn accept_invite(
    state: &AppState,
    code: String,
    password: String,
    meta: Meta,
) -> ApiResult<Session> {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    let hash = state.hasher.hash(password).await?;
    let keys = state.keys.clone();
    state
        .tx(move |c| {
            let with = Some(hash.as_str());
            let user_id = match use_code(c, &config, &metrics, &meta, Kind::Invite, &code, with)? {
                Ok(u) => u.user_id,
                Err(e) => return Ok(Err(e)),
            };
            session_after_code(c, &keys, &meta, &user_id, "user.accept_invite").map(Ok)
        })
        .await?
}

/// Mail a fresh invitation code to an invited user (no-op for anyone else).
pub fn reinvite(conn: &mut DbConn, user: &User) -> ApiResult<Option<Mail>> {
    if user.status != UserStatus::Invited {
        return Ok(None);
    }
    let code = codes::issue(conn, Kind::Invite, &user.id)?;
    Ok(Some(templates::invitation(&user.email, &code)))
}

/// Use an email-change code: the user's address becomes the one the code was mailed to (which
/// proved it), codes mailed to the old address end, and the old address is told.
pub async fn confirm_email(state: &AppState, code: String, meta: Meta) -> ApiResult<User> {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    state
        .tx(move |c| {
            let used = match use_code(c, &config, &metrics, &meta, Kind::Email, &code, None)? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            let before = users::get(c, &used.user_id)?;
            let new = used.payload.unwrap_or_default();
            let changes = users::UserChanges {
                email_lower: Some(new.to_lowercase()),
                email: Some(new.clone()),
                ..Default::default()
            };
            users::update(c, &before.id, &changes)?;
            crate::db::codes::delete_all_for(c, &before.id)?;
            audit::record(
                c,
                &meta.by(&before.id),
                "user.email",
                Some(&before.account_id),
                Some(&before.id),
            )?;
            let mail = templates::email_changed(&before.email, &new);
            Ok(Ok((users::get(c, &before.id)?, mail)))
        })
        .await?
        .map(|(user, mail)| {
            state.mailer.send(mail);
            user
        })
}

/// Always the same answer; a reset code is mailed only when the address has a user.
pub async fn forgot_password(state: &AppState, email: String) -> ApiResult<()> {
    state
        .tx_then_mail(move |c| {
            let Some(user) = users::by_email(c, &email)? else {
                return Ok(((), vec![]));
            };
            if crate::db::codes::count_live(c, &user.id, "reset", now())? >= codes::MAX_LIVE_RESETS
            {
                return Ok(((), vec![]));
            }
            let code = codes::issue(c, Kind::Reset, &user.id)?;
            Ok(((), vec![templates::reset(&user.email, &code)]))
        })
        .await
}

/// Use a reset code: set the password (every older credential ends); the address is proven.
pub async fn reset_password(
    state: &AppState,
    code: String,
    password: String,
    meta: Meta,
) -> ApiResult<()> {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    let hash = state.hasher.hash(password).await?;
    state
        .tx(move |c| {
            let with = Some(hash.as_str());
            let user_id = match use_code(c, &config, &metrics, &meta, Kind::Reset, &code, with)? {
                Ok(u) => u.user_id,
                Err(e) => return Ok(Err(e)),
            };
            let user = users::get(c, &user_id)?;
            audit::record(
                c,
                &meta.by(&user.id),
                "user.reset_password",
                Some(&user.account_id),
                Some(&user.id),
            )?;
            Ok(Ok(()))
        })
        .await?
}

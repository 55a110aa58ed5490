//! Logins and sessions (access + refresh tokens), logouts, registrations, invitations,
//! password resets and the first owner.

use super::codes::{self, bad_code, Kind};
use super::throttle;
use super::users::{self as user_service, NewUser};
use crate::auth::extractor::{Caller, Credential};
use crate::auth::Role;
use crate::db::audit::{self, Meta};
use crate::db::models::{now, Account, User};
use crate::db::{accounts, pats, refresh, revoked, users, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
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
    ApiError::unauthorized("invalid email or password")
}

/// Check a password login and start a session. The hash is verified (against a dummy for
/// unknown users) before anything else is revealed, and without holding a connection.
pub async fn login(
    state: &AppState,
    identity: String,
    password: String,
    meta: Meta,
) -> ApiResult<Session> {
    // The attempt is counted before the hash is checked: a locked identity or address gets 429,
    // and parallel guesses can never get more checks than the limit.
    if identity.is_empty() || identity.len() > 254 {
        return Err(bad_login());
    }
    // A place in the hash queue first: a refused login touches nothing else.
    let ticket = state.hasher.admit().await?;
    let config = state.config.clone();
    let (user, keys) = state
        .tx(move |c| {
            let user = users::by_login(c, &identity)?;
            let keys = throttle::Keys::login(&identity, user.as_ref(), meta.ip.as_deref());
            // The count (and a new lock) must commit even when this attempt is refused.
            if let Err(locked) = throttle::reserve(c, &config, &keys, &meta)? {
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
            start_session(
                c,
                &jwt,
                User {
                    activity: ts,
                    ..user
                },
            )
        })
        .await
}

/// A new login session: a refresh token family and an access token that names it.
pub fn start_session(
    conn: &mut DbConn,
    keys: &crate::auth::jwt::Keys,
    user: User,
) -> ApiResult<Session> {
    let family = crate::ids::new_id();
    let refresh_token = new_refresh(conn, &family, &user)?;
    let account = accounts::get(conn, &user.account_id)?;
    let (token, expires) = keys.issue(
        &user.id,
        &user.account_id,
        &user.role,
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
pub fn refresh_session(
    conn: &mut DbConn,
    keys: &crate::auth::jwt::Keys,
    token: &str,
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
    let refresh_token = new_refresh(conn, &row.family, &user)?;
    let account = accounts::get(conn, &user.account_id)?;
    let (token, expires) = keys.issue(
        &user.id,
        &user.account_id,
        &user.role,
        user.token_version,
        Some(&row.family),
    );
    Ok(Refreshed::Ok(Box::new(Session {
        token,
        expires,
        refresh_token,
        account,
        user,
    })))
}

/// End the presented credential (its access token and refresh family, or the personal access
/// token), or with `everywhere` every credential of the user.
pub fn logout(conn: &mut DbConn, caller: &Caller, everywhere: bool) -> ApiResult<()> {
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

/// Set a new password and end every earlier credential of the user.
pub fn set_password(conn: &mut DbConn, user_id: &str, hash: &str) -> ApiResult<()> {
    users::set_password(conn, user_id, hash)?;
    refresh::delete_for_user(conn, user_id)?;
    Ok(())
}

// Registration, invitations and password resets.

fn mail(to: &str, subject: &str, body: String) -> Mail {
    Mail {
        to: to.to_string(),
        subject: subject.to_string(),
        body,
    }
}

pub fn confirmation_mail(to: &str, code: &str) -> Mail {
    mail(
        to,
        "Confirm your accountd registration",
        format!(
            "Your confirmation code is:\n\n{code}\n\nIt works once, for 24 hours:\n\
             POST /v1/register/confirm {{\"code\": \"{code}\"}}\n"
        ),
    )
}

pub fn invitation_mail(to: &str, code: &str) -> Mail {
    mail(
        to,
        "You are invited to accountd",
        format!(
            "Your invitation code is:\n\n{code}\n\nIt works once, for 7 days. Choose your password with:\n\
             POST /user/login {{\"invite\": \"{code}\", \"password\": \"...\"}}\n"
        ),
    )
}

fn reset_mail(to: &str, code: &str) -> Mail {
    mail(
        to,
        "Reset your accountd password",
        format!(
            "Your password reset code is:\n\n{code}\n\nIt works once, for 1 hour:\n\
             POST /v1/password/reset {{\"code\": \"{code}\", \"password\": \"...\"}}\n\
             If you did not ask for it, ignore this mail.\n"
        ),
    )
}

fn already_registered_mail(to: &str) -> Mail {
    mail(
        to,
        "Someone tried to register with your address",
        "Someone tried to register a new accountd account with this address, which already has one.\n\
         If it was you, log in, or reset your password with POST /v1/password/forgot.\n\
         If it was not, you need do nothing.\n"
            .to_string(),
    )
}

fn username_taken_mail(to: &str, username: &str) -> Mail {
    mail(
        to,
        "Choose another username",
        format!(
            "Someone (you?) tried to register with this address and the username \"{username}\",\n\
             which is taken. Register again with another username, or none.\n"
        ),
    )
}

pub struct Registration {
    pub email: String,
    pub password: String,
    pub username: Option<String>,
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
    let email = r.email.clone();
    let outcome = state
        .tx(move |c| {
            if users::by_email(c, &r.email)?.is_some() {
                return Ok(Err(already_registered_mail(&r.email)));
            }
            // A taken username is told to the mailbox too, never in the answer.
            if let Some(name) = &r.username {
                if users::by_login(c, name)?.is_some() {
                    return Ok(Err(username_taken_mail(&r.email, name)));
                }
            }
            // The account takes the email too, unless another account already has it.
            let account_email = accounts::by_email(c, &r.email)?
                .is_none()
                .then(|| r.email.clone());
            let account = super::accounts::insert(
                c,
                super::accounts::NewAccount {
                    id: crate::ids::new_id(),
                    name: r.name.unwrap_or_else(|| r.email.clone()),
                    email: account_email,
                    plan_id: None,
                    parent_id: None,
                    device_seats: 0,
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
            Ok(Ok((user.id, code)))
        })
        .await?;
    match outcome {
        Ok((id, code)) => {
            state.mailer.send(confirmation_mail(&email, &code));
            Ok(id)
        }
        Err(mail) => {
            state.mailer.send(mail);
            Ok(crate::ids::new_id())
        }
    }
}

/// Use a code, counting the attempt against the client's address first. `Ok(Err(..))` for a
/// bad code or a locked address: the caller commits (the counts stay) and then refuses.
fn use_code(
    conn: &mut DbConn,
    config: &crate::config::Config,
    meta: &Meta,
    kind: Kind,
    code: &str,
    field: &str,
) -> ApiResult<Result<String, ApiError>> {
    let keys = throttle::Keys::code(meta.ip.as_deref());
    if let Err(locked) = throttle::reserve(conn, config, &keys, meta)? {
        return Ok(Err(locked));
    }
    match codes::consume(conn, kind, code)? {
        Some(user) => {
            throttle::succeeded(conn, config, &keys)?;
            Ok(Ok(user))
        }
        None => Ok(Err(bad_code(field))),
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
    start_session(conn, keys, user)
}

/// Use a confirmation code: the user is verified and logged in.
pub async fn confirm(state: &AppState, code: String, meta: Meta) -> ApiResult<Session> {
    let config = state.config.clone();
    let keys = state.keys.clone();
    state
        .tx(move |c| {
            let user_id = match use_code(c, &config, &meta, Kind::Confirm, &code, "code")? {
                Ok(u) => u,
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
    let hash = state.hasher.hash(password).await?;
    let keys = state.keys.clone();
    state
        .tx(move |c| {
            let user_id = match use_code(c, &config, &meta, Kind::Invite, &code, "invite")? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            set_password(c, &user_id, &hash)?;
            users::activate(c, &user_id)?;
            session_after_code(c, &keys, &meta, &user_id, "user.accept_invite").map(Ok)
        })
        .await?
}

/// Mail a fresh invitation code to an invited user (no-op for anyone else).
pub fn reinvite(conn: &mut DbConn, user: &User) -> ApiResult<Option<Mail>> {
    if user.status != "invited" {
        return Ok(None);
    }
    let code = codes::issue(conn, Kind::Invite, &user.id)?;
    Ok(Some(invitation_mail(&user.email, &code)))
}

/// Always the same answer; a reset code is mailed only when the address has a user.
pub async fn forgot_password(state: &AppState, email: String) -> ApiResult<()> {
    let mail = state
        .tx(move |c| {
            let Some(user) = users::by_email(c, &email)? else {
                return Ok(None);
            };
            if crate::db::codes::count_live(c, &user.id, "reset", now())? >= codes::MAX_LIVE_RESETS
            {
                return Ok(None);
            }
            let code = codes::issue(c, Kind::Reset, &user.id)?;
            Ok(Some(reset_mail(&user.email, &code)))
        })
        .await?;
    if let Some(m) = mail {
        state.mailer.send(m);
    }
    Ok(())
}

/// Use a reset code: set the password (every older credential ends); the address is proven.
pub async fn reset_password(
    state: &AppState,
    code: String,
    password: String,
    meta: Meta,
) -> ApiResult<()> {
    let config = state.config.clone();
    let hash = state.hasher.hash(password).await?;
    state
        .tx(move |c| {
            let user_id = match use_code(c, &config, &meta, Kind::Reset, &code, "code")? {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            set_password(c, &user_id, &hash)?;
            users::activate(c, &user_id)?;
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

#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created(String),
    AlreadyOwner,
    /// Start-up only: some owner exists already, so none was created.
    OwnerExists,
}

/// Create an owner (and an operator account for it) unless that email is already an owner.
pub fn bootstrap_owner(
    conn: &mut DbConn,
    email: &str,
    password_hash: String,
    only_if_no_owner: bool,
) -> ApiResult<Bootstrap> {
    crate::db::write_tx(conn, |conn| {
        // Instances starting together on one database decide one after the other.
        crate::db::lock_named(conn, crate::db::LockKey::Owners)?;
        if only_if_no_owner && owner_exists(conn)? {
            return Ok(Bootstrap::OwnerExists);
        }
        if let Some(existing) = users::by_email(conn, email)? {
            return if existing.role == Role::Owner.as_str() {
                Ok(Bootstrap::AlreadyOwner)
            } else {
                Err(ApiError::conflict(
                    "that email belongs to a user who is not an owner",
                ))
            };
        }
        let account = super::accounts::insert(
            conn,
            super::accounts::NewAccount {
                id: crate::ids::new_id(),
                name: "Operator".into(),
                email: Some(email.to_string()),
                plan_id: None,
                parent_id: None,
                device_seats: 0,
            },
        )?;
        let user = user_service::insert(
            conn,
            NewUser {
                id: crate::ids::new_id(),
                account_id: account.id,
                email: email.to_string(),
                username: None,
                first: None,
                last: None,
                role: Role::Owner,
                password_hash: Some(password_hash),
                verified: true,
            },
        )?;
        Ok(Bootstrap::Created(user.id))
    })
}

pub fn owner_exists(conn: &mut DbConn) -> ApiResult<bool> {
    Ok(users::count_owners(conn)? > 0)
}

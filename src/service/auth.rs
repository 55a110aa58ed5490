//! Logins, logouts, password changes and the first owner.

use super::users::{self as user_service, NewUser};
use crate::auth::extractor::Caller;
use crate::auth::Role;
use crate::db::models::{now, Account, User};
use crate::db::{accounts, revoked, users, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub struct Session {
    pub token: String,
    pub expires: i64,
    pub account: Account,
    pub user: User,
}

/// The one answer for an unknown identity and for a wrong password.
pub fn bad_login() -> ApiError {
    ApiError::unauthorized("invalid email or password")
}

/// Check a password login. The hash is verified (against a dummy for unknown users) before
/// anything else is revealed, and without holding a database connection.
pub async fn login(state: &AppState, identity: String, password: String) -> ApiResult<Session> {
    let user = state
        .db(move |c| Ok(users::by_login(c, &identity)?))
        .await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = state.hasher.verify(password, hash).await?;
    let user = match (matches, user) {
        (true, Some(u)) => u,
        _ => return Err(bad_login()),
    };
    if !user.verified {
        return Err(ApiError::forbidden("email address not verified"));
    }
    let (user, account) = state
        .db(move |c| {
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
            let account = accounts::get(c, &user.account_id)?;
            Ok((
                User {
                    activity: ts,
                    ..user
                },
                account,
            ))
        })
        .await?;
    Ok(issue(state, user, account))
}

pub fn issue(state: &AppState, user: User, account: Account) -> Session {
    let (token, expires) =
        state
            .keys
            .issue(&user.id, &user.account_id, &user.role, user.token_version);
    Session {
        token,
        expires,
        account,
        user,
    }
}

/// End the presented token, or with `everywhere` every token of the user.
pub fn logout(conn: &mut DbConn, caller: &Caller, everywhere: bool) -> ApiResult<()> {
    if everywhere {
        users::bump_token_version(conn, caller.id())?;
    } else {
        revoked::revoke(conn, &caller.jti, caller.exp, crate::db::models::now_secs())?;
    }
    Ok(())
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

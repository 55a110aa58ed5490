//! The first owner: `accountd bootstrap` and `OWNER_EMAIL`/`OWNER_PASSWORD` at start.

use super::users::{self as user_service, NewUser};
use crate::db::{users, DbConn};
use crate::domain::{Email, Role, Seats};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created(String),
    AlreadyOwner,
    /// Start-up only: some owner exists already, so none was created.
    OwnerExists,
}

/// Create an owner (and an operator account for it) unless that email is already an owner.
fn bootstrap_owner(
    conn: &mut DbConn,
    email: Email,
    password_hash: String,
    only_if_no_owner: bool,
) -> ApiResult<Bootstrap> {
    crate::db::write_tx(conn, |conn| {
        // Instances starting together on one database decide one after the other.
        crate::db::lock_named(conn, crate::db::LockKey::Owners)?;
        if only_if_no_owner && owner_exists(conn)? {
            return Ok(Bootstrap::OwnerExists);
        }
        if let Some(existing) = users::by_email(conn, email.as_str())? {
            return if existing.role == Role::Owner {
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
                email: Some(email.clone()),
                plan_id: None,
                parent_id: None,
                device_seats: Seats::ZERO,
                suspended: false,
            },
        )?;
        let user = user_service::insert(
            conn,
            NewUser {
                id: crate::ids::new_id(),
                account_id: account.id,
                email,
                username: None,
                first: None,
                last: None,
                role: Role::Owner,
                password_hash: Some(password_hash),
                verified: true,
                external_id: None,
            },
        )?;
        Ok(Bootstrap::Created(user.id))
    })
}

pub fn owner_exists(conn: &mut DbConn) -> ApiResult<bool> {
    Ok(users::count_owners(conn)? > 0)
}

/// Create an owner; shared by `accountd bootstrap` and OWNER_EMAIL/OWNER_PASSWORD.
pub fn create_owner(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    cost: u32,
    only_if_no_owner: bool,
) -> Result<Bootstrap, String> {
    let mut errors = vec![];
    crate::auth::password::check_password("password", password, &mut errors);
    let email = Email::parse(email.to_string())
        .map_err(|e| errors.push(format!("email: {e}")))
        .ok();
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(errors.join("; "));
    };
    let hash = crate::auth::password::hash_blocking(password, cost)?;
    bootstrap_owner(conn, email, hash, only_if_no_owner).map_err(|e| e.to_string())
}

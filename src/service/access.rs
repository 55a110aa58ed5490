//! Visibility and management rules. Outside the caller's tree a resource answers 404,
//! so nobody learns what exists beyond what they may see.

use crate::auth::{About, Caller};
use crate::db::models::{Account, User};
use crate::db::{accounts, DbConn};
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};

/// A role may grant only roles up to its own.
pub fn can_grant(caller: Role, role: Role) -> bool {
    role <= caller
}

/// A role may manage only users whose role is not above its own.
pub fn can_manage(caller: Role, target: Role) -> bool {
    target <= caller
}

/// Owner: every account; admin: its own and every descendant; user: its own. Whether the
/// account lies in the caller's subtree is asked for admins only.
pub fn may_see_account(
    caller: &Caller,
    account_id: &str,
    in_subtree: impl FnOnce() -> diesel::QueryResult<bool>,
) -> ApiResult<bool> {
    Ok(match caller.role() {
        Role::Owner => true,
        Role::Admin => in_subtree()?,
        _ => account_id == caller.account_id(),
    })
}

/// An admin acts on another user's credentials or login identity (its tokens, its email or
/// username, its invitations) only for users below its role: a peer's credential would outlive
/// the admin's own demotion, and a peer's address changed and then reset is a takeover. The
/// owner acts for anyone, everyone for itself.
pub fn may_act_for(caller: &Caller, user: &User, what: &str) -> ApiResult<()> {
    if user.id == caller.id() || caller.is_owner() || user.role < caller.role() {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "an admin {what} only for users below its role"
    )))
}

pub fn no_such_account() -> ApiError {
    ApiError::not_found("no such account")
}

pub fn no_such_user() -> ApiError {
    ApiError::not_found("no such user")
}

/// The account, if the caller may see it.
pub fn visible_account(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Account> {
    let account = accounts::find(conn, id)?;
    seen_account(caller, account, |a| {
        accounts::is_in_subtree(conn, caller.account_id(), a)
    })
}

/// The account a credential check read with the caller (`auth::About`), if the caller may see
/// it (404 otherwise).
pub fn seen(caller: &Caller, about: About) -> ApiResult<Account> {
    let inside = about.in_subtree;
    seen_account(caller, about.account, |_| Ok(inside))
}

/// `account` if it exists and the caller may see it, else 404: nobody learns which it was.
pub fn seen_account(
    caller: &Caller,
    account: Option<Account>,
    in_subtree: impl FnOnce(&str) -> diesel::QueryResult<bool>,
) -> ApiResult<Account> {
    let account = account.ok_or_else(no_such_account)?;
    if may_see_account(caller, &account.id, || in_subtree(&account.id))? {
        Ok(account)
    } else {
        Err(no_such_account())
    }
}

/// A visible account, locked for this transaction and read again, that is not closed: what
/// every change inside an account starts with, so that a concurrent close is decided first
/// or after, never in between.
pub fn open_account_locked(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Account> {
    let account = visible_account(conn, caller, id)?;
    if !accounts::lock(conn, &account.id)? {
        return Err(no_such_account());
    }
    let account = accounts::get(conn, &account.id)?;
    if account.closed {
        return Err(ApiError::conflict("account is closed"));
    }
    Ok(account)
}

/// The user, if the caller may see it: itself; an admin's tree; the owner everyone.
pub fn visible_user(conn: &mut DbConn, caller: &Caller, user: Option<User>) -> ApiResult<User> {
    let user = user.ok_or_else(no_such_user)?;
    let visible = user.id == caller.id()
        || match caller.role() {
            Role::Owner => true,
            Role::Admin => accounts::is_in_subtree(conn, caller.account_id(), &user.account_id)?,
            _ => false,
        };
    if visible {
        Ok(user)
    } else {
        Err(no_such_user())
    }
}

pub fn visible_user_by_id(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<User> {
    let user = crate::db::users::find(conn, id)?;
    visible_user(conn, caller, user)
}

/// A visible user whose role is not above the caller's (403 otherwise).
pub fn managed_user(conn: &mut DbConn, caller: &Caller, user: Option<User>) -> ApiResult<User> {
    let user = visible_user(conn, caller, user)?;
    if !can_manage(caller.role(), user.role) {
        return Err(ApiError::forbidden(
            "cannot manage a user with a role above your own",
        ));
    }
    Ok(user)
}

/// Only the owner may suspend or close an account that holds (or has below it) an owner.
pub fn check_no_owner_below(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    verb: &str,
) -> ApiResult<()> {
    if caller.role() != Role::Owner && crate::db::users::count_owners_in_subtree(conn, id)? > 0 {
        return Err(ApiError::forbidden(format!(
            "cannot {verb} an account that holds an owner"
        )));
    }
    Ok(())
}

/// The caller, or a user it manages (admins: their tree; the owner: anyone).
pub fn self_or_managed(
    conn: &mut DbConn,
    caller: &Caller,
    user_id: Option<&str>,
) -> ApiResult<User> {
    match user_id {
        None => Ok(caller.user.clone()),
        Some(id) if id == caller.id() => Ok(caller.user.clone()),
        Some(_) if caller.role() < Role::Admin => Err(no_such_user()),
        Some(id) => {
            let user = crate::db::users::find(conn, id)?;
            managed_user(conn, caller, user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_grants_or_manages_above_their_role() {
        assert!(can_grant(Role::Admin, Role::Admin));
        assert!(can_grant(Role::Admin, Role::User));
        assert!(!can_grant(Role::Admin, Role::Owner));
        assert!(can_grant(Role::Owner, Role::Owner));
        assert!(!can_manage(Role::Admin, Role::Owner));
        assert!(can_manage(Role::Owner, Role::Admin));
        assert!(!can_grant(Role::User, Role::Admin));
    }
}

//! Users: creation, changes, roles and removal with the last-admin rules.

use super::access::{
    can_grant, managed_user, open_account_locked, stored_role, visible_account, visible_user,
};
use crate::auth::extractor::Caller;
use crate::auth::Role;
use crate::db::models::{now, User};
use crate::db::users::{self as store, UserChanges, UserFilter};
use crate::db::{accounts, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;

pub struct NewUser {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub username: Option<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub verified: bool,
}

/// Insert a user; with no password it is `invited` until it accepts an invitation.
pub fn insert(conn: &mut DbConn, n: NewUser) -> ApiResult<User> {
    let ts = now();
    let user = User {
        email_lower: n.email.to_lowercase(),
        username_lower: n.username.as_ref().map(|u| u.to_lowercase()),
        status: if n.password_hash.is_some() {
            "active"
        } else {
            "invited"
        }
        .into(),
        id: n.id,
        account_id: n.account_id,
        email: n.email,
        username: n.username,
        first: n.first,
        last: n.last,
        role: n.role.as_str().into(),
        preferences: "{}".into(),
        verified: n.verified,
        password_hash: n.password_hash,
        // Random start: a new user with a removed user's id must not accept that user's tokens.
        token_version: crate::secrets::random_u31(),
        created: ts,
        activity: ts,
    };
    store::insert(conn, &user)?;
    Ok(user)
}

/// `/user/create`: in the caller's account, or in `account_id` within the caller's tree.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<String>,
    mut n: NewUser,
) -> ApiResult<User> {
    if !can_grant(caller.role, n.role) {
        return Err(ApiError::forbidden("cannot grant a role above your own"));
    }
    let account_id = account_id.unwrap_or_else(|| caller.account_id().to_string());
    let account = open_account_locked(conn, caller, &account_id)?;
    n.account_id = account.id;
    let user = insert(conn, n)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.create",
        Some(&user.account_id),
        Some(&user.id),
    )?;
    Ok(user)
}

/// Take the locks (owners, then the user's account) and decide again on fresh rows, so that
/// concurrent role changes and removals are decided one after the other: the caller must still
/// hold the credentials it came with, and the target must still be one it may manage.
fn lock_and_reload(conn: &mut DbConn, caller: &Caller, user: &User) -> ApiResult<User> {
    crate::db::lock_named(conn, crate::db::LockKey::Owners)?;
    accounts::lock(conn, &user.account_id)?;
    let me = store::find(conn, caller.id())?;
    if me.is_none_or(|me| me.token_version != caller.user.token_version) {
        return Err(ApiError::unauthorized("token revoked"));
    }
    let fresh = store::find(conn, &user.id)?;
    managed_user(conn, caller, fresh)
}

/// 409 when `user` losing its admin power would leave its account without an admin,
/// or the service without an owner.
fn check_not_last(
    conn: &mut DbConn,
    user: &User,
    new_role: Option<Role>,
    verb: &str,
) -> ApiResult<()> {
    let old = stored_role(user)?;
    let loses = |r: Role| old >= r && new_role.is_none_or(|n| n < r);
    if loses(Role::Admin) && store::count_admins(conn, &user.account_id)? <= 1 {
        return Err(ApiError::conflict(format!(
            "cannot {verb} the last admin of an account"
        )));
    }
    if loses(Role::Owner) && store::count_owners(conn)? <= 1 {
        return Err(ApiError::conflict(format!("cannot {verb} the last owner")));
    }
    Ok(())
}

pub fn remove(conn: &mut DbConn, caller: &Caller, target: Option<User>) -> ApiResult<()> {
    let user = managed_user(conn, caller, target)?;
    let user = lock_and_reload(conn, caller, &user)?;
    check_not_last(conn, &user, None, "remove")?;
    store::delete(conn, &user.id)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.remove",
        Some(&user.account_id),
        Some(&user.id),
    )?;
    Ok(())
}

pub fn update_role(
    conn: &mut DbConn,
    caller: &Caller,
    target: Option<User>,
    role: Role,
) -> ApiResult<User> {
    if !can_grant(caller.role, role) {
        return Err(ApiError::forbidden("cannot grant a role above your own"));
    }
    let user = managed_user(conn, caller, target)?;
    let user = lock_and_reload(conn, caller, &user)?;
    if stored_role(&user)? == role {
        return Ok(user);
    }
    check_not_last(conn, &user, Some(role), "demote")?;
    store::set_role(conn, &user.id, role.as_str())?;
    let change = format!("{}: {} -> {role}", user.id, user.role);
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.role",
        Some(&user.account_id),
        Some(&change),
    )?;
    Ok(store::get(conn, &user.id)?)
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    target: Option<User>,
    changes: UserChanges,
) -> ApiResult<User> {
    let user = managed_user(conn, caller, target)?;
    let nothing = changes.email.is_none()
        && changes.username.is_none()
        && changes.first.is_none()
        && changes.last.is_none()
        && changes.preferences.is_none();
    if !nothing {
        store::update(conn, &user.id, &changes)?;
        crate::db::audit::record(
            conn,
            &caller.meta,
            "user.update",
            Some(&user.account_id),
            Some(&user.id),
        )?;
    }
    Ok(store::get(conn, &user.id)?)
}

/// `/user/get`: by id, by email, or the caller.
pub fn get(
    conn: &mut DbConn,
    caller: &Caller,
    id: Option<&str>,
    email: Option<&str>,
) -> ApiResult<User> {
    let user = match (id, email) {
        (None, None) => store::find(conn, caller.id())?,
        _ => lookup(conn, id, email)?,
    };
    visible_user(conn, caller, user)
}

/// A user by id or, failing that, by email (one of them is required).
pub fn lookup(conn: &mut DbConn, id: Option<&str>, email: Option<&str>) -> ApiResult<Option<User>> {
    Ok(match (id, email) {
        (Some(id), _) => store::find(conn, id)?,
        (None, Some(email)) => store::by_email(conn, email)?,
        (None, None) => return Err(ApiError::invalid("id: is required (or email)")),
    })
}

/// `/user/find`: the owner sees everyone, an admin its tree, a plain user only itself.
pub fn find(
    conn: &mut DbConn,
    caller: &Caller,
    mut f: UserFilter,
    page: &PageRequest,
) -> ApiResult<Vec<User>> {
    match caller.role {
        Role::Owner => {}
        Role::Admin => {
            if let Some(a) = &f.account_id {
                visible_account(conn, caller, a)?;
            }
            f.subtree = Some(caller.account_id().to_string());
        }
        _ => {
            if f.id.as_deref().is_some_and(|id| id != caller.id()) {
                return Ok(vec![]);
            }
            f.id = Some(caller.id().to_string());
        }
    }
    Ok(store::list(conn, &f, page)?)
}

/// `GET /v1/accounts/{id}/users`.
pub fn of_account(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: &str,
    include_children: bool,
    page: &PageRequest,
) -> ApiResult<Vec<User>> {
    let account = visible_account(conn, caller, account_id)?;
    let f = if include_children {
        UserFilter {
            subtree: Some(account.id),
            ..Default::default()
        }
    } else {
        UserFilter {
            account_id: Some(account.id),
            ..Default::default()
        }
    };
    Ok(store::list(conn, &f, page)?)
}

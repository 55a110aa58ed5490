//! Users: creation, changes, roles and removal with the last-admin rules.

use super::access::{
    can_grant, managed_user, may_act_for, open_account_locked, visible_account, visible_user,
};
use super::codes::{self, Kind};
use crate::auth::Caller;
use crate::db::models::{now, User};
use crate::db::users::{self as store, UserChanges, UserFilter};
use crate::db::{accounts, DbConn};
use crate::domain::{Email, Role, UserStatus, Username};
use crate::error::{ApiError, ApiResult};
use crate::mail::templates;
use crate::pagination::PageRequest;
use crate::service::registration as invite;
use crate::state::AppState;

pub struct NewUser {
    pub id: String,
    pub account_id: String,
    pub email: Email,
    pub username: Option<Username>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub verified: bool,
    pub external_id: Option<String>,
}

/// Insert a user; with no password it is `invited` until it accepts an invitation.
pub fn insert(conn: &mut DbConn, n: NewUser) -> ApiResult<User> {
    let ts = now();
    let user = User {
        email_lower: n.email.as_str().to_lowercase(),
        username_lower: n.username.as_ref().map(|u| u.as_str().to_lowercase()),
        status: if n.password_hash.is_some() {
            UserStatus::Active
        } else {
            UserStatus::Invited
        },
        id: n.id,
        account_id: n.account_id,
        email: n.email.into(),
        username: n.username.map(String::from),
        first: n.first,
        last: n.last,
        role: n.role,
        preferences: "{}".into(),
        verified: n.verified,
        password_hash: n.password_hash,
        // Random start: a new user with a removed user's id must not accept that user's tokens.
        token_version: crate::secrets::random_u31(),
        created: ts,
        activity: ts,
        active: true,
        external_id: n.external_id,
        modified: ts,
    };
    store::insert(conn, &user)?;
    Ok(user)
}

/// What `/user/create` asks for, checked.
pub struct Create {
    pub id: String,
    pub email: Email,
    pub username: Option<Username>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub role: Role,
    pub password: Option<String>,
    /// Mail an invitation (the password, if any, is then ignored).
    pub send_invite: bool,
    /// An account of the caller's tree (default: the caller's own).
    pub account_id: Option<String>,
    pub external_id: Option<String>,
}

/// Create a user. With `send_invite`, or without a password, the user is invited (and mailed a
/// code); with a password it is active and verified: an admin who sets the password vouches for
/// the address.
pub async fn create(state: &AppState, caller: Caller, c: Create) -> ApiResult<User> {
    let password = if c.send_invite { None } else { c.password };
    let password_hash = match password {
        Some(p) => Some(state.hasher.hash(p).await?),
        None => None,
    };
    let new = NewUser {
        id: c.id,
        account_id: String::new(),
        email: c.email,
        username: c.username,
        first: c.first,
        last: c.last,
        role: c.role,
        verified: password_hash.is_some(),
        password_hash,
        external_id: c.external_id,
    };
    let account_id = c.account_id;
    state
        .tx_then_mail(move |conn| {
            let user = create_in(conn, &caller, account_id, new)?;
            let mail = invite::reinvite(conn, &user)?;
            Ok((user, mail.into_iter().collect()))
        })
        .await
}

/// In the caller's account, or in `account_id` within the caller's tree.
pub(super) fn create_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<String>,
    mut n: NewUser,
) -> ApiResult<User> {
    if !can_grant(caller.role(), n.role) {
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
    let old = user.role;
    // A deactivated admin is counted out already.
    let loses = |r: Role| user.active && old >= r && new_role.is_none_or(|n| n < r);
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

/// Remove a user (by id, else by email) that the caller manages.
pub async fn remove(
    state: &AppState,
    caller: Caller,
    id: Option<String>,
    email: Option<String>,
) -> ApiResult<()> {
    state
        .tx(move |c| {
            let target = lookup(c, id.as_deref(), email.as_deref())?;
            remove_in(c, &caller, target)
        })
        .await
}

pub(super) fn remove_in(conn: &mut DbConn, caller: &Caller, target: Option<User>) -> ApiResult<()> {
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

/// Change a user's role; with `send_invite`, mail a fresh invitation to a user who has not
/// accepted one yet.
pub async fn set_role(
    state: &AppState,
    caller: Caller,
    id: String,
    role: Role,
    send_invite: bool,
) -> ApiResult<User> {
    state
        .tx_then_mail(move |c| {
            let target = store::find(c, &id)?;
            let user = set_role_in(c, &caller, target, role)?;
            let mut mails = vec![];
            if send_invite {
                may_act_for(&caller, &user, "sends invitations")?;
                mails.extend(invite::reinvite(c, &user)?);
            }
            Ok((user, mails))
        })
        .await
}

fn set_role_in(
    conn: &mut DbConn,
    caller: &Caller,
    target: Option<User>,
    role: Role,
) -> ApiResult<User> {
    if !can_grant(caller.role(), role) {
        return Err(ApiError::forbidden("cannot grant a role above your own"));
    }
    let user = managed_user(conn, caller, target)?;
    let user = lock_and_reload(conn, caller, &user)?;
    if user.role == role {
        return Ok(user);
    }
    check_not_last(conn, &user, Some(role), "demote")?;
    store::set_role(conn, &user.id, role)?;
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

/// Update a user (default: the caller). A new email set by an admin takes effect at once: it
/// ends the codes mailed to the old address, the old address is told, and an invited user gets
/// a new invitation at the new one. A user's own new email (other than in letter case) waits
/// for the new address to confirm it (`registration::confirm_email`); the answer is the same
/// whether or not another user has the address, which is told by mail instead.
pub async fn update(
    state: &AppState,
    caller: Caller,
    id: Option<String>,
    mut changes: UserChanges,
    active: Option<bool>,
) -> ApiResult<User> {
    let own = id.as_deref().is_none_or(|i| i == caller.id());
    let moving = |new: &Option<String>| {
        new.as_ref()
            .is_some_and(|e| e.to_lowercase() != caller.user.email_lower)
    };
    let pending = if own && moving(&changes.email) {
        changes.email_lower = None;
        changes.email.take()
    } else {
        None
    };
    let email_changes = changes.email.is_some();
    state
        .tx_then_mail(move |c| {
            let target = store::find(c, id.as_deref().unwrap_or(caller.id()))?;
            let old_email = target.as_ref().map(|u| u.email.clone());
            let mut user = update_in(c, &caller, target, changes)?;
            if let Some(active) = active {
                user = set_active_in(c, &caller, user, active)?;
            }
            let mut mails = vec![];
            if let Some(new) = pending {
                mails.push(match store::by_email(c, &new)? {
                    Some(_) => templates::email_in_use(&new),
                    None => {
                        let code = codes::issue_with(c, Kind::Email, &user.id, Some(&new))?;
                        templates::confirm_email(&new, &code)
                    }
                });
            }
            if email_changes {
                // Codes mailed to the old address must not work for the new one.
                crate::db::codes::delete_all_for(c, &user.id)?;
                mails.extend(invite::reinvite(c, &user)?);
                // The old address hears of it: a change it did not make is a takeover under way.
                if let Some(old) = old_email.filter(|old| *old != user.email) {
                    mails.push(templates::email_changed(&old, &user.email));
                }
            }
            Ok((user, mails))
        })
        .await
}

/// Deactivate a user (it cannot log in, and every credential it holds ends at once: tokens
/// carry the version this bumps, refresh tokens go) or activate it again, audited. Only an
/// admin, of another user below its role, and never the last admin of an account.
pub fn set_active_in(
    conn: &mut DbConn,
    caller: &Caller,
    user: User,
    active: bool,
) -> ApiResult<User> {
    if user.active == active {
        return Ok(user);
    }
    if user.id == caller.id() {
        return Err(ApiError::forbidden("cannot deactivate yourself"));
    }
    if caller.role() < Role::Admin {
        return Err(ApiError::forbidden(
            "only an admin activates or deactivates users",
        ));
    }
    may_act_for(caller, &user, "activates or deactivates users")?;
    let user = lock_and_reload(conn, caller, &user)?;
    // Again on the row as locked: a promotion racing this must not make it a peer's act.
    may_act_for(caller, &user, "activates or deactivates users")?;
    if !active {
        check_not_last(conn, &user, None, "deactivate")?;
        crate::db::codes::delete_all_for(conn, &user.id)?;
        crate::db::refresh::delete_for_user(conn, &user.id)?;
        crate::db::sessions::delete_for_user(conn, &user.id)?;
    }
    store::set_active(conn, &user.id, active)?;
    let action = if active {
        "user.activate"
    } else {
        "user.deactivate"
    };
    crate::db::audit::record(
        conn,
        &caller.meta,
        action,
        Some(&user.account_id),
        Some(&user.id),
    )?;
    Ok(store::get(conn, &user.id)?)
}

pub(super) fn update_in(
    conn: &mut DbConn,
    caller: &Caller,
    target: Option<User>,
    changes: UserChanges,
) -> ApiResult<User> {
    let user = managed_user(conn, caller, target)?;
    if changes.email.is_some() || changes.username.is_some() {
        may_act_for(caller, &user, "changes the email or username")?;
    }
    if !changes.is_empty() {
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

/// Lift a user's login lock (at every address), audited.
pub async fn unlock(state: &AppState, caller: Caller, id: String) -> ApiResult<()> {
    state
        .tx(move |c| {
            let user = store::find(c, &id)?;
            let user = managed_user(c, &caller, user)?;
            super::throttle::unlock(c, &user.id)?;
            crate::db::audit::record(
                c,
                &caller.meta,
                "user.unlock",
                Some(&user.account_id),
                Some(&user.id),
            )?;
            Ok(())
        })
        .await
}

/// `/user/get`: by id, by email, or the caller.
pub async fn get(
    state: &AppState,
    caller: Caller,
    id: Option<String>,
    email: Option<String>,
) -> ApiResult<User> {
    state
        .db(move |c| get_in(c, &caller, id.as_deref(), email.as_deref()))
        .await
}

fn get_in(
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

/// A user the caller may see, by id, else by a login name (an email or a username).
pub async fn by_id_or_login(
    state: &AppState,
    caller: Caller,
    id: Option<String>,
    login: Option<String>,
) -> ApiResult<User> {
    state
        .db(move |c| match (id, login) {
            (Some(id), _) => get_in(c, &caller, Some(&id), None),
            (None, Some(name)) => {
                let user = store::by_login(c, &name)?;
                visible_user(c, &caller, user)
            }
            (None, None) => Err(ApiError::invalid("id: is required (or name)")),
        })
        .await
}

/// A user by id or, failing that, by email (one of them is required).
fn lookup(conn: &mut DbConn, id: Option<&str>, email: Option<&str>) -> ApiResult<Option<User>> {
    Ok(match (id, email) {
        (Some(id), _) => store::find(conn, id)?,
        (None, Some(email)) => store::by_email(conn, email)?,
        (None, None) => return Err(ApiError::invalid("id: is required (or email)")),
    })
}

/// `/user/find`: the owner sees everyone, an admin its tree, a plain user only itself.
pub async fn find(
    state: &AppState,
    caller: Caller,
    filter: UserFilter,
    page: PageRequest,
) -> ApiResult<Vec<User>> {
    state.db(move |c| find_in(c, &caller, filter, &page)).await
}

fn find_in(
    conn: &mut DbConn,
    caller: &Caller,
    mut f: UserFilter,
    page: &PageRequest,
) -> ApiResult<Vec<User>> {
    match caller.role() {
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

/// The users of an account (with `include_children`, of its whole subtree).
pub async fn of_account(
    state: &AppState,
    caller: Caller,
    account_id: String,
    include_children: bool,
    page: PageRequest,
) -> ApiResult<Vec<User>> {
    state
        .db(move |c| of_account_in(c, &caller, &account_id, include_children, &page))
        .await
}

fn of_account_in(
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

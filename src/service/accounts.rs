//! Accounts: creation with a first user, identity changes, plans, deletion when empty.

use super::access;
use super::access::{check_no_owner_below, no_such_account, open_account_locked, visible_account};
use super::users::{self as user_service, NewUser};
use crate::auth::{authenticate, Caller, Presented};
use crate::db::accounts::{self as store, Scope};
use crate::db::models::{now, Account, User};
use crate::db::{plans, users, DbConn};
use crate::domain::{Email, Role, Seats};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::state::AppState;

pub struct NewAccount {
    pub id: String,
    pub name: String,
    pub email: Option<Email>,
    pub plan_id: Option<String>,
    pub parent_id: Option<String>,
    pub device_seats: Seats,
    /// Created suspended (child accounts, as the curl-style API allows).
    pub suspended: bool,
}

pub fn insert(conn: &mut DbConn, n: NewAccount) -> ApiResult<Account> {
    let plan_id = n.plan_id.unwrap_or_else(|| plans::DEFAULT_PLAN.to_string());
    if !plans::exists(conn, &plan_id)? {
        return Err(ApiError::invalid("planId: no such plan"));
    }
    let ts = now();
    let account = Account {
        id: n.id,
        name: n.name,
        email_lower: n.email.as_ref().map(|e| e.as_str().to_lowercase()),
        email: n.email.map(String::from),
        plan_id,
        parent_id: n.parent_id,
        device_seats: n.device_seats.get(),
        used_devices: 0,
        suspended: n.suspended,
        closed: false,
        created: ts,
        activity: ts,
        require_mfa: false,
    };
    store::insert(conn, &account)?;
    Ok(account)
}

/// `POST /v1/accounts`: a top-level account and its first user (admin, invited, same email).
/// The first user is invited: a code is mailed to it after the commit.
pub async fn create_top_level(
    state: &AppState,
    caller: Caller,
    n: NewAccount,
) -> ApiResult<(Account, User)> {
    state
        .tx_then_mail(move |c| {
            let (account, user) = create_top_level_in(&caller, c, n, crate::ids::new_id())?;
            let mail = super::registration::reinvite(c, &user)?;
            Ok(((account, user), mail.into_iter().collect()))
        })
        .await
}

fn create_top_level_in(
    caller: &Caller,
    conn: &mut DbConn,
    n: NewAccount,
    user_id: String,
) -> ApiResult<(Account, User)> {
    let email = n
        .email
        .clone()
        .ok_or_else(|| ApiError::invalid("email: is required"))?;
    let account = insert(conn, n)?;
    let user = user_service::insert(
        conn,
        NewUser {
            id: user_id,
            account_id: account.id.clone(),
            email,
            username: None,
            first: None,
            last: None,
            role: Role::Admin,
            password_hash: None,
            verified: false,
            external_id: None,
        },
    )?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.create",
        Some(&account.id),
        Some(&account.id),
    )?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "user.create",
        Some(&account.id),
        Some(&user.id),
    )?;
    Ok((account, user))
}

/// One account the caller may see (404 otherwise), read in the statement that checks the
/// credential.
pub async fn read(state: &AppState, presented: Presented, id: String) -> ApiResult<Account> {
    let (caller, about) = authenticate(&state.store, &state.keys, presented, Some(id)).await?;
    access::seen(&caller, about)
}

/// The accounts the caller may see: the owner all, an admin its subtree, a user its own.
pub async fn list(
    state: &AppState,
    caller: Caller,
    email: Option<String>,
    page: PageRequest,
) -> ApiResult<Vec<Account>> {
    state
        .db(move |c| list_in(c, &caller, email.as_deref(), &page))
        .await
}

fn list_in(
    conn: &mut DbConn,
    caller: &Caller,
    email: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Vec<Account>> {
    let scope = match caller.role() {
        Role::Owner => Scope::All,
        Role::Admin => Scope::Subtree(caller.account_id().to_string()),
        _ => Scope::Only(caller.account_id().to_string()),
    };
    Ok(store::list(conn, &scope, email, page)?)
}

/// Rename or re-address an account of the caller's tree.
pub async fn update_identity(
    state: &AppState,
    caller: Caller,
    id: String,
    name: Option<String>,
    email: Option<String>,
    require_mfa: Option<bool>,
) -> ApiResult<Account> {
    state
        .tx(move |c| {
            // Locked and re-read like every other change inside an account, so a racing
            // close wins or loses cleanly.
            let account = open_account_locked(c, &caller, &id)?;
            if name.is_some() || email.is_some() || require_mfa.is_none() {
                set_identity(c, &caller, &account.id, name.as_deref(), email.as_deref())?;
            }
            if let Some(on) = require_mfa.filter(|on| *on != account.require_mfa) {
                let own = account.id == caller.account_id();
                if !on && own && caller.role() != crate::domain::Role::Owner {
                    return Err(ApiError::forbidden(
                        "requireMfa: only an admin above this account may turn it off",
                    ));
                }
                store::set_require_mfa(c, &account.id, on)?;
                let action = if on {
                    "account.require_mfa"
                } else {
                    "account.allow_no_mfa"
                };
                crate::db::audit::record(
                    c,
                    &caller.meta,
                    action,
                    Some(&account.id),
                    Some(&account.id),
                )?;
            }
            Ok(store::get(c, &account.id)?)
        })
        .await
}

/// Rename (and re-address) an account, with its audit entry.
pub(super) fn set_identity(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
) -> ApiResult<()> {
    store::update_identity(conn, id, name, email)?;
    crate::db::audit::record(conn, &caller.meta, "account.update", Some(id), Some(id))?;
    Ok(())
}

/// Delete an empty descendant account; its seats go back to its parent in the same transaction.
pub async fn delete(state: &AppState, caller: Caller, id: String) -> ApiResult<()> {
    state.tx(move |c| delete_in(c, &caller, &id)).await
}

fn delete_in(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<()> {
    if id == caller.account_id() {
        return Err(ApiError::forbidden("cannot delete your own account"));
    }
    let account = visible_account(conn, caller, id)?;
    if !store::lock(conn, &account.id)? {
        return Err(no_such_account());
    }
    let account = store::get(conn, &account.id)?;
    if store::has_children(conn, &account.id)? {
        return Err(ApiError::conflict("account still has child accounts"));
    }
    if users::count_in_account(conn, &account.id)? > 0 {
        return Err(ApiError::conflict("account still has users"));
    }
    if account.used_devices > 0 {
        return Err(ApiError::conflict("account still has devices"));
    }
    if crate::db::groups::any_in(conn, &account.id)? {
        return Err(ApiError::conflict("account still has groups"));
    }
    if let Some(parent) = &account.parent_id {
        store::add_seats(conn, parent, account.device_seats)?;
    }
    store::delete(conn, &account.id)?;
    // Recorded against the parent: the deleted account leaves the tree.
    let on = account.parent_id.as_deref().unwrap_or(&account.id);
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.delete",
        Some(on),
        Some(&account.id),
    )?;
    Ok(())
}

/// Close an account: its users, devices (and with them every credential) go; a closed
/// tombstone stays; its seats return to its parent. Irreversible.
pub async fn close(state: &AppState, caller: Caller, id: String) -> ApiResult<Account> {
    state.tx(move |c| close_in(c, &caller, &id)).await
}

fn close_in(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Account> {
    let account = visible_account(conn, caller, id)?;
    if caller.role() != Role::Owner && account.id != caller.account_id() {
        return Err(ApiError::forbidden(
            "an admin closes only its own account; delete empty descendants instead",
        ));
    }
    check_no_owner_below(conn, caller, &account.id, "close")?;
    crate::db::lock_named(conn, crate::db::LockKey::Owners)?;
    store::lock(conn, &account.id)?;
    let account = store::get(conn, &account.id)?;
    if account.closed {
        return Err(ApiError::conflict("account is already closed"));
    }
    if store::has_open_children(conn, &account.id)? {
        return Err(ApiError::conflict("account still has open child accounts"));
    }
    let owners_here = users::count_owners_in_account(conn, &account.id)?;
    if owners_here > 0 && users::count_owners(conn)? == owners_here {
        return Err(ApiError::conflict(
            "closing this account would remove the last owner",
        ));
    }
    crate::db::devices::delete_all(conn, &account.id)?;
    crate::db::groups::delete_all(conn, &account.id)?;
    users::delete_all_in_account(conn, &account.id)?;
    if let Some(parent) = &account.parent_id {
        store::add_seats(conn, parent, account.device_seats)?;
    }
    store::close(conn, &account.id)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.close",
        Some(&account.id),
        Some(&account.id),
    )?;
    Ok(store::get(conn, &account.id)?)
}

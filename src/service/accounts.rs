//! Accounts: creation with a first user, identity changes, plans, deletion when empty.

use super::access::{no_such_account, open_account_locked, visible_account};
use super::users::{self as user_service, NewUser};
use crate::auth::extractor::Caller;
use crate::auth::Role;
use crate::db::accounts::{self as store, Scope};
use crate::db::models::{now, Account, Plan, User};
use crate::db::{plans, users, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;

pub struct NewAccount {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub plan_id: Option<String>,
    pub parent_id: Option<String>,
    pub device_seats: i64,
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
        email_lower: n.email.as_ref().map(|e| e.to_lowercase()),
        email: n.email,
        plan_id,
        parent_id: n.parent_id,
        device_seats: n.device_seats,
        used_devices: 0,
        suspended: false,
        closed: false,
        created: ts,
        activity: ts,
    };
    store::insert(conn, &account)?;
    Ok(account)
}

/// `POST /v1/accounts`: a top-level account and its first user (admin, invited, same email).
pub fn create_top_level(
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

pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    email: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Vec<Account>> {
    let scope = match caller.role {
        Role::Owner => Scope::All,
        Role::Admin => Scope::Subtree(caller.account_id().to_string()),
        _ => Scope::Only(caller.account_id().to_string()),
    };
    Ok(store::list(conn, &scope, email, page)?)
}

pub fn update_identity(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
) -> ApiResult<Account> {
    // Locked and re-read like every other change inside an account, so a racing close wins
    // or loses cleanly.
    let account = open_account_locked(conn, caller, id)?;
    set_identity(conn, caller, &account.id, name, email)?;
    Ok(store::get(conn, &account.id)?)
}

/// Rename (and re-address) an account, with its audit entry.
fn set_identity(
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
pub fn delete(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<()> {
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

pub fn set_plan(conn: &mut DbConn, caller: &Caller, id: &str, plan_id: &str) -> ApiResult<Plan> {
    let account = open_account_locked(conn, caller, id)?;
    let plan = plans::get(conn, plan_id).map_err(|e| match e {
        diesel::result::Error::NotFound => ApiError::invalid("planId: no such plan"),
        other => other.into(),
    })?;
    store::set_plan(conn, &account.id, &plan.id)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.plan",
        Some(&account.id),
        Some(&plan.id),
    )?;
    Ok(plan)
}

/// `POST /v1/accounts/{id}/children`: the child's seats move out of the parent's free seats.
pub fn create_child(
    conn: &mut DbConn,
    caller: &Caller,
    parent_id: &str,
    mut n: NewAccount,
) -> ApiResult<Account> {
    let parent = open_account_locked(conn, caller, parent_id)?;
    if n.device_seats > 0 && !store::take_seats(conn, &parent.id, n.device_seats)? {
        return Err(too_few_seats(conn, &parent.id)?);
    }
    n.parent_id = Some(parent.id);
    n.plan_id = Some(parent.plan_id);
    let child = insert(conn, n)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.create",
        Some(&child.id),
        Some(&child.id),
    )?;
    Ok(child)
}

/// Only the owner may suspend or close an account that holds (or has below it) an owner.
fn check_no_owner_below(conn: &mut DbConn, caller: &Caller, id: &str, verb: &str) -> ApiResult<()> {
    if caller.role != Role::Owner && users::count_owners_in_subtree(conn, id)? > 0 {
        return Err(ApiError::forbidden(format!(
            "cannot {verb} an account that holds an owner"
        )));
    }
    Ok(())
}

fn too_few_seats(conn: &mut DbConn, id: &str) -> ApiResult<ApiError> {
    let a = store::get(conn, id)?;
    Ok(ApiError::conflict(format!(
        "not enough free seats: {} free",
        a.device_seats - a.used_devices
    )))
}

/// What the curl-style `POST /v1/accounts/{id}` may change.
#[derive(Default)]
pub struct AccountEdit {
    pub name: Option<String>,
    pub device_seats: Option<i64>,
    pub suspended: Option<bool>,
}

/// Rename; set seats (moved from or back to the parent); suspend or lift a suspension.
/// Seats and suspension are for an ancestor's admin or the owner, never one's own account.
pub fn edit(conn: &mut DbConn, caller: &Caller, id: &str, e: AccountEdit) -> ApiResult<()> {
    // Locked and read fresh: seat moves are decided on current numbers, never into a tombstone.
    let account = open_account_locked(conn, caller, id)?;
    if (e.device_seats.is_some() || e.suspended.is_some()) && account.id == caller.account_id() {
        return Err(ApiError::forbidden(
            "only an ancestor's admin or the owner changes an account's seats or suspension; \
             add seats to your own account by redeeming a seat token",
        ));
    }
    if let Some(name) = &e.name {
        set_identity(conn, caller, &account.id, Some(name), None)?;
    }
    if e.suspended == Some(true) {
        check_no_owner_below(conn, caller, &account.id, "suspend")?;
    }
    if let Some(seats) = e.device_seats {
        if seats < account.used_devices {
            return Err(ApiError::conflict(format!(
                "the account has {} devices; its seats cannot go below that",
                account.used_devices
            )));
        }
        let delta = seats - account.device_seats;
        if let Some(parent) = &account.parent_id {
            if delta > 0 && !store::take_seats(conn, parent, delta)? {
                return Err(too_few_seats(conn, parent)?);
            }
            if delta < 0 {
                store::add_seats(conn, parent, -delta)?;
            }
        }
        store::set_seats(conn, &account.id, seats)?;
        let moved = format!("{}: {} -> {seats} seats", account.id, account.device_seats);
        crate::db::audit::record(
            conn,
            &caller.meta,
            "account.seats",
            Some(&account.id),
            Some(&moved),
        )?;
    }
    if let Some(s) = e.suspended {
        store::set_suspended(conn, &account.id, s)?;
        let action = if s {
            "account.suspend"
        } else {
            "account.resume"
        };
        crate::db::audit::record(
            conn,
            &caller.meta,
            action,
            Some(&account.id),
            Some(&account.id),
        )?;
    }
    Ok(())
}

/// Close an account: its users, devices (and with them every credential) go; a closed
/// tombstone stays; its seats return to its parent. Irreversible.
pub fn close(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Account> {
    let account = visible_account(conn, caller, id)?;
    if caller.role != Role::Owner && account.id != caller.account_id() {
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

/// `POST /v1/seat-tokens`: a single-use token worth `seats`, stored only as a hash.
pub fn mint_seat_token(conn: &mut DbConn, caller: &Caller, seats: i64) -> ApiResult<String> {
    let token = crate::secrets::random_token("st_");
    crate::db::seat_tokens::insert(
        conn,
        &crate::secrets::hash_token(&token),
        seats,
        caller.id(),
        now(),
    )?;
    let minted = format!("{seats} seats");
    crate::db::audit::record(
        conn,
        &caller.meta,
        "seats.mint",
        Some(caller.account_id()),
        Some(&minted),
    )?;
    Ok(token)
}

/// `POST /v1/accounts/{id}/seats`: add a seat token's seats to the account, once.
pub fn redeem_seat_token(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    token: &str,
) -> ApiResult<Account> {
    let account = open_account_locked(conn, caller, id)?;
    let hash = crate::secrets::hash_token(token);
    let seats = crate::db::seat_tokens::seats(conn, &hash)?
        .ok_or_else(|| ApiError::invalid("token: not a valid seat token"))?;
    if !crate::db::seat_tokens::redeem(conn, &hash, &account.id, now())? {
        return Err(ApiError::conflict("seat token already redeemed"));
    }
    store::add_seats(conn, &account.id, seats)?;
    let added = format!("{seats} seats");
    crate::db::audit::record(
        conn,
        &caller.meta,
        "seats.redeem",
        Some(&account.id),
        Some(&added),
    )?;
    Ok(store::get(conn, &account.id)?)
}

//! Accounts: creation with a first user, identity changes, plans, deletion when empty.

use super::access::{no_such_account, visible_account};
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
    let account = visible_account(conn, caller, id)?;
    if account.closed {
        return Err(ApiError::conflict("account is closed"));
    }
    store::update_identity(conn, &account.id, name, email)?;
    Ok(store::get(conn, &account.id)?)
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
    Ok(())
}

pub fn plan_of(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Plan> {
    let account = visible_account(conn, caller, id)?;
    Ok(plans::get(conn, &account.plan_id)?)
}

pub fn set_plan(conn: &mut DbConn, caller: &Caller, id: &str, plan_id: &str) -> ApiResult<Plan> {
    let account = visible_account(conn, caller, id)?;
    let plan = plans::get(conn, plan_id).map_err(|e| match e {
        diesel::result::Error::NotFound => ApiError::invalid("planId: no such plan"),
        other => other.into(),
    })?;
    store::set_plan(conn, &account.id, &plan.id)?;
    Ok(plan)
}

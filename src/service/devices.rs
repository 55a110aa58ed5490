//! Devices: each takes one free seat of its account.

use super::access::{open_account_locked, visible_account};
use crate::auth::Caller;
use crate::db::models::{now, Device};
use crate::db::{accounts, devices as store, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::state::AppState;

pub async fn create(
    state: &AppState,
    caller: Caller,
    account_id: String,
    id: String,
    name: String,
) -> ApiResult<Device> {
    state
        .tx(move |c| create_in(c, &caller, &account_id, id, name))
        .await
}

fn create_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: &str,
    id: String,
    name: String,
) -> ApiResult<Device> {
    let account = open_account_locked(conn, caller, account_id)?;
    if !accounts::use_seat(conn, &account.id)? {
        return Err(ApiError::conflict("no free seat"));
    }
    let device = Device {
        id,
        account_id: account.id,
        name,
        created: now(),
    };
    store::insert(conn, &device)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "device.create",
        Some(&device.account_id),
        Some(&device.id),
    )?;
    Ok(device)
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    account_id: String,
    page: PageRequest,
) -> ApiResult<Vec<Device>> {
    state
        .db(move |c| list_in(c, &caller, &account_id, &page))
        .await
}

fn list_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: &str,
    page: &PageRequest,
) -> ApiResult<Vec<Device>> {
    let account = visible_account(conn, caller, account_id)?;
    Ok(store::list(conn, &account.id, page)?)
}

/// Remove a device; its seat is free again.
pub async fn delete(
    state: &AppState,
    caller: Caller,
    account_id: String,
    device_id: String,
) -> ApiResult<()> {
    state
        .tx(move |c| delete_in(c, &caller, &account_id, &device_id))
        .await
}

fn delete_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: &str,
    device_id: &str,
) -> ApiResult<()> {
    // The account row first, as every other change takes it: no lock-order deadlock with close.
    let account = open_account_locked(conn, caller, account_id)?;
    if !store::delete(conn, &account.id, device_id)? {
        return Err(ApiError::not_found("no such device"));
    }
    accounts::free_seat(conn, &account.id)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "device.delete",
        Some(&account.id),
        Some(device_id),
    )?;
    Ok(())
}

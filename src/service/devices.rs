//! Devices: each takes one free seat of its account.

use super::access::{open_account_locked, visible_account};
use crate::auth::extractor::Caller;
use crate::db::models::{now, Device};
use crate::db::{accounts, devices as store, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;

pub fn create(
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

pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: &str,
    page: &PageRequest,
) -> ApiResult<Vec<Device>> {
    let account = visible_account(conn, caller, account_id)?;
    Ok(store::list(conn, &account.id, page)?)
}

/// Remove a device; its seat is free again.
pub fn delete(
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

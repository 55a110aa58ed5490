//! Devices: each one holds one seat of its account.

use super::models::Device;
use super::schema::devices::{self, dsl};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConn, device: &Device) -> QueryResult<()> {
    diesel::insert_into(devices::table)
        .values(device)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Device>> {
    dsl::devices
        .find(id)
        .select(Device::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn, account_id: &str, page: &PageRequest) -> QueryResult<Vec<Device>> {
    let mut q = dsl::devices
        .filter(dsl::account_id.eq(account_id.to_string()))
        .into_boxed();
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::name).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

/// Delete one device of the account; false when there is no such device there.
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<bool> {
    diesel::delete(
        dsl::devices
            .filter(dsl::id.eq(id))
            .filter(dsl::account_id.eq(account_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

pub fn delete_all(conn: &mut DbConn, account_id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::devices.filter(dsl::account_id.eq(account_id))).execute(conn)
}

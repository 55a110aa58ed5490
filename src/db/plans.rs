//! Plans: named sets of limits that accounts point to.

use super::models::Plan;
use super::schema::plans::{self, dsl};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

pub const DEFAULT_PLAN: &str = "default";

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Plan> {
    dsl::plans.find(id).get_result(conn)
}

pub fn exists(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(dsl::plans.find(id))).get_result(conn)
}

pub fn insert(conn: &mut DbConn, plan: &Plan) -> QueryResult<()> {
    diesel::insert_into(plans::table)
        .values(plan)
        .execute(conn)
        .map(|_| ())
}

pub fn list(conn: &mut DbConn, page: &PageRequest) -> QueryResult<Vec<Plan>> {
    let mut q = dsl::plans.into_boxed();
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::name).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

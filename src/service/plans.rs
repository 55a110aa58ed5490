//! Plans: their list, one plan, a new plan, and an account's plan.

use super::access::{self, open_account_locked};
use crate::auth::credential::check_on;
use crate::auth::{Caller, Presented};
use crate::db::models::{now, Plan};
use crate::db::{accounts as store, plans, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::state::AppState;

/// The plan of an account the caller may see: the credential and the account in one statement,
/// then the plan.
pub async fn plan_of(state: &AppState, presented: Presented, id: String) -> ApiResult<Plan> {
    let keys = state.keys.clone();
    state
        .db(move |c| {
            let (caller, about) = check_on(c, &keys, &presented.token, presented.meta, Some(id))?;
            let account = access::seen(&caller, about)?;
            Ok(plans::get(c, &account.plan_id)?)
        })
        .await
}

/// Move an account to another plan (an unknown plan is 400), audited.
pub async fn set_plan(
    state: &AppState,
    caller: Caller,
    id: String,
    plan_id: String,
) -> ApiResult<Plan> {
    state
        .tx(move |c| set_plan_in(c, &caller, &id, &plan_id))
        .await
}

fn set_plan_in(conn: &mut DbConn, caller: &Caller, id: &str, plan_id: &str) -> ApiResult<Plan> {
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

/// A page of plans.
pub async fn list(state: &AppState, page: PageRequest) -> ApiResult<Vec<Plan>> {
    state.db(move |c| Ok(plans::list(c, &page)?)).await
}

/// One plan (404 when there is none).
pub async fn get(state: &AppState, id: String) -> ApiResult<Plan> {
    state
        .db(move |c| plans::get(c, &id).map_err(|_| ApiError::not_found("no such plan")))
        .await
}

/// A new plan (`plan_data`: its limits as JSON), audited.
pub async fn create(
    state: &AppState,
    caller: Caller,
    id: String,
    name: String,
    plan_data: String,
) -> ApiResult<Plan> {
    let plan = Plan {
        id,
        name,
        plan_data,
        created: now(),
    };
    state
        .tx(move |c| {
            plans::insert(c, &plan)?;
            crate::db::audit::record(
                c,
                &caller.meta,
                "plan.create",
                Some(caller.account_id()),
                Some(&plan.id),
            )?;
            Ok(plan)
        })
        .await
}

//! `/v1/plans`, and the plan of an account (`/v1/accounts/{id}/plan`).

use super::body::Json;
use super::extract::NoQuery;
use super::extract::Owner;
use super::page::NoParams;
use super::views::PlanView;
use super::{check, created, not_blank, ok};
use crate::auth::{Caller, Presented};
use crate::db::models::Plan;
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::pagination::Cursor;
use crate::service::plans as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

type State = web::Data<AppState>;
type Id = web::Path<String>;

/// An account's plan: its id and limits.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountPlan {
    plan_id: String,
    #[schema(value_type = PlanData)]
    plan_data: serde_json::Value,
}

fn plan_answer(plan: &Plan) -> AccountPlan {
    AccountPlan {
        plan_id: plan.id.clone(),
        plan_data: plan.view().plan_data,
    }
}

/// Role user: the plan of an account the caller may see.
#[utoipa::path(get, path = "/v1/accounts/{id}/plan", tag = "accounts",
    operation_id = "getAccountPlan",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account's plan.", body = AccountPlan)))]
pub async fn get_plan(
    presented: Presented,
    state: State,
    id: Id,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let plan = service::plan_of(&state, presented, id.into_inner()).await?;
    Ok(ok(plan_answer(&plan)))
}

/// The plan to move an account to.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetPlan {
    /// An existing plan's id (400 otherwise).
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    plan_id: String,
}

/// Role owner: move the account to another plan.
///
/// An unknown `planId` is 400; a closed account is 409.
#[utoipa::path(put, path = "/v1/accounts/{id}/plan", tag = "accounts",
    operation_id = "setAccountPlan",
    params(("id" = String, Path, description = "The account's id.")),
    request_body = SetPlan,
    responses((status = 200, description = "The account's new plan.", body = AccountPlan),
        (status = 409, response = crate::openapi::Conflict)))]
pub async fn set_plan(
    Owner(caller): Owner,
    state: State,
    id: Id,
    body: Json<SetPlan>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let plan = service::set_plan(&state, caller, id.into_inner(), b.plan_id).await?;
    Ok(ok(plan_answer(&plan)))
}

fn plan_key(p: &Plan) -> Cursor {
    Cursor {
        created: p.created,
        id: p.id.clone(),
    }
}

/// Role user: a page of plans (`filter` matches the name).
#[utoipa::path(get, path = "/v1/plans", tag = "plans", operation_id = "listPlans",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "A page of plans.", body = super::page::PlanPage)))]
pub async fn list_plans(_: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(
        &req,
        &super::PAGE,
        plan_key,
        Plan::view,
        |_: NoParams, page| service::list(&state, page),
    )
    .await
}

/// Role user: one plan.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans", operation_id = "getPlan",
    params(("id" = String, Path, description = "The plan's id.")),
    responses((status = 200, description = "The plan.", body = PlanView)))]
pub async fn get_plan_by_id(
    _: Caller,
    state: State,
    id: Id,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let plan = service::get(&state, id.into_inner()).await?;
    Ok(ok(plan.view()))
}

/// A plan's limits.
#[derive(Deserialize, Validate, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlanData {
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    project_limit: i64,
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    component_limit: i64,
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    worker_limit: i64,
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    storage_limit: i64,
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    monthly_gas_limit: i64,
    #[validate(range(min = 0))]
    #[schema(minimum = 0)]
    monthly_upload_limit: i64,
}

/// A new plan.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePlan {
    /// Optional own id for imports; the server makes a UUID otherwise.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    id: Option<String>,
    /// Not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[validate(nested)]
    plan_data: PlanData,
}

/// Role owner: create a plan.
///
/// 409 when the `id` is in use.
#[utoipa::path(post, path = "/v1/plans", tag = "plans", operation_id = "createPlan",
    request_body = CreatePlan,
    responses(
        (status = 201, description = "The plan.", body = PlanView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn create_plan(
    Owner(caller): Owner,
    state: State,
    body: Json<CreatePlan>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let plan_data =
        serde_json::to_string(&b.plan_data).map_err(|e| ApiError::internal(e.to_string()))?;
    let plan = service::create(&state, caller, id, b.name, plan_data).await?;
    Ok(created(plan.view()))
}

//! `/v1/accounts` and `/v1/plans`.

use super::body::Json;
use super::{check, created, no_errors, not_blank, ok};
use crate::auth::extractor::{Admin, Caller, Owner};
use crate::db::models::{Account, Plan, User};
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::pagination::{Cursor, Params};
use crate::service::accounts::{self as service, NewAccount};
use crate::service::users as user_service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

type State = web::Data<AppState>;
type Id = web::Path<String>;

fn account_key(a: &Account) -> Cursor {
    Cursor {
        created: a.created,
        id: a.id.clone(),
    }
}

pub fn user_key(u: &User) -> Cursor {
    Cursor {
        created: u.created,
        id: u.id.clone(),
    }
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAccount {
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    name: String,
    #[validate(email, length(max = 254))]
    email: String,
    #[validate(length(min = 1, max = 64))]
    plan_id: Option<String>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    device_seats: Option<i64>,
    id: Option<String>,
}

pub async fn create(
    Owner(_): Owner,
    state: State,
    body: Json<CreateAccount>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let new = NewAccount {
        id,
        name: b.name,
        email: Some(b.email),
        plan_id: b.plan_id,
        parent_id: None,
        device_seats: b.device_seats.unwrap_or(0),
    };
    let (account, user) = state
        .tx(move |c| service::create_top_level(c, new, crate::ids::new_id()))
        .await?;
    Ok(created(
        json!({ "account": account.view(), "user": user.view() }),
    ))
}

pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = Params::parse(
        req.query_string(),
        &["email", "filter", "limit", "next", "prev"],
    )?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    let email = params.get("email").map(str::to_string);
    no_errors(errors)?;
    let rows = {
        let page = page.clone();
        state
            .db(move |c| service::list(c, &caller, email.as_deref(), &page))
            .await?
    };
    Ok(ok(page.finish(rows, account_key, Account::view)))
}

pub async fn get(caller: Caller, state: State, id: Id) -> ApiResult<HttpResponse> {
    let account = state
        .db(move |c| crate::service::access::visible_account(c, &caller, &id))
        .await?;
    Ok(ok(account.view()))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAccount {
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    name: Option<String>,
    #[validate(email, length(max = 254))]
    email: Option<String>,
    /// Accepted only to be refused with a clear message: plans change through `/plan`.
    #[serde(default, deserialize_with = "present")]
    plan_id: Option<serde_json::Value>,
}

/// `Some` whenever the field is in the body, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

pub async fn update(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Json<UpdateAccount>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    if b.plan_id.is_some() {
        errors.push("planId: cannot be changed here; use PUT /v1/accounts/{id}/plan".into());
    }
    check(&b, errors)?;
    let account = state
        .tx(move |c| {
            service::update_identity(c, &caller, &id, b.name.as_deref(), b.email.as_deref())
        })
        .await?;
    Ok(ok(account.view()))
}

pub async fn delete(Admin(caller): Admin, state: State, id: Id) -> ApiResult<HttpResponse> {
    state.tx(move |c| service::delete(c, &caller, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn plan_answer(plan: &Plan) -> serde_json::Value {
    json!({ "planId": plan.id, "planData": plan.view().plan_data })
}

pub async fn get_plan(caller: Caller, state: State, id: Id) -> ApiResult<HttpResponse> {
    let plan = state.db(move |c| service::plan_of(c, &caller, &id)).await?;
    Ok(ok(plan_answer(&plan)))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetPlan {
    #[validate(length(min = 1, max = 64))]
    plan_id: String,
}

pub async fn set_plan(
    Owner(caller): Owner,
    state: State,
    id: Id,
    body: Json<SetPlan>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let plan = state
        .tx(move |c| service::set_plan(c, &caller, &id, &b.plan_id))
        .await?;
    Ok(ok(plan_answer(&plan)))
}

pub async fn users(
    Admin(caller): Admin,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let params = Params::parse(
        req.query_string(),
        &["includeChildren", "filter", "limit", "next", "prev"],
    )?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    let include_children = params.bool("includeChildren", &mut errors);
    no_errors(errors)?;
    let rows = {
        let page = page.clone();
        state
            .db(move |c| user_service::of_account(c, &caller, &id, include_children, &page))
            .await?
    };
    Ok(ok(page.finish(rows, user_key, User::view)))
}

// Plans.

fn plan_key(p: &Plan) -> Cursor {
    Cursor {
        created: p.created,
        id: p.id.clone(),
    }
}

pub async fn list_plans(_: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = Params::parse(req.query_string(), &["filter", "limit", "next", "prev"])?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    no_errors(errors)?;
    let rows = {
        let page = page.clone();
        state
            .db(move |c| Ok(crate::db::plans::list(c, &page)?))
            .await?
    };
    Ok(ok(page.finish(rows, plan_key, Plan::view)))
}

pub async fn get_plan_by_id(_: Caller, state: State, id: Id) -> ApiResult<HttpResponse> {
    let plan = state
        .db(move |c| crate::db::plans::get(c, &id).map_err(|_| ApiError::not_found("no such plan")))
        .await?;
    Ok(ok(plan.view()))
}

#[derive(Deserialize, Validate, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlanData {
    #[validate(range(min = 0))]
    project_limit: i64,
    #[validate(range(min = 0))]
    component_limit: i64,
    #[validate(range(min = 0))]
    worker_limit: i64,
    #[validate(range(min = 0))]
    storage_limit: i64,
    #[validate(range(min = 0))]
    monthly_gas_limit: i64,
    #[validate(range(min = 0))]
    monthly_upload_limit: i64,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePlan {
    id: Option<String>,
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    name: String,
    #[validate(nested)]
    plan_data: PlanData,
}

pub async fn create_plan(
    _: Owner,
    state: State,
    body: Json<CreatePlan>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let plan = Plan {
        id,
        name: b.name,
        plan_data: serde_json::to_string(&b.plan_data)
            .map_err(|e| ApiError::internal(e.to_string()))?,
        created: crate::db::models::now(),
    };
    let plan = state
        .tx(move |c| {
            crate::db::plans::insert(c, &plan)?;
            Ok(plan)
        })
        .await?;
    Ok(created(plan.view()))
}

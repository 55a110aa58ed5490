//! `/v1/accounts` and `/v1/plans`.

use super::body::{Fields, Json};
use super::{check, created, no_errors, not_blank, ok};
use crate::auth::extractor::{Admin, Bearer, Caller, Owner};
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
    Owner(caller): Owner,
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
    let (account, user, invitation) = state
        .tx(move |c| {
            let (account, user) = service::create_top_level(&caller, c, new, crate::ids::new_id())?;
            let mail = crate::service::auth::reinvite(c, &user)?;
            Ok((account, user, mail))
        })
        .await?;
    if let Some(m) = invitation {
        state.mailer.send(m);
    }
    Ok(created(
        json!({ "account": account.view(), "user": user.view() }),
    ))
}

pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(
        &state,
        &req,
        &["email", "filter", "limit", "next", "prev"],
        account_key,
        Account::view,
        move |c, params, page| service::list(c, &caller, params.get("email"), page),
    )
    .await
}

pub async fn get(bearer: Bearer, state: State, id: Id) -> ApiResult<HttpResponse> {
    let account = state
        .db_as(bearer, move |c, caller| {
            crate::service::access::visible_account(c, &caller, &id)
        })
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
    let names = ["includeChildren", "filter", "limit", "next", "prev"];
    super::paged(
        &state,
        &req,
        &names,
        user_key,
        User::view,
        move |c, params, page| {
            let mut errors = vec![];
            let include_children = params.bool("includeChildren", &mut errors);
            no_errors(errors)?;
            user_service::of_account(c, &caller, &id, include_children, page)
        },
    )
    .await
}

// Plans.

fn plan_key(p: &Plan) -> Cursor {
    Cursor {
        created: p.created,
        id: p.id.clone(),
    }
}

pub async fn list_plans(_: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(
        &state,
        &req,
        &super::PAGE,
        plan_key,
        Plan::view,
        |c, _, page| Ok(crate::db::plans::list(c, page)?),
    )
    .await
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
    Owner(caller): Owner,
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
            crate::db::audit::record(
                c,
                &caller.meta,
                "plan.create",
                Some(caller.account_id()),
                Some(&plan.id),
            )?;
            Ok(plan)
        })
        .await?;
    Ok(created(plan.view()))
}

// The account tree, seats and close.

const MAX_SEATS: i64 = 1_000_000_000;

fn check_name(name: &str, field: &str, errors: &mut Vec<String>) {
    let n = name.chars().count();
    if name.trim().is_empty() || n > 200 {
        errors.push(format!("{field}: must be 1 to 200 characters, not blank"));
    }
}

fn check_seats(seats: i64, field: &str, errors: &mut Vec<String>) {
    if !(0..=MAX_SEATS).contains(&seats) {
        errors.push(format!("{field}: must be between 0 and {MAX_SEATS}"));
    }
}

type TreeList = fn(&mut crate::db::DbConn, &Caller, &str) -> ApiResult<Vec<Account>>;

/// A flat tree list (no paging parameters), answered as one page (`next` and `prev` are null).
async fn tree_list(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
    list: TreeList,
) -> ApiResult<HttpResponse> {
    Params::parse(req.query_string(), &[])?;
    let rows = state.db(move |c| list(c, &caller, &id)).await?;
    // A typed page, not a json! value: 100,000 accounts serialize without building a tree.
    Ok(ok(crate::pagination::Page {
        data: rows.iter().map(Account::view).collect(),
        next: None,
        prev: None,
    }))
}

pub async fn children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(caller, state, id, req, crate::service::tree::children).await
}

pub async fn all_children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(caller, state, id, req, crate::service::tree::all_children).await
}

pub async fn descendants(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    use crate::service::tree::MAX_TREE_DEPTH;
    let params = Params::parse(req.query_string(), &["maxDepth"])?;
    let max_depth = match params.get("maxDepth") {
        None => MAX_TREE_DEPTH,
        Some(v) => match v.parse::<i64>() {
            Ok(d) if (0..=MAX_TREE_DEPTH).contains(&d) => d,
            _ => {
                return Err(ApiError::invalid(format!(
                    "maxDepth: must be a whole number from 0 to {MAX_TREE_DEPTH}"
                )))
            }
        },
    };
    let tree = state
        .db(move |c| crate::service::tree::descendants(c, &caller, &id, max_depth))
        .await?;
    Ok(ok(tree))
}

/// `{name, email?, deviceSeats?, id?}` as JSON or form, with `account_name`/`device_seats`.
pub async fn create_child(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Fields,
) -> ApiResult<HttpResponse> {
    let mut f = body.reader();
    let name = f.string(&["name", "account_name"]);
    let email = f.string(&["email"]);
    let seats = f.int(&["deviceSeats", "device_seats"]).unwrap_or(0);
    let child_id = f.string(&["id"]);
    let mut errors = std::mem::take(&mut f.errors);
    f.finish()?;
    match &name {
        Some(n) => check_name(n, "name", &mut errors),
        None => errors.push("name: is required".into()),
    }
    if let Some(e) = &email {
        if !validator::ValidateEmail::validate_email(e) || e.len() > 254 {
            errors.push("email: not a valid email address".into());
        }
    }
    check_seats(seats, "deviceSeats", &mut errors);
    let child_id = chosen_or_new(child_id.as_deref(), "id", &mut errors);
    no_errors(errors)?;
    let new = NewAccount {
        id: child_id,
        name: name.unwrap_or_default(),
        email,
        plan_id: None,
        parent_id: None,
        device_seats: seats,
    };
    let child = state
        .tx(move |c| service::create_child(c, &caller, &id, new))
        .await?;
    Ok(created(child.view()))
}

/// Curl-style edit: `account_name`, `device_seats`, `suspended` (JSON or form).
pub async fn edit(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Fields,
) -> ApiResult<HttpResponse> {
    let mut f = body.reader();
    let edit = service::AccountEdit {
        name: f.string(&["name", "account_name"]),
        device_seats: f.int(&["deviceSeats", "device_seats"]),
        suspended: f.bool(&["suspended"]),
    };
    let mut errors = std::mem::take(&mut f.errors);
    f.finish()?;
    if let Some(n) = &edit.name {
        check_name(n, "account_name", &mut errors);
    }
    if let Some(s) = edit.device_seats {
        check_seats(s, "device_seats", &mut errors);
    }
    no_errors(errors)?;
    state
        .tx(move |c| service::edit(c, &caller, &id, edit))
        .await?;
    Ok(ok(json!({ "message": "success" })))
}

pub async fn close(Admin(caller): Admin, state: State, id: Id) -> ApiResult<HttpResponse> {
    let account = state.tx(move |c| service::close(c, &caller, &id)).await?;
    Ok(ok(account.view()))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MintSeats {
    #[validate(range(min = 1, max = 1_000_000_000))]
    seats: i64,
}

pub async fn mint_seat_token(
    Owner(caller): Owner,
    state: State,
    body: Json<MintSeats>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let token = state
        .tx(move |c| service::mint_seat_token(c, &caller, b.seats))
        .await?;
    Ok(super::no_store(created(json!({ "token": token }))))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RedeemSeats {
    #[validate(length(min = 1, max = 200))]
    token: String,
}

pub async fn redeem_seats(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Json<RedeemSeats>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let account = state
        .tx(move |c| service::redeem_seat_token(c, &caller, &id, &b.token))
        .await?;
    Ok(ok(account.view()))
}

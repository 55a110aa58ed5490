//! `/v1/accounts` and `/v1/plans`.

use super::body::{Fields, Json};
use super::{check, created, no_errors, not_blank, ok};
use crate::auth::extractor::{Admin, Bearer, Caller, Owner};
use crate::db::models::{Account, AccountView, Plan, PlanView, User, UserView};
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::pagination::{Cursor, Page, Params};
use crate::service::accounts::{self as service, NewAccount};
use crate::service::users as user_service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    get,
    update,
    edit,
    delete,
    close,
    get_plan,
    set_plan,
    users,
    children,
    create_child,
    all_children,
    descendants,
    mint_seat_token,
    redeem_seats,
    list_plans,
    create_plan,
    get_plan_by_id,
))]
pub struct Doc;

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

/// A top-level account and the email of its first user.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAccount {
    /// Not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The account's email, and its first user's (unique among accounts, and among users).
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// Default: the plan `default`.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    plan_id: Option<String>,
    /// Default 0.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    device_seats: Option<i64>,
    /// Optional own id for imports; the server makes a UUID otherwise.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    id: Option<String>,
}

/// The new account and its first user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    account: AccountView,
    user: UserView,
}

/// Role owner: create a top-level account and its first user (admin, invited, same email).
///
/// The user gets an invitation mail. An unknown `planId` is 400; an email already used by an
/// account or a user, or an `id` in use, is 409.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", operation_id = "createAccount",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "The account and its first user.", body = CreatedAccount),
        (status = 409, response = crate::openapi::Conflict),
    ))]
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
    Ok(created(CreatedAccount {
        account: account.into_view(),
        user: user.view(),
    }))
}

/// The query of `GET /v1/accounts`, besides the paging parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the OpenAPI document; `list` reads it by name.
pub struct AccountQuery {
    /// Only the account with this email (exact, case-insensitive).
    email: Option<String>,
}

/// Role user: a page of the accounts the caller may see.
///
/// Own account for a user; own plus every descendant for an admin; all for the owner. `filter`
/// matches name and email.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", operation_id = "listAccounts",
    params(AccountQuery, crate::openapi::PageQuery),
    responses((status = 200, description = "A page of accounts.", body = Page<AccountView>)))]
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

/// Role user: one account the caller may see (404 otherwise).
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "getAccount",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account.", body = AccountView)))]
pub async fn get(bearer: Bearer, state: State, id: Id) -> ApiResult<HttpResponse> {
    let (_, account) = bearer.read_account(&state, id.into_inner()).await?;
    Ok(ok(account.into_view()))
}

/// A new name or email; an absent (or `null`) field is left as it is.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAccount {
    /// Not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Unique among accounts.
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// Accepted only to be refused with a clear message: plans change through `/plan`.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    plan_id: Option<serde_json::Value>,
}

/// `Some` whenever the field is in the body, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// Role admin: change the name or email of an account in the caller's tree (its own included).
///
/// `planId` is refused with 400: plans change through `PUT /v1/accounts/{id}/plan`. 409 when
/// the email is used by another account, or the account is closed.
#[utoipa::path(put, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "updateAccount",
    params(("id" = String, Path, description = "The account's id.")),
    request_body = UpdateAccount,
    responses(
        (status = 200, description = "The updated account.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
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
    Ok(ok(account.into_view()))
}

/// Role admin: delete an empty descendant account; its seats return to its parent.
///
/// Not one's own account (403). 409 while it has child accounts (closed ones included), users,
/// devices or groups.
#[utoipa::path(delete, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "deleteAccount",
    params(("id" = String, Path, description = "The account's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn delete(Admin(caller): Admin, state: State, id: Id) -> ApiResult<HttpResponse> {
    state.tx(move |c| service::delete(c, &caller, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
pub async fn get_plan(bearer: Bearer, state: State, id: Id) -> ApiResult<HttpResponse> {
    let plan = state
        .account_as(bearer, id.into_inner(), |c, _, account| {
            Ok(crate::db::plans::get(c, &account.plan_id)?)
        })
        .await?;
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
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let plan = state
        .tx(move |c| service::set_plan(c, &caller, &id, &b.plan_id))
        .await?;
    Ok(ok(plan_answer(&plan)))
}

/// The query of `GET /v1/accounts/{id}/users`, besides the paging parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the OpenAPI document; `users` reads it by name.
pub struct UsersQuery {
    /// Add the users of every descendant account (`true`/`false`, also `1`/`0`).
    #[param(rename = "includeChildren", default = false)]
    include_children: Option<bool>,
}

/// Role admin: a page of the users of an account in the caller's tree.
///
/// `filter` matches email, username, first and last name.
#[utoipa::path(get, path = "/v1/accounts/{id}/users", tag = "accounts",
    operation_id = "listAccountUsers",
    params(("id" = String, Path, description = "The account's id."),
        UsersQuery, crate::openapi::PageQuery),
    responses((status = 200, description = "A page of users.", body = Page<UserView>)))]
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

/// Role user: a page of plans (`filter` matches the name).
#[utoipa::path(get, path = "/v1/plans", tag = "plans", operation_id = "listPlans",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "A page of plans.", body = Page<PlanView>)))]
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

/// Role user: one plan.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans", operation_id = "getPlan",
    params(("id" = String, Path, description = "The plan's id.")),
    responses((status = 200, description = "The plan.", body = PlanView)))]
pub async fn get_plan_by_id(_: Caller, state: State, id: Id) -> ApiResult<HttpResponse> {
    let plan = state
        .db(move |c| crate::db::plans::get(c, &id).map_err(|_| ApiError::not_found("no such plan")))
        .await?;
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
    // A typed page, not a json! value: 100,000 accounts serialize without building a tree,
    // into a buffer sized for them (an account is about 240 bytes of JSON; growing a 23 MB
    // answer by doubling copied it twice over).
    let mut body = Vec::with_capacity(256 * rows.len() + 32);
    let page = Page {
        data: rows.into_iter().map(Account::into_view).collect(),
        next: None,
        prev: None,
    };
    serde_json::to_writer(&mut body, &page).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// Role user: the account itself first, then its direct children (one page).
///
/// A plain user sees only its own account. The whole list is one page, so it takes no paging
/// parameters (any query parameter is 400); `next` and `prev` are always null.
#[utoipa::path(get, path = "/v1/accounts/{id}/children", tag = "accounts",
    operation_id = "listChildren",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account and its children.",
        body = Page<AccountView>)))]
pub async fn children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(caller, state, id, req, crate::service::tree::children).await
}

/// Role user: the account itself first, then every descendant, depth-first (one page).
///
/// Siblings oldest first. A plain user sees only its own account. One recursive query; the
/// whole list is one page, so it takes no paging parameters (any query parameter is 400);
/// `next` and `prev` are always null.
#[utoipa::path(get, path = "/v1/accounts/{id}/allChildren", tag = "accounts",
    operation_id = "listAllChildren",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account and its descendants.",
        body = Page<AccountView>)))]
pub async fn all_children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(caller, state, id, req, crate::service::tree::all_children).await
}

/// An account with its descendants nested in `children` (siblings oldest first).
// `service::tree::nest` builds the answer as JSON; this type only describes it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AccountTree {
    #[serde(flatten)]
    account: AccountView,
    /// Empty below `maxDepth`.
    #[schema(no_recursion)]
    children: Vec<AccountTree>,
}

/// The query of `GET /v1/accounts/{id}/descendants`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the OpenAPI document; `descendants` reads it by name.
pub struct DescendantsQuery {
    /// How many levels below the account to nest (0: the account alone).
    #[param(rename = "maxDepth", minimum = 0, maximum = 100, default = 100)]
    max_depth: Option<i64>,
}

/// Role user: the account with its descendants nested in `children`.
///
/// Down to `maxDepth` levels (default and maximum 100; 0 is the account alone). A plain user
/// sees only its own account.
#[utoipa::path(get, path = "/v1/accounts/{id}/descendants", tag = "accounts",
    operation_id = "getDescendants",
    params(("id" = String, Path, description = "The account's id."), DescendantsQuery),
    responses((status = 200, description = "The tree.", body = AccountTree)))]
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

/// The body of `POST /v1/accounts/{id}/children`, as JSON or form (read by field name, with
/// the aliases `account_name` and `device_seats`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the body for the OpenAPI document; `create_child` reads it by name.
pub struct CreateChild {
    /// Required (or `account_name`); not blank.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Alias of `name`.
    #[schema(min_length = 1, max_length = 200)]
    account_name: Option<String>,
    /// Unique among accounts.
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// Seats moved out of the parent's free seats; default 0.
    #[schema(rename = "deviceSeats", minimum = 0, maximum = 1_000_000_000)]
    device_seats: Option<i64>,
    /// Alias of `deviceSeats`.
    #[schema(rename = "device_seats", minimum = 0, maximum = 1_000_000_000)]
    device_seats_alias: Option<i64>,
    /// Optional own id for imports; the server makes a UUID otherwise.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    id: Option<String>,
}

/// Role admin: create a child account; its seats move out of the parent's free seats.
///
/// JSON or form, with the aliases `account_name` and `device_seats`. The child gets the parent's
/// plan. 409 when the parent has fewer free seats than asked, is closed, or the email or `id`
/// is in use.
#[utoipa::path(post, path = "/v1/accounts/{id}/children", tag = "accounts",
    operation_id = "createChild",
    params(("id" = String, Path, description = "The parent account's id.")),
    request_body(content(
        (CreateChild = "application/json"),
        (CreateChild = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The child account.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
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
    Ok(created(child.into_view()))
}

/// The body of the curl-style `POST /v1/accounts/{id}`, as JSON or form (read by field name,
/// with the aliases `account_name` and `device_seats`); an absent field is left as it is.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the body for the OpenAPI document; `edit` reads it by name.
pub struct EditAccount {
    /// Not blank.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Alias of `name`.
    #[schema(min_length = 1, max_length = 200)]
    account_name: Option<String>,
    /// Seats taken from, or given back to, the parent's free seats; not below the devices in use.
    #[schema(rename = "deviceSeats", minimum = 0, maximum = 1_000_000_000)]
    device_seats: Option<i64>,
    /// Alias of `deviceSeats`.
    #[schema(rename = "device_seats", minimum = 0, maximum = 1_000_000_000)]
    device_seats_alias: Option<i64>,
    /// Also `1`/`0`, and as strings in forms.
    suspended: Option<bool>,
}

/// `{"message": "success"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountEdited {
    #[schema(inline)]
    message: Success,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Success {
    Success,
}

/// Role admin: curl-style edit of name, seats and suspension (JSON or form).
///
/// Accepts `application/json` or `application/x-www-form-urlencoded`, with the aliases
/// `account_name` (= `name`) and `device_seats` (= `deviceSeats`); `suspended` takes
/// `true/false/1/0`. Only an ancestor's admin or the owner changes `deviceSeats` or
/// `suspended`, never on their own account (403); only the owner suspends an account that holds
/// an owner (403). Raising seats takes them from the parent's free seats (409 if too few);
/// lowering gives them back (409 below the devices in use). 409 on a closed account.
#[utoipa::path(post, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "editAccount",
    params(("id" = String, Path, description = "The account's id.")),
    request_body(content(
        (EditAccount = "application/json"),
        (EditAccount = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done.", body = AccountEdited),
        (status = 409, response = crate::openapi::Conflict),
    ))]
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
    Ok(ok(AccountEdited {
        message: Success::Success,
    }))
}

/// Role admin: close one's own account (the owner: any). Irreversible.
///
/// Removes the account's users (and so their credentials), devices and groups, returns its seats
/// to its parent and keeps a closed tombstone whose email is free again. 409 while it has open
/// child accounts, when it is already closed, or when it would remove the last owner. 403 for
/// an admin closing another account, or an account that holds an owner.
#[utoipa::path(post, path = "/v1/accounts/{id}/close", tag = "accounts",
    operation_id = "closeAccount",
    params(("id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The closed tombstone.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn close(Admin(caller): Admin, state: State, id: Id) -> ApiResult<HttpResponse> {
    let account = state.tx(move |c| service::close(c, &caller, &id)).await?;
    Ok(ok(account.into_view()))
}

/// How many seats a new seat token is worth.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintSeats {
    #[validate(range(min = 1, max = 1_000_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    seats: i64,
}

/// A new seat token, shown only once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatToken {
    /// `st_...`
    token: String,
}

/// Role owner: mint a single-use seat token worth `seats`.
///
/// The token is shown only here; it is stored as a hash. It does not expire.
#[utoipa::path(post, path = "/v1/seat-tokens", tag = "accounts", operation_id = "mintSeatToken",
    request_body = MintSeats,
    responses((status = 201, description = "The token.", body = SeatToken,
        headers(("Cache-Control" = String, description = "`no-store`: the token is a credential.")))))]
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
    Ok(super::no_store(created(SeatToken { token })))
}

/// A seat token to redeem.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemSeats {
    /// From `POST /v1/seat-tokens`.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// Role admin: redeem a seat token into an account of the caller's tree (its own included).
///
/// Single use; a second redemption, even a concurrent one, is 409 and adds nothing. An unknown
/// token is 400. 409 on a closed account.
#[utoipa::path(post, path = "/v1/accounts/{id}/seats", tag = "accounts",
    operation_id = "redeemSeatToken",
    params(("id" = String, Path, description = "The account's id.")),
    request_body = RedeemSeats,
    responses(
        (status = 200, description = "The account with its new seats.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
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
    Ok(ok(account.into_view()))
}

//! `/v1/groups`: groups of an account with labels, and their members' roles.
//! The owner and admins may name another account of their tree with `accountId`.

use super::body::Json;
use super::{check, created, no_errors, ok};
use crate::auth::extractor::{Admin, Caller};
use crate::db::groups::{Group, Membership};
use crate::error::{ApiError, ApiResult};
use crate::ids::is_valid_id;
use crate::pagination::{Cursor, Params};
use crate::service::groups::{self as service, parse_labels, parse_roles};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use validator::Validate;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateGroup {
    pub id: String,
    pub labels: Option<Value>,
    #[validate(length(min = 1, max = 64))]
    pub account_id: Option<String>,
}

/// Shared by `POST /v1/groups` and RPC CreateGroup.
pub async fn create_group(state: &AppState, caller: Caller, b: CreateGroup) -> ApiResult<Group> {
    let mut errors = vec![];
    if !is_valid_id(&b.id) {
        errors.push("id: must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'".into());
    }
    let labels = parse_labels(b.labels.as_ref(), "labels", &mut errors);
    check(&b, errors)?;
    state
        .tx(move |c| service::create(c, &caller, b.account_id.as_deref(), b.id, labels))
        .await
}

pub async fn create(
    Admin(caller): Admin,
    state: State,
    body: Json<CreateGroup>,
) -> ApiResult<HttpResponse> {
    let group = create_group(&state, caller, body.0).await?;
    Ok(created(group.view()))
}

fn group_key(g: &Group) -> Cursor {
    Cursor {
        created: g.created,
        id: g.id.clone(),
    }
}

/// `userId`, `accountId`, paging, and any number of `label.<name>=<value>`.
pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| ApiError::invalid("query: not a valid query string"))?
        .into_inner();
    let mut labels = vec![];
    let mut rest = vec![];
    for (k, v) in pairs {
        match k.strip_prefix("label.") {
            Some(name) => labels.push((name.to_string(), v)),
            None => rest.push(format!("{}={}", urlencode(&k), urlencode(&v))),
        }
    }
    let params = Params::parse(
        &rest.join("&"),
        &["userId", "accountId", "filter", "limit", "next", "prev"],
    )?;
    let mut errors = vec![];
    if labels.iter().any(|(n, _)| !is_valid_id(n)) {
        errors.push("label: names are 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'".into());
    }
    let page = params.page(&mut errors);
    no_errors(errors)?;
    let (user, account) = (
        params.get("userId").map(str::to_string),
        params.get("accountId").map(str::to_string),
    );
    let rows = {
        let page = page.clone();
        state
            .db(move |c| {
                service::list(
                    c,
                    &caller,
                    account.as_deref(),
                    user.as_deref(),
                    &labels,
                    &page,
                )
            })
            .await?
    };
    Ok(ok(page.finish(rows, group_key, Group::view)))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The optional `accountId` query parameter of single-group routes.
fn account_param(req: &HttpRequest) -> ApiResult<Option<String>> {
    let params = Params::parse(req.query_string(), &["accountId"])?;
    Ok(params.get("accountId").map(str::to_string))
}

pub async fn get(
    caller: Caller,
    state: State,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let account = account_param(&req)?;
    let group = state
        .db(move |c| service::get(c, &caller, account.as_deref(), &id))
        .await?;
    Ok(ok(group.view()))
}

pub async fn delete(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let account = account_param(&req)?;
    state
        .tx(move |c| service::delete(c, &caller, account.as_deref(), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    roles: Vec<String>,
}

/// Shared by `PUT /v1/groups/{id}/members/{userId}` and RPC SetMembership.
pub async fn set_roles(
    state: &AppState,
    caller: Caller,
    account: Option<String>,
    group: String,
    user: String,
    roles: Vec<String>,
) -> ApiResult<()> {
    let mut errors = vec![];
    let roles = parse_roles(&roles, &mut errors);
    no_errors(errors)?;
    if caller.role < crate::auth::Role::Admin {
        return Err(ApiError::forbidden("this call requires the admin role"));
    }
    state
        .tx(move |c| service::set_membership(c, &caller, account.as_deref(), &group, &user, roles))
        .await
}

pub async fn set_member(
    Admin(caller): Admin,
    state: State,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: Json<SetRoles>,
) -> ApiResult<HttpResponse> {
    let (group, user) = path.into_inner();
    let account = account_param(&req)?;
    set_roles(&state, caller, account, group, user, body.0.roles).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn get_member(
    caller: Caller,
    state: State,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (group, user) = path.into_inner();
    let account = account_param(&req)?;
    let roles = state
        .db(move |c| service::get_membership(c, &caller, account.as_deref(), &group, &user))
        .await?;
    Ok(ok(json!({ "roles": roles })))
}

fn member_key(m: &Membership) -> Cursor {
    Cursor {
        created: m.created,
        id: m.user_id.clone(),
    }
}

pub async fn members(
    caller: Caller,
    state: State,
    group: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let names = ["accountId", "limit", "next", "prev"];
    super::paged(
        &state,
        &req,
        &names,
        member_key,
        Membership::view,
        move |c, params, page| service::members(c, &caller, params.get("accountId"), &group, page),
    )
    .await
}

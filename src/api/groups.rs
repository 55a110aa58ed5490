//! `/v1/groups`: groups of an account with labels, and their members' roles.
//! The owner and admins may name another account of their tree with `accountId`.

use super::body::Json;
use super::body::NoBody;
use super::extract::Admin;
use super::extract::NoQuery;
use super::page::{query, query_str};
use super::{check, created, no_errors, ok};
use crate::auth::Caller;
use crate::db::groups::{Group, Membership};
use crate::error::{ApiError, ApiResult};
use crate::ids::is_valid_id;
use crate::pagination::Cursor;
use crate::service::groups::{self as service, parse_labels, parse_roles, Labels};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, delete, members, set_member, get_member))]
pub struct Doc;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateGroup {
    /// The group's id, unique in its account.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub id: String,
    #[schema(value_type = Option<super::views::LabelsSchema>)]
    pub labels: Option<Value>,
    /// Another account of the caller's tree; omitted, the caller's.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub account_id: Option<String>,
}

impl CreateGroup {
    /// The body, checked: (account, id, labels).
    pub fn checked(self) -> ApiResult<(Option<String>, String, Labels)> {
        let mut errors = vec![];
        if !is_valid_id(&self.id) {
            errors.push("id: must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'".into());
        }
        let labels = parse_labels(self.labels.as_ref(), "labels", &mut errors);
        check(&self, errors)?;
        Ok((self.account_id, self.id, labels))
    }
}

/// Role admin: create a group in the caller's account (or `accountId` of its tree).
///
/// An `accountId` the caller may not see is 404; a closed account or an id already in use in
/// the account is 409.
#[utoipa::path(post, path = "/v1/groups", tag = "groups", operation_id = "createGroup",
    request_body = CreateGroup,
    responses(
        (status = 201, description = "The group.", body = super::views::GroupView),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn create(
    Admin(caller): Admin,
    state: State,
    body: Json<CreateGroup>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let (account, id, labels) = body.0.checked()?;
    let group = service::create(&state, caller, account, id, labels).await?;
    Ok(created(group.view()))
}

pub(super) fn group_key(g: &Group) -> Cursor {
    Cursor {
        created: g.created,
        id: g.id.clone(),
    }
}

/// Role user: page of groups (a plain user: its own groups).
///
/// `userId` narrows to the groups that user is in; the `label` filters
/// (`?label=env=prod&label=tier=web`, or `?label.env=prod&label.tier=web`; names 1-64
/// characters of A-Z a-z 0-9 . _ -) must all match. `accountId` names another account of the caller's tree. `filter` matches the
/// group's id. An `accountId` or `userId` the caller may not see is 404.
#[utoipa::path(get, path = "/v1/groups", tag = "groups", operation_id = "listGroups",
    params(
        GroupsQuery,
        ("label" = Option<Vec<String>>, Query, style = Form, explode,
            description = "Label filters, `name=value`, all of which must match: \
            `label=env=prod&label=tier=web` (or `label.env=prod&label.tier=web`) keeps the \
            groups labelled `env: prod` and `tier: web`."),
        crate::openapi::PageQuery,
    ),
    responses(
        (status = 200, description = "A page of groups.",
            body = super::page::GroupPage),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| ApiError::invalid("query: not a valid query string"))?
        .into_inner();
    let mut labels = vec![];
    let mut rest = vec![];
    let mut bad_label = false;
    for (k, v) in pairs {
        // `label=name=value` is the form generated clients send (an array of strings).
        if k == "label" {
            match v.split_once('=') {
                Some((name, value)) => labels.push((name.to_string(), value.to_string())),
                None => bad_label = true,
            }
            continue;
        }
        match k.strip_prefix("label.") {
            Some(name) => labels.push((name.to_string(), v)),
            None => rest.push(format!("{}={}", urlencode(&k), urlencode(&v))),
        }
    }
    let (q, params) = query_str::<GroupsQuery>(&rest.join("&"), &super::PAGE)?;
    let mut errors = vec![];
    if bad_label {
        errors.push("label: must be name=value".into());
    }
    if labels.iter().any(|(n, _)| !is_valid_id(n)) {
        errors.push("label: names are 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'".into());
    }
    let page = params.page(&mut errors);
    no_errors(errors)?;
    let rows = service::list(
        &state,
        caller,
        q.account_id,
        q.user_id,
        labels,
        page.clone(),
    )
    .await?;
    Ok(ok(super::page::finish(&page, rows, group_key, Group::view)))
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
    Ok(query::<AccountQuery>(req, &[])?.0.account_id)
}

/// Role user: one group.
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups", operation_id = "getGroup",
    params(("id" = String, Path, description = "The group's id."), AccountQuery),
    responses((status = 200, description = "The group.", body = super::views::GroupView)))]
pub async fn get(
    caller: Caller,
    state: State,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let account = account_param(&req)?;
    let group = service::get(&state, caller, account, id.into_inner()).await?;
    Ok(ok(group.view()))
}

/// Role admin: delete a group and its memberships.
///
/// A closed account is 409.
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    params(("id" = String, Path, description = "The group's id."), AccountQuery),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn delete(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    req: HttpRequest,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let account = account_param(&req)?;
    service::delete(&state, caller, account, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A set of role names.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Roles)]
pub struct SetRoles {
    #[schema(schema_with = roles_schema)]
    roles: Vec<String>,
}

/// `roles`, as `parse_roles` accepts them.
fn roles_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .description(Some(
            "At most 32 names of 1 to 64 characters, not blank; kept sorted, without repeats.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64))
                .pattern(Some("\\S")),
        )
        .max_items(Some(crate::service::groups::MAX_ROLES))
        .build()
}

/// The optional `accountId` query parameter of single-group routes.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Another account of the caller's tree; omitted, the caller's.
    #[serde(rename = "accountId")]
    #[param(rename = "accountId")]
    account_id: Option<String>,
}

/// The query of `GET /v1/groups`, besides `label.<name>` and the paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupsQuery {
    /// Only the groups this user is in.
    #[serde(rename = "userId")]
    #[param(rename = "userId")]
    user_id: Option<String>,
    /// Another account of the caller's tree; omitted, the caller's.
    #[serde(rename = "accountId")]
    #[param(rename = "accountId")]
    account_id: Option<String>,
}

/// Role names as a member's set: every problem at once.
pub fn checked_roles(roles: &[String]) -> ApiResult<Vec<String>> {
    let mut errors = vec![];
    let roles = parse_roles(roles, &mut errors);
    no_errors(errors)?;
    Ok(roles)
}

/// Role admin: set a member's roles (a set of names); an empty list removes the member.
///
/// The user must be in the group's account (409 otherwise, as for a closed account).
#[utoipa::path(put, path = "/v1/groups/{id}/members/{userId}", tag = "groups",
    operation_id = "setMember",
    params(
        ("id" = String, Path, description = "The group's id."),
        ("userId" = String, Path, description = "The member's user id."),
        AccountQuery,
    ),
    request_body = SetRoles,
    responses(
        (status = 204, description = "Set."),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn set_member(
    Admin(caller): Admin,
    state: State,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: Json<SetRoles>,
) -> ApiResult<HttpResponse> {
    let (group, user) = path.into_inner();
    let account = account_param(&req)?;
    let roles = checked_roles(&body.0.roles)?;
    service::set_membership(&state, caller, account, group, user, roles).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Role user: a member's roles (empty when not a member; a plain user asks about itself).
#[utoipa::path(get, path = "/v1/groups/{id}/members/{userId}", tag = "groups",
    operation_id = "getMember",
    params(
        ("id" = String, Path, description = "The group's id."),
        ("userId" = String, Path, description = "The member's user id."),
        AccountQuery,
    ),
    responses((status = 200, description = "The roles.", body = SetRoles)))]
pub async fn get_member(
    caller: Caller,
    state: State,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (group, user) = path.into_inner();
    let account = account_param(&req)?;
    let roles = service::get_membership(&state, caller, account, group, user).await?;
    Ok(ok(SetRoles { roles }))
}

fn member_key(m: &Membership) -> Cursor {
    Cursor {
        created: m.created,
        id: m.user_id.clone(),
    }
}

/// Role user: page of the group's members (a plain user: only for groups it is in).
///
/// No `filter`: this list takes only `accountId`, `limit`, `next` and `prev`.
#[utoipa::path(get, path = "/v1/groups/{id}/members", tag = "groups", operation_id = "listMembers",
    params(
        ("id" = String, Path, description = "The group's id."),
        AccountQuery,
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000,
            description = "Page size, 1 to 1000 (default 50)."),
        ("next" = Option<String>, Query, description = "Cursor from a previous page's `next`."),
        ("prev" = Option<String>, Query, description = "Cursor from a previous page's `prev`."),
    ),
    responses((status = 200, description = "A page of members.",
        body = super::page::MemberPage)))]
pub async fn members(
    caller: Caller,
    state: State,
    group: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    // No `filter`: members are listed in the order they joined, whole.
    let names = ["limit", "next", "prev"];
    super::paged(
        &req,
        &names,
        member_key,
        Membership::view,
        |q: AccountQuery, page| {
            service::members(&state, caller, q.account_id, group.into_inner(), page)
        },
    )
    .await
}

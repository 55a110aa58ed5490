//! `/v1/accounts`: accounts, their identity, users, deletion and close.

use super::body::Json;
use super::body::NoBody;
use super::extract::NoQuery;
use super::extract::{Admin, Owner};
use super::views::{AccountView, UserView};
use super::{check, created, not_blank, ok, parsed};
use crate::auth::{Caller, Presented};
use crate::db::models::{Account, User};
use crate::domain::{Email, Seats, MAX_EMAIL_CHARS, MAX_SEATS};
use crate::error::ApiResult;
use crate::ids::chosen_or_new;
use crate::pagination::Cursor;
use crate::service::accounts::{self as service, NewAccount};
use crate::service::users as user_service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
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

/// A top-level account and the email of its first user.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAccount {
    /// Not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The account's email, and its first user's (unique among accounts, and among users).
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// Default: the plan `default`.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    plan_id: Option<String>,
    /// Default 0.
    #[validate(range(min = 0, max = MAX_SEATS))]
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
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let new = NewAccount {
        id,
        name: b.name,
        email: Some(parsed("email", Email::parse(b.email))?),
        plan_id: b.plan_id,
        parent_id: None,
        device_seats: parsed("deviceSeats", Seats::parse(b.device_seats.unwrap_or(0)))?,
        suspended: false,
    };
    let (account, user) = service::create_top_level(&state, caller, new).await?;
    Ok(created(CreatedAccount {
        account: account.into_view(),
        user: user.view(),
    }))
}

/// The query of `GET /v1/accounts`, besides the paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    responses((status = 200, description = "A page of accounts.", body = super::page::AccountPage)))]
pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(
        &req,
        &super::PAGE,
        account_key,
        Account::view,
        |q: AccountQuery, page| service::list(&state, caller, q.email, page),
    )
    .await
}

/// Role user: one account the caller may see (404 otherwise).
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "getAccount",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account.", body = AccountView)))]
pub async fn get(
    presented: Presented,
    state: State,
    id: Id,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let account = service::read(&state, presented, id.into_inner()).await?;
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
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// Accepted only to be refused with a clear message: plans change through `/plan`.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    plan_id: Option<serde_json::Value>,
    /// Require a second factor of the users of this account and of its descendants. An admin
    /// may turn it on for its own account, but off only for an account below its own (the
    /// owner: anywhere).
    require_mfa: Option<bool>,
}

/// `Some` whenever the field is in the body, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// Role admin: change the name, email or `requireMfa` of an account in the caller's tree (its own included).
///
/// `requireMfa: false` on the caller's own account is 403 unless the caller is the owner: a
/// requirement set from above is lifted from above.
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
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    if b.plan_id.is_some() {
        errors.push("planId: cannot be changed here; use PUT /v1/accounts/{id}/plan".into());
    }
    check(&b, errors)?;
    let account = service::update_identity(
        &state,
        caller,
        id.into_inner(),
        b.name,
        b.email,
        b.require_mfa,
    )
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
pub async fn delete(
    Admin(caller): Admin,
    state: State,
    id: Id,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    service::delete(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The query of `GET /v1/accounts/{id}/users`, besides the paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Add the users of every descendant account (`true`/`false`, also `1`/`0`).
    #[serde(
        rename = "includeChildren",
        default,
        deserialize_with = "super::page::flag"
    )]
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
    responses((status = 200, description = "A page of users.", body = super::page::UserPage)))]
pub async fn users(
    Admin(caller): Admin,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    super::paged(
        &req,
        &super::PAGE,
        user_key,
        User::view,
        |q: UsersQuery, page| {
            let include_children = q.include_children.unwrap_or(false);
            user_service::of_account(&state, caller, id.into_inner(), include_children, page)
        },
    )
    .await
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
pub async fn close(
    Admin(caller): Admin,
    state: State,
    id: Id,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let account = service::close(&state, caller, id.into_inner()).await?;
    Ok(ok(account.into_view()))
}

//! `/v1/accounts/{id}/devices`: what seats are for.

use super::body::Json;
use super::body::NoBody;
use super::extract::Admin;
use super::extract::NoQuery;
use super::page::NoParams;
use super::views::DeviceView;
use super::{check, created, not_blank};
use crate::auth::Caller;
use crate::db::models::Device;
use crate::error::ApiResult;
use crate::ids::chosen_or_new;
use crate::pagination::Cursor;
use crate::service::devices as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, delete))]
pub struct Doc;

type State = web::Data<AppState>;

/// A new device.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    /// Not blank.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Optional own id for imports; the server makes a UUID otherwise.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    id: Option<String>,
}

/// Role admin: add a device; it takes one free seat.
///
/// 409 when the account has no free seat, is closed, or the `id` is in use.
#[utoipa::path(post, path = "/v1/accounts/{id}/devices", tag = "accounts",
    operation_id = "createDevice",
    params(("id" = String, Path, description = "The account's id.")),
    request_body = CreateDevice,
    responses(
        (status = 201, description = "The device.", body = DeviceView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn create(
    Admin(caller): Admin,
    state: State,
    account: web::Path<String>,
    body: Json<CreateDevice>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let device = service::create(&state, caller, account.into_inner(), id, b.name).await?;
    Ok(created(device.view()))
}

/// Role user: a page of the devices of an account the caller may see (`filter` matches the name).
#[utoipa::path(get, path = "/v1/accounts/{id}/devices", tag = "accounts",
    operation_id = "listDevices",
    params(("id" = String, Path, description = "The account's id."), crate::openapi::PageQuery),
    responses((status = 200, description = "A page of devices.", body = super::page::DevicePage)))]
pub async fn list(
    caller: Caller,
    state: State,
    account: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = |d: &Device| Cursor {
        created: d.created,
        id: d.id.clone(),
    };
    super::paged(
        &req,
        &super::PAGE,
        key,
        Device::view,
        |_: NoParams, page| service::list(&state, caller, account.into_inner(), page),
    )
    .await
}

/// Role admin: remove a device; its seat is free again.
///
/// 409 when the account is closed (a closed account has no devices left).
#[utoipa::path(delete, path = "/v1/accounts/{id}/devices/{deviceId}", tag = "accounts",
    operation_id = "deleteDevice",
    params(
        ("id" = String, Path, description = "The account's id."),
        ("deviceId" = String, Path, description = "The device's id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn delete(
    Admin(caller): Admin,
    state: State,
    path: web::Path<(String, String)>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let (account, device) = path.into_inner();
    service::delete(&state, caller, account, device).await?;
    Ok(HttpResponse::NoContent().finish())
}

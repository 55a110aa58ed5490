//! `/v1/accounts/{id}/devices`: what seats are for.

use super::body::Json;
use super::{check, created, not_blank};
use crate::auth::extractor::{Admin, Caller};
use crate::db::models::Device;
use crate::error::ApiResult;
use crate::ids::chosen_or_new;
use crate::pagination::Cursor;
use crate::service::devices as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::Validate;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    name: String,
    id: Option<String>,
}

pub async fn create(
    Admin(caller): Admin,
    state: State,
    account: web::Path<String>,
    body: Json<CreateDevice>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    check(&b, errors)?;
    let device = state
        .tx(move |c| service::create(c, &caller, &account, id, b.name))
        .await?;
    Ok(created(device.view()))
}

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
        &state,
        &req,
        &super::PAGE,
        key,
        Device::view,
        move |c, _, page| service::list(c, &caller, &account, page),
    )
    .await
}

pub async fn delete(
    Admin(caller): Admin,
    state: State,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (account, device) = path.into_inner();
    state
        .tx(move |c| service::delete(c, &caller, &account, &device))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

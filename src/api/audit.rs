//! `GET /v1/audit`: the changes made through the API (admins: their tree; the owner: all).

use crate::auth::extractor::Admin;
use crate::db::audit::{self as store, Entry};
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn list(
    Admin(caller): Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let scope = (!caller.is_owner()).then(|| caller.account_id().to_string());
    let key = |e: &Entry| Cursor {
        created: e.created,
        id: e.id.clone(),
    };
    super::paged(
        &state,
        &req,
        &super::PAGE,
        key,
        Entry::view,
        move |c, _, page| Ok(store::list(c, scope.as_deref(), page)?),
    )
    .await
}

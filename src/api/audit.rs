//! `GET /v1/audit`: the changes made through the API (admins: their tree; the owner: all).

use super::extract::Admin;
use super::page::NoParams;
use crate::db::audit::Entry;
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::service::audit as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Role admin: a page of the audit log, oldest first (admins: changes to accounts of their tree;
/// the owner: all).
///
/// One entry per change made through the API, written in the change's own transaction:
/// account.create/update/plan/seats/suspend/resume/close/delete, seats.mint/redeem,
/// device.create/delete, user.create/update/role/remove/password/logout/logout_everywhere/
/// register/confirm/accept_invite/reset_password, token.create/revoke,
/// group.create/delete/member, login.lockout. `filter` matches the action.
#[utoipa::path(get, path = "/v1/audit", tag = "operations", operation_id = "listAudit",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "A page of entries, oldest first.",
        body = super::page::AuditPage)))]
pub async fn list(
    Admin(caller): Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = |e: &Entry| Cursor {
        created: e.created,
        id: e.id.clone(),
    };
    super::paged(&req, &super::PAGE, key, Entry::view, |_: NoParams, page| {
        service::list(&state, caller, page)
    })
    .await
}

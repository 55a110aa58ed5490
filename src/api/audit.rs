//! `GET /v1/audit`: the changes made through the API (admins: their tree; the owner: all).

use super::{no_errors, ok};
use crate::auth::extractor::Admin;
use crate::db::audit::{self as store, Entry};
use crate::error::ApiResult;
use crate::pagination::{Cursor, Params};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn list(
    Admin(caller): Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let params = Params::parse(req.query_string(), &["filter", "limit", "next", "prev"])?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    no_errors(errors)?;
    let scope = (!caller.is_owner()).then(|| caller.account_id().to_string());
    let rows = {
        let page = page.clone();
        state
            .db(move |c| Ok(store::list(c, scope.as_deref(), &page)?))
            .await?
    };
    Ok(ok(page.finish(
        rows,
        |e: &Entry| Cursor {
            created: e.created,
            id: e.id.clone(),
        },
        Entry::view,
    )))
}

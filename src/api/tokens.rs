//! `/v1/tokens`: personal access tokens.

use super::body::Json;
use super::{check, created, ok};
use crate::auth::extractor::Caller;
use crate::db::pats::Pat;
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::service::tokens as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

type State = web::Data<AppState>;

/// Tokens may live at most ten years.
const MAX_LIFETIME_MICROS: i64 = 10 * 366 * 24 * 3600 * 1_000_000;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateToken {
    #[validate(length(min = 1, max = 200), custom(function = "super::not_blank"))]
    pub description: String,
    pub expires_at: Option<String>,
    #[validate(length(min = 1, max = 64))]
    pub user_id: Option<String>,
}

/// An RFC 3339 time in the future (and within ten years), as stored microseconds.
pub fn parse_expiry(value: Option<&str>, errors: &mut Vec<String>) -> Option<i64> {
    let v = value?;
    match chrono::DateTime::parse_from_rfc3339(v) {
        Ok(t) => {
            let micros = t.timestamp_micros();
            let now = crate::db::models::now();
            if micros <= now || micros > now + MAX_LIFETIME_MICROS {
                errors.push("expiresAt: must be in the future, at most ten years away".into());
            }
            Some(micros)
        }
        Err(_) => {
            errors.push("expiresAt: must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z".into());
            None
        }
    }
}

/// Shared by `POST /v1/tokens` and RPC CreateToken: (the token's record, the token).
pub async fn create_token(
    state: &AppState,
    caller: Caller,
    b: CreateToken,
) -> ApiResult<(Pat, String)> {
    let mut errors = vec![];
    let expires = parse_expiry(b.expires_at.as_deref(), &mut errors);
    check(&b, errors)?;
    state
        .tx(move |c| service::create(c, &caller, b.user_id.as_deref(), b.description, expires))
        .await
}

pub async fn create(
    caller: Caller,
    state: State,
    body: Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    let (pat, token) = create_token(&state, caller, body.0).await?;
    let v = pat.view();
    Ok(super::no_store(created(json!({
        "id": v.id, "token": token, "description": v.description, "created": v.created, "expiresAt": v.expires_at,
    }))))
}

fn pat_key(p: &Pat) -> Cursor {
    Cursor {
        created: p.created,
        id: p.id.clone(),
    }
}

pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let names = ["userId", "filter", "limit", "next", "prev"];
    super::paged(
        &state,
        &req,
        &names,
        pat_key,
        Pat::view,
        move |c, params, page| service::list(c, &caller, params.get("userId"), page),
    )
    .await
}

pub async fn revoke(
    caller: Caller,
    state: State,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    state.tx(move |c| service::revoke(c, &caller, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ValidateToken {
    #[validate(length(min = 1, max = 4096))]
    pub token: String,
}

pub async fn validate(
    caller: Caller,
    state: State,
    body: Json<ValidateToken>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let keys = state.keys.clone();
    let user = state
        .tx(move |c| service::validate(c, &keys, &caller, &b.token))
        .await?;
    Ok(ok(
        json!({ "id": user.id, "accountId": user.account_id, "role": user.role }),
    ))
}

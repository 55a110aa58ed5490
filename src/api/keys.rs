//! `/v1/keys`: the signing keys, and their rotation (the owner's).

use super::extract::{NoQuery, Owner};
use super::ok;
use crate::config::Config;
use crate::db::keys::KeyRow;
use crate::error::ApiResult;
use crate::service::keys as service;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(list, rotate))]
pub struct Doc;

type State = web::Data<AppState>;

/// A signing key's public facts (never its private half).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SigningKey)]
pub struct KeyView {
    kid: String,
    alg: String,
    /// `next` (published, not signing yet), `active` (signing) or `retired` (no longer
    /// published: every token it signed has expired).
    #[schema(value_type = String, pattern = "^(next|active|retired)$")]
    state: &'static str,
    #[schema(format = DateTime)]
    created: String,
    /// When it signs (or signed) from.
    #[schema(format = DateTime)]
    activates_at: String,
    /// When it stops being published: the last token it may sign expires then.
    #[schema(format = DateTime)]
    #[schema(required = true)]
    retires_at: Option<String>,
}

/// Key times are whole seconds (as in tokens); the views take microseconds.
fn at(secs: i64) -> String {
    super::views::rfc3339(secs * 1_000_000)
}

/// The keys' states at `now`: retired once past `retiresAt`; of the others, the newest one
/// active by now signs, newer ones are next, and older ones (still verifying the tokens they
/// signed) count as retired.
fn views(rows: Vec<KeyRow>, config: &Config, now: i64) -> Vec<KeyView> {
    let signer = crate::auth::keys::signer_at(&rows, config.jwt_alg, now).map(str::to_owned);
    rows.into_iter()
        .map(|r| KeyView {
            state: if Some(&r.kid) == signer.as_ref() {
                "active"
            } else if r.activates_at > now && r.retires_at.is_none_or(|t| t > now) {
                "next"
            } else {
                "retired"
            },
            kid: r.kid,
            alg: r.alg,
            created: at(r.created),
            activates_at: at(r.activates_at),
            retires_at: r.retires_at.map(at),
        })
        .collect()
}

/// Role owner: the signing keys, oldest first.
#[utoipa::path(get, path = "/v1/keys", tag = "tokens", operation_id = "listKeys",
    responses((status = 200, description = "Every signing key.", body = Vec<KeyView>)))]
pub async fn list(Owner(caller): Owner, state: State, _: NoQuery) -> ApiResult<HttpResponse> {
    let rows = service::list(&state, caller).await?;
    Ok(ok(views(
        rows,
        &state.config,
        crate::db::models::now_secs(),
    )))
}

/// Role owner: publish a new signing key; it signs after `KEY_ROTATION_GRACE_SECS`.
///
/// The keys it replaces stay published until the last token they signed has expired. With
/// `JWT_ALG=HS256` there is nothing to rotate (409).
#[utoipa::path(post, path = "/v1/keys/rotate", tag = "tokens", operation_id = "rotateKeys",
    responses(
        (status = 201, description = "The new key.", body = KeyView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn rotate(
    Owner(caller): Owner,
    state: State,
    _: super::body::NoBody,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    if state.config.jwt_alg == crate::config::JwtAlg::HS256 {
        return Err(crate::error::ApiError::conflict(
            "JWT_ALG=HS256 signs with JWT_SECRET: there is no key to rotate",
        ));
    }
    let row = service::rotate(&state, caller).await?;
    let now = crate::db::models::now_secs();
    let view = views(vec![row], &state.config, now).pop();
    Ok(super::created(view))
}

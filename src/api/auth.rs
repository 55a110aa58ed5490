//! Public credential flows: registration and its confirmation, password reset, and the
//! OAuth2 token endpoint (RFC 6749 shapes, form or JSON).

use super::body::{Fields, Json};
use super::{check, created, username_rule};
use crate::auth::password::check_password;
use crate::error::{ApiError, ApiResult};
use crate::service::auth::{self as service, Refreshed, Registration};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Register {
    #[validate(email, length(max = 254))]
    pub email: String,
    pub password: String,
    #[validate(custom(function = "username_rule"))]
    pub username: Option<String>,
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
}

/// Shared by `POST /v1/register`, `/user/login {register: true}` and RPC RegisterUser.
pub async fn register_user(
    state: &AppState,
    b: Register,
    meta: crate::db::audit::Meta,
) -> ApiResult<String> {
    let mut errors = vec![];
    check_password("password", &b.password, &mut errors);
    check(&b, errors)?;
    service::register(
        state,
        Registration {
            email: b.email,
            password: b.password,
            username: b.username,
            name: b.name,
        },
        meta,
    )
    .await
}

pub async fn register_answer(
    state: &AppState,
    b: Register,
    meta: crate::db::audit::Meta,
) -> ApiResult<HttpResponse> {
    let id = register_user(state, b, meta).await?;
    Ok(created(json!({ "id": id })))
}

pub async fn register(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Register>,
) -> ApiResult<HttpResponse> {
    register_answer(&state, body.0, super::meta_of(&req)).await
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Code {
    #[validate(length(min = 1, max = 200))]
    pub code: String,
}

pub async fn confirm(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Code>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let s = service::confirm(&state, b.code, super::meta_of(&req)).await?;
    Ok(super::no_store(
        HttpResponse::Ok().json(json!({ "id": s.user.id, "token": s.token })),
    ))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Forgot {
    #[validate(email, length(max = 254))]
    email: String,
}

/// Always 202, whether or not the address has a user.
pub async fn forgot(state: State, body: Json<Forgot>) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    service::forgot_password(&state, b.email).await?;
    Ok(HttpResponse::Accepted()
        .json(json!({ "message": "if the address has an account, a reset code was mailed to it" })))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    #[validate(length(min = 1, max = 200))]
    code: String,
    password: String,
}

pub async fn reset(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Reset>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    check_password("password", &b.password, &mut errors);
    check(&b, errors)?;
    service::reset_password(&state, b.code, b.password, super::meta_of(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// RFC 6749 section 5.2 errors: `{"error", "error_description"}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    super::no_store(
        HttpResponse::build(status)
            .json(json!({ "error": error, "error_description": description })),
    )
}

fn token_answer(s: &service::Session, state: &AppState) -> HttpResponse {
    super::no_store(HttpResponse::Ok().json(json!({
        "access_token": s.token,
        "token_type": "Bearer",
        "expires_in": state.keys.ttl_secs,
        "refresh_token": s.refresh_token,
    })))
}

/// `POST /v1/auth/token`: `grant_type=password` or `grant_type=refresh_token`, form or JSON.
/// Parameters a client library adds (`client_id`, `scope`) are accepted and ignored.
pub async fn token(state: State, req: actix_web::HttpRequest, body: Fields) -> HttpResponse {
    let mut f = body.reader();
    let grant = f.string(&["grant_type"]);
    let username = f.string(&["username"]);
    let password = f.string(&["password"]);
    let refresh = f.string(&["refresh_token"]);
    let _ = (
        f.string(&["client_id"]),
        f.string(&["scope"]),
        f.string(&["client_secret"]),
    );
    if !f.errors.is_empty() || f.finish().is_err() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed or unknown parameters",
        );
    }
    match grant.as_deref() {
        Some("password") => {
            let (Some(username), Some(password)) = (username, password) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                );
            };
            if username.len() > 254 || password.len() > crate::auth::password::MAX_PASSWORD_BYTES {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid username or password",
                );
            }
            match service::login(&state, username, password, super::meta_of(&req)).await {
                Ok(s) => token_answer(&s, &state),
                Err(ApiError::Unauthorized(_)) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid username or password",
                ),
                Err(ApiError::Forbidden(m)) => {
                    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &m)
                }
                Err(e) => actix_web::ResponseError::error_response(&e),
            }
        }
        Some("refresh_token") => {
            let Some(token) = refresh else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            let keys = state.keys.clone();
            match state
                .tx(move |c| service::refresh_session(c, &keys, &token))
                .await
            {
                Ok(Refreshed::Ok(s)) => token_answer(&s, &state),
                Ok(Refreshed::Invalid) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid or expired refresh token",
                ),
                Ok(Refreshed::Reused) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token already used; its session was revoked",
                ),
                Err(e) => actix_web::ResponseError::error_response(&e),
            }
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "use password or refresh_token",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        ),
    }
}

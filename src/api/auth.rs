//! Public credential flows: registration and its confirmation, password reset, and the
//! OAuth2 token endpoint (RFC 6749 shapes, form or JSON).

use super::body::{one_of, Field, Fields, Json};
use super::users::Password;
use super::{check, created, parsed, username_rule};
use crate::auth::password::check_password;
use crate::db::audit::Meta;
use crate::domain::{is_login_name, Email, Username};
use crate::error::{ApiError, ApiResult};
use crate::service::registration::{self as service, Registration};
use crate::service::sessions::{self, Refreshed};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(register, confirm, forgot, reset, token))]
pub struct Doc;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    #[validate(custom(function = "super::email_rule"))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(value_type = Password)]
    pub password: String,
    /// 1 to 64 characters without `@`, spaces or control characters.
    #[validate(custom(function = "username_rule"))]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]+$"
    )]
    pub username: Option<String>,
    /// The account's name (default the email).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
}

/// `{"id": "..."}`: the new user's id.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IdOnly {
    pub id: String,
}

impl Register {
    /// The body, checked: every problem at once.
    pub fn checked(self) -> ApiResult<Registration> {
        let mut errors = vec![];
        check_password("password", &self.password, &mut errors);
        check(&self, errors)?;
        Ok(Registration {
            email: parsed("email", Email::parse(self.email))?,
            password: self.password,
            username: self
                .username
                .map(|u| parsed("username", Username::parse(u)))
                .transpose()?,
            name: self.name,
        })
    }
}

/// Register, answered as `POST /v1/register` answers (also `/user/login {register: true}`).
pub async fn register_answer(state: &AppState, b: Register, meta: Meta) -> ApiResult<HttpResponse> {
    let id = service::register(state, b.checked()?, meta).await?;
    Ok(created(IdOnly { id }))
}

/// Public: register an account and its first user (admin, unverified); a confirmation code is mailed.
///
/// An email already in use gets the same 201 (with a made-up id) and its owner is mailed, so
/// registration never tells whether an address has an account. A username in use gets the same
/// 201 too (nothing is created and the address is mailed to choose another). 403 when
/// `REGISTRATION=closed`; 409 only when a concurrent registration takes the same email or
/// username first.
#[utoipa::path(post, path = "/v1/register", tag = "registration", operation_id = "register",
    security(()),
    request_body = Register,
    responses(
        (status = 201, description = "Registered; confirm with the mailed code.", body = IdOnly),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn register(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Register>,
) -> ApiResult<HttpResponse> {
    register_answer(&state, body.0, super::meta_of(&req)).await
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CodeBody)]
pub struct Code {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub code: String,
}

/// The answer of a confirmation: the user, logged in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    id: String,
    /// An access token, as a login's.
    token: String,
}

/// Public: confirm a registration with its code (single use, 24 hours); answers a login.
///
/// A wrong or expired code is 400; too many wrong codes from one address lock it (429). 403
/// when the account is suspended.
#[utoipa::path(post, path = "/v1/register/confirm", tag = "registration",
    operation_id = "confirmRegistration", security(()),
    request_body = Code,
    responses(
        (status = 200, description = "The user id and an access token.", body = inline(Confirmed),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn confirm(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Code>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let s = service::confirm(&state, b.code, super::meta_of(&req)).await?;
    Ok(super::no_store(HttpResponse::Ok().json(Confirmed {
        id: s.user.id,
        token: s.token,
    })))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forgot {
    #[validate(custom(function = "super::email_rule"))]
    #[schema(format = Email, max_length = 254)]
    email: String,
}

/// `{"message": "..."}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Message {
    message: &'static str,
}

/// Public: mail a password reset code (1 hour) if the address has a user; always 202.
///
/// A user has at most 3 live reset codes; further requests mail nothing (and still answer 202).
#[utoipa::path(post, path = "/v1/password/forgot", tag = "registration",
    operation_id = "forgotPassword", security(()),
    request_body = inline(Forgot),
    responses((status = 202, description = "Accepted, whether or not the address exists.",
        body = inline(Message))))]
pub async fn forgot(state: State, body: Json<Forgot>) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    service::forgot_password(&state, b.email).await?;
    Ok(HttpResponse::Accepted().json(Message {
        message: "if the address has an account, a reset code was mailed to it",
    }))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    code: String,
    #[schema(value_type = Password)]
    password: String,
}

/// Public: set a new password with a reset code; every older credential stops working.
///
/// A wrong or expired code is 400; too many wrong codes from one address lock it (429). The
/// reset also proves the address: an invited user becomes active.
#[utoipa::path(post, path = "/v1/password/reset", tag = "registration",
    operation_id = "resetPassword", security(()),
    request_body = inline(Reset),
    responses(
        (status = 204, description = "The password is set."),
        (status = 429, response = crate::openapi::TooMany),
    ))]
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

/// The fields of a token request, as a form or a JSON object of strings (`null` counts as
/// absent).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    // Read as text: a grant this server does not know is its own error.
    #[serde(default)]
    #[schema(inline, value_type = GrantType, required = true)]
    grant_type: Field<String>,
    /// With `password`: the email or username (at most 254 characters).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 254)]
    username: Field<String>,
    /// With `password` (at most 72 bytes).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 72)]
    password: Field<String>,
    /// With `refresh_token`: the refresh token to rotate.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    refresh_token: Field<String>,
    /// Accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_id: Field<String>,
    /// Accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_secret: Field<String>,
    /// Accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    scope: Field<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// A token request's fields: (grant_type, username, password, refresh_token).
type TokenFields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl TokenRequest {
    /// The fields the grants use, or every problem at once (unknown fields included).
    fn checked(self) -> ApiResult<TokenFields> {
        let mut errors = vec![];
        let mut one = |name, field| one_of(&mut errors, vec![(name, field)]);
        let fields = (
            one("grant_type", self.grant_type),
            one("username", self.username),
            one("password", self.password),
            one("refresh_token", self.refresh_token),
        );
        // Accepted and ignored, but still read: a value that is not text is a problem.
        let _ = (
            one("client_id", self.client_id),
            one("scope", self.scope),
            one("client_secret", self.client_secret),
        );
        errors.extend(self.unknown.keys().map(|k| format!("{k}: unknown field")));
        super::no_errors(errors)?;
        Ok(fields)
    }
}

#[derive(Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
enum GrantType {
    Password,
    RefreshToken,
}

impl GrantType {
    fn parse(s: &str) -> Option<GrantType> {
        match s {
            "password" => Some(GrantType::Password),
            "refresh_token" => Some(GrantType::RefreshToken),
            _ => None,
        }
    }
}

/// RFC 6749 section 5.1: the tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    /// A JWT access token, as a login's.
    access_token: String,
    #[schema(inline)]
    token_type: TokenType,
    /// Seconds until `access_token` expires.
    expires_in: i64,
    /// The next refresh token (this grant's own, if any, stops working).
    refresh_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
enum TokenType {
    Bearer,
}

/// RFC 6749 section 5.2: `{"error", "error_description"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    #[schema(inline)]
    error: OAuthErrorCode,
    error_description: String,
}

#[derive(Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum OAuthErrorCode {
    InvalidRequest,
    InvalidGrant,
    UnsupportedGrantType,
}

/// RFC 6749 section 5.2 errors: `{"error", "error_description"}`.
fn oauth_error(status: StatusCode, error: OAuthErrorCode, description: &str) -> HttpResponse {
    super::no_store(HttpResponse::build(status).json(OAuthError {
        error,
        error_description: description.to_string(),
    }))
}

/// A failure as this route answers it: every 400 is RFC 6749's `invalid_request` (with the
/// problems as its description), never the API's `{"errors": [...]}`; other statuses (413, 415,
/// 429, 503) keep the API's answer.
fn oauth_failure(e: ApiError) -> HttpResponse {
    match e {
        ApiError::Invalid(problems) => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            &problems.join("; "),
        ),
        e => actix_web::ResponseError::error_response(&e),
    }
}

fn token_answer(s: &sessions::Session, state: &AppState) -> HttpResponse {
    super::no_store(HttpResponse::Ok().json(TokenAnswer {
        access_token: s.token.clone(),
        token_type: TokenType::Bearer,
        expires_in: state.keys.ttl_secs,
        refresh_token: s.refresh_token.clone(),
    }))
}

/// Public: OAuth2 token endpoint (RFC 6749): password and refresh_token grants.
///
/// Form-encoded (`application/x-www-form-urlencoded`) or JSON (`application/json` or any
/// `application/*+json`): a JSON body must be an object of string values; an empty body counts
/// as no fields. `client_id`, `client_secret` and `scope` are accepted and ignored; any other
/// field, or one given twice, is `invalid_request`. Refresh tokens rotate on every use;
/// presenting a used one revokes its whole session. Every 400 is RFC 6749's
/// `{"error", "error_description"}`: `invalid_request` (a body that cannot be read, a missing or
/// malformed parameter), `invalid_grant` (wrong credentials, an unverified user or a suspended
/// account; an unknown, expired or reused refresh token), `unsupported_grant_type`.
#[utoipa::path(post, path = "/v1/auth/token", tag = "registration", operation_id = "oauthToken",
    security(()),
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens.", body = inline(TokenAnswer),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error.", body = inline(OAuthError),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn token(
    state: State,
    req: actix_web::HttpRequest,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let body = match body {
        Ok(b) => b,
        Err(e) => return oauth_failure(e),
    };
    let fields = body.parse::<TokenRequest>().and_then(TokenRequest::checked);
    let (grant, username, password, refresh) = match fields {
        Ok(f) => f,
        Err(e) => return oauth_failure(e),
    };
    match grant.as_deref().map(GrantType::parse) {
        Some(Some(GrantType::Password)) => {
            let (Some(username), Some(password)) = (username, password) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidRequest,
                    "username and password are required",
                );
            };
            if !is_login_name(&username)
                || password.len() > crate::auth::password::MAX_PASSWORD_BYTES
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid username or password",
                );
            }
            match sessions::login(&state, username, password, super::meta_of(&req)).await {
                Ok(s) => token_answer(&s, &state),
                Err(ApiError::Unauthorized(_)) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid username or password",
                ),
                Err(ApiError::Forbidden(m)) => {
                    oauth_error(StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidGrant, &m)
                }
                Err(e) => oauth_failure(e),
            }
        }
        Some(Some(GrantType::RefreshToken)) => {
            let Some(token) = refresh else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidRequest,
                    "refresh_token is required",
                );
            };
            match sessions::refresh(&state, token).await {
                Ok(Refreshed::Ok(s)) => token_answer(&s, &state),
                Ok(Refreshed::Invalid) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid or expired refresh token",
                ),
                Ok(Refreshed::Reused) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "refresh token already used; its session was revoked",
                ),
                Err(e) => oauth_failure(e),
            }
        }
        Some(None) => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::UnsupportedGrantType,
            "use password or refresh_token",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            "grant_type is required",
        ),
    }
}

//! Public credential flows: registration and its confirmation, and password resets.

use super::body::Json;
use super::extract::NoQuery;
use super::sessions::Password;
use super::views::UserView;
use super::{check, created, parsed, username_rule};
use crate::auth::password::check_password;
use crate::db::audit::Meta;
use crate::domain::{Email, Username, MAX_EMAIL_CHARS};
use crate::error::ApiResult;
use crate::service::registration::{self as service, Registration};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
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
    _: NoQuery,
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
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    id: String,
    /// An access token, as a login's.
    token: String,
    /// The session's refresh token, as a login's (for `POST /v1/auth/token`).
    refresh_token: String,
}

/// Public: confirm a registration with its code (single use, 24 hours); answers a login.
///
/// A wrong or expired code is 400; too many wrong codes from one address lock it (429). 403
/// when the account is suspended.
#[utoipa::path(post, path = "/v1/register/confirm", tag = "registration",
    operation_id = "confirmRegistration", security(()),
    request_body = Code,
    responses(
        (status = 200, description = "The user id, an access token and a refresh token.", body = inline(Confirmed),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn confirm(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Code>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let s = service::confirm(&state, b.code, super::meta_of(&req)).await?;
    Ok(super::no_store(HttpResponse::Ok().json(Confirmed {
        id: s.user.id,
        token: s.token,
        refresh_token: s.refresh_token,
    })))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forgot {
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
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
pub async fn forgot(state: State, body: Json<Forgot>, _: NoQuery) -> ApiResult<HttpResponse> {
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
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    check_password("password", &b.password, &mut errors);
    check(&b, errors)?;
    service::reset_password(&state, b.code, b.password, super::meta_of(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Public: confirm a new email address with the code mailed to it (single use, 24 hours).
///
/// After `/user/update` with a user's own new `email`, the change waits for this. A wrong or
/// expired code is 400; too many wrong codes from one address lock it (429); 409 when another
/// user took the address meanwhile. The old address is told by mail.
#[utoipa::path(post, path = "/user/email/confirm", tag = "users",
    operation_id = "confirmEmail", security(()),
    request_body = Code,
    responses(
        (status = 200, description = "The user, with its new email.", body = UserView),
        (status = 409, response = crate::openapi::Conflict),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn confirm_email(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Code>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let user = service::confirm_email(&state, b.code, super::meta_of(&req)).await?;
    Ok(super::ok(user.view()))
}

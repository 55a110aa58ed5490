//! TOTP multi-factor login (RFC 6238): enrolment, confirmation, turning it off, an admin's
//! reset, and the second step of a login.

use super::body::{Json, NoBody};
use super::extract::NoQuery;
use super::{no_errors, no_store, ok};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::mfa::{self as service, Factor};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(utoipa::OpenApi)]
#[openapi(paths(enrol, confirm, disable, login))]
pub struct Doc;

type State = web::Data<AppState>;

/// A new TOTP secret, not active until confirmed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The secret in base32, to type into an authenticator app.
    secret: String,
    /// `otpauth://totp/...`: what the QR code holds.
    otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    qr_svg: String,
}

/// Role user: start enrolling TOTP: a new secret (replacing one never confirmed).
///
/// 409 when TOTP is already on. The secret works only after `POST /user/mfa/totp/confirm`.
/// A session that must enrol (its account requires MFA) may call this.
#[utoipa::path(post, path = "/user/mfa/totp", tag = "users", operation_id = "enrolTotp",
    responses(
        (status = 200, description = "The secret, its URI and QR code.", body = TotpEnrolment,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn enrol(caller: Caller, state: State, _: NoQuery, _: NoBody) -> ApiResult<HttpResponse> {
    let e = service::enrol(&state, caller).await?;
    Ok(no_store(ok(TotpEnrolment {
        secret: e.secret,
        otpauth_uri: e.uri,
        qr_svg: e.svg,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// The 6-digit code the app shows now.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

/// Ten single-use recovery codes.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    /// Shown only here (stored hashed): each logs in once in place of a code.
    recovery_codes: Vec<String>,
}

/// Role user: turn TOTP on with the app's first code.
///
/// Answers the recovery codes. A wrong code is 400; 409 without an enrolment or when TOTP is
/// already on. The session this is called in counts as one that used MFA (its next refresh
/// gets whole tokens, in an account that requires MFA). Audited (`user.mfa_enabled`).
#[utoipa::path(post, path = "/user/mfa/totp/confirm", tag = "users", operation_id = "confirmTotp",
    request_body = ConfirmTotp,
    responses(
        (status = 200, description = "TOTP is on.", body = RecoveryCodes,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn confirm(
    caller: Caller,
    state: State,
    body: Json<ConfirmTotp>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let codes = service::confirm(&state, caller, body.0.code).await?;
    Ok(no_store(ok(RecoveryCodes {
        recovery_codes: codes,
    })))
}

/// `{password, code}` (or `{password, recoveryCode}`) to turn one's own TOTP off; `{userId}`
/// for an admin's reset of another user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisableTotp {
    #[schema(max_length = 72)]
    password: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
    /// An admin: the user (of its tree, below its role) whose TOTP to reset.
    user_id: Option<String>,
}

/// One factor of a body: `code` or `recoveryCode`, exactly one.
fn factor(code: Option<String>, recovery: Option<String>) -> Result<Factor, String> {
    match (code, recovery) {
        (Some(c), None) => Ok(Factor::Code(c)),
        (None, Some(r)) => Ok(Factor::Recovery(r)),
        _ => Err("code: give a code or a recoveryCode (one of them)".into()),
    }
}

/// Role user: turn TOTP off (the password and a code), or an admin's reset (`userId`).
///
/// One's own: both the password and a current code (or a recovery code) must be right (400
/// otherwise; each wrong one counts toward the lockout, 429 once locked); 409 when TOTP is not
/// on. An admin's reset takes only `userId`, for a user of its tree below its role (403
/// above, 404 outside); audited (`user.mfa_reset`); the user enrols again.
#[utoipa::path(post, path = "/user/mfa/totp/disable", tag = "users", operation_id = "disableTotp",
    request_body = DisableTotp,
    responses(
        (status = 204, description = "TOTP is off."),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn disable(
    caller: Caller,
    state: State,
    body: Json<DisableTotp>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    match b.user_id {
        Some(user) if user != caller.id() => {
            if b.password.is_some() || b.code.is_some() || b.recovery_code.is_some() {
                return Err(ApiError::invalid("userId: takes no password or code"));
            }
            if caller.role() < crate::domain::Role::Admin {
                return Err(ApiError::forbidden("this call requires the admin role"));
            }
            service::reset(&state, caller, user).await?;
        }
        _ => {
            let mut errors = vec![];
            let factor = factor(b.code, b.recovery_code).map_err(|e| errors.push(e));
            if b.password.is_none() {
                errors.push("password: is required".into());
            }
            no_errors(errors)?;
            let (Some(password), Ok(factor)) = (b.password, factor) else {
                return Err(ApiError::invalid("password: is required"));
            };
            if password.len() > crate::auth::password::MAX_PASSWORD_BYTES {
                return Err(ApiError::invalid("password: does not match"));
            }
            service::disable(&state, caller, password, factor).await?;
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MfaLogin {
    /// From `/user/login`'s `{mfaRequired: true, mfaToken}`.
    mfa_token: String,
    /// The 6-digit code the app shows now.
    code: Option<String>,
    /// Or one of the recovery codes (each works once).
    recovery_code: Option<String>,
}

/// Public: the second step of a login with TOTP on.
///
/// Answers like `/user/login`. A wrong code is 401 and counts toward the lockout (429 once
/// locked) and toward the token's five guesses; an unknown, expired or used `mfaToken` is 401.
/// Each code is accepted once (within one 30-second step either side of now).
#[utoipa::path(post, path = "/user/login/mfa", tag = "users", operation_id = "loginMfa",
    security(()),
    request_body = MfaLogin,
    responses(
        (status = 200, description = "A session, as a login's.", body = super::sessions::Session,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn login(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<MfaLogin>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let factor = factor(b.code, b.recovery_code).map_err(ApiError::invalid)?;
    let meta = super::meta_of(&req);
    let s = service::complete_login(&state, b.mfa_token, factor, meta, None).await?;
    Ok(super::sessions::session_answer(&s))
}

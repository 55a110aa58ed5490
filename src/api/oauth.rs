//! RFC 7009 token revocation and RFC 7662 token introspection, beside the token endpoint
//! (`sessions::token`); form or JSON bodies, as OAuth clients send them.

use super::body::{one_of, Field, Fields};
use super::extract::{Admin, NoQuery};
use crate::error::{ApiError, ApiResult};
use crate::service::tokens as service;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(utoipa::OpenApi)]
#[openapi(paths(revoke, introspect))]
pub struct Doc;

type State = web::Data<AppState>;

/// `{token, token_type_hint?}` (RFC 7009 / 7662), as a form or JSON.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    /// An access token, a refresh token or a personal access token.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    token: Field<String>,
    /// `access_token` or `refresh_token`: accepted and not needed (the token's form tells).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    token_type_hint: Field<String>,
    /// Accepted and ignored (no client registry yet).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_id: Field<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

impl TokenBody {
    fn token(self) -> ApiResult<String> {
        let mut errors = vec![];
        let token = one_of(&mut errors, vec![("token", self.token)]);
        let hint = one_of(&mut errors, vec![("token_type_hint", self.token_type_hint)]);
        let _ = one_of(&mut errors, vec![("client_id", self.client_id)]);
        if hint.is_some_and(|h| !matches!(h.as_str(), "access_token" | "refresh_token")) {
            errors.push("token_type_hint: access_token or refresh_token".into());
        }
        errors.extend(self.unknown.keys().map(|k| format!("{k}: unknown field")));
        match token {
            Some(t) if errors.is_empty() && !t.trim().is_empty() => Ok(t),
            None | Some(_) if errors.is_empty() => Err(ApiError::invalid("token is required")),
            _ => Err(ApiError::Invalid(errors)),
        }
    }
}

/// The request's `token`: no query, a body (form or JSON) with nothing unknown.
fn token_of(query: Result<NoQuery, ApiError>, body: Result<Fields, ApiError>) -> ApiResult<String> {
    query
        .and(body)
        .and_then(|b| b.parse::<TokenBody>())
        .and_then(TokenBody::token)
}

/// Public: revoke a token (RFC 7009).
///
/// Always 200 for a well-formed request, whether or not the token worked (RFC 7009 section
/// 2.2). An access token is revoked alone; a refresh token ends its whole session (its access
/// tokens too, on every instance); a personal access token is deleted. A malformed request is
/// a 400 `invalid_request`.
#[utoipa::path(post, path = "/v1/auth/revoke", tag = "registration", operation_id = "oauthRevoke",
    security(()),
    request_body(content = TokenBody, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or was not a working token.",
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error (`invalid_request`).",
            body = inline(super::sessions::OAuthError)),
    ))]
pub async fn revoke(
    query: Result<NoQuery, ApiError>,
    state: State,
    req: actix_web::HttpRequest,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let token = match token_of(query, body) {
        Ok(t) => t,
        Err(e) => return super::sessions::oauth_failure(e),
    };
    match service::revoke_presented(&state, token, super::meta_of(&req)).await {
        Ok(()) => super::no_store(HttpResponse::Ok().finish()),
        Err(e) => super::sessions::oauth_failure(e),
    }
}

/// RFC 7662 answer: `{"active": false}`, or the token's facts.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct Introspected {
    active: bool,
    /// The user's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// The user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// The user's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    acc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    /// `access_token`, `refresh_token` or `personal_access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch (none for a personal access token without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// The login session it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// Role admin: introspect a token (RFC 7662).
///
/// `active: false` for a token that does not work (expired, revoked, ended, unknown) and for
/// one whose user the caller may not see; otherwise its user, kind and times.
#[utoipa::path(post, path = "/v1/auth/introspect", tag = "registration",
    operation_id = "oauthIntrospect",
    request_body(content = TokenBody, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state.", body = Introspected,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error (`invalid_request`).",
            body = inline(super::sessions::OAuthError)),
    ))]
pub async fn introspect(
    Admin(caller): Admin,
    query: Result<NoQuery, ApiError>,
    state: State,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let token = match token_of(query, body) {
        Ok(t) => t,
        Err(e) => return super::sessions::oauth_failure(e),
    };
    let found = match service::introspect(&state, caller, token).await {
        Ok(f) => f,
        Err(e) => return super::sessions::oauth_failure(e),
    };
    let answer = match found {
        None => Introspected::default(),
        Some(i) => Introspected {
            active: true,
            sub: Some(i.user.id.clone()),
            username: Some(i.user.email.clone()),
            acc: Some(i.user.account_id.clone()),
            role: Some(i.user.role.as_str().to_string()),
            token_type: Some(i.kind),
            exp: i.exp,
            iat: i.iat,
            iss: Some(state.keys.issuer().to_string()),
            jti: i.jti,
            sid: i.sid,
        },
    };
    super::no_store(HttpResponse::Ok().json(answer))
}

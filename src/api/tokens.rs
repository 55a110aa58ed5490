//! `/v1/tokens`: personal access tokens.

use super::body::Json;
use super::body::NoBody;
use super::extract::NoQuery;
use super::{check, created, ok};
use crate::auth::Caller;
use crate::db::pats::Pat;
use crate::domain::Role;
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::service::tokens as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, validate, revoke))]
pub struct Doc;

type State = web::Data<AppState>;

/// Tokens may live at most ten years.
const MAX_LIFETIME_MICROS: i64 = 10 * 366 * 24 * 3600 * 1_000_000;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateToken {
    /// What the token is for; not blank.
    #[validate(length(min = 1, max = 200), custom(function = "super::not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub description: String,
    /// In the future, at most ten years away; omitted, the token does not expire.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// The user to mint for (admins: a user of their tree below their role; the owner: anyone);
    /// omitted, the caller.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub user_id: Option<String>,
}

/// A new token: the only answer that shows `token`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    pub id: String,
    /// `pat_...`, shown once.
    pub token: String,
    pub description: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The user a valid token acts as.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenUser {
    pub id: String,
    pub account_id: String,
    pub role: RoleName,
}

/// A user's role, lowest first.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Role)]
pub enum RoleName {
    User,
    Admin,
    Owner,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> RoleName {
        match r {
            // Never stored: `public` is the absence of credentials.
            Role::Public | Role::User => RoleName::User,
            Role::Admin => RoleName::Admin,
            Role::Owner => RoleName::Owner,
        }
    }
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

impl CreateToken {
    /// Mint the token this body asks for: (the token's record, the token).
    pub async fn mint(self, state: &AppState, caller: Caller) -> ApiResult<(Pat, String)> {
        let mut errors = vec![];
        let expires = parse_expiry(self.expires_at.as_deref(), &mut errors);
        check(&self, errors)?;
        service::create(state, caller, self.user_id, self.description, expires).await
    }
}

/// Role user: mint a personal access token (admins and the owner: for a user of their tree, `userId`).
///
/// The `pat_...` token is answered only here and stored as a hash. It acts with its user's
/// role, as `Authorization: Bearer` or as the `access_token` query parameter, until it is
/// revoked or expires, or its user is removed, changes role or password, or logs out everywhere.
/// An admin mints only for itself and users below its role (403 otherwise); a `userId` the
/// caller may not see is 404.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", operation_id = "createToken",
    request_body = CreateToken,
    responses(
        (status = 201, description = "The token, shown once.", body = NewToken,
            headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn create(
    caller: Caller,
    state: State,
    body: Json<CreateToken>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let (pat, token) = body.0.mint(&state, caller).await?;
    let v = pat.view();
    Ok(super::no_store(created(NewToken {
        id: v.id,
        token,
        description: v.description,
        created: v.created,
        expires_at: v.expires_at,
    })))
}

pub(super) fn pat_key(p: &Pat) -> Cursor {
    Cursor {
        created: p.created,
        id: p.id.clone(),
    }
}

/// The query of `GET /v1/tokens`, besides the paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokensQuery {
    /// Whose tokens; omitted, the caller's.
    #[serde(rename = "userId")]
    #[param(rename = "userId")]
    user_id: Option<String>,
}

/// Role user: page of the caller's tokens (admins: `userId` of their tree).
///
/// Never their secrets. `filter` matches the description. A `userId` the caller may not see
/// (a plain user: any other) is 404; one with a role above the caller's is 403.
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", operation_id = "listTokens",
    params(
        TokensQuery,
        crate::openapi::PageQuery,
    ),
    responses(
        (status = 200, description = "A page of tokens (never their secrets).",
            body = super::page::TokenPage),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn list(caller: Caller, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(
        &req,
        &super::PAGE,
        pat_key,
        Pat::view,
        |q: TokensQuery, page| service::list(&state, caller, q.user_id, page),
    )
    .await
}

/// Role user: revoke one's token (admins: tokens of their tree's users).
///
/// A token the caller may not revoke is 404, like one that does not exist.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", operation_id = "revokeToken",
    params(("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke(
    caller: Caller,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    service::revoke(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateToken {
    /// A personal access token (`pat_...`) or an access token.
    #[validate(length(min = 1, max = 4096))]
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
}

/// Role user: whose is this token? (own tokens; admins: their tree; the owner: any).
///
/// Accepts a personal access token or an access token. Anything else, or a token the caller may
/// not inspect, is 401.
#[utoipa::path(post, path = "/v1/tokens/validate", tag = "tokens", operation_id = "validateToken",
    request_body = ValidateToken,
    responses((status = 200, description = "The token's user.", body = TokenUser)))]
pub async fn validate(
    caller: Caller,
    state: State,
    body: Json<ValidateToken>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let user = service::validate(&state, caller, b.token).await?;
    Ok(ok(TokenUser {
        id: user.id,
        account_id: user.account_id,
        role: user.role.into(),
    }))
}

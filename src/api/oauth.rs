//! RFC 7009 token revocation and RFC 7662 token introspection, beside the token endpoint
//! (`sessions::token`); form or JSON bodies, as OAuth clients send them.

use super::body::{one_of, Field, Fields};
use super::extract::NoQuery;
use super::sessions::OAuthErrorCode;
use crate::db::clients::ClientRow;
use crate::error::{ApiError, ApiResult};
use crate::service::clients;
use crate::service::tokens as service;
use crate::state::AppState;
use actix_web::http::StatusCode;
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
    /// A registered client (`client_secret_post`; or `none` for a public client, on
    /// revocation); or HTTP Basic (`client_secret_basic`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_id: Field<String>,
    /// A confidential client's secret, with `client_id`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_secret: Field<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// A request's token and the client fields (`client_id`, `client_secret`) beside it.
type Presented = (String, Option<String>, Option<String>);

impl TokenBody {
    fn token(self) -> ApiResult<Presented> {
        let mut errors = vec![];
        let token = one_of(&mut errors, vec![("token", self.token)]);
        let hint = one_of(&mut errors, vec![("token_type_hint", self.token_type_hint)]);
        let id = one_of(&mut errors, vec![("client_id", self.client_id)]);
        let secret = one_of(&mut errors, vec![("client_secret", self.client_secret)]);
        if hint.is_some_and(|h| !matches!(h.as_str(), "access_token" | "refresh_token")) {
            errors.push("token_type_hint: access_token or refresh_token".into());
        }
        errors.extend(self.unknown.keys().map(|k| format!("{k}: unknown field")));
        match token {
            Some(t) if errors.is_empty() && !t.trim().is_empty() => Ok((t, id, secret)),
            None | Some(_) if errors.is_empty() => Err(ApiError::invalid("token is required")),
            _ => Err(ApiError::Invalid(errors)),
        }
    }
}

/// The request's `token` and client fields: no query, a body (form or JSON) with nothing
/// unknown.
fn token_of(
    query: Result<NoQuery, ApiError>,
    body: Result<Fields, ApiError>,
) -> ApiResult<Presented> {
    query
        .and(body)
        .and_then(|b| b.parse::<TokenBody>())
        .and_then(TokenBody::token)
}

/// Public: revoke a token (RFC 7009).
///
/// Always 200 for a well-formed request, whether or not the token worked (RFC 7009 section
/// 2.2). A client that presents itself (as on the token endpoint) must authenticate (401
/// `invalid_client` otherwise), and may revoke only tokens issued to it (400
/// `unauthorized_client` otherwise, RFC 7009 section 2.1); without a client, holding the token
/// is what lets it be revoked. An access token is revoked alone; a refresh token ends its whole session (its access
/// tokens too, on every instance); a personal access token is deleted. A malformed request is
/// a 400 `invalid_request`.
#[utoipa::path(post, path = "/v1/auth/revoke", tag = "registration", operation_id = "oauthRevoke",
    security((), ("clientBasic" = [])),
    request_body(content = TokenBody, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or was not a working token.",
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error: `invalid_request`, or `unauthorized_client` for a token issued to another client.",
            body = inline(super::sessions::OAuthError)),
        (status = 401, description = "`invalid_client`: a client that presented itself and failed.",
            body = inline(super::sessions::OAuthError)),
    ))]
pub async fn revoke(
    query: Result<NoQuery, ApiError>,
    state: State,
    req: actix_web::HttpRequest,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let (token, id, secret) = match token_of(query, body) {
        Ok(t) => t,
        Err(e) => return super::sessions::oauth_failure(e),
    };
    // A client that presents itself must be one; holding the token is what lets it be revoked.
    let auth = match client_auth(&req, id, secret) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let client = match authenticated_client(&state, auth).await {
        Ok(c) => c.map(|c| c.id),
        Err(refused) => return refused,
    };
    match service::revoke_presented(&state, token, super::meta_of(&req), client).await {
        Ok(()) => super::no_store(HttpResponse::Ok().finish()),
        Err(ApiError::Forbidden(m)) => super::sessions::oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::UnauthorizedClient,
            &m,
        ),
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

/// Role admin, or a confidential OAuth client: introspect a token (RFC 7662).
///
/// The caller authenticates with a bearer token of an admin or the owner, or as a confidential
/// client (HTTP Basic or `client_id` and `client_secret` in the body; a resource server, which
/// may introspect any token). `active: false` for a token that does not work (expired,
/// revoked, ended, unknown) and for one whose user the caller may not see; otherwise its user,
/// kind and times. A bad client is 401 `invalid_client`.
#[utoipa::path(post, path = "/v1/auth/introspect", tag = "registration",
    operation_id = "oauthIntrospect",
    security(("bearerAuth" = []), ("patAuth" = []), ("clientBasic" = [])),
    request_body(content = TokenBody, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state.", body = Introspected,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error (`invalid_request`).",
            body = inline(super::sessions::OAuthError)),
    ))]
pub async fn introspect(
    req: actix_web::HttpRequest,
    query: Result<NoQuery, ApiError>,
    state: State,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let (token, id, secret) = match token_of(query, body) {
        Ok(t) => t,
        Err(e) => return super::sessions::oauth_failure(e),
    };
    let caller = match client_auth(&req, id, secret) {
        Err(refused) => return *refused,
        // Only a confidential client may introspect: a public one has nothing to prove.
        Ok(Some(auth)) if auth.presented.secret.is_none() => return invalid_client(false),
        Ok(Some(auth)) => match authenticated_client(&state, Some(auth)).await {
            Ok(_) => None,
            Err(refused) => return refused,
        },
        Ok(None) => {
            let admin = super::extract::caller(req.clone())
                .await
                .and_then(|c| super::extract::at_least(c, crate::domain::Role::Admin));
            match admin {
                Ok(caller) => Some(caller),
                Err(e) => return actix_web::ResponseError::error_response(&e),
            }
        }
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

/// How a request presented its client (RFC 6749 section 2.3.1).
pub(super) struct ClientAuth {
    presented: clients::Presented,
    /// In an `Authorization: Basic` header (then a refusal names the scheme to use).
    basic: bool,
}

/// The client a request presents: HTTP Basic (`client_secret_basic`), or `client_id` with
/// `client_secret` in the body (`client_secret_post`), or `client_id` alone (`none`, a public
/// client); never two methods at once. `Ok(None)`: no client (as before clients existed).
pub(super) fn client_auth(
    req: &actix_web::HttpRequest,
    id: Option<String>,
    secret: Option<String>,
) -> Result<Option<ClientAuth>, Box<HttpResponse>> {
    let basic = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    match (basic, id, secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            Err(Box::new(super::sessions::oauth_error(
                StatusCode::BAD_REQUEST,
                OAuthErrorCode::InvalidRequest,
                "use one client authentication method: HTTP Basic or client_id in the body",
            )))
        }
        (Some(encoded), None, None) => match decode_basic(encoded) {
            Some((id, secret)) => Ok(Some(ClientAuth {
                presented: clients::Presented {
                    id,
                    secret: Some(secret),
                },
                basic: true,
            })),
            None => Err(Box::new(invalid_client(true))),
        },
        (None, Some(id), secret) => Ok(Some(ClientAuth {
            presented: clients::Presented { id, secret },
            basic: false,
        })),
        (None, None, Some(_)) => Err(Box::new(super::sessions::oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            "client_secret needs client_id",
        ))),
        (None, None, None) => Ok(None),
    }
}

/// `base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 section 2.3.1 writes it.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(&format!("v={s}")).ok()?;
        pairs.into_inner().pop().map(|(_, v)| v)
    };
    Some((decode(id)?, decode(secret)?))
}

/// 401 `invalid_client`; with the Basic challenge when the client tried Basic (RFC 6749
/// section 5.2), never otherwise (a browser would pop up a password dialog).
fn invalid_client(basic: bool) -> HttpResponse {
    let mut res = super::sessions::oauth_error(
        StatusCode::UNAUTHORIZED,
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    );
    if basic {
        res.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Basic realm=\"accountd\""),
        );
    }
    res
}

/// The authenticated client, or the answer that refuses it: 401 `invalid_client` for an
/// unknown client, a wrong secret, a confidential client without its secret or a public one
/// with a secret.
pub(super) async fn authenticated_client(
    state: &AppState,
    auth: Option<ClientAuth>,
) -> Result<Option<ClientRow>, HttpResponse> {
    let Some(auth) = auth else { return Ok(None) };
    match clients::authenticate(state, auth.presented).await {
        Ok(Ok(row)) => Ok(Some(row)),
        Ok(Err(_)) => Err(invalid_client(auth.basic)),
        Err(e) => Err(super::sessions::oauth_failure(e)),
    }
}

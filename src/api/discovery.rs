//! What other services read to verify accountd's tokens on their own: the public signing keys
//! (RFC 7517) and the authorization server's metadata (RFC 8414).

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(jwks, metadata))]
pub struct Doc;

/// A JWK set: `{"keys": [{kty, crv, x, y?, kid, alg, use}]}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = JwkSet)]
#[allow(dead_code)]
pub struct JwkSetSchema {
    /// Public keys: `kty` `OKP` (Ed25519, `x`) or `EC` (P-256, `x` and `y`), with `kid`, `alg`
    /// and `use: sig`.
    keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Public: the public keys that verify access tokens, chosen by the token's `kid`.
///
/// The active key, the next one (published `KEY_ROTATION_GRACE_SECS` before it signs) and the
/// retired ones until the last token they signed has expired. Empty with `JWT_ALG=HS256`
/// (tokens are then verified with the shared secret). Cacheable for five minutes (or the
/// grace period, when shorter), so a cached set always holds the next signer.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations", operation_id = "jwks",
    security(()), responses((status = 200, description = "The JWK set.", body = JwkSetSchema,
        headers(("Cache-Control" = String, description = "`public, max-age=300`")))))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let max_age = state.config.key_rotation_grace_secs.min(300);
    HttpResponse::Ok()
        .insert_header(("Cache-Control", format!("public, max-age={max_age}")))
        .json(state.keys.jwks())
}

/// RFC 8414 authorization server metadata.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Metadata {
    /// `ISSUER`: the `iss` of every token.
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication for introspection (a bearer token of an admin works too).
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Empty: accountd has no authorization endpoint (no browser redirects).
    response_types_supported: Vec<&'static str>,
}

/// Public: the authorization server's metadata (RFC 8414): issuer, token endpoint, JWKS.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "operations",
    operation_id = "oauthMetadata", security(()),
    responses((status = 200, description = "The metadata.", body = Metadata)))]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.keys.issuer().trim_end_matches('/').to_string();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(Metadata {
            token_endpoint: format!("{issuer}/v1/auth/token"),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            revocation_endpoint: format!("{issuer}/v1/auth/revoke"),
            introspection_endpoint: format!("{issuer}/v1/auth/introspect"),
            issuer,
            grant_types_supported: vec!["password", "refresh_token"],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            response_types_supported: vec![],
        })
}

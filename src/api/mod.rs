//! HTTP: the route table, and what every handler shares.

pub mod accounts;
pub mod audit;
pub mod body;
pub mod clients;
pub mod console;
pub mod devices;
pub mod discovery;
pub mod error;
pub mod events;
pub mod extract;
pub mod groups;
pub mod keys;
pub mod mfa;
pub mod middleware;
pub mod oauth;
pub mod ops;
pub mod page;
pub mod plans;
pub mod registration;
pub mod rpc;
pub mod scim;
pub mod sessions;
pub mod tokens;
pub mod tree;
pub mod users;
pub mod views;
pub mod webhooks;

pub use extract::meta_of;
pub use page::{paged, PAGE};

use crate::domain::{Email, Username};
use crate::error::{ApiError, ApiResult};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpResponse, Route};
use serde::Serialize;
use validator::{Validate, ValidationError};

/// Every route the server serves: (method, path, handler). The OpenAPI drift test reads
/// this same table, so the spec cannot miss a route or describe one that does not exist.
#[rustfmt::skip]
pub fn routes() -> Vec<(Method, &'static str, Route)> {
    use actix_web::web::{delete, get, patch, post, put};
    vec![
        (Method::GET, "/healthz", get().to(ops::healthz)),
        (Method::GET, "/readyz", get().to(ops::readyz)),
        (Method::GET, "/openapi.yaml", get().to(ops::openapi)),
        (Method::GET, "/metrics", get().to(ops::metrics)),
        (Method::GET, "/.well-known/jwks.json", get().to(discovery::jwks)),
        (Method::GET, "/.well-known/oauth-authorization-server", get().to(discovery::metadata)),
        (Method::GET, "/v1/sessions", get().to(sessions::sessions)),
        (Method::DELETE, "/v1/sessions/{id}", delete().to(sessions::end_session)),
        (Method::GET, "/v1/clients", get().to(clients::list)),
        (Method::POST, "/v1/clients", post().to(clients::create)),
        (Method::DELETE, "/v1/clients/{id}", delete().to(clients::delete)),
        (Method::GET, "/v1/keys", get().to(keys::list)),
        (Method::POST, "/v1/keys/rotate", post().to(keys::rotate)),
        (Method::GET, "/v1/audit", get().to(audit::list)),
        (Method::GET, "/scim/v2/ServiceProviderConfig", get().to(scim::service_provider_config)),
        (Method::GET, "/scim/v2/ResourceTypes", get().to(scim::resource_types)),
        (Method::GET, "/scim/v2/ResourceTypes/{id}", get().to(scim::resource_type)),
        (Method::GET, "/scim/v2/Schemas", get().to(scim::schemas)),
        (Method::GET, "/scim/v2/Schemas/{id}", get().to(scim::schema)),
        (Method::POST, "/scim/v2/.search", post().to(scim::search_all)),
        (Method::GET, "/scim/v2/Users", get().to(scim::list_users)),
        (Method::POST, "/scim/v2/Users", post().to(scim::create_user)),
        (Method::POST, "/scim/v2/Users/.search", post().to(scim::search_users)),
        (Method::GET, "/scim/v2/Users/{id}", get().to(scim::get_user)),
        (Method::PUT, "/scim/v2/Users/{id}", put().to(scim::replace_user)),
        (Method::PATCH, "/scim/v2/Users/{id}", patch().to(scim::patch_user)),
        (Method::DELETE, "/scim/v2/Users/{id}", delete().to(scim::delete_user)),
        (Method::GET, "/scim/v2/Groups", get().to(scim::list_groups)),
        (Method::POST, "/scim/v2/Groups", post().to(scim::create_group)),
        (Method::POST, "/scim/v2/Groups/.search", post().to(scim::search_groups)),
        (Method::GET, "/scim/v2/Groups/{id}", get().to(scim::get_group)),
        (Method::PUT, "/scim/v2/Groups/{id}", put().to(scim::replace_group)),
        (Method::PATCH, "/scim/v2/Groups/{id}", patch().to(scim::patch_group)),
        (Method::DELETE, "/scim/v2/Groups/{id}", delete().to(scim::delete_group)),
        (Method::GET, "/v1/events", get().to(events::list)),
        (Method::GET, "/v1/webhooks", get().to(webhooks::list)),
        (Method::POST, "/v1/webhooks", post().to(webhooks::create)),
        (Method::GET, "/v1/webhooks/{id}", get().to(webhooks::get)),
        (Method::PUT, "/v1/webhooks/{id}", put().to(webhooks::update)),
        (Method::DELETE, "/v1/webhooks/{id}", delete().to(webhooks::delete)),
        (Method::POST, "/v1/webhooks/{id}/secret", post().to(webhooks::rotate_secret)),
        (Method::POST, "/v1/webhooks/{id}/ping", post().to(webhooks::ping)),
        (Method::GET, "/v1/webhooks/{id}/deliveries", get().to(webhooks::deliveries)),
        (
            Method::POST,
            "/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
            post().to(webhooks::retry),
        ),
        (Method::GET, "/v1/accounts", get().to(accounts::list)),
        (Method::POST, "/v1/accounts", post().to(accounts::create)),
        (Method::GET, "/v1/accounts/{id}", get().to(accounts::get)),
        (Method::PUT, "/v1/accounts/{id}", put().to(accounts::update)),
        (Method::POST, "/v1/accounts/{id}", post().to(tree::edit)),
        (Method::DELETE, "/v1/accounts/{id}", delete().to(accounts::delete)),
        (Method::POST, "/v1/accounts/{id}/close", post().to(accounts::close)),
        (Method::GET, "/v1/accounts/{id}/plan", get().to(plans::get_plan)),
        (Method::PUT, "/v1/accounts/{id}/plan", put().to(plans::set_plan)),
        (Method::GET, "/v1/accounts/{id}/users", get().to(accounts::users)),
        (Method::GET, "/v1/accounts/{id}/children", get().to(tree::children)),
        (Method::POST, "/v1/accounts/{id}/children", post().to(tree::create_child)),
        (Method::GET, "/v1/accounts/{id}/allChildren", get().to(tree::all_children)),
        (Method::GET, "/v1/accounts/{id}/descendants", get().to(tree::descendants)),
        (Method::GET, "/v1/accounts/{id}/decendants", get().to(tree::decendants)),
        (Method::POST, "/v1/seat-tokens", post().to(tree::mint_seat_token)),
        (Method::POST, "/v1/accounts/{id}/seats", post().to(tree::redeem_seats)),
        (Method::GET, "/v1/accounts/{id}/devices", get().to(devices::list)),
        (Method::POST, "/v1/accounts/{id}/devices", post().to(devices::create)),
        (Method::DELETE, "/v1/accounts/{id}/devices/{deviceId}", delete().to(devices::delete)),
        (Method::GET, "/v1/plans", get().to(plans::list_plans)),
        (Method::POST, "/v1/plans", post().to(plans::create_plan)),
        (Method::GET, "/v1/plans/{id}", get().to(plans::get_plan_by_id)),
        (Method::POST, "/rpc", post().to(rpc::rpc)),
        (Method::POST, "/user/create", post().to(users::create)),
        (Method::POST, "/user/get", post().to(users::get)),
        (Method::POST, "/user/find", post().to(users::find)),
        (Method::POST, "/user/login", post().to(sessions::login)),
        (Method::POST, "/user/login/mfa", post().to(mfa::login)),
        (Method::POST, "/user/mfa/totp", post().to(mfa::enrol)),
        (Method::POST, "/user/mfa/totp/confirm", post().to(mfa::confirm)),
        (Method::POST, "/user/mfa/totp/disable", post().to(mfa::disable)),
        (Method::POST, "/user/logout", post().to(sessions::logout)),
        (Method::POST, "/user/remove", post().to(users::remove)),
        (Method::POST, "/user/update", post().to(users::update)),
        (Method::POST, "/user/updateRole", post().to(users::update_role)),
        (Method::POST, "/user/password", post().to(sessions::password)),
        (Method::POST, "/user/unlock", post().to(users::unlock)),
        (Method::POST, "/user/email/confirm", post().to(registration::confirm_email)),
        (Method::POST, "/v1/register", post().to(registration::register)),
        (Method::POST, "/v1/register/confirm", post().to(registration::confirm)),
        (Method::POST, "/v1/password/forgot", post().to(registration::forgot)),
        (Method::POST, "/v1/password/reset", post().to(registration::reset)),
        (Method::POST, "/v1/auth/token", post().to(sessions::token)),
        (Method::POST, "/v1/auth/revoke", post().to(oauth::revoke)),
        (Method::POST, "/v1/auth/introspect", post().to(oauth::introspect)),
        (Method::POST, "/v1/tokens", post().to(tokens::create)),
        (Method::GET, "/v1/tokens", get().to(tokens::list)),
        // Before `/v1/tokens/{id}`: the first resource whose path matches takes the request.
        (Method::POST, "/v1/tokens/validate", post().to(tokens::validate)),
        (Method::DELETE, "/v1/tokens/{id}", delete().to(tokens::revoke)),
        (Method::POST, "/v1/groups", post().to(groups::create)),
        (Method::GET, "/v1/groups", get().to(groups::list)),
        (Method::GET, "/v1/groups/{id}", get().to(groups::get)),
        (Method::DELETE, "/v1/groups/{id}", delete().to(groups::delete)),
        (Method::GET, "/v1/groups/{id}/members", get().to(groups::members)),
        (Method::PUT, "/v1/groups/{id}/members/{userId}", put().to(groups::set_member)),
        (Method::GET, "/v1/groups/{id}/members/{userId}", get().to(groups::get_member)),
    ]
}

/// The (method, path) pairs of `routes()`.
pub fn route_table() -> Vec<(String, String)> {
    routes()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect()
}

/// Register the routes, one resource per path, so a wrong method answers 405 with a JSON body.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut by_path: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for (_, path, route) in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, list)) => list.push(route),
            None => by_path.push((path, vec![route])),
        }
    }
    for (path, list) in by_path {
        let mut resource = web::resource(path);
        for route in list {
            resource = resource.route(route);
        }
        cfg.service(resource.default_service(web::to(method_not_allowed)));
    }
    // A page, not API: outside the table the OpenAPI document is built from.
    console::configure(cfg);
}

pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    let e = ApiError::not_found("no such route");
    // SCIM clients read SCIM's error body under its base path.
    if req.path().starts_with("/scim/") {
        return scim::failed(e);
    }
    e.error_response()
}

async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(serde_json::json!({ "error": "method not allowed" }))
}

pub fn ok(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

pub fn created(body: impl Serialize) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// Credential responses must not be cached by browsers or proxies (`Pragma` for HTTP/1.0
/// caches, as RFC 6749 asks of token answers).
pub fn no_store(mut res: HttpResponse) -> HttpResponse {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// 400 with every problem at once: the validator's and those found by hand.
pub fn check(v: &impl Validate, mut errors: Vec<String>) -> ApiResult<()> {
    if let Err(e) = v.validate() {
        if let ApiError::Invalid(list) = ApiError::from(e) {
            errors.extend(list);
        }
    }
    no_errors(errors)
}

pub fn no_errors(mut errors: Vec<String>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort();
        errors.dedup();
        Err(ApiError::Invalid(errors))
    }
}

pub fn not_blank(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}

/// `domain::Email`'s shape, as the validator names it (bodies pair it with
/// `length(max = MAX_EMAIL_CHARS)`, so a long address is told so).
pub fn email_rule(s: &str) -> Result<(), ValidationError> {
    rule(
        "email",
        Email::has_shape(s).then_some(()).ok_or(Email::INVALID),
    )
}

/// `domain::Username`'s rule, as the validator names it.
pub fn username_rule(s: &str) -> Result<(), ValidationError> {
    rule("username", Username::parse(s.to_string()).map(drop))
}

fn rule(code: &'static str, r: Result<(), &'static str>) -> Result<(), ValidationError> {
    r.map_err(|m| ValidationError::new(code).with_message(m.into()))
}

/// `Ok`'s value, or the field's problem added to `errors`.
pub fn problem<T>(
    errors: &mut Vec<String>,
    field: &str,
    r: Result<T, impl std::fmt::Display>,
) -> Option<T> {
    r.map_err(|e| errors.push(format!("{field}: {e}"))).ok()
}

/// A field whose rule the body's validation has already applied: parsing it again cannot fail,
/// but if it did, it would answer 400 like the validation.
pub fn parsed<T>(field: &str, r: Result<T, impl std::fmt::Display>) -> ApiResult<T> {
    r.map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

//! Operations: liveness, readiness and the API description.

use crate::state::AppState;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::OpenApi;

/// The repository's `openapi.yaml`, built into the binary.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

#[derive(OpenApi)]
#[openapi(paths(healthz, readyz, metrics, super::audit::list, openapi))]
pub struct Doc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    status: &'static str,
}

/// Public: the process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    security(()), responses((status = 200, description = "Alive.", body = Status)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Public: the database is reachable and the instance is not stopping (a stopping instance
/// answers 503 while it finishes the requests in flight).
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    security(()), responses(
        (status = 200, description = "Ready.", body = Status),
        (status = 503, response = crate::openapi::Unavailable),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.is_draining() {
        return crate::error::ApiError::Unavailable("shutting down".into()).error_response();
    }
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(Status { status: "ready" }),
        Err(_) => {
            crate::error::ApiError::Unavailable("database unreachable".into()).error_response()
        }
    }
}

/// Public: Prometheus metrics in the OpenMetrics text format (requests by route and status,
/// latency, logins by outcome, lockouts, refused hashes, pool waits, database errors, hash
/// queue, pool).
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    security(()), responses((status = 200, description = "OpenMetrics text format.",
        body = String, content_type = "application/openmetrics-text")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool.state();
    let text = state.metrics.render(
        state.hasher.queue_depth(),
        pool.connections,
        pool.idle_connections,
    );
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(text)
}

/// Public: this document, as YAML.
///
/// Served as `application/vnd.oai.openapi`, the registered media type of an OpenAPI document
/// in YAML.
#[utoipa::path(get, path = "/openapi.yaml", tag = "operations", operation_id = "openapi",
    security(()), responses((status = 200, description = "The OpenAPI document.",
        body = String, content_type = "application/vnd.oai.openapi")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/vnd.oai.openapi")
        .body(OPENAPI_YAML)
}

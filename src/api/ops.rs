//! Operations: liveness, readiness and the API description.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The repository's `openapi.yaml`, built into the binary.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db(|c| Ok(crate::db::ping(c)?)).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(json!({ "error": "database unreachable" }))
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    let text = state.metrics.render(
        state.hasher.queue_depth(),
        pool.connections,
        pool.idle_connections,
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

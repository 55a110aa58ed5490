//! The admin console: a page and its assets (`src/console/`), built into the binary and served
//! at `/console`. It is a page, not API: its routes are not in `routes()`, so the OpenAPI
//! document does not describe them. The page calls the public API like any other client.

use crate::error::ApiError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the console serves: (name under `/console/`, content type, bytes). A new file
/// is one line here.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    ("index.html", HTML, include_bytes!("../console/index.html")),
    ("app.js", JS, include_bytes!("../console/app.js")),
    ("console.css", CSS, include_bytes!("../console/console.css")),
];

/// The page loads only its own files and calls only its own origin; nothing frames it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/console` and `/console/` answer the page, `/console/{file}` an asset; another method is
/// the usual 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/console", "/console/"])
            .route(web::get().to(index))
            .default_service(web::to(wrong_method)),
    );
    cfg.service(
        web::resource("/console/{file}")
            .route(web::get().to(asset))
            .default_service(web::to(wrong_method)),
    );
}

async fn index(req: HttpRequest) -> HttpResponse {
    answer(&req, "index.html")
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    answer(&req, &file)
}

async fn wrong_method() -> HttpResponse {
    guarded(super::method_not_allowed().await)
}

/// The asset, 304 when the caller holds it already, or the JSON 404. (A query string is
/// ignored: the page takes none.)
fn answer(req: &HttpRequest, file: &str) -> HttpResponse {
    let Some(i) = ASSETS.iter().position(|(name, _, _)| *name == file) else {
        return guarded(ApiError::not_found("no such console file").error_response());
    };
    let (_, content_type, bytes) = ASSETS[i];
    let tag = &etags()[i];
    let res = if holds(req, tag) {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, tag.as_str()))
            .finish()
    } else {
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::ETAG, tag.as_str()))
            .body(bytes)
    };
    guarded(res)
}

/// A strong entity tag per asset, the SHA-256 of its bytes, computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, bytes)| {
                let hex: String = Sha256::digest(bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// Whether `If-None-Match` names `tag` (or is `*`). RFC 9110 compares weakly here, so
/// `W/"…"` matches too.
fn holds(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// The headers of every console answer: the page's policy, no framing, no referrer, its own
/// browsing context group, and revalidation before each use.
fn guarded(mut res: HttpResponse) -> HttpResponse {
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}

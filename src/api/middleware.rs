//! What every request goes through: a request id, a refusal of NUL characters in the URL,
//! metrics, one log line, and the security headers.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN};
use actix_web::{web, HttpMessage};
use std::future::Future;
use std::time::Instant;

/// The request id every response carries and every log line of the request names.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn request_id_header() -> HeaderName {
    HeaderName::from_static("x-request-id")
}

/// A request id a caller may choose: 1-64 characters of `[A-Za-z0-9._-]`, safe in a log line.
pub fn is_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A refused preflight answers the contract's JSON error, and a response that allows no origin
/// (no `Origin`, or one not in `CORS_ORIGINS`) carries no CORS header at all.
fn cors_answer(res: ServiceResponse) -> ServiceResponse {
    if let Some(refused) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_cors::CorsError>())
    {
        let answer = actix_web::ResponseError::error_response(&ApiError::forbidden(format!(
            "CORS: {refused}"
        )));
        return res.into_response(answer);
    }
    let mut res = res;
    let headers = res.headers_mut();
    if !headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        let cors: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in cors {
            headers.remove(k);
        }
    }
    res
}

/// The most bytes of request line and headers answered with the JSON 431. Heads over 128 KiB
/// never reach this layer: the HTTP codec (actix-http) answers them 431 itself, with no body.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

fn head_bytes(req: &ServiceRequest) -> usize {
    let line = req.uri().to_string().len() + 16;
    req.headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + line
}

/// The outermost layer of the app (`App::wrap_fn`); `hsts` when serving over TLS.
pub fn around<S, B>(
    mut req: ServiceRequest,
    srv: &S,
    hsts: bool,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    // A caller (a dashboard tracing its calls) may name the request; anything else gets a new id.
    let rid = req
        .headers()
        .get(request_id_header())
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let started = Instant::now();
    // The path only: a query string may carry an `access_token`, never logged.
    let line = format!("{} {}", req.method(), req.path());
    // HEAD is GET without the body: routed as GET, and the connection's codec, which saw HEAD,
    // sends the headers (the length included) and no body.
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    req.extensions_mut().insert(RequestId(rid.clone()));
    // A NUL in a path or query value is never meaningful (and PostgreSQL refuses it). The
    // OAuth endpoints (`/v1/auth/*`) answer it themselves, as the RFC 6749 error they owe
    // (they take no query, and their bodies are checked for NUL like every body).
    let has_nul = req.uri().to_string().to_ascii_lowercase().contains("%00")
        && !req.path().starts_with("/v1/auth/");
    let refused = if has_nul {
        Some(ApiError::invalid("url: must not contain NUL characters"))
    } else if head_bytes(&req) > MAX_HEAD_BYTES {
        Some(ApiError::HeadersTooLarge)
    } else {
        None
    };
    let (early, call) = match refused {
        Some(e) => {
            let res = actix_web::ResponseError::error_response(&e);
            (Some(req.into_response(res)), None)
        }
        None => (None, Some(srv.call(req))),
    };
    async move {
        let mut res: ServiceResponse = match (early, call) {
            (Some(res), _) => res,
            (None, Some(call)) => call.await?.map_into_boxed_body(),
            (None, None) => unreachable!("one of the two is set"),
        };
        res = cors_answer(res);
        let status = res.status();
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        if let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() {
            if state.is_draining() {
                res.response_mut()
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            // Only standard methods become labels: anything else would grow the series.
            let method = match res.request().method().as_str() {
                m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m,
                _ => "other",
            };
            state
                .metrics
                .observe(method, &route, status.as_u16(), started.elapsed());
        }
        if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
            // A refusal (hash queue full, database away, stopping): under a flood there is one
            // per request, so the log gets a count per interval, not a line each.
            refusals::note(&line);
        } else if status.is_server_error() {
            let detail = res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_default();
            log::error!("{rid} {line} -> {} {detail}", status.as_u16());
        } else {
            log::info!(
                "{rid} {line} -> {} in {:.1?}",
                status.as_u16(),
                started.elapsed()
            );
        }
        let headers = res.headers_mut();
        headers.insert(
            request_id_header(),
            HeaderValue::from_str(&rid).expect("checked or hex: a valid header"),
        );
        headers.insert(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        );
        if hsts {
            headers.insert(
                HeaderName::from_static("strict-transport-security"),
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        Ok::<_, actix_web::Error>(res)
    }
}

/// 503 answers, logged as a rate: at most one WARN line per `EVERY`, with the count since the
/// last line and the latest request refused. (`/metrics` counts each in
/// `accountd_http_requests_total{status="503"}`.)
mod refusals {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

    const EVERY: i64 = 10;
    static COUNT: AtomicU64 = AtomicU64::new(0);
    static LAST: AtomicI64 = AtomicI64::new(0);

    pub fn note(line: &str) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        let now = crate::db::models::now_secs();
        let last = LAST.load(Ordering::Relaxed);
        if now - last >= EVERY
            && LAST
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let n = COUNT.swap(0, Ordering::Relaxed);
            log::warn!(
                "{n} request(s) answered 503 (busy or stopping) since the last such line; the latest: {line}"
            );
        }
    }
}

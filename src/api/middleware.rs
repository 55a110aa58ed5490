//! What every request goes through: a request id, a refusal of NUL characters in the URL,
//! metrics, one log line, and the security headers.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpMessage};
use std::future::Future;
use std::time::Instant;

/// The request id every response carries and every log line of the request names.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn request_id_header() -> HeaderName {
    HeaderName::from_static("x-request-id")
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
    let rid = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    // The path only: a query string may carry an `access_token`, never logged.
    let line = format!("{} {}", req.method(), req.path());
    // HEAD is GET without the body: routed as GET, and the connection's codec, which saw HEAD,
    // sends the headers (the length included) and no body.
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    req.extensions_mut().insert(RequestId(rid.clone()));
    // A NUL in a path or query value is never meaningful (and PostgreSQL refuses it).
    let has_nul = req.uri().to_string().to_ascii_lowercase().contains("%00");
    let (early, call) = if has_nul {
        let res = actix_web::ResponseError::error_response(&ApiError::invalid(
            "url: must not contain NUL characters",
        ));
        (Some(req.into_response(res)), None)
    } else {
        (None, Some(srv.call(req)))
    };
    async move {
        let mut res: ServiceResponse = match (early, call) {
            (Some(res), _) => res,
            (None, Some(call)) => call.await?.map_into_boxed_body(),
            (None, None) => unreachable!("one of the two is set"),
        };
        let status = res.status();
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
            // Only standard methods become labels: anything else would grow the series.
            let method = match res.request().method().as_str() {
                m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m,
                _ => "other",
            };
            state
                .metrics
                .observe(method, &route, status.as_u16(), started.elapsed());
        }
        if status.is_server_error() {
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
            HeaderValue::from_str(&rid).expect("hex is a valid header"),
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

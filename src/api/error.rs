//! How an `ApiError` answers over HTTP: a status and the contract's body.

use crate::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Invalid(errors) => return res.json(json!({ "errors": errors })),
            // RFC 6750: a presented token that failed says so; no credential, or a wrong
            // password, is a bare challenge.
            ApiError::Unauthorized(m) => {
                let challenge = match m.as_str() {
                    crate::error::NO_CREDENTIALS | crate::error::BAD_LOGIN => "Bearer",
                    _ => "Bearer error=\"invalid_token\"",
                };
                res.insert_header((header::WWW_AUTHENTICATE, challenge));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            // The detail is logged by the request middleware with the request id; never sent.
            ApiError::Internal(_) => return res.json(json!({ "error": "internal error" })),
            _ => {}
        }
        res.json(json!({ "error": self.to_string() }))
    }
}

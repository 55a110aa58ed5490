//! Request bodies: size-limited, JSON only, unknown fields refused, every error a 400/413/415
//! with the contract's body (never actix's plain-text defaults).

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct Json<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A serde error as `field.path: message`.
pub fn describe_json_error(e: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let msg = inner.to_string();
    // Drop serde_json's " at line 1 column 9" suffix: the field name says where.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let field_in = |prefix: &str| -> Option<String> {
        let rest = msg.strip_prefix(prefix)?;
        let name = rest.split('`').next()?;
        Some(if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        })
    };
    // For an unknown field the path already ends with its name.
    if msg.starts_with("unknown field `") {
        return format!("{path}: unknown field");
    }
    if let Some(f) = field_in("missing field `") {
        return format!("{f}: is required");
    }
    if inner.is_syntax() || inner.is_eof() {
        return format!("body: malformed JSON ({msg})");
    }
    if path == "." {
        format!("body: {msg}")
    } else {
        format!("{path}: {msg}")
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // An empty body means "no fields", so `/user/get` and `/user/logout` work without one.
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::invalid(describe_json_error(e)))?;
    Ok(value)
}

pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::Bytes, ApiError> {
    web::Bytes::from_request(req, payload).await.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::invalid("body: could not be read")
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(&req, &mut payload).await?;
            if !bytes.iter().all(u8::is_ascii_whitespace) && !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&bytes).map(Json)
        })
    }
}

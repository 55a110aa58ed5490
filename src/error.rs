//! The one error type of every layer. `api::error` turns each into a status and the contract's
//! body.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::fmt;

#[derive(Debug)]
pub enum ApiError {
    /// 400 with one message per problem.
    Invalid(Vec<String>),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    PayloadTooLarge,
    HeadersTooLarge,
    UnsupportedMediaType,
    TooManyRequests {
        message: String,
        retry_after: u64,
    },
    Unavailable(String),
    /// A bug: the detail is logged, never sent.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The 401 of a request that presented no credential at all (RFC 6750: no error code then).
pub const NO_CREDENTIALS: &str = "missing bearer credentials";

/// The 401 of a wrong email or password (not a bearer token's failure).
pub const BAD_LOGIN: &str = "invalid email or password";

impl ApiError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        ApiError::Invalid(vec![msg.into()])
    }
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        ApiError::Unauthorized(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        ApiError::Forbidden(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        ApiError::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        ApiError::Conflict(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        ApiError::Internal(msg.into())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Invalid(e) => write!(f, "invalid: {}", e.join("; ")),
            ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Unavailable(m)
            | ApiError::Internal(m) => f.write_str(m),
            ApiError::TooManyRequests { message, .. } => f.write_str(message),
            ApiError::PayloadTooLarge => f.write_str("request body too large"),
            ApiError::HeadersTooLarge => f.write_str("request headers too large"),
            ApiError::UnsupportedMediaType => f.write_str("unsupported content type"),
        }
    }
}

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => ApiError::not_found("not found"),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ApiError::conflict(unique_message(info.message()))
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::conflict("the resource is still referenced or refers to a missing one")
            }
            DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, _) => {
                ApiError::conflict("the change would break a constraint")
            }
            // PostgreSQL gave up on a transaction to break a cycle: safe to retry.
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable("conflicting concurrent change, try again".into())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => ApiError::Unavailable("database unavailable".into()),
            // PostgreSQL refuses NUL characters in text; SQLite would store them.
            DieselError::DatabaseError(_, info)
                if info.message().contains("invalid byte sequence") =>
            {
                ApiError::invalid("text must not contain NUL characters")
            }
            DieselError::DatabaseError(_, info) if is_busy(info.message()) => {
                ApiError::Unavailable("database busy, try again".into())
            }
            other => ApiError::internal(format!("database: {other}")),
        }
    }
}

/// Name the field that collided, from either backend's wording, without leaking SQL.
fn unique_message(db_message: &str) -> String {
    let m = db_message.to_ascii_lowercase();
    if m.contains("email") {
        "email already in use".into()
    } else if m.contains("username") {
        "username already in use".into()
    } else {
        "id already in use".into()
    }
}

fn is_busy(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database is locked") || m.contains("busy") || m.contains("deadlock detected")
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(_: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable("database unavailable, try again".into())
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        collect_validation(&errors, "", &mut out);
        out.sort();
        ApiError::Invalid(out)
    }
}

fn collect_validation(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<String>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let name = format!("{prefix}{}", camel_case(field));
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let msg = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe(e));
                    out.push(format!("{name}: {msg}"));
                }
            }
            ValidationErrorsKind::Struct(inner) => {
                collect_validation(inner, &format!("{name}."), out)
            }
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect_validation(inner, &format!("{name}[{i}]."), out);
                }
            }
        }
    }
}

/// Report fields by their JSON names (`device_seats` -> `deviceSeats`).
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for ch in field.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

fn describe(e: &validator::ValidationError) -> String {
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "email" => "not a valid email address".into(),
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(max)) => format!("must be at most {max} characters"),
            (Some(min), None) => format!("must be at least {min} characters"),
            _ => "invalid length".into(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (None, Some(max)) => format!("must be at most {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            _ => "out of range".into(),
        },
        code => format!("invalid ({code})"),
    }
}

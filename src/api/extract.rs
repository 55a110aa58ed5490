//! What handlers name in their signatures: the checked caller (`Caller`, `Admin`, `Owner`), a
//! credential still to check with the account a request is about (`Presented`), and where a
//! change comes from (`Meta`). The checking itself is `auth::authenticate`.

use super::middleware::RequestId;
use crate::auth::{authenticate, Caller, Presented, PAT_PREFIX};
use crate::db::audit::Meta;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Future, Ready};
use std::pin::Pin;

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// A personal access token may also come as `?access_token=` (never logged: the request log
/// writes the path only).
fn query_token(req: &HttpRequest) -> Option<String> {
    let q = req.query_string();
    if !q.contains("access_token=") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(q)
        .ok()?
        .into_inner();
    pairs
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
        .filter(|v| v.starts_with(PAT_PREFIX))
}

/// The request's credential, if it carries one.
fn presented(req: &HttpRequest) -> Option<Presented> {
    let token = bearer(req).or_else(|| query_token(req))?;
    Some(Presented {
        token,
        meta: meta_of(req),
        enrolment: ENROLMENT_ROUTES.contains(&req.path()),
    })
}

/// What a session that must enrol a second factor may still call: nothing that reads or
/// changes anything else.
const ENROLMENT_ROUTES: [&str; 3] = ["/user/mfa/totp", "/user/mfa/totp/confirm", "/user/logout"];

/// Where a change comes from, for the audit log.
pub fn meta_of(req: &HttpRequest) -> Meta {
    Meta {
        ip: client_addr(req),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(256).collect()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        actor: None,
    }
}

/// The client's address, for counting failed attempts. The peer address, not a forwarded
/// header: a header is the client's to choose.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

impl FromRequest for Meta {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(meta_of(req)))
    }
}

/// A route that takes no query parameters: any but `access_token` is a 400, as on every list,
/// so a parameter the route does not know is never silently ignored.
pub struct NoQuery;

impl FromRequest for NoQuery {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let q = req.query_string();
        ready(if q.is_empty() {
            Ok(NoQuery)
        } else {
            super::page::Params::parse(q, &[]).map(|_| NoQuery)
        })
    }
}

fn missing() -> ApiError {
    ApiError::unauthorized(crate::error::NO_CREDENTIALS)
}

/// A credential to check together with the account the request is about (reads of one
/// account: one statement for both).
impl FromRequest for Presented {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(presented(req).ok_or_else(missing))
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("state missing"))
}

/// The caller of a request that may or may not carry credentials (the RPC endpoint).
pub async fn optional_caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    match presented(req) {
        None => Ok(None),
        Some(p) => {
            let state = state(req)?;
            let (caller, _) = authenticate(&state.store, &state.keys, p, None).await?;
            Ok(Some(caller))
        }
    }
}

pub async fn caller(req: HttpRequest) -> Result<Caller, ApiError> {
    optional_caller(&req).await?.ok_or_else(missing)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(caller(req.clone()))
    }
}

/// The caller, if its role is at least `role` (403 otherwise).
pub fn at_least(caller: Caller, role: Role) -> Result<Caller, ApiError> {
    if caller.role() < role {
        return Err(ApiError::forbidden(format!(
            "this call requires the {role} role"
        )));
    }
    Ok(caller)
}

macro_rules! role_guard {
    ($name:ident, $role:expr) => {
        #[doc = concat!("A caller with at least the role ", stringify!($role), ".")]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move { at_least(caller(req).await?, $role).map($name) })
            }
        }
    };
}

role_guard!(Admin, Role::Admin);
role_guard!(Owner, Role::Owner);

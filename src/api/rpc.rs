//! `POST /rpc`: the RPC frames of the older account service, each method backed by the same
//! code as its REST twin. Frames answer in kind: `result`, or `error {code, message}` with the
//! HTTP status the REST route would have answered.

use super::body::read_body;
use super::extract::{at_least, optional_caller};
use crate::auth::Caller;
use crate::db::audit::Meta;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, Direction, PageRequest, MAX_LIMIT};
use crate::service::{groups, registration, sessions, tokens, users};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(rpc))]
pub struct Doc;

/// A request frame.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RpcRequest)]
struct Frame {
    /// The frame version: only 2.
    #[schema(value_type = i64, required = true, minimum = 2, maximum = 2)]
    v: Option<i64>,
    /// The caller's name, answered as `dst`.
    src: Option<String>,
    /// Ignored.
    #[serde(rename = "dst")]
    _dst: Option<String>,
    /// Any JSON value, answered as `id`.
    #[schema(value_type = Value, required = false)]
    id: Option<Value>,
    /// `/v1/Account.<Name>`; an unknown method is an error frame with code 404.
    #[schema(example = "/v1/Account.Login")]
    method: String,
    /// The method's arguments (an object; omitted or `null`: none).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    args: Option<Value>,
}

/// An answer frame: `result` (`null` for a method that answers nothing), or `error`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RpcFrame)]
struct Answer {
    /// Always 2.
    v: i64,
    /// Always `accountd`.
    src: &'static str,
    /// The request's `src`.
    #[schema(required = true)]
    dst: Option<String>,
    /// The request's `id`.
    #[schema(value_type = Value, required = true)]
    id: Option<Value>,
    /// The method's answer, as its REST twin's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value)]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = FrameError)]
    error: Option<FrameError>,
}

/// Why a method failed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RpcError)]
struct FrameError {
    /// The HTTP status the REST twin would answer.
    code: u16,
    message: String,
    /// Seconds to wait, with 429 and 503 (also sent as the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64)]
    retry_after: Option<u64>,
}

/// The body of an HTTP 400 (schema only): an error frame, or `{"errors": [...]}` when the
/// URL itself is refused (a NUL in it) before the frame is read.
struct BadFrame;

impl utoipa::PartialSchema for BadFrame {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name("RpcFrame"))
            .item(Ref::from_schema_name("Errors"))
            .into()
    }
}

impl utoipa::ToSchema for BadFrame {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RpcBadFrame")
    }
}

const PREFIX: &str = "/v1/Account.";

/// Public: RPC frames of the older account service (Login, RegisterUser and
/// ConfirmUserRegistration need no credentials; the other methods need those of their REST twin).
///
/// `{"v": 2, "src": S, "id": N, "method": "/v1/Account.<Name>", "args": {...}}` answers
/// `{"v": 2, "src": "accountd", "dst": S, "id": N, "result": ...}`, or `{..., "error": {"code",
/// "message"}}` with the HTTP status the REST twin would answer as `code` (and `retryAfter`
/// seconds, with a `Retry-After` header, for 429 and 503); a method that answers nothing answers
/// `"result": null`. Credentials are checked only by the methods that need them: a
/// missing, bad or insufficient one is an error frame with code 401 or 403, not an HTTP status.
/// Methods (`account` in their arguments is a user id): `Login {username, password}` →
/// `{id, token}`; `RegisterUser {email, password, username?}` → `{id}`;
/// `ConfirmUserRegistration {code}` → `{id, token}`; `CreateUser {id?, email, name?, password}`;
/// `GetInfo {id | name}` → User; `UserExists {id | name}` → `{exists}`;
/// `CreateToken {account?, description}` → the token string; `ListTokens {account?}` → array of
/// TokenInfo (all of them); `RevokeToken {id}`; `ValidateToken {token}` → `{id}`;
/// `CreateGroup {id, labels?}`; `DeleteGroup {id}`; `ListGroups {account?, labels?}` → array of
/// Group (all of them); `SetMembership {account, group, roles}`;
/// `GetMembership {account, group}` → array of role names.
///
/// The body is read as JSON whatever its `Content-Type`. A frame that cannot be read (not JSON,
/// an unknown field, `v` not 2) is answered with HTTP 400 and an error frame, a body over 64 KiB
/// with HTTP 413 and an error frame; every other frame with HTTP 200.
#[utoipa::path(post, path = "/rpc", tag = "rpc", operation_id = "rpc",
    security((), ("bearerAuth" = []), ("patAuth" = []), ("patQuery" = [])),
    request_body = Frame,
    responses(
        (status = 200, description = "A result frame or an error frame.", body = Answer,
            headers(("Retry-After" = u64,
                description = "With an error frame of code 429 or 503: seconds to wait."))),
        (status = 400, description = "The frame could not be read: an error frame (or, for a \
            URL with a NUL, the usual list of problems).", body = inline(BadFrame)),
        (status = 413, description = "Body over 64 KiB: an error frame.", body = Answer),
    ))]
pub async fn rpc(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    // RPC takes no query parameters (but `access_token`), like every route that reads none.
    if let Err(e) = super::page::Params::parse(req.query_string(), &[]) {
        return frame_error(400, &message(&e), None, None);
    }
    let mut payload: Payload = payload.into_inner();
    let bytes = match read_body(&req, &mut payload).await {
        Ok(b) => b,
        Err(e) => return frame_error(e.status_code().as_u16(), &e.to_string(), None, None),
    };
    let frame: Frame = match super::body::parse_json(&bytes) {
        Ok(f) => f,
        Err(e) => return frame_error(400, &message(&e), None, None),
    };
    if frame.v != Some(2) {
        return frame_error(400, "v: must be 2", frame.src, frame.id);
    }
    let answer = dispatch(&req, &state, &frame).await;
    // Frames answer HTTP 200, so the request log would not show a bug: log it here.
    if let Err(ApiError::Internal(detail)) = &answer {
        let rid = req
            .extensions()
            .get::<super::middleware::RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        log::error!("{rid} rpc {}: {detail}", frame.method);
    }
    let mut out = Answer {
        v: 2,
        src: "accountd",
        dst: frame.src,
        id: frame.id,
        result: None,
        error: None,
    };
    let mut retry_after = None;
    match answer {
        // A method with nothing to answer answers `"result": null`.
        Ok(result) => out.result = Some(result.unwrap_or(Value::Null)),
        Err(e) => {
            // A locked or busy answer says when to come back, in the frame and the header.
            retry_after = match &e {
                ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
                ApiError::Unavailable(_) => Some(1),
                _ => None,
            };
            out.error = Some(FrameError {
                code: e.status_code().as_u16(),
                message: message(&e),
                retry_after,
            });
        }
    }
    let mut res = HttpResponse::Ok();
    if let Some(secs) = retry_after {
        res.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
    }
    super::no_store(res.json(out))
}

fn frame_error(code: u16, msg: &str, dst: Option<String>, id: Option<Value>) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    // Like every frame: an answer to a credential-bearing endpoint is never cached.
    super::no_store(HttpResponse::build(status).json(Answer {
        v: 2,
        src: "accountd",
        dst,
        id,
        result: None,
        error: Some(FrameError {
            code,
            message: msg.to_string(),
            retry_after: None,
        }),
    }))
}

fn message(e: &ApiError) -> String {
    match e {
        ApiError::Invalid(list) => list.join("; "),
        ApiError::Internal(_) => "internal error".into(),
        other => other.to_string(),
    }
}

/// The method's arguments, with unknown fields refused as in REST bodies.
fn args<T: DeserializeOwned>(args: Value) -> ApiResult<T> {
    let bytes = serde_json::to_vec(&args).map_err(|e| ApiError::internal(e.to_string()))?;
    super::body::parse_json(&bytes)
}

fn to_json(v: impl Serialize) -> ApiResult<Option<Value>> {
    serde_json::to_value(v)
        .map(Some)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// What a method answers: its result (`None`: a method that answers nothing).
type Outcome<'a> = Pin<Box<dyn Future<Output = ApiResult<Option<Value>>> + 'a>>;

/// How a method is called: without credentials (they are ignored, so a stale token cannot
/// break a login), or as a caller with at least a role.
enum Run {
    Public(for<'a> fn(&'a AppState, Meta, Value) -> Outcome<'a>),
    As(Role, for<'a> fn(&'a AppState, Caller, Value) -> Outcome<'a>),
}

/// Every method: its name after `/v1/Account.`, and how it is called. Each is one use case,
/// the same one its REST twin calls.
const METHODS: [(&str, Run); 15] = [
    ("Login", Run::Public(login)),
    ("RegisterUser", Run::Public(register_user)),
    ("ConfirmUserRegistration", Run::Public(confirm_registration)),
    ("CreateUser", Run::As(Role::Admin, create_user)),
    ("GetInfo", Run::As(Role::User, get_info)),
    ("UserExists", Run::As(Role::User, user_exists)),
    ("CreateToken", Run::As(Role::User, create_token)),
    ("ListTokens", Run::As(Role::User, list_tokens)),
    ("RevokeToken", Run::As(Role::User, revoke_token)),
    ("ValidateToken", Run::As(Role::User, validate_token)),
    ("CreateGroup", Run::As(Role::Admin, create_group)),
    ("DeleteGroup", Run::As(Role::Admin, delete_group)),
    ("ListGroups", Run::As(Role::User, list_groups)),
    ("SetMembership", Run::As(Role::Admin, set_membership)),
    ("GetMembership", Run::As(Role::User, get_membership)),
];

async fn dispatch(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    frame: &Frame,
) -> ApiResult<Option<Value>> {
    let unknown = || ApiError::not_found(format!("no such method: {}", frame.method));
    let name = frame.method.strip_prefix(PREFIX).ok_or_else(unknown)?;
    let args = frame.args.clone().unwrap_or_else(|| json!({}));
    match METHODS.iter().find(|(n, _)| *n == name).map(|(_, run)| run) {
        Some(Run::Public(run)) => run(state, super::meta_of(req), args).await,
        Some(Run::As(role, run)) => {
            let caller = optional_caller(req)
                .await?
                .ok_or_else(|| ApiError::unauthorized(crate::error::NO_CREDENTIALS))?;
            run(state, at_least(caller, *role)?, args).await
        }
        None => {
            // Credentials, when present, are checked before an unknown method is answered.
            optional_caller(req).await?;
            Err(unknown())
        }
    }
}

/// Every row of a list, a page of `MAX_LIMIT` at a time: an RPC list answers one whole array,
/// so it must never stop short at a page's end.
async fn whole_list<T, F, Fut>(key: fn(&T) -> Cursor, mut page_of: F) -> ApiResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<T>>>,
{
    let mut all = Vec::new();
    let mut page = PageRequest::first(MAX_LIMIT);
    loop {
        let mut rows = page_of(page.clone()).await?;
        let more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let last = rows.last().map(key);
        all.extend(rows);
        match last {
            Some(after) if more => page.direction = Direction::Forward(Some(after)),
            _ => return Ok(all),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginArgs {
    username: String,
    password: String,
}

fn login(state: &AppState, meta: Meta, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: LoginArgs = args(a)?;
        match sessions::login(state, a.username, a.password, meta, None).await? {
            sessions::LoggedIn::Session(s) => {
                Ok(Some(json!({ "id": s.user.id, "token": s.token })))
            }
            sessions::LoggedIn::MfaRequired(_) => Err(ApiError::forbidden(
                "this user logs in with a second factor: use /user/login or /v1/auth/token",
            )),
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterArgs {
    email: String,
    password: String,
    username: Option<String>,
}

fn register_user(state: &AppState, meta: Meta, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: RegisterArgs = args(a)?;
        let r = super::registration::Register {
            email: a.email,
            password: a.password,
            username: a.username,
            name: None,
        };
        let id = registration::register(state, r.checked()?, meta).await?;
        Ok(Some(json!({ "id": id })))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeArgs {
    code: String,
}

fn confirm_registration(state: &AppState, meta: Meta, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: CodeArgs = args(a)?;
        let s = registration::confirm(state, a.code, meta).await?;
        Ok(Some(json!({ "id": s.user.id, "token": s.token })))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserArgs {
    id: Option<String>,
    email: String,
    name: Option<String>,
    password: String,
}

fn create_user(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: CreateUserArgs = args(a)?;
        let b = super::users::CreateUser {
            email: a.email,
            role: "user".into(),
            first: a.name,
            last: None,
            username: None,
            password: Some(a.password),
            send_invite: None,
            account_id: None,
            id: a.id.map(super::users::ImportId),
            external_id: None,
        };
        users::create(state, caller, b.checked()?).await?;
        Ok(None)
    })
}

/// `GetInfo`/`UserExists`: by id, else by name (a username or an email).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhoArgs {
    id: Option<String>,
    name: Option<String>,
}

fn get_info(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: WhoArgs = args(a)?;
        let user = users::by_id_or_login(state, caller, a.id, a.name).await?;
        to_json(user.view())
    })
}

fn user_exists(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: WhoArgs = args(a)?;
        let exists = match users::by_id_or_login(state, caller, a.id, a.name).await {
            Ok(_) => true,
            Err(ApiError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        Ok(Some(json!({ "exists": exists })))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTokenArgs {
    account: Option<String>,
    description: String,
}

fn create_token(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: CreateTokenArgs = args(a)?;
        let b = super::tokens::CreateToken {
            description: a.description,
            expires_at: None,
            user_id: a.account,
        };
        let (_, token) = b.mint(state, caller).await?;
        Ok(Some(json!(token)))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountArgs {
    account: Option<String>,
}

fn list_tokens(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: AccountArgs = args(a)?;
        let list = whole_list(super::tokens::pat_key, |page| {
            tokens::list(state, caller.clone(), a.account.clone(), page)
        })
        .await?;
        to_json(list.iter().map(|p| p.view()).collect::<Vec<_>>())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: String,
}

fn revoke_token(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: IdArgs = args(a)?;
        tokens::revoke(state, caller, a.id).await?;
        Ok(None)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenArgs {
    token: String,
}

fn validate_token(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: TokenArgs = args(a)?;
        let user = tokens::validate(state, caller, a.token).await?;
        Ok(Some(json!({ "id": user.id })))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateGroupArgs {
    id: String,
    labels: Option<Value>,
}

fn create_group(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: CreateGroupArgs = args(a)?;
        let b = super::groups::CreateGroup {
            id: a.id,
            labels: a.labels,
            account_id: None,
        };
        let (account, id, labels) = b.checked()?;
        groups::create(state, caller, account, id, labels).await?;
        Ok(None)
    })
}

fn delete_group(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: IdArgs = args(a)?;
        groups::delete(state, caller, None, a.id).await?;
        Ok(None)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListGroupsArgs {
    account: Option<String>,
    labels: Option<Value>,
}

fn list_groups(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: ListGroupsArgs = args(a)?;
        let mut errors = vec![];
        let labels: Vec<(String, String)> =
            groups::parse_labels(a.labels.as_ref(), "labels", &mut errors)
                .into_iter()
                .collect();
        super::no_errors(errors)?;
        // `account` is a user id; omitted, the caller is implied.
        let member = a.account.unwrap_or_else(|| caller.id().to_string());
        let list = whole_list(super::groups::group_key, |page| {
            let (caller, member, labels) = (caller.clone(), member.clone(), labels.clone());
            groups::list(state, caller, None, Some(member), labels, page)
        })
        .await?;
        to_json(list.iter().map(|g| g.view()).collect::<Vec<_>>())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipArgs {
    account: String,
    group: String,
    roles: Option<Vec<String>>,
}

fn set_membership(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: MembershipArgs = args(a)?;
        let roles = a
            .roles
            .ok_or_else(|| ApiError::invalid("roles: is required"))?;
        let roles = super::groups::checked_roles(&roles)?;
        groups::set_membership(state, caller, None, a.group, a.account, roles).await?;
        Ok(None)
    })
}

fn get_membership(state: &AppState, caller: Caller, a: Value) -> Outcome<'_> {
    Box::pin(async move {
        let a: MembershipArgs = args(a)?;
        if a.roles.is_some() {
            return Err(ApiError::invalid("roles: unknown field"));
        }
        let roles = groups::get_membership(state, caller, None, a.group, a.account).await?;
        Ok(Some(json!(roles)))
    })
}

//! `/user/*`: every call is a POST with a JSON body.

use super::accounts::user_key;
use super::body::Json;
use super::extract::Admin;
use super::tokens::RoleName;
use super::views::{rfc3339, AccountView, UserView};
use super::{check, created, no_errors, ok, parsed, username_rule};
use crate::auth::password::check_password;
use crate::auth::Caller;
use crate::db::models::User;
use crate::db::users::{UserChanges, UserFilter};
use crate::domain::Role;
use crate::domain::{is_login_name, Email, Username};
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::pagination::PageRequest;
use crate::service::users as service;
use crate::service::{registration, sessions};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, get, find, login, logout, remove, update, update_role, password),
    modifiers(&OptionalBodies)
)]
pub struct Doc;

/// `request_body = Option<T>`: a body that may be left out, since an empty body reads as `{}`.
/// utoipa makes it not required (right) with the schema "null or T" (wrong: a JSON `null` is
/// refused): the schema is made T's alone.
struct OptionalBodies;

impl utoipa::Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::{RefOr, Required};
        let null = SchemaType::Type(Type::Null);
        let is_null =
            |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == null);
        for item in doc.paths.paths.values_mut() {
            let Some(body) = item.post.as_mut().and_then(|op| op.request_body.as_mut()) else {
                continue;
            };
            if body.required == Some(Required::True) {
                continue;
            }
            for content in body.content.values_mut() {
                if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema {
                    let mut rest = one.items.iter().filter(|s| !is_null(s));
                    if let (Some(only), None) = (rest.next(), rest.next()) {
                        content.schema = Some(only.clone());
                    }
                }
            }
        }
    }
}

/// 8 to 72 bytes (UTF-8); longer is refused, never cut.
///
/// The schema of every new password (`check_password`). JSON Schema counts characters, so
/// `maxLength` is only the bound for ASCII: 72 characters that take more than 72 bytes are refused.
pub struct Password;

impl utoipa::PartialSchema for Password {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::auth::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("8 to 72 bytes (UTF-8); longer is refused, never cut."))
            .min_length(Some(MIN_PASSWORD_BYTES))
            .max_length(Some(MAX_PASSWORD_BYTES))
            .into()
    }
}

impl utoipa::ToSchema for Password {}

// Checked by `ids::chosen_or_new`, with every other problem of its body.
/// Optional own id for imports; the server makes a UUID otherwise.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
pub struct ImportId(pub String);

type State = web::Data<AppState>;

fn parse_role(role: &str, errors: &mut Vec<String>) -> Role {
    Role::parse_assignable(role).unwrap_or_else(|| {
        errors.push("role: must be one of user, admin, owner".into());
        Role::User
    })
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUser {
    #[validate(custom(function = "super::email_rule"))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(value_type = RoleName)]
    pub role: String,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub first: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub last: Option<String>,
    /// 1 to 64 characters without `@`, spaces or control characters.
    #[validate(custom(function = "username_rule"))]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]+$"
    )]
    pub username: Option<String>,
    /// Without it (or with `sendInvite`) the user is invited and chooses its own.
    #[schema(value_type = Option<Password>)]
    pub password: Option<String>,
    /// Mail an invitation (the password, if any, is then ignored).
    pub send_invite: Option<bool>,
    /// An account of the caller's tree (default: the caller's own).
    pub account_id: Option<String>,
    pub id: Option<ImportId>,
}

/// Role admin: create a user in the caller's account or in `accountId` of its tree.
///
/// Never a role above the caller's own (403). With `sendInvite`, or without a password, the
/// user is `invited` and unverified and an invitation code is mailed; with a password it is
/// `active` and verified (the admin vouches for the address). 404 when `accountId` is not in the
/// caller's tree; 409 when the account is closed or the email, username or id is in use.
#[utoipa::path(post, path = "/user/create", tag = "users", operation_id = "createUser",
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user.", body = UserView),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn create(
    Admin(caller): Admin,
    state: State,
    body: Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let user = service::create(&state, caller, body.0.checked()?).await?;
    Ok(created(user.view()))
}

impl CreateUser {
    /// The body, checked: every problem at once.
    pub fn checked(self) -> ApiResult<service::Create> {
        let mut errors = vec![];
        let id = chosen_or_new(self.id.as_ref().map(|i| i.0.as_str()), "id", &mut errors);
        let role = parse_role(&self.role, &mut errors);
        if let Some(p) = &self.password {
            check_password("password", p, &mut errors);
        }
        check(&self, errors)?;
        Ok(service::Create {
            id,
            email: parsed("email", Email::parse(self.email))?,
            username: self
                .username
                .map(|u| parsed("username", Username::parse(u)))
                .transpose()?,
            first: self.first,
            last: self.last,
            role,
            password: self.password,
            send_invite: self.send_invite.unwrap_or(false),
            account_id: self.account_id,
        })
    }
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// A user named by `id` or by `email` (`id` wins when both are given).
pub struct UserRef {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: Option<String>,
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    email: Option<String>,
}

/// Role user: one user by `id` or `email`; an empty body answers the caller.
///
/// A plain user sees only itself, an admin the users of its tree, the owner everyone; any other
/// user is 404.
#[utoipa::path(post, path = "/user/get", tag = "users", operation_id = "getUser",
    request_body = Option<UserRef>,
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn get(caller: Caller, state: State, body: Json<UserRef>) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let user = service::get(&state, caller, b.id, b.email).await?;
    Ok(ok(user.view()))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FindUsers {
    /// Exactly this email (case-insensitive).
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    email: Option<String>,
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: Option<String>,
    #[schema(value_type = Option<RoleName>)]
    role: Option<String>,
    /// Only the users placed in this account.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    account_id: Option<String>,
    /// Case-insensitive substring of the email, username, first or last name; `%` and `_`
    /// match only themselves.
    #[schema(max_length = 256)]
    filter: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[schema(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Cursor from a previous page's `next` (not with `prev`).
    next: Option<String>,
    /// Cursor from a previous page's `prev` (not with `next`).
    prev: Option<String>,
}

/// Role user: page of users (a plain user sees only itself, an admin its tree).
///
/// `filter` matches email, username, first and last name. The other fields must all match. An
/// admin's `accountId` outside its tree is 404.
#[utoipa::path(post, path = "/user/find", tag = "users", operation_id = "findUsers",
    request_body = Option<FindUsers>,
    responses(
        (status = 200, description = "A page of users.",
            body = super::page::Page<UserView>),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn find(caller: Caller, state: State, body: Json<FindUsers>) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let role = b.role.as_deref().map(|r| parse_role(r, &mut errors));
    let limit = b.limit.map(|l| l.to_string());
    let page = PageRequest::parse(
        limit.as_deref(),
        b.next.as_deref(),
        b.prev.as_deref(),
        b.filter.as_deref(),
        &mut errors,
    );
    check(&b, errors)?;
    let filter = UserFilter {
        id: b.id,
        email: b.email,
        role,
        account_id: b.account_id,
        subtree: None,
    };
    let rows = service::find(&state, caller, filter, page.clone()).await?;
    Ok(ok(super::page::finish(&page, rows, user_key, User::view)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The email or the username to log in with (or, with `register`, the email to register).
    #[schema(max_length = 254)]
    email: Option<String>,
    /// Used when there is no `email`.
    #[schema(max_length = 254)]
    username: Option<String>,
    /// At most 72 bytes; with `invite` or `register` the password to set (8 to 72 bytes).
    #[schema(max_length = 72)]
    password: String,
    /// Accept an invitation: the mailed code, with the password to set (no email or username).
    invite: Option<String>,
    /// Only `true`: register instead (as `POST /v1/register`); answers 201 `{id}`.
    register: Option<bool>,
    /// With `register`: the account's name (default the email).
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
}

/// The answer of every login: access token, refresh token, account and user.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// JWT access token, sent as `Authorization: Bearer`.
    token: String,
    /// When `token` expires.
    #[schema(format = DateTime)]
    expires: String,
    /// Rotating refresh token (30 days), for `POST /v1/auth/token`.
    refresh_token: String,
    account: AccountView,
    user: UserView,
}

/// The answer of every login: access token, refresh token, account and user.
pub fn session_answer(s: &sessions::Session) -> HttpResponse {
    super::no_store(ok(Session {
        token: s.token.clone(),
        expires: rfc3339(s.expires * 1_000_000),
        refresh_token: s.refresh_token.clone(),
        account: s.account.view(),
        user: s.user.view(),
    }))
}

/// Public: log in with email (or username) and password.
///
/// A wrong email and a wrong password get the same 401 and take the same time. Unverified
/// users and users of suspended accounts get 403 (only after the password matched). Too many
/// failures for one user or from one address lock it (429). With `invite`, accepts an
/// invitation: sets the password (8 to 72 bytes), verifies and logs in the user (a bad or
/// expired code is 400). With `register: true`, registers instead, exactly as
/// `POST /v1/register`.
#[utoipa::path(post, path = "/user/login", tag = "users", operation_id = "login",
    security(()),
    request_body = Login,
    responses(
        (status = 200, description = "An access token with the account and the user.",
            body = Session, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 201, description = "With `register: true`: registered (as `POST /v1/register`).",
            body = super::auth::IdOnly),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn login(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Login>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    if b.register == Some(true) {
        if b.invite.is_some() {
            return Err(ApiError::invalid(
                "register: cannot be combined with invite",
            ));
        }
        let r = super::auth::Register {
            email: b.email.unwrap_or_default(),
            password: b.password,
            username: b.username,
            name: b.name,
        };
        return super::auth::register_answer(&state, r, super::meta_of(&req)).await;
    }
    if b.name.is_some() || b.register.is_some() {
        return Err(ApiError::invalid("name: only with register: true"));
    }
    if let Some(code) = b.invite {
        let mut errors = vec![];
        check_password("password", &b.password, &mut errors);
        if b.email.is_some() || b.username.is_some() {
            errors.push("invite: takes only the code and a password".into());
        }
        no_errors(errors)?;
        let s = registration::accept_invite(&state, code, b.password, super::meta_of(&req)).await?;
        return Ok(session_answer(&s));
    }
    let identity = match (b.email, b.username) {
        (Some(e), _) => e,
        (None, Some(u)) => u,
        (None, None) => return Err(ApiError::invalid("email: is required (or username)")),
    };
    let mut errors = vec![];
    if !is_login_name(&identity) {
        errors.push("email: must be 1 to 254 characters".into());
    }
    if b.password.len() > crate::auth::password::MAX_PASSWORD_BYTES {
        errors.push("password: must be at most 72 bytes".into());
    }
    no_errors(errors)?;
    let s = sessions::login(&state, identity, b.password, super::meta_of(&req)).await?;
    Ok(session_answer(&s))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    /// End every credential of the user (its sessions, refresh tokens and personal access
    /// tokens), not only the one presented.
    everywhere: Option<bool>,
}

/// Role user: end the presented token, or with `everywhere` every token of the user.
///
/// An access token ends with its session's refresh tokens; a personal access token is deleted.
#[utoipa::path(post, path = "/user/logout", tag = "users", operation_id = "logout",
    request_body = inline(Option<Logout>),
    responses((status = 204, description = "Logged out.")))]
pub async fn logout(caller: Caller, state: State, body: Json<Logout>) -> ApiResult<HttpResponse> {
    let everywhere = body.0.everywhere.unwrap_or(false);
    sessions::logout(&state, caller, everywhere).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Role admin: remove a user of the caller's tree by `id` or `email`.
///
/// Not the last admin of an account, nor the last owner (409). Own removal is allowed for a
/// non-last admin. Never a user whose role is above the caller's (403).
#[utoipa::path(post, path = "/user/remove", tag = "users", operation_id = "removeUser",
    request_body = UserRef,
    responses(
        (status = 204, description = "Removed."),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn remove(
    Admin(caller): Admin,
    state: State,
    body: Json<UserRef>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    service::remove(&state, caller, b.id, b.email).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Defaults to the caller.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: Option<String>,
    /// A new address: pending codes end and an invited user gets a new invitation there.
    #[validate(custom(function = "super::email_rule"))]
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    first: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    last: Option<String>,
    /// 1 to 64 characters without `@`, spaces or control characters.
    #[validate(custom(function = "username_rule"))]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]+$"
    )]
    username: Option<String>,
    /// Replaces the stored object; at most 16 KiB of JSON.
    #[schema(value_type = Option<Object>)]
    preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// Role user: update oneself; an admin also the users of its tree.
///
/// `preferences` replaces the stored object (at most 16 KiB of JSON). A plain user naming
/// another user gets 404; an admin naming a user whose role is above its own gets 403. 409 when
/// the email or username is in use. An empty body changes nothing and answers the caller.
#[utoipa::path(post, path = "/user/update", tag = "users", operation_id = "updateUser",
    request_body = Option<UpdateUser>,
    responses(
        (status = 200, description = "The updated user.", body = UserView),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn update(
    caller: Caller,
    state: State,
    body: Json<UpdateUser>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let preferences = b
        .preferences
        .as_ref()
        .map(|p| serde_json::Value::Object(p.clone()).to_string());
    if preferences
        .as_ref()
        .is_some_and(|p| p.len() > MAX_PREFERENCES_BYTES)
    {
        errors.push(format!(
            "preferences: must be at most {MAX_PREFERENCES_BYTES} bytes of JSON"
        ));
    }
    check(&b, errors)?;
    let changes = UserChanges {
        email_lower: b.email.as_ref().map(|e| e.to_lowercase()),
        email: b.email,
        username_lower: b.username.as_ref().map(|u| u.to_lowercase()),
        username: b.username,
        first: b.first,
        last: b.last,
        preferences,
    };
    let user = service::update(&state, caller, b.id, changes).await?;
    Ok(ok(user.view()))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateRole {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: String,
    #[schema(value_type = RoleName)]
    role: String,
    /// Mail a fresh invitation if the user has not accepted one yet.
    send_invite: Option<bool>,
}

/// Role admin: change a user's role, never above the caller's own.
///
/// Not the demotion of an account's last admin or of the last owner (409). A role change
/// ends the user's current credentials (the same role again changes nothing).
#[utoipa::path(post, path = "/user/updateRole", tag = "users", operation_id = "updateUserRole",
    request_body = inline(UpdateRole),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn update_role(
    Admin(caller): Admin,
    state: State,
    body: Json<UpdateRole>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let role = parse_role(&b.role, &mut errors);
    check(&b, errors)?;
    let send_invite = b.send_invite.unwrap_or(false);
    let user = service::set_role(&state, caller, b.id, role, send_invite).await?;
    Ok(ok(user.view()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePassword {
    #[schema(max_length = 72)]
    current_password: String,
    #[schema(value_type = Password)]
    new_password: String,
}

/// Role user: change one's password; every older token stops working.
///
/// A wrong `currentPassword` is 400.
#[utoipa::path(post, path = "/user/password", tag = "users", operation_id = "changePassword",
    request_body = inline(ChangePassword),
    responses((status = 204, description = "Changed.")))]
pub async fn password(
    caller: Caller,
    state: State,
    body: Json<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    check_password("newPassword", &b.new_password, &mut errors);
    if b.current_password.len() > crate::auth::password::MAX_PASSWORD_BYTES {
        errors.push("currentPassword: does not match".into());
    }
    no_errors(errors)?;
    sessions::change_password(&state, caller, b.current_password, b.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

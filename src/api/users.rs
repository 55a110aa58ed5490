//! `/user/*` but the session routes: users, their roles and removal. Every call is a POST
//! with a JSON body.

use super::accounts::user_key;
use super::body::Json;
use super::extract::Admin;
use super::extract::NoQuery;
use super::sessions::Password;
use super::tokens::RoleName;
use super::views::UserView;
use super::{check, created, ok, parsed, username_rule};
use crate::auth::password::check_password;
use crate::auth::Caller;
use crate::db::models::User;
use crate::db::users::{UserChanges, UserFilter};
use crate::domain::Role;
use crate::domain::{Email, Username, MAX_EMAIL_CHARS};
use crate::error::ApiResult;
use crate::ids::chosen_or_new;
use crate::pagination::PageRequest;
use crate::service::users as service;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use validator::Validate;

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
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
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
    /// The provisioning directory's id for the user, unique in its account.
    #[validate(length(min = 1, max = 255))]
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: Option<String>,
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
    _: NoQuery,
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
            external_id: self.external_id,
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
pub async fn get(
    caller: Caller,
    state: State,
    body: Json<UserRef>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
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
            body = super::page::UserPage),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn find(
    caller: Caller,
    state: State,
    body: Json<FindUsers>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
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
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    service::remove(&state, caller, b.id, b.email).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    /// Defaults to the caller.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: Option<String>,
    /// A new address: pending codes end and an invited user gets a new invitation there.
    #[validate(custom(function = "super::email_rule"), length(max = MAX_EMAIL_CHARS))]
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
    /// Admin, of another user below its role: `false` deactivates it (no login; every
    /// credential ends at once), `true` lets it log in again (with new credentials).
    active: Option<bool>,
    /// Admin: the provisioning directory's id for the user (`null` clears it).
    #[validate(length(min = 1, max = 255))]
    #[schema(min_length = 1, max_length = 255)]
    #[serde(default, deserialize_with = "super::body::some_or_null")]
    external_id: Option<Option<String>>,
}

const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// Role user: update oneself; an admin also the users of its tree.
///
/// `preferences` replaces the stored object (at most 16 KiB of JSON). A plain user naming
/// another user gets 404; an admin naming a user whose role is above its own gets 403, and so
/// does an admin changing the email or username of a user not below its role (the owner may).
/// A new email is told to the old address by mail. 409 when the email or username is in use.
/// An empty body changes nothing and answers the caller.
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
    _: NoQuery,
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
        external_id: b.external_id,
    };
    let user = service::update(&state, caller, b.id, changes, b.active).await?;
    Ok(ok(user.view()))
}

/// A user named by its id.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserId {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    id: String,
}

/// Role admin: lift a user's login lock, at every address (audited as `user.unlock`).
///
/// For a user of the caller's tree whose role is not above its own (403 otherwise).
#[utoipa::path(post, path = "/user/unlock", tag = "users", operation_id = "unlockUser",
    request_body = inline(UserId),
    responses(
        (status = 204, description = "Unlocked."),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn unlock(
    Admin(caller): Admin,
    state: State,
    body: Json<UserId>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    service::unlock(&state, caller, b.id).await?;
    Ok(HttpResponse::NoContent().finish())
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
/// ends the user's current credentials (the same role again changes nothing). `sendInvite`
/// only for users below the caller's role (403 otherwise; the owner may).
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
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    let role = parse_role(&b.role, &mut errors);
    check(&b, errors)?;
    let send_invite = b.send_invite.unwrap_or(false);
    let user = service::set_role(&state, caller, b.id, role, send_invite).await?;
    Ok(ok(user.view()))
}

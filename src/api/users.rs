//! `/user/*`: every call is a POST with a JSON body.

use super::accounts::user_key;
use super::body::Json;
use super::{check, created, no_errors, ok, username_rule};
use crate::auth::extractor::{Admin, Caller};
use crate::auth::password::check_password;
use crate::auth::Role;
use crate::db::models::{rfc3339, User};
use crate::db::users::{self as store, UserChanges, UserFilter};
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::pagination::PageRequest;
use crate::service::auth as auth_service;
use crate::service::users::{self as service, NewUser};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

type State = web::Data<AppState>;

fn parse_role(role: &str, errors: &mut Vec<String>) -> Role {
    Role::parse_assignable(role).unwrap_or_else(|| {
        errors.push("role: must be one of user, admin, owner".into());
        Role::User
    })
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUser {
    #[validate(email, length(max = 254))]
    pub email: String,
    pub role: String,
    #[validate(length(max = 100))]
    pub first: Option<String>,
    #[validate(length(max = 100))]
    pub last: Option<String>,
    #[validate(custom(function = "username_rule"))]
    pub username: Option<String>,
    pub password: Option<String>,
    pub send_invite: Option<bool>,
    pub account_id: Option<String>,
    pub id: Option<String>,
}

pub async fn create(
    Admin(caller): Admin,
    state: State,
    body: Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let user = create_user(&state, caller, body.0).await?;
    Ok(created(user.view()))
}

/// Shared by `/user/create` and RPC CreateUser (the caller's role is checked by them).
pub async fn create_user(state: &AppState, caller: Caller, b: CreateUser) -> ApiResult<User> {
    let mut errors = vec![];
    let id = chosen_or_new(b.id.as_deref(), "id", &mut errors);
    let role = parse_role(&b.role, &mut errors);
    if let Some(p) = &b.password {
        check_password("password", p, &mut errors);
    }
    check(&b, errors)?;
    // With sendInvite (or no password) the user is invited and sets its own password.
    let password = if b.send_invite.unwrap_or(false) {
        None
    } else {
        b.password
    };
    let password_hash = match password {
        Some(p) => Some(state.hasher.hash(p).await?),
        None => None,
    };
    let new = NewUser {
        id,
        account_id: String::new(),
        email: b.email,
        username: b.username,
        first: b.first,
        last: b.last,
        role,
        // An admin who sets the password vouches for the address.
        verified: password_hash.is_some(),
        password_hash,
    };
    let (user, invitation) = state
        .tx(move |c| {
            let user = service::create(c, &caller, b.account_id, new)?;
            Ok((user.clone(), auth_service::reinvite(c, &user)?))
        })
        .await?;
    if let Some(m) = invitation {
        state.mailer.send(m);
    }
    Ok(user)
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
/// A user named by `id` or by `email`.
pub struct UserRef {
    #[validate(length(min = 1, max = 64))]
    id: Option<String>,
    #[validate(length(min = 1, max = 254))]
    email: Option<String>,
}

pub async fn get(caller: Caller, state: State, body: Json<UserRef>) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let user = state
        .db(move |c| service::get(c, &caller, b.id.as_deref(), b.email.as_deref()))
        .await?;
    Ok(ok(user.view()))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FindUsers {
    #[validate(length(min = 1, max = 254))]
    email: Option<String>,
    #[validate(length(min = 1, max = 64))]
    id: Option<String>,
    role: Option<String>,
    #[validate(length(min = 1, max = 64))]
    account_id: Option<String>,
    filter: Option<String>,
    limit: Option<i64>,
    next: Option<String>,
    prev: Option<String>,
}

pub async fn find(caller: Caller, state: State, body: Json<FindUsers>) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = vec![];
    if let Some(r) = &b.role {
        parse_role(r, &mut errors);
    }
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
        role: b.role,
        account_id: b.account_id,
        subtree: None,
    };
    let rows = {
        let page = page.clone();
        state
            .db(move |c| service::find(c, &caller, filter, &page))
            .await?
    };
    Ok(ok(page.finish(rows, user_key, User::view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: Option<String>,
    username: Option<String>,
    password: String,
    /// Accept an invitation (with the password to set).
    invite: Option<String>,
    /// Register instead of logging in (as `POST /v1/register`).
    register: Option<bool>,
    /// With `register`: the account's name.
    name: Option<String>,
}

/// The answer of every login: access token, refresh token, account and user.
pub fn session_answer(s: &auth_service::Session) -> HttpResponse {
    super::no_store(ok(json!({
        "token": s.token,
        "expires": rfc3339(s.expires * 1_000_000),
        "refreshToken": s.refresh_token,
        "account": s.account.view(),
        "user": s.user.view(),
    })))
}

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
        let s = auth_service::accept_invite(&state, code, b.password, super::meta_of(&req)).await?;
        return Ok(session_answer(&s));
    }
    let identity = match (b.email, b.username) {
        (Some(e), _) => e,
        (None, Some(u)) => u,
        (None, None) => return Err(ApiError::invalid("email: is required (or username)")),
    };
    let mut errors = vec![];
    if identity.is_empty() || identity.len() > 254 {
        errors.push("email: must be 1 to 254 characters".into());
    }
    if b.password.len() > crate::auth::password::MAX_PASSWORD_BYTES {
        errors.push("password: must be at most 72 bytes".into());
    }
    no_errors(errors)?;
    let s = auth_service::login(&state, identity, b.password, super::meta_of(&req)).await?;
    Ok(session_answer(&s))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    everywhere: Option<bool>,
}

pub async fn logout(caller: Caller, state: State, body: Json<Logout>) -> ApiResult<HttpResponse> {
    let everywhere = body.0.everywhere.unwrap_or(false);
    state
        .tx(move |c| auth_service::logout(c, &caller, everywhere))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove(
    Admin(caller): Admin,
    state: State,
    body: Json<UserRef>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    state
        .tx(move |c| {
            let target = service::lookup(c, b.id.as_deref(), b.email.as_deref())?;
            service::remove(c, &caller, target)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[validate(length(min = 1, max = 64))]
    id: Option<String>,
    #[validate(email, length(max = 254))]
    email: Option<String>,
    #[validate(length(max = 100))]
    first: Option<String>,
    #[validate(length(max = 100))]
    last: Option<String>,
    #[validate(custom(function = "username_rule"))]
    username: Option<String>,
    preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

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
    let email_changes = changes.email.is_some();
    let (user, invitation) = state
        .tx(move |c| {
            let target = store::find(c, b.id.as_deref().unwrap_or(caller.id()))?;
            let user = service::update(c, &caller, target, changes)?;
            // Codes mailed to the old address must not work for the new one.
            let mail = if email_changes {
                crate::db::codes::delete_all_for(c, &user.id)?;
                auth_service::reinvite(c, &user)?
            } else {
                None
            };
            Ok((user, mail))
        })
        .await?;
    if let Some(m) = invitation {
        state.mailer.send(m);
    }
    Ok(ok(user.view()))
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateRole {
    #[validate(length(min = 1, max = 64))]
    id: String,
    role: String,
    send_invite: Option<bool>,
}

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
    let (user, invitation) = state
        .tx(move |c| {
            let target = store::find(c, &b.id)?;
            let user = service::update_role(c, &caller, target, role)?;
            // sendInvite mails a fresh invitation to a user who has not accepted one yet.
            let mail = if send_invite {
                auth_service::reinvite(c, &user)?
            } else {
                None
            };
            Ok((user, mail))
        })
        .await?;
    if let Some(m) = invitation {
        state.mailer.send(m);
    }
    Ok(ok(user.view()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

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
    let current = caller.user.password_hash.clone();
    if !state.hasher.verify(b.current_password, current).await? {
        return Err(ApiError::invalid("currentPassword: does not match"));
    }
    let hash = state.hasher.hash(b.new_password).await?;
    state
        .tx(move |c| {
            auth_service::set_password(c, caller.id(), &hash)?;
            crate::db::audit::record(
                c,
                &caller.meta,
                "user.password",
                Some(caller.account_id()),
                Some(caller.id()),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Logins and sessions: `/user/login`, `/user/logout`, `/user/password`, and the OAuth2 token
//! endpoint (RFC 6749 shapes, form or JSON).

use super::body::{one_of, Field, Fields, Json};
use super::extract::NoQuery;
use super::views::{rfc3339, AccountView, UserView};
use super::{no_errors, ok};
use crate::auth::password::check_password;
use crate::auth::Caller;
use crate::domain::is_login_name;
use crate::error::{ApiError, ApiResult};
use crate::service::mfa::Factor;
use crate::service::registration;
use crate::service::sessions::{self, Refreshed};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

type State = web::Data<AppState>;

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
/// `POST /v1/register`, and answers 201 with its `{"id"}` body; that body is described only
/// there (`registerUser`). A user with TOTP on gets `{mfaRequired: true, mfaToken}` and no
/// session: the second step is `POST /user/login/mfa`.
#[utoipa::path(post, path = "/user/login", tag = "users", operation_id = "login",
    security(()),
    request_body = Login,
    responses(
        (status = 200, description = "An access token with the account and the user; or, for \
            a user with TOTP on, `{mfaRequired: true, mfaToken}` for `POST /user/login/mfa`.",
            body = LoginAnswer, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 201, description = "With `register: true`: registered; the body is \
            `POST /v1/register`'s (`IdOnly`)."),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn login(
    state: State,
    req: actix_web::HttpRequest,
    body: Json<Login>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    if b.register == Some(true) {
        if b.invite.is_some() {
            return Err(ApiError::invalid(
                "register: cannot be combined with invite",
            ));
        }
        let r = super::registration::Register {
            email: b.email.unwrap_or_default(),
            password: b.password,
            username: b.username,
            name: b.name,
        };
        return super::registration::register_answer(&state, r, super::meta_of(&req)).await;
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
    let s = sessions::login(&state, identity, b.password, super::meta_of(&req), None).await?;
    Ok(login_answer(&s))
}

/// The second step of a login with TOTP on: what `/user/login` answers instead of a session.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// Always `true`.
    mfa_required: bool,
    /// For `POST /user/login/mfa` (or the token endpoint's `mfa-otp` grant): valid 5 minutes,
    /// single use.
    mfa_token: String,
}

/// What a login answers: a session, or the second step's challenge.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LoginAnswer {
    Session(Box<Session>),
    MfaChallenge(MfaChallenge),
}

fn login_answer(s: &sessions::LoggedIn) -> HttpResponse {
    match s {
        sessions::LoggedIn::Session(s) => session_answer(s),
        sessions::LoggedIn::MfaRequired(token) => super::no_store(ok(MfaChallenge {
            mfa_required: true,
            mfa_token: token.clone(),
        })),
    }
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
pub async fn logout(
    caller: Caller,
    state: State,
    body: Json<Logout>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let everywhere = body.0.everywhere.unwrap_or(false);
    sessions::logout(&state, caller, everywhere).await?;
    Ok(HttpResponse::NoContent().finish())
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
/// A wrong `currentPassword` is 400, and counts toward the user's lockout as a wrong login
/// does (429 once locked).
#[utoipa::path(post, path = "/user/password", tag = "users", operation_id = "changePassword",
    request_body = inline(ChangePassword),
    responses(
        (status = 204, description = "Changed."),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn password(
    caller: Caller,
    state: State,
    body: Json<ChangePassword>,
    _: NoQuery,
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

/// The fields of a token request, as a form or a JSON object of strings (`null` counts as
/// absent).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    // Read as text: a grant this server does not know is its own error.
    #[serde(default)]
    #[schema(inline, value_type = GrantType, required = true)]
    grant_type: Field<String>,
    /// With `password`: the email or username (at most 254 characters).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 254)]
    username: Field<String>,
    /// With `password` (at most 72 bytes).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 72)]
    password: Field<String>,
    /// With `refresh_token`: the refresh token to rotate.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    refresh_token: Field<String>,
    /// A registered client (`client_secret_post`, or `none` for a public client); omitted, no
    /// client (or HTTP Basic, `client_secret_basic`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_id: Field<String>,
    /// A confidential client's secret, with `client_id`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_secret: Field<String>,
    /// Accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    scope: Field<String>,
    /// With the MFA grants: the `mfa_token` of the `mfa_required` answer.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    mfa_token: Field<String>,
    /// With `http://auth0.com/oauth/grant-type/mfa-otp`: the TOTP code.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    otp: Field<String>,
    /// With `http://auth0.com/oauth/grant-type/mfa-recovery-code`: a recovery code.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    recovery_code: Field<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// A token request's fields, each at most once.
struct TokenFields {
    grant: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    mfa_token: Option<String>,
    otp: Option<String>,
    recovery_code: Option<String>,
}

impl TokenRequest {
    /// The fields the grants use, or every problem at once (unknown fields included).
    fn checked(self) -> ApiResult<TokenFields> {
        let mut errors = vec![];
        let mut one = |name, field| one_of(&mut errors, vec![(name, field)]);
        let fields = TokenFields {
            grant: one("grant_type", self.grant_type),
            username: one("username", self.username),
            password: one("password", self.password),
            refresh: one("refresh_token", self.refresh_token),
            client_id: one("client_id", self.client_id),
            client_secret: one("client_secret", self.client_secret),
            mfa_token: one("mfa_token", self.mfa_token),
            otp: one("otp", self.otp),
            recovery_code: one("recovery_code", self.recovery_code),
        };
        // Accepted and ignored, but still read: a value that is not text is a problem.
        let _ = one("scope", self.scope);
        errors.extend(self.unknown.keys().map(|k| format!("{k}: unknown field")));
        super::no_errors(errors)?;
        Ok(fields)
    }
}

#[derive(Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
enum GrantType {
    Password,
    RefreshToken,
    /// The second step of a login with TOTP on (as Auth0 names it).
    #[schema(rename = "http://auth0.com/oauth/grant-type/mfa-otp")]
    MfaOtp,
    #[schema(rename = "http://auth0.com/oauth/grant-type/mfa-recovery-code")]
    MfaRecoveryCode,
}

impl GrantType {
    fn parse(s: &str) -> Option<GrantType> {
        match s {
            "password" => Some(GrantType::Password),
            "refresh_token" => Some(GrantType::RefreshToken),
            "http://auth0.com/oauth/grant-type/mfa-otp" => Some(GrantType::MfaOtp),
            "http://auth0.com/oauth/grant-type/mfa-recovery-code" => {
                Some(GrantType::MfaRecoveryCode)
            }
            _ => None,
        }
    }
}

/// `403 {"error": "mfa_required", "error_description", "mfa_token"}`: the password was right,
/// and the user has TOTP on.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MfaRequired {
    /// `mfa_required`.
    error: &'static str,
    error_description: &'static str,
    /// For the `mfa-otp` (or `mfa-recovery-code`) grant: valid 5 minutes, single use.
    mfa_token: String,
}

/// RFC 6749 section 5.1: the tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    /// A JWT access token, as a login's.
    access_token: String,
    #[schema(inline)]
    token_type: TokenType,
    /// Seconds until `access_token` expires.
    expires_in: i64,
    /// The next refresh token (this grant's own, if any, stops working).
    refresh_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
enum TokenType {
    Bearer,
}

/// RFC 6749 section 5.2: `{"error", "error_description"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    #[schema(inline)]
    error: OAuthErrorCode,
    error_description: String,
}

#[derive(Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
}

/// RFC 6749 section 5.2 errors: `{"error", "error_description"}`.
pub(super) fn oauth_error(
    status: StatusCode,
    error: OAuthErrorCode,
    description: &str,
) -> HttpResponse {
    super::no_store(HttpResponse::build(status).json(OAuthError {
        error,
        error_description: description.to_string(),
    }))
}

/// A failure as this route answers it: every 400 is RFC 6749's `invalid_request` (with the
/// problems as its description), never the API's `{"errors": [...]}`; other statuses (413, 415,
/// 429, 503) keep the API's answer.
pub(super) fn oauth_failure(e: ApiError) -> HttpResponse {
    match e {
        ApiError::Invalid(problems) => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            &problems.join("; "),
        ),
        e => actix_web::ResponseError::error_response(&e),
    }
}

fn token_answer(s: &sessions::Session, state: &AppState) -> HttpResponse {
    super::no_store(HttpResponse::Ok().json(TokenAnswer {
        access_token: s.token.clone(),
        token_type: TokenType::Bearer,
        expires_in: state.keys.ttl_secs,
        refresh_token: s.refresh_token.clone(),
    }))
}

/// Public: OAuth2 token endpoint (RFC 6749): password and refresh_token grants.
///
/// Form-encoded (`application/x-www-form-urlencoded`) or JSON (`application/json` or any
/// `application/*+json`): a JSON body must be an object of string values; an empty body counts
/// as no fields. A registered OAuth client authenticates with HTTP Basic
/// (`client_secret_basic`), `client_id` and `client_secret` in the body (`client_secret_post`),
/// or `client_id` alone if public (`none`); a request naming no client works as before clients
/// existed. A bad client is 401 `invalid_client`; a refresh token works only for the client it
/// was issued to. `scope` is accepted and ignored; any other field, or one given twice, is
/// `invalid_request`. Refresh tokens rotate on every use;
/// presenting a used one revokes its whole session. Every 400 is RFC 6749's
/// `{"error", "error_description"}`: `invalid_request` (a body that cannot be read, a missing or
/// malformed parameter), `invalid_grant` (wrong credentials, an unverified user or a suspended
/// account; an unknown, expired or reused refresh token), `unsupported_grant_type`.
#[utoipa::path(post, path = "/v1/auth/token", tag = "registration", operation_id = "oauthToken",
    security((), ("clientBasic" = [])),
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens.", body = inline(TokenAnswer),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "An RFC 6749 error.", body = inline(OAuthError),
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 403, description = "`mfa_required`: the password was right and the user has \
            TOTP on; the `mfa_token` goes with the `mfa-otp` grant.", body = MfaRequired,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "`invalid_client`: an unknown client or a wrong secret.",
            body = inline(OAuthError),
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"accountd\"` when the client used HTTP Basic"))),
        (status = 429, response = crate::openapi::TooMany),
    ))]
pub async fn token(
    query: Result<NoQuery, ApiError>,
    state: State,
    req: actix_web::HttpRequest,
    body: Result<Fields, ApiError>,
) -> HttpResponse {
    let body = match query.and(body) {
        Ok(b) => b,
        Err(e) => return oauth_failure(e),
    };
    let fields = body.parse::<TokenRequest>().and_then(TokenRequest::checked);
    let TokenFields {
        grant,
        username,
        password,
        refresh,
        client_id,
        client_secret,
        mfa_token,
        otp,
        recovery_code,
    } = match fields {
        Ok(f) => f,
        Err(e) => return oauth_failure(e),
    };
    let auth = match super::oauth::client_auth(&req, client_id, client_secret) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let client = match super::oauth::authenticated_client(&state, auth).await {
        Ok(c) => c.map(|c| c.id),
        Err(refused) => return refused,
    };
    match grant.as_deref().map(GrantType::parse) {
        Some(Some(GrantType::Password)) => {
            let (Some(username), Some(password)) = (username, password) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidRequest,
                    "username and password are required",
                );
            };
            if !is_login_name(&username)
                || password.len() > crate::auth::password::MAX_PASSWORD_BYTES
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid username or password",
                );
            }
            match sessions::login(&state, username, password, super::meta_of(&req), client).await {
                Ok(sessions::LoggedIn::Session(s)) => token_answer(&s, &state),
                Ok(sessions::LoggedIn::MfaRequired(mfa_token)) => {
                    super::no_store(HttpResponse::Forbidden().json(MfaRequired {
                        error: "mfa_required",
                        error_description: "a second factor is required",
                        mfa_token,
                    }))
                }
                Err(ApiError::Unauthorized(_)) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid username or password",
                ),
                Err(ApiError::Forbidden(m)) => {
                    oauth_error(StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidGrant, &m)
                }
                Err(e) => oauth_failure(e),
            }
        }
        Some(Some(GrantType::RefreshToken)) => {
            let Some(token) = refresh else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidRequest,
                    "refresh_token is required",
                );
            };
            match sessions::refresh(&state, token, client).await {
                Ok(Refreshed::Ok(s)) => token_answer(&s, &state),
                Ok(Refreshed::Invalid) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "invalid or expired refresh token",
                ),
                Ok(Refreshed::Reused) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "refresh token already used; its session was revoked",
                ),
                Ok(Refreshed::OtherClient) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidGrant,
                    "refresh token was issued to another client",
                ),
                Err(e) => oauth_failure(e),
            }
        }
        Some(Some(kind @ (GrantType::MfaOtp | GrantType::MfaRecoveryCode))) => {
            let factor = match (kind, otp, recovery_code) {
                (GrantType::MfaOtp, Some(code), None) => Factor::Code(code),
                (GrantType::MfaRecoveryCode, None, Some(code)) => Factor::Recovery(code),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        OAuthErrorCode::InvalidRequest,
                        "mfa-otp takes otp; mfa-recovery-code takes recovery_code",
                    )
                }
            };
            let Some(token) = mfa_token else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    OAuthErrorCode::InvalidRequest,
                    "mfa_token is required",
                );
            };
            let meta = super::meta_of(&req);
            match crate::service::mfa::complete_login(&state, token, factor, meta, client).await {
                Ok(s) => token_answer(&s, &state),
                Err(ApiError::Unauthorized(m) | ApiError::Forbidden(m)) => {
                    oauth_error(StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidGrant, &m)
                }
                Err(e) => oauth_failure(e),
            }
        }
        Some(None) => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::UnsupportedGrantType,
            "use password, refresh_token or http://auth0.com/oauth/grant-type/mfa-otp",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            "grant_type is required",
        ),
    }
}

fn session_key(s: &sessions::Listed) -> crate::pagination::Cursor {
    crate::pagination::Cursor {
        created: s.row.created,
        id: s.row.id.clone(),
    }
}

/// The query of `GET /v1/sessions`, besides the paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Whose sessions; omitted, the caller's.
    #[serde(rename = "userId")]
    #[param(rename = "userId")]
    user_id: Option<String>,
}

/// Role user: page of the caller's login sessions (admins: `userId` of their tree).
///
/// Oldest first; `filter` matches the user agent. A `userId` the caller may not see (a plain
/// user: any other) is 404; one with a role above the caller's is 403.
#[utoipa::path(get, path = "/v1/sessions", tag = "users", operation_id = "listSessions",
    params(SessionsQuery, crate::openapi::PageQuery),
    responses(
        (status = 200, description = "A page of sessions.", body = super::page::SessionPage),
        (status = 404, response = crate::openapi::NotFound),
    ))]
pub async fn sessions(
    caller: Caller,
    state: State,
    req: actix_web::HttpRequest,
) -> ApiResult<HttpResponse> {
    super::paged(
        &req,
        &super::PAGE,
        session_key,
        sessions::Listed::view,
        |q: SessionsQuery, page| sessions::list(&state, caller, q.user_id, page),
    )
    .await
}

/// Role user: end one of one's login sessions at once (admins: of their tree's users).
///
/// Its refresh tokens stop working, and its access tokens too, on every instance (each request
/// checks that its session lives). A session the caller may not end is 404, like one that does
/// not exist.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "users", operation_id = "endSession",
    params(("id" = String, Path, description = "The session's id.")),
    responses((status = 204, description = "Ended.")))]
pub async fn end_session(
    caller: Caller,
    state: State,
    id: actix_web::web::Path<String>,
    _: super::extract::NoQuery,
    _: super::body::NoBody,
) -> ApiResult<HttpResponse> {
    sessions::end(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

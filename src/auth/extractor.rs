//! Who is calling: the bearer credential, checked against the database on every request so that
//! removal, demotion, logout and password changes take effect at once on every instance.

use super::jwt::{Claims, Keys};
use super::Role;
use crate::db::audit::Meta;
use crate::db::models::{now, Account, User};
use crate::db::users::CredentialCheck;
use crate::db::{pats, users, DbConn};
use crate::error::ApiError;
use crate::secrets::{secret_matches, split_credential};
use crate::service::access;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// An authenticated caller with at least the `user` role.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub role: Role,
    pub credential: Credential,
    /// Who and where, for the audit log of the changes this caller makes.
    pub meta: Meta,
}

/// What the caller presented.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A JWT access token: its id, expiry (seconds) and login session, if any.
    Access {
        jti: String,
        exp: i64,
        sid: Option<String>,
    },
    /// A personal access token, by id.
    Pat { id: String },
}

impl Caller {
    pub fn id(&self) -> &str {
        &self.user.id
    }
    pub fn account_id(&self) -> &str {
        &self.user.account_id
    }
    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }
}

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

pub const PAT_PREFIX: &str = "pat_";

/// The checks every credential passes on every request, in one statement: the user exists with
/// the same token version (no removal, role or password change, logout everywhere), the token
/// is not revoked, its login session (if any) still exists, and no account at or above the
/// user's is suspended or closed.
fn current_user(
    conn: &mut DbConn,
    user_id: &str,
    version: i64,
    jti: &str,
    session: &str,
    account: &str,
) -> Result<(User, Role, About), ApiError> {
    judge(
        users::for_credential(conn, user_id, jti, session, account)?,
        version,
    )
}

/// What the statement of `current_user` found, judged.
fn judge(check: Option<CredentialCheck>, version: i64) -> Result<(User, Role, About), ApiError> {
    let revoked_msg = || ApiError::unauthorized("token revoked");
    let check = check.ok_or_else(revoked_msg)?;
    // A token of a login session lives only as long as the session: logout and a detected
    // refresh-token replay end every access token issued in it.
    if check.user.token_version != version || check.revoked || !check.session_alive {
        return Err(revoked_msg());
    }
    if check.blocked {
        return Err(ApiError::forbidden("account suspended"));
    }
    let role = Role::parse_assignable(&check.user.role)
        .ok_or_else(|| ApiError::internal("stored role invalid"))?;
    Ok((check.user, role, check.account))
}

/// The account a request is about, read with its credential: the account, if it exists, and
/// whether it lies in the caller's subtree (worked out for admins only).
type About = Option<(Account, bool)>;

/// The account asked about, if the caller may see it (404 otherwise).
fn seen(caller: Caller, about: About) -> Result<(Caller, Account), ApiError> {
    let in_subtree = about.as_ref().is_some_and(|(_, inside)| *inside);
    let account = access::seen_account(&caller, about.map(|(a, _)| a), |_| Ok(in_subtree))?;
    Ok((caller, account))
}

/// Check a personal access token (shared with `/v1/tokens/validate` and RPC ValidateToken).
pub fn check_pat(conn: &mut DbConn, token: &str) -> Result<Caller, ApiError> {
    check_pat_about(conn, token, "").map(|(caller, _)| caller)
}

fn check_pat_about(
    conn: &mut DbConn,
    token: &str,
    account: &str,
) -> Result<(Caller, About), ApiError> {
    let invalid = || ApiError::unauthorized("invalid or expired token");
    let (id, secret) = split_credential(token, PAT_PREFIX).ok_or_else(invalid)?;
    let pat = pats::find(conn, id)?.ok_or_else(invalid)?;
    if !secret_matches(secret, &pat.secret_hash) {
        return Err(invalid());
    }
    let ts = now();
    if pat.expires_at.is_some_and(|e| e <= ts) {
        return Err(invalid());
    }
    let (user, role, about) = current_user(conn, &pat.user_id, pat.token_version, "", "", account)?;
    // lastUsed at most once a minute, so reads do not become a write storm.
    if pat.last_used.is_none_or(|t| ts - t >= 60_000_000) {
        pats::touch(conn, &pat.id, ts)?;
    }
    let meta = Meta::default().by(&user.id);
    let caller = Caller {
        user,
        role,
        credential: Credential::Pat { id: pat.id },
        meta,
    };
    Ok((caller, about))
}

/// A request's bearer credential, read but not yet checked against the database. A read of one
/// account checks it in the statement that reads the account (`AppState::account_as`), instead
/// of paying a second statement and a second hand-off to the blocking pool.
pub struct Bearer {
    token: String,
    meta: Meta,
}

impl Bearer {
    fn of(req: &HttpRequest) -> Result<Bearer, ApiError> {
        let token = bearer(req)
            .or_else(|| query_token(req))
            .ok_or_else(|| ApiError::unauthorized("missing bearer credentials"))?;
        Ok(Bearer {
            token,
            meta: crate::api::meta_of(req),
        })
    }

    /// The caller, checked on `conn` like every credential.
    pub fn check(self, conn: &mut DbConn, keys: &Keys) -> Result<Caller, ApiError> {
        self.check_about(conn, keys, "").map(|(caller, _)| caller)
    }

    /// The caller and account `id`, which the caller must be allowed to see (404 otherwise),
    /// read in the statement that checks the credential.
    pub fn check_in_account(
        self,
        conn: &mut DbConn,
        keys: &Keys,
        id: &str,
    ) -> Result<(Caller, Account), ApiError> {
        let (caller, about) = self.check_about(conn, keys, id)?;
        seen(caller, about)
    }

    /// Like `check_in_account`, without a connection of the pool where it can be helped.
    pub async fn read_account(
        self,
        state: &AppState,
        id: String,
    ) -> Result<(Caller, Account), ApiError> {
        let (caller, about) = self.check_async(state, id).await?;
        seen(caller, about)
    }

    /// The caller and the account `account` (empty: none), checked like `check_about`. An
    /// access token is checked on the worker's own connection (`db::pipelined`); a personal
    /// access token (whose check may write) takes the pool.
    async fn check_async(
        self,
        state: &AppState,
        account: String,
    ) -> Result<(Caller, About), ApiError> {
        // A NUL in the path's id would fail the whole batch in PostgreSQL; the pool answers it.
        let batchable = !self.token.starts_with(PAT_PREFIX) && !account.contains('\0');
        if let (Some(pipeline), true) = (&state.pipeline, batchable) {
            let claims = jwt_claims(&state.keys, &self.token)?;
            let check = pipeline
                .credential(users::Check {
                    user_id: claims.sub.clone(),
                    jti: claims.jti.clone(),
                    session: claims.sid.clone().unwrap_or_default(),
                    account: account.clone(),
                })
                .await;
            if let Some(check) = check {
                let (mut caller, about) = jwt_caller(claims, check)?;
                caller.meta = self.meta.by(caller.id());
                return Ok((caller, about));
            }
        }
        let keys = state.keys.clone();
        state
            .db(move |conn| self.check_about(conn, &keys, &account))
            .await
    }

    fn check_about(
        self,
        conn: &mut DbConn,
        keys: &Keys,
        account: &str,
    ) -> Result<(Caller, About), ApiError> {
        let (mut caller, about) = check_credential_about(conn, keys, &self.token, account)?;
        caller.meta = self.meta.by(caller.id());
        Ok((caller, about))
    }
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Bearer::of(req))
    }
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("state missing"))?
        .clone();
    let (caller, _) = Bearer::of(&req)?.check_async(&state, String::new()).await?;
    Ok(caller)
}

/// Any credential: a personal access token or a JWT access token.
pub fn check_credential(conn: &mut DbConn, keys: &Keys, token: &str) -> Result<Caller, ApiError> {
    check_credential_about(conn, keys, token, "").map(|(caller, _)| caller)
}

fn check_credential_about(
    conn: &mut DbConn,
    keys: &Keys,
    token: &str,
    account: &str,
) -> Result<(Caller, About), ApiError> {
    if token.starts_with(PAT_PREFIX) {
        return check_pat_about(conn, token, account);
    }
    let claims = jwt_claims(keys, token)?;
    let check = users::for_credential(
        conn,
        &claims.sub,
        &claims.jti,
        claims.sid.as_deref().unwrap_or(""),
        account,
    )?;
    jwt_caller(claims, check)
}

fn jwt_claims(keys: &Keys, token: &str) -> Result<Claims, ApiError> {
    keys.verify(token)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
}

/// The caller of an access token, from its claims and what the credential statement found.
fn jwt_caller(claims: Claims, check: Option<CredentialCheck>) -> Result<(Caller, About), ApiError> {
    let (user, role, about) = judge(check, claims.ver)?;
    if user.account_id != claims.acc {
        return Err(ApiError::unauthorized("token revoked"));
    }
    let credential = Credential::Access {
        jti: claims.jti,
        exp: claims.exp,
        sid: claims.sid,
    };
    let meta = Meta::default().by(&user.id);
    let caller = Caller {
        user,
        role,
        credential,
        meta,
    };
    Ok((caller, about))
}

/// The caller of a request that may or may not carry credentials (the RPC endpoint).
pub async fn optional_caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    if bearer(req).is_none() && query_token(req).is_none() {
        return Ok(None);
    }
    authenticate(req.clone()).await.map(Some)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

macro_rules! role_guard {
    ($name:ident, $role:expr, $msg:literal) => {
        #[doc = concat!("A caller with at least the role named in: ", $msg)]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let caller = authenticate(req).await?;
                    if caller.role < $role {
                        return Err(ApiError::forbidden($msg));
                    }
                    Ok($name(caller))
                })
            }
        }
    };
}

role_guard!(Admin, Role::Admin, "this call requires the admin role");
role_guard!(Owner, Role::Owner, "this call requires the owner role");

//! Who is calling: the bearer credential, checked against the database on every request so that
//! removal, demotion, logout and password changes take effect at once on every instance.

use super::Role;
use crate::db::models::User;
use crate::db::{accounts, revoked, users};
use crate::error::ApiError;
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
    pub jti: String,
    pub exp: i64,
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

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("state missing"))?
        .clone();
    let token = bearer(&req).ok_or_else(|| ApiError::unauthorized("missing bearer credentials"))?;
    let claims = state
        .keys
        .verify(&token)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    state
        .db(move |conn| {
            let revoked_msg = || ApiError::unauthorized("token revoked");
            let user = users::find(conn, &claims.sub)?.ok_or_else(revoked_msg)?;
            if user.token_version != claims.ver
                || user.account_id != claims.acc
                || revoked::is_revoked(conn, &claims.jti)?
            {
                return Err(revoked_msg());
            }
            if accounts::blocked(conn, &user.account_id)? {
                return Err(ApiError::forbidden("account suspended"));
            }
            let role = Role::parse_assignable(&user.role)
                .ok_or_else(|| ApiError::internal("stored role invalid"))?;
            Ok(Caller {
                user,
                role,
                jti: claims.jti,
                exp: claims.exp,
            })
        })
        .await
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

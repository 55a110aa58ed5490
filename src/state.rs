//! What every handler shares: the pool, the settings, the keys and the hasher.

use crate::auth::jwt::Keys;
use crate::auth::password::Hasher;
use crate::config::Config;
use crate::db::{self, DbConn, DbPool};
use crate::error::{ApiError, ApiResult};
use crate::mail::Mailer;
use std::sync::Arc;

pub struct AppState {
    pub pool: DbPool,
    pub config: Config,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub mailer: Mailer,
    pub metrics: crate::metrics::Metrics,
    /// The workers' own connections for the credential check (none where only the pool works).
    pub pipeline: Option<db::pipelined::Pipeline>,
}

impl AppState {
    pub fn new(config: Config, pool: DbPool) -> Result<AppState, String> {
        let mailer = Mailer::new(
            config.smtp_url.as_deref(),
            &config.mail_from,
            config.mail_dir.clone(),
        )?;
        Ok(AppState {
            keys: Arc::new(Keys::new(&config.jwt_secret, config.access_token_ttl_secs)),
            hasher: Hasher::new(config.bcrypt_cost, config.hash_queue_limit),
            mailer,
            metrics: Default::default(),
            pipeline: db::pipelined::Pipeline::of(&config.database_url),
            pool,
            config,
        })
    }

    /// Run `f` with a pooled connection on the blocking pool (Diesel is synchronous).
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            let out = f(&mut conn);
            if matches!(out, Err(ApiError::Internal(_) | ApiError::Unavailable(_))) {
                conn.check_alive();
            }
            out
        })
        .await
        .map_err(ApiError::from)?
    }

    /// Like `db`, for a request about one account that its caller must be allowed to see
    /// (404 otherwise): the credential, the account and that right are one statement.
    pub async fn account_as<T, F>(
        &self,
        bearer: crate::auth::extractor::Bearer,
        id: String,
        f: F,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(
                &mut DbConn,
                crate::auth::extractor::Caller,
                crate::db::models::Account,
            ) -> ApiResult<T>
            + Send
            + 'static,
    {
        let keys = self.keys.clone();
        self.db(move |conn| {
            let (caller, account) = bearer.check_in_account(conn, &keys, &id)?;
            f(conn, caller, account)
        })
        .await
    }

    /// Like `db`, inside one write transaction: all of `f` lands, or none of it.
    pub async fn tx<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        self.db(move |conn| db::write_tx(conn, f)).await
    }
}

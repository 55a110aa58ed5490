//! What every use case shares: the database, the settings, the keys, the hasher and the mailer.

use crate::auth::jwt::Keys;
use crate::auth::password::Hasher;
use crate::config::Config;
use crate::db::{DbConn, DbPool, Store};
use crate::error::ApiResult;
use crate::mail::{Mail, Mailer};
use crate::metrics::Metrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct AppState {
    pub store: Store,
    pub config: Config,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub mailer: Mailer,
    pub metrics: Arc<Metrics>,
    /// Set when the instance is stopping: `/readyz` answers 503 and connections close after
    /// their answer, so a load balancer sends nothing new here.
    pub draining: AtomicBool,
    /// Wakes this instance's webhook deliverer (a ping or a retry is due now).
    pub wake_deliveries: tokio::sync::Notify,
}

impl AppState {
    pub fn new(config: Config, pool: DbPool) -> Result<AppState, String> {
        let keys = {
            let mut conn = pool.get().map_err(|e| format!("DATABASE_URL: {e}"))?;
            crate::auth::keys::load(&mut conn, &config)?
        };
        let mailer = Mailer::new(
            config.smtp_url.as_deref(),
            &config.mail_from,
            config.mail_dir.clone(),
        )?;
        let metrics = Arc::new(Metrics::default());
        Ok(AppState {
            keys: Arc::new(keys),
            hasher: Hasher::new(config.bcrypt_cost, config.hash_queue_limit, metrics.clone()),
            mailer,
            store: Store::new(&config.database_url, pool, metrics.clone()),
            metrics,
            draining: AtomicBool::new(false),
            wake_deliveries: tokio::sync::Notify::new(),
            config,
        })
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Run `f` with a pooled connection on the blocking threads (Diesel is synchronous).
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        self.store.run(f).await
    }

    /// Like `db`, inside one write transaction: all of `f` lands, or none of it.
    pub async fn tx<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        self.store.tx(f).await
    }

    /// Like `tx`, for a change that may mail someone: the mail goes out after the commit, never
    /// for a change that rolled back.
    pub async fn tx_then_mail<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<(T, Vec<Mail>)> + Send + 'static,
    {
        let (value, mails) = self.tx(f).await?;
        for m in mails {
            self.mailer.send(m);
        }
        Ok(value)
    }
}

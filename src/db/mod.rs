//! Storage: one connection type over both backends, the pool, migrations and transactions.
//!
//! Lookups of one row use `get_result`, never `first`: `first` binds its `LIMIT 1` as a
//! parameter, and recent SQLite versions plan with a bound LIMIT's value, so every execution
//! of such a statement parses and plans it again (a third of an authenticated read's time).

pub mod accounts;
pub mod audit;
pub mod cached;
pub mod clients;
pub mod codes;
pub mod deliveries;
pub mod devices;
pub mod events;
pub mod groups;
pub mod keys;
pub mod mfa;
pub mod models;
pub mod pats;
pub mod pipelined;
pub mod plans;
pub mod refresh;
pub mod revoked;
pub mod schema;
pub mod scim;
pub mod seat_tokens;
pub mod sessions;
pub mod throttle;
pub mod users;
pub mod webhooks;

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::Arc;
use std::time::Duration;

/// Every query is written once against this enum; Diesel checks it for both backends.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend type the derive made for `DbConn` (boxed queries and SQL fragments name it).
pub type Db = <DbConn as Connection>::Backend;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a request waits for a free connection before answering 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("sqlite://") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// What Diesel's establish() takes: a file path for SQLite, the URL itself for PostgreSQL.
fn connection_target(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// Builds the variant the URL names (the derive's own establish() would try PostgreSQL first
/// and then take any string as an SQLite path) and sets SQLite's pragmas on every connection.
#[derive(Debug)]
pub struct Manager {
    url: String,
}

fn connect(url: &str) -> Result<DbConn, diesel::ConnectionError> {
    let target = connection_target(url);
    match Backend::of(url) {
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(target)?;
            // SQLite's own lower() folds only ASCII; filters lowercase with Rust's Unicode rules.
            lower_utils::register_impl(&mut c, |s: String| s.to_lowercase())
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            )
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(DbConn::Sqlite(c))
        }
        Backend::Postgres => PgConnection::establish(target).map(DbConn::Pg),
    }
}

/// A pooled connection. The pool does not ping connections on checkout (on PostgreSQL that
/// would be one more round trip per request); a request that failed with a server error pings
/// its connection instead, and one that does not answer is dropped from the pool.
pub struct Pooled {
    conn: DbConn,
    broken: bool,
}

impl Pooled {
    /// After a failed request: keep the connection only if it still answers.
    pub fn check_alive(&mut self) {
        self.broken = self.broken || self.conn.batch_execute("SELECT 1").is_err();
    }
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let conn = connect(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.broken || conn.conn.is_broken()
    }
}

pub fn establish(url: &str) -> Result<DbConn, String> {
    connect(url).map_err(|e| {
        format!(
            "DATABASE_URL: cannot connect to {}: {e}",
            crate::config::redact_url(url)
        )
    })
}

pub fn build_pool(url: &str, size: u32) -> Result<DbPool, String> {
    let size = match Backend::of(url) {
        // One file, one writer at a time: a few connections serve reads in parallel; more
        // than two per core only add thread switches.
        Backend::Sqlite => size.min(2 * crate::config::cores() as u32).max(2),
        Backend::Postgres => size,
    };
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(POOL_TIMEOUT)
        .build(Manager {
            url: url.to_string(),
        })
        .map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))
}

/// Run pending migrations of the backend; several instances starting at once take turns.
pub fn migrate(url: &str) -> Result<usize, String> {
    let mut conn = establish(url)?;
    let applied = match &mut conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7220113)")
                .map_err(|e| e.to_string())?;
            let r = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
            let _ = c.batch_execute("SELECT pg_advisory_unlock(7220113)");
            r
        }
    };
    applied.map_err(|e| format!("migrations failed: {e}"))
}

/// A read-write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so the write lock is
/// taken up front (waiting up to busy_timeout) instead of failing when a read upgrades to a write.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

pub fn backend(conn: &DbConn) -> Backend {
    match conn {
        DbConn::Sqlite(_) => Backend::Sqlite,
        DbConn::Pg(_) => Backend::Postgres,
    }
}

/// Hold a named lock until the transaction ends, on PostgreSQL (decisions that span many rows,
/// like "is this the last owner?"); SQLite's `BEGIN IMMEDIATE` already runs writers one by one.
pub fn lock_named(conn: &mut DbConn, key: LockKey) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Pg(c) => c.batch_execute(&format!("SELECT pg_advisory_xact_lock({})", key as i64)),
        DbConn::Sqlite(_) => Ok(()),
    }
}

#[derive(Clone, Copy)]
pub enum LockKey {
    Owners = 7_220_114,
}

/// The database as the layers above use it: the pool, and the workers' own connections for
/// the credential check (none where only the pool works).
pub struct Store {
    pub pool: DbPool,
    pub pipeline: Option<pipelined::Pipeline>,
    metrics: Arc<Metrics>,
}

impl Store {
    pub fn new(url: &str, pool: DbPool, metrics: Arc<Metrics>) -> Store {
        Store {
            pool,
            pipeline: pipelined::Pipeline::of(url),
            metrics,
        }
    }

    /// Run `f` with a pooled connection on the worker's blocking threads (Diesel is
    /// synchronous).
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.try_get() {
                Some(conn) => Ok(conn),
                None => {
                    let started = std::time::Instant::now();
                    let conn = pool.get();
                    metrics.pool_wait(started.elapsed());
                    conn
                }
            };
            let out = conn.map_err(ApiError::from).and_then(|mut conn| {
                let out = f(&mut conn);
                if matches!(out, Err(ApiError::Internal(_) | ApiError::Unavailable(_))) {
                    conn.check_alive();
                }
                out
            });
            if matches!(out, Err(ApiError::Internal(_) | ApiError::Unavailable(_))) {
                metrics.db_error();
            }
            out
        })
        .await
        .map_err(|_| ApiError::internal("blocking task failed"))?
    }

    /// `/readyz`: one round trip on a pooled connection.
    pub async fn ping(&self) -> ApiResult<()> {
        self.run(|c| Ok(ping(c)?)).await
    }

    /// Like `run`, inside one write transaction: all of `f` lands, or none of it.
    pub async fn tx<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }
}

/// `/readyz`: one round trip.
pub fn ping(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    conn.batch_execute("SELECT 1")
}

//! Credential checks on each worker thread's own connection, instead of the r2d2 pool.
//!
//! Diesel's connections are synchronous: every statement on the pool moves the request to a
//! blocking thread and back, and at one statement per request that hand-off costs more CPU
//! than the statement itself. Here the check of every access token (`users::for_credential`,
//! which also reads the account a request is about) stays on the worker:
//!
//! - PostgreSQL: on the worker's own asynchronous connection (diesel-async, on tokio-postgres),
//!   in batches: while one batch is at PostgreSQL, the checks that arrive wait, and then go out
//!   together as one statement (`users::for_credentials`). An idle worker sends a check at
//!   once; a busy one waits at most one round trip, and its batches grow with its load. A
//!   connection that fails is dropped; the batch, and every check for the next few seconds,
//!   takes the pool instead, which answers 503 itself if PostgreSQL is down.
//! - SQLite: on the worker's own connection to the file, a batch (the checks that arrived
//!   while the worker was busy with other requests) in one read transaction: beginning and
//!   ending a read takes and drops locks on the WAL index, a third of a check done alone. In
//!   WAL mode a reader never waits for a writer, and the connection does not wait when the
//!   file is busy (`busy_timeout` 0): a batch that fails for any reason drops the connection
//!   and takes the pool.
//!
//! Everything else, every write included, stays on the r2d2 pool.

use super::users::{self, Check, CredentialCheck};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a worker takes the pool after its connection failed, before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

enum Slot {
    Empty,
    Ready(String, Rc<AsyncPgConnection>),
    Down(String, Instant),
}

/// The checks waiting for the next batch, and whether a batch is under way on this worker.
#[derive(Default)]
struct Batch {
    waiting: Vec<(Check, Reply)>,
    running: bool,
}

/// `None`: the batch could not be checked here; the request takes the pool.
type Reply = tokio::sync::oneshot::Sender<Option<Option<CredentialCheck>>>;

thread_local! {
    static BATCH: std::cell::RefCell<Batch> = std::cell::RefCell::default();
    // PostgreSQL: held across the connect (an async mutex), by the worker's one batch task.
    static SLOT: Rc<tokio::sync::Mutex<Slot>> = Rc::new(tokio::sync::Mutex::new(Slot::Empty));
    /// SQLite: this worker's connection, with the URL it was opened for.
    static SQLITE: std::cell::RefCell<Option<(String, super::DbConn)>> =
        const { std::cell::RefCell::new(None) };
    /// SQLite: when opening this worker's connection last failed.
    static SQLITE_DOWN: std::cell::RefCell<Backoff> = std::cell::RefCell::default();
}

/// When a worker's own connection that failed to open may be tried again (every
/// `RETRY_AFTER`), and whether a failure is news for the log (the first since it last worked).
#[derive(Default)]
struct Backoff {
    since: Option<Instant>,
    told: bool,
}

impl Backoff {
    fn may_try(&self, now: Instant) -> bool {
        self.since
            .is_none_or(|t| now.saturating_duration_since(t) >= RETRY_AFTER)
    }

    /// An attempt failed: true when the log should hear of it.
    fn failed(&mut self, now: Instant) -> bool {
        self.since = Some(now);
        !std::mem::replace(&mut self.told, true)
    }

    /// An attempt worked: true when it had been failing.
    fn worked(&mut self) -> bool {
        std::mem::take(self).told
    }
}

/// Where the workers' connections go.
pub struct Pipeline {
    url: String,
    backend: super::Backend,
}

impl Pipeline {
    /// One for SQLite and PostgreSQL, but none for a PostgreSQL URL that asks for TLS, which
    /// only libpq (the pool) speaks here.
    pub fn of(url: &str) -> Option<Pipeline> {
        let tls = [
            "sslmode=require",
            "sslmode=verify-ca",
            "sslmode=verify-full",
        ]
        .iter()
        .any(|m| url.contains(m));
        let backend = super::Backend::of(url);
        (backend == super::Backend::Sqlite || !tls).then(|| Pipeline {
            url: url.to_string(),
            backend,
        })
    }

    /// Check one credential (see `users::for_credential`) in the worker's next batch. `None`
    /// when it could not be checked here: the caller then checks it on the pool.
    pub async fn credential(&self, check: Check) -> Option<Option<CredentialCheck>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = BATCH.with_borrow_mut(|b| {
            b.waiting.push((check, tx));
            !std::mem::replace(&mut b.running, true)
        });
        if start {
            tokio::task::spawn_local(drain(self.url.clone(), self.backend));
        }
        rx.await.ok().flatten()
    }
}

/// This worker's connection, connecting it if need be; `None` while the last attempt to
/// connect failed recently.
async fn conn(url: &str) -> Option<Rc<AsyncPgConnection>> {
    let slot = SLOT.with(Rc::clone);
    let mut slot = slot.lock().await;
    match &*slot {
        Slot::Ready(u, c) if u == url => return Some(c.clone()),
        Slot::Down(u, at) if u == url && at.elapsed() < RETRY_AFTER => return None,
        _ => {}
    }
    match AsyncPgConnection::establish(url).await {
        Ok(c) => {
            let c = Rc::new(c);
            *slot = Slot::Ready(url.to_string(), c.clone());
            Some(c)
        }
        Err(e) => {
            log::warn!("pipelined PostgreSQL connection failed, using the pool: {e}");
            *slot = Slot::Down(url.to_string(), Instant::now());
            None
        }
    }
}

/// Check the waiting credentials, a batch at a time, until none wait.
async fn drain(url: String, backend: super::Backend) {
    loop {
        let batch = BATCH.with_borrow_mut(|b| {
            let batch = std::mem::take(&mut b.waiting);
            b.running = !batch.is_empty();
            batch
        });
        if batch.is_empty() {
            return;
        }
        let (checks, replies): (Vec<Check>, Vec<Reply>) = batch.into_iter().unzip();
        let answers = match backend {
            super::Backend::Postgres => postgres_batch(&url, &checks).await,
            super::Backend::Sqlite => sqlite_batch(&url, &checks),
        };
        match answers {
            Some(rows) => {
                for (reply, row) in replies.into_iter().zip(rows) {
                    let _ = reply.send(Some(row));
                }
            }
            None => {
                for reply in replies {
                    let _ = reply.send(None);
                }
            }
        }
    }
}

/// PostgreSQL: one statement for the batch, on this worker's connection.
async fn postgres_batch(url: &str, checks: &[Check]) -> Option<Vec<Option<CredentialCheck>>> {
    let conn = conn(url).await?;
    match users::for_credentials(&conn, checks).await {
        Ok(rows) => Some(rows),
        // PostgreSQL refused the statement: the connection itself is fine.
        Err(e @ diesel::result::Error::DatabaseError(..)) => {
            log::warn!("credential batch failed, checking it on the pool: {e}");
            None
        }
        Err(e) => {
            log::warn!("pipelined PostgreSQL connection failed, using the pool: {e}");
            let slot = SLOT.with(Rc::clone);
            let mut slot = slot.lock().await;
            if matches!(&*slot, Slot::Ready(_, c) if Rc::ptr_eq(c, &conn)) {
                *slot = Slot::Empty;
            }
            None
        }
    }
}

/// SQLite: open this worker's connection, unless the last attempt failed less than
/// `RETRY_AFTER` ago (a file that cannot be opened must not cost every batch a try). A failure
/// is logged once, until an open works again.
fn open_sqlite(url: &str) -> Option<super::DbConn> {
    use diesel::connection::SimpleConnection;
    let now = Instant::now();
    if !SQLITE_DOWN.with_borrow(|b| b.may_try(now)) {
        return None;
    }
    let opened = super::establish(url)
        .map_err(|e| e.to_string())
        .and_then(|mut c| {
            // Never sleep on the worker: a busy file sends the batch to the pool instead.
            c.batch_execute("PRAGMA busy_timeout = 0")
                .map(|_| c)
                .map_err(|e| e.to_string())
        });
    match opened {
        Ok(conn) => {
            if SQLITE_DOWN.with_borrow_mut(Backoff::worked) {
                log::info!("the worker's SQLite connection opened again");
            }
            Some(conn)
        }
        Err(e) => {
            if SQLITE_DOWN.with_borrow_mut(|b| b.failed(now)) {
                log::warn!(
                    "opening the worker's SQLite connection failed, using the pool and trying again every {} s: {e}",
                    RETRY_AFTER.as_secs()
                );
            }
            None
        }
    }
}

/// SQLite: the batch in one read transaction on this worker's connection. `None` when it
/// could not be checked here: the connection is then dropped.
fn sqlite_batch(url: &str, checks: &[Check]) -> Option<Vec<Option<CredentialCheck>>> {
    use diesel::Connection;
    SQLITE.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|(u, _)| u != url) {
            *slot = Some((url.to_string(), open_sqlite(url)?));
        }
        let (_, conn) = slot.as_mut()?;
        let found = conn.transaction(|conn| {
            checks
                .iter()
                .map(|c| users::for_credential(conn, c))
                .collect::<diesel::QueryResult<Vec<_>>>()
        });
        match found {
            Ok(found) => Some(found),
            Err(e) => {
                log::warn!("credential check on the worker's SQLite connection failed, using the pool: {e}");
                *slot = None;
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Backoff, RETRY_AFTER};
    use std::time::{Duration, Instant};

    #[test]
    fn a_failed_open_waits_before_the_next_try_and_is_told_once() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.may_try(t0));
        assert!(b.failed(t0), "the first failure is news");
        assert!(!b.may_try(t0 + Duration::from_secs(1)));
        assert!(b.may_try(t0 + RETRY_AFTER));
        assert!(!b.failed(t0 + RETRY_AFTER), "the second is not");
        assert!(!b.may_try(t0 + RETRY_AFTER + Duration::from_secs(4)));
        assert!(b.worked(), "it had been failing");
        assert!(b.may_try(t0 + RETRY_AFTER));
        assert!(!b.worked());
        assert!(b.failed(t0), "a new outage is news again");
    }
}

//! PostgreSQL reads on the hot path over one asynchronous connection per worker thread.
//!
//! Diesel's PostgreSQL connection is synchronous: every statement moves the request to a
//! blocking thread that sleeps on the socket, which costs more CPU than the statement itself.
//! Here the check of every access token goes out on the worker's own connection (diesel-async,
//! on tokio-postgres), and the statements of concurrent requests are pipelined on it: one
//! socket write and one PostgreSQL wake-up serve many of them. Everything else, all writes
//! included, stays on the r2d2 pool.
//!
//! A connection that fails is dropped; the request, and every other one for the next few
//! seconds, takes the pool instead, which answers 503 itself if PostgreSQL is down.

use diesel::QueryResult;
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

thread_local! {
    // An async mutex: the first request of a worker connects, the others wait for that
    // connection instead of each opening their own.
    static SLOT: Rc<tokio::sync::Mutex<Slot>> = Rc::new(tokio::sync::Mutex::new(Slot::Empty));
}

/// Where the workers' connections go.
pub struct Pipeline {
    url: String,
}

impl Pipeline {
    /// One for a PostgreSQL URL; none for SQLite, whose reads are in-process already, and none
    /// for a URL that asks for TLS, which only libpq (the pool) speaks here.
    pub fn of(url: &str) -> Option<Pipeline> {
        let tls = [
            "sslmode=require",
            "sslmode=verify-ca",
            "sslmode=verify-full",
        ]
        .iter()
        .any(|m| url.contains(m));
        (super::Backend::of(url) == super::Backend::Postgres && !tls).then(|| Pipeline {
            url: url.to_string(),
        })
    }

    /// This worker's connection, connecting it if need be; `None` while the last attempt to
    /// connect failed recently.
    async fn conn(&self) -> Option<Rc<AsyncPgConnection>> {
        let slot = SLOT.with(Rc::clone);
        let mut slot = slot.lock().await;
        match &*slot {
            Slot::Ready(url, c) if *url == self.url => return Some(c.clone()),
            Slot::Down(url, at) if *url == self.url && at.elapsed() < RETRY_AFTER => return None,
            _ => {}
        }
        match AsyncPgConnection::establish(&self.url).await {
            Ok(c) => {
                let c = Rc::new(c);
                *slot = Slot::Ready(self.url.clone(), c.clone());
                Some(c)
            }
            Err(e) => {
                log::warn!("pipelined PostgreSQL connection failed, using the pool: {e}");
                *slot = Slot::Down(self.url.clone(), Instant::now());
                None
            }
        }
    }

    /// Run `f` on this worker's connection. `None` when it could not: no connection, or `f`
    /// failed (the connection is then dropped, in case it is the cause); the caller then does
    /// the same work on the pool.
    pub async fn run<T>(
        &self,
        f: impl AsyncFnOnce(&AsyncPgConnection) -> QueryResult<T>,
    ) -> Option<T> {
        let conn = self.conn().await?;
        match f(&conn).await {
            Ok(v) => Some(v),
            Err(e) => {
                log::warn!("pipelined PostgreSQL read failed, using the pool: {e}");
                let slot = SLOT.with(Rc::clone);
                let mut slot = slot.lock().await;
                if matches!(&*slot, Slot::Ready(_, c) if Rc::ptr_eq(c, &conn)) {
                    *slot = Slot::Empty;
                }
                None
            }
        }
    }
}

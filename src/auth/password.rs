//! bcrypt, bounded: hashing runs on the blocking pool, at most one per core at a time,
//! and never while a database connection is held.
//!
//! Passwords longer than 72 bytes are refused here, never cut: bcrypt uses at most 72 bytes.
//! The crate's `non_truncating_*` functions also refuse exactly 72 (they count the C string
//! terminator), but bcrypt does use all 72 bytes of such a password, and the contract allows
//! 72; so the length is checked first and the plain functions only ever see what fits whole.

use crate::error::{ApiError, ApiResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Leaves the wait queue when dropped (also when the waiting request is cancelled).
struct WaitGuard<'a>(&'a AtomicUsize);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub const MIN_PASSWORD_BYTES: usize = 8;
/// bcrypt's limit: longer passwords are refused, never silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Hashes waiting for a core, and how many may wait before new ones are refused (503).
    waiting: Arc<AtomicUsize>,
    queue_limit: usize,
    /// Verified against when the user is unknown, so both failures take the same time.
    dummy_hash: Arc<String>,
}

impl Hasher {
    pub fn new(cost: u32, queue_limit: usize) -> Hasher {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let dummy_hash =
            bcrypt::hash("accountd-dummy-password", cost).expect("bcrypt cost is validated");
        Hasher {
            cost,
            permits: Arc::new(Semaphore::new(cores)),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue_limit,
            dummy_hash: Arc::new(dummy_hash),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        // A full queue answers at once rather than make callers wait for seconds. If the client
        // goes away while waiting, the request future is dropped and the hash never starts.
        let permit = match self.permits.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue_limit {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(ApiError::Unavailable(
                        "too many password checks at once, retry shortly".into(),
                    ));
                }
                let _leave = WaitGuard(&self.waiting);
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| ApiError::internal("hasher closed"))?
            }
        };
        let _permit = permit;
        Ok(actix_web::web::block(f).await?)
    }

    /// Hashes waiting for a core now (for the metrics).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(ApiError::invalid("password: must be at most 72 bytes"));
        }
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| ApiError::internal(format!("bcrypt: {e}")))
    }

    /// True when `password` matches `hash`; with no hash (unknown user, or no password set)
    /// the dummy hash is checked instead and the answer is false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let dummy = self.dummy_hash.clone();
        self.run(move || {
            let fits = password.len() <= MAX_PASSWORD_BYTES;
            match hash {
                Some(h) if fits => bcrypt::verify(password, &h).unwrap_or(false),
                // Unknown user, no password yet, or too long: the same work, and no.
                _ => {
                    let _ = bcrypt::verify(
                        &password.as_bytes()[..password.len().min(MAX_PASSWORD_BYTES)],
                        &dummy,
                    );
                    false
                }
            }
        })
        .await
    }
}

/// Hash synchronously (for the `bootstrap` command, outside the server).
pub fn hash_blocking(password: &str, cost: u32) -> Result<String, String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("password: must be at most 72 bytes".into());
    }
    bcrypt::hash(password, cost).map_err(|e| e.to_string())
}

/// Length rule shared by every route that takes a new password.
pub fn check_password(field: &str, password: &str, errors: &mut Vec<String>) {
    let n = password.len();
    if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&n) {
        errors.push(format!(
            "{field}: must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes"
        ));
    }
}

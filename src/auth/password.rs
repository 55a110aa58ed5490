//! bcrypt, bounded: hashing runs on its own threads, one per core, never on the blocking pool
//! that serves the database (so that pool can be sized to the connections) and never while a
//! database connection is held.
//!
//! Passwords longer than 72 bytes are refused here, never cut: bcrypt uses at most 72 bytes.
//! The crate's `non_truncating_*` functions also refuse exactly 72 (they count the C string
//! terminator), but bcrypt does use all 72 bytes of such a password, and the contract allows
//! 72; so the length is checked first and the plain functions only ever see what fits whole.

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// `n` threads that run hashing jobs; they end when the last sender is dropped.
fn hash_threads(n: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..n {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name("bcrypt".into())
            .spawn(move || {
                // Hashes yield to request handling (nice 10: about a tenth of a core when the
                // two compete): under a login flood reads stay fast and logins take longer.
                #[cfg(target_os = "linux")]
                // SAFETY: setpriority on the calling thread (who = 0) touches no memory.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                }
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job loses its answer (the caller gets a 500), not the thread.
                        Ok(job) => {
                            drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)))
                        }
                        Err(_) => return,
                    }
                }
            })
            .expect("cannot start the hashing threads");
    }
    tx
}

pub const MIN_PASSWORD_BYTES: usize = 8;
/// bcrypt's limit: longer passwords are refused, never silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    cores: usize,
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    /// Requests admitted to hash (running, waiting for a core, or about to ask for one), and
    /// how many may be admitted before new ones are refused (503): a core each plus the queue.
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    /// How long one hash takes here, in µs (a moving average of the hashes' own times): a
    /// request waits only when its turn comes within `WAIT_BUDGET`.
    hash_micros: Arc<AtomicU64>,
    /// Verified against when the user is unknown, so both failures take the same time.
    dummy_hash: Arc<String>,
    metrics: Arc<Metrics>,
}

impl Hasher {
    pub fn new(cost: u32, queue_limit: usize, metrics: Arc<Metrics>) -> Hasher {
        let cores = crate::config::cores();
        // Nothing slow before the server is ready: the first estimate of the hash time is a
        // hash at the lowest cost, scaled (each cost step doubles the work); the hashes then
        // measure themselves.
        let started = std::time::Instant::now();
        let _ = bcrypt::hash("accountd-hash-timing", 4);
        let at_cost_4 = started.elapsed().as_micros() as u64;
        let hash_micros = Arc::new(AtomicU64::new(at_cost_4 << cost.saturating_sub(4).min(27)));
        let dummy_hash = dummy_hash(cost);
        Hasher {
            cost,
            cores,
            permits: Arc::new(Semaphore::new(cores)),
            jobs: hash_threads(cores),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: cores + queue_limit,
            hash_micros,
            dummy_hash: Arc::new(dummy_hash),
            metrics,
        }
    }

    /// A place among the hashes, taken before any other work of a request that will hash (a
    /// login takes it before counting the attempt), so a refused request costs no database
    /// write. When every place is taken the answer is 503, after a short pause: clients that
    /// retry at once would otherwise turn the refusals into a flood that starves the hashes.
    pub async fn admit(&self) -> ApiResult<Ticket> {
        let place = self.admitted.fetch_add(1, Ordering::SeqCst);
        if place >= self.capacity || !self.done_in_time(place) {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            self.metrics.hash_refused();
            tokio::time::sleep(refusal_pause()).await;
            return Err(ApiError::Unavailable(
                "too many password checks at once, retry shortly".into(),
            ));
        }
        Ok(Ticket {
            hasher: self.clone(),
        })
    }

    /// Whether the hash at `place` (0: the first admitted) may wait its turn: it runs after
    /// `place / cores` rounds of hashes. One round may always wait (a core freed is taken at
    /// once, so a few clients keep every core busy); more only when they finish within
    /// `WAIT_BUDGET` at the measured hash time.
    fn done_in_time(&self, place: usize) -> bool {
        let rounds = (place / self.cores + 1) as u64;
        place < 2 * self.cores
            || rounds * self.hash_micros.load(Ordering::Relaxed) <= WAIT_BUDGET.as_micros() as u64
    }

    /// Hashes admitted beyond one per core: waiting for a core (for the metrics).
    pub fn queue_depth(&self) -> usize {
        self.admitted
            .load(Ordering::SeqCst)
            .saturating_sub(self.cores)
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.admit().await?.hash(password).await
    }

    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        self.admit().await?.verify(password, hash).await
    }
}

/// How long a refused request waits before its 503: 250 to 750 ms (under the 1 s a client
/// should wait), spread so that clients refused together do not all come back together and
/// find the queue full again, while cores go idle between their bursts.
fn refusal_pause() -> std::time::Duration {
    let spread = crate::secrets::random_u31() % 500;
    std::time::Duration::from_millis(250 + spread as u64)
}

/// The longest an admitted hash should take from admission to answer: the queue is as long
/// as this allows at the hash time measured here, and never longer than `HASH_QUEUE_LIMIT`.
const WAIT_BUDGET: std::time::Duration = std::time::Duration::from_millis(800);

/// An admitted hash; leaves its place when dropped (also when the request is cancelled while
/// it waits, so the hash never starts).
pub struct Ticket {
    hasher: Hasher,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.hasher.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticket {
    async fn run<T: Send + 'static>(self, f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let permit = self
            .hasher
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("hasher closed"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let jobs = self.hasher.jobs.clone();
        let job = move || {
            // The place and the core are held until the hash is done, even when the request
            // has gone meanwhile: released on cancel, they let hashes for abandoned requests
            // pile up behind the cores (clients timing out made every later login slower).
            let held = (self, permit);
            // A request that went away before its turn costs no hash.
            if tx.is_closed() {
                return;
            }
            let started = std::time::Instant::now();
            let out = f();
            // A moving average over about eight hashes: it follows the machine's load.
            let took = started.elapsed().as_micros() as u64;
            let _ = held.0.hasher.hash_micros.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |avg| Some((avg * 7 + took) / 8),
            );
            drop(tx.send(out))
        };
        jobs.send(Box::new(job))
            .map_err(|_| ApiError::internal("hasher closed"))?;
        rx.await.map_err(|_| ApiError::internal("hash job failed"))
    }

    pub async fn hash(self, password: String) -> ApiResult<String> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(ApiError::invalid("password: must be at most 72 bytes"));
        }
        let cost = self.hasher.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| ApiError::internal(format!("bcrypt: {e}")))
    }

    /// True when `password` matches `hash`; with no hash (unknown user, or no password set)
    /// the dummy hash is checked instead and the answer is false.
    pub async fn verify(self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let dummy = self.hasher.dummy_hash.clone();
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

/// A well-formed bcrypt hash at `cost` that no password matches, to verify against when there
/// is no user: the same work as a real check. Made without hashing (a hash at cost 4 with its
/// cost field rewritten; the check recomputes at `cost` and never matches), so it costs no
/// start-up time.
fn dummy_hash(cost: u32) -> String {
    const AT_COST_4: &str = "$2b$04$JjmKrgd4KLV.aXOv.e.gF.8j3lPtxUe7iq8TwfRXqfWOzYTnYyaDm";
    format!("$2b${cost:02}{}", &AT_COST_4[6..])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_hash_at_the_cost_that_nothing_matches() {
        for cost in [4, 5] {
            let dummy = dummy_hash(cost);
            let parts: bcrypt::HashParts = dummy.parse().expect("a well-formed hash");
            assert_eq!(parts.get_cost(), cost);
            assert!(!bcrypt::verify("accountd-dummy-password", &dummy).unwrap());
            assert!(!bcrypt::verify("", &dummy).unwrap());
        }
    }

    #[test]
    fn the_queue_is_as_long_as_the_hash_time_allows() {
        let mut h = Hasher::new(4, 100, Default::default());
        h.cores = 2;
        // 300 ms a hash: two running and one round waiting; a third round would end at 0.9 s.
        h.hash_micros.store(300_000, Ordering::Relaxed);
        assert!((0..4).all(|place| h.done_in_time(place)));
        assert!(!h.done_in_time(4));
        // 500 ms: one round may still wait, so a few clients keep both cores busy.
        h.hash_micros.store(500_000, Ordering::Relaxed);
        assert!(h.done_in_time(3) && !h.done_in_time(4));
        // 10 ms: 80 rounds fit in the budget.
        h.hash_micros.store(10_000, Ordering::Relaxed);
        assert!(h.done_in_time(159) && !h.done_in_time(160));
    }
}

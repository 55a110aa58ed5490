//! `GET /metrics` in the OpenMetrics text format, through the Prometheus project's own client
//! library (`prometheus-client`): requests by route and status, a latency histogram, logins by
//! outcome, lockouts, refused password checks, waits for and errors of the database, the
//! password-hash queue and the connection pool. Counted in memory, per instance.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histogram,
    logins: Family<OutcomeLabels, Counter>,
    lockouts: Counter,
    hashes_refused: Counter,
    pool_waits: Counter,
    pool_wait_seconds: Counter<f64, AtomicU64>,
    db_errors: Counter,
    hash_queue: Gauge,
    pool: Family<StateLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            registry: Registry::default(),
            requests: Default::default(),
            duration: Histogram::new(BUCKETS),
            logins: Default::default(),
            lockouts: Default::default(),
            hashes_refused: Default::default(),
            pool_waits: Default::default(),
            pool_wait_seconds: Default::default(),
            db_errors: Default::default(),
            hash_queue: Default::default(),
            pool: Default::default(),
        };
        let mut r = Registry::with_prefix("accountd");
        r.register(
            "http_requests",
            "HTTP requests by method, route and status",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            m.duration.clone(),
        );
        r.register(
            "logins",
            "Password logins by outcome: success, bad_credentials, refused (unverified or suspended), locked, busy, invalid, error",
            m.logins.clone(),
        );
        r.register(
            "login_lockouts",
            "Locks begun on an address, an identity at an address, or an identity",
            m.lockouts.clone(),
        );
        r.register(
            "hashes_refused",
            "Password checks refused (503) because the hash queue was full",
            m.hashes_refused.clone(),
        );
        r.register(
            "db_pool_waits",
            "Database checkouts that found no idle connection and waited",
            m.pool_waits.clone(),
        );
        r.register(
            "db_pool_wait_seconds",
            "Time spent waiting for a database connection",
            m.pool_wait_seconds.clone(),
        );
        r.register(
            "db_errors",
            "Database errors answered 500 or 503 (unreachable, pool timeouts, failures)",
            m.db_errors.clone(),
        );
        r.register(
            "hash_queue_depth",
            "Password checks waiting for a core",
            m.hash_queue.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections by state",
            m.pool.clone(),
        );
        Metrics { registry: r, ..m }
    }
}

/// The outcome label of a login's answer.
pub fn login_outcome<T>(answer: &Result<T, crate::error::ApiError>) -> &'static str {
    use crate::error::ApiError as E;
    match answer {
        Ok(_) => "success",
        Err(E::Unauthorized(_)) => "bad_credentials",
        Err(E::Forbidden(_)) => "refused",
        Err(E::TooManyRequests { .. }) => "locked",
        Err(E::Unavailable(_)) => "busy",
        Err(E::Invalid(_)) => "invalid",
        Err(_) => "error",
    }
}

impl Metrics {
    /// `route` is the matched pattern (`/v1/accounts/{id}`), never the concrete path, so ids
    /// do not become labels.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn lockout(&self) {
        self.lockouts.inc();
    }

    pub fn hash_refused(&self) {
        self.hashes_refused.inc();
    }

    /// A checkout that waited `took` for a connection.
    pub fn pool_wait(&self, took: Duration) {
        self.pool_waits.inc();
        self.pool_wait_seconds.inc_by(took.as_secs_f64());
    }

    pub fn db_error(&self) {
        self.db_errors.inc();
    }

    pub fn render(&self, hash_queue: usize, pool_connections: u32, pool_idle: u32) -> String {
        self.hash_queue.set(hash_queue as i64);
        let in_use = pool_connections.saturating_sub(pool_idle);
        for (state, n) in [("in_use", in_use), ("idle", pool_idle)] {
            self.pool
                .get_or_create(&StateLabels { state })
                .set(n as i64);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.observe("GET", "/v1/accounts/{id}", 200, Duration::from_millis(3));
        m.observe("GET", "/v1/accounts/{id}", 200, Duration::from_millis(30));
        m.login("locked");
        m.pool_wait(Duration::from_millis(250));
        let text = m.render(1, 5, 3);
        for line in [
            "accountd_http_requests_total{method=\"GET\",route=\"/v1/accounts/{id}\",status=\"200\"} 2",
            "accountd_http_request_duration_seconds_bucket{le=\"0.005\"} 1",
            "accountd_http_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "accountd_http_request_duration_seconds_count 2",
            "accountd_logins_total{outcome=\"locked\"} 1",
            "accountd_db_pool_waits_total 1",
            "accountd_db_pool_wait_seconds_total 0.25",
            "accountd_db_errors_total 0",
            "accountd_hash_queue_depth 1",
            "accountd_db_pool_connections{state=\"in_use\"} 2",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}

//! `GET /metrics` in Prometheus text format: requests by route and status, a latency
//! histogram, the password-hash queue and the connection pool. Counted in memory per
//! instance, with no crate: a few counters under one lock.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route pattern, status) -> count
    requests: BTreeMap<(String, String, u16), u64>,
    /// Cumulative counts per bucket, then +Inf.
    buckets: [u64; BUCKETS.len() + 1],
    sum_secs: f64,
    count: u64,
}

impl Metrics {
    /// `route` is the matched pattern (`/v1/accounts/{id}`), never the concrete path, so ids
    /// do not become labels.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                m.buckets[i] += 1;
            }
        }
        m.buckets[BUCKETS.len()] += 1;
        m.sum_secs += secs;
        m.count += 1;
    }

    pub fn render(&self, hash_queue: usize, pool_connections: u32, pool_idle: u32) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP accountd_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE accountd_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "accountd_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                route
            );
        }
        out.push_str("# HELP accountd_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE accountd_http_request_duration_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "accountd_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                m.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "accountd_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            m.buckets[BUCKETS.len()]
        );
        let _ = writeln!(
            out,
            "accountd_http_request_duration_seconds_sum {}",
            m.sum_secs
        );
        let _ = writeln!(
            out,
            "accountd_http_request_duration_seconds_count {}",
            m.count
        );
        out.push_str("# HELP accountd_hash_queue_depth Password checks waiting for a core.\n");
        out.push_str("# TYPE accountd_hash_queue_depth gauge\n");
        let _ = writeln!(out, "accountd_hash_queue_depth {hash_queue}");
        out.push_str("# HELP accountd_db_pool_connections Database connections by state.\n");
        out.push_str("# TYPE accountd_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "accountd_db_pool_connections{{state=\"in_use\"}} {}",
            pool_connections.saturating_sub(pool_idle)
        );
        let _ = writeln!(
            out,
            "accountd_db_pool_connections{{state=\"idle\"}} {pool_idle}"
        );
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
        let text = m.render(1, 5, 3);
        assert!(text.contains("accountd_http_requests_total{method=\"GET\",route=\"/v1/accounts/{id}\",status=\"200\"} 2"));
        assert!(text.contains("accountd_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("accountd_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("accountd_http_request_duration_seconds_count 2"));
        assert!(text.contains("accountd_hash_queue_depth 1"));
        assert!(text.contains("accountd_db_pool_connections{state=\"in_use\"} 2"));
    }
}

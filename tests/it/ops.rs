use crate::common::TestServer;
use serde_json::json;
use std::collections::BTreeSet;

#[test]
fn health_ready_and_the_spec_are_served_with_request_ids() {
    let s = TestServer::start();
    let r = s.call("GET", "/healthz", None, None).expect(200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.header("x-request-id").map(str::len), Some(32));
    s.call("GET", "/readyz", None, None).expect(200);
    let spec = s.call("GET", "/openapi.yaml", None, None).expect(200);
    assert_eq!(spec.body.as_str(), Some(accountd::api::ops::OPENAPI_YAML));
    assert_eq!(
        spec.body.as_str(),
        Some(std::fs::read_to_string("openapi.yaml").unwrap().as_str())
    );
}

#[test]
fn unknown_routes_and_methods_answer_json_errors() {
    let s = TestServer::start();
    let r = s.call("GET", "/no/such/route", None, None).expect(404);
    assert!(r.body["error"].is_string());
    assert!(r.header("x-request-id").is_some());
    let r = s.call("GET", "/user/login", None, None).expect(405);
    assert!(r.body["error"].is_string());
}

/// `openapi.yaml` is generated from the code; the committed file must be that output.
#[test]
fn committed_openapi_yaml_is_the_document_generated_from_the_code() {
    let committed = std::fs::read_to_string("openapi.yaml").unwrap();
    let generated = accountd::openapi::yaml();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "openapi.yaml differs from the generated document (first at line {line}); \
             regenerate it with `cargo run -- openapi > openapi.yaml` and commit it"
        );
    }
}

/// The committed spec and the routes the server registers must name the same operations.
#[test]
fn openapi_spec_matches_the_registered_routes() {
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string("openapi.yaml").unwrap()).unwrap();
    let mut in_spec = BTreeSet::new();
    for (path, ops) in spec["paths"].as_mapping().expect("paths") {
        for (method, _) in ops.as_mapping().unwrap() {
            let m = method.as_str().unwrap();
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                in_spec.insert((m.to_uppercase(), path.as_str().unwrap().to_string()));
            }
        }
    }
    let served: BTreeSet<_> = accountd::api::route_table().into_iter().collect();
    let missing: Vec<_> = served.difference(&in_spec).collect();
    let extra: Vec<_> = in_spec.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in openapi.yaml: {missing:?}; not served: {extra:?}"
    );
}

#[test]
fn cors_answers_the_configured_dashboards_only() {
    let s = TestServer::start_with(&[(
        "CORS_ORIGINS",
        "https://dash.example.com, https://admin.example.com",
    )]);
    let preflight = |origin: &str, headers: &str| {
        s.send(
            "OPTIONS",
            "/v1/accounts",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", headers),
            ],
            None,
        )
    };
    let ok = preflight("https://dash.example.com", "authorization, x-request-id").expect(200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://dash.example.com")
    );
    // A dashboard may send its own request id.
    let allowed = ok.header("access-control-allow-headers").unwrap();
    assert!(allowed.contains("x-request-id"), "{allowed}");
    // A refused preflight is the contract's JSON error, and allows nothing.
    for refused in [
        preflight("https://evil.example.com", "authorization"),
        preflight("https://dash.example.com", "x-evil"),
    ] {
        let r = refused.expect(403);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.body["error"].as_str().unwrap().starts_with("CORS: "));
        assert!(r.header("x-request-id").is_some());
        assert!(r.header("access-control-allow-origin").is_none());
    }
    // A real request from a dashboard gets the headers; one from elsewhere, or without Origin,
    // gets no CORS header at all.
    let from = |origin: Option<&str>| {
        let headers: Vec<_> = origin.map(|o| ("Origin", o)).into_iter().collect();
        let r = s.send("GET", "/healthz", &headers, None).expect(200);
        let mut cors: Vec<String> = r
            .headers
            .into_iter()
            .filter(|(k, _)| k.starts_with("access-control-"))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        cors.sort();
        cors
    };
    let dash = from(Some("https://admin.example.com"));
    assert!(
        dash.contains(&"access-control-allow-origin: https://admin.example.com".into()),
        "{dash:?}"
    );
    assert!(
        dash.iter()
            .any(|h| h.starts_with("access-control-expose-headers") && h.contains("x-request-id")),
        "{dash:?}"
    );
    assert_eq!(from(Some("https://evil.example.com")), Vec::<String>::new());
    assert_eq!(from(None), Vec::<String>::new());
}

#[test]
fn a_valid_request_id_from_the_caller_is_used() {
    let s = TestServer::start();
    let with = |rid: &str| {
        s.send("GET", "/healthz", &[("X-Request-Id", rid)], None)
            .expect(200)
            .header("x-request-id")
            .unwrap()
            .to_string()
    };
    assert_eq!(with("dash.list-users_7"), "dash.list-users_7");
    let max = "a".repeat(64);
    assert_eq!(with(&max), max);
    // Too long, or with characters that could forge a log line: a fresh id instead.
    for bad in ["a".repeat(65), "x y".into(), "a\\tb".into(), "ü".into()] {
        let got = with(&bad);
        assert_ne!(got, bad);
        assert_eq!(got.len(), 32, "{got}");
    }
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    let s = TestServer::start();
    s.get("/v1/accounts", &s.owner_token).expect(200);
    s.get("/v1/accounts/nope", &s.owner_token).expect(404);
    let r = s.call("GET", "/metrics", None, None).expect(200);
    let text = r.body.as_str().unwrap();
    assert!(
        text.contains(
            "accountd_http_requests_total{method=\"GET\",route=\"/v1/accounts\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("accountd_http_requests_total{method=\"GET\",route=\"/v1/accounts/{id}\",status=\"404\"} 1"), "{text}");
    assert!(text.contains("accountd_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(text.contains("accountd_hash_queue_depth 0"));
    assert!(text.contains("accountd_db_pool_connections{state=\"idle\"}"));
}

#[test]
fn connections_the_database_dropped_leave_the_pool_after_one_failed_request() {
    use diesel::connection::SimpleConnection;
    let s = TestServer::start();
    let me = s
        .post("/user/get", &s.owner_token, serde_json::json!({}))
        .expect(200);
    let account = format!("/v1/accounts/{}", me.body["accountId"].as_str().unwrap());
    // Warm several pooled connections, then (on PostgreSQL) end them all from the server side,
    // as a database restart or an idle-connection reaper would.
    for _ in 0..6 {
        s.get(&account, &s.owner_token).expect(200);
    }
    let mut conn = s.db.conn();
    if let accountd::db::DbConn::Pg(_) = conn {
        conn.batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap();
    }
    // The pool holds at most 6 connections (the test setting): each dead one costs one 503.
    // The workers' pipelined connections died too: a read that finds its worker's connection
    // dead takes the pool, and the worker connects again for the next one.
    let statuses: Vec<u16> = (0..12)
        .map(|_| s.get(&account, &s.owner_token).status)
        .collect();
    assert!(
        statuses.iter().all(|&c| c == 200 || c == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|&&c| c == 503).count() <= 6,
        "{statuses:?}"
    );
    assert!(statuses[6..].iter().all(|&c| c == 200), "{statuses:?}");
    let failed = statuses.iter().filter(|&&c| c == 503).count();
    let errors = metric(&s, "accountd_db_errors_total");
    assert_eq!(errors, failed as f64, "{statuses:?}");
}

/// One sample of `/metrics`, 0 when absent.
fn metric(s: &TestServer, sample: &str) -> f64 {
    let r = s.call("GET", "/metrics", None, None).expect(200);
    r.body
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_logins_lockouts_and_pool_waits() {
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "3")]);
    let (_, admin) = s.user(&s.account("Metered").0, "admin");
    let email = s.post("/user/get", &admin, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        s.try_login(&email, "wrong-password").expect(401);
    }
    s.try_login(&email, "wrong-password").expect(429);
    s.try_login("nobody@example.com", "whatever-pw").expect(401);
    let r = s.call("GET", "/metrics", None, None).expect(200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.body.as_str().unwrap().ends_with("# EOF\n"));
    let logins = |outcome: &str| {
        metric(
            &s,
            &format!("accountd_logins_total{{outcome=\"{outcome}\"}}"),
        )
    };
    // The owner's and the admin's logins at the start (TestServer::user logs the user in).
    assert_eq!(logins("success"), 2.0);
    assert_eq!(logins("bad_credentials"), 4.0);
    assert_eq!(logins("locked"), 1.0);
    // The identity at this address locked (the admin logged in from it before, so the
    // identity itself is not locked from here).
    assert_eq!(metric(&s, "accountd_login_lockouts_total"), 1.0);
    assert_eq!(metric(&s, "accountd_hashes_refused_total"), 0.0);
    // Every pooled connection taken: a request waits for one, and the wait is counted.
    let pool = &s.state.store.pool;
    let held: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| s.post("/user/find", &admin, json!({})).status);
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(held);
        assert_eq!(waiting.join().unwrap(), 200);
    });
    assert!(metric(&s, "accountd_db_pool_waits_total") >= 1.0);
    assert!(metric(&s, "accountd_db_pool_wait_seconds_total") >= 0.15);
}

#[test]
fn every_route_refuses_query_parameters_it_does_not_know() {
    let s = TestServer::start();
    let t = &s.owner_token;
    // Once ignored: `/user/find?limit=1` answered every user.
    let r = s.post("/user/find?limit=1", t, json!({})).expect(400);
    assert_eq!(r.errors(), ["limit: unknown query parameter"]);
    let me = s.post("/user/get", t, json!({})).expect(200).body;
    let account = me["accountId"].as_str().unwrap();
    s.get(&format!("/v1/accounts/{account}?x=1"), t).expect(400);
    s.call("POST", "/v1/register?x=1", None, Some(json!({})))
        .expect(400);
    let r = s.call(
        "POST",
        "/v1/auth/token?x=1",
        None,
        Some(json!({"grant_type": "password"})),
    );
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let frame = json!({"v": 2, "method": "/v1/Account.Login", "args": {}});
    let r = s.call("POST", "/rpc?x=1", None, Some(frame)).expect(400);
    assert_eq!(r.body["error"]["message"], "x: unknown query parameter");
    // A personal access token in the query is a credential, not a parameter.
    let pat = s
        .post("/v1/tokens", t, json!({"description": "q"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.call(
        "POST",
        &format!("/user/get?access_token={pat}"),
        None,
        Some(json!({})),
    )
    .expect(200);
}

#[test]
fn head_answers_every_get_route_with_headers_and_no_body() {
    let s = TestServer::start();
    // Once 405.
    let r = s.call("HEAD", "/healthz", None, None).expect(200);
    assert_eq!(r.body, serde_json::Value::Null);
    assert!(r.header("x-request-id").is_some());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let me = s
        .post("/user/get", &s.owner_token, json!({}))
        .expect(200)
        .body;
    let account = me["accountId"].as_str().unwrap();
    s.call(
        "HEAD",
        &format!("/v1/accounts/{account}"),
        Some(&s.owner_token),
        None,
    )
    .expect(200);
    s.call("HEAD", &format!("/v1/accounts/{account}"), None, None)
        .expect(401);
    // Not a GET route: still 405.
    s.call("HEAD", "/user/login", None, None).expect(405);
}

#[test]
fn oversized_request_headers_answer_the_json_431() {
    let s = TestServer::start();
    let big = "x".repeat(64 * 1024);
    let r = s.send("GET", "/healthz", &[("X-Padding", &big)], None);
    let r = r.expect(431);
    assert_eq!(r.body["error"], "request headers too large");
    assert!(r.header("x-request-id").is_some());
    // Many small headers add up the same way.
    let small = "y".repeat(1000);
    let many: Vec<(String, &str)> = (0..40)
        .map(|i| (format!("x-pad-{i}"), small.as_str()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    s.send("GET", "/healthz", &many, None).expect(431);
    // Ordinary heads pass.
    let fine = "z".repeat(8 * 1024);
    s.send("GET", "/healthz", &[("X-Padding", &fine)], None)
        .expect(200);
}

/// One HTTP/1.1 request on an open connection, and the head of its answer.
fn exchange(conn: &mut std::net::TcpStream, path: &str) -> String {
    use std::io::{Read, Write};
    write!(conn, "GET {path} HTTP/1.1\r\nHost: accountd\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "closed before an answer");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).to_lowercase()
}

#[test]
fn sigterm_stops_accepting_answers_not_ready_and_finishes_what_is_in_flight() {
    use std::time::{Duration, Instant};
    let db = crate::common::TestDb::new();
    // Cost 15: a login (about two seconds: an unknown user costs a full check too) is still in
    // flight when the listener closes, a second after the signal.
    let mut p = crate::common::Process::start(
        &db.url,
        &[
            ("BCRYPT_COST", "15"),
            ("SHUTDOWN_GRACE_SECS", "20"),
            ("SHUTDOWN_DELAY_SECS", "1"),
        ],
    );
    let addr = p.base.trim_start_matches("http://").to_string();
    let base = p.base.clone();
    let in_flight = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .post(format!("{base}/user/login"))
            .send_json(json!({"email": "owner@drain.test", "password": "drain-password"}))
            .map(|r| (r.status().as_u16(), Instant::now()))
    });
    std::thread::sleep(Duration::from_millis(150));
    let signalled = Instant::now();
    assert_eq!(unsafe { libc::kill(p.child.id() as i32, libc::SIGTERM) }, 0);
    std::thread::sleep(Duration::from_millis(100));
    // During the delay: still accepting, not ready, and every connection closes after its answer.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let answer = exchange(&mut conn, "/readyz");
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let answer = exchange(
        &mut std::net::TcpStream::connect(&addr).unwrap(),
        "/healthz",
    );
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    // Then new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let closed = Instant::now();
    assert!(closed - signalled >= Duration::from_millis(900));
    // The login that was in flight is answered, then the process exits on its own.
    let (status, answered) = in_flight.join().unwrap().unwrap();
    assert_eq!(status, 401);
    assert!(
        answered > closed,
        "the login was not in flight when the listener closed"
    );
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(
        p.log().contains("stopping: no new connections"),
        "{}",
        p.log()
    );
}

/// Refused logins under a flood (503: the hash queue is full) are logged as a rate, one WARN
/// line with a count, never an ERROR line each; `/metrics` counts every one (issue 21).
#[test]
fn refusals_under_a_flood_are_logged_as_a_count() {
    let s = TestServer::start();
    let p = crate::common::Process::start(
        &s.db.url,
        &[
            ("BCRYPT_COST", "11"),
            ("HASH_QUEUE_LIMIT", "0"),
            ("LOGIN_IP_MAX_FAILURES", "1000"),
        ],
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..16)
            .map(|i| {
                let (agent, base) = (&agent, &p.base);
                scope.spawn(move || {
                    agent
                        .post(format!("{base}/user/login"))
                        .send_json(
                            json!({"email": format!("f{i}@example.com"), "password": "nope nope"}),
                        )
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused = statuses.iter().filter(|c| **c == 503).count();
    assert!(refused >= 2, "{statuses:?}");
    let log = p.log();
    assert!(!log.contains("ERROR"), "{log}");
    let lines = log.lines().filter(|l| l.contains("answered 503")).count();
    assert_eq!(lines, 1, "{log}");
    let metrics = agent
        .get(format!("{}/metrics", p.base))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let counted: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("accountd_http_requests_total") && l.contains("status=\"503\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(counted as usize, refused, "{metrics}");
}

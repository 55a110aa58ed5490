//! Webhook subscriptions: scoped like everything else, secrets shown once, URLs checked.

use crate::common::TestServer;
use serde_json::json;

#[test]
fn subscriptions_are_scoped_checked_and_their_secrets_shown_once() {
    let s = TestServer::start_with(&[("WEBHOOK_ALLOW_PRIVATE", "1")]);
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (other, _) = s.account("Other");
    let (_, stranger) = s.user(&other, "admin");
    let made = s
        .post(
            "/v1/webhooks",
            &admin,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["user.*", "account.created"]}),
        )
        .expect(201)
        .body;
    let id = made["id"].as_str().unwrap().to_string();
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(made["accountId"], json!(acc));
    let got = s
        .get(&format!("/v1/webhooks/{id}"), &admin)
        .expect(200)
        .body;
    assert!(got.get("secret").is_none());
    s.get(&format!("/v1/webhooks/{id}"), &stranger).expect(404);
    assert_eq!(
        s.get("/v1/webhooks", &stranger).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.get("/v1/webhooks", &admin).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let changed = s
        .put(
            &format!("/v1/webhooks/{id}"),
            &admin,
            json!({"enabled": false, "events": ["*"]}),
        )
        .expect(200)
        .body;
    assert_eq!(
        (changed["enabled"].clone(), changed["events"].clone()),
        (json!(false), json!(["*"]))
    );
    let rotated = s
        .post(&format!("/v1/webhooks/{id}/secret"), &admin, json!({}))
        .expect(200)
        .body;
    assert_ne!(rotated["secret"], made["secret"]);
    // Refused: bad patterns, bad URLs, another tree's account.
    for body in [
        json!({"url": "ftp://127.0.0.1/", "events": ["*"]}),
        json!({"url": "http://127.0.0.1:9/", "events": ["Nope"]}),
        json!({"url": "http://127.0.0.1:9/", "events": []}),
    ] {
        s.post("/v1/webhooks", &admin, body).expect(400);
    }
    s.post(
        "/v1/webhooks",
        &admin,
        json!({"url": "http://127.0.0.1:9/", "events": ["*"], "accountId": other}),
    )
    .expect(404);
    s.delete(&format!("/v1/webhooks/{id}"), &stranger)
        .expect(404);
    s.delete(&format!("/v1/webhooks/{id}"), &admin).expect(204);
    let events = crate::events::eventually(&s, "/v1/events?type=webhook.created", |e| {
        e["data"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
}

#[test]
fn private_addresses_are_refused_unless_allowed() {
    let s = TestServer::start();
    let r = s
        .post(
            "/v1/webhooks",
            &s.owner_token,
            json!({"url": "http://169.254.169.254/latest", "events": ["*"]}),
        )
        .expect(400);
    assert!(r.errors()[0].starts_with("url:"), "{:?}", r.errors());
    s.post(
        "/v1/webhooks",
        &s.owner_token,
        json!({"url": "http://localhost:9/", "events": ["*"]}),
    )
    .expect(400);
}

/// Due deliveries are claimed by one claimer each, however many claim at once (on
/// PostgreSQL with `FOR UPDATE SKIP LOCKED`), and a claim is a lease that ends.
#[test]
fn each_due_delivery_is_claimed_once() {
    use accountd::db::deliveries::{self, DeliveryRow};
    let s = TestServer::start_with(&[("WEBHOOK_ALLOW_PRIVATE", "1"), ("WEBHOOK_DELIVERY", "0")]);
    let hook = s
        .post(
            "/v1/webhooks",
            &s.owner_token,
            json!({"url": "http://127.0.0.1:9/", "events": ["*"]}),
        )
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut conn = s.db.conn();
    for i in 0..40 {
        let row = DeliveryRow {
            id: format!("d{i}"),
            webhook_id: hook.clone(),
            event_id: format!("evt{i}"),
            event_type: "test.event".into(),
            status: "pending".into(),
            attempts: 0,
            last_status: None,
            last_error: None,
            next_attempt_at: Some(i),
            payload: None,
            created: i,
        };
        assert!(deliveries::insert(&mut conn, &row).unwrap());
        assert!(
            !deliveries::insert(&mut conn, &row).unwrap(),
            "one per event"
        );
    }
    let claimed: Vec<String> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let db = &s.db;
                scope.spawn(move || {
                    let mut c = db.conn();
                    let mut mine = Vec::new();
                    loop {
                        // A write transaction, as the server takes (on SQLite: BEGIN IMMEDIATE).
                        let got = accountd::db::write_tx(&mut c, |c| {
                            deliveries::claim_due(c, 1_000, 10_000, 3)
                        })
                        .unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let unique: std::collections::HashSet<&String> = claimed.iter().collect();
    assert_eq!((claimed.len(), unique.len()), (40, 40), "{claimed:?}");
    // Leased: not due again until the lease ends; then due again.
    assert!(deliveries::claim_due(&mut conn, 5_000, 20_000, 100)
        .unwrap()
        .is_empty());
    assert_eq!(
        deliveries::claim_due(&mut conn, 10_000, 20_000, 100)
            .unwrap()
            .len(),
        40
    );
}

/// The dispatcher makes one delivery per subscription that takes an event (its types, its
/// tree, since it was made), and moves past what it dispatched.
#[test]
fn the_dispatcher_makes_a_delivery_per_taking_subscription() {
    use accountd::db::deliveries;
    let s = TestServer::start_with(&[("WEBHOOK_ALLOW_PRIVATE", "1"), ("WEBHOOK_DELIVERY", "0")]);
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (_, admin) = s.user(&acc, "admin");
    let hook = |events: serde_json::Value| {
        s.post(
            "/v1/webhooks",
            &admin,
            json!({"url": "http://127.0.0.1:9/", "events": events}),
        )
        .expect(201)
        .body["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let users = hook(json!(["user.*"]));
    let accounts = hook(json!(["account.created"]));
    let mut conn = s.db.conn();
    let dispatch = |c: &mut accountd::db::DbConn| {
        accountd::db::write_tx(c, |c| accountd::service::webhooks::dispatch(c, 1000)).unwrap()
    };
    // What happened before the subscriptions is not theirs.
    assert_eq!(dispatch(&mut conn), 0);
    s.user(&acc, "user");
    s.user(&other, "user");
    s.child(&acc, "Branch", 0);
    // On PostgreSQL events reach the dispatcher once every older transaction in the cluster
    // has ended (other tests' too): wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut made = 0;
    while made < 2 && std::time::Instant::now() < deadline {
        made += dispatch(&mut conn);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(made, 2, "one user.created, one account.created");
    assert_eq!(dispatch(&mut conn), 0, "the place moved past them");
    let due = deliveries::claim_due(&mut conn, i64::MAX, i64::MAX, 100).unwrap();
    let by = |hook: &str| due.iter().filter(|d| d.webhook_id == hook).count();
    assert_eq!((by(&users), by(&accounts)), (1, 1));
}

/// Whether one of the `webhook-signature` entries is the Standard Webhooks signature of what
/// was received under `secret`.
fn signed_by(r: &crate::common::Received, secret: &str) -> bool {
    let key = accountd::secrets::webhook_key(secret).unwrap();
    let id = &r.headers["webhook-id"];
    let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
    let want = accountd::secrets::sign_webhook(&key, id, ts, &r.body);
    r.headers["webhook-signature"].split(' ').any(|s| s == want)
}

fn body(r: &crate::common::Received) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

fn subscribe(
    s: &TestServer,
    token: &str,
    url: &str,
    events: serde_json::Value,
) -> (String, String) {
    let made = s
        .post("/v1/webhooks", token, json!({"url": url, "events": events}))
        .expect(201)
        .body;
    (
        made["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    )
}

/// A change reaches the receiver signed, with the event as its body; a failed attempt comes
/// again with the same `webhook-id`; the log shows both; a rotation signs with both secrets;
/// ping and retry deliver at once.
#[test]
fn deliveries_are_signed_retried_and_logged() {
    let s = TestServer::start_with(&[
        ("WEBHOOK_ALLOW_PRIVATE", "1"),
        ("WEBHOOK_TIMEOUT_SECS", "2"),
    ]);
    let rx = crate::common::Receiver::start();
    rx.answers.lock().unwrap().push_back(500);
    let (hook, secret) = subscribe(&s, &s.owner_token, &rx.url, json!(["account.*"]));
    let (acc, _) = s.account("Acme");
    let got = rx.wait(40, |g| g.len() >= 2);
    assert_eq!(got.len(), 2, "a failure, then the retry: {got:?}");
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    for r in &got {
        assert!(signed_by(r, &secret), "{r:?}");
        assert_eq!(r.headers["content-type"], "application/json");
        let e = body(r);
        assert_eq!(
            (e["type"].as_str(), e["data"]["id"].as_str()),
            (Some("account.created"), Some(acc.as_str()))
        );
        assert_eq!(e["id"].as_str(), Some(r.headers["webhook-id"].as_str()));
        assert!(e["data"].get("password").is_none());
    }
    // The second attempt's outcome is recorded just after the receiver answers.
    let log = crate::events::eventually(&s, &format!("/v1/webhooks/{hook}/deliveries"), |l| {
        l["data"][0]["status"] == "succeeded"
    });
    let d = &log["data"][0];
    assert_eq!(
        (
            d["status"].as_str(),
            d["attempts"].as_i64(),
            d["lastStatus"].as_i64()
        ),
        (Some("succeeded"), Some(2), Some(200)),
        "{log}"
    );
    assert_eq!(d["nextAttemptAt"], serde_json::Value::Null);
    let delivery = d["id"].as_str().unwrap().to_string();
    // Rotation: both secrets sign while the old one lives.
    let new = s
        .post(
            &format!("/v1/webhooks/{hook}/secret"),
            &s.owner_token,
            json!({}),
        )
        .expect(200)
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    s.put(
        &format!("/v1/accounts/{acc}"),
        &s.owner_token,
        json!({"name": "Acme 2"}),
    )
    .expect(200);
    let got = rx.wait(20, |g| g.len() >= 3);
    let third = &got[2];
    assert_eq!(body(third)["type"], "account.updated");
    assert!(
        signed_by(third, &secret) && signed_by(third, &new),
        "{third:?}"
    );
    // Retry sends the same event again now; ping sends its own.
    s.post(
        &format!("/v1/webhooks/{hook}/deliveries/{delivery}/retry"),
        &s.owner_token,
        json!({}),
    )
    .expect(202);
    let ping = s
        .post(
            &format!("/v1/webhooks/{hook}/ping"),
            &s.owner_token,
            json!({}),
        )
        .expect(202)
        .body;
    assert_eq!(ping["eventType"], "webhook.ping");
    let got = rx.wait(20, |g| g.len() >= 5);
    assert_eq!(got.len(), 5, "{got:?}");
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    assert_eq!(ids.iter().filter(|i| **i == ids[0]).count(), 3, "{ids:?}");
    let pinged = got
        .iter()
        .find(|r| body(r)["type"] == "webhook.ping")
        .unwrap();
    assert_eq!(body(pinged)["data"]["webhookId"], json!(hook));
    assert!(signed_by(pinged, &new));
    // Another tree cannot see the log or retry.
    let (other, _) = s.account("Other");
    let (_, stranger) = s.user(&other, "admin");
    s.get(&format!("/v1/webhooks/{hook}/deliveries"), &stranger)
        .expect(404);
    s.post(&format!("/v1/webhooks/{hook}/ping"), &stranger, json!({}))
        .expect(404);
    s.post(
        &format!("/v1/webhooks/{hook}/deliveries/{delivery}/retry"),
        &stranger,
        json!({}),
    )
    .expect(404);
    s.post(
        &format!("/v1/webhooks/{hook}/deliveries/dlv_nope/retry"),
        &s.owner_token,
        json!({}),
    )
    .expect(404);
}

/// Each delivery checks its address again: a subscription that reaches a private address
/// (here written straight into the database) is never sent to, by literal address or by name.
#[test]
fn deliveries_to_private_addresses_are_refused() {
    use diesel::prelude::*;
    let s = TestServer::start_with(&[("WEBHOOK_TIMEOUT_SECS", "2")]);
    let rx = crate::common::Receiver::start();
    let public = "http://93.184.216.34:9/hook";
    let (hook, _) = subscribe(&s, &s.owner_token, public, json!(["account.created"]));
    let (named, _) = subscribe(&s, &s.owner_token, public, json!(["account.created"]));
    let port = rx.url.rsplit(':').next().unwrap().to_string();
    let mut c = s.db.conn();
    for (id, url) in [
        (&hook, rx.url.clone()),
        (&named, format!("http://localhost:{port}")),
    ] {
        diesel::sql_query(format!(
            "UPDATE webhooks SET url = '{url}' WHERE id = '{id}'"
        ))
        .execute(&mut c)
        .unwrap();
    }
    s.account("Acme");
    for id in [&hook, &named] {
        let d = crate::events::eventually(&s, &format!("/v1/webhooks/{id}/deliveries"), |p| {
            p["data"][0]["attempts"].as_i64().unwrap_or(0) >= 1
        });
        let err = d["data"][0]["lastError"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(err.contains("private address"), "{d}");
    }
    assert!(rx.got().is_empty());
}

/// A subscription whose deliveries have failed for five days is disabled, as an event.
#[test]
fn five_days_of_failures_disable_a_subscription() {
    use diesel::prelude::*;
    let s = TestServer::start_with(&[
        ("WEBHOOK_ALLOW_PRIVATE", "1"),
        ("WEBHOOK_TIMEOUT_SECS", "2"),
    ]);
    let rx = crate::common::Receiver::start();
    rx.answers.lock().unwrap().extend([500, 500]);
    let (hook, _) = subscribe(&s, &s.owner_token, &rx.url, json!(["account.created"]));
    let six_days_ago = accountd::db::models::now() - 6 * 24 * 3600 * 1_000_000;
    diesel::sql_query(format!(
        "UPDATE webhooks SET failing_since = {six_days_ago} WHERE id = '{hook}'"
    ))
    .execute(&mut s.db.conn())
    .unwrap();
    s.account("Acme");
    rx.wait(30, |g| !g.is_empty());
    let events = crate::events::eventually(&s, "/v1/events?type=webhook.disabled", |e| {
        e["data"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(events["data"][0]["data"]["id"], json!(hook), "{events}");
    let h = s
        .get(&format!("/v1/webhooks/{hook}"), &s.owner_token)
        .expect(200)
        .body;
    assert_eq!(h["enabled"], false);
    // Disabled: nothing more is sent.
    s.account("Beta");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(rx.got().len(), 1);
}

/// Two instances share the deliveries (each sent once), and an instance killed with SIGKILL
/// mid-delivery loses nothing: another sends it again, with the same `webhook-id`.
#[test]
fn instances_share_deliveries_and_a_killed_one_loses_none() {
    use crate::common::Process;
    let s = TestServer::start_with(&[("WEBHOOK_DELIVERY", "0"), ("WEBHOOK_ALLOW_PRIVATE", "1")]);
    let deliver = [
        ("WEBHOOK_ALLOW_PRIVATE", "1"),
        ("WEBHOOK_TIMEOUT_SECS", "1"),
    ];
    let rx = crate::common::Receiver::start();
    let (_, secret) = subscribe(&s, &s.owner_token, &rx.url, json!(["device.*"]));
    let acc = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": "Acme", "email": "acme@example.test", "deviceSeats": 100}),
        )
        .expect(201)
        .body["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = Process::start(&s.db.url, &deliver);
    let b = Process::start(&s.db.url, &deliver);
    for i in 0..60 {
        s.post(
            &format!("/v1/accounts/{acc}/devices"),
            &s.owner_token,
            json!({"name": format!("d{i}")}),
        )
        .expect(201);
    }
    let got = rx.wait(60, |g| g.len() >= 60);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let got_now = rx.got();
    let ids: std::collections::HashSet<&String> =
        got_now.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert_eq!((got.len(), got_now.len(), ids.len()), (60, 60, 60));
    assert!(got_now.iter().all(|r| signed_by(r, &secret)));
    drop(b);
    // Killed mid-delivery: the receiver holds the request, the instance dies.
    rx.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    s.post(
        &format!("/v1/accounts/{acc}/devices"),
        &s.owner_token,
        json!({"name": "last"}),
    )
    .expect(201);
    let held = rx.wait(30, |g| g.len() > 60);
    assert_eq!(held.len(), 61);
    let mut a = a;
    a.child.kill().unwrap(); // SIGKILL
    let _ = a.child.wait();
    rx.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let _c = Process::start(&s.db.url, &deliver);
    let got = rx.wait(30, |g| g.len() > 61);
    assert_eq!(got.len(), 62);
    assert_eq!(
        got[61].headers["webhook-id"],
        held[60].headers["webhook-id"]
    );
}

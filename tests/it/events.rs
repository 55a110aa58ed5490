//! The event outbox's cursor: every event exactly once, in one order, while writers commit
//! out of order.

use crate::common::TestServer;
use accountd::db::events::{self, Filter, NewEvent, Position};
use diesel::Connection;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Four writers commit 200 transactions of one or two events each, sleeping inside every
/// transaction for a random while so that later sequence values often commit first; a reader
/// pages through with the cursor meanwhile. It must see every event once, and nothing twice.
#[test]
fn a_reader_sees_every_event_once_while_writers_commit_out_of_order() {
    let s = TestServer::start();
    // How many events the writers wrote, once they are done (0 before).
    let total = std::sync::atomic::AtomicUsize::new(0);
    let (written, seen) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let db = &s.db;
                scope.spawn(move || {
                    let mut conn = db.conn();
                    let mut ids = Vec::new();
                    let mut r = w * 7919 + 17;
                    for i in 0..50u64 {
                        r = r
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let mine: Vec<String> = (0..1 + (r >> 60) % 2)
                            .map(|k| format!("e{w}-{i}-{k}"))
                            .collect();
                        conn.transaction::<_, diesel::result::Error, _>(|c| {
                            for id in &mine {
                                events::insert(
                                    c,
                                    &NewEvent {
                                        id,
                                        kind: "test.event",
                                        occurred_at: 1,
                                        account_id: None,
                                        account_path: None,
                                        actor_id: None,
                                        request_id: None,
                                        data: "{}",
                                    },
                                )?;
                            }
                            std::thread::sleep(Duration::from_millis((r >> 33) % 8));
                            Ok(())
                        })
                        .unwrap();
                        ids.extend(mine);
                    }
                    ids
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            let mut conn = s.db.conn();
            let mut at: Option<Position> = None;
            let mut seen = Vec::new();
            // Read until every written event has come, or long after: the horizon waits for
            // every transaction of the cluster (other tests' databases too), so it may lag.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let expected = total.load(Ordering::SeqCst);
                let page = events::after(&mut conn, at, &Filter::default(), 7).unwrap();
                if let Some(last) = page.last() {
                    at = Some(last.position());
                }
                let empty = page.is_empty();
                seen.extend(page.into_iter().map(|e| e.id));
                let caught_up = expected > 0 && seen.len() >= expected;
                if empty && (caught_up || std::time::Instant::now() > deadline) {
                    return seen;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let written: Vec<String> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        total.store(written.len(), Ordering::SeqCst);
        (written, reader.join().unwrap())
    });
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was read twice");
    let written: HashSet<&String> = written.iter().collect();
    let skipped: Vec<&&String> = written.difference(&unique).collect();
    let extra: Vec<&&String> = unique.difference(&written).collect();
    assert!(
        skipped.is_empty() && extra.is_empty(),
        "skipped {skipped:?}; from nowhere {extra:?}"
    );
}

/// Every audited change is an event with the resource after it; a change that fails leaves
/// none; an admin reads its tree's events only; `next` resumes after a page.
#[test]
fn changes_are_events_with_their_resource_in_commit_order() {
    use serde_json::json;
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let child = s.child(&acc, "Branch", 0);
    let (other, _) = s.account("Other");
    // A change that fails (more seats than the parent has) is no event.
    s.post(
        &format!("/v1/accounts/{acc}/children"),
        &admin,
        json!({"name": "Too big", "deviceSeats": 1000}),
    )
    .expect(409);
    let all = eventually(&s, "/v1/events?limit=1000", |all| {
        all["data"].as_array().is_some_and(|d| {
            d.iter()
                .any(|e| e["type"] == "account.created" && e["accountId"] == json!(child))
        })
    });
    let kinds: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"account.created") && kinds.contains(&"user.created"),
        "{kinds:?}"
    );
    let created: Vec<&serde_json::Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "account.created" && e["accountId"] == json!(child))
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["data"]["name"], "Branch");
    assert_eq!(created[0]["data"]["parentId"], json!(acc));
    assert!(!all.to_string().contains("Too big"));
    assert!(!all.to_string().contains("$2"), "a hash leaked: {all}");
    // The admin sees its tree only, and pages with `next`.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/events?limit=2&after={a}"),
            None => "/v1/events?limit=2".to_string(),
        };
        let page = s.get(&path, &admin).expect(200).body;
        let data = page["data"].as_array().unwrap().clone();
        if data.is_empty() {
            assert!(page["next"].is_null());
            break;
        }
        after = page["next"].as_str().map(str::to_string);
        seen.extend(data);
    }
    assert!(seen
        .iter()
        .all(|e| e["accountId"] == json!(acc) || e["accountId"] == json!(child)));
    assert!(!seen.iter().any(|e| e["accountId"] == json!(other)));
    let ids: HashSet<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), seen.len());
    // Filters, and what is refused.
    let only = s
        .get("/v1/events?type=user.created", &s.owner_token)
        .expect(200)
        .body;
    assert!(only["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"] == "user.created"));
    s.get(&format!("/v1/events?accountId={other}"), &admin)
        .expect(404);
    s.get("/v1/events?after=nonsense", &admin).expect(400);
    s.get("/v1/events?limit=0", &admin).expect(400);
    let (_, user) = s.user(&acc, "user");
    s.get("/v1/events", &user).expect(403);
}

/// The owner's answer at `path` once `ready` holds (within 20 s). On PostgreSQL an event is
/// read once every older transaction in the cluster has ended, other tests' included.
pub fn eventually(
    s: &TestServer,
    path: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body = s.get(path, &s.owner_token).expect(200).body;
        if ready(&body) || std::time::Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every kind of change the contract names (all but `webhook.disabled`), made over HTTP, is an
/// event whose `data` is the resource after the change, with no secret or hash in it.
#[test]
fn every_change_type_in_the_contract_is_an_event() {
    use crate::common::PASSWORD;
    use serde_json::{json, Value};
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "3")]);
    let o = &s.owner_token;
    let email_of = |token: &str| {
        s.post("/user/get", token, json!({})).expect(200).body["email"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Accounts: created, given seats, renamed; a child suspended, resumed and closed; another
    // deleted.
    let (acc, _) = s.account("Acme");
    s.post(&format!("/v1/accounts/{acc}"), o, json!({"deviceSeats": 5}))
        .expect(200);
    s.put(&format!("/v1/accounts/{acc}"), o, json!({"name": "Acme 2"}))
        .expect(200);
    let (_, admin) = s.user(&acc, "admin");
    let child = s.child(&acc, "Branch", 1);
    let edit = format!("/v1/accounts/{child}");
    s.post(&edit, &admin, json!({"suspended": true}))
        .expect(200);
    s.post(&edit, &admin, json!({"suspended": false}))
        .expect(200);
    s.post(&format!("{edit}/close"), o, json!({})).expect(200);
    let empty = s.child(&acc, "Empty", 0);
    s.delete(&format!("/v1/accounts/{empty}"), &admin)
        .expect(204);
    // Users: updated, promoted, removed.
    let (bob, _) = s.user(&acc, "user");
    s.post("/user/update", &admin, json!({"id": bob, "first": "Bob"}))
        .expect(200);
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": bob, "role": "admin"}),
    )
    .expect(200);
    s.post("/user/remove", &admin, json!({"id": bob}))
        .expect(204);
    // MFA on, then reset by an admin.
    let (alice, alice_token) = s.user(&acc, "user");
    let totp = s
        .post("/user/mfa/totp", &alice_token, json!({}))
        .expect(200);
    let totp_secret = totp.body["secret"].as_str().unwrap().to_string();
    s.post(
        "/user/mfa/totp/confirm",
        &alice_token,
        json!({"code": totp_code(&totp_secret)}),
    )
    .expect(200);
    s.post("/user/mfa/totp/disable", &admin, json!({"userId": alice}))
        .expect(204);
    // Devices, groups and a membership.
    let devices = format!("/v1/accounts/{acc}/devices");
    let device = s
        .post(&devices, &admin, json!({"name": "Sensor 1"}))
        .expect(201)
        .id();
    s.delete(&format!("{devices}/{device}"), &admin).expect(204);
    s.post("/v1/groups", &admin, json!({"id": "ops"}))
        .expect(201);
    s.put(
        &format!("/v1/groups/ops/members/{alice}"),
        &admin,
        json!({"roles": ["viewer"]}),
    )
    .expect(204);
    s.delete("/v1/groups/ops", &admin).expect(204);
    // A personal access token, made and revoked.
    let pat = s
        .post("/v1/tokens", &alice_token, json!({"description": "ci"}))
        .expect(201);
    let pat_secret = pat.body["token"].as_str().unwrap().to_string();
    s.delete(&format!("/v1/tokens/{}", pat.id()), &alice_token)
        .expect(204);
    // A second login's session, ended by an admin.
    let alice_email = email_of(&alice_token);
    let second = s.try_login(&alice_email, PASSWORD).expect(200);
    let refresh_secret = second.body["refreshToken"].as_str().unwrap().to_string();
    let second_token = second.body["token"].as_str().unwrap().to_string();
    let sessions = s.get("/v1/sessions", &second_token).expect(200).body;
    let session = sessions["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.delete(&format!("/v1/sessions/{session}"), &admin)
        .expect(204);
    // A new password; a lockout (LOGIN_MAX_FAILURES wrong passwords).
    s.post(
        "/user/password",
        &alice_token,
        json!({"currentPassword": PASSWORD, "newPassword": "a brand new one"}),
    )
    .expect(204);
    let (carol, carol_token) = s.user(&acc, "user");
    let carol_email = email_of(&carol_token);
    for _ in 0..3 {
        s.try_login(&carol_email, "wrong password").expect(401);
    }

    let expected = [
        "account.created",
        "account.updated",
        "account.suspended",
        "account.unsuspended",
        "account.closed",
        "account.deleted",
        "account.seats_changed",
        "user.created",
        "user.updated",
        "user.role_changed",
        "user.removed",
        "user.locked",
        "user.password_changed",
        "user.mfa_enabled",
        "user.mfa_disabled",
        "device.created",
        "device.deleted",
        "group.created",
        "group.deleted",
        "membership.changed",
        "token.created",
        "token.revoked",
        "session.ended",
    ];
    let missing = |all: &Value| -> Vec<&str> {
        let events = all["data"].as_array().cloned().unwrap_or_default();
        expected
            .iter()
            .copied()
            .filter(|t| !events.iter().any(|e| e["type"] == *t))
            .collect()
    };
    let all = eventually(&s, "/v1/events?limit=1000", |all| missing(all).is_empty());
    assert!(missing(&all).is_empty(), "missing {:?}", missing(&all));
    let events = all["data"].as_array().unwrap();
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == t).collect() };
    for t in expected {
        assert!(
            of(t).iter().all(|e| e["data"].is_object()),
            "{t}: {:?}",
            of(t)
        );
    }
    // Never a secret or a hash.
    let text = all.to_string();
    assert!(!text.contains("$2"), "a hash leaked: {text}");
    for secret in [
        &pat_secret,
        &refresh_secret,
        &second_token,
        &totp_secret,
        &admin,
    ] {
        assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
    }
    // The resource after the change.
    let has = |t: &str, field: &str, value: Value| {
        assert!(
            of(t).iter().any(|e| e["data"][field] == value),
            "no {t} with {field} = {value}: {:?}",
            of(t)
        );
    };
    has("account.seats_changed", "deviceSeats", json!(5));
    has("account.updated", "name", json!("Acme 2"));
    has("account.suspended", "suspended", json!(true));
    has("account.unsuspended", "suspended", json!(false));
    has("account.closed", "closed", json!(true));
    has("account.deleted", "id", json!(empty));
    has("user.role_changed", "role", json!("admin"));
    has("user.removed", "id", json!(bob));
    has("user.locked", "id", json!(carol));
    has("user.mfa_enabled", "id", json!(alice));
    has("membership.changed", "roles", json!(["viewer"]));
    has("token.created", "description", json!("ci"));
    let created = of("device.created");
    assert_eq!(
        (
            created[0]["data"]["id"].as_str(),
            created[0]["data"]["name"].as_str(),
            created[0]["data"]["accountId"].as_str()
        ),
        (Some(device.as_str()), Some("Sensor 1"), Some(acc.as_str()))
    );
    let ended = of("session.ended");
    assert!(
        ended
            .iter()
            .any(|e| e["data"]["id"] == json!(session) && e["data"]["userId"] == json!(alice)),
        "{ended:?}"
    );
}

/// The TOTP code an authenticator app shows now for the base32 `secret`.
fn totp_code(secret: &str) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now)
}

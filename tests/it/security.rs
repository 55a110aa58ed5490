use crate::common::{TestServer, OWNER_EMAIL, PASSWORD};
use serde_json::json;

fn wrong(s: &TestServer, email: &str) -> u16 {
    s.try_login(email, "not the password").status
}

/// 64 parallel wrong guesses: every one that reaches the hash is counted, the lock holds once
/// ten have failed (guesses in flight at that moment may still be checked, never more than the
/// hash queue), and then even the right password is refused until the lock ends.
#[test]
fn parallel_guesses_lock_the_identity_after_ten_failures() {
    // Room for every guess in the hash queue: this test is about the lock, not the queue.
    let s = TestServer::start_with(&[("HASH_QUEUE_LIMIT", "64")]);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..64)
            .map(|_| scope.spawn(|| wrong(&s, OWNER_EMAIL)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|c| **c == 401).count();
    let refused = statuses.iter().filter(|c| **c == 429).count();
    assert!(checked >= 10, "{statuses:?}");
    assert_eq!(checked + refused, 64, "{statuses:?}");
    let r = s.try_login(OWNER_EMAIL, PASSWORD).expect(429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    assert!(r.body["error"].is_string());
    // The same lock covers the OAuth2 endpoint and RPC Login.
    let form = format!(
        "grant_type=password&username=owner%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    s.raw(
        "POST",
        "/v1/auth/token",
        None,
        Some("application/x-www-form-urlencoded"),
        Some(form),
    )
    .expect(429);
    let frame = json!({"v": 2, "src": "t", "id": 1, "method": "/v1/Account.Login", "args": {"username": OWNER_EMAIL, "password": PASSWORD}});
    assert_eq!(
        s.call("POST", "/rpc", None, Some(frame)).expect(200).body["error"]["code"],
        429
    );
}

/// Twenty logins of one identity from one address, all at once (twice the failure limit: a
/// service account shared by many workers), all succeed: only failures count toward the lock.
/// Clearing the counts after a success takes the throttle rows in one order (in opposite
/// orders they deadlocked on PostgreSQL, and one of each pair answered 503 a second later).
#[test]
fn parallel_logins_of_one_user_all_succeed() {
    let s = TestServer::start_with(&[("HASH_QUEUE_LIMIT", "64")]);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| s.try_login(OWNER_EMAIL, PASSWORD).status))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|c| *c == 200), "{statuses:?}");
}

#[test]
fn a_success_clears_the_identitys_failures() {
    let s = TestServer::start();
    for _ in 0..9 {
        assert_eq!(wrong(&s, OWNER_EMAIL), 401);
    }
    s.login(OWNER_EMAIL, PASSWORD);
    for _ in 0..9 {
        assert_eq!(wrong(&s, OWNER_EMAIL), 401);
    }
    s.login(OWNER_EMAIL, PASSWORD);
}

#[test]
fn one_address_guessing_many_identities_is_locked_too() {
    let s = TestServer::start_with(&[("LOGIN_IP_MAX_FAILURES", "5")]);
    for i in 0..5 {
        assert_eq!(wrong(&s, &format!("nobody{i}@example.com")), 401);
    }
    assert_eq!(wrong(&s, "nobody9@example.com"), 429);
    // Code guessing from that address is refused as well.
    s.call(
        "POST",
        "/v1/register/confirm",
        None,
        Some(json!({"code": "x.y"})),
    )
    .expect(429);
}

#[test]
fn code_guesses_count_against_the_address() {
    let s = TestServer::start_with(&[("LOGIN_IP_MAX_FAILURES", "3")]);
    for _ in 0..3 {
        s.call(
            "POST",
            "/v1/password/reset",
            None,
            Some(json!({"code": "aaaaaaaaaaaaaaaa.bbbb", "password": "a fresh password"})),
        )
        .expect(400);
    }
    let r = s
        .call(
            "POST",
            "/v1/password/reset",
            None,
            Some(json!({"code": "aaaaaaaaaaaaaaaa.bbbb", "password": "a fresh password"})),
        )
        .expect(429);
    assert!(r.header("retry-after").is_some());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// An unknown email costs what a wrong password costs (a dummy hash is checked): the medians
/// of the two are compared with a wide tolerance, never against an absolute time.
#[test]
fn unknown_identities_take_as_long_as_wrong_passwords() {
    let s = TestServer::start_with(&[
        ("BCRYPT_COST", "9"),
        ("LOGIN_MAX_FAILURES", "1000"),
        ("LOGIN_IP_MAX_FAILURES", "1000"),
    ]);
    let time = |email: &str| {
        let t = std::time::Instant::now();
        assert_eq!(wrong(&s, email), 401);
        t.elapsed().as_secs_f64()
    };
    let (mut known, mut unknown) = (vec![], vec![]);
    for _ in 0..15 {
        known.push(time(OWNER_EMAIL));
        unknown.push(time("nobody@example.com"));
    }
    let ratio = median(unknown) / median(known);
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown/known median ratio {ratio:.2}"
    );
}

/// With no room to wait for a core, extra logins answer 503 (with Retry-After, within a second)
/// before counting the attempt, and other routes stay up.
#[test]
fn a_full_hash_queue_answers_503_without_counting_the_attempt() {
    const ATTEMPTS: usize = 12;
    let s = TestServer::start_with(&[
        ("BCRYPT_COST", "11"),
        ("HASH_QUEUE_LIMIT", "0"),
        ("LOGIN_IP_MAX_FAILURES", "12"),
        ("LOGIN_MAX_FAILURES", "1000"),
    ]);
    type Answer = (u16, Option<String>, std::time::Duration);
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..ATTEMPTS)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let started = std::time::Instant::now();
                    let r = s.try_login(&format!("flood{i}@example.com"), "not the password");
                    let retry = r.header("retry-after").map(str::to_string);
                    (r.status, retry, started.elapsed())
                })
            })
            .collect();
        s.call("GET", "/healthz", None, None).expect(200);
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(busy.iter().all(|a| a.1.is_some()), "{answers:?}");
    assert!(
        busy.iter().all(|a| a.2 < std::time::Duration::from_secs(1)),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|a| a.0 == 503 || a.0 == 401),
        "{answers:?}"
    );
    // Only the checked attempts count against the address: it has room for the rest.
    let checked = answers.iter().filter(|a| a.0 == 401).count();
    for i in 0..ATTEMPTS - checked - 1 {
        s.try_login(&format!("later{i}@example.com"), "not the password")
            .expect(401);
    }
}

/// Run the real binary, use every kind of secret against it, and grep its whole log for them.
#[test]
fn the_log_never_holds_a_password_token_or_code() {
    let db = crate::common::TestDb::new();
    let mail = std::env::temp_dir().join(format!(
        "accountd_logmail_{}",
        uuid::Uuid::new_v4().simple()
    ));
    let server = crate::common::Process::start(
        &db.url,
        &[
            ("JWT_SECRET", "log-test-secret-log-test-secret-0123456"),
            ("OWNER_EMAIL", OWNER_EMAIL),
            ("OWNER_PASSWORD", PASSWORD),
            ("MAIL_DIR", mail.to_str().unwrap()),
            ("RUST_LOG", "debug"),
        ],
    );
    let base = server.base.clone();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| -> serde_json::Value {
        let mut b = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{base}{path}"))
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            b = b.header("Authorization", format!("Bearer {t}"));
        }
        let mut res = agent.run(b.body(body.to_string()).unwrap()).unwrap();
        serde_json::from_str(&res.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or(serde_json::Value::Null)
    };
    let login = post(
        "/user/login",
        None,
        json!({"email": OWNER_EMAIL, "password": PASSWORD}),
    );
    let token = login["token"].as_str().unwrap().to_string();
    let refresh = login["refreshToken"].as_str().unwrap().to_string();
    let pat = post("/v1/tokens", Some(&token), json!({"description": "log"}))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut res = agent
        .get(format!("{base}/v1/accounts?access_token={pat}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let _ = res.body_mut().read_to_string();
    post(
        "/user/login",
        None,
        json!({"email": OWNER_EMAIL, "password": "a wrong password!"}),
    );
    post("/v1/password/forgot", None, json!({"email": OWNER_EMAIL}));
    let mut code = None;
    for _ in 0..200 {
        if let Some(m) = std::fs::read_dir(&mail)
            .ok()
            .and_then(|d| d.flatten().next())
        {
            code = crate::common::code_in(&std::fs::read_to_string(m.path()).unwrap());
            if code.is_some() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let code = code.expect("reset mail");
    post(
        "/v1/password/reset",
        None,
        json!({"code": code, "password": "a new password here"}),
    );
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    let _ = agent
        .post(format!("{base}/v1/auth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    drop(server);
    assert!(log.contains("POST /user/login"), "the log was captured");
    let secret_part = code.split('.').nth(1).unwrap().to_string();
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", "a wrong password!"),
        ("new password", "a new password here"),
        ("access token", token.as_str()),
        ("refresh token", refresh.as_str()),
        ("personal access token", pat.as_str()),
        ("reset code", secret_part.as_str()),
    ] {
        assert!(!log.contains(secret), "the log holds the {what}");
    }
    let _ = std::fs::remove_dir_all(&mail);
}

/// HTTPS with a certificate made by the test: the API works over TLS and says HSTS.
#[test]
fn tls_serves_https_with_hsts() {
    let dir = std::env::temp_dir().join(format!("accountd_tls_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (cert_s, key_s) = (cert.display().to_string(), key.display().to_string());
    let s = TestServer::start_with(&[("TLS_CERT", cert_s.as_str()), ("TLS_KEY", key_s.as_str())]);
    assert!(s.base.starts_with("https://"));
    let r = s.get("/v1/accounts", &s.owner_token).expect(200);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    // Plain HTTP to the TLS port gets nowhere.
    let plain = s.base.replace("https://", "http://");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    assert!(agent
        .get(format!("{plain}/healthz"))
        .call()
        .map(|r| r.status().as_u16() != 200)
        .unwrap_or(true));
    // Bad files stop the start with a line naming the variable.
    let missing = accountd::tls_config(std::path::Path::new("/nonexistent.pem"), &key).unwrap_err();
    assert!(missing.starts_with("TLS_CERT:"), "{missing}");
    let wrong_key = accountd::tls_config(&cert, &cert).unwrap_err();
    assert!(wrong_key.starts_with("TLS_KEY:"), "{wrong_key}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn actions(s: &TestServer, token: &str) -> Vec<String> {
    let r = s.get("/v1/audit?limit=1000", token).expect(200);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn changes_are_audited_with_actor_account_ip_and_request_id() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (admin_id, admin) = s.user(&acc, "admin");
    let child = s.child(&acc, "Child", 0);
    let (other, _) = s.account("Other");
    s.post(
        &format!("/v1/accounts/{acc}/devices"),
        &s.owner_token,
        json!({"name": "d"}),
    )
    .expect(409);
    let created = s.post(
        "/user/create",
        &admin,
        json!({"email": "n@acme.test", "role": "user", "password": PASSWORD}),
    );
    let uid = created.id();
    let rid = created.header("x-request-id").unwrap().to_string();
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": uid, "role": "admin"}),
    )
    .expect(200);
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &admin,
        "suspended=1",
    )
    .expect(200);
    s.post("/v1/tokens", &admin, json!({"description": "t"}))
        .expect(201);
    s.post("/v1/groups", &admin, json!({"id": "ops"}))
        .expect(201);
    s.post("/user/remove", &admin, json!({"id": uid}))
        .expect(204);
    s.put(
        &format!("/v1/accounts/{other}"),
        &s.owner_token,
        json!({"name": "Other Co"}),
    )
    .expect(200);
    for _ in 0..11 {
        s.try_login("victim@nowhere.test", "wrong password");
    }
    let log = s
        .get("/v1/audit?limit=1000", &s.owner_token)
        .expect(200)
        .body;
    let entry = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.create" && e["target"] == uid.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (entry["actorId"].as_str(), entry["accountId"].as_str()),
        (Some(admin_id.as_str()), Some(acc.as_str()))
    );
    assert_eq!(
        (entry["ip"].as_str(), entry["requestId"].as_str()),
        (Some("127.0.0.1"), Some(rid.as_str()))
    );
    assert!(entry["time"].as_str().unwrap().ends_with('Z'));
    let all = actions(&s, &s.owner_token);
    for a in [
        "account.create",
        "user.create",
        "user.role",
        "account.suspend",
        "token.create",
        "group.create",
        "user.remove",
        "account.update",
        "login.lockout",
    ] {
        assert!(all.contains(&a.to_string()), "{a} missing from {all:?}");
    }
    // The admin sees its tree (including the child), not the other account nor the lockout.
    let mine = s.get("/v1/audit?limit=1000", &admin).expect(200).body;
    let accounts: Vec<&str> = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["accountId"].as_str())
        .collect();
    assert!(accounts.contains(&child.as_str()));
    assert!(
        accounts.iter().all(|a| *a == acc || *a == child),
        "{accounts:?}"
    );
    assert!(!actions(&s, &admin).contains(&"login.lockout".to_string()));
    let filtered = s.get("/v1/audit?filter=user.", &admin).expect(200).body;
    assert!(filtered["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("user.")));
    // A failed change writes no entry; plain users may not read the log.
    assert!(!all.iter().any(|a| a == "device.create"));
    let (_, user) = s.user(&acc, "user");
    s.get("/v1/audit", &user).expect(403);
}

#[test]
fn one_user_has_one_counter_whatever_name_it_logs_in_with() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    s.post("/user/create", &s.owner_token, json!({"email": "dual@acme.test", "username": "dual", "role": "user", "password": PASSWORD, "accountId": acc}))
        .expect(201);
    for i in 0..10 {
        let body = if i % 2 == 0 {
            json!({"email": "dual@acme.test", "password": "wrong password"})
        } else {
            json!({"username": "dual", "password": "wrong password"})
        };
        assert_eq!(s.call("POST", "/user/login", None, Some(body)).status, 401);
    }
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"username": "DUAL", "password": PASSWORD})),
    )
    .expect(429);
    // The lockout is in the audit log, against the user's account.
    let log = s
        .get("/v1/audit?filter=lockout", &s.owner_token)
        .expect(200)
        .body;
    assert_eq!(log["data"][0]["accountId"], acc.as_str());
    // RPC answers the lock with a retry time too.
    let frame = json!({"v": 2, "src": "t", "id": 1, "method": "/v1/Account.Login", "args": {"username": "dual", "password": PASSWORD}});
    let r = s.call("POST", "/rpc", None, Some(frame)).expect(200);
    assert_eq!(r.body["error"]["code"], 429);
    assert!(r.body["error"]["retryAfter"].as_u64().unwrap() > 0);
    assert!(r.header("retry-after").is_some());
}

#[test]
fn bad_cors_origins_stop_the_start() {
    for bad in ["*", "dash.example.com", "https://dash.example.com/path"] {
        let err = accountd::config::Config::from_lookup(|k| match k {
            "CORS_ORIGINS" => Some(bad.to_string()),
            "ACCOUNTD_DEV" => Some("1".into()),
            _ => None,
        })
        .err()
        .unwrap();
        assert!(err.starts_with("CORS_ORIGINS:"), "{err}");
    }
}

/// An account id reused after a delete does not carry the old account's audit entries along.
#[test]
fn audit_visibility_follows_the_tree_of_the_moment() {
    let s = TestServer::start();
    let (p, _) = s.account("P");
    let (q, _) = s.account("Q");
    let (_, v) = s.user(&p, "admin");
    let (_, a) = s.user(&q, "admin");
    s.post(
        &format!("/v1/accounts/{p}/children"),
        &v,
        json!({"name": "Acme", "id": "acme"}),
    )
    .expect(201);
    s.post(
        "/v1/groups?",
        &v,
        json!({"id": "secret-group", "accountId": "acme"}),
    )
    .expect(201);
    s.delete("/v1/groups/secret-group?accountId=acme", &v)
        .expect(204);
    s.delete("/v1/accounts/acme", &v).expect(204);
    s.post(
        &format!("/v1/accounts/{q}/children"),
        &a,
        json!({"name": "Acme again", "id": "acme"}),
    )
    .expect(201);
    let seen = |t: &str| {
        s.get("/v1/audit?limit=1000", t)
            .expect(200)
            .body
            .to_string()
    };
    assert!(
        !seen(&a).contains("secret-group"),
        "the new holder of the id sees the old history"
    );
    assert!(
        seen(&v).contains("secret-group"),
        "the old tree keeps its history"
    );
}

#[test]
fn wrong_current_passwords_count_toward_the_login_lockout() {
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "3")]);
    let (acc, _) = s.account("Guessed");
    let (_, token) = s.user(&acc, "user");
    let me = s.post("/user/get", &token, json!({})).expect(200).body;
    let email = me["email"].as_str().unwrap().to_string();
    let guess = json!({"currentPassword": "not the password", "newPassword": "a brand new one"});
    // Once unlimited: each wrong guess was a 400 and nothing more.
    for _ in 0..3 {
        let r = s.post("/user/password", &token, guess.clone()).expect(400);
        assert_eq!(r.errors(), ["currentPassword: does not match"]);
    }
    let r = s.post("/user/password", &token, guess).expect(429);
    assert!(r.header("retry-after").is_some());
    // The same lock as logins: the right password is refused too until it ends.
    let right = json!({"currentPassword": PASSWORD, "newPassword": "a brand new one"});
    s.post("/user/password", &token, right).expect(429);
    s.try_login(&email, PASSWORD).expect(429);
}

#[test]
fn an_admin_cannot_take_over_a_fellow_admin_by_changing_its_address() {
    let s = TestServer::start();
    let (acc, _) = s.account("Peers");
    let (_, a1) = s.user(&acc, "admin");
    let (a2, a2_token) = s.user(&acc, "admin");
    let (u, _) = s.user(&acc, "user");
    // Once 200: a1 set a2's email to its own address, asked for a reset, and logged in as a2.
    let r = s
        .post(
            "/user/update",
            &a1,
            json!({"id": a2, "email": "mine@evil.test"}),
        )
        .expect(403);
    assert_eq!(
        r.body["error"],
        "an admin changes the email or username only for users below its role"
    );
    s.post(
        "/user/update",
        &a1,
        json!({"id": a2, "username": "taken-over"}),
    )
    .expect(403);
    // Nor may it send a peer invitations.
    s.post(
        "/user/updateRole",
        &a1,
        json!({"id": a2, "role": "admin", "sendInvite": true}),
    )
    .expect(403);
    // Names stay its to change; users below it, and itself, as before; the owner anyone.
    s.post("/user/update", &a1, json!({"id": a2, "first": "Bea"}))
        .expect(200);
    let old = s
        .post("/user/get", &s.owner_token, json!({"id": u}))
        .expect(200)
        .body["email"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        "/user/update",
        &a1,
        json!({"id": u, "email": "moved@example.test"}),
    )
    .expect(200);
    s.post(
        "/user/update",
        &a2_token,
        json!({"email": "a2-new@example.test"}),
    )
    .expect(200);
    s.post(
        "/user/update",
        &s.owner_token,
        json!({"id": a2, "email": "a2-owner@example.test"}),
    )
    .expect(200);
    // The old address hears of every change.
    for _ in 0..200 {
        if !s.mails_to(&old).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let notice = s.mails_to(&old);
    assert!(
        notice
            .iter()
            .any(|m| m.contains("Subject: Your accountd email address was changed")),
        "{notice:?}"
    );
}

#[test]
fn an_attacker_at_one_address_cannot_lock_the_user_out_of_its_own() {
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "3")]);
    let (acc, _) = s.account("Targeted");
    let email = "target@example.test";
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": email, "role": "user", "password": PASSWORD, "accountId": acc}),
    )
    .expect(201);
    // The user logs in from its own address, which becomes known.
    assert_eq!(s.login_from("127.0.0.1", email, PASSWORD), 200);
    // An attacker at another address guesses until it is locked out there.
    for _ in 0..3 {
        assert_eq!(s.login_from("127.0.0.2", email, "wrong guess!"), 401);
    }
    assert_eq!(s.login_from("127.0.0.2", email, PASSWORD), 429);
    // Once 429 everywhere: the user still logs in from the address it uses...
    assert_eq!(s.login_from("127.0.0.1", email, PASSWORD), 200);
    // ...but not from a new one while the user's lock lasts,
    assert_eq!(s.login_from("127.0.0.3", email, PASSWORD), 429);
    // until an admin of its tree lifts it.
    let id = s
        .post("/user/get", &s.owner_token, json!({"email": email}))
        .expect(200)
        .id();
    s.post("/user/unlock", &s.owner_token, json!({"id": id}))
        .expect(204);
    assert_eq!(s.login_from("127.0.0.3", email, PASSWORD), 200);
    assert_eq!(s.login_from("127.0.0.2", email, PASSWORD), 200);
}

#[test]
fn a_completed_password_reset_lifts_the_lock() {
    let s = TestServer::start_with(&[("LOGIN_MAX_FAILURES", "2")]);
    let (acc, _) = s.account("Reset");
    let email = "resetter@example.test";
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": email, "role": "user", "password": PASSWORD, "accountId": acc}),
    )
    .expect(201);
    for _ in 0..2 {
        assert_eq!(s.login_from("127.0.0.2", email, "wrong guess!"), 401);
    }
    assert_eq!(s.login_from("127.0.0.4", email, PASSWORD), 429);
    s.call(
        "POST",
        "/v1/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .expect(202);
    let code = s.wait_code(email, 1);
    let fresh = "a fresh password";
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": fresh})),
    )
    .expect(204);
    assert_eq!(s.login_from("127.0.0.4", email, fresh), 200);
    assert_eq!(s.login_from("127.0.0.2", email, fresh), 200);
}

use crate::common::{TestServer, OWNER_EMAIL, PASSWORD};
use serde_json::json;

#[test]
fn login_answers_a_token_the_account_and_the_user_without_secrets() {
    let s = TestServer::start();
    let r = s.try_login(OWNER_EMAIL, PASSWORD).expect(200);
    assert!(r.body["token"].as_str().unwrap().split('.').count() == 3);
    assert!(r.body["expires"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.body["user"]["email"], OWNER_EMAIL);
    assert_eq!(r.body["user"]["role"], "owner");
    assert_eq!(r.body["account"]["id"], r.body["user"]["accountId"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let text = r.body.to_string();
    assert!(
        !text.contains("password") && !text.contains("$2b$"),
        "{text}"
    );
}

#[test]
fn wrong_password_and_unknown_email_look_the_same() {
    let s = TestServer::start();
    let wrong = s.try_login(OWNER_EMAIL, "not the password").expect(401);
    let unknown = s
        .try_login("nobody@example.com", "not the password")
        .expect(401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn login_by_username_and_case_insensitive_email() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    s.post("/user/create", &s.owner_token, json!({"email": "Mixed@Case.test", "role": "user", "password": PASSWORD, "username": "mixy", "accountId": acc}))
        .expect(201);
    s.login("mixed@case.TEST", PASSWORD);
    let r = s
        .call(
            "POST",
            "/user/login",
            None,
            Some(json!({"username": "MIXY", "password": PASSWORD})),
        )
        .expect(200);
    assert_eq!(r.body["user"]["email"], "Mixed@Case.test");
}

#[test]
fn invited_users_cannot_log_in_before_accepting() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    s.post("/user/create", &s.owner_token, json!({"email": "inv@acme.test", "role": "user", "password": PASSWORD, "sendInvite": true, "accountId": acc}))
        .expect(201);
    s.try_login("inv@acme.test", PASSWORD).expect(401);
}

#[test]
fn bad_credentials_are_401_with_www_authenticate() {
    let s = TestServer::start();
    // RFC 6750: no credential is a bare challenge; a presented token that fails says so.
    let r = s.call("GET", "/v1/accounts", None, None).expect(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    for token in ["garbage", "a.b.c", "pat_unknown"] {
        let r = s.call("GET", "/v1/accounts", Some(token), None).expect(401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        assert!(r.body["error"].is_string());
    }
    // Token answers are neither stored nor cached, by HTTP/1.1 or HTTP/1.0 caches.
    let login = s.try_login(OWNER_EMAIL, PASSWORD).expect(200);
    assert_eq!(
        (login.header("cache-control"), login.header("pragma")),
        (Some("no-store"), Some("no-cache"))
    );
    let refused = s.raw(
        "POST",
        "/v1/auth/token",
        None,
        Some("application/x-www-form-urlencoded"),
        Some("grant_type=password&username=x&password=y".into()),
    );
    assert_eq!(refused.body["error"], "invalid_grant");
    assert_eq!(refused.header("pragma"), Some("no-cache"));
    // A token signed with another key.
    let config = accountd::config::Config::from_lookup(|k| {
        (k == "JWT_SECRET").then(|| "another-secret-another-secret-0000".to_string())
    })
    .unwrap();
    let set = accountd::auth::jwt::KeySet::hs256(b"another-secret-another-secret-0000");
    let other = accountd::auth::jwt::Keys::new(&config, set);
    let (forged, _) = other.issue("x", "y", "owner", 0, None);
    s.call("GET", "/v1/accounts", Some(&forged), None)
        .expect(401);
}

#[test]
fn logout_ends_the_presented_token_and_everywhere_ends_all() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, t1) = s.user(&acc, "user");
    let email = s.post("/user/get", &t1, json!({})).expect(200).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let t2 = s.login(&email, PASSWORD);
    s.call("POST", "/user/logout", Some(&t1), None).expect(204);
    s.post("/user/get", &t1, json!({})).expect(401);
    s.post("/user/get", &t2, json!({})).expect(200);
    let t3 = s.login(&email, PASSWORD);
    s.post("/user/logout", &t2, json!({"everywhere": true}))
        .expect(204);
    s.post("/user/get", &t2, json!({})).expect(401);
    s.post("/user/get", &t3, json!({})).expect(401);
    let t4 = s.login(&email, PASSWORD);
    assert_eq!(s.post("/user/get", &t4, json!({})).expect(200).id(), uid);
}

#[test]
fn password_change_ends_older_tokens_and_checks_the_current_password() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).expect(200).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .post(
            "/user/password",
            &token,
            json!({"currentPassword": "wrong password", "newPassword": "a new password"}),
        )
        .expect(400);
    assert_eq!(r.errors(), vec!["currentPassword: does not match"]);
    let r = s
        .post(
            "/user/password",
            &token,
            json!({"currentPassword": PASSWORD, "newPassword": "x".repeat(73)}),
        )
        .expect(400);
    assert_eq!(r.errors(), vec!["newPassword: must be 8 to 72 bytes"]);
    s.post(
        "/user/password",
        &token,
        json!({"currentPassword": PASSWORD, "newPassword": "short"}),
    )
    .expect(400);
    s.post(
        "/user/password",
        &token,
        json!({"currentPassword": PASSWORD, "newPassword": "a new password"}),
    )
    .expect(204);
    s.post("/user/get", &token, json!({})).expect(401);
    s.try_login(&email, PASSWORD).expect(401);
    s.login(&email, "a new password");
    // 72 bytes is the limit and works; multi-byte characters count as bytes.
    let t = s.login(&email, "a new password");
    let p72 = "é".repeat(36);
    s.post(
        "/user/password",
        &t,
        json!({"currentPassword": "a new password", "newPassword": p72}),
    )
    .expect(204);
    s.login(&email, &p72);
}

#[test]
fn removal_and_demotion_end_credentials_at_once() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (admin2, admin2_token) = s.user(&acc, "admin");
    let (user, user_token) = s.user(&acc, "user");
    s.post(
        "/user/updateRole",
        &s.owner_token,
        json!({"id": admin2, "role": "user"}),
    )
    .expect(200);
    s.post("/user/get", &admin2_token, json!({})).expect(401);
    s.post("/user/remove", &s.owner_token, json!({"id": user}))
        .expect(204);
    s.post("/user/get", &user_token, json!({})).expect(401);
}

#[test]
fn bootstrap_is_idempotent_for_an_existing_owner() {
    let s = TestServer::start();
    let mut conn = s.db.conn();
    assert_eq!(
        accountd::service::bootstrap::create_owner(&mut conn, OWNER_EMAIL, PASSWORD, 4, false),
        Ok(accountd::service::bootstrap::Bootstrap::AlreadyOwner)
    );
    assert!(
        accountd::service::bootstrap::create_owner(&mut conn, "bad", PASSWORD, 4, false).is_err()
    );
    assert!(accountd::service::bootstrap::create_owner(
        &mut conn,
        "second@example.com",
        "short",
        4,
        false
    )
    .is_err());
    match accountd::service::bootstrap::create_owner(
        &mut conn,
        "second@example.com",
        PASSWORD,
        4,
        false,
    ) {
        Ok(accountd::service::bootstrap::Bootstrap::Created(_)) => {}
        other => panic!("{other:?}"),
    }
    let r = s.try_login("second@example.com", PASSWORD).expect(200);
    assert_eq!(r.body["user"]["role"], "owner");
}

/// Suspension is set through the hierarchy routes; here it is written directly to show that
/// login and every credential check honour it, for the account and for its descendants.
#[test]
fn users_of_a_suspended_account_or_of_its_descendants_are_refused() {
    use diesel::prelude::*;
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let child = s.child(&acc, "Child", 0);
    let grandchild = s.child(&child, "Grandchild", 0);
    let (uid, token) = s.user(&acc, "user");
    let (_, child_token) = s.user(&child, "user");
    let (_, grandchild_token) = s.user(&grandchild, "user");
    let email = s.post("/user/get", &s.owner_token, json!({"id": uid})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let set_on = |id: &str, v: bool| {
        use accountd::db::schema::accounts::dsl;
        diesel::update(dsl::accounts.find(id))
            .set(dsl::suspended.eq(v))
            .execute(&mut s.db.conn())
            .unwrap();
    };
    let set = |v: bool| set_on(&acc, v);
    // Suspended in the middle of the tree: the accounts below it, not above.
    set_on(&child, true);
    s.post("/user/get", &token, json!({})).expect(200);
    s.post("/user/get", &child_token, json!({})).expect(403);
    s.post("/user/get", &grandchild_token, json!({}))
        .expect(403);
    set_on(&child, false);
    s.post("/user/get", &grandchild_token, json!({}))
        .expect(200);
    set(true);
    assert_eq!(
        s.post("/user/get", &token, json!({})).expect(403).body["error"],
        "account suspended"
    );
    s.post("/user/get", &child_token, json!({})).expect(403);
    s.post("/user/get", &grandchild_token, json!({}))
        .expect(403);
    s.try_login(&email, PASSWORD).expect(403);
    s.try_login(&email, "wrong password").expect(401);
    set(false);
    s.post("/user/get", &token, json!({})).expect(200);
    s.post("/user/get", &child_token, json!({})).expect(200);
    s.login(&email, PASSWORD);
}

#[test]
fn a_recreated_user_id_does_not_revive_the_removed_users_tokens() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let body = json!({"email": "jdoe@acme.test", "role": "admin", "password": PASSWORD, "accountId": acc, "id": "jdoe"});
    s.post("/user/create", &s.owner_token, body.clone())
        .expect(201);
    let old = s.login("jdoe@acme.test", PASSWORD);
    s.post("/user/remove", &s.owner_token, json!({"id": "jdoe"}))
        .expect(204);
    s.post("/user/create", &s.owner_token, body).expect(201);
    s.post("/user/get", &old, json!({})).expect(401);
}

#[test]
fn logging_out_the_same_token_twice_at_once_is_fine() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| s.post("/user/logout", &token, json!({})).status))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The first logout wins; the others either also succeed or find the token revoked.
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 401),
        "{statuses:?}"
    );
    assert!(statuses.contains(&204));
    s.post("/user/get", &token, json!({})).expect(401);
}

/// Every 400 of the OAuth2 token endpoint is RFC 6749's `{"error", "error_description"}`, never
/// the API's `{"errors": [...]}`: also for a body that is not an object of fields, or that
/// misses `grant_type`. A body that is neither JSON nor a form stays the API's 415.
#[test]
fn every_400_of_the_token_endpoint_is_an_rfc_6749_error() {
    let s = TestServer::start();
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    for (content_type, body) in [
        (json, "[null, null]"),
        (
            json,
            r#"{"username": "owner@example.com", "password": "x"}"#,
        ),
        (json, "{"),
        (json, r#"{"grant_type": "password", "unknown": "x"}"#),
        (json, r#"{"grant_type": 1}"#),
        (form, "username=owner%40example.com&password=x"),
        (form, "grant_type=password&grant_type=password"),
    ] {
        let r = s
            .raw(
                "POST",
                "/v1/auth/token",
                None,
                Some(content_type),
                Some(body.to_string()),
            )
            .expect(400);
        assert_eq!(r.body["error"], "invalid_request", "{body}: {}", r.body);
        assert!(
            r.body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{body}: {}",
            r.body
        );
        assert!(r.body.get("errors").is_none(), "{body}: {}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    let r = s
        .raw(
            "POST",
            "/v1/auth/token",
            None,
            Some("text/plain"),
            Some("grant_type=password".into()),
        )
        .expect(415);
    assert!(r.body["error"].is_string(), "{}", r.body);
}

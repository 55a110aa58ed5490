use crate::common::{SmtpSink, TestServer, PASSWORD};
use serde_json::json;

fn register(s: &TestServer, email: &str) -> crate::common::Resp {
    s.call(
        "POST",
        "/v1/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "name": "Solo Ltd"})),
    )
}

#[test]
fn mail_files_are_readable_by_the_server_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start();
    register(&s, "private@solo.test").expect(201);
    s.wait_code("private@solo.test", 1);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.mail_dir), 0o700);
    for file in std::fs::read_dir(&s.mail_dir).unwrap() {
        assert_eq!(mode(&file.unwrap().path()), 0o600);
    }
}

#[test]
fn registration_mails_a_code_that_confirms_and_logs_in_once() {
    let s = TestServer::start();
    let id = register(&s, "new@solo.test").expect(201).id();
    // Unverified users cannot log in.
    assert_eq!(
        s.try_login("new@solo.test", PASSWORD).expect(403).body["error"],
        "email address not verified"
    );
    let code = s.wait_code("new@solo.test", 1);
    let r = s
        .call(
            "POST",
            "/v1/register/confirm",
            None,
            Some(json!({"code": code})),
        )
        .expect(200);
    assert_eq!(r.body["id"], id.as_str());
    let token = r.body["token"].as_str().unwrap().to_string();
    // The session's refresh token comes back too, as a login's (issue 21: it was made and lost).
    let refresh = r.body["refreshToken"].as_str().unwrap();
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let ct = Some("application/x-www-form-urlencoded");
    s.raw("POST", "/v1/auth/token", None, ct, Some(form))
        .expect(200);
    let me = s.post("/user/get", &token, json!({})).expect(200);
    assert_eq!(
        (me.body["role"].as_str(), me.body["verified"].as_bool()),
        (Some("admin"), Some(true))
    );
    let acc = s
        .get(
            &format!("/v1/accounts/{}", me.body["accountId"].as_str().unwrap()),
            &token,
        )
        .expect(200);
    assert_eq!(acc.body["name"], "Solo Ltd");
    // Single use; a wrong or garbled code gets the same answer.
    let again = s
        .call(
            "POST",
            "/v1/register/confirm",
            None,
            Some(json!({"code": code})),
        )
        .expect(400);
    assert_eq!(again.errors(), vec!["code: invalid or expired code"]);
    s.call(
        "POST",
        "/v1/register/confirm",
        None,
        Some(json!({"code": "nonsense"})),
    )
    .expect(400);
    s.call("POST", "/v1/register/confirm", None, Some(json!({})))
        .expect(400);
    s.login("new@solo.test", PASSWORD);
}

#[test]
fn registering_a_used_address_answers_the_same_and_tells_its_owner() {
    let s = TestServer::start();
    let first = register(&s, "taken@solo.test").expect(201).id();
    let second = register(&s, "TAKEN@solo.test").expect(201).id();
    assert_ne!(first, second);
    for _ in 0..200 {
        if s.mails_to("taken@solo.test").len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let mails = s.mails_to("taken@solo.test");
    assert_eq!(mails.len(), 2);
    assert!(mails
        .iter()
        .any(|m| m.contains("Someone tried to register")));
    let r = s
        .post(
            "/user/find",
            &s.owner_token,
            json!({"email": "taken@solo.test"}),
        )
        .expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    // Bad input is still a 400.
    let r = s
        .call(
            "POST",
            "/v1/register",
            None,
            Some(json!({"email": "x", "password": "short"})),
        )
        .expect(400);
    assert_eq!(r.errors().len(), 2);
    s.call(
        "POST",
        "/v1/register",
        None,
        Some(json!({"email": "a@b.test", "password": PASSWORD, "role": "owner"})),
    )
    .expect(400);
}

#[test]
fn login_with_register_true_registers_too() {
    let s = TestServer::start();
    let r = s
        .call("POST", "/user/login", None, Some(json!({"register": true, "email": "viaLogin@solo.test", "password": PASSWORD, "name": "Via"})))
        .expect(201);
    assert!(r.body["id"].is_string());
    let code = s.wait_code("vialogin@solo.test", 1);
    s.call(
        "POST",
        "/v1/register/confirm",
        None,
        Some(json!({"code": code})),
    )
    .expect(200);
}

#[test]
fn closed_registration_is_refused() {
    let s = TestServer::start_with(&[("REGISTRATION", "closed")]);
    register(&s, "no@solo.test").expect(403);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"register": true, "email": "no@solo.test", "password": PASSWORD})),
    )
    .expect(403);
}

#[test]
fn invited_users_accept_with_a_password_once() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let r = s
        .post(
            "/user/create",
            &s.owner_token,
            json!({"email": "guest@acme.test", "role": "user", "accountId": acc}),
        )
        .expect(201);
    assert_eq!(r.body["status"], "invited");
    let code = s.wait_code("guest@acme.test", 1);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": code, "password": "short"})),
    )
    .expect(400);
    let r = s
        .call(
            "POST",
            "/user/login",
            None,
            Some(json!({"invite": code, "password": PASSWORD})),
        )
        .expect(200);
    assert_eq!(
        (
            r.body["user"]["status"].as_str(),
            r.body["user"]["verified"].as_bool()
        ),
        (Some("active"), Some(true))
    );
    assert!(r.body["refreshToken"].as_str().unwrap().starts_with("rt_"));
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": code, "password": PASSWORD})),
    )
    .expect(400);
    s.login("guest@acme.test", PASSWORD);
    // The first admin of a new account is invited the same way.
    let r = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": "Beta", "email": "boss@beta.test"}),
        )
        .expect(201);
    assert_eq!(r.body["user"]["status"], "invited");
    let code = s.wait_code("boss@beta.test", 1);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": code, "password": PASSWORD})),
    )
    .expect(200);
}

#[test]
fn send_invite_replaces_the_earlier_invitation() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let id = s
        .post(
            "/user/create",
            &s.owner_token,
            json!({"email": "late@acme.test", "role": "user", "accountId": acc}),
        )
        .expect(201)
        .id();
    let old = s.wait_code("late@acme.test", 1);
    s.post(
        "/user/updateRole",
        &s.owner_token,
        json!({"id": id, "role": "admin", "sendInvite": true}),
    )
    .expect(200);
    let new = s.wait_code("late@acme.test", 2);
    assert_ne!(old, new);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": old, "password": PASSWORD})),
    )
    .expect(400);
    let r = s
        .call(
            "POST",
            "/user/login",
            None,
            Some(json!({"invite": new, "password": PASSWORD})),
        )
        .expect(200);
    assert_eq!(r.body["user"]["role"], "admin");
}

#[test]
fn password_reset_never_tells_whether_an_address_exists() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let known = s
        .call(
            "POST",
            "/v1/password/forgot",
            None,
            Some(json!({"email": email})),
        )
        .expect(202);
    let unknown = s
        .call(
            "POST",
            "/v1/password/forgot",
            None,
            Some(json!({"email": "ghost@acme.test"})),
        )
        .expect(202);
    assert_eq!(known.body, unknown.body);
    s.call(
        "POST",
        "/v1/password/forgot",
        None,
        Some(json!({"email": "not an email"})),
    )
    .expect(400);
    let code = s.wait_code(&email, 1);
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": "x".repeat(73)})),
    )
    .expect(400);
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": "a fresh password"})),
    )
    .expect(204);
    s.post("/user/get", &token, json!({})).expect(401);
    s.try_login(&email, PASSWORD).expect(401);
    s.login(&email, "a fresh password");
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": "another password"})),
    )
    .expect(400);
    assert!(s.mails_to("ghost@acme.test").is_empty());
}

#[test]
fn a_code_dies_after_a_few_wrong_guesses_and_when_expired() {
    use diesel::prelude::*;
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    s.call(
        "POST",
        "/v1/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .expect(202);
    let code = s.wait_code(&email, 1);
    let (id, _) = code.split_once('.').unwrap();
    let wrong = format!("{id}.{}", "A".repeat(43));
    for _ in 0..5 {
        s.call(
            "POST",
            "/v1/password/reset",
            None,
            Some(json!({"code": wrong, "password": "a fresh password"})),
        )
        .expect(400);
    }
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": "a fresh password"})),
    )
    .expect(400);
    // A new code that has expired is refused too.
    s.call(
        "POST",
        "/v1/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .expect(202);
    let code = s.wait_code(&email, 2);
    {
        use accountd::db::schema::codes::dsl;
        diesel::update(dsl::codes)
            .set(dsl::expires.eq(0i64))
            .execute(&mut s.db.conn())
            .unwrap();
    }
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": code, "password": "a fresh password"})),
    )
    .expect(400);
    s.login(&email, PASSWORD);
}

#[test]
fn codes_arrive_over_real_smtp() {
    let sink = SmtpSink::start();
    let s = TestServer::start_with(&[("SMTP_URL", sink.url.as_str())]);
    register(&s, "smtp@solo.test").expect(201);
    let code = sink.wait_code("smtp@solo.test");
    s.call(
        "POST",
        "/v1/register/confirm",
        None,
        Some(json!({"code": code})),
    )
    .expect(200);
    assert!(
        s.mails_to("smtp@solo.test").is_empty(),
        "SMTP mode writes no files"
    );
}

fn token_form(s: &TestServer, body: &str) -> crate::common::Resp {
    s.raw(
        "POST",
        "/v1/auth/token",
        None,
        Some("application/x-www-form-urlencoded"),
        Some(body.to_string()),
    )
}

#[test]
fn the_oauth2_token_endpoint_speaks_rfc_6749() {
    let s = TestServer::start();
    let pw = PASSWORD.replace(' ', "+");
    let r = token_form(
        &s,
        &format!("grant_type=password&username=owner%40example.com&password={pw}&scope=x"),
    )
    .expect(200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let access = r.body["access_token"].as_str().unwrap().to_string();
    s.post("/user/get", &access, json!({})).expect(200);
    // JSON works too.
    let r = s
        .call("POST", "/v1/auth/token", None, Some(json!({"grant_type": "password", "username": "owner@example.com", "password": PASSWORD})))
        .expect(200);
    let refresh1 = r.body["refresh_token"].as_str().unwrap().to_string();
    // Rotation: the new refresh token works, the old one no longer does, and its reuse
    // revokes the whole chain (the newer token too).
    let r = token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    )
    .expect(200);
    let refresh2 = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    s.post(
        "/user/get",
        r.body["access_token"].as_str().unwrap(),
        json!({}),
    )
    .expect(200);
    let r = token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    )
    .expect(400);
    assert_eq!(r.body["error"], "invalid_grant");
    assert!(r.body["error_description"].is_string());
    token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh2}"),
    )
    .expect(400);
    // Errors.
    let wrong = token_form(
        &s,
        "grant_type=password&username=owner%40example.com&password=wrong-password",
    )
    .expect(400);
    let unknown = token_form(
        &s,
        "grant_type=password&username=nobody%40example.com&password=wrong-password",
    )
    .expect(400);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error"], "invalid_grant");
    assert_eq!(
        token_form(&s, "grant_type=client_credentials")
            .expect(400)
            .body["error"],
        "unsupported_grant_type"
    );
    assert_eq!(
        token_form(&s, "grant_type=password&username=x")
            .expect(400)
            .body["error"],
        "invalid_request"
    );
    assert_eq!(
        token_form(&s, "").expect(400).body["error"],
        "invalid_request"
    );
    assert_eq!(
        token_form(&s, "grant_type=refresh_token&refresh_token=rt_garbage")
            .expect(400)
            .body["error"],
        "invalid_grant"
    );
}

#[test]
fn logout_and_password_changes_revoke_refresh_tokens() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let login = s.try_login(&email, PASSWORD).expect(200);
    let (access, refresh) = (
        login.body["token"].as_str().unwrap().to_string(),
        login.body["refreshToken"].as_str().unwrap().to_string(),
    );
    s.post("/user/logout", &access, json!({})).expect(204);
    token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .expect(400);
    let login = s.try_login(&email, PASSWORD).expect(200);
    let (access, refresh) = (
        login.body["token"].as_str().unwrap().to_string(),
        login.body["refreshToken"].as_str().unwrap().to_string(),
    );
    s.post(
        "/user/password",
        &access,
        json!({"currentPassword": PASSWORD, "newPassword": "the next password"}),
    )
    .expect(204);
    token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .expect(400);
}

#[test]
fn access_tokens_end_with_their_session() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let login = s.try_login(&email, PASSWORD).expect(200);
    let (at1, rt1) = (
        login.body["token"].as_str().unwrap().to_string(),
        login.body["refreshToken"].as_str().unwrap().to_string(),
    );
    let r = token_form(&s, &format!("grant_type=refresh_token&refresh_token={rt1}")).expect(200);
    let at2 = r.body["access_token"].as_str().unwrap().to_string();
    // A replay of rt1 ends the session: every access token of it stops working.
    token_form(&s, &format!("grant_type=refresh_token&refresh_token={rt1}")).expect(400);
    s.post("/user/get", &at1, json!({})).expect(401);
    s.post("/user/get", &at2, json!({})).expect(401);
    // Logging out ends the session's other access tokens too, but not other sessions.
    let a = s.try_login(&email, PASSWORD).expect(200);
    let (at_a, rt_a) = (
        a.body["token"].as_str().unwrap().to_string(),
        a.body["refreshToken"].as_str().unwrap().to_string(),
    );
    let at_a2 = token_form(
        &s,
        &format!("grant_type=refresh_token&refresh_token={rt_a}"),
    )
    .expect(200)
    .body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = s.login(&email, PASSWORD);
    s.post("/user/logout", &at_a, json!({})).expect(204);
    s.post("/user/get", &at_a2, json!({})).expect(401);
    s.post("/user/get", &other, json!({})).expect(200);
}

#[test]
fn an_email_change_voids_codes_sent_to_the_old_address() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let id = s
        .post(
            "/user/create",
            &s.owner_token,
            json!({"email": "typo@evil.test", "role": "admin", "accountId": acc}),
        )
        .expect(201)
        .id();
    let old = s.wait_code("typo@evil.test", 1);
    s.post(
        "/user/update",
        &s.owner_token,
        json!({"id": id, "email": "real@acme.test"}),
    )
    .expect(200);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": old, "password": PASSWORD})),
    )
    .expect(400);
    let new = s.wait_code("real@acme.test", 1);
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"invite": new, "password": PASSWORD})),
    )
    .expect(200);
}

#[test]
fn a_taken_username_is_told_only_to_the_mailbox() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    s.post("/user/create", &s.owner_token, json!({"email": "alice@acme.test", "role": "user", "username": "alice", "password": PASSWORD, "accountId": acc})).expect(201);
    let r = s
        .call(
            "POST",
            "/v1/register",
            None,
            Some(json!({"email": "new@solo.test", "password": PASSWORD, "username": "ALICE"})),
        )
        .expect(201);
    assert!(r.body["id"].is_string());
    for _ in 0..200 {
        if !s.mails_to("new@solo.test").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(s.mails_to("new@solo.test")[0].contains("Choose another username"));
    let r = s
        .post(
            "/user/find",
            &s.owner_token,
            json!({"email": "new@solo.test"}),
        )
        .expect(200);
    assert!(r.body["data"].as_array().unwrap().is_empty());
}

#[test]
fn asking_for_a_reset_again_does_not_void_the_first_code() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "user");
    let email = s.post("/user/get", &token, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..4 {
        s.call(
            "POST",
            "/v1/password/forgot",
            None,
            Some(json!({"email": email})),
        )
        .expect(202);
    }
    let first = s.wait_code(&email, 1);
    s.wait_code(&email, 3);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        s.mails_to(&email).len(),
        3,
        "at most three live reset codes"
    );
    s.call(
        "POST",
        "/v1/password/reset",
        None,
        Some(json!({"code": first, "password": "a fresh password"})),
    )
    .expect(204);
}

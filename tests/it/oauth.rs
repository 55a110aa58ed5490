//! RFC 7009 revocation and RFC 7662 introspection.

use crate::common::{TestServer, PASSWORD};
use serde_json::json;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[test]
fn revocation_ends_access_refresh_and_personal_tokens() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, access) = s.user(&acc, "user");
    let email = s.post("/user/get", &access, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let revoke = |body: String| s.raw("POST", "/v1/auth/revoke", None, FORM, Some(body));
    // An access token alone.
    let r = revoke(format!("token={access}&token_type_hint=access_token")).expect(200);
    assert_eq!(
        (r.header("cache-control"), r.header("pragma")),
        (Some("no-store"), Some("no-cache"))
    );
    s.get("/v1/accounts", &access).expect(401);
    // A refresh token: its whole session, access tokens included.
    let login = s.try_login(&email, PASSWORD).expect(200).body;
    let (token, refresh) = (
        login["token"].as_str().unwrap().to_string(),
        login["refreshToken"].as_str().unwrap().to_string(),
    );
    s.get("/v1/accounts", &token).expect(200);
    let r = s.call(
        "POST",
        "/v1/auth/revoke",
        None,
        Some(json!({"token": refresh})),
    );
    r.expect(200);
    s.get("/v1/accounts", &token).expect(401);
    // A personal access token.
    let other = s.try_login(&email, PASSWORD).expect(200).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let pat = s
        .post("/v1/tokens", &other, json!({"description": "ci"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.get("/v1/accounts", &pat).expect(200);
    revoke(format!("token={pat}")).expect(200);
    s.get("/v1/accounts", &pat).expect(401);
    // Tokens that do not work are the same 200; a request without one is an RFC 6749 error.
    for junk in ["token=nonsense", "token=rt_x.y", "token=pat_nope"] {
        revoke(junk.into()).expect(200);
    }
    let bad = revoke("token_type_hint=access_token".into()).expect(400);
    assert_eq!(bad.body["error"], "invalid_request");
    let bad = revoke(format!("token={other}&token_type_hint=id_token")).expect(400);
    assert_eq!(bad.body["error"], "invalid_request");
    s.get("/v1/accounts", &other).expect(200);
    let audit = s.get("/v1/audit?filter=token.revoke", &s.owner_token).body;
    let by_user = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actorId"] == json!(uid))
        .count();
    assert_eq!(by_user, 2, "{audit}");
}

#[test]
fn introspection_tells_admins_about_their_trees_tokens_only() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let (_, admin) = s.user(&acc, "admin");
    let email = s.post("/user/get", &user, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = s.try_login(&email, PASSWORD).expect(200).body["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let introspect = |caller: &str, token: &str| {
        s.raw(
            "POST",
            "/v1/auth/introspect",
            Some(caller),
            FORM,
            Some(format!("token={token}")),
        )
    };
    let r = introspect(&admin, &user).expect(200);
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let b = r.body;
    assert_eq!(
        (&b["active"], &b["sub"], &b["token_type"]),
        (&json!(true), &json!(uid), &json!("access_token"))
    );
    assert_eq!(
        (&b["username"], &b["role"], &b["acc"]),
        (&json!(email), &json!("user"), &json!(acc))
    );
    assert!(b["exp"].as_i64().unwrap() > b["iat"].as_i64().unwrap());
    assert!(b["jti"].is_string() && b["sid"].is_string() && b["iss"].is_string());
    let b = introspect(&admin, &refresh).expect(200).body;
    assert_eq!(
        (&b["active"], &b["token_type"]),
        (&json!(true), &json!("refresh_token"))
    );
    // The owner is outside the admin's tree: inactive, as is anything that does not work.
    for token in [s.owner_token.as_str(), "nonsense", "rt_x.y"] {
        assert_eq!(
            introspect(&admin, token).expect(200).body,
            json!({"active": false})
        );
    }
    s.post("/user/logout", &user, json!({})).expect(204);
    assert_eq!(
        introspect(&admin, &user).expect(200).body,
        json!({"active": false})
    );
    // Only admins and the owner introspect.
    let (_, plain) = s.user(&acc, "user");
    introspect(&plain, &plain).expect(403);
    s.raw(
        "POST",
        "/v1/auth/introspect",
        None,
        FORM,
        Some("token=x".into()),
    )
    .expect(401);
}

#[test]
fn oauth_endpoints_answer_rfc_6749_errors_for_a_nul_in_the_query() {
    let s = TestServer::start();
    for path in ["/v1/auth/token", "/v1/auth/revoke", "/v1/auth/introspect"] {
        let r = s.raw(
            "POST",
            &format!("{path}?x=%00"),
            Some(&s.owner_token),
            FORM,
            Some("token=%00".into()),
        );
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_request", "{path}");
    }
}

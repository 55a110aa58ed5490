//! OAuth clients: the owner's registry, and client authentication at the token,
//! introspection and revocation endpoints (RFC 6749 section 2.3).

use crate::common::{TestServer, OWNER_EMAIL, PASSWORD};
use base64::Engine;
use serde_json::{json, Value};

const FORM: &str = "application/x-www-form-urlencoded";

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn register(s: &TestServer, name: &str, confidential: bool) -> Value {
    s.post(
        "/v1/clients",
        &s.owner_token,
        json!({"name": name, "confidential": confidential}),
    )
    .expect(201)
    .body
}

fn password_grant() -> String {
    format!(
        "grant_type=password&username=owner%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    )
}

fn token(s: &TestServer, headers: &[(&str, &str)], body: String) -> crate::common::Resp {
    let mut all = vec![("Content-Type", FORM)];
    all.extend_from_slice(headers);
    s.send("POST", "/v1/auth/token", &all, Some(body))
}

#[test]
fn the_owner_registers_clients_and_sees_each_secret_once() {
    let s = TestServer::start();
    let server = register(&s, "billing backend", true);
    let id = server["client_id"].as_str().unwrap();
    let secret = server["client_secret"].as_str().unwrap();
    assert!(
        id.starts_with("cl_") && secret.starts_with("cs_"),
        "{server}"
    );
    assert_eq!(server["token_endpoint_auth_method"], "client_secret_basic");
    let spa = register(&s, "dashboard", false);
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert_eq!(spa["token_endpoint_auth_method"], "none");
    let list = s.get("/v1/clients", &s.owner_token).expect(200).body;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(
        data.iter().all(|c| c.get("client_secret").is_none()),
        "{list}"
    );
    let named = s.get("/v1/clients?filter=DASH", &s.owner_token).body;
    assert_eq!(named["data"][0]["name"], "dashboard");
    // Only the owner.
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    s.get("/v1/clients", &admin).expect(403);
    s.post(
        "/v1/clients",
        &admin,
        json!({"name": "x", "confidential": true}),
    )
    .expect(403);
    // Bad bodies.
    for body in [
        json!({"name": " ", "confidential": true}),
        json!({"name": "x"}),
        json!({"name": "x", "confidential": "yes"}),
        json!({"name": "x", "confidential": true, "extra": 1}),
    ] {
        s.post("/v1/clients", &s.owner_token, body).expect(400);
    }
    s.delete(&format!("/v1/clients/{id}"), &s.owner_token)
        .expect(204);
    s.delete(&format!("/v1/clients/{id}"), &s.owner_token)
        .expect(404);
    let audit = s.get("/v1/audit?filter=client.", &s.owner_token).body;
    assert_eq!(audit["data"].as_array().unwrap().len(), 3, "{audit}");
}

#[test]
fn the_token_endpoint_authenticates_clients_by_each_method() {
    let s = TestServer::start();
    let server = register(&s, "backend", true);
    let (id, secret) = (
        server["client_id"].as_str().unwrap(),
        server["client_secret"].as_str().unwrap(),
    );
    let public = register(&s, "spa", false);
    let public_id = public["client_id"].as_str().unwrap();
    // client_secret_basic, client_secret_post, none; and no client at all, as before.
    token(
        &s,
        &[("Authorization", &basic(id, secret))],
        password_grant(),
    )
    .expect(200);
    let post = format!("{}&client_id={id}&client_secret={secret}", password_grant());
    token(&s, &[], post).expect(200);
    token(
        &s,
        &[],
        format!("{}&client_id={public_id}", password_grant()),
    )
    .expect(200);
    token(&s, &[], password_grant()).expect(200);
    // Refusals: 401 invalid_client, with the Basic challenge only when Basic was tried.
    let wrong = token(
        &s,
        &[("Authorization", &basic(id, "cs_wrong"))],
        password_grant(),
    )
    .expect(401);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"accountd\"")
    );
    assert_eq!(wrong.header("cache-control"), Some("no-store"));
    for body in [
        format!("{}&client_id={id}", password_grant()),
        format!("{}&client_id={public_id}&client_secret=x", password_grant()),
        format!("{}&client_id=cl_unknown&client_secret=x", password_grant()),
        format!("{}&client_id=cl_unknown", password_grant()),
    ] {
        let r = token(&s, &[], body.clone()).expect(401);
        assert_eq!(r.body["error"], "invalid_client", "{body}");
        assert_eq!(r.header("www-authenticate"), None, "{body}");
    }
    let r = token(
        &s,
        &[("Authorization", "Basic not base64!")],
        password_grant(),
    )
    .expect(401);
    assert_eq!(r.body["error"], "invalid_client");
    // Two methods at once, or a secret without an id: invalid_request.
    let both = format!("{}&client_id={id}", password_grant());
    let r = token(&s, &[("Authorization", &basic(id, secret))], both).expect(400);
    assert_eq!(r.body["error"], "invalid_request");
    let r = token(&s, &[], format!("{}&client_secret=x", password_grant())).expect(400);
    assert_eq!(r.body["error"], "invalid_request");
    // The metadata names the methods.
    let meta = s
        .call("GET", "/.well-known/oauth-authorization-server", None, None)
        .expect(200)
        .body;
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
}

#[test]
fn a_refresh_token_works_only_for_its_client_and_dies_with_it() {
    let s = TestServer::start();
    let a = register(&s, "a", true);
    let b = register(&s, "b", false);
    let (a_id, a_secret) = (
        a["client_id"].as_str().unwrap(),
        a["client_secret"].as_str().unwrap(),
    );
    let b_id = b["client_id"].as_str().unwrap();
    let a_auth = basic(a_id, a_secret);
    let tokens = token(&s, &[("Authorization", &a_auth)], password_grant())
        .expect(200)
        .body;
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );
    let grant = format!("grant_type=refresh_token&refresh_token={refresh}");
    // Another client, or none: refused, and the token is not used up.
    for (headers, body) in [
        (vec![], grant.clone()),
        (vec![], format!("{grant}&client_id={b_id}")),
    ] {
        let r = token(&s, &headers, body).expect(400);
        assert_eq!(r.body["error"], "invalid_grant");
    }
    let next = token(&s, &[("Authorization", &a_auth)], grant)
        .expect(200)
        .body;
    let refresh = next["refresh_token"].as_str().unwrap();
    // The session names its client.
    let sessions = s.get("/v1/sessions", access).expect(200).body;
    let mine: Vec<&Value> = sessions["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["clientId"] == json!(a_id))
        .collect();
    assert_eq!(mine.len(), 1, "{sessions}");
    // Introspection by the client itself (a resource server).
    let r = s.send(
        "POST",
        "/v1/auth/introspect",
        &[("Authorization", &a_auth), ("Content-Type", FORM)],
        Some(format!("token={access}")),
    );
    assert_eq!(r.expect(200).body["active"], true);
    // Deleting the client ends its sessions and its authentication.
    s.delete(&format!("/v1/clients/{a_id}"), &s.owner_token)
        .expect(204);
    let after = next["access_token"].as_str().unwrap();
    s.get("/v1/accounts", after).expect(401);
    let grant = format!("grant_type=refresh_token&refresh_token={refresh}");
    token(&s, &[("Authorization", &a_auth)], grant).expect(401);
    let owner = s.login(OWNER_EMAIL, PASSWORD);
    s.get("/v1/accounts", &owner).expect(200);
}

#[test]
fn introspection_takes_a_confidential_client_but_not_a_public_one() {
    let s = TestServer::start();
    let server = register(&s, "resource server", true);
    let (id, secret) = (
        server["client_id"].as_str().unwrap(),
        server["client_secret"].as_str().unwrap(),
    );
    let public_id = register(&s, "spa", false)["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let introspect = |headers: &[(&str, &str)], body: String| {
        let mut all = vec![("Content-Type", FORM)];
        all.extend_from_slice(headers);
        s.send("POST", "/v1/auth/introspect", &all, Some(body))
    };
    let post = format!("token={user}&client_id={id}&client_secret={secret}");
    let r = introspect(&[], post).expect(200).body;
    assert_eq!(
        (r["active"].clone(), r["sub"].clone()),
        (json!(true), json!(uid))
    );
    let r = introspect(
        &[("Authorization", &basic(id, secret))],
        format!("token={user}"),
    );
    assert_eq!(r.expect(200).body["active"], true);
    let r = introspect(
        &[],
        format!("token=junk&client_id={id}&client_secret={secret}"),
    );
    assert_eq!(r.expect(200).body["active"], false);
    for body in [
        format!("token={user}&client_id={public_id}"),
        format!("token={user}&client_id={id}&client_secret=wrong"),
    ] {
        let r = introspect(&[], body).expect(401);
        assert_eq!(r.body["error"], "invalid_client");
    }
    // Without any credential it is still the bearer's 401, and a plain user's 403.
    introspect(&[], format!("token={user}")).expect(401);
    let auth = format!("Bearer {user}");
    introspect(&[("Authorization", &auth)], format!("token={user}")).expect(403);
    // Revocation checks a client that presents itself.
    let r = s.send(
        "POST",
        "/v1/auth/revoke",
        &[("Content-Type", FORM)],
        Some(format!("token={user}&client_id={id}&client_secret=wrong")),
    );
    assert_eq!(r.expect(401).body["error"], "invalid_client");
    s.get("/v1/accounts", &user).expect(200);
    // A client revokes only what was issued to it (RFC 7009 section 2.1); without a client,
    // holding the token is enough.
    let r = s.send(
        "POST",
        "/v1/auth/revoke",
        &[("Content-Type", FORM)],
        Some(format!("token={user}&client_id={public_id}")),
    );
    assert_eq!(r.expect(400).body["error"], "unauthorized_client");
    s.get("/v1/accounts", &user).expect(200);
    let r = s.send(
        "POST",
        "/v1/auth/revoke",
        &[("Content-Type", FORM)],
        Some(format!("token={user}")),
    );
    r.expect(200);
    s.get("/v1/accounts", &user).expect(401);
    let mine = token(
        &s,
        &[],
        format!("{}&client_id={public_id}", password_grant()),
    )
    .expect(200)
    .body;
    let refresh = mine["refresh_token"].as_str().unwrap();
    let by = |who: &str| {
        s.send(
            "POST",
            "/v1/auth/revoke",
            &[("Content-Type", FORM)],
            Some(format!("token={refresh}&{who}")),
        )
    };
    by(&format!("client_id={id}&client_secret={secret}")).expect(400);
    by(&format!("client_id={public_id}")).expect(200);
    let access = mine["access_token"].as_str().unwrap();
    s.get("/v1/accounts", access).expect(401);
}

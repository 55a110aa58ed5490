//! A user's lifecycle: deactivation blocks logins and ends every credential at once, on every
//! instance; activation lets the user log in again; `externalId` is the directory's id.

use crate::common::{Process, TestServer, PASSWORD};
use serde_json::json;

fn status_at(base: &str, path: &str, token: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn deactivation_ends_every_credential_everywhere_and_activation_restores_logins() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let email = "ada@example.test";
    let made = s
        .post(
            "/user/create",
            &admin,
            json!({"email": email, "role": "user", "password": PASSWORD, "externalId": "okta-1"}),
        )
        .expect(201)
        .body;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(
        (made["active"].clone(), made["externalId"].clone()),
        (json!(true), json!("okta-1"))
    );
    // One directory id per account.
    s.post(
        "/user/create",
        &admin,
        json!({"email": "bob@example.test", "role": "user", "password": PASSWORD, "externalId": "okta-1"}),
    )
    .expect(409);
    let login = s.try_login(email, PASSWORD).expect(200).body;
    let token = login["token"].as_str().unwrap().to_string();
    let refresh = login["refreshToken"].as_str().unwrap().to_string();
    let pat = s
        .post("/v1/tokens", &token, json!({"description": "ci"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Another instance on the same database (the same issuer: the first one's address).
    let issuer = {
        use base64::Engine;
        let claims = token.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap()["iss"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let other = Process::start(&s.db.url, &[("ISSUER", issuer.as_str())]);
    let me = format!("/v1/accounts/{acc}");
    for t in [&token, &pat] {
        assert_eq!(status_at(&other.base, &me, t), 200);
    }
    // Neither the user itself nor a plain user may deactivate; an admin may.
    s.post("/user/update", &token, json!({"active": false}))
        .expect(403);
    let off = s
        .post("/user/update", &admin, json!({"id": id, "active": false}))
        .expect(200)
        .body;
    assert_eq!(off["active"], false);
    for t in [&token, &pat] {
        s.get(&me, t).expect(401);
        assert_eq!(status_at(&other.base, &me, t), 401);
    }
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let ct = Some("application/x-www-form-urlencoded");
    s.raw("POST", "/v1/auth/token", None, ct, Some(form.clone()))
        .expect(400);
    let refused = s.try_login(email, PASSWORD).expect(403);
    assert_eq!(refused.body["error"], "user deactivated");
    // A wrong password still answers as for anyone: deactivation tells nothing without it.
    s.try_login(email, "wrong password!").expect(401);
    // Active again: logins work; the old credentials stay ended.
    let on = s
        .post("/user/update", &admin, json!({"id": id, "active": true}))
        .expect(200)
        .body;
    assert_eq!(on["active"], true);
    s.get(&me, &pat).expect(401);
    s.raw("POST", "/v1/auth/token", None, ct, Some(form))
        .expect(400);
    let fresh = s.login(email, PASSWORD);
    s.get(&me, &fresh).expect(200);
    // externalId changes and clears; the changes are events.
    let cleared = s
        .post(
            "/user/update",
            &admin,
            json!({"id": id, "externalId": null}),
        )
        .expect(200)
        .body;
    assert_eq!(cleared["externalId"], serde_json::Value::Null);
    let events = crate::events::eventually(&s, "/v1/events?type=user.deactivated", |e| {
        e["data"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(events["data"][0]["data"]["active"], false, "{events}");
}

#[test]
fn no_one_deactivates_itself_a_peer_or_the_last_admin() {
    let s = TestServer::start();
    let (acc, first_admin) = s.account("Acme");
    let (a1, admin1) = s.user(&acc, "admin");
    let (a2, _) = s.user(&acc, "admin");
    s.post("/user/update", &admin1, json!({"id": a1, "active": false}))
        .expect(403);
    s.post("/user/update", &admin1, json!({"id": a2, "active": false}))
        .expect(403);
    // The owner may; but not the last admin of an account.
    for id in [&a1, &a2] {
        s.post(
            "/user/update",
            &s.owner_token,
            json!({"id": id, "active": false}),
        )
        .expect(200);
    }
    s.post(
        "/user/update",
        &s.owner_token,
        json!({"id": first_admin, "active": false}),
    )
    .expect(409);
    s.post(
        "/user/update",
        &s.owner_token,
        json!({"id": a1, "active": "no"}),
    )
    .expect(400);
}

//! Login sessions: listed with where they started, ended at once on every instance.

use crate::common::{Process, TestServer, PASSWORD};
use serde_json::{json, Value};

/// Log in with a `User-Agent`: (access token, refresh token).
fn login_as(s: &TestServer, email: &str, agent: &str) -> (String, String) {
    let body = json!({"email": email, "password": PASSWORD}).to_string();
    let r = s
        .send(
            "POST",
            "/user/login",
            &[("Content-Type", "application/json"), ("User-Agent", agent)],
            Some(body),
        )
        .expect(200);
    let token = |k: &str| r.body[k].as_str().unwrap().to_string();
    (token("token"), token("refreshToken"))
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sessions_are_listed_and_ended_at_once_everywhere() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, _) = s.user(&acc, "user");
    let email = s.post("/user/get", &s.owner_token, json!({"id": uid})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let (laptop, _) = login_as(&s, &email, "Laptop/1.0");
    let (phone, phone_refresh) = login_as(&s, &email, "Phone/2.0\t");
    let page = s.get("/v1/sessions", &laptop).expect(200).body;
    let data = page["data"].as_array().unwrap();
    // The session `s.user` started, then the two.
    assert_eq!(data.len(), 3, "{page}");
    let laptop_row = &data[1];
    assert_eq!(laptop_row["userAgent"], "Laptop/1.0");
    assert_eq!(laptop_row["ip"], "127.0.0.1");
    assert_eq!(
        (&laptop_row["current"], &data[2]["current"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        data[2]["userAgent"], "Phone/2.0",
        "control characters dropped"
    );
    assert_eq!(laptop_row["mfa"], false);
    assert!(laptop_row["created"].is_string() && laptop_row["lastUsed"].is_string());
    let phone_id = data[2]["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&s.get("/v1/sessions?filter=phone", &laptop).expect(200).body),
        std::slice::from_ref(&phone_id)
    );
    // Another instance on the same database takes the phone's token until the session ends.
    let issuer = {
        use base64::Engine;
        let claims = phone.split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        serde_json::from_slice::<Value>(&claims).unwrap()["iss"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let other = Process::start(&s.db.url, &[("ISSUER", issuer.as_str())]);
    let read_there = |token: &str| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
            .get(format!("{}/v1/accounts", other.base))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(read_there(&phone), 200);
    // Someone else's session is not there to end; the user ends its own.
    s.delete(&format!("/v1/sessions/{phone_id}"), &s.user(&acc, "user").1)
        .expect(404);
    s.delete(&format!("/v1/sessions/{phone_id}"), &laptop)
        .expect(204);
    s.get("/v1/accounts", &phone).expect(401);
    assert_eq!(read_there(&phone), 401);
    let refreshed = s.raw(
        "POST",
        "/v1/auth/token",
        None,
        Some("application/x-www-form-urlencoded"),
        Some(format!(
            "grant_type=refresh_token&refresh_token={phone_refresh}"
        )),
    );
    assert_eq!(refreshed.body["error"], "invalid_grant");
    assert_eq!(
        ids(&s.get("/v1/sessions", &laptop).expect(200).body).len(),
        2
    );
    s.delete(&format!("/v1/sessions/{phone_id}"), &laptop)
        .expect(404);
    // An admin of the tree lists and ends them; a logout removes its own.
    let (_, admin) = s.user(&acc, "admin");
    let theirs = s
        .get(&format!("/v1/sessions?userId={uid}"), &admin)
        .expect(200)
        .body;
    assert_eq!(ids(&theirs).len(), 2);
    s.get(
        &format!("/v1/sessions?userId={uid}"),
        &s.user(&acc, "user").1,
    )
    .expect(404);
    let first = ids(&theirs)[0].clone();
    s.delete(&format!("/v1/sessions/{first}"), &admin)
        .expect(204);
    s.post("/user/logout", &laptop, json!({})).expect(204);
    assert!(ids(&s.get(&format!("/v1/sessions?userId={uid}"), &admin).body).is_empty());
}

use crate::common::{TestServer, PASSWORD};
use serde_json::json;

#[test]
fn personal_access_tokens_are_shown_once_and_work_as_bearer_and_query() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let r = s
        .post(
            "/v1/tokens",
            &user,
            json!({"description": "ci", "expiresAt": "2030-01-01T00:00:00Z"}),
        )
        .expect(201);
    let pat = r.body["token"].as_str().unwrap().to_string();
    assert!(pat.starts_with("pat_"));
    assert_eq!(r.body["expiresAt"], "2030-01-01T00:00:00Z");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let id = r.id();
    assert_eq!(s.post("/user/get", &pat, json!({})).expect(200).id(), uid);
    let q = s
        .call(
            "GET",
            &format!("/v1/accounts/{acc}?access_token={pat}"),
            None,
            None,
        )
        .expect(200);
    assert_eq!(q.body["id"], acc.as_str());
    // The list never shows the secret; lastUsed is kept.
    let list = s.get("/v1/tokens", &user).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert!(list["data"][0].get("token").is_none());
    assert!(list["data"][0]["lastUsed"].is_string());
    assert!(!list.to_string().contains(&pat));
    // Wrong, tampered and revoked tokens are 401.
    s.post("/user/get", &format!("{pat}x"), json!({}))
        .expect(401);
    s.call(
        "GET",
        &format!("/v1/accounts/{acc}?access_token=pat_nope"),
        None,
        None,
    )
    .expect(401);
    s.delete(&format!("/v1/tokens/{id}"), &user).expect(204);
    s.post("/user/get", &pat, json!({})).expect(401);
    s.delete(&format!("/v1/tokens/{id}"), &user).expect(404);
}

#[test]
fn token_input_is_checked() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, user) = s.user(&acc, "user");
    for body in [
        json!({}),
        json!({"description": ""}),
        json!({"description": "x", "expiresAt": "tomorrow"}),
        json!({"description": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
        json!({"description": "x", "scope": "all"}),
    ] {
        s.post("/v1/tokens", &user, body).expect(400);
    }
    s.get("/v1/tokens?limit=0", &user).expect(400);
}

#[test]
fn tokens_end_with_their_user_and_password() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let pat = s
        .post("/v1/tokens", &user, json!({"description": "a"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        "/user/password",
        &user,
        json!({"currentPassword": PASSWORD, "newPassword": "a new password"}),
    )
    .expect(204);
    s.post("/user/get", &pat, json!({})).expect(401);
    let email = s.post("/user/get", &s.owner_token, json!({"id": uid})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    let user = s.login(&email, "a new password");
    let pat = s
        .post("/v1/tokens", &user, json!({"description": "b"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Logging out with the token itself revokes it.
    s.post("/user/logout", &pat, json!({})).expect(204);
    s.post("/user/get", &pat, json!({})).expect(401);
    let pat = s
        .post("/v1/tokens", &user, json!({"description": "c"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.post("/user/remove", &s.owner_token, json!({"id": uid}))
        .expect(204);
    s.post("/user/get", &pat, json!({})).expect(401);
}

#[test]
fn admins_mint_and_list_tokens_for_their_tree_only() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (_, admin) = s.user(&acc, "admin");
    let (uid, user) = s.user(&acc, "user");
    let (foreign, _) = s.user(&other, "user");
    let r = s
        .post(
            "/v1/tokens",
            &admin,
            json!({"description": "for user", "userId": uid}),
        )
        .expect(201);
    let pat = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(s.post("/user/get", &pat, json!({})).expect(200).id(), uid);
    s.post(
        "/v1/tokens",
        &admin,
        json!({"description": "x", "userId": foreign}),
    )
    .expect(404);
    s.post(
        "/v1/tokens",
        &user,
        json!({"description": "x", "userId": foreign}),
    )
    .expect(404);
    assert_eq!(
        s.get(&format!("/v1/tokens?userId={uid}"), &admin)
            .expect(200)
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.get(&format!("/v1/tokens?userId={foreign}"), &admin)
        .expect(404);
    // Validation: own tokens, tokens of the tree for admins, any for the owner; else 401.
    let v = s
        .post("/v1/tokens/validate", &user, json!({"token": pat}))
        .expect(200);
    assert_eq!(
        (
            v.body["id"].as_str(),
            v.body["accountId"].as_str(),
            v.body["role"].as_str()
        ),
        (Some(uid.as_str()), Some(acc.as_str()), Some("user"))
    );
    s.post("/v1/tokens/validate", &admin, json!({"token": pat}))
        .expect(200);
    s.post("/v1/tokens/validate", &s.owner_token, json!({"token": pat}))
        .expect(200);
    let (_, other_user) = s.user(&other, "user");
    s.post("/v1/tokens/validate", &other_user, json!({"token": pat}))
        .expect(401);
    s.post(
        "/v1/tokens/validate",
        &user,
        json!({"token": "pat_garbage"}),
    )
    .expect(401);
    // A validation is not a use: a token only validated (by an admin, or refused to someone
    // outside its tree) was never used (issue 21).
    let fresh = s
        .post("/v1/tokens", &user, json!({"description": "fresh"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.post("/v1/tokens/validate", &admin, json!({"token": fresh}))
        .expect(200);
    s.post("/v1/tokens/validate", &other_user, json!({"token": fresh}))
        .expect(401);
    let list = s.get("/v1/tokens?filter=fresh", &user).expect(200).body;
    assert_eq!(
        list["data"][0]["lastUsed"],
        serde_json::Value::Null,
        "{list}"
    );
    // An access token validates too.
    assert_eq!(
        s.post("/v1/tokens/validate", &user, json!({"token": user}))
            .expect(200)
            .body["id"],
        uid.as_str()
    );
    let id = r.id();
    s.delete(&format!("/v1/tokens/{id}"), &other_user)
        .expect(404);
    s.delete(&format!("/v1/tokens/{id}"), &admin).expect(204);
}

#[test]
fn admins_mint_tokens_only_for_users_below_them() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (peer, _) = s.user(&acc, "admin");
    s.post(
        "/v1/tokens",
        &admin,
        json!({"description": "x", "userId": peer}),
    )
    .expect(403);
    s.post(
        "/v1/tokens",
        &s.owner_token,
        json!({"description": "x", "userId": peer}),
    )
    .expect(201);
}

//! One test per RPC method, with the frame shape of the seed document.

use crate::common::{TestServer, PASSWORD};
use serde_json::{json, Value};

fn frame(method: &str, args: Value) -> Value {
    json!({"v": 2, "src": "device_123", "id": 123, "method": format!("/v1/Account.{method}"), "args": args})
}

/// Send a frame; answer (result, error code).
fn call(s: &TestServer, token: Option<&str>, method: &str, args: Value) -> (Value, Option<u64>) {
    let r = s
        .call("POST", "/rpc", token, Some(frame(method, args)))
        .expect(200);
    assert_eq!(
        (
            r.body["v"].as_i64(),
            r.body["src"].as_str(),
            r.body["dst"].as_str(),
            r.body["id"].as_i64()
        ),
        (Some(2), Some("accountd"), Some("device_123"), Some(123))
    );
    (
        r.body.get("result").cloned().unwrap_or(Value::Null),
        r.body["error"]["code"].as_u64(),
    )
}

#[test]
fn a_method_with_nothing_to_answer_answers_result_null() {
    let s = TestServer::start();
    let (_, admin) = admin(&s);
    let r = s
        .call(
            "POST",
            "/rpc",
            Some(&admin),
            Some(frame("CreateGroup", json!({"id": "ops"}))),
        )
        .expect(200);
    assert_eq!(r.body.get("result"), Some(&Value::Null), "{}", r.body);
    assert_eq!(r.body.get("error"), None);
}

fn ok(s: &TestServer, token: Option<&str>, method: &str, args: Value) -> Value {
    let (result, err) = call(s, token, method, args.clone());
    assert_eq!(err, None, "{method} {args}: error");
    result
}

fn err(s: &TestServer, token: Option<&str>, method: &str, args: Value) -> u64 {
    call(s, token, method, args)
        .1
        .unwrap_or_else(|| panic!("{method}: expected an error"))
}

fn admin(s: &TestServer) -> (String, String) {
    let (acc, _) = s.account("Acme");
    let (_, token) = s.user(&acc, "admin");
    (acc, token)
}

#[test]
fn rpc_login() {
    let s = TestServer::start();
    let r = ok(
        &s,
        None,
        "Login",
        json!({"username": "owner@example.com", "password": PASSWORD}),
    );
    let token = r["token"].as_str().unwrap();
    assert_eq!(
        s.post("/user/get", token, json!({})).expect(200).id(),
        r["id"].as_str().unwrap()
    );
    assert_eq!(
        err(
            &s,
            None,
            "Login",
            json!({"username": "owner@example.com", "password": "wrong password"})
        ),
        401
    );
    assert_eq!(err(&s, None, "Login", json!({"username": "x"})), 400);
}

#[test]
fn rpc_register_user() {
    let s = TestServer::start();
    let r = ok(
        &s,
        None,
        "RegisterUser",
        json!({"email": "rpc@solo.test", "password": PASSWORD, "username": "rpcuser"}),
    );
    assert!(r["id"].is_string());
    s.wait_code("rpc@solo.test", 1);
    // Registered, not yet confirmed: the username exists and cannot log in.
    let r = s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"username": "rpcuser", "password": PASSWORD})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        err(
            &s,
            None,
            "RegisterUser",
            json!({"email": "bad", "password": "x"})
        ),
        400
    );
}

#[test]
fn rpc_confirm_user_registration() {
    let s = TestServer::start();
    let id = ok(
        &s,
        None,
        "RegisterUser",
        json!({"email": "rpc@solo.test", "password": PASSWORD}),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code = s.wait_code("rpc@solo.test", 1);
    let c = ok(&s, None, "ConfirmUserRegistration", json!({"code": code}));
    assert_eq!(c["id"], id.as_str());
    s.post("/user/get", c["token"].as_str().unwrap(), json!({}))
        .expect(200);
    assert_eq!(
        err(&s, None, "ConfirmUserRegistration", json!({"code": code})),
        400
    );
}

#[test]
fn rpc_create_user() {
    let s = TestServer::start();
    let (acc, admin) = admin(&s);
    let r = ok(
        &s,
        Some(&admin),
        "CreateUser",
        json!({"id": "u-rpc", "email": "made@acme.test", "name": "Made By RPC", "password": PASSWORD}),
    );
    assert_eq!(r, Value::Null);
    let u = s
        .post("/user/get", &admin, json!({"id": "u-rpc"}))
        .expect(200);
    assert_eq!(
        (
            u.body["accountId"].as_str(),
            u.body["first"].as_str(),
            u.body["role"].as_str()
        ),
        (Some(acc.as_str()), Some("Made By RPC"), Some("user"))
    );
    s.login("made@acme.test", PASSWORD);
    assert_eq!(
        err(
            &s,
            None,
            "CreateUser",
            json!({"email": "x@acme.test", "name": "x", "password": PASSWORD})
        ),
        401
    );
    let (_, user) = s.user(&acc, "user");
    assert_eq!(
        err(
            &s,
            Some(&user),
            "CreateUser",
            json!({"email": "x@acme.test", "name": "x", "password": PASSWORD})
        ),
        403
    );
    assert_eq!(
        err(
            &s,
            Some(&admin),
            "CreateUser",
            json!({"email": "made@acme.test", "name": "x", "password": PASSWORD})
        ),
        409
    );
}

fn info_user(s: &TestServer) -> String {
    let (_, admin) = admin(s);
    s.post("/user/create", &admin, json!({"email": "info@acme.test", "role": "user", "username": "infouser", "password": PASSWORD, "id": "info-1"})).expect(201);
    admin
}

#[test]
fn rpc_get_info() {
    let s = TestServer::start();
    let admin = info_user(&s);
    assert_eq!(
        ok(&s, Some(&admin), "GetInfo", json!({"id": "info-1"}))["email"],
        "info@acme.test"
    );
    assert_eq!(
        ok(&s, Some(&admin), "GetInfo", json!({"name": "infouser"}))["id"],
        "info-1"
    );
    assert_eq!(
        ok(
            &s,
            Some(&admin),
            "GetInfo",
            json!({"name": "INFO@acme.test"})
        )["id"],
        "info-1"
    );
    assert_eq!(
        err(&s, Some(&admin), "GetInfo", json!({"id": "nobody"})),
        404
    );
    assert_eq!(err(&s, Some(&admin), "GetInfo", json!({})), 400);
    assert_eq!(err(&s, None, "GetInfo", json!({"id": "info-1"})), 401);
}

#[test]
fn rpc_user_exists() {
    let s = TestServer::start();
    let admin = info_user(&s);
    assert_eq!(
        ok(&s, Some(&admin), "UserExists", json!({"name": "infouser"})),
        json!({"exists": true})
    );
    assert_eq!(
        ok(&s, Some(&admin), "UserExists", json!({"id": "nobody"})),
        json!({"exists": false})
    );
    // Users outside the caller's tree do not exist for it.
    let (other, _) = s.account("Other");
    let (_, other_admin) = s.user(&other, "admin");
    assert_eq!(
        ok(
            &s,
            Some(&other_admin),
            "UserExists",
            json!({"id": "info-1"})
        ),
        json!({"exists": false})
    );
}

fn pat(s: &TestServer, token: &str) -> String {
    ok(
        s,
        Some(token),
        "CreateToken",
        json!({"description": "device"}),
    )
    .as_str()
    .unwrap()
    .to_string()
}

#[test]
fn rpc_create_token() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let token = pat(&s, &user);
    assert!(token.starts_with("pat_"));
    assert_eq!(s.post("/user/get", &token, json!({})).expect(200).id(), uid);
    assert_eq!(err(&s, Some(&user), "CreateToken", json!({})), 400);
    assert_eq!(
        err(&s, None, "CreateToken", json!({"description": "x"})),
        401
    );
}

#[test]
fn rpc_list_tokens() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let token = pat(&s, &user);
    let list = ok(&s, Some(&user), "ListTokens", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["description"], "device");
    assert!(!list.to_string().contains(&token));
    // The token itself works as credentials for RPC too.
    assert_eq!(
        ok(&s, Some(&token), "ListTokens", json!({"account": uid}))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (other, _) = s.account("Other");
    let (foreign, _) = s.user(&other, "user");
    assert_eq!(
        err(&s, Some(&user), "ListTokens", json!({"account": foreign})),
        404
    );
}

#[test]
fn rpc_revoke_token() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, user) = s.user(&acc, "user");
    let token = pat(&s, &user);
    let id = ok(&s, Some(&user), "ListTokens", json!({}))[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ok(&s, Some(&user), "RevokeToken", json!({"id": id})),
        Value::Null
    );
    s.post("/user/get", &token, json!({})).expect(401);
    assert_eq!(err(&s, Some(&user), "RevokeToken", json!({"id": id})), 404);
}

#[test]
fn rpc_validate_token() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (uid, user) = s.user(&acc, "user");
    let token = pat(&s, &user);
    assert_eq!(
        ok(&s, Some(&user), "ValidateToken", json!({"token": token})),
        json!({"id": uid})
    );
    assert_eq!(
        err(
            &s,
            Some(&user),
            "ValidateToken",
            json!({"token": "pat_nope"})
        ),
        401
    );
    let (_, other) = s.user(&acc, "user");
    assert_eq!(
        err(&s, Some(&other), "ValidateToken", json!({"token": token})),
        401
    );
}

#[test]
fn rpc_create_group() {
    let s = TestServer::start();
    let (acc, admin) = admin(&s);
    assert_eq!(
        ok(
            &s,
            Some(&admin),
            "CreateGroup",
            json!({"id": "ops", "labels": {"team": "ops"}})
        ),
        Value::Null
    );
    assert_eq!(
        s.get("/v1/groups/ops", &admin).expect(200).body["labels"],
        json!({"team": "ops"})
    );
    assert_eq!(
        err(&s, Some(&admin), "CreateGroup", json!({"id": "ops"})),
        409
    );
    assert_eq!(
        err(
            &s,
            Some(&admin),
            "CreateGroup",
            json!({"id": "x", "labels": {"n": 1}})
        ),
        400
    );
    let (_, user) = s.user(&acc, "user");
    assert_eq!(err(&s, Some(&user), "CreateGroup", json!({"id": "x"})), 403);
}

#[test]
fn rpc_delete_group() {
    let s = TestServer::start();
    let (_, admin) = admin(&s);
    ok(&s, Some(&admin), "CreateGroup", json!({"id": "dev"}));
    assert_eq!(
        ok(&s, Some(&admin), "DeleteGroup", json!({"id": "dev"})),
        Value::Null
    );
    s.get("/v1/groups/dev", &admin).expect(404);
    assert_eq!(
        err(&s, Some(&admin), "DeleteGroup", json!({"id": "dev"})),
        404
    );
}

fn grouped(s: &TestServer) -> (String, String, String) {
    let (acc, admin) = admin(s);
    let (uid, user) = s.user(&acc, "user");
    ok(
        s,
        Some(&admin),
        "CreateGroup",
        json!({"id": "ops", "labels": {"team": "ops"}}),
    );
    ok(
        s,
        Some(&admin),
        "CreateGroup",
        json!({"id": "dev", "labels": {"team": "dev"}}),
    );
    (admin, uid, user)
}

#[test]
fn rpc_set_membership() {
    let s = TestServer::start();
    let (admin, uid, user) = grouped(&s);
    assert_eq!(
        ok(
            &s,
            Some(&admin),
            "SetMembership",
            json!({"account": uid, "group": "ops", "roles": ["viewer"]})
        ),
        Value::Null
    );
    assert_eq!(
        s.get(&format!("/v1/groups/ops/members/{uid}"), &admin)
            .expect(200)
            .body,
        json!({"roles": ["viewer"]})
    );
    ok(
        &s,
        Some(&admin),
        "SetMembership",
        json!({"account": uid, "group": "ops", "roles": []}),
    );
    assert_eq!(
        s.get(&format!("/v1/groups/ops/members/{uid}"), &admin)
            .expect(200)
            .body,
        json!({"roles": []})
    );
    assert_eq!(
        err(
            &s,
            Some(&admin),
            "SetMembership",
            json!({"account": uid, "group": "ops"})
        ),
        400
    );
    assert_eq!(
        err(
            &s,
            Some(&user),
            "SetMembership",
            json!({"account": uid, "group": "ops", "roles": ["x"]})
        ),
        403
    );
}

#[test]
fn rpc_get_membership() {
    let s = TestServer::start();
    let (admin, uid, user) = grouped(&s);
    ok(
        &s,
        Some(&admin),
        "SetMembership",
        json!({"account": uid, "group": "ops", "roles": ["editor", "viewer"]}),
    );
    assert_eq!(
        ok(
            &s,
            Some(&user),
            "GetMembership",
            json!({"account": uid, "group": "ops"})
        ),
        json!(["editor", "viewer"])
    );
    assert_eq!(
        ok(
            &s,
            Some(&user),
            "GetMembership",
            json!({"account": uid, "group": "dev"})
        ),
        json!([])
    );
    assert_eq!(
        err(
            &s,
            Some(&user),
            "GetMembership",
            json!({"account": uid, "group": "nope"})
        ),
        404
    );
}

#[test]
fn rpc_list_groups() {
    let s = TestServer::start();
    let (admin, uid, user) = grouped(&s);
    ok(
        &s,
        Some(&admin),
        "SetMembership",
        json!({"account": uid, "group": "ops", "roles": ["viewer"]}),
    );
    ok(
        &s,
        Some(&admin),
        "SetMembership",
        json!({"account": uid, "group": "dev", "roles": ["viewer"]}),
    );
    assert_eq!(
        ok(&s, Some(&user), "ListGroups", json!({}))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ops = ok(
        &s,
        Some(&admin),
        "ListGroups",
        json!({"account": uid, "labels": {"team": "ops"}}),
    );
    assert_eq!(ops.as_array().unwrap().len(), 1);
    assert_eq!(ops[0]["id"], "ops");
    assert!(ok(&s, Some(&admin), "ListGroups", json!({}))
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn malformed_frames_are_answered_in_kind() {
    let s = TestServer::start();
    let r = s
        .raw(
            "POST",
            "/rpc",
            None,
            Some("application/json"),
            Some("{not json".into()),
        )
        .expect(400);
    assert_eq!(r.body["error"]["code"], 400);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s
        .call(
            "POST",
            "/rpc",
            None,
            Some(json!({"v": 1, "id": 1, "method": "/v1/Account.Login"})),
        )
        .expect(400);
    assert_eq!(r.body["error"]["code"], 400);
    let r = s
        .call(
            "POST",
            "/rpc",
            None,
            Some(json!({"v": 2, "id": 1, "method": "/v1/Account.Nope", "args": {}})),
        )
        .expect(200);
    assert_eq!(r.body["error"]["code"], 404);
    let r = s.call("POST", "/rpc", None, Some(json!({"v": 2, "id": 1, "method": "/v1/Account.Login", "args": {"username": "a", "password": "b", "extra": 1}}))).expect(200);
    assert_eq!(r.body["error"]["code"], 400);
    let r = s
        .call(
            "POST",
            "/rpc",
            Some("garbage"),
            Some(frame("Login", json!({"username": "a", "password": "b"}))),
        )
        .expect(200);
    assert_eq!(r.body["error"]["code"], 401);
}

#[test]
fn public_methods_ignore_stale_credentials() {
    let s = TestServer::start();
    let stale = s.login("owner@example.com", PASSWORD);
    s.post("/user/logout", &stale, json!({})).expect(204);
    ok(
        &s,
        Some(&stale),
        "Login",
        json!({"username": "owner@example.com", "password": PASSWORD}),
    );
    assert_eq!(err(&s, Some(&stale), "ListTokens", json!({})), 401);
}

/// `ListTokens` and `ListGroups` answer every item, past the 1,000 of one page (issue 21: they
/// stopped at 1,000 without saying so).
#[test]
fn rpc_lists_answer_every_item_past_one_page() {
    let s = TestServer::start();
    let (acc, admin) = admin(&s);
    let (uid, user) = s.user(&acc, "user");
    const N: usize = 1001;
    std::thread::scope(|scope| {
        for part in 0..4 {
            let (s, admin, user, uid) = (&s, &admin, &user, &uid);
            scope.spawn(move || {
                for i in (part..N).step_by(4) {
                    s.post("/v1/tokens", user, json!({"description": format!("t{i}")}))
                        .expect(201);
                    s.post("/v1/groups", admin, json!({"id": format!("g{i}")}))
                        .expect(201);
                    s.put(
                        &format!("/v1/groups/g{i}/members/{uid}"),
                        admin,
                        json!({"roles": ["viewer"]}),
                    )
                    .expect(204);
                }
            });
        }
    });
    let tokens = ok(&s, Some(&user), "ListTokens", json!({}));
    assert_eq!(tokens.as_array().unwrap().len(), N);
    let groups = ok(&s, Some(&user), "ListGroups", json!({}));
    let names: std::collections::HashSet<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), N);
}

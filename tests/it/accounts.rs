use crate::common::TestServer;
use serde_json::json;

#[test]
fn the_owner_creates_an_account_with_its_invited_first_admin() {
    let s = TestServer::start();
    let r = s
        .post("/v1/accounts", &s.owner_token, json!({"name": "Acme", "email": "Boss@Acme.test", "deviceSeats": 10, "planId": "default"}))
        .expect(201);
    let (a, u) = (&r.body["account"], &r.body["user"]);
    assert_eq!(a["name"], "Acme");
    assert_eq!(a["email"], "Boss@Acme.test");
    assert_eq!(
        (
            a["deviceSeats"].as_i64(),
            a["usedDevices"].as_i64(),
            a["freeSeats"].as_i64()
        ),
        (Some(10), Some(0), Some(10))
    );
    assert_eq!(a["parentId"], serde_json::Value::Null);
    assert_eq!(a["planId"], "default");
    assert_eq!(
        (a["suspended"].as_bool(), a["closed"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(u["role"], "admin");
    assert_eq!(u["status"], "invited");
    assert_eq!(u["email"], "Boss@Acme.test");
    assert_eq!(u["accountId"], a["id"]);
    // An imported id is kept.
    let r = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": "Old", "email": "old@x.test", "id": "legacy-42"}),
        )
        .expect(201);
    assert_eq!(r.body["account"]["id"], "legacy-42");
    s.get("/v1/accounts/legacy-42", &s.owner_token).expect(200);
}

#[test]
fn duplicate_account_emails_and_ids_conflict() {
    let s = TestServer::start();
    s.post(
        "/v1/accounts",
        &s.owner_token,
        json!({"name": "A", "email": "a@x.test", "id": "dup"}),
    )
    .expect(201);
    let r = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": "B", "email": "A@X.TEST"}),
        )
        .expect(409);
    assert_eq!(r.body["error"], "email already in use");
    s.post(
        "/v1/accounts",
        &s.owner_token,
        json!({"name": "B", "email": "b@x.test", "id": "dup"}),
    )
    .expect(409);
    // Nothing half-written: the failed call left no user behind.
    s.post("/user/find", &s.owner_token, json!({"email": "b@x.test"}))
        .expect(200);
    let r = s
        .post("/user/find", &s.owner_token, json!({"email": "b@x.test"}))
        .expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_account_input_gets_one_message_per_problem() {
    let s = TestServer::start();
    let t = &s.owner_token;
    let r = s
        .post(
            "/v1/accounts",
            t,
            json!({"name": " ", "email": "nope", "deviceSeats": -1, "id": "bad id"}),
        )
        .expect(400);
    assert_eq!(r.errors().len(), 4, "{:?}", r.errors());
    assert!(r
        .errors()
        .contains(&"email: not a valid email address".to_string()));
    assert!(r.errors().iter().any(|e| e.starts_with("deviceSeats:")));
    let r = s
        .post(
            "/v1/accounts",
            t,
            json!({"name": "A", "email": "a@x.test", "colour": "red"}),
        )
        .expect(400);
    assert_eq!(r.errors(), vec!["colour: unknown field"]);
    let r = s
        .post(
            "/v1/accounts",
            t,
            json!({"name": "A", "email": "a@x.test", "deviceSeats": "ten"}),
        )
        .expect(400);
    assert!(
        r.errors()[0].starts_with("deviceSeats: invalid type"),
        "{:?}",
        r.errors()
    );
    let r = s
        .post("/v1/accounts", t, json!({"email": "a@x.test"}))
        .expect(400);
    assert_eq!(r.errors(), vec!["name: is required"]);
    s.post(
        "/v1/accounts",
        t,
        json!({"name": "A", "email": "a@x.test", "planId": "nope"}),
    )
    .expect(400);
    s.post(
        "/v1/accounts",
        t,
        json!({"name": "x".repeat(201), "email": "a@x.test"}),
    )
    .expect(400);
    let r = s
        .raw(
            "POST",
            "/v1/accounts",
            Some(t),
            Some("application/json"),
            Some("{\"name\": ".into()),
        )
        .expect(400);
    assert!(r.errors()[0].starts_with("body: malformed JSON"));
    s.raw(
        "POST",
        "/v1/accounts",
        Some(t),
        Some("application/json"),
        Some("[1,2]".into()),
    )
    .expect(400);
    s.raw(
        "POST",
        "/v1/accounts",
        Some(t),
        Some("text/plain"),
        Some("{}".into()),
    )
    .expect(415);
    let big = format!(
        "{{\"name\": \"{}\", \"email\": \"a@x.test\"}}",
        "x".repeat(70 * 1024)
    );
    s.raw(
        "POST",
        "/v1/accounts",
        Some(t),
        Some("application/json"),
        Some(big),
    )
    .expect(413);
}

#[test]
fn only_the_owner_creates_top_level_accounts() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    for t in [&admin, &user] {
        s.post("/v1/accounts", t, json!({"name": "X", "email": "x@x.test"}))
            .expect(403);
    }
}

#[test]
fn each_role_sees_the_accounts_of_its_tree() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let child = s.child(&acc, "Acme Child", 0);
    let grandchild = s.child(&child, "Acme Grandchild", 0);
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let (_, child_admin) = s.user(&child, "admin");
    let ids = |t: &str| -> Vec<String> {
        let r = s.get("/v1/accounts", t).expect(200);
        let mut v: Vec<String> = r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let mut tree = vec![acc.clone(), child.clone(), grandchild.clone()];
    tree.sort();
    assert_eq!(ids(&admin), tree);
    assert_eq!(ids(&user), vec![acc.clone()]);
    assert_eq!(ids(&s.owner_token).len(), 5);
    let mut below = vec![child.clone(), grandchild.clone()];
    below.sort();
    assert_eq!(ids(&child_admin), below);

    // One account: own yes; descendant for an admin; never an ancestor, a sibling or a foreign one.
    s.get(&format!("/v1/accounts/{acc}"), &user).expect(200);
    s.get(&format!("/v1/accounts/{child}"), &user).expect(404);
    s.get(&format!("/v1/accounts/{grandchild}"), &admin)
        .expect(200);
    s.get(&format!("/v1/accounts/{acc}"), &child_admin)
        .expect(404);
    s.get(&format!("/v1/accounts/{other}"), &admin).expect(404);
    s.get(&format!("/v1/accounts/{other}"), &s.owner_token)
        .expect(200);
    s.get("/v1/accounts/no-such-account", &s.owner_token)
        .expect(404);
    // The plan route reads the account with the credential too, by the same rules.
    let plan = |id: &str, t: &str| s.get(&format!("/v1/accounts/{id}/plan"), t).status;
    assert_eq!(plan(&acc, &user), 200);
    assert_eq!(plan(&child, &user), 404);
    assert_eq!(plan(&grandchild, &admin), 200);
    assert_eq!(plan(&acc, &child_admin), 404);
    assert_eq!(plan(&other, &admin), 404);
    assert_eq!(plan("no-such-account", &s.owner_token), 404);
    // And so does a personal access token.
    let pat = s
        .post("/v1/tokens", &child_admin, json!({"description": "ci"}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.get(&format!("/v1/accounts/{grandchild}"), &pat)
        .expect(200);
    s.get(&format!("/v1/accounts/{acc}"), &pat).expect(404);
    // Lists by email.
    let r = s
        .get("/v1/accounts?email=ACME%40NOWHERE.test", &s.owner_token)
        .expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
}

#[test]
fn admins_update_the_identity_of_their_tree_but_not_the_plan() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let child = s.child(&acc, "Child", 0);
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let r = s
        .put(
            &format!("/v1/accounts/{acc}"),
            &admin,
            json!({"name": "Acme Ltd", "email": "Ops@Acme.test"}),
        )
        .expect(200);
    assert_eq!(
        (r.body["name"].as_str(), r.body["email"].as_str()),
        (Some("Acme Ltd"), Some("Ops@Acme.test"))
    );
    s.put(
        &format!("/v1/accounts/{child}"),
        &admin,
        json!({"name": "Renamed child"}),
    )
    .expect(200);
    let r = s
        .put(
            &format!("/v1/accounts/{acc}"),
            &admin,
            json!({"planId": "default"}),
        )
        .expect(400);
    assert!(r.errors()[0].starts_with("planId:"));
    s.put(&format!("/v1/accounts/{acc}"), &user, json!({"name": "X"}))
        .expect(403);
    s.put(
        &format!("/v1/accounts/{other}"),
        &admin,
        json!({"name": "X"}),
    )
    .expect(404);
    let other_email = s.get(&format!("/v1/accounts/{other}"), &s.owner_token).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    s.put(
        &format!("/v1/accounts/{acc}"),
        &admin,
        json!({"email": other_email.to_uppercase()}),
    )
    .expect(409);
    s.put(&format!("/v1/accounts/{acc}"), &admin, json!({"name": ""}))
        .expect(400);
}

#[test]
fn delete_takes_only_empty_descendants_and_returns_their_seats() {
    let s = TestServer::start();
    let r = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": "Acme", "email": "a@acme.test", "deviceSeats": 10}),
        )
        .expect(201);
    let acc = r.body["account"]["id"].as_str().unwrap().to_string();
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let child = s.child(&acc, "Child", 4);
    let grandchild = s.child(&child, "Grandchild", 0);
    let busy = s.child(&acc, "Busy", 0);
    s.user(&busy, "user");
    s.delete(&format!("/v1/accounts/{acc}"), &admin).expect(403);
    s.delete(&format!("/v1/accounts/{child}"), &user)
        .expect(403);
    let r = s
        .delete(&format!("/v1/accounts/{child}"), &admin)
        .expect(409);
    assert_eq!(r.body["error"], "account still has child accounts");
    let r = s
        .delete(&format!("/v1/accounts/{busy}"), &admin)
        .expect(409);
    assert_eq!(r.body["error"], "account still has users");
    // A group keeps an account too, and says so (issue 21: it was a generic foreign-key 409).
    s.post(
        "/v1/groups",
        &admin,
        json!({"id": "crew", "accountId": grandchild}),
    )
    .expect(201);
    let r = s
        .delete(&format!("/v1/accounts/{grandchild}"), &admin)
        .expect(409);
    assert_eq!(r.body["error"], "account still has groups");
    s.delete(&format!("/v1/groups/crew?accountId={grandchild}"), &admin)
        .expect(204);
    s.delete(&format!("/v1/accounts/{grandchild}"), &admin)
        .expect(204);
    s.delete(&format!("/v1/accounts/{child}"), &admin)
        .expect(204);
    s.get(&format!("/v1/accounts/{child}"), &admin).expect(404);
    let r = s.get(&format!("/v1/accounts/{acc}"), &admin).expect(200);
    // The child's 4 seats came from the parent and went back to it.
    assert_eq!(r.body["deviceSeats"], 10);
    let (other, _) = s.account("Other");
    s.delete(&format!("/v1/accounts/{other}"), &admin)
        .expect(404);
    s.delete("/v1/accounts/nope", &s.owner_token).expect(404);
}

#[test]
fn plans_are_read_by_users_and_changed_by_the_owner() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let r = s
        .get(&format!("/v1/accounts/{acc}/plan"), &admin)
        .expect(200);
    assert_eq!(r.body["planId"], "default");
    for k in [
        "projectLimit",
        "componentLimit",
        "workerLimit",
        "storageLimit",
        "monthlyGasLimit",
        "monthlyUploadLimit",
    ] {
        assert!(r.body["planData"][k].is_i64(), "{k}");
    }
    let data = json!({"projectLimit": 1, "componentLimit": 2, "workerLimit": 3, "storageLimit": 4, "monthlyGasLimit": 5, "monthlyUploadLimit": 6});
    let p = s
        .post(
            "/v1/plans",
            &s.owner_token,
            json!({"id": "pro", "name": "Pro", "planData": data}),
        )
        .expect(201);
    assert_eq!(p.body["planData"], data);
    s.post(
        "/v1/plans",
        &admin,
        json!({"name": "Pro2", "planData": data}),
    )
    .expect(403);
    s.post(
        "/v1/plans",
        &s.owner_token,
        json!({"id": "pro", "name": "Pro", "planData": data}),
    )
    .expect(409);
    let r = s
        .post(
            "/v1/plans",
            &s.owner_token,
            json!({"name": "Bad", "planData": {"projectLimit": -1}}),
        )
        .expect(400);
    assert!(!r.errors().is_empty());
    s.post("/v1/plans", &s.owner_token, json!({"name": "Bad", "planData": {"projectLimit": -1, "componentLimit": 2, "workerLimit": 3, "storageLimit": 4, "monthlyGasLimit": 5, "monthlyUploadLimit": 6}}))
        .expect(400);
    s.get("/v1/plans/pro", &admin).expect(200);
    s.get("/v1/plans/nope", &admin).expect(404);
    assert_eq!(
        s.get("/v1/plans", &admin).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    s.put(
        &format!("/v1/accounts/{acc}/plan"),
        &admin,
        json!({"planId": "pro"}),
    )
    .expect(403);
    s.put(
        &format!("/v1/accounts/{acc}/plan"),
        &s.owner_token,
        json!({"planId": "nope"}),
    )
    .expect(400);
    s.put(
        &format!("/v1/accounts/{acc}/plan"),
        &s.owner_token,
        json!({"planId": "pro"}),
    )
    .expect(200);
    let r = s
        .get(&format!("/v1/accounts/{acc}/plan"), &admin)
        .expect(200);
    assert_eq!(
        (
            r.body["planId"].as_str(),
            r.body["planData"]["workerLimit"].as_i64()
        ),
        (Some("pro"), Some(3))
    );
    s.get("/v1/accounts/nope/plan", &admin).expect(404);
}

#[test]
fn account_users_lists_one_account_or_its_whole_tree() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let child = s.child(&acc, "Child", 0);
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    s.user(&child, "user");
    let count = |path: &str| {
        s.get(path, &admin).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&format!("/v1/accounts/{acc}/users")), 3);
    assert_eq!(
        count(&format!("/v1/accounts/{acc}/users?includeChildren=true")),
        4
    );
    assert_eq!(count(&format!("/v1/accounts/{child}/users")), 1);
    s.get(&format!("/v1/accounts/{acc}/users"), &user)
        .expect(403);
    s.get(
        &format!("/v1/accounts/{acc}/users?includeChildren=maybe"),
        &admin,
    )
    .expect(400);
    let (other, _) = s.account("Other");
    s.get(&format!("/v1/accounts/{other}/users"), &admin)
        .expect(404);
}

#[test]
fn account_pages_walk_forward_and_back_with_opaque_cursors() {
    let s = TestServer::start();
    for i in 0..5 {
        s.account(&format!("Page {i}"));
    }
    // Six accounts in all, with the owner's.
    let t = &s.owner_token;
    let p1 = s.get("/v1/accounts?limit=4", t).expect(200);
    assert_eq!(p1.body["data"].as_array().unwrap().len(), 4);
    assert!(p1.body["prev"].is_null());
    let next = p1.body["next"].as_str().unwrap();
    let p2 = s
        .get(&format!("/v1/accounts?limit=4&next={next}"), t)
        .expect(200);
    assert_eq!(p2.body["data"].as_array().unwrap().len(), 2);
    assert!(p2.body["next"].is_null());
    let prev = p2.body["prev"].as_str().unwrap();
    let back = s
        .get(&format!("/v1/accounts?limit=4&prev={prev}"), t)
        .expect(200);
    assert_eq!(back.body["data"], p1.body["data"]);
    assert!(back.body["prev"].is_null());
    // Filter: case-insensitive substring; `%` and `_` match only themselves.
    let r = s.get("/v1/accounts?filter=PAGE%203", t).expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let r = s.get("/v1/accounts?filter=%25", t).expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "next=garbage",
        "prev=%%%",
        "next=a&prev=b",
        "colour=red",
        "limit=1&limit=2",
    ] {
        let r = s.get(&format!("/v1/accounts?{bad}"), t).expect(400);
        assert!(!r.errors().is_empty(), "{bad}");
    }
    s.get("/v1/accounts?limit=1000", t).expect(200);
}

/// The credential checks of requests in flight together go out as one batch (one statement on
/// PostgreSQL, one read transaction on SQLite): each request must still get the answer for its
/// own credential and account.
#[test]
fn reads_in_flight_together_each_get_their_own_answer() {
    use diesel::prelude::*;
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let child = s.child(&acc, "Acme Child", 0);
    let blocked = s.child(&child, "Blocked", 0);
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let (_, child_user) = s.user(&child, "user");
    let (_, blocked_user) = s.user(&blocked, "user");
    let (_, gone) = s.user(&acc, "user");
    s.call("POST", "/user/logout", Some(&gone), None)
        .expect(204);
    {
        use accountd::db::schema::accounts::dsl;
        diesel::update(dsl::accounts.find(&child))
            .set(dsl::suspended.eq(true))
            .execute(&mut s.db.conn())
            .unwrap();
    }
    let cases = [
        (&admin, &acc, 200),
        (&admin, &blocked, 200),
        (&admin, &other, 404),
        (&user, &acc, 200),
        (&user, &child, 404),
        (&s.owner_token, &other, 200),
        (&child_user, &child, 403),
        (&blocked_user, &blocked, 403),
        (&gone, &acc, 401),
    ];
    std::thread::scope(|scope| {
        for _ in 0..4 {
            for (token, id, status) in &cases {
                let s = &s;
                scope.spawn(move || {
                    for _ in 0..10 {
                        let r = s.get(&format!("/v1/accounts/{id}"), token);
                        assert_eq!(r.status, *status, "{id}: {:?}", r.body);
                        if r.status == 200 {
                            assert_eq!(r.body["id"].as_str(), Some(id.as_str()));
                        }
                    }
                });
            }
        }
        // An id that PostgreSQL refuses as text is answered alone, not with a batch.
        scope.spawn(|| {
            for _ in 0..10 {
                let r = s.get("/v1/accounts/a%00b", &user);
                assert!((400..500).contains(&r.status), "{}", r.status);
            }
        });
    });
}

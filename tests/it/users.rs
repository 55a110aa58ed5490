use crate::common::{TestServer, PASSWORD};
use serde_json::json;

fn emails(r: &crate::common::Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn admins_create_users_in_their_tree_up_to_their_own_role() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let child = s.child(&acc, "Child", 0);
    let (other, _) = s.account("Other");
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let r = s
        .post("/user/create", &admin, json!({"email": "New@Acme.test", "role": "user", "first": "Ada", "last": "L", "username": "ada", "password": PASSWORD}))
        .expect(201);
    assert_eq!(r.body["accountId"], acc.as_str());
    assert_eq!(
        (r.body["status"].as_str(), r.body["verified"].as_bool()),
        (Some("active"), Some(true))
    );
    assert_eq!(
        (r.body["first"].as_str(), r.body["username"].as_str()),
        (Some("Ada"), Some("ada"))
    );
    assert!(r.body.get("passwordHash").is_none() && r.body.get("password").is_none());
    s.login("new@acme.test", PASSWORD);
    let r = s
        .post(
            "/user/create",
            &admin,
            json!({"email": "kid@acme.test", "role": "admin", "accountId": child}),
        )
        .expect(201);
    assert_eq!(
        (r.body["accountId"].as_str(), r.body["status"].as_str()),
        (Some(child.as_str()), Some("invited"))
    );
    s.post(
        "/user/create",
        &admin,
        json!({"email": "x@other.test", "role": "user", "accountId": other}),
    )
    .expect(404);
    s.post(
        "/user/create",
        &admin,
        json!({"email": "boss@acme.test", "role": "owner"}),
    )
    .expect(403);
    s.post(
        "/user/create",
        &user,
        json!({"email": "y@acme.test", "role": "user"}),
    )
    .expect(403);
    let r = s
        .post(
            "/user/create",
            &admin,
            json!({"email": "NEW@acme.test", "role": "user"}),
        )
        .expect(409);
    assert_eq!(r.body["error"], "email already in use");
    s.post(
        "/user/create",
        &admin,
        json!({"email": "other@acme.test", "role": "user", "username": "ADA"}),
    )
    .expect(409);
    let r = s
        .post("/user/create", &admin, json!({"email": "bad", "role": "root", "password": "x".repeat(73), "username": "a@b", "id": "no spaces"}))
        .expect(400);
    assert_eq!(r.errors().len(), 5, "{:?}", r.errors());
    s.post(
        "/user/create",
        &admin,
        json!({"email": "z@acme.test", "role": "public"}),
    )
    .expect(400);
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": "imported@acme.test", "role": "user", "id": "user-7", "accountId": acc}),
    )
    .expect(201);
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": "o2@example.test", "role": "owner", "password": PASSWORD}),
    )
    .expect(201);
}

#[test]
fn get_answers_the_caller_or_a_user_the_caller_may_see() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (admin_id, admin) = s.user(&acc, "admin");
    let (user_id, user) = s.user(&acc, "user");
    let (foreign_id, _) = s.user(&other, "user");
    assert_eq!(
        s.call("POST", "/user/get", Some(&user), None)
            .expect(200)
            .id(),
        user_id
    );
    assert_eq!(
        s.post("/user/get", &user, json!({})).expect(200).id(),
        user_id
    );
    s.post("/user/get", &user, json!({"id": admin_id}))
        .expect(404);
    assert_eq!(
        s.post("/user/get", &admin, json!({"id": user_id}))
            .expect(200)
            .id(),
        user_id
    );
    let email = s.post("/user/get", &admin, json!({"id": user_id})).body["email"]
        .as_str()
        .unwrap()
        .to_uppercase();
    assert_eq!(
        s.post("/user/get", &admin, json!({"email": email}))
            .expect(200)
            .id(),
        user_id
    );
    s.post("/user/get", &admin, json!({"id": foreign_id}))
        .expect(404);
    s.post("/user/get", &s.owner_token, json!({"id": foreign_id}))
        .expect(200);
    s.post("/user/get", &admin, json!({"id": "nobody"}))
        .expect(404);
    s.post("/user/get", &admin, json!({"name": "x"}))
        .expect(400);
}

#[test]
fn find_shows_a_plain_user_only_itself_and_an_admin_its_tree() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let child = s.child(&acc, "Child", 0);
    let (other, _) = s.account("Other");
    let (_, admin) = s.user(&acc, "admin");
    let (user_id, user) = s.user(&acc, "user");
    s.user(&child, "user");
    s.user(&other, "user");
    let r = s.post("/user/find", &user, json!({})).expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["data"][0]["id"], user_id.as_str());
    let r = s
        .post("/user/find", &user, json!({"role": "admin"}))
        .expect(200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    // Acme: invited first admin, admin, user; child: one user.
    assert_eq!(
        emails(&s.post("/user/find", &admin, json!({})).expect(200)).len(),
        4
    );
    assert_eq!(
        emails(
            &s.post("/user/find", &admin, json!({"accountId": child}))
                .expect(200)
        )
        .len(),
        1
    );
    assert_eq!(
        emails(
            &s.post("/user/find", &admin, json!({"role": "admin"}))
                .expect(200)
        )
        .len(),
        2
    );
    s.post("/user/find", &admin, json!({"accountId": other}))
        .expect(404);
    assert_eq!(
        emails(&s.post("/user/find", &s.owner_token, json!({})).expect(200)).len(),
        7
    );
    let r = s
        .post(
            "/user/find",
            &s.owner_token,
            json!({"filter": "USER-", "limit": 2}),
        )
        .expect(200);
    assert_eq!(emails(&r).len(), 2);
    let next = r.body["next"].as_str().unwrap();
    let r2 = s
        .post(
            "/user/find",
            &s.owner_token,
            json!({"filter": "user-", "limit": 2, "next": next}),
        )
        .expect(200);
    assert_eq!(emails(&r2).len(), 1);
    assert!(r2.body["next"].is_null());
    for bad in [
        json!({"limit": 0}),
        json!({"limit": "ten"}),
        json!({"next": "zzz"}),
        json!({"role": "boss"}),
        json!({"sort": "email"}),
    ] {
        s.post("/user/find", &admin, bad).expect(400);
    }
}

#[test]
fn users_update_themselves_and_admins_their_tree() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (admin_id, admin) = s.user(&acc, "admin");
    let (user_id, user) = s.user(&acc, "user");
    let (foreign, _) = s.user(&other, "user");
    let r = s
        .post(
            "/user/update",
            &user,
            json!({"first": "Grace", "preferences": {"theme": "dark", "n": 3}}),
        )
        .expect(200);
    assert_eq!(r.body["first"], "Grace");
    assert_eq!(r.body["preferences"], json!({"theme": "dark", "n": 3}));
    s.post("/user/update", &user, json!({"id": admin_id, "first": "X"}))
        .expect(404);
    let r = s
        .post(
            "/user/update",
            &admin,
            json!({"id": user_id, "last": "Hopper", "username": "grace"}),
        )
        .expect(200);
    assert_eq!(
        (r.body["first"].as_str(), r.body["last"].as_str()),
        (Some("Grace"), Some("Hopper"))
    );
    s.post("/user/update", &admin, json!({"id": foreign, "first": "X"}))
        .expect(404);
    let owner_id = s.post("/user/get", &s.owner_token, json!({})).id();
    s.post(
        "/user/update",
        &admin,
        json!({"id": owner_id, "first": "X"}),
    )
    .expect(404);
    let taken = s.post("/user/get", &admin, json!({})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    // One's own address taken by another user: the same answer as a free one (nothing changes;
    // the address is told by mail). Once 409, which told any user that the address existed.
    let r = s
        .post("/user/update", &user, json!({"email": taken}))
        .expect(200);
    assert_ne!(r.body["email"], taken.as_str());
    s.post("/user/update", &user, json!({"email": "not-an-email"}))
        .expect(400);
    s.post("/user/update", &user, json!({"preferences": "dark"}))
        .expect(400);
    s.post("/user/update", &user, json!({"role": "admin"}))
        .expect(400);
    s.post("/user/update", &user, json!({})).expect(200);
    // One's own new address takes effect when it confirms the mailed code.
    let before = s.post("/user/get", &user, json!({})).body["email"].clone();
    let r = s
        .post("/user/update", &user, json!({"email": "Grace@Acme.test"}))
        .expect(200);
    assert_eq!(r.body["email"], before);
    let code = s.wait_code("Grace@Acme.test", 1);
    let r = s
        .call(
            "POST",
            "/user/email/confirm",
            None,
            Some(json!({"code": code})),
        )
        .expect(200);
    assert_eq!(r.body["email"], "Grace@Acme.test");
    s.login("grace@acme.test", PASSWORD);
    s.call(
        "POST",
        "/user/email/confirm",
        None,
        Some(json!({"code": code})),
    )
    .expect(400);
    // Only the letter case: at once.
    let r = s
        .post("/user/update", &user, json!({"email": "GRACE@acme.test"}))
        .expect(200);
    assert_eq!(r.body["email"], "GRACE@acme.test");
}

#[test]
fn admins_cannot_touch_owners_placed_in_their_account() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (owner2, _) = s.user(&acc, "owner");
    s.post("/user/update", &admin, json!({"id": owner2, "first": "X"}))
        .expect(403);
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": owner2, "role": "user"}),
    )
    .expect(403);
    s.post("/user/remove", &admin, json!({"id": owner2}))
        .expect(403);
}

#[test]
fn roles_change_within_the_callers_own_role_and_never_leave_an_account_without_admin() {
    let s = TestServer::start();
    let (acc, first_admin) = s.account("Acme");
    let (user_id, _) = s.user(&acc, "user");
    let (admin_id, admin) = s.user(&acc, "admin");
    let r = s
        .post(
            "/user/updateRole",
            &admin,
            json!({"id": user_id, "role": "admin"}),
        )
        .expect(200);
    assert_eq!(r.body["role"], "admin");
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": user_id, "role": "owner"}),
    )
    .expect(403);
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": user_id, "role": "superuser"}),
    )
    .expect(400);
    s.post(
        "/user/updateRole",
        &admin,
        json!({"id": "nobody", "role": "user"}),
    )
    .expect(404);
    s.post(
        "/user/updateRole",
        &s.owner_token,
        json!({"id": user_id, "role": "user"}),
    )
    .expect(200);
    s.post(
        "/user/updateRole",
        &s.owner_token,
        json!({"id": first_admin, "role": "user"}),
    )
    .expect(200);
    // Now `admin` is the account's last admin.
    let r = s
        .post(
            "/user/updateRole",
            &admin,
            json!({"id": admin_id, "role": "user"}),
        )
        .expect(409);
    assert_eq!(
        r.body["error"],
        "cannot demote the last admin of an account"
    );
    let r = s
        .post("/user/remove", &s.owner_token, json!({"id": admin_id}))
        .expect(409);
    assert_eq!(
        r.body["error"],
        "cannot remove the last admin of an account"
    );
    // The last owner cannot be demoted or removed either.
    let owner_id = s.post("/user/get", &s.owner_token, json!({})).id();
    s.post(
        "/user/updateRole",
        &s.owner_token,
        json!({"id": owner_id, "role": "admin"}),
    )
    .expect(409);
    s.post("/user/remove", &s.owner_token, json!({"id": owner_id}))
        .expect(409);
}

#[test]
fn removal_follows_the_tree_and_the_last_admin_rule() {
    let s = TestServer::start();
    let (acc, first_admin) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (admin_id, admin) = s.user(&acc, "admin");
    let (user_id, user) = s.user(&acc, "user");
    let (foreign, _) = s.user(&other, "user");
    s.post("/user/remove", &user, json!({"id": admin_id}))
        .expect(403);
    s.post("/user/remove", &admin, json!({"id": foreign}))
        .expect(404);
    s.post("/user/remove", &admin, json!({})).expect(400);
    let email = s.post("/user/get", &admin, json!({"id": user_id})).body["email"]
        .as_str()
        .unwrap()
        .to_string();
    s.post("/user/remove", &admin, json!({"email": email}))
        .expect(204);
    s.post("/user/get", &admin, json!({"id": user_id}))
        .expect(404);
    s.post("/user/remove", &admin, json!({"id": first_admin}))
        .expect(204);
    // Own removal is allowed for a non-last admin only.
    let (_, admin2) = s.user(&acc, "admin");
    s.post("/user/remove", &admin2, json!({"id": admin_id}))
        .expect(204);
    let me = s.post("/user/get", &admin2, json!({})).id();
    s.post("/user/remove", &admin2, json!({"id": me}))
        .expect(409);
}

/// Two admins removing each other at the same time: one wins, the account keeps an admin.
#[test]
fn concurrent_removals_never_leave_an_account_without_admin() {
    let s = TestServer::start();
    let (acc, first_admin) = s.account("Acme");
    for _ in 0..3 {
        let (a, ta) = s.user(&acc, "admin");
        let (b, tb) = s.user(&acc, "admin");
        // Leave exactly the two of them.
        let before = s
            .post(
                "/user/find",
                &s.owner_token,
                json!({"accountId": acc, "role": "admin"}),
            )
            .expect(200);
        for u in before.body["data"].as_array().unwrap() {
            let id = u["id"].as_str().unwrap();
            if id != a && id != b {
                s.post("/user/remove", &s.owner_token, json!({"id": id}))
                    .expect(204);
            }
        }
        let (r1, r2) = std::thread::scope(|scope| {
            let h1 = scope.spawn(|| s.post("/user/remove", &ta, json!({"id": b})).status);
            let h2 = scope.spawn(|| s.post("/user/remove", &tb, json!({"id": a})).status);
            (h1.join().unwrap(), h2.join().unwrap())
        });
        let admins = s
            .post(
                "/user/find",
                &s.owner_token,
                json!({"accountId": acc, "role": "admin"}),
            )
            .expect(200);
        let left = admins.body["data"].as_array().unwrap().len();
        assert_eq!(left, 1, "statuses {r1} {r2}");
        assert!([r1, r2].contains(&204), "statuses {r1} {r2}");
    }
    let _ = first_admin;
}

#[test]
fn nul_characters_are_refused_everywhere_with_400() {
    let s = TestServer::start();
    let t = &s.owner_token;
    s.call(
        "POST",
        "/user/login",
        None,
        Some(json!({"email": "a\u{0}b@x.test", "password": "whatever1"})),
    )
    .expect(400);
    s.post("/user/update", t, json!({"first": "a\u{0}"}))
        .expect(400);
    s.get("/v1/accounts/%00", t).expect(400);
    s.get("/v1/accounts?filter=a%00", t).expect(400);
}

#[test]
fn filters_fold_case_beyond_ascii() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": "e@acme.test", "role": "user", "first": "ÉMILE", "accountId": acc}),
    )
    .expect(201);
    let r = s
        .post("/user/find", &s.owner_token, json!({"filter": "émile"}))
        .expect(200);
    assert_eq!(emails(&r), vec!["e@acme.test"]);
    let r = s
        .post("/user/find", &s.owner_token, json!({"filter": "Émi"}))
        .expect(200);
    assert_eq!(emails(&r).len(), 1);
}

#[test]
fn text_fields_refuse_control_and_invisible_characters() {
    let s = TestServer::start();
    let t = &s.owner_token;
    // Once accepted: `adm\u200bin` displays as `admin`.
    let r = s
        .post(
            "/user/create",
            t,
            json!({"email": "zw@x.test", "role": "user", "username": "adm\u{200b}in"}),
        )
        .expect(400);
    assert_eq!(
        r.errors(),
        ["username: must not contain control or invisible format characters"]
    );
    let r = s
        .post(
            "/user/create",
            t,
            json!({"email": "bell@x.test", "role": "user", "first": "Ada\u{7}"}),
        )
        .expect(400);
    assert_eq!(
        r.errors(),
        ["first: must not contain control or invisible format characters"]
    );
    s.post("/v1/tokens", t, json!({"description": "x\u{202e}y"}))
        .expect(400);
    let (parent, _) = s.account("Parent");
    s.form(
        "POST",
        &format!("/v1/accounts/{parent}/children"),
        t,
        "name=a%E2%80%8Bb",
    )
    .expect(400);
    // Preferences are the caller's own to shape, and a password may hold anything.
    s.post(
        "/user/update",
        t,
        json!({"preferences": {"note": "a\u{200b}b\nc"}}),
    )
    .expect(200);
    let pw = "pass\u{7}word\u{200b}";
    s.post(
        "/user/create",
        t,
        json!({"email": "pw@x.test", "role": "user", "password": pw}),
    )
    .expect(201);
    s.try_login("pw@x.test", pw).expect(200);
}

use crate::common::{TestServer, PASSWORD};
use serde_json::{json, Value};
use std::collections::HashSet;

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

fn seats(s: &TestServer, id: &str) -> (i64, i64, i64) {
    let a = s.account_json(id);
    (
        a["deviceSeats"].as_i64().unwrap(),
        a["usedDevices"].as_i64().unwrap(),
        a["freeSeats"].as_i64().unwrap(),
    )
}

/// A top-level account with `n` seats (owner call).
fn account_with_seats(s: &TestServer, name: &str, n: i64) -> String {
    let email = format!(
        "{}@{}.test",
        name.to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    let r = s
        .post(
            "/v1/accounts",
            &s.owner_token,
            json!({"name": name, "email": email, "deviceSeats": n}),
        )
        .expect(201);
    r.body["account"]["id"].as_str().unwrap().to_string()
}

#[test]
fn children_all_children_and_descendants_show_the_tree() {
    let s = TestServer::start();
    let root = account_with_seats(&s, "Root", 0);
    let a = s.child(&root, "A", 0);
    let b = s.child(&root, "B", 0);
    let a1 = s.child(&a, "A1", 0);
    let b1 = s.child(&b, "B1", 0);
    let a2 = s.child(&a, "A2", 0);
    let t = &s.owner_token;
    assert_eq!(
        ids(&s
            .get(&format!("/v1/accounts/{root}/children"), t)
            .expect(200)
            .body),
        [root.as_str(), a.as_str(), b.as_str()]
    );
    let all = s
        .get(&format!("/v1/accounts/{root}/allChildren"), t)
        .expect(200)
        .body;
    assert_eq!(
        ids(&all),
        [
            root.as_str(),
            a.as_str(),
            a1.as_str(),
            a2.as_str(),
            b.as_str(),
            b1.as_str()
        ]
    );
    assert!(all["next"].is_null() && all["prev"].is_null());
    let tree = s
        .get(&format!("/v1/accounts/{root}/descendants"), t)
        .expect(200)
        .body;
    assert_eq!(tree["id"], root.as_str());
    assert_eq!(tree["children"][0]["id"], a.as_str());
    assert_eq!(tree["children"][0]["children"][1]["id"], a2.as_str());
    assert_eq!(tree["children"][1]["children"][0]["id"], b1.as_str());
    assert_eq!(tree["children"][0]["parentId"], root.as_str());
    let shallow = s
        .get(&format!("/v1/accounts/{root}/descendants?maxDepth=1"), t)
        .expect(200)
        .body;
    assert_eq!(shallow["children"].as_array().unwrap().len(), 2);
    assert_eq!(shallow["children"][0]["children"], json!([]));
    let alone = s
        .get(&format!("/v1/accounts/{root}/descendants?maxDepth=0"), t)
        .expect(200)
        .body;
    assert_eq!(alone["children"], json!([]));
    // The child-account API's spelling answers the same.
    let alias = s
        .get(&format!("/v1/accounts/{root}/decendants?maxDepth=1"), t)
        .expect(200)
        .body;
    assert_eq!(alias, shallow);
    for bad in ["maxDepth=-1", "maxDepth=101", "maxDepth=two", "depth=1"] {
        s.get(&format!("/v1/accounts/{root}/descendants?{bad}"), t)
            .expect(400);
    }
    s.get(&format!("/v1/accounts/{root}/children?limit=5"), t)
        .expect(400);

    // An admin of A sees A's subtree only; a plain user only its own account.
    let (_, admin_a) = s.user(&a, "admin");
    let (_, user_a) = s.user(&a, "user");
    assert_eq!(
        ids(&s
            .get(&format!("/v1/accounts/{a}/allChildren"), &admin_a)
            .expect(200)
            .body),
        [a.as_str(), a1.as_str(), a2.as_str()]
    );
    s.get(&format!("/v1/accounts/{root}/allChildren"), &admin_a)
        .expect(404);
    s.get(&format!("/v1/accounts/{b}/children"), &admin_a)
        .expect(404);
    assert_eq!(
        ids(&s
            .get(&format!("/v1/accounts/{a}/children"), &user_a)
            .expect(200)
            .body),
        [a.as_str()]
    );
    assert_eq!(
        ids(&s
            .get(&format!("/v1/accounts/{a}/allChildren"), &user_a)
            .expect(200)
            .body),
        [a.as_str()]
    );
    assert_eq!(
        s.get(&format!("/v1/accounts/{a}/descendants"), &user_a)
            .expect(200)
            .body["children"],
        json!([])
    );
    s.get(&format!("/v1/accounts/{a1}/children"), &user_a)
        .expect(404);
    s.get("/v1/accounts/nope/allChildren", t).expect(404);
}

#[test]
fn a_child_takes_its_seats_from_the_parents_free_seats() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 10);
    let (_, admin) = s.user(&parent, "admin");
    let (_, user) = s.user(&parent, "user");
    let r = s
        .post(
            &format!("/v1/accounts/{parent}/children"),
            &admin,
            json!({"name": "Kid", "deviceSeats": 4, "email": "kid@x.test"}),
        )
        .expect(201);
    assert_eq!(
        (r.body["parentId"].as_str(), r.body["deviceSeats"].as_i64()),
        (Some(parent.as_str()), Some(4))
    );
    assert_eq!(seats(&s, &parent), (6, 0, 6));
    // curl-style form with the snake_case aliases.
    let r = s
        .form(
            "POST",
            &format!("/v1/accounts/{parent}/children"),
            &admin,
            "account_name=Form+Kid&device_seats=2",
        )
        .expect(201);
    assert_eq!(
        (r.body["name"].as_str(), r.body["deviceSeats"].as_i64()),
        (Some("Form Kid"), Some(2))
    );
    assert_eq!(seats(&s, &parent), (4, 0, 4));
    let r = s
        .post(
            &format!("/v1/accounts/{parent}/children"),
            &admin,
            json!({"name": "Greedy", "deviceSeats": 5}),
        )
        .expect(409);
    assert_eq!(r.body["error"], "not enough free seats: 4 free");
    assert_eq!(seats(&s, &parent), (4, 0, 4));
    // Bad input, each a 400 with the contract's body; nothing written.
    let path = format!("/v1/accounts/{parent}/children");
    for body in [
        json!({"name": "X", "deviceSeats": -1}),
        json!({"name": "X", "deviceSeats": "lots"}),
        json!({"deviceSeats": 1}),
        json!({"name": " "}),
        json!({"name": "X", "email": "no"}),
        json!({"name": "X", "colour": "red"}),
        json!({"name": "X", "account_name": "Y"}),
    ] {
        assert!(
            !s.post(&path, &admin, body.clone())
                .expect(400)
                .errors()
                .is_empty(),
            "{body}"
        );
    }
    let r = s
        .form(
            "POST",
            &path,
            &admin,
            "account_name=X&device_seats=1&colour=red",
        )
        .expect(400);
    assert_eq!(r.errors(), vec!["colour: unknown field"]);
    s.form("POST", &path, &admin, "account_name=X&device_seats=1.5")
        .expect(400);
    s.raw(
        "POST",
        &path,
        Some(&admin),
        Some("text/plain"),
        Some("name=X".into()),
    )
    .expect(415);
    s.post("/v1/accounts/nope/children", &admin, json!({"name": "X"}))
        .expect(404);
    s.post(&path, &user, json!({"name": "X"})).expect(403);
    assert_eq!(seats(&s, &parent), (4, 0, 4));
    assert_eq!(
        ids(&s
            .get(&format!("/v1/accounts/{parent}/children"), &admin)
            .body)
        .len(),
        3
    );
}

#[test]
fn curl_style_edit_moves_seats_renames_and_suspends() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 10);
    let (_, admin) = s.user(&parent, "admin");
    let child = s.child(&parent, "Child", 2);
    let path = format!("/v1/accounts/{child}");
    let r = s
        .form(
            "POST",
            &path,
            &admin,
            "account_name=Renamed&device_seats=5&suspended=false",
        )
        .expect(200);
    assert_eq!(r.body, json!({"message": "success"}));
    assert_eq!(s.account_json(&child)["name"], "Renamed");
    assert_eq!(seats(&s, &child), (5, 0, 5));
    assert_eq!(seats(&s, &parent), (5, 0, 5));
    s.post(&path, &admin, json!({"device_seats": 1}))
        .expect(200);
    assert_eq!((seats(&s, &child).0, seats(&s, &parent).0), (1, 9));
    let r = s
        .post(&path, &admin, json!({"deviceSeats": 11}))
        .expect(409);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .starts_with("not enough free seats"));
    // Seats cannot go below the devices in use.
    s.post(
        &format!("/v1/accounts/{child}/devices"),
        &admin,
        json!({"name": "d1"}),
    )
    .expect(201);
    s.post(&path, &admin, json!({"deviceSeats": 0})).expect(409);
    // Nobody changes their own account's seats or suspension; renaming is fine.
    s.form(
        "POST",
        &format!("/v1/accounts/{parent}"),
        &admin,
        "device_seats=100",
    )
    .expect(403);
    s.form(
        "POST",
        &format!("/v1/accounts/{parent}"),
        &admin,
        "suspended=1",
    )
    .expect(403);
    s.form(
        "POST",
        &format!("/v1/accounts/{parent}"),
        &admin,
        "account_name=Parent+Co",
    )
    .expect(200);
    // The owner sets a top-level account's seats directly.
    s.form(
        "POST",
        &format!("/v1/accounts/{parent}"),
        &s.owner_token,
        "device_seats=20",
    )
    .expect(200);
    assert_eq!(seats(&s, &parent), (20, 0, 20));
    for bad in [
        "suspended=maybe",
        "device_seats=-3",
        "device_seats=x",
        "account_name=",
        "nickname=x",
        "device_seats=1&deviceSeats=2",
    ] {
        s.form("POST", &path, &admin, bad).expect(400);
    }
    s.post(&path, &admin, json!({"suspended": 2})).expect(400);
    s.post("/v1/accounts/nope", &admin, json!({"name": "x"}))
        .expect(404);
}

#[test]
fn suspension_locks_out_the_account_and_its_descendants_until_lifted() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 0);
    let (_, admin) = s.user(&parent, "admin");
    let child = s.child(&parent, "Child", 0);
    let grandchild = s.child(&child, "Grandchild", 0);
    let email = format!("u-{}@x.test", uuid::Uuid::new_v4().simple());
    s.post(
        "/user/create",
        &s.owner_token,
        json!({"email": email, "role": "admin", "password": PASSWORD, "accountId": child}),
    )
    .expect(201);
    let child_admin = s.login(&email, PASSWORD);
    let (_, grand_user) = s.user(&grandchild, "user");
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &admin,
        "suspended=1",
    )
    .expect(200);
    assert_eq!(s.account_json(&child)["suspended"], true);
    s.post("/user/get", &child_admin, json!({})).expect(403);
    s.post("/user/get", &grand_user, json!({})).expect(403);
    assert_eq!(
        s.try_login(&email, PASSWORD).expect(403).body["error"],
        "account suspended"
    );
    // The parent's admin is unaffected, and lifts it.
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &admin,
        "suspended=0",
    )
    .expect(200);
    s.post("/user/get", &child_admin, json!({})).expect(200);
    s.post("/user/get", &grand_user, json!({})).expect(200);
    s.login(&email, PASSWORD);
}

#[test]
fn devices_take_seats_and_give_them_back() {
    let s = TestServer::start();
    let acc = account_with_seats(&s, "Acme", 2);
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let path = format!("/v1/accounts/{acc}/devices");
    let d1 = s
        .post(&path, &admin, json!({"name": "Sensor 1"}))
        .expect(201);
    assert_eq!(
        (d1.body["accountId"].as_str(), d1.body["name"].as_str()),
        (Some(acc.as_str()), Some("Sensor 1"))
    );
    s.post(&path, &admin, json!({"name": "Sensor 2", "id": "dev-2"}))
        .expect(201);
    assert_eq!(
        s.post(&path, &admin, json!({"name": "Sensor 3"}))
            .expect(409)
            .body["error"],
        "no free seat"
    );
    assert_eq!(seats(&s, &acc), (2, 2, 0));
    s.post(&path, &user, json!({"name": "x"})).expect(403);
    s.post(&path, &admin, json!({"name": ""})).expect(400);
    let page = s.get(&format!("{path}?limit=1"), &user).expect(200).body;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap();
    assert_eq!(
        s.get(&format!("{path}?limit=1&next={next}"), &user)
            .expect(200)
            .body["data"][0]["id"],
        "dev-2"
    );
    s.delete(&format!("{path}/dev-2"), &user).expect(403);
    s.delete(&format!("{path}/dev-2"), &admin).expect(204);
    s.delete(&format!("{path}/dev-2"), &admin).expect(404);
    assert_eq!(seats(&s, &acc), (2, 1, 1));
    let (other, _) = s.account("Other");
    s.get(&format!("/v1/accounts/{other}/devices"), &admin)
        .expect(404);
    // An account with devices cannot be deleted.
    let child = s.child(&acc, "Child", 1);
    s.post(
        &format!("/v1/accounts/{child}/devices"),
        &admin,
        json!({"name": "d"}),
    )
    .expect(201);
    assert_eq!(
        s.delete(&format!("/v1/accounts/{child}"), &admin)
            .expect(409)
            .body["error"],
        "account still has devices"
    );
}

#[test]
fn close_removes_users_devices_and_credentials_and_keeps_a_tombstone() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 10);
    let (_, admin) = s.user(&parent, "admin");
    let child_email = format!("child-{}@x.test", uuid::Uuid::new_v4().simple());
    let child = s
        .post(
            &format!("/v1/accounts/{parent}/children"),
            &admin,
            json!({"name": "Child", "email": child_email, "deviceSeats": 3}),
        )
        .expect(201)
        .id();
    let (child_user, child_token) = s.user(&child, "admin");
    s.post(
        &format!("/v1/accounts/{child}/devices"),
        &admin,
        json!({"name": "d"}),
    )
    .expect(201);
    let grandchild = s.child(&child, "Grandchild", 1);
    // An admin closes only its own account (the contract); the owner closes any.
    s.post(&format!("/v1/accounts/{child}/close"), &admin, json!({}))
        .expect(403);
    let o = &s.owner_token;
    let r = s
        .post(&format!("/v1/accounts/{child}/close"), o, json!({}))
        .expect(409);
    assert_eq!(r.body["error"], "account still has open child accounts");
    s.post(&format!("/v1/accounts/{grandchild}/close"), o, json!({}))
        .expect(200);
    let r = s
        .post(&format!("/v1/accounts/{child}/close"), o, json!({}))
        .expect(200);
    assert_eq!(
        (
            r.body["closed"].as_bool(),
            r.body["deviceSeats"].as_i64(),
            r.body["usedDevices"].as_i64()
        ),
        (Some(true), Some(0), Some(0))
    );
    s.post("/user/get", &child_token, json!({})).expect(401);
    s.post("/user/get", &admin, json!({"id": child_user}))
        .expect(404);
    assert_eq!(seats(&s, &parent), (10, 0, 10));
    assert_eq!(s.account_json(&child)["closed"], true);
    s.post(
        &format!("/v1/accounts/{child}/close"),
        &s.owner_token,
        json!({}),
    )
    .expect(409);
    s.post(
        &format!("/v1/accounts/{child}/devices"),
        &admin,
        json!({"name": "d"}),
    )
    .expect(409);
    s.put(
        &format!("/v1/accounts/{child}"),
        &admin,
        json!({"name": "again"}),
    )
    .expect(409);
    s.put(
        &format!("/v1/accounts/{child}/plan"),
        &s.owner_token,
        json!({"planId": "default"}),
    )
    .expect(409);
    // Its email is free again.
    s.post(
        "/v1/accounts",
        &s.owner_token,
        json!({"name": "Reuse", "email": child_email}),
    )
    .expect(201);
    // Closed tombstones can be deleted once empty.
    s.delete(&format!("/v1/accounts/{child}"), &admin)
        .expect(409);
    s.delete(&format!("/v1/accounts/{grandchild}"), &admin)
        .expect(204);
    s.delete(&format!("/v1/accounts/{child}"), &admin)
        .expect(204);
    // An admin closes its own account and its credentials end with it.
    s.user(&parent, "user");
    s.post(&format!("/v1/accounts/{parent}/close"), &admin, json!({}))
        .expect(200);
    s.post("/user/get", &admin, json!({})).expect(401);
    // The last owner's account cannot be closed.
    let owner_acc = s.post("/user/get", &s.owner_token, json!({})).body["accountId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .post(
            &format!("/v1/accounts/{owner_acc}/close"),
            &s.owner_token,
            json!({}),
        )
        .expect(409);
    assert_eq!(
        r.body["error"],
        "closing this account would remove the last owner"
    );
}

#[test]
fn seat_tokens_are_single_use_even_under_a_race() {
    let s = TestServer::start();
    let acc = account_with_seats(&s, "Acme", 1);
    let (_, admin) = s.user(&acc, "admin");
    s.post("/v1/seat-tokens", &admin, json!({"seats": 5}))
        .expect(403);
    s.post("/v1/seat-tokens", &s.owner_token, json!({"seats": 0}))
        .expect(400);
    s.post("/v1/seat-tokens", &s.owner_token, json!({"seats": "5"}))
        .expect(400);
    let token = s
        .post("/v1/seat-tokens", &s.owner_token, json!({"seats": 5}))
        .expect(201)
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/accounts/{acc}/seats");
    let r = s.post(&path, &admin, json!({"token": token})).expect(200);
    assert_eq!(
        (r.body["deviceSeats"].as_i64(), r.body["freeSeats"].as_i64()),
        (Some(6), Some(6))
    );
    assert_eq!(
        s.post(&path, &admin, json!({"token": token}))
            .expect(409)
            .body["error"],
        "seat token already redeemed"
    );
    s.post(&path, &admin, json!({"token": "st_garbage"}))
        .expect(400);
    assert_eq!(seats(&s, &acc).0, 6);
    // Two redemptions racing: exactly one counts.
    for _ in 0..5 {
        let token = s
            .post("/v1/seat-tokens", &s.owner_token, json!({"seats": 1}))
            .expect(201)
            .body["token"]
            .as_str()
            .unwrap()
            .to_string();
        let before = seats(&s, &acc).0;
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| s.post(&path, &admin, json!({"token": token})).status))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            3,
            "{statuses:?}"
        );
        assert_eq!(seats(&s, &acc).0, before + 1);
    }
}

/// 50 parallel child creations against one parent never overdraw or lose a seat.
#[test]
fn parallel_child_creations_are_exact() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 30);
    let (_, admin) = s.user(&parent, "admin");
    let path = format!("/v1/accounts/{parent}/children");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..50)
            .map(|i| {
                let (s, admin, path) = (&s, &admin, &path);
                scope.spawn(move || {
                    s.post(
                        path,
                        admin,
                        json!({"name": format!("Kid {i}"), "deviceSeats": 1}),
                    )
                    .status
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(seats(&s, &parent), (0, 0, 0));
    let kids = s
        .get(&format!("/v1/accounts/{parent}/children"), &admin)
        .expect(200)
        .body;
    let total: i64 = kids["data"].as_array().unwrap()[1..]
        .iter()
        .map(|k| k["deviceSeats"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 30);
}

/// 50 parallel seat moves into 50 children, with seats for only 25 of them.
#[test]
fn parallel_seat_moves_are_exact() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 25);
    let (_, admin) = s.user(&parent, "admin");
    let kids: Vec<String> = (0..50)
        .map(|i| s.child(&parent, &format!("Kid {i}"), 0))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let hs: Vec<_> = kids
            .iter()
            .map(|k| {
                let (s, admin) = (&s, &admin);
                scope.spawn(move || {
                    s.form(
                        "POST",
                        &format!("/v1/accounts/{k}"),
                        admin,
                        "device_seats=1",
                    )
                    .status
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        25,
        "{statuses:?}"
    );
    assert_eq!(seats(&s, &parent), (0, 0, 0));
    let moved: i64 = kids.iter().map(|k| seats(&s, k).0).sum();
    assert_eq!(moved, 25);
    // And back again, in parallel: every seat returns.
    std::thread::scope(|scope| {
        for k in &kids {
            let (s, admin) = (&s, &admin);
            scope.spawn(move || {
                s.form(
                    "POST",
                    &format!("/v1/accounts/{k}"),
                    admin,
                    "device_seats=0",
                )
                .expect(200)
            });
        }
    });
    assert_eq!(seats(&s, &parent), (25, 0, 25));
}

/// A 100,000-account tree: `allChildren` answers it whole, depth-first, from one query.
#[test]
fn a_hundred_thousand_account_tree_is_answered_whole() {
    use diesel::connection::SimpleConnection;
    let s = TestServer::start();
    let root = account_with_seats(&s, "Root", 0);
    let n = 100_000;
    let select = format!(
        "'big-' || i, 'Big ' || i, NULL, NULL, 'default', \
         CASE WHEN i <= 4 THEN '{root}' ELSE 'big-' || ((i - 1) / 4) END, 0, 0, FALSE, FALSE, 1000 + i, 1000 + i"
    );
    let columns = "id, name, email, email_lower, plan_id, parent_id, device_seats, used_devices, suspended, closed, created, activity";
    let mut conn = s.db.conn();
    let seed = match accountd::db::backend(&conn) {
        accountd::db::Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO accounts ({columns}) SELECT {select} FROM n"
        ),
        accountd::db::Backend::Postgres => {
            format!("INSERT INTO accounts ({columns}) SELECT {select} FROM generate_series(1, {n}) AS i")
        }
    };
    conn.batch_execute(&seed).unwrap();
    let all = s
        .get(&format!("/v1/accounts/{root}/allChildren"), &s.owner_token)
        .expect(200)
        .body;
    let list = all["data"].as_array().unwrap();
    assert_eq!(list.len(), n + 1);
    assert_eq!(list[0]["id"], root.as_str());
    let mut seen = HashSet::new();
    for a in list {
        if let Some(p) = a["parentId"].as_str() {
            assert!(
                seen.contains(p) || a["id"] == root.as_str(),
                "{} before its parent {p}",
                a["id"]
            );
        }
        seen.insert(a["id"].as_str().unwrap().to_string());
    }
    let tree = s
        .get(
            &format!("/v1/accounts/{root}/descendants?maxDepth=2"),
            &s.owner_token,
        )
        .expect(200)
        .body;
    assert_eq!(tree["children"].as_array().unwrap().len(), 4);
    assert_eq!(tree["children"][0]["children"].as_array().unwrap().len(), 4);
    assert_eq!(tree["children"][0]["children"][0]["children"], json!([]));
}

/// An admin may not lock out or remove an owner placed below it.
#[test]
fn admins_cannot_suspend_or_close_accounts_holding_an_owner() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 0);
    let (_, admin) = s.user(&parent, "admin");
    let child = s.child(&parent, "Child", 0);
    s.user(&child, "owner");
    let r = s
        .form(
            "POST",
            &format!("/v1/accounts/{child}"),
            &admin,
            "suspended=true",
        )
        .expect(403);
    assert_eq!(
        r.body["error"],
        "cannot suspend an account that holds an owner"
    );
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &admin,
        "suspended=false",
    )
    .expect(200);
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &s.owner_token,
        "suspended=true",
    )
    .expect(200);
    s.form(
        "POST",
        &format!("/v1/accounts/{child}"),
        &s.owner_token,
        "suspended=false",
    )
    .expect(200);
    let (_, child_admin) = s.user(&child, "admin");
    let r = s
        .post(
            &format!("/v1/accounts/{child}/close"),
            &child_admin,
            json!({}),
        )
        .expect(403);
    assert_eq!(
        r.body["error"],
        "cannot close an account that holds an owner"
    );
    let r = s
        .form(
            "POST",
            &format!("/v1/accounts/{child}"),
            &admin,
            "account_name=a%00b",
        )
        .expect(400);
    assert!(r.errors()[0].contains("NUL"));
}

#[test]
fn a_call_that_takes_no_body_refuses_one_it_does_not_understand() {
    let s = TestServer::start();
    let t = &s.owner_token;
    let (a, _) = s.account("Closing");
    let (b, _) = s.account("Other");
    // Once ignored: this closed the account in the path and answered 200.
    let r = s
        .call(
            "POST",
            &format!("/v1/accounts/{a}/close"),
            Some(t),
            Some(json!({"id": b})),
        )
        .expect(400);
    assert_eq!(r.errors(), ["id: unknown field"]);
    assert_eq!(
        s.get(&format!("/v1/accounts/{a}"), t).expect(200).body["closed"],
        false
    );
    s.call(
        "POST",
        &format!("/v1/accounts/{a}/close"),
        Some(t),
        Some(json!("x")),
    )
    .expect(400);
    s.call("DELETE", "/v1/tokens/nope", Some(t), Some(json!({"x": 1})))
        .expect(400);
    // An empty body, or `{}`, is no body.
    s.call(
        "POST",
        &format!("/v1/accounts/{a}/close"),
        Some(t),
        Some(json!({})),
    )
    .expect(200);
}

#[test]
fn a_child_account_may_be_created_suspended_as_the_curl_api_sends_it() {
    let s = TestServer::start();
    let t = &s.owner_token;
    let (parent, _) = s.account("Parent");
    let path = format!("/v1/accounts/{parent}/children");
    // Once `400 suspended: unknown field`.
    let form = s
        .form("POST", &path, t, "account_name=Paused&suspended=1")
        .expect(201);
    assert_eq!(form.body["suspended"], true);
    let json = s
        .post(&path, t, json!({"name": "Running", "suspended": false}))
        .expect(201);
    assert_eq!(json.body["suspended"], false);
    let r = s
        .post(&path, t, json!({"name": "Odd", "suspended": "maybe"}))
        .expect(400);
    assert_eq!(r.errors(), ["suspended: must be true, false, 1 or 0"]);
    // Its users cannot log in until it is resumed.
    let paused = form.id();
    assert_eq!(s.account_json(&paused)["suspended"], true);
    let email = "paused-user@example.test";
    s.post(
        "/user/create",
        t,
        json!({"email": email, "role": "user", "password": PASSWORD, "accountId": paused}),
    )
    .expect(201);
    s.try_login(email, PASSWORD).expect(403);
}

#[test]
fn curl_style_bodies_refuse_repeated_names_and_bad_utf8() {
    let s = TestServer::start();
    let t = &s.owner_token;
    let (parent, _) = s.account("Parent");
    let path = format!("/v1/accounts/{parent}/children");
    // Once accepted, last value winning; typed JSON bodies already refused it.
    let json = r#"{"name": "A", "name": "B"}"#;
    let r = s
        .raw(
            "POST",
            &path,
            Some(t),
            Some("application/json"),
            Some(json.into()),
        )
        .expect(400);
    assert_eq!(r.errors(), ["body: duplicate field `name`"]);
    let typed = r#"{"email": "a@x.test", "email": "b@x.test", "role": "user"}"#;
    let r = s
        .raw(
            "POST",
            "/user/create",
            Some(t),
            Some("application/json"),
            Some(typed.into()),
        )
        .expect(400);
    assert!(
        r.errors()[0].contains("duplicate field `email`"),
        "{:?}",
        r.errors()
    );
    // Once silently U+FFFD.
    let r = s.form("POST", &path, t, "account_name=%FF%FE").expect(400);
    assert_eq!(
        r.errors(),
        ["account_name: not valid UTF-8 (or a bad %-escape)"]
    );
    let ok = s
        .form("POST", &path, t, "account_name=Caf%C3%A9+Ltd")
        .expect(201);
    assert_eq!(ok.body["name"], "Café Ltd");
}

/// Problems name the field the caller sent (`name`, not its alias `account_name`), and a body
/// with an unknown field still has its other problems reported (issue 21).
#[test]
fn curl_style_problems_name_the_field_sent_and_come_all_at_once() {
    let s = TestServer::start();
    let parent = account_with_seats(&s, "Parent", 10);
    let (_, admin) = s.user(&parent, "admin");
    let child = s.child(&parent, "Child", 2);
    let edit = format!("/v1/accounts/{child}");
    let r = s
        .post(&edit, &admin, json!({"name": " ", "deviceSeats": -1}))
        .expect(400);
    assert_eq!(r.errors().len(), 2, "{:?}", r.errors());
    assert!(
        r.errors()[0].starts_with("deviceSeats: "),
        "{:?}",
        r.errors()
    );
    assert!(r.errors()[1].starts_with("name: "), "{:?}", r.errors());
    let r = s
        .form("POST", &edit, &admin, "account_name=+&device_seats=-1")
        .expect(400);
    assert!(
        r.errors()[0].starts_with("account_name: "),
        "{:?}",
        r.errors()
    );
    assert!(
        r.errors()[1].starts_with("device_seats: "),
        "{:?}",
        r.errors()
    );
    let children = format!("/v1/accounts/{parent}/children");
    let r = s
        .post(&children, &admin, json!({"name": "", "device_seats": -2}))
        .expect(400);
    assert!(
        r.errors()[0].starts_with("device_seats: "),
        "{:?}",
        r.errors()
    );
    assert!(r.errors()[1].starts_with("name: "), "{:?}", r.errors());
    // An unknown field beside a type error: both are reported.
    let r = s
        .form("POST", &edit, &admin, "device_seats=many&colour=red")
        .expect(400);
    assert_eq!(r.errors().len(), 2, "{:?}", r.errors());
    assert!(r
        .errors()
        .iter()
        .any(|e| e.starts_with("colour: unknown field")));
    assert!(r.errors().iter().any(|e| e.starts_with("device_seats: ")));
    let r = s
        .form(
            "POST",
            &children,
            &admin,
            "name=X&device_seats=many&colour=red",
        )
        .expect(400);
    assert_eq!(r.errors().len(), 2, "{:?}", r.errors());
}

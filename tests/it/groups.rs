use crate::common::TestServer;
use serde_json::json;

fn ids(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn groups_with_labels_are_created_read_filtered_and_deleted() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (_, user) = s.user(&acc, "user");
    let r = s
        .post(
            "/v1/groups",
            &admin,
            json!({"id": "ops", "labels": {"team": "ops", "site": "berlin"}}),
        )
        .expect(201);
    assert_eq!(
        (r.body["id"].as_str(), r.body["accountId"].as_str()),
        (Some("ops"), Some(acc.as_str()))
    );
    assert_eq!(r.body["labels"], json!({"team": "ops", "site": "berlin"}));
    s.post(
        "/v1/groups",
        &admin,
        json!({"id": "dev", "labels": {"team": "dev", "site": "berlin"}}),
    )
    .expect(201);
    s.post("/v1/groups", &admin, json!({"id": "sales"}))
        .expect(201);
    s.post("/v1/groups", &admin, json!({"id": "ops"}))
        .expect(409);
    s.post("/v1/groups", &user, json!({"id": "mine"}))
        .expect(403);
    for bad in [
        json!({"id": "a b"}),
        json!({"id": "x", "labels": {"n": 1}}),
        json!({"id": "x", "labels": ["a"]}),
        json!({"id": "x", "labels": {"bad name": "v"}}),
        json!({"labels": {}}),
    ] {
        s.post("/v1/groups", &admin, bad).expect(400);
    }
    assert_eq!(
        ids(&s.get("/v1/groups", &admin).expect(200).body),
        ["dev", "ops", "sales"]
    );
    assert_eq!(
        ids(&s
            .get("/v1/groups?label.site=berlin", &admin)
            .expect(200)
            .body),
        ["dev", "ops"]
    );
    assert_eq!(
        ids(&s
            .get("/v1/groups?label.site=berlin&label.team=ops", &admin)
            .expect(200)
            .body),
        ["ops"]
    );
    assert!(ids(&s
        .get("/v1/groups?label.site=paris", &admin)
        .expect(200)
        .body)
    .is_empty());
    // The form generated clients send: `label=name=value`, repeated; a value may hold `=`.
    assert_eq!(
        ids(&s
            .get("/v1/groups?label=site%3Dberlin&label=team=ops", &admin)
            .expect(200)
            .body),
        ["ops"]
    );
    s.get("/v1/groups?label.bad%20name=x", &admin).expect(400);
    s.get("/v1/groups?label=bad%20name%3Dx", &admin).expect(400);
    assert_eq!(
        s.get("/v1/groups?label=site", &admin).expect(400).errors(),
        ["label: must be name=value"]
    );
    s.get("/v1/groups?colour=red", &admin).expect(400);
    assert_eq!(
        s.get("/v1/groups/ops", &user).expect(200).body["labels"]["team"],
        "ops"
    );
    s.get("/v1/groups/nope", &admin).expect(404);
    s.delete("/v1/groups/sales", &user).expect(403);
    s.delete("/v1/groups/sales", &admin).expect(204);
    s.delete("/v1/groups/sales", &admin).expect(404);
    // Other accounts' groups stay out of sight.
    let (other, _) = s.account("Other");
    let (_, other_admin) = s.user(&other, "admin");
    s.get("/v1/groups/ops", &other_admin).expect(404);
    assert!(ids(&s.get("/v1/groups", &other_admin).expect(200).body).is_empty());
    s.get(&format!("/v1/groups?accountId={acc}"), &other_admin)
        .expect(404);
    assert_eq!(
        ids(&s
            .get(&format!("/v1/groups?accountId={acc}"), &s.owner_token)
            .expect(200)
            .body),
        ["dev", "ops"]
    );
}

#[test]
fn memberships_hold_role_sets_and_go_with_the_group() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let (uid, user) = s.user(&acc, "user");
    let (uid2, user2) = s.user(&acc, "user");
    s.post("/v1/groups", &admin, json!({"id": "ops"}))
        .expect(201);
    s.post("/v1/groups", &admin, json!({"id": "dev"}))
        .expect(201);
    s.put(
        &format!("/v1/groups/ops/members/{uid}"),
        &admin,
        json!({"roles": ["viewer", "editor", "viewer"]}),
    )
    .expect(204);
    s.put(
        &format!("/v1/groups/dev/members/{uid}"),
        &admin,
        json!({"roles": ["viewer"]}),
    )
    .expect(204);
    s.put(
        &format!("/v1/groups/dev/members/{uid2}"),
        &admin,
        json!({"roles": ["owner"]}),
    )
    .expect(204);
    assert_eq!(
        s.get(&format!("/v1/groups/ops/members/{uid}"), &user)
            .expect(200)
            .body,
        json!({"roles": ["editor", "viewer"]})
    );
    assert_eq!(
        s.get(&format!("/v1/groups/ops/members/{uid2}"), &admin)
            .expect(200)
            .body,
        json!({"roles": []})
    );
    s.get(&format!("/v1/groups/ops/members/{uid2}"), &user)
        .expect(404);
    // A plain user lists its own groups; an admin any member's.
    assert_eq!(
        ids(&s.get("/v1/groups", &user).expect(200).body),
        ["dev", "ops"]
    );
    assert_eq!(ids(&s.get("/v1/groups", &user2).expect(200).body), ["dev"]);
    assert_eq!(
        ids(&s
            .get(&format!("/v1/groups?userId={uid2}"), &admin)
            .expect(200)
            .body),
        ["dev"]
    );
    s.get(&format!("/v1/groups?userId={uid}"), &user2)
        .expect(404);
    let members = s.get("/v1/groups/dev/members", &user2).expect(200).body;
    assert_eq!(members["data"].as_array().unwrap().len(), 2);
    s.get("/v1/groups/ops/members", &user2).expect(404);
    // An empty list removes the member; bad roles are 400; unknown users and groups 404.
    s.put(
        &format!("/v1/groups/ops/members/{uid}"),
        &admin,
        json!({"roles": []}),
    )
    .expect(204);
    assert_eq!(ids(&s.get("/v1/groups", &user).expect(200).body), ["dev"]);
    s.put(
        &format!("/v1/groups/ops/members/{uid}"),
        &admin,
        json!({"roles": [""]}),
    )
    .expect(400);
    s.put(
        &format!("/v1/groups/ops/members/{uid}"),
        &admin,
        json!({"roles": "viewer"}),
    )
    .expect(400);
    s.put(
        "/v1/groups/ops/members/nobody",
        &admin,
        json!({"roles": ["x"]}),
    )
    .expect(404);
    s.put(
        &format!("/v1/groups/nope/members/{uid}"),
        &admin,
        json!({"roles": ["x"]}),
    )
    .expect(404);
    s.put(
        &format!("/v1/groups/ops/members/{uid}"),
        &user,
        json!({"roles": ["x"]}),
    )
    .expect(403);
    // Deleting the group removes its memberships.
    s.delete("/v1/groups/dev", &admin).expect(204);
    assert!(ids(&s.get("/v1/groups", &user).expect(200).body).is_empty());
    s.post("/v1/groups", &admin, json!({"id": "dev"}))
        .expect(201);
    assert_eq!(
        s.get(&format!("/v1/groups/dev/members/{uid}"), &admin)
            .expect(200)
            .body,
        json!({"roles": []})
    );
}

#[test]
fn members_come_from_the_groups_account() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (other, _) = s.account("Other");
    let (foreign, _) = s.user(&other, "user");
    let (_, admin) = s.user(&acc, "admin");
    s.post("/v1/groups", &admin, json!({"id": "ops"}))
        .expect(201);
    s.put(
        &format!("/v1/groups/ops/members/{foreign}?accountId={acc}"),
        &s.owner_token,
        json!({"roles": ["x"]}),
    )
    .expect(409);
}

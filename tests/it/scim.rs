//! SCIM 2.0: users and groups of the tenant account as identity providers see them, with
//! their filters, paging, PATCH forms and quirks, and no reach outside the tenant.

use crate::common::{Resp, TestServer, PASSWORD};
use serde_json::{json, Value};
use std::collections::HashSet;

const SCIM_JSON: &str = "application/scim+json";

fn scim(s: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
    s.raw(
        method,
        &format!("/scim/v2{path}"),
        Some(token),
        body.as_ref().map(|_| SCIM_JSON),
        body.map(|b| b.to_string()),
    )
}

fn q(filter: &str) -> String {
    filter
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace('[', "%5B")
        .replace(']', "%5D")
}

fn okta_user(name: &str, email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": name.to_uppercase(), "familyName": "Test"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "active": true,
        "externalId": format!("ext-{name}"),
    })
}

fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn users_are_created_found_paged_patched_and_deactivated_as_directories_do() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let made = scim(
        &s,
        "POST",
        "/Users",
        &admin,
        Some(okta_user("ada", "ada@example.test")),
    )
    .expect(201);
    assert!(made.header("content-type").unwrap().starts_with(SCIM_JSON));
    let id = made.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        made.header("location"),
        made.body["meta"]["location"].as_str()
    );
    assert_eq!(made.body["externalId"], "ext-ada");
    // Okta asks before creating; a second one with the same userName is `uniqueness`.
    let dup = scim(
        &s,
        "POST",
        "/Users",
        &admin,
        Some(okta_user("ADA", "other@example.test")),
    )
    .expect(409);
    assert_eq!(
        (dup.body["scimType"].as_str(), dup.body["status"].as_str()),
        (Some("uniqueness"), Some("409"))
    );
    for (name, email) in [("bob", "bob@example.test"), ("cy", "cy@example.test")] {
        scim(&s, "POST", "/Users", &admin, Some(okta_user(name, email))).expect(201);
    }
    // A userName with @ is the email.
    let mail_only = scim(
        &s,
        "POST",
        "/Users",
        &admin,
        Some(json!({"userName": "dee@example.test", "active": false})),
    )
    .expect(201)
    .body;
    assert_eq!(mail_only["emails"][0]["value"], "dee@example.test");
    assert_eq!(mail_only["active"], false);
    let find = |filter: &str| {
        scim(
            &s,
            "GET",
            &format!("/Users?filter={}", q(filter)),
            &admin,
            None,
        )
        .expect(200)
        .body
    };
    assert_eq!(ids(&find("userName eq \"ADA\"")), vec![id.clone()]);
    assert_eq!(ids(&find("externalId eq \"ext-ada\"")), vec![id.clone()]);
    assert_eq!(ids(&find("name.givenName sw \"AD\"")), vec![id.clone()]);
    assert_eq!(find("active eq false")["totalResults"], 1);
    assert_eq!(find("active eq \"False\"")["totalResults"], 1);
    assert_eq!(
        ids(&find("emails[type eq \"work\" and value co \"ada@\"]")),
        vec![id.clone()]
    );
    assert_eq!(
        find("userName eq \"ada\" or userName eq \"bob\"")["totalResults"],
        2
    );
    // The tenant's first admin (invited) and the admin are users too: 6 in all.
    assert_eq!(find("not (userName eq \"ada\")")["totalResults"], 5);
    assert_eq!(
        find("meta.lastModified gt \"2000-01-01T00:00:00Z\"")["totalResults"],
        6
    );
    for bad in ["title eq \"x\"", "userName zz \"x\"", "(userName eq \"x\""] {
        let r = scim(
            &s,
            "GET",
            &format!("/Users?filter={}", q(bad)),
            &admin,
            None,
        )
        .expect(400);
        assert_eq!(r.body["scimType"], "invalidFilter", "{bad}: {}", r.body);
    }
    // Cursor paging (RFC 9865) sees each user once; index paging answers its window.
    let mut seen = vec![];
    let mut cursor = String::new();
    loop {
        let page = scim(
            &s,
            "GET",
            &format!("/Users?count=2&cursor={cursor}"),
            &admin,
            None,
        )
        .expect(200)
        .body;
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        (seen.len(), seen.iter().collect::<HashSet<_>>().len()),
        (6, 6)
    );
    let window = scim(&s, "GET", "/Users?startIndex=2&count=2", &admin, None)
        .expect(200)
        .body;
    assert_eq!(ids(&window), seen[1..3].to_vec());
    assert_eq!(
        (
            window["startIndex"].as_i64(),
            window["totalResults"].as_i64()
        ),
        (Some(2), Some(6))
    );
    // attributes / excludedAttributes, and the same list as a POST to /.search.
    let slim = scim(
        &s,
        "GET",
        "/Users?attributes=userName&count=1",
        &admin,
        None,
    )
    .expect(200)
    .body;
    let first = &slim["Resources"][0];
    assert!(
        first.get("userName").is_some() && first.get("emails").is_none(),
        "{slim}"
    );
    assert!(first.get("id").is_some() && slim["totalResults"] == 6);
    let without = scim(
        &s,
        "GET",
        &format!("/Users/{id}?excludedAttributes=name"),
        &admin,
        None,
    )
    .expect(200)
    .body;
    assert!(without.get("name").is_none() && without.get("userName").is_some());
    let searched = scim(
        &s,
        "POST",
        "/Users/.search",
        &admin,
        Some(json!({"filter": "userName eq \"bob\"", "attributes": ["userName"]})),
    )
    .expect(200)
    .body;
    assert_eq!(searched["Resources"][0]["userName"], "bob");
    assert!(searched["Resources"][0].get("emails").is_none());
    scim(&s, "POST", "/.search", &admin, Some(json!({}))).expect(501);
    scim(&s, "GET", "/Nope", &admin, None).expect(404);
    scim(&s, "GET", "/Users?cursor=garbage", &admin, None).expect(400);
    scim(&s, "GET", "/Users?bogus=1", &admin, None).expect(400);
    // Ada logs in (after an admin gives her a password), then Entra ID deactivates her.
    s.post(
        "/user/update",
        &admin,
        json!({"id": id, "email": "ada@example.test"}),
    )
    .expect(200);
    let patch = |body: Value| scim(&s, "PATCH", &format!("/Users/{id}"), &admin, Some(body));
    let entra = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"name.familyName": "Lovelace", "externalId": "entra-1"}},
        ],
    });
    let off = patch(entra).expect(200).body;
    assert_eq!(
        (off["active"].clone(), off["name"]["familyName"].clone()),
        (json!(false), json!("Lovelace"))
    );
    assert_eq!(off["externalId"], "entra-1");
    let rest = s
        .get(&format!("/v1/accounts/{acc}/users"), &admin)
        .expect(200)
        .body;
    let ada = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == json!(id))
        .unwrap();
    assert_eq!(
        (ada["active"].clone(), ada["externalId"].clone()),
        (json!(false), json!("entra-1"))
    );
    // Okta reactivates with PUT.
    let mut put = off.clone();
    put["active"] = json!(true);
    put["emails"] = json!([{"value": "ada@example.test", "primary": true}]);
    let on = scim(&s, "PUT", &format!("/Users/{id}"), &admin, Some(put))
        .expect(200)
        .body;
    assert_eq!(on["active"], true);
    // Value-filtered paths and removals.
    let moved = patch(json!({"Operations": [
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.test"},
        {"op": "remove", "path": "name.givenName"},
    ]}))
    .expect(200)
    .body;
    assert_eq!(moved["emails"][0]["value"], "ada@new.test");
    assert!(moved["name"].get("givenName").is_none(), "{moved}");
    let bad = patch(json!({"Operations": [{"op": "jump", "path": "active"}]})).expect(400);
    assert_eq!(bad.body["scimType"], "invalidSyntax");
    scim(&s, "DELETE", &format!("/Users/{id}"), &admin, None).expect(204);
    scim(&s, "GET", &format!("/Users/{id}"), &admin, None).expect(404);
}

#[test]
fn a_tenant_sees_and_changes_only_its_own_account() {
    let s = TestServer::start();
    let (a, _) = s.account("A");
    let (b, _) = s.account("B");
    let child = s.child(&a, "A child", 0);
    let (admin_a_id, admin_a) = s.user(&a, "admin");
    let (_, admin_b) = s.user(&b, "admin");
    let (_, user_a) = s.user(&a, "user");
    let in_b = scim(
        &s,
        "POST",
        "/Users",
        &admin_b,
        Some(okta_user("bea", "bea@b.test")),
    )
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (in_child, _) = s.user(&child, "user");
    for id in [&in_b, &in_child] {
        scim(&s, "GET", &format!("/Users/{id}"), &admin_a, None).expect(404);
        scim(
            &s,
            "PUT",
            &format!("/Users/{id}"),
            &admin_a,
            Some(okta_user("x", "x@a.test")),
        )
        .expect(404);
        scim(
            &s,
            "PATCH",
            &format!("/Users/{id}"),
            &admin_a,
            Some(json!({"Operations": [
            {"op": "replace", "path": "active", "value": false}]})),
        )
        .expect(404);
        scim(&s, "DELETE", &format!("/Users/{id}"), &admin_a, None).expect(404);
    }
    let listed = scim(
        &s,
        "GET",
        &format!("/Users?filter={}", q("userName eq \"bea\"")),
        &admin_a,
        None,
    )
    .expect(200)
    .body;
    assert_eq!(listed["totalResults"], 0);
    // Another account by name: only the owner may.
    scim(&s, "GET", &format!("/Users?accountId={b}"), &admin_a, None).expect(404);
    let owners = scim(
        &s,
        "GET",
        &format!("/Users?accountId={b}&filter={}", q("userName eq \"bea\"")),
        &s.owner_token,
        None,
    )
    .expect(200)
    .body;
    assert_eq!(ids(&owners), vec![in_b.clone()]);
    // A directory's token cannot move its own holder's login identity.
    let own = scim(
        &s,
        "PUT",
        &format!("/Users/{admin_a_id}"),
        &admin_a,
        Some(okta_user("taken-over", "evil@elsewhere.test")),
    )
    .expect(400);
    assert_eq!(own.body["scimType"], "mutability");
    let denied = scim(&s, "GET", "/Users", &user_a, None).expect(403);
    assert_eq!(
        denied.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let anon = s.raw("GET", "/scim/v2/Users", None, None, None).expect(401);
    assert_eq!(anon.body["status"], "401");
    // Discovery is public and says what is supported.
    let cfg = s
        .raw("GET", "/scim/v2/ServiceProviderConfig", None, None, None)
        .expect(200)
        .body;
    assert_eq!(
        (
            cfg["patch"]["supported"].clone(),
            cfg["filter"]["maxResults"].clone()
        ),
        (json!(true), json!(1000))
    );
    let types = s
        .raw("GET", "/scim/v2/ResourceTypes", None, None, None)
        .expect(200)
        .body;
    assert_eq!(types["totalResults"], 2);
    let schemas = s
        .raw("GET", "/scim/v2/Schemas", None, None, None)
        .expect(200)
        .body;
    assert_eq!(
        schemas["Resources"][0]["id"],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
}

#[test]
fn groups_are_groups_and_members_are_memberships_with_their_roles_kept() {
    let s = TestServer::start();
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    let mut users = vec![];
    for n in ["u1", "u2", "u3"] {
        let r = scim(
            &s,
            "POST",
            "/Users",
            &admin,
            Some(okta_user(n, &format!("{n}@acme.test"))),
        )
        .expect(201);
        users.push(r.body["id"].as_str().unwrap().to_string());
    }
    let g = scim(
        &s,
        "POST",
        "/Groups",
        &admin,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "eng", "members": [{"value": users[0]}]}),
        ),
    )
    .expect(201)
    .body;
    assert_eq!(
        (g["id"].as_str(), g["displayName"].as_str()),
        (Some("eng"), Some("eng"))
    );
    // A role given in accountd stays through SCIM's changes of the member list.
    s.put(
        &format!("/v1/groups/eng/members/{}", users[0]),
        &admin,
        json!({"roles": ["lead"]}),
    )
    .expect(204);
    let patched = scim(
        &s,
        "PATCH",
        "/Groups/eng",
        &admin,
        Some(json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])},
        ]})),
    )
    .expect(200)
    .body;
    let members: HashSet<&str> = patched["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        HashSet::from([users[0].as_str(), users[2].as_str()])
    );
    let roles = s
        .get(&format!("/v1/groups/eng/members/{}", users[0]), &admin)
        .expect(200)
        .body;
    assert_eq!(roles["roles"], json!(["lead"]), "{roles}");
    let found = scim(
        &s,
        "GET",
        &format!(
            "/Groups?filter={}",
            q(&format!("members[value eq \"{}\"]", users[2]))
        ),
        &admin,
        None,
    )
    .expect(200)
    .body;
    assert_eq!(found["totalResults"], 1);
    scim(
        &s,
        "PATCH",
        "/Groups/eng",
        &admin,
        Some(json!({"Operations": [
        {"op": "replace", "path": "displayName", "value": "renamed"}]})),
    )
    .expect(400);
    scim(
        &s,
        "POST",
        "/Groups",
        &admin,
        Some(json!({"displayName": "has space"})),
    )
    .expect(400);
    scim(
        &s,
        "POST",
        "/Groups",
        &admin,
        Some(json!({"displayName": "eng"})),
    )
    .expect(409);
    scim(&s, "DELETE", "/Groups/eng", &admin, None).expect(204);
    scim(&s, "GET", "/Groups/eng", &admin, None).expect(404);
    let _ = PASSWORD;
}

//! Property tests over the HTTP surface: random JSON bodies for every write route and random
//! RPC frames must never make the server answer 5xx (or fall over).

use crate::common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

const NAMES: &[&str] = &[
    "id",
    "name",
    "email",
    "password",
    "role",
    "first",
    "last",
    "username",
    "preferences",
    "accountId",
    "planId",
    "deviceSeats",
    "device_seats",
    "account_name",
    "suspended",
    "token",
    "code",
    "seats",
    "description",
    "expiresAt",
    "userId",
    "labels",
    "roles",
    "limit",
    "next",
    "prev",
    "filter",
    "everywhere",
    "sendInvite",
    "invite",
    "register",
    "currentPassword",
    "newPassword",
    "grant_type",
    "refresh_token",
    "planData",
    "projectLimit",
    "account",
    "group",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![3 => proptest::sample::select(NAMES).prop_map(str::to_string), 1 => "[a-zA-Z_]{1,8}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[a-z0-9@._-]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(field(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object body most of the time (what routes expect), anything now and then.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::btree_map(field(), json_value(), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_value(),
    ]
}

const CASES_PER_ROUTE: u32 = 64;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn no_write_route_answers_5xx_to_random_json() {
    let s = TestServer::start();
    let (acc, _) = s.account("Fuzz");
    let writes: Vec<(String, String)> = accountd::api::route_table()
        .into_iter()
        .filter(|(m, _)| m != "GET")
        .collect();
    let routes = writes.len() as u64;
    for (method, path) in writes {
        // A runner per route: a runner counts its successes across runs.
        let mut runner = runner(CASES_PER_ROUTE);
        let path = path
            .replace("{id}", &acc)
            .replace("{userId}", "u1")
            .replace("{deviceId}", "d1");
        runner
            .run(&(body(), any::<bool>()), |(b, authed)| {
                let token = authed.then_some(s.owner_token.as_str());
                let r = s.call(&method, &path, token, Some(b.clone()));
                // The one deliberate 5xx: SCIM's root search is not offered (RFC 7644's 501).
                let offered = !(r.status == 501 && path == "/scim/v2/.search");
                prop_assert!(
                    r.status < 500 || !offered,
                    "{method} {path} {b} -> {} {}",
                    r.status,
                    r.body
                );
                Ok(())
            })
            .unwrap();
        // Forms on the routes that take them.
        let form = s.form(
            &method,
            &path,
            &s.owner_token,
            "account_name=%FF&device_seats=9999999999999999999&x",
        );
        let deliberate = form.status == 501 && path == "/scim/v2/.search";
        assert!(
            form.status < 500 || deliberate,
            "{method} {path} form -> {}",
            form.status
        );
    }
    // The server is still there, and really took all those requests.
    let metrics = s.call("GET", "/metrics", None, None).expect(200);
    let served: u64 = metrics
        .body
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("accountd_http_requests_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        served >= routes * u64::from(CASES_PER_ROUTE),
        "only {served} requests served"
    );
}

#[test]
fn random_rpc_frames_never_answer_5xx() {
    let s = TestServer::start();
    const METHODS: &[&str] = &[
        "Login",
        "RegisterUser",
        "ConfirmUserRegistration",
        "CreateUser",
        "GetInfo",
        "UserExists",
        "CreateToken",
        "ListTokens",
        "RevokeToken",
        "ValidateToken",
        "CreateGroup",
        "DeleteGroup",
        "ListGroups",
        "SetMembership",
        "GetMembership",
        "Nope",
    ];
    let frame = (
        proptest::sample::select(METHODS),
        body(),
        json_value(),
        any::<bool>(),
    );
    runner(300)
        .run(&frame, |(method, args, id, authed)| {
            let f = json!({"v": 2, "src": "fuzz", "id": id, "method": format!("/v1/Account.{method}"), "args": args});
            let token = authed.then_some(s.owner_token.as_str());
            let r = s.call("POST", "/rpc", token, Some(f.clone()));
            prop_assert!(r.status < 500, "{f} -> {} {}", r.status, r.body);
            let code = r.body["error"]["code"].as_u64().unwrap_or(0);
            prop_assert!(code < 500, "{f} -> {}", r.body);
            Ok(())
        })
        .unwrap();
    runner(100)
        .run(&json_value(), |v| {
            let r = s.call("POST", "/rpc", None, Some(v.clone()));
            prop_assert!(r.status < 500, "{v} -> {} {}", r.status, r.body);
            Ok(())
        })
        .unwrap();
}

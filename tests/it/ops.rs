use crate::common::TestServer;
use std::collections::BTreeSet;

#[test]
fn health_ready_and_the_spec_are_served_with_request_ids() {
    let s = TestServer::start();
    let r = s.call("GET", "/healthz", None, None).expect(200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.header("x-request-id").map(str::len), Some(32));
    s.call("GET", "/readyz", None, None).expect(200);
    let spec = s.call("GET", "/openapi.yaml", None, None).expect(200);
    assert_eq!(spec.body.as_str(), Some(accountd::api::ops::OPENAPI_YAML));
    assert_eq!(
        spec.body.as_str(),
        Some(std::fs::read_to_string("openapi.yaml").unwrap().as_str())
    );
}

#[test]
fn unknown_routes_and_methods_answer_json_errors() {
    let s = TestServer::start();
    let r = s.call("GET", "/no/such/route", None, None).expect(404);
    assert!(r.body["error"].is_string());
    assert!(r.header("x-request-id").is_some());
    let r = s.call("GET", "/user/login", None, None).expect(405);
    assert!(r.body["error"].is_string());
}

/// The committed spec and the routes the server registers must name the same operations.
#[test]
fn openapi_spec_matches_the_registered_routes() {
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string("openapi.yaml").unwrap()).unwrap();
    let mut in_spec = BTreeSet::new();
    for (path, ops) in spec["paths"].as_mapping().expect("paths") {
        for (method, _) in ops.as_mapping().unwrap() {
            let m = method.as_str().unwrap();
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                in_spec.insert((m.to_uppercase(), path.as_str().unwrap().to_string()));
            }
        }
    }
    let served: BTreeSet<_> = accountd::api::route_table().into_iter().collect();
    let missing: Vec<_> = served.difference(&in_spec).collect();
    let extra: Vec<_> = in_spec.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in openapi.yaml: {missing:?}; not served: {extra:?}"
    );
}

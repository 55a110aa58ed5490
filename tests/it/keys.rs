//! Signing keys: asymmetric by default, kept in the database, published as a JWK set.

use crate::common::{Process, TestServer, OWNER_EMAIL, PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// A token's header and claims, unverified.
fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut next =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The owner's access token from the instance at `base`.
fn login_at(base: &str) -> String {
    let mut r = agent()
        .post(format!("{base}/user/login"))
        .send_json(json!({"email": OWNER_EMAIL, "password": PASSWORD}))
        .unwrap();
    let v: Value = r.body_mut().read_json().unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// The status of an authenticated read at `base`.
fn status_at(base: &str, token: &str) -> u16 {
    agent()
        .get(format!("{base}/v1/accounts"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

/// Verify `token` with nothing but the server's published JWK set, as another service would.
fn verify_with_jwks(jwks: &Value, token: &str, issuer: &str) -> Result<Value, String> {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
    let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let jwk = set
        .find(header.kid.as_deref().ok_or("no kid")?)
        .ok_or("kid not in the JWK set")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[test]
fn tokens_are_signed_with_a_published_ed25519_key_by_default() {
    let s = TestServer::start();
    let (header, claims) = parts(&s.owner_token);
    assert_eq!(header["alg"], "EdDSA");
    let kid = header["kid"].as_str().unwrap();
    let meta = s
        .call("GET", "/.well-known/oauth-authorization-server", None, None)
        .expect(200)
        .body;
    let issuer = meta["issuer"].as_str().unwrap();
    assert_eq!(claims["iss"], issuer);
    assert!(claims.get("aud").is_none());
    assert_eq!(meta["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(meta["token_endpoint"], format!("{issuer}/v1/auth/token"));
    let r = s
        .call("GET", "/.well-known/jwks.json", None, None)
        .expect(200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], kid);
    assert_eq!(
        (&keys[0]["kty"], &keys[0]["crv"]),
        (&json!("OKP"), &json!("Ed25519"))
    );
    assert!(keys[0].get("d").is_none(), "a private part is published");
    let verified = verify_with_jwks(&r.body, &s.owner_token, issuer).unwrap();
    assert_eq!(verified["sub"], claims["sub"]);
    // A token whose signature or kid does not match is refused by the server.
    let mut bent: Vec<&str> = s.owner_token.split('.').collect();
    let other_header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "EdDSA", "typ": "JWT", "kid": "unknown-kid"}).to_string());
    bent[0] = &other_header;
    s.call("GET", "/v1/accounts", Some(&bent.join(".")), None)
        .expect(401);
}

#[test]
fn es256_and_rs256_keys_sign_and_verify() {
    for (alg, kty) in [("ES256", "EC"), ("RS256", "RSA")] {
        let s = TestServer::start_with(&[("JWT_ALG", alg)]);
        let (header, claims) = parts(&s.owner_token);
        assert_eq!(header["alg"], alg);
        s.get("/v1/accounts", &s.owner_token).expect(200);
        let jwks = s.call("GET", "/.well-known/jwks.json", None, None).body;
        assert_eq!(jwks["keys"][0]["kty"], kty);
        assert!(jwks["keys"][0].get("d").is_none());
        verify_with_jwks(&jwks, &s.owner_token, claims["iss"].as_str().unwrap()).unwrap();
    }
}

#[test]
fn hs256_with_a_secret_publishes_no_key() {
    let s = TestServer::start_with(&[("JWT_SECRET", "a-shared-secret-a-shared-secret-0123")]);
    let (header, _) = parts(&s.owner_token);
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].as_str().unwrap().starts_with("hs256-"));
    s.get("/v1/accounts", &s.owner_token).expect(200);
    let jwks = s.call("GET", "/.well-known/jwks.json", None, None).body;
    assert_eq!(jwks, json!({"keys": []}));
}

/// Another instance on the same database (and the same `ISSUER`, as behind one load balancer)
/// signs with the same key and verifies this one's tokens; its audience is its own.
#[test]
fn instances_share_keys_and_tokens_outlive_a_restart() {
    let s = TestServer::start();
    let issuer = parts(&s.owner_token).1["iss"].as_str().unwrap().to_string();
    let same = [("ISSUER", issuer.as_str())];
    // Another issuer's tokens are not ours.
    let elsewhere = Process::start(&s.db.url, &[("ISSUER", "https://elsewhere.example.com")]);
    let get = status_at;
    assert_eq!(get(&elsewhere.base, &s.owner_token), 401);
    drop(elsewhere);
    let other = Process::start(&s.db.url, &same);
    assert_eq!(get(&other.base, &s.owner_token), 200);
    let theirs = login_at(&other.base);
    assert_eq!(parts(&theirs).0["kid"], parts(&s.owner_token).0["kid"]);
    assert_eq!(get(&s.base, &theirs), 200);
    // Restarted, it still takes the tokens issued before.
    drop(other);
    let again = Process::start(&s.db.url, &same);
    assert_eq!(get(&again.base, &theirs), 200);
    drop(again);
    // An instance with an audience refuses tokens without it, and stamps its own.
    let audience = Process::start(
        &s.db.url,
        &[same[0], ("AUDIENCE", "https://api.example.com")],
    );
    assert_eq!(get(&audience.base, &theirs), 401);
    let stamped = login_at(&audience.base);
    assert_eq!(parts(&stamped).1["aud"], "https://api.example.com");
    assert_eq!(get(&audience.base, &stamped), 200);
}

#[test]
fn private_keys_are_sealed_under_key_encryption_key() {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Text)]
        private_key: String,
    }
    let kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let s = TestServer::start_with(&[("KEY_ENCRYPTION_KEY", kek)]);
    s.get("/v1/accounts", &s.owner_token).expect(200);
    let rows: Vec<Stored> = diesel::sql_query("SELECT private_key FROM signing_keys")
        .load(&mut s.db.conn())
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].private_key.starts_with("enc1:"),
        "{}",
        rows[0].private_key
    );
    // Without the key, or with another, an instance refuses to start and says why.
    for settings in [
        vec![],
        vec![(
            "KEY_ENCRYPTION_KEY",
            "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
        )],
    ] {
        let mut env: std::collections::HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("DATABASE_URL".into(), s.db.url.clone());
        let config = accountd::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let err = accountd::prepare(config).err().unwrap();
        assert!(err.contains("KEY_ENCRYPTION_KEY"), "{err}");
    }
}

#[test]
fn signing_settings_are_checked_at_start() {
    let check = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        accountd::config::Config::from_lookup(|k| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .err()
    };
    assert!(check(&[("JWT_ALG", "RS512")])
        .unwrap()
        .starts_with("JWT_ALG"));
    assert!(check(&[("JWT_ALG", "HS256")])
        .unwrap()
        .contains("JWT_SECRET"));
    let secret = "a-shared-secret-a-shared-secret-0123";
    assert!(check(&[("JWT_ALG", "EdDSA"), ("JWT_SECRET", secret)]).is_some());
    assert!(check(&[("KEY_ENCRYPTION_KEY", "short")])
        .unwrap()
        .starts_with("KEY_ENCRYPTION_KEY"));
    assert!(check(&[]).is_none(), "no JWT setting is needed");
}

/// A rotation on one instance, seen by another on the same database; a verifier that knows
/// only the JWK set (fetched after the rotation) accepts every token on both sides of it.
#[test]
fn rotation_publishes_first_then_signs_on_every_instance() {
    use std::time::Duration;
    let s = TestServer::start_with(&[("KEY_ROTATION_GRACE_SECS", "2")]);
    let issuer = parts(&s.owner_token).1["iss"].as_str().unwrap().to_string();
    let other = Process::start(
        &s.db.url,
        &[
            ("ISSUER", issuer.as_str()),
            ("KEY_ROTATION_GRACE_SECS", "2"),
        ],
    );
    let kid = |token: &str| parts(token).0["kid"].as_str().unwrap().to_string();
    let old = kid(&s.owner_token);
    let rotated = s
        .post("/v1/keys/rotate", &s.owner_token, json!({}))
        .expect(201)
        .body;
    let new = rotated["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated["state"], "next");
    let keys = s.get("/v1/keys", &s.owner_token).expect(200).body;
    let states: Vec<(String, String)> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [(old.clone(), "active".into()), (new.clone(), "next".into())]
    );
    assert!(keys[0]["retiresAt"].is_string() && keys[1]["retiresAt"].is_null());
    // Published at once, still signing with the old key.
    let jwks = s.call("GET", "/.well-known/jwks.json", None, None).body;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(kid(&login_at(&s.base)), old);
    let before = login_at(&other.base);
    assert_eq!(kid(&before), old);
    // After the grace period both instances sign with the new key, and each takes the
    // other's tokens; the JWK set fetched before the switch verifies all of them.
    std::thread::sleep(Duration::from_millis(2500));
    let (a, b) = (login_at(&s.base), login_at(&other.base));
    assert_eq!((kid(&a), kid(&b)), (new.clone(), new.clone()));
    for token in [&s.owner_token, &before, &a, &b] {
        assert_eq!(status_at(&s.base, token), 200);
        assert_eq!(status_at(&other.base, token), 200);
        verify_with_jwks(&jwks, token, &issuer).unwrap();
    }
    let keys = s.get("/v1/keys", &s.owner_token).expect(200).body;
    assert_eq!(
        (&keys[0]["state"], &keys[1]["state"]),
        (&json!("retired"), &json!("active"))
    );
    // Once the old key has retired (as if its last token had expired), its tokens are refused
    // and it is no longer published.
    {
        use diesel::prelude::*;
        diesel::sql_query(format!(
            "UPDATE signing_keys SET retires_at = 1 WHERE kid = '{old}'"
        ))
        .execute(&mut s.db.conn())
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status_at(&s.base, &s.owner_token), 401);
    assert_eq!(status_at(&other.base, &before), 401);
    assert_eq!(status_at(&other.base, &a), 200);
    let jwks = s.call("GET", "/.well-known/jwks.json", None, None).body;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new);
}

#[test]
fn keys_are_the_owners_and_hs256_has_none_to_rotate() {
    let s = TestServer::start_with(&[("JWT_SECRET", "a-shared-secret-a-shared-secret-0123")]);
    s.post("/v1/keys/rotate", &s.owner_token, json!({}))
        .expect(409);
    let (acc, _) = s.account("Acme");
    let (_, admin) = s.user(&acc, "admin");
    s.get("/v1/keys", &admin).expect(403);
    s.post("/v1/keys/rotate", &admin, json!({})).expect(403);
}

#[test]
fn keys_rotate_on_schedule() {
    use diesel::prelude::*;
    let s = TestServer::start_with(&[
        ("KEY_ROTATION_GRACE_SECS", "4"),
        ("KEY_ROTATION_DAYS", "30"),
    ]);
    assert_eq!(
        s.get("/v1/keys", &s.owner_token)
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // As if the key had signed for 31 days: the next refresh (every second here) rotates.
    diesel::sql_query("UPDATE signing_keys SET activates_at = activates_at - 31 * 86400")
        .execute(&mut s.db.conn())
        .unwrap();
    let mut states = vec![];
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let keys = s.get("/v1/keys", &s.owner_token).expect(200).body;
        states = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["state"].as_str().unwrap().to_string())
            .collect();
        if states.len() == 2 {
            break;
        }
    }
    assert_eq!(states, ["active", "next"]);
}

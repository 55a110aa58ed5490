//! Opaque secrets (seat tokens, codes, personal access tokens): random from the OS generator,
//! stored only as SHA-256 hashes, compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `prefix` followed by 256 random bits, URL-safe.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A credential in two parts, `<prefix><id>.<secret>`: the id finds the row, the secret is
/// checked against its stored hash. Returns (the whole credential, id, hash of the secret).
pub fn new_credential(prefix: &str) -> (String, String, String) {
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).expect("the OS random generator is available");
    let id = URL_SAFE_NO_PAD.encode(id);
    let secret = random_token("");
    let whole = format!("{prefix}{id}.{secret}");
    (whole, id, hash_token(&secret))
}

/// Split a credential made by `new_credential` into (id, secret).
pub fn split_credential<'a>(credential: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = credential.strip_prefix(prefix)?;
    let (id, secret) = rest.split_once('.')?;
    (id.len() == 16 && !secret.is_empty() && secret.len() <= 64).then_some((id, secret))
}

/// True when `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: &str) -> bool {
    constant_time_eq(&hash_token(secret), stored)
}

/// The stored form of a secret: hex SHA-256. Lookups go by this hash, so the database never
/// compares the secret itself.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random non-negative number below 2^31 (JSON- and database-friendly).
pub fn random_u31() -> i64 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    i64::from(u32::from_le_bytes(bytes) >> 1)
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
pub fn new_webhook_secret() -> String {
    use base64::engine::general_purpose::STANDARD;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_` secret (the prefix is optional, as receivers accept it).
pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD;
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    (key.len() >= 24).then_some(key)
}

/// One `webhook-signature` entry (Standard Webhooks): `v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` under the key.
pub fn sign_webhook(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_match_the_standard_webhooks_test_vector() {
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign_webhook(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let fresh = new_webhook_secret();
        assert!(fresh.starts_with("whsec_"));
        assert_eq!(webhook_key(&fresh).map(|k| k.len()), Some(32));
        assert!(webhook_key("whsec_short").is_none());
    }

    #[test]
    fn tokens_are_random_prefixed_and_hash_stably() {
        let a = random_token("st_");
        let b = random_token("st_");
        assert!(a.starts_with("st_") && a.len() == 3 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
        let (whole, id, hash) = new_credential("pat_");
        let (i, secret) = split_credential(&whole, "pat_").unwrap();
        assert_eq!(i, id);
        assert!(secret_matches(secret, &hash));
        assert!(!secret_matches("nope", &hash));
        assert!(split_credential(&whole, "rt_").is_none());
        assert!(split_credential("pat_short.x", "pat_").is_none());
    }
}

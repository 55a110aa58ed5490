//! HS256 access tokens.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Account id.
    pub acc: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's token version at issue; bumping it ends every older token.
    pub ver: i64,
    /// The login session (refresh token family) this token belongs to; logout ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
    /// Tells this key's entries in the workers' caches of checked tokens from another's.
    id: u64,
}

/// How many checked tokens each worker thread remembers.
const CHECKED_PER_THREAD: usize = 1024;

thread_local! {
    /// Tokens whose signature this thread has checked, with their claims and the id of the
    /// key that checked them: a client sends the same token on every request, and checking the
    /// signature again (base64, HMAC, JSON) is a fifth of an authenticated read. Only tokens
    /// that passed are here; expiry is checked on every use.
    static CHECKED: std::cell::RefCell<std::collections::HashMap<Box<str>, (u64, Claims)>> =
        std::cell::RefCell::default();
}

impl Keys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Keys {
        // Only HS256; `exp` required and checked with no leeway.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
            id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }
    }

    /// A signed token and its expiry time.
    pub fn issue(
        &self,
        user_id: &str,
        account_id: &str,
        role: &str,
        version: i64,
        sid: Option<&str>,
    ) -> (String, i64) {
        let now = crate::db::models::now_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            acc: account_id.to_string(),
            role: role.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
            jti: crate::ids::new_id(),
            ver: version,
            sid: sid.map(str::to_string),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        (token, claims.exp)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let known = CHECKED.with_borrow(|checked| {
            checked
                .get(token)
                .filter(|(key, _)| *key == self.id)
                .map(|(_, claims)| claims.clone())
        });
        if let Some(claims) = known {
            // As jsonwebtoken judges expiry (no leeway): expired once `exp` is past.
            return (claims.exp >= crate::db::models::now_secs()).then_some(claims);
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        CHECKED.with_borrow_mut(|checked| {
            if checked.len() >= CHECKED_PER_THREAD {
                checked.clear();
            }
            checked.insert(token.into(), (self.id, claims.clone()));
        });
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_algorithm() {
        let keys = Keys::new(&[7u8; 32], 3600);
        let (token, exp) = keys.issue("u1", "a1", "admin", 3, None);
        let c = keys.verify(&token).expect("valid");
        assert_eq!(
            (
                c.sub.as_str(),
                c.acc.as_str(),
                c.role.as_str(),
                c.ver,
                c.exp
            ),
            ("u1", "a1", "admin", 3, exp)
        );
        assert!(Keys::new(&[8u8; 32], 3600).verify(&token).is_none());
        assert!(keys.verify("not.a.jwt").is_none());
        // alg=none with the same claims is refused.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"alg":"none","typ":"JWT"}"#,
        );
        assert!(keys
            .verify(&format!("{none_header}.{}.", parts[1]))
            .is_none());
    }

    #[test]
    fn a_remembered_token_is_refused_once_expired() {
        let keys = Keys::new(&[7u8; 32], 3600);
        let (token, _) = keys.issue("u1", "a1", "user", 0, None);
        assert!(keys.verify(&token).is_some());
        CHECKED.with_borrow_mut(|checked| checked.get_mut(token.as_str()).unwrap().1.exp -= 3601);
        assert!(keys.verify(&token).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = Keys::new(&[7u8; 32], -10);
        let (token, _) = keys.issue("u1", "a1", "user", 0, Some("s1"));
        assert!(keys.verify(&token).is_none());
    }
}

//! Access tokens: signed with the active key (EdDSA or ES256 from the database, see
//! `super::keys`, or HS256 with `JWT_SECRET`), with `kid` in the header and `iss` (and `aud`
//! when set) in the claims; verified by the key their `kid` names.

use crate::config::{Config, JwtAlg};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;

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
    /// The issuer (`ISSUER`).
    #[serde(default)]
    pub iss: String,
    /// The audience (`AUDIENCE`), when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// A public key that verifies tokens naming its `kid`.
pub struct Verifier {
    kid: String,
    key: DecodingKey,
    jwk: Value,
}

impl Verifier {
    pub fn from_jwk(jwk: Value) -> Result<Verifier, String> {
        let parsed: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| format!("not a JWK: {e}"))?;
        let key = DecodingKey::from_jwk(&parsed).map_err(|e| format!("unusable JWK: {e}"))?;
        let kid = parsed.common.key_id.ok_or("a JWK without kid")?;
        Ok(Verifier { kid, key, jwk })
    }
}

pub struct Keys {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    /// The public keys, as `/.well-known/jwks.json` serves them (none for HS256).
    jwks: Value,
    issuer: String,
    audience: Option<String>,
    pub ttl_secs: i64,
    /// Tells this key set's entries in the workers' caches of checked tokens from another's.
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
    /// HS256 with a shared secret: only holders of the secret verify (and mint).
    pub fn hs256(secret: &[u8], config: &Config) -> Keys {
        // A name for the secret that does not reveal it: tokens carry `kid` like any other.
        let digest = crate::secrets::hash_token(&String::from_utf8_lossy(secret));
        let kid = format!("hs256-{}", &digest[..16]);
        let decoding = HashMap::from([(kid.clone(), DecodingKey::from_secret(secret))]);
        Self::build(
            JwtAlg::HS256,
            kid,
            EncodingKey::from_secret(secret),
            decoding,
            json!({"keys": []}),
            config,
        )
    }

    /// An asymmetric key set: `pkcs8` signs as `kid`; `verifiers` verify (the signer's public
    /// key among them).
    pub fn asymmetric(
        alg: JwtAlg,
        kid: &str,
        pkcs8: &[u8],
        verifiers: Vec<Verifier>,
        config: &Config,
    ) -> Result<Keys, String> {
        let encoding = match alg {
            JwtAlg::EdDSA => EncodingKey::from_ed_der(pkcs8),
            JwtAlg::ES256 => EncodingKey::from_ec_der(pkcs8),
            JwtAlg::HS256 => return Err("HS256 is not asymmetric".into()),
        };
        if !verifiers.iter().any(|v| v.kid == kid) {
            return Err(format!("signing key {kid} has no public key"));
        }
        let jwks = json!({"keys": verifiers.iter().map(|v| v.jwk.clone()).collect::<Vec<_>>()});
        let decoding = verifiers.into_iter().map(|v| (v.kid, v.key)).collect();
        Ok(Self::build(
            alg,
            kid.to_string(),
            encoding,
            decoding,
            jwks,
            config,
        ))
    }

    fn build(
        alg: JwtAlg,
        kid: String,
        encoding: EncodingKey,
        decoding: HashMap<String, DecodingKey>,
        jwks: Value,
        config: &Config,
    ) -> Keys {
        let alg = match alg {
            JwtAlg::EdDSA => Algorithm::EdDSA,
            JwtAlg::ES256 => Algorithm::ES256,
            JwtAlg::HS256 => Algorithm::HS256,
        };
        // One algorithm only; `exp` required and checked with no leeway; `iss` must be ours,
        // and `aud` when one is set.
        let mut validation = Validation::new(alg);
        validation.leeway = 0;
        validation.set_issuer(&[&config.issuer]);
        match &config.audience {
            Some(aud) => {
                validation.set_required_spec_claims(&["exp", "sub", "iat", "iss", "aud"]);
                validation.set_audience(&[aud]);
            }
            None => {
                validation.set_required_spec_claims(&["exp", "sub", "iat", "iss"]);
                validation.validate_aud = false;
            }
        }
        Keys {
            alg,
            kid,
            encoding,
            decoding,
            validation,
            jwks,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_secs: config.access_token_ttl_secs,
            id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }
    }

    /// The public keys as a JWK set (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
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
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        let token = encode(&header, &claims, &self.encoding)
            .expect("signing with a loaded key cannot fail");
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
        // The key the token names; an HS256 token from before keys had names: the secret.
        let kid = decode_header(token).ok()?.kid;
        let key = match kid {
            Some(kid) => self.decoding.get(&kid)?,
            None if self.alg == Algorithm::HS256 => self.decoding.values().next()?,
            None => return None,
        };
        let claims = decode::<Claims>(token, key, &self.validation).ok()?.claims;
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

    fn hs(secret: &[u8], ttl: i64) -> Keys {
        let secret = String::from_utf8(secret.repeat(32 / secret.len())).unwrap();
        let config = Config::from_lookup(|k| match k {
            "JWT_SECRET" => Some(secret.clone()),
            "ACCESS_TOKEN_TTL" => Some("60".into()),
            _ => None,
        })
        .unwrap();
        Keys {
            ttl_secs: ttl,
            ..Keys::hs256(config.jwt_secret.as_deref().unwrap(), &config)
        }
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_algorithm() {
        let keys = hs(b"7", 3600);
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
        assert!(hs(b"8", 3600).verify(&token).is_none());
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
        let keys = hs(b"7", 3600);
        let (token, _) = keys.issue("u1", "a1", "user", 0, None);
        assert!(keys.verify(&token).is_some());
        CHECKED.with_borrow_mut(|checked| checked.get_mut(token.as_str()).unwrap().1.exp -= 3601);
        assert!(keys.verify(&token).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = hs(b"7", -10);
        let (token, _) = keys.issue("u1", "a1", "user", 0, Some("s1"));
        assert!(keys.verify(&token).is_none());
    }
}

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
    /// A session of a user whose account requires MFA and who has not used it: the token
    /// only enrols TOTP (403 elsewhere).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enrol_only: bool,
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

/// A key that signs from `activates_at` on (until a newer one activates).
pub struct Signer {
    pub kid: String,
    pub activates_at: i64,
    pub key: EncodingKey,
}

/// The keys loaded at one moment: who signs when, who verifies, what is published.
pub struct KeySet {
    /// Oldest activation first.
    signers: Vec<Signer>,
    decoding: HashMap<String, DecodingKey>,
    /// The public keys, as `/.well-known/jwks.json` serves them (none for HS256).
    jwks: Value,
    /// Tells this set's entries in the workers' caches of checked tokens from another's.
    id: u64,
}

impl KeySet {
    fn new(mut signers: Vec<Signer>, decoding: HashMap<String, DecodingKey>, jwks: Value) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        signers.sort_by_key(|s| s.activates_at);
        KeySet {
            signers,
            decoding,
            jwks,
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// HS256 with a shared secret: only holders of the secret verify (and mint).
    pub fn hs256(secret: &[u8]) -> KeySet {
        // A name for the secret that does not reveal it: tokens carry `kid` like any other.
        let digest = crate::secrets::hash_token(&String::from_utf8_lossy(secret));
        let kid = format!("hs256-{}", &digest[..16]);
        let decoding = HashMap::from([(kid.clone(), DecodingKey::from_secret(secret))]);
        let signer = Signer {
            kid,
            activates_at: 0,
            key: EncodingKey::from_secret(secret),
        };
        KeySet::new(vec![signer], decoding, json!({"keys": []}))
    }

    /// Asymmetric keys: `signers` as (kid, activates_at, PKCS#8), `verifiers` with their JWKs
    /// (every signer's public key among them).
    pub fn asymmetric(
        alg: JwtAlg,
        signers: Vec<(String, i64, Vec<u8>)>,
        verifiers: Vec<Verifier>,
    ) -> Result<KeySet, String> {
        let mut loaded = vec![];
        for (kid, activates_at, pkcs8) in signers {
            let key = match alg {
                JwtAlg::EdDSA => EncodingKey::from_ed_der(&pkcs8),
                JwtAlg::ES256 => EncodingKey::from_ec_der(&pkcs8),
                JwtAlg::RS256 => EncodingKey::from_rsa_der(&pkcs8),
                JwtAlg::HS256 => return Err("HS256 is not asymmetric".into()),
            };
            if !verifiers.iter().any(|v| v.kid == kid) {
                return Err(format!("signing key {kid} has no public key"));
            }
            loaded.push(Signer {
                kid,
                activates_at,
                key,
            });
        }
        let jwks = json!({"keys": verifiers.iter().map(|v| v.jwk.clone()).collect::<Vec<_>>()});
        let decoding = verifiers.into_iter().map(|v| (v.kid, v.key)).collect();
        Ok(KeySet::new(loaded, decoding, jwks))
    }

    /// The key that signs at `now`: the newest one active by then.
    fn signer(&self, now: i64) -> &Signer {
        self.signers
            .iter()
            .rev()
            .find(|s| s.activates_at <= now)
            .unwrap_or(&self.signers[0])
    }

    /// What tells one loaded set from another: the kids that verify, and who signs when.
    fn fingerprint(&self) -> (Vec<&String>, Vec<(&String, i64)>) {
        let mut kids: Vec<&String> = self.decoding.keys().collect();
        kids.sort();
        let signers = self
            .signers
            .iter()
            .map(|s| (&s.kid, s.activates_at))
            .collect();
        (kids, signers)
    }
}

/// The access-token keys of this instance: the current `KeySet` (replaced when the keys in
/// the database change), and the rules every token is checked by.
pub struct Keys {
    alg: Algorithm,
    set: arc_swap::ArcSwap<KeySet>,
    validation: Validation,
    pub ttl_secs: i64,
    /// When the set was last reloaded for a token naming an unknown `kid` (seconds).
    reloaded: std::sync::atomic::AtomicI64,
    /// The settings a reload builds the set with.
    config: Config,
}

/// How often a token with an unknown `kid` may make this instance reload its keys.
const RELOAD_EVERY_SECS: i64 = 5;

/// How many checked tokens each worker thread remembers.
const CHECKED_PER_THREAD: usize = 1024;

thread_local! {
    /// Tokens whose signature this thread has checked, with their claims and the id of the
    /// key set that checked them: a client sends the same token on every request, and checking
    /// the signature again (base64, signature, JSON) is a fifth of an authenticated read. Only
    /// tokens that passed are here; expiry is checked on every use.
    static CHECKED: std::cell::RefCell<std::collections::HashMap<Box<str>, (u64, Claims)>> =
        std::cell::RefCell::default();
}

impl Keys {
    pub fn new(config: &Config, set: KeySet) -> Keys {
        let alg = match config.jwt_alg {
            JwtAlg::EdDSA => Algorithm::EdDSA,
            JwtAlg::ES256 => Algorithm::ES256,
            JwtAlg::RS256 => Algorithm::RS256,
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
            set: arc_swap::ArcSwap::from_pointee(set),
            validation,
            ttl_secs: config.access_token_ttl_secs,
            reloaded: std::sync::atomic::AtomicI64::new(0),
            config: config.clone(),
        }
    }

    /// Use `set` from now on, unless it holds the same keys as the current one (so the
    /// workers' caches of checked tokens stay warm). True when it changed.
    pub fn replace(&self, set: KeySet) -> bool {
        if self.set.load().fingerprint() == set.fingerprint() {
            return false;
        }
        self.set.store(std::sync::Arc::new(set));
        true
    }

    /// The public keys as a JWK set (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> Value {
        self.set.load().jwks.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Whether `token` names a key this instance does not know, and it may reload its keys
    /// now (at most every few seconds, so unknown kids cannot make it hammer the database).
    pub fn should_reload_for(&self, token: &str) -> bool {
        use std::sync::atomic::Ordering;
        let Some(kid) = decode_header(token).ok().and_then(|h| h.kid) else {
            return false;
        };
        if self.set.load().decoding.contains_key(&kid) {
            return false;
        }
        let now = crate::db::models::now_secs();
        let last = self.reloaded.load(Ordering::Relaxed);
        now - last >= RELOAD_EVERY_SECS
            && self
                .reloaded
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
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
        self.issue_for(user_id, account_id, role, version, sid, false)
    }

    /// `issue`, marking the token as one that may only enrol a second factor.
    pub fn issue_for(
        &self,
        user_id: &str,
        account_id: &str,
        role: &str,
        version: i64,
        sid: Option<&str>,
        enrol_only: bool,
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
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            enrol_only,
        };
        let set = self.set.load();
        let signer = set.signer(now);
        let mut header = Header::new(self.alg);
        header.kid = Some(signer.kid.clone());
        let token =
            encode(&header, &claims, &signer.key).expect("signing with a loaded key cannot fail");
        (token, claims.exp)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let set = self.set.load();
        let known = CHECKED.with_borrow(|checked| {
            checked
                .get(token)
                .filter(|(key, _)| *key == set.id)
                .map(|(_, claims)| claims.clone())
        });
        if let Some(claims) = known {
            // As jsonwebtoken judges expiry (no leeway): expired once `exp` is past.
            return (claims.exp >= crate::db::models::now_secs()).then_some(claims);
        }
        // The key the token names; an HS256 token from before keys had names: the secret.
        let kid = decode_header(token).ok()?.kid;
        let key = match kid {
            Some(kid) => set.decoding.get(&kid)?,
            None if self.alg == Algorithm::HS256 => set.decoding.values().next()?,
            None => return None,
        };
        let claims = decode::<Claims>(token, key, &self.validation).ok()?.claims;
        CHECKED.with_borrow_mut(|checked| {
            if checked.len() >= CHECKED_PER_THREAD {
                checked.clear();
            }
            checked.insert(token.into(), (set.id, claims.clone()));
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
        let set = KeySet::hs256(config.jwt_secret.as_deref().unwrap());
        Keys {
            ttl_secs: ttl,
            ..Keys::new(&config, set)
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

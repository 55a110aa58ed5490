//! Signing keys of access tokens: made with `ring`, kept in the database so that every
//! instance signs and verifies with the same set and tokens outlive a restart, the private
//! halves sealed with ChaCha20-Poly1305 under `KEY_ENCRYPTION_KEY` when it is set, the public
//! halves published as a JWK set.

use super::jwt::{KeySet, Keys, Verifier};
use crate::config::{Config, JwtAlg};
use crate::db::keys::{self as store, KeyRow};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// The private key sealed under `KEY_ENCRYPTION_KEY`: "enc1:" + base64(nonce || ciphertext).
const SEALED: &str = "enc1:";

/// A new key pair: its private document (PKCS#8; PKCS#1 for RSA) and its public JWK (with
/// `kid`, `alg` and `use`).
fn generate(alg: JwtAlg, kid: &str) -> Result<(Vec<u8>, Value), String> {
    let rng = SystemRandom::new();
    let (pkcs8, mut jwk) = match alg {
        JwtAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "Ed25519 key")?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "Ed25519 key")?;
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            (
                pkcs8.as_ref().to_vec(),
                json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
            )
        }
        JwtAlg::ES256 => {
            let signing = &ECDSA_P256_SHA256_FIXED_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).map_err(|_| "P-256 key")?;
            let pair =
                EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).map_err(|_| "P-256 key")?;
            // An uncompressed point: 0x04, then x and y of 32 bytes each.
            let point = pair.public_key().as_ref();
            let (x, y) = (&point[1..33], &point[33..65]);
            let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
            (
                pkcs8.as_ref().to_vec(),
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            )
        }
        JwtAlg::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            // ring cannot make RSA keys; the `rsa` crate makes it (ring signs with it).
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                .map_err(|e| format!("RSA key: {e}"))?;
            let der = key.to_pkcs1_der().map_err(|e| format!("RSA key: {e}"))?;
            let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
            let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
            (
                der.as_bytes().to_vec(),
                json!({"kty": "RSA", "n": n, "e": e}),
            )
        }
        JwtAlg::HS256 => return Err("HS256 keys are not kept in the database".into()),
    };
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.name());
    jwk["use"] = json!("sig");
    Ok((pkcs8, jwk))
}

fn cipher(kek: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, kek).expect("a 32-byte key"))
}

/// The stored form of a private key; the `kid` is bound to it as associated data, so a
/// sealed key cannot be moved to another row.
pub(crate) fn seal(kek: Option<&[u8; 32]>, kid: &str, pkcs8: &[u8]) -> Result<String, String> {
    let Some(kek) = kek else {
        return Ok(STANDARD.encode(pkcs8));
    };
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| "no randomness")?;
    let mut sealed = pkcs8.to_vec();
    cipher(kek)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| "sealing the key failed")?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!("{SEALED}{}", STANDARD.encode(out)))
}

pub(crate) fn open(kek: Option<&[u8; 32]>, kid: &str, stored: &str) -> Result<Vec<u8>, String> {
    let Some(sealed) = stored.strip_prefix(SEALED) else {
        return STANDARD
            .decode(stored)
            .map_err(|_| format!("signing key {kid}: not base64"));
    };
    let Some(kek) = kek else {
        return Err(format!(
            "signing key {kid} is encrypted: KEY_ENCRYPTION_KEY is needed"
        ));
    };
    let bytes = STANDARD
        .decode(sealed)
        .map_err(|_| format!("signing key {kid}: not base64"))?;
    if bytes.len() < NONCE_LEN {
        return Err(format!("signing key {kid}: too short"));
    }
    let (nonce, rest) = bytes.split_at(NONCE_LEN);
    let mut rest = rest.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce")?;
    let plain = cipher(kek)
        .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut rest)
        .map_err(|_| {
            format!("KEY_ENCRYPTION_KEY does not open signing key {kid} (another key sealed it?)")
        })?;
    Ok(plain.to_vec())
}

/// Whether `row` is of the configured algorithm and not retired at `now`.
fn live(row: &KeyRow, alg: JwtAlg, now: i64) -> bool {
    row.alg == alg.name() && row.retires_at.is_none_or(|r| r > now)
}

/// Whether `row` may sign at `now`: live and active.
fn signs(row: &KeyRow, alg: JwtAlg, now: i64) -> bool {
    live(row, alg, now) && row.activates_at <= now
}

/// The kid that signs at `now` among `rows`: the newest active live key of `alg`.
pub fn signer_at(rows: &[KeyRow], alg: JwtAlg, now: i64) -> Option<&str> {
    rows.iter()
        .filter(|r| signs(r, alg, now))
        .max_by_key(|r| r.activates_at)
        .map(|r| r.kid.as_str())
}

fn new_row(config: &Config, now: i64, activates_at: i64) -> ApiResult<KeyRow> {
    let kid = crate::ids::new_id();
    let (pkcs8, jwk) = generate(config.jwt_alg, &kid).map_err(ApiError::internal)?;
    Ok(KeyRow {
        private_key: seal(config.key_encryption_key.as_ref(), &kid, &pkcs8)
            .map_err(ApiError::internal)?,
        kid,
        alg: config.jwt_alg.name().to_string(),
        public_jwk: jwk.to_string(),
        created: now,
        activates_at,
        retires_at: None,
    })
}

/// Inside a write transaction: the stored keys, after creating the first one of the configured
/// algorithm if none can sign (the first start, or a change of `JWT_ALG`).
pub fn ensure(conn: &mut DbConn, config: &Config) -> ApiResult<Vec<KeyRow>> {
    store::lock_for_creation(conn)?;
    let now = crate::db::models::now_secs();
    let rows = store::all(conn)?;
    if !rows.iter().any(|r| signs(r, config.jwt_alg, now)) {
        store::insert(conn, &new_row(config, now, now)?)?;
        return Ok(store::all(conn)?);
    }
    Ok(rows)
}

/// Inside a write transaction: publish a new key that signs `KEY_ROTATION_GRACE_SECS` from
/// now (every instance loads it before then, and verifiers that cache the JWK set for its
/// max-age see it first). The keys it replaces retire once the last token they could sign
/// has expired. The new key's row.
pub fn rotate(conn: &mut DbConn, config: &Config) -> ApiResult<KeyRow> {
    store::lock_for_creation(conn)?;
    let now = crate::db::models::now_secs();
    let activates_at = now + config.key_rotation_grace_secs;
    let row = new_row(config, now, activates_at)?;
    store::retire_all_but(conn, &row.kid, activates_at + config.access_token_ttl_secs)?;
    store::insert(conn, &row)?;
    Ok(row)
}

/// Inside a write transaction: rotate when the newest key has signed for `KEY_ROTATION_DAYS`
/// (several instances: the first to look does it). The new key, if any.
pub fn rotate_if_due(conn: &mut DbConn, config: &Config) -> ApiResult<Option<KeyRow>> {
    if config.key_rotation_days == 0 || config.jwt_alg == JwtAlg::HS256 {
        return Ok(None);
    }
    store::lock_for_creation(conn)?;
    let now = crate::db::models::now_secs();
    let newest = store::all(conn)?
        .into_iter()
        .filter(|r| live(r, config.jwt_alg, now))
        .map(|r| r.activates_at)
        .max();
    match newest {
        Some(t) if t + config.key_rotation_days * 86_400 > now => Ok(None),
        _ => rotate(conn, config).map(Some),
    }
}

/// The key set of `rows` under `config`: every live key verifies and signs from its
/// activation on; at least one must be active.
pub fn key_set(rows: &[KeyRow], config: &Config) -> Result<KeySet, String> {
    let alg = config.jwt_alg;
    if alg == JwtAlg::HS256 {
        let secret = config.jwt_secret.as_deref().expect("checked by Config");
        return Ok(KeySet::hs256(secret));
    }
    let now = crate::db::models::now_secs();
    let kek = config.key_encryption_key.as_ref();
    if !rows.iter().any(|r| signs(r, alg, now)) {
        return Err(format!("no {} signing key in the database", alg.name()));
    }
    let (mut signers, mut verifiers) = (vec![], vec![]);
    for r in rows.iter().filter(|r| live(r, alg, now)) {
        let jwk: Value = serde_json::from_str(&r.public_jwk)
            .map_err(|e| format!("signing key {}: public JWK: {e}", r.kid))?;
        verifiers.push(Verifier::from_jwk(jwk).map_err(|e| format!("signing key {}: {e}", r.kid))?);
        signers.push((
            r.kid.clone(),
            r.activates_at,
            open(kek, &r.kid, &r.private_key)?,
        ));
    }
    KeySet::asymmetric(alg, signers, verifiers)
}

/// Make sure a key exists and load the set: at start-up, before serving.
pub fn load(conn: &mut DbConn, config: &Config) -> Result<Keys, String> {
    let set = if config.jwt_alg == JwtAlg::HS256 {
        key_set(&[], config)?
    } else {
        let rows = crate::db::write_tx(conn, |c| ensure(c, config))
            .map_err(|e| format!("signing keys: {e}"))?;
        key_set(&rows, config)?
    };
    Ok(Keys::new(config, set))
}

/// Read the keys again and use them if they changed (another instance rotated, or time made
/// a published key the signer). True when they changed.
pub fn reload(conn: &mut DbConn, keys: &Keys) -> ApiResult<bool> {
    let config = keys.config();
    if config.jwt_alg == JwtAlg::HS256 {
        return Ok(false);
    }
    let rows = store::all(conn)?;
    let set = key_set(&rows, config).map_err(ApiError::internal)?;
    Ok(keys.replace(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_key_and_kid() {
        let kek = [9u8; 32];
        let stored = seal(Some(&kek), "k1", b"private").unwrap();
        assert!(stored.starts_with(SEALED));
        assert!(!stored.contains(&STANDARD.encode(b"private")));
        assert_eq!(open(Some(&kek), "k1", &stored).unwrap(), b"private");
        assert!(open(Some(&[8u8; 32]), "k1", &stored).is_err());
        assert!(open(Some(&kek), "k2", &stored).is_err());
        assert!(open(None, "k1", &stored)
            .unwrap_err()
            .contains("KEY_ENCRYPTION_KEY"));
        // Without a key-encryption key: plain base64, readable with or without one later.
        let plain = seal(None, "k1", b"private").unwrap();
        assert_eq!(open(Some(&kek), "k1", &plain).unwrap(), b"private");
    }

    #[test]
    fn generated_keys_publish_their_public_half() {
        for alg in [JwtAlg::EdDSA, JwtAlg::ES256, JwtAlg::RS256] {
            let (pkcs8, jwk) = generate(alg, "k1").unwrap();
            assert!(!pkcs8.is_empty());
            assert_eq!(jwk["kid"], "k1");
            assert_eq!(jwk["alg"], alg.name());
            assert!(jwk.get("d").is_none(), "no private part in {jwk}");
        }
    }
}

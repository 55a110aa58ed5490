//! Every setting, read once from the environment (or `.env`) and validated.
//! A bad value stops the start with one line naming the variable.

use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    Open,
    Closed,
}

/// The signature algorithm of access tokens (`JWT_ALG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlg {
    /// Ed25519: small keys and signatures, fast to verify. The default.
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSA (2048 bits) PKCS#1 v1.5 with SHA-256: for verifiers that know nothing newer.
    RS256,
    /// HMAC-SHA256 with `JWT_SECRET`: only services holding the secret can verify (and mint).
    HS256,
}

impl JwtAlg {
    pub fn name(self) -> &'static str {
        match self {
            JwtAlg::EdDSA => "EdDSA",
            JwtAlg::ES256 => "ES256",
            JwtAlg::RS256 => "RS256",
            JwtAlg::HS256 => "HS256",
        }
    }

    pub fn parse(s: &str) -> Option<JwtAlg> {
        [JwtAlg::EdDSA, JwtAlg::ES256, JwtAlg::RS256, JwtAlg::HS256]
            .into_iter()
            .find(|a| a.name() == s)
    }
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub listen_addr: String,
    /// How access tokens are signed: HS256 with `JWT_SECRET`, or a key kept in the database.
    pub jwt_alg: JwtAlg,
    pub jwt_secret: Option<Vec<u8>>,
    /// `iss` of every token (`ISSUER`, default `http://<LISTEN_ADDR>`).
    pub issuer: String,
    /// `aud` of every token, required of every token presented, when set.
    pub audience: Option<String>,
    /// Encrypts the private signing keys at rest (`KEY_ENCRYPTION_KEY`, 32 bytes in base64).
    pub key_encryption_key: Option<[u8; 32]>,
    /// A new signing key every this many days (`KEY_ROTATION_DAYS`; 0: never).
    pub key_rotation_days: i64,
    /// A new key is published this long before it signs (`KEY_ROTATION_GRACE_SECS`).
    pub key_rotation_grace_secs: i64,
    /// Events are kept this many days (`EVENT_RETENTION_DAYS`).
    pub event_retention_days: i64,
    /// Webhook URLs may reach private, loopback and link-local addresses
    /// (`WEBHOOK_ALLOW_PRIVATE=1`; tests and local receivers).
    pub webhook_allow_private: bool,
    /// A delivery that has no 2xx answer within this many seconds failed
    /// (`WEBHOOK_TIMEOUT_SECS`).
    pub webhook_timeout_secs: u64,
    /// At most this many deliveries are in flight per instance (`WEBHOOK_CONCURRENCY`).
    pub webhook_concurrency: usize,
    /// This instance delivers webhooks (`WEBHOOK_DELIVERY=0`: it leaves them to the others
    /// sharing its database).
    pub webhook_delivery: bool,
    pub owner: Option<(String, String)>,
    pub bcrypt_cost: u32,
    pub registration: Registration,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub mail_dir: PathBuf,
    pub cors_origins: Vec<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub access_token_ttl_secs: i64,
    pub db_pool_size: u32,
    /// Failed logins per identity within `login_lock_secs` before it is locked that long.
    pub login_max_failures: i32,
    /// Failed logins and code attempts per client address in the same window.
    pub login_ip_max_failures: i32,
    pub login_lock_secs: i64,
    /// Password hashes allowed to wait for a core; more answer 503 at once.
    pub hash_queue_limit: usize,
    /// How long a stopping instance lets the requests in flight finish.
    pub shutdown_grace_secs: u64,
    /// How long a stopping instance goes on accepting (answering `/readyz` 503) so that load
    /// balancers take it out before its listener closes.
    pub shutdown_delay_secs: u64,
}

impl std::fmt::Debug for Config {
    // Secrets never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen_addr", &self.listen_addr)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("registration", &self.registration)
            .finish_non_exhaustive()
    }
}

/// Hide a password in a `postgres://user:pass@host` URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Config {
    /// Read the environment. `Err` is the one line to print before exiting.
    pub fn from_env() -> Result<Config, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings from any source (the tests pass a map, not the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = var("DATABASE_URL").unwrap_or_else(|| "sqlite://accountd.db".into());
        if !(database_url.starts_with("sqlite://")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err("DATABASE_URL must start with sqlite:// or postgres://".into());
        }
        let listen_addr = var("LISTEN_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen_addr = if listen_addr.starts_with(':') {
            format!("127.0.0.1{listen_addr}")
        } else {
            listen_addr
        };
        if listen_addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_none()
        {
            return Err(
                "LISTEN_ADDR must be HOST:PORT (e.g. 127.0.0.1:8080, or :0 for a free port)".into(),
            );
        }
        let jwt_secret = match var("JWT_SECRET") {
            Some(s) if s.len() >= 32 => Some(s.into_bytes()),
            Some(_) => return Err("JWT_SECRET must be at least 32 bytes".into()),
            None => None,
        };
        // With `JWT_SECRET` alone, HS256 as before; otherwise a key kept in the database.
        let jwt_alg = match var("JWT_ALG") {
            None if jwt_secret.is_some() => JwtAlg::HS256,
            None => JwtAlg::EdDSA,
            Some(a) => JwtAlg::parse(&a).ok_or_else(|| {
                format!("JWT_ALG must be EdDSA, ES256, RS256 or HS256, not {a:?}")
            })?,
        };
        match (jwt_alg, &jwt_secret) {
            (JwtAlg::HS256, None) => return Err("JWT_ALG=HS256 needs JWT_SECRET".into()),
            (JwtAlg::EdDSA | JwtAlg::ES256 | JwtAlg::RS256, Some(_)) => {
                return Err(format!(
                    "JWT_SECRET is only for JWT_ALG=HS256 (JWT_ALG={} signs with keys kept in the database)",
                    jwt_alg.name()
                ))
            }
            _ => {}
        }
        let key_encryption_key = match var("KEY_ENCRYPTION_KEY") {
            None => None,
            Some(k) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .ok()
                    .filter(|b| b.len() == 32)
                    .ok_or(
                        "KEY_ENCRYPTION_KEY must be 32 bytes in base64 (openssl rand -base64 32)",
                    )?;
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                Some(key)
            }
        };
        let audience = var("AUDIENCE");
        let owner = match (var("OWNER_EMAIL"), var("OWNER_PASSWORD")) {
            (Some(e), Some(p)) => Some((e, p)),
            (None, None) => None,
            _ => return Err("OWNER_EMAIL and OWNER_PASSWORD must be set together".into()),
        };
        let bcrypt_cost = match var("BCRYPT_COST") {
            None => 12,
            Some(v) => match v.parse::<u32>() {
                Ok(c) if (4..=31).contains(&c) => c,
                _ => return Err("BCRYPT_COST must be a whole number from 4 to 31".into()),
            },
        };
        let registration = match var("REGISTRATION").as_deref() {
            None | Some("open") => Registration::Open,
            Some("closed") => Registration::Closed,
            Some(_) => return Err("REGISTRATION must be open or closed".into()),
        };
        let smtp_url = var("SMTP_URL");
        if let Some(u) = &smtp_url {
            if !u.starts_with("smtp://") {
                return Err(
                    "SMTP_URL must start with smtp:// (TLS belongs to a local relay)".into(),
                );
            }
        }
        let tls = match (var("TLS_CERT"), var("TLS_KEY")) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            _ => return Err("TLS_CERT and TLS_KEY must be set together".into()),
        };
        let access_token_ttl_secs = match var("ACCESS_TOKEN_TTL") {
            None => 3600,
            Some(v) => match v.parse::<i64>() {
                Ok(s) if (60..=86_400).contains(&s) => s,
                _ => return Err("ACCESS_TOKEN_TTL must be seconds from 60 to 86400".into()),
            },
        };
        let db_pool_size = match var("DATABASE_POOL_SIZE") {
            None => 10,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=200).contains(&n) => n,
                _ => return Err("DATABASE_POOL_SIZE must be a whole number from 1 to 200".into()),
            },
        };
        let int = |name: &str, default: i64, min: i64, max: i64| -> Result<i64, String> {
            match var(name) {
                None => Ok(default),
                Some(v) => match v.parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(format!("{name} must be a whole number from {min} to {max}")),
                },
            }
        };
        let cors_origins: Vec<String> = var("CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for o in &cors_origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty() && !r.contains('/') && !r.contains('*') && !r.contains(' ')
            });
            if !ok {
                return Err(format!(
                    "CORS_ORIGINS: {o:?} is not an origin like https://dash.example.com (no path, no wildcard)"
                ));
            }
        }
        let issuer = var("ISSUER").unwrap_or_else(|| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{listen_addr}")
        });
        let cores = cores() as i64;
        let login_max_failures = int("LOGIN_MAX_FAILURES", 10, 1, 1000)? as i32;
        let login_ip_max_failures = int("LOGIN_IP_MAX_FAILURES", 100, 1, 100_000)? as i32;
        let login_lock_secs = int("LOGIN_LOCK_SECS", 900, 1, 86_400)?;
        let hash_queue_limit = int("HASH_QUEUE_LIMIT", 2 * cores, 0, 10_000)? as usize;
        let shutdown_grace_secs = int("SHUTDOWN_GRACE_SECS", 30, 0, 3_600)? as u64;
        let shutdown_delay_secs = int("SHUTDOWN_DELAY_SECS", 1, 0, 300)? as u64;
        let key_rotation_days = int("KEY_ROTATION_DAYS", 90, 0, 3_650)?;
        let key_rotation_grace_secs = int("KEY_ROTATION_GRACE_SECS", 600, 1, 86_400)?;
        let event_retention_days = int("EVENT_RETENTION_DAYS", 30, 1, 3_650)?;
        let webhook_allow_private = match var("WEBHOOK_ALLOW_PRIVATE").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(_) => return Err("WEBHOOK_ALLOW_PRIVATE must be 0 or 1".into()),
        };
        let webhook_timeout_secs = int("WEBHOOK_TIMEOUT_SECS", 10, 1, 60)? as u64;
        let webhook_concurrency = int("WEBHOOK_CONCURRENCY", 64, 1, 1_024)? as usize;
        let webhook_delivery = match var("WEBHOOK_DELIVERY").as_deref() {
            None | Some("1") => true,
            Some("0") => false,
            Some(_) => return Err("WEBHOOK_DELIVERY must be 0 or 1".into()),
        };
        Ok(Config {
            webhook_allow_private,
            webhook_timeout_secs,
            webhook_concurrency,
            webhook_delivery,
            event_retention_days,
            key_rotation_days,
            key_rotation_grace_secs,
            shutdown_grace_secs,
            shutdown_delay_secs,
            login_max_failures,
            login_ip_max_failures,
            login_lock_secs,
            hash_queue_limit,
            database_url,
            listen_addr,
            jwt_alg,
            jwt_secret,
            issuer,
            audience,
            key_encryption_key,
            owner,
            bcrypt_cost,
            registration,
            smtp_url,
            mail_from: var("MAIL_FROM").unwrap_or_else(|| "accountd@localhost".into()),
            mail_dir: PathBuf::from(var("MAIL_DIR").unwrap_or_else(|| "./mail".into())),
            cors_origins,
            tls,
            access_token_ttl_secs,
            db_pool_size,
        })
    }
}

/// The machine's cores (what the hashing threads, the workers and the pools are sized by).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_in_database_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}

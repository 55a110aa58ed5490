//! Brute-force protection for logins and codes: failures are counted per identity and per
//! client address in the database, reserved before the secret is checked, so neither parallel
//! guesses nor several instances can get more checks than the limit. At the limit the key is
//! locked, and every attempt (even a right one) answers 429 with `Retry-After`.

use crate::config::Config;
use crate::db::audit::Meta;
use crate::db::models::now;
use crate::db::throttle::{self as store, Reserve};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};

/// What one attempt is counted against.
#[derive(Clone, Debug)]
pub struct Keys {
    identity: Option<String>,
    client: Option<String>,
}

impl Keys {
    /// A password login for `identity` (email or username) from `client` (its address).
    pub fn login(identity: &str, client: Option<&str>) -> Keys {
        Keys {
            identity: Some(format!("login:{}", identity.trim().to_lowercase())),
            client: client.map(|c| format!("ip:{c}")),
        }
    }

    /// A code (confirmation, invitation, reset) tried from `client`; each code also counts its
    /// own wrong guesses.
    pub fn code(client: Option<&str>) -> Keys {
        Keys {
            identity: None,
            client: client.map(|c| format!("ip:{c}")),
        }
    }
}

fn locked(until: i64) -> ApiError {
    let secs = ((until - now()) / 1_000_000).max(1) as u64;
    ApiError::TooManyRequests {
        message: "too many failed attempts; try again later".into(),
        retry_after: secs,
    }
}

/// Count this attempt. `Ok(Err(429))` when a key is locked: the caller commits (the count and
/// the lock must stay) and then refuses. A new lock is written to the audit log.
pub fn reserve(
    conn: &mut DbConn,
    config: &Config,
    keys: &Keys,
    meta: &Meta,
) -> ApiResult<Result<(), ApiError>> {
    let window = config.login_lock_secs * 1_000_000;
    let ts = now();
    let limits = [
        (&keys.identity, config.login_max_failures),
        (&keys.client, config.login_ip_max_failures),
    ];
    for (key, max) in limits {
        let Some(k) = key else { continue };
        if let Reserve::Locked { until, new } = store::reserve(conn, k, max, window, window, ts)? {
            if new {
                crate::db::audit::record(conn, meta, "login.lockout", None, Some(k))?;
            }
            return Ok(Err(locked(until)));
        }
    }
    Ok(Ok(()))
}

/// The attempt succeeded: the identity starts afresh, the address gets its attempt back.
pub fn succeeded(conn: &mut DbConn, keys: &Keys) -> ApiResult<()> {
    if let Some(k) = &keys.identity {
        store::clear(conn, k)?;
    }
    if let Some(k) = &keys.client {
        store::release(conn, k)?;
    }
    Ok(())
}

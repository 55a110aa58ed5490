//! Brute-force protection for logins and codes: failures are counted per user (or, for an
//! unknown name, per login string) and per client address in the database, reserved before the
//! secret is checked, so neither parallel guesses nor several instances get more checks than
//! the limit. The attempt that reaches the limit locks the key at once; then every attempt (even
//! a right one) answers 429 with `Retry-After` until the lock ends.

use crate::config::Config;
use crate::db::audit::Meta;
use crate::db::models::{now, User};
use crate::db::throttle::{self as store, Reserve};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};

/// What one attempt is counted against.
#[derive(Clone, Debug)]
pub struct Keys {
    identity: Option<String>,
    client: Option<String>,
    /// The user (id, account) behind the identity, for the audit log of a lockout.
    user: Option<(String, String)>,
}

impl Keys {
    /// A password login for `identity` (email or username) resolving to `user`, from `client`.
    /// A known user has one counter whatever name it logs in with.
    pub fn login(identity: &str, user: Option<&User>, client: Option<&str>) -> Keys {
        let identity = match user {
            Some(u) => format!("user:{}", u.id),
            None => format!("login:{}", identity.trim().to_lowercase()),
        };
        Keys {
            identity: Some(identity),
            client: client.map(|c| format!("ip:{c}")),
            user: user.map(|u| (u.id.clone(), u.account_id.clone())),
        }
    }

    /// A code (confirmation, invitation, reset) tried from `client`; each code also counts its
    /// own wrong guesses.
    pub fn code(client: Option<&str>) -> Keys {
        Keys {
            identity: None,
            client: client.map(|c| format!("ip:{c}")),
            user: None,
        }
    }
}

fn locked(until: i64) -> ApiError {
    // Rounded up: a client that waits exactly this long is let in.
    let secs = ((until - now() + 999_999) / 1_000_000).max(1) as u64;
    ApiError::TooManyRequests {
        message: "too many failed attempts; try again later".into(),
        retry_after: secs,
    }
}

/// Count this attempt. `Ok(Err(429))` when a key is locked: the caller commits (the counts must
/// stay) and then refuses. The address is checked first, so a locked address cannot go on
/// locking identities. A new lock is written to the audit log.
pub fn reserve(
    conn: &mut DbConn,
    config: &Config,
    keys: &Keys,
    meta: &Meta,
) -> ApiResult<Result<(), ApiError>> {
    let window = config.login_lock_secs * 1_000_000;
    let ts = now();
    let limits = [
        (&keys.client, config.login_ip_max_failures, true),
        (&keys.identity, config.login_max_failures, false),
    ];
    for (key, max, is_client) in limits {
        let Some(k) = key else { continue };
        match store::reserve(conn, k, max, window, window, ts)? {
            Reserve::Locked { until } => return Ok(Err(locked(until))),
            Reserve::Granted { locked_now: true } => {
                let (target, account) = match (&keys.user, is_client) {
                    (_, true) => (k.clone(), None),
                    (Some((user, account)), false) => (user.clone(), Some(account.as_str())),
                    (None, false) => ("unknown identity".to_string(), None),
                };
                crate::db::audit::record(conn, meta, "login.lockout", account, Some(&target))?;
            }
            Reserve::Granted { locked_now: false } => {}
        }
    }
    Ok(Ok(()))
}

/// The attempt succeeded: the identity starts afresh, the address gets its attempt back.
/// The rows are locked in `reserve`'s order (address, then identity): in the other order, two
/// logins of one identity from one address deadlocked on PostgreSQL, each waiting a second
/// (`deadlock_timeout`) before one of them was aborted: a 503 after its hash was spent.
pub fn succeeded(conn: &mut DbConn, config: &Config, keys: &Keys) -> ApiResult<()> {
    if let Some(k) = &keys.client {
        store::release(conn, k, config.login_ip_max_failures)?;
    }
    if let Some(k) = &keys.identity {
        store::clear(conn, k)?;
    }
    Ok(())
}

//! Brute-force protection for logins and codes: failures (never successes, never attempts in
//! flight) are counted per user (or, for an unknown name, per login string) and per client
//! address in the database, so every instance sees the same counts. The failure that reaches
//! the limit locks the key at once; then every attempt (even a right one) answers 429 with
//! `Retry-After` until the lock ends.

use crate::config::Config;
use crate::db::audit::Meta;
use crate::db::models::{now, User};
use crate::db::throttle::{self as store, Reserve};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};

/// What one attempt is counted against.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The identity, whatever the address: locked for unknown addresses only.
    identity: Option<String>,
    /// The identity at this address: locked for it, always.
    pair: Option<String>,
    client: Option<String>,
    /// Marks this address as one the user logged in from (`seen` on a success).
    seen: Option<String>,
    /// The user (id, account) behind the identity, for the audit log of a lockout.
    user: Option<(String, String)>,
}

impl Keys {
    /// A password login for `identity` (email or username) resolving to `user`, from `client`.
    /// A known user has one counter whatever name it logs in with.
    pub fn login(identity: &str, user: Option<&User>, client: Option<&str>) -> Keys {
        let identity = match user {
            Some(u) => identity_key(&u.id),
            None => format!("login:{}", identity.trim().to_lowercase()),
        };
        let at = |prefix: &str| client.map(|c| format!("{prefix}:{identity}|{c}"));
        Keys {
            pair: at("pair"),
            seen: user.and(at("seen")),
            client: client.map(|c| format!("ip:{c}")),
            identity: Some(identity),
            user: user.map(|u| (u.id.clone(), u.account_id.clone())),
        }
    }

    /// A code (confirmation, invitation, reset) tried from `client`; each code also counts its
    /// own wrong guesses.
    pub fn code(client: Option<&str>) -> Keys {
        Keys {
            identity: None,
            pair: None,
            client: client.map(|c| format!("ip:{c}")),
            seen: None,
            user: None,
        }
    }
}

fn identity_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn locked(until: i64) -> ApiError {
    // Rounded up: a client that waits exactly this long is let in.
    let secs = ((until - now() + 999_999) / 1_000_000).max(1) as u64;
    ApiError::TooManyRequests {
        message: "too many failed attempts; try again later".into(),
        retry_after: secs,
    }
}

/// The keys this attempt is counted against, in the order their rows are locked: the address,
/// the identity at this address, then the identity itself, but only from an address the user
/// has never logged in from: an attacker who locks a user out locks it out of new addresses
/// only, never out of the ones it uses.
fn counted<'k>(
    conn: &mut DbConn,
    config: &Config,
    keys: &'k Keys,
) -> ApiResult<[(Option<&'k String>, i32, bool); 3]> {
    let known = match &keys.seen {
        Some(k) => store::exists(conn, k)?,
        None => false,
    };
    let identity = if known { None } else { keys.identity.as_ref() };
    Ok([
        (keys.client.as_ref(), config.login_ip_max_failures, true),
        (keys.pair.as_ref(), config.login_max_failures, false),
        (identity, config.login_max_failures, false),
    ])
}

/// Before the secret is checked: `Ok(Err(429))` when a key this attempt counts against is
/// locked. Only failures count (a right password never brings a lock nearer), so any number
/// of simultaneous right logins of one user pass; parallel wrong guesses can outrun the limit
/// by at most the hashes in flight (`HASH_QUEUE_LIMIT` per instance) before the lock holds.
pub fn check(conn: &mut DbConn, config: &Config, keys: &Keys) -> ApiResult<Result<(), ApiError>> {
    let ts = now();
    for (key, _, _) in counted(conn, config, keys)? {
        let Some(k) = key else { continue };
        if let Some(until) = store::locked_until(conn, k, ts)? {
            return Ok(Err(locked(until)));
        }
    }
    Ok(Ok(()))
}

/// The secret was wrong: count a failure against every key; the failure that reaches the
/// limit locks the key at once (audited).
pub fn failed(
    conn: &mut DbConn,
    config: &Config,
    metrics: &crate::metrics::Metrics,
    keys: &Keys,
    meta: &Meta,
) -> ApiResult<()> {
    let window = config.login_lock_secs * 1_000_000;
    let ts = now();
    for (key, max, is_client) in counted(conn, config, keys)? {
        let Some(k) = key else { continue };
        if let Reserve::Granted { locked_now: true } =
            store::reserve(conn, k, max, window, window, ts)?
        {
            let (target, account) = match (&keys.user, is_client) {
                (_, true) => (k.clone(), None),
                (Some((user, account)), false) => (user.clone(), Some(account.as_str())),
                (None, false) => ("unknown identity".to_string(), None),
            };
            crate::db::audit::record(conn, meta, "login.lockout", account, Some(&target))?;
            metrics.lockout();
        }
    }
    Ok(())
}

/// The attempt succeeded: the identity starts afresh at this address (and everywhere, unless
/// it is locked) and the address becomes one the user logged in from. The address keeps its
/// failures: logging in to one's own account must not buy a guesser a fresh budget.
pub fn succeeded(conn: &mut DbConn, keys: &Keys) -> ApiResult<()> {
    if let Some(k) = &keys.pair {
        store::clear(conn, k)?;
    }
    // A lock on the identity stays until it ends (or a reset or an admin lifts it): the user
    // logging in where it always does must not hand a distributed guesser a fresh budget.
    if let Some(k) = &keys.identity {
        store::clear_unless_locked(conn, k, now())?;
    }
    if let Some(k) = &keys.seen {
        store::mark(conn, k, now())?;
    }
    Ok(())
}

/// Lift every lock on a user: its identity, at every address (a completed password reset, an
/// admin's unlock). The addresses it logged in from stay known.
pub fn unlock(conn: &mut DbConn, user_id: &str) -> ApiResult<()> {
    let identity = identity_key(user_id);
    store::clear(conn, &identity)?;
    store::clear_prefix(conn, &format!("pair:{identity}|"))?;
    Ok(())
}

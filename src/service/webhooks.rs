//! Webhook subscriptions: an admin's for its tree, the owner's for any account or all.

use crate::auth::Caller;
use crate::db::deliveries::{self, DeliveryRow};
use crate::db::models::now;
use crate::db::webhooks::{self as store, WebhookRow};
use crate::db::DbConn;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use std::net::{IpAddr, ToSocketAddrs};

/// A secret replaced by a rotation keeps signing this long (µs).
const PREVIOUS_SECRET_LIVES: i64 = 24 * 3600 * 1_000_000;

/// A subscription as asked for.
pub struct NewWebhook {
    pub url: String,
    /// Patterns: `*`, `resource.*` or a type.
    pub events: Vec<String>,
    pub account_id: Option<String>,
    pub description: Option<String>,
}

/// A change to a subscription (None: as it is).
pub struct Change {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

fn no_such() -> ApiError {
    ApiError::not_found("no such webhook")
}

/// Whether an address is one a webhook must not reach unless private ones are allowed: loopback,
/// private, link-local (cloud metadata lives there), unspecified, or their IPv6 forms.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 198 && (b & 0xfe) == 18)
                || (a == 192 && b == 0 && c == 0)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64
            // (64:ff9b::/96, 64:ff9b:1::/48: the gateway reaches the IPv4 address), 6to4
            // (2002:AABB:CCDD::).
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if let Some(v4) = v6.to_ipv4() {
                if s[..5] == [0; 5] {
                    return is_private(IpAddr::V4(v4));
                }
            }
            let inner = match s {
                [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
                [0x64, 0xff9b, 1, ..] => Some(embedded(s[6], s[7])),
                [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),
                _ => None,
            };
            if let Some(v4) = inner {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
        }
    }
}

/// Refuse a URL that is not `http(s)://host[:port]/...`, or whose host resolves to an address
/// a webhook must not reach. Run off the async workers (it resolves the name).
pub fn check_url(url: &str, allow_private: bool) -> ApiResult<()> {
    let bad = |why: &str| ApiError::invalid(format!("url: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must be an http:// or https:// URL"))?;
    let port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err(bad("must be an http:// or https:// URL")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || url.len() > 2000 {
        return Err(bad(
            "must name a host (and no user info), in at most 2000 characters",
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(p) => (h, p),
            Err(_) if authority.starts_with('[') && authority.ends_with(']') => (authority, port),
            Err(_) => return Err(bad("has a bad port")),
        },
        _ => (authority, port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|_| bad("its host does not resolve"))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("its host does not resolve"));
    }
    if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err(bad(
            "reaches a private, loopback or link-local address (WEBHOOK_ALLOW_PRIVATE=1 allows it)",
        ));
    }
    Ok(())
}

/// Check event patterns: `*`, `resource.*`, or `resource.verb`.
pub fn check_events(events: &[String]) -> ApiResult<()> {
    let ok = |p: &str| {
        p == "*"
            || p.split_once('.').is_some_and(|(r, v)| {
                let word = |w: &str| {
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                };
                word(r) && (v == "*" || word(v))
            })
    };
    if events.is_empty() || events.len() > 100 {
        return Err(ApiError::invalid("events: 1 to 100 patterns"));
    }
    if let Some(bad) = events.iter().find(|e| !ok(e)) {
        return Err(ApiError::invalid(format!(
            "events: {bad:?} is not *, resource.* or a type"
        )));
    }
    Ok(())
}

/// The subscription, if the caller may see it: an admin those of its tree, the owner all.
fn visible(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<WebhookRow> {
    let row = store::find(conn, id)?.ok_or_else(no_such)?;
    match &row.account_id {
        None if caller.role() == Role::Owner => Ok(row),
        None => Err(no_such()),
        Some(a) => {
            super::access::visible_account(conn, caller, a).map_err(|_| no_such())?;
            Ok(row)
        }
    }
}

fn seal(state: &AppState, id: &str, secret: &str) -> ApiResult<String> {
    crate::auth::keys::seal(
        state.config.key_encryption_key.as_ref(),
        &format!("webhook:{id}"),
        secret.as_bytes(),
    )
    .map_err(ApiError::internal)
}

/// Subscribe, audited; the answer carries the secret (shown only here and on rotation).
pub async fn create(
    state: &AppState,
    caller: Caller,
    new: NewWebhook,
) -> ApiResult<(WebhookRow, String)> {
    check_events(&new.events)?;
    let allow = state.config.webhook_allow_private;
    let url = new.url.clone();
    state.db(move |_| check_url(&url, allow)).await?;
    let id = format!("wh_{}", crate::ids::new_id().replace('-', ""));
    let secret = crate::secrets::new_webhook_secret();
    let sealed = seal(state, &id, &secret)?;
    let events = serde_json::Value::from(new.events).to_string();
    let row = state
        .tx(move |c| {
            let account = match new.account_id {
                Some(a) => Some(super::access::visible_account(c, &caller, &a)?.id),
                None if caller.role() == Role::Owner => None,
                None => Some(caller.account_id().to_string()),
            };
            let row = WebhookRow {
                id,
                account_id: account,
                url: new.url,
                events,
                description: new.description,
                enabled: true,
                secret: sealed,
                previous_secret: None,
                previous_until: None,
                failing_since: None,
                created: now(),
            };
            store::insert(c, &row)?;
            let on = row.account_id.as_deref();
            crate::db::audit::record(c, &caller.meta, "webhook.create", on, Some(&row.id))?;
            Ok(row)
        })
        .await?;
    Ok((row, secret))
}

pub async fn get(state: &AppState, caller: Caller, id: String) -> ApiResult<WebhookRow> {
    state.db(move |c| visible(c, &caller, &id)).await
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    page: crate::pagination::PageRequest,
) -> ApiResult<Vec<WebhookRow>> {
    state
        .db(move |c| {
            if caller.role() == Role::Owner {
                return Ok(store::list(c, None, &page)?);
            }
            let tree: Vec<String> = crate::db::accounts::subtree(c, caller.account_id(), i64::MAX)?
                .into_iter()
                .map(|a| a.id)
                .collect();
            Ok(store::list(c, Some(&tree), &page)?)
        })
        .await
}

pub async fn update(
    state: &AppState,
    caller: Caller,
    id: String,
    change: Change,
) -> ApiResult<WebhookRow> {
    if let Some(e) = &change.events {
        check_events(e)?;
    }
    if let Some(url) = change.url.clone() {
        let allow = state.config.webhook_allow_private;
        state.db(move |_| check_url(&url, allow)).await?;
    }
    state
        .tx(move |c| {
            let row = visible(c, &caller, &id)?;
            let events = change
                .events
                .map(|e| serde_json::Value::from(e).to_string());
            store::update(
                c,
                &row.id,
                change.url.as_deref(),
                events.as_deref(),
                change.enabled,
                change.description.as_deref(),
            )?;
            let on = row.account_id.as_deref();
            crate::db::audit::record(c, &caller.meta, "webhook.update", on, Some(&row.id))?;
            store::find(c, &row.id)?.ok_or_else(no_such)
        })
        .await
}

pub async fn delete(state: &AppState, caller: Caller, id: String) -> ApiResult<()> {
    state
        .tx(move |c| {
            let row = visible(c, &caller, &id)?;
            store::delete(c, &row.id)?;
            let on = row.account_id.as_deref();
            crate::db::audit::record(c, &caller.meta, "webhook.delete", on, Some(&row.id))?;
            Ok(())
        })
        .await
}

/// A new secret; the old one keeps signing (both signatures are sent) for 24 hours.
pub async fn rotate_secret(state: &AppState, caller: Caller, id: String) -> ApiResult<String> {
    let secret = crate::secrets::new_webhook_secret();
    let sealed = seal(state, &id, &secret)?;
    state
        .tx(move |c| {
            let row = visible(c, &caller, &id)?;
            store::rotate_secret(c, &row.id, &sealed, now() + PREVIOUS_SECRET_LIVES)?;
            let on = row.account_id.as_deref();
            crate::db::audit::record(c, &caller.meta, "webhook.rotate_secret", on, Some(&row.id))?;
            Ok(())
        })
        .await?;
    Ok(secret)
}

/// A page of a subscription's deliveries.
pub async fn deliveries(
    state: &AppState,
    caller: Caller,
    id: String,
    page: crate::pagination::PageRequest,
) -> ApiResult<Vec<DeliveryRow>> {
    state
        .db(move |c| {
            let hook = visible(c, &caller, &id)?;
            Ok(deliveries::list(c, &hook.id, &page)?)
        })
        .await
}

/// Deliver one of a subscription's deliveries again, now (whatever it came to before).
pub async fn retry(
    state: &AppState,
    caller: Caller,
    id: String,
    delivery: String,
) -> ApiResult<DeliveryRow> {
    let row = state
        .tx(move |c| {
            let hook = visible(c, &caller, &id)?;
            let d = deliveries::find(c, &hook.id, &delivery)?
                .ok_or_else(|| ApiError::not_found("no such delivery"))?;
            deliveries::retry_now(c, &d.id, now())?;
            deliveries::find(c, &hook.id, &d.id)?.ok_or_else(no_such)
        })
        .await?;
    state.wake_deliveries.notify_one();
    Ok(row)
}

/// Send a subscription a `webhook.ping` now: a delivery of its own (not in the event log),
/// signed and retried like any other.
pub async fn ping(state: &AppState, caller: Caller, id: String) -> ApiResult<DeliveryRow> {
    let row = state
        .tx(move |c| {
            let hook = visible(c, &caller, &id)?;
            let ts = now();
            let event = format!("evt_{}", crate::ids::new_id().replace('-', ""));
            let payload = serde_json::json!({
                "id": event, "type": "webhook.ping",
                "occurredAt": crate::db::models::rfc3339(ts),
                "accountId": hook.account_id, "actorId": caller.meta.actor,
                "requestId": caller.meta.request_id,
                "data": {"webhookId": hook.id},
            });
            let row = DeliveryRow {
                payload: Some(payload.to_string()),
                ..pending(&hook.id, &event, "webhook.ping", ts)
            };
            deliveries::insert(c, &row)?;
            Ok(row)
        })
        .await?;
    state.wake_deliveries.notify_one();
    Ok(row)
}

/// A delivery of an event to a subscription, due at `at`.
fn pending(webhook: &str, event: &str, kind: &str, at: i64) -> DeliveryRow {
    DeliveryRow {
        id: format!("dlv_{}", crate::ids::new_id().replace('-', "")),
        webhook_id: webhook.to_string(),
        event_id: event.to_string(),
        event_type: kind.to_string(),
        status: "pending".into(),
        attempts: 0,
        last_status: None,
        last_error: None,
        next_attempt_at: Some(at),
        payload: None,
        created: at,
    }
}

/// Whether a subscription takes an event: it happened since the subscription was made, its
/// patterns take the type, and it is of the subscription's account's tree (a subscription of
/// no account takes every account's).
fn takes(hook: &WebhookRow, patterns: &[String], event: &crate::db::events::EventRow) -> bool {
    let in_scope = match &hook.account_id {
        None => true,
        Some(a) => event
            .account_path
            .as_deref()
            .is_some_and(|p| p.contains(&format!("/{a}/"))),
    };
    in_scope && event.occurred_at >= hook.created && subscribed(patterns, &event.kind)
}

/// One round of the dispatcher: the events after its place (up to `batch`), each made into a
/// pending delivery for every enabled subscription that takes it, and the place moved past
/// them, in one transaction that holds the place (one instance dispatches at a time). How
/// many deliveries were made.
pub fn dispatch(conn: &mut DbConn, batch: i64) -> ApiResult<usize> {
    use crate::db::events;
    let at = deliveries::dispatch_place(conn)?;
    let rows = events::after(conn, Some(at), &events::Filter::default(), batch)?;
    let Some(last) = rows.last().map(|e| e.position()) else {
        return Ok(0);
    };
    let hooks: Vec<(WebhookRow, Vec<String>)> = store::enabled(conn)?
        .into_iter()
        .map(|h| {
            let patterns = serde_json::from_str(&h.events).unwrap_or_default();
            (h, patterns)
        })
        .collect();
    let ts = now();
    let mut made = vec![];
    for event in &rows {
        for (hook, patterns) in &hooks {
            if takes(hook, patterns, event) {
                made.push(pending(&hook.id, &event.id, &event.kind, ts));
            }
        }
    }
    let made = deliveries::insert_many(conn, &made)?;
    deliveries::set_dispatch_place(conn, last)?;
    Ok(made)
}

/// Whether a subscription's patterns take an event type: `*`, `resource.*` or the type itself.
pub fn subscribed(patterns: &[String], kind: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == kind
            || p.strip_suffix(".*")
                .is_some_and(|r| kind.split_once('.').is_some_and(|(k, _)| k == r))
    })
}

/// The waits between a delivery's attempts (the contract's "about 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h"), in seconds; after the last, the delivery has failed.
const RETRY_WAITS: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// When to try again after `attempts` failed attempts (µs from now), with up to ±20% jitter
/// from `noise` (any random u64) so that many failed deliveries do not come back together;
/// `None` once the attempts are used up.
pub fn retry_in(attempts: usize, noise: u64) -> Option<i64> {
    let wait = *RETRY_WAITS.get(attempts.checked_sub(1)?)? * 1_000_000;
    // -200..=200 thousandths of the wait: within 20% either side.
    let jitter = (noise % 401) as i64 - 200;
    Some(wait + wait * jitter / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_take_their_types() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(subscribed(&p(&["*"]), "user.created"));
        assert!(subscribed(&p(&["user.*"]), "user.created"));
        assert!(!subscribed(&p(&["user.*"]), "users.created"));
        assert!(subscribed(&p(&["account.created"]), "account.created"));
        assert!(!subscribed(&p(&["account.created"]), "account.closed"));
        assert!(!subscribed(&p(&[]), "account.closed"));
    }

    #[test]
    fn retries_back_off_with_bounded_jitter_and_end() {
        assert_eq!(retry_in(0, 0), None);
        for (n, wait) in RETRY_WAITS.iter().enumerate() {
            for noise in [0, 200, 400, u64::MAX] {
                let d = retry_in(n + 1, noise).unwrap();
                let w = wait * 1_000_000;
                assert!(d >= w - w / 5 && d <= w + w / 5, "{n} {noise} {d}");
            }
        }
        assert_eq!(retry_in(RETRY_WAITS.len() + 1, 7), None);
    }

    #[test]
    fn private_addresses_and_bad_urls_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:a9fe:a9fe::",
            "::127.0.0.1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
        assert!(check_url("http://127.0.0.1:9/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_url("http://[::1]:9/hook", false).is_err());
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("http://user@127.0.0.1/", true).is_err());
        assert!(check_url("http://localhost:8080/x", false).is_err());
        assert!(check_events(&["*".into(), "user.*".into(), "account.created".into()]).is_ok());
        assert!(check_events(&["User.*".into()]).is_err());
        assert!(check_events(&[]).is_err());
    }
}

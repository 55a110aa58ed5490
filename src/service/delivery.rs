//! Webhook delivery, run by every instance in the background: the dispatcher turns new events
//! into deliveries (one instance at a time), and each instance claims due deliveries, sends
//! them signed per Standard Webhooks, and records what came of them. Claims are leases: an
//! instance that dies mid-delivery loses nothing, the delivery is taken again when its lease
//! ends (at least once; receivers deduplicate by `webhook-id`).

use super::webhooks::{is_private, retry_in};
use crate::db::deliveries::{self, DeliveryRow};
use crate::db::events::{self, EventRow};
use crate::db::models::now;
use crate::db::webhooks::{self as hooks, WebhookRow};
use crate::db::DbConn;
use crate::error::ApiResult;
use crate::state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// How often an idle instance looks for new events and due deliveries (a ping or a retry
/// wakes it at once).
const POLL: Duration = Duration::from_millis(200);
/// Events a dispatcher round turns into deliveries at most.
const DISPATCH_BATCH: i64 = 500;
/// Five days of nothing but failures disables a subscription (µs).
const DISABLE_AFTER: i64 = 5 * 24 * 3600 * 1_000_000;
/// The most of a receiver's answer kept in the delivery log.
const KEEP_ERROR: usize = 200;

/// What one attempt came to.
struct Outcome {
    delivery: DeliveryRow,
    status: Option<i32>,
    error: Option<String>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// An event as its webhook body (the same fields `GET /v1/events` shows).
pub fn event_json(e: &EventRow) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "type": e.kind,
        "occurredAt": crate::db::models::rfc3339(e.occurred_at),
        "accountId": e.account_id,
        "actorId": e.actor_id,
        "requestId": e.request_id,
        "data": serde_json::from_str::<serde_json::Value>(&e.data)
            .unwrap_or(serde_json::Value::Null),
    })
}

/// Name resolution that refuses private, loopback and link-local addresses, so a name cannot
/// point a delivery inside after the subscription was checked (DNS rebinding).
struct Guard {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow && addrs.iter().any(|a| is_private(a.ip())) {
                return Err("the host resolves to a private address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries go through: no redirects followed, no proxy from the
/// environment, the timeout on the whole exchange, names resolved through the guard.
pub fn client(allow_private: bool, timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("accountd/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(Guard { allow_private }))
        .build()
        .map_err(|e| format!("webhook client: {e}"))
}

/// A URL whose host is a literal address the guard never sees: refused when private.
fn literal_private(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(is_private)
}

/// The `webhook-signature` header: one `v1,` entry per live secret (two during the 24 hours
/// after a rotation).
fn signatures(
    state: &AppState,
    hook: &WebhookRow,
    id: &str,
    ts: i64,
    body: &str,
) -> Result<String, String> {
    let kek = state.config.key_encryption_key.as_ref();
    let aad = format!("webhook:{}", hook.id);
    let mut secrets = vec![&hook.secret];
    if let (Some(old), Some(until)) = (&hook.previous_secret, hook.previous_until) {
        if until > now() {
            secrets.push(old);
        }
    }
    let mut out = vec![];
    for sealed in secrets {
        let secret = crate::auth::keys::open(kek, &aad, sealed)?;
        let secret = String::from_utf8(secret).map_err(|_| "a secret is not text")?;
        let key = crate::secrets::webhook_key(&secret).ok_or("a secret is malformed")?;
        out.push(crate::secrets::sign_webhook(&key, id, ts, body));
    }
    Ok(out.join(" "))
}

/// One attempt: what to send is read, signed and posted; any 2xx in time is success.
/// A claimed delivery with what it sends: its subscription and body (read for a whole claim
/// at once; None: gone since).
struct Loaded {
    delivery: DeliveryRow,
    hook: Option<WebhookRow>,
    body: Option<String>,
}

/// The subscriptions and event bodies of claimed deliveries, in two queries for all of them.
fn load(c: &mut DbConn, claimed: Vec<DeliveryRow>) -> ApiResult<Vec<Loaded>> {
    let mut hook_ids: Vec<String> = claimed.iter().map(|d| d.webhook_id.clone()).collect();
    hook_ids.sort();
    hook_ids.dedup();
    let event_ids: Vec<String> = claimed
        .iter()
        .filter(|d| d.payload.is_none())
        .map(|d| d.event_id.clone())
        .collect();
    let found_hooks = hooks::find_many(c, &hook_ids)?;
    let found_events = events::find_many(c, &event_ids)?;
    Ok(claimed
        .into_iter()
        .map(|d| Loaded {
            hook: found_hooks.iter().find(|h| h.id == d.webhook_id).cloned(),
            body: match &d.payload {
                Some(p) => Some(p.clone()),
                None => found_events
                    .iter()
                    .find(|e| e.id == d.event_id)
                    .map(|e| event_json(e).to_string()),
            },
            delivery: d,
        })
        .collect())
}

/// One attempt: signed and posted; any 2xx in time is success.
async fn attempt(state: &AppState, client: &reqwest::Client, l: Loaded) -> Outcome {
    let d = &l.delivery;
    let failed = |status: Option<i32>, why: String| Outcome {
        delivery: d.clone(),
        status,
        error: Some(why),
    };
    let (hook, body) = match (l.hook, l.body) {
        (Some(hook), Some(body)) => (hook, body),
        (None, _) => return failed(None, "the subscription is gone".into()),
        (_, None) => return failed(None, "the event is no longer kept".into()),
    };
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(u) => u,
        Err(e) => return failed(None, format!("bad url: {e}")),
    };
    if !state.config.webhook_allow_private && literal_private(&url) {
        return failed(None, "the url is a private address".into());
    }
    let ts = now() / 1_000_000;
    let signed = match signatures(state, &hook, &d.event_id, ts, &body) {
        Ok(s) => s,
        Err(e) => return failed(None, format!("signing: {e}")),
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signed)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Outcome {
            delivery: d.clone(),
            status: Some(r.status().as_u16() as i32),
            error: None,
        },
        Ok(r) => {
            let status = r.status().as_u16() as i32;
            let text = r.text().await.unwrap_or_default();
            let text: String = text.chars().take(KEEP_ERROR).collect();
            failed(Some(status), format!("answered {status}: {text}"))
        }
        Err(e) => {
            let why = if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                // The source names the cause (refused connection, refused address, TLS).
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why = format!("{why}: {s}");
                    source = s.source();
                }
                why
            };
            failed(None, why.chars().take(KEEP_ERROR).collect())
        }
    }
}

/// Record attempts in one transaction: success ends a delivery; a failure schedules the next
/// attempt or, after the last, fails it; a subscription failing for five days is disabled.
fn record(conn: &mut DbConn, outcomes: &[Outcome]) -> ApiResult<()> {
    let at = now();
    let mut hooks_of: Vec<String> = outcomes
        .iter()
        .map(|o| o.delivery.webhook_id.clone())
        .collect();
    hooks_of.sort();
    hooks_of.dedup();
    hooks::hold(conn, &hooks_of)?;
    // Successes in one statement per answered status, and one for their subscriptions.
    let mut statuses: Vec<Option<i32>> = outcomes
        .iter()
        .filter(|o| o.ok())
        .map(|o| o.status)
        .collect();
    statuses.sort();
    statuses.dedup();
    for status in statuses {
        let ids: Vec<String> = outcomes
            .iter()
            .filter(|o| o.ok() && o.status == status)
            .map(|o| o.delivery.id.clone())
            .collect();
        deliveries::succeeded_many(conn, &ids, status)?;
    }
    let mut fine: Vec<String> = outcomes
        .iter()
        .filter(|o| o.ok())
        .map(|o| o.delivery.webhook_id.clone())
        .collect();
    fine.sort();
    fine.dedup();
    hooks::succeeded_many(conn, &fine)?;
    for o in outcomes.iter().filter(|o| !o.ok()) {
        let d = &o.delivery;
        let mut noise = [0u8; 8];
        getrandom::fill(&mut noise).map_err(|e| crate::error::ApiError::internal(e.to_string()))?;
        let next = retry_in(d.attempts as usize + 1, u64::from_le_bytes(noise)).map(|w| at + w);
        let status = if next.is_some() { "pending" } else { "failed" };
        deliveries::record_attempt(conn, &d.id, status, o.status, o.error.as_deref(), next)?;
        let since = hooks::failed(conn, &d.webhook_id, at)?;
        if since.is_some_and(|s| at - s >= DISABLE_AFTER) && hooks::disable(conn, &d.webhook_id)? {
            let account = hooks::find(conn, &d.webhook_id)?.and_then(|h| h.account_id);
            let meta = crate::db::audit::Meta::default();
            let on = account.as_deref();
            crate::db::audit::record(conn, &meta, "webhook.disable", on, Some(&d.webhook_id))?;
            log::warn!(
                "webhook {} disabled after five days of failures",
                d.webhook_id
            );
        }
    }
    Ok(())
}

/// One dispatcher round, if there are new events (looked for without a lock first, so an
/// idle instance writes nothing); how many deliveries it made.
async fn dispatch(state: &AppState) -> ApiResult<usize> {
    let any = state
        .db(|c| {
            let at = deliveries::read_place(c)?;
            Ok(!events::after(c, Some(at), &events::Filter::default(), 1)?.is_empty())
        })
        .await?;
    if !any {
        return Ok(0);
    }
    state
        .tx(|c| super::webhooks::dispatch(c, DISPATCH_BATCH))
        .await
}

/// Deliver until the instance stops: run by every instance (on PostgreSQL they share the work,
/// each attempt claimed by one).
pub async fn run(state: Arc<AppState>) {
    let timeout = Duration::from_secs(state.config.webhook_timeout_secs);
    let client = match client(state.config.webhook_allow_private, timeout) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}: webhooks are not delivered by this instance");
            return;
        }
    };
    // A claim outlives any attempt; after it, another instance may take the delivery.
    let lease = 2 * timeout.as_micros() as i64 + 5_000_000;
    let slots = Arc::new(Semaphore::new(state.config.webhook_concurrency));
    let (done, mut finished) = mpsc::unbounded_channel::<Outcome>();
    let mut quiet_errors = 0u32;
    let all = state.config.webhook_concurrency;
    loop {
        let mut outcomes = vec![];
        while let Ok(o) = finished.try_recv() {
            outcomes.push(o);
        }
        let recorded = outcomes.len();
        let draining = state.is_draining();
        if draining && recorded == 0 && slots.available_permits() == all {
            // Stopping: what was in flight is recorded; what is not taken is left to others.
            return;
        }
        let mut worked = recorded > 0;
        let round: ApiResult<()> = async {
            if recorded > 0 {
                state.tx(move |c| record(c, &outcomes)).await?;
            }
            if draining {
                return Ok(());
            }
            // Claim first: sending what is due never waits for a dispatch round.
            let free = slots.available_permits() as i64;
            let claimed = if free > 0 {
                let at = now();
                state
                    .tx(move |c| {
                        let claimed = deliveries::claim_due(c, at, at + lease, free)?;
                        load(c, claimed)
                    })
                    .await?
            } else {
                vec![]
            };
            worked |= !claimed.is_empty();
            for d in claimed {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return Ok(());
                };
                let (state, client, done) = (state.clone(), client.clone(), done.clone());
                tokio::spawn(async move {
                    let outcome = attempt(&state, &client, d).await;
                    let _ = done.send(outcome);
                    drop(slot);
                });
            }
            worked |= dispatch(&state).await? > 0;
            Ok(())
        }
        .await;
        match round {
            Ok(()) => quiet_errors = 0,
            Err(e) => {
                // Told once per outage, not once per round.
                if quiet_errors == 0 {
                    log::warn!("webhook delivery: {e}");
                }
                quiet_errors += 1;
                worked = false;
            }
        }
        if !worked {
            tokio::select! {
                _ = state.wake_deliveries.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

//! `GET /v1/events`: the event log in commit order, for readers that keep their place.

use super::extract::Admin;
use super::page::Params;
use super::views::rfc3339;
use crate::db::events::{EventRow, Position};
use crate::error::ApiResult;
use crate::service::events::{self as service, Query};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub struct Doc;

/// A change, as it happened.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Event)]
pub struct EventView {
    id: String,
    /// `resource.verb`, e.g. `account.created`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    #[schema(format = DateTime)]
    occurred_at: String,
    #[schema(required = true)]
    account_id: Option<String>,
    #[schema(required = true)]
    actor_id: Option<String>,
    #[schema(required = true)]
    request_id: Option<String>,
    /// The resource after the change (never a secret or hash).
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

fn view(e: EventRow) -> EventView {
    EventView {
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        id: e.id,
        kind: e.kind,
        occurred_at: rfc3339(e.occurred_at),
        account_id: e.account_id,
        actor_id: e.actor_id,
        request_id: e.request_id,
    }
}

/// A page of events: `next` resumes right after its last one (absent: no more yet; keep the
/// cursor you have).
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    data: Vec<EventView>,
    #[schema(required = true)]
    next: Option<String>,
}

fn encode(p: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", p.tx, p.seq))
}

fn decode(s: &str) -> Option<Position> {
    if s.len() > 100 {
        return None;
    }
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (tx, seq) = raw.split_once(':')?;
    Some(Position {
        tx: tx.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

/// Role admin: the events of the caller's tree (the owner: all), in commit order.
///
/// `after` is the `next` of the page before; without it the log is read from its start (as
/// far back as `EVENT_RETENTION_DAYS`). The order is the same for every reader, and `next`
/// resumes exactly after a page's last event even while events are being written: no event is
/// skipped or read twice. `type` and `accountId` narrow the events; `limit` 1..=1000 (50).
#[utoipa::path(get, path = "/v1/events", tag = "operations", operation_id = "listEvents",
    params(
        ("after" = Option<String>, Query, description = "The `next` of the page before."),
        ("type" = Option<String>, Query, description = "Only events of this type."),
        ("accountId" = Option<String>, Query, description = "Only events of this account."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000),
    ),
    responses((status = 200, description = "A page of events.", body = EventPage)))]
pub async fn list(
    Admin(caller): Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let p = Params::parse(req.query_string(), &["after", "type", "accountId", "limit"])?;
    let mut errors = vec![];
    let after = p.get("after").and_then(|a| {
        let d = decode(a);
        if d.is_none() {
            errors.push("after: not a valid cursor".to_string());
        }
        d
    });
    let limit = match p.get("limit").map(str::parse::<i64>) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            errors.push("limit: must be a whole number from 1 to 1000".into());
            50
        }
    };
    super::no_errors(errors)?;
    let q = Query {
        after,
        kind: p.get("type").map(str::to_string),
        account_id: p.get("accountId").map(str::to_string),
        limit,
    };
    let rows = service::list(&state, caller, q).await?;
    let next = rows.last().map(|e| encode(e.position()));
    let page = EventPage {
        data: rows.into_iter().map(view).collect(),
        next,
    };
    Ok(super::ok(page))
}

//! Webhook subscriptions.

use super::schema::webhooks::dsl;
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = super::schema::webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub account_id: Option<String>,
    pub url: String,
    /// The subscribed patterns, a JSON array of strings.
    pub events: String,
    pub description: Option<String>,
    pub enabled: bool,
    /// Sealed (see `auth::keys::seal`).
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    /// When its deliveries began to fail, none succeeding since.
    pub failing_since: Option<i64>,
    pub created: i64,
}

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(dsl::webhooks)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<WebhookRow>> {
    dsl::webhooks
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

/// A page of subscriptions, oldest first: of the accounts in `accounts` (None: every one).
pub fn list(
    conn: &mut DbConn,
    accounts: Option<&[String]>,
    page: &PageRequest,
) -> QueryResult<Vec<WebhookRow>> {
    let mut q = dsl::webhooks.into_boxed();
    if let Some(ids) = accounts {
        q = q.filter(dsl::account_id.eq_any(ids.to_vec()));
    }
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::url).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

/// Change what may change: url, events, enabled, description (None: as it is).
pub fn update(
    conn: &mut DbConn,
    id: &str,
    url: Option<&str>,
    events: Option<&str>,
    enabled: Option<bool>,
    description: Option<&str>,
) -> QueryResult<()> {
    let target = dsl::webhooks.find(id);
    if let Some(u) = url {
        diesel::update(target).set(dsl::url.eq(u)).execute(conn)?;
    }
    if let Some(e) = events {
        diesel::update(target)
            .set(dsl::events.eq(e))
            .execute(conn)?;
    }
    if let Some(on) = enabled {
        // Turned on again: its five days of failures start afresh.
        diesel::update(target)
            .set((dsl::enabled.eq(on), dsl::failing_since.eq(None::<i64>)))
            .execute(conn)?;
    }
    if let Some(d) = description {
        diesel::update(target)
            .set(dsl::description.eq(d))
            .execute(conn)?;
    }
    Ok(())
}

/// A new secret; the one it replaces keeps signing until `until` (µs).
pub fn rotate_secret(conn: &mut DbConn, id: &str, secret: &str, until: i64) -> QueryResult<()> {
    diesel::update(dsl::webhooks.find(id))
        .set((
            dsl::previous_secret.eq(dsl::secret.nullable()),
            dsl::previous_until.eq(until),
            dsl::secret.eq(secret),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Every enabled subscription (the dispatcher matches each event against them). On
/// PostgreSQL they are held (`FOR KEY SHARE`) until the dispatcher commits, so a deletion
/// waits for it instead of removing a subscription it is making deliveries for.
pub fn enabled(conn: &mut DbConn) -> QueryResult<Vec<WebhookRow>> {
    let on = dsl::webhooks.filter(dsl::enabled.eq(true));
    match conn {
        DbConn::Pg(c) => on.select(WebhookRow::as_select()).for_key_share().load(c),
        DbConn::Sqlite(c) => on.select(WebhookRow::as_select()).load(c),
    }
}

/// Hold these subscriptions' rows until the transaction ends, in id order (PostgreSQL): a
/// transaction that then changes their deliveries takes its locks in the order a deletion
/// (which cascades from the subscription) does, so the two never deadlock.
pub fn hold(conn: &mut DbConn, ids: &[String]) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        dsl::webhooks
            .filter(dsl::id.eq_any(ids))
            .order(dsl::id.asc())
            .select(dsl::id)
            .for_no_key_update()
            .load::<String>(c)?;
    }
    Ok(())
}

/// Deliveries of these subscriptions succeeded: they are not failing.
pub fn succeeded_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<()> {
    diesel::update(
        dsl::webhooks
            .filter(dsl::id.eq_any(ids))
            .filter(dsl::failing_since.is_not_null()),
    )
    .set(dsl::failing_since.eq(None::<i64>))
    .execute(conn)
    .map(|_| ())
}

pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<WebhookRow>> {
    dsl::webhooks
        .filter(dsl::id.eq_any(ids))
        .select(WebhookRow::as_select())
        .load(conn)
}

/// A delivery of this subscription failed at `now`: since when it has been failing.
pub fn failed(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<Option<i64>> {
    diesel::update(dsl::webhooks.find(id).filter(dsl::failing_since.is_null()))
        .set(dsl::failing_since.eq(now))
        .execute(conn)?;
    dsl::webhooks
        .find(id)
        .select(dsl::failing_since)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Turn an enabled subscription off; whether this call did.
pub fn disable(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::update(dsl::webhooks.find(id).filter(dsl::enabled.eq(true)))
        .set(dsl::enabled.eq(false))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::webhooks.find(id)).execute(conn)
}

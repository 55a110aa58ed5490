//! Webhook deliveries and the dispatcher's place in the event log.

use super::events::Position;
use super::schema::deliveries::dsl;
use super::schema::dispatch::dsl as place;
use super::DbConn;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(Queryable, Selectable, Insertable, QueryableByName, Debug, Clone)]
#[diesel(table_name = super::schema::deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    /// The body of a delivery that is no logged event (a ping); None: the event's.
    pub payload: Option<String>,
    pub created: i64,
}

/// The dispatcher's place, locked until the transaction ends: one instance dispatches at a
/// time, and the deliveries it makes commit with the place it moved to.
pub fn dispatch_place(conn: &mut DbConn) -> QueryResult<Position> {
    diesel::update(place::dispatch.find(1))
        .set(place::seq.eq(place::seq))
        .execute(conn)?;
    read_place(conn)
}

/// The dispatcher's place, read without taking it.
pub fn read_place(conn: &mut DbConn) -> QueryResult<Position> {
    let (tx, seq) = place::dispatch
        .find(1)
        .select((place::tx, place::seq))
        .first(conn)?;
    Ok(Position { tx, seq })
}

pub fn set_dispatch_place(conn: &mut DbConn, p: Position) -> QueryResult<()> {
    diesel::update(place::dispatch.find(1))
        .set((place::tx.eq(p.tx), place::seq.eq(p.seq)))
        .execute(conn)
        .map(|_| ())
}

/// A new delivery, unless this subscription has one for this event already.
pub fn insert(conn: &mut DbConn, row: &DeliveryRow) -> QueryResult<bool> {
    let inserted =
        conn.transaction(|c| diesel::insert_into(dsl::deliveries).values(row).execute(c));
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// New deliveries in one statement per 500, skipping any a subscription has for its event
/// already; how many were made.
pub fn insert_many(conn: &mut DbConn, rows: &[DeliveryRow]) -> QueryResult<usize> {
    let mut made = 0;
    for chunk in rows.chunks(500) {
        made += match conn {
            DbConn::Pg(c) => diesel::insert_into(dsl::deliveries)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?,
            // SQLite takes no many-row insert of optional values; in-process, a row at a
            // time costs no round trip.
            DbConn::Sqlite(c) => chunk.iter().try_fold(0, |n, row| {
                diesel::insert_into(dsl::deliveries)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)
                    .map(|m| n + m)
            })?,
        };
    }
    Ok(made)
}

/// Claim up to `limit` deliveries due at `now` for this instance: each gets a lease (its next
/// attempt moves to `lease_until`), so no other instance takes it while it is being sent, and
/// one whose sender died is taken again when the lease ends. On PostgreSQL the rows others
/// are claiming are skipped (`FOR UPDATE SKIP LOCKED`), never waited for.
pub fn claim_due(
    conn: &mut DbConn,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN (SELECT id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $2 AND webhook_id IN \
             (SELECT id FROM webhooks WHERE enabled) ORDER BY next_attempt_at \
             LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c),
        DbConn::Sqlite(_) => {
            let enabled = diesel::dsl::sql::<diesel::sql_types::Bool>(
                "webhook_id IN (SELECT id FROM webhooks WHERE enabled)",
            );
            let due: Vec<String> = dsl::deliveries
                .filter(dsl::status.eq("pending"))
                .filter(dsl::next_attempt_at.le(now))
                .filter(enabled)
                .order(dsl::next_attempt_at.asc())
                .limit(limit)
                .select(dsl::id)
                .load(conn)?;
            if due.is_empty() {
                return Ok(vec![]);
            }
            diesel::update(dsl::deliveries.filter(dsl::id.eq_any(&due)))
                .set(dsl::next_attempt_at.eq(lease_until))
                .execute(conn)?;
            dsl::deliveries
                .filter(dsl::id.eq_any(&due))
                .select(DeliveryRow::as_select())
                .load(conn)
        }
    }
}

/// What an attempt came to: its HTTP status or error, and the next attempt (None: done).
pub fn record_attempt(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    http_status: Option<i32>,
    error: Option<&str>,
    next_attempt_at: Option<i64>,
) -> QueryResult<()> {
    diesel::update(dsl::deliveries.find(id))
        .set((
            dsl::status.eq(status),
            dsl::attempts.eq(dsl::attempts + 1),
            dsl::last_status.eq(http_status),
            dsl::last_error.eq(error),
            dsl::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A page of a subscription's deliveries, oldest first.
pub fn list(
    conn: &mut DbConn,
    webhook_id: &str,
    page: &crate::pagination::PageRequest,
) -> QueryResult<Vec<DeliveryRow>> {
    let q = dsl::deliveries
        .filter(dsl::webhook_id.eq(webhook_id.to_string()))
        .into_boxed();
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

pub fn find(conn: &mut DbConn, webhook_id: &str, id: &str) -> QueryResult<Option<DeliveryRow>> {
    dsl::deliveries
        .find(id)
        .filter(dsl::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

/// Deliver again at `now`, whatever came before.
pub fn retry_now(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(dsl::deliveries.find(id))
        .set((dsl::status.eq("pending"), dsl::next_attempt_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Forget finished deliveries made before `before` (µs); how many went.
pub fn prune(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(
        dsl::deliveries
            .filter(dsl::status.ne("pending"))
            .filter(dsl::created.lt(before)),
    )
    .execute(conn)
}

/// Deliveries that succeeded with this HTTP status.
pub fn succeeded_many(
    conn: &mut DbConn,
    ids: &[String],
    http_status: Option<i32>,
) -> QueryResult<()> {
    diesel::update(dsl::deliveries.filter(dsl::id.eq_any(ids)))
        .set((
            dsl::status.eq("succeeded"),
            dsl::attempts.eq(dsl::attempts + 1),
            dsl::last_status.eq(http_status),
            dsl::last_error.eq(None::<String>),
            dsl::next_attempt_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

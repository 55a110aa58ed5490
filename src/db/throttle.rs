//! Attempt counters: every change is one conditional statement, so concurrent attempts on
//! every instance count exactly.

use super::schema::throttle::dsl;
use super::DbConn;
use diesel::prelude::*;

pub enum Reserve {
    /// The attempt is counted; go on and check the secret.
    Granted,
    /// Locked until this time (microseconds); `new` when this attempt set the lock.
    Locked { until: i64, new: bool },
}

/// Count one attempt for `key` unless it is locked or at `max` failures within `window`; at
/// the limit the key is locked for `lock`. All times in microseconds.
pub fn reserve(
    conn: &mut DbConn,
    key: &str,
    max: i32,
    window: i64,
    lock: i64,
    now: i64,
) -> QueryResult<Reserve> {
    reserve_try(conn, key, max, window, lock, now, 0)
}

fn reserve_try(
    conn: &mut DbConn,
    key: &str,
    max: i32,
    window: i64,
    lock: i64,
    now: i64,
    tries: u8,
) -> QueryResult<Reserve> {
    if tries > 4 {
        // Contention that does not settle: ask the client to come back in a second.
        return Ok(Reserve::Locked {
            until: now + 1_000_000,
            new: false,
        });
    }
    // In the window, under the limit, not locked: count it.
    let counted = diesel::update(
        dsl::throttle
            .find(key)
            .filter(dsl::failures.lt(max))
            .filter(dsl::locked_until.le(now))
            .filter(dsl::window_start.gt(now - window)),
    )
    .set(dsl::failures.eq(dsl::failures + 1))
    .execute(conn)?;
    if counted == 1 {
        return Ok(Reserve::Granted);
    }
    // A window that ended (and no lock in force) starts again with this attempt.
    let restarted = diesel::update(
        dsl::throttle
            .find(key)
            .filter(dsl::locked_until.le(now))
            .filter(dsl::window_start.le(now - window)),
    )
    .set((
        dsl::failures.eq(1),
        dsl::window_start.eq(now),
        dsl::locked_until.eq(0),
    ))
    .execute(conn)?;
    if restarted == 1 {
        return Ok(Reserve::Granted);
    }
    let row: Option<(i32, i64)> = dsl::throttle
        .find(key)
        .select((dsl::failures, dsl::locked_until))
        .first(conn)
        .optional()?;
    match row {
        None => {
            // First attempt for this key. In a savepoint: a concurrent first insert wins and
            // this one is counted by trying again.
            let inserted = conn.transaction(|c| {
                diesel::insert_into(dsl::throttle)
                    .values((
                        dsl::key.eq(key),
                        dsl::failures.eq(1),
                        dsl::window_start.eq(now),
                        dsl::locked_until.eq(0),
                    ))
                    .execute(c)
            });
            match inserted {
                Ok(_) => Ok(Reserve::Granted),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => reserve_try(conn, key, max, window, lock, now, tries + 1),
                Err(e) => Err(e),
            }
        }
        Some((_, locked_until)) if locked_until > now => Ok(Reserve::Locked {
            until: locked_until,
            new: false,
        }),
        // Under the limit after all: the row committed between our statements (PostgreSQL reads
        // each statement's own snapshot), so count again.
        Some((failures, _)) if failures < max => {
            reserve_try(conn, key, max, window, lock, now, tries + 1)
        }
        Some(_) => {
            // At the limit within the window: lock (the first one to get here sets the time).
            let until = now + lock;
            let new = diesel::update(
                dsl::throttle
                    .find(key)
                    .filter(dsl::locked_until.le(now))
                    .filter(dsl::failures.ge(max)),
            )
            .set(dsl::locked_until.eq(until))
            .execute(conn)?
                == 1;
            let locked: i64 = dsl::throttle
                .find(key)
                .select(dsl::locked_until)
                .first(conn)?;
            Ok(Reserve::Locked { until: locked, new })
        }
    }
}

/// A success: forget the key's failures.
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(dsl::throttle.find(key))
        .execute(conn)
        .map(|_| ())
}

/// A success for a key that also counts other users' attempts (an address): give back the
/// attempt this one reserved.
pub fn release(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::update(dsl::throttle.find(key).filter(dsl::failures.gt(0)))
        .set(dsl::failures.eq(dsl::failures - 1))
        .execute(conn)
        .map(|_| ())
}

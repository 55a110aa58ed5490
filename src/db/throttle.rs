//! Attempt counters: every change is one conditional statement, so concurrent attempts on
//! every instance count exactly.

use super::schema::throttle::dsl;
use super::DbConn;
use diesel::prelude::*;

pub enum Reserve {
    /// The attempt is counted; go on and check the secret.
    Granted,
    /// Locked until this time (microseconds).
    Locked(i64),
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
                )) => reserve(conn, key, max, window, lock, now),
                Err(e) => Err(e),
            }
        }
        Some((_, locked_until)) if locked_until > now => Ok(Reserve::Locked(locked_until)),
        Some(_) => {
            // At the limit within the window: lock (the first one to get here sets the time).
            let until = now + lock;
            diesel::update(dsl::throttle.find(key).filter(dsl::locked_until.le(now)))
                .set(dsl::locked_until.eq(until))
                .execute(conn)?;
            let locked: i64 = dsl::throttle
                .find(key)
                .select(dsl::locked_until)
                .first(conn)?;
            Ok(Reserve::Locked(locked))
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

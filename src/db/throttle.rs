//! Attempt counters: every change is one conditional statement, so concurrent attempts on
//! every instance count exactly.

use super::schema::throttle::dsl;
use super::DbConn;
use diesel::prelude::*;

pub enum Reserve {
    /// The failure is counted. `locked_now`: it reached the limit, and the key is locked from
    /// now on.
    Granted { locked_now: bool },
    /// Locked until this time (microseconds).
    Locked { until: i64 },
}

/// Count one failure for `key` unless it is locked; the failure that reaches `max` in the
/// window locks the key for `lock` at once. All times in microseconds.
pub fn reserve(
    conn: &mut DbConn,
    key: &str,
    max: i32,
    window: i64,
    lock: i64,
    now: i64,
) -> QueryResult<Reserve> {
    for _ in 0..5 {
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
            return Ok(Reserve::Granted {
                locked_now: lock_if_full(conn, key, max, lock, now)?,
            });
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
            return Ok(Reserve::Granted {
                locked_now: lock_if_full(conn, key, max, lock, now)?,
            });
        }
        let row: Option<(i32, i64)> = dsl::throttle
            .find(key)
            .select((dsl::failures, dsl::locked_until))
            .get_result(conn)
            .optional()?;
        match row {
            None => {
                // The first attempt for this key. In a savepoint: when a concurrent first insert
                // wins, count again.
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
                    Ok(_) => {
                        return Ok(Reserve::Granted {
                            locked_now: lock_if_full(conn, key, max, lock, now)?,
                        })
                    }
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => {}
                    Err(e) => return Err(e),
                }
            }
            Some((_, until)) if until > now => return Ok(Reserve::Locked { until }),
            // Under the limit after all: the row committed between our statements (PostgreSQL
            // reads each statement's own snapshot), so count again.
            Some((failures, _)) if failures < max => {}
            Some(_) => {
                // At the limit with no lock in force (a race with a lock that just ended).
                lock_if_full(conn, key, max, lock, now)?;
                return Ok(Reserve::Locked { until: now + lock });
            }
        }
    }
    // Contention that does not settle: ask the client to come back in a second.
    Ok(Reserve::Locked {
        until: now + 1_000_000,
    })
}

/// Lock the key if it has reached `max` failures; true when this call set the lock.
fn lock_if_full(conn: &mut DbConn, key: &str, max: i32, lock: i64, now: i64) -> QueryResult<bool> {
    diesel::update(
        dsl::throttle
            .find(key)
            .filter(dsl::failures.ge(max))
            .filter(dsl::locked_until.le(now)),
    )
    .set(dsl::locked_until.eq(now + lock))
    .execute(conn)
    .map(|n| n == 1)
}

/// A success: forget the key's failures (and any lock its last attempt set).
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(dsl::throttle.find(key))
        .execute(conn)
        .map(|_| ())
}

/// Forget the key's failures unless a lock is in force.
pub fn clear_unless_locked(conn: &mut DbConn, key: &str, now: i64) -> QueryResult<()> {
    diesel::delete(dsl::throttle.find(key).filter(dsl::locked_until.le(now)))
        .execute(conn)
        .map(|_| ())
}

/// When the key is locked at `now`: the end of its lock.
pub fn locked_until(conn: &mut DbConn, key: &str, now: i64) -> QueryResult<Option<i64>> {
    dsl::throttle
        .find(key)
        .filter(dsl::locked_until.gt(now))
        .select(dsl::locked_until)
        .get_result(conn)
        .optional()
}

pub fn exists(conn: &mut DbConn, key: &str) -> QueryResult<bool> {
    use diesel::dsl::exists;
    diesel::select(exists(dsl::throttle.find(key))).get_result(conn)
}

/// A marker row (no failures, no lock): insert it unless it is there.
pub fn mark(conn: &mut DbConn, key: &str, now: i64) -> QueryResult<()> {
    if exists(conn, key)? {
        return Ok(());
    }
    // In a savepoint: a concurrent insert of the same marker is no failure.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(dsl::throttle)
            .values((
                dsl::key.eq(key),
                dsl::failures.eq(0),
                dsl::window_start.eq(now),
                dsl::locked_until.eq(0),
            ))
            .execute(c)
    });
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Forget every key that starts with `prefix`.
pub fn clear_prefix(conn: &mut DbConn, prefix: &str) -> QueryResult<()> {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    diesel::delete(dsl::throttle.filter(dsl::key.like(pattern).escape('\\')))
        .execute(conn)
        .map(|_| ())
}

//! Single access tokens ended by logout, kept until they would have expired anyway.

use super::schema::revoked_tokens::dsl;
use super::DbConn;
use diesel::prelude::*;

pub fn revoke(conn: &mut DbConn, jti: &str, expires: i64, now: i64) -> QueryResult<()> {
    // Forget entries whose tokens have expired: they can no longer be presented.
    diesel::delete(dsl::revoked_tokens.filter(dsl::expires.lt(now))).execute(conn)?;
    // In a savepoint: on PostgreSQL a failed statement would otherwise end the transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(dsl::revoked_tokens)
            .values((dsl::jti.eq(jti), dsl::expires.eq(expires)))
            .execute(c)
    });
    match inserted {
        // Revoked already (a concurrent logout with the same token): the outcome is the same.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        other => other.map(|_| ()),
    }
}

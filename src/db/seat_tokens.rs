//! Single-use seat tokens, stored as hashes.

use super::schema::seat_tokens::dsl;
use super::DbConn;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConn, hash: &str, seats: i64, by: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(dsl::seat_tokens)
        .values((
            dsl::token_hash.eq(hash),
            dsl::seats.eq(seats),
            dsl::created.eq(now),
            dsl::created_by.eq(by),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The seats of an existing token, redeemed or not.
pub fn seats(conn: &mut DbConn, hash: &str) -> QueryResult<Option<i64>> {
    dsl::seat_tokens
        .find(hash)
        .select(dsl::seats)
        .get_result(conn)
        .optional()
}

/// Mark the token redeemed; false when it already was. One conditional UPDATE, so of two
/// concurrent redemptions exactly one wins.
pub fn redeem(conn: &mut DbConn, hash: &str, account_id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(dsl::seat_tokens.find(hash).filter(dsl::redeemed.is_null()))
        .set((dsl::redeemed.eq(now), dsl::redeemed_by.eq(account_id)))
        .execute(conn)
        .map(|n| n == 1)
}

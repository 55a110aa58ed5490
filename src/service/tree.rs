//! The account tree and its seats: children, every descendant in depth-first order, child
//! accounts, moving seats, suspension, and seat tokens.
//! Each call reads the subtree with one recursive query and orders it in memory, so the cost
//! is that of the answer, never a query per node.

use super::access::{check_no_owner_below, open_account_locked, visible_account};
use super::accounts::{insert, NewAccount};
use crate::auth::Caller;
use crate::db::accounts as store;
use crate::db::models::{now, Account};
use crate::db::DbConn;
use crate::domain::{Role, Seats};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use std::collections::HashMap;

/// `POST /v1/accounts/{id}/children`: the child's seats move out of the parent's free seats.
pub async fn create_child(
    state: &AppState,
    caller: Caller,
    parent_id: String,
    n: NewAccount,
) -> ApiResult<Account> {
    state
        .tx(move |c| create_child_in(c, &caller, &parent_id, n))
        .await
}

fn create_child_in(
    conn: &mut DbConn,
    caller: &Caller,
    parent_id: &str,
    mut n: NewAccount,
) -> ApiResult<Account> {
    let parent = open_account_locked(conn, caller, parent_id)?;
    let seats = n.device_seats.get();
    if seats > 0 && !store::take_seats(conn, &parent.id, seats)? {
        return Err(too_few_seats(conn, &parent.id)?);
    }
    n.parent_id = Some(parent.id);
    n.plan_id = Some(parent.plan_id);
    let child = insert(conn, n)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "account.create",
        Some(&child.id),
        Some(&child.id),
    )?;
    if child.suspended {
        let (on, meta) = (Some(child.id.as_str()), &caller.meta);
        crate::db::audit::record(conn, meta, "account.suspend", on, on)?;
    }
    Ok(child)
}

fn too_few_seats(conn: &mut DbConn, id: &str) -> ApiResult<ApiError> {
    let a = store::get(conn, id)?;
    Ok(ApiError::conflict(format!(
        "not enough free seats: {} free",
        a.device_seats - a.used_devices
    )))
}

/// What the curl-style `POST /v1/accounts/{id}` may change.
#[derive(Default)]
pub struct AccountEdit {
    pub name: Option<String>,
    pub device_seats: Option<Seats>,
    pub suspended: Option<bool>,
}

/// Rename; set seats (moved from or back to the parent); suspend or lift a suspension.
/// Seats and suspension are for an ancestor's admin or the owner, never one's own account.
pub async fn edit(state: &AppState, caller: Caller, id: String, e: AccountEdit) -> ApiResult<()> {
    state.tx(move |c| edit_in(c, &caller, &id, e)).await
}

fn edit_in(conn: &mut DbConn, caller: &Caller, id: &str, e: AccountEdit) -> ApiResult<()> {
    // Locked and read fresh: seat moves are decided on current numbers, never into a tombstone.
    let account = open_account_locked(conn, caller, id)?;
    if (e.device_seats.is_some() || e.suspended.is_some()) && account.id == caller.account_id() {
        return Err(ApiError::forbidden(
            "only an ancestor's admin or the owner changes an account's seats or suspension; \
             add seats to your own account by redeeming a seat token",
        ));
    }
    if let Some(name) = &e.name {
        super::accounts::set_identity(conn, caller, &account.id, Some(name), None)?;
    }
    if e.suspended == Some(true) {
        check_no_owner_below(conn, caller, &account.id, "suspend")?;
    }
    if let Some(seats) = e.device_seats.map(Seats::get) {
        if seats < account.used_devices {
            return Err(ApiError::conflict(format!(
                "the account has {} devices; its seats cannot go below that",
                account.used_devices
            )));
        }
        let delta = seats - account.device_seats;
        if let Some(parent) = &account.parent_id {
            if delta > 0 && !store::take_seats(conn, parent, delta)? {
                return Err(too_few_seats(conn, parent)?);
            }
            if delta < 0 {
                store::add_seats(conn, parent, -delta)?;
            }
        }
        store::set_seats(conn, &account.id, seats)?;
        let moved = format!("{}: {} -> {seats} seats", account.id, account.device_seats);
        crate::db::audit::record(
            conn,
            &caller.meta,
            "account.seats",
            Some(&account.id),
            Some(&moved),
        )?;
    }
    if let Some(s) = e.suspended {
        store::set_suspended(conn, &account.id, s)?;
        let action = if s {
            "account.suspend"
        } else {
            "account.resume"
        };
        crate::db::audit::record(
            conn,
            &caller.meta,
            action,
            Some(&account.id),
            Some(&account.id),
        )?;
    }
    Ok(())
}

/// `POST /v1/seat-tokens`: a single-use token worth `seats`, stored only as a hash.
pub async fn mint_seat_token(state: &AppState, caller: Caller, seats: i64) -> ApiResult<String> {
    state
        .tx(move |c| mint_seat_token_in(c, &caller, seats))
        .await
}

fn mint_seat_token_in(conn: &mut DbConn, caller: &Caller, seats: i64) -> ApiResult<String> {
    let token = crate::secrets::random_token("st_");
    crate::db::seat_tokens::insert(
        conn,
        &crate::secrets::hash_token(&token),
        seats,
        caller.id(),
        now(),
    )?;
    let minted = format!("{seats} seats");
    crate::db::audit::record(
        conn,
        &caller.meta,
        "seats.mint",
        Some(caller.account_id()),
        Some(&minted),
    )?;
    Ok(token)
}

/// `POST /v1/accounts/{id}/seats`: add a seat token's seats to the account, once.
pub async fn redeem_seat_token(
    state: &AppState,
    caller: Caller,
    id: String,
    token: String,
) -> ApiResult<Account> {
    state
        .tx(move |c| redeem_seat_token_in(c, &caller, &id, &token))
        .await
}

fn redeem_seat_token_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    token: &str,
) -> ApiResult<Account> {
    let account = open_account_locked(conn, caller, id)?;
    let hash = crate::secrets::hash_token(token);
    let seats = crate::db::seat_tokens::seats(conn, &hash)?
        .ok_or_else(|| ApiError::invalid("token: not a valid seat token"))?;
    if !crate::db::seat_tokens::redeem(conn, &hash, &account.id, now())? {
        return Err(ApiError::conflict("seat token already redeemed"));
    }
    store::add_seats(conn, &account.id, seats)?;
    let added = format!("{seats} seats");
    crate::db::audit::record(
        conn,
        &caller.meta,
        "seats.redeem",
        Some(&account.id),
        Some(&added),
    )?;
    Ok(store::get(conn, &account.id)?)
}

/// The deepest `descendants` answers (it nests JSON, so its depth is bounded).
pub const MAX_TREE_DEPTH: i64 = 100;

/// A plain user reads only its own account, never the accounts below it.
fn sees_below(caller: &Caller) -> bool {
    caller.role() >= Role::Admin
}

/// The account itself, then its direct children.
pub async fn children(state: &AppState, caller: Caller, id: String) -> ApiResult<Vec<Account>> {
    state.db(move |c| children_in(c, &caller, &id)).await
}

fn children_in(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Vec<Account>> {
    let account = visible_account(conn, caller, id)?;
    let mut out = vec![];
    if sees_below(caller) {
        out = store::children(conn, &account.id)?;
    }
    out.insert(0, account);
    Ok(out)
}

/// The account itself, then every descendant, depth-first (siblings oldest first).
pub async fn all_children(state: &AppState, caller: Caller, id: String) -> ApiResult<Vec<Account>> {
    state.db(move |c| all_children_in(c, &caller, &id)).await
}

fn all_children_in(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Vec<Account>> {
    let account = visible_account(conn, caller, id)?;
    if !sees_below(caller) {
        return Ok(vec![account]);
    }
    let rows = store::subtree(conn, &account.id, i64::MAX)?;
    Ok(depth_first(&account.id, rows))
}

/// The account (its id) and its descendants down to `max_depth` levels, in any order.
pub async fn descendants(
    state: &AppState,
    caller: Caller,
    id: String,
    max_depth: i64,
) -> ApiResult<(String, Vec<Account>)> {
    state
        .db(move |c| descendants_in(c, &caller, &id, max_depth))
        .await
}

fn descendants_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    max_depth: i64,
) -> ApiResult<(String, Vec<Account>)> {
    let account = visible_account(conn, caller, id)?;
    let depth = if sees_below(caller) { max_depth } else { 0 };
    let rows = store::subtree(conn, &account.id, depth)?;
    Ok((account.id, rows))
}

/// Order rows (in any order) depth-first from `root`, siblings oldest first (created, id),
/// without recursion.
pub fn depth_first(root: &str, rows: Vec<Account>) -> Vec<Account> {
    let order = {
        let mut by_parent: HashMap<&str, Vec<usize>> = HashMap::with_capacity(rows.len());
        let mut root_idx = None;
        for (i, a) in rows.iter().enumerate() {
            if a.id == root {
                root_idx = Some(i);
            } else if let Some(p) = &a.parent_id {
                by_parent.entry(p).or_default().push(i);
            }
        }
        let key = |i: &usize| (rows[*i].created, rows[*i].id.as_str());
        for kids in by_parent.values_mut() {
            kids.sort_unstable_by_key(key);
        }
        let mut order = Vec::with_capacity(rows.len());
        let mut stack: Vec<usize> = root_idx.into_iter().collect();
        while let Some(i) = stack.pop() {
            if let Some(kids) = by_parent.get(rows[i].id.as_str()) {
                // Reversed, so the oldest child is popped first.
                stack.extend(kids.iter().rev());
            }
            order.push(i);
        }
        order
    };
    let mut slots: Vec<Option<Account>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each row is visited once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_first_visits_each_subtree_before_the_next_sibling() {
        // root -> a (-> a1, a2, a3), b (-> b1); rows in no order, a1 and a2 created together
        // (the id breaks the tie).
        let rows = vec![
            Account::sample("a3", Some("a"), 5),
            Account::sample("b1", Some("b"), 4),
            Account::sample("b", Some("root"), 2),
            Account::sample("a2", Some("a"), 3),
            Account::sample("root", Some("up"), 0),
            Account::sample("a1", Some("a"), 3),
            Account::sample("a", Some("root"), 1),
        ];
        let ids: Vec<String> = depth_first("root", rows)
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["root", "a", "a1", "a2", "a3", "b", "b1"]);
    }

    #[test]
    fn a_long_chain_needs_no_recursion() {
        let mut rows = vec![Account::sample("n0", None, 0)];
        for i in 1..50_000 {
            rows.push(Account::sample(
                &format!("n{i}"),
                Some(&format!("n{}", i - 1)),
                i,
            ));
        }
        let out = depth_first("n0", rows);
        assert_eq!(out.len(), 50_000);
        assert_eq!(out[49_999].id, "n49999");
    }
}

//! Reading the event log: the owner reads every event, an admin its tree's.

use crate::auth::Caller;
use crate::db::events::{self as store, EventRow, Filter, Position};
use crate::domain::Role;
use crate::error::ApiResult;
use crate::state::AppState;

/// What a reader asks for.
pub struct Query {
    pub after: Option<Position>,
    pub kind: Option<String>,
    pub account_id: Option<String>,
    pub limit: i64,
}

/// Up to `limit` events after the reader's place, in commit order, that the caller may see.
/// An `accountId` outside an admin's tree is 404, as everywhere.
pub async fn list(state: &AppState, caller: Caller, q: Query) -> ApiResult<Vec<EventRow>> {
    state
        .db(move |c| {
            if let Some(account) = &q.account_id {
                super::access::visible_account(c, &caller, account)?;
            }
            let tree = (caller.role() != Role::Owner).then(|| caller.account_id().to_string());
            let filter = Filter {
                kind: q.kind.as_deref(),
                account_id: q.account_id.as_deref(),
                tree_of: tree.as_deref(),
            };
            Ok(store::after(c, q.after, &filter, q.limit)?)
        })
        .await
}

/// Forget events, and finished webhook deliveries, older than `EVENT_RETENTION_DAYS`; run in
/// the background by each instance.
pub async fn prune(state: &AppState) -> ApiResult<usize> {
    let days = state.config.event_retention_days;
    let before = crate::db::models::now() - days * 24 * 3600 * 1_000_000;
    state
        .db(move |c| Ok(store::prune(c, before)? + crate::db::deliveries::prune(c, before)?))
        .await
}

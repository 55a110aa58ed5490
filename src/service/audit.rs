//! The audit log as callers read it: admins the changes to accounts of their tree, the owner
//! all (every entry is written by the change it records, in its transaction).

use crate::auth::Caller;
use crate::db::audit::{self as store, Entry};
use crate::error::ApiResult;
use crate::pagination::PageRequest;
use crate::state::AppState;

pub async fn list(state: &AppState, caller: Caller, page: PageRequest) -> ApiResult<Vec<Entry>> {
    let scope = (!caller.is_owner()).then(|| caller.account_id().to_string());
    state
        .db(move |c| Ok(store::list(c, scope.as_deref(), &page)?))
        .await
}

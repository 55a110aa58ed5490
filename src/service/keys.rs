//! Signing keys: their list, a rotation (the owner's, or the schedule's), and keeping this
//! instance's loaded keys up to date with the database.

use crate::auth::keys as signing;
use crate::auth::Caller;
use crate::db::keys::{self as store, KeyRow};
use crate::error::ApiResult;
use crate::state::AppState;

/// Every key, oldest first (the owner's `GET /v1/keys`).
pub async fn list(state: &AppState, _owner: Caller) -> ApiResult<Vec<KeyRow>> {
    state.db(|c| Ok(store::all(c)?)).await
}

/// Publish a new key that signs after the grace period, audited; this instance loads it at
/// once, the others within their reload period (well before it signs).
pub async fn rotate(state: &AppState, owner: Caller) -> ApiResult<KeyRow> {
    let config = state.config.clone();
    let row = state
        .tx(move |c| {
            let row = signing::rotate(c, &config)?;
            crate::db::audit::record(c, &owner.meta, "keys.rotate", None, Some(&row.kid))?;
            Ok(row)
        })
        .await?;
    refresh(state).await?;
    Ok(row)
}

/// Rotate if the schedule says so, then load the keys if they changed: run every few seconds
/// by each instance (`lib::serve`).
pub async fn refresh(state: &AppState) -> ApiResult<bool> {
    let (config, keys) = (state.config.clone(), state.keys.clone());
    state
        .store
        .run(move |c| {
            if let Some(row) = crate::db::write_tx(c, |c| signing::rotate_if_due(c, &config))? {
                log::info!(
                    "signing key {} published; it signs from {}",
                    row.kid,
                    row.activates_at
                );
            }
            signing::reload(c, &keys)
        })
        .await
}

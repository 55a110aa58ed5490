//! OAuth clients (the owner's registry) and their authentication at the OAuth endpoints.

use crate::auth::Caller;
use crate::db::clients::{self as store, ClientRow};
use crate::db::models::now;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{hash_token, random_token, secret_matches};
use crate::state::AppState;

/// A new client, with its secret (confidential clients only): shown this once.
pub struct Created {
    pub row: ClientRow,
    pub secret: Option<String>,
}

/// What a request presented as its client (RFC 6749 section 2.3): an id, and a secret for a
/// confidential client.
pub struct Presented {
    pub id: String,
    pub secret: Option<String>,
}

/// Why a client was refused: the OAuth `invalid_client` description.
pub struct Refused(pub &'static str);

/// Register a client, audited. A confidential client's secret is 256 random bits, stored as
/// its SHA-256 hash.
pub async fn create(
    state: &AppState,
    owner: Caller,
    name: String,
    confidential: bool,
) -> ApiResult<Created> {
    let secret = confidential.then(|| random_token("cs_"));
    let row = ClientRow {
        id: random_token("cl_")[..27].to_string(),
        name,
        secret_hash: secret.as_deref().map(hash_token),
        created: now(),
    };
    let row = state
        .tx(move |c| {
            store::insert(c, &row)?;
            crate::db::audit::record(c, &owner.meta, "client.create", None, Some(&row.id))?;
            Ok(row)
        })
        .await?;
    Ok(Created { row, secret })
}

pub async fn list(
    state: &AppState,
    _owner: Caller,
    page: crate::pagination::PageRequest,
) -> ApiResult<Vec<ClientRow>> {
    state.db(move |c| Ok(store::list(c, &page)?)).await
}

/// Delete a client, audited: it can no longer authenticate, and every session whose tokens
/// were issued to it ends (its refresh and access tokens die on every instance).
pub async fn delete(state: &AppState, owner: Caller, id: String) -> ApiResult<()> {
    state
        .tx(move |c| {
            for session in crate::db::sessions::ids_of_client(c, &id)? {
                crate::db::refresh::delete_family(c, &session)?;
                crate::db::sessions::delete(c, &session)?;
            }
            // Last: the sessions name it (a login racing this fails on that key).
            if store::delete(c, &id)? == 0 {
                return Err(ApiError::not_found("no such client"));
            }
            crate::db::audit::record(c, &owner.meta, "client.delete", None, Some(&id))?;
            Ok(())
        })
        .await
}

/// Check a presented client: `Ok(Ok(id))` for a registered client whose secret matches (a
/// public client presents none; a confidential one must). Every refusal reads alike to the
/// caller, whatever the reason.
pub async fn authenticate(
    state: &AppState,
    presented: Presented,
) -> ApiResult<Result<ClientRow, Refused>> {
    state
        .db(move |c| {
            let row = store::find(c, &presented.id)?;
            Ok(match (row, presented.secret) {
                (Some(row), None) if !row.confidential() => Ok(row),
                (Some(row), Some(secret))
                    if row
                        .secret_hash
                        .as_deref()
                        .is_some_and(|h| secret_matches(&secret, h)) =>
                {
                    Ok(row)
                }
                _ => Err(Refused("client authentication failed")),
            })
        })
        .await
}

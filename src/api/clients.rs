//! `/v1/clients`: the OAuth clients that may authenticate at the token, introspection and
//! revocation endpoints (the owner's registry).

use super::body::{Json, NoBody};
use super::extract::{NoQuery, Owner};
use super::page::NoParams;
use super::views::rfc3339;
use super::{check, created, no_store};
use crate::db::clients::ClientRow;
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::service::clients as service;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, delete))]
pub struct Doc;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// What the client is, for people reading the list.
    #[validate(length(min = 1, max = 200), custom(function = "super::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// A confidential client (a server that keeps a secret) gets a `client_secret`; a public
    /// one (a browser or mobile app) has none and authenticates with `client_id` alone.
    pub confidential: bool,
}

/// An OAuth client. Its fields carry OAuth's names (RFC 7591), so they paste straight into
/// an OAuth library's settings.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OAuthClient)]
pub struct ClientView {
    client_id: String,
    name: String,
    confidential: bool,
    /// `client_secret_basic` for a confidential client (`client_secret_post` works too),
    /// `none` for a public one.
    token_endpoint_auth_method: &'static str,
    #[schema(format = DateTime)]
    created: String,
    /// Only in the answer that created a confidential client: shown this once, stored hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

fn view(row: &ClientRow) -> ClientView {
    ClientView {
        client_id: row.id.clone(),
        name: row.name.clone(),
        confidential: row.confidential(),
        token_endpoint_auth_method: if row.confidential() {
            "client_secret_basic"
        } else {
            "none"
        },
        created: rfc3339(row.created),
        client_secret: None,
    }
}

/// Role owner: register an OAuth client.
///
/// 201 with `client_id`, and for a confidential client its `client_secret`: shown only here
/// (stored as a hash), so keep it. Audited (`client.create`).
#[utoipa::path(post, path = "/v1/clients", tag = "tokens", operation_id = "createClient",
    request_body = CreateClient,
    responses((status = 201, description = "The client, with its secret if confidential.",
        body = ClientView, headers(("Cache-Control" = String, description = "`no-store`")))))]
pub async fn create(
    Owner(caller): Owner,
    state: State,
    body: Json<CreateClient>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    check(&body.0, vec![])?;
    let CreateClient { name, confidential } = body.0;
    let made = service::create(&state, caller, name.trim().to_string(), confidential).await?;
    Ok(no_store(created(ClientView {
        client_secret: made.secret,
        ..view(&made.row)
    })))
}

fn client_key(row: &ClientRow) -> Cursor {
    Cursor {
        created: row.created,
        id: row.id.clone(),
    }
}

/// Role owner: page of OAuth clients, oldest first; `filter` matches the name. Secrets are
/// never shown again.
#[utoipa::path(get, path = "/v1/clients", tag = "tokens", operation_id = "listClients",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "A page of clients.", body = super::page::ClientPage)))]
pub async fn list(Owner(caller): Owner, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(&req, &super::PAGE, client_key, view, |_: NoParams, page| {
        service::list(&state, caller, page)
    })
    .await
}

/// Role owner: delete an OAuth client.
///
/// It can no longer authenticate, and every session whose tokens were issued to it ends at
/// once (its refresh and access tokens, on every instance). Audited (`client.delete`).
#[utoipa::path(delete, path = "/v1/clients/{id}", tag = "tokens", operation_id = "deleteClient",
    params(("id" = String, Path, description = "The `client_id`.")),
    responses((status = 204, description = "Deleted.")))]
pub async fn delete(
    Owner(caller): Owner,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    service::delete(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/v1/webhooks`: subscriptions to events (an admin's for its tree, the owner's for any).

use super::body::{Json, NoBody};
use super::extract::{Admin, NoQuery};
use super::page::NoParams;
use super::views::rfc3339;
use super::{check, created, no_store, ok};
use crate::db::deliveries::DeliveryRow;
use crate::db::webhooks::WebhookRow;
use crate::error::ApiResult;
use crate::pagination::Cursor;
use crate::service::webhooks::{self as service, Change, NewWebhook};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    update,
    delete,
    rotate_secret,
    ping,
    deliveries,
    retry
))]
pub struct Doc;

type State = web::Data<AppState>;

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateWebhook {
    /// `https://` or `http://`; never a private, loopback or link-local address (unless
    /// `WEBHOOK_ALLOW_PRIVATE=1`).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    url: String,
    /// `*`, `resource.*` or a type (`account.created`); 1 to 100.
    events: Vec<String>,
    /// The account whose tree's events are sent; omitted, the caller's (the owner's: all).
    #[validate(length(min = 1, max = 64))]
    account_id: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    description: Option<String>,
}

/// A subscription (its secret only in the answers that make one).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Webhook)]
pub struct WebhookView {
    id: String,
    url: String,
    events: Vec<String>,
    /// Whose events; `null`: every account's (the owner's).
    #[schema(required = true)]
    account_id: Option<String>,
    #[schema(required = true)]
    description: Option<String>,
    enabled: bool,
    #[schema(format = DateTime)]
    created: String,
    /// `whsec_...`: only when created or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn view(row: &WebhookRow) -> WebhookView {
    WebhookView {
        id: row.id.clone(),
        url: row.url.clone(),
        events: serde_json::from_str(&row.events).unwrap_or_default(),
        account_id: row.account_id.clone(),
        description: row.description.clone(),
        enabled: row.enabled,
        created: rfc3339(row.created),
        secret: None,
    }
}

/// Role admin: subscribe to events (of the caller's tree; the owner: any account, or all).
///
/// 201 with the `secret` that signs every delivery, shown only here. A URL that is not
/// http(s), does not resolve, or reaches a private address is 400; an `accountId` the caller
/// may not see is 404.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = CreateWebhook,
    responses((status = 201, description = "The subscription and its secret.", body = WebhookView)))]
pub async fn create(
    Admin(caller): Admin,
    state: State,
    body: Json<CreateWebhook>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    check(&body.0, vec![])?;
    let b = body.0;
    let new = NewWebhook {
        url: b.url,
        events: b.events,
        account_id: b.account_id,
        description: b.description,
    };
    let (row, secret) = service::create(&state, caller, new).await?;
    Ok(no_store(created(WebhookView {
        secret: Some(secret),
        ..view(&row)
    })))
}

fn key(row: &WebhookRow) -> Cursor {
    Cursor {
        created: row.created,
        id: row.id.clone(),
    }
}

/// Role admin: page of subscriptions (the caller's tree's; the owner: all); `filter` matches
/// the URL.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    params(crate::openapi::PageQuery),
    responses((status = 200, description = "A page of subscriptions.", body = super::page::WebhookPage)))]
pub async fn list(Admin(caller): Admin, state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    super::paged(&req, &super::PAGE, key, view, |_: NoParams, page| {
        service::list(&state, caller, page)
    })
    .await
}

/// Role admin: one subscription (404 outside the caller's tree).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 200, description = "The subscription.", body = WebhookView)))]
pub async fn get(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    Ok(ok(view(
        &service::get(&state, caller, id.into_inner()).await?,
    )))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[validate(length(min = 1, max = 2000))]
    url: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
    #[validate(length(max = 500))]
    description: Option<String>,
}

/// Role admin: change a subscription's `url`, `events`, `enabled` or `description`.
#[utoipa::path(put, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "updateWebhook",
    params(("id" = String, Path, description = "The subscription's id.")),
    request_body = UpdateWebhook,
    responses((status = 200, description = "The subscription.", body = WebhookView)))]
pub async fn update(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    body: Json<UpdateWebhook>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    check(&body.0, vec![])?;
    let b = body.0;
    let change = Change {
        url: b.url,
        events: b.events,
        enabled: b.enabled,
        description: b.description,
    };
    let row = service::update(&state, caller, id.into_inner(), change).await?;
    Ok(ok(view(&row)))
}

/// Role admin: delete a subscription.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 204, description = "Deleted.")))]
pub async fn delete(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    service::delete(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `{secret}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    /// `whsec_...`, shown only here.
    secret: String,
}

/// Role admin: a new signing secret; the old one keeps signing too (two signatures per
/// delivery) for 24 hours.
#[utoipa::path(post, path = "/v1/webhooks/{id}/secret", tag = "webhooks",
    operation_id = "rotateWebhookSecret",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 200, description = "The new secret.", body = NewSecret)))]
pub async fn rotate_secret(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let secret = service::rotate_secret(&state, caller, id.into_inner()).await?;
    Ok(no_store(ok(NewSecret { secret })))
}

/// One delivery of an event to a subscription, and what came of it so far.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Delivery)]
pub struct DeliveryView {
    id: String,
    /// The event's id, sent as `webhook-id` (the same on every attempt).
    event_id: String,
    event_type: String,
    /// `pending`, `succeeded` or `failed` (no attempt is left).
    status: String,
    attempts: i32,
    /// The receiver's HTTP status at the last attempt (`null`: none, or no answer).
    #[schema(required = true)]
    last_status: Option<i32>,
    /// Why the last attempt failed.
    #[schema(required = true)]
    last_error: Option<String>,
    /// When the next attempt is due (`null`: none is).
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    created: String,
}

fn delivery_view(d: &DeliveryRow) -> DeliveryView {
    DeliveryView {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        next_attempt_at: d
            .next_attempt_at
            .filter(|_| d.status == "pending")
            .map(rfc3339),
        created: rfc3339(d.created),
    }
}

fn delivery_key(d: &DeliveryRow) -> Cursor {
    Cursor {
        created: d.created,
        id: d.id.clone(),
    }
}

/// Role admin: send the subscription a `webhook.ping` event now (202: queued; its delivery
/// shows how it went).
#[utoipa::path(post, path = "/v1/webhooks/{id}/ping", tag = "webhooks", operation_id = "pingWebhook",
    params(("id" = String, Path, description = "The subscription's id.")),
    responses((status = 202, description = "The ping's delivery, due now.", body = DeliveryView)))]
pub async fn ping(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let d = service::ping(&state, caller, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(delivery_view(&d)))
}

/// Role admin: page of a subscription's deliveries, oldest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    operation_id = "listWebhookDeliveries",
    params(("id" = String, Path, description = "The subscription's id."), crate::openapi::PageQuery),
    responses((status = 200, description = "A page of deliveries.", body = super::page::DeliveryPage)))]
pub async fn deliveries(
    Admin(caller): Admin,
    state: State,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    super::paged(
        &req,
        &super::PAGE,
        delivery_key,
        delivery_view,
        |_: NoParams, page| service::deliveries(&state, caller, id, page),
    )
    .await
}

/// Role admin: deliver again now (202), whatever the delivery came to before; the receiver
/// gets the same `webhook-id`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{deliveryId}/retry", tag = "webhooks",
    operation_id = "retryWebhookDelivery",
    params(("id" = String, Path, description = "The subscription's id."),
        ("deliveryId" = String, Path, description = "The delivery's id.")),
    responses((status = 202, description = "The delivery, due now.", body = DeliveryView)))]
pub async fn retry(
    Admin(caller): Admin,
    state: State,
    path: web::Path<(String, String)>,
    _: NoQuery,
    _: NoBody,
) -> ApiResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let d = service::retry(&state, caller, id, delivery).await?;
    Ok(HttpResponse::Accepted().json(delivery_view(&d)))
}

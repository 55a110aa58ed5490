//! `/scim/v2`: SCIM 2.0 for identity providers (RFC 7643, 7644). Answers are
//! `application/scim+json` (requests may be that or plain JSON), errors are SCIM error bodies.

use super::body::parse_json;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::scim::{self as service, ListQuery, GROUP_SCHEMA, MAX_RESULTS, USER_SCHEMA};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    service_provider_config,
    resource_types,
    resource_type,
    schemas,
    schema,
    search_all,
    list_users,
    search_users,
    create_user,
    get_user,
    replace_user,
    patch_user,
    delete_user,
    list_groups,
    search_groups,
    create_group,
    get_group,
    replace_group,
    patch_group,
    delete_group
))]
pub struct Doc;

type State = web::Data<AppState>;

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SCIM_JSON: &str = "application/scim+json";
/// The SCIM types a message may start with (`service::scim` writes them so).
const SCIM_TYPES: [&str; 9] = [
    "invalidFilter",
    "invalidPath",
    "invalidValue",
    "invalidSyntax",
    "invalidCursor",
    "noTarget",
    "mutability",
    "uniqueness",
    "tooMany",
];

fn answer(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

/// An error as SCIM's error body, with its `scimType` when the message names one.
pub fn failed(e: ApiError) -> HttpResponse {
    let status = e.status_code();
    let message = match &e {
        ApiError::Invalid(m) => m.join("; "),
        ApiError::Internal(detail) => {
            log::error!("scim: {detail}");
            "internal error".to_string()
        }
        other => other.to_string(),
    };
    let (kind, detail) = match message.split_once(": ") {
        Some((k, d)) if SCIM_TYPES.contains(&k) => (Some(k.to_string()), d.to_string()),
        _ if message.starts_with("body:") => (Some("invalidSyntax".into()), message),
        _ => (None, message),
    };
    let mut body =
        json!({"schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(k) = kind {
        body["scimType"] = k.into();
    }
    let mut res = answer(status, body);
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    res
}

fn done(r: Result<HttpResponse, ApiError>) -> HttpResponse {
    r.unwrap_or_else(failed)
}

/// The base URL resources are located under (`meta.location`).
fn base(req: &HttpRequest) -> String {
    let ci = req.connection_info();
    format!("{}://{}", ci.scheme(), ci.host())
}

/// The query parameters SCIM defines; anything else is refused. `sortBy` and `sortOrder` are
/// accepted and ignored (order is by creation).
struct Query {
    account_id: Option<String>,
    list: ListQuery,
    shape: Shape,
}

/// `attributes` / `excludedAttributes` (comma-separated paths, any case).
#[derive(Default)]
struct Shape {
    only: Vec<String>,
    without: Vec<String>,
}

impl Shape {
    fn parse(only: Option<&str>, without: Option<&str>) -> Shape {
        let list = |v: Option<&str>| {
            v.map(|v| {
                v.split(',')
                    .map(|a| {
                        a.trim()
                            .rsplit(':')
                            .next()
                            .unwrap_or("")
                            .to_ascii_lowercase()
                    })
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        Shape {
            only: list(only),
            without: list(without),
        }
    }

    /// A resource with only the attributes asked for (`id`, `schemas` and `meta` always), or
    /// without those excluded; `name.givenName` names a sub-attribute.
    fn apply(&self, mut r: Value) -> Value {
        const ALWAYS: [&str; 3] = ["id", "schemas", "meta"];
        let Some(obj) = r.as_object_mut() else {
            return r;
        };
        let keep = |key: &str, sub: Option<&str>, names: &[String]| {
            let key = key.to_ascii_lowercase();
            names.iter().any(|n| match n.split_once('.') {
                Some((a, b)) => a == key && sub.is_none_or(|s| s.eq_ignore_ascii_case(b)),
                None => *n == key,
            })
        };
        if !self.only.is_empty() {
            obj.retain(|k, v| {
                if ALWAYS.contains(&k.as_str()) {
                    return true;
                }
                if !keep(k, None, &self.only) {
                    return false;
                }
                // `name.givenName`: of `name`, only that sub-attribute.
                let whole = self.only.iter().any(|n| n.eq_ignore_ascii_case(k));
                if let (false, Some(o)) = (whole, v.as_object_mut()) {
                    o.retain(|s, _| keep(k, Some(s), &self.only));
                }
                true
            });
        }
        for n in &self.without {
            match n.split_once('.') {
                Some((a, b)) => {
                    if let Some(o) = obj
                        .iter_mut()
                        .find(|(k, _)| k.eq_ignore_ascii_case(a))
                        .and_then(|(_, v)| v.as_object_mut())
                    {
                        o.retain(|s, _| !s.eq_ignore_ascii_case(b));
                    }
                }
                None => {
                    obj.retain(|k, _| ALWAYS.contains(&k.as_str()) || !k.eq_ignore_ascii_case(n))
                }
            }
        }
        r
    }

    /// The same for each resource of a list.
    fn apply_list(&self, mut list: Value) -> Value {
        if let Some(items) = list.get_mut("Resources").and_then(Value::as_array_mut) {
            for item in items.iter_mut() {
                *item = self.apply(item.take());
            }
        }
        list
    }
}

fn query(req: &HttpRequest) -> Result<Query, ApiError> {
    const KNOWN: [&str; 9] = [
        "filter",
        "startIndex",
        "count",
        "cursor",
        "accountId",
        "attributes",
        "excludedAttributes",
        "sortBy",
        "sortOrder",
    ];
    let p = super::page::Params::parse(req.query_string(), &KNOWN)?;
    let number = |k: &str| {
        p.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid(format!("invalidValue: {k}: a whole number")))
            })
            .transpose()
    };
    Ok(Query {
        shape: Shape::parse(p.get("attributes"), p.get("excludedAttributes")),
        account_id: p.get("accountId").map(str::to_string),
        list: ListQuery {
            filter: p.get("filter").map(str::to_string),
            start_index: number("startIndex")?,
            count: number("count")?,
            cursor: p.get("cursor").map(str::to_string),
        },
    })
}

/// What every resource route starts with: its query, then its caller.
async fn caller(req: &HttpRequest) -> Result<(Query, Caller), ApiError> {
    let q = query(req)?;
    Ok((q, Caller::from_request(req, &mut Payload::None).await?))
}

fn doc(bytes: &web::Bytes) -> Result<Value, ApiError> {
    let v: Value = parse_json(bytes)?;
    if !v.is_object() {
        return Err(ApiError::invalid(
            "invalidSyntax: the body is a JSON object",
        ));
    }
    Ok(v)
}

fn with_location(res: Value) -> HttpResponse {
    let location = res["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let version = res["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut r = answer(StatusCode::CREATED, res);
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&version) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// What is supported: PATCH, filters (up to 1000 results), cursor paging; no bulk, no sort, no
/// ETags, no password change. Anyone may read it.
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "scim",
    operation_id = "scimServiceProviderConfig",
    responses((status = 200, description = "What this SCIM service supports.", body = Object)))]
pub async fn service_provider_config() -> HttpResponse {
    answer(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/accountd/accountd#scim-20-provisioning",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "index",
                "defaultPageSize": 100, "maxPageSize": MAX_RESULTS,
                // Keyset cursors never expire; a day is promised.
                "cursorTimeout": 86_400},
            "authenticationSchemes": [{
                "type": "oauthbearertoken", "name": "Bearer token",
                "description": "An admin's personal access token (or access token).",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig"},
        }),
    )
}

fn resource_type_list() -> Vec<Value> {
    let rt = |id: &str, endpoint: &str, schema: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": id, "name": id, "endpoint": endpoint, "schema": schema,
            "description": format!("{id}s of the tenant account"),
            "meta": {"resourceType": "ResourceType", "location": format!("/scim/v2/ResourceTypes/{id}")},
        })
    };
    vec![
        rt("User", "/Users", USER_SCHEMA),
        rt("Group", "/Groups", GROUP_SCHEMA),
    ]
}

fn list_of(items: Vec<Value>) -> Value {
    service::list_response(items.len() as i64, items, Some(1))
}

/// The resource types: User and Group.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes", tag = "scim", operation_id = "scimResourceTypes",
    responses((status = 200, description = "User and Group.", body = Object)))]
pub async fn resource_types() -> HttpResponse {
    answer(StatusCode::OK, list_of(resource_type_list()))
}

/// One resource type.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes/{id}", tag = "scim", operation_id = "scimResourceType",
    params(("id" = String, Path, description = "User or Group.")),
    responses((status = 200, description = "The resource type.", body = Object)))]
pub async fn resource_type(name: web::Path<String>) -> HttpResponse {
    match resource_type_list()
        .into_iter()
        .find(|r| r["id"] == name.as_str())
    {
        Some(r) => answer(StatusCode::OK, r),
        None => failed(ApiError::not_found("no such resource type")),
    }
}

fn attribute(name: &str, kind: &str, more: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default",
        "uniqueness": "none",
    });
    if let (Some(a), Some(m)) = (a.as_object_mut(), more.as_object()) {
        a.extend(m.clone());
    }
    a
}

fn schema_list() -> Vec<Value> {
    let sub = |name: &str| attribute(name, "string", json!({}));
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "A user of the tenant account",
        "attributes": [
            attribute("userName", "string", json!({"required": true, "uniqueness": "server"})),
            attribute("name", "complex", json!({"subAttributes": [sub("givenName"), sub("familyName")]})),
            // Every accountd user has an email: required here (a userName holding @ is one).
            attribute("emails", "complex", json!({"multiValued": true, "required": true,
                "subAttributes": [attribute("value", "string", json!({"required": true})),
                attribute("type", "string", json!({"canonicalValues": ["work"]})),
                attribute("primary", "boolean", json!({}))]})),
            attribute("active", "boolean", json!({})),
            attribute("externalId", "string", json!({"caseExact": true})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{USER_SCHEMA}")},
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "A group of the tenant account",
        "attributes": [
            attribute("displayName", "string", json!({"required": true, "uniqueness": "server",
                "caseExact": true, "mutability": "immutable"})),
            attribute("members", "complex", json!({"multiValued": true, "subAttributes": [
                attribute("value", "string", json!({"mutability": "immutable"})),
                attribute("$ref", "reference", json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                attribute("type", "string", json!({"mutability": "immutable",
                    "canonicalValues": ["User"]}))]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{GROUP_SCHEMA}")},
    });
    vec![user, group]
}

/// The User and Group schemas, as far as this service keeps them.
#[utoipa::path(get, path = "/scim/v2/Schemas", tag = "scim", operation_id = "scimSchemas",
    responses((status = 200, description = "The schemas.", body = Object)))]
pub async fn schemas() -> HttpResponse {
    answer(StatusCode::OK, list_of(schema_list()))
}

/// One schema, by its URN.
#[utoipa::path(get, path = "/scim/v2/Schemas/{id}", tag = "scim", operation_id = "scimSchema",
    params(("id" = String, Path, description = "The schema's URN.")),
    responses((status = 200, description = "The schema.", body = Object)))]
pub async fn schema(id: web::Path<String>) -> HttpResponse {
    match schema_list().into_iter().find(|s| s["id"] == id.as_str()) {
        Some(s) => answer(StatusCode::OK, s),
        None => failed(ApiError::not_found("no such schema")),
    }
}

/// Role admin (an admin's personal access token): the tenant's users. `filter` (RFC 7644
/// grammar on userName, emails.value, externalId, name.givenName, name.familyName, active,
/// meta.lastModified, meta.created, id); `startIndex`/`count` (index paging: an offset, its
/// cost grows with the index) or `cursor` (RFC 9865: empty for the first page, then
/// `nextCursor`; as fast at any depth). The owner names the tenant with `accountId`.
#[utoipa::path(get, path = "/scim/v2/Users", tag = "scim", operation_id = "scimListUsers",
    params(
        ("filter" = Option<String>, Query, description = "A SCIM filter, e.g. `userName eq \"ada\"`."),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result."),
        ("count" = Option<i64>, Query, description = "Results per page, 0 to 1000 (100)."),
        ("cursor" = Option<String>, Query, description = "RFC 9865 cursor; empty for the first page."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant."),
        ("attributes" = Option<String>, Query, description = "Accepted; every attribute is returned."),
        ("excludedAttributes" = Option<String>, Query, description = "Accepted; ignored."),
    ),
    responses((status = 200, description = "A ListResponse of users.", body = Object)))]
pub async fn list_users(req: HttpRequest, state: State) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let r = service::list_users(&state, caller, q.account_id, q.list, base(&req)).await?;
            Ok(answer(StatusCode::OK, q.shape.apply_list(r)))
        }
        .await,
    )
}

/// Role admin: create a user (role `user`, no password, no mail) in the tenant. 409
/// `uniqueness` when the userName or email is taken.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "scim", operation_id = "scimCreateUser",
    params(("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 201, description = "The user.", body = Object)))]
pub async fn create_user(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let d = doc(&body)?;
            let r = service::create_user(&state, caller, q.account_id, d, base(&req)).await?;
            Ok(with_location(q.shape.apply(r)))
        }
        .await,
    )
}

/// Role admin: one user of the tenant (404 for any other).
#[utoipa::path(get, path = "/scim/v2/Users/{id}", tag = "scim", operation_id = "scimGetUser",
    params(("id" = String, Path, description = "The user's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    responses((status = 200, description = "The user.", body = Object)))]
pub async fn get_user(req: HttpRequest, state: State, id: web::Path<String>) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let r = service::get_user(&state, caller, q.account_id, id.into_inner(), base(&req))
                .await?;
            Ok(answer(StatusCode::OK, q.shape.apply(r)))
        }
        .await,
    )
}

enum Resource {
    User,
    Group,
}

/// PUT and PATCH of one user or group: the body as a SCIM document, then one change.
async fn change(
    req: HttpRequest,
    state: State,
    id: String,
    body: web::Bytes,
    change: fn(Value) -> service::Change,
    of: Resource,
) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let (change, base) = (change(doc(&body)?), base(&req));
            let r = match of {
                Resource::User => {
                    service::change_user(&state, caller, q.account_id, id, change, base).await?
                }
                Resource::Group => {
                    service::change_group(&state, caller, q.account_id, id, change, base).await?
                }
            };
            Ok(answer(StatusCode::OK, q.shape.apply(r)))
        }
        .await,
    )
}

/// Role admin: replace a user (userName, name, emails, active, externalId). `active: false`
/// deactivates it: no login, every credential ends at once.
#[utoipa::path(put, path = "/scim/v2/Users/{id}", tag = "scim", operation_id = "scimReplaceUser",
    params(("id" = String, Path, description = "The user's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The user.", body = Object)))]
pub async fn replace_user(
    req: HttpRequest,
    state: State,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    change(
        req,
        state,
        id.into_inner(),
        body,
        service::Change::Replace,
        Resource::User,
    )
    .await
}

/// Role admin: PATCH a user (add, replace, remove; with or without `path`; value filters such
/// as `emails[type eq "work"].value`; Entra ID's capitalised ops and string booleans).
#[utoipa::path(patch, path = "/scim/v2/Users/{id}", tag = "scim", operation_id = "scimPatchUser",
    params(("id" = String, Path, description = "The user's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The user.", body = Object)))]
pub async fn patch_user(
    req: HttpRequest,
    state: State,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    change(
        req,
        state,
        id.into_inner(),
        body,
        service::Change::Patch,
        Resource::User,
    )
    .await
}

/// Role admin: remove a user (204).
#[utoipa::path(delete, path = "/scim/v2/Users/{id}", tag = "scim", operation_id = "scimDeleteUser",
    params(("id" = String, Path, description = "The user's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    responses((status = 204, description = "Removed.")))]
pub async fn delete_user(req: HttpRequest, state: State, id: web::Path<String>) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            service::delete_user(&state, caller, q.account_id, id.into_inner()).await?;
            Ok(HttpResponse::NoContent().finish())
        }
        .await,
    )
}

/// Role admin: the tenant's groups (`filter` on displayName, id, members.value; index paging).
#[utoipa::path(get, path = "/scim/v2/Groups", tag = "scim", operation_id = "scimListGroups",
    params(
        ("filter" = Option<String>, Query, description = "A SCIM filter, e.g. `displayName eq \"eng\"`."),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result."),
        ("count" = Option<i64>, Query, description = "Results per page, 0 to 1000 (100)."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant."),
        ("attributes" = Option<String>, Query, description = "Accepted; every attribute is returned."),
        ("excludedAttributes" = Option<String>, Query, description = "Accepted; ignored."),
    ),
    responses((status = 200, description = "A ListResponse of groups.", body = Object)))]
pub async fn list_groups(req: HttpRequest, state: State) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let r = service::list_groups(&state, caller, q.account_id, q.list, base(&req)).await?;
            Ok(answer(StatusCode::OK, q.shape.apply_list(r)))
        }
        .await,
    )
}

/// Role admin: create a group whose id is its `displayName` (1-64 of A-Z a-z 0-9 . _ -), with
/// `members` (new members get the role `member`).
#[utoipa::path(post, path = "/scim/v2/Groups", tag = "scim", operation_id = "scimCreateGroup",
    params(("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 201, description = "The group.", body = Object)))]
pub async fn create_group(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let d = doc(&body)?;
            let r = service::create_group(&state, caller, q.account_id, d, base(&req)).await?;
            Ok(with_location(q.shape.apply(r)))
        }
        .await,
    )
}

/// Role admin: one group of the tenant.
#[utoipa::path(get, path = "/scim/v2/Groups/{id}", tag = "scim", operation_id = "scimGetGroup",
    params(("id" = String, Path, description = "The group's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    responses((status = 200, description = "The group.", body = Object)))]
pub async fn get_group(req: HttpRequest, state: State, id: web::Path<String>) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let r = service::get_group(&state, caller, q.account_id, id.into_inner(), base(&req))
                .await?;
            Ok(answer(StatusCode::OK, q.shape.apply(r)))
        }
        .await,
    )
}

/// Role admin: replace a group's members (its displayName cannot change).
#[utoipa::path(put, path = "/scim/v2/Groups/{id}", tag = "scim", operation_id = "scimReplaceGroup",
    params(("id" = String, Path, description = "The group's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The group.", body = Object)))]
pub async fn replace_group(
    req: HttpRequest,
    state: State,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    change(
        req,
        state,
        id.into_inner(),
        body,
        service::Change::Replace,
        Resource::Group,
    )
    .await
}

/// Role admin: PATCH a group's members (add, remove `members[value eq "id"]`, replace).
#[utoipa::path(patch, path = "/scim/v2/Groups/{id}", tag = "scim", operation_id = "scimPatchGroup",
    params(("id" = String, Path, description = "The group's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The group.", body = Object)))]
pub async fn patch_group(
    req: HttpRequest,
    state: State,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    change(
        req,
        state,
        id.into_inner(),
        body,
        service::Change::Patch,
        Resource::Group,
    )
    .await
}

/// Role admin: delete a group (204).
#[utoipa::path(delete, path = "/scim/v2/Groups/{id}", tag = "scim", operation_id = "scimDeleteGroup",
    params(("id" = String, Path, description = "The group's id."),
        ("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    responses((status = 204, description = "Deleted.")))]
pub async fn delete_group(req: HttpRequest, state: State, id: web::Path<String>) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            service::delete_group(&state, caller, q.account_id, id.into_inner()).await?;
            Ok(HttpResponse::NoContent().finish())
        }
        .await,
    )
}

/// A `/.search` body (RFC 7644 section 3.4.3): the list's query parameters as JSON, with the
/// attribute lists as arrays.
fn search_query(q: Query, body: &Value) -> Result<Query, ApiError> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("invalidValue: {k}: a whole number"))),
    };
    let names = |k: &str| {
        body.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    Ok(Query {
        account_id: q.account_id,
        shape: Shape::parse(
            names("attributes").as_deref(),
            names("excludedAttributes").as_deref(),
        ),
        list: ListQuery {
            filter: text("filter"),
            start_index: number("startIndex")?,
            count: number("count")?,
            cursor: text("cursor"),
        },
    })
}

/// Role admin: `GET /Users` as a POST, its query in the body (`filter`, `startIndex`, `count`,
/// `cursor`, `attributes`, `excludedAttributes`).
#[utoipa::path(post, path = "/scim/v2/Users/.search", tag = "scim", operation_id = "scimSearchUsers",
    params(("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "A ListResponse of users.", body = Object)))]
pub async fn search_users(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let q = search_query(q, &doc(&body)?)?;
            let r = service::list_users(&state, caller, q.account_id, q.list, base(&req)).await?;
            Ok(answer(StatusCode::OK, q.shape.apply_list(r)))
        }
        .await,
    )
}

/// Role admin: `GET /Groups` as a POST, its query in the body.
#[utoipa::path(post, path = "/scim/v2/Groups/.search", tag = "scim", operation_id = "scimSearchGroups",
    params(("accountId" = Option<String>, Query, description = "The owner's tenant.")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "A ListResponse of groups.", body = Object)))]
pub async fn search_groups(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    done(
        async {
            let (q, caller) = caller(&req).await?;
            let q = search_query(q, &doc(&body)?)?;
            let r = service::list_groups(&state, caller, q.account_id, q.list, base(&req)).await?;
            Ok(answer(StatusCode::OK, q.shape.apply_list(r)))
        }
        .await,
    )
}

/// Searching every resource type at once (`POST /scim/v2/.search`) is not offered: 501, as
/// RFC 7644 allows; search `/Users/.search` or `/Groups/.search`.
#[utoipa::path(post, path = "/scim/v2/.search", tag = "scim", operation_id = "scimSearchAll",
    responses((status = 501, description = "Not offered; search /Users or /Groups.", body = Object)))]
pub async fn search_all() -> HttpResponse {
    answer(
        StatusCode::NOT_IMPLEMENTED,
        json!({"schemas": [ERROR_SCHEMA], "status": "501",
            "detail": "searching every resource type at once is not offered; use /Users/.search or /Groups/.search"}),
    )
}

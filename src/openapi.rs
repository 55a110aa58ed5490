//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types they read and answer. `openapi.yaml` is this document committed: a test fails when they
//! differ, and `accountd openapi > openapi.yaml` rewrites it.
//!
//! The answers every route shares (a bad URL, a body that is too large, missing credentials, a
//! busy database) are added here by rule, from what the operation declares, so no route can
//! forget one and no annotation repeats them.

use crate::api;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// `{"error": "..."}`: every failure but a 400.
#[derive(ToSchema)]
pub struct Error {
    pub error: String,
}

/// `{"errors": [...]}`: a 400, one message per problem.
#[derive(ToSchema)]
pub struct Errors {
    #[schema(example = json!(["email: not a valid email address"]))]
    pub errors: Vec<String>,
}

/// The paging parameters of every list (see `api::PAGE`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Case-insensitive substring; `%` and `_` match only themselves.
    #[param(max_length = 256)]
    pub filter: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Cursor from a previous page's `next`.
    pub next: Option<String>,
    /// Cursor from a previous page's `prev`.
    pub prev: Option<String>,
}

/// The error answers, by component name: (name, status, description, body schema, header).
const ERRORS: [(&str, u16, &str, &str, Option<&str>); 9] = [
    ("Invalid", 400, "Invalid input, one message per problem.", "Errors", None),
    ("Unauthorized", 401, "No, bad, expired or revoked credentials: `WWW-Authenticate: Bearer error=\"invalid_token\"` when a presented token failed, `Bearer` when none was presented.", "Error", Some("WWW-Authenticate")),
    ("Forbidden", 403, "The role or the account tree does not allow it, or the account is suspended.", "Error", None),
    ("NotFound", 404, "No such resource, or one the caller may not know exists.", "Error", None),
    ("Conflict", 409, "Uniqueness or state conflict.", "Error", None),
    ("TooLarge", 413, "Body over 64 KiB.", "Error", None),
    ("Unsupported", 415, "The body is not JSON.", "Error", None),
    ("TooMany", 429, "Too many failed attempts; locked for `Retry-After` seconds.", "Error", Some("Retry-After")),
    ("Unavailable", 503, "The database is unreachable or busy, or too many password checks wait; retry after `Retry-After` seconds.", "Error", Some("Retry-After")),
];

/// A reference to one of `ERRORS`, for annotations: `(status = 409, response = Conflict)`.
macro_rules! error_responses {
    ($($name:ident),*) => {$(
        pub struct $name;
        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), error_response(stringify!($name)).into())
            }
        }
    )*};
}
error_responses!(
    Invalid,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooMany,
    Unavailable
);

fn error_response(name: &str) -> Response {
    let (_, _, description, schema, header) = ERRORS
        .iter()
        .find(|e| e.0 == name)
        .expect("a listed error response");
    let mut b = ResponseBuilder::new().description(*description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(*schema))),
    );
    if let Some(h) = header {
        let ty = if *h == "Retry-After" {
            utoipa::openapi::Type::Integer
        } else {
            utoipa::openapi::Type::String
        };
        b = b.header(
            *h,
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(ty))
                .build(),
        );
    }
    b.build()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "accountd",
        description = "Accounts (with child-account trees, device seats and plans), users with roles, logins and
credentials. Roles, lowest first: public (no credentials), user, admin, owner; each operation's
summary names the lowest role that may call it. Every response carries `X-Request-Id` (the request's own when it sent a
valid one: 1-64 characters of `[A-Za-z0-9._-]`). Lists are
keyset pages: `limit` (1..=1000, default 50), opaque `next`/`prev` cursors and a
case-insensitive literal substring `filter`; they answer `{data, next, prev}`. Unknown JSON
fields and query parameters are rejected with 400."
    ),
    servers((url = "http://127.0.0.1:8080")),
    components(schemas(Error, Errors)),
    tags(
        (name = "operations"), (name = "accounts"), (name = "plans"), (name = "users"),
        (name = "registration"), (name = "tokens"), (name = "groups"), (name = "rpc"), (name = "webhooks"),
    ),
    security(("bearerAuth" = []), ("patAuth" = []), ("patQuery" = [])),
)]
struct Base;

/// The operations of accounts, their tree and their plans, in the order of the committed
/// document.
#[derive(OpenApi)]
#[openapi(paths(
    api::accounts::list,
    api::accounts::create,
    api::accounts::get,
    api::accounts::update,
    api::tree::edit,
    api::accounts::delete,
    api::accounts::close,
    api::plans::get_plan,
    api::plans::set_plan,
    api::accounts::users,
    api::tree::children,
    api::tree::create_child,
    api::tree::all_children,
    api::tree::descendants,
    api::tree::decendants,
    api::tree::mint_seat_token,
    api::tree::redeem_seats,
    api::plans::list_plans,
    api::plans::create_plan,
    api::plans::get_plan_by_id,
))]
struct AccountPaths;

/// The operations of users and their sessions, in the order of the committed document.
#[derive(OpenApi)]
#[openapi(
    paths(
        api::users::create,
        api::users::get,
        api::users::find,
        api::sessions::login,
        api::sessions::logout,
        api::users::remove,
        api::users::update,
        api::users::update_role,
        api::sessions::password,
        api::users::unlock,
    ),
    modifiers(&OptionalBodies)
)]
struct UserPaths;

/// Registration, password resets and the token endpoint, in the order of the committed document.
#[derive(OpenApi)]
#[openapi(paths(
    api::registration::register,
    api::registration::confirm,
    api::registration::forgot,
    api::registration::reset,
    api::registration::confirm_email,
    api::sessions::token,
    api::sessions::sessions,
    api::sessions::end_session,
))]
struct RegistrationPaths;

/// `request_body = Option<T>`: a body that may be left out, since an empty body reads as `{}`.
/// utoipa makes it not required (right) with the schema "null or T" (wrong: a JSON `null` is
/// refused): the schema is made T's alone.
struct OptionalBodies;

impl utoipa::Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::{RefOr, Required};
        let null = SchemaType::Type(Type::Null);
        let is_null =
            |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == null);
        for item in doc.paths.paths.values_mut() {
            let Some(body) = item.post.as_mut().and_then(|op| op.request_body.as_mut()) else {
                continue;
            };
            if body.required == Some(Required::True) {
                continue;
            }
            for content in body.content.values_mut() {
                if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema {
                    let mut rest = one.items.iter().filter(|s| !is_null(s));
                    if let (Some(only), None) = (rest.next(), rest.next()) {
                        content.schema = Some(only.clone());
                    }
                }
            }
        }
    }
}

/// The whole document.
pub fn document() -> Document {
    let mut doc = Base::openapi();
    doc.merge(api::ops::Doc::openapi());
    doc.merge(api::discovery::Doc::openapi());
    doc.merge(api::keys::Doc::openapi());
    doc.merge(api::clients::Doc::openapi());
    doc.merge(api::mfa::Doc::openapi());
    doc.merge(api::events::Doc::openapi());
    doc.merge(api::webhooks::Doc::openapi());
    doc.merge(api::scim::Doc::openapi());
    doc.merge(api::oauth::Doc::openapi());
    doc.merge(AccountPaths::openapi());
    doc.merge(api::devices::Doc::openapi());
    doc.merge(UserPaths::openapi());
    doc.merge(RegistrationPaths::openapi());
    doc.merge(api::tokens::Doc::openapi());
    doc.merge(api::groups::Doc::openapi());
    doc.merge(api::rpc::Doc::openapi());
    finish(&mut doc);
    doc
}

/// The document as committed in `openapi.yaml`.
pub fn yaml() -> String {
    document().to_yaml().expect("the document serializes")
}

/// Security schemes, the shared error responses, and the answers every operation of a kind has.
fn finish(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearerAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token from `/user/login` or `/v1/auth/token` (a JWT signed with `JWT_ALG`, EdDSA by default; 1 hour by default).",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "clientBasic",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "An OAuth client's `client_id` and `client_secret` (`client_secret_basic`, RFC 6749 section 2.3.1), from `POST /v1/clients`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "patAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A personal access token (`pat_...`) from `POST /v1/tokens`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "patQuery",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "access_token",
            "A personal access token as a query parameter (never logged).",
        ))),
    );
    for (name, ..) in ERRORS {
        components
            .responses
            .insert(name.to_string(), error_response(name).into());
    }
    components
        .responses
        .insert("ScimError".to_string(), scim_error_response().into());
    let global_security = doc.security.clone();
    for (path, item) in doc.paths.paths.iter_mut() {
        // RPC answers its errors inside frames (HTTP 200); its statuses are all its own.
        if path == "/rpc" {
            continue;
        }
        if path.starts_with("/scim/") {
            scim_responses(path, item);
            continue;
        }
        for op in operations(item) {
            let secured = match &op.security {
                Some(s) => !s.is_empty() && s.iter().any(|r| *r != Default::default()),
                None => global_security.as_ref().is_some_and(|s| !s.is_empty()),
            };
            let body = op.request_body.is_some();
            let path_params = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path));
            // A NUL or a bad escape in the URL is a 400 on every route.
            add(op, 400, "Invalid");
            if secured {
                add(op, 401, "Unauthorized");
                add(op, 403, "Forbidden");
            }
            if path_params {
                add(op, 404, "NotFound");
            }
            if body {
                add(op, 413, "TooLarge");
                add(op, 415, "Unsupported");
            }
            if secured || body {
                add(op, 503, "Unavailable");
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// SCIM's error body (RFC 7644 section 3.12), as `/scim/v2` answers its errors; a request the
/// server refuses before SCIM sees it (a NUL in the URL, a body over 64 KiB) gets the usual
/// JSON error.
fn scim_error_response() -> Response {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let schema = ObjectBuilder::new()
        .property("schemas", ArrayBuilder::new().items(text()))
        .property("status", text())
        .property("scimType", text())
        .property("detail", text())
        .required("schemas")
        .required("status")
        .build();
    ResponseBuilder::new()
        .description("A SCIM error: `status`, `scimType` when it has one, `detail`.")
        .content("application/scim+json", Content::new(Some(schema)))
        .content(
            "application/json",
            Content::new(Some(ObjectBuilder::new().schema_type(Type::Object).build())),
        )
        .build()
}

/// `/scim/v2`: answers are `application/scim+json`, errors SCIM's; the resource routes answer
/// 400, 401, 403, 404, 409 and 503, discovery needs no credential.
fn scim_responses(path: &str, item: &mut utoipa::openapi::PathItem) {
    let discovery = ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
        .iter()
        .any(|d| path.starts_with(&format!("/scim/v2{d}")));
    for op in operations(item) {
        for r in op.responses.responses.values_mut() {
            if let RefOr::T(resp) = r {
                if let Some(c) = resp.content.shift_remove("application/json") {
                    resp.content.insert("application/scim+json".to_string(), c);
                }
            }
        }
        let statuses: &[u16] = if discovery {
            &[400, 404]
        } else {
            &[400, 401, 403, 404, 409, 413, 503]
        };
        for status in statuses {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("ScimError")));
        }
    }
}

/// Reference a shared error response unless the operation answers that status its own way.
fn add(op: &mut Operation, status: u16, name: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

//! Keyset pages over HTTP: the query parameters a list takes, and the `{data, next, prev}`
//! answer (the keyset itself is `crate::pagination`).

use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use actix_web::HttpResponse;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::IntoParams;

/// A keyset page: `next`/`prev` are opaque cursors, `null` at either end.
#[derive(Serialize, Debug)]
pub struct Page<V: Serialize> {
    pub data: Vec<V>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// The named schema of each page in the OpenAPI document (`AccountPage`: `{data: [Account],
/// next, prev}`), so generated clients name a page and its items; `Page<V>` is what is sent.
macro_rules! page_schemas {
    ($($name:ident => $item:ty),* $(,)?) => {$(
        /// A keyset page: `next`/`prev` are opaque cursors, `null` at either end.
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            data: Vec<$item>,
            #[schema(required = true)]
            next: Option<String>,
            #[schema(required = true)]
            prev: Option<String>,
        }
    )*};
}

page_schemas! {
    AccountPage => super::views::AccountView,
    UserPage => super::views::UserView,
    PlanPage => super::views::PlanView,
    DevicePage => super::views::DeviceView,
    AuditPage => super::views::EntryView,
    TokenPage => super::views::PatView,
    GroupPage => super::views::GroupView,
    MemberPage => super::views::MemberView,
    SessionPage => super::views::SessionView,
    ClientPage => super::clients::ClientView,
    WebhookPage => super::webhooks::WebhookView,
    DeliveryPage => super::webhooks::DeliveryView,
}

/// Query-string parameters, checked against the names a route knows (a typo is a 400).
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query)?;
        let mut map = HashMap::new();
        let mut errors = Vec::new();
        for (k, v) in pairs {
            // `access_token` is a credential, read by the authentication extractor.
            if k == "access_token" {
                continue;
            }
            if !allowed.contains(&k.as_str()) {
                errors.push(format!("{k}: unknown query parameter"));
            } else if map.insert(k.clone(), v).is_some() {
                errors.push(format!("{k}: given more than once"));
            }
        }
        if errors.is_empty() {
            Ok(Params(map))
        } else {
            Err(ApiError::Invalid(errors))
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn page(&self, errors: &mut Vec<String>) -> PageRequest {
        PageRequest::parse(
            self.get("limit"),
            self.get("next"),
            self.get("prev"),
            self.get("filter"),
            errors,
        )
    }
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .map_err(|_| ApiError::invalid("query: not a valid query string"))
}

/// The rows of one page (in the query's order) as the answer, each shown by `view`.
pub fn finish<T, V: Serialize>(
    page: &PageRequest,
    rows: Vec<T>,
    key: impl Fn(&T) -> Cursor,
    view: impl Fn(&T) -> V,
) -> Page<V> {
    let cut = page.cut(rows, key);
    Page {
        data: cut.rows.iter().map(view).collect(),
        next: cut.next,
        prev: cut.prev,
    }
}

/// A route's query read into `Q`, the struct that is also its OpenAPI description: only `Q`'s
/// parameter names, and `extra` ones (the paging parameters), are allowed.
pub fn query<Q: DeserializeOwned + IntoParams>(
    req: &actix_web::HttpRequest,
    extra: &[&str],
) -> ApiResult<(Q, Params)> {
    query_str(req.query_string(), extra)
}

/// `query` of a query string.
pub fn query_str<Q: DeserializeOwned + IntoParams>(
    query: &str,
    extra: &[&str],
) -> ApiResult<(Q, Params)> {
    let (names, params) = names_and_params::<Q>(query, extra)?;
    let q = read_query(&names, &params)?;
    Ok((q, params))
}

/// `Q`'s parameter names, and the query's parameters (only those and `extra` allowed).
fn names_and_params<Q: IntoParams>(
    query: &str,
    extra: &[&str],
) -> ApiResult<(Vec<String>, Params)> {
    let names: Vec<String> = Q::into_params(|| None)
        .into_iter()
        .map(|p| p.name)
        .collect();
    let allowed: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    let params = Params::parse(query, &allowed)?;
    Ok((names, params))
}

/// `Q` from the values of its own parameters (text, as they came).
fn read_query<Q: DeserializeOwned>(names: &[String], params: &Params) -> ApiResult<Q> {
    let map: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .filter_map(|n| Some((n.clone(), serde_json::Value::String(params.get(n)?.into()))))
        .collect();
    serde_path_to_error::deserialize(serde_json::Value::Object(map))
        .map_err(|e| ApiError::invalid(super::body::describe_json_error(e)))
}

/// A list route: check the query's parameter names, read the page (`limit`, `next`, `prev`,
/// and `filter` when `names` has it) and the route's own parameters (`Q`), run the use case
/// `list` with both, and answer the page.
pub async fn paged<Q, T, V, F, Fut>(
    req: &actix_web::HttpRequest,
    names: &[&str],
    key: fn(&T) -> Cursor,
    view: fn(&T) -> V,
    list: F,
) -> ApiResult<HttpResponse>
where
    Q: DeserializeOwned + IntoParams,
    V: Serialize,
    F: FnOnce(Q, PageRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<T>>>,
{
    let (own, params) = names_and_params::<Q>(req.query_string(), names)?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    super::no_errors(errors)?;
    let q = read_query(&own, &params)?;
    let rows = list(q, page.clone()).await?;
    Ok(super::ok(finish(&page, rows, key, view)))
}

/// A route without parameters of its own.
#[derive(serde::Deserialize, IntoParams)]
pub struct NoParams {}

/// `true`/`false` (also `1`/`0`) in a query.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(serde::de::Error::custom("must be true or false")),
    }
}

/// The paging parameters every list takes.
pub const PAGE: [&str; 4] = ["filter", "limit", "next", "prev"];

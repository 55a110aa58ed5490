//! Keyset pages over HTTP: the query parameters a list takes, and the `{data, next, prev}`
//! answer (the keyset itself is `crate::pagination`).

use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use actix_web::HttpResponse;
use serde::Serialize;
use std::collections::HashMap;

/// A keyset page: `next`/`prev` are opaque cursors, `null` at either end.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Page<V: Serialize> {
    pub data: Vec<V>,
    #[schema(required = true)]
    pub next: Option<String>,
    #[schema(required = true)]
    pub prev: Option<String>,
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

    pub fn bool(&self, key: &str, errors: &mut Vec<String>) -> bool {
        match self.get(key) {
            None => false,
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(_) => {
                errors.push(format!("{key}: must be true or false"));
                false
            }
        }
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

/// A list route: check the query's parameter names, read the page (`limit`, `next`, `prev`,
/// `filter`), run the use case `query` with both, and answer the page.
pub async fn paged<T, V, F, Fut>(
    req: &actix_web::HttpRequest,
    names: &[&str],
    key: fn(&T) -> Cursor,
    view: fn(&T) -> V,
    query: F,
) -> ApiResult<HttpResponse>
where
    V: Serialize,
    F: FnOnce(Params, PageRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<T>>>,
{
    let params = Params::parse(req.query_string(), names)?;
    let mut errors = vec![];
    let page = params.page(&mut errors);
    super::no_errors(errors)?;
    let rows = query(params, page.clone()).await?;
    Ok(super::ok(finish(&page, rows, key, view)))
}

/// The paging parameters every list takes.
pub const PAGE: [&str; 4] = ["filter", "limit", "next", "prev"];

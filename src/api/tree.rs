//! The account tree and its seats: children, descendants, child accounts, the curl-style edit
//! of seats and suspension, and seat tokens.

use super::body::{named_one_of, one_of, unknown_fields, Field, Fields, Json};
use super::extract::NoQuery;
use super::extract::{Admin, Owner};
use super::page::{query, NoParams, Page};
use super::views::AccountView;
use super::{check, created, no_errors, ok, problem};
use crate::auth::Caller;
use crate::db::models::Account;
use crate::domain::{Email, Seats, MAX_SEATS};
use crate::error::{ApiError, ApiResult};
use crate::ids::chosen_or_new;
use crate::service::accounts::NewAccount;
use crate::service::tree::{self as service, depth_first, MAX_TREE_DEPTH};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use validator::Validate;

type State = web::Data<AppState>;
type Id = web::Path<String>;

fn check_name(name: &str, field: &str, errors: &mut Vec<String>) {
    let n = name.chars().count();
    if name.trim().is_empty() || n > 200 {
        errors.push(format!("{field}: must be 1 to 200 characters, not blank"));
    }
}

/// A flat tree list (no paging parameters), answered as one page (`next` and `prev` are null).
async fn tree_list(
    req: HttpRequest,
    list: impl Future<Output = ApiResult<Vec<Account>>>,
) -> ApiResult<HttpResponse> {
    query::<NoParams>(&req, &[])?;
    let rows = list.await?;
    // A typed page, not a json! value: 100,000 accounts serialize without building a tree,
    // into a buffer sized for them (an account is about 240 bytes of JSON; growing a 23 MB
    // answer by doubling copied it twice over).
    let mut body = Vec::with_capacity(256 * rows.len() + 32);
    let page = Page {
        data: rows.into_iter().map(Account::into_view).collect(),
        next: None,
        prev: None,
    };
    serde_json::to_writer(&mut body, &page).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// Role user: the account itself first, then its direct children (one page).
///
/// A plain user sees only its own account. The whole list is one page, so it takes no paging
/// parameters (any query parameter is 400); `next` and `prev` are always null.
#[utoipa::path(get, path = "/v1/accounts/{id}/children", tag = "accounts",
    operation_id = "listChildren",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account and its children.",
        body = super::page::AccountPage)))]
pub async fn children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(req, service::children(&state, caller, id.into_inner())).await
}

/// Role user: the account itself first, then every descendant, depth-first (one page).
///
/// Siblings oldest first. A plain user sees only its own account. One recursive query; the
/// whole list is one page, so it takes no paging parameters (any query parameter is 400);
/// `next` and `prev` are always null.
#[utoipa::path(get, path = "/v1/accounts/{id}/allChildren", tag = "accounts",
    operation_id = "listAllChildren",
    params(("id" = String, Path, description = "The account's id.")),
    responses((status = 200, description = "The account and its descendants.",
        body = super::page::AccountPage)))]
pub async fn all_children(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    tree_list(req, service::all_children(&state, caller, id.into_inner())).await
}

/// An account with its descendants nested in `children` (siblings oldest first).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountTree {
    #[serde(flatten)]
    account: AccountView,
    /// Empty below `maxDepth`.
    #[schema(no_recursion)]
    children: Vec<AccountTree>,
}

/// The query of `GET /v1/accounts/{id}/descendants`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DescendantsQuery {
    /// How many levels below the account to nest (0: the account alone).
    #[serde(rename = "maxDepth", default, deserialize_with = "depth")]
    #[param(rename = "maxDepth", minimum = 0, maximum = 100, default = 100)]
    max_depth: Option<i64>,
}

/// `maxDepth`: a whole number from 0 to `MAX_TREE_DEPTH`.
fn depth<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(v) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if (0..=MAX_TREE_DEPTH).contains(&n) => Ok(Some(n)),
        _ => Err(serde::de::Error::custom(format!(
            "must be a whole number from 0 to {MAX_TREE_DEPTH}"
        ))),
    }
}

/// Role user: the account with its descendants nested in `children`.
///
/// Down to `maxDepth` levels (default and maximum 100; 0 is the account alone). A plain user
/// sees only its own account.
#[utoipa::path(get, path = "/v1/accounts/{id}/descendants", tag = "accounts",
    operation_id = "getDescendants",
    params(("id" = String, Path, description = "The account's id."), DescendantsQuery),
    responses((status = 200, description = "The tree.", body = AccountTree)))]
pub async fn descendants(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (q, _) = query::<DescendantsQuery>(&req, &[])?;
    let max_depth = q.max_depth.unwrap_or(MAX_TREE_DEPTH);
    let (root, rows) = service::descendants(&state, caller, id.into_inner(), max_depth).await?;
    Ok(ok(nest(&root, rows)))
}

/// Role user: `descendants` as the child-account API spells it (the same answer).
#[utoipa::path(get, path = "/v1/accounts/{id}/decendants", tag = "accounts",
    operation_id = "getDecendants",
    params(("id" = String, Path, description = "The account's id."), DescendantsQuery),
    responses((status = 200, description = "The tree.", body = AccountTree)))]
pub async fn decendants(
    caller: Caller,
    state: State,
    id: Id,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    descendants(caller, state, id, req).await
}

/// The body of `POST /v1/accounts/{id}/children`, as JSON or form (read by field name, with
/// the aliases `account_name` and `device_seats`).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateChild {
    /// Required (or `account_name`); not blank.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    name: Field<String>,
    /// Alias of `name`.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    account_name: Field<String>,
    /// Unique among accounts.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    email: Field<String>,
    /// Seats moved out of the parent's free seats; default 0.
    #[serde(default, rename = "deviceSeats")]
    #[schema(value_type = Option<i64>, rename = "deviceSeats", minimum = 0, maximum = 1_000_000_000)]
    device_seats: Field<i64>,
    /// Alias of `deviceSeats`.
    #[serde(default, rename = "device_seats")]
    #[schema(value_type = Option<i64>, rename = "device_seats", minimum = 0, maximum = 1_000_000_000)]
    device_seats_alias: Field<i64>,
    /// Optional own id for imports; the server makes a UUID otherwise.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    id: Field<String>,
    /// Create it suspended (default false); also `1`/`0`, and as strings in forms.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    suspended: Field<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, Value>,
}

impl CreateChild {
    /// The new account this body asks for, or every problem at once (unknown fields included).
    fn checked(self) -> ApiResult<NewAccount> {
        let mut errors = vec![];
        unknown_fields(&self.unknown, &mut errors);
        let e = &mut errors;
        let name = named_one_of(
            e,
            vec![("name", self.name), ("account_name", self.account_name)],
        );
        let email = one_of(e, vec![("email", self.email)]);
        let seats = [
            ("deviceSeats", self.device_seats),
            ("device_seats", self.device_seats_alias),
        ];
        let (seats_field, seats) = named_one_of(e, seats.into()).unwrap_or(("deviceSeats", 0));
        let id = one_of(e, vec![("id", self.id)]);
        let suspended = one_of(e, vec![("suspended", self.suspended)]).unwrap_or(false);
        match &name {
            Some((field, n)) => check_name(n, field, &mut errors),
            None => errors.push("name: is required".into()),
        }
        let name = name.map(|(_, n)| n);
        let email = email.and_then(|e| problem(&mut errors, "email", Email::parse(e)));
        let seats = problem(&mut errors, seats_field, Seats::parse(seats));
        let id = chosen_or_new(id.as_deref(), "id", &mut errors);
        no_errors(errors)?;
        Ok(NewAccount {
            id,
            name: name.unwrap_or_default(),
            email,
            plan_id: None,
            parent_id: None,
            device_seats: seats.unwrap_or(Seats::ZERO),
            suspended,
        })
    }
}

/// Role admin: create a child account; its seats move out of the parent's free seats.
///
/// JSON or form, with the aliases `account_name` and `device_seats`. The child gets the parent's
/// plan. 409 when the parent has fewer free seats than asked, is closed, or the email or `id`
/// is in use.
#[utoipa::path(post, path = "/v1/accounts/{id}/children", tag = "accounts",
    operation_id = "createChild",
    params(("id" = String, Path, description = "The parent account's id.")),
    request_body(content(
        (CreateChild = "application/json"),
        (CreateChild = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The child account.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn create_child(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Fields,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let new = body.parse::<CreateChild>()?.checked()?;
    let child = service::create_child(&state, caller, id.into_inner(), new).await?;
    Ok(created(child.into_view()))
}

/// The body of the curl-style `POST /v1/accounts/{id}`, as JSON or form (read by field name,
/// with the aliases `account_name` and `device_seats`); an absent field is left as it is.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct EditAccount {
    /// Not blank.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    name: Field<String>,
    /// Alias of `name`.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    account_name: Field<String>,
    /// Seats taken from, or given back to, the parent's free seats; not below the devices in use.
    #[serde(default, rename = "deviceSeats")]
    #[schema(value_type = Option<i64>, rename = "deviceSeats", minimum = 0, maximum = 1_000_000_000)]
    device_seats: Field<i64>,
    /// Alias of `deviceSeats`.
    #[serde(default, rename = "device_seats")]
    #[schema(value_type = Option<i64>, rename = "device_seats", minimum = 0, maximum = 1_000_000_000)]
    device_seats_alias: Field<i64>,
    /// Also `1`/`0`, and as strings in forms.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    suspended: Field<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: serde_json::Map<String, Value>,
}

impl EditAccount {
    /// The change this body asks for, or every problem at once (unknown fields included).
    fn checked(self) -> ApiResult<service::AccountEdit> {
        let mut errors = vec![];
        unknown_fields(&self.unknown, &mut errors);
        let e = &mut errors;
        let name = named_one_of(
            e,
            vec![("name", self.name), ("account_name", self.account_name)],
        );
        let seats = [
            ("deviceSeats", self.device_seats),
            ("device_seats", self.device_seats_alias),
        ];
        let seats = named_one_of(e, seats.into());
        let suspended = one_of(e, vec![("suspended", self.suspended)]);
        if let Some((field, n)) = &name {
            check_name(n, field, &mut errors);
        }
        let name = name.map(|(_, n)| n);
        let seats = seats.and_then(|(field, s)| problem(&mut errors, field, Seats::parse(s)));
        no_errors(errors)?;
        Ok(service::AccountEdit {
            name,
            device_seats: seats,
            suspended,
        })
    }
}

/// `{"message": "success"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountEdited {
    #[schema(inline)]
    message: Success,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Success {
    Success,
}

/// Role admin: curl-style edit of name, seats and suspension (JSON or form).
///
/// Accepts `application/json` or `application/x-www-form-urlencoded`, with the aliases
/// `account_name` (= `name`) and `device_seats` (= `deviceSeats`); `suspended` takes
/// `true/false/1/0`. Only an ancestor's admin or the owner changes `deviceSeats` or
/// `suspended`, never on their own account (403); only the owner suspends an account that holds
/// an owner (403). Raising seats takes them from the parent's free seats (409 if too few);
/// lowering gives them back (409 below the devices in use). 409 on a closed account.
#[utoipa::path(post, path = "/v1/accounts/{id}", tag = "accounts", operation_id = "editAccount",
    params(("id" = String, Path, description = "The account's id.")),
    request_body(content(
        (EditAccount = "application/json"),
        (EditAccount = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done.", body = AccountEdited),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn edit(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Fields,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let edit = body.parse::<EditAccount>()?.checked()?;
    service::edit(&state, caller, id.into_inner(), edit).await?;
    Ok(ok(AccountEdited {
        message: Success::Success,
    }))
}

/// How many seats a new seat token is worth.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintSeats {
    #[validate(range(min = 1, max = MAX_SEATS))]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    seats: i64,
}

/// A new seat token, shown only once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeatToken {
    /// `st_...`
    token: String,
}

/// Role owner: mint a single-use seat token worth `seats`.
///
/// The token is shown only here; it is stored as a hash. It does not expire.
#[utoipa::path(post, path = "/v1/seat-tokens", tag = "accounts", operation_id = "mintSeatToken",
    request_body = MintSeats,
    responses((status = 201, description = "The token.", body = SeatToken,
        headers(("Cache-Control" = String, description = "`no-store`: the token is a credential.")))))]
pub async fn mint_seat_token(
    Owner(caller): Owner,
    state: State,
    body: Json<MintSeats>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let token = service::mint_seat_token(&state, caller, b.seats).await?;
    Ok(super::no_store(created(SeatToken { token })))
}

/// A seat token to redeem.
#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemSeats {
    /// From `POST /v1/seat-tokens`.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// Role admin: redeem a seat token into an account of the caller's tree (its own included).
///
/// Single use; a second redemption, even a concurrent one, is 409 and adds nothing. An unknown
/// token is 400. 409 on a closed account.
#[utoipa::path(post, path = "/v1/accounts/{id}/seats", tag = "accounts",
    operation_id = "redeemSeatToken",
    params(("id" = String, Path, description = "The account's id.")),
    request_body = RedeemSeats,
    responses(
        (status = 200, description = "The account with its new seats.", body = AccountView),
        (status = 409, response = crate::openapi::Conflict),
    ))]
pub async fn redeem_seats(
    Admin(caller): Admin,
    state: State,
    id: Id,
    body: Json<RedeemSeats>,
    _: NoQuery,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    check(&b, vec![])?;
    let account = service::redeem_seat_token(&state, caller, id.into_inner(), b.token).await?;
    Ok(ok(account.into_view()))
}

/// Build the nested JSON bottom-up (children before parents), without recursion.
fn nest(root: &str, rows: Vec<Account>) -> Option<AccountTree> {
    let ordered = depth_first(root, rows);
    let mut done: HashMap<String, Vec<AccountTree>> = HashMap::new();
    let mut root_node = None;
    for account in ordered.into_iter().rev() {
        // Children arrive last-first; put them back in order.
        let mut children = done.remove(&account.id).unwrap_or_default();
        children.reverse();
        let parent = account.parent_id.clone().filter(|_| account.id != root);
        let node = AccountTree {
            account: account.into_view(),
            children,
        };
        match parent {
            Some(p) => done.entry(p).or_default().push(node),
            None => root_node = Some(node),
        }
    }
    root_node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nest_builds_the_tree_with_children_in_order() {
        let rows = vec![
            Account::sample("root", None, 0),
            Account::sample("a", Some("root"), 1),
            Account::sample("b", Some("root"), 2),
            Account::sample("a1", Some("a"), 3),
        ];
        let tree = serde_json::to_value(nest("root", rows)).unwrap();
        assert_eq!(tree["id"], "root");
        assert_eq!(tree["children"][0]["id"], "a");
        assert_eq!(tree["children"][0]["children"][0]["id"], "a1");
        assert_eq!(tree["children"][1]["id"], "b");
        assert_eq!(tree["children"][1]["children"], serde_json::json!([]));
    }
}

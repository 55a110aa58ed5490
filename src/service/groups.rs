//! Groups of an account, with flat string labels, and members with sets of role names.

use super::access::{no_such_user, open_account_locked, visible_account, visible_user_by_id};
use crate::auth::Caller;
use crate::db::groups::{self as store, Group, Membership};
use crate::db::models::{now, Account};
use crate::db::DbConn;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::state::AppState;
use serde_json::Value;
use std::collections::BTreeMap;

pub const MAX_LABELS: usize = 64;
pub const MAX_ROLES: usize = 32;

pub type Labels = BTreeMap<String, String>;

impl Membership {
    pub fn roles(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }
}

fn valid_label_name(name: &str) -> bool {
    crate::ids::is_valid_id(name)
}

/// Labels: a flat object of strings; names like ids, values up to 256 characters.
pub fn parse_labels(value: Option<&Value>, field: &str, errors: &mut Vec<String>) -> Labels {
    let mut out = Labels::new();
    let Some(value) = value else { return out };
    let Some(map) = value.as_object() else {
        errors.push(format!("{field}: must be an object of strings"));
        return out;
    };
    if map.len() > MAX_LABELS {
        errors.push(format!("{field}: at most {MAX_LABELS} labels"));
    }
    for (k, v) in map {
        match v.as_str() {
            Some(s) if valid_label_name(k) && s.chars().count() <= 256 => {
                out.insert(k.clone(), s.to_string());
            }
            Some(_) if !valid_label_name(k) => errors.push(format!(
                "{field}.{k}: label names are 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'"
            )),
            Some(_) => errors.push(format!("{field}.{k}: at most 256 characters")),
            None => errors.push(format!("{field}.{k}: must be a string")),
        }
    }
    out
}

/// Role names: 1-64 characters each, at most 32, as a set (sorted, without repeats).
pub fn parse_roles(roles: &[String], errors: &mut Vec<String>) -> Vec<String> {
    if roles.len() > MAX_ROLES {
        errors.push(format!("roles: at most {MAX_ROLES}"));
    }
    if roles
        .iter()
        .any(|r| r.trim().is_empty() || r.chars().count() > 64)
    {
        errors.push("roles: each must be 1 to 64 characters".into());
    }
    let mut set: Vec<String> = roles.to_vec();
    set.sort();
    set.dedup();
    set
}

/// The account a group call is about: `accountId` (within the caller's tree) or the caller's.
fn account_of(conn: &mut DbConn, caller: &Caller, account_id: Option<&str>) -> ApiResult<Account> {
    visible_account(conn, caller, account_id.unwrap_or(caller.account_id()))
}

fn no_such_group() -> ApiError {
    ApiError::not_found("no such group")
}

pub async fn create(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
    labels: Labels,
) -> ApiResult<Group> {
    state
        .tx(move |c| create_in(c, &caller, account_id.as_deref(), id, labels))
        .await
}

pub(super) fn create_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    id: String,
    labels: Labels,
) -> ApiResult<Group> {
    let account = open_account_locked(conn, caller, account_id.unwrap_or(caller.account_id()))?;
    let group = Group {
        account_id: account.id,
        id,
        labels: serde_json::to_string(&labels).map_err(|e| ApiError::internal(e.to_string()))?,
        created: now(),
    };
    let pairs: Vec<(String, String)> = labels.into_iter().collect();
    store::insert(conn, &group, &pairs)?;
    crate::db::audit::record(
        conn,
        &caller.meta,
        "group.create",
        Some(&group.account_id),
        Some(&group.id),
    )?;
    Ok(group)
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
) -> ApiResult<Group> {
    state
        .db(move |c| get_in(c, &caller, account_id.as_deref(), &id))
        .await
}

fn get_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    id: &str,
) -> ApiResult<Group> {
    let account = account_of(conn, caller, account_id)?;
    store::find(conn, &account.id, id)?.ok_or_else(no_such_group)
}

pub async fn delete(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
) -> ApiResult<()> {
    state
        .tx(move |c| delete_in(c, &caller, account_id.as_deref(), &id))
        .await
}

pub(super) fn delete_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    id: &str,
) -> ApiResult<()> {
    let account = open_account_locked(conn, caller, account_id.unwrap_or(caller.account_id()))?;
    if !store::delete(conn, &account.id, id)? {
        return Err(no_such_group());
    }
    crate::db::audit::record(
        conn,
        &caller.meta,
        "group.delete",
        Some(&account.id),
        Some(id),
    )?;
    Ok(())
}

/// Groups of the account: for a plain user only its own groups; `user_id` narrows to the
/// groups that user is in; every label must match.
pub async fn list(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    user_id: Option<String>,
    labels: Vec<(String, String)>,
    page: PageRequest,
) -> ApiResult<Vec<Group>> {
    state
        .db(move |c| {
            list_in(
                c,
                &caller,
                account_id.as_deref(),
                user_id.as_deref(),
                &labels,
                &page,
            )
        })
        .await
}

fn list_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    user_id: Option<&str>,
    labels: &[(String, String)],
    page: &PageRequest,
) -> ApiResult<Vec<Group>> {
    let account = account_of(conn, caller, account_id)?;
    let member = match (caller.role(), user_id) {
        (Role::User, Some(u)) if u != caller.id() => return Err(no_such_user()),
        (Role::User, _) => Some(caller.id().to_string()),
        (_, Some(u)) => Some(visible_user_by_id(conn, caller, u)?.id),
        (_, None) => None,
    };
    Ok(store::list(
        conn,
        &account.id,
        member.as_deref(),
        labels,
        page,
    )?)
}

/// Set a member's roles; an empty list removes the member.
pub async fn set_membership(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    group_id: String,
    user_id: String,
    roles: Vec<String>,
) -> ApiResult<()> {
    state
        .tx(move |c| {
            set_membership_in(
                c,
                &caller,
                account_id.as_deref(),
                &group_id,
                &user_id,
                roles,
            )
        })
        .await
}

fn set_membership_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    group_id: &str,
    user_id: &str,
    roles: Vec<String>,
) -> ApiResult<()> {
    let account = open_account_locked(conn, caller, account_id.unwrap_or(caller.account_id()))?;
    let group = store::find(conn, &account.id, group_id)?.ok_or_else(no_such_group)?;
    let user = visible_user_by_id(conn, caller, user_id)?;
    if user.account_id != group.account_id {
        return Err(ApiError::conflict("the user is not in the group's account"));
    }
    let m = Membership {
        account_id: group.account_id,
        group_id: group.id,
        user_id: user.id,
        roles: serde_json::to_string(&roles).map_err(|e| ApiError::internal(e.to_string()))?,
        created: now(),
    };
    let before = store::membership(conn, &m.account_id, &m.group_id, &m.user_id)?;
    if roles.is_empty() && before.is_none() {
        return Ok(());
    }
    store::set_membership(conn, &m, roles.is_empty())?;
    let member = format!("{}/{}", m.group_id, m.user_id);
    crate::db::audit::record(
        conn,
        &caller.meta,
        "group.member",
        Some(&m.account_id),
        Some(&member),
    )?;
    Ok(())
}

/// A member's roles (empty when not a member). A plain user asks only about itself.
pub async fn get_membership(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    group_id: String,
    user_id: String,
) -> ApiResult<Vec<String>> {
    state
        .db(move |c| get_membership_in(c, &caller, account_id.as_deref(), &group_id, &user_id))
        .await
}

fn get_membership_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    group_id: &str,
    user_id: &str,
) -> ApiResult<Vec<String>> {
    let group = get_in(conn, caller, account_id, group_id)?;
    let user = visible_user_by_id(conn, caller, user_id)?;
    Ok(
        store::membership(conn, &group.account_id, &group.id, &user.id)?
            .map(|m| m.roles())
            .unwrap_or_default(),
    )
}

/// The members of a group; a plain user sees them only for groups it is in.
pub async fn members(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    group_id: String,
    page: PageRequest,
) -> ApiResult<Vec<Membership>> {
    state
        .db(move |c| members_in(c, &caller, account_id.as_deref(), &group_id, &page))
        .await
}

fn members_in(
    conn: &mut DbConn,
    caller: &Caller,
    account_id: Option<&str>,
    group_id: &str,
    page: &PageRequest,
) -> ApiResult<Vec<Membership>> {
    let group = get_in(conn, caller, account_id, group_id)?;
    if caller.role() == Role::User
        && store::membership(conn, &group.account_id, &group.id, caller.id())?.is_none()
    {
        return Err(no_such_group());
    }
    Ok(store::members(conn, &group.account_id, &group.id, page)?)
}

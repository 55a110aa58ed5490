//! SCIM 2.0 provisioning (RFC 7643, 7644): a tenant account's users and groups as SCIM
//! resources, for identity providers. Resources are JSON documents here; a PATCH is applied to
//! the resource as it stands and the result saved like a PUT, so both take one path.
//!
//! Errors carry their SCIM type as the start of the message (`invalidFilter: ...`), which the
//! HTTP layer turns into `scimType`.

use super::users::{create_in, remove_in, set_active_in, update_in, NewUser};
use crate::auth::Caller;
use crate::db::groups::{self as groups_db, Group, Membership};
use crate::db::models::{now, rfc3339, User};
use crate::db::scim::{self as store, From, ListError};
use crate::db::users::{self as users_db, UserChanges};
use crate::db::DbConn;
use crate::domain::{Email, Role, Username};
use crate::error::{ApiError, ApiResult};
use crate::pagination::Cursor;
use crate::scim_filter::{parse_filter, parse_path, CompareOp, Filter, Value as FValue};
use crate::state::AppState;
use serde_json::{json, Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The most resources one page answers (`ServiceProviderConfig.filter.maxResults`).
pub const MAX_RESULTS: i64 = 1000;
/// The role a member added by a directory gets (a membership needs one; roles set in
/// accountd are left as they are).
const MEMBER_ROLE: &str = "member";

fn scim_error(kind: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("{kind}: {detail}"))
}

/// A ListResponse of `resources` (RFC 7644 section 3.4.2), out of `total` matches; index
/// paging adds its `startIndex`.
pub fn list_response(total: i64, resources: Vec<Value>, start: Option<i64>) -> Value {
    let mut out = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let Some(start) = start {
        out["startIndex"] = start.into();
    }
    out
}

/// The tenant: the caller's account (an admin's), or the owner's `accountId`.
pub fn tenant(conn: &mut DbConn, caller: &Caller, account_id: Option<&str>) -> ApiResult<String> {
    if caller.role() < Role::Admin {
        return Err(ApiError::forbidden("SCIM takes an admin's credential"));
    }
    match account_id {
        Some(a) if caller.is_owner() => Ok(super::access::visible_account(conn, caller, a)?.id),
        Some(a) if a != caller.account_id() => Err(super::access::no_such_account()),
        _ => Ok(caller.account_id().to_string()),
    }
}

fn meta(kind: &str, base: &str, path: &str, created: i64, modified: i64) -> Value {
    json!({
        "resourceType": kind,
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": format!("{base}/scim/v2/{path}"),
        "version": format!("W/\"{modified}\""),
    })
}

/// A user as a SCIM resource: `userName` is the username, or the email for a user without.
pub fn user_resource(u: &User, base: &str) -> Value {
    let mut name = Map::new();
    // A name removed through SCIM is stored empty (the REST API has no null for it).
    if let Some(f) = u.first.as_ref().filter(|f| !f.is_empty()) {
        name.insert("givenName".into(), f.clone().into());
    }
    if let Some(l) = u.last.as_ref().filter(|l| !l.is_empty()) {
        name.insert("familyName".into(), l.clone().into());
    }
    let mut r = json!({
        "schemas": [USER_SCHEMA],
        "id": u.id,
        "userName": u.username.clone().unwrap_or_else(|| u.email.clone()),
        "emails": [{"value": u.email, "type": "work", "primary": true}],
        "active": u.active,
        "meta": meta("User", base, &format!("Users/{}", u.id), u.created, u.modified.max(u.created)),
    });
    if let Some(x) = &u.external_id {
        r["externalId"] = x.clone().into();
    }
    // An unassigned attribute is left out, not sent empty.
    if !name.is_empty() {
        r["name"] = name.into();
    }
    r
}

/// A boolean as directories send it: `true`, or Entra ID's `"True"`.
fn boolean(v: &Value, field: &str) -> ApiResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(scim_error(
            "invalidValue",
            format!("{field}: must be true or false"),
        )),
    }
}

/// Run `f` on the tenant's account in one transaction (`write`) or on one connection.
async fn in_tenant<T, F>(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    write: bool,
    f: F,
) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &Caller, String) -> ApiResult<T> + Send + 'static,
{
    let run = move |c: &mut DbConn| {
        let account = tenant(c, &caller, account_id.as_deref())?;
        f(c, &caller, account)
    };
    if write {
        state.tx(run).await
    } else {
        state.db(run).await
    }
}

/// A key of `obj` named case-insensitively (SCIM attribute names are).
fn get<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn text(obj: &Value, name: &str, field: &str) -> ApiResult<Option<String>> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(scim_error(
            "invalidValue",
            format!("{field}: must be a string"),
        )),
    }
}

/// What a user resource sets.
struct UserFields {
    email: Email,
    username: Option<Username>,
    first: Option<String>,
    last: Option<String>,
    active: bool,
    external_id: Option<String>,
}

fn user_fields(doc: &Value) -> ApiResult<UserFields> {
    let user_name = text(doc, "userName", "userName")?
        .ok_or_else(|| scim_error("invalidValue", "userName: required"))?;
    let emails = get(doc, "emails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| get(e, "primary").is_some_and(|p| boolean(p, "primary").unwrap_or(false)))
        .or(emails.first())
        .and_then(|e| get(e, "value"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (email, username) = if user_name.contains('@') {
        (user_name, None)
    } else {
        let email = primary
            .ok_or_else(|| scim_error("invalidValue", "emails: a user needs an email address"))?;
        (email, Some(user_name))
    };
    let email =
        Email::parse(email).map_err(|e| scim_error("invalidValue", format!("emails: {e}")))?;
    let username = username
        .map(Username::parse)
        .transpose()
        .map_err(|e| scim_error("invalidValue", format!("userName: {e}")))?;
    let name = get(doc, "name").cloned().unwrap_or(Value::Null);
    let bounded = |v: Option<String>, field: &str| -> ApiResult<Option<String>> {
        match v {
            Some(s) if s.chars().count() > 100 || s.chars().any(char::is_control) => {
                Err(scim_error(
                    "invalidValue",
                    format!("{field}: at most 100 printable characters"),
                ))
            }
            v => Ok(v),
        }
    };
    let external_id = match text(doc, "externalId", "externalId")? {
        Some(x) if x.is_empty() || x.chars().count() > 255 => {
            return Err(scim_error(
                "invalidValue",
                "externalId: 1 to 255 characters",
            ))
        }
        x => x,
    };
    Ok(UserFields {
        email,
        username,
        first: bounded(
            text(&name, "givenName", "name.givenName")?,
            "name.givenName",
        )?,
        last: bounded(
            text(&name, "familyName", "name.familyName")?,
            "name.familyName",
        )?,
        active: match get(doc, "active") {
            Some(v) => boolean(v, "active")?,
            None => true,
        },
        external_id,
    })
}

/// The tenant's user, or 404.
fn tenant_user(conn: &mut DbConn, account: &str, id: &str) -> ApiResult<User> {
    users_db::find(conn, id)?
        .filter(|u| u.account_id == account)
        .ok_or_else(|| ApiError::not_found(format!("no such user: {id}")))
}

/// What a list asks for.
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// RFC 9865: `Some("")` asks for the first page by cursor.
    pub cursor: Option<String>,
}

fn parse_list_filter(q: &ListQuery) -> ApiResult<Option<Filter>> {
    q.filter
        .as_deref()
        .map(|f| parse_filter(f).map_err(|e| scim_error("invalidFilter", e.detail)))
        .transpose()
}

fn list_error(e: ListError) -> ApiError {
    match e {
        ListError::Refused(why) => scim_error("invalidFilter", why),
        ListError::Db(e) => e.into(),
    }
}

fn encode_cursor(u: &User) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", u.created, u.id))
}

fn decode_cursor(s: &str) -> ApiResult<Cursor> {
    use base64::Engine;
    let bad = || scim_error("invalidCursor", "not a cursor this service gave");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (created, id) = raw.split_once(':').ok_or_else(bad)?;
    Ok(Cursor {
        created: created.parse().map_err(|_| bad())?,
        id: id.to_string(),
    })
}

/// `GET /Users`: index paging (`startIndex`, 1-based, an OFFSET: its cost grows with the
/// index) or cursor paging (`cursor`, a keyset: as fast at any depth).
pub async fn list_users(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    q: ListQuery,
    base: String,
) -> ApiResult<Value> {
    let filter = parse_list_filter(&q)?;
    let count = q.count.unwrap_or(100).clamp(0, MAX_RESULTS);
    let start = q.start_index.unwrap_or(1).max(1);
    let from = match q.cursor.as_deref() {
        Some("") => From::After(None),
        Some(c) => From::After(Some(decode_cursor(c)?)),
        None => From::Offset(start - 1),
    };
    let by_cursor = q.cursor.is_some();
    in_tenant(state, caller, account_id, false, move |c, _, account| {
        let (rows, total) =
            store::users(c, &account, filter.as_ref(), &from, count, true).map_err(list_error)?;
        let resources = rows.iter().map(|u| user_resource(u, &base)).collect();
        let mut out = list_response(total, resources, (!by_cursor).then_some(start));
        if by_cursor && rows.len() as i64 == count && count > 0 {
            out["nextCursor"] = rows.last().map(encode_cursor).into();
        }
        Ok(out)
    })
    .await
}

pub async fn get_user(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
    base: String,
) -> ApiResult<Value> {
    in_tenant(state, caller, account_id, false, move |c, _, account| {
        Ok(user_resource(&tenant_user(c, &account, &id)?, &base))
    })
    .await
}

fn conflict_is_uniqueness(e: ApiError) -> ApiError {
    match e {
        ApiError::Conflict(m) => ApiError::Conflict(format!("uniqueness: {m}")),
        e => e,
    }
}

/// `POST /Users`: a user of the tenant with role `user`, no password (it signs in through the
/// directory, or is invited later) and no mail sent.
pub async fn create_user(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    doc: Value,
    base: String,
) -> ApiResult<Value> {
    let f = user_fields(&doc)?;
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            let new = NewUser {
                id: crate::ids::new_id(),
                account_id: String::new(),
                email: f.email,
                username: f.username,
                first: f.first,
                last: f.last,
                role: Role::User,
                password_hash: None,
                verified: true,
                external_id: f.external_id,
            };
            let user = create_in(c, caller, Some(account), new).map_err(conflict_is_uniqueness)?;
            let user = if f.active {
                user
            } else {
                set_active_in(c, caller, user, false)?
            };
            Ok(user_resource(&user, &base))
        },
    )
    .await
}

/// Save a whole user resource (PUT, and PATCH after it is applied).
fn replace_in(c: &mut DbConn, caller: &Caller, user: User, doc: &Value) -> ApiResult<User> {
    let f = user_fields(doc)?;
    let email = String::from(f.email);
    let username = f.username.map(String::from);
    let moves = email != user.email || username != user.username;
    // One's own login identity changes through /user/update, where a new address must confirm
    // it: a directory's token must not move its own holder's email.
    if moves && user.id == caller.id() {
        return Err(scim_error(
            "mutability",
            "your own userName and email change through /user/update",
        ));
    }
    if email != user.email {
        // Codes mailed to the old address must not work for the new one.
        crate::db::codes::delete_all_for(c, &user.id)?;
    }
    let changes = UserChanges {
        email_lower: (email != user.email).then(|| email.to_lowercase()),
        email: (email != user.email).then_some(email),
        username_lower: (username != user.username)
            .then(|| username.as_ref().map(|u| u.to_lowercase()))
            .flatten(),
        username: (username != user.username)
            .then(|| username.clone())
            .flatten(),
        first: (f.first != user.first).then(|| f.first.clone().unwrap_or_default()),
        last: (f.last != user.last).then(|| f.last.clone().unwrap_or_default()),
        preferences: None,
        external_id: (f.external_id != user.external_id).then_some(f.external_id),
    };
    let user = update_in(c, caller, Some(user), changes).map_err(conflict_is_uniqueness)?;
    set_active_in(c, caller, user, f.active)
}

/// What a PUT or a PATCH asks of a resource: a whole new document, or operations on the
/// current one (RFC 7644 section 3.5).
pub enum Change {
    Replace(Value),
    Patch(Value),
}

impl Change {
    /// The resource's document after the change; `current` is read only for a PATCH.
    fn apply(self, current: impl FnOnce() -> ApiResult<Value>) -> ApiResult<Value> {
        match self {
            Change::Replace(doc) => Ok(doc),
            Change::Patch(ops) => {
                let mut doc = current()?;
                apply_patch(&mut doc, &ops)?;
                Ok(doc)
            }
        }
    }
}

pub async fn change_user(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
    change: Change,
    base: String,
) -> ApiResult<Value> {
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            let user = tenant_user(c, &account, &id)?;
            let doc = change.apply(|| Ok(user_resource(&user, &base)))?;
            Ok(user_resource(&replace_in(c, caller, user, &doc)?, &base))
        },
    )
    .await
}

pub async fn delete_user(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
) -> ApiResult<()> {
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            let user = tenant_user(c, &account, &id)?;
            remove_in(c, caller, Some(user))
        },
    )
    .await
}

/// The attributes a resource has, by their lowercase names.
const NAMES: &[&str] = &[
    "userName",
    "name",
    "emails",
    "active",
    "externalId",
    "displayName",
    "members",
    "givenName",
    "familyName",
    "value",
    "primary",
    "type",
];

fn canonical(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| n.eq_ignore_ascii_case(name))
}

/// Apply a PATCH body (`Operations`: add, replace, remove; any letter case, as Entra ID sends)
/// to a resource document. Attributes this service does not keep are ignored, as directories
/// send many.
pub fn apply_patch(doc: &mut Value, body: &Value) -> ApiResult<()> {
    let ops = get(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| scim_error("invalidSyntax", "Operations: a list of operations"))?;
    for op in ops {
        let kind = get(op, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .filter(|k| ["add", "replace", "remove"].contains(&k.as_str()))
            .ok_or_else(|| scim_error("invalidSyntax", "op: add, replace or remove"))?;
        let value = get(op, "value");
        match get(op, "path").and_then(Value::as_str) {
            Some(path) => apply_path(doc, path, &kind, value)?,
            None if kind == "remove" => {
                return Err(scim_error("noTarget", "remove needs a path"));
            }
            None => {
                // No path: the value's keys are attributes, or paths (Entra ID:
                // `{"name.givenName": "Ada"}`).
                let Some(obj) = value.and_then(Value::as_object) else {
                    return Err(scim_error("invalidValue", "value: an object of attributes"));
                };
                for (k, v) in obj {
                    apply_path(doc, k, &kind, Some(v))?;
                }
            }
        }
    }
    Ok(())
}

fn apply_path(doc: &mut Value, path: &str, kind: &str, value: Option<&Value>) -> ApiResult<()> {
    let p = parse_path(path).map_err(|e| scim_error("invalidPath", e.detail))?;
    if p.attr.attr == "schemas" || p.attr.attr == "id" || p.attr.attr == "meta" {
        return Ok(());
    }
    let Some(key) = canonical(&p.attr.attr) else {
        return Ok(());
    };
    // `name.givenName` written as attr + sub, or as a value path's sub-attribute.
    let sub = p.attr.sub.clone().or(p.sub.clone());
    let obj = doc.as_object_mut().expect("resources are objects");
    let needs_value =
        || value.ok_or_else(|| scim_error("invalidValue", format!("{path}: a value")));
    match (&p.filter, sub) {
        (None, None) => match kind {
            "remove" => {
                obj.remove(key);
            }
            _ => {
                let v = needs_value()?.clone();
                match (kind, obj.get_mut(key), v) {
                    ("add", Some(Value::Array(have)), Value::Array(more)) => {
                        for m in more {
                            if !have.contains(&m) {
                                have.push(m);
                            }
                        }
                    }
                    ("add", Some(Value::Array(have)), one @ Value::Object(_)) => {
                        if !have.contains(&one) {
                            have.push(one);
                        }
                    }
                    (_, Some(Value::Object(have)), Value::Object(more)) => {
                        for (k, v) in more {
                            have.insert(canonical(&k).map(str::to_string).unwrap_or(k), v);
                        }
                    }
                    (_, _, v) => {
                        obj.insert(key.to_string(), v);
                    }
                }
            }
        },
        (None, Some(sub)) => {
            let Some(sub) = canonical(&sub) else {
                return Ok(());
            };
            let entry = obj.entry(key).or_insert_with(|| json!({}));
            if let Some(o) = entry.as_object_mut() {
                if kind == "remove" {
                    o.remove(sub);
                } else {
                    o.insert(sub.to_string(), needs_value()?.clone());
                }
            }
        }
        (Some(f), sub) => {
            let items = obj.entry(key).or_insert_with(|| json!([]));
            let Some(list) = items.as_array_mut() else {
                return Err(scim_error(
                    "invalidPath",
                    format!("{key} is not multi-valued"),
                ));
            };
            match (kind, sub) {
                ("remove", None) => list.retain(|e| !matches(e, f)),
                (_, None) => {
                    let v = needs_value()?;
                    for e in list.iter_mut().filter(|e| matches(e, f)) {
                        if let (Some(o), Some(more)) = (e.as_object_mut(), v.as_object()) {
                            o.extend(more.clone());
                        }
                    }
                }
                (_, Some(sub)) => {
                    let Some(sub) = canonical(&sub) else {
                        return Ok(());
                    };
                    for e in list.iter_mut().filter(|e| matches(e, f)) {
                        if let Some(o) = e.as_object_mut() {
                            if kind == "remove" {
                                o.remove(sub);
                            } else {
                                o.insert(sub.to_string(), needs_value()?.clone());
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether an element of a multi-valued attribute matches a value filter.
fn matches(e: &Value, f: &Filter) -> bool {
    match f {
        Filter::And(a, b) => matches(e, a) && matches(e, b),
        Filter::Or(a, b) => matches(e, a) || matches(e, b),
        Filter::Not(a) => !matches(e, a),
        Filter::Present(a) => get(e, &a.attr).is_some(),
        Filter::ValuePath { .. } => false,
        Filter::Compare { attr, op, value } => {
            let have = get(e, &attr.attr);
            match (have, value) {
                (Some(Value::String(h)), FValue::Str(v)) => {
                    let (h, v) = (h.to_lowercase(), v.to_lowercase());
                    match op {
                        CompareOp::Eq => h == v,
                        CompareOp::Ne => h != v,
                        CompareOp::Co => h.contains(&v),
                        CompareOp::Sw => h.starts_with(&v),
                        CompareOp::Ew => h.ends_with(&v),
                        CompareOp::Gt => h > v,
                        CompareOp::Ge => h >= v,
                        CompareOp::Lt => h < v,
                        CompareOp::Le => h <= v,
                    }
                }
                (Some(h), FValue::Bool(v)) => {
                    let h = boolean(h, "").ok();
                    match op {
                        CompareOp::Eq => h == Some(*v),
                        CompareOp::Ne => h != Some(*v),
                        _ => false,
                    }
                }
                (None, _) => *op == CompareOp::Ne,
                _ => false,
            }
        }
    }
}

// Groups: an accountd group whose id is the SCIM `displayName` (and `id`); members are its
// memberships.

fn tenant_group(c: &mut DbConn, account: &str, id: &str) -> ApiResult<Group> {
    groups_db::find(c, account, id)?
        .ok_or_else(|| ApiError::not_found(format!("no such group: {id}")))
}

pub fn group_resource(c: &mut DbConn, g: &Group, base: &str) -> ApiResult<Value> {
    let members: Vec<Value> = store::member_ids(c, &g.account_id, &g.id)?
        .into_iter()
        .map(|u| json!({"value": u, "$ref": format!("{base}/scim/v2/Users/{u}"), "type": "User"}))
        .collect();
    Ok(json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.id,
        "members": members,
        "meta": meta("Group", base, &format!("Groups/{}", g.id), g.created, g.created),
    }))
}

/// The member ids a group resource names (each must be a user of the tenant).
fn member_ids(c: &mut DbConn, account: &str, doc: &Value) -> ApiResult<Vec<String>> {
    let mut ids = vec![];
    for m in get(doc, "members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = get(m, "value").and_then(Value::as_str) else {
            return Err(scim_error(
                "invalidValue",
                "members: each names a user by value",
            ));
        };
        tenant_user(c, account, id)
            .map_err(|_| scim_error("invalidValue", format!("members: no such user: {id}")))?;
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// Make the group's members exactly `want`: new members get the directory's role, existing
/// ones keep theirs, the others leave.
fn set_members(c: &mut DbConn, caller: &Caller, g: &Group, want: &[String]) -> ApiResult<()> {
    let have = store::member_ids(c, &g.account_id, &g.id)?;
    let mut changed = false;
    for id in want.iter().filter(|id| !have.contains(id)) {
        let m = Membership {
            account_id: g.account_id.clone(),
            group_id: g.id.clone(),
            user_id: id.clone(),
            roles: json!([MEMBER_ROLE]).to_string(),
            created: now(),
        };
        groups_db::set_membership(c, &m, false)?;
        changed = true;
    }
    for id in have.iter().filter(|id| !want.contains(id)) {
        let m = Membership {
            account_id: g.account_id.clone(),
            group_id: g.id.clone(),
            user_id: id.clone(),
            roles: "[]".into(),
            created: now(),
        };
        groups_db::set_membership(c, &m, true)?;
        changed = true;
    }
    if changed {
        crate::db::audit::record(
            c,
            &caller.meta,
            "group.member",
            Some(&g.account_id),
            Some(&g.id),
        )?;
    }
    Ok(())
}

fn display_name(doc: &Value) -> ApiResult<String> {
    let name = text(doc, "displayName", "displayName")?
        .ok_or_else(|| scim_error("invalidValue", "displayName: required"))?;
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(scim_error(
            "invalidValue",
            "displayName: 1 to 64 of A-Z a-z 0-9 . _ - (it is the group's id)",
        ));
    }
    Ok(name)
}

pub async fn list_groups(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    q: ListQuery,
    base: String,
) -> ApiResult<Value> {
    let filter = parse_list_filter(&q)?;
    let count = q.count.unwrap_or(100).clamp(0, MAX_RESULTS);
    let start = q.start_index.unwrap_or(1).max(1);
    in_tenant(state, caller, account_id, false, move |c, _, account| {
        let (rows, total) =
            store::groups(c, &account, filter.as_ref(), start - 1, count).map_err(list_error)?;
        let resources = rows
            .iter()
            .map(|g| group_resource(c, g, &base))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(list_response(total, resources, Some(start)))
    })
    .await
}

pub async fn get_group(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
    base: String,
) -> ApiResult<Value> {
    in_tenant(state, caller, account_id, false, move |c, _, account| {
        let g = tenant_group(c, &account, &id)?;
        group_resource(c, &g, &base)
    })
    .await
}

pub async fn create_group(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    doc: Value,
    base: String,
) -> ApiResult<Value> {
    let name = display_name(&doc)?;
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            let want = member_ids(c, &account, &doc)?;
            let g = super::groups::create_in(c, caller, Some(&account), name, Default::default())
                .map_err(conflict_is_uniqueness)?;
            set_members(c, caller, &g, &want)?;
            group_resource(c, &g, &base)
        },
    )
    .await
}

/// Save a whole group resource: its members (its `displayName` is its id and cannot change).
fn replace_group_in(c: &mut DbConn, caller: &Caller, g: &Group, doc: &Value) -> ApiResult<()> {
    if display_name(doc)? != g.id {
        return Err(scim_error(
            "mutability",
            "displayName is the group's id and cannot change",
        ));
    }
    let want = member_ids(c, &g.account_id, doc)?;
    set_members(c, caller, g, &want)
}

pub async fn change_group(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
    change: Change,
    base: String,
) -> ApiResult<Value> {
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            let g = tenant_group(c, &account, &id)?;
            let doc = change.apply(|| group_resource(c, &g, &base))?;
            replace_group_in(c, caller, &g, &doc)?;
            group_resource(c, &g, &base)
        },
    )
    .await
}

pub async fn delete_group(
    state: &AppState,
    caller: Caller,
    account_id: Option<String>,
    id: String,
) -> ApiResult<()> {
    in_tenant(
        state,
        caller,
        account_id,
        true,
        move |c, caller, account| {
            tenant_group(c, &account, &id)?;
            super::groups::delete_in(c, caller, Some(&account), &id)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_doc() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "u1", "userName": "ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
        })
    }

    #[test]
    fn patches_as_directories_send_them() {
        let mut doc = user_doc();
        // Entra ID: a capitalised op, a string boolean, dotted keys without a path.
        apply_patch(
            &mut doc,
            &json!({"Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "replace", "value": {"name.givenName": "Augusta", "externalId": "e-1"}},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x.org"},
            ]}),
        )
        .unwrap();
        let f = user_fields(&doc).unwrap();
        assert!(!f.active);
        assert_eq!(f.first.as_deref(), Some("Augusta"));
        assert_eq!(f.external_id.as_deref(), Some("e-1"));
        assert_eq!(f.email.as_str(), "a@x.org");
        // Okta: replace without a path, a real boolean.
        apply_patch(
            &mut doc,
            &json!({"Operations": [{"op": "replace", "value": {"active": true}}]}),
        )
        .unwrap();
        assert!(user_fields(&doc).unwrap().active);
        // remove needs a path; unknown ops are refused; unknown attributes are ignored.
        assert!(apply_patch(&mut doc, &json!({"Operations": [{"op": "remove"}]})).is_err());
        assert!(apply_patch(
            &mut doc,
            &json!({"Operations": [{"op": "move", "path": "x"}]})
        )
        .is_err());
        apply_patch(
            &mut doc,
            &json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
        )
        .unwrap();
        apply_patch(
            &mut doc,
            &json!({"Operations": [{"op": "remove", "path": "name.familyName"}]}),
        )
        .unwrap();
        assert_eq!(user_fields(&doc).unwrap().last, None);
    }

    #[test]
    fn members_are_added_and_removed_by_value_filter() {
        let mut doc = json!({"displayName": "eng", "members": [{"value": "a"}, {"value": "b"}]});
        apply_patch(
            &mut doc,
            &json!({"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "a"}]},
                {"op": "remove", "path": "members[value eq \"b\"]"},
            ]}),
        )
        .unwrap();
        let values: Vec<&str> = doc["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["a", "c"]);
    }

    #[test]
    fn user_names_with_an_at_are_emails() {
        let mut doc = user_doc();
        doc["userName"] = "Ada@Example.com".into();
        let f = user_fields(&doc).unwrap();
        assert_eq!(
            (f.email.as_str(), f.username.is_none()),
            ("Ada@Example.com", true)
        );
        doc["userName"] = "ada".into();
        doc["emails"] = json!([]);
        assert!(user_fields(&doc).is_err());
        doc["emails"] = json!([{"value": "x@y.z"}]);
        doc["active"] = "maybe".into();
        assert!(user_fields(&doc).is_err());
    }
}

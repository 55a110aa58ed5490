//! Events, the outbox of changes: inserted in each change's transaction, read in commit order
//! by a cursor that never skips or repeats one, even while writers are committing.

use super::schema::events::{self, dsl};
use super::DbConn;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub seq: i64,
    pub tx: i64,
    pub id: String,
    pub kind: String,
    pub occurred_at: i64,
    pub account_id: Option<String>,
    pub account_path: Option<String>,
    pub actor_id: Option<String>,
    pub request_id: Option<String>,
    /// The resource after the change, as JSON.
    pub data: String,
}

/// An event to write; `seq` and `tx` come from the database.
#[derive(Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub occurred_at: i64,
    pub account_id: Option<&'a str>,
    pub account_path: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub data: &'a str,
}

pub fn insert(conn: &mut DbConn, event: &NewEvent) -> QueryResult<()> {
    diesel::insert_into(dsl::events)
        .values(event)
        .execute(conn)
        .map(|_| ())
}

/// Where a reader stands: the last event it saw, by its place in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub tx: i64,
    pub seq: i64,
}

impl EventRow {
    pub fn position(&self) -> Position {
        Position {
            tx: self.tx,
            seq: self.seq,
        }
    }
}

/// What a reader asks for besides its place.
#[derive(Default)]
pub struct Filter<'a> {
    pub kind: Option<&'a str>,
    pub account_id: Option<&'a str>,
    /// Only events of this account's tree (the account and its descendants).
    pub tree_of: Option<&'a str>,
}

/// Up to `limit` events after `after`, in (tx, seq) order. On PostgreSQL only events of
/// transactions older than every one still running (the snapshot's xmin) are read: a sequence
/// value is taken before its transaction commits, so a later one may become visible first,
/// but below the horizon nothing can still appear. On SQLite (one writer at a time) the order
/// of `seq` is commit order.
pub fn after(
    conn: &mut DbConn,
    after: Option<Position>,
    filter: &Filter,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let pg = matches!(conn, DbConn::Pg(_));
    let mut q = dsl::events.select(EventRow::as_select()).into_boxed();
    if let Some(p) = after {
        q = q.filter(
            sql::<Bool>("(tx, seq) > (")
                .bind::<BigInt, _>(p.tx)
                .sql(", ")
                .bind::<BigInt, _>(p.seq)
                .sql(")"),
        );
    }
    if pg {
        q = q.filter(sql::<Bool>(
            "tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        ));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(dsl::kind.eq(kind.to_string()));
    }
    if let Some(account) = filter.account_id {
        q = q.filter(dsl::account_id.eq(account.to_string()));
    }
    if let Some(root) = filter.tree_of {
        q = q.filter(
            dsl::account_path
                .like(super::audit::path_pattern(root))
                .escape('\\'),
        );
    }
    q.order((dsl::tx.asc(), dsl::seq.asc()))
        .limit(limit)
        .load(conn)
}

pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<EventRow>> {
    dsl::events
        .filter(dsl::id.eq_any(ids))
        .select(EventRow::as_select())
        .load(conn)
}

/// Forget the events older than `before` (µs); how many went.
pub fn prune(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(dsl::events.filter(dsl::occurred_at.lt(before))).execute(conn)
}

/// The event type of an audited action (`resource.verb`, as the contract names them).
pub fn type_of(action: &str) -> String {
    let named = match action {
        "account.create" => "account.created",
        "account.update" | "account.plan" | "account.require_mfa" | "account.allow_no_mfa" => {
            "account.updated"
        }
        "account.suspend" => "account.suspended",
        "account.unsuspend" | "account.resume" => "account.unsuspended",
        "account.close" => "account.closed",
        "account.delete" => "account.deleted",
        "account.seats" | "seats.redeem" => "account.seats_changed",
        "user.create" | "user.register" => "user.created",
        "user.update" | "user.email" | "user.unlock" | "user.confirm" | "user.accept_invite" => {
            "user.updated"
        }
        "user.role" => "user.role_changed",
        "user.remove" => "user.removed",
        "login.lockout" => "user.locked",
        "user.password" | "user.reset_password" => "user.password_changed",
        "user.mfa_enabled" => "user.mfa_enabled",
        "user.mfa_disabled" | "user.mfa_reset" => "user.mfa_disabled",
        "device.create" => "device.created",
        "device.delete" => "device.deleted",
        "group.create" => "group.created",
        "group.delete" => "group.deleted",
        "group.member" => "membership.changed",
        "token.create" => "token.created",
        "token.revoke" => "token.revoked",
        "webhook.rotate_secret" => "webhook.secret_rotated",
        "webhook.disable" => "webhook.disabled",
        "session.end" | "user.logout" | "user.logout_everywhere" => "session.ended",
        // Changes the contract names no type for: the resource, and the verb in the past.
        other => {
            return match other.split_once('.') {
                Some((resource, verb)) => format!("{resource}.{}", past(verb)),
                None => other.to_string(),
            }
        }
    };
    named.to_string()
}

fn past(verb: &str) -> String {
    match verb {
        "create" => "created".into(),
        "delete" => "deleted".into(),
        "rotate" => "rotated".into(),
        "mint" => "minted".into(),
        other if other.ends_with('e') => format!("{other}d"),
        other => format!("{other}ed"),
    }
}

fn at(micros: i64) -> serde_json::Value {
    super::models::rfc3339(micros).into()
}

/// The resource after the change, as the API shows it, never a secret or hash: an account, a
/// user, a device, a group, a membership, a token or a session read back in the change's
/// transaction (a session end is recorded before its row goes); for anything else (or a
/// resource the change deleted) its id and account.
fn snapshot(conn: &mut DbConn, kind: &str, e: &super::audit::Entry) -> QueryResult<String> {
    use serde_json::json;
    let target = e.target.as_deref().unwrap_or_default();
    let account = e.account_id.as_deref().unwrap_or_default();
    let value = match kind.split_once('.').map(|(r, _)| r) {
        // The account changed is the entry's account (a seat change's or plan change's target
        // describes the change, not the account).
        Some("account") if kind != "account.deleted" => {
            super::accounts::find(conn, account)?.map(|a| {
                json!({
                    "id": a.id, "name": a.name, "email": a.email, "planId": a.plan_id,
                    "parentId": a.parent_id, "deviceSeats": a.device_seats,
                    "usedDevices": a.used_devices, "freeSeats": a.device_seats - a.used_devices,
                    "suspended": a.suspended, "closed": a.closed, "requireMfa": a.require_mfa,
                    "created": at(a.created), "activity": at(a.activity),
                })
            })
        }
        Some("user") if kind != "user.removed" => {
            super::users::find(conn, subject(target))?.map(|u| {
                json!({
                    "id": u.id, "accountId": u.account_id, "email": u.email,
                    "username": u.username, "first": u.first, "last": u.last,
                    "role": u.role.as_str(), "verified": u.verified, "status": u.status.as_str(),
                    "created": at(u.created), "activity": at(u.activity),
                "active": u.active, "externalId": u.external_id,
                })
            })
        }
        Some("device") if kind == "device.created" => {
            super::devices::find(conn, target)?.map(|d| {
                json!({
                    "id": d.id, "accountId": d.account_id, "name": d.name,
                    "created": at(d.created),
                })
            })
        }
        Some("group") if kind == "group.created" => super::groups::find(conn, account, target)?
            .map(|g| {
                json!({
                    "id": g.id, "accountId": g.account_id,
                    "labels": serde_json::from_str::<serde_json::Value>(&g.labels)
                        .unwrap_or_default(),
                    "created": at(g.created),
                })
            }),
        // `group/user`; a member removed has no roles left.
        Some("membership") => match target.split_once('/') {
            Some((group, user)) => {
                let roles = super::groups::membership(conn, account, group, user)?
                    .and_then(|m| serde_json::from_str::<serde_json::Value>(&m.roles).ok())
                    .unwrap_or_else(|| json!([]));
                Some(json!({
                    "accountId": e.account_id, "groupId": group, "userId": user, "roles": roles,
                }))
            }
            None => None,
        },
        Some("token") if kind == "token.created" => super::pats::find(conn, target)?.map(|p| {
            // The token's facts, never its secret or hash.
            json!({
                "id": p.id, "userId": p.user_id, "description": p.description,
                "created": at(p.created), "expiresAt": p.expires_at.map(at),
            })
        }),
        Some("session") => match super::sessions::find(conn, target)? {
            Some(s) => Some(json!({
                "id": s.id, "userId": s.user_id, "created": at(s.created),
                "lastUsed": at(s.last_used), "ip": s.ip, "userAgent": s.user_agent, "mfa": s.mfa,
            })),
            // A logout everywhere (or with a personal access token) names the user: every
            // session of it ended, not one.
            None => super::users::find(conn, target)?
                .map(|u| json!({"id": null, "userId": u.id, "accountId": u.account_id})),
        },
        _ => None,
    };
    let value = value.unwrap_or_else(|| json!({"id": target, "accountId": e.account_id}));
    Ok(value.to_string())
}

/// The id a target names: the target itself, or the id of a change recorded as
/// `id: before -> after`.
fn subject(target: &str) -> &str {
    target.split_once(": ").map_or(target, |(id, _)| id)
}

/// Write the event of an audited change (`entry`), in its transaction.
pub fn record(conn: &mut DbConn, entry: &super::audit::Entry) -> QueryResult<()> {
    let kind = type_of(&entry.action);
    let data = snapshot(conn, &kind, entry)?;
    insert(
        conn,
        &NewEvent {
            id: &format!("evt_{}", entry.id.replace('-', "")),
            kind: &kind,
            occurred_at: entry.created,
            account_id: entry.account_id.as_deref(),
            account_path: entry.account_path.as_deref(),
            actor_id: entry.actor_id.as_deref(),
            request_id: entry.request_id.as_deref(),
            data: &data,
        },
    )
}

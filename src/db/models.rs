//! Rows as stored.

use super::schema::{accounts, plans, users};
use crate::domain::{Role, UserStatus};
use chrono::Utc;
use diesel::prelude::*;

/// Stored times are microseconds since the epoch, so lists keep creation order.
pub fn now() -> i64 {
    Utc::now().timestamp_micros()
}

/// A stored time as RFC 3339 UTC with whole seconds, e.g. `2026-11-22T10:42:36Z`.
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Token times (`iat`, `exp`) are whole seconds, as JWT has them.
pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_lower: Option<String>,
    pub plan_id: String,
    pub parent_id: Option<String>,
    pub device_seats: i64,
    pub used_devices: i64,
    pub suspended: bool,
    pub closed: bool,
    pub created: i64,
    pub activity: i64,
    /// Its users, and those of every descendant, log in with a second factor.
    pub require_mfa: bool,
}

#[cfg(test)]
impl Account {
    /// An open account with no seats, for the unit tests of the tree.
    pub fn sample(id: &str, parent: Option<&str>, created: i64) -> Account {
        Account {
            id: id.into(),
            name: id.into(),
            email: None,
            email_lower: None,
            plan_id: "default".into(),
            parent_id: parent.map(Into::into),
            device_seats: 0,
            used_devices: 0,
            suspended: false,
            closed: false,
            created,
            activity: created,
            require_mfa: false,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub email_lower: String,
    pub username: Option<String>,
    pub username_lower: Option<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub role: Role,
    pub preferences: String,
    pub verified: bool,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub token_version: i64,
    pub created: i64,
    pub activity: i64,
    /// False: deactivated (no login, every credential ended) until made active again.
    pub active: bool,
    /// The provisioning directory's id for the user (SCIM `externalId`), unique per account.
    pub external_id: Option<String>,
    /// When the user last changed (SCIM `meta.lastModified`).
    pub modified: i64,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = plans)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub plan_data: String,
    pub created: i64,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = super::schema::devices)]
pub struct Device {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created: i64,
}

//! Rows as stored, and their JSON shapes as the contract names them.

use super::schema::{accounts, plans, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// Stored times are microseconds since the epoch, so lists keep creation order.
pub fn now() -> i64 {
    Utc::now().timestamp_micros()
}

/// Token times (`iat`, `exp`) are whole seconds, as JWT has them.
pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// A stored time as RFC 3339 UTC with whole seconds, e.g. `2026-11-22T10:42:36Z`.
pub fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Account)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub email: Option<String>,
    pub plan_id: String,
    #[schema(required = true)]
    pub parent_id: Option<String>,
    pub device_seats: i64,
    pub used_devices: i64,
    /// `deviceSeats - usedDevices`.
    pub free_seats: i64,
    pub suspended: bool,
    pub closed: bool,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub activity: String,
}

impl Account {
    pub fn view(&self) -> AccountView {
        self.clone().into_view()
    }

    /// The view, moving the strings (a tree of 100,000 accounts is not copied twice).
    pub fn into_view(self) -> AccountView {
        AccountView {
            id: self.id,
            name: self.name,
            email: self.email,
            plan_id: self.plan_id,
            parent_id: self.parent_id,
            device_seats: self.device_seats,
            used_devices: self.used_devices,
            free_seats: self.device_seats - self.used_devices,
            suspended: self.suspended,
            closed: self.closed,
            created: rfc3339(self.created),
            activity: rfc3339(self.activity),
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
    pub role: String,
    pub preferences: String,
    pub verified: bool,
    pub status: String,
    pub password_hash: Option<String>,
    pub token_version: i64,
    pub created: i64,
    pub activity: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserView {
    pub id: String,
    pub account_id: String,
    pub email: String,
    #[schema(required = true)]
    pub username: Option<String>,
    #[schema(required = true)]
    pub first: Option<String>,
    #[schema(required = true)]
    pub last: Option<String>,
    pub role: String,
    /// Free-form JSON object set with `/user/update`.
    #[schema(value_type = Object)]
    pub preferences: Value,
    pub verified: bool,
    pub status: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub activity: String,
}

impl User {
    /// The public shape: never the password hash nor the token version.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            account_id: self.account_id.clone(),
            email: self.email.clone(),
            username: self.username.clone(),
            first: self.first.clone(),
            last: self.last.clone(),
            role: self.role.clone(),
            preferences: serde_json::from_str(&self.preferences)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            verified: self.verified,
            status: self.status.clone(),
            created: rfc3339(self.created),
            activity: rfc3339(self.activity),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = plans)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub plan_data: String,
    pub created: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Plan)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    #[schema(value_type = crate::api::accounts::PlanData)]
    pub plan_data: Value,
}

impl Plan {
    pub fn view(&self) -> PlanView {
        PlanView {
            id: self.id.clone(),
            name: self.name.clone(),
            plan_data: serde_json::from_str(&self.plan_data).unwrap_or(Value::Null),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = super::schema::devices)]
pub struct Device {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Device)]
pub struct DeviceView {
    pub id: String,
    pub account_id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created: String,
}

impl Device {
    pub fn view(&self) -> DeviceView {
        DeviceView {
            id: self.id.clone(),
            account_id: self.account_id.clone(),
            name: self.name.clone(),
            created: rfc3339(self.created),
        }
    }
}

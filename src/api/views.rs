//! The JSON shapes of the stored rows, as the contract names them (and the OpenAPI schemas
//! that describe them). Times are RFC 3339 UTC with whole seconds.

use crate::db::audit::Entry;
use crate::db::groups::{Group, Membership};
use crate::db::models::{Account, Device, Plan, User};
use crate::db::pats::Pat;
use crate::service::groups::MAX_LABELS;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

pub use crate::db::models::rfc3339;

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
    /// Its users (and those of its descendants) must log in with a second factor. The
    /// account's own flag; an ancestor's applies too.
    pub require_mfa: bool,
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
            require_mfa: self.require_mfa,
        }
    }
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
    /// False: deactivated (cannot log in; every credential it had is ended).
    pub active: bool,
    /// The provisioning directory's id for the user (SCIM `externalId`).
    #[schema(required = true)]
    pub external_id: Option<String>,
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
            role: self.role.to_string(),
            preferences: serde_json::from_str(&self.preferences)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            verified: self.verified,
            status: self.status.as_str().to_string(),
            created: rfc3339(self.created),
            activity: rfc3339(self.activity),
            active: self.active,
            external_id: self.external_id.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Plan)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    #[schema(value_type = super::plans::PlanData)]
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

/// One change, as the API shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditEntry)]
pub struct EntryView {
    pub id: String,
    #[schema(format = DateTime)]
    pub time: String,
    /// The user who made the change; `null` for the system or a public route.
    #[schema(required = true)]
    pub actor_id: Option<String>,
    /// The account the change affects.
    #[schema(required = true)]
    pub account_id: Option<String>,
    pub action: String,
    /// What it touched (a user, account, token, group or device id).
    #[schema(required = true)]
    pub target: Option<String>,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub request_id: Option<String>,
}

impl Entry {
    pub fn view(&self) -> EntryView {
        EntryView {
            id: self.id.clone(),
            time: rfc3339(self.created),
            actor_id: self.actor_id.clone(),
            account_id: self.account_id.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TokenInfo)]
pub struct PatView {
    pub id: String,
    pub description: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub last_used: Option<String>,
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub expires_at: Option<String>,
}

impl Pat {
    pub fn view(&self) -> PatView {
        PatView {
            id: self.id.clone(),
            description: self.description.clone(),
            created: rfc3339(self.created),
            last_used: self.last_used.map(rfc3339),
            expires_at: self.expires_at.map(rfc3339),
        }
    }
}

/// A login session (`GET /v1/sessions`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LoginSession)]
pub struct SessionView {
    /// The session's id (the access tokens' `sid`).
    pub id: String,
    #[schema(format = DateTime)]
    pub created: String,
    /// Updated at most once a minute.
    #[schema(format = DateTime)]
    pub last_used: String,
    /// The client address it started from.
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// Whether a second factor was used.
    pub mfa: bool,
    /// The OAuth client its tokens were issued to, if a client authenticated.
    #[schema(required = true)]
    pub client_id: Option<String>,
    /// Whether the token of this request belongs to it.
    pub current: bool,
}

impl crate::service::sessions::Listed {
    pub fn view(&self) -> SessionView {
        let r = &self.row;
        SessionView {
            id: r.id.clone(),
            created: rfc3339(r.created),
            last_used: rfc3339(r.last_used),
            ip: r.ip.clone(),
            user_agent: r.user_agent.clone(),
            mfa: r.mfa,
            client_id: r.client_id.clone(),
            current: self.current,
        }
    }
}

/// The schema of `labels` (the component `Labels`): a flat object of strings, as
/// `parse_labels` accepts it.
pub struct LabelsSchema;

impl utoipa::PartialSchema for LabelsSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Flat string labels: names 1-64 characters of A-Z a-z 0-9 . _ -, values up to 256 \
                 characters; at most 64.",
            ))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9._-]{1,64}$")),
            ))
            .additional_properties(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(256)),
            ))
            .max_properties(Some(MAX_LABELS))
            .into()
    }
}

impl utoipa::ToSchema for LabelsSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Labels")
    }
}

/// A group of an account.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Group)]
pub struct GroupView {
    pub id: String,
    pub account_id: String,
    #[schema(value_type = LabelsSchema)]
    pub labels: Value,
    #[schema(format = DateTime)]
    pub created: String,
}

impl Group {
    pub fn view(&self) -> GroupView {
        let labels: Value = serde_json::from_str(&self.labels).unwrap_or_else(|_| json!({}));
        GroupView {
            id: self.id.clone(),
            account_id: self.account_id.clone(),
            labels,
            created: rfc3339(self.created),
        }
    }
}

/// A member of a group and its roles in it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Member)]
pub struct MemberView {
    pub user_id: String,
    /// Role names, sorted, without repeats.
    pub roles: Vec<String>,
}

impl Membership {
    pub fn view(&self) -> MemberView {
        MemberView {
            user_id: self.user_id.clone(),
            roles: self.roles(),
        }
    }
}

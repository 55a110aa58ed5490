//! The use cases: one function per thing a caller can do, owning its transaction, its audit
//! entry and (after the commit) its mail. Transports (REST handlers, RPC frames) parse, call one
//! of these, and render; nothing here knows HTTP.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod bootstrap;
pub mod clients;
pub mod codes;
pub mod delivery;
pub mod devices;
pub mod events;
pub mod groups;
pub mod keys;
pub mod mfa;
pub mod plans;
pub mod registration;
pub mod scim;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod tree;
pub mod users;
pub mod webhooks;

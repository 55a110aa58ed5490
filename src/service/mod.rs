//! The rules: who may do what, and the multi-row changes, each in one transaction.

pub mod access;
pub mod accounts;
pub mod auth;
pub mod codes;
pub mod devices;
pub mod groups;
pub mod throttle;
pub mod tokens;
pub mod tree;
pub mod users;

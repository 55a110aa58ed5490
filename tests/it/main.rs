//! One integration binary: every test starts the real server and talks HTTP to it.

mod accounts;
mod auth;
mod clients;
mod common;
mod console;
mod events;
mod flows;
mod fuzz;
mod groups;
mod keys;
mod layers;
mod lifecycle;
mod mfa;
mod oauth;
mod ops;
mod rpc;
mod scim;
mod security;
mod sessions;
mod tokens;
mod tree;
mod users;
mod webhooks;

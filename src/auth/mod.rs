//! Credentials, with no HTTP in them: the transports read a credential off their
//! request and hand it to `authenticate`.

pub mod credential;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod totp;

pub use credential::{authenticate, About, Caller, Credential, Presented, PAT_PREFIX};

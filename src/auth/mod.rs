//! Credentials and roles, with no HTTP in them: the transports read a credential off their
//! request and hand it to `authenticate`.

pub mod credential;
pub mod jwt;
pub mod password;

pub use credential::{authenticate, About, Caller, Credential, Presented, PAT_PREFIX};

use std::fmt;

/// Roles, lowest first; `Ord` follows the contract's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Public,
    User,
    Admin,
    Owner,
}

impl Role {
    /// A role a user can hold (`public` is the absence of credentials, never stored).
    pub fn parse_assignable(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::User => "user",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_lowest_first() {
        assert!(Role::Public < Role::User && Role::User < Role::Admin && Role::Admin < Role::Owner);
        assert_eq!(Role::parse_assignable("admin"), Some(Role::Admin));
        assert_eq!(Role::parse_assignable("public"), None);
        assert_eq!(Role::parse_assignable("Admin"), None);
    }
}

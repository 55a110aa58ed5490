//! Values parsed once: whatever holds one of these holds a valid one, so no rule is checked
//! twice. Each rule is written here and nowhere else; the request bodies (`api`) name them in
//! their validation, and the rows store `Role` and `UserStatus` as the text the contract uses.

use std::fmt;

/// The longest email or login name accepted anywhere, in bytes.
pub const MAX_IDENTITY_BYTES: usize = 254;

/// The most seats an account may hold.
pub const MAX_SEATS: i64 = 1_000_000_000;

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

/// A stored role (what Diesel reads a `users.role` into).
impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Role, String> {
        Role::parse_assignable(&s).ok_or_else(|| format!("stored role invalid: {s:?}"))
    }
}

impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_string()
    }
}

/// Whether a user has chosen a password yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// Invited: no password until the invitation is accepted.
    Invited,
    Active,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
        }
    }
}

impl TryFrom<String> for UserStatus {
    type Error = String;
    fn try_from(s: String) -> Result<UserStatus, String> {
        match s.as_str() {
            "invited" => Ok(UserStatus::Invited),
            "active" => Ok(UserStatus::Active),
            _ => Err(format!("stored status invalid: {s:?}")),
        }
    }
}

impl From<UserStatus> for String {
    fn from(s: UserStatus) -> String {
        s.as_str().to_string()
    }
}

/// The longest email address, in characters (RFC 5321's 254).
pub const MAX_EMAIL_CHARS: u64 = 254;

/// An email address: the validator crate's rule (RFC 5321/5322 shape, HTML5's email input), at
/// most `MAX_EMAIL_CHARS` characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const INVALID: &'static str = "not a valid email address";

    /// The shape alone (request bodies check the length beside it, with its own message).
    pub fn has_shape(s: &str) -> bool {
        validator::ValidateEmail::validate_email(&s)
    }

    pub fn parse(s: String) -> Result<Email, &'static str> {
        if s.chars().count() as u64 <= MAX_EMAIL_CHARS && Email::has_shape(&s) {
            Ok(Email(s))
        } else {
            Err(Email::INVALID)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// A username: 1 to 64 characters, no `@` (so a login name is never mistaken for an email),
/// no spaces or control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const INVALID: &'static str =
        "must be 1 to 64 characters without '@', spaces or control characters";

    pub fn parse(s: String) -> Result<Username, &'static str> {
        let n = s.chars().count();
        if (1..=64).contains(&n)
            && !s
                .chars()
                .any(|c| c == '@' || c.is_whitespace() || c.is_control())
        {
            Ok(Username(s))
        } else {
            Err(Username::INVALID)
        }
    }
}

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

/// A number of device seats: 0 to `MAX_SEATS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seats(i64);

impl Seats {
    pub const ZERO: Seats = Seats(0);

    pub fn parse(n: i64) -> Result<Seats, String> {
        if (0..=MAX_SEATS).contains(&n) {
            Ok(Seats(n))
        } else {
            Err(format!("must be between 0 and {MAX_SEATS}"))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Whether text holds no control character (Unicode Cc) and no invisible format character
/// (Cf: zero-width spaces and joiners, direction marks and overrides, the BOM, ...), which would
/// let `adm\u{200b}in` display as `admin`.
pub fn is_plain_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_format(c))
}

/// Unicode's general category Cf (format characters), as of Unicode 15.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// A name to log in with (an email or a username) as presented: 1 to 254 bytes. Anything
/// longer can name no user.
pub fn is_login_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_IDENTITY_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_lowest_first() {
        assert!(Role::Public < Role::User && Role::User < Role::Admin && Role::Admin < Role::Owner);
        assert_eq!(Role::parse_assignable("admin"), Some(Role::Admin));
        assert_eq!(Role::parse_assignable("public"), None);
        assert_eq!(Role::parse_assignable("Admin"), None);
        assert!(Role::try_from("public".to_string()).is_err());
        assert_eq!(String::from(Role::Owner), "owner");
    }

    #[test]
    fn each_rule_holds_at_its_edges() {
        assert!(Email::parse("a@b.example".into()).is_ok());
        assert!(Email::parse("nope".into()).is_err());
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(long.len(), 255);
        assert!(Email::parse(long).is_err());
        assert!(Username::parse("ada".into()).is_ok());
        for bad in ["", "a@b", "a b", "a\u{7}", &"x".repeat(65)] {
            assert!(Username::parse(bad.into()).is_err(), "{bad:?}");
        }
        assert_eq!(Seats::parse(MAX_SEATS).map(Seats::get), Ok(MAX_SEATS));
        assert!(Seats::parse(-1).is_err() && Seats::parse(MAX_SEATS + 1).is_err());
        assert!(is_login_name("x") && !is_login_name("") && !is_login_name(&"x".repeat(255)));
        assert!(is_plain_text("Café Ltd — 東京"));
        for bad in ["adm\u{200b}in", "a\u{7}", "x\u{202e}y", "\u{feff}z", "a\nb"] {
            assert!(!is_plain_text(bad), "{bad:?}");
        }
    }
}

//! Resource IDs: server-made UUIDs, or a caller's own (1-64 chars of `[A-Za-z0-9._-]`) for imports.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The caller's `id` if valid, else a new UUID; a bad one is reported under `field`.
pub fn chosen_or_new(id: Option<&str>, field: &str, errors: &mut Vec<String>) -> String {
    match id {
        None => new_id(),
        Some(id) if is_valid_id(id) => id.to_string(),
        Some(_) => {
            errors.push(format!(
                "{field}: must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"
            ));
            new_id()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_against_the_allowed_alphabet() {
        assert!(is_valid_id("acct-1.imported_2"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("a/b"));
        assert!(!is_valid_id("a b"));
        assert!(is_valid_id(&new_id()));
    }
}

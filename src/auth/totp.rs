//! TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, as every authenticator app reads an
//! `otpauth://` URI) and recovery codes. The codes come from `totp-rs`, the QR code from
//! `qrcode`; this module only chooses the parameters and the accepted window.

use crate::secrets::constant_time_eq;
use qrcode::render::svg;
use qrcode::QrCode;
use totp_rs::{Algorithm, Secret, TOTP};

const DIGITS: usize = 6;
const STEP: u64 = 30;
/// Steps accepted either side of now (clock skew).
const SKEW: i64 = 1;

/// A new secret: 160 random bits (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    bytes
}

/// The secret as authenticator apps take it typed in: base32 without padding.
pub fn encoded(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec())
        .to_encoded()
        .to_string()
        .trim_end_matches('=')
        .to_string()
}

fn totp(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP, secret.to_vec())
}

/// The code for the step holding `unix_secs` (for tests and benchmarks).
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    totp(secret).generate(unix_secs)
}

/// The time step `code` is right for, within one step of `unix_secs`, and only if it is
/// after `after` (the last step accepted: a code is good once). Every candidate is compared,
/// in constant time.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: i64, after: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_secs / STEP as i64;
    let t = totp(secret);
    let mut found = None;
    for step in now - SKEW..=now + SKEW {
        if step <= after || step < 0 {
            continue;
        }
        if constant_time_eq(&t.generate(step as u64 * STEP), code) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// `otpauth://totp/<issuer>:<account>?secret=...&issuer=...` (Google's Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        encoded(secret),
        enc(issuer)
    )
}

/// The URI as a QR code, an SVG document (no script, no external reference).
pub fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A URI of a few hundred bytes always fits a QR code; no picture is no harm.
        Err(_) => String::new(),
    }
}

/// Ten recovery codes, `xxxx-xxxx-xxxx-xxxx` of lowercase base32: 80 random bits each, so
/// their SHA-256 hashes cannot be searched through.
pub fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 10];
            getrandom::fill(&mut bytes).expect("the OS random generator is available");
            let text = encoded(&bytes).to_lowercase();
            let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
            groups.join("-")
        })
        .collect()
}

/// A recovery code as typed, in the form its hash was taken of: lowercase, no spaces.
pub fn normalized_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_follow_rfc_6238s_test_vectors() {
        // RFC 6238 appendix B, SHA-1, the last six of the eight digits.
        assert_eq!(code_at(RFC_SECRET, 59), "287082");
        assert_eq!(code_at(RFC_SECRET, 1111111109), "081804");
        assert_eq!(code_at(RFC_SECRET, 2000000000), "279037");
    }

    #[test]
    fn a_code_matches_within_one_step_and_only_after_the_last_one_used() {
        let now = 1_111_111_109;
        let step = now / 30;
        let code = code_at(RFC_SECRET, now as u64);
        assert_eq!(matching_step(RFC_SECRET, &code, now, 0), Some(step));
        assert_eq!(matching_step(RFC_SECRET, &code, now + 30, 0), Some(step));
        assert_eq!(matching_step(RFC_SECRET, &code, now - 30, 0), Some(step));
        assert_eq!(matching_step(RFC_SECRET, &code, now + 60, 0), None);
        assert_eq!(matching_step(RFC_SECRET, &code, now, step), None);
        assert_eq!(matching_step(RFC_SECRET, "12345", now, 0), None);
        assert_eq!(matching_step(RFC_SECRET, "abcdef", now, 0), None);
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret() {
        let uri = otpauth_uri("accountd", "ada@example.com", RFC_SECRET);
        assert!(uri.starts_with("otpauth://totp/accountd:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=accountd"), "{uri}");
        let svg = qr_svg(&uri);
        assert!(svg.contains("<svg") && !svg.contains("<script"), "{svg}");
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes
            .iter()
            .all(|c| c.len() == 19 && c.as_bytes()[4] == b'-'));
        assert_eq!(normalized_recovery(" ABCDE-fghij "), "abcde-fghij");
    }
}

//! The secrets of sign-in: Argon2id password hashes, and the random values handed out as
//! session cookies, CSRF tokens, API tokens and one-time passwords, kept only as SHA-256.
//!
//! SHA-256 is enough for the random values (256 bits from the OS; nothing to guess), and lets
//! the store find a token by its hash. Passwords are chosen by people, so they get Argon2id
//! with the RustCrypto defaults (19 MiB, 2 passes), OWASP's recommendation.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// Shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted: hashing is costly, and nobody types more.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// What every API token starts with, so secret scanners and people can tell one.
pub const TOKEN_PREFIX: &str = "ndl_";

/// `bytes` random bytes from the operating system, as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    hex(&buf)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The hash a random value is kept and looked up by.
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// A new API token (shown once; store [`sha256_hex`] of it).
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_hex(32))
}

/// A password made up for someone: 20 characters from an alphabet without look-alikes,
/// about 115 bits.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 20];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    // 256 is not a multiple of 55: the first 36 letters come up 1/256 more often, which
    // costs well under a bit of the 115.
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Why a chosen password is refused, if it is.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters (this one has {chars})"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "a password may have at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}

/// The Argon2id PHC string of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("Argon2id with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches the stored PHC string; a malformed one matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the email is unknown, so that an unknown address takes as
/// long to refuse as a wrong password and sign-in does not reveal who has an account.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&new_password()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify_only_themselves() {
        let phc = hash_password("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(phc, hash_password("correct horse battery"), "salted");
    }

    #[test]
    fn made_up_secrets_are_long_random_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        let p = new_password();
        assert_eq!(p.chars().count(), 20);
        assert!(check_new_password(&p).is_ok());
        assert_ne!(p, new_password());
        assert_eq!(sha256_hex("abc").len(), 64);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn short_and_huge_passwords_are_refused_with_the_reason() {
        let short = check_new_password("short").unwrap_err();
        assert!(
            short.contains("at least 12") && short.contains("has 5"),
            "{short}"
        );
        assert!(check_new_password(&"x".repeat(2000)).is_err());
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}

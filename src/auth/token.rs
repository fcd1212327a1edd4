//! Random secrets (session ids, links, API tokens) and their stored hashes.
//!
//! A secret has 256 random bits and is shown once. The database stores only its SHA-256, so a
//! copy of the database cannot be used to sign in or answer a questionnaire.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Creates a URL-safe random secret with 256 bits of entropy, optionally with a prefix that
/// identifies its kind (`vrp_` for API tokens).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Returns the hex SHA-256 of a secret, the form in which it is stored and looked up.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter()
        .zip(b)
        .fold(0u8, |difference, (x, y)| difference | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_is_random_and_prefixed() {
        let first = generate("vrp_");
        let second = generate("vrp_");
        assert!(first.starts_with("vrp_"));
        assert_ne!(first, second);
        assert_eq!(first.len(), 4 + 43, "32 bytes in unpadded base64");
    }

    #[test]
    fn hash_is_stable_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}

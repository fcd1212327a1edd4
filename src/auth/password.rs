//! Password hashing with Argon2id.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in characters; bounds the hashing work per request.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password against the policy.
///
/// # Errors
/// Returns a message that says what to change.
pub fn check_policy(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters; a few unrelated words make a strong password that is easy to remember."
        ));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    if password.trim().chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters that are not spaces."
        ));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("Do not use your e-mail address as your password.".to_owned());
    }
    Ok(())
}

/// Hashes a password with Argon2id and a random salt (the argon2 crate's defaults: 19 MiB of
/// memory, 2 passes, one lane, as OWASP recommends). Call it from a blocking thread.
///
/// # Errors
/// Fails only if the hasher rejects its parameters.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("Failed to hash a password: {error}"))?;
    Ok(hash.to_string())
}

/// Checks a password against a stored hash. Call it from a blocking thread.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Returns the hash of a random password. Sign-in verifies against it when the e-mail address
/// is unknown, so that a failed sign-in takes the same time whether or not the account exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        hash(&crate::auth::token::generate("")).expect("hashing a random password succeeds")
    });
    &DECOY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("correct horse battery stapl", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn policy_rejects_short_and_email() {
        assert!(check_policy("short", "a@example.org").is_err());
        assert!(check_policy("ann@example.org", "ann@example.org").is_err());
        assert!(check_policy("four random words here", "a@example.org").is_ok());
        assert!(
            check_policy("             ", "a@example.org").is_err(),
            "spaces only"
        );
    }
}

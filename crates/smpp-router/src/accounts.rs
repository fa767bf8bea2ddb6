//! Customer credentials: passwords are kept as Argon2 hashes and checked in constant time (the
//! Argon2 verifier compares digests that way), so neither the config file nor a timing
//! difference gives a password away.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;

/// True when `s` is a PHC string of an Argon2 hash.
pub fn is_password_hash(s: &str) -> bool {
    PasswordHash::new(s).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

/// Hashes a password for the config file (`smpp-router hash-password`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_or_else(|e| format!("(hashing failed: {e})"), |h| h.to_string())
}

/// True when `password` matches `hash`; false for a wrong password or an unreadable hash.
pub fn verify_password(hash: &str, password: &[u8]) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_reject() {
        let h = hash_password("s3cret");
        assert!(is_password_hash(&h), "{h}");
        assert!(verify_password(&h, b"s3cret"));
        assert!(!verify_password(&h, b"s3cres"));
        assert!(!verify_password("plain", b"plain"));
        assert!(!is_password_hash("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA"));
        // Each hash has its own salt.
        assert_ne!(h, hash_password("s3cret"));
    }
}

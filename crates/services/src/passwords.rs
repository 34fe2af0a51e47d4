//! Staff passwords: argon2id hashes with a random salt, PHC strings at rest.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use thaw_domain::Invalid;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

/// Refuses passwords that are too short or too long to hash sensibly.
pub fn check_strength(password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(Invalid::new(
            "password",
            "password_too_short",
            format!("a password needs at least {MIN_LEN} characters"),
        ));
    }
    if password.len() > MAX_LEN {
        return Err(Invalid::new("password", "password_too_long", format!("a password is at most {MAX_LEN} bytes")));
    }
    Ok(())
}

pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2id with default parameters").to_string()
}

/// Whether `password` matches the stored PHC hash. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A generated password for a new staff member: 20 characters from an unambiguous alphabet.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("random source");
    // 256 is not a multiple of 55, but the bias of one modulo over 20 characters is immaterial next to 114 bits.
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not-a-hash"));
        assert_ne!(hash("correct horse battery"), h, "salts differ");
    }

    #[test]
    fn generated_passwords_are_long_and_pass_the_strength_check() {
        let a = generate();
        assert_eq!(a.chars().count(), 20);
        assert!(check_strength(&a).is_ok());
        assert_ne!(a, generate());
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert_eq!(check_strength("short").unwrap_err().code, "password_too_short");
        assert_eq!(check_strength(&"x".repeat(300)).unwrap_err().code, "password_too_long");
    }
}

//! SCRAM-SHA-256 password verifiers in PostgreSQL's text form,
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802,
//! RFC 7677): made from a password when a role's password is set, parsed
//! when a client authenticates. The server can check a client's proof
//! against a verifier but cannot recover the password from it. A verifier
//! given as the password (what psql's `\password` and `pg_dump` send) is
//! kept as it is.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SecureRandom;
use std::borrow::Cow;
use std::num::NonZeroU32;

/// SCRAM iterations of verifiers made here (PostgreSQL's default).
const SCRAM_ITERATIONS: u32 = 4096;
const SCRAM_SALT_LEN: usize = 16;

/// What a stored password becomes: a verifier as it is, anything else
/// hashed into a new SCRAM-SHA-256 verifier with a random salt. An MD5
/// hash is refused (PrismDB authenticates with SCRAM only).
pub fn verifier(password: &str) -> Result<String> {
    if parse(password).is_some() {
        return Ok(password.to_string());
    }
    if password.len() == 35
        && password.starts_with("md5")
        && password[3..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(Error::NotSupported(
            "MD5 password hashes are not supported; give the password or a SCRAM-SHA-256 verifier"
                .into(),
        ));
    }
    let mut salt = [0u8; SCRAM_SALT_LEN];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| Error::Internal("no random numbers for a password salt".into()))?;
    Ok(make_verifier(password, &salt, SCRAM_ITERATIONS))
}

/// The verifier of `password` with a given salt and iteration count.
pub fn make_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    // PostgreSQL applies SASLprep, and uses the raw bytes when it fails.
    let normalized = stringprep::saslprep(password).unwrap_or(Cow::Borrowed(password));
    let mut salted = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN),
        salt,
        normalized.as_bytes(),
        &mut salted,
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &salted);
    let client_key = ring::hmac::sign(&key, b"Client Key");
    let stored_key = ring::digest::digest(&ring::digest::SHA256, client_key.as_ref());
    let server_key = ring::hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key.as_ref()),
        BASE64.encode(server_key.as_ref())
    )
}

/// The parts of a SCRAM-SHA-256 verifier: salt, iterations, StoredKey and
/// ServerKey; `None` if `text` is not one.
pub fn parse(text: &str) -> Option<ScramVerifier> {
    let rest = text.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    let verifier = ScramVerifier {
        iterations: iterations.parse().ok().filter(|&i| i > 0)?,
        salt: BASE64.decode(salt).ok()?,
        stored_key: BASE64.decode(stored).ok()?,
        server_key: BASE64.decode(server).ok()?,
    };
    (verifier.stored_key.len() == 32 && verifier.server_key.len() == 32).then_some(verifier)
}

/// A decoded SCRAM-SHA-256 verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: usize,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

//! Password authentication: the server side of SCRAM-SHA-256 (RFC 5802,
//! RFC 7677) as PostgreSQL speaks it over SASL messages.
//!
//! A [`ScramLogin`] follows one client through the exchange: the
//! mechanism list goes out with the start-up reply, the client-first
//! message is answered with the server-first one (salt, iterations, nonce),
//! and the client-final message's proof is checked against the stored
//! verifier (never a password). The cryptography is pgwire's; what is ours
//! is reading the client's messages without trusting their lengths, and
//! refusing unknown roles and roles without a password the same way as a
//! wrong password (28P01), after a full exchange against a made-up
//! verifier, so a client cannot probe which roles exist.

use bytes::{Buf, Bytes};
use pgwire::api::auth::sasl::scram::{
    ScramSecret, ScramServerAuth, ScramServerAuthWaitingForClientFinal,
};
use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_FATAL};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use prismdb_common::scram;

/// The only SASL mechanism offered (no channel binding).
pub(crate) const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// Where a SCRAM login stands.
enum Stage {
    /// Waiting for SASLInitialResponse.
    First,
    /// Waiting for SASLResponse with the proof.
    Final(Box<ScramServerAuthWaitingForClientFinal>),
}

/// One client's SCRAM exchange.
pub(crate) struct ScramLogin {
    user: String,
    /// The role's verifier; `None` runs the exchange against a made-up one
    /// and fails at the end.
    verifier: Option<scram::ScramVerifier>,
    stage: Stage,
}

/// What the exchange asks of the server next.
pub(crate) enum Step {
    /// Send this and wait for the client's next message.
    Continue(Authentication),
    /// The client proved the password: send this, then AuthenticationOk.
    Done(Authentication),
}

impl ScramLogin {
    pub(crate) fn new(user: &str, verifier: Option<String>) -> ScramLogin {
        ScramLogin {
            user: user.to_string(),
            verifier: verifier.as_deref().and_then(scram::parse),
            stage: Stage::First,
        }
    }

    /// The message that starts the exchange.
    pub(crate) fn request() -> Authentication {
        Authentication::SASL(vec![SCRAM_SHA_256.to_string()])
    }

    /// Takes the client's next password message.
    pub(crate) fn step(&mut self, message: PasswordMessageFamily) -> Result<Step, PgWireError> {
        let body = raw(message)?;
        match std::mem::replace(&mut self.stage, Stage::First) {
            Stage::First => {
                let (mechanism, data) = initial_response(body)
                    .ok_or_else(|| protocol("invalid SASLInitialResponse message"))?;
                if mechanism != SCRAM_SHA_256 {
                    return Err(protocol(
                        "client selected an invalid SASL authentication mechanism",
                    ));
                }
                let secret = match &self.verifier {
                    Some(v) => ScramSecret::Verifier {
                        salt: v.salt.clone(),
                        iterations: v.iterations,
                        stored_key: v.stored_key.clone(),
                        server_key: v.server_key.clone(),
                    },
                    None => mock_secret(&self.user),
                };
                let (server_first, waiting) = ScramServerAuth::new()
                    .on_client_first_message_with_secret(&data, secret)
                    .map_err(|e| self.failed(e))?;
                self.stage = Stage::Final(Box::new(waiting));
                Ok(Step::Continue(Authentication::SASLContinue(Bytes::from(
                    server_first,
                ))))
            }
            Stage::Final(waiting) => {
                let server_final = waiting
                    .on_client_final_message(&body)
                    .map_err(|e| self.failed(e))?;
                if self.verifier.is_none() {
                    return Err(self.failed(PgWireError::InvalidPassword(self.user.clone())));
                }
                Ok(Step::Done(Authentication::SASLFinal(Bytes::from(
                    server_final,
                ))))
            }
        }
    }

    /// PostgreSQL's answer to any failed exchange: the same FATAL 28P01,
    /// whatever went wrong (the detail goes to the log only).
    fn failed(&self, e: PgWireError) -> PgWireError {
        tracing::debug!(user = %self.user, "password authentication failed: {e}");
        fatal(
            "28P01",
            format!("password authentication failed for user \"{}\"", self.user),
        )
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        SEVERITY_FATAL.to_owned(),
        code.to_owned(),
        message,
    )))
}

fn protocol(message: &str) -> PgWireError {
    fatal("08P01", message.to_string())
}

/// The body of a password message as sent.
fn raw(message: PasswordMessageFamily) -> Result<Bytes, PgWireError> {
    match message {
        PasswordMessageFamily::Raw(body) => Ok(body.freeze()),
        PasswordMessageFamily::SASLResponse(r) => Ok(r.data),
        _ => Err(protocol("unexpected password message")),
    }
}

/// A SASLInitialResponse body: the mechanism name, then the length of the
/// client-first message (-1: none) and the message itself.
fn initial_response(mut body: Bytes) -> Option<(String, Bytes)> {
    let end = body.iter().position(|&b| b == 0)?;
    let mechanism = String::from_utf8(body.split_to(end).to_vec()).ok()?;
    body.advance(1);
    if body.remaining() < 4 {
        return None;
    }
    let len = body.get_i32();
    if len < 0 || len as usize != body.remaining() {
        return None;
    }
    Some((mechanism, body))
}

/// A verifier no password matches, stable per user name (as PostgreSQL's
/// `scram_mock_salt`), so repeated probes see the same salt.
fn mock_secret(user: &str) -> ScramSecret {
    let digest = ring::digest::digest(&ring::digest::SHA256, user.as_bytes());
    let salt = digest.as_ref()[..16].to_vec();
    let mut unguessable = [0u8; 32];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut unguessable);
    ScramSecret::Verifier {
        salt,
        iterations: 4096,
        stored_key: unguessable.to_vec(),
        server_key: unguessable.to_vec(),
    }
}

//! Where CancelRequests find their session: every session of this server
//! under the process id and secret key of its BackendKeyData, and, for a
//! request naming none of them, the way to pass it on to the other members
//! of the cluster (a client behind a load balancer may send its cancel to
//! any member).

use crate::handler::Canceller;
use pgwire::messages::startup::SecretKey;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Passes a cancel request (process id, secret key) that named no local
/// session to the other members.
pub type ForwardCancel = Arc<dyn Fn(i32, Vec<u8>) + Send + Sync>;

/// The cancellable sessions of one server.
#[derive(Default)]
pub struct CancelRegistry {
    sessions: parking_lot::Mutex<HashMap<i32, (Vec<u8>, Canceller)>>,
    forward: OnceLock<ForwardCancel>,
}

/// The bytes of a secret key as the client sends them back.
pub(crate) fn secret_bytes(key: &SecretKey) -> Vec<u8> {
    match key {
        SecretKey::I32(v) => v.to_be_bytes().to_vec(),
        SecretKey::Bytes(b) => b.to_vec(),
    }
}

impl CancelRegistry {
    pub fn new() -> Arc<CancelRegistry> {
        Arc::new(CancelRegistry::default())
    }

    /// Sets where requests for sessions this server does not have go (once;
    /// later calls are ignored).
    pub fn forward_with(&self, forward: ForwardCancel) {
        let _ = self.forward.set(forward);
    }

    pub(crate) fn register(&self, pid: i32, secret: Vec<u8>, cancel: Canceller) {
        self.sessions.lock().insert(pid, (secret, cancel));
    }

    pub(crate) fn remove(&self, pid: i32) {
        self.sessions.lock().remove(&pid);
    }

    /// Cancels the running statement of the local session `pid` if `secret`
    /// is its key; says whether it was.
    pub fn cancel_local(&self, pid: i32, secret: &[u8]) -> bool {
        let cancel = match self.sessions.lock().get(&pid) {
            Some((key, cancel)) if key.as_slice() == secret => cancel.clone(),
            _ => return false,
        };
        cancel();
        true
    }

    /// A CancelRequest: the local session, or else the other members.
    pub(crate) fn request(&self, pid: i32, secret: Vec<u8>) {
        if self.cancel_local(pid, &secret) {
            return;
        }
        match self.forward.get() {
            Some(forward) => forward(pid, secret),
            None => tracing::debug!(pid, "cancel request for no known session"),
        }
    }
}

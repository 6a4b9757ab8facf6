//! Replication: one openraft log that is PrismDB's write-ahead log.
//!
//! Every committed transaction and every DDL statement is one entry of this
//! log; its index is the commit version in every engine that applies it.
//!
//! - [`types`]: the openraft type configuration, the member description and
//!   node ids derived from member names.
//! - [`log_store`]: the log and the vote in RocksDB column families of the
//!   node's one RocksDB instance; every append is one synced batch (group
//!   commit: openraft hands over all entries that queued up meanwhile).
//! - [`state_machine`]: applies committed entries through the [`Applier`]
//!   trait, which the node wires to the row store, and builds, stores and
//!   installs snapshots.
//! - [`network`] and [`service`]: node-to-node RPC over HTTP (reqwest client,
//!   axum server), bodies in bincode.
//! - [`replica`]: a running member: starting and bootstrapping it, proposing
//!   (forwarded to the leader when this node is not it), linearizable read
//!   points (read-index), and cluster status.
//!
//! The crate knows nothing of rows, tables or SQL: entries are opaque bytes.

// openraft's storage traits fix their error type (`StorageError`, over 200
// bytes); the helpers behind them return it too, so `?` carries it through.
#![allow(clippy::result_large_err)]

pub mod log_store;
pub mod network;
pub mod replica;
pub mod service;
pub mod state_machine;
pub mod types;

pub use log_store::{LogStats, LogStore, column_families};
pub use replica::{ClusterState, MemberStatus, Replica, ReplicaConfig};
pub use state_machine::{Applier, StateMachine};
pub use types::{Batch, Member, Proposal, Response, TypeConfig, node_id};

/// bincode configuration of every encoded value of this crate, and of the
/// commands the layer above puts in entries.
pub(crate) fn codec() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a value the way entries and RPC bodies are encoded.
pub fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(v, codec()).map_err(|e| e.to_string())
}

/// Decodes a value made by [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(b, codec())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

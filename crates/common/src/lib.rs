//! Shared vocabulary of PrismDB: the pieces every other crate speaks.
//!
//! * [`Error`] / [`Result`] — one error enum for the whole database, named by
//!   what went wrong from the client's point of view. The server crate maps
//!   each variant to a PostgreSQL SQLSTATE, once, at the wire.
//! * [`Value`] — one SQL datum as stored in the row store and carried as a
//!   bound parameter.
//! * [`keycode`] — the memcomparable encoding of primary keys: byte order of
//!   encoded keys equals SQL order of the values, so RocksDB range scans follow
//!   key order.
//! * [`copy`] — the data format of a `COPY ... TO STDOUT`.
//! * [`files`] — replacing a file atomically, and a stable fingerprint of
//!   bytes.
//! * [`limits`] — the expression depth a statement may have and the stack
//!   every statement-handling thread gets for it.
//! * [`scram`] — SCRAM-SHA-256 password verifiers: made when a password is
//!   set, parsed when a client authenticates.
//! * [`sched`] — asking the kernel for short scheduler slices, so woken
//!   latency threads preempt analytics at once.
//! * [`Version`] — a commit version. Today a local monotonic counter; when
//!   writes go through the replicated log it becomes the log index of the entry
//!   that carried the write, so a version names the same snapshot everywhere.

pub mod copy;
pub mod error;
pub mod files;
pub mod keycode;
pub mod limits;
pub mod sched;
pub mod scram;
pub mod value;

pub use error::{Error, Result};
pub use value::Value;

/// Commit version of a write; a snapshot is "everything up to version N".
pub type Version = u64;

/// Identifier of a table, unique across all databases of one cluster.
pub type TableId = u32;

//! PostgreSQL wire protocol front end (pgwire).
//!
//! Owns everything about talking to PostgreSQL clients and nothing about
//! running SQL: the engine plugs in through [`handler::SqlEngine`].
//!
//! * [`server`] — [`serve`]: accepting connections, start-up, the simple and
//!   extended query protocols.
//! * [`types`] — Arrow ↔ PostgreSQL type mapping.
//! * [`format`] — PostgreSQL's text and binary forms of single values.
//! * [`encode`] — Arrow batches into DataRow messages.
//! * [`params`] — Bind parameters into [`prismdb_common::Value`]s.
//! * [`sqlstate`] — [`prismdb_common::Error`] into SQLSTATE codes.
//! * [`metrics`] — connection, statement and error metrics.
//! * [`threads`] — the single-threaded runtimes connections run on.
//! * [`wire`] — checking frontend messages before pgwire decodes them.
mod auth;
pub mod cancel;
mod copy_binary;
mod copy_out;
pub mod encode;
pub mod format;
pub mod handler;
pub mod metrics;
pub mod params;
pub mod server;
pub mod sqlstate;
pub mod threads;
pub mod tls;
pub mod types;
pub mod wire;

pub use cancel::CancelRegistry;
pub use handler::*;
pub use metrics::Metrics;
pub use server::{SERVER_VERSION, serve};
pub use sqlstate::sqlstate;
pub use threads::ConnectionThreads;
pub use tls::Tls;

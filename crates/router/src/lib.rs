//! The router: per-table statistics and the cost model that picks, for each
//! table scan, the engine that serves it cheapest — a primary-key lookup or
//! scan of the row store, or a scan of a columnar replica.
//!
//! Everything here is pure computation over plain inputs: [`stats`] turns
//! rows (fed by whoever reads them) into [`TableStats`]; [`cost`] turns
//! statistics, the shape of a scan, the state of the table's replica and the
//! session's preferences into a [`Decision`] with both engines' estimated
//! costs and the reason the other engine lost. No I/O happens here, so the
//! decisions are unit-tested as golden cases (`cost_test.rs`).

pub mod cost;
pub mod stats;

pub use cost::{
    Decision, Estimate, IndexPath, KeyAccess, Preference, ReadEngine, ReplicaState, ScanRequest,
    decide,
};
pub use stats::{ColumnStats, StatsBuilder, TableStats};

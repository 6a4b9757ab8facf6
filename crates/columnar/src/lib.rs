//! Columnar replicas: Arrow copies of tables, fed by the same log entries as
//! the row store, for scans and aggregates.
//!
//! A log index names the same snapshot here as in the row store: every row
//! a replica holds carries the index of the entry that created it and, once
//! deleted, the index of the entry that deleted it. A scan "as of index N"
//! therefore sees exactly what a row-store read at N sees.
//!
//! * [`segment`] — immutable Arrow segments with per-row versions and
//!   min/max statistics, and the mutable delta.
//! * [`replica`] — one table's replica: applying changes, freezing the delta,
//!   compaction, restoring from disk.
//! * [`persist`] — Parquet segment files and the manifest.
//! * [`store`] — all replicas of a node: hosting, builds from the row store,
//!   the apply thread, reads as of an index, checkpoints, the memory bound.
//! * [`queue`] — work submitted to the apply thread, its overflow, and the
//!   lag it makes.
//! * [`scan`] — the DataFusion execution plan reading a replica.
//!
//! This crate knows nothing of the row store or the log: the node feeds it
//! decoded changes ([`ApplyEntry`]) and gives it a [`RowSource`] to build
//! from.

pub mod persist;
pub mod queue;
pub mod replica;
pub mod scan;
pub mod segment;
pub mod store;

pub use replica::RowChange;
pub use scan::ColumnarScan;
pub use store::{
    ApplyEntry, ColumnStore, ColumnarOptions, Hosting, HostingSource, ReadOutcome, ReadSnapshot,
    ReplicaStatus, RowSource,
};

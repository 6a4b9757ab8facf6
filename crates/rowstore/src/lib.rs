//! The MVCC row store on RocksDB.
//!
//! Every row version is one RocksDB entry in the `data` column family:
//!
//! ```text
//! key   = table_id (u32 BE) | memcomparable primary key | !version (u64 BE)
//! value = tombstone | encoded row            (see [`row`])
//! ```
//!
//! Keys of one table are contiguous and ordered by primary key, and for one
//! primary key the newest version comes first because the version is stored
//! inverted. A read at snapshot `S` sees, for each key, the newest version
//! `<= S`; a point read is a single seek to `table | pk | !S`.
//!
//! Writes arrive as log entries ([`apply`]): each carries a [`Command`],
//! usually the [`WriteSet`] of one transaction (its buffered writes and the
//! snapshot it read at). Applying validates it against everything applied
//! before (first committer wins, 40001; a concurrent insert of the same key,
//! 23505) and writes it at version = the entry's log index, so a log index
//! names the same snapshot on every replica. The `meta` column family holds
//! the applied version, the catalog and row-id high-water marks, updated in
//! the same batch as the data. [`snapshot`] turns the whole store into bytes
//! and back (for log snapshots) and collects old versions.

mod apply;
mod builds;
mod cache;
mod groups;
pub mod index;
mod pins;
mod readers;
mod registry;
pub mod row;
mod scan;
mod snapshot;
mod store;
mod writes;

pub use cache::RowCacheStats;
pub use pins::SnapshotGuard;
pub use row::Rows;
pub use store::{RowStore, ScanChunk, StoreOptions};
pub use writes::{Command, Entry, RowKey, Write, WriteSet};

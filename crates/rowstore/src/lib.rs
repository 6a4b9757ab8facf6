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
//! Writes arrive as a [`WriteSet`] (the buffered writes of one transaction,
//! with the snapshot it read at) and go through a single committer thread
//! ([`commit`]): it validates each write set against everything committed
//! after its snapshot (first committer wins, 40001; a concurrent insert of
//! the same key, 23505), assigns the next version, and writes many write sets
//! in one synced RocksDB batch (group commit). The `meta` column family holds
//! the last committed version, the catalog and the row-id high-water mark,
//! updated in the same batch, so a crash never separates data from metadata.
//! When writes are carried by the replicated log, the version becomes the log
//! index of the entry and the committer becomes the state machine's apply.

mod commit;
pub mod row;
mod store;

pub use commit::{Write, WriteSet};
pub use store::{RowKey, RowStore, ScanChunk, StoreOptions};

//! The writes log entries carry: a transaction's [`WriteSet`] of row
//! writes keyed by [`RowKey`], wrapped in the [`Command`] of one log
//! [`Entry`]. Plain data; applying them is the `apply` module's.

use prismdb_common::{TableId, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A table and an encoded primary key.
pub type RowKey = (TableId, Vec<u8>);

/// One buffered write of a transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Write {
    /// Store this encoded row. `insert` asks for a uniqueness check: a
    /// concurrent committed row with the same key is a 23505, not a 40001.
    Put { row: Vec<u8>, insert: bool },
    /// Delete the row.
    Delete,
}

/// Everything one transaction commits.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct WriteSet {
    /// The snapshot the transaction read at.
    pub read_version: Version,
    /// Final write per key, in key order.
    pub writes: BTreeMap<RowKey, Write>,
    /// A new catalog (DDL). Conflicts with any catalog change after
    /// `read_version`.
    pub catalog: Option<Vec<u8>>,
    /// Tables whose data is removed outright (DROP TABLE).
    pub drop_tables: Vec<TableId>,
    /// The highest hidden row id this transaction used, by row-id slot, so
    /// a node that restarts never hands out a committed row id again.
    pub rowid_high: Option<(u16, i64)>,
    /// Tables whose row layout this DDL changes (ALTER TABLE … ADD/DROP
    /// COLUMN). With a catalog change, tables written and dropped count
    /// too. Writes to them from older snapshots are rejected afterwards.
    #[serde(default)]
    pub altered_tables: Vec<TableId>,
}

impl WriteSet {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.catalog.is_none() && self.drop_tables.is_empty()
    }
}

/// What one log entry asks the row store to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    /// Commit a transaction.
    Commit(WriteSet),
    /// Versions older than this are no longer read by anyone: old versions
    /// below it may be collected, and commits that read below it are
    /// rejected.
    Horizon(Version),
}

/// One entry to apply: its log index and its command, if it carries one
/// (Raft's own entries — leader no-ops, membership — carry none).
pub struct Entry<'a> {
    pub index: Version,
    pub command: Option<&'a Command>,
}

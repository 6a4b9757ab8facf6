//! [`Txn`]: a transaction's snapshot and buffered writes.
//!
//! A transaction reads at `read_version` (a linearizable read point taken
//! when it began, pinned against garbage collection while it runs) and
//! buffers every write in its overlay, which its own statements read
//! through (read-your-writes). Nothing reaches the store until COMMIT hands
//! the whole write set to the log as one entry; applying it decides
//! first-committer-wins and uniqueness, identically on every replica, and
//! writes it at one new version — or not at all.

use crate::provider::{Overlay, ReadView};
use prismdb_catalog::Catalog;
use prismdb_common::{TableId, Value, Version};
use prismdb_rowstore::{RowKey, RowStore, SnapshotGuard, Write, WriteSet, row::encode_row};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Schema changes made inside a transaction block.
pub struct TxnDdl {
    /// The shared catalog the first DDL of the block started from.
    pub base: Arc<Catalog>,
    /// The catalog with all of the block's DDL applied.
    pub next: Arc<Catalog>,
    /// Tables whose rows go away at commit.
    pub drop_tables: Vec<TableId>,
}

/// A running transaction.
pub struct Txn {
    /// DDL of this block, committed with its writes.
    pub ddl: Option<TxnDdl>,
    pub read_version: Version,
    /// Keeps `read_version` readable while the transaction runs.
    _snapshot: SnapshotGuard,
    /// Highest hidden row id this transaction handed out.
    rowid_high: Option<i64>,
    /// Own writes, shared copy-on-write with the read views of statements.
    overlay: Arc<Overlay>,
    /// Keys first written by an INSERT (uniqueness is checked at commit).
    inserted: BTreeSet<RowKey>,
    /// Opened by BEGIN (as opposed to one autocommit statement).
    pub explicit: bool,
    /// A statement failed: only ROLLBACK (or COMMIT, which rolls back) is accepted.
    pub failed: bool,
}

impl Txn {
    pub fn begin(snapshot: SnapshotGuard, explicit: bool) -> Txn {
        Txn {
            ddl: None,
            read_version: snapshot.version(),
            _snapshot: snapshot,
            rowid_high: None,
            overlay: Arc::default(),
            inserted: BTreeSet::new(),
            explicit,
            failed: false,
        }
    }

    /// The view a statement of this transaction reads.
    pub fn read_view(&self, store: &Arc<RowStore>) -> Arc<ReadView> {
        self.read_view_with(store, crate::route::Route::default())
    }

    /// The view a statement reads, its scans routed by `route`.
    pub fn read_view_with(
        &self,
        store: &Arc<RowStore>,
        route: crate::route::Route,
    ) -> Arc<ReadView> {
        Arc::new(ReadView {
            store: store.clone(),
            snapshot: self.read_version,
            overlay: self.overlay.clone(),
            route,
        })
    }

    /// Buffers an inserted row.
    pub fn insert(&mut self, key: RowKey, row: Vec<Value>) {
        let overlay = Arc::make_mut(&mut self.overlay);
        // Re-inserting a key this transaction deleted is an update of the
        // committed row, not a new key.
        if !matches!(overlay.get(&key), Some(None)) {
            self.inserted.insert(key.clone());
        }
        overlay.insert(key, Some(Arc::new(row)));
    }

    /// Notes a hidden row id handed to one of this transaction's rows.
    pub fn used_rowid(&mut self, id: i64) {
        self.rowid_high = Some(self.rowid_high.map_or(id, |h| h.max(id)));
    }

    /// Buffers a new version of an existing row.
    pub fn update(&mut self, key: RowKey, row: Vec<Value>) {
        Arc::make_mut(&mut self.overlay).insert(key, Some(Arc::new(row)));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: RowKey) {
        let overlay = Arc::make_mut(&mut self.overlay);
        if self.inserted.remove(&key) {
            // Deleting a row this transaction inserted leaves nothing to write.
            overlay.remove(&key);
        } else {
            overlay.insert(key, None);
        }
    }

    /// This transaction's own write of a key: `Some(None)` if it deleted it.
    pub fn own(&self, key: &RowKey) -> Option<Option<Arc<Vec<Value>>>> {
        self.overlay.get(key).cloned()
    }

    pub fn is_read_only(&self) -> bool {
        self.overlay.is_empty() && self.ddl.is_none()
    }

    /// The write set COMMIT proposes; `rowid_slot` is this node's.
    pub fn write_set(&self, rowid_slot: u16) -> WriteSet {
        let writes = self
            .overlay
            .iter()
            .map(|(k, v)| {
                let w = match v {
                    Some(row) => Write::Put {
                        row: encode_row(row),
                        insert: self.inserted.contains(k),
                    },
                    None => Write::Delete,
                };
                (k.clone(), w)
            })
            .collect();
        WriteSet {
            read_version: self.read_version,
            writes,
            catalog: self.ddl.as_ref().map(|d| d.next.encode()),
            drop_tables: self
                .ddl
                .as_ref()
                .map(|d| d.drop_tables.clone())
                .unwrap_or_default(),
            rowid_high: self.rowid_high.map(|h| (rowid_slot, h)),
            // A block's DDL rewrites the rows of the tables it alters, so
            // they are among `writes` and marked as altered at commit.
            altered_tables: Vec::new(),
        }
    }
}

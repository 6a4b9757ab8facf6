//! [`Txn`]: a transaction's snapshot and buffered writes.
//!
//! A transaction reads at `read_version` (a linearizable read point taken
//! when it began, pinned against garbage collection while it runs) and
//! buffers every write in its overlay, which its own statements read
//! through (read-your-writes). Nothing reaches the store until COMMIT hands
//! the whole write set to the log as one entry; applying it decides
//! first-committer-wins and uniqueness, identically on every replica, and
//! writes it at one new version — or not at all.

use crate::read_view::{Overlay, ReadView};
use prismdb_catalog::Catalog;
use prismdb_common::{TableId, Value, Version};
use prismdb_rowstore::{RowKey, RowStore, SnapshotGuard, Write, WriteSet, row::encode_row};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Schema changes made inside a transaction block.
#[derive(Clone)]
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
    /// Open savepoints, oldest first.
    savepoints: Vec<Savepoint>,
    /// Unique keys claimed by rows this transaction wrote.
    claims: Arc<Claims>,
}

/// Keys of unique indexes claimed by rows this transaction wrote: (index,
/// claimed key) → the row's primary key. An entry may be stale (the row
/// changed again); [`crate::index_writes::check_unique`] verifies against
/// the overlay.
pub type Claims = HashMap<(u32, Vec<u8>), Vec<u8>>;

/// The transaction's state when a savepoint was set; the overlay is
/// shared copy-on-write, so setting one costs a copy of the overlay only
/// once a later write changes it.
struct Savepoint {
    name: String,
    ddl: Option<TxnDdl>,
    overlay: Arc<Overlay>,
    inserted: BTreeSet<RowKey>,
    claims: Arc<Claims>,
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
            savepoints: Vec::new(),
            claims: Arc::default(),
        }
    }

    /// SAVEPOINT: a later ROLLBACK TO `name` returns here. A name used
    /// again hides the older savepoint until the newer one is released.
    pub fn savepoint(&mut self, name: String) {
        self.savepoints.push(Savepoint {
            name,
            ddl: self.ddl.clone(),
            overlay: self.overlay.clone(),
            inserted: self.inserted.clone(),
            claims: self.claims.clone(),
        });
    }

    fn find_savepoint(&self, name: &str) -> prismdb_common::Result<usize> {
        self.savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| {
                prismdb_common::Error::InvalidSavepoint(format!(
                    "savepoint \"{name}\" does not exist"
                ))
            })
    }

    /// RELEASE SAVEPOINT: forgets `name` and every savepoint set after it,
    /// keeping their writes.
    pub fn release(&mut self, name: &str) -> prismdb_common::Result<()> {
        let i = self.find_savepoint(name)?;
        self.savepoints.truncate(i);
        Ok(())
    }

    /// ROLLBACK TO SAVEPOINT: undoes every write and schema change made
    /// since `name` was set, forgets the savepoints set after it (keeping
    /// `name`) and leaves a failed block usable again. Returns the catalog
    /// the block's statements read from now (`None`: the shared one).
    pub fn rollback_to(&mut self, name: &str) -> prismdb_common::Result<Option<Arc<Catalog>>> {
        let i = self.find_savepoint(name)?;
        self.savepoints.truncate(i + 1);
        let s = &self.savepoints[i];
        self.ddl = s.ddl.clone();
        // The hidden row ids handed out since stay used: reusing one could
        // collide with a row a statement still holds.
        self.overlay = s.overlay.clone();
        self.inserted = s.inserted.clone();
        self.claims = s.claims.clone();
        self.failed = false;
        Ok(self.ddl.as_ref().map(|d| d.next.clone()))
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

    /// Every write of the transaction so far.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// The unique keys rows of this transaction claimed.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Notes that row `pk` claims `key` of unique index `index`.
    pub fn claim(&mut self, index: u32, key: Vec<u8>, pk: Vec<u8>) {
        Arc::make_mut(&mut self.claims).insert((index, key), pk);
    }

    pub fn is_read_only(&self) -> bool {
        self.overlay.is_empty() && self.ddl.is_none()
    }

    /// The row writes of the transaction, as COMMIT proposes them.
    pub fn row_writes(&self) -> BTreeMap<RowKey, Write> {
        self.overlay
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
            .collect()
    }

    /// The write set COMMIT proposes: `writes` (the rows and their index
    /// entries); `rowid_slot` is this node's.
    pub fn write_set(&self, rowid_slot: u16, writes: BTreeMap<RowKey, Write>) -> WriteSet {
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

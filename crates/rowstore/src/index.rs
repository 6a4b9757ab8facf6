//! Secondary indexes: the layout of their entries, their maintenance at
//! apply, and their online build.
//!
//! An index's entries are rows of their own key space in the `data` column
//! family, versioned exactly like table rows, so a read at snapshot `S`
//! through an index sees the entries of exactly the rows a scan at `S` sees:
//!
//! ```text
//! key   = INDEX_SPACE | index id (u32 BE) | memcomparable(key columns) [| pk] | !version
//! value = tombstone | encoded row (INCLUDE columns..., pk as bytea)
//! ```
//!
//! The primary key ends the entry key of a non-unique index (so every row
//! has its own entry). A unique index's entry key is its key columns alone
//! — the entry *claims* the key — unless one of them is NULL (NULLs are
//! distinct, as in PostgreSQL), when the primary key follows as well.
//! Because a claim is a row key of its own, the row store's commit
//! validation decides uniqueness like primary-key uniqueness: identically on
//! every member, first committer wins.
//!
//! A transaction's commit carries the entry writes of its row writes
//! ([`IndexLayout::writes`]), computed against the catalog it read; a DDL
//! entry that changes a table's indexes (or rewrites its rows) marks the
//! table altered, so writes planned against the older catalog are refused
//! (40001) rather than missing an index. Entries of an index that is new,
//! redefined or whose table a DDL rewrote are (re)built here instead: apply
//! registers the build at the DDL's log index and a background thread
//! back-fills from a snapshot there, while later commits maintain the
//! entries of their own writes. An index serves reads once its build is
//! complete on this member ([`RowStore::index_usable`]).

use crate::row::encode_row;
use crate::store::{
    CF_DATA, CF_META, RowKey, RowStore, SnapshotGuard, storage_err, table_end, table_prefix,
    version_key,
};
use crate::{Write, WriteSet};
use prismdb_catalog::{Catalog, Index, RowFilter, Table};
use prismdb_common::error::DETAIL;
use prismdb_common::keycode::encode_value;
use prismdb_common::{Error, Result, TableId, Value, Version};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Weak, mpsc};

/// The high bit of a key-space id marks an index's entries (table ids
/// never reach it).
pub const INDEX_SPACE: TableId = 0x8000_0000;

/// The key space of an index's entries.
pub fn entries_table(index: u32) -> TableId {
    INDEX_SPACE | index
}

/// Whether a key space holds index entries rather than table rows.
pub fn is_index_space(table: TableId) -> bool {
    table & INDEX_SPACE != 0
}

/// Rows read per chunk of a build.
const BUILD_CHUNK: usize = 2048;

/// `meta` keys `index/<id>`: an index's build state on this member.
const META_INDEX_PREFIX: &[u8] = b"index/";

fn index_meta_key(id: u32) -> Vec<u8> {
    let mut k = META_INDEX_PREFIX.to_vec();
    k.extend(id.to_be_bytes());
    k
}

/// How an index's entries derive from its table's rows.
#[derive(Debug, Clone)]
pub struct IndexLayout {
    pub id: u32,
    pub name: String,
    pub table: Arc<Table>,
    /// Stored column positions of the key columns, in key order.
    pub key: Vec<usize>,
    /// Stored column positions of the INCLUDE columns.
    pub include: Vec<usize>,
    pub unique: bool,
    pub filter: Option<RowFilter>,
}

/// What identifies the entries of one index definition: a change of any of
/// these needs a rebuild.
#[derive(PartialEq)]
struct Signature {
    table: TableId,
    key: Vec<usize>,
    include: Vec<usize>,
    primary_key: Vec<usize>,
    unique: bool,
    filter: Option<RowFilter>,
}

impl IndexLayout {
    /// The layout of `index` over `table`; columns the table lacks are an
    /// error (the catalog never records such an index).
    pub fn new(table: &Arc<Table>, index: &Index) -> Result<IndexLayout> {
        let position = |name: &String| {
            table.column_index(name).ok_or_else(|| {
                Error::Internal(format!(
                    "index \"{}\" names column \"{name}\" that its table lacks",
                    index.name
                ))
            })
        };
        Ok(IndexLayout {
            id: index.id,
            name: index.name.clone(),
            table: table.clone(),
            key: index
                .columns
                .iter()
                .map(|c| position(&c.name))
                .collect::<Result<_>>()?,
            include: index.include.iter().map(position).collect::<Result<_>>()?,
            unique: index.unique,
            filter: index.filter.clone(),
        })
    }

    fn signature(&self) -> Signature {
        Signature {
            table: self.table.id,
            key: self.key.clone(),
            include: self.include.clone(),
            primary_key: self.table.primary_key.clone(),
            unique: self.unique,
            filter: self.filter.clone(),
        }
    }

    /// The key space of this index's entries.
    pub fn entries_table(&self) -> TableId {
        entries_table(self.id)
    }

    /// Whether the row belongs to the index (a partial index's predicate).
    pub fn covers_row(&self, row: &[Value]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.eval(&self.table, row) == Some(true))
    }

    /// The stored columns an entry is made from (key, INCLUDE and primary
    /// key columns); `None` for a partial index, whose predicate may read
    /// any column.
    pub fn columns_read(&self) -> Option<Vec<bool>> {
        if self.filter.is_some() {
            return None;
        }
        let mut keep = vec![false; self.table.columns.len()];
        for &c in self
            .key
            .iter()
            .chain(&self.include)
            .chain(&self.table.primary_key)
        {
            keep[c] = true;
        }
        Some(keep)
    }

    /// The key columns' values of a row.
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.key.iter().map(|&c| column(row, c).clone()).collect()
    }

    /// Whether a row's entry claims its key alone: a unique index and no
    /// NULL among the key columns.
    pub fn claims(&self, row: &[Value]) -> bool {
        self.unique && self.key.iter().all(|&c| !column(row, c).is_null())
    }

    /// The entry of a row with encoded primary key `pk`: its key within the
    /// index's key space and its value; `None` when the row is not in the
    /// index.
    pub fn entry(&self, pk: &[u8], row: &[Value]) -> Option<(Vec<u8>, Vec<Value>)> {
        if !self.covers_row(row) {
            return None;
        }
        let mut key = Vec::with_capacity(16 + pk.len());
        for &c in &self.key {
            encode_value(&mut key, column(row, c));
        }
        if !self.claims(row) {
            key.extend_from_slice(pk);
        }
        let mut value: Vec<Value> = self
            .include
            .iter()
            .map(|&c| column(row, c).clone())
            .collect();
        value.push(Value::Bytes(pk.to_vec()));
        Some((key, value))
    }

    /// The entry writes that turn a row from `old` into `new` (`None`: the
    /// row does not exist before / after).
    pub fn writes(
        &self,
        pk: &[u8],
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Vec<(RowKey, Write)> {
        let old = old.and_then(|r| self.entry(pk, r));
        let new_claims = new.is_some_and(|r| self.claims(r));
        let new = new.and_then(|r| self.entry(pk, r));
        let space = self.entries_table();
        match (old, new) {
            (None, None) => Vec::new(),
            (Some((k, _)), None) => vec![((space, k), Write::Delete)],
            (None, Some((k, v))) => vec![(
                (space, k),
                Write::Put {
                    row: encode_row(&v),
                    insert: new_claims,
                },
            )],
            (Some((ok, ov)), Some((nk, nv))) => {
                if ok == nk {
                    if ov == nv {
                        return Vec::new();
                    }
                    return vec![(
                        (space, nk),
                        Write::Put {
                            row: encode_row(&nv),
                            insert: false,
                        },
                    )];
                }
                vec![
                    ((space, ok), Write::Delete),
                    (
                        (space, nk),
                        Write::Put {
                            row: encode_row(&nv),
                            insert: new_claims,
                        },
                    ),
                ]
            }
        }
    }

    /// `Key (a, b)=(1, x)`, as PostgreSQL names a key in its messages.
    pub fn describe_key(&self, row: &[Value]) -> String {
        let names: Vec<&str> = self
            .key
            .iter()
            .map(|&c| self.table.columns[c].name.as_str())
            .collect();
        let values: Vec<String> = self
            .key
            .iter()
            .map(|&c| match column(row, c) {
                Value::Null => "null".to_string(),
                v => v.to_string(),
            })
            .collect();
        format!("Key ({})=({})", names.join(", "), values.join(", "))
    }
}

fn column(row: &[Value], c: usize) -> &Value {
    row.get(c).unwrap_or(&Value::Null)
}

/// The encoded primary key an entry's value ends with.
pub fn entry_pk(value: &[Value]) -> Result<&[u8]> {
    match value.last() {
        Some(Value::Bytes(pk)) => Ok(pk),
        _ => Err(Error::Storage("index entry without its row key".into())),
    }
}

/// Adds entry writes to a transaction's row writes. A key written twice
/// (one row gives a unique key up, another takes it) keeps the put; two
/// puts claiming one key are a duplicate.
pub fn merge_entry_writes(
    writes: &mut BTreeMap<RowKey, Write>,
    entries: Vec<(RowKey, Write)>,
    name: &str,
) -> Result<()> {
    for (key, write) in entries {
        match (writes.get(&key), &write) {
            (Some(Write::Put { .. }), Write::Delete) => {}
            (Some(Write::Put { .. }), Write::Put { .. }) => {
                return Err(Error::UniqueViolation(format!(
                    "duplicate key value violates unique constraint \"{name}\""
                )));
            }
            _ => {
                writes.insert(key, write);
            }
        }
    }
    Ok(())
}

/// Which way [`RowStore::index_entries`] reads a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// In key order.
    Forward,
    /// In reverse key order.
    Backward,
    /// In reverse key order, over a range that is usually short (the
    /// entries under one prefix of equalities): read forwards when it
    /// holds at most [`SHORT_RANGE`] versions.
    BackwardShort,
}

/// The most versions a [`Direction::BackwardShort`] read takes forwards.
pub const SHORT_RANGE: usize = 64;

/// An index's build on this member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BuildState {
    /// Back-filling: rows done of an estimated total.
    Building { done: u64, total: u64 },
    /// Complete: reads at snapshots from `since` on may use it.
    Ready,
    /// The build failed (a unique index found a duplicate); the message
    /// names the key.
    Failed(String),
}

/// One index as this member's row store knows it.
#[derive(Debug, Clone)]
pub struct IndexStatus {
    pub id: u32,
    pub name: String,
    pub table: TableId,
    /// The log index of the DDL its entries are (re)built from.
    pub since: Version,
    pub state: BuildState,
}

#[derive(Serialize, Deserialize)]
struct StoredState {
    since: Version,
    state: BuildState,
}

/// The indexes of the applied catalog and their builds.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) indexes: HashMap<u32, IndexStatus>,
    /// Why each recently dropped index's build failed here, for a
    /// `CREATE` still waiting on it.
    failures: HashMap<u32, String>,
}

/// Most failures of dropped builds remembered.
const MAX_FAILURES: usize = 256;

/// A build to run: the index, the log index it starts from, and a pinned
/// snapshot there when apply could take one.
pub(crate) struct BuildJob {
    id: u32,
    since: Version,
    snapshot: Option<SnapshotGuard>,
}

/// What a catalog change does to the indexes.
#[derive(Default)]
pub(crate) struct IndexChanges {
    /// Indexes whose entries are (re)built from this version.
    pub(crate) rebuild: Vec<IndexStatus>,
    /// Indexes gone (entries removed).
    pub(crate) dropped: Vec<u32>,
    /// Tables whose index set changed: older writers are refused.
    pub(crate) tables: Vec<TableId>,
    /// The catalog's indexes by id (names and tables), after the change.
    pub(crate) current: HashMap<u32, (String, TableId)>,
}

fn layouts(catalog: &Catalog) -> HashMap<u32, IndexLayout> {
    catalog
        .all_indexes()
        .filter_map(|(t, i)| IndexLayout::new(t, i).ok())
        .map(|l| (l.id, l))
        .collect()
}

impl RowStore {
    /// How the indexes change when `ws` (which carries a new catalog)
    /// commits at `version`, after `old` was the catalog.
    pub(crate) fn index_changes(
        old: Option<&[u8]>,
        ws: &WriteSet,
        version: Version,
    ) -> Result<IndexChanges> {
        let Some(new) = &ws.catalog else {
            return Ok(IndexChanges::default());
        };
        // A catalog the store cannot read has no indexes it could keep
        // (applying must go on: every member decides the same).
        let readable = |bytes: &[u8]| match Catalog::decode(bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("index maintenance skips an unreadable catalog: {e}");
                None
            }
        };
        let old_catalog = old.and_then(readable).unwrap_or_default();
        let old = layouts(&old_catalog);
        let Some(new_catalog) = readable(new) else {
            return Ok(IndexChanges::default());
        };
        let new = layouts(&new_catalog);
        // Tables whose rows this entry rewrites or removes, or whose
        // definition changed: their entries are rebuilt, whatever the
        // commit carried for them.
        let mut touched: HashSet<TableId> = ws.altered_tables.iter().copied().collect();
        touched.extend(&ws.drop_tables);
        for (_, t) in new_catalog.databases.values().flat_map(|d| d.tables.iter()) {
            let changed = old_catalog
                .table_by_id(t.id)
                .is_none_or(|(_, o)| o.columns != t.columns || o.primary_key != t.primary_key);
            if changed {
                touched.insert(t.id);
            }
        }
        let mut changes = IndexChanges::default();
        let mut tables = HashSet::new();
        for (id, layout) in &new {
            let same = old
                .get(id)
                .is_some_and(|o| o.signature() == layout.signature());
            if !same || touched.contains(&layout.table.id) {
                tables.insert(layout.table.id);
                changes.rebuild.push(IndexStatus {
                    id: *id,
                    name: layout.name.clone(),
                    table: layout.table.id,
                    since: version,
                    state: BuildState::Building { done: 0, total: 0 },
                });
            }
            changes
                .current
                .insert(*id, (layout.name.clone(), layout.table.id));
        }
        for (id, layout) in &old {
            if !new.contains_key(id) {
                tables.insert(layout.table.id);
                changes.dropped.push(*id);
            }
        }
        changes.rebuild.sort_by_key(|s| s.id);
        changes.tables = tables.into_iter().collect();
        Ok(changes)
    }

    /// Adds to an apply batch what `changes` writes: removed entries and
    /// the build states.
    pub(crate) fn write_index_changes(
        &self,
        changes: &IndexChanges,
        batch: &mut WriteBatch,
    ) -> Result<()> {
        let data = self.cf(CF_DATA)?;
        let meta = self.cf(CF_META)?;
        for id in changes
            .dropped
            .iter()
            .chain(changes.rebuild.iter().map(|s| &s.id))
        {
            let space = entries_table(*id);
            batch.delete_range_cf(data, table_prefix(space), table_end(space));
        }
        for id in &changes.dropped {
            batch.delete_cf(meta, index_meta_key(*id));
        }
        for s in &changes.rebuild {
            let stored = StoredState {
                since: s.since,
                state: s.state.clone(),
            };
            batch.put_cf(
                meta,
                index_meta_key(s.id),
                serde_json::to_vec(&stored).unwrap_or_default(),
            );
        }
        Ok(())
    }

    /// After the batch of `changes` is written: the registry follows it and
    /// the builds start. Called with the registry locked across the write,
    /// so a build never writes entries of a generation the batch removed.
    pub(crate) fn registered(&self, registry: &mut Registry, changes: Vec<IndexChanges>) {
        let mut jobs = Vec::new();
        for c in changes {
            for id in &c.dropped {
                if let Some(IndexStatus {
                    state: BuildState::Failed(message),
                    ..
                }) = registry.indexes.remove(id)
                {
                    if registry.failures.len() >= MAX_FAILURES {
                        registry.failures.clear();
                    }
                    registry.failures.insert(*id, message);
                }
            }
            for s in c.rebuild {
                jobs.push((s.id, s.since));
                registry.indexes.insert(s.id, s);
            }
            // Renames take effect without a rebuild.
            for (id, (name, _)) in c.current {
                if let Some(s) = registry.indexes.get_mut(&id) {
                    s.name = name;
                }
            }
        }
        jobs.sort();
        jobs.dedup_by_key(|j| j.0);
        for (id, since) in jobs {
            let snapshot = self.pin_at_or_after(since);
            self.send_build(BuildJob {
                id,
                since,
                snapshot,
            });
        }
    }

    fn send_build(&self, job: BuildJob) {
        if let Some(tx) = self.builder.lock().as_ref() {
            let _ = tx.send(job);
        }
    }

    /// Reads the build states from `meta` (at open and after a snapshot
    /// was installed) and restarts the builds that had not completed.
    pub(crate) fn load_indexes(&self) -> Result<()> {
        let catalog = self
            .catalog()
            .and_then(|(_, bytes)| Catalog::decode(&bytes).ok())
            .unwrap_or_default();
        let meta = self.cf(CF_META)?;
        let mut registry = Registry::default();
        let mut jobs = Vec::new();
        for (table, index) in catalog.all_indexes() {
            let stored: Option<StoredState> = self
                .db
                .get_cf(meta, index_meta_key(index.id))
                .map_err(storage_err)?
                .and_then(|b| serde_json::from_slice(&b).ok());
            let (since, state) = match stored {
                Some(s) => (s.since, s.state),
                // An index recorded before its entries were kept: built now.
                None => (
                    self.last_version(),
                    BuildState::Building { done: 0, total: 0 },
                ),
            };
            if matches!(state, BuildState::Building { .. }) {
                jobs.push(index.id);
            }
            registry.indexes.insert(
                index.id,
                IndexStatus {
                    id: index.id,
                    name: index.name.clone(),
                    table: table.id,
                    since,
                    state,
                },
            );
        }
        *self.indexes.write() = registry;
        for id in jobs {
            let since = self.indexes.read().indexes.get(&id).map_or(0, |s| s.since);
            self.send_build(BuildJob {
                id,
                since,
                snapshot: None,
            });
        }
        Ok(())
    }

    /// Starts the thread that builds indexes, and every build owed.
    pub fn start_index_builds(self: &Arc<Self>) -> Result<()> {
        let (tx, rx) = mpsc::channel::<BuildJob>();
        *self.builder.lock() = Some(tx);
        let store: Weak<RowStore> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("prism-index-build".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let Some(store) = store.upgrade() else { return };
                    if let Err(e) = store.build(job) {
                        tracing::warn!("index build failed: {e}");
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("starting the index builder: {e}")))?;
        self.load_indexes()
    }

    /// A pinned snapshot at `version`, or at the newest applied version if
    /// that one may already be collected.
    fn pin_at_or_after(&self, version: Version) -> Option<SnapshotGuard> {
        self.pin(version).or_else(|| Some(self.pin_latest()))
    }

    /// Whether the registry still wants this generation of the build.
    fn build_wanted(&self, id: u32, since: Version) -> bool {
        self.indexes
            .read()
            .indexes
            .get(&id)
            .is_some_and(|s| s.since == since && matches!(s.state, BuildState::Building { .. }))
    }

    /// Back-fills one index from a snapshot: every row visible there gets
    /// its entry at the row's own version, so the entries are right at
    /// every snapshot from the DDL on; commits after the snapshot wrote
    /// their own entries. The snapshot stays pinned meanwhile, so garbage
    /// collection never removes a version the build has yet to shadow.
    fn build(&self, job: BuildJob) -> Result<()> {
        if !self.build_wanted(job.id, job.since) {
            return Ok(());
        }
        let snapshot = match job.snapshot {
            Some(s) => s,
            None => self.pin_latest(),
        };
        let at = snapshot.version();
        let catalog = match self.catalog() {
            Some((_, bytes)) => Catalog::decode(&bytes)?,
            None => return Ok(()),
        };
        let Some(layout) = catalog
            .all_indexes()
            .find(|(_, i)| i.id == job.id)
            .map(|(t, i)| IndexLayout::new(t, i))
            .transpose()?
        else {
            return Ok(());
        };
        let total = self.row_count(layout.table.id);
        let data = self.cf(CF_DATA)?;
        let space = layout.entries_table();
        let mut resume: Option<Vec<u8>> = None;
        let mut done = 0u64;
        let keep = layout.columns_read();
        loop {
            let (rows, next) = self.scan_visible(
                layout.table.id,
                None,
                at,
                resume.as_deref(),
                BUILD_CHUNK,
                keep.as_deref(),
            )?;
            let mut batch = WriteBatch::default();
            // The unique claims written, for the row cache once they are
            // stored (other entries are only read by range reads).
            let mut claims: Vec<(Vec<u8>, Vec<u8>, Version)> = Vec::new();
            let mut claimed: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            for (pk, version, row) in &rows {
                let Some(row) = row else { continue };
                let Some((key, value)) = layout.entry(pk, row) else {
                    continue;
                };
                if layout.claims(row) {
                    let holder = match claimed.get(&key) {
                        Some(h) => Some(h.clone()),
                        None => self
                            .get(space, &key, at)?
                            .map(|v| entry_pk(&v).map(<[u8]>::to_vec))
                            .transpose()?,
                    };
                    if holder.as_ref().is_some_and(|h| h != pk) {
                        let message = format!(
                            "could not create unique index \"{}\"{DETAIL}{} is duplicated.",
                            layout.name,
                            layout.describe_key(row)
                        );
                        self.finish_build(job.id, job.since, BuildState::Failed(message))?;
                        return Ok(());
                    }
                    claimed.insert(key.clone(), pk.clone());
                }
                let entry = (
                    version_key(space, &key, *version),
                    encode_row(&value),
                    *version,
                );
                batch.put_cf(data, &entry.0, &entry.1);
                if layout.claims(row) {
                    claims.push(entry);
                }
            }
            done += rows.len() as u64;
            {
                let mut registry = self.indexes.write();
                let Some(s) = registry.indexes.get_mut(&job.id) else {
                    return Ok(());
                };
                if s.since != job.since || !matches!(s.state, BuildState::Building { .. }) {
                    return Ok(());
                }
                self.db.write(batch).map_err(storage_err)?;
                // Each is its key's newest version unless a commit after
                // the snapshot wrote the key, which raised its shard's
                // fence past `at`.
                for (key, value, version) in &claims {
                    self.rows
                        .fill_spare(&key[..key.len() - 8], *version, value, at);
                }
                s.state = BuildState::Building {
                    done,
                    total: total.max(done),
                };
            }
            match next {
                Some(n) => resume = Some(n),
                None => break,
            }
        }
        drop(snapshot);
        self.finish_build(job.id, job.since, BuildState::Ready)
    }

    /// Records a build's end, if the registry still wants that generation.
    fn finish_build(&self, id: u32, since: Version, state: BuildState) -> Result<()> {
        let mut registry = self.indexes.write();
        let Some(s) = registry.indexes.get_mut(&id) else {
            return Ok(());
        };
        if s.since != since {
            return Ok(());
        }
        let stored = StoredState {
            since,
            state: state.clone(),
        };
        self.db
            .put_cf(
                self.cf(CF_META)?,
                index_meta_key(id),
                serde_json::to_vec(&stored).unwrap_or_default(),
            )
            .map_err(storage_err)?;
        s.state = state;
        Ok(())
    }

    /// Every index this member knows, with its build state.
    pub fn index_statuses(&self) -> Vec<IndexStatus> {
        let mut out: Vec<IndexStatus> = self.indexes.read().indexes.values().cloned().collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// One index's build state.
    pub fn index_status(&self, id: u32) -> Option<IndexStatus> {
        self.indexes.read().indexes.get(&id).cloned()
    }

    /// Why the build of index `id` failed on this member, if it did and
    /// the index has been dropped since (its status is gone then).
    pub fn dropped_failure(&self, id: u32) -> Option<String> {
        self.indexes.read().failures.get(&id).cloned()
    }

    /// Whether a read at `snapshot` may use the index: its build is
    /// complete here and the snapshot is not older than the DDL it was
    /// built from.
    pub fn index_usable(&self, id: u32, snapshot: Version) -> bool {
        self.indexes
            .read()
            .indexes
            .get(&id)
            .is_some_and(|s| s.state == BuildState::Ready && snapshot >= s.since)
    }

    /// The name of the index whose entries live in `space`, for messages.
    pub(crate) fn index_name(&self, space: TableId) -> Option<String> {
        self.indexes
            .read()
            .indexes
            .get(&(space & !INDEX_SPACE))
            .map(|s| s.name.clone())
    }

    /// The live entries of an index in a range of entry keys as of
    /// `snapshot`, in the order `direction` gives, at most `limit`: each
    /// entry's key and value (INCLUDE columns, then the row's primary key).
    /// The second result is the key to continue after, if the limit ended
    /// the read.
    #[allow(clippy::type_complexity)]
    pub fn index_entries(
        &self,
        index: u32,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: Version,
        limit: usize,
        direction: Direction,
    ) -> Result<(Vec<(Vec<u8>, Vec<Value>)>, Option<Vec<u8>>)> {
        let space = entries_table(index);
        match direction {
            Direction::Forward => {
                let chunk = self.scan(space, lower, upper, snapshot, limit)?;
                Ok((chunk.rows, chunk.resume_after))
            }
            Direction::Backward => self.scan_back(space, lower, upper, snapshot, limit, 0),
            Direction::BackwardShort => {
                self.scan_back(space, lower, upper, snapshot, limit, SHORT_RANGE)
            }
        }
    }
}

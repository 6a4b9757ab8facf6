//! Index maintenance at apply and online index builds.
//!
//! A DDL entry that changes a table's indexes (or rewrites its rows) marks
//! the table altered, so writes planned against the older catalog are
//! refused (40001) rather than missing an index. Entries of an index that
//! is new, redefined or whose table a DDL rewrote are (re)built here
//! instead: apply registers the build at the DDL's log index and a
//! background thread back-fills from a snapshot there, while later commits
//! maintain the entries of their own writes. An index serves reads once its
//! build is complete on this member ([`RowStore::index_usable`]).

use crate::index::{INDEX_SPACE, IndexLayout, entries_table, entry_pk};
use crate::pins::SnapshotGuard;
use crate::registry::{
    BuildJob, BuildState, IndexChanges, IndexStatus, MAX_FAILURES, Registry, StoredState,
    index_meta_key,
};
use crate::row::encode_row;
use crate::store::{
    CF_DATA, CF_META, RowStore, row_of_version_key, storage_err, table_end, table_prefix,
    version_key,
};
use crate::writes::WriteSet;
use prismdb_catalog::Catalog;
use prismdb_common::error::DETAIL;
use prismdb_common::{Error, Result, TableId, Version};
use rocksdb::WriteBatch;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak, mpsc};

/// Rows read per chunk of a build.
const BUILD_CHUNK: usize = 2048;

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
            // What entries derive from: the columns' names, types and
            // order, and the key (not defaults or NULLability).
            let stored = |t: &prismdb_catalog::Table| {
                t.columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty, c.hidden))
                    .collect::<Vec<_>>()
            };
            let changed = old_catalog
                .table_by_id(t.id)
                .is_none_or(|(_, o)| stored(o) != stored(t) || o.primary_key != t.primary_key);
            if changed {
                touched.insert(t.id);
            }
        }
        let mut changes = IndexChanges {
            leads: new
                .iter()
                .filter_map(|(id, l)| Some((*id, crate::groups::lead_of(l)?)))
                .collect(),
            ..IndexChanges::default()
        };
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
                    match store.build(job) {
                        Ok(Some(space)) => store.compact_space_later(space),
                        Ok(None) => {}
                        Err(e) => tracing::warn!("index build failed: {e}"),
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
    fn build(&self, job: BuildJob) -> Result<Option<TableId>> {
        if !self.build_wanted(job.id, job.since) {
            return Ok(None);
        }
        let snapshot = match job.snapshot {
            Some(s) => s,
            None => self.pin_latest(),
        };
        let at = snapshot.version();
        let catalog = match self.catalog() {
            Some((_, bytes)) => Catalog::decode(&bytes)?,
            None => return Ok(None),
        };
        let Some(layout) = catalog
            .all_indexes()
            .find(|(_, i)| i.id == job.id)
            .map(|(t, i)| IndexLayout::new(t, i))
            .transpose()?
        else {
            return Ok(None);
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
                        return Ok(None);
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
                    return Ok(None);
                };
                if s.since != job.since || !matches!(s.state, BuildState::Building { .. }) {
                    return Ok(None);
                }
                self.db.write(batch).map_err(storage_err)?;
                // Each is its key's newest version unless a commit after
                // the snapshot wrote the key, which raised its shard's
                // fence past `at`.
                for (key, value, version) in &claims {
                    self.rows
                        .fill_spare(row_of_version_key(key), *version, value, at);
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
        self.finish_build(job.id, job.since, BuildState::Ready)?;
        Ok(Some(space))
    }

    /// Compacts a freshly back-filled key space down the tree, on a thread
    /// of its own (the next build need not wait). The back-fill leaves its
    /// entries in the memtable and, once flushed, in level-0 files whose
    /// ranges overlap everything else written meanwhile; a range read
    /// seeks every level-0 file on its own, so until compaction merges them
    /// each index range read pays a seek per file. The index serves reads
    /// meanwhile, and automatic compactions go on.
    fn compact_space_later(self: &Arc<Self>, space: TableId) {
        let store = Arc::downgrade(self);
        let compact = move || {
            let Some(store) = store.upgrade() else { return };
            let Ok(data) = store.cf(CF_DATA) else { return };
            let mut opts = rocksdb::CompactOptions::default();
            opts.set_exclusive_manual_compaction(false);
            let (start, end) = (table_prefix(space), table_end(space));
            store
                .db
                .compact_range_cf_opt(data, Some(start), Some(end), &opts);
        };
        if let Err(e) = std::thread::Builder::new()
            .name("prism-index-compact".into())
            .spawn(compact)
        {
            tracing::warn!("compacting a built index: {e}");
        }
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
}

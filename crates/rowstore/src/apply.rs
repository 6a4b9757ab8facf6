//! Applying committed log entries: validation, versioning, garbage collection.
//!
//! The replicated log decides the order of writes; this module decides their
//! effect. Each entry carries one [`Command`]. A [`WriteSet`] is validated
//! against everything applied before it (first committer wins, 40001; a
//! concurrent insert of the same key, 23505; a snapshot older than the
//! collected horizon, 40001) and, if it passes, written at version = the
//! entry's log index. Validation reads only applied state, so every replica
//! that applies the same entries in the same order decides the same way:
//! that is what lets replicas agree without locks.
//!
//! A batch of entries becomes one RocksDB write batch together with the
//! caller's metadata (the log's applied position), so data and the applied
//! position never disagree after a crash. The batch is not fsynced: the log
//! entries it came from are, in the same write-ahead log, and are replayed.

use crate::index::{entries_table, is_index_space};
use crate::registry::IndexChanges;
use crate::store::{
    CF_DATA, CF_META, META_CATALOG, META_CATALOG_VERSION, META_GC_HORIZON, META_LAST_VERSION,
    RowStore, gc_key, row_of_version_key, rowid_key, rows_key, schema_key, storage_err, table_end,
    table_prefix, version_key, written_key,
};
use crate::writes::{Command, Entry, RowKey, Write, WriteSet};
use prismdb_common::{Error, Result, TableId, Version};
use rocksdb::WriteBatch;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

impl RowStore {
    /// Applies entries in order, atomically with `meta` (extra key/value
    /// pairs of the `meta` column family). Returns each entry's outcome: its
    /// commit version, or the error that rejected it. An `Err` of the whole
    /// call means the store could not write and nothing was applied.
    pub fn apply(
        &self,
        entries: &[Entry<'_>],
        meta: &[(&[u8], &[u8])],
    ) -> Result<Vec<Result<Version>>> {
        let data = self.cf(CF_DATA)?;
        let meta_cf = self.cf(CF_META)?;
        let mut batch = WriteBatch::default();
        let mut outcomes = Vec::with_capacity(entries.len());
        // Keys written by earlier entries of this batch: version and liveness.
        let mut pending: HashMap<&RowKey, (Version, bool)> = HashMap::new();
        let mut catalog_version = self.catalog_version.load(Ordering::Acquire);
        let mut horizon = self.horizon.load(Ordering::Acquire);
        let mut new_catalog: Option<Vec<u8>> = None;
        let mut rowid_highs: HashMap<u16, i64> = HashMap::new();
        let mut schema_changes: HashMap<TableId, Version> = HashMap::new();
        // Live-row count changes of the batch's entries, per table.
        let mut row_deltas: HashMap<TableId, i64> = HashMap::new();
        let mut dropped: Vec<TableId> = Vec::new();
        // Per table written (rows or layout), the batch's newest version.
        let mut written: HashMap<TableId, Version> = HashMap::new();
        let mut last = self.last_version();
        // Index changes of the batch's DDL, applied to the registry once
        // the batch is written.
        let mut index_changes: Vec<IndexChanges> = Vec::new();
        // The leading-column kinds index groups are keyed by, as of each
        // entry (a catalog change takes effect from its own entry on).
        let mut leads = self.groups.leads();
        let mut leads_changed = false;
        for entry in entries {
            last = last.max(entry.index);
            let ws = match entry.command {
                None => {
                    outcomes.push(Ok(entry.index));
                    continue;
                }
                Some(Command::Horizon(h)) => {
                    horizon = horizon.max((*h).min(entry.index));
                    batch.put_cf(meta_cf, META_GC_HORIZON, horizon.to_be_bytes());
                    outcomes.push(Ok(entry.index));
                    continue;
                }
                Some(Command::Commit(ws)) => ws,
            };
            let checked =
                match self.validate(&pending, &schema_changes, ws, catalog_version, horizon) {
                    Ok(c) => c,
                    Err(e) => {
                        outcomes.push(Err(e));
                        continue;
                    }
                };
            for (t, d) in checked.deltas {
                *row_deltas.entry(t).or_insert(0) += d;
            }
            let version = entry.index;
            let changes = if ws.catalog.is_some() {
                let current = match &new_catalog {
                    Some(c) => Some(c.clone()),
                    None => self.catalog.read().as_ref().map(|(_, c)| c.clone()),
                };
                let changes = RowStore::index_changes(current.as_deref(), ws, version)?;
                self.write_index_changes(&changes, &mut batch)?;
                leads = std::sync::Arc::new(changes.leads.clone());
                leads_changed = true;
                Some(changes)
            } else {
                None
            };
            // Entries of indexes this entry (re)builds come from the build.
            let rebuilt: Vec<TableId> = changes
                .iter()
                .flat_map(|c| c.rebuild.iter().map(|s| entries_table(s.id)))
                .chain(
                    changes
                        .iter()
                        .flat_map(|c| c.dropped.iter().map(|id| entries_table(*id))),
                )
                .collect();
            for ((key, write), superseded) in ws.writes.iter().zip(checked.superseded) {
                if !rebuilt.is_empty() && rebuilt.contains(&key.0) {
                    continue;
                }
                let value = match write {
                    Write::Put { row, .. } => row.clone(),
                    Write::Delete => crate::row::tombstone(),
                };
                let at = version_key(key.0, &key.1, version);
                // Before the batch is written, so no read sees the write
                // while the row cache still holds the version before it.
                // New rows go in while there is room; index entries only
                // when read (a range read never looks here). The group of
                // an index entry's leading value is dropped.
                let admit = !is_index_space(key.0);
                self.rows
                    .write(row_of_version_key(&at), version, &value, admit);
                if is_index_space(key.0) {
                    self.groups.written(&leads, key.0, &key.1, version);
                }
                batch.put_cf(data, at, value);
                if superseded || matches!(write, Write::Delete) {
                    batch.put_cf(meta_cf, gc_key(version, key.0, &key.1), []);
                }
                pending.insert(key, (version, matches!(write, Write::Put { .. })));
                if !is_index_space(key.0) {
                    written.insert(key.0, version);
                }
            }
            for table in &ws.altered_tables {
                written.insert(*table, version);
            }
            // Range deletes: of dropped tables, and of the entries of
            // indexes this entry drops or rebuilds.
            self.rows.clear_tables(&ws.drop_tables, version);
            self.rows.clear_tables(&rebuilt, version);
            self.groups.cache.clear_tables(&rebuilt, version);
            for table in &ws.drop_tables {
                batch.delete_range_cf(data, table_prefix(*table), table_end(*table));
                row_deltas.remove(table);
                written.remove(table);
                dropped.push(*table);
            }
            if ws.catalog.is_some() {
                let mut tables: Vec<TableId> = ws
                    .writes
                    .keys()
                    .map(|k| k.0)
                    .filter(|t| !is_index_space(*t))
                    .collect();
                tables.extend(&ws.drop_tables);
                tables.extend(&ws.altered_tables);
                // A table whose indexes change refuses writes planned
                // against the older catalog, which would miss their entries.
                tables.extend(changes.iter().flat_map(|c| c.tables.iter().copied()));
                tables.sort_unstable();
                tables.dedup();
                for t in tables {
                    batch.put_cf(meta_cf, schema_key(t), version.to_be_bytes());
                    schema_changes.insert(t, version);
                }
            }
            if let Some(catalog) = &ws.catalog {
                batch.put_cf(meta_cf, META_CATALOG, catalog);
                batch.put_cf(meta_cf, META_CATALOG_VERSION, version.to_be_bytes());
                catalog_version = version;
                new_catalog = Some(catalog.clone());
            }
            if let Some((slot, high)) = ws.rowid_high {
                let known = rowid_highs.get(&slot).copied();
                let known = match known {
                    Some(k) => k,
                    None => self.rowid_high(slot)?,
                };
                if high > known {
                    batch.put_cf(meta_cf, rowid_key(slot), (high as u64).to_be_bytes());
                    rowid_highs.insert(slot, high);
                }
            }
            index_changes.extend(changes);
            outcomes.push(Ok(version));
        }
        let mut counts: Vec<(TableId, Option<i64>)> = Vec::new();
        {
            let known = self.row_counts.read();
            for t in &dropped {
                if !row_deltas.contains_key(t) {
                    batch.delete_cf(meta_cf, rows_key(*t));
                    counts.push((*t, None));
                }
            }
            for (t, d) in &row_deltas {
                let base = if dropped.contains(t) {
                    0
                } else {
                    known.get(t).copied().unwrap_or(0)
                };
                let n = base + d;
                batch.put_cf(meta_cf, rows_key(*t), n.to_be_bytes());
                counts.push((*t, Some(n)));
            }
        }
        for t in &dropped {
            if !written.contains_key(t) {
                batch.delete_cf(meta_cf, written_key(*t));
            }
        }
        for (t, v) in &written {
            batch.put_cf(meta_cf, written_key(*t), v.to_be_bytes());
        }
        batch.put_cf(meta_cf, META_LAST_VERSION, last.to_be_bytes());
        for (k, v) in meta {
            batch.put_cf(meta_cf, k, v);
        }
        // With index changes, the registry stays locked from before the
        // batch is written until it follows the batch: a build never
        // writes entries of a generation the batch removed.
        let mut registry = (!index_changes.is_empty()).then(|| self.indexes.write());
        if let Err(e) = self.db.write(batch) {
            // The row cache may hold versions of the batch: none of it is
            // stored, so nothing of it may be read (and the cache stays
            // off: the store cannot write).
            self.rows.clear(Version::MAX);
            self.groups.cache.clear(Version::MAX);
            return Err(storage_err(e));
        }
        if leads_changed {
            self.groups.set_leads(leads);
        }
        if let Some(catalog) = new_catalog {
            *self.catalog.write() = Some((catalog_version, catalog));
        }
        self.catalog_version
            .store(catalog_version, Ordering::Release);
        self.horizon.store(horizon, Ordering::Release);
        if !schema_changes.is_empty() {
            self.schema_versions.write().extend(schema_changes);
        }
        for (slot, high) in rowid_highs {
            self.observe_rowid(slot, high);
        }
        if !written.is_empty() || !dropped.is_empty() {
            let mut known = self.last_writes.write();
            for t in &dropped {
                known.remove(t);
            }
            known.extend(written);
        }
        if !counts.is_empty() {
            let mut known = self.row_counts.write();
            for (t, n) in counts {
                match n {
                    Some(n) => known.insert(t, n),
                    None => known.remove(&t),
                };
            }
        }
        self.publish(last);
        if let Some(registry) = registry.as_mut() {
            self.registered(registry, index_changes);
        }
        Ok(outcomes)
    }

    fn validate(
        &self,
        pending: &HashMap<&RowKey, (Version, bool)>,
        schema_changes: &HashMap<TableId, Version>,
        ws: &WriteSet,
        catalog_version: Version,
        horizon: Version,
    ) -> Result<Checked> {
        if ws.read_version < horizon && !ws.is_empty() {
            return Err(Error::SerializationFailure(format!(
                "could not serialize access: snapshot {} is older than the collected horizon {horizon}",
                ws.read_version
            )));
        }
        if ws.catalog.is_some() && catalog_version > ws.read_version {
            return Err(Error::SerializationFailure(
                "could not serialize access due to concurrent schema change".into(),
            ));
        }
        let mut deltas: HashMap<TableId, i64> = HashMap::new();
        let mut superseded = Vec::with_capacity(ws.writes.len());
        let mut checked: Option<TableId> = None;
        for (key, write) in &ws.writes {
            // Keys are ordered by table: check each table's layout once.
            if checked != Some(key.0) {
                checked = Some(key.0);
                let changed = schema_changes
                    .get(&key.0)
                    .copied()
                    .or_else(|| self.schema_versions.read().get(&key.0).copied());
                if changed.is_some_and(|v| v > ws.read_version) {
                    return Err(Error::SerializationFailure(
                        "could not serialize access: the table was altered concurrently".into(),
                    ));
                }
            }
            let latest = match pending.get(key) {
                Some(p) => Some(*p),
                None => self.latest(key.0, &key.1)?,
            };
            superseded.push(latest.is_some());
            let was_live = latest.is_some_and(|(_, live)| live);
            let delta = match (was_live, write) {
                (false, Write::Put { .. }) => 1,
                (true, Write::Delete) => -1,
                _ => 0,
            };
            if delta != 0 && !is_index_space(key.0) {
                *deltas.entry(key.0).or_insert(0) += delta;
            }
            if let Some((v, live)) = latest
                && v > ws.read_version
            {
                if live && matches!(write, Write::Put { insert: true, .. }) {
                    return Err(Error::UniqueViolation(match self.index_name(key.0) {
                        Some(name) if is_index_space(key.0) => {
                            format!("duplicate key value violates unique constraint \"{name}\"")
                        }
                        _ => "duplicate key value violates unique constraint".into(),
                    }));
                }
                return Err(Error::SerializationFailure(
                    "could not serialize access due to concurrent update".into(),
                ));
            }
        }
        Ok(Checked { deltas, superseded })
    }
}

/// What validating a write set found out.
struct Checked {
    /// Live-row count change per table.
    deltas: HashMap<TableId, i64>,
    /// Per write, in key order: whether the row had a version before.
    superseded: Vec<bool>,
}

//! One table's columnar replica: segments, the delta and the key index.
//!
//! Changes arrive as [`RowChange`]s at a log index (the version): a change
//! deletes whatever row has the key (setting its delete mark to the index)
//! and, for an insert or update, appends the new row to the delta with
//! `created = index`. Nothing is ever overwritten, so a reader at index `N`
//! sees the table exactly as of `N` while later entries keep arriving.
//!
//! The delta is frozen into an Arrow segment once it holds [`DELTA_ROWS`]
//! rows (or when a checkpoint runs); compaction merges small segments and
//! drops rows deleted before every running reader's index. While a replica
//! is being built from the row store, changes for it queue in
//! [`Phase::Building`] and are applied, in order, once the build is done.

use crate::persist::{self, Manifest, ManifestSegment};
use crate::segment::{Delta, KeyHashMap, Segment, key_hash};
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use parking_lot::{Mutex, RwLock};
use prismdb_catalog::Table;
use prismdb_catalog::arrow_rows::rows_to_batch;
use prismdb_common::{Error, Result, TableId, Value, Version};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Rows the delta holds before it is frozen into a segment.
pub const DELTA_ROWS: usize = 8192;
/// Rows compaction aims for in one segment.
pub const SEGMENT_ROWS: usize = 128 * 1024;

/// One row-level change of one log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The encoded primary key.
    pub key: Vec<u8>,
    /// The new row (all stored columns), or `None` for a delete.
    pub row: Option<Vec<Value>>,
}

/// Where a live row is.
#[derive(Debug, Clone, Copy)]
struct Loc {
    /// Segment id, or [`IN_DELTA`].
    seg: u64,
    row: u32,
}

const IN_DELTA: u64 = u64::MAX;

/// Whether the replica serves reads.
pub enum Phase {
    /// Being built from a row-store snapshot; changes of later entries wait.
    Building {
        pending: Vec<(Version, Vec<RowChange>)>,
        since: Instant,
    },
    Ready,
}

/// The mutable state of a replica, behind its lock.
pub struct ReplicaState {
    pub def: Arc<Table>,
    /// All stored columns, hidden ones included.
    pub schema: SchemaRef,
    pub phase: Phase,
    /// Bumped whenever a build starts; a build of an older generation stops.
    pub generation: u64,
    /// Reads at indexes below this are not served (rows built from a
    /// snapshot carry its index as their creation version).
    pub ready_from: Version,
    pub delta: Delta,
    pub segments: BTreeMap<u64, Arc<Segment>>,
    index: KeyHashMap<Loc>,
    next_segment: u64,
    /// Applied index of the last manifest written.
    pub checkpointed: Version,
    /// Changed since the last manifest.
    pub dirty: bool,
}

/// Stored-column schema of a table. Every field is nullable, as in the
/// row store's scans: NOT NULL is enforced when rows are written.
pub fn stored_schema(def: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        def.columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, true))
            .collect::<Vec<_>>(),
    ))
}

/// Whether two definitions store rows the same way.
pub fn same_layout(a: &Table, b: &Table) -> bool {
    a.id == b.id && a.columns == b.columns && a.primary_key == b.primary_key
}

fn arrow_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("columnar: {e}"))
}

impl ReplicaState {
    pub fn new(def: Arc<Table>) -> ReplicaState {
        ReplicaState {
            schema: stored_schema(&def),
            def,
            phase: Phase::Building {
                pending: Vec::new(),
                since: Instant::now(),
            },
            generation: 0,
            ready_from: 0,
            delta: Delta::default(),
            segments: BTreeMap::new(),
            index: KeyHashMap::default(),
            next_segment: 1,
            checkpointed: 0,
            dirty: true,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// Empties the replica and starts a new build generation.
    pub fn reset(&mut self, def: Arc<Table>) {
        let generation = self.generation + 1;
        let next_segment = self.next_segment;
        *self = ReplicaState::new(def);
        self.generation = generation;
        self.next_segment = next_segment;
    }

    /// Queues or applies the changes of the entry at `version`.
    pub fn apply(&mut self, version: Version, changes: Vec<RowChange>) -> Result<()> {
        match &mut self.phase {
            Phase::Building { pending, .. } => {
                pending.push((version, changes));
                Ok(())
            }
            Phase::Ready => self.apply_now(version, changes),
        }
    }

    /// Applies changes regardless of phase (builds use it directly).
    pub fn apply_now(&mut self, version: Version, changes: Vec<RowChange>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        for change in changes {
            let hash = key_hash(&change.key);
            if let Some(loc) = self.index.remove(&hash) {
                if loc.seg == IN_DELTA {
                    self.delta.deleted[loc.row as usize] = version;
                } else if let Some(seg) = self.segments.get(&loc.seg) {
                    seg.mark_deleted(loc.row as usize, version);
                }
            }
            if let Some(row) = change.row {
                let at = self.delta.push(row, version, hash);
                self.index.insert(
                    hash,
                    Loc {
                        seg: IN_DELTA,
                        row: at as u32,
                    },
                );
            }
        }
        if self.delta.len() >= DELTA_ROWS {
            self.freeze()?;
        }
        Ok(())
    }

    /// Ends a build: applies the queued changes of entries after `at`.
    pub fn finish_build(&mut self, at: Version) -> Result<()> {
        let pending = match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Building { pending, .. } => pending,
            Phase::Ready => Vec::new(),
        };
        for (version, changes) in pending {
            if version > at {
                self.apply_now(version, changes)?;
            }
        }
        self.ready_from = at;
        self.dirty = true;
        Ok(())
    }

    /// Turns the delta into a segment.
    pub fn freeze(&mut self) -> Result<()> {
        if self.delta.is_empty() {
            return Ok(());
        }
        let delta = std::mem::take(&mut self.delta);
        let rows: Vec<&[Value]> = delta.rows.iter().map(|r| r.as_slice()).collect();
        let batch = self.rows_batch(&rows)?;
        let id = self.next_segment;
        self.next_segment += 1;
        let seg = Segment::new(id, batch, delta.created, delta.keys.clone());
        for (row, (&d, key)) in delta.deleted.iter().zip(&delta.keys).enumerate() {
            if d != 0 {
                seg.mark_deleted(row, d);
            } else {
                self.index.insert(
                    *key,
                    Loc {
                        seg: id,
                        row: row as u32,
                    },
                );
            }
        }
        self.segments.insert(id, Arc::new(seg));
        Ok(())
    }

    fn rows_batch(&self, rows: &[&[Value]]) -> Result<RecordBatch> {
        let columns: Vec<_> = self.def.columns.iter().collect();
        let cols: Vec<usize> = (0..columns.len()).collect();
        rows_to_batch(&self.schema, &columns, &cols, rows)
    }

    /// What a reader at `at` scans: the segments and the visible delta rows.
    pub fn read(&self, at: Version) -> Result<(Vec<Arc<Segment>>, Option<RecordBatch>)> {
        let visible = self.delta.visible(at);
        let delta = if visible.is_empty() {
            None
        } else {
            Some(self.rows_batch(&visible)?)
        };
        Ok((self.segments.values().cloned().collect(), delta))
    }

    /// Rows visible at `at`.
    pub fn live_rows(&self, at: Version) -> usize {
        self.segments
            .values()
            .map(|s| s.live_rows(at))
            .sum::<usize>()
            + self.delta.visible(at).len()
    }

    /// Bytes of loaded segments and (roughly) of the delta.
    pub fn memory_bytes(&self) -> usize {
        self.segments
            .values()
            .filter(|s| s.is_loaded())
            .map(|s| s.bytes)
            .sum::<usize>()
            + self.delta.len() * 16 * self.def.columns.len().max(1)
    }

    /// Merges small segments and rewrites those with many deleted rows,
    /// dropping rows deleted at or before `purge_below` (no reader sees
    /// them). Returns whether anything changed.
    pub fn compact(&mut self, purge_below: Version) -> Result<bool> {
        // Worth rewriting: a quarter of the rows can be dropped. (Counting
        // all deleted rows would rewrite a segment again and again while a
        // reader still sees its deleted rows.)
        let heavy = |s: &Segment| {
            s.deleted_count() * 4 > s.rows.max(1) && s.deleted_by(purge_below) * 4 > s.rows.max(1)
        };
        let candidates: Vec<Arc<Segment>> = self
            .segments
            .values()
            .filter(|s| s.is_loaded())
            .filter(|s| s.rows < SEGMENT_ROWS / 2 || heavy(s))
            .cloned()
            .collect();
        let heavy_any = candidates.iter().any(|s| heavy(s));
        if candidates.len() < 4 && !heavy_any {
            return Ok(false);
        }
        // Group candidates into runs of about SEGMENT_ROWS rows.
        let mut groups: Vec<Vec<Arc<Segment>>> = vec![Vec::new()];
        let mut rows = 0;
        for s in candidates {
            if rows + s.rows > SEGMENT_ROWS && !groups.last().is_some_and(|g| g.is_empty()) {
                groups.push(Vec::new());
                rows = 0;
            }
            rows += s.rows;
            if let Some(g) = groups.last_mut() {
                g.push(s);
            }
        }
        let mut changed = false;
        for group in groups {
            let single_light = group.len() == 1 && !heavy(&group[0]);
            if group.is_empty() || single_light {
                continue;
            }
            self.merge(&group, purge_below)?;
            changed = true;
        }
        Ok(changed)
    }

    fn merge(&mut self, group: &[Arc<Segment>], purge_below: Version) -> Result<()> {
        let mut batches = Vec::new();
        let mut created = Vec::new();
        let mut keys = Vec::new();
        let mut deleted = Vec::new();
        for seg in group {
            let Some(batch) = seg.batch() else {
                return Ok(());
            };
            let keep: BooleanArray = (0..seg.rows)
                .map(|r| {
                    let d = seg.deleted_at(r);
                    Some(d == 0 || d > purge_below)
                })
                .collect();
            batches.push(filter_record_batch(&batch, &keep).map_err(arrow_err)?);
            for r in 0..seg.rows {
                if keep.value(r) {
                    created.push(seg.created[r]);
                    keys.push(seg.keys[r]);
                    deleted.push(seg.deleted_at(r));
                }
            }
        }
        if created.is_empty() {
            // Every row was purged: no segment replaces the group (an empty
            // one could not be written to Parquet).
            for seg in group {
                self.segments.remove(&seg.id);
            }
            self.dirty = true;
            return Ok(());
        }
        let batch = concat_batches(&self.schema, &batches).map_err(arrow_err)?;
        let id = self.next_segment;
        self.next_segment += 1;
        let merged = Segment::new(id, batch, created, keys.clone());
        for (row, (&d, key)) in deleted.iter().zip(&keys).enumerate() {
            if d != 0 {
                merged.mark_deleted(row, d);
            } else {
                self.index.insert(
                    *key,
                    Loc {
                        seg: id,
                        row: row as u32,
                    },
                );
            }
        }
        for seg in group {
            self.segments.remove(&seg.id);
        }
        self.segments.insert(id, Arc::new(merged));
        self.dirty = true;
        Ok(())
    }

    /// The manifest describing the current segments at `applied`.
    pub fn manifest(&self, applied: Version) -> Manifest {
        Manifest {
            table: self.def.as_ref().clone(),
            applied,
            ready_from: self.ready_from,
            segments: self
                .segments
                .values()
                .map(|s| ManifestSegment {
                    id: s.id,
                    rows: s.rows,
                    file: persist::segment_file(s.id),
                    deletes: s.deletes(),
                })
                .collect(),
        }
    }

    /// Restores a replica from its manifest; segment files are read now
    /// (`load`) or when first scanned.
    pub fn restore(def: Arc<Table>, manifest: &Manifest, dir: &std::path::Path) -> Result<Self> {
        let mut state = ReplicaState::new(def);
        state
            .index
            .reserve(manifest.segments.iter().map(|m| m.rows).sum());
        for m in &manifest.segments {
            let path = dir.join(&m.file);
            let (batch, created, keys) = persist::read_segment(&path, &state.schema)?;
            if batch.num_rows() != m.rows {
                return Err(Error::Storage(format!(
                    "segment {} has {} rows, manifest says {}",
                    path.display(),
                    batch.num_rows(),
                    m.rows
                )));
            }
            let seg = Segment::new(m.id, batch, created, keys);
            *seg.file.lock() = Some(path);
            for &(row, version) in &m.deletes {
                seg.mark_deleted(row as usize, version);
            }
            for (row, key) in seg.keys.iter().enumerate() {
                if seg.deleted_at(row) == 0 {
                    state.index.insert(
                        *key,
                        Loc {
                            seg: m.id,
                            row: row as u32,
                        },
                    );
                }
            }
            state.next_segment = state.next_segment.max(m.id + 1);
            state.segments.insert(m.id, Arc::new(seg));
        }
        state.ready_from = manifest.ready_from;
        state.checkpointed = manifest.applied;
        state.dirty = false;
        Ok(state)
    }
}

/// A table's replica on this node.
pub struct Replica {
    pub table_id: TableId,
    pub dir: PathBuf,
    pub state: RwLock<ReplicaState>,
    /// Rows copied by the running build, and the estimate of its total.
    pub built_rows: AtomicU64,
    pub estimated_rows: AtomicU64,
    /// Checkpoints are written one at a time.
    pub checkpoint_lock: Mutex<()>,
}

impl Replica {
    pub fn new(def: Arc<Table>, dir: PathBuf) -> Replica {
        Replica {
            table_id: def.id,
            dir,
            state: RwLock::new(ReplicaState::new(def)),
            built_rows: AtomicU64::new(0),
            estimated_rows: AtomicU64::new(0),
            checkpoint_lock: Mutex::new(()),
        }
    }

    /// Build progress in 0..1 (1 once ready).
    pub fn progress(&self) -> f64 {
        self.progress_of(&self.state.read())
    }

    /// Build progress given the replica's state, for callers that already
    /// hold its lock: taking the read lock again while a writer waits for
    /// it would deadlock (parking_lot read locks are not reentrant).
    pub fn progress_of(&self, state: &ReplicaState) -> f64 {
        if state.is_ready() {
            return 1.0;
        }
        let built = self.built_rows.load(Ordering::Relaxed) as f64;
        let total = self.estimated_rows.load(Ordering::Relaxed) as f64;
        if total <= 0.0 {
            0.0
        } else {
            (built / total).min(0.99)
        }
    }
}

//! Immutable segments and the mutable delta of a replica.
//!
//! A [`Segment`] is one Arrow record batch of a replica's stored columns and,
//! per row, the log index that created the row, the index that deleted it
//! (0 while live) and the hash of its primary key. Data never changes once a
//! segment exists; only delete marks are set, each to the index of the entry
//! that deleted the row, so a reader at index `N` sees exactly the rows with
//! `created <= N` and no delete mark `<= N` whatever was applied after `N`.
//! Per-column min/max statistics let scans skip segments a filter rules out.
//! A segment whose file is written may drop its batch from memory and be read
//! back from Parquet when scanned.
//!
//! The [`Delta`] holds the newest rows as plain values until it is frozen
//! into a segment.

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::min_max::{MaxAccumulator, MinAccumulator};
use datafusion::logical_expr::Accumulator;
use parking_lot::{Mutex, RwLock};
use prismdb_common::{Value, Version};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use twox_hash::XxHash3_128;

/// 128-bit hash of an encoded primary key: how a replica finds a row to
/// delete. Collisions are as likely as a random 128-bit match.
pub type KeyHash = u128;

pub fn key_hash(key: &[u8]) -> KeyHash {
    XxHash3_128::oneshot(key)
}

/// A map keyed by [`KeyHash`]. The key is already a uniform hash, so the
/// map needs only foldhash's one seeded multiply to spread it, not SipHash
/// over its 16 bytes (SipHash of every key was a fifth of the time of
/// restoring a replica). The seed is random per process, so keys chosen
/// to collide in the table's bucket bits cannot be precomputed.
pub type KeyHashMap<V> = std::collections::HashMap<KeyHash, V, foldhash::fast::RandomState>;

/// Min, max and null count of one column of a segment.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub min: ScalarValue,
    pub max: ScalarValue,
    pub nulls: u64,
}

fn column_stats(array: &ArrayRef) -> ColumnStats {
    let dt = array.data_type();
    let stat = |acc: Result<Box<dyn Accumulator>, _>| -> ScalarValue {
        let null = ScalarValue::try_from(dt).unwrap_or(ScalarValue::Null);
        match acc {
            Ok(mut acc) => acc
                .update_batch(std::slice::from_ref(array))
                .and_then(|_| acc.evaluate())
                .unwrap_or(null),
            Err(_) => null,
        }
    };
    let min = stat(MinAccumulator::try_new(dt).map(|a| Box::new(a) as Box<dyn Accumulator>));
    let max = stat(MaxAccumulator::try_new(dt).map(|a| Box::new(a) as Box<dyn Accumulator>));
    ColumnStats {
        min,
        max,
        nulls: array.null_count() as u64,
    }
}

/// An immutable batch of rows with per-row versions.
pub struct Segment {
    pub id: u64,
    pub rows: usize,
    /// The rows, or `None` while evicted to `file`.
    data: RwLock<Option<RecordBatch>>,
    pub created: Vec<Version>,
    max_created: Version,
    deleted: Vec<AtomicU64>,
    deleted_count: AtomicUsize,
    pub keys: Vec<KeyHash>,
    pub stats: Vec<ColumnStats>,
    /// The Parquet file holding the rows, once written.
    pub file: Mutex<Option<PathBuf>>,
    /// Memory the batch takes while loaded.
    pub bytes: usize,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Segment({}, {} rows)", self.id, self.rows)
    }
}

impl Segment {
    pub fn new(id: u64, batch: RecordBatch, created: Vec<Version>, keys: Vec<KeyHash>) -> Segment {
        let rows = batch.num_rows();
        let stats = batch.columns().iter().map(column_stats).collect();
        let bytes = batch.get_array_memory_size();
        Segment {
            id,
            rows,
            max_created: created.iter().copied().max().unwrap_or(0),
            created,
            deleted: (0..rows).map(|_| AtomicU64::new(0)).collect(),
            deleted_count: AtomicUsize::new(0),
            keys,
            stats,
            data: RwLock::new(Some(batch)),
            file: Mutex::new(None),
            bytes,
        }
    }

    /// The rows, if in memory.
    pub fn batch(&self) -> Option<RecordBatch> {
        self.data.read().clone()
    }

    pub fn is_loaded(&self) -> bool {
        self.data.read().is_some()
    }

    /// Drops the in-memory rows if they are safely in a file. Returns the
    /// bytes freed.
    pub fn evict(&self) -> usize {
        if self.file.lock().is_none() {
            return 0;
        }
        match self.data.write().take() {
            Some(_) => self.bytes,
            None => 0,
        }
    }

    pub fn mark_deleted(&self, row: usize, version: Version) {
        if self.deleted[row].swap(version, Ordering::AcqRel) == 0 {
            self.deleted_count.fetch_add(1, Ordering::AcqRel);
        }
    }

    pub fn deleted_at(&self, row: usize) -> Version {
        self.deleted[row].load(Ordering::Acquire)
    }

    pub fn deleted_count(&self) -> usize {
        self.deleted_count.load(Ordering::Acquire)
    }

    /// Rows deleted at or before `version` (which compaction may drop).
    pub fn deleted_by(&self, version: Version) -> usize {
        if self.deleted_count() == 0 {
            return 0;
        }
        self.deleted
            .iter()
            .filter(|d| {
                let d = d.load(Ordering::Acquire);
                d != 0 && d <= version
            })
            .count()
    }

    /// Delete marks as (row, version), for the manifest.
    pub fn deletes(&self) -> Vec<(u32, Version)> {
        if self.deleted_count() == 0 {
            return Vec::new();
        }
        (0..self.rows)
            .filter_map(|r| {
                let d = self.deleted_at(r);
                (d != 0).then_some((r as u32, d))
            })
            .collect()
    }

    /// Which rows a reader at `at` sees; `None` when it sees all of them.
    pub fn visibility(&self, at: Version) -> Option<BooleanArray> {
        if self.max_created <= at && self.deleted_count() == 0 {
            return None;
        }
        Some(
            (0..self.rows)
                .map(|r| {
                    let d = self.deleted_at(r);
                    Some(self.created[r] <= at && (d == 0 || d > at))
                })
                .collect(),
        )
    }

    /// Rows visible at `at` (for statistics and status).
    pub fn live_rows(&self, at: Version) -> usize {
        match self.visibility(at) {
            None => self.rows,
            Some(mask) => mask.true_count(),
        }
    }
}

/// Rows not yet frozen into a segment.
#[derive(Default)]
pub struct Delta {
    pub rows: Vec<Vec<Value>>,
    pub created: Vec<Version>,
    pub deleted: Vec<Version>,
    pub keys: Vec<KeyHash>,
}

impl Delta {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push(&mut self, row: Vec<Value>, created: Version, key: KeyHash) -> usize {
        self.rows.push(row);
        self.created.push(created);
        self.deleted.push(0);
        self.keys.push(key);
        self.rows.len() - 1
    }

    /// Rows a reader at `at` sees.
    pub fn visible(&self, at: Version) -> Vec<&[Value]> {
        (0..self.rows.len())
            .filter(|&i| self.created[i] <= at && (self.deleted[i] == 0 || self.deleted[i] > at))
            .map(|i| self.rows[i].as_slice())
            .collect()
    }
}

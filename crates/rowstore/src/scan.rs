//! Range reads over row versions: a table's (or an index's) rows in a key
//! range as of a snapshot, forwards ([`RowStore::scan`]) or backwards
//! ([`RowStore::scan_back`]), and an index's entries in the order a
//! [`Direction`] gives ([`RowStore::index_entries`]).
//!
//! Small reads (a chunk of at most [`POOLED_SCAN`] rows, as the key fast
//! paths and the first chunks of a scan ask for) reuse pooled iterators, as
//! point reads do: creating a RocksDB iterator costs more than reading a
//! few rows with it. Pooled iterators carry no bounds, so the range's end
//! is checked here; larger reads make a bounded iterator of their own.
//!
//! Stepping backwards is much dearer than stepping forwards in RocksDB:
//! each step back in a memtable is a new search of its skip list, and in a
//! block a re-scan from the block's restart point. A backward read of a
//! short range (the newest few entries under one index prefix, say) is
//! therefore first tried forwards: when the whole range holds at most
//! `probe` versions, they are read forwards and handed back in reverse.

use crate::groups;
use crate::index::{Direction, SHORT_RANGE, entries_table};
use crate::row::{ROW, Rows, decode_columns, decode_row};
use crate::store::{
    CF_DATA, RowStore, ScanChunk, across_rows, row_prefix, split_key, storage_err, table_end,
    table_prefix,
};
use prismdb_common::keycode::prefix_end;
use prismdb_common::{Result, TableId, Value, Version};
use rocksdb::DBRawIterator;
use std::ops::{Bound, Range};

/// Reads of at most this many rows use a pooled iterator.
pub(crate) const POOLED_SCAN: usize = 1024;

/// The first key at or after every version of the keys of `table` in
/// `lower`, and the first key after every version of those in `upper`.
fn version_range(table: TableId, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> (Vec<u8>, Vec<u8>) {
    let after_versions = |k: &[u8]| {
        let mut e = row_prefix(table, k);
        e.extend([0xff; 8]);
        e.push(0);
        e
    };
    let start = match lower {
        Bound::Unbounded => table_prefix(table),
        Bound::Included(l) => row_prefix(table, l),
        Bound::Excluded(l) => after_versions(l),
    };
    let end = match upper {
        Bound::Unbounded => table_end(table),
        Bound::Included(u) => after_versions(u),
        Bound::Excluded(u) => row_prefix(table, u),
    };
    (start, end)
}

impl RowStore {
    /// Scans the rows of `table` whose encoded key lies in `(lower, upper)`,
    /// as of `snapshot`, returning at most `limit` rows.
    pub fn scan(
        &self,
        table: TableId,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: Version,
        limit: usize,
    ) -> Result<ScanChunk> {
        self.scan_columns(table, (lower, upper), snapshot, limit, None)
    }

    /// [`RowStore::scan`] that, with `keep`, decodes only the columns it
    /// marks (the others read as NULL; see [`decode_columns`]).
    pub fn scan_columns(
        &self,
        table: TableId,
        (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
        snapshot: Version,
        limit: usize,
        keep: Option<&[bool]>,
    ) -> Result<ScanChunk> {
        let (start, end) = version_range(table, lower, upper);
        let read = |it: &mut DBRawIterator<'_>| {
            it.seek(&start);
            forwards(it, &end, snapshot, limit, keep)
        };
        let (rows, resume_after) = self.with_range_iterator(limit, &end, read)?;
        Ok(ScanChunk { rows, resume_after })
    }

    /// The rows of `table` whose encoded key lies in `(lower, upper)`, as
    /// of `snapshot`, in reverse key order, at most `limit`; with the key
    /// to continue before when the limit ended the read. A range of at most
    /// `probe` versions is read forwards (see the module doc).
    pub fn scan_back(
        &self,
        table: TableId,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: Version,
        limit: usize,
        probe: usize,
    ) -> Result<Rows> {
        let (start, end) = version_range(table, lower, upper);
        let read = |it: &mut DBRawIterator<'_>| {
            if probe > 0
                && let Some(rows) = probe_forwards(it, &start, &end, snapshot, probe)?
            {
                return reversed(rows, limit);
            }
            it.seek_for_prev(&end);
            backwards(it, &start, &end, snapshot, limit)
        };
        self.with_range_iterator(limit.max(probe), &end, read)
    }

    /// The live entries of an index in a range of entry keys as of
    /// `snapshot`, in the order `direction` gives, at most `limit`: each
    /// entry's key and value (INCLUDE columns, then the row's primary key).
    /// The second result is the key to continue after, if the limit ended
    /// the read.
    pub fn index_entries(
        &self,
        index: u32,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        snapshot: Version,
        limit: usize,
        direction: Direction,
    ) -> Result<Rows> {
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

    /// The entries of index `index` under the one encoded value `lead` of
    /// its leading column, as [`RowStore::index_entries`] over that value's
    /// range gives them, from the index-group cache (see the `groups`
    /// module) or read and kept there. `None` when the cache does not take
    /// the group (it is long, or `lead` is not one whole value): read it
    /// with [`RowStore::index_entries`] then.
    pub fn index_group(
        &self,
        index: u32,
        lead: &[u8],
        snapshot: Version,
        limit: usize,
        direction: Direction,
    ) -> Result<Option<Rows>> {
        let Some(key) = self.groups.key(index, lead) else {
            return Ok(None);
        };
        let reverse = direction != Direction::Forward;
        let hit = self.groups.cache.read(&key, snapshot, |packed| {
            groups::unpack(packed, limit, reverse)
        });
        if let Some(rows) = hit {
            return rows;
        }
        let space = entries_table(index);
        let upper = prefix_end(lead);
        let upper = upper.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let (start, end) = version_range(space, Bound::Included(lead), upper);
        let read =
            |it: &mut DBRawIterator<'_>| probe_forwards(it, &start, &end, snapshot, SHORT_RANGE);
        let Some(found) = self.with_range_iterator(SHORT_RANGE, &end, read)? else {
            self.groups.fill(&key, &groups::long(), snapshot);
            return Ok(None);
        };
        let packed = groups::pack(
            found
                .rows
                .iter()
                .map(|(k, v)| (&found.bytes[k.clone()], &found.bytes[v.clone()])),
        );
        self.groups.fill(&key, &packed, snapshot);
        groups::unpack(&packed, limit, reverse)
    }

    /// Runs `read` with a pooled iterator for a read of up to `rows` rows,
    /// else with a new one bounded above by `end`.
    fn with_range_iterator<R>(
        &self,
        rows: usize,
        end: &[u8],
        read: impl FnOnce(&mut DBRawIterator<'_>) -> Result<R>,
    ) -> Result<R> {
        let data = self.cf(CF_DATA)?;
        if rows <= POOLED_SCAN {
            return self
                .range_readers
                .with(&self.db, data, read)
                .map_err(storage_err)?;
        }
        let mut ro = across_rows();
        ro.set_iterate_upper_bound(end.to_vec());
        let mut it = self.db.raw_iterator_cf_opt(data, ro);
        read(&mut it)
    }
}

/// The primary key whose visible version a forward read has decided
/// (versions of a row sort newest first, so its older ones are skipped):
/// one buffer reused for every row rather than a copy per row.
#[derive(Default)]
struct Decided {
    pk: Vec<u8>,
    any: bool,
}

impl Decided {
    fn is(&self, pk: &[u8]) -> bool {
        self.any && self.pk == pk
    }

    fn set(&mut self, pk: &[u8]) {
        self.pk.clear();
        self.pk.extend_from_slice(pk);
        self.any = true;
    }
}

/// Up to `limit` visible rows from where `it` stands up to `end` (with
/// `keep`, only the columns it marks).
fn forwards(
    it: &mut DBRawIterator<'_>,
    end: &[u8],
    snapshot: Version,
    limit: usize,
    keep: Option<&[bool]>,
) -> Result<Rows> {
    let mut rows = Vec::new();
    // The pk whose visible version has been decided (emitted or deleted).
    let mut done = Decided::default();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if k >= end {
            break;
        }
        let (_, pk, version) = split_key(k)?;
        if version > snapshot || done.is(pk) {
            it.next();
            continue;
        }
        done.set(pk);
        let row = decode_columns(v, keep)?;
        if let Some(row) = row {
            rows.push((pk.to_vec(), row));
            if rows.len() >= limit {
                return Ok((rows, Some(pk.to_vec())));
            }
        }
        it.next();
    }
    it.status().map_err(storage_err)?;
    Ok((rows, None))
}

/// The visible live rows a forward probe found: their keys and encoded
/// values back to back in one buffer, in key order.
#[derive(Default)]
struct Probed {
    bytes: Vec<u8>,
    /// Key and value spans in `bytes`, per row.
    rows: Vec<(Range<usize>, Range<usize>)>,
}

/// Reads `[start, end)` forwards if it holds at most `probe` versions:
/// the visible live rows' keys and encoded values, in key order. `None`
/// when the range is longer.
fn probe_forwards(
    it: &mut DBRawIterator<'_>,
    start: &[u8],
    end: &[u8],
    snapshot: Version,
    probe: usize,
) -> Result<Option<Probed>> {
    it.seek(start);
    let mut found = Probed::default();
    let mut done = Decided::default();
    let mut steps = 0;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if k >= end {
            return Ok(Some(found));
        }
        steps += 1;
        if steps > probe {
            return Ok(None);
        }
        let (_, pk, version) = split_key(k)?;
        if version <= snapshot && !done.is(pk) {
            done.set(pk);
            if v.first() == Some(&ROW) {
                let bytes = &mut found.bytes;
                if bytes.is_empty() {
                    bytes.reserve(1024);
                }
                let key_at = bytes.len();
                bytes.extend_from_slice(pk);
                let value_at = bytes.len();
                bytes.extend_from_slice(v);
                found.rows.push((key_at..value_at, value_at..bytes.len()));
            }
        }
        it.next();
    }
    it.status().map_err(storage_err)?;
    Ok(Some(found))
}

/// The last `limit` of `found` (key order), newest key first, decoded.
fn reversed(found: Probed, limit: usize) -> Result<Rows> {
    let mut out = Vec::with_capacity(found.rows.len().min(limit));
    let more = found.rows.len() > limit;
    for (key, value) in found.rows.into_iter().rev().take(limit) {
        if let Some(row) = decode_row(&found.bytes[value])? {
            out.push((found.bytes[key].to_vec(), row));
        }
    }
    let after = if more {
        out.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    Ok((out, after))
}

/// Up to `limit` visible rows from where `it` stands (at or before `end`)
/// back to `start`, in reverse key order.
fn backwards(
    it: &mut DBRawIterator<'_>,
    start: &[u8],
    end: &[u8],
    snapshot: Version,
    limit: usize,
) -> Result<Rows> {
    // Backwards, a row's versions come oldest first: the visible one is
    // the last one at or below the snapshot before the row changes.
    let mut out = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut visible: Option<Vec<u8>> = None;
    let flush = |row: Option<Vec<u8>>, value: Option<Vec<u8>>, out: &mut Vec<_>| -> Result<()> {
        if let (Some(row), Some(value)) = (row, value)
            && value.first() == Some(&ROW)
            && let Some(v) = decode_row(&value)?
        {
            out.push((row, v));
        }
        Ok(())
    };
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if k < start {
            break;
        }
        if k >= end {
            it.prev();
            continue;
        }
        let (_, key, version) = split_key(k)?;
        if current.as_deref() != Some(key) {
            flush(current.take(), visible.take(), &mut out)?;
            if out.len() >= limit {
                let after = out.last().map(|(k, _): &(Vec<u8>, Vec<Value>)| k.clone());
                return Ok((out, after));
            }
            current = Some(key.to_vec());
        }
        if version <= snapshot {
            visible = Some(v.to_vec());
        }
        it.prev();
    }
    it.status().map_err(storage_err)?;
    flush(current.take(), visible.take(), &mut out)?;
    if out.len() > limit {
        out.truncate(limit);
        let after = out.last().map(|(k, _)| k.clone());
        return Ok((out, after));
    }
    Ok((out, None))
}

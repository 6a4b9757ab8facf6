//! Whole-store snapshots (for the log's snapshot transfer) and garbage
//! collection of old versions (driven by the garbage index that applying
//! writes keeps, so its work follows the writes, not the store's size).
//!
//! A snapshot is every key of the `data` and `meta` column families read
//! through one RocksDB snapshot, so it is the state as of exactly one applied
//! log index (stored in `meta` with it). The format is a magic header and
//! then `cf (u8) | key length (u32 BE) | key | value length (u32 BE) | value`
//! records. Installing one replaces both column families in one atomic batch.

use crate::row::ROW;
use crate::store::{
    CF_DATA, CF_META, META_GC_INDEXED_FROM, META_GC_PREFIX, RowStore, across_rows, split_key,
    storage_err,
};
use prismdb_common::{Error, Result, Version};
use rocksdb::{ColumnFamily, DBRawIterator, IteratorMode, ReadOptions, WriteBatch};
use std::collections::HashSet;
use std::sync::atomic::Ordering;

const MAGIC: &[u8] = b"PRISMSNAP1";
const FAMILIES: [&str; 2] = [CF_DATA, CF_META];

impl RowStore {
    /// Serializes the whole store as of one consistent point. Also returns
    /// the value of `meta_key` at that same point (the log's applied state).
    pub fn export(&self, meta_key: &[u8]) -> Result<(Option<Vec<u8>>, Vec<u8>)> {
        let snap = self.db.snapshot();
        let mut out = MAGIC.to_vec();
        for (i, name) in FAMILIES.iter().enumerate() {
            let cf = self.cf(name)?;
            for item in snap.iterator_cf_opt(cf, across_rows(), IteratorMode::Start) {
                let (k, v) = item.map_err(storage_err)?;
                out.push(i as u8);
                out.extend((k.len() as u32).to_be_bytes());
                out.extend(&*k);
                out.extend((v.len() as u32).to_be_bytes());
                out.extend(&*v);
            }
        }
        let state = snap
            .get_cf(self.cf(CF_META)?, meta_key)
            .map_err(storage_err)?;
        Ok((state, out))
    }

    /// Replaces the whole store with a snapshot made by [`RowStore::export`].
    pub fn import(&self, bytes: &[u8]) -> Result<()> {
        let bad = || Error::Storage("malformed snapshot".into());
        let mut rest = bytes.strip_prefix(MAGIC).ok_or_else(bad)?;
        let mut batch = WriteBatch::default();
        for name in FAMILIES {
            let cf = self.cf(name)?;
            batch.delete_range_cf(cf, [0u8].as_slice(), [0xffu8; 64].as_slice());
            // delete_range's end is exclusive; keys starting with 64 0xff
            // bytes do not occur (keys start with a table id or a name).
        }
        let take = |n: usize, rest: &mut &[u8]| -> Result<Vec<u8>> {
            if rest.len() < n {
                return Err(bad());
            }
            let (a, b) = rest.split_at(n);
            *rest = b;
            Ok(a.to_vec())
        };
        while !rest.is_empty() {
            let cf = take(1, &mut rest)?[0] as usize;
            let name = FAMILIES.get(cf).ok_or_else(bad)?;
            let klen = u32::from_be_bytes(take(4, &mut rest)?.try_into().map_err(|_| bad())?);
            let key = take(klen as usize, &mut rest)?;
            let vlen = u32::from_be_bytes(take(4, &mut rest)?.try_into().map_err(|_| bad())?);
            let value = take(vlen as usize, &mut rest)?;
            batch.put_cf(self.cf(name)?, key, value);
        }
        // No read fills the row cache in while the contents change.
        self.rows.clear(Version::MAX);
        self.groups.cache.clear(Version::MAX);
        let replaced = self
            .db
            .write(batch)
            .map_err(storage_err)
            .and_then(|()| self.load_meta());
        self.rows.reopen(self.last_version());
        self.groups.cache.reopen(self.last_version());
        replaced
    }

    /// How many versions (rows and deletes) of `table` are stored.
    pub fn version_count(&self, table: prismdb_common::TableId) -> Result<usize> {
        let mut ro = across_rows();
        ro.set_iterate_upper_bound(crate::store::table_end(table));
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        it.seek(crate::store::table_prefix(table));
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        it.status().map_err(storage_err)?;
        Ok(n)
    }

    /// Deletes versions no snapshot at or above `below` can see: for each
    /// row, every version older than its newest version `<= below`, and
    /// that version too when it is a delete. Visits only the rows the
    /// garbage index names for writes `<= below` (and, once, every row of a
    /// store written before the index). Returns how many were removed.
    pub fn collect_garbage(&self, below: Version) -> Result<usize> {
        let mut removed = 0;
        let unindexed = self.gc_indexed_from.load(Ordering::Acquire);
        if unindexed != 0 && below >= unindexed {
            removed += self.collect_all(below)?;
            self.db
                .put_cf(self.cf(CF_META)?, META_GC_INDEXED_FROM, 0u64.to_be_bytes())
                .map_err(storage_err)?;
            self.gc_indexed_from.store(0, Ordering::Release);
        }
        Ok(removed + self.collect_indexed(below)?)
    }

    /// Collects the rows named by garbage-index entries `<= below`, and
    /// drops those entries.
    fn collect_indexed(&self, below: Version) -> Result<usize> {
        let meta = self.cf(CF_META)?;
        let data = self.cf(CF_DATA)?;
        let mut end = META_GC_PREFIX.to_vec();
        end.extend(below.saturating_add(1).to_be_bytes());
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        // The index is read first: every entry it shows was written in the
        // same batch as its data, which the later data iterator sees.
        let mut index = self.db.raw_iterator_cf_opt(meta, ro);
        index.seek(META_GC_PREFIX);
        let mut versions = self.db.raw_iterator_cf_opt(data, across_rows());
        let mut batch = WriteBatch::default();
        let mut removed = 0;
        let mut visited: HashSet<Vec<u8>> = HashSet::new();
        while let Some(k) = index.key() {
            let Some(row) = k.get(META_GC_PREFIX.len() + 8..) else {
                return Err(Error::Storage("short garbage-index key".into()));
            };
            if visited.insert(row.to_vec()) {
                removed += collect_row(&mut versions, data, row, below, &mut batch)?;
            }
            batch.delete_cf(meta, k);
            self.write_if_large(&mut batch)?;
            index.next();
        }
        index.status().map_err(storage_err)?;
        self.db.write(batch).map_err(storage_err)?;
        Ok(removed)
    }

    /// Writes out a collection batch that has grown large.
    fn write_if_large(&self, batch: &mut WriteBatch) -> Result<()> {
        if batch.len() >= 10_000 {
            self.db.write(std::mem::take(batch)).map_err(storage_err)?;
        }
        Ok(())
    }

    /// Collects by reading every stored version.
    fn collect_all(&self, below: Version) -> Result<usize> {
        let cf = self.cf(CF_DATA)?;
        let mut it = self.db.raw_iterator_cf_opt(cf, across_rows());
        it.seek_to_first();
        let mut batch = WriteBatch::default();
        let mut removed = 0;
        // The row (table | pk) whose newest version <= below was seen.
        let mut settled: Option<Vec<u8>> = None;
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let (_, _, version) = split_key(k)?;
            let row = k[..k.len() - 8].to_vec();
            if version <= below {
                if settled.as_deref() == Some(row.as_slice()) {
                    batch.delete_cf(cf, k);
                    removed += 1;
                } else {
                    if v.first() != Some(&ROW) {
                        batch.delete_cf(cf, k);
                        removed += 1;
                    }
                    settled = Some(row);
                }
            }
            self.write_if_large(&mut batch)?;
            it.next();
        }
        it.status().map_err(storage_err)?;
        self.db.write(batch).map_err(storage_err)?;
        Ok(removed)
    }
}

/// Adds to `batch` the deletes of one row's (`table | pk`) garbage below
/// `below`: the versions older than its newest version `<= below`, and
/// that one when it is a delete.
fn collect_row(
    it: &mut DBRawIterator<'_>,
    data: &ColumnFamily,
    row: &[u8],
    below: Version,
    batch: &mut WriteBatch,
) -> Result<usize> {
    let mut seek = row.to_vec();
    seek.extend((!below).to_be_bytes());
    it.seek(&seek);
    let mut removed = 0;
    let mut settled = false;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if k.len() != row.len() + 8 || !k.starts_with(row) {
            break;
        }
        if settled || v.first() != Some(&ROW) {
            batch.delete_cf(data, k);
            removed += 1;
        }
        settled = true;
        it.next();
    }
    it.status().map_err(storage_err)?;
    Ok(removed)
}

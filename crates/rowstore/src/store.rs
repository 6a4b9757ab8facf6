//! [`RowStore`]: opening RocksDB, snapshot reads, and the commit entry point.

use crate::commit::{Committer, WriteSet};
use crate::row::decode_row;
use prismdb_common::{Error, Result, TableId, Value, Version};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, ReadOptions};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub(crate) const CF_DATA: &str = "data";
pub(crate) const CF_META: &str = "meta";
pub(crate) const META_LAST_VERSION: &[u8] = b"last_version";
pub(crate) const META_CATALOG: &[u8] = b"catalog";
pub(crate) const META_ROWID: &[u8] = b"rowid_high_water";

/// A table and an encoded primary key.
pub type RowKey = (TableId, Vec<u8>);

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// fsync every commit group (durable across power loss, not only process crashes).
    pub sync: bool,
    /// Block cache size in bytes.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync: true,
            cache_bytes: 256 << 20,
        }
    }
}

/// One chunk of a range scan: rows in key order and where to resume.
pub struct ScanChunk {
    /// (encoded primary key, row values) of visible rows.
    pub rows: Vec<(Vec<u8>, Vec<Value>)>,
    /// Encoded primary key of the last row returned when the limit was hit;
    /// the next chunk starts after it. `None` when the range is exhausted.
    pub resume_after: Option<Vec<u8>>,
}

/// The row store. Cheap to share behind an `Arc`.
pub struct RowStore {
    pub(crate) db: Arc<DB>,
    /// Highest version whose writes are durable and visible to new snapshots.
    pub(crate) visible: Arc<AtomicU64>,
    pub(crate) next_rowid: Arc<AtomicI64>,
    committer: Committer,
}

pub(crate) fn storage_err(e: rocksdb::Error) -> Error {
    Error::Storage(e.into_string())
}

/// `table_id | pk` — the prefix shared by all versions of one row.
pub(crate) fn row_prefix(table: TableId, pk: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + pk.len() + 8);
    k.extend(table.to_be_bytes());
    k.extend(pk);
    k
}

/// The full key of one version of one row.
pub(crate) fn version_key(table: TableId, pk: &[u8], version: Version) -> Vec<u8> {
    let mut k = row_prefix(table, pk);
    k.extend((!version).to_be_bytes());
    k
}

/// Splits a data key into (table, pk, version).
pub(crate) fn split_key(key: &[u8]) -> Result<(TableId, &[u8], Version)> {
    if key.len() < 12 {
        return Err(Error::Storage("short data key".into()));
    }
    let mut t = [0u8; 4];
    t.copy_from_slice(&key[..4]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&key[key.len() - 8..]);
    Ok((
        u32::from_be_bytes(t),
        &key[4..key.len() - 8],
        !u64::from_be_bytes(v),
    ))
}

pub(crate) fn table_prefix(table: TableId) -> Vec<u8> {
    table.to_be_bytes().to_vec()
}

pub(crate) fn table_end(table: TableId) -> Vec<u8> {
    match table.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        None => vec![0xff; 5],
    }
}

impl RowStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<RowStore> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);
        let mut data_opts = Options::default();
        let mut block = rocksdb::BlockBasedOptions::default();
        let cache = rocksdb::Cache::new_lru_cache(opts.cache_bytes);
        block.set_block_cache(&cache);
        block.set_bloom_filter(10.0, false);
        block.set_cache_index_and_filter_blocks(true);
        data_opts.set_block_based_table_factory(&block);
        data_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = vec![
            ColumnFamilyDescriptor::new(CF_DATA, data_opts),
            ColumnFamilyDescriptor::new(CF_META, Options::default()),
        ];
        let db = DB::open_cf_descriptors(&db_opts, dir, cfs).map_err(storage_err)?;
        let db = Arc::new(db);
        let meta_u64 = |key: &[u8]| -> Result<u64> {
            let cf = db
                .cf_handle(CF_META)
                .ok_or_else(|| Error::Storage("missing meta column family".into()))?;
            Ok(match db.get_cf(cf, key).map_err(storage_err)? {
                Some(v) if v.len() == 8 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&v);
                    u64::from_be_bytes(b)
                }
                _ => 0,
            })
        };
        let visible = Arc::new(AtomicU64::new(meta_u64(META_LAST_VERSION)?));
        let next_rowid = Arc::new(AtomicI64::new(meta_u64(META_ROWID)? as i64 + 1));
        let committer =
            Committer::start(db.clone(), visible.clone(), next_rowid.clone(), opts.sync)?;
        Ok(RowStore {
            db,
            visible,
            next_rowid,
            committer,
        })
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::Storage(format!("missing column family {name}")))
    }

    /// The newest committed version: the snapshot a new transaction reads at.
    pub fn last_version(&self) -> Version {
        self.visible.load(Ordering::Acquire)
    }

    /// The persisted catalog, if any DDL has ever been committed.
    pub fn load_catalog(&self) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(CF_META)?, META_CATALOG)
            .map_err(storage_err)
    }

    /// Allocates a hidden row id for a table without a primary key.
    pub fn next_rowid(&self) -> i64 {
        self.next_rowid.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads one row as of `snapshot`.
    pub fn get(&self, table: TableId, pk: &[u8], snapshot: Version) -> Result<Option<Vec<Value>>> {
        let prefix = row_prefix(table, pk);
        let mut ro = ReadOptions::default();
        let mut upper = prefix.clone();
        upper.extend([0xff; 8]);
        upper.push(0);
        ro.set_iterate_upper_bound(upper);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        it.seek(version_key(table, pk, snapshot));
        if let (Some(k), Some(v)) = (it.key(), it.value())
            && k.len() == prefix.len() + 8
            && k.starts_with(&prefix)
        {
            return decode_row(v);
        }
        it.status().map_err(storage_err)?;
        Ok(None)
    }

    /// The newest version of a key and whether it is a live row, regardless
    /// of snapshot. Used by the committer's conflict checks.
    pub(crate) fn latest(db: &DB, table: TableId, pk: &[u8]) -> Result<Option<(Version, bool)>> {
        let cf = db
            .cf_handle(CF_DATA)
            .ok_or_else(|| Error::Storage("missing data column family".into()))?;
        let prefix = row_prefix(table, pk);
        let mut it = db.raw_iterator_cf(cf);
        it.seek(&prefix);
        if let (Some(k), Some(v)) = (it.key(), it.value())
            && k.len() == prefix.len() + 8
            && k.starts_with(&prefix)
        {
            let (_, _, version) = split_key(k)?;
            return Ok(Some((version, v.first() == Some(&crate::row::ROW))));
        }
        it.status().map_err(storage_err)?;
        Ok(None)
    }

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
        let mut ro = ReadOptions::default();
        let end = match upper {
            Bound::Unbounded => table_end(table),
            // Every version of keys <= upper sorts before upper's prefix end.
            Bound::Included(u) => {
                let mut e = row_prefix(table, u);
                e.extend([0xff; 8]);
                e.push(0);
                e
            }
            Bound::Excluded(u) => row_prefix(table, u),
        };
        ro.set_iterate_upper_bound(end);
        ro.fill_cache(true);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        match lower {
            Bound::Unbounded => it.seek(table_prefix(table)),
            Bound::Included(l) => it.seek(row_prefix(table, l)),
            Bound::Excluded(l) => {
                let mut k = row_prefix(table, l);
                k.extend([0xff; 8]);
                k.push(0);
                it.seek(k)
            }
        }
        let mut rows = Vec::new();
        // The pk whose visible version has been decided (emitted or deleted).
        let mut done: Option<Vec<u8>> = None;
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let (_, pk, version) = split_key(k)?;
            if version > snapshot || done.as_deref() == Some(pk) {
                it.next();
                continue;
            }
            if let Bound::Excluded(l) = lower
                && pk == l
            {
                it.next();
                continue;
            }
            done = Some(pk.to_vec());
            if let Some(row) = decode_row(v)? {
                rows.push((pk.to_vec(), row));
                if rows.len() >= limit {
                    return Ok(ScanChunk {
                        rows,
                        resume_after: done,
                    });
                }
            }
            it.next();
        }
        it.status().map_err(storage_err)?;
        Ok(ScanChunk {
            rows,
            resume_after: None,
        })
    }

    /// Validates and commits a write set; returns its commit version. Waits
    /// until the write is durable and visible to new snapshots.
    pub async fn commit(&self, ws: WriteSet) -> Result<Version> {
        self.committer.submit(ws).await
    }
}

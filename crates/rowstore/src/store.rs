//! [`RowStore`]: opening RocksDB, snapshot reads, applied-version tracking.

use crate::cache::{RowCache, RowCacheStats};
use crate::groups::IndexGroups;
use crate::pins::SnapshotGuard;
use crate::readers::PointReaders;
use crate::registry::{BuildJob, Registry};
use crate::row::decode_columns;
use parking_lot::{Mutex, RwLock};
use prismdb_common::{Error, Result, TableId, Value, Version};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, ReadOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

pub(crate) const CF_DATA: &str = "data";
pub(crate) const CF_META: &str = "meta";
pub(crate) const META_LAST_VERSION: &[u8] = b"last_version";
pub(crate) const META_CATALOG: &[u8] = b"catalog";
pub(crate) const META_CATALOG_VERSION: &[u8] = b"catalog_version";
pub(crate) const META_GC_HORIZON: &[u8] = b"gc_horizon";
const META_ROWID_PREFIX: &[u8] = b"rowid/";
pub(crate) const META_SCHEMA_PREFIX: &[u8] = b"schema/";
pub(crate) const META_ROWS_PREFIX: &[u8] = b"rows/";
/// Present once every table's live row count is kept under `rows/`.
pub(crate) const META_ROWS_COUNTED: &[u8] = b"rows_counted";
/// Prefix of the `meta` keys `written/<table>`: the version of the newest
/// write to the table (rows or layout).
pub(crate) const META_WRITTEN_PREFIX: &[u8] = b"written/";
/// Versions up to this may have written tables without a `written/` key
/// (the store was written before they were kept); 0 on newer stores.
pub(crate) const META_WRITTEN_FROM: &[u8] = b"written_from";

/// `meta` key of the version of a table's newest write (u64 BE).
pub(crate) fn written_key(table: TableId) -> Vec<u8> {
    let mut k = META_WRITTEN_PREFIX.to_vec();
    k.extend(table.to_be_bytes());
    k
}

/// Prefix of the garbage index: `gc/ | version (u64 BE) | table | pk` for
/// every write at `version` that made an older version of the row garbage
/// (or wrote a delete, itself garbage once settled). Written in the same
/// batch as the data, so collection visits only rows that have garbage.
pub(crate) const META_GC_PREFIX: &[u8] = b"gc/";
/// Writes up to this version may have made garbage the index does not name
/// (the store was written before it): one scan of every version collects it
/// once the collection bound reaches this, which is then set to 0.
pub(crate) const META_GC_INDEXED_FROM: &[u8] = b"gc_indexed_from";

/// The garbage-index key of `row` (table | pk) written at `version`.
pub(crate) fn gc_key(version: Version, table: TableId, pk: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(META_GC_PREFIX.len() + 12 + pk.len());
    k.extend(META_GC_PREFIX);
    k.extend(version.to_be_bytes());
    k.extend(table.to_be_bytes());
    k.extend(pk);
    k
}

/// `meta` key of a table's live row count (i64 BE).
pub(crate) fn rows_key(table: TableId) -> Vec<u8> {
    let mut k = META_ROWS_PREFIX.to_vec();
    k.extend(table.to_be_bytes());
    k
}

/// `meta` key of the version at which a table's row layout last changed.
pub(crate) fn schema_key(table: TableId) -> Vec<u8> {
    let mut k = META_SCHEMA_PREFIX.to_vec();
    k.extend(table.to_be_bytes());
    k
}

/// The `meta` key holding the highest committed hidden row id of a slot.
pub(crate) fn rowid_key(slot: u16) -> Vec<u8> {
    let mut k = META_ROWID_PREFIX.to_vec();
    k.extend(slot.to_be_bytes());
    k
}

/// Bits of a hidden row id below its slot: ids are `slot << 47 | counter`.
const ROWID_SLOT_SHIFT: u32 = 47;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Block cache size in bytes.
    pub cache_bytes: usize,
    /// Row cache size in bytes (see [`crate::cache`]; 0 turns it off).
    /// The index-group cache (see [`crate::groups`]) takes a quarter as
    /// much again.
    pub row_cache_bytes: usize,
    /// This node's hidden row-id slot (distinct per node of a cluster).
    pub rowid_slot: u16,
}

/// The index-group cache's budget: the row cache's divided by this.
const GROUP_CACHE_SHARE: usize = 4;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 256 << 20,
            row_cache_bytes: 256 << 20,
            rowid_slot: 0,
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
    /// Iterators for point reads, reused across reads; cleared in `Drop`
    /// before `db` goes.
    point_readers: PointReaders,
    /// Iterators for small range reads (see [`crate::scan`]), reused the
    /// same way.
    pub(crate) range_readers: PointReaders,
    /// The newest versions of recently read rows.
    pub(crate) rows: RowCache,
    /// Index groups read by leading value (see the `groups` module).
    pub(crate) groups: IndexGroups,
    /// Highest applied version: the snapshot new transactions read at.
    applied: tokio::sync::watch::Sender<Version>,
    /// Version of the last catalog change, and the catalog it wrote.
    pub(crate) catalog_version: AtomicU64,
    pub(crate) catalog: RwLock<Option<(Version, Vec<u8>)>>,
    /// Commits that read below this are rejected; versions below it may be
    /// collected.
    pub(crate) horizon: AtomicU64,
    rowid_slot: u16,
    next_rowid: AtomicI64,
    /// Snapshots in use by running transactions: version → count.
    active: Arc<Mutex<BTreeMap<Version, usize>>>,
    /// Per table, the version of the last DDL that changed its row layout
    /// (or dropped it): writes from snapshots older than that are rejected.
    pub(crate) schema_versions: RwLock<std::collections::HashMap<TableId, Version>>,
    /// Live rows per table as of the applied version, kept by [`apply`]
    /// in the same batch as the data (`meta` keys `rows/<table>`).
    ///
    /// [`apply`]: RowStore::apply
    pub(crate) row_counts: RwLock<std::collections::HashMap<TableId, i64>>,
    /// [`META_GC_INDEXED_FROM`].
    pub(crate) gc_indexed_from: AtomicU64,
    /// Per table, the version of its newest write, kept by [`apply`] in
    /// the same batch as the data (`meta` keys `written/<table>`).
    ///
    /// [`apply`]: RowStore::apply
    pub(crate) last_writes: RwLock<std::collections::HashMap<TableId, Version>>,
    /// [`META_WRITTEN_FROM`].
    written_from: AtomicU64,
    /// The indexes of the applied catalog and their builds on this member.
    pub(crate) indexes: RwLock<Registry>,
    /// Hands builds to the index builder thread, once it runs.
    pub(crate) builder: Mutex<Option<std::sync::mpsc::Sender<BuildJob>>>,
}

impl Drop for RowStore {
    fn drop(&mut self) {
        // The pooled iterators refer to `db`: they go first.
        self.point_readers.clear();
        self.range_readers.clear();
        tracing::info!("row store closed");
    }
}

pub(crate) fn storage_err(e: rocksdb::Error) -> Error {
    Error::Storage(e.into_string())
}

/// The version of a row visible at `snapshot`, read with a within-row
/// iterator and kept in `cache` when it is the row's newest; with `keep`,
/// only the columns it marks (see [`decode_columns`]). `seek` is the row's
/// version key at `snapshot`.
fn read_row(
    it: &mut rocksdb::DBRawIterator<'_>,
    cache: &RowCache,
    seek: &[u8],
    snapshot: Version,
    keep: Option<&[bool]>,
) -> Result<Option<Vec<Value>>> {
    let prefix = row_of_version_key(seek);
    it.seek(seek);
    if let (Some(k), Some(v)) = (it.key(), it.value())
        && k.len() == seek.len()
        && k.starts_with(prefix)
    {
        if v.first() == Some(&crate::row::ROW) {
            let (_, _, version) = split_key(k)?;
            cache.fill(prefix, version, v, snapshot);
        }
        return decode_columns(v, keep);
    }
    it.status().map_err(storage_err)?;
    Ok(None)
}

/// `table_id | pk` — the prefix shared by all versions of one row.
pub(crate) fn row_prefix(table: TableId, pk: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + pk.len() + 8);
    append_row_prefix(&mut k, table, pk);
    k
}

/// Appends [`row_prefix`] to `out`.
fn append_row_prefix(out: &mut Vec<u8>, table: TableId, pk: &[u8]) {
    out.extend(table.to_be_bytes());
    out.extend(pk);
}

/// The prefix extractor of the data column family: a version key without
/// its 8-byte version, i.e. the row it belongs to. Bloom filters (in SST
/// files and the memtable) are built over rows, so a point read skips every
/// file and memtable that holds no version of the row it looks for.
pub(crate) fn row_of_version_key(key: &[u8]) -> &[u8] {
    &key[..key.len() - 8]
}

/// Whether `key` is long enough to be a version key (table, at least one
/// byte of key, version).
fn is_version_key(key: &[u8]) -> bool {
    key.len() > 12
}

/// Read options for an iterator that stays within one row's versions: the
/// row's bloom filters are consulted, and iteration ends at the row's end.
fn within_row() -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_prefix_same_as_start(true);
    ro
}

/// Read options for an iterator that walks across rows: with a prefix
/// extractor configured, RocksDB must be told to seek in total order.
pub(crate) fn across_rows() -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_total_order_seek(true);
    ro
}

/// The full key of one version of one row.
pub(crate) fn version_key(table: TableId, pk: &[u8], version: Version) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + pk.len() + 8);
    append_version_key(&mut k, table, pk, version);
    k
}

/// Appends [`version_key`] to `out`.
fn append_version_key(out: &mut Vec<u8>, table: TableId, pk: &[u8], version: Version) {
    append_row_prefix(out, table, pk);
    out.extend((!version).to_be_bytes());
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
    /// Opens (creating if needed) the store in `dir`. `extra` column
    /// families (the replicated log's) live in the same RocksDB instance, so
    /// one write-ahead log orders and syncs them together with the data.
    pub fn open(
        dir: &Path,
        opts: StoreOptions,
        extra: Vec<ColumnFamilyDescriptor>,
    ) -> Result<RowStore> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);
        let mut data_opts = Options::default();
        let mut block = rocksdb::BlockBasedOptions::default();
        // A clock cache: lookups take no lock (an LRU shard's mutex is
        // measurable on every point read). Entry size is auto-tuned.
        let cache = rocksdb::Cache::new_hyper_clock_cache(opts.cache_bytes, 0);
        block.set_block_cache(&cache);
        block.set_bloom_filter(10.0, false);
        // Readers never `get` a whole version key; they seek to a row.
        block.set_whole_key_filtering(false);
        // Index and filter blocks count against the cache but stay pinned
        // for as long as their file is open: a seek reads them directly.
        block.set_cache_index_and_filter_blocks(true);
        block.set_unpartitioned_pinning_tier(rocksdb::BlockBasedTablePinningTier::All);
        data_opts.set_block_based_table_factory(&block);
        data_opts.set_prefix_extractor(rocksdb::SliceTransform::create(
            "prismdb.row",
            row_of_version_key,
            Some(is_version_key),
        ));
        data_opts.set_memtable_prefix_bloom_ratio(0.05);
        data_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let mut cfs = vec![
            ColumnFamilyDescriptor::new(CF_DATA, data_opts),
            ColumnFamilyDescriptor::new(CF_META, Options::default()),
        ];
        cfs.extend(extra);
        let db = DB::open_cf_descriptors(&db_opts, dir, cfs).map_err(storage_err)?;
        let store = RowStore {
            db: Arc::new(db),
            point_readers: PointReaders::new(within_row),
            range_readers: PointReaders::new(across_rows),
            rows: RowCache::new(opts.row_cache_bytes),
            groups: IndexGroups::new(opts.row_cache_bytes / GROUP_CACHE_SHARE),
            applied: tokio::sync::watch::channel(0).0,
            catalog_version: AtomicU64::new(0),
            catalog: RwLock::new(None),
            horizon: AtomicU64::new(0),
            rowid_slot: opts.rowid_slot,
            next_rowid: AtomicI64::new(0),
            active: Arc::default(),
            schema_versions: RwLock::default(),
            row_counts: RwLock::default(),
            gc_indexed_from: AtomicU64::new(0),
            last_writes: RwLock::default(),
            written_from: AtomicU64::new(0),
            indexes: RwLock::default(),
            builder: Mutex::new(None),
        };
        store.load_meta()?;
        Ok(store)
    }

    /// Reads the in-memory copies of metadata from the `meta` column family
    /// (at open, and after a snapshot replaced the contents).
    pub(crate) fn load_meta(&self) -> Result<()> {
        let catalog = self.meta_get(META_CATALOG)?;
        let catalog_version = self.meta_u64(META_CATALOG_VERSION)?;
        *self.catalog.write() = catalog.map(|c| (catalog_version, c));
        self.catalog_version
            .store(catalog_version, Ordering::Release);
        self.horizon
            .store(self.meta_u64(META_GC_HORIZON)?, Ordering::Release);
        let high = self.rowid_high(self.rowid_slot)?;
        let base = (self.rowid_slot as i64) << ROWID_SLOT_SHIFT;
        self.next_rowid.store(high.max(base) + 1, Ordering::Release);
        self.applied.send_replace(self.meta_u64(META_LAST_VERSION)?);
        let versions = self.meta_per_table(META_SCHEMA_PREFIX)?;
        *self.schema_versions.write() = versions
            .into_iter()
            .map(|(t, v)| (t, u64::from_be_bytes(v)))
            .collect();
        self.load_row_counts()?;
        self.gc_indexed_from
            .store(self.kept_from(META_GC_INDEXED_FROM)?, Ordering::Release);
        self.written_from
            .store(self.kept_from(META_WRITTEN_FROM)?, Ordering::Release);
        *self.last_writes.write() = self
            .meta_per_table(META_WRITTEN_PREFIX)?
            .into_iter()
            .map(|(t, v)| (t, u64::from_be_bytes(v)))
            .collect();
        self.load_indexes()
    }

    /// Reads the build states from `meta` (at open and after a snapshot
    /// was installed) and restarts the builds that had not completed.
    pub(crate) fn load_indexes(&self) -> Result<()> {
        let catalog = self.catalog().map(|(_, bytes)| bytes);
        let meta = self.cf(CF_META)?;
        let (registry, jobs) =
            Registry::load(catalog.as_deref(), self.last_version(), |key: &[u8]| {
                self.db.get_cf(meta, key).map_err(storage_err)
            })?;
        *self.indexes.write() = registry;
        let leads = catalog
            .as_deref()
            .and_then(|bytes| prismdb_catalog::Catalog::decode(bytes).ok())
            .map(|c| crate::groups::leads_of(&c))
            .unwrap_or_default();
        self.groups.set_leads(Arc::new(leads));
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

    /// Hands a build to the index builder thread, if it runs.
    pub(crate) fn send_build(&self, job: BuildJob) {
        if let Some(tx) = self.builder.lock().as_ref() {
            let _ = tx.send(job);
        }
    }

    /// The version `key` of `meta` names: from the version after it on, the
    /// store keeps something it once did not. A store opened for the first
    /// time since gets its last version (0 when new: it always kept it).
    fn kept_from(&self, key: &[u8]) -> Result<Version> {
        if self.meta_get(key)?.is_none() {
            let last = self.meta_u64(META_LAST_VERSION)?;
            self.db
                .put_cf(self.cf(CF_META)?, key, last.to_be_bytes())
                .map_err(storage_err)?;
        }
        self.meta_u64(key)
    }

    /// The version of the newest write to `table` (its rows or its
    /// layout), or a version no older than it.
    pub fn last_write(&self, table: TableId) -> Version {
        self.last_writes
            .read()
            .get(&table)
            .copied()
            .unwrap_or(0)
            .max(self.written_from.load(Ordering::Acquire))
    }

    /// Loads the per-table live row counts; a store written before they
    /// were kept has them counted once, here.
    fn load_row_counts(&self) -> Result<()> {
        let meta = self.cf(CF_META)?;
        if self.meta_get(META_ROWS_COUNTED)?.is_none() {
            let counts = self.count_live_rows()?;
            let mut batch = rocksdb::WriteBatch::default();
            for (t, n) in &counts {
                batch.put_cf(meta, rows_key(*t), n.to_be_bytes());
            }
            batch.put_cf(meta, META_ROWS_COUNTED, []);
            self.db.write(batch).map_err(storage_err)?;
            *self.row_counts.write() = counts;
            return Ok(());
        }
        let counts = self.meta_per_table(META_ROWS_PREFIX)?;
        *self.row_counts.write() = counts
            .into_iter()
            .map(|(t, n)| (t, i64::from_be_bytes(n)))
            .collect();
        Ok(())
    }

    /// The 8-byte values of the `meta` keys `prefix | table_id (u32 BE)`,
    /// by table.
    fn meta_per_table(&self, prefix: &[u8]) -> Result<std::collections::HashMap<TableId, [u8; 8]>> {
        let mut out = std::collections::HashMap::new();
        let mut it = self.db.raw_iterator_cf(self.cf(CF_META)?);
        it.seek(prefix);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let Some(t) = k.strip_prefix(prefix) else {
                break;
            };
            if let (Ok(t), Ok(v)) = (<[u8; 4]>::try_from(t), <[u8; 8]>::try_from(v)) {
                out.insert(u32::from_be_bytes(t), v);
            }
            it.next();
        }
        it.status().map_err(storage_err)?;
        Ok(out)
    }

    /// Counts every table's live rows (newest version not a delete) by
    /// reading all stored versions.
    fn count_live_rows(&self) -> Result<std::collections::HashMap<TableId, i64>> {
        let mut counts = std::collections::HashMap::new();
        let mut it = self
            .db
            .raw_iterator_cf_opt(self.cf(CF_DATA)?, across_rows());
        it.seek_to_first();
        let mut last: Vec<u8> = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let (table, pk, _) = split_key(k)?;
            let row = &k[..4 + pk.len()];
            if row != last.as_slice() {
                last.clear();
                last.extend_from_slice(row);
                if v.first() == Some(&crate::row::ROW) {
                    *counts.entry(table).or_insert(0) += 1;
                }
            }
            it.next();
        }
        it.status().map_err(storage_err)?;
        Ok(counts)
    }

    /// Live rows of `table` as of the applied version (exact: kept as
    /// entries apply).
    pub fn row_count(&self, table: TableId) -> u64 {
        self.row_counts
            .read()
            .get(&table)
            .copied()
            .unwrap_or(0)
            .max(0) as u64
    }

    fn meta_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(CF_META)?, key).map_err(storage_err)
    }

    fn meta_u64(&self, key: &[u8]) -> Result<u64> {
        Ok(match self.meta_get(key)? {
            Some(v) if v.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&v);
                u64::from_be_bytes(b)
            }
            _ => 0,
        })
    }

    /// The highest committed hidden row id of `slot`.
    pub(crate) fn rowid_high(&self, slot: u16) -> Result<i64> {
        Ok(self.meta_u64(&rowid_key(slot))? as i64)
    }

    /// The shared RocksDB instance (for the replicated log's column families).
    pub fn db(&self) -> &Arc<DB> {
        &self.db
    }

    /// Reads a value of the `meta` column family.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.meta_get(key)
    }

    /// Makes `version` the applied version and wakes its waiters.
    pub(crate) fn publish(&self, version: Version) {
        self.applied.send_if_modified(|v| {
            if version > *v {
                *v = version;
                true
            } else {
                false
            }
        });
    }

    /// Waits until the applied version reaches `version`, at most `timeout`.
    pub async fn wait_applied(&self, version: Version, timeout: Duration) -> Result<Version> {
        let mut rx = self.applied.subscribe();
        let outcome = tokio::time::timeout(timeout, async {
            rx.wait_for(|v| *v >= version).await.map(|v| *v)
        })
        .await;
        match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(Error::Internal("row store closed".into())),
            Err(_) => Err(Error::Unavailable(format!(
                "this node has applied up to {} but the read needs {version}; it did not catch up within {timeout:?}",
                self.last_version()
            ))),
        }
    }

    /// Takes the newest applied version as a snapshot and registers it as
    /// in use, so garbage collection keeps the versions it reads. Taken
    /// under the same lock as [`RowStore::oldest_active`], so no snapshot
    /// taken later is older than a bound computed earlier.
    pub fn pin_latest(&self) -> SnapshotGuard {
        let mut active = self.active.lock();
        let version = self.last_version();
        *active.entry(version).or_default() += 1;
        SnapshotGuard::new(version, self.active.clone())
    }

    /// Writes the data memtable out to a file and waits for it.
    pub fn flush(&self) -> Result<()> {
        self.db.flush_cf(self.cf(CF_DATA)?).map_err(storage_err)
    }

    /// Drops point-read iterators idle for `idle_for`: they keep the
    /// memtables and files they were built over from being freed.
    pub fn release_idle_readers(&self, idle_for: Duration) {
        self.point_readers.release_idle(idle_for);
        self.range_readers.release_idle(idle_for);
    }

    /// The oldest snapshot in use on this node, or the applied version.
    pub fn oldest_active(&self) -> Version {
        let active = self.active.lock();
        active
            .keys()
            .next()
            .copied()
            .unwrap_or_else(|| self.last_version())
    }

    /// The collected horizon: commits reading below it are rejected.
    pub fn horizon(&self) -> Version {
        self.horizon.load(Ordering::Acquire)
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::Storage(format!("missing column family {name}")))
    }

    /// The newest applied version: the snapshot a new transaction reads at.
    pub fn last_version(&self) -> Version {
        *self.applied.borrow()
    }

    /// The catalog as last committed, with the version that wrote it.
    pub fn catalog(&self) -> Option<(Version, Vec<u8>)> {
        self.catalog.read().clone()
    }

    /// Version of the last catalog change (0: none yet).
    pub fn catalog_version(&self) -> Version {
        self.catalog_version.load(Ordering::Acquire)
    }

    /// This node's hidden row-id slot.
    pub fn rowid_slot(&self) -> u16 {
        self.rowid_slot
    }

    /// Allocates a hidden row id for a table without a primary key. Ids of
    /// different slots never collide; within a slot they continue past
    /// every committed one, also after a restart or a snapshot install.
    pub fn next_rowid(&self) -> i64 {
        self.next_rowid.fetch_add(1, Ordering::Relaxed)
    }

    /// Moves the row-id counter past an id committed in this node's slot.
    pub(crate) fn observe_rowid(&self, slot: u16, high: i64) {
        if slot == self.rowid_slot {
            self.next_rowid.fetch_max(high + 1, Ordering::AcqRel);
        }
    }

    /// Reads one row as of `snapshot`.
    pub fn get(&self, table: TableId, pk: &[u8], snapshot: Version) -> Result<Option<Vec<Value>>> {
        self.get_columns(table, pk, snapshot, None)
    }

    /// [`RowStore::get`] that, with `keep`, decodes only the columns it
    /// marks (the others read as NULL).
    pub fn get_columns(
        &self,
        table: TableId,
        pk: &[u8],
        snapshot: Version,
        keep: Option<&[bool]>,
    ) -> Result<Option<Vec<Value>>> {
        let seek = version_key(table, pk, snapshot);
        if let Some(row) = self.cached(&seek, snapshot, keep) {
            return row;
        }
        self.point_readers
            .with(&self.db, self.cf(CF_DATA)?, |it| {
                read_row(it, &self.rows, &seek, snapshot, keep)
            })
            .map_err(storage_err)?
    }

    /// Reads rows as of `snapshot`, one per primary key, in order: from the
    /// row cache, and with one iterator for all the others; with `keep`,
    /// only the columns it marks (the others read as NULL).
    pub fn get_many<'k>(
        &self,
        table: TableId,
        pks: impl IntoIterator<Item = &'k [u8]>,
        snapshot: Version,
        keep: Option<&[bool]>,
    ) -> Result<Vec<Option<Vec<Value>>>> {
        // Every row's version key at the snapshot, back to back: built
        // once for the prefetch, the cache reads and the misses.
        let mut keys = Vec::new();
        let mut spans = Vec::new();
        for pk in pks {
            let start = keys.len();
            append_version_key(&mut keys, table, pk, snapshot);
            spans.push(start..keys.len());
        }
        let seeks = spans.iter().map(|span| &keys[span.clone()]);
        if spans.len() > 1 {
            self.rows.prefetch(seeks.clone().map(row_of_version_key));
        }
        let mut out = Vec::with_capacity(spans.len());
        // Version keys of the rows the cache did not have, by position.
        let mut missed: Vec<(usize, Vec<u8>)> = Vec::new();
        for seek in seeks {
            match self.cached(seek, snapshot, keep) {
                Some(row) => out.push(row?),
                None => {
                    missed.push((out.len(), seek.to_vec()));
                    out.push(None);
                }
            }
        }
        if missed.is_empty() {
            return Ok(out);
        }
        self.point_readers
            .with(&self.db, self.cf(CF_DATA)?, |it| {
                for (i, seek) in &missed {
                    out[*i] = read_row(it, &self.rows, seek, snapshot, keep)?;
                }
                Ok(out)
            })
            .map_err(storage_err)?
    }

    /// The row of version key `seek` as of `snapshot` from the row cache,
    /// decoded (with `keep`, only the columns it marks), if it holds it.
    fn cached(
        &self,
        seek: &[u8],
        snapshot: Version,
        keep: Option<&[bool]>,
    ) -> Option<Result<Option<Vec<Value>>>> {
        self.rows.read(row_of_version_key(seek), snapshot, |v| {
            decode_columns(v, keep)
        })
    }

    /// Hits, misses and size of the row cache.
    pub fn row_cache_stats(&self) -> RowCacheStats {
        self.rows.stats()
    }

    /// Hits, misses and size of the index-group cache (its `rows` count
    /// groups).
    pub fn group_cache_stats(&self) -> RowCacheStats {
        self.groups.cache.stats()
    }

    /// Files in each level of the data's tree (level 0 first). Every
    /// level-0 file is seeked on its own by each range read, so a level-0
    /// count that stays high slows index reads.
    pub fn files_per_level(&self) -> Vec<u64> {
        let Ok(cf) = self.cf(CF_DATA) else {
            return Vec::new();
        };
        (0..7)
            .map(|level| {
                self.db
                    .property_int_value_cf(cf, &format!("rocksdb.num-files-at-level{level}"))
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The newest version of a key and whether it is a live row, regardless
    /// of snapshot. Used by commit validation.
    pub(crate) fn latest(&self, table: TableId, pk: &[u8]) -> Result<Option<(Version, bool)>> {
        let prefix = row_prefix(table, pk);
        // A row the cache holds has that version as its newest, live: no
        // seek (a row an UPDATE or DELETE read before writing usually is).
        if let Some(version) = self.rows.newest(&prefix) {
            return Ok(Some((version, true)));
        }
        // Versions sort newest first: the row's newest is at version MAX.
        let target = version_key(table, pk, Version::MAX);
        self.point_readers
            .with(&self.db, self.cf(CF_DATA)?, |it| {
                it.seek(&target);
                if let (Some(k), Some(v)) = (it.key(), it.value())
                    && k.len() == prefix.len() + 8
                    && k.starts_with(&prefix)
                {
                    let (_, _, version) = split_key(k)?;
                    return Ok(Some((version, v.first() == Some(&crate::row::ROW))));
                }
                it.status().map_err(storage_err)?;
                Ok(None)
            })
            .map_err(storage_err)?
    }
}

/// Rows whose newest version as of a snapshot changed after a given one.
pub type Changes = Vec<(Vec<u8>, Option<Vec<Value>>)>;

/// [`Changes`] with the version that wrote each row.
pub(crate) type VersionedRows = Vec<(Vec<u8>, Version, Option<Vec<Value>>)>;

impl RowStore {
    /// Registers `version` as a snapshot in use, so garbage collection keeps
    /// what a reader at it sees. `None` if versions it needs may already be
    /// collected.
    pub fn pin(&self, version: Version) -> Option<SnapshotGuard> {
        let mut active = self.active.lock();
        if version < self.horizon() || version > self.last_version() {
            return None;
        }
        *active.entry(version).or_default() += 1;
        Some(SnapshotGuard::new(version, self.active.clone()))
    }

    /// Rough number of rows (versions) of a table: exact for small tables,
    /// else its on-disk size over the sampled size of a row.
    pub fn estimate_rows(&self, table: TableId) -> Result<u64> {
        const SAMPLE: usize = 1000;
        let data = self.cf(CF_DATA)?;
        let mut ro = across_rows();
        ro.set_iterate_upper_bound(table_end(table));
        let mut it = self.db.raw_iterator_cf_opt(data, ro);
        it.seek(table_prefix(table));
        let (mut n, mut bytes) = (0usize, 0usize);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            n += 1;
            bytes += k.len() + v.len();
            if n >= SAMPLE {
                break;
            }
            it.next();
        }
        it.status().map_err(storage_err)?;
        if n < SAMPLE {
            return Ok(n as u64);
        }
        let start = table_prefix(table);
        let end = table_end(table);
        let size = self
            .db
            .get_approximate_sizes_cf(data, &[rocksdb::Range::new(&start, &end)])
            .first()
            .copied()
            .unwrap_or(0);
        let per_row = (bytes / n).max(1) as u64;
        Ok((size / per_row).max(n as u64))
    }

    /// Up to `limit` rows of `table` in key order after `resume`, as of
    /// `at`. With `since`, only keys whose newest version at `at` is newer
    /// than `since`, each with its row or `None` if that version deletes it;
    /// without, only live rows. Returns the rows and the key to resume after
    /// (`None` when the table is exhausted).
    pub fn scan_changes(
        &self,
        table: TableId,
        since: Option<Version>,
        at: Version,
        resume: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Changes, Option<Vec<u8>>)> {
        // Nothing written since: no need to read the table.
        if since.is_some_and(|s| self.last_write(table) <= s) {
            return Ok((Vec::new(), None));
        }
        let (rows, next) = self.scan_visible(table, since, at, resume, limit, None)?;
        Ok((
            rows.into_iter().map(|(pk, _, row)| (pk, row)).collect(),
            next,
        ))
    }

    /// [`RowStore::scan_changes`] with the version of each row returned;
    /// with `keep`, rows hold only the columns it marks (see
    /// [`decode_columns`]).
    pub(crate) fn scan_visible(
        &self,
        table: TableId,
        since: Option<Version>,
        at: Version,
        resume: Option<&[u8]>,
        limit: usize,
        keep: Option<&[bool]>,
    ) -> Result<(VersionedRows, Option<Vec<u8>>)> {
        let mut ro = across_rows();
        ro.set_iterate_upper_bound(table_end(table));
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        match resume {
            None => it.seek(table_prefix(table)),
            Some(after) => {
                let mut k = row_prefix(table, after);
                k.extend([0xff; 8]);
                k.push(0);
                it.seek(k)
            }
        }
        let mut rows = Vec::new();
        let mut done: Option<Vec<u8>> = None;
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let (_, pk, version) = split_key(k)?;
            if version > at || done.as_deref() == Some(pk) || resume == Some(pk) {
                it.next();
                continue;
            }
            done = Some(pk.to_vec());
            let changed = since.is_none_or(|s| version > s);
            if changed {
                let row = decode_columns(v, keep)?;
                if row.is_some() || since.is_some() {
                    rows.push((pk.to_vec(), version, row));
                    if rows.len() >= limit {
                        return Ok((rows, done));
                    }
                }
            }
            it.next();
        }
        it.status().map_err(storage_err)?;
        Ok((rows, None))
    }
}

//! The Raft log and vote in RocksDB.
//!
//! Column family `raft_log` maps a log index (u64 BE) to a bincode entry;
//! `raft_state` holds the vote, the committed log id and the last purged log
//! id. Both live in the node's one RocksDB instance, beside the row store's
//! column families, so syncing the write-ahead log for an append also makes
//! every earlier state-machine write durable.
//!
//! An append writes its entries at once (visible to readers) and hands
//! openraft's "flushed" callback to the flusher thread, which takes every
//! callback queued up, syncs the write-ahead log once, and completes them
//! all. (openraft 0.9's core awaits each append's flush, so the grouping that
//! matters most happens before: the replica batches proposals into entries.)

use crate::types::TypeConfig;
use crate::{decode, encode};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, LogId, LogState, OptionalSend, RaftLogId, RaftLogReader, StorageError,
    StorageIOError, Vote,
};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const CF_LOG: &str = "raft_log";
const CF_STATE: &str = "raft_state";
const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"last_purged";

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The column families the log needs in the shared RocksDB instance.
pub fn column_families() -> Vec<ColumnFamilyDescriptor> {
    vec![
        ColumnFamilyDescriptor::new(CF_LOG, Options::default()),
        ColumnFamilyDescriptor::new(CF_STATE, Options::default()),
    ]
}

fn io_err(e: impl ToString) -> AnyError {
    AnyError::error(e.to_string())
}

/// Runs blocking RocksDB I/O without stalling other tasks of a
/// multi-threaded runtime.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Counters of log writes: how many appends (one write, one fsync each) carried
/// how many entries. More entries than appends is group commit at work.
#[derive(Debug, Default)]
pub struct LogStats {
    pub appends: AtomicU64,
    pub entries: AtomicU64,
    /// Write-ahead log syncs that made appends durable.
    pub syncs: AtomicU64,
}

/// The log store. Clones share the database.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    sync: bool,
    stats: Arc<LogStats>,
    flusher: std::sync::mpsc::Sender<LogFlushed<TypeConfig>>,
}

/// Syncs the write-ahead log for every callback queued since the last sync,
/// then completes them in order. Holds the database weakly, so a closed
/// store is not kept open.
fn run_flusher(
    db: std::sync::Weak<DB>,
    stats: Arc<LogStats>,
    rx: std::sync::mpsc::Receiver<LogFlushed<TypeConfig>>,
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter());
        let synced = match db.upgrade() {
            Some(db) => db.flush_wal(true).map_err(|e| e.to_string()),
            None => Err("the database is closed".to_string()),
        };
        stats.syncs.fetch_add(1, Ordering::Relaxed);
        for cb in group {
            cb.log_io_completed(synced.clone().map_err(std::io::Error::other));
        }
    }
}

impl LogStore {
    /// A log store on `db`, which must have been opened with
    /// [`column_families`]. With `sync`, every append is fsynced before it
    /// is acknowledged.
    pub fn new(db: Arc<DB>, sync: bool) -> StorageResult<LogStore> {
        for cf in [CF_LOG, CF_STATE] {
            if db.cf_handle(cf).is_none() {
                return Err(
                    StorageIOError::read(io_err(format!("missing column family {cf}"))).into(),
                );
            }
        }
        let stats = Arc::new(LogStats::default());
        let (flusher, rx) = std::sync::mpsc::channel();
        let weak = Arc::downgrade(&db);
        let s = stats.clone();
        std::thread::Builder::new()
            .name("prism-log-sync".into())
            .spawn(move || run_flusher(weak, s, rx))
            .map_err(|e| StorageIOError::write(io_err(e)))?;
        Ok(LogStore {
            db,
            sync,
            stats,
            flusher,
        })
    }

    /// The store's write counters.
    pub fn stats(&self) -> Arc<LogStats> {
        self.stats.clone()
    }

    fn cf(&self, name: &str) -> StorageResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or_else(|| {
            StorageIOError::read(io_err(format!("missing column family {name}"))).into()
        })
    }

    fn write_opts(&self) -> WriteOptions {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        wo
    }

    fn get_state<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> StorageResult<Option<T>> {
        let v = self
            .db
            .get_cf(self.cf(CF_STATE)?, key)
            .map_err(|e| StorageIOError::read(io_err(e)))?;
        match v {
            None => Ok(None),
            Some(b) => decode(&b)
                .map(Some)
                .map_err(|e| StorageIOError::read(io_err(e)).into()),
        }
    }

    fn put_state<T: serde::Serialize>(&self, key: &[u8], v: &T, sync: bool) -> StorageResult<()> {
        let b = encode(v).map_err(|e| StorageIOError::write(io_err(e)))?;
        let mut wo = WriteOptions::default();
        wo.set_sync(sync && self.sync);
        let cf = self.cf(CF_STATE)?;
        // Unsynced puts take microseconds: only a synced one may block.
        let put = || self.db.put_cf_opt(cf, key, b, &wo);
        let res = if sync && self.sync {
            blocking(put)
        } else {
            put()
        };
        res.map_err(|e| StorageIOError::write(io_err(e)).into())
    }

    fn last_entry_id(&self) -> StorageResult<Option<LogId<u64>>> {
        let mut it = self.db.iterator_cf(self.cf(CF_LOG)?, IteratorMode::End);
        match it.next() {
            None => Ok(None),
            Some(Err(e)) => Err(StorageIOError::read_logs(io_err(e)).into()),
            Some(Ok((_, v))) => {
                let entry: Entry<TypeConfig> =
                    decode(&v).map_err(|e| StorageIOError::read_logs(io_err(e)))?;
                Ok(Some(*entry.get_log_id()))
            }
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.cf(CF_LOG)?;
        let it = self.db.iterator_cf(
            cf,
            IteratorMode::From(&start.to_be_bytes(), Direction::Forward),
        );
        let mut out = Vec::new();
        for item in it {
            let (k, v) = item.map_err(|e| StorageIOError::read_logs(io_err(e)))?;
            let mut b = [0u8; 8];
            b.copy_from_slice(&k[..8]);
            if !range.contains(&u64::from_be_bytes(b)) {
                break;
            }
            out.push(decode(&v).map_err(|e| StorageIOError::read_logs(io_err(e)))?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged: Option<LogId<u64>> = self.get_state(KEY_PURGED)?;
        let last = self.last_entry_id()?.or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        self.put_state(KEY_VOTE, vote, true)
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        self.get_state(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        self.put_state(KEY_COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self
            .get_state::<Option<LogId<u64>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.cf(CF_LOG)?;
        let mut batch = WriteBatch::default();
        let mut n = 0;
        for entry in entries {
            let b = encode(&entry).map_err(|e| StorageIOError::write_logs(io_err(e)))?;
            batch.put_cf(cf, entry.get_log_id().index.to_be_bytes(), b);
            n += 1;
        }
        self.stats.appends.fetch_add(1, Ordering::Relaxed);
        self.stats.entries.fetch_add(n, Ordering::Relaxed);
        // Unsynced: the flusher syncs once for every append queued meanwhile.
        if let Err(e) = self.db.write(batch) {
            callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
            return Err(StorageIOError::write_logs(io_err(e)).into());
        }
        if !self.sync {
            callback.log_io_completed(Ok(()));
            return Ok(());
        }
        if let Err(std::sync::mpsc::SendError(callback)) = self.flusher.send(callback) {
            callback.log_io_completed(Err(std::io::Error::other("log flusher stopped")));
            return Err(StorageIOError::write_logs(io_err("log flusher stopped")).into());
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let cf = self.cf(CF_LOG)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, log_id.index.to_be_bytes(), u64::MAX.to_be_bytes());
        let wo = self.write_opts();
        blocking(|| self.db.write_opt(batch, &wo))
            .map_err(|e| StorageIOError::write_logs(io_err(e)).into())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let b = encode(&log_id).map_err(|e| StorageIOError::write(io_err(e)))?;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_STATE)?, KEY_PURGED, b);
        batch.delete_range_cf(
            self.cf(CF_LOG)?,
            0u64.to_be_bytes(),
            (log_id.index + 1).to_be_bytes(),
        );
        // Synced: everything the state machine wrote before (the purged
        // entries' effects) becomes durable with it.
        let wo = self.write_opts();
        blocking(|| self.db.write_opt(batch, &wo))
            .map_err(|e| StorageIOError::write_logs(io_err(e)).into())
    }
}

//! The committer: validation, version assignment and group commit.
//!
//! One thread owns all writes. It takes every [`WriteSet`] waiting in its
//! queue, validates each in arrival order against the store and against the
//! write sets earlier in the same group, assigns consecutive versions to the
//! ones that pass, writes them all in one RocksDB batch (one fsync for the
//! group), publishes the new visible version, and only then answers each
//! caller. Validation is a pure function of committed state, so the same
//! write sets applied in the same order decide the same way everywhere.

use crate::store::{
    CF_DATA, CF_META, META_CATALOG, META_LAST_VERSION, META_ROWID, RowKey, RowStore, storage_err,
    table_end, table_prefix, version_key,
};
use futures::channel::oneshot;
use prismdb_common::{Error, Result, TableId, Version};
use rocksdb::{DB, WriteBatch, WriteOptions};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;

/// One buffered write of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Store this encoded row. `insert` asks for a uniqueness check: a
    /// concurrent committed row with the same key is a 23505, not a 40001.
    Put { row: Vec<u8>, insert: bool },
    /// Delete the row.
    Delete,
}

/// Everything one transaction commits.
#[derive(Debug, Default, Clone)]
pub struct WriteSet {
    /// The snapshot the transaction read at.
    pub read_version: Version,
    /// Final write per key, in key order.
    pub writes: BTreeMap<RowKey, Write>,
    /// A new catalog (DDL).
    pub catalog: Option<Vec<u8>>,
    /// Tables whose data is removed outright (DROP TABLE).
    pub drop_tables: Vec<TableId>,
}

impl WriteSet {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.catalog.is_none() && self.drop_tables.is_empty()
    }
}

struct Request {
    ws: WriteSet,
    reply: oneshot::Sender<Result<Version>>,
}

pub(crate) struct Committer {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Committer {
    /// Closes the queue and waits for the thread, so the database is closed
    /// when the store is dropped (a reopen in the same process then works).
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Committer {
    pub(crate) fn start(
        db: Arc<DB>,
        visible: Arc<AtomicU64>,
        next_rowid: Arc<AtomicI64>,
        sync: bool,
    ) -> Result<Committer> {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("prism-committer".into())
            .spawn(move || run(db, visible, next_rowid, sync, rx))
            .map_err(|e| Error::Internal(format!("cannot start committer: {e}")))?;
        Ok(Committer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    pub(crate) async fn submit(&self, ws: WriteSet) -> Result<Version> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or_else(|| Error::Internal("committer stopped".into()))?
            .send(Request { ws, reply })
            .map_err(|_| Error::Internal("committer stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("committer dropped a commit".into()))?
    }
}

const MAX_GROUP: usize = 256;

fn run(
    db: Arc<DB>,
    visible: Arc<AtomicU64>,
    next_rowid: Arc<AtomicI64>,
    sync: bool,
    rx: mpsc::Receiver<Request>,
) {
    let mut wo = WriteOptions::default();
    wo.set_sync(sync);
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let base = visible.load(Ordering::Acquire);
        let (batch, outcomes, last) =
            build_group(&db, base, &group, next_rowid.load(Ordering::Relaxed));
        let written = match batch {
            Ok(batch) if last > base => db.write_opt(batch, &wo).map_err(storage_err),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                visible.store(last, Ordering::Release);
                for (req, outcome) in group.into_iter().zip(outcomes) {
                    let _ = req.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!("commit group failed: {e}");
                for req in group {
                    let _ = req.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Validates a group and builds its batch. Returns the batch, each request's
/// outcome and the last version assigned.
fn build_group(
    db: &DB,
    base: Version,
    group: &[Request],
    rowid_high: i64,
) -> (Result<WriteBatch>, Vec<Result<Version>>, Version) {
    let mut outcomes = Vec::with_capacity(group.len());
    let mut version = base;
    // Keys written by earlier members of this group: version and liveness.
    let mut pending: HashMap<&RowKey, (Version, bool)> = HashMap::new();
    let mut batch = WriteBatch::default();
    let (data, meta) = match (db.cf_handle(CF_DATA), db.cf_handle(CF_META)) {
        (Some(d), Some(m)) => (d, m),
        _ => {
            let e = Error::Storage("missing column family".into());
            return (
                Err(e.clone()),
                group.iter().map(|_| Err(e.clone())).collect(),
                base,
            );
        }
    };
    for req in group {
        match validate(db, &pending, &req.ws) {
            Ok(()) => {}
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        }
        if req.ws.is_empty() {
            outcomes.push(Ok(version));
            continue;
        }
        version += 1;
        for (key, write) in &req.ws.writes {
            let value = match write {
                Write::Put { row, .. } => row.clone(),
                Write::Delete => crate::row::tombstone(),
            };
            batch.put_cf(data, version_key(key.0, &key.1, version), value);
            pending.insert(key, (version, matches!(write, Write::Put { .. })));
        }
        for table in &req.ws.drop_tables {
            batch.delete_range_cf(data, table_prefix(*table), table_end(*table));
        }
        if let Some(catalog) = &req.ws.catalog {
            batch.put_cf(meta, META_CATALOG, catalog);
        }
        outcomes.push(Ok(version));
    }
    batch.put_cf(meta, META_LAST_VERSION, version.to_be_bytes());
    batch.put_cf(meta, META_ROWID, (rowid_high.max(0) as u64).to_be_bytes());
    (Ok(batch), outcomes, version)
}

fn validate(db: &DB, pending: &HashMap<&RowKey, (Version, bool)>, ws: &WriteSet) -> Result<()> {
    for (key, write) in &ws.writes {
        let latest = match pending.get(key) {
            Some(p) => Some(*p),
            None => RowStore::latest(db, key.0, &key.1)?,
        };
        if let Some((v, live)) = latest
            && v > ws.read_version
        {
            if live && matches!(write, Write::Put { insert: true, .. }) {
                return Err(Error::UniqueViolation(
                    "duplicate key value violates unique constraint".into(),
                ));
            }
            return Err(Error::SerializationFailure(
                "could not serialize access due to concurrent update".into(),
            ));
        }
    }
    Ok(())
}

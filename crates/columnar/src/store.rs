//! All columnar replicas of one node: which tables it hosts, applying log
//! entries, builds, reads as of an index, checkpoints and the memory bound.
//!
//! The node [submits](ColumnStore::submit) every batch of log entries right
//! after the row store applied it and goes on; the `columnar-apply` thread
//! applies them in log order (see [`crate::queue`]), so the replicas'
//! applied index trails the row store's by the time that takes — their
//! lag, which the router weighs. The thread can be paused and resumed
//! ([`ColumnStore::pause`]); meanwhile reads that need newer entries wait or
//! go to the row store. Which tables this node hosts follows from the catalog (each
//! table's replica count) and the [`Hosting`] the node reports: the members
//! that may host replicas. A replica added by DDL, changed by a schema change
//! or found stale on disk is (re)built by a background thread from a pinned
//! row-store snapshot read through [`RowSource`], in chunks; changes of later
//! entries queue until the build is done. DDL never waits for it.
//!
//! A maintenance thread freezes deltas, compacts, writes checkpoints
//! (Parquet segments and a manifest) and, past the memory bound, drops
//! persisted segments from memory. A node that restarts restores each
//! replica from its manifest and catches up with the row versions written
//! after the manifest's index, as long as the row store still holds them
//! (the replica pins its checkpoint index against garbage collection);
//! otherwise it rebuilds.

use crate::persist;
use crate::queue::{ApplyQueue, Work};
use crate::replica::{Phase, Replica, ReplicaState, RowChange, same_layout};
use crate::segment::Segment;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use parking_lot::{Condvar, Mutex, RwLock};
use prismdb_catalog::{Catalog, Table};
use prismdb_common::{Result, TableId, Version};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Rows the maintenance thread lets the delta keep between its rounds.
const FREEZE_IDLE_ROWS: usize = 1024;

/// Rows read from the row store per build step.
const BUILD_CHUNK: usize = 16 * 1024;

/// The row store, as builds read it.
pub trait RowSource: Send + Sync + 'static {
    /// Newest applied index.
    fn applied(&self) -> Version;
    /// Versions below this may have been collected.
    fn horizon(&self) -> Version;
    /// Keeps the snapshot at `version` from being collected while the
    /// returned guard lives; `None` if it already may have been.
    fn pin(&self, version: Version) -> Option<Box<dyn Any + Send + Sync>>;
    /// Rough number of rows of a table.
    fn estimate_rows(&self, table: TableId) -> u64;
    /// Up to `limit` rows of `table` in key order after key `resume`, as of
    /// `at`. With `since`, only keys written in `(since, at]`, each with its
    /// row at `at` or `None` if deleted by then; without, the live rows.
    /// Returns the rows and the key to resume after (`None`: done).
    fn scan(
        &self,
        table: TableId,
        since: Option<Version>,
        at: Version,
        resume: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<RowChange>, Option<Vec<u8>>)>;
}

/// Tunables of a node's replicas.
#[derive(Debug, Clone)]
pub struct ColumnarOptions {
    /// Past this, persisted segments are read from their files instead of
    /// memory.
    pub memory_bytes: usize,
    /// How often a changed replica writes a checkpoint.
    pub checkpoint_every: Duration,
    /// Row changes the apply queue holds; past this, queued changes are
    /// dropped and their tables rebuilt from the row store.
    pub queue_changes: usize,
}

impl Default for ColumnarOptions {
    fn default() -> Self {
        ColumnarOptions {
            memory_bytes: 2 << 30,
            checkpoint_every: Duration::from_secs(5),
            queue_changes: 1 << 20,
        }
    }
}

/// Where a node reads the current [`Hosting`] from (its membership);
/// `None` once the membership is gone (the node is stopping).
pub type HostingSource = Arc<dyn Fn() -> Option<Hosting> + Send + Sync>;

/// Which members host replicas: a table with `n` replicas lives on `n` of
/// `eligible` (sorted names), chosen by rotating on the table id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hosting {
    pub this: String,
    pub eligible: Vec<String>,
}

impl Hosting {
    pub fn hosts_for(&self, table: &Table) -> Vec<String> {
        let n = self.eligible.len();
        if n == 0 {
            return Vec::new();
        }
        let want = (table.columnar_replicas as usize).min(n);
        (0..want)
            .map(|k| self.eligible[(table.id as usize + k) % n].clone())
            .collect()
    }

    fn hosts_here(&self, table: &Table) -> bool {
        self.hosts_for(table).contains(&self.this)
    }
}

/// One log entry as the replicas see it.
pub struct ApplyEntry {
    pub index: Version,
    /// The catalog the entry committed, if it changed it.
    pub catalog: Option<Arc<Catalog>>,
    /// Row changes, per table (only tables this node hosts need be given).
    pub changes: Vec<(TableId, Vec<RowChange>)>,
}

/// One replica's state, for `information_schema.columnar_replicas`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ReplicaStatus {
    pub table_id: TableId,
    pub database: String,
    pub table: String,
    pub replica_count: u32,
    pub host: String,
    pub available: bool,
    pub progress: f64,
    pub applied_index: Version,
    pub lag_entries: u64,
    pub lag_ms: u64,
    pub rows: u64,
    pub segments: u64,
    pub memory_bytes: u64,
    /// The index of the replica's newest checkpoint on disk (0: none yet):
    /// a restart replays the log after it.
    pub checkpoint_index: Version,
}

/// Everything a scan at one index reads. Holds the index registered as in
/// use, so compaction keeps the rows it sees.
pub struct ReadSnapshot {
    pub at: Version,
    pub schema: SchemaRef,
    pub segments: Vec<Arc<Segment>>,
    pub delta: Option<RecordBatch>,
    _pin: ReadPin,
}

struct ReadPin {
    at: Version,
    reads: Arc<Mutex<BTreeMap<Version, usize>>>,
}

impl Drop for ReadPin {
    fn drop(&mut self) {
        let mut reads = self.reads.lock();
        if let Some(n) = reads.get_mut(&self.at) {
            *n -= 1;
            if *n == 0 {
                reads.remove(&self.at);
            }
        }
    }
}

/// The answer to "read table T as of index N".
pub enum ReadOutcome {
    Ready(ReadSnapshot),
    /// Why the replica cannot serve this read.
    Unavailable(String),
}

/// A persisted replica found at open, waiting for the catalog to confirm
/// it. Its segments are read by its build thread, so a node serves SQL
/// (from the row store) before its replicas are loaded.
struct Restored {
    manifest: persist::Manifest,
    dir: PathBuf,
}

/// The columnar replicas of one node.
pub struct ColumnStore {
    dir: PathBuf,
    opts: ColumnarOptions,
    source: Arc<dyn RowSource>,
    replicas: RwLock<BTreeMap<TableId, Arc<Replica>>>,
    restored: Mutex<HashMap<TableId, Restored>>,
    catalog: RwLock<Arc<Catalog>>,
    hosting: RwLock<Hosting>,
    /// This node's live view of which members may host replicas.
    hosting_source: RwLock<Option<HostingSource>>,
    applied: tokio::sync::watch::Sender<Version>,
    /// Submitted work the apply thread has not done yet.
    queue: Mutex<ApplyQueue>,
    queue_changed: Condvar,
    paused: AtomicBool,
    reads: Arc<Mutex<BTreeMap<Version, usize>>>,
    /// Per table, the row-store snapshot of its last checkpoint, pinned.
    gc_pins: Mutex<HashMap<TableId, Box<dyn Any + Send + Sync>>>,
    last_checkpoint: Mutex<HashMap<TableId, Instant>>,
    stopped: AtomicBool,
    /// Set by [`start`](Self::start); until then catalog changes are only
    /// recorded.
    started: AtomicBool,
}

impl ColumnStore {
    /// Opens the replicas directory, restoring what earlier runs persisted.
    /// Nothing is served until [`start`](Self::start).
    pub fn open(
        dir: &Path,
        opts: ColumnarOptions,
        source: Arc<dyn RowSource>,
    ) -> Result<Arc<ColumnStore>> {
        std::fs::create_dir_all(dir).map_err(|e| {
            prismdb_common::Error::Storage(format!("cannot create {}: {e}", dir.display()))
        })?;
        let mut restored = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                match persist::read_manifest(&path) {
                    Ok(Some(manifest)) => {
                        restored.insert(
                            manifest.table.id,
                            Restored {
                                manifest,
                                dir: path,
                            },
                        );
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("{e}; the replica will be rebuilt"),
                }
            }
        }
        let applied = source.applied();
        Ok(Arc::new(ColumnStore {
            dir: dir.to_path_buf(),
            source,
            replicas: RwLock::new(BTreeMap::new()),
            restored: Mutex::new(restored),
            catalog: RwLock::new(Arc::new(Catalog::default())),
            hosting: RwLock::new(Hosting::default()),
            hosting_source: RwLock::new(None),
            applied: tokio::sync::watch::channel(applied).0,
            queue: Mutex::new(ApplyQueue::new(opts.queue_changes.max(1))),
            queue_changed: Condvar::new(),
            paused: AtomicBool::new(false),
            reads: Arc::new(Mutex::new(BTreeMap::new())),
            gc_pins: Mutex::new(HashMap::new()),
            last_checkpoint: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            started: AtomicBool::new(false),
            opts,
        }))
    }

    /// Starts serving: takes the applied catalog and the source of the
    /// hosting members, starts the builds they call for and the maintenance
    /// thread.
    pub fn start(self: &Arc<Self>, catalog: Arc<Catalog>, hosting: HostingSource) {
        *self.catalog.write() = catalog;
        *self.hosting.write() = hosting().unwrap_or_default();
        *self.hosting_source.write() = Some(hosting);
        // Work submitted before now is reflected in the row store the
        // replicas start (or catch up) from.
        self.queue.lock().clear();
        self.applied.send_replace(self.source.applied());
        self.started.store(true, Ordering::Release);
        self.reconcile();
        let store = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("columnar-apply".into())
            .spawn(move || apply_loop(store));
        if let Err(e) = spawned {
            tracing::error!("cannot start the columnar apply thread: {e}");
        }
        let store = Arc::downgrade(self);
        let _ = std::thread::Builder::new()
            .name("columnar-maint".into())
            .spawn(move || {
                while let Some(store) = store.upgrade() {
                    if store.stopped.load(Ordering::Acquire) {
                        break;
                    }
                    store.maintain();
                    drop(store);
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
    }

    /// Stops background work (builds stop at their next step).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.queue_changed.notify_all();
        for r in self.replicas.read().values() {
            r.state.write().generation += 1;
        }
    }

    /// Hands the replicas the entries the row store just applied, up to
    /// index `through` (entries without changes for this node may be left
    /// out), for the apply thread. Never waits.
    pub fn submit(&self, entries: Vec<ApplyEntry>, through: Version) {
        let overflow = self
            .queue
            .lock()
            .push(Work::Entries { entries, through }, Instant::now());
        if let Some(tables) = overflow {
            tracing::warn!(
                "columnar apply queue is full ({} changes{}): dropping the queued changes of tables {tables:?}, which will be rebuilt from the row store",
                self.opts.queue_changes,
                if self.is_paused() {
                    ", apply paused"
                } else {
                    ""
                }
            );
        }
        self.queue_changed.notify_one();
    }

    /// Stops applying log entries to this node's replicas until
    /// [`resume`](Self::resume); entries queue meanwhile (see
    /// [`crate::queue`]). Returns false if already paused.
    pub fn pause(&self) -> bool {
        let was = self.paused.swap(true, Ordering::AcqRel);
        if !was {
            tracing::info!("columnar apply paused");
        }
        !was
    }

    /// Applies what queued while paused, and goes on. Returns false if not
    /// paused.
    pub fn resume(&self) -> bool {
        let was = self.paused.swap(false, Ordering::AcqRel);
        if was {
            tracing::info!("columnar apply resumed");
        }
        self.queue_changed.notify_all();
        was
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// How many times the apply queue overflowed (tables were rebuilt
    /// instead).
    pub fn queue_overflows(&self) -> u64 {
        self.queue.lock().overflows()
    }

    /// How long the oldest entry the replicas have not applied yet has
    /// waited (zero when they are caught up).
    fn lag(&self) -> Duration {
        self.queue
            .lock()
            .oldest()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    /// Does one piece of queued work (on the apply thread).
    fn run(self: &Arc<Self>, work: Work) {
        match work {
            Work::Entries { entries, through } => {
                self.apply(entries);
                self.advance(through);
            }
            Work::Rebuild(tables) => self.rebuild_tables(&tables),
            Work::Reset { catalog, at } => self.reset_now(catalog, at),
        }
    }

    fn rebuild_tables(self: &Arc<Self>, tables: &BTreeSet<TableId>) {
        let replicas: Vec<_> = {
            let map = self.replicas.read();
            tables.iter().filter_map(|t| map.get(t).cloned()).collect()
        };
        for r in replicas {
            self.rebuild(&r);
        }
    }

    /// How many members may host a replica, from the membership as this
    /// node sees it now (a member that just joined counts at once).
    pub fn capacity(self: &Arc<Self>) -> usize {
        self.refresh_hosting();
        self.hosting.read().eligible.len()
    }

    /// Takes the hosting members from the live membership, reconciling the
    /// replicas here when they changed.
    pub fn refresh_hosting(self: &Arc<Self>) {
        let source = self.hosting_source.read().clone();
        if let Some(hosting) = source.and_then(|source| source()) {
            self.set_hosting(hosting);
        }
    }

    pub fn hosting(&self) -> Hosting {
        self.hosting.read().clone()
    }

    /// Updates the members that may host replicas (membership changed).
    pub fn set_hosting(self: &Arc<Self>, hosting: Hosting) {
        if *self.hosting.read() == hosting {
            return;
        }
        *self.hosting.write() = hosting;
        self.reconcile();
    }

    /// Whether this node keeps a replica of `table` (and so needs its changes).
    pub fn wants(&self, table: TableId) -> bool {
        self.replicas.read().contains_key(&table)
    }

    /// Index up to which every entry has been applied.
    pub fn applied(&self) -> Version {
        *self.applied.borrow()
    }

    /// Applies log entries, in order, after the row store applied them.
    /// Entries at or below the applied index are already reflected (a
    /// start or reset took the replicas past them) and are skipped.
    pub fn apply(self: &Arc<Self>, entries: Vec<ApplyEntry>) {
        let mut last = None;
        let applied = self.applied();
        for entry in entries {
            if entry.index <= applied {
                continue;
            }
            last = Some(entry.index);
            if let Some(catalog) = entry.catalog {
                *self.catalog.write() = catalog;
                self.reconcile();
            }
            for (table, changes) in entry.changes {
                let Some(replica) = self.replicas.read().get(&table).cloned() else {
                    continue;
                };
                let failed = replica.state.write().apply(entry.index, changes).err();
                if let Some(e) = failed {
                    tracing::error!(
                        "columnar replica of table {table} failed to apply entry {}: {e}; rebuilding",
                        entry.index
                    );
                    self.rebuild(&replica);
                }
            }
        }
        if let Some(last) = last {
            self.advance(last);
        }
    }

    /// Records that every entry up to `index` has been applied.
    pub fn advance(&self, index: Version) {
        self.applied.send_if_modified(|v| {
            if index > *v {
                *v = index;
                true
            } else {
                false
            }
        });
    }

    /// The row store was replaced wholesale (a log snapshot was installed):
    /// once the work queued before it is done, every replica rebuilds.
    pub fn reset_source(&self, catalog: Arc<Catalog>) {
        let at = self.source.applied();
        self.queue
            .lock()
            .push(Work::Reset { catalog, at }, Instant::now());
        self.queue_changed.notify_one();
    }

    fn reset_now(self: &Arc<Self>, catalog: Arc<Catalog>, at: Version) {
        *self.catalog.write() = catalog;
        self.advance(at);
        let replicas: Vec<_> = self.replicas.read().values().cloned().collect();
        for r in replicas {
            self.rebuild(&r);
        }
        self.reconcile();
    }

    fn rebuild(self: &Arc<Self>, replica: &Arc<Replica>) {
        let generation = {
            let mut st = replica.state.write();
            let def = st.def.clone();
            st.reset(def);
            st.generation
        };
        self.start_build(replica.clone(), generation, None);
    }

    /// Brings the set of replicas in line with the catalog and hosting.
    fn reconcile(self: &Arc<Self>) {
        if !self.started.load(Ordering::Acquire) {
            return;
        }
        let catalog = self.catalog.read().clone();
        let hosting = self.hosting.read().clone();
        let mut desired: BTreeMap<TableId, Arc<Table>> = BTreeMap::new();
        for db in catalog.databases.values() {
            for t in db.tables.values() {
                if t.columnar_replicas > 0 && hosting.hosts_here(t) {
                    desired.insert(t.id, t.clone());
                }
            }
        }
        let mut replicas = self.replicas.write();
        let gone: Vec<TableId> = replicas
            .keys()
            .filter(|id| !desired.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(r) = replicas.remove(&id) {
                r.state.write().generation += 1;
                self.gc_pins.lock().remove(&id);
                let dir = r.dir.clone();
                let _ = std::thread::Builder::new()
                    .name("columnar-drop".into())
                    .spawn(move || {
                        let _guard = r.checkpoint_lock.lock();
                        let _ = std::fs::remove_dir_all(&dir);
                    });
            }
        }
        for (id, def) in desired {
            match replicas.get(&id) {
                Some(r) => {
                    let mut st = r.state.write();
                    if same_layout(&st.def, &def) {
                        st.def = def;
                    } else {
                        st.reset(def);
                        let generation = st.generation;
                        drop(st);
                        self.start_build(r.clone(), generation, None);
                    }
                }
                None => {
                    let replica =
                        Arc::new(Replica::new(def.clone(), persist::table_dir(&self.dir, id)));
                    let restored = self.restored.lock().remove(&id);
                    let restore = match restored {
                        Some(rs)
                            if same_layout(&rs.manifest.table, &def)
                                && rs.manifest.applied >= self.source.horizon() =>
                        {
                            Some(rs)
                        }
                        _ => {
                            let _ = std::fs::remove_dir_all(&replica.dir);
                            None
                        }
                    };
                    let generation = replica.state.read().generation;
                    replicas.insert(id, replica.clone());
                    self.spawn_build(replica, generation, None, restore);
                }
            }
        }
        // Restored replicas the catalog no longer wants.
        let mut restored = self.restored.lock();
        for (id, _) in restored.drain() {
            let _ = std::fs::remove_dir_all(persist::table_dir(&self.dir, id));
        }
    }

    fn start_build(
        self: &Arc<Self>,
        replica: Arc<Replica>,
        generation: u64,
        since: Option<Version>,
    ) {
        self.spawn_build(replica, generation, since, None);
    }

    /// Starts a build thread. With `restore`, it first loads that persisted
    /// replica and then only catches up from its manifest's index.
    fn spawn_build(
        self: &Arc<Self>,
        replica: Arc<Replica>,
        generation: u64,
        since: Option<Version>,
        restore: Option<Restored>,
    ) {
        let store = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("columnar-build".into())
            .spawn(move || {
                let mut since = since;
                // Keeps the versions after the manifest's index from being
                // collected while the segments load and the replica catches up.
                let _restore_pin = match restore {
                    None => None,
                    Some(rs) => {
                        let Some(store) = store.upgrade() else { return };
                        let at = rs.manifest.applied;
                        let pin = store.source.pin(at);
                        let outcome = match pin {
                            Some(_) => store.restore_into(&replica, generation, rs),
                            None => Err(prismdb_common::Error::Internal(format!(
                                "the row store no longer holds the versions after {at}"
                            ))),
                        };
                        match outcome {
                            Ok(true) => since = Some(at),
                            Ok(false) => return,
                            Err(e) => {
                                tracing::warn!(
                                    "columnar replica of table {} cannot be restored, it will be rebuilt: {e}",
                                    replica.table_id
                                );
                                // Its files must not be mistaken for the new build's.
                                let _ = std::fs::remove_dir_all(&replica.dir);
                            }
                        }
                        pin
                    }
                };
                loop {
                    let Some(store) = store.upgrade() else { return };
                    if store.stopped.load(Ordering::Acquire)
                        || replica.state.read().generation != generation
                    {
                        return;
                    }
                    match store.build(&replica, generation, since) {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(
                                "building the columnar replica of table {} failed: {e}; retrying",
                                replica.table_id
                            );
                            if since.is_some() {
                                // Start over from an empty replica.
                                let mut st = replica.state.write();
                                let def = st.def.clone();
                                st.reset(def);
                                st.generation = generation;
                                since = None;
                            }
                        }
                    }
                    drop(store);
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a columnar build: {e}");
        }
    }

    /// Loads a persisted replica's segments into `replica`, keeping the
    /// changes queued for it meanwhile. `Ok(false)`: the replica was reset
    /// or dropped while loading.
    fn restore_into(&self, replica: &Replica, generation: u64, rs: Restored) -> Result<bool> {
        let def = replica.state.read().def.clone();
        let mut restored = ReplicaState::restore(def, &rs.manifest, &rs.dir)?;
        let mut st = replica.state.write();
        if st.generation != generation || self.stopped.load(Ordering::Acquire) {
            return Ok(false);
        }
        restored.def = st.def.clone();
        restored.generation = generation;
        // The placeholder's phase holds the changes applied meanwhile.
        std::mem::swap(&mut restored.phase, &mut st.phase);
        *st = restored;
        Ok(true)
    }

    /// Builds (or, with `since`, catches up) a replica from a pinned
    /// row-store snapshot.
    fn build(&self, replica: &Replica, generation: u64, since: Option<Version>) -> Result<()> {
        let (at, _pin) = loop {
            let at = self.source.applied();
            if let Some(pin) = self.source.pin(at) {
                break (at, pin);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if let Some(since) = since
            && since < self.source.horizon()
        {
            return Err(prismdb_common::Error::Internal(format!(
                "the row store no longer holds the versions after {since}"
            )));
        }
        replica.built_rows.store(0, Ordering::Relaxed);
        replica.estimated_rows.store(
            self.source.estimate_rows(replica.table_id),
            Ordering::Relaxed,
        );
        let started = Instant::now();
        let mut resume: Option<Vec<u8>> = None;
        let mut total = 0u64;
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return Ok(());
            }
            let (chunk, next) =
                self.source
                    .scan(replica.table_id, since, at, resume.as_deref(), BUILD_CHUNK)?;
            let n = chunk.len() as u64;
            {
                let mut st = replica.state.write();
                if st.generation != generation {
                    return Ok(());
                }
                st.apply_now(at, chunk)?;
            }
            total += n;
            replica.built_rows.fetch_add(n, Ordering::Relaxed);
            match next {
                Some(k) => resume = Some(k),
                None => break,
            }
        }
        let mut st = replica.state.write();
        if st.generation != generation {
            return Ok(());
        }
        st.freeze()?;
        st.finish_build(at)?;
        tracing::info!(
            "columnar replica of {} ready at index {at}: {total} rows {} in {:.1?}",
            st.def.name,
            if since.is_some() {
                "caught up"
            } else {
                "built"
            },
            started.elapsed()
        );
        Ok(())
    }

    /// Reads `table` as of index `at`, waiting up to `wait` for the replica
    /// to get there.
    pub async fn read(&self, table: &Table, at: Version, wait: Duration) -> ReadOutcome {
        let deadline = Instant::now() + wait;
        let mut rx = self.applied.subscribe();
        loop {
            let Some(replica) = self.replicas.read().get(&table.id).cloned() else {
                return ReadOutcome::Unavailable("no replica on this node".into());
            };
            let reason = {
                let st = replica.state.read();
                if !same_layout(&st.def, table) {
                    "replica is being rebuilt after a schema change".to_string()
                } else if !st.is_ready() {
                    format!(
                        "replica is building ({:.0}% done)",
                        replica.progress_of(&st) * 100.0
                    )
                } else if at < st.ready_from {
                    return ReadOutcome::Unavailable(format!(
                        "replica starts at index {}, the query reads at {at}",
                        st.ready_from
                    ));
                } else if self.applied() < at {
                    format!(
                        "replica applied index {} is behind the read index {at}",
                        self.applied()
                    )
                } else {
                    *self.reads.lock().entry(at).or_insert(0) += 1;
                    let pin = ReadPin {
                        at,
                        reads: self.reads.clone(),
                    };
                    return match st.read(at) {
                        Ok((segments, delta)) => ReadOutcome::Ready(ReadSnapshot {
                            at,
                            schema: st.schema.clone(),
                            segments,
                            delta,
                            _pin: pin,
                        }),
                        Err(e) => ReadOutcome::Unavailable(format!("replica read failed: {e}")),
                    };
                }
            };
            let now = Instant::now();
            if now >= deadline {
                return ReadOutcome::Unavailable(reason);
            }
            let step = (deadline - now).min(Duration::from_millis(20));
            let _ = tokio::time::timeout(step, rx.changed()).await;
        }
    }

    /// Whether this node's replica of `table` could serve a read at index
    /// `at` right now, without waiting: `None` if this node has no replica
    /// of it, `Some(Err(why))` if it cannot serve, else how long it has
    /// been behind `at` (zero once it reached it).
    pub fn probe(&self, table: &Table, at: Version) -> Option<Result<Duration, String>> {
        let replica = self.replicas.read().get(&table.id).cloned()?;
        let st = replica.state.read();
        Some(if !same_layout(&st.def, table) {
            Err("replica is being rebuilt after a schema change".into())
        } else if !st.is_ready() {
            Err(format!(
                "replica is building ({:.0}% done)",
                replica.progress_of(&st) * 100.0
            ))
        } else if at < st.ready_from {
            Err(format!(
                "replica starts at index {}, the query reads at {at}",
                st.ready_from
            ))
        } else if self.applied() >= at {
            Ok(Duration::ZERO)
        } else {
            Ok(self.lag())
        })
    }

    /// The replicas of this node.
    pub fn status(&self) -> Vec<ReplicaStatus> {
        let catalog = self.catalog.read().clone();
        let this = self.hosting.read().this.clone();
        let source_applied = self.source.applied();
        let applied = self.applied();
        let replicas: Vec<_> = self.replicas.read().values().cloned().collect();
        replicas
            .into_iter()
            .map(|r| {
                let st = r.state.read();
                let (database, count) = catalog
                    .table_by_id(r.table_id)
                    .map(|(db, t)| (db.to_string(), t.columnar_replicas))
                    .unwrap_or_default();
                let (available, replica_applied, lag_ms) = match &st.phase {
                    Phase::Ready => {
                        let behind = source_applied.saturating_sub(applied);
                        let ms = if behind == 0 {
                            0
                        } else {
                            self.lag().as_millis() as u64
                        };
                        (true, applied, ms)
                    }
                    Phase::Building { since, .. } => {
                        (false, st.checkpointed, since.elapsed().as_millis() as u64)
                    }
                };
                ReplicaStatus {
                    table_id: r.table_id,
                    database,
                    table: st.def.name.clone(),
                    replica_count: count,
                    host: this.clone(),
                    available,
                    progress: r.progress_of(&st),
                    applied_index: replica_applied,
                    lag_entries: source_applied.saturating_sub(replica_applied),
                    lag_ms,
                    rows: st.live_rows(applied) as u64,
                    segments: st.segments.len() as u64,
                    memory_bytes: st.memory_bytes() as u64,
                    checkpoint_index: st.checkpointed,
                }
            })
            .collect()
    }

    /// One round of background work.
    fn maintain(&self) {
        let replicas: Vec<_> = self.replicas.read().values().cloned().collect();
        for r in &replicas {
            if !r.state.read().is_ready() {
                continue;
            }
            {
                let mut st = r.state.write();
                // Scans convert the delta's rows on every read: keep it small.
                if st.delta.len() >= FREEZE_IDLE_ROWS
                    && let Err(e) = st.freeze()
                {
                    tracing::warn!("freezing the delta of {}: {e}", st.def.name);
                }
                let purge_below = self
                    .reads
                    .lock()
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(u64::MAX)
                    .min(self.applied())
                    // Open transactions read at older snapshots without a
                    // scan registered; none is older than the row store's
                    // collected horizon.
                    .min(self.source.horizon());
                if let Err(e) = st.compact(purge_below) {
                    tracing::warn!("compacting the columnar replica of {}: {e}", st.def.name);
                }
            }
            let due = self
                .last_checkpoint
                .lock()
                .get(&r.table_id)
                .is_none_or(|t| t.elapsed() >= self.opts.checkpoint_every);
            if due && r.state.read().dirty {
                if let Err(e) = self.checkpoint(r) {
                    tracing::warn!("checkpoint of columnar table {}: {e}", r.table_id);
                }
                self.last_checkpoint
                    .lock()
                    .insert(r.table_id, Instant::now());
            }
        }
        self.enforce_memory(&replicas);
    }

    /// Writes a replica's new segments and its manifest.
    pub fn checkpoint(&self, replica: &Replica) -> Result<()> {
        let _guard = replica.checkpoint_lock.lock();
        let applied = self.applied();
        let (manifest, new_segments) = {
            let mut st = replica.state.write();
            if !st.is_ready() {
                return Ok(());
            }
            st.freeze()?;
            st.dirty = false;
            let unwritten: Vec<Arc<Segment>> = st
                .segments
                .values()
                .filter(|s| s.file.lock().is_none())
                .cloned()
                .collect();
            (st.manifest(applied), unwritten)
        };
        std::fs::create_dir_all(&replica.dir).map_err(|e| {
            prismdb_common::Error::Storage(format!("cannot create {}: {e}", replica.dir.display()))
        })?;
        for seg in new_segments {
            let Some(batch) = seg.batch() else { continue };
            let path = replica.dir.join(persist::segment_file(seg.id));
            persist::write_segment(&path, &seg, &batch)?;
            *seg.file.lock() = Some(path);
        }
        persist::write_manifest(&replica.dir, &manifest)?;
        let named: std::collections::HashSet<&str> =
            manifest.segments.iter().map(|s| s.file.as_str()).collect();
        if let Ok(entries) = std::fs::read_dir(&replica.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("seg-") && !named.contains(name.as_ref()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        replica.state.write().checkpointed = applied;
        if let Some(pin) = self.source.pin(applied) {
            self.gc_pins.lock().insert(replica.table_id, pin);
        }
        Ok(())
    }

    /// Drops persisted segments from memory while over the bound.
    fn enforce_memory(&self, replicas: &[Arc<Replica>]) {
        let mut used: usize = replicas.iter().map(|r| r.state.read().memory_bytes()).sum();
        if used <= self.opts.memory_bytes {
            return;
        }
        for r in replicas {
            if r.state
                .read()
                .segments
                .values()
                .any(|s| s.file.lock().is_none())
                && let Err(e) = self.checkpoint(r)
            {
                tracing::warn!("checkpoint of columnar table {}: {e}", r.table_id);
            }
        }
        for r in replicas {
            let segments: Vec<_> = r.state.read().segments.values().cloned().collect();
            for s in segments {
                if used <= self.opts.memory_bytes {
                    return;
                }
                used = used.saturating_sub(s.evict());
            }
        }
    }

    /// Writes a checkpoint of every ready replica now (used at shutdown).
    pub fn checkpoint_all(&self) {
        let replicas: Vec<_> = self.replicas.read().values().cloned().collect();
        for r in replicas {
            if let Err(e) = self.checkpoint(&r) {
                tracing::warn!("checkpoint of columnar table {}: {e}", r.table_id);
            }
        }
    }
}

/// The `columnar-apply` thread: does the queued work in order, unless
/// paused, until the store stops or is gone.
fn apply_loop(store: std::sync::Weak<ColumnStore>) {
    while let Some(store) = store.upgrade() {
        let work = {
            let mut queue = store.queue.lock();
            if store.stopped.load(Ordering::Acquire) {
                return;
            }
            if queue.is_empty() || store.is_paused() {
                // Bounded, so that a store dropped without stop() ends
                // the thread too.
                store
                    .queue_changed
                    .wait_for(&mut queue, Duration::from_millis(200));
                continue;
            }
            queue.take()
        };
        for w in work {
            store.run(w);
        }
        store.queue.lock().done();
    }
}

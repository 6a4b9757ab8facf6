//! Execution: sessions, transactions, and running statements.
//!
//! The life of a statement, with the types that carry it:
//!
//! 1. The server hands SQL text to a [`Session`] (one per connection).
//!    `prismdb_sql::parse` turns it into sqlparser statements and
//!    `prismdb_sql::classify` says what each is.
//! 2. Transaction control and settings are handled by the session itself
//!    ([`Txn`], [`settings::Settings`]).
//! 3. DDL ([`ddl`]) builds the next [`prismdb_catalog::Catalog`] and commits
//!    it through the row store like any write, under the engine's DDL lock.
//! 4. Queries ([`query`]) are planned and run by DataFusion over
//!    [`provider::RowTable`]s, which read the row store at the statement's
//!    [`read_view::ReadView`]: the transaction's snapshot plus its own writes.
//!    Planning and execution run on the engine's own runtimes, never on
//!    the connection's thread: small statements on the interactive
//!    runtime, large ones through the [`admission`] queue on the analytics
//!    runtime, under a share of the shared memory pool ([`analytics`]);
//!    rows stream to the client as they are produced. Primary-key point
//!    lookups skip the planner and run where the statement arrived.
//! 5. DML ([`dml`]) uses DataFusion to compute the rows to write (INSERT's
//!    source, UPDATE's new values, DELETE's victims), checks them against
//!    the table's constraints and buffers the writes in the [`Txn`].
//! 6. COMMIT (or the end of an autocommit statement) hands the transaction's
//!    write set to the replicated [`Log`] as one entry; every replica's row
//!    store decides conflicts identically when it applies the entry, at
//!    version = its log index. Autocommit statements that lose a write
//!    conflict are retried at a fresh snapshot.
//!
//! Every transaction starts at a linearizable read point from the [`Log`]
//! (read-index), so a read on any node sees every commit acknowledged
//! anywhere before it began.

mod access;
pub mod activity;
pub mod admission;
mod analytics;
mod analyzer;
pub mod builds;
pub mod cancel;
pub mod convert;
mod copy;
mod copy_format;
mod cursor;
mod functions;
mod index_writes;
mod indexes;
pub mod json;
mod output;
mod planner;
mod point;
pub mod prepared;
pub mod provider;
pub mod read_view;
mod reads;
pub mod roles;
pub mod route;
mod rows;
pub mod schema;
pub mod sequences;
mod session;
pub mod settings;
mod single;
mod sorted_scans;
mod statement;
pub mod stats;
mod system;
mod txn;

pub use admission::{AdmissionLimits, Priority};
pub use analytics::{AnalyticsOptions, AnalyticsPriority, DEFAULT_NICE, Lane};
pub use output::{Output, ResultRows, RowStream, collect_output};
pub use session::{Prepared, Session, SimpleStatement, TxnStatus};
pub use txn::Txn;

use async_trait::async_trait;
use parking_lot::RwLock;
use prismdb_catalog::Catalog;
use prismdb_columnar::ColumnStore;
use prismdb_common::{Result, Version};
use prismdb_rowstore::{RowStore, SnapshotGuard, WriteSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

/// One member of the cluster, as `prism_cluster.members` shows it.
#[derive(Debug, Clone, Default)]
pub struct ClusterMember {
    pub name: String,
    pub node_id: u64,
    pub peer_addr: String,
    pub sql_addr: String,
    /// `leader`, `follower`, `candidate`, `learner` or `unreachable`.
    pub role: String,
    pub voter: bool,
    pub is_leader: bool,
    /// Name of the leader this member knows of.
    pub leader: Option<String>,
    pub term: u64,
    pub applied_index: Option<u64>,
    pub last_log_index: Option<u64>,
    /// Last log index covered by the member's latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Entries up to here were compacted out of the member's log.
    pub purged_index: Option<u64>,
    /// The member answering the query.
    pub this_node: bool,
}

/// The replicated log, as the engine uses it.
#[async_trait]
pub trait Log: Send + Sync + 'static {
    /// Commits a write set as one log entry. Returns its commit version (the
    /// entry's index) once this node has applied it, or the error applying
    /// it produced (40001, 23505, ...).
    async fn commit(&self, ws: WriteSet) -> Result<Version>;
    /// A linearizable read point: on return, this node has applied every
    /// commit acknowledged anywhere before the call.
    async fn read_point(&self) -> Result<Version>;
    /// The cluster's members and their state.
    async fn members(&self) -> Vec<ClusterMember>;
    /// The columnar replicas of every member that answers.
    async fn columnar_status(&self) -> Vec<prismdb_columnar::ReplicaStatus> {
        Vec::new()
    }
}

/// The catalog as last applied to the row store, decoded once per change.
pub struct SharedCatalog {
    store: Arc<RowStore>,
    cached: RwLock<(Version, Arc<Catalog>)>,
    /// The index layouts of the cached catalog, made when first asked for.
    indexes: RwLock<Option<(Arc<Catalog>, Arc<index_writes::IndexSet>)>>,
}

impl SharedCatalog {
    fn new(store: Arc<RowStore>) -> SharedCatalog {
        SharedCatalog {
            store,
            cached: RwLock::new((0, Arc::new(Catalog::default()))),
            indexes: RwLock::new(None),
        }
    }

    /// The indexes of `catalog`: cached for the shared catalog, made anew
    /// for another (a transaction block's own).
    pub fn indexes(&self, catalog: &Arc<Catalog>) -> Arc<index_writes::IndexSet> {
        if let Some((c, set)) = self.indexes.read().as_ref()
            && Arc::ptr_eq(c, catalog)
        {
            return set.clone();
        }
        let set = Arc::new(index_writes::IndexSet::of(catalog));
        if Arc::ptr_eq(catalog, &self.current()) {
            *self.indexes.write() = Some((catalog.clone(), set.clone()));
        }
        set
    }

    /// The newest applied catalog (replicated DDL included).
    pub fn current(&self) -> Arc<Catalog> {
        let version = self.store.catalog_version();
        {
            let cached = self.cached.read();
            if cached.0 == version {
                return cached.1.clone();
            }
        }
        let Some((version, bytes)) = self.store.catalog() else {
            return self.cached.read().1.clone();
        };
        match Catalog::decode(&bytes) {
            Ok(c) => {
                let c = Arc::new(c);
                *self.cached.write() = (version, c.clone());
                c
            }
            Err(e) => {
                tracing::error!("cannot decode the applied catalog: {e}");
                self.cached.read().1.clone()
            }
        }
    }
}

/// How an engine is built, beyond its row store and log.
#[derive(Default)]
pub struct EngineOptions {
    /// This node's columnar replicas, if it reads them.
    pub columnar: Option<Arc<ColumnStore>>,
    /// The runtime and memory pool of analytical queries.
    pub analytics: AnalyticsOptions,
    /// The file the router's statistics are kept in across restarts (none:
    /// in memory only).
    pub statistics_file: Option<std::path::PathBuf>,
}

/// The database engine of one node: the row store, the log and the catalog.
pub struct Engine {
    store: Arc<RowStore>,
    log: Arc<dyn Log>,
    /// This node's columnar replicas.
    columnar: Option<Arc<ColumnStore>>,
    catalog: Arc<SharedCatalog>,
    /// Serializes this node's DDL so each builds on the catalog the previous
    /// one left (the log's validation decides across nodes).
    ddl_lock: tokio::sync::Mutex<()>,
    next_pid: AtomicI32,
    /// Where planned queries run, and the memory they share.
    pub(crate) analytics: analytics::Analytics,
    /// The router's table statistics.
    pub(crate) stats: Arc<stats::Statistics>,
    /// What every session of this node is doing (`pg_stat_activity`).
    pub(crate) activity: Arc<activity::Activity>,
    /// The session waiting for each index build (`pg_stat_progress_create_index`).
    pub(crate) index_waiters: parking_lot::Mutex<std::collections::HashMap<u32, i32>>,
    /// This node's reserved sequence values.
    pub(crate) sequences: sequences::Sequences,
}

impl Engine {
    /// An engine reading `store` and committing through `log`, with
    /// default options.
    ///
    /// # Panics
    /// When the analytics runtime's threads cannot be started.
    pub fn new(store: Arc<RowStore>, log: Arc<dyn Log>) -> Arc<Engine> {
        Engine::with_columnar(store, log, None)
    }

    /// An engine that also reads this node's columnar replicas.
    ///
    /// # Panics
    /// When the analytics runtime's threads cannot be started.
    pub fn with_columnar(
        store: Arc<RowStore>,
        log: Arc<dyn Log>,
        columnar: Option<Arc<ColumnStore>>,
    ) -> Arc<Engine> {
        let options = EngineOptions {
            columnar,
            ..Default::default()
        };
        match Engine::with_options(store, log, options) {
            Ok(engine) => engine,
            Err(e) => panic!("{e}"),
        }
    }

    /// An engine built with `options`; fails when the analytics runtime
    /// cannot be started.
    pub fn with_options(
        store: Arc<RowStore>,
        log: Arc<dyn Log>,
        options: EngineOptions,
    ) -> Result<Arc<Engine>> {
        Ok(Arc::new(Engine {
            catalog: Arc::new(SharedCatalog::new(store.clone())),
            store,
            log,
            columnar: options.columnar,
            ddl_lock: tokio::sync::Mutex::new(()),
            next_pid: AtomicI32::new(1000),
            analytics: analytics::Analytics::new(options.analytics)?,
            stats: Arc::new(stats::Statistics::open(options.statistics_file)),
            activity: Arc::default(),
            sequences: Default::default(),
            index_waiters: parking_lot::Mutex::default(),
        }))
    }

    /// Stops statement execution for good before the process ends: waits
    /// up to `grace` for running statements to stop at their current poll.
    /// Blocks; call it from a blocking context (`spawn_blocking`).
    pub fn shutdown(&self, grace: std::time::Duration) {
        self.analytics.shutdown(grace);
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.current()
    }

    /// The index layouts of `catalog`.
    pub(crate) fn indexes(&self, catalog: &Arc<Catalog>) -> Arc<index_writes::IndexSet> {
        self.catalog.indexes(catalog)
    }

    pub fn store(&self) -> &Arc<RowStore> {
        &self.store
    }

    /// What every session of this node is doing.
    pub fn activity(&self) -> &Arc<activity::Activity> {
        &self.activity
    }

    /// The analytics admission queue's counts.
    pub fn admission_status(&self) -> admission::AdmissionStatus {
        self.analytics.admission().status()
    }

    /// How many members can host a columnar replica of a table: the upper
    /// bound of `ALTER TABLE … SET COLUMNAR REPLICA n`.
    pub(crate) fn columnar_capacity(&self) -> usize {
        self.columnar.as_ref().map_or(0, |c| c.capacity())
    }

    pub fn columnar(&self) -> Option<&Arc<ColumnStore>> {
        self.columnar.as_ref()
    }

    /// A snapshot for a new transaction: a linearizable read point, pinned
    /// against garbage collection.
    pub(crate) async fn snapshot(&self) -> Result<SnapshotGuard> {
        self.log.read_point().await?;
        Ok(self.store.pin_latest())
    }

    /// How a client logging in as `user` must authenticate.
    pub fn login(&self, user: &str) -> roles::Login {
        roles::login(&self.catalog(), user)
    }

    /// Opens a session on `database` for `user`, with the client's start-up
    /// parameters applied to its settings.
    pub fn session(
        self: &Arc<Self>,
        user: &str,
        database: &str,
        options: &[(String, String)],
    ) -> Result<Session> {
        let catalog = self.catalog();
        roles::check_login(&catalog, user)?;
        catalog.database(database)?;
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        Session::new(self.clone(), user, database, options, pid)
    }
}

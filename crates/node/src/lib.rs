//! The PrismDB node: wiring of storage, replication, engine, wire protocol
//! and HTTP endpoints.
//!
//! [`Node::start`] opens the node's one RocksDB instance (row store and Raft
//! log column families), starts its Raft member ([`prismdb_raft::Replica`])
//! with the row store as the state machine ([`replication::StoreApplier`]),
//! serves peer RPC on the peer address, and builds the engine, which commits
//! and takes read points through the log ([`replication::ReplicatedLog`]).
//! [`run`] adds the PostgreSQL listener (served by `prismdb_server` through
//! [`adapter`]) and the HTTP listener ([`http`]: `/health`, `/metrics`) and
//! runs until its shutdown future resolves. A single node is a one-member
//! cluster on exactly this path. The `prismdb` binary (`main.rs`) only
//! parses flags ([`config`]) and signals.

pub mod adapter;
pub mod columnar;
pub mod config;
pub mod http;
pub mod replication;
pub mod store_metrics;

pub use config::{NodeConfig, StartOptions};

use anyhow::Context;
use prismdb_columnar::{ColumnStore, ColumnarOptions};
use prismdb_exec::{Engine, EngineOptions};
use prismdb_raft::{LogStats, LogStore, Member, Replica, ReplicaConfig, node_id};
use prismdb_rowstore::{Command, RowStore, StoreOptions};
use prismdb_server::{CancelRegistry, ConnectionThreads, Metrics};
use replication::{ReplicatedLog, StoreApplier};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A started node: storage, Raft member and engine.
pub struct Node {
    pub engine: Arc<Engine>,
    pub replica: Arc<Replica>,
    pub store: Arc<RowStore>,
    pub columnar: Arc<ColumnStore>,
    /// Appends and entries written to the log (group commit shows here).
    pub log_stats: Arc<LogStats>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// Opens the data directory, starts the Raft member and its peer
    /// server, and builds the engine. A one-member cluster waits (bounded)
    /// until it leads, so it is ready for clients on return.
    pub async fn start(config: &NodeConfig) -> anyhow::Result<Node> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let id = node_id(&config.name);
        let store = Arc::new(
            RowStore::open(
                &config.data_dir.join("rowstore"),
                StoreOptions {
                    rowid_slot: (id & 0x7fff) as u16,
                    row_cache_bytes: config.row_cache,
                    ..Default::default()
                },
                prismdb_raft::column_families(),
            )
            .with_context(|| format!("opening data directory {}", config.data_dir.display()))?,
        );
        store
            .start_index_builds()
            .map_err(|e| anyhow::anyhow!("starting index builds: {e}"))?;
        let columnar = ColumnStore::open(
            &config.data_dir.join("columnar"),
            ColumnarOptions {
                memory_bytes: config.columnar_memory,
                checkpoint_every: config.columnar_checkpoint,
                queue_changes: config.columnar_queue_changes,
            },
            Arc::new(columnar::StoreSource(store.clone())),
        )?;
        let log = LogStore::new(store.db().clone(), config.fsync)
            .map_err(|e| anyhow::anyhow!("opening the Raft log: {e}"))?;
        let log_stats = log.stats();
        let me = Member {
            name: config.name.clone(),
            peer_addr: config.advertise_peer.clone(),
            sql_addr: config.listen.to_string(),
            columnar: config.columnar_role,
        };
        let initial_cluster: Vec<Member> = config
            .initial_cluster
            .iter()
            .map(|(name, addr)| Member {
                name: name.clone(),
                peer_addr: addr.clone(),
                sql_addr: String::new(),
                columnar: false,
            })
            .collect();
        let peer = tokio::net::TcpListener::bind(config.peer_listen)
            .await
            .with_context(|| format!("binding peer address {}", config.peer_listen))?;
        let replica = Replica::start(
            ReplicaConfig {
                me,
                initial_cluster,
                state: config.cluster_state,
                dir: config.data_dir.clone(),
                heartbeat: config.heartbeat,
                election_timeout: config.election_timeout,
                snapshot_every: config.snapshot_every,
                keep_behind_snapshot: config.snapshot_keep,
                timeout: config.raft_timeout,
            },
            log,
            Arc::new(StoreApplier(store.clone(), columnar.clone())),
        )
        .await?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let peer_task = {
            let replica = replica.clone();
            let stop = wait_stop(stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = prismdb_raft::service::serve(replica, peer, stop).await {
                    tracing::error!("peer server failed: {e}");
                }
            })
        };
        tasks.push(peer_task);
        let log = Arc::new(ReplicatedLog {
            replica: replica.clone(),
        });
        tasks.push(tokio::spawn(gc_loop(
            store.clone(),
            log.clone(),
            config.gc_interval,
            stop_rx.clone(),
        )));
        if config.initial_cluster.len() == 1 {
            let deadline = Instant::now() + config.raft_timeout.max(Duration::from_secs(10));
            while replica.leader().is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        {
            let columnar = Arc::downgrade(&columnar);
            replica.set_reporter(Arc::new(move || {
                let status = columnar.upgrade().map(|c| c.status()).unwrap_or_default();
                replication::encode(&status).unwrap_or_default()
            }));
        }
        let engine = Engine::with_options(
            store.clone(),
            log,
            EngineOptions {
                columnar: Some(columnar.clone()),
                analytics: config.analytics.clone(),
                statistics_file: Some(config.data_dir.join("statistics")),
            },
        )?;
        if config.cluster_state == prismdb_raft::ClusterState::New {
            let bootstrap = bootstrap_superuser(
                Arc::downgrade(&engine),
                config.superuser.clone(),
                config.superuser_password.clone(),
                stop_rx.clone(),
            );
            if config.initial_cluster.len() == 1 {
                // A single member can commit at once: its first client
                // already meets the configured superuser.
                bootstrap.await;
            } else {
                tasks.push(tokio::spawn(bootstrap));
            }
        }
        // Weak: the replica owns the stores, and the columnar store must
        // not keep it (and so the data directory) alive past shutdown.
        let hosting: prismdb_columnar::HostingSource = {
            let replica = Arc::downgrade(&replica);
            let name = config.name.clone();
            Arc::new(move || Some(columnar::hosting(&*replica.upgrade()?, &name)))
        };
        columnar.start(engine.catalog(), hosting);
        tasks.push(tokio::spawn(abandoned_builds_loop(
            Arc::downgrade(&engine),
            replica.clone(),
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(hosting_loop(
            columnar.clone(),
            stop_rx.clone(),
        )));
        Ok(Node {
            engine,
            columnar,
            replica,
            store,
            log_stats,
            stop,
            tasks,
        })
    }

    /// Stops Raft and the node's tasks, then waits (bounded) until the
    /// data directory is closed, so that it can be opened again at once.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        // No statement may still read the store when the process exits.
        let engine = self.engine.clone();
        let _ = tokio::task::spawn_blocking(move || engine.shutdown(Duration::from_secs(10))).await;
        self.replica.shutdown().await;
        self.columnar.stop();
        let columnar = self.columnar.clone();
        let _ = tokio::task::spawn_blocking(move || columnar.checkpoint_all()).await;
        for t in self.tasks {
            let _ = t.await;
        }
        // Tasks of the Raft member and the engine may drop their handles a
        // moment after they were told to stop.
        let db = Arc::downgrade(self.store.db());
        drop((self.engine, self.replica, self.store, self.columnar));
        let deadline = Instant::now() + Duration::from_secs(10);
        while db.strong_count() > 0 {
            if Instant::now() > deadline {
                tracing::warn!("the data directory is still open after shutdown");
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Follows membership changes: which members host columnar replicas.
async fn hosting_loop(columnar: Arc<ColumnStore>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        columnar.refresh_hosting();
    }
}

/// Garbage collection of old row versions. The leader proposes a horizon
/// (the oldest snapshot any reachable member still reads) through the log,
/// so every replica rejects commits that read below it identically; each
/// node then deletes versions no local snapshot can see.
/// Each round also drops point-read iterators left idle since the last.
async fn gc_loop(
    store: Arc<RowStore>,
    log: Arc<ReplicatedLog>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut collected = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        store.release_idle_readers(interval);
        if log.replica.local_status().role == "leader" {
            let members = log.replica.members().await;
            let oldest = members.iter().filter_map(|m| m.oldest_snapshot).min();
            if let Some(h) = oldest
                && h > store.horizon() + 1
                && let Err(e) = log.propose(&Command::Horizon(h)).await
            {
                tracing::debug!("horizon not proposed: {e}");
            }
        }
        let below = store.horizon().min(store.oldest_active());
        if below > collected {
            let s = store.clone();
            let started = std::time::Instant::now();
            match tokio::task::spawn_blocking(move || s.collect_garbage(below)).await {
                Ok(Ok(n)) => {
                    tracing::debug!(below, removed = n, elapsed = ?started.elapsed(), "old versions collected");
                    collected = below;
                }
                Ok(Err(e)) => tracing::warn!("garbage collection failed: {e}"),
                Err(e) => tracing::warn!("garbage collection failed: {e}"),
            }
        }
    }
}

/// Runs a node until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pg = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let http = tokio::net::TcpListener::bind(config.http)
        .await
        .with_context(|| format!("binding {}", config.http))?;
    let tls = match &config.tls {
        Some((cert, key)) => Some(
            prismdb_server::Tls::from_pem_files(cert, key)
                .context("loading the TLS certificate")?,
        ),
        None => None,
    };
    let node = Node::start(&config).await?;
    let mut metrics = Metrics::new();
    metrics
        .registry_mut()
        .register_collector(Box::new(store_metrics::StoreCollector(node.store.clone())));
    let metrics = Arc::new(metrics);
    tracing::info!(
        name = %config.name,
        listen = %config.listen,
        http = %config.http,
        peer = %config.peer_listen,
        data_dir = %config.data_dir.display(),
        "PrismDB ready"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let http_task = tokio::spawn(http::serve(
        http,
        metrics.clone(),
        wait_stop(stop_rx.clone()),
    ));
    let adapter = Arc::new(adapter::EngineAdapter::new(node.engine.clone()));
    let cancels = cancel_across_members(&node.replica);
    let threads = Arc::new(
        ConnectionThreads::start(config.sql_threads).context("starting connection threads")?,
    );
    let pg_task = tokio::spawn(prismdb_server::serve(
        adapter,
        pg,
        metrics,
        threads.clone(),
        cancels,
        tls,
        wait_stop(stop_rx),
    ));
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = pg_task.await;
    let _ = http_task.await;
    // Ends the connections still open; joining the threads blocks.
    let _ = tokio::task::spawn_blocking(move || drop(threads)).await;
    node.shutdown().await;
    Ok(())
}

/// The server's cancel registry, joined to the cluster both ways: a
/// CancelRequest naming no session of this member goes to the others, and
/// theirs reach this member's sessions.
fn cancel_across_members(replica: &Arc<Replica>) -> Arc<CancelRegistry> {
    let cancels = CancelRegistry::new();
    let local = cancels.clone();
    replica.set_cancel_hook(Arc::new(move |pid, secret| local.cancel_local(pid, secret)));
    let replica = Arc::downgrade(replica);
    cancels.forward_with(Arc::new(move |pid, secret| {
        if let Some(replica) = replica.upgrade() {
            tokio::spawn(async move {
                if !replica.cancel_elsewhere(pid, secret).await {
                    tracing::debug!(pid, "cancel request for no session of any member");
                }
            });
        }
    }));
    cancels
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// On the leader, drops the indexes whose build failed while no statement
/// waited for it (see `prismdb_exec::builds`).
async fn abandoned_builds_loop(
    engine: std::sync::Weak<Engine>,
    replica: Arc<Replica>,
    mut stop: watch::Receiver<bool>,
) {
    let mut abandoned = prismdb_exec::builds::AbandonedBuilds::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        if replica.local_status().role != "leader" {
            continue;
        }
        let Some(e) = engine.upgrade() else { return };
        match abandoned
            .drop_expired(&e, prismdb_exec::builds::ABANDONED_AFTER)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(indexes = n, "dropped indexes whose build failed"),
            Err(err) => tracing::debug!("failed index builds not dropped yet: {err}"),
        }
    }
}

/// Gives a new cluster's superuser the configured name and password,
/// retrying while the cluster cannot commit yet (no leader, no quorum).
async fn bootstrap_superuser(
    engine: std::sync::Weak<Engine>,
    name: String,
    password: Option<String>,
    mut stop: watch::Receiver<bool>,
) {
    if name == prismdb_catalog::roles::BOOTSTRAP_ROLE_NAME && password.is_none() {
        return;
    }
    loop {
        let Some(e) = engine.upgrade() else { return };
        match e.bootstrap_superuser(&name, password.as_deref()).await {
            Ok(_) => return,
            Err(
                err @ (prismdb_common::Error::Unavailable(_)
                | prismdb_common::Error::SerializationFailure(_)
                | prismdb_common::Error::CommitUnknown(_)),
            ) => tracing::debug!("superuser not set up yet: {err}"),
            Err(err) => {
                tracing::error!("cannot set up the superuser {name}: {err}");
                return;
            }
        }
        drop(e);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.changed() => return,
        }
    }
}

//! Node configuration: command-line flags, an optional TOML file, defaults.
//!
//! Flags follow etcd's: `--name`, `--peer-listen`, `--initial-cluster
//! n1=host:port,n2=…`, `--initial-cluster-state new|existing`. Every flag can
//! also be given in the `--config` TOML file under the same name (with
//! dashes or underscores); a flag on the command line wins over the file.

use anyhow::{Context, bail};
use clap::Args;
use prismdb_exec::{AdmissionLimits, AnalyticsOptions, AnalyticsPriority};
use prismdb_raft::ClusterState;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `prismdb start`, from flags or the TOML file.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StartOptions {
    /// TOML file with any of these options (flags win).
    #[arg(long, env = "PRISM_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// This member's name, unique in the cluster [default: default].
    #[arg(long, env = "PRISM_NAME")]
    pub name: Option<String>,
    /// Directory for all data; created if missing [default: ./prism-data].
    #[arg(long, env = "PRISM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL protocol listen address [default: 127.0.0.1:5433].
    #[arg(long, env = "PRISM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// HTTP (health, metrics) listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "PRISM_HTTP")]
    pub http: Option<SocketAddr>,
    /// Node-to-node (Raft) listen address [default: 127.0.0.1:7001].
    #[arg(long, env = "PRISM_PEER_LISTEN")]
    pub peer_listen: Option<SocketAddr>,
    /// Peer address other members reach this one on [default: --peer-listen].
    #[arg(long, env = "PRISM_ADVERTISE_PEER")]
    pub advertise_peer: Option<String>,
    /// Initial members, `name=host:port,...` [default: this member alone].
    #[arg(long, env = "PRISM_INITIAL_CLUSTER")]
    pub initial_cluster: Option<String>,
    /// `new` bootstraps the initial cluster; `existing` joins a running one
    /// [default: new].
    #[arg(long, env = "PRISM_INITIAL_CLUSTER_STATE")]
    pub initial_cluster_state: Option<String>,
    /// fsync the log on every append (turn off only for throwaway data)
    /// [default: true].
    #[arg(long, action = clap::ArgAction::Set)]
    pub fsync: Option<bool>,
    /// Raft heartbeat interval in ms [default: 100].
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// Raft election timeout in ms (randomized up to 1.5 times this) [default: 500].
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
    /// Bound in ms on a commit or read point when no quorum answers [default: 5000].
    #[arg(long)]
    pub raft_timeout_ms: Option<u64>,
    /// Snapshot the state and compact the log every this many entries
    /// [default: 100000].
    #[arg(long)]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind the latest snapshot [default: 1000].
    #[arg(long)]
    pub snapshot_keep: Option<u64>,
    /// Interval in ms of garbage collection of old row versions [default: 30000].
    #[arg(long)]
    pub gc_interval_ms: Option<u64>,
    /// `voter`, or `columnar`: a non-voting member (Raft learner) that hosts
    /// the cluster's columnar replicas; joins with
    /// `--initial-cluster-state existing` [default: voter].
    #[arg(long, env = "PRISM_ROLE")]
    pub role: Option<String>,
    /// Memory for columnar replicas in MiB; past it, persisted segments are
    /// read from their Parquet files [default: 2048].
    #[arg(long)]
    pub columnar_memory_mb: Option<u64>,
    /// Interval in ms between checkpoints of a changed columnar replica
    /// [default: 5000].
    #[arg(long)]
    pub columnar_checkpoint_ms: Option<u64>,
    /// Memory in MiB for the row cache: the newest versions of recently
    /// read rows and index entries; 0 turns it off [default: 256].
    #[arg(long)]
    pub row_cache_mb: Option<u64>,
    /// Row changes waiting for the columnar apply thread before the queued
    /// ones are dropped and their tables rebuilt from the row store
    /// [default: 1048576].
    #[arg(long)]
    pub columnar_queue_changes: Option<usize>,
    /// Worker threads that run analytical (planned) queries, apart from
    /// the threads serving connections [default: number of CPUs].
    #[arg(long, env = "PRISM_ANALYTICS_THREADS")]
    pub analytics_threads: Option<usize>,
    /// Memory in MiB that running analytical queries share; a query that
    /// needs more fails with 53200 [default: 1024].
    #[arg(long, env = "PRISM_ANALYTICS_MEMORY_MB")]
    pub analytics_memory_mb: Option<u64>,
    /// Scheduling of the analytics threads (Linux): a number 0-19 of nice
    /// steps below the rest of the server (a weight: they get a share of
    /// the CPU whatever else runs), or `idle` to run them only on CPU time
    /// nothing else wants (SCHED_IDLE: a busy machine starves them)
    /// [default: 4].
    #[arg(long, env = "PRISM_ANALYTICS_PRIORITY")]
    pub analytics_priority: Option<String>,
    /// Analytical statements that run at once; more wait in the admission
    /// queue [default: the number of CPUs, at least 2].
    #[arg(long, env = "PRISM_ANALYTICS_MAX_RUNNING")]
    pub analytics_max_running: Option<usize>,
    /// Analytical statements that may wait for a slot; one more is refused
    /// with 53000 [default: 64].
    #[arg(long, env = "PRISM_ANALYTICS_MAX_QUEUED")]
    pub analytics_max_queued: Option<usize>,
    /// Microseconds an analytics thread works between giving the CPU back
    /// to threads woken meanwhile (point lookups); 0 never yields
    /// [default: 100].
    #[arg(long, env = "PRISM_ANALYTICS_YIELD_US")]
    pub analytics_yield_us: Option<u64>,
    /// Scheduler slice in microseconds asked for the analytics threads:
    /// the longest a woken thread (of the server or any other process)
    /// waits behind one of them on a busy core; 0 keeps the kernel's
    /// [default: 100].
    #[arg(long, env = "PRISM_ANALYTICS_SLICE_US")]
    pub analytics_slice_us: Option<u64>,
    /// Worker threads that plan every statement and run the small ones,
    /// which never queue [default: number of CPUs].
    #[arg(long, env = "PRISM_QUERY_THREADS")]
    pub query_threads: Option<usize>,
    /// Threads that serve client connections, each a single-threaded
    /// runtime that a connection stays on; 0 serves them on the node's main
    /// runtime instead [default: 4 per CPU].
    #[arg(long, env = "PRISM_SQL_THREADS")]
    pub sql_threads: Option<usize>,
    /// Name of the superuser a new cluster starts with [default: prism].
    #[arg(long, env = "PRISM_SUPERUSER")]
    pub superuser: Option<String>,
    /// Password of that superuser; once set, every login must give a
    /// password (SCRAM-SHA-256) [default: none, logins by name].
    #[arg(long, env = "PRISM_SUPERUSER_PASSWORD", hide_env_values = true)]
    pub superuser_password: Option<String>,
    /// PEM certificate chain for TLS; with --tls-key, clients may connect
    /// with sslmode=require.
    #[arg(long, env = "PRISM_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "PRISM_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// Default connection threads per CPU. More threads than cores lets the
/// kernel balance busy connections across cores (a connection never moves
/// between threads); measured on 2 cores with 8 clients, 4 per CPU served
/// point lookups about 10% faster than 1 per CPU.
const SQL_THREADS_PER_CPU: usize = 4;

/// A fully resolved node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub name: String,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub http: SocketAddr,
    pub peer_listen: SocketAddr,
    pub advertise_peer: String,
    /// (name, peer address) of each initial member.
    pub initial_cluster: Vec<(String, String)>,
    pub cluster_state: ClusterState,
    pub fsync: bool,
    pub heartbeat: Duration,
    pub election_timeout: Duration,
    pub raft_timeout: Duration,
    pub snapshot_every: u64,
    pub snapshot_keep: u64,
    pub gc_interval: Duration,
    /// Started with `--role columnar`.
    pub columnar_role: bool,
    pub columnar_memory: usize,
    pub columnar_checkpoint: Duration,
    pub row_cache: usize,
    pub columnar_queue_changes: usize,
    /// The analytics runtime's worker threads and memory pool.
    pub analytics: AnalyticsOptions,
    /// Connection threads (0: connections share the main runtime).
    pub sql_threads: usize,
    /// The superuser a new cluster starts with, and its password.
    pub superuser: String,
    pub superuser_password: Option<String>,
    /// TLS certificate chain and key files, when clients may use TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl StartOptions {
    /// Reads the `--config` file (if any) under these options and resolves
    /// defaults.
    pub fn resolve(self) -> anyhow::Result<NodeConfig> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => StartOptions::default(),
        };
        let o = self.over(file);
        let name = o.name.unwrap_or_else(|| "default".into());
        let peer_listen = o.peer_listen.unwrap_or(([127, 0, 0, 1], 7001).into());
        let advertise_peer = o.advertise_peer.unwrap_or_else(|| peer_listen.to_string());
        let initial_cluster = match &o.initial_cluster {
            Some(s) => parse_initial_cluster(s)?,
            None => vec![(name.clone(), advertise_peer.clone())],
        };
        match initial_cluster.iter().find(|(n, _)| *n == name) {
            None => bail!("--initial-cluster does not name this member ({name})"),
            Some((_, addr)) if *addr != advertise_peer => bail!(
                "--initial-cluster gives {name} the address {addr}, but this member advertises {advertise_peer}"
            ),
            Some(_) => {}
        }
        let cluster_state = match o.initial_cluster_state.as_deref().unwrap_or("new") {
            "new" => ClusterState::New,
            "existing" => ClusterState::Existing,
            other => bail!("--initial-cluster-state must be new or existing, not {other:?}"),
        };
        let columnar_role = match o.role.as_deref().unwrap_or("voter") {
            "voter" => false,
            "columnar" => true,
            other => bail!("--role must be voter or columnar, not {other:?}"),
        };
        if columnar_role && cluster_state != ClusterState::Existing {
            bail!(
                "a columnar member joins a running cluster: use --initial-cluster-state existing"
            );
        }
        let defaults = AnalyticsOptions::default();
        let analytics_threads = o.analytics_threads.unwrap_or(defaults.threads);
        if analytics_threads == 0 {
            bail!("--analytics-threads must be at least 1");
        }
        let analytics_memory = match o.analytics_memory_mb.unwrap_or(1024) {
            0 => bail!("--analytics-memory-mb must be at least 1"),
            mb => mb
                .checked_mul(1 << 20)
                .and_then(|b| usize::try_from(b).ok())
                .context("--analytics-memory-mb is too large")?,
        };
        let analytics_priority = match o.analytics_priority.as_deref().map(str::trim) {
            None => AnalyticsPriority::Nice(prismdb_exec::DEFAULT_NICE),
            Some(p) if p.eq_ignore_ascii_case("idle") => AnalyticsPriority::Idle,
            Some(p) => match p.parse::<i32>() {
                Ok(n) if (0..=19).contains(&n) => AnalyticsPriority::Nice(n),
                _ => bail!("--analytics-priority takes idle or a nice step 0-19, not '{p}'"),
            },
        };
        Ok(NodeConfig {
            analytics: AnalyticsOptions {
                threads: analytics_threads,
                interactive_threads: match o.query_threads {
                    Some(0) => bail!("--query-threads must be at least 1"),
                    Some(n) => n,
                    None => defaults.interactive_threads,
                },
                memory_bytes: analytics_memory,
                priority: analytics_priority,
                admission: AdmissionLimits {
                    max_running: match o.analytics_max_running {
                        Some(0) => bail!("--analytics-max-running must be at least 1"),
                        Some(n) => n,
                        None => defaults.admission.max_running,
                    },
                    max_queued: o
                        .analytics_max_queued
                        .unwrap_or(defaults.admission.max_queued),
                },
                yield_every: o
                    .analytics_yield_us
                    .map_or(defaults.yield_every, std::time::Duration::from_micros),
                slice: o
                    .analytics_slice_us
                    .map_or(defaults.slice, Duration::from_micros),
            },
            sql_threads: o.sql_threads.unwrap_or_else(|| {
                SQL_THREADS_PER_CPU * std::thread::available_parallelism().map_or(1, |n| n.get())
            }),
            superuser: o
                .superuser
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| prismdb_catalog::roles::BOOTSTRAP_ROLE_NAME.into()),
            superuser_password: o.superuser_password.filter(|s| !s.is_empty()),
            tls: match (o.tls_cert, o.tls_key) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => bail!("--tls-cert and --tls-key go together"),
            },
            columnar_role,
            columnar_memory: (o.columnar_memory_mb.unwrap_or(2048) as usize) << 20,
            columnar_checkpoint: Duration::from_millis(o.columnar_checkpoint_ms.unwrap_or(5000)),
            row_cache: (o.row_cache_mb.unwrap_or(256) as usize) << 20,
            columnar_queue_changes: o.columnar_queue_changes.unwrap_or(1 << 20).max(1),
            name,
            data_dir: o.data_dir.unwrap_or_else(|| "./prism-data".into()),
            listen: o.listen.unwrap_or(([127, 0, 0, 1], 5433).into()),
            http: o.http.unwrap_or(([127, 0, 0, 1], 8080).into()),
            peer_listen,
            advertise_peer,
            initial_cluster,
            cluster_state,
            fsync: o.fsync.unwrap_or(true),
            heartbeat: Duration::from_millis(o.heartbeat_ms.unwrap_or(100)),
            election_timeout: Duration::from_millis(o.election_timeout_ms.unwrap_or(500)),
            raft_timeout: Duration::from_millis(o.raft_timeout_ms.unwrap_or(5000)),
            snapshot_every: o.snapshot_every.unwrap_or(100_000),
            snapshot_keep: o.snapshot_keep.unwrap_or(1000),
            gc_interval: Duration::from_millis(o.gc_interval_ms.unwrap_or(30_000)),
        })
    }

    /// These options, each falling back to `file`'s.
    fn over(self, file: StartOptions) -> StartOptions {
        StartOptions {
            config: self.config,
            name: self.name.or(file.name),
            data_dir: self.data_dir.or(file.data_dir),
            listen: self.listen.or(file.listen),
            http: self.http.or(file.http),
            peer_listen: self.peer_listen.or(file.peer_listen),
            advertise_peer: self.advertise_peer.or(file.advertise_peer),
            initial_cluster: self.initial_cluster.or(file.initial_cluster),
            initial_cluster_state: self.initial_cluster_state.or(file.initial_cluster_state),
            fsync: self.fsync.or(file.fsync),
            heartbeat_ms: self.heartbeat_ms.or(file.heartbeat_ms),
            election_timeout_ms: self.election_timeout_ms.or(file.election_timeout_ms),
            raft_timeout_ms: self.raft_timeout_ms.or(file.raft_timeout_ms),
            snapshot_every: self.snapshot_every.or(file.snapshot_every),
            snapshot_keep: self.snapshot_keep.or(file.snapshot_keep),
            gc_interval_ms: self.gc_interval_ms.or(file.gc_interval_ms),
            role: self.role.or(file.role),
            columnar_memory_mb: self.columnar_memory_mb.or(file.columnar_memory_mb),
            columnar_checkpoint_ms: self.columnar_checkpoint_ms.or(file.columnar_checkpoint_ms),
            row_cache_mb: self.row_cache_mb.or(file.row_cache_mb),
            columnar_queue_changes: self.columnar_queue_changes.or(file.columnar_queue_changes),
            analytics_threads: self.analytics_threads.or(file.analytics_threads),
            analytics_memory_mb: self.analytics_memory_mb.or(file.analytics_memory_mb),
            analytics_priority: self.analytics_priority.or(file.analytics_priority),
            analytics_max_running: self.analytics_max_running.or(file.analytics_max_running),
            analytics_max_queued: self.analytics_max_queued.or(file.analytics_max_queued),
            query_threads: self.query_threads.or(file.query_threads),
            analytics_yield_us: self.analytics_yield_us.or(file.analytics_yield_us),
            analytics_slice_us: self.analytics_slice_us.or(file.analytics_slice_us),
            sql_threads: self.sql_threads.or(file.sql_threads),
            superuser: self.superuser.or(file.superuser),
            superuser_password: self.superuser_password.or(file.superuser_password),
            tls_cert: self.tls_cert.or(file.tls_cert),
            tls_key: self.tls_key.or(file.tls_key),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<StartOptions> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    // Accept snake_case keys too.
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let value: toml::Table = value
        .into_iter()
        .map(|(k, v)| (k.replace('_', "-"), v))
        .collect();
    value
        .try_into()
        .with_context(|| format!("reading options of {}", path.display()))
}

/// Parses `n1=host:port,n2=host:port`.
pub fn parse_initial_cluster(s: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, addr)) = part.split_once('=') else {
            bail!("--initial-cluster entry {part:?} is not name=host:port");
        };
        let (name, addr) = (name.trim(), addr.trim());
        let addr = addr.strip_prefix("http://").unwrap_or(addr);
        if name.is_empty() || !addr.contains(':') {
            bail!("--initial-cluster entry {part:?} is not name=host:port");
        }
        if out.iter().any(|(n, _)| n == name) {
            bail!("--initial-cluster names {name} twice");
        }
        out.push((name.to_string(), addr.to_string()));
    }
    if out.is_empty() {
        bail!("--initial-cluster is empty");
    }
    Ok(out)
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;

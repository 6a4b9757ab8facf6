//! A libtest-compatible test binary for the `.slt` corpus.
//!
//! [`slt_test_main`] turns every (mode, file) pair into one test of a
//! `harness = false` integration test, so `cargo test` and `cargo nextest`
//! both list and run them (`--list`, name filters, `--exact` all work).
//! Modes: `simple` and `extended` run a file over that protocol against one
//! node; `cluster` runs it over the simple protocol against a follower of a
//! three-member cluster, so every write is forwarded to the leader and every
//! read waits for a read-index. One server (or cluster) is started lazily
//! per test process and shared by the tests that process runs; each file
//! gets a database of its own. After the libtest summary a plain
//! `N passed, N failed` line is printed.
//!
//! Environment: `PRISM_SLT_FILTER=substr` keeps only files whose path contains
//! `substr`; `PRISM_SLT_MODE=simple|extended|cluster` keeps a single mode.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, Trial};
use tokio_postgres::Config;

use crate::cluster::TestCluster;
use crate::pgdb::Protocol;
use crate::server::{DEFAULT_DB, TestServer};
use crate::slt::{collect_slt_files, is_prismdb_only, run_slt_file};

/// Where and how a file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One node, over this protocol.
    Single(Protocol),
    /// A follower of a three-member cluster, simple protocol.
    Cluster,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Single(p) => write!(f, "{p}"),
            Mode::Cluster => f.write_str("cluster"),
        }
    }
}

/// The modes selected by `PRISM_SLT_MODE` (all when unset).
pub fn modes_from_env() -> Vec<Mode> {
    match std::env::var("PRISM_SLT_MODE").ok().as_deref() {
        Some("simple") => vec![Mode::Single(Protocol::Simple)],
        Some("extended") => vec![Mode::Single(Protocol::Extended)],
        Some("cluster") => vec![Mode::Cluster],
        _ => vec![
            Mode::Single(Protocol::Simple),
            Mode::Single(Protocol::Extended),
            Mode::Cluster,
        ],
    }
}

/// The server shared by the tests of one process.
struct Shared {
    bin: PathBuf,
    runtime: tokio::runtime::Runtime,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    server: Option<TestServer>,
    config: Option<Config>,
    start_error: Option<String>,
    cluster: Option<TestCluster>,
    cluster_config: Option<Config>,
}

impl Shared {
    /// Connection settings of the shared server, starting it on first use.
    fn config(&self) -> Result<Config, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(err) = &state.start_error {
            return Err(err.clone());
        }
        if let Some(config) = &state.config {
            return Ok(config.clone());
        }
        match self.runtime.block_on(TestServer::start(&self.bin)) {
            Ok(server) => {
                let config = server.pg_config(DEFAULT_DB);
                state.server = Some(server);
                state.config = Some(config.clone());
                Ok(config)
            }
            Err(e) => {
                let msg = format!("could not start prismdb: {e:#}");
                state.start_error = Some(msg.clone());
                Err(msg)
            }
        }
    }

    /// Connection settings of a follower of the shared cluster, starting it
    /// on first use.
    fn cluster_config(&self) -> Result<Config, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(config) = &state.cluster_config {
            return Ok(config.clone());
        }
        let started = self.runtime.block_on(async {
            let cluster = TestCluster::start(&self.bin, 3, &[]).await?;
            let leader = cluster.leader(std::time::Duration::from_secs(30)).await?;
            // Every member knows the membership (and so where columnar
            // replicas may go: members refresh that twice a second)
            // before the first file runs.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            for i in 0..cluster.nodes.len() {
                while cluster.members(i).await.map_or(0, |m| m.len()) < cluster.nodes.len() {
                    if std::time::Instant::now() > deadline {
                        anyhow::bail!("member {i} does not see the whole membership");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            anyhow::Ok((cluster, leader))
        });
        match started {
            Ok((cluster, leader)) => {
                let follower = (leader + 1) % cluster.nodes.len();
                let config = cluster.nodes[follower].pg_config(DEFAULT_DB);
                state.cluster = Some(cluster);
                state.cluster_config = Some(config.clone());
                Ok(config)
            }
            Err(e) => Err(format!("could not start a prismdb cluster: {e:#}")),
        }
    }

    /// The server log tail if the server is no longer running (it crashed).
    fn crash_report(&self) -> Option<String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let server = state.server.as_mut()?;
        if server.is_running() {
            return None;
        }
        Some(format!(
            "prismdb is no longer running; log {}:\n{}",
            server.log_path().display(),
            server.log_tail(6000)
        ))
    }

    fn run_file(&self, path: &Path, mode: Mode) -> Result<(), Failed> {
        let (config, protocol) = match mode {
            Mode::Single(protocol) => (self.config()?, protocol),
            Mode::Cluster => (self.cluster_config()?, Protocol::Simple),
        };
        match self.runtime.block_on(run_slt_file(&config, path, protocol)) {
            Ok(()) => Ok(()),
            Err(msg) if mode == Mode::Cluster => {
                let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let logs = state.cluster.as_ref().map(|c| c.logs()).unwrap_or_default();
                Err(format!("{msg}\n{logs}").into())
            }
            Err(msg) => match self.crash_report() {
                Some(report) => Err(format!("{msg}\n{report}").into()),
                None => Err(msg.into()),
            },
        }
    }
}

/// Runs the corpus in `dir` against the `prismdb` binary at `bin` as a
/// libtest-style test binary. Call it from a `harness = false` test's `main`.
pub fn slt_test_main(bin: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> ExitCode {
    let mut args = Arguments::from_args();
    // Files run one after another unless --test-threads says otherwise.
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let dir: PathBuf = dir.into();
    let files = match collect_slt_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("cannot read the corpus in {}: {e:#}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let filter = std::env::var("PRISM_SLT_FILTER")
        .ok()
        .filter(|s| !s.is_empty());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot build a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shared = std::sync::Arc::new(Shared {
        bin: bin.into(),
        runtime,
        state: Mutex::new(State::default()),
    });

    let mut trials = Vec::new();
    for mode in modes_from_env() {
        for path in &files {
            if let Some(f) = &filter
                && !path.to_string_lossy().contains(f.as_str())
            {
                continue;
            }
            if mode == Mode::Cluster && is_prismdb_only(path) {
                continue;
            }
            let rel = path
                .strip_prefix(&dir)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            let shared = shared.clone();
            let path = path.clone();
            trials.push(Trial::test(format!("{mode}::{rel}"), move || {
                shared.run_file(&path, mode)
            }));
        }
    }

    let list_only = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !list_only {
        println!(
            "{} passed, {} failed",
            conclusion.num_passed, conclusion.num_failed
        );
    }
    // Stop the servers before exiting (statics are not dropped).
    let (server, cluster) = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.server.take(), state.cluster.take())
    };
    drop(server);
    drop(cluster);
    conclusion.exit_code()
}

//! A libtest-compatible test binary for the `.slt` corpus.
//!
//! [`slt_test_main`] turns every (protocol, file) pair into one test of a
//! `harness = false` integration test, so `cargo test` and `cargo nextest`
//! both list and run them (`--list`, name filters, `--exact` all work). One
//! `prismdb` server is started lazily per test process and shared by the tests
//! that process runs; each file gets a database of its own. After the libtest
//! summary a plain `N passed, N failed` line is printed.
//!
//! Environment: `PRISM_SLT_FILTER=substr` keeps only files whose path contains
//! `substr`; `PRISM_SLT_MODE=simple|extended` keeps a single protocol.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, Trial};
use tokio_postgres::Config;

use crate::pgdb::Protocol;
use crate::server::{DEFAULT_DB, TestServer};
use crate::slt::{collect_slt_files, run_slt_file};

/// The protocols selected by `PRISM_SLT_MODE` (both when unset).
pub fn protocols_from_env() -> Vec<Protocol> {
    match std::env::var("PRISM_SLT_MODE").ok().as_deref() {
        Some("simple") => vec![Protocol::Simple],
        Some("extended") => vec![Protocol::Extended],
        _ => vec![Protocol::Simple, Protocol::Extended],
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

    fn run_file(&self, path: &Path, protocol: Protocol) -> Result<(), Failed> {
        let config = self.config()?;
        match self.runtime.block_on(run_slt_file(&config, path, protocol)) {
            Ok(()) => Ok(()),
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
    for protocol in protocols_from_env() {
        for path in &files {
            if let Some(f) = &filter
                && !path.to_string_lossy().contains(f.as_str())
            {
                continue;
            }
            let rel = path
                .strip_prefix(&dir)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            let shared = shared.clone();
            let path = path.clone();
            trials.push(Trial::test(format!("{protocol}::{rel}"), move || {
                shared.run_file(&path, protocol)
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
    // Stop the server before exiting (statics are not dropped).
    let server = shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .server
        .take();
    drop(server);
    conclusion.exit_code()
}

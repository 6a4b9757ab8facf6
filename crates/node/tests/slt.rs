//! Runs the SQL corpus in `sql-tests/` against a real `prismdb` server.
//!
//! One server is started; every `.slt` file runs in a database of its own,
//! first over the simple query protocol and then over the extended protocol.
//! One line is printed per file and mode, then `N passed, N failed`; the
//! process exits non-zero if any file failed. `PRISM_SLT_FILTER=substr` runs
//! only the files whose path contains `substr`; `PRISM_SLT_MODE=simple` or
//! `extended` runs a single mode.

use std::path::PathBuf;
use std::process::ExitCode;

use prismdb_testkit::{Protocol, SltOptions, SltSummary, TestServer, run_slt_dir_with};

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building tokio runtime");
    runtime.block_on(run())
}

fn protocols() -> Vec<Protocol> {
    match std::env::var("PRISM_SLT_MODE").ok().as_deref() {
        Some("simple") => vec![Protocol::Simple],
        Some("extended") => vec![Protocol::Extended],
        _ => vec![Protocol::Simple, Protocol::Extended],
    }
}

async fn run() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sql-tests");
    let server = match TestServer::start(env!("CARGO_BIN_EXE_prismdb")).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("could not start prismdb: {e:#}");
            println!("0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let config = server.pg_config(prismdb_testkit::DEFAULT_DB);
    let mut summary = SltSummary::default();
    for protocol in protocols() {
        let opts = SltOptions::new(protocol).with_env_filter();
        match run_slt_dir_with(&config, &dir, &opts).await {
            Ok(s) => summary.extend(s),
            Err(e) => {
                eprintln!("could not run {}: {e:#}", dir.display());
                println!("0 passed, 1 failed");
                return ExitCode::FAILURE;
            }
        }
    }
    if summary.failed() > 0 {
        println!("\nfailures:");
        println!("{}", summary.failure_report());
        println!("server log: {}", server.log_path().display());
        println!("{}", server.log_tail(4000));
    }
    println!("{} passed, {} failed", summary.passed(), summary.failed());
    if summary.failed() > 0 || summary.files.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! Runs a directory of `.slt` files, each in a database of its own.
//!
//! For every file (recursive, sorted by path): connect to database `prism`,
//! `CREATE DATABASE <unique>`, run the file on connections to that database,
//! then `DROP DATABASE`. Failures are collected with the file name and the
//! runner's message; the caller decides how to report them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqllogictest::Runner;
use tokio_postgres::Config;

use crate::pgdb::{PgDb, PgError, Protocol};
use crate::server::{DEFAULT_DB, TestServer, connect_config};

/// Options for [`run_slt_files`].
#[derive(Debug, Clone)]
pub struct SltOptions {
    /// Protocol used for every record.
    pub protocol: Protocol,
    /// Only files whose path contains this substring are run.
    pub filter: Option<String>,
    /// Print one line per file (`ok` / `FAILED`) as it finishes.
    pub verbose: bool,
}

impl SltOptions {
    /// Defaults: the given protocol, no filter, print progress.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            filter: None,
            verbose: true,
        }
    }

    /// Reads the filter from the `PRISM_SLT_FILTER` environment variable.
    pub fn with_env_filter(mut self) -> Self {
        self.filter = std::env::var("PRISM_SLT_FILTER")
            .ok()
            .filter(|s| !s.is_empty());
        self
    }
}

/// The outcome of one file.
#[derive(Debug, Clone)]
pub struct SltFileResult {
    /// Path relative to the corpus directory.
    pub name: String,
    /// `None` when the file passed; otherwise the runner's message.
    pub error: Option<String>,
    /// Wall time spent on the file.
    pub elapsed: Duration,
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Default)]
pub struct SltSummary {
    /// One entry per file, in run order.
    pub files: Vec<SltFileResult>,
}

impl SltSummary {
    /// Number of files that passed.
    pub fn passed(&self) -> usize {
        self.files.iter().filter(|f| f.error.is_none()).count()
    }

    /// Number of files that failed.
    pub fn failed(&self) -> usize {
        self.files.iter().filter(|f| f.error.is_some()).count()
    }

    /// The failed files.
    pub fn failures(&self) -> impl Iterator<Item = &SltFileResult> {
        self.files.iter().filter(|f| f.error.is_some())
    }

    /// Appends another summary's files.
    pub fn extend(&mut self, other: SltSummary) {
        self.files.extend(other.files);
    }

    /// A report of every failure with its message.
    pub fn failure_report(&self) -> String {
        let mut out = String::new();
        for f in self.failures() {
            out.push_str(&format!(
                "---- {} ----\n{}\n",
                f.name,
                f.error.as_deref().unwrap_or_default()
            ));
        }
        out
    }
}

/// Every `.slt` file under `dir`, recursively, sorted by path.
pub fn collect_slt_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "slt") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// Directory of files that pin PrismDB's own behaviour (EXPLAIN's routing
/// of one node): they run on a single PrismDB node only, never against a
/// reference PostgreSQL or a cluster.
pub const PRISMDB_ONLY_DIR: &str = "explain";

/// Whether `path` lies in [`PRISMDB_ONLY_DIR`].
pub fn is_prismdb_only(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .is_some_and(|d| d == PRISMDB_ONLY_DIR)
}

/// Runs every `.slt` file under `dir` against `server` in the given protocol mode.
pub async fn run_slt_dir(
    server: &TestServer,
    dir: &Path,
    protocol: Protocol,
) -> Result<SltSummary> {
    run_slt_dir_with(
        &server.pg_config(DEFAULT_DB),
        dir,
        &SltOptions::new(protocol),
    )
    .await
}

/// Runs every `.slt` file under `dir` against the server described by `base`
/// (its database name is replaced for each file; the admin connection uses `prism`).
pub async fn run_slt_dir_with(base: &Config, dir: &Path, opts: &SltOptions) -> Result<SltSummary> {
    let files = collect_slt_files(dir)?;
    let mut summary = SltSummary::default();
    for path in files {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if let Some(filter) = &opts.filter
            && !path.to_string_lossy().contains(filter.as_str())
        {
            continue;
        }
        let started = Instant::now();
        let error = run_slt_file(base, &path, opts.protocol).await.err();
        let result = SltFileResult {
            name,
            error,
            elapsed: started.elapsed(),
        };
        if opts.verbose {
            println!(
                "slt [{}] {} ... {} ({} ms)",
                opts.protocol,
                result.name,
                if result.error.is_none() {
                    "ok"
                } else {
                    "FAILED"
                },
                result.elapsed.as_millis()
            );
        }
        summary.files.push(result);
    }
    Ok(summary)
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database name unique to this process and file: `slt_<stem>_<pid>_<n>`.
fn unique_db_name(path: &Path) -> String {
    let stem: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!(
        "slt_{stem}_{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn with_db(base: &Config, db: &str) -> Config {
    let mut c = base.clone();
    c.dbname(db);
    c
}

/// Runs one `.slt` file: creates a database for it (through an admin connection
/// to `prism` on the server described by `base`), runs the file there, drops
/// the database. Returns the failure message, if any.
pub async fn run_slt_file(base: &Config, path: &Path, protocol: Protocol) -> Result<(), String> {
    let admin_config = with_db(base, DEFAULT_DB);
    let admin = connect_config(&admin_config)
        .await
        .map_err(|e| format!("connecting to database {DEFAULT_DB}: {e:#}"))?;
    // Records PrismDB does not match PostgreSQL on yet are marked
    // `skipif prismdb` (with the gap named in a comment beside them).
    let is_prismdb = admin
        .simple_query("SELECT version()")
        .await
        .ok()
        .and_then(|msgs| {
            msgs.into_iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    r.get(0).map(|v| v.contains("PrismDB"))
                }
                _ => None,
            })
        })
        .unwrap_or(false);
    if !is_prismdb && is_prismdb_only(path) {
        return Ok(());
    }
    let db = unique_db_name(path);
    admin
        .simple_query(&format!("CREATE DATABASE {db}"))
        .await
        .map_err(|e| format!("CREATE DATABASE {db}: {}", PgError::from(e)))?;

    let file_config = with_db(base, &db);
    let mut runner = Runner::new(move || {
        let config = file_config.clone();
        async move { PgDb::connect(&config, protocol).await }
    });
    runner.add_label(protocol.name());
    runner.add_label("prismdb-testkit");
    if is_prismdb {
        runner.add_label("prismdb");
    }
    let outcome = runner.run_file_async(path).await;
    runner.shutdown_async().await;
    drop(runner);

    let dropped = drop_database(&admin, &db).await;
    match (outcome, dropped) {
        (Err(e), _) => Err(e.display(false).to_string()),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// `DROP DATABASE`, retrying while the file's sessions are still going away.
async fn drop_database(admin: &tokio_postgres::Client, db: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match admin.simple_query(&format!("DROP DATABASE {db}")).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let err = PgError::from(e);
                // 55006: object_in_use (other sessions still connected).
                if err.sqlstate.as_deref() == Some("55006") && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                return Err(format!("DROP DATABASE {db}: {err}"));
            }
        }
    }
}

//! Runs the SQL corpus (`sql-tests/`) against a reference PostgreSQL server.
//!
//! Ignored by default. Point `PRISM_PG_URL` at a PostgreSQL 15 server where a
//! superuser role `prism` and a database `prism` exist, then run
//! `cargo test -p prismdb-testkit --test pg_reference -- --ignored --nocapture`, e.g. with
//! `PRISM_PG_URL="host=127.0.0.1 port=55432 user=prism dbname=prism"`.
//! `PRISM_SLT_FILTER` limits the run to files whose path contains it.

use std::path::PathBuf;
use std::str::FromStr;

use prismdb_testkit::{Protocol, SltOptions, SltSummary, run_slt_dir_with};

#[tokio::test]
#[ignore = "needs a reference PostgreSQL server in PRISM_PG_URL"]
async fn corpus_passes_on_reference_postgres() {
    let url = std::env::var("PRISM_PG_URL").expect("set PRISM_PG_URL to a PostgreSQL 15 server");
    let config = tokio_postgres::Config::from_str(&url).expect("invalid PRISM_PG_URL");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sql-tests");
    let mut summary = SltSummary::default();
    for protocol in [Protocol::Simple, Protocol::Extended] {
        let opts = SltOptions::new(protocol).with_env_filter();
        summary.extend(
            run_slt_dir_with(&config, &dir, &opts)
                .await
                .expect("running corpus"),
        );
    }
    if summary.failed() > 0 {
        eprintln!("{}", summary.failure_report());
    }
    println!("{} passed, {} failed", summary.passed(), summary.failed());
    assert_eq!(
        summary.failed(),
        0,
        "corpus failed against reference PostgreSQL"
    );
}

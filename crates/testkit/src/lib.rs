//! Test-only helpers for PrismDB.
//!
//! - [`TestServer`] runs a real `prismdb` process on free local ports with a
//!   temporary data directory, and can `kill9()` and `restart()` it;
//!   [`TestCluster`] runs several as one Raft group on loopback.
//! - [`PgDb`] drives sqllogictest files over tokio-postgres, in the simple or
//!   the extended query protocol ([`Protocol`]).
//! - [`columnar`]: a seeded random workload, analytical queries and
//!   row-versus-columnar comparison for columnar replica tests.
//! - [`fuzz`]: seeded SQL and wire-protocol fuzzers; [`wire`]: a raw
//!   protocol client that sends what no driver would.
//! - [`run_slt_dir`] runs a directory of `.slt` files, one fresh database per file;
//!   [`slt_test_main`] does the same as a libtest-compatible test binary.

pub mod cluster;
pub mod columnar;
pub mod fuzz;
pub mod harness;
pub mod pgdb;
pub mod pgtext;
pub mod server;
pub mod slt;
pub mod wire;

pub use cluster::{MemberRow, TestCluster, members};
pub use harness::slt_test_main;
pub use pgdb::{PgColumnType, PgDb, PgError, Protocol};
pub use server::{DEFAULT_DB, TEST_USER, TestServer, connect_config, free_port, free_ports};
pub use slt::{
    SltFileResult, SltOptions, SltSummary, collect_slt_files, run_slt_dir, run_slt_dir_with,
    run_slt_file,
};

/// The SQLSTATE of a tokio-postgres error, if the server sent one.
pub fn sqlstate(err: &tokio_postgres::Error) -> Option<String> {
    err.as_db_error().map(|db| db.code().code().to_string())
}

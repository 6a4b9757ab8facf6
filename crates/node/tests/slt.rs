//! Runs the SQL corpus in `sql-tests/` against a real `prismdb` server.
//!
//! Every `.slt` file is one test per protocol (`simple::<file>` and
//! `extended::<file>`), each in a database of its own on a server started for
//! this test process. Works under `cargo test` and `cargo nextest` (the binary
//! speaks the libtest command line). One line is printed per file and mode,
//! then `N passed, N failed`; the exit code is non-zero if any file failed.
//! `PRISM_SLT_FILTER=substr` runs only files whose path contains `substr`;
//! `PRISM_SLT_MODE=simple|extended` runs a single protocol.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sql-tests");
    prismdb_testkit::slt_test_main(env!("CARGO_BIN_EXE_prismdb"), dir)
}

//! Compatibility with Python's psycopg (version 3): connect, DDL, parameterised
//! inserts and queries (server-side binding), a transaction rollback, and an
//! error's SQLSTATE.
//!
//! Skipped (with a message) when `python3` or the `psycopg` module is missing.

use std::process::Command;

use prismdb_testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

const SCRIPT: &str = r#"
import sys
import psycopg

conninfo = sys.argv[1]
with psycopg.connect(conninfo, autocommit=True) as conn:
    conn.execute("CREATE TABLE py (id integer PRIMARY KEY, name text, score numeric(5,2))")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO py VALUES (%s, %s, %s)", [(1, "a", 1.5), (2, "b", None), (3, "c", 3.25)])
        cur.execute("SELECT id, name FROM py WHERE id >= %s ORDER BY id", (2,))
        assert cur.fetchall() == [(2, "b"), (3, "c")], "select with parameter"
        cur.execute("SELECT count(*) FROM py WHERE score IS NULL")
        assert cur.fetchone() == (1,), "null parameter stored as NULL"
    try:
        with conn.transaction():
            conn.execute("INSERT INTO py VALUES (4, 'd', 0)")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert conn.execute("SELECT count(*) FROM py").fetchone() == (3,), "rolled back"
    try:
        conn.execute("SELECT * FROM nope")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedTable as e:
        assert e.sqlstate == "42P01", e.sqlstate
print("psycopg ok")
"#;

#[tokio::test]
async fn psycopg_basic_usage() {
    let probe = Command::new("python3")
        .args(["-c", "import psycopg"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!("skipping: python3 with psycopg is not available");
            return;
        }
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let conninfo = server.conn_string("prism");
    let out = tokio::process::Command::new("python3")
        .args(["-c", SCRIPT, &conninfo])
        .output()
        .await
        .expect("run python3");
    assert!(
        out.status.success(),
        "psycopg script failed:\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_tail(4000)
    );
}

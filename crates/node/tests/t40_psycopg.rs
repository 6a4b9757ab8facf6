//! Compatibility with Python's psycopg (version 3): connect, DDL, parameterised
//! inserts and queries (server-side binding), a transaction rollback, and an
//! error's SQLSTATE; named (server-side) cursors with scrolling and WITH
//! HOLD, prepared statements surviving DDL (psycopg's `DEALLOCATE ALL`),
//! nested transactions (savepoints) and session functions.
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
        # Python lists to and from array columns, text and binary.
        cur.execute("CREATE TABLE pa (id integer PRIMARY KEY, xs integer[], tags text[])")
        cur.execute("INSERT INTO pa VALUES (%s, %s, %s)", (1, [1, 2, None], ["a", "b c"]))
        cur.execute("INSERT INTO pa VALUES (%b, %b, %b)", (2, [5], []))
        cur.execute("SELECT xs, tags FROM pa ORDER BY id")
        assert cur.fetchall() == [([1, 2, None], ["a", "b c"]), ([5], [])], "arrays"
        cur.execute("SELECT id FROM pa WHERE %s = ANY(xs)", (5,), binary=True)
        assert cur.fetchall() == [(2,)], "ANY over a stored array"
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
    # Pipeline mode: many statements sent before their results are read;
    # an error aborts the rest of the pipeline, and the connection goes on.
    with conn.pipeline():
        with conn.cursor() as cur:
            for i in range(10, 20):
                cur.execute("INSERT INTO py VALUES (%s, %s, %s)", (i, f"p{i}", i))
            cur.execute("SELECT count(*) FROM py WHERE id >= %s", (10,))
            assert cur.fetchone() == (10,), "pipelined inserts"
    try:
        with conn.pipeline():
            conn.execute("INSERT INTO py VALUES (30, 'x', 1)")
            conn.execute("INSERT INTO py VALUES (30, 'dup', 1)")
            conn.execute("INSERT INTO py VALUES (31, 'never', 1)")
        raise AssertionError("expected a unique violation")
    except psycopg.errors.UniqueViolation:
        pass
    assert conn.execute("SELECT count(*) FROM py WHERE id IN (30, 31)").fetchone() == (1,), "pipeline abort"
print("psycopg ok")
"#;

const CURSORS: &str = r#"
import sys
import psycopg

conninfo = sys.argv[1]
with psycopg.connect(conninfo) as conn:
    conn.execute("CREATE TABLE nc (id integer PRIMARY KEY, v text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO nc VALUES (%s, %s)", [(i, f"v{i}") for i in range(1, 101)])
    conn.commit()
    # A named cursor: DECLARE with a parameter, Describe of its portal,
    # FETCH FORWARD n, MOVE, CLOSE.
    with conn.cursor(name="big") as cur:
        cur.itersize = 7
        cur.execute("SELECT id, v FROM nc WHERE id > %s ORDER BY id", (10,))
        assert [c.name for c in cur.description] == ["id", "v"], cur.description
        assert cur.fetchmany(5) == [(i, f"v{i}") for i in range(11, 16)]
        cur.scroll(3)
        assert cur.fetchone() == (19, "v19")
        assert sum(1 for _ in cur) == 81
    conn.commit()
    with conn.cursor(name="scrolling", scrollable=True) as cur:
        cur.execute("SELECT id FROM nc ORDER BY id")
        cur.scroll(50, mode="absolute")
        assert cur.fetchone() == (51,)
        cur.scroll(-11)
        assert cur.fetchone() == (41,)
    conn.commit()
    with conn.cursor(name="held", withhold=True) as cur:
        cur.execute("SELECT count(*) FROM nc")
        conn.commit()
        assert cur.fetchall() == [(100,)]
    # Statements prepared on the server, then DDL: psycopg sends
    # DEALLOCATE ALL and prepares again under the same names.
    for i in range(8):
        conn.execute("SELECT v FROM nc WHERE id = %s", (i,), prepare=True).fetchone()
    conn.execute("CREATE TABLE nc2 (a integer PRIMARY KEY)")
    conn.execute("DROP TABLE nc2")
    assert conn.execute("SELECT v FROM nc WHERE id = %s", (5,), prepare=True).fetchone() == ("v5",)
    conn.commit()
    # Nested transactions are savepoints.
    with conn.transaction():
        conn.execute("INSERT INTO nc VALUES (1000, 'outer')")
        try:
            with conn.transaction():
                conn.execute("INSERT INTO nc VALUES (1001, 'inner')")
                raise RuntimeError("roll back the inner block")
        except RuntimeError:
            pass
    assert conn.execute("SELECT id FROM nc WHERE id >= 1000 ORDER BY id").fetchall() == [(1000,)]
    row = conn.execute("SELECT current_user, pg_typeof(1)::text, generate_series(1, 2)").fetchall()
    assert row == [("prism", "integer", 1), ("prism", "integer", 2)], row
print("psycopg cursors ok")
"#;

fn psycopg_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import psycopg"])
        .output();
    match probe {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!("skipping: python3 with psycopg is not available");
            false
        }
    }
}

async fn run_script(script: &str) {
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let conninfo = server.conn_string("prism");
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, &conninfo])
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

#[tokio::test]
async fn psycopg_named_cursors_prepared_statements_and_savepoints() {
    if psycopg_available() {
        run_script(CURSORS).await;
    }
}

#[tokio::test]
async fn psycopg_basic_usage() {
    if psycopg_available() {
        run_script(SCRIPT).await;
    }
}

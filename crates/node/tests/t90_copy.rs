//! `COPY ... FROM STDIN` end to end: tokio-postgres `copy_in` (extended
//! protocol) in text and CSV format — NULLs, escapes, quoting, headers,
//! options, rows split across CopyData messages, DEFAULTs and hidden row
//! ids for omitted columns; errors (22P02, 22P04, 23502, 23505, CopyFail,
//! unsupported forms) that write nothing and leave the connection usable;
//! COPY inside a transaction block; the simple protocol through psql's
//! `\copy` and psycopg's `cursor.copy()` (each skipped when the client is
//! not installed); and a throughput measurement.
//!
//! The expected values were checked against PostgreSQL 15.

use futures::SinkExt;
use prismdb_testkit::{TestServer, sqlstate};
use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

async fn start() -> (TestServer, Client) {
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let client = server.connect("prism").await.expect("connect");
    (server, client)
}

fn code(err: &tokio_postgres::Error) -> String {
    sqlstate(err).unwrap_or_else(|| format!("no SQLSTATE: {err}"))
}

/// Runs `sql` (a COPY FROM STDIN) through `copy_in`, sending `chunks` as
/// separate CopyData messages; the row count or the error.
async fn copy_in(
    client: &Client,
    sql: &str,
    chunks: &[&[u8]],
) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, VecDeque<u8>>(sql).await?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(VecDeque::from(chunk.to_vec())).await?;
    }
    sink.finish().await
}

/// `copy_in` that must fail: its SQLSTATE.
async fn copy_in_err(client: &Client, sql: &str, chunks: &[&[u8]]) -> String {
    match copy_in(client, sql, chunks).await {
        Ok(n) => panic!("{sql}: expected an error, copied {n} rows"),
        Err(e) => code(&e),
    }
}

/// Rows of a query as text, NULL as `None`.
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

fn row(fields: &[Option<&str>]) -> Vec<Option<String>> {
    fields.iter().map(|f| f.map(str::to_string)).collect()
}

async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

/// The connection still answers queries.
async fn usable(client: &Client) {
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn text_format_nulls_escapes_and_defaults() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE t (a integer PRIMARY KEY, b text, c integer NOT NULL DEFAULT 42)",
        )
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY t (a, b) FROM STDIN",
        &[
            b"1\thello\n2\t\\N\n3\ttab\\there\\\\back\\nnl\\x41\\101\\q\n4\t",
            b"sp",
            b"lit\n5\t\xc3",
            b"\xa9t\\303\\251\n",
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        rows(&client, "SELECT a, b, c FROM t ORDER BY a").await,
        vec![
            row(&[Some("1"), Some("hello"), Some("42")]),
            row(&[Some("2"), None, Some("42")]),
            row(&[Some("3"), Some("tab\there\\back\nnlAAq"), Some("42")]),
            row(&[Some("4"), Some("split"), Some("42")]),
            row(&[Some("5"), Some("été"), Some("42")]),
        ]
    );

    // All columns, CR LF line ends, the end marker, a custom delimiter and NULL.
    let n = copy_in(
        &client,
        "COPY t FROM STDIN",
        &[b"6\tx\t1\r\n7\t\\N\t2\r\n\\.\r\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    let n = copy_in(
        &client,
        "COPY t FROM STDIN WITH (DELIMITER '|', NULL '')",
        &[b"8||3\n9|a\\|b|4\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        rows(&client, "SELECT a, b, c FROM t WHERE a >= 6 ORDER BY a").await,
        vec![
            row(&[Some("6"), Some("x"), Some("1")]),
            row(&[Some("7"), None, Some("2")]),
            row(&[Some("8"), None, Some("3")]),
            row(&[Some("9"), Some("a|b"), Some("4")]),
        ]
    );

    // Typed columns go through INSERT's conversions.
    client
        .batch_execute(
            "CREATE TABLE typed (id bigint PRIMARY KEY, f double precision, n numeric(6,2),
                ok boolean, d date, ts timestamp, v varchar(3), by bytea)",
        )
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY typed FROM STDIN",
        &[b" 1 \t1.5\t12.34\tt\t2024-02-29\t2024-02-29 13:14:15.5\tabc\t\\\\x0102ff\n2\t\\N\t\\N\tfalse\t\\N\t\\N\t\\N\t\\N\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        rows(
            &client,
            "SELECT id, f, n, ok, d, ts, v, by FROM typed ORDER BY id"
        )
        .await,
        vec![
            row(&[
                Some("1"),
                Some("1.5"),
                Some("12.34"),
                Some("t"),
                Some("2024-02-29"),
                Some("2024-02-29 13:14:15.5"),
                Some("abc"),
                Some("\\x0102ff"),
            ]),
            row(&[Some("2"), None, None, Some("f"), None, None, None, None]),
        ]
    );
}

#[tokio::test]
async fn csv_format_quotes_headers_and_options() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE t (a integer PRIMARY KEY, b text, c integer NOT NULL DEFAULT 42)",
        )
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY t FROM STDIN (FORMAT csv)",
        &[
            b"10,\"quoted, comma\",5\n11,,6\n12,\"\",7\n13,\"a \"\"q\"\" b\",8\n14,\"multi\nli",
            b"ne\",9\n15,a\"b\"c,1",
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 6);
    assert_eq!(
        rows(&client, "SELECT a, b, c FROM t ORDER BY a").await,
        vec![
            row(&[Some("10"), Some("quoted, comma"), Some("5")]),
            row(&[Some("11"), None, Some("6")]),
            row(&[Some("12"), Some(""), Some("7")]),
            row(&[Some("13"), Some("a \"q\" b"), Some("8")]),
            row(&[Some("14"), Some("multi\nline"), Some("9")]),
            row(&[Some("15"), Some("abc"), Some("1")]),
        ]
    );

    // The legacy syntax, a header line and a column list with a DEFAULT.
    let n = copy_in(
        &client,
        "COPY t (b, a) FROM STDIN WITH CSV HEADER",
        &[b"b,a\nx,20\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    // Options: delimiter, a NULL string (quoted, it is text), header.
    let n = copy_in(
        &client,
        "COPY t FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NULL')",
        &[b"a;b;c\n21;NULL;1\n22;\"NULL\";1\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    // QUOTE and ESCAPE, FORCE_NULL and FORCE_NOT_NULL.
    let n = copy_in(
        &client,
        "COPY t FROM STDIN (FORMAT csv, QUOTE '''', ESCAPE '\\', FORCE_NOT_NULL (b))",
        &[b"23,'a\\'b',1\n24,,1\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    let n = copy_in(
        &client,
        "COPY t FROM STDIN (FORMAT csv, FORCE_NULL (b))",
        &[b"25,\"\",1\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        rows(
            &client,
            "SELECT a, b, b IS NULL, c FROM t WHERE a >= 20 ORDER BY a"
        )
        .await,
        vec![
            row(&[Some("20"), Some("x"), Some("f"), Some("42")]),
            row(&[Some("21"), None, Some("t"), Some("1")]),
            row(&[Some("22"), Some("NULL"), Some("f"), Some("1")]),
            row(&[Some("23"), Some("a'b"), Some("f"), Some("1")]),
            row(&[Some("24"), Some(""), Some("f"), Some("1")]),
            row(&[Some("25"), None, Some("t"), Some("1")]),
        ]
    );
}

#[tokio::test]
async fn tables_without_primary_key_get_row_ids() {
    let (_server, client) = start().await;
    client
        .batch_execute("CREATE TABLE log (msg text, n integer DEFAULT 7)")
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY log (msg) FROM STDIN",
        &[b"same\nsame\nother\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    client
        .batch_execute("INSERT INTO log (msg) VALUES ('same')")
        .await
        .unwrap();
    assert_eq!(
        rows(
            &client,
            "SELECT msg, count(*), sum(n) FROM log GROUP BY msg ORDER BY msg"
        )
        .await,
        vec![
            row(&[Some("other"), Some("1"), Some("7")]),
            row(&[Some("same"), Some("3"), Some("21")]),
        ]
    );
}

/// Keys already taken are found whether a batch's key range holds few
/// existing rows (one range probe) or many (a read per row).
#[tokio::test]
async fn duplicate_keys_against_existing_rows() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE k (id integer PRIMARY KEY, v text);
             INSERT INTO k SELECT 2 * n, 'old' FROM generate_series(1, 200) AS s(n)",
        )
        .await
        .unwrap();
    // Odd keys between the existing even ones: free.
    let n = copy_in(
        &client,
        "COPY k FROM STDIN",
        &[b"1\tnew\n201\tnew\n399\tnew\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    // A taken key in a sparse range and in a dense one.
    for data in [&b"1000\tx\n400\tx\n"[..], &b"3\tx\n5\tx\n200\tx\n"[..]] {
        assert_eq!(
            copy_in_err(&client, "COPY k FROM STDIN", &[data]).await,
            "23505"
        );
    }
    // Keys above every existing one; the range holds none.
    let n = copy_in(&client, "COPY k FROM STDIN", &[b"1001\tx\n1002\tx\n"])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(&client, "k").await, 205);
    assert_eq!(
        rows(&client, "SELECT v, count(*) FROM k GROUP BY v ORDER BY v").await,
        vec![
            row(&[Some("new"), Some("3")]),
            row(&[Some("old"), Some("200")]),
            row(&[Some("x"), Some("2")]),
        ]
    );
}

#[tokio::test]
async fn errors_write_nothing_and_leave_the_connection_usable() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE t (a integer PRIMARY KEY, b text, c integer NOT NULL DEFAULT 42);
             INSERT INTO t VALUES (1, 'one', 1)",
        )
        .await
        .unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("COPY t FROM STDIN", b"2\tx\t1\nabc\tx\t1\n", "22P02"),
        (
            "COPY t FROM STDIN",
            b"2\tx\t1\n99999999999\tx\t1\n",
            "22003",
        ),
        ("COPY t FROM STDIN", b"2\tx\t1\n3\tx\n", "22P04"),
        ("COPY t FROM STDIN", b"2\tx\t1\t9\n", "22P04"),
        // A bad value before the missing column is reported first.
        ("COPY t FROM STDIN", b"\n", "22P02"),
        ("COPY t FROM STDIN", b"2\tx\t1\n\\.x\n", "22P04"),
        ("COPY t FROM STDIN", b"2\tx\t1\r\n3\tx\t1\n", "22P04"),
        ("COPY t FROM STDIN (FORMAT csv)", b"2,\"x,1\n", "22P04"),
        ("COPY t FROM STDIN", b"2\tx\t\\N\n", "23502"),
        ("COPY t (a, b) FROM STDIN", b"2\tx\n1\ty\n", "23505"),
        ("COPY t (a, b) FROM STDIN", b"2\tx\n2\ty\n", "23505"),
        ("COPY t FROM STDIN", b"2\t\\xff\t1\n", "22000"),
    ];
    for (sql, data, expected) in cases {
        assert_eq!(
            copy_in_err(&client, sql, &[data]).await,
            *expected,
            "{sql} with {:?}",
            String::from_utf8_lossy(data)
        );
        assert_eq!(count(&client, "t").await, 1, "{sql}: nothing written");
        usable(&client).await;
    }

    // An error in a large COPY, many CopyData messages after the bad row.
    let mut data = Vec::new();
    for i in 2..20_000 {
        data.extend_from_slice(format!("{i}\tx\t1\n").as_bytes());
        if i == 10 {
            data.extend_from_slice(b"oops\tx\t1\n");
        }
    }
    let chunks: Vec<&[u8]> = data.chunks(1000).collect();
    assert_eq!(
        copy_in_err(&client, "COPY t FROM STDIN", &chunks).await,
        "22P02"
    );
    assert_eq!(count(&client, "t").await, 1);
    usable(&client).await;

    // CopyFail: the client gives up (tokio-postgres sends it when the sink
    // is dropped unfinished).
    {
        let sink = client
            .copy_in::<_, VecDeque<u8>>("COPY t FROM STDIN")
            .await
            .unwrap();
        futures::pin_mut!(sink);
        sink.send(VecDeque::from(b"5\tx\t1\n".to_vec()))
            .await
            .unwrap();
    }
    usable(&client).await;
    assert_eq!(count(&client, "t").await, 1);

    // Statements that fail before any data, through the simple protocol
    // (tokio-postgres' `copy_in` loses track of the connection when its
    // Execute fails, against PostgreSQL too).
    for (sql, expected) in [
        ("COPY t FROM '/tmp/data.txt'", "0A000"),
        ("COPY t TO '/tmp/data.txt'", "0A000"),
        ("COPY t FROM PROGRAM 'cat'", "0A000"),
        ("COPY t FROM STDIN (FORMAT binary, DELIMITER ',')", "42601"),
        ("COPY t FROM STDIN (FORMAT xml)", "22023"),
        ("COPY t FROM STDIN (DELIMITER 'x')", "22023"),
        ("COPY t FROM STDIN (QUOTE '''')", "0A000"),
        ("COPY t FROM STDIN (FORMAT csv, FORMAT csv)", "42601"),
        ("COPY t (a, a) FROM STDIN", "42701"),
        ("COPY t (zz) FROM STDIN", "42703"),
        ("COPY nope FROM STDIN", "42P01"),
        ("COPY t FROM STDIN; SELECT 1", "0A000"),
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&err), expected, "{sql}: {err}");
        usable(&client).await;
    }

    // The table is intact and the connection still copies.
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", &[b"2\tok\t2\n"])
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&client, "t").await, 2);
}

#[tokio::test]
async fn copy_inside_transaction_blocks() {
    let (_server, client) = start().await;
    client
        .batch_execute("CREATE TABLE t (a integer PRIMARY KEY, b text)")
        .await
        .unwrap();

    // Rolled back: nothing written. The block sees its own rows.
    client.batch_execute("BEGIN").await.unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (1, 'x')")
        .await
        .unwrap();
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", &[b"2\ty\n3\tz\n"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(count(&client, "t").await, 3);
    // A duplicate of a row the block inserted itself.
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&client, "t").await, 0);

    // Committed: the COPY's rows and the block's other writes together.
    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", &[b"2\ty\n3\tz\n"])
            .await
            .unwrap(),
        2
    );
    client
        .batch_execute("INSERT INTO t VALUES (1, 'x')")
        .await
        .unwrap();
    assert_eq!(
        copy_in_err(&client, "COPY t FROM STDIN", &[b"1\tdup\n"]).await,
        "23505"
    );
    // The failed COPY failed the block.
    let err = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&client, "t").await, 0);

    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", &[b"2\ty\n3\tz\n"])
            .await
            .unwrap(),
        2
    );
    client
        .batch_execute("INSERT INTO t VALUES (1, 'x')")
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        rows(&client, "SELECT a, b FROM t ORDER BY a").await,
        vec![
            row(&[Some("1"), Some("x")]),
            row(&[Some("2"), Some("y")]),
            row(&[Some("3"), Some("z")]),
        ]
    );

    // Into a table the block itself created.
    client
        .batch_execute("BEGIN; CREATE TABLE fresh (a integer PRIMARY KEY, b text DEFAULT 'd')")
        .await
        .unwrap();
    assert_eq!(
        copy_in(&client, "COPY fresh (a) FROM STDIN", &[b"1\n2\n"])
            .await
            .unwrap(),
        2
    );
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        rows(&client, "SELECT a, b FROM fresh ORDER BY a").await,
        vec![row(&[Some("1"), Some("d")]), row(&[Some("2"), Some("d")])]
    );

    // CopyFail inside a block fails the block.
    client.batch_execute("BEGIN").await.unwrap();
    {
        let sink = client
            .copy_in::<_, VecDeque<u8>>("COPY t FROM STDIN")
            .await
            .unwrap();
        futures::pin_mut!(sink);
        sink.send(VecDeque::from(b"9\tx\n".to_vec())).await.unwrap();
    }
    let err = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&client, "t").await, 3);
}

/// Loads a narrow table in one COPY and reports rows per second. The
/// number means something for a release build; `COPY_ROWS` overrides the
/// row count (200 000 in release, 30 000 in debug builds).
#[tokio::test]
async fn copy_throughput() {
    // One COPY is one Raft entry: give a slow debug build time to commit it.
    let server = TestServer::start_with_args(BIN, &["--raft-timeout-ms", "60000"])
        .await
        .expect("start prismdb");
    let client = server.connect("prism").await.expect("connect");
    client
        .batch_execute("CREATE TABLE narrow (id bigint PRIMARY KEY, name text, score integer)")
        .await
        .unwrap();
    let rows: usize = std::env::var("COPY_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            30_000
        } else {
            200_000
        });
    let mut data = Vec::with_capacity(rows * 24);
    for i in 0..rows {
        data.extend_from_slice(format!("{i}\tname-{i}\t{}\n", i % 1000).as_bytes());
    }
    let started = Instant::now();
    let sink = client
        .copy_in::<_, VecDeque<u8>>("COPY narrow FROM STDIN")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    for chunk in data.chunks(64 * 1024) {
        sink.send(VecDeque::from(chunk.to_vec())).await.unwrap();
    }
    let n = sink.finish().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(n, rows as u64);
    assert_eq!(count(&client, "narrow").await, rows as i64);
    eprintln!(
        "COPY of {rows} rows took {elapsed:?}: {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
}

const PSQL: &str = "/usr/bin/psql";

/// Runs psql against `server` with `args`, feeding `stdin`.
async fn psql(server: &TestServer, args: &[&str], stdin: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let port = server.pg_port().to_string();
    let mut child = tokio::process::Command::new(PSQL)
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "prism",
            "-d",
            "prism",
        ])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn psql");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.as_bytes()).await.unwrap();
    drop(pipe);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("psql timed out")
        .expect("psql failed to run")
}

fn describe(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn psql_copy_from_stdin() {
    if !Path::new(PSQL).exists() {
        eprintln!("skipping: {PSQL} not found");
        return;
    }
    let (server, client) = start().await;
    client
        .batch_execute("CREATE TABLE p (a integer PRIMARY KEY, b text)")
        .await
        .unwrap();
    // \copy from psql's standard input, in CSV.
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "\\copy p from pstdin with (format csv)",
        ],
        "1,one\n2,\"two, too\"\n3,\n",
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "COPY 3\n",
        "{}",
        describe(&out)
    );
    // COPY FROM STDIN inline in a script, then more statements, and an
    // error that does not stop the script.
    let out = psql(
        &server,
        &["-At", "-f", "-"],
        "COPY p FROM STDIN;\n4\tfour\n5\t\\N\n\\.\nSELECT count(*) FROM p;\n\
         COPY p FROM STDIN;\n6\tsix\nbad\trow\n\\.\nSELECT count(*) FROM p;\n",
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "COPY 2\n5\n5\n",
        "{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid input syntax"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        rows(&client, "SELECT a, b FROM p ORDER BY a").await,
        vec![
            row(&[Some("1"), Some("one")]),
            row(&[Some("2"), Some("two, too")]),
            row(&[Some("3"), None]),
            row(&[Some("4"), Some("four")]),
            row(&[Some("5"), None]),
        ]
    );
}

const PSYCOPG_SCRIPT: &str = r#"
import sys
import psycopg

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("CREATE TABLE py (id integer PRIMARY KEY, name text, score numeric(5,2))")
    with conn.cursor() as cur:
        with cur.copy("COPY py (id, name, score) FROM STDIN") as copy:
            for i in range(1, 1001):
                copy.write_row((i, None if i % 10 == 0 else f"n\t{i}", i / 4))
        assert cur.rowcount == 1000, cur.rowcount
        cur.execute("SELECT count(*), count(name), sum(score) FROM py")
        assert cur.fetchone() == (1000, 900, 125125), "copied rows"
        cur.execute("SELECT name FROM py WHERE id = 7")
        assert cur.fetchone() == ("n\t7",), "escaped tab"
        with cur.copy("COPY py FROM STDIN (FORMAT csv)") as copy:
            copy.write(b'1001,"a, b",1\n1002,,2\n')
        try:
            with cur.copy("COPY py FROM STDIN") as copy:
                copy.write(b"1\tdup\t1\n")
            raise AssertionError("expected a duplicate key")
        except psycopg.errors.UniqueViolation as e:
            assert e.sqlstate == "23505", e.sqlstate
        assert conn.execute("SELECT count(*) FROM py").fetchone() == (1002,)
    try:
        with conn.transaction():
            with conn.cursor().copy("COPY py FROM STDIN") as copy:
                copy.write_row((2000, "x", 0))
            assert conn.execute("SELECT count(*) FROM py").fetchone() == (1003,)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert conn.execute("SELECT count(*) FROM py").fetchone() == (1002,), "rolled back"
print("psycopg copy ok")
"#;

#[tokio::test]
async fn psycopg_cursor_copy() {
    let probe = std::process::Command::new("python3")
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
    let out = tokio::process::Command::new("python3")
        .args(["-c", PSYCOPG_SCRIPT, &server.conn_string("prism")])
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

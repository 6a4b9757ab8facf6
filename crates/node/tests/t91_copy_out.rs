//! `COPY ... TO STDOUT` end to end: tokio-postgres `copy_out` (extended
//! protocol) in text, CSV and binary format — NULLs, escapes, quoting,
//! headers, column lists, queries, options; errors with their SQLSTATE
//! leaving the connection usable; psql's `\copy ... to` a file and
//! psycopg's `cursor.copy()` reading text and binary rows (each skipped
//! when the client is not installed).
//!
//! The expected values were checked against PostgreSQL 15.

use futures::StreamExt;
use prismdb_testkit::{TestServer, sqlstate};
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

const SETUP: &str = "CREATE TABLE cp (id int PRIMARY KEY, t text, n numeric(6,2), d date, b bool);
INSERT INTO cp VALUES (1, 'plain', 1.5, '2024-01-02', true), (2, E'tab\\there', null, null, false), \
(3, 'a,b \"q\"', -2, '2000-02-29', null), (4, '', 0, '1999-12-31', true), \
(5, E'back\\\\slash\\nnl', 3.25, null, false)";

async fn start() -> (TestServer, Client) {
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let client = server.connect("prism").await.expect("connect");
    client.batch_execute(SETUP).await.expect("setup");
    (server, client)
}

async fn copy_out(client: &Client, sql: &str) -> Vec<u8> {
    let stream = client.copy_out(sql).await.expect(sql);
    let chunks: Vec<_> = stream.collect().await;
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(&c.expect("copy data"));
    }
    out
}

#[tokio::test]
async fn text_and_csv_formats_match_postgres() {
    let (_server, client) = start().await;
    let text = copy_out(&client, "COPY cp TO STDOUT").await;
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "1\tplain\t1.50\t2024-01-02\tt\n\
         2\ttab\\there\t\\N\t\\N\tf\n\
         3\ta,b \"q\"\t-2.00\t2000-02-29\t\\N\n\
         4\t\t0.00\t1999-12-31\tt\n\
         5\tback\\\\slash\\nnl\t3.25\t\\N\tf\n"
    );
    let csv = copy_out(
        &client,
        "COPY cp (t, id) TO STDOUT WITH (FORMAT csv, HEADER)",
    )
    .await;
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "t,id\nplain,1\ntab\there,2\n\"a,b \"\"q\"\"\",3\n\"\",4\n\"back\\slash\nnl\",5\n"
    );
    let query = copy_out(
        &client,
        "COPY (SELECT id, t FROM cp WHERE id > 2 ORDER BY id) TO STDOUT WITH CSV",
    )
    .await;
    assert_eq!(
        String::from_utf8(query).unwrap(),
        "3,\"a,b \"\"q\"\"\"\n4,\"\"\n5,\"back\\slash\nnl\"\n"
    );
    let forced = copy_out(
        &client,
        "COPY (SELECT id, t, n FROM cp WHERE id < 3 ORDER BY id) TO STDOUT \
         WITH (FORMAT csv, FORCE_QUOTE (t, n), NULL 'NULL')",
    )
    .await;
    assert_eq!(
        String::from_utf8(forced).unwrap(),
        "1,\"plain\",\"1.50\"\n2,\"tab\there\",NULL\n"
    );
    let piped = copy_out(&client, "COPY cp (id, t) TO STDOUT WITH (DELIMITER '|')").await;
    assert!(
        String::from_utf8(piped)
            .unwrap()
            .starts_with("1|plain\n2|tab\\there\n3|a,b \"q\"\n"),
    );
    let header = copy_out(
        &client,
        "COPY (SELECT 1 AS x, 'y' AS y) TO STDOUT (FORMAT text, HEADER)",
    )
    .await;
    assert_eq!(String::from_utf8(header).unwrap(), "x\ty\n1\ty\n");
}

#[tokio::test]
async fn binary_format_has_postgres_file_layout() {
    let (_server, client) = start().await;
    let data = copy_out(
        &client,
        "COPY (SELECT id, t FROM cp WHERE id <= 2 ORDER BY id) TO STDOUT (FORMAT binary)",
    )
    .await;
    let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
    expected.extend_from_slice(&0i32.to_be_bytes());
    expected.extend_from_slice(&0i32.to_be_bytes());
    for (id, t) in [(1i32, "plain"), (2, "tab\there")] {
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&4i32.to_be_bytes());
        expected.extend_from_slice(&id.to_be_bytes());
        expected.extend_from_slice(&(t.len() as i32).to_be_bytes());
        expected.extend_from_slice(t.as_bytes());
    }
    expected.extend_from_slice(&(-1i16).to_be_bytes());
    assert_eq!(data, expected);
}

#[tokio::test]
async fn errors_leave_the_connection_usable() {
    let (_server, client) = start().await;
    for (sql, code) in [
        ("COPY cp TO '/tmp/prism-copy-out'", "0A000"),
        ("COPY cp TO STDOUT (FORMAT binary, DELIMITER ',')", "42601"),
        ("COPY cp (nope) TO STDOUT", "42703"),
        ("COPY missing TO STDOUT", "42P01"),
        (
            "COPY cp TO STDOUT (FORMAT csv, FORCE_NOT_NULL (t))",
            "0A000",
        ),
        ("COPY cp TO STDOUT (FORCE_QUOTE (t))", "0A000"),
    ] {
        let err = match client.copy_out(sql).await {
            Ok(s) => s
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .find_map(|r| r.err())
                .expect(sql),
            Err(e) => e,
        };
        assert_eq!(sqlstate(&err).as_deref(), Some(code), "{sql}: {err}");
    }
    let n: i64 = client
        .query_one("SELECT count(*) FROM cp", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 5);
}

#[tokio::test]
async fn psql_copy_to_a_file() {
    if std::process::Command::new("psql")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: psql is not installed");
        return;
    }
    let (server, _client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cp.csv");
    let out = tokio::process::Command::new("psql")
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            &server.conn_string("prism"),
            "-c",
            &format!(
                "\\copy (SELECT id, t FROM cp ORDER BY id) to '{}' csv header",
                file.display()
            ),
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "COPY 5");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "id,t\n1,plain\n2,tab\there\n3,\"a,b \"\"q\"\"\"\n4,\"\"\n5,\"back\\slash\nnl\"\n"
    );
}

const PSYCOPG: &str = r#"
import sys, datetime, decimal
import psycopg

with psycopg.connect(sys.argv[1]) as conn:
    with conn.cursor() as cur:
        with cur.copy("COPY cp (id, t, n, d, b) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "numeric", "date", "bool"])
            rows = list(copy.rows())
        assert rows[0] == (1, "plain", decimal.Decimal("1.50"), datetime.date(2024, 1, 2), True), rows
        assert rows[4] == (5, "back\\slash\nnl", decimal.Decimal("3.25"), None, False), rows
        assert len(rows) == 5
        with cur.copy("COPY (SELECT id, t FROM cp ORDER BY id) TO STDOUT") as copy:
            text = list(copy.rows())
        assert text[1] == ("2", "tab\there"), text
        assert len(text) == 5
print("psycopg copy out ok")
"#;

#[tokio::test]
async fn psycopg_reads_text_and_binary_copy() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import psycopg"])
        .output();
    if !matches!(probe, Ok(ref o) if o.status.success()) {
        eprintln!("skipping: python3 with psycopg is not available");
        return;
    }
    let (server, _client) = start().await;
    let out = tokio::process::Command::new("python3")
        .args(["-c", PSYCOPG, &server.conn_string("prism")])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

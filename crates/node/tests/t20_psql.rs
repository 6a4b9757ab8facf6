//! Compatibility with the real `psql` client: DDL, DML and queries through
//! `psql -c`, exit codes and verbose SQLSTATE on errors, command tags for a
//! failed transaction block, and `\d` not taking the server down.
//!
//! Skipped (with a message) when `/usr/bin/psql` is not installed.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use prismdb_testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");
const PSQL: &str = "/usr/bin/psql";

fn have_psql() -> bool {
    if Path::new(PSQL).exists() {
        true
    } else {
        eprintln!("skipping: {PSQL} not found");
        false
    }
}

/// Runs psql against `server` with `args` after the connection options,
/// optionally feeding `stdin`.
async fn psql(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Output {
    use tokio::io::AsyncWriteExt;
    let port = server.pg_port().to_string();
    let mut cmd = tokio::process::Command::new(PSQL);
    cmd.args([
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
    .stdin(if stdin.is_some() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    })
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn psql");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("psql timed out")
        .expect("psql failed to run")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[tokio::test]
async fn psql_create_insert_select() {
    if !have_psql() {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "CREATE TABLE pt (a integer PRIMARY KEY, b text)",
            "-c",
            "INSERT INTO pt VALUES (1, 'x'), (2, 'y'), (3, NULL)",
            "-c",
            "SELECT a, b FROM pt ORDER BY a",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        "CREATE TABLE\nINSERT 0 3\n1|x\n2|y\n3|\n",
        "{}",
        describe(&out)
    );

    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "SELECT count(*), sum(a) FROM pt WHERE b IS NOT NULL",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "2|3\n", "{}", describe(&out));

    // UPDATE/DELETE tags carry the row counts.
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "UPDATE pt SET b = 'z' WHERE a >= 2",
            "-c",
            "DELETE FROM pt WHERE a = 1",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        "UPDATE 2\nDELETE 1\n",
        "{}",
        describe(&out)
    );
}

#[tokio::test]
async fn psql_error_sets_exit_code_and_shows_sqlstate() {
    if !have_psql() {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "\\set VERBOSITY verbose",
            "-c",
            "SELECT * FROM nope",
        ],
        None,
    )
    .await;
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ERROR"), "{}", describe(&out));
    assert!(stderr.contains("42P01"), "{}", describe(&out));

    // Without ON_ERROR_STOP a failed block reports ROLLBACK on COMMIT.
    let out = psql(
        &server,
        &["-At", "-f", "-"],
        Some("BEGIN;\nSELECT 1/0;\nCOMMIT;\n"),
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "BEGIN\nROLLBACK\n", "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("division by zero"),
        "{}",
        describe(&out)
    );
}

#[tokio::test]
async fn psql_describe_does_not_crash_server() {
    if !have_psql() {
        return;
    }
    let mut server = TestServer::start(BIN).await.expect("start prismdb");
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE described (a integer PRIMARY KEY, b text)",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));

    // The output of \d is not checked, only that the server survives it.
    for meta in ["\\d", "\\d described", "\\dt", "\\l"] {
        let out = psql(&server, &["-c", meta], None).await;
        eprintln!("psql -c {meta}: {}", describe(&out));
        assert!(
            server.is_running(),
            "server died after {meta}:\n{}",
            server.log_tail(8000)
        );
    }

    let out = psql(
        &server,
        &["-v", "ON_ERROR_STOP=1", "-At", "-c", "SELECT 41 + 1"],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "42\n");
    let client = server.connect("prism").await.expect("connect after \\d");
    let msgs = client
        .simple_query("SELECT 1")
        .await
        .expect("query after \\d");
    assert!(
        msgs.iter().any(
            |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("1"))
        ),
        "SELECT 1 answered after \\d"
    );
}

/// psql's listing commands answer from `pg_catalog` as on PostgreSQL
/// (unaligned, tuples only: `schema|name|type|owner` and the like).
#[tokio::test]
async fn psql_lists_tables_views_indexes_schemas_and_databases() {
    if !have_psql() {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE item (id integer PRIMARY KEY, name text)",
            "-c",
            "CREATE TABLE event (msg text)",
            "-c",
            "CREATE VIEW item_names AS SELECT name FROM item",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    let cases: [(&str, &str); 6] = [
        (
            "\\dt",
            "public|event|table|prism\npublic|item|table|prism\n",
        ),
        ("\\dv", "public|item_names|view|prism\n"),
        ("\\di", "public|item_pkey|index|prism|item\n"),
        (
            "\\d",
            "public|event|table|prism\npublic|item|table|prism\npublic|item_names|view|prism\n",
        ),
        ("\\dn", "prism_cluster|prism\npublic|prism\n"),
        ("\\l", "prism|prism|UTF8|C.UTF-8|C.UTF-8||libc|\n"),
    ];
    for (meta, want) in cases {
        let out = psql(&server, &["-v", "ON_ERROR_STOP=1", "-At", "-c", meta], None).await;
        assert!(out.status.success(), "{meta}: {}", describe(&out));
        assert_eq!(text(&out.stdout), want, "{meta}");
    }
}

/// `\d name` and `\d+ name` describe a table (types, NULLability,
/// DEFAULTs as PostgreSQL prints them, storage, indexes) and a view; `\df`
/// and `\du` answer; `\x` and `\timing` work. Expected output is
/// PostgreSQL 15's (sizes aside: PrismDB reports 0 bytes).
#[tokio::test]
async fn psql_describes_tables_views_functions_and_roles() {
    if !have_psql() {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE t (id int PRIMARY KEY, name varchar(20) NOT NULL DEFAULT 'x', \
             score numeric(5,2), n int DEFAULT -1)",
            "-c",
            "CREATE VIEW v AS SELECT id, name FROM t",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    let cases: [(&str, &str); 5] = [
        (
            "\\d t",
            "id|integer||not null|\n\
             name|character varying(20)||not null|'x'::character varying\n\
             score|numeric(5,2)|||\n\
             n|integer|||'-1'::integer\n",
        ),
        (
            "\\d+ t",
            "id|integer||not null||plain|||\n\
             name|character varying(20)||not null|'x'::character varying|extended|||\n\
             score|numeric(5,2)||||main|||\n\
             n|integer|||'-1'::integer|plain|||\n",
        ),
        ("\\d v", "id|integer|||\nname|character varying(20)|||\n"),
        ("\\df", ""),
        ("\\dt+ t", "public|t|table|prism|permanent|heap|0 bytes|\n"),
    ];
    for (meta, want) in cases {
        let out = psql(&server, &["-v", "ON_ERROR_STOP=1", "-At", "-c", meta], None).await;
        assert!(out.status.success(), "{meta}: {}", describe(&out));
        assert_eq!(text(&out.stdout), want, "{meta}");
    }
    // The footer of `\d t` lists the primary-key index.
    let out = psql(&server, &["-v", "ON_ERROR_STOP=1", "-c", "\\d t"], None).await;
    assert!(out.status.success(), "{}", describe(&out));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Indexes:\n    \"t_pkey\" PRIMARY KEY, btree (id)"),
        "{shown}"
    );
    let out = psql(
        &server,
        &["-v", "ON_ERROR_STOP=1", "-At", "-c", "\\du"],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).starts_with("prism|Superuser, Create role, Create DB"),
        "{}",
        text(&out.stdout)
    );
    // reg* casts in a result print names, as PostgreSQL's output does.
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "SELECT 23::regtype, 't'::regclass, 'pg_catalog'::regnamespace, \
             'pg_catalog.array_in'::regproc, 't'::regclass::oid > 0",
            "-c",
            "SELECT attname, atttypid::regtype FROM pg_attribute \
             WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        "integer|t|pg_catalog|array_in|t\n\
         id|integer\nname|character varying\nscore|numeric\nn|integer\n"
    );
    // Roles, their settings and table privileges as psql lists them.
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "CREATE ROLE reader LOGIN CREATEDB",
            "-c",
            "ALTER ROLE reader SET statement_timeout = '5s'",
            "-c",
            "GRANT SELECT ON t TO reader",
            "-c",
            "\\du reader",
            "-c",
            "\\drds",
            "-c",
            "\\dp t",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        "CREATE ROLE\nALTER ROLE\nGRANT\n\
         reader|Create DB|{}\n\
         reader||statement_timeout=5s\n\
         public|t|table|prism=arwdDxt/prism\nreader=r/prism||\n",
    );
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "\\x on",
            "-c",
            "SELECT 1 AS a",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).ends_with("a|1\n"),
        "{}",
        text(&out.stdout)
    );
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "\\timing on",
            "-c",
            "SELECT 2",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("Time: "),
        "{}",
        text(&out.stdout)
    );
}

/// pgbench's whole initialization: its tables, `COPY ... WITH (FREEZE on)`
/// of the generated rows, `VACUUM ANALYZE`, and `ALTER TABLE ... ADD
/// PRIMARY KEY` after the load; then a short select-only run.
#[tokio::test]
async fn pgbench_initializes_its_tables() {
    let pgbench = ["/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(pgbench) = pgbench else {
        eprintln!("skipping: pgbench not found");
        return;
    };
    if !have_psql() {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let port = server.pg_port().to_string();
    let out = tokio::process::Command::new(pgbench)
        .args([
            "-i",
            "-s",
            "1",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "prism",
            "prism",
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .expect("run pgbench");
    assert!(
        out.status.success(),
        "pgbench -i: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = psql(
        &server,
        &[
            "-At",
            "-c",
            "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers)",
        ],
        None,
    )
    .await;
    assert_eq!(text(&out.stdout), "100000|1|10\n", "{}", describe(&out));
    let out = psql(
        &server,
        &[
            "-At",
            "-c",
            "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'pgbench%' ORDER BY 1",
        ],
        None,
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        "pgbench_accounts_pkey\npgbench_branches_pkey\npgbench_tellers_pkey\n",
        "{}",
        describe(&out)
    );
    let out = tokio::process::Command::new(pgbench)
        .args([
            "-n",
            "-S",
            "-t",
            "50",
            "-c",
            "2",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "prism",
            "prism",
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .expect("run pgbench");
    assert!(
        out.status.success()
            && text(&out.stdout).contains("number of transactions actually processed: 100/100"),
        "pgbench -S: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // VACUUM in its forms; COPY's boolean options spelled on/off.
    let out = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            "VACUUM",
            "-c",
            "VACUUM (VERBOSE, ANALYZE) pgbench_branches",
            "-c",
            "VACUUM FULL FREEZE pgbench_tellers, pgbench_history",
            "-c",
            "COPY pgbench_branches TO STDOUT WITH (FORMAT csv, HEADER on)",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).ends_with("bid,bbalance,filler\n1,0,\n"),
        "{}",
        describe(&out)
    );
}

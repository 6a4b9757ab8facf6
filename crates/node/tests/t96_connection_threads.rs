//! Connection threads end to end: a node started with `--sql-threads 3`
//! runs three threads named `prism-sql-<i>`, spreads connections over them,
//! and every connection works the same wherever it landed: commits on one
//! are seen by the others, prepared statements, transaction blocks,
//! `statement_timeout` and errors behave, and connections opened after
//! others closed still work. `--sql-threads 0` serves connections on the
//! main runtime as before.

use prismdb_testkit::{TestServer, sqlstate};
use std::time::Duration;
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// Names of the threads of process `pid` that start with `prefix`.
#[cfg(target_os = "linux")]
fn threads_named(pid: u32, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .filter(|c| c.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// A node with `--sql-threads n`.
async fn start(n: &str) -> TestServer {
    TestServer::start_with_args(BIN, &["--fsync", "false", "--sql-threads", n])
        .await
        .expect("start prismdb")
}

async fn one_i64(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_spread_over_sql_threads_and_behave_alike() {
    let server = start("3").await;
    #[cfg(target_os = "linux")]
    assert_eq!(
        threads_named(server.pid().unwrap(), "prism-sql-"),
        ["prism-sql-0", "prism-sql-1", "prism-sql-2"]
    );

    let setup = server.connect("prism").await.expect("connect");
    setup
        .batch_execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
        .await
        .unwrap();

    // Seven connections: at least two on every thread.
    let mut clients = Vec::new();
    for _ in 0..7 {
        clients.push(server.connect("prism").await.expect("connect"));
    }
    // Each writes its own rows, concurrently.
    let writes = clients.iter().enumerate().map(|(i, c)| async move {
        let insert = c
            .prepare("INSERT INTO kv (id, v) VALUES ($1, $2)")
            .await
            .unwrap();
        for j in 0..50i64 {
            let id = i as i64 * 1000 + j;
            c.execute(&insert, &[&id, &(id * 2)]).await.unwrap();
        }
    });
    futures::future::join_all(writes).await;
    // Every connection sees every other's commits, by point lookup and by scan.
    for (i, c) in clients.iter().enumerate() {
        let other = ((i + 1) % clients.len()) as i64 * 1000 + 49;
        let row = c
            .query_one("SELECT v FROM kv WHERE id = $1", &[&other])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), other * 2);
        assert_eq!(one_i64(c, "SELECT count(*) FROM kv").await, 350);
    }

    // A transaction block on one thread, watched from the others.
    let (a, b) = (&clients[0], &clients[1]);
    a.batch_execute("BEGIN; UPDATE kv SET v = -1 WHERE id = 0")
        .await
        .unwrap();
    assert_eq!(one_i64(b, "SELECT v FROM kv WHERE id = 0").await, 0);
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(one_i64(b, "SELECT v FROM kv WHERE id = 0").await, -1);

    // Errors and timeouts leave each connection usable.
    let c = &clients[2];
    let e = c
        .batch_execute("INSERT INTO kv (id, v) VALUES (0, 1)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("23505"), "{e:?}");
    c.batch_execute("SET statement_timeout = '50ms'")
        .await
        .unwrap();
    let e = c
        .batch_execute("SELECT count(*) FROM generate_series(1, 100000000)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("57014"), "{e:?}");
    c.batch_execute("RESET statement_timeout").await.unwrap();
    assert_eq!(one_i64(c, "SELECT count(*) FROM kv").await, 350);

    // Connections come and go; new ones land on the threads again.
    drop(clients);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..4 {
        let c = server.connect("prism").await.expect("connect");
        assert_eq!(one_i64(&c, "SELECT count(*) FROM kv").await, 350);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_sql_threads_serve_connections_on_the_main_runtime() {
    let server = start("0").await;
    #[cfg(target_os = "linux")]
    assert!(threads_named(server.pid().unwrap(), "prism-sql-").is_empty());
    let c = server.connect("prism").await.expect("connect");
    c.batch_execute("CREATE TABLE t (id BIGINT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    assert_eq!(one_i64(&c, "SELECT count(*) FROM t").await, 2);
}

//! Engine-level tests: statements run through `Session` on a real RocksDB
//! and a real one-member Raft log, without the wire protocol. What they
//! prove is named in each test.

use datafusion::arrow::util::display::array_value_to_string;
use prismdb_common::Error;
use prismdb_exec::{Engine, Output, Session};
use prismdb_node::{Node, StartOptions};
use std::path::Path;
use std::sync::Arc;

/// A one-member cluster on `dir` (its peer address is never dialled).
async fn start(dir: &Path) -> Node {
    start_with(dir, StartOptions::default()).await
}

async fn start_with(dir: &Path, options: StartOptions) -> Node {
    let config = StartOptions {
        data_dir: Some(dir.to_path_buf()),
        peer_listen: Some("127.0.0.1:0".parse().unwrap()),
        fsync: Some(false),
        ..options
    }
    .resolve()
    .unwrap();
    Node::start(&config).await.unwrap()
}

/// The node is leaked: it runs until the test process ends.
async fn engine() -> (tempfile::TempDir, Arc<Engine>) {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path()).await;
    let e = node.engine.clone();
    std::mem::forget(node);
    (dir, e)
}

fn session(e: &Arc<Engine>) -> Session {
    e.session("prism", "prism", &[]).unwrap()
}

/// Runs a prepared statement and reads all of its rows.
async fn execute(
    s: &mut Session,
    p: &prismdb_exec::Prepared,
    params: &[prismdb_common::Value],
) -> Result<Output, Error> {
    let out = Box::pin(s.execute(p, params)).await?;
    prismdb_exec::collect_output(out).await
}

async fn exec(s: &mut Session, sql: &str) -> Result<Output, Error> {
    // Boxed: a long test awaits this many times, and in debug builds each
    // await keeps its own copy of the future in the test's stack frame.
    let mut out = Box::pin(s.simple_query(sql)).await;
    assert_eq!(out.len(), 1, "{sql}");
    out.pop().unwrap()
}

async fn rows(s: &mut Session, sql: &str) -> Vec<Vec<String>> {
    let out = exec(s, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let r = out.rows.expect("rows");
    let mut v = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            v.push(
                b.columns()
                    .iter()
                    .map(|c| array_value_to_string(c, i).unwrap())
                    .collect(),
            );
        }
    }
    v
}

#[tokio::test]
async fn t10_insert_update_select_round_trip() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC(12,2) DEFAULT 0, opened DATE)").await.unwrap();
    let o = exec(
        &mut s,
        "INSERT INTO accounts VALUES (1,'ann',10.50,'2024-01-02'), (2,'bob',NULL,'2024-02-03')",
    )
    .await
    .unwrap();
    assert_eq!(o.tag, "INSERT 0 2");
    let o = exec(
        &mut s,
        "UPDATE accounts SET balance = balance + 1 WHERE id = 1",
    )
    .await
    .unwrap();
    assert_eq!(o.tag, "UPDATE 1");
    assert_eq!(
        rows(
            &mut s,
            "SELECT owner, sum(balance) FROM accounts GROUP BY owner ORDER BY 1"
        )
        .await,
        vec![
            vec!["ann".to_string(), "11.50".to_string()],
            vec!["bob".to_string(), "".to_string()],
        ]
    );
    exec(&mut s, "INSERT INTO accounts (id, owner) VALUES (3, 'cy')")
        .await
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT balance FROM accounts WHERE id = 3").await,
        vec![vec!["0.00".to_string()]]
    );
    assert!(matches!(
        exec(&mut s, "INSERT INTO accounts VALUES (1,'dup',0,NULL)").await,
        Err(Error::UniqueViolation(_))
    ));
    assert!(matches!(
        exec(&mut s, "INSERT INTO accounts (id) VALUES (9)").await,
        Err(Error::NotNullViolation(_))
    ));
    let o = exec(&mut s, "DELETE FROM accounts WHERE id >= 2")
        .await
        .unwrap();
    assert_eq!(o.tag, "DELETE 2");
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM accounts").await,
        vec![vec!["1".to_string()]]
    );
}

#[tokio::test]
async fn t20_transactions_read_own_writes_and_rollback() {
    let (_d, e) = engine().await;
    let mut a = session(&e);
    let mut b = session(&e);
    exec(&mut a, "CREATE TABLE t (k INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    exec(&mut a, "INSERT INTO t VALUES (1, 10)").await.unwrap();
    exec(&mut a, "BEGIN").await.unwrap();
    exec(&mut a, "UPDATE t SET v = 11 WHERE k = 1")
        .await
        .unwrap();
    exec(&mut a, "INSERT INTO t VALUES (2, 20)").await.unwrap();
    assert_eq!(
        rows(&mut a, "SELECT v FROM t ORDER BY k").await,
        vec![vec!["11".to_string()], vec!["20".to_string()]]
    );
    // No dirty read.
    assert_eq!(
        rows(&mut b, "SELECT v FROM t ORDER BY k").await,
        vec![vec!["10".to_string()]]
    );
    exec(&mut a, "ROLLBACK").await.unwrap();
    assert_eq!(
        rows(&mut a, "SELECT v FROM t ORDER BY k").await,
        vec![vec!["10".to_string()]]
    );
}

#[tokio::test]
async fn t30_error_in_block_fails_until_rollback() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "BEGIN").await.unwrap();
    assert!(matches!(
        exec(&mut s, "SELECT * FROM missing").await,
        Err(Error::UndefinedTable(_))
    ));
    assert!(matches!(
        exec(&mut s, "SELECT 1").await,
        Err(Error::InFailedTransaction)
    ));
    assert_eq!(exec(&mut s, "COMMIT").await.unwrap().tag, "ROLLBACK");
    assert_eq!(rows(&mut s, "SELECT 1").await, vec![vec!["1".to_string()]]);
}

#[tokio::test]
async fn t40_first_committer_wins_in_blocks() {
    let (_d, e) = engine().await;
    let mut a = session(&e);
    let mut b = session(&e);
    exec(&mut a, "CREATE TABLE t (k INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    exec(&mut a, "INSERT INTO t VALUES (1, 0)").await.unwrap();
    exec(&mut a, "BEGIN").await.unwrap();
    exec(&mut b, "BEGIN").await.unwrap();
    exec(&mut a, "UPDATE t SET v = v + 1 WHERE k = 1")
        .await
        .unwrap();
    exec(&mut b, "UPDATE t SET v = v + 1 WHERE k = 1")
        .await
        .unwrap();
    exec(&mut a, "COMMIT").await.unwrap();
    assert!(matches!(
        exec(&mut b, "COMMIT").await,
        Err(Error::SerializationFailure(_))
    ));
    assert_eq!(
        rows(&mut a, "SELECT v FROM t").await,
        vec![vec!["1".to_string()]]
    );
}

#[tokio::test]
async fn t50_concurrent_autocommit_increments_are_not_lost() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "CREATE TABLE c (k INT PRIMARY KEY, n BIGINT)")
        .await
        .unwrap();
    exec(&mut s, "INSERT INTO c VALUES (1, 0)").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = session(&e);
            for _ in 0..25 {
                exec(&mut s, "UPDATE c SET n = n + 1 WHERE k = 1")
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        rows(&mut s, "SELECT n FROM c").await,
        vec![vec!["100".to_string()]]
    );
}

#[tokio::test]
async fn t60_tables_without_key_views_and_databases() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "CREATE TABLE t (v1 INT, v2 INT)")
        .await
        .unwrap();
    exec(&mut s, "INSERT INTO t VALUES (1, 1), (1, 1), (2, 2)")
        .await
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM t").await,
        vec![vec!["3".to_string()]]
    );
    assert_eq!(
        exec(&mut s, "UPDATE t SET v2 = 5 WHERE v1 = 1")
            .await
            .unwrap()
            .tag,
        "UPDATE 2"
    );
    exec(
        &mut s,
        "CREATE VIEW fives(a) AS SELECT v1 FROM t WHERE v2 = 5",
    )
    .await
    .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(a) FROM fives").await,
        vec![vec!["2".to_string()]]
    );
    assert_eq!(
        exec(&mut s, "DELETE FROM t WHERE v1 = 1")
            .await
            .unwrap()
            .tag,
        "DELETE 2"
    );
    exec(&mut s, "DROP VIEW fives").await.unwrap();
    exec(&mut s, "CREATE DATABASE other").await.unwrap();
    assert!(matches!(
        exec(&mut s, "CREATE DATABASE other").await,
        Err(Error::DuplicateDatabase(_))
    ));
    let mut o = e.session("prism", "other", &[]).unwrap();
    assert!(matches!(
        exec(&mut o, "SELECT * FROM t").await,
        Err(Error::UndefinedTable(_))
    ));
    exec(&mut s, "DROP DATABASE other").await.unwrap();
    assert!(matches!(
        e.session("prism", "other", &[]),
        Err(Error::UndefinedDatabase(_))
    ));
}

#[tokio::test]
async fn t70_restart_keeps_catalog_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let node = start(dir.path()).await;
        let mut s = session(&node.engine);
        exec(&mut s, "CREATE TABLE t (k TEXT PRIMARY KEY, v TIMESTAMP)")
            .await
            .unwrap();
        exec(&mut s, "INSERT INTO t VALUES ('a', '2024-01-02 03:04:05')")
            .await
            .unwrap();
        drop(s);
        node.shutdown().await;
    }
    let node = start(dir.path()).await;
    let mut s = session(&node.engine);
    assert_eq!(
        rows(&mut s, "SELECT k, v FROM t").await,
        vec![vec!["a".to_string(), "2024-01-02T03:04:05".to_string()]]
    );
}

#[tokio::test]
async fn t80_prepared_statements_infer_parameter_types() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(
        &mut s,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(5))",
    )
    .await
    .unwrap();
    let ins = s
        .prepare("INSERT INTO t VALUES ($1, $2)", &[])
        .await
        .unwrap();
    assert_eq!(ins.param_types.len(), 2);
    execute(
        &mut s,
        &ins,
        &[
            prismdb_common::Value::Int64(1),
            prismdb_common::Value::Text("ann".into()),
        ],
    )
    .await
    .unwrap();
    let too_long = execute(
        &mut s,
        &ins,
        &[
            prismdb_common::Value::Int64(2),
            prismdb_common::Value::Text("toolong".into()),
        ],
    )
    .await;
    assert!(matches!(too_long, Err(Error::StringTooLong(_))));
    let sel = s
        .prepare("SELECT name FROM t WHERE id = $1", &[])
        .await
        .unwrap();
    assert_eq!(
        sel.param_types,
        vec![datafusion::arrow::datatypes::DataType::Int64]
    );
    let out = execute(&mut s, &sel, &[prismdb_common::Value::Int64(1)])
        .await
        .unwrap();
    assert_eq!(out.rows.unwrap().batches[0].num_rows(), 1);
    let upd = s
        .prepare("UPDATE t SET name = $1 WHERE id = $2", &[])
        .await
        .unwrap();
    assert_eq!(upd.param_types.len(), 2);
}

#[tokio::test]
async fn t90_casts_to_integers_round_like_postgres() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    assert_eq!(
        rows(
            &mut s,
            "SELECT 2.5::integer, (-2.5)::integer, 2.4::integer, 2.7::real::integer"
        )
        .await,
        vec![vec![
            "3".to_string(),
            "-3".to_string(),
            "2".to_string(),
            "3".to_string()
        ]]
    );
    exec(&mut s, "CREATE TABLE r (a INT)").await.unwrap();
    exec(&mut s, "INSERT INTO r VALUES (2.6), (-1.5)")
        .await
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT a FROM r ORDER BY a").await,
        vec![vec!["-2".to_string()], vec!["3".to_string()]]
    );
}

#[tokio::test]
async fn t95_point_lookups_see_snapshot_and_own_writes() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "CREATE TABLE p (id BIGINT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    exec(&mut s, "INSERT INTO p VALUES (1, 'a'), (2, 'b')")
        .await
        .unwrap();
    let sel = s
        .prepare("SELECT v FROM p WHERE id = $1", &[])
        .await
        .unwrap();
    let get = |out: Output| -> Vec<String> {
        let r = out.rows.unwrap();
        r.batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows())
                    .map(|i| array_value_to_string(b.column(0), i).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Int64(1)])
            .await
            .unwrap()),
        vec!["a"]
    );
    assert!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Int64(9)])
            .await
            .unwrap())
        .is_empty()
    );
    assert!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Null])
            .await
            .unwrap())
        .is_empty()
    );
    // A key of another type still finds the row (through the planned path if need be).
    assert_eq!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Int32(2)])
            .await
            .unwrap()),
        vec!["b"]
    );
    exec(&mut s, "BEGIN").await.unwrap();
    exec(&mut s, "UPDATE p SET v = 'a2' WHERE id = 1")
        .await
        .unwrap();
    exec(&mut s, "DELETE FROM p WHERE id = 2").await.unwrap();
    assert_eq!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Int64(1)])
            .await
            .unwrap()),
        vec!["a2"]
    );
    assert!(
        get(execute(&mut s, &sel, &[prismdb_common::Value::Int64(2)])
            .await
            .unwrap())
        .is_empty()
    );
    // Another session still reads the committed snapshot.
    let mut other = session(&e);
    assert_eq!(
        rows(&mut other, "SELECT v FROM p WHERE id = 1").await,
        vec![vec!["a".to_string()]]
    );
    exec(&mut s, "COMMIT").await.unwrap();
    assert_eq!(
        rows(&mut other, "SELECT v FROM p WHERE id = 1").await,
        vec![vec!["a2".to_string()]]
    );
    assert_eq!(
        rows(&mut other, "SELECT p.v AS w, id FROM p WHERE p.id = 1").await,
        vec![vec!["a2".to_string(), "1".to_string()]]
    );
}

#[tokio::test]
async fn t96_statement_timeout_cancels_with_57014_and_session_goes_on() {
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "SET statement_timeout = 50").await.unwrap();
    let slow = exec(
        &mut s,
        "SELECT count(*) FROM generate_series(1, 2000000000)",
    )
    .await;
    assert!(
        matches!(slow, Err(Error::QueryCanceled(_))),
        "{:?}",
        slow.err()
    );
    exec(&mut s, "SET statement_timeout = 0").await.unwrap();
    assert_eq!(rows(&mut s, "SELECT 1").await, vec![vec!["1".to_string()]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t97_garbage_collection_keeps_what_running_transactions_read() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_with(
        dir.path(),
        StartOptions {
            gc_interval_ms: Some(30),
            ..Default::default()
        },
    )
    .await;
    let mut a = session(&node.engine);
    let mut b = session(&node.engine);
    exec(&mut b, "CREATE TABLE g (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    exec(&mut b, "INSERT INTO g VALUES (1, 0)").await.unwrap();
    let table = node.engine.catalog().database("prism").unwrap().tables["g"].id;

    exec(&mut a, "BEGIN").await.unwrap();
    assert_eq!(
        rows(&mut a, "SELECT v FROM g").await,
        vec![vec!["0".to_string()]]
    );
    for _ in 0..20 {
        exec(&mut b, "UPDATE g SET v = v + 1").await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // The open block's snapshot is pinned: its version survives collection.
    assert_eq!(
        rows(&mut a, "SELECT v FROM g").await,
        vec![vec!["0".to_string()]]
    );
    assert!(node.store.version_count(table).unwrap() > 1);
    exec(&mut a, "COMMIT").await.unwrap();

    // With nothing pinned, the horizon moves past every update and only the
    // newest version remains.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while node.store.version_count(table).unwrap() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "old versions were not collected (horizon {})",
            node.store.horizon()
        );
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert_eq!(
        rows(&mut b, "SELECT v FROM g").await,
        vec![vec!["20".to_string()]]
    );
    exec(&mut b, "UPDATE g SET v = v + 1").await.unwrap();
    assert_eq!(
        rows(&mut b, "SELECT v FROM g").await,
        vec![vec!["21".to_string()]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t98_concurrent_commits_share_log_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_with(
        dir.path(),
        StartOptions {
            fsync: Some(true),
            ..Default::default()
        },
    )
    .await;
    let mut s = session(&node.engine);
    exec(&mut s, "CREATE TABLE gc (c INT, i INT, PRIMARY KEY (c, i))")
        .await
        .unwrap();
    let before = (
        node.log_stats
            .syncs
            .load(std::sync::atomic::Ordering::Relaxed),
        node.log_stats
            .entries
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    let mut tasks = Vec::new();
    for c in 0..8 {
        let e = node.engine.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = session(&e);
            for i in 0..40 {
                exec(&mut s, &format!("INSERT INTO gc VALUES ({c}, {i})"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM gc").await,
        vec![vec!["320".to_string()]]
    );
    let syncs = node
        .log_stats
        .syncs
        .load(std::sync::atomic::Ordering::Relaxed)
        - before.0;
    let entries = node
        .log_stats
        .entries
        .load(std::sync::atomic::Ordering::Relaxed)
        - before.1;
    // Commits that wait together go into one entry, and appends that wait
    // together into one sync.
    assert!(entries <= 320, "{entries} entries for 320 commits");
    assert!(syncs <= entries, "{syncs} syncs for {entries} entries");
    assert!(
        syncs < 320,
        "every commit had its own fsync: {syncs} syncs for 320 commits"
    );
}

/// The rows of an output as text, NULL as "NULL".
fn text_rows(out: Output) -> Vec<Vec<String>> {
    let r = out.rows.expect("rows");
    let mut v = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            v.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            "NULL".to_string()
                        } else {
                            array_value_to_string(c, i).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    v
}

/// Runs `SELECT <cols> FROM <table> WHERE <predicate> <tail>` as the key
/// fast path takes it and with a redundant `AND 1 = 1` that sends it to the
/// planner, with the same parameters, and asserts both give the same rows
/// (in the same order when the query orders them). Returns the rows.
async fn same_as_planned(
    s: &mut Session,
    select: &str,
    predicate: &str,
    tail: &str,
    params: &[prismdb_common::Value],
) -> Vec<Vec<String>> {
    let fast_sql = format!("{select} WHERE {predicate} {tail}");
    let planned_sql = format!("{select} WHERE ({predicate}) AND 1 = 1 {tail}");
    let fast = s.prepare(&fast_sql, &[]).await.unwrap();
    let planned = s.prepare(&planned_sql, &[]).await.unwrap();
    let mut a = text_rows(
        execute(s, &fast, params)
            .await
            .unwrap_or_else(|e| panic!("{fast_sql}: {e}")),
    );
    let mut b = text_rows(
        execute(s, &planned, params)
            .await
            .unwrap_or_else(|e| panic!("{planned_sql}: {e}")),
    );
    if !tail.contains("ORDER BY") {
        a.sort();
        b.sort();
    }
    assert_eq!(a, b, "{fast_sql} {params:?}");
    a
}

#[tokio::test]
async fn t99_key_reads_match_the_planner() {
    use prismdb_common::Value::{Int32, Int64, Null, Text};
    let (_d, e) = engine().await;
    let mut s = session(&e);
    exec(&mut s, "CREATE TABLE kq (id BIGINT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    exec(
        &mut s,
        "CREATE TABLE kc (a INT, b TEXT, v TEXT, PRIMARY KEY (a, b))",
    )
    .await
    .unwrap();
    exec(&mut s, "CREATE TABLE ks (k TEXT PRIMARY KEY, n INT)")
        .await
        .unwrap();
    let values: Vec<String> = (-5..=1500)
        .filter(|i| i % 7 != 3)
        .map(|i| {
            let v = if i % 5 == 0 {
                "NULL".to_string()
            } else {
                format!("'v{i}'")
            };
            format!("({i}, {v})")
        })
        .collect();
    exec(
        &mut s,
        &format!("INSERT INTO kq VALUES {}", values.join(", ")),
    )
    .await
    .unwrap();
    exec(
        &mut s,
        "INSERT INTO kc VALUES (1, 'a', 'x'), (1, 'b', 'y'), (2, 'a', NULL), (3, 'c', 'z'), (5, 'a', 'w')",
    )
    .await
    .unwrap();
    exec(
        &mut s,
        "INSERT INTO ks VALUES ('a', 1), ('ab', 2), ('b', 3), ('ba', 4), ('c', 5)",
    )
    .await
    .unwrap();

    let sel = "SELECT id, v FROM kq";
    // IN lists: duplicates, NULLs, missing keys, parameters mixed with
    // literals, parameters of another integer type, text for an integer.
    let r = same_as_planned(&mut s, sel, "id IN (1, 2, 2, NULL, 3, 99999)", "", &[]).await;
    assert_eq!(r.len(), 2, "{r:?}"); // 3 is missing (3 % 7 == 3)
    same_as_planned(&mut s, sel, "id IN (2, 1, -4)", "ORDER BY id", &[]).await;
    same_as_planned(&mut s, sel, "id IN (5, 1, 4)", "ORDER BY id LIMIT 2", &[]).await;
    same_as_planned(&mut s, sel, "id IN (5, 1, 4)", "LIMIT 0", &[]).await;
    for params in [
        vec![Int64(4), Int64(8)],
        vec![Int64(4), Null],
        vec![Null, Null],
        vec![Int32(8), Int64(4)],
        vec![Int64(1 << 40), Int64(8)],
    ] {
        same_as_planned(&mut s, sel, "id IN ($1, $2, 9, 9)", "", &params).await;
    }
    let r = same_as_planned(&mut s, sel, "id IN ('6', '7')", "", &[]).await;
    assert_eq!(r.len(), 2);

    // Ranges: each kind of bound, both orders of operands, empty and
    // reversed ranges, NULL bounds, LIMIT.
    for (predicate, tail) in [
        ("id BETWEEN 1 AND 12", ""),
        ("id BETWEEN 1 AND 12", "ORDER BY id"),
        ("id >= 1 AND id < 12", "ORDER BY id ASC"),
        ("id > 1 AND id <= 12", ""),
        ("id > -3 AND id < 3", "ORDER BY id"),
        ("12 > id AND 1 <= id", "ORDER BY id LIMIT 3"),
        ("id BETWEEN 12 AND 1", ""),
        ("id > 5 AND id < 5", ""),
        ("id >= 5 AND id <= 5", ""),
        ("id > 4 AND id < 6", ""),
        ("id BETWEEN 100 AND 1400", "ORDER BY id LIMIT 10"),
        ("id BETWEEN NULL AND 5", ""),
    ] {
        same_as_planned(&mut s, sel, predicate, tail, &[]).await;
    }
    for params in [
        vec![Int64(10), Int64(20)],
        vec![Int64(20), Int64(10)],
        vec![Null, Int64(20)],
        vec![Int32(-5), Int32(5)],
    ] {
        same_as_planned(&mut s, sel, "id BETWEEN $1 AND $2", "ORDER BY id", &params).await;
        same_as_planned(&mut s, sel, "id > $1 AND id < $2", "", &params).await;
    }
    // Longer than the fast path reads: the planner answers, in full.
    let r = same_as_planned(&mut s, sel, "id BETWEEN -10 AND 2000", "ORDER BY id", &[]).await;
    assert_eq!(r.len(), values.len());
    let r = same_as_planned(&mut s, sel, "id BETWEEN 0 AND 1500", "LIMIT 1200", &[]).await;
    assert_eq!(r.len(), 1200);

    // Text keys and composite keys.
    same_as_planned(
        &mut s,
        "SELECT * FROM ks",
        "k >= 'a' AND k < 'b'",
        "ORDER BY k",
        &[],
    )
    .await;
    same_as_planned(
        &mut s,
        "SELECT * FROM ks",
        "k BETWEEN 'ab' AND 'ba'",
        "",
        &[],
    )
    .await;
    same_as_planned(&mut s, "SELECT * FROM ks", "k IN ('b', 'zz', 'a')", "", &[]).await;
    let sel_c = "SELECT a, b, v FROM kc";
    let r = same_as_planned(&mut s, sel_c, "a BETWEEN 1 AND 3", "ORDER BY a, b", &[]).await;
    assert_eq!(r.len(), 4);
    same_as_planned(&mut s, sel_c, "a > 1 AND a <= 5", "ORDER BY a", &[]).await;
    // Shapes the fast path leaves to the planner still answer.
    same_as_planned(&mut s, sel_c, "a IN (1, 5)", "ORDER BY a, b", &[]).await;
    same_as_planned(&mut s, sel_c, "a = 1", "ORDER BY b", &[]).await;
    same_as_planned(&mut s, sel_c, "a = 1 AND b = $1", "", &[Text("b".into())]).await;

    // Inside a block, both paths see the block's own writes: new keys,
    // updated and deleted rows, inside and at the edges of the range.
    exec(&mut s, "BEGIN").await.unwrap();
    exec(&mut s, "INSERT INTO kq VALUES (3, 'new3'), (10, 'new10')")
        .await
        .unwrap();
    exec(&mut s, "UPDATE kq SET v = 'upd' WHERE id IN (1, 4, 12)")
        .await
        .unwrap();
    exec(&mut s, "DELETE FROM kq WHERE id IN (2, 11)")
        .await
        .unwrap();
    let r = same_as_planned(&mut s, sel, "id BETWEEN 1 AND 12", "ORDER BY id", &[]).await;
    assert_eq!(r[0], vec!["1".to_string(), "upd".to_string()]);
    assert!(r.iter().any(|row| row[0] == "3"));
    assert!(!r.iter().any(|row| row[0] == "2" || row[0] == "11"));
    same_as_planned(
        &mut s,
        sel,
        "id > 2 AND id < 11",
        "ORDER BY id LIMIT 4",
        &[],
    )
    .await;
    same_as_planned(&mut s, sel, "id IN (1, 2, 3, 10, 11)", "ORDER BY id", &[]).await;
    same_as_planned(&mut s, sel, "id = 3", "", &[]).await;
    same_as_planned(&mut s, sel, "id BETWEEN 12 AND 1", "", &[]).await;
    same_as_planned(&mut s, sel, "id > 5 AND id < 5", "", &[]).await;
    // Another session does not see them.
    let mut other = session(&e);
    let r = same_as_planned(&mut other, sel, "id IN (2, 3)", "", &[]).await;
    assert_eq!(r, vec![vec!["2".to_string(), "v2".to_string()]]);
    exec(&mut s, "COMMIT").await.unwrap();
    let r = same_as_planned(&mut other, sel, "id IN (2, 3)", "", &[]).await;
    assert_eq!(r, vec![vec!["3".to_string(), "new3".to_string()]]);
}

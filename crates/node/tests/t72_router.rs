//! The cost-based router on one real node: auto routing returns exactly
//! what the row store returns, and overrides reach every protocol.
//!
//! - t10: a seeded workload over three tables with replicas; after each of
//!   several rounds of random writes, random key lookups, IN lists, key
//!   ranges of every width, prefixes of a composite key, joins and
//!   aggregates run under `auto` and under forced `row` and must agree, and
//!   `auto` must have sent scans to both engines.
//! - t20: hints and settings through the extended protocol (prepared
//!   statements), `prism.max_replica_lag` validation, statistics kept
//!   current as writes apply, ANALYZE, statistics kept across a kill -9.
//! - t30: a replica left behind by a paused apply thread: past
//!   `prism.max_replica_lag` scans read the row store at once and EXPLAIN
//!   says why; within it they wait `prism.columnar_max_wait`, then read the
//!   row store; resumed, the replica catches up and serves again; an apply
//!   queue that overflows while paused rebuilds the table, losing nothing.
//!
//! The randomized test prints its seed; `PRISM_TEST_SEED=<n>` replays one.

use prismdb_testkit::columnar::{
    Workload, auto_matches_row, explain, one_row, replica_rows, test_seed, wait_replicas_available,
};
use prismdb_testkit::{TestServer, sqlstate};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

async fn start() -> (TestServer, Client) {
    start_with(&[]).await
}

async fn start_with(args: &[&str]) -> (TestServer, Client) {
    let server = TestServer::start_with_args(BIN, args)
        .await
        .expect("start prismdb");
    let client = server.connect("prism").await.expect("connect");
    (server, client)
}

/// `t (id bigint PRIMARY KEY, g int, v text)` with ids 1..=4000, `g = id %
/// 7`, and an available columnar replica.
async fn table_t_with_replica(server: &TestServer, c: &Client) {
    c.batch_execute(
        "CREATE TABLE t (id bigint PRIMARY KEY, g int, v text);
         INSERT INTO t SELECT i, i % 7, 'v' || i FROM generate_series(1, 4000) AS s(i);
         ALTER TABLE t SET COLUMNAR REPLICA 1;",
    )
    .await
    .unwrap();
    if let Err(e) = wait_replicas_available(c, Duration::from_secs(120)).await {
        panic!("{e:?}\n{}", server.log_tail(4000));
    }
}

#[tokio::test]
async fn t10_auto_routing_matches_the_row_store() {
    let seed = test_seed(72);
    println!("seed {seed} (replay with PRISM_TEST_SEED={seed})");
    let (server, c) = start().await;
    let mut w = Workload::new("r_", seed);
    w.create(&c).await.unwrap();
    w.load_items_generated(&c, 3000).await.unwrap();
    w.load(&c, 0, 1500, 1500).await.unwrap();
    w.set_replicas(&c, 1).await.unwrap();
    if let Err(e) = wait_replicas_available(&c, Duration::from_secs(120)).await {
        panic!("{e:?}\n{}", server.log_tail(4000));
    }
    c.batch_execute("ANALYZE").await.unwrap();
    let mut total = (0, 0);
    for round in 0..6 {
        let mut queries = w.queries();
        queries.extend(w.key_queries(40));
        let counts = auto_matches_row(&c, &queries).await;
        total.0 += counts.row;
        total.1 += counts.columnar;
        w.round(&c, 60)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        if round == 3 {
            c.batch_execute("ANALYZE").await.unwrap();
        }
    }
    println!(
        "auto sent {} scans to the row store, {} to replicas",
        total.0, total.1
    );
    assert!(
        total.0 > 50 && total.1 > 50,
        "auto routing should use both engines: {total:?}"
    );
}

#[tokio::test]
async fn t20_overrides_statistics_and_settings() {
    let (mut server, c) = start().await;
    table_t_with_replica(&server, &c).await;

    // The exact row count follows writes without ANALYZE.
    let live = "SELECT live_rows FROM prism_cluster.table_statistics WHERE column_name = 'id'";
    assert_eq!(one_row(&c, live).await, [Some("4000".into())]);
    c.batch_execute("DELETE FROM t WHERE id > 3000; INSERT INTO t VALUES (5000, 1, 'x')")
        .await
        .unwrap();
    assert_eq!(one_row(&c, live).await, [Some("3001".into())]);
    c.batch_execute("ANALYZE t").await.unwrap();
    assert_eq!(
        one_row(
            &c,
            "SELECT analyzed_rows, n_distinct, min_value, max_value \
             FROM prism_cluster.table_statistics WHERE column_name = 'g'"
        )
        .await,
        [
            Some("3001".into()),
            Some("7".into()),
            Some("0".into()),
            Some("6".into())
        ]
    );

    // Hints work through prepared statements (the extended protocol).
    let agg = "SELECT count(*), sum(g) FROM t";
    for (hint, engine) in [("row", "engine=row"), ("columnar", "engine=columnar")] {
        let sql = format!("EXPLAIN SELECT /*+ READ_FROM({hint}, t) */ count(*), sum(g) FROM t");
        let stmt = c.prepare(&sql).await.unwrap();
        let plan: Vec<String> = c
            .query(&stmt, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains(engine) && plan.contains(&format!("hint READ_FROM({hint}, t)")),
            "{plan}"
        );
        let hinted = format!("SELECT /*+ READ_FROM({hint}, t) */ count(*), sum(g) FROM t");
        let rows = c.query(hinted.as_str(), &[]).await.unwrap();
        assert_eq!(rows[0].get::<_, i64>(0), 3001);
    }
    // A hinted point lookup reads the replica and still answers rightly,
    // prepared and with a parameter.
    let stmt = c
        .prepare("SELECT /*+ READ_FROM(columnar, t) */ v FROM t WHERE id = $1")
        .await
        .unwrap();
    for (id, want) in [(5i64, Some("v5")), (3500, None), (5000, Some("x"))] {
        let rows = c.query(&stmt, &[&id]).await.unwrap();
        assert_eq!(
            rows.first().map(|r| r.get::<_, String>(0)).as_deref(),
            want,
            "id {id}"
        );
    }
    // Without the hint, auto sends the point lookup to the row store.
    let plan = explain(&c, "SELECT v FROM t WHERE id = 5").await.unwrap();
    assert!(plan.contains("engine=row, access=key lookup"), "{plan}");
    let plan = explain(&c, agg).await.unwrap();
    assert!(plan.contains("engine=columnar"), "{plan}");

    // prism.max_replica_lag: validated; a caught-up replica has no lag.
    let err = c
        .batch_execute("SET prism.max_replica_lag = 'soon'")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("22023"));
    c.batch_execute("SET prism.max_replica_lag = '0'")
        .await
        .unwrap();
    let plan = explain(&c, agg).await.unwrap();
    assert!(plan.contains("engine=columnar"), "{plan}");
    assert_eq!(
        one_row(&c, "SHOW prism.max_replica_lag").await,
        [Some("0".into())]
    );

    // Statistics outlive a crash: after kill -9 the analyzed figures are
    // back without ANALYZE.
    let analyzed = "SELECT analyzed_rows, analyzed_index, n_distinct, min_value, max_value \
                    FROM prism_cluster.table_statistics WHERE column_name = 'g'";
    let before = one_row(&c, analyzed).await;
    assert_eq!(before[0].as_deref(), Some("3001"));
    server.restart().await.expect("restart");
    let c = server.connect("prism").await.expect("connect");
    assert_eq!(one_row(&c, analyzed).await, before);
}

#[tokio::test]
async fn t30_lagging_replica_is_not_used() {
    let (server, c) = start_with(&["--columnar-queue-changes", "500"]).await;
    table_t_with_replica(&server, &c).await;
    let agg = "SELECT count(*), sum(g) FROM t";
    let plan = explain(&c, agg).await.unwrap();
    assert!(plan.contains("engine=columnar"), "{plan}");

    // Paused, the replica stops at the last entry it applied.
    let yes = [Some("t".to_string())];
    let no = [Some("f".to_string())];
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_paused()").await,
        no
    );
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_pause()").await,
        yes
    );
    assert_eq!(one_row(&c, "SELECT prism_columnar_apply_pause()").await, no);
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_paused()").await,
        yes
    );
    c.batch_execute("INSERT INTO t VALUES (4001, 3, 'late')")
        .await
        .unwrap();
    let want = [Some("4001".to_string()), Some("12000".to_string())];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = replica_rows(&c).await.unwrap();
    assert!(
        status[0].available
            && status[0].lag_entries.unwrap_or(0) >= 1
            && status[0].lag_ms.unwrap_or(0) >= 300,
        "{status:#?}"
    );

    // Past the lag bound: the row store, at once, with the reason.
    c.batch_execute("SET prism.max_replica_lag = '100ms'; SET prism.columnar_max_wait = '30s'")
        .await
        .unwrap();
    let started = Instant::now();
    let plan = explain(&c, agg).await.unwrap();
    assert!(
        plan.contains("engine=row")
            && plan.contains("rejected columnar: replica lag ")
            && plan.contains("> prism.max_replica_lag (100 ms)"),
        "{plan}"
    );
    assert_eq!(one_row(&c, agg).await, want);
    // A hint asking for the replica is held to the bound too.
    let hinted = "SELECT /*+ READ_FROM(columnar, t) */ count(*), sum(g) FROM t";
    assert!(explain(&c, hinted).await.unwrap().contains("engine=row"));
    assert_eq!(one_row(&c, hinted).await, want);
    // None of it waited for the replica (30 s would have).
    assert!(started.elapsed() < Duration::from_secs(20));

    // Within the bound the router picks the replica, which does not reach
    // the read index in time: the scan reads the row store and says so.
    c.batch_execute("SET prism.max_replica_lag = '1h'; SET prism.columnar_max_wait = '200ms'")
        .await
        .unwrap();
    let plan = explain(&c, agg).await.unwrap();
    assert!(
        plan.contains("engine=row") && plan.contains("is behind the read index"),
        "{plan}"
    );
    assert_eq!(one_row(&c, agg).await, want);

    // Resumed, the replica catches up and serves the new row.
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_resume()").await,
        yes
    );
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_resume()").await,
        no
    );
    c.batch_execute("RESET prism.max_replica_lag; RESET prism.columnar_max_wait")
        .await
        .unwrap();
    let plan = explain(&c, agg).await.unwrap();
    assert!(plan.contains("engine=columnar"), "{plan}");
    assert_eq!(one_row(&c, hinted).await, want);
    let status = replica_rows(&c).await.unwrap();
    assert_eq!(status[0].lag_entries, Some(0), "{status:#?}");

    // More changes than the queue holds pile up while paused: they are
    // dropped and the table is rebuilt from the row store on resume.
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_pause()").await,
        yes
    );
    for k in 0..3 {
        c.batch_execute(&format!(
            "INSERT INTO t SELECT i, i % 5, 'o' || i FROM generate_series({}, {}) AS s(i)",
            5000 + k * 300,
            5000 + k * 300 + 299
        ))
        .await
        .unwrap();
    }
    c.batch_execute("UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id = 20")
        .await
        .unwrap();
    assert_eq!(
        one_row(&c, "SELECT prism_columnar_apply_resume()").await,
        yes
    );
    if let Err(e) = wait_replicas_available(&c, Duration::from_secs(120)).await {
        panic!("{e:?}\n{}", server.log_tail(4000));
    }
    assert!(
        server
            .log_tail(20_000)
            .contains("columnar apply queue is full"),
        "{}",
        server.log_tail(4000)
    );
    let check = "SELECT count(*), sum(g), sum(length(v)), min(v), max(id) FROM t";
    let by_row = one_row(
        &c,
        &check.replace("SELECT", "SELECT /*+ READ_FROM(row, t) */"),
    )
    .await;
    let by_columnar = one_row(
        &c,
        &check.replace("SELECT", "SELECT /*+ READ_FROM(columnar, t) */"),
    )
    .await;
    assert_eq!(by_row, by_columnar);
    assert_eq!(by_row[0].as_deref(), Some("4900"));
    let plan = explain(
        &c,
        &check.replace("SELECT", "SELECT /*+ READ_FROM(columnar, t) */"),
    )
    .await
    .unwrap();
    assert!(plan.contains("engine=columnar"), "{plan}");
}

//! Secondary indexes under load, as clients meet them:
//!
//! - A seeded differential test: writers insert, update (indexed columns
//!   included, NULLs too) and delete concurrently while a reader, inside one
//!   transaction (one snapshot), asks the same questions through indexes
//!   and through expressions no index serves, and gets the same rows every
//!   time. One index is created while the writers run (an online build).
//! - Unique keys between concurrent transactions: first committer wins,
//!   the other gets 23505 naming the index; many autocommit inserts of one
//!   key leave exactly one row.
//! - Indexes survive a restart and keep serving reads, and their build
//!   state is visible in `prism_cluster.indexes`.
//! - A unique index whose build fails after its statement ended (a
//!   duplicate committed between `CREATE` in a block and `COMMIT`) is
//!   reported as failed, then dropped by the leader: nothing stays
//!   half-built.

use prismdb_testkit::{TestServer, sqlstate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn seed() -> u64 {
    std::env::var("PRISM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1dc5)
}

async fn ids(client: &Client, sql: &str) -> Vec<i32> {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<_, i32>(0))
        .collect()
}

async fn explain(client: &Client, sql: &str) -> String {
    client
        .query(&format!("EXPLAIN {sql}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One writer: random inserts, updates of indexed columns and deletes.
async fn write(client: Client, mut rng: Rng, stop: Arc<AtomicBool>) -> usize {
    let mut done = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = rng.below(400);
        let c = rng.below(20);
        let d = if rng.below(5) == 0 {
            "NULL".to_string()
        } else {
            rng.below(1000).to_string()
        };
        let u = if rng.below(4) == 0 {
            "NULL".to_string()
        } else {
            format!("'u{}'", rng.below(2000))
        };
        let sql = match rng.below(10) {
            0..=3 => format!("INSERT INTO dt VALUES ({id}, {c}, {d}, {u}, 'p{id}')"),
            4..=6 => format!("UPDATE dt SET c = {c}, d = {d} WHERE id = {id}"),
            7 => format!("UPDATE dt SET u = {u} WHERE id = {id}"),
            8 => format!("UPDATE dt SET id = id + 400 WHERE id = {id}"),
            _ => format!("DELETE FROM dt WHERE id = {id} OR id = {}", id + 400),
        };
        // Duplicate keys and lost races are expected outcomes.
        match client.batch_execute(&sql).await {
            Ok(()) => done += 1,
            Err(e) => {
                let code = sqlstate(&e).unwrap_or_default();
                assert!(matches!(code.as_str(), "23505" | "40001"), "{sql}: {e}");
            }
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn index_reads_match_scans_under_concurrent_writers() {
    let server = TestServer::start(BIN).await.unwrap();
    let admin = server.connect("prism").await.unwrap();
    admin
        .batch_execute(
            "CREATE TABLE dt (id int PRIMARY KEY, c int, d int, u text, p text);
             CREATE INDEX dt_c ON dt (c);
             CREATE UNIQUE INDEX dt_u ON dt (u);",
        )
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut rng = Rng(seed());
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let client = server.connect("prism").await.unwrap();
        let rng = Rng(rng.next() ^ (w + 1));
        writers.push(tokio::spawn(write(client, rng, stop.clone())));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Built online while the writers run.
    admin
        .batch_execute("CREATE INDEX dt_c_d ON dt (c, d DESC) INCLUDE (p)")
        .await
        .unwrap();
    let reader = server.connect("prism").await.unwrap();
    assert!(
        explain(&reader, "SELECT id FROM dt WHERE c = 3")
            .await
            .contains("access=index"),
        "{}",
        explain(&reader, "SELECT id FROM dt WHERE c = 3").await
    );
    let mut compared = 0;
    for round in 0..15 {
        reader.batch_execute("BEGIN").await.unwrap();
        for _ in 0..4 {
            let c = rng.below(20);
            let lo = rng.below(1000);
            let hi = lo + rng.below(400);
            let u = rng.below(2000);
            let pairs = [
                (
                    format!("SELECT id FROM dt WHERE c = {c} ORDER BY id"),
                    format!("SELECT id FROM dt WHERE c + 0 = {c} ORDER BY id"),
                ),
                (
                    format!("SELECT id FROM dt WHERE c IN ({c}, {}) ORDER BY id", c + 1),
                    format!(
                        "SELECT id FROM dt WHERE c + 0 IN ({c}, {}) ORDER BY id",
                        c + 1
                    ),
                ),
                (
                    format!(
                        "SELECT id FROM dt WHERE c = {c} AND d BETWEEN {lo} AND {hi} ORDER BY id"
                    ),
                    format!(
                        "SELECT id FROM dt WHERE c + 0 = {c} AND d + 0 BETWEEN {lo} AND {hi} ORDER BY id"
                    ),
                ),
                (
                    format!("SELECT id FROM dt WHERE c = {c} ORDER BY d DESC, id LIMIT 7"),
                    format!("SELECT id FROM dt WHERE c + 0 = {c} ORDER BY d DESC, id LIMIT 7"),
                ),
                (
                    format!("SELECT id FROM dt WHERE c = {c} AND d < {hi} ORDER BY d, id LIMIT 5"),
                    format!(
                        "SELECT id FROM dt WHERE c + 0 = {c} AND d + 0 < {hi} ORDER BY d, id LIMIT 5"
                    ),
                ),
                (
                    format!("SELECT id FROM dt WHERE u = 'u{u}'"),
                    format!("SELECT id FROM dt WHERE u || '' = 'u{u}'"),
                ),
                (
                    "SELECT id FROM dt WHERE u IS NULL ORDER BY id".to_string(),
                    "SELECT id FROM dt WHERE (u || '') IS NULL ORDER BY id".to_string(),
                ),
            ];
            for (indexed, scanned) in &pairs {
                let a = ids(&reader, indexed).await;
                let b = ids(&reader, scanned).await;
                assert_eq!(a, b, "round {round}: {indexed} vs {scanned}");
                compared += 1;
            }
        }
        // The transaction's own writes are read through the indexes too.
        if round % 5 == 0 {
            let id = 10_000 + round;
            reader
                .batch_execute(&format!(
                    "INSERT INTO dt VALUES ({id}, 3, 5, 'own{id}', 'x'); UPDATE dt SET c = 3 WHERE id = (SELECT min(id) FROM dt WHERE c = 4)"
                ))
                .await
                .unwrap();
            let a = ids(&reader, "SELECT id FROM dt WHERE c = 3 ORDER BY id").await;
            let b = ids(&reader, "SELECT id FROM dt WHERE c + 0 = 3 ORDER BY id").await;
            assert_eq!(a, b, "own writes in round {round}");
            assert!(a.contains(&id));
            reader.batch_execute("ROLLBACK").await.unwrap();
        } else {
            reader.batch_execute("COMMIT").await.unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut writes = 0;
    for w in writers {
        writes += w.await.unwrap();
    }
    assert!(writes > 100, "writers made only {writes} writes");
    assert!(compared >= 15 * 4 * 7);
    let states = admin
        .query(
            "SELECT index_name, state FROM prism_cluster.indexes ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let states: Vec<(String, String)> = states.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        states,
        vec![
            ("dt_c".to_string(), "ready".to_string()),
            ("dt_c_d".to_string(), "ready".to_string()),
            ("dt_u".to_string(), "ready".to_string()),
        ]
    );
    // No two live rows share a unique key.
    let dup = admin
        .query(
            "SELECT u FROM dt WHERE u IS NOT NULL GROUP BY u HAVING count(*) > 1",
            &[],
        )
        .await
        .unwrap();
    assert!(dup.is_empty(), "duplicate unique keys: {}", dup.len());
    // Those reads went through the row cache, and it says so.
    let metrics = server.http_get("/metrics").await.unwrap();
    let hits: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prismdb_row_cache_hits_total "))
        .unwrap_or_else(|| panic!("no row cache hits in {metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(hits > 0, "{metrics}");
    // The reads by one value of an index's leading column (`c = 3`) were
    // answered from the index-group cache too, and matched the scans.
    let group_hits: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prismdb_index_group_cache_hits_total "))
        .unwrap_or_else(|| panic!("no index group cache hits in {metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(group_hits > 0, "{metrics}");
    // The tree's level-0 file count, which every range read pays for, is
    // reported too.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("prismdb_rowstore_level0_files ")),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_claims_of_a_unique_key() {
    let server = TestServer::start(BIN).await.unwrap();
    let a = server.connect("prism").await.unwrap();
    let b = server.connect("prism").await.unwrap();
    a.batch_execute(
        "CREATE TABLE users (id int PRIMARY KEY, email text);
         CREATE UNIQUE INDEX users_email ON users (email);",
    )
    .await
    .unwrap();
    a.batch_execute("BEGIN; INSERT INTO users VALUES (1, 'x@y')")
        .await
        .unwrap();
    b.batch_execute("BEGIN; INSERT INTO users VALUES (2, 'x@y')")
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let e = b.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("23505"), "{e}");
    assert!(
        e.to_string().contains("users_email") || format!("{e:?}").contains("users_email"),
        "{e:?}"
    );

    // Many autocommit claims of one key: exactly one row.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = server.connect("prism").await.unwrap();
        tasks.push(tokio::spawn(async move {
            client
                .batch_execute(&format!("INSERT INTO users VALUES ({}, 'race@y')", 100 + i))
                .await
                .map_err(|e| sqlstate(&e).unwrap_or_default())
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(code) => assert_eq!(code, "23505"),
        }
    }
    assert_eq!(ok, 1);
    let n: i64 = a
        .query_one("SELECT count(*) FROM users WHERE email = 'race@y'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_failed_build_nobody_waits_for_is_dropped() {
    let server = TestServer::start(BIN).await.unwrap();
    let a = server.connect("prism").await.unwrap();
    let b = server.connect("prism").await.unwrap();
    a.batch_execute(
        "CREATE TABLE acct (id int PRIMARY KEY, email text);
         INSERT INTO acct VALUES (1, 'a@x'), (2, 'b@x');",
    )
    .await
    .unwrap();
    // The block sees no duplicate; one is committed before its COMMIT,
    // so the build that starts at COMMIT fails with no statement waiting.
    a.batch_execute("BEGIN; CREATE UNIQUE INDEX acct_email ON acct (email)")
        .await
        .unwrap();
    b.batch_execute("INSERT INTO acct VALUES (3, 'a@x')")
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let mut seen_failed = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows = a
            .query(
                "SELECT state, error FROM prism_cluster.indexes WHERE index_name = 'acct_email'",
                &[],
            )
            .await
            .unwrap();
        match rows.first() {
            Some(r) => {
                let state: String = r.get(0);
                if state == "failed" {
                    let error: Option<String> = r.get(1);
                    let error = error.unwrap_or_default();
                    assert!(error.contains("(email)=(a@x) is duplicated"), "{error}");
                    seen_failed = true;
                }
            }
            None => break,
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the failed index was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen_failed, "the build was never reported as failed");
    // Gone from the catalogs, and the name is free again.
    let n: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'acct_email'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    b.batch_execute(
        "DELETE FROM acct WHERE id = 3; CREATE UNIQUE INDEX acct_email ON acct (email)",
    )
    .await
    .unwrap();
    let e = b
        .batch_execute("INSERT INTO acct VALUES (4, 'b@x')")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("23505"), "{e}");
}

#[tokio::test]
async fn indexes_survive_a_restart() {
    let mut server = TestServer::start(BIN).await.unwrap();
    {
        let c = server.connect("prism").await.unwrap();
        c.batch_execute(
            "CREATE TABLE r (id int PRIMARY KEY, k int, email text);
             INSERT INTO r SELECT g, g % 100, 'e' || g FROM generate_series(1, 5000) g;
             CREATE INDEX r_k ON r (k);
             CREATE UNIQUE INDEX r_email ON r (email);
             INSERT INTO r VALUES (6000, 7, 'late');",
        )
        .await
        .unwrap();
    }
    server.restart().await.unwrap();
    let c = server.connect("prism").await.unwrap();
    let mut state = String::new();
    for _ in 0..200 {
        state = c
            .query_one(
                "SELECT string_agg(state, ',' ORDER BY index_name) FROM prism_cluster.indexes",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if state == "ready,ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, "ready,ready");
    let plan = explain(&c, "SELECT id FROM r WHERE k = 7").await;
    assert!(plan.contains("access=index"), "{plan}");
    let n: i64 = c
        .query_one("SELECT count(*) FROM r WHERE k = 7", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 51);
    let e = c
        .batch_execute("INSERT INTO r VALUES (7000, 1, 'late')")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("23505"));
}

/// A sort the planner would run goes away when an index (or the primary
/// key) reads the rows in that order, under a filter the index does not
/// answer, and its LIMIT stops the read; an order no path gives keeps its
/// sort.
#[tokio::test]
async fn planner_reads_in_index_order() {
    let server = TestServer::start(BIN).await.unwrap();
    let c = server.connect("prism").await.unwrap();
    c.batch_execute(
        "CREATE TABLE o (id int PRIMARY KEY, customer int NOT NULL, at int, note text);
         INSERT INTO o SELECT g, g % 50, g * 7 % 1000, 'n' || g FROM generate_series(1, 20000) g;
         CREATE INDEX o_customer_at ON o (customer, at);",
    )
    .await
    .unwrap();
    let newest = "SELECT id, at FROM o WHERE customer = 7 AND note LIKE 'n%' \
                  ORDER BY at DESC, id DESC LIMIT 3";
    let plan = explain(&c, newest).await;
    assert!(!plan.contains("SortExec"), "{plan}");
    assert!(
        plan.contains("access=index prefix (o_customer_at), in reverse index order"),
        "{plan}"
    );
    let plan = explain(&c, &format!("ANALYZE {newest}")).await;
    // The scan stops after its first chunk (128 rows) instead of reading
    // the customer's 400.
    assert!(plan.contains("output_rows=128"), "{plan}");
    let by_key = "SELECT id FROM o WHERE note LIKE 'n1%' ORDER BY id LIMIT 2";
    let plan = explain(&c, by_key).await;
    assert!(!plan.contains("SortExec"), "{plan}");
    assert!(plan.contains("in key order"), "{plan}");
    assert_eq!(ids(&c, by_key).await, vec![1, 10]);
    let plan = explain(
        &c,
        "SELECT id FROM o WHERE customer = 7 ORDER BY note LIMIT 2",
    )
    .await;
    assert!(plan.contains("SortExec"), "{plan}");
}

/// A partial index is read exactly when the scan's conditions imply its
/// predicate.
#[tokio::test]
async fn partial_index_read_when_implied() {
    let server = TestServer::start(BIN).await.unwrap();
    let c = server.connect("prism").await.unwrap();
    c.batch_execute(
        "CREATE TABLE tk (id int PRIMARY KEY, owner int NOT NULL, done boolean NOT NULL, deleted_at int);
         INSERT INTO tk SELECT g, g % 200, g % 3 = 0, CASE WHEN g % 7 = 0 THEN g END
           FROM generate_series(1, 20000) g;
         CREATE INDEX tk_open ON tk (owner) WHERE deleted_at IS NULL;
         CREATE INDEX tk_todo ON tk (owner) WHERE NOT done;",
    )
    .await
    .unwrap();
    let plan = explain(
        &c,
        "SELECT id FROM tk WHERE owner = 3 AND deleted_at IS NULL",
    )
    .await;
    assert!(plan.contains("(tk_open)"), "{plan}");
    let plan = explain(&c, "SELECT id FROM tk WHERE owner = 3 AND done = false").await;
    assert!(plan.contains("(tk_todo)"), "{plan}");
    let plan = explain(&c, "SELECT id FROM tk WHERE owner = 3").await;
    assert!(
        !plan.contains("tk_open") && !plan.contains("tk_todo"),
        "{plan}"
    );
    let all = ids(&c, "SELECT id FROM tk WHERE owner = 3 ORDER BY id").await;
    let open = ids(
        &c,
        "SELECT id FROM tk WHERE owner = 3 AND deleted_at IS NULL ORDER BY id",
    )
    .await;
    assert_eq!(
        open,
        all.iter()
            .copied()
            .filter(|id| id % 7 != 0)
            .collect::<Vec<_>>()
    );
}

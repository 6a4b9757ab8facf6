//! Columnar replicas on a cluster: three voters and one member started with
//! `--role columnar`, all real processes on loopback.
//!
//! - The columnar member joins as a learner (it never votes) and, being the
//!   cluster's only columnar member, hosts every replica: the voters do not.
//!   One replica is the most the cluster can place (22023 beyond).
//! - `information_schema.columnar_replicas` on any member lists the replica
//!   on the columnar member, with its progress and lag.
//! - Under seeded random writes through every voter, queries forced onto
//!   the replica on the columnar member return exactly what the row store
//!   returns, and EXPLAIN shows the columnar scan.
//! - A commit acknowledged by any voter is visible to the very next
//!   analytical query on the columnar member; a voter without a replica
//!   answers the same query from its row store and says why.

use prismdb_testkit::columnar::SplitMix64;
use prismdb_testkit::{TestCluster, members, sqlstate};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// Rows of a query as sorted text.
async fn rows(client: &Client, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

async fn explain(client: &Client, sql: &str) -> String {
    rows(client, &format!("EXPLAIN {sql}")).await.join("\n")
}

/// Waits until the view lists every replica as available.
async fn wait_available(client: &Client, tables: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = rows(
            client,
            "SELECT table_name, host, available FROM information_schema.columnar_replicas",
        )
        .await;
        if r.len() == tables && r.iter().all(|l| l.ends_with("|t")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: replicas not available: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const QUERIES: &[&str] = &[
    "SELECT count(*), sum(qty), min(price), max(price) FROM sales",
    "SELECT region, count(*), sum(qty), avg(price) FROM sales GROUP BY region",
    "SELECT id, qty FROM sales WHERE qty > 40 AND region = 'r3'",
    "SELECT count(*) FROM sales WHERE note IS NULL",
    "SELECT s.region, c.name, sum(s.qty) FROM sales s JOIN customers c ON s.cust = c.id GROUP BY s.region, c.name",
    "SELECT id FROM sales WHERE id BETWEEN 100 AND 400",
    "SELECT DISTINCT region FROM sales",
];

/// Compares every query forced on the row store and on the replica.
async fn same_results(client: &Client, round: usize) {
    for q in QUERIES {
        client
            .batch_execute("SET prism.read_engines = 'row'")
            .await
            .unwrap();
        let row = rows(client, q).await;
        client
            .batch_execute("SET prism.read_engines = 'columnar'")
            .await
            .unwrap();
        let col = rows(client, q).await;
        assert_eq!(row, col, "round {round}: engines differ on {q}");
        let plan = explain(client, q).await;
        assert!(
            plan.contains("ColumnarScan") && !plan.contains("engine=row"),
            "round {round}: {q} did not read the replica:\n{plan}"
        );
    }
}

#[tokio::test]
async fn t10_columnar_learner_serves_consistent_fresh_reads() {
    let cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    let seed: u64 = std::env::var("PRISM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(80);
    eprintln!("seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let c1 = cluster
        .join(BIN, dir.path(), "c1", &["--role", "columnar"])
        .await
        .expect("start c1");

    let voters: Vec<Client> = {
        let mut v = Vec::new();
        for n in &cluster.nodes {
            v.push(n.connect("prism").await.unwrap());
        }
        v
    };
    // c1 is listed as a learner: it receives the log but does not vote.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = members(&voters[0]).await.unwrap();
        if let Some(c) = m.iter().find(|m| m.name == "c1")
            && c.role == "learner"
        {
            assert!(!c.voter);
            assert_eq!(m.iter().filter(|m| m.voter).count(), 3);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "c1 did not join as a learner: {m:?}\n{}",
            c1.log_tail(4000)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    voters[1]
        .batch_execute(
            "CREATE TABLE customers (id int PRIMARY KEY, name text);
             CREATE TABLE sales (id int PRIMARY KEY, cust int, region text, qty int, price numeric(10,2), note text);
             INSERT INTO customers SELECT i, 'c' || (i % 17) FROM generate_series(1, 50) g(i);
             INSERT INTO sales SELECT i, i % 50 + 1, 'r' || (i % 5), i % 60, (i % 97) * 1.25,
                 CASE WHEN i % 9 = 0 THEN NULL ELSE 'n' || i END
             FROM generate_series(1, 3000) g(i);",
        )
        .await
        .unwrap();
    // Only the columnar member hosts replicas: one is the most there can be.
    let err = voters[0]
        .batch_execute("ALTER TABLE sales SET COLUMNAR REPLICA 2")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("22023"), "{err}");
    voters[0]
        .batch_execute(
            "ALTER TABLE sales SET COLUMNAR REPLICA 1; ALTER TABLE customers SET COLUMNAR REPLICA 1",
        )
        .await
        .unwrap();
    let learner = c1.connect("prism").await.unwrap();
    wait_available(&voters[2], 2, "seen from n3").await;
    let hosts = rows(
        &voters[2],
        "SELECT DISTINCT host FROM information_schema.columnar_replicas",
    )
    .await;
    assert_eq!(hosts, vec!["c1".to_string()]);
    same_results(&learner, 0).await;

    // Seeded random writes through the voters, compared on the learner.
    let mut rng = SplitMix64::new(seed);
    let mut next_id = 3001;
    for round in 1..=10 {
        for _ in 0..30 {
            let c = &voters[rng.below(3) as usize];
            let sql = match rng.below(4) {
                0 | 1 => {
                    next_id += 1;
                    format!(
                        "INSERT INTO sales VALUES ({next_id}, {}, 'r{}', {}, {}.50, {})",
                        rng.below(50) + 1,
                        rng.below(6),
                        rng.below(80),
                        rng.below(200),
                        if rng.below(5) == 0 {
                            "NULL".to_string()
                        } else {
                            format!("'x{}'", rng.below(9))
                        }
                    )
                }
                2 => format!(
                    "UPDATE sales SET qty = qty + 1, region = 'r{}' WHERE id % 37 = {}",
                    rng.below(6),
                    rng.below(37)
                ),
                _ => format!("DELETE FROM sales WHERE id % 101 = {}", rng.below(101)),
            };
            c.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        same_results(&learner, round).await;
    }

    // Freshness: the very next analytical query on the learner sees a
    // commit acknowledged by any voter.
    learner
        .batch_execute("SET prism.read_engines = 'columnar'")
        .await
        .unwrap();
    voters[0]
        .batch_execute(
            "CREATE TABLE fresh (id int PRIMARY KEY); ALTER TABLE fresh SET COLUMNAR REPLICA 1",
        )
        .await
        .unwrap();
    wait_available(&voters[0], 3, "fresh").await;
    for i in 1..=60i64 {
        voters[(i % 3) as usize]
            .execute("INSERT INTO fresh VALUES ($1)", &[&(i as i32)])
            .await
            .unwrap();
        let r = rows(&learner, "SELECT count(*), max(id) FROM fresh").await;
        assert_eq!(r, vec![format!("{i}|{i}")], "insert {i} not visible");
    }
    assert!(
        explain(&learner, "SELECT count(*) FROM fresh")
            .await
            .contains("ColumnarScan")
    );

    // A voter has no replica: forced onto columnar it reads its row store,
    // with the same answer, and says why.
    voters[1]
        .batch_execute("SET prism.read_engines = 'columnar'")
        .await
        .unwrap();
    assert_eq!(
        rows(&voters[1], "SELECT count(*), max(id) FROM fresh").await,
        vec!["60|60".to_string()]
    );
    let plan = explain(&voters[1], "SELECT count(*) FROM fresh").await;
    assert!(
        plan.contains("engine=row") && plan.contains("no columnar replica on this node"),
        "{plan}"
    );
}

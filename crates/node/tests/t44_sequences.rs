//! Sequences as applications meet them:
//!
//! - Many sessions calling `nextval` at once, and inserting into a SERIAL
//!   table with `RETURNING id`, never get the same value twice.
//! - After a `kill -9` and a restart, no value handed out before is handed
//!   out again (values a node reserved but had not handed out are skipped).
//! - On a three-member cluster, sessions on every member draw from one
//!   sequence without ever meeting the same value, and a `setval` on one
//!   member is what the next `nextval` on another starts from.

use prismdb_testkit::{TestCluster, TestServer};
use std::collections::HashSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

async fn draw(client: &tokio_postgres::Client, n: usize) -> Vec<i64> {
    let stmt = client.prepare("SELECT nextval('s')").await.unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(client.query_one(&stmt, &[]).await.unwrap().get(0));
    }
    out
}

#[tokio::test]
async fn concurrent_values_are_unique_and_survive_kill9() {
    let mut server = TestServer::start(BIN).await.unwrap();
    let admin = server.connect("prism").await.unwrap();
    admin
        .batch_execute(
            "CREATE SEQUENCE s;
             CREATE TABLE items (id serial PRIMARY KEY, worker int NOT NULL)",
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let client = server.connect("prism").await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut values = draw(&client, 300).await;
            for _ in 0..50 {
                let row = client
                    .query_one(
                        "INSERT INTO items (worker) VALUES ($1) RETURNING id",
                        &[&worker],
                    )
                    .await
                    .unwrap();
                let id: i32 = row.get(0);
                values.push(-i64::from(id));
            }
            values
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for v in t.await.unwrap() {
            assert!(seen.insert(v), "value {v} handed out twice");
        }
    }
    assert_eq!(seen.len(), 8 * 350);
    let rows: i64 = admin
        .query_one("SELECT count(DISTINCT id) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 8 * 50);
    let before = *seen.iter().max().unwrap();

    server.kill9();
    server.restart().await.expect("restart after kill -9");
    let client = server.connect("prism").await.unwrap();
    let after = draw(&client, 5).await;
    assert!(after[0] > before, "{after:?} after {before}");
    assert!(after.windows(2).all(|w| w[1] > w[0]), "{after:?}");
    let id: i32 = client
        .query_one("INSERT INTO items (worker) VALUES (9) RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!seen.contains(&-i64::from(id)), "id {id} handed out again");
}

#[tokio::test]
async fn members_of_a_cluster_share_one_sequence() {
    let cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    cluster.leader(Duration::from_secs(10)).await.unwrap();
    let mut clients = Vec::new();
    for node in &cluster.nodes {
        clients.push(node.connect("prism").await.unwrap());
    }
    clients[0].batch_execute("CREATE SEQUENCE s").await.unwrap();
    // Every member sees the sequence once the DDL is applied there.
    for c in &clients {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while c.query("SELECT nextval('s')", &[]).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "sequence not seen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut tasks = Vec::new();
    for c in clients.drain(..) {
        tasks.push(tokio::spawn(async move {
            let values = draw(&c, 200).await;
            (c, values)
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        let (c, values) = t.await.unwrap();
        for v in values {
            assert!(seen.insert(v), "value {v} handed out twice");
        }
        clients.push(c);
    }
    // setval on one member: the next nextval anywhere follows it.
    clients[1]
        .query_one("SELECT setval('s', 100000)", &[])
        .await
        .unwrap();
    let next: i64 = clients[2]
        .query_one("SELECT nextval('s')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(next, 100001);
}

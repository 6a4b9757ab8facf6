//! A three-member cluster of real `prismdb` processes on loopback.
//!
//! - Statements on any member (DDL on a follower, DML anywhere) are replicated
//!   to every member; `prism_cluster.members` shows three voters and one
//!   leader; a commit acknowledged by one member is visible to the very next
//!   query on every other member (linearizable reads).
//! - `kill -9` of the leader under a continuous insert load: a new leader is
//!   elected within seconds, writes go on, every acknowledged row is on every
//!   surviving member exactly once (none lost, none applied twice), and the
//!   killed member catches up after a restart.

use prismdb_testkit::{MemberRow, TestCluster, members, sqlstate};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// Cluster tests start three processes each; under `cargo test` (one process,
/// many test threads) they run one at a time so elections are not starved
/// of CPU.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

async fn connect(config: &Config) -> anyhow::Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn t10_three_nodes_replicate() {
    let _serial = serial();
    let cluster = TestCluster::start(BIN, 3, &[]).await.expect("start cluster");
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    let (f1, f2) = ((leader + 1) % 3, (leader + 2) % 3);
    let mut clients = Vec::new();
    for node in &cluster.nodes {
        clients.push(node.connect("prism").await.unwrap());
    }

    // DDL on a follower, DML on the other follower and on the leader.
    clients[f1]
        .batch_execute("CREATE TABLE items (id integer PRIMARY KEY, origin text NOT NULL)")
        .await
        .unwrap();
    for id in 0..10 {
        clients[f2]
            .execute("INSERT INTO items VALUES ($1, 'follower')", &[&id])
            .await
            .unwrap();
    }
    clients[leader]
        .execute(
            "INSERT INTO items SELECT id + 100, 'leader' FROM items WHERE id < 5",
            &[],
        )
        .await
        .unwrap();
    for (i, c) in clients.iter().enumerate() {
        let rows = c
            .query("SELECT id, origin FROM items ORDER BY id", &[])
            .await
            .unwrap_or_else(|e| panic!("read on n{}: {e}\n{}", i + 1, cluster.logs()));
        let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let mut want: Vec<(i32, String)> = (0..10).map(|i| (i, "follower".into())).collect();
        want.extend((100..105).map(|i| (i, "leader".into())));
        assert_eq!(got, want, "rows on n{}", i + 1);
    }

    // The members view agrees on every node.
    let leader_name = format!("n{}", leader + 1);
    for (i, c) in clients.iter().enumerate() {
        let ms: Vec<MemberRow> = members(c).await.unwrap();
        let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["n1", "n2", "n3"], "members on n{}", i + 1);
        assert!(ms.iter().all(|m| m.voter), "all voters: {ms:#?}");
        let leaders: Vec<&MemberRow> = ms.iter().filter(|m| m.is_leader).collect();
        assert_eq!(leaders.len(), 1, "exactly one leader: {ms:#?}");
        assert_eq!(leaders[0].name, leader_name, "{ms:#?}");
        assert_eq!(leaders[0].role, "leader");
        for m in &ms {
            assert!(m.applied_index.is_some(), "applied_index of {}: {ms:#?}", m.name);
            assert_eq!(m.leader.as_deref(), Some(leader_name.as_str()), "{ms:#?}");
            if !m.is_leader {
                assert_eq!(m.role, "follower", "{ms:#?}");
            }
            assert_eq!(m.this_node, m.name == format!("n{}", i + 1), "{ms:#?}");
            assert_eq!(
                m.sql_addr,
                format!("127.0.0.1:{}", cluster.nodes[TestCluster::index_of(&m.name).unwrap()].pg_port()),
                "{ms:#?}"
            );
        }
        let terms: BTreeSet<i64> = ms.iter().map(|m| m.term).collect();
        assert_eq!(terms.len(), 1, "one term: {ms:#?}");
    }

    // Linearizable reads: a row committed on one node is seen by the very
    // next query on each other node, with no wait in between.
    clients[0]
        .batch_execute("CREATE TABLE seen (k integer PRIMARY KEY, writer integer)")
        .await
        .unwrap();
    for k in 0..30i32 {
        let writer = (k % 3) as usize;
        clients[writer]
            .execute("INSERT INTO seen VALUES ($1, $2)", &[&k, &(writer as i32)])
            .await
            .unwrap();
        for (i, c) in clients.iter().enumerate() {
            if i == writer {
                continue;
            }
            let n = count(c, &format!("SELECT count(*) FROM seen WHERE k = {k}")).await;
            assert_eq!(n, 1, "row {k} written on n{} not seen on n{}", writer + 1, i + 1);
        }
    }
    for c in &clients {
        assert_eq!(count(c, "SELECT count(*) FROM seen").await, 30);
    }
}

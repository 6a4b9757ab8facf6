//! A member added to a running cluster with `--initial-cluster-state
//! existing` joins through the leader, first as a learner and then as a
//! voter, receives everything committed before it came, and serves
//! linearizable reads and writes like the others.

use prismdb_testkit::{TestCluster, members};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

#[tokio::test]
async fn t10_new_member_joins_a_running_cluster() {
    let cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    let first = cluster.nodes[0].connect("prism").await.unwrap();
    first
        .batch_execute(
            "CREATE TABLE j (id integer PRIMARY KEY, v text); \
             INSERT INTO j VALUES (1, 'before'), (2, 'before')",
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let n4 = cluster
        .join(BIN, dir.path(), "n4", &[])
        .await
        .expect("start n4");

    // The leader lists n4 as a voter once it has caught up.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = members(&first).await.unwrap();
        if rows
            .iter()
            .any(|m| m.name == "n4" && m.voter && m.role != "unreachable")
        {
            assert_eq!(rows.len(), 4, "{rows:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "n4 did not become a voter: {rows:?}\n{}\n---- n4 ----\n{}",
            cluster.logs(),
            n4.log_tail(4000)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // It has the rows written before it joined, and its writes replicate.
    let c4 = n4.connect("prism").await.unwrap();
    let n: i64 = c4
        .query_one("SELECT count(*) FROM j WHERE v = 'before'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    c4.execute("INSERT INTO j VALUES (3, 'from n4')", &[])
        .await
        .unwrap();
    for node in &cluster.nodes {
        let c = node.connect("prism").await.unwrap();
        let v: String = c
            .query_one("SELECT v FROM j WHERE id = 3", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, "from n4");
    }
}

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
//! - A member that was down while the leader compacted away the log it
//!   needs catches up from a snapshot after a restart.
//! - Concurrent money transfers in explicit transactions on every member
//!   keep the total balance exact while a follower is killed and restarted.
//! - Transactions are snapshot isolation across members: no dirty reads, no
//!   lost updates, repeatable reads inside a block; write skew is allowed.
//! - A member cut off from its quorum rejects writes and reads within the
//!   configured bound and serves again once a quorum is back.

use prismdb_testkit::{MemberRow, TestCluster, connect_config as connect, members, sqlstate};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// Each test starts three server processes; when the tests of this file
/// share one test process (libtest runs them on parallel threads) they take
/// turns, so elections are not starved of CPU.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs a statement that must fail without a quorum: its error and how long
/// it took. Panics if it hangs for 10 s or succeeds.
async fn fails_without_quorum<T: std::fmt::Debug>(
    what: &str,
    cluster: &TestCluster,
    statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> (tokio_postgres::Error, Duration) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(10), statement).await;
    let took = started.elapsed();
    match outcome {
        Err(_) => panic!("{what} without quorum hung for 10 s\n{}", cluster.logs()),
        Ok(Ok(answer)) => panic!(
            "{what} without quorum succeeded: {answer:?}\n{}",
            cluster.logs()
        ),
        Ok(Err(e)) => (e, took),
    }
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn t10_three_nodes_replicate() {
    let _serial = SERIAL.lock().await;
    let cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
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
            .unwrap_or_else(|e| {
                panic!(
                    "INSERT on n{} after CREATE TABLE on n{}: {e:?}",
                    f2 + 1,
                    f1 + 1
                )
            });
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
            assert!(
                m.applied_index.is_some(),
                "applied_index of {}: {ms:#?}",
                m.name
            );
            assert_eq!(m.leader.as_deref(), Some(leader_name.as_str()), "{ms:#?}");
            if !m.is_leader {
                assert_eq!(m.role, "follower", "{ms:#?}");
            }
            assert_eq!(m.this_node, m.name == format!("n{}", i + 1), "{ms:#?}");
            assert_eq!(
                m.sql_addr,
                format!(
                    "127.0.0.1:{}",
                    cluster.nodes[TestCluster::index_of(&m.name).unwrap()].pg_port()
                ),
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
            assert_eq!(
                n,
                1,
                "row {k} written on n{} not seen on n{}",
                writer + 1,
                i + 1
            );
        }
    }
    for c in &clients {
        assert_eq!(count(c, "SELECT count(*) FROM seen").await, 30);
    }
}

/// What one writer of [`t20_leader_kill_under_load`] did.
#[derive(Debug, Default)]
struct WriterReport {
    client: i32,
    /// Sequence numbers whose INSERT was acknowledged.
    acked: Vec<i32>,
    /// Sequence numbers whose INSERT failed (it may or may not be applied).
    failed: Vec<(i32, String)>,
    /// Errors no failover explains (anything but 57P03, 40003 or a lost
    /// connection).
    unexpected: Vec<String>,
}

/// Inserts `(client, seq)` rows with increasing `seq` until `stop`. A failed
/// INSERT is not retried: its `seq` is dropped and the writer moves to the
/// next node.
async fn insert_writer(
    client: i32,
    configs: Vec<Config>,
    stop: Arc<AtomicBool>,
    acked_total: Arc<std::sync::atomic::AtomicU64>,
) -> WriterReport {
    let mut report = WriterReport {
        client,
        ..Default::default()
    };
    let mut node = client as usize % configs.len();
    let mut conn: Option<(Client, tokio_postgres::Statement)> = None;
    let mut seq = 0i32;
    while !stop.load(Ordering::Relaxed) {
        let Some((c, insert)) = conn.as_ref().filter(|(c, _)| !c.is_closed()) else {
            conn = None;
            let attempt = async {
                let c = connect(&configs[node]).await?;
                match c.prepare("INSERT INTO events VALUES ($1, $2)").await {
                    Ok(s) => anyhow::Ok(Ok((c, s))),
                    Err(e) => Ok(Err(e)),
                }
            };
            match tokio::time::timeout(Duration::from_secs(10), attempt).await {
                Ok(Ok(Ok(pair))) => conn = Some(pair),
                Ok(Ok(Err(e))) if sqlstate(&e).is_some() => {
                    report
                        .unexpected
                        .push(format!("preparing the INSERT on node {node}: {e:?}"));
                    return report;
                }
                _ => {
                    node = (node + 1) % configs.len();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            continue;
        };
        seq += 1;
        match c.execute(insert, &[&client, &seq]).await {
            Ok(1) => {
                report.acked.push(seq);
                acked_total.fetch_add(1, Ordering::Relaxed);
            }
            Ok(n) => report
                .unexpected
                .push(format!("seq {seq}: INSERT reported {n} rows")),
            Err(e) => {
                match sqlstate(&e).as_deref() {
                    Some("57P03" | "40003") => {}
                    None if c.is_closed() => {}
                    _ => report
                        .unexpected
                        .push(format!("seq {seq} on node {node}: {e:?}")),
                }
                report.failed.push((seq, e.to_string()));
                conn = None;
                node = (node + 1) % configs.len();
            }
        }
    }
    report
}

/// Every `(client, seq)` of `events`, as the node behind `client` has it,
/// with its number of copies.
async fn event_rows(client: &Client) -> Result<BTreeMap<(i32, i32), usize>, tokio_postgres::Error> {
    let rows = client.query("SELECT client, seq FROM events", &[]).await?;
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry((r.get(0), r.get(1))).or_insert(0) += 1;
    }
    Ok(out)
}

/// Polls the members view on every node but `skip` until one reports a
/// leader other than `skip`.
async fn new_leader(cluster: &TestCluster, skip: usize, deadline: Instant) -> Option<usize> {
    while Instant::now() < deadline {
        for i in (0..cluster.nodes.len()).filter(|i| *i != skip) {
            let Ok(Ok(ms)) = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                cluster.members(i),
            )
            .await
            else {
                continue;
            };
            if let Some(l) = ms.iter().find(|m| m.is_leader)
                && let Some(idx) = TestCluster::index_of(&l.name)
                && idx != skip
            {
                return Some(idx);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn t20_leader_kill_under_load() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    let old_leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    // No primary key: a row applied twice would show up as a duplicate.
    cluster.nodes[(old_leader + 1) % 3]
        .connect("prism")
        .await
        .unwrap()
        .batch_execute("CREATE TABLE events (client integer NOT NULL, seq integer NOT NULL)")
        .await
        .unwrap();

    let configs: Vec<Config> = cluster.nodes.iter().map(|n| n.pg_config("prism")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acked_total = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..8)
        .map(|c| {
            tokio::spawn(insert_writer(
                c,
                configs.clone(),
                stop.clone(),
                acked_total.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_kill = acked_total.load(Ordering::Relaxed);
    assert!(
        before_kill > 0,
        "no write acknowledged before the kill\n{}",
        cluster.logs()
    );
    cluster.nodes[old_leader].kill9();
    let killed_at = Instant::now();
    let killed_utc = chrono::Utc::now();

    let leader = new_leader(&cluster, old_leader, killed_at + Duration::from_secs(5)).await;
    let elected_after = killed_at.elapsed();
    let Some(leader) = leader else {
        stop.store(true, Ordering::Relaxed);
        panic!(
            "no new leader within 5 s of killing n{} at {killed_utc:?}\n{}",
            old_leader + 1,
            cluster.logs()
        );
    };

    // Writes succeed again under the new leader.
    let at_election = acked_total.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(15);
    while acked_total.load(Ordering::Relaxed) < at_election + 50 {
        assert!(
            Instant::now() < deadline,
            "writes did not resume after n{} was elected ({} acknowledged since)\n{}",
            leader + 1,
            acked_total.load(Ordering::Relaxed) - at_election,
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);

    let mut reports = Vec::new();
    for w in writers {
        let report = tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("writer did not stop")
            .expect("writer panicked");
        reports.push(report);
    }
    let unexpected: Vec<&String> = reports.iter().flat_map(|r| &r.unexpected).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected errors: {unexpected:#?}\n{}",
        cluster.logs()
    );
    let acked: BTreeSet<(i32, i32)> = reports
        .iter()
        .flat_map(|r| r.acked.iter().map(|s| (r.client, *s)))
        .collect();
    let failed: usize = reports.iter().map(|r| r.failed.len()).sum();

    let survivors: Vec<usize> = (0..3).filter(|i| *i != old_leader).collect();
    let mut contents = Vec::new();
    for &i in &survivors {
        let c = cluster.nodes[i].connect("prism").await.unwrap();
        let rows = event_rows(&c)
            .await
            .unwrap_or_else(|e| panic!("reading events on n{}: {e}\n{}", i + 1, cluster.logs()));
        let dups: Vec<_> = rows.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            dups.is_empty(),
            "rows applied twice on n{}: {dups:?}",
            i + 1
        );
        let missing: Vec<_> = acked.iter().filter(|k| !rows.contains_key(k)).collect();
        assert!(
            missing.is_empty(),
            "acknowledged rows missing on n{}: {missing:?}\n{}",
            i + 1,
            cluster.logs()
        );
        // Rows that are neither acknowledged nor failed cannot exist.
        let strays: Vec<_> = rows
            .keys()
            .filter(|(c, s)| {
                !acked.contains(&(*c, *s))
                    && !reports[*c as usize].failed.iter().any(|(f, _)| f == s)
            })
            .collect();
        assert!(
            strays.is_empty(),
            "rows nobody wrote on n{}: {strays:?}",
            i + 1
        );
        contents.push(rows);
    }
    assert_eq!(contents[0], contents[1], "survivors disagree");
    eprintln!(
        "acknowledged {} rows ({} before the kill), {} failed inserts, {} rows stored; \
         n{} elected {:?} after the kill",
        acked.len(),
        before_kill,
        failed,
        contents[0].len(),
        leader + 1,
        elected_after
    );

    // The killed member comes back and catches up.
    cluster.nodes[old_leader].restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = match cluster.nodes[old_leader].connect("prism").await {
            Ok(c) => event_rows(&c).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match got {
            Ok(rows) if rows == contents[0] => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "restarted n{} did not catch up: {:?}\n{}",
                    old_leader + 1,
                    other.map(|r| r.len()),
                    cluster.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let ms = cluster.members(old_leader).await.unwrap();
    assert!(
        ms.iter().all(|m| m.voter && m.role != "unreachable"),
        "members after the restart: {ms:#?}"
    );
}

/// The row of the member called `name`.
fn member<'a>(ms: &'a [MemberRow], name: &str) -> &'a MemberRow {
    ms.iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no member {name}: {ms:#?}"))
}

/// Inserts one `filler` row per statement for each of `ids`.
async fn insert_filler(client: &Client, ids: impl Iterator<Item = i32>) -> Result<(), String> {
    let insert = client
        .prepare("INSERT INTO filler (id, payload) VALUES ($1, $2)")
        .await
        .map_err(|e| format!("preparing the INSERT: {e:?}"))?;
    let payload = "x".repeat(100);
    for id in ids {
        client
            .execute(&insert, &[&id, &payload])
            .await
            .map_err(|e| format!("insert {id}: {e:?}"))?;
    }
    Ok(())
}

#[tokio::test]
async fn t30_restart_catches_up_through_snapshot() {
    let _serial = SERIAL.lock().await;
    let mut cluster =
        TestCluster::start(BIN, 3, &["--snapshot-every", "50", "--snapshot-keep", "5"])
            .await
            .expect("start cluster");
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    let (victim, other) = ((leader + 1) % 3, (leader + 2) % 3);
    let (leader_name, victim_name) = (format!("n{}", leader + 1), format!("n{}", victim + 1));
    let lc = cluster.nodes[leader].connect("prism").await.unwrap();
    let oc = cluster.nodes[other].connect("prism").await.unwrap();
    lc.batch_execute(
        "CREATE TABLE filler (id integer PRIMARY KEY, payload text, tag integer);
         CREATE INDEX filler_tag ON filler (tag)",
    )
    .await
    .unwrap();
    {
        // The victim has the table before it goes down.
        let vc = cluster.nodes[victim].connect("prism").await.unwrap();
        assert_eq!(count(&vc, "SELECT count(*) FROM filler").await, 0);
    }

    cluster.nodes[victim].kill9();
    // Nothing the victim applied can be beyond the leader's last log index.
    let at_kill = members(&lc).await.unwrap();
    let victim_end = member(&at_kill, &leader_name)
        .last_log_index
        .expect("leader's last_log_index");
    assert_eq!(
        member(&at_kill, &victim_name).role,
        "unreachable",
        "{at_kill:#?}"
    );

    // One row per statement (one log entry each), through both live
    // members at once.
    let (a, b) = tokio::join!(
        insert_filler(&lc, (0..400).step_by(2)),
        insert_filler(&oc, (1..400).step_by(2))
    );
    if let Err(e) = a.and(b) {
        panic!("{e}\n{}", cluster.logs());
    }
    // Indexed values, and an index the victim learns of only from the
    // snapshot it installs.
    lc.batch_execute(
        "UPDATE filler SET tag = id % 10 WHERE id < 100;
         CREATE UNIQUE INDEX filler_payload_id ON filler (payload, id)",
    )
    .await
    .unwrap();

    // Wait until the leader compacted away the entries the victim needs.
    let deadline = Instant::now() + Duration::from_secs(20);
    let purged = loop {
        let ms = members(&lc).await.unwrap();
        let l = member(&ms, &leader_name);
        if let Some(p) = l.purged_index
            && p > victim_end
        {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the leader did not purge its log beyond {victim_end}: {l:#?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    cluster.nodes[victim].restart().await.unwrap();
    let target = member(&members(&lc).await.unwrap(), &leader_name)
        .applied_index
        .expect("leader's applied_index");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mine = loop {
        let state = async {
            let vc = cluster.nodes[victim].connect("prism").await?;
            let ms = members(&vc).await?;
            let n = vc.query_one("SELECT count(*) FROM filler", &[]).await?;
            anyhow::Ok((member(&ms, &victim_name).clone(), n.get::<_, i64>(0)))
        }
        .await;
        match state {
            Ok((m, 400)) if m.applied_index.is_some_and(|a| a >= target) => break m,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "restarted {victim_name} did not catch up to {target} (purged {purged}): {other:?}\n{}",
                    cluster.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(mine.this_node && mine.voter, "{mine:#?}");
    let snap = mine
        .snapshot_index
        .expect("the restarted member has a snapshot");
    assert!(
        snap > victim_end,
        "its snapshot ({snap}) covers entries written while it was down (after {victim_end})"
    );

    let vc = cluster.nodes[victim].connect("prism").await.unwrap();
    let ids: Vec<i32> = vc
        .query("SELECT id FROM filler ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, (0..400).collect::<Vec<_>>());
    // Its indexes were built from the snapshot and the log after it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let states: String = vc
            .query_one(
                "SELECT string_agg(index_name || '=' || state, ',' ORDER BY index_name) FROM prism_cluster.indexes",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if states == "filler_payload_id=ready,filler_tag=ready" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "indexes on {victim_name}: {states}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let plan: Vec<String> = vc
        .query("EXPLAIN SELECT id FROM filler WHERE tag = 3", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.join("\n").contains("index"), "{plan:?}");
    let tagged: Vec<i32> = vc
        .query("SELECT id FROM filler WHERE tag = 3 ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tagged, (0..100).filter(|i| i % 10 == 3).collect::<Vec<_>>());
    // It takes part in the cluster again: a write through it is seen on the leader.
    vc.execute(
        "INSERT INTO filler (id, payload) VALUES (1000, 'after restart')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        count(&lc, "SELECT count(*) FROM filler WHERE id = 1000").await,
        1
    );
}

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

const ACCOUNTS: i32 = 100;
const INITIAL_BALANCE: i64 = 1000;

/// Whether a failed transfer may simply be tried again: a write conflict,
/// an unknown commit outcome, no leader, or a lost connection.
fn retryable(e: &tokio_postgres::Error, c: &Client) -> bool {
    match sqlstate(e).as_deref() {
        Some("40001" | "40003" | "57P03") => true,
        Some(_) => false,
        None => c.is_closed(),
    }
}

/// One transfer of `amount` from `from` to `to` in an explicit transaction.
async fn transfer(
    c: &Client,
    from: i32,
    to: i32,
    amount: i64,
) -> Result<(), tokio_postgres::Error> {
    c.batch_execute("BEGIN").await?;
    let r = async {
        c.execute(
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
            &[&amount, &from],
        )
        .await?;
        c.execute(
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            &[&amount, &to],
        )
        .await?;
        c.batch_execute("COMMIT").await
    }
    .await;
    if r.is_err() && !c.is_closed() {
        let _ = c.batch_execute("ROLLBACK").await;
    }
    r
}

/// Does random transfers until `stop`; returns (committed, retried) counts
/// or the first error that is not retryable.
async fn transfer_worker(
    worker: u64,
    configs: Vec<Config>,
    stop: Arc<AtomicBool>,
    committed_total: Arc<std::sync::atomic::AtomicU64>,
) -> Result<(u64, u64), String> {
    let mut rng = Rng::new(worker + 1);
    let mut node = worker as usize % configs.len();
    let mut conn: Option<Client> = None;
    let (mut committed, mut retried) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = conn.as_ref().filter(|c| !c.is_closed()) else {
            match tokio::time::timeout(Duration::from_secs(10), connect(&configs[node])).await {
                Ok(Ok(c)) => conn = Some(c),
                _ => {
                    node = (node + 1) % configs.len();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            continue;
        };
        let from = rng.below(ACCOUNTS as u64) as i32;
        let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as i32) % ACCOUNTS;
        let amount = 1 + rng.below(50) as i64;
        match transfer(c, from, to, amount).await {
            Ok(()) => {
                committed += 1;
                committed_total.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if retryable(&e, c) => {
                retried += 1;
                // A lost connection, or a node without a leader right now:
                // go on on another node.
                if c.is_closed() || sqlstate(&e).as_deref() == Some("57P03") {
                    conn = None;
                    node = (node + 1) % configs.len();
                }
            }
            Err(e) => return Err(format!("worker {worker} on node {node}: {e:?}")),
        }
    }
    Ok((committed, retried))
}

/// `sum(balance)` and `count(*)` of `accounts` on node `i`.
async fn totals(cluster: &TestCluster, i: usize) -> anyhow::Result<(i64, i64)> {
    let c = cluster.nodes[i].connect("prism").await?;
    let row = c
        .query_one("SELECT sum(balance), count(*) FROM accounts", &[])
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Checks the bank invariant on every running node that answers; returns
/// how many did.
async fn check_totals(cluster: &mut TestCluster, when: &str) -> usize {
    let mut checked = 0;
    for i in 0..cluster.nodes.len() {
        if !cluster.nodes[i].is_running() {
            continue;
        }
        match totals(cluster, i).await {
            Ok((sum, n)) => {
                assert_eq!(
                    (sum, n),
                    (ACCOUNTS as i64 * INITIAL_BALANCE, ACCOUNTS as i64),
                    "sum(balance), count(*) on n{} {when}\n{}",
                    i + 1,
                    cluster.logs()
                );
                checked += 1;
            }
            // A member that is restarting or catching up may not serve reads yet.
            Err(e) => eprintln!("n{} not checked {when}: {e:#}", i + 1),
        }
    }
    checked
}

/// Waits until `n` more transfers committed, checking the totals on every
/// running member every 200 ms meanwhile; returns how many checks passed.
async fn commits_while_checking(
    cluster: &mut TestCluster,
    committed: &std::sync::atomic::AtomicU64,
    n: u64,
    what: &str,
) -> usize {
    let start = committed.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut checks = 0;
    loop {
        checks += check_totals(cluster, what).await;
        if committed.load(Ordering::Relaxed) >= start + n {
            return checks;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {n} transfers committed {what}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn t40_bank_invariant_survives_node_restart() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    let setup = cluster.nodes[leader].connect("prism").await.unwrap();
    setup
        .batch_execute("CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL)")
        .await
        .unwrap();
    setup
        .batch_execute(&format!(
            "INSERT INTO accounts SELECT id, {INITIAL_BALANCE} FROM generate_series(0, {}) AS g(id)",
            ACCOUNTS - 1
        ))
        .await
        .unwrap();
    assert_eq!(check_totals(&mut cluster, "before the transfers").await, 3);

    let configs: Vec<Config> = cluster.nodes.iter().map(|n| n.pg_config("prism")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            tokio::spawn(transfer_worker(
                w,
                configs.clone(),
                stop.clone(),
                committed.clone(),
            ))
        })
        .collect();

    // Transfers commit while all members are up, while a follower is down,
    // and after it is back; the totals are checked all along.
    let mut checks = 0;
    checks += commits_while_checking(&mut cluster, &committed, 30, "with all members up").await;
    let victim = (leader + 1) % 3;
    cluster.nodes[victim].kill9();
    checks += commits_while_checking(&mut cluster, &committed, 30, "with a follower down").await;
    cluster.nodes[victim].restart().await.unwrap();
    checks += commits_while_checking(&mut cluster, &committed, 30, "after the restart").await;

    stop.store(true, Ordering::Relaxed);
    let (mut done, mut retried) = (0, 0);
    for w in workers {
        let (c, r) = tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("worker did not stop")
            .expect("worker panicked")
            .unwrap_or_else(|e| panic!("{e}\n{}", cluster.logs()));
        done += c;
        retried += r;
    }
    eprintln!("{done} transfers committed, {retried} retried, {checks} totals checked under load");

    // At rest every member, the restarted one included, has the same total.
    let deadline = Instant::now() + Duration::from_secs(30);
    while check_totals(&mut cluster, "at the end").await < 3 {
        assert!(
            Instant::now() < deadline,
            "not every member answers\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut balances = Vec::new();
    for node in &cluster.nodes {
        let c = node.connect("prism").await.unwrap();
        let rows = c
            .query("SELECT id, balance FROM accounts ORDER BY id", &[])
            .await
            .unwrap();
        balances.push(
            rows.iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect::<Vec<(i32, i64)>>(),
        );
    }
    assert_eq!(balances[0], balances[1], "n1 and n2 disagree");
    assert_eq!(balances[0], balances[2], "n1 and n3 disagree");
}

/// The `v` of row `id` of `si`, read on `c`.
async fn si_value(c: &Client, id: i32) -> i32 {
    c.query_one("SELECT v FROM si WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// Transactions are snapshot isolation: each block reads the snapshot taken
/// at its BEGIN plus its own writes, and of two blocks that wrote the same
/// row only the first to commit succeeds. Snapshot isolation is not
/// serializable: blocks that write disjoint rows both commit even when each
/// read what the other wrote (write skew).
#[tokio::test]
async fn t50_snapshot_isolation_anomalies() {
    let _serial = SERIAL.lock().await;
    let cluster = TestCluster::start(BIN, 3, &[])
        .await
        .expect("start cluster");
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    // a on a follower, b on the other follower, c on the leader.
    let a = cluster.nodes[(leader + 1) % 3]
        .connect("prism")
        .await
        .unwrap();
    let b = cluster.nodes[(leader + 2) % 3]
        .connect("prism")
        .await
        .unwrap();
    let c = cluster.nodes[leader].connect("prism").await.unwrap();
    a.batch_execute(
        "CREATE TABLE si (id integer PRIMARY KEY, v integer NOT NULL);
         INSERT INTO si VALUES (1, 10), (2, 20), (3, 30);
         CREATE TABLE oncall (doctor integer PRIMARY KEY, on_duty boolean NOT NULL);
         INSERT INTO oncall VALUES (1, true), (2, true);",
    )
    .await
    .unwrap();

    // No dirty read: an uncommitted write is invisible elsewhere, and
    // disappears on ROLLBACK.
    a.batch_execute("BEGIN; UPDATE si SET v = 11 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(si_value(&a, 1).await, 11, "a block sees its own write");
    assert_eq!(si_value(&b, 1).await, 10, "dirty read on another node");
    assert_eq!(si_value(&c, 1).await, 10, "dirty read on the leader");
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(si_value(&b, 1).await, 10);
    assert_eq!(si_value(&a, 1).await, 10);
    // Committed, it is visible to the next query everywhere.
    a.batch_execute("BEGIN; UPDATE si SET v = 12 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(si_value(&b, 1).await, 10, "dirty read before COMMIT");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(si_value(&b, 1).await, 12);
    assert_eq!(si_value(&c, 1).await, 12);

    // No lost update: two read-modify-write blocks on the same row; the
    // first COMMIT wins, the second fails with 40001.
    a.batch_execute("BEGIN").await.unwrap();
    b.batch_execute("BEGIN").await.unwrap();
    let va = si_value(&a, 1).await;
    let vb = si_value(&b, 1).await;
    assert_eq!((va, vb), (12, 12));
    a.execute("UPDATE si SET v = $1 WHERE id = 1", &[&(va + 1)])
        .await
        .unwrap();
    b.execute("UPDATE si SET v = $1 WHERE id = 1", &[&(vb + 100)])
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let err = b
        .batch_execute("COMMIT")
        .await
        .expect_err("the second COMMIT of a lost update must fail");
    assert_eq!(sqlstate(&err).as_deref(), Some("40001"), "{err:?}");
    assert_eq!(si_value(&b, 1).await, 13, "the first commit's value stands");
    assert_eq!(si_value(&c, 1).await, 13);
    // The session goes on after the failed COMMIT.
    b.execute("UPDATE si SET v = v + 1 WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(si_value(&a, 1).await, 14);

    // Repeatable read: a block keeps reading its snapshot while other nodes
    // commit changes, inserts and deletes; after COMMIT it sees them.
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(si_value(&a, 2).await, 20);
    assert_eq!(count(&a, "SELECT count(*) FROM si").await, 3);
    b.execute("UPDATE si SET v = 21 WHERE id = 2", &[])
        .await
        .unwrap();
    c.execute("INSERT INTO si VALUES (4, 40)", &[])
        .await
        .unwrap();
    c.execute("DELETE FROM si WHERE id = 3", &[]).await.unwrap();
    assert_eq!(si_value(&c, 2).await, 21);
    assert_eq!(
        si_value(&a, 2).await,
        20,
        "non-repeatable read inside a block"
    );
    let ids: Vec<i32> = a
        .query("SELECT id FROM si ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [1, 2, 3], "phantoms inside a block");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(si_value(&a, 2).await, 21);
    assert_eq!(count(&a, "SELECT count(*) FROM si").await, 3);

    // Write skew is allowed (snapshot isolation, not serializable): each
    // block checks that two doctors are on duty and takes a different one
    // off; both commit and nobody is left on duty.
    a.batch_execute("BEGIN").await.unwrap();
    b.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        count(&a, "SELECT count(*) FROM oncall WHERE on_duty").await,
        2
    );
    assert_eq!(
        count(&b, "SELECT count(*) FROM oncall WHERE on_duty").await,
        2
    );
    a.execute("UPDATE oncall SET on_duty = false WHERE doctor = 1", &[])
        .await
        .unwrap();
    b.execute("UPDATE oncall SET on_duty = false WHERE doctor = 2", &[])
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    b.batch_execute("COMMIT")
        .await
        .expect("write skew commits under snapshot isolation");
    for client in [&a, &b, &c] {
        assert_eq!(
            count(client, "SELECT count(*) FROM oncall WHERE on_duty").await,
            0
        );
    }
}

#[tokio::test]
async fn t60_minority_rejects_writes_in_bounded_time() {
    let _serial = SERIAL.lock().await;
    let mut cluster = TestCluster::start(BIN, 3, &["--raft-timeout-ms", "2000"])
        .await
        .expect("start cluster");
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    // The leader survives: it must not keep serving once it lost its quorum.
    let survivor = leader;
    let c = cluster.nodes[survivor].connect("prism").await.unwrap();
    c.batch_execute(
        "CREATE TABLE m (id integer PRIMARY KEY, note text);
         INSERT INTO m VALUES (1, 'before');",
    )
    .await
    .unwrap();
    // A block that took its snapshot while the quorum was there commits
    // after it is gone: the COMMIT is proposed but cannot be confirmed.
    let block = cluster.nodes[survivor].connect("prism").await.unwrap();
    block
        .batch_execute("BEGIN; INSERT INTO m VALUES (5, 'in a block')")
        .await
        .unwrap();
    let killed: Vec<usize> = (0..3).filter(|i| *i != survivor).collect();
    for &i in &killed {
        cluster.nodes[i].kill9();
    }

    let (write_err, write_took) = fails_without_quorum(
        "an INSERT",
        &cluster,
        c.execute("INSERT INTO m VALUES (2, 'minority')", &[]),
    )
    .await;
    let write_code = sqlstate(&write_err);
    assert!(
        matches!(write_code.as_deref(), Some("57P03" | "40003")),
        "write without quorum: {write_err:?}"
    );

    let (read_err, read_took) =
        fails_without_quorum("a SELECT", &cluster, c.query("SELECT count(*) FROM m", &[])).await;
    assert_eq!(
        sqlstate(&read_err).as_deref(),
        Some("57P03"),
        "{read_err:?}"
    );

    let (commit_err, commit_took) =
        fails_without_quorum("a COMMIT", &cluster, block.batch_execute("COMMIT")).await;
    let commit_code = sqlstate(&commit_err);
    assert!(
        matches!(commit_code.as_deref(), Some("57P03" | "40003")),
        "COMMIT without quorum: {commit_err:?}"
    );
    eprintln!(
        "without quorum: write failed with {write_code:?} after {write_took:?}, read with 57P03 \
         after {read_took:?}, COMMIT with {commit_code:?} after {commit_took:?}"
    );

    // The connection is still usable: it answers statements that need no
    // quorum.
    assert!(!c.is_closed());
    c.batch_execute("SET application_name = 'still here'")
        .await
        .unwrap();
    let name: String = c
        .query_one("SHOW application_name", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "still here");

    // With one member back there is a quorum again: the same connection
    // writes and reads.
    cluster.nodes[killed[0]].restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut outcome_unknown = false;
    loop {
        match c
            .execute("INSERT INTO m VALUES (3, 'quorum again')", &[])
            .await
        {
            Ok(1) => break,
            Ok(n) => panic!("INSERT reported {n} rows"),
            // An earlier attempt whose outcome was unknown did commit.
            Err(e) if outcome_unknown && sqlstate(&e).as_deref() == Some("23505") => break,
            Err(e) => {
                let code = sqlstate(&e);
                assert!(matches!(code.as_deref(), Some("57P03" | "40003")), "{e:?}");
                outcome_unknown |= code.as_deref() == Some("40003");
                assert!(
                    Instant::now() < deadline,
                    "no write succeeded within 30 s of the restart: {e}\n{}",
                    cluster.logs()
                );
            }
        }
    }
    let rows: Vec<i32> = c
        .query("SELECT id FROM m ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // A write that failed without quorum is absent if it was rejected
    // outright (57P03); after 40003 its outcome was unknown and it may
    // have been committed once the quorum returned.
    let mut may = vec![1, 3];
    for (code, id) in [(&write_code, 2), (&commit_code, 5)] {
        if code.as_deref() == Some("40003") {
            may.push(id);
        }
    }
    assert!(
        [1, 3].iter().all(|id| rows.contains(id)) && rows.iter().all(|id| may.contains(id)),
        "rows {rows:?}, allowed {may:?}"
    );
    let back = cluster.nodes[killed[0]].connect("prism").await.unwrap();
    let there: Vec<i32> = back
        .query("SELECT id FROM m ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(there, rows, "the restarted member agrees");
}

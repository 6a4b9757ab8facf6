//! A server that keeps serving: statements too deep to handle, malformed
//! wire messages, cancel requests (also sent to another cluster member),
//! statement timeouts, clients that hang
//! up, and results too large to hold, each against a real `prismdb`
//! process. Every case ends with the server still answering.

use futures::StreamExt;
use prismdb_testkit::wire::{RawConn, cancel_request, message, query, startup};
use prismdb_testkit::{TestCluster, TestServer, sqlstate};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

fn code(e: &tokio_postgres::Error) -> String {
    sqlstate(e).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn start() -> TestServer {
    TestServer::start_with_args(BIN, &["--fsync", "false"])
        .await
        .expect("start prismdb")
}

async fn alive(server: &TestServer) {
    let c = server
        .connect("prism")
        .await
        .expect("the server accepts connections");
    let one: i32 = c.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
}

/// A query that runs for minutes unless stopped, producing no rows
/// meanwhile.
const ENDLESS: &str = "SELECT count(DISTINCT x) FROM generate_series(1, 1000000000) AS s(x)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_deep_statements_are_refused_or_run_and_never_crash() {
    let server = start().await;
    let c = server.connect("prism").await.unwrap();
    c.batch_execute(
        "CREATE TABLE t (id INT PRIMARY KEY, i INT);
         INSERT INTO t SELECT x, x + 0 FROM generate_series(0, 999) AS s(x)",
    )
    .await
    .unwrap();
    // The statement that used to overflow a connection thread's stack: a
    // thousand terms joined by AND.
    let terms: Vec<String> = (0..1000)
        .map(|i| format!("(id <> {i} OR i = {i})"))
        .collect();
    let sql = format!("SELECT count(*) FROM t WHERE {}", terms.join(" AND "));
    let n: i64 = c.query_one(&sql, &[]).await.unwrap().get(0);
    assert_eq!(n, 1000);
    // Twenty thousand OR terms, as ORMs generate for `IN` lists.
    let terms: Vec<String> = (0..20_000).map(|i| format!("id = {i}")).collect();
    let sql = format!("SELECT count(*) FROM t WHERE {}", terms.join(" OR "));
    let n: i64 = c.query_one(&sql, &[]).await.unwrap().get(0);
    assert_eq!(n, 1000);
    // Too deep: 54001, in both protocols, and the session goes on.
    for deep in [
        format!("SELECT {}", vec!["1"; 5000].join(" + ")),
        format!("SELECT {}1{}", "(".repeat(20_000), ")".repeat(20_000)),
        format!("SELECT {}1{}", "abs(".repeat(3000), ")".repeat(3000)),
        format!("SELECT {}1{}", "(SELECT ".repeat(3000), ")".repeat(3000)),
    ] {
        let e = c.simple_query(&deep).await.unwrap_err();
        assert_eq!(code(&e), "54001", "{e}");
        let e = c.query(&deep, &[]).await.unwrap_err();
        assert_eq!(code(&e), "54001", "{e}");
    }
    // Nesting that used to make parsing exponential answers at once.
    let nested = format!("SELECT {}1{}", "abs(".repeat(40), ")".repeat(40));
    let started = Instant::now();
    let v: i64 = c.query_one(&nested, &[]).await.unwrap().get(0);
    assert_eq!(v, 1);
    assert!(started.elapsed() < Duration::from_secs(60));
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_malformed_messages_get_08p01_and_the_stream_goes_on() {
    let server = start().await;
    let port = server.pg_port();
    let errors = |msgs: &[prismdb_testkit::wire::BackendMessage]| -> Vec<String> {
        msgs.iter().filter_map(|m| m.sqlstate()).collect()
    };

    // A Query with an embedded NUL: ERROR, then the next query runs.
    let mut conn = RawConn::start(port, "prism", "prism").await.unwrap();
    conn.send(&message(b'Q', b"SELECT 1\0garbage\0"))
        .await
        .unwrap();
    let reply = conn.until_ready().await.unwrap();
    assert_eq!(errors(&reply), vec!["08P01"]);
    conn.send(&query("SELECT 2")).await.unwrap();
    let reply = conn.until_ready().await.unwrap();
    assert!(reply.iter().any(|m| m.kind == b'D'), "{reply:?}");

    // A Flush with a body and a Parse with an unterminated string: ERROR,
    // messages skipped up to Sync, then ReadyForQuery.
    for bad in [message(b'H', b"xyz"), message(b'P', b"\0SELECT 1")] {
        let mut bytes = bad;
        bytes.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
        bytes.extend(message(b'S', b""));
        conn.send(&bytes).await.unwrap();
        let reply = conn.until_ready().await.unwrap();
        assert_eq!(errors(&reply), vec!["08P01"], "{reply:?}");
    }
    conn.send(&query("SELECT 3")).await.unwrap();
    assert!(
        conn.until_ready()
            .await
            .unwrap()
            .iter()
            .any(|m| m.kind == b'D')
    );

    // A Bind that declares more parameters than it carries.
    let mut bind = b"\0\0".to_vec();
    bind.extend_from_slice(&0i16.to_be_bytes());
    bind.extend_from_slice(&5i16.to_be_bytes());
    bind.extend_from_slice(&1000i32.to_be_bytes());
    let mut bytes = message(b'B', &bind);
    bytes.extend(message(b'S', b""));
    conn.send(&bytes).await.unwrap();
    assert_eq!(errors(&conn.until_ready().await.unwrap()), vec!["08P01"]);

    // A broken frame is FATAL: the server says so and closes.
    conn.send(b"Z\0\0\0\x04").await.unwrap();
    let rest = conn.until_closed().await.unwrap();
    assert_eq!(errors(&rest), vec!["08P01"]);
    assert_eq!(rest[0].severity().as_deref(), Some("FATAL"));

    // A start-up packet of an unknown protocol, and garbage before start-up.
    let mut conn = RawConn::connect(port).await.unwrap();
    conn.send(&[0, 0, 0, 9, 0, 2, 0, 0, 0]).await.unwrap();
    assert_eq!(errors(&conn.until_closed().await.unwrap()), vec!["0A000"]);
    let mut conn = RawConn::connect(port).await.unwrap();
    conn.send(&[0xff; 16]).await.unwrap();
    assert_eq!(errors(&conn.until_closed().await.unwrap()), vec!["08P01"]);
    assert!(
        !server.log_contents().contains("panicked"),
        "a panic in the log"
    );
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_cancel_requests_stop_statements_with_57014() {
    let server = start().await;
    let client = server.connect("prism").await.unwrap();
    // From another task (and so, often, another of the server's threads).
    for _ in 0..2 {
        let token = client.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            token.cancel_query(NoTls).await
        });
        let started = Instant::now();
        let e = client.simple_query(ENDLESS).await.unwrap_err();
        assert_eq!(code(&e), "57014", "{e}");
        assert!(started.elapsed() < Duration::from_secs(30));
        canceller.await.unwrap().unwrap();
        // The session goes on; a cancel while idle is forgotten.
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
    }
    // The extended protocol, inside a transaction block, which fails.
    client.batch_execute("BEGIN").await.unwrap();
    let token = client.cancel_token();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(NoTls).await
    });
    let e = client.query(ENDLESS, &[]).await.unwrap_err();
    assert_eq!(code(&e), "57014");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    alive(&server).await;
}

/// A CancelRequest for process `pid` with `secret`, on a connection of its
/// own to `port`.
async fn send_cancel(port: u16, pid: &[u8], secret: &[u8]) {
    let mut c = RawConn::connect(port).await.unwrap();
    c.send(&cancel_request(pid, secret)).await.unwrap();
    // The server answers nothing and closes the connection.
    assert!(c.until_closed().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t35_a_cancel_request_sent_to_another_member_stops_the_statement() {
    let cluster = TestCluster::start(BIN, 3, &["--fsync", "false"])
        .await
        .expect("start cluster");
    // A session on each member in turn, cancelled through the next one, as
    // a client behind a load balancer would.
    for i in 0..3 {
        let (home, other) = (&cluster.nodes[i], &cluster.nodes[(i + 1) % 3]);
        let mut session = RawConn::connect(home.pg_port()).await.unwrap();
        session.send(&startup("prism", "prism")).await.unwrap();
        let key = session
            .until_ready()
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == b'K')
            .expect("BackendKeyData");
        let (pid, secret) = key.body.split_at(4);

        // A wrong secret cancels nothing, here or elsewhere.
        session
            .send(&query(
                "SELECT count(DISTINCT x) FROM generate_series(1, 300000) AS s(x)",
            ))
            .await
            .unwrap();
        send_cancel(other.pg_port(), pid, &[0, 0, 0, 0]).await;
        let answer = session.until_ready().await.unwrap();
        assert!(
            answer.iter().all(|m| m.kind != b'E'),
            "member {i}: {answer:?}"
        );

        let started = Instant::now();
        session.send(&query(ENDLESS)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        send_cancel(other.pg_port(), pid, secret).await;
        let answer = session.until_ready().await.unwrap();
        let codes: Vec<_> = answer.iter().filter_map(|m| m.sqlstate()).collect();
        assert_eq!(codes, ["57014"], "member {i}");
        assert!(started.elapsed() < Duration::from_secs(30));

        // The session goes on.
        session.send(&query("SELECT 1")).await.unwrap();
        let answer = session.until_ready().await.unwrap();
        assert!(
            answer.iter().any(|m| m.kind == b'D'),
            "member {i}: {answer:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_statement_timeout_stops_operators_that_produce_no_rows() {
    let server = start().await;
    let client = server.connect("prism").await.unwrap();
    client
        .batch_execute("SET statement_timeout = '700ms'")
        .await
        .unwrap();
    for sql in [
        ENDLESS,
        "SELECT x FROM generate_series(1, 300000000) AS s(x) ORDER BY x DESC LIMIT 1",
        "SELECT sum(x) FROM generate_series(1, 3000000000) AS s(x)",
    ] {
        let started = Instant::now();
        let e = client.simple_query(sql).await.unwrap_err();
        assert_eq!(code(&e), "57014", "{sql}: {e}");
        assert!(
            e.as_db_error()
                .unwrap()
                .message()
                .contains("statement timeout"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{sql}");
    }
    alive(&server).await;
}

async fn active_sessions_running(observer: &Client, text: &str) -> i64 {
    observer
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = $1",
            &[&text],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t50_a_client_that_hangs_up_stops_its_statement() {
    let server = start().await;
    let observer = server.connect("prism").await.unwrap();
    let (client, connection) = server.pg_config("prism").connect(NoTls).await.unwrap();
    let driver = tokio::spawn(connection);
    let running = tokio::spawn(async move { client.simple_query(ENDLESS).await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while active_sessions_running(&observer, ENDLESS).await == 0 {
        assert!(Instant::now() < deadline, "the statement never showed up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The client goes away mid-statement.
    running.abort();
    driver.abort();
    let deadline = Instant::now() + Duration::from_secs(30);
    while active_sessions_running(&observer, ENDLESS).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the statement kept running after its client left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alive(&server).await;
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t60_a_large_result_streams_in_bounded_memory_to_a_slow_reader() {
    let server = start().await;
    let pid = server.pid().unwrap();
    let client = server.connect("prism").await.unwrap();
    let before = rss_mib(pid);
    // 3 million rows of 100 bytes: 300 MB of text if held at once.
    let sql = "SELECT x, repeat('x', 100) FROM generate_series(1, 3000000) AS s(x)";
    let params: [&str; 0] = [];
    let observer = server.connect("prism").await.unwrap();
    let stream = client.query_raw(sql, params).await.unwrap();
    futures::pin_mut!(stream);
    let (mut rows, mut peak) = (0u64, before);
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        rows += 1;
        if rows % 250_000 == 0 {
            assert_eq!(row.get::<_, i64>(0), rows as i64);
            peak = peak.max(rss_mib(pid));
            // Still sending rows: the statement is active, not idle (the
            // last batch may have ended it).
            if rows < 3_000_000 {
                let active = active_sessions_running(&observer, sql).await;
                assert_eq!(active, 1, "after {rows} rows");
            }
            // A slow reader: the server must wait, not buffer.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(rows, 3_000_000);
    assert!(
        peak < before + 150,
        "server memory grew from {before} MiB to {peak} MiB"
    );
    // The same over the simple protocol.
    let messages = client
        .simple_query(&format!("{sql} LIMIT 10"))
        .await
        .unwrap();
    // RowDescription, ten rows, CommandComplete.
    assert_eq!(messages.len(), 12);
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t70_a_queued_statement_shows_its_wait_then_runs_and_a_full_queue_refuses() {
    let server = TestServer::start_with_args(
        BIN,
        &[
            "--fsync",
            "false",
            "--analytics-max-running",
            "1",
            "--analytics-max-queued",
            "1",
        ],
    )
    .await
    .expect("start prismdb");
    let analytical = || async {
        let c = server.connect("prism").await.unwrap();
        c.batch_execute("SET prism.workload = 'analytics'")
            .await
            .unwrap();
        c
    };
    let observer = server.connect("prism").await.unwrap();
    // One analytical statement holds the only slot.
    let first = analytical().await;
    let token = first.cancel_token();
    let holder = tokio::spawn(async move { first.simple_query(ENDLESS).await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while active_sessions_running(&observer, ENDLESS).await == 0 {
        if holder.is_finished() || Instant::now() >= deadline {
            let activity = observer
                .simple_query("SELECT pid, state, query FROM pg_stat_activity")
                .await;
            panic!(
                "the statement never showed up (finished: {}); activity: {activity:?}",
                holder.is_finished()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second one waits, and says so.
    let second = analytical().await;
    let waiting = tokio::spawn(async move {
        second
            .query_one("SELECT count(*) FROM generate_series(1, 1000) AS s(x)", &[])
            .await
            .map(|r| r.get::<_, i64>(0))
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waits: i64 = observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Admission' AND wait_event = 'AnalyticsQueue' \
                 AND state = 'active'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waits == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no session shows the admission wait"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A third finds the queue full: 53000.
    let third = analytical().await;
    let e = third.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "53000", "{e}");
    // Small statements of ordinary sessions never queue.
    let n: i64 = observer
        .query_one("SELECT count(*) FROM generate_series(1, 1000) AS s(x)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1000);
    // The slot frees up: the waiting statement runs.
    token.cancel_query(NoTls).await.unwrap();
    assert_eq!(code(&holder.await.unwrap().unwrap_err()), "57014");
    assert_eq!(waiting.await.unwrap().unwrap(), 1000);
    alive(&server).await;
}

/// Processes that keep every core busy beside the server, as other services
/// on the host would; killed when dropped.
struct Burners(Vec<std::process::Child>);

impl Burners {
    fn start(n: usize) -> Self {
        Burners(
            (0..n)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("start a busy process")
                })
                .collect(),
        )
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Statements DataFusion plans over a table (a grouped aggregate and a
/// filter) complete on both engines and in both lanes while twice as many
/// busy processes as cores run beside the server and point-select clients
/// keep its interactive side saturated; the point selects go on answering
/// meanwhile. The timeout only tells starvation (minutes) from a slow but
/// fair share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t80_analytics_complete_while_busy_processes_hold_every_core() {
    const ROWS: i64 = 50_000;
    const STARVED: Duration = Duration::from_secs(300);
    let server = start().await;
    let c = server.connect("prism").await.unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, g integer NOT NULL, v integer NOT NULL); \
         INSERT INTO t SELECT x, x % 10, x % 1000 FROM generate_series(1, {ROWS}) AS s(x); \
         ALTER TABLE t SET COLUMNAR REPLICA 1"
    ))
    .await
    .unwrap();
    prismdb_testkit::columnar::wait_replicas_available(&c, Duration::from_secs(120))
        .await
        .expect("the replica becomes available");

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let _burners = Burners::start(2 * cores);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut points = Vec::new();
    for k in 0..8i64 {
        let client = server.connect("prism").await.unwrap();
        let stop = stop.clone();
        points.push(tokio::spawn(async move {
            let select = client
                .prepare("SELECT v FROM t WHERE id = $1")
                .await
                .unwrap();
            let mut done = 0u64;
            let mut id = k * 997 % ROWS + 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v: i32 = client.query_one(&select, &[&id]).await.unwrap().get(0);
                assert_eq!(i64::from(v), id % 1000);
                id = id * 31 % ROWS + 1;
                done += 1;
            }
            done
        }));
    }

    for engines in ["row", "columnar"] {
        for workload in ["auto", "analytics"] {
            let what = format!("engines {engines}, workload {workload}");
            c.batch_execute(&format!(
                "SET prism.read_engines = '{engines}'; SET prism.workload = '{workload}'"
            ))
            .await
            .unwrap();
            let groups = tokio::time::timeout(
                STARVED,
                c.query(
                    "SELECT g, count(*), sum(v) FROM t GROUP BY g ORDER BY g",
                    &[],
                ),
            )
            .await
            .unwrap_or_else(|_| panic!("{what}: the grouped aggregate starved"))
            .unwrap();
            assert_eq!(groups.len(), 10, "{what}");
            let total: i64 = groups.iter().map(|r| r.get::<_, i64>(1)).sum();
            assert_eq!(total, ROWS, "{what}");
            let filtered = tokio::time::timeout(
                STARVED,
                c.query("SELECT v FROM t WHERE g = 3 AND v < 100", &[]),
            )
            .await
            .unwrap_or_else(|_| panic!("{what}: the filter starved"))
            .unwrap();
            // id % 10 = 3 and id % 1000 < 100: ids 3, 13, ..., 93 in every
            // thousand.
            assert_eq!(filtered.len() as i64, ROWS / 1000 * 10, "{what}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in points {
        assert!(
            p.await.unwrap() > 0,
            "a point-select client made no progress"
        );
    }
    alive(&server).await;
}

/// Stopping the server (SIGTERM) while statements scan a table on both
/// lanes ends the process cleanly: every statement stops before the store
/// closes, so no thread still reads RocksDB while the process exits (that
/// used to abort in RocksDB's destructors now and then): the store is
/// closed before the process ends. The data is there after each restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t90_a_server_stopped_mid_statement_exits_cleanly() {
    const ROWS: i64 = 50_000;
    let mut server = start().await;
    let c = server.connect("prism").await.unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, g integer NOT NULL, v integer NOT NULL); \
         INSERT INTO t SELECT x, x % 10, x % 1000 FROM generate_series(1, {ROWS}) AS s(x)"
    ))
    .await
    .unwrap();
    drop(c);
    for round in 0..3 {
        let mut loops = Vec::new();
        for workload in ["analytics", "interactive", "analytics"] {
            let client = server.connect("prism").await.unwrap();
            loops.push(tokio::spawn(async move {
                client
                    .batch_execute(&format!("SET prism.workload = '{workload}'"))
                    .await
                    .unwrap();
                // Runs until the server goes away.
                while client
                    .simple_query("SELECT g, count(*), sum(v) FROM t GROUP BY g")
                    .await
                    .is_ok()
                {}
            }));
        }
        tokio::time::sleep(Duration::from_millis(300 + 200 * round)).await;
        let status = server.terminate(Duration::from_secs(60));
        for l in loops {
            l.await.unwrap();
        }
        let log = server.log_contents();
        assert!(
            status.is_some_and(|s| s.success()),
            "round {round}: the server exited with {status:?}:\n{log}"
        );
        assert_eq!(
            log.matches("row store closed").count(),
            round as usize + 1,
            "round {round}: the store was not closed before the process ended:\n{log}"
        );
        server.restart().await.expect("restart");
        let c = server.connect("prism").await.unwrap();
        let n: i64 = c
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, ROWS, "round {round}");
    }
}

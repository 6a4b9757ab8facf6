//! Workload isolation end to end: a node started with a small
//! `--analytics-memory-mb` fails queries that need more memory than that
//! with 53200 (out_of_memory), releases what they held, and goes on
//! serving the same connection (planned queries, point lookups, the
//! extended protocol, transaction blocks) and new ones. On Linux it also
//! checks that the analytics threads exist under their name and run under
//! the normal policy, `DEFAULT_NICE` steps below the server: a weight, not
//! SCHED_IDLE, which a busy machine starves.

use prismdb_testkit::{TestServer, sqlstate};
use tokio_postgres::Client;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");
const ROWS: i64 = 200_000;
const CHUNK: i64 = 50_000;

fn code(err: &tokio_postgres::Error) -> String {
    sqlstate(err).unwrap_or_else(|| format!("no SQLSTATE: {err}"))
}

/// Runs `sql`, which must fail with 53200; its message.
async fn out_of_memory(client: &Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(_) => panic!("{sql}: expected 53200, it succeeded"),
        Err(e) => {
            assert_eq!(code(&e), "53200", "{sql}: {e:?}");
            e.as_db_error().map(|d| d.message().to_string()).unwrap()
        }
    }
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_past_the_memory_limit_fail_with_53200_and_the_server_goes_on() {
    let server = TestServer::start_with_args(
        BIN,
        &[
            "--fsync",
            "false",
            "--analytics-memory-mb",
            "8",
            "--analytics-threads",
            "2",
        ],
    )
    .await
    .expect("start prismdb");
    #[cfg(target_os = "linux")]
    analytics_threads_are_named_and_weighted(server.pid().unwrap(), 2);
    let client = server.connect("prism").await.expect("connect");

    // About 25 MB of distinct 100-byte strings: more than 8 MiB in any
    // hash table or sort buffer that holds them all.
    client
        .batch_execute("CREATE TABLE t (id BIGINT PRIMARY KEY, k BIGINT, pad TEXT)")
        .await
        .unwrap();
    for start in (1..=ROWS).step_by(CHUNK as usize) {
        client
            .batch_execute(&format!(
                "INSERT INTO t SELECT g, g % 10, repeat('x', 100) || g \
                 FROM generate_series({start}, {}) AS s(g)",
                start + CHUNK - 1
            ))
            .await
            .unwrap();
    }
    assert_eq!(count(&client, "SELECT count(*) FROM t").await, ROWS);

    // A hash aggregate over 200,000 distinct strings.
    let message = out_of_memory(
        &client,
        "SELECT pad, count(*) FROM t GROUP BY pad HAVING count(*) > 1",
    )
    .await;
    // Two statements run at once by default here, so each may hold half
    // of the pool.
    assert!(
        message.contains("share of 4 MiB") && message.contains("prism.query_memory_limit"),
        "{message}"
    );
    // A session may raise its share; the pool still bounds it.
    client
        .batch_execute("SET prism.query_memory_limit = '64MB'")
        .await
        .unwrap();
    let message = out_of_memory(
        &client,
        "SELECT pad, count(*) FROM t GROUP BY pad HAVING count(*) > 1",
    )
    .await;
    assert!(
        message.contains("analytics memory limit of 8 MiB"),
        "{message}"
    );
    client
        .batch_execute("RESET prism.query_memory_limit")
        .await
        .unwrap();
    // A sort of every row, which may not spill to disk.
    out_of_memory(&client, "SELECT id, pad FROM t ORDER BY pad DESC").await;
    // The same query again: what the failed ones held was given back.
    out_of_memory(
        &client,
        "SELECT pad, count(*) FROM t GROUP BY pad HAVING count(*) > 1",
    )
    .await;

    // The connection goes on: planned queries that fit, a point lookup in
    // both protocols, writes.
    let groups = client
        .query("SELECT k, count(*) FROM t GROUP BY k ORDER BY k", &[])
        .await
        .unwrap();
    assert_eq!(groups.len(), 10);
    assert!(groups.iter().all(|r| r.get::<_, i64>(1) == ROWS / 10));
    let row = client
        .query_one("SELECT k, pad FROM t WHERE id = $1", &[&4242_i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert_eq!(row.get::<_, String>(1), format!("{}4242", "x".repeat(100)));
    let lookup = client
        .simple_query("SELECT k FROM t WHERE id = 77")
        .await
        .unwrap();
    assert!(lookup.iter().any(|m| matches!(
        m,
        tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("7")
    )));
    client
        .batch_execute("INSERT INTO t VALUES (0, 0, 'zero')")
        .await
        .unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM t").await, ROWS + 1);

    // In a transaction block, the failure aborts the block as any error does.
    client.batch_execute("BEGIN").await.unwrap();
    out_of_memory(&client, "SELECT id, pad FROM t ORDER BY pad").await;
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();

    // And the server serves new connections.
    let other = server.connect("prism").await.expect("connect again");
    assert_eq!(
        count(&other, "SELECT count(*) FROM t WHERE id <= 1000").await,
        1001
    );
    assert_eq!(count(&client, "SELECT 1::bigint").await, 1);
}

/// The server's threads named `prism-analytics` (the runtime's workers and
/// any blocking threads it started): at least `workers` of them, each under
/// the normal policy at `DEFAULT_NICE` nice steps below the main thread.
#[cfg(target_os = "linux")]
fn analytics_threads_are_named_and_weighted(pid: u32, workers: usize) {
    const SCHED_OTHER: i64 = 0;
    // Fields after the command's closing parenthesis start at field 3
    // (state); the nice value is field 19, the scheduling policy field 41.
    let field = |stat: &str, n: usize| -> i64 {
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        after
            .split_whitespace()
            .nth(n - 3)
            .unwrap()
            .parse()
            .unwrap()
    };
    let main = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let expected_nice = (field(&main, 19) + i64::from(prismdb_exec::DEFAULT_NICE)).min(19);
    // Worker threads start (and lower their priority) on their own
    // schedule: look again until all are up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut found = 0;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let dir = task.unwrap().path();
            let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
                continue;
            };
            if comm.trim() == "prism-analytics"
                && field(&stat, 41) == SCHED_OTHER
                && field(&stat, 19) == expected_nice
            {
                found += 1;
            }
        }
        if found >= workers {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{found} analytics threads at nice {expected_nice}, expected {workers}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

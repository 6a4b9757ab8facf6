//! Seeded fuzzing of a real server, bounded in time: SQL from a grammar of
//! nested expressions, subqueries, casts and huge literals, over both
//! protocols; and wire-protocol message sequences, well-formed and
//! mutated, including start-up packets. The server must stay up, every
//! error must carry a SQLSTATE, and nothing may hang.
//!
//! `PRISM_FUZZ_SECONDS` sets each fuzzer's time budget (default 20) and
//! `PRISM_FUZZ_SEED` its first seed; a failure names the seed and the
//! input that reproduces it.

use prismdb_testkit::TestServer;
use prismdb_testkit::fuzz::{SQL_FUZZ_TABLE, SqlFuzzer, WireFuzzer};
use prismdb_testkit::wire::{RawConn, message, query, startup};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

fn budget() -> Duration {
    let secs = std::env::var("PRISM_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}

fn first_seed() -> u64 {
    std::env::var("PRISM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

async fn alive(server: &TestServer) {
    let c = server
        .connect("prism")
        .await
        .expect("the server accepts connections");
    let one: i32 = c.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_sql_fuzzing_never_crashes_hangs_or_loses_a_sqlstate() {
    let server = TestServer::start_with_args(BIN, &["--fsync", "false"])
        .await
        .expect("start prismdb");
    let client = server.connect("prism").await.unwrap();
    client.batch_execute(SQL_FUZZ_TABLE).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO fz SELECT x, x % 17, 'v' || x, x / 3.0 FROM generate_series(1, 300) AS s(x);
             SET statement_timeout = '3s'",
        )
        .await
        .unwrap();
    let seed = first_seed();
    let mut fuzzer = SqlFuzzer::new(seed);
    let deadline = Instant::now() + budget();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut statements = 0;
    while Instant::now() < deadline {
        let sql = fuzzer.statement();
        let extended = statements % 2 == 1;
        statements += 1;
        let run = async {
            if extended {
                client.query(sql.as_str(), &[]).await.map(|_| ())
            } else {
                client.simple_query(&sql).await.map(|_| ())
            }
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: no answer in 120 s to: {sql}"));
        let took = started.elapsed();
        if took > Duration::from_secs(5) {
            eprintln!("seed {seed}: {took:?} for: {}", &sql[..sql.len().min(300)]);
        }
        let code = match outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => match e.as_db_error() {
                Some(db) if db.code().code() == "XX000" => {
                    eprintln!(
                        "seed {seed}: XX000 {} for: {}",
                        db.message(),
                        &sql[..sql.len().min(300)]
                    );
                    "XX000".to_string()
                }
                Some(db) => db.code().code().to_string(),
                None => panic!("seed {seed}: the connection failed ({e}) on: {sql}"),
            },
        };
        *codes.entry(code).or_default() += 1;
        // An aborted transaction never stays open: statements run in
        // autocommit, but a fuzzed BEGIN-less error must not wedge either.
        if client.is_closed() {
            panic!("seed {seed}: the connection closed after: {sql}");
        }
    }
    eprintln!("seed {seed}: {statements} statements, outcomes {codes:?}");
    assert!(codes.get("ok").copied().unwrap_or(0) > 0);
    assert!(!server.log_contents().contains("overflowed its stack"));
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_wire_fuzzing_never_crashes_hangs_or_loses_a_sqlstate() {
    let server = TestServer::start_with_args(BIN, &["--fsync", "false"])
        .await
        .expect("start prismdb");
    let port = server.pg_port();
    let seed = first_seed();
    let deadline = Instant::now() + budget();
    let mut rounds = 0u64;
    let mut closed_by_server = 0u64;
    while Instant::now() < deadline {
        let mut fuzzer = WireFuzzer::new(seed.wrapping_mul(1_000_003).wrapping_add(rounds));
        rounds += 1;
        let mut conn = RawConn::connect(port).await.unwrap();
        conn.timeout = Duration::from_secs(60);
        let mut bytes = if rounds.is_multiple_of(5) {
            fuzzer.startup()
        } else {
            startup("prism", "prism")
        };
        for _ in 0..3 {
            bytes.extend(fuzzer.sequence());
        }
        bytes.extend(message(b'S', b""));
        bytes.extend(query("SELECT 1"));
        let sent = bytes.clone();
        // Everything at once, then the end of the stream: the server must
        // answer what it can read and close, whatever the bytes were.
        let _ = conn.send(&bytes).await;
        let _ = conn.finish().await;
        let reply = match conn.until_closed().await {
            Ok(reply) => reply,
            Err(e) => panic!("round {rounds} (seed {seed}): {e}; sent {sent:?}"),
        };
        for m in &reply {
            if m.kind == b'E' {
                assert!(
                    m.sqlstate().is_some(),
                    "round {rounds}: an ErrorResponse without SQLSTATE: {m:?}"
                );
            }
        }
        if reply
            .iter()
            .any(|m| m.severity().as_deref() == Some("FATAL"))
        {
            closed_by_server += 1;
        }
    }
    eprintln!("seed {seed}: {rounds} rounds, {closed_by_server} ended with FATAL");
    // A well-behaved client still gets its answers.
    let mut conn = RawConn::start(port, "prism", "prism").await.unwrap();
    conn.send(&query("SELECT 42")).await.unwrap();
    assert!(
        conn.until_ready()
            .await
            .unwrap()
            .iter()
            .any(|m| m.kind == b'D')
    );
    let log = server.log_contents();
    assert!(!log.contains("panicked"), "a panic in the server log");
    alive(&server).await;
    let _ = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap()
        .shutdown()
        .await;
}

//! Durability across a hard crash: rows acknowledged before `kill -9` are all
//! there after a restart on the same data directory; a COMMITted explicit
//! transaction survives; a transaction still open at kill time leaves no trace.

use prismdb_testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn acknowledged_rows_survive_kill9() {
    let mut server = TestServer::start(BIN).await.expect("start prismdb");
    let client = server.connect("prism").await.unwrap();
    client
        .batch_execute("CREATE TABLE durable (id integer PRIMARY KEY, payload text)")
        .await
        .unwrap();
    for i in 0..200 {
        let n = client
            .execute(
                "INSERT INTO durable VALUES ($1, $2)",
                &[&i, &format!("row-{i}")],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "insert {i} acknowledged one row");
    }
    // One more multi-row statement via the simple protocol.
    client
        .simple_query("INSERT INTO durable VALUES (1000, 'a'), (1001, 'b'), (1002, 'c')")
        .await
        .unwrap();
    drop(client);

    server.kill9();
    server.restart().await.expect("restart after kill -9");

    let client = server.connect("prism").await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM durable").await, 203);
    let rows = client
        .query(
            "SELECT id, payload FROM durable WHERE id < 200 ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 200);
    for (i, row) in rows.iter().enumerate() {
        let id: i32 = row.get(0);
        let payload: String = row.get(1);
        assert_eq!(id, i as i32);
        assert_eq!(payload, format!("row-{i}"));
    }
    // The server keeps accepting writes after recovery.
    client
        .execute("INSERT INTO durable VALUES (5000, 'after restart')", &[])
        .await
        .unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM durable").await, 204);
}

#[tokio::test]
async fn committed_transaction_survives_open_one_does_not() {
    let mut server = TestServer::start(BIN).await.expect("start prismdb");
    let setup = server.connect("prism").await.unwrap();
    setup
        .batch_execute("CREATE TABLE ledger (id integer PRIMARY KEY, who text)")
        .await
        .unwrap();

    // A committed explicit transaction.
    let committed = server.connect("prism").await.unwrap();
    committed.batch_execute("BEGIN").await.unwrap();
    for i in 1..=5 {
        committed
            .execute("INSERT INTO ledger VALUES ($1, 'committed')", &[&i])
            .await
            .unwrap();
    }
    committed.batch_execute("COMMIT").await.unwrap();

    // A transaction left open when the server dies.
    let open = server.connect("prism").await.unwrap();
    open.batch_execute("BEGIN").await.unwrap();
    for i in 100..=105 {
        open.execute("INSERT INTO ledger VALUES ($1, 'open')", &[&i])
            .await
            .unwrap();
    }
    open.execute("DELETE FROM ledger WHERE id = 1", &[])
        .await
        .unwrap();
    // Its own writes are visible to it before the crash.
    assert_eq!(count(&open, "SELECT count(*) FROM ledger").await, 10);

    server.kill9();
    drop((setup, committed, open));
    server.restart().await.expect("restart after kill -9");

    let client = server.connect("prism").await.unwrap();
    let rows = client
        .query("SELECT id, who FROM ledger ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want: Vec<(i32, String)> = (1..=5).map(|i| (i, "committed".to_string())).collect();
    assert_eq!(got, want, "committed rows present, open transaction absent");

    // The keys the open transaction used are free.
    client
        .execute("INSERT INTO ledger VALUES (100, 'reused')", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn ddl_and_updates_survive_two_crashes() {
    let mut server = TestServer::start(BIN).await.expect("start prismdb");
    {
        let c = server.connect("prism").await.unwrap();
        c.batch_execute(
            "CREATE TABLE kv (k text PRIMARY KEY, v bigint);
             INSERT INTO kv VALUES ('a', 1), ('b', 2), ('c', 3);",
        )
        .await
        .unwrap();
        assert_eq!(c.execute("UPDATE kv SET v = v * 10", &[]).await.unwrap(), 3);
        assert_eq!(
            c.execute("DELETE FROM kv WHERE k = 'b'", &[])
                .await
                .unwrap(),
            1
        );
    }
    server.kill9();
    server.restart().await.expect("first restart");
    {
        let c = server.connect("prism").await.unwrap();
        c.batch_execute("CREATE DATABASE second_db").await.unwrap();
        c.execute("INSERT INTO kv VALUES ('d', 40)", &[])
            .await
            .unwrap();
    }
    server.kill9();
    server.restart().await.expect("second restart");

    let c = server.connect("prism").await.unwrap();
    let rows = c
        .query("SELECT k, v FROM kv ORDER BY k", &[])
        .await
        .unwrap();
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![("a".into(), 10), ("c".into(), 30), ("d".into(), 40)]
    );
    // The database created between the crashes exists.
    let other = server
        .connect("second_db")
        .await
        .expect("connect to second_db");
    other
        .batch_execute("CREATE TABLE t (a integer)")
        .await
        .unwrap();
}

//! Extended-protocol behaviour through tokio-postgres: typed parameters of
//! every supported type with binary round-trips, result types of literals,
//! parameter type inference, named statement reuse, recovery after errors,
//! the aborted-transaction state (25P02 until ROLLBACK), affected-row counts
//! from command tags, unknown databases (3D000), per-database table
//! namespaces, and concurrent autocommit updates of one row losing no
//! increments.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use prismdb_testkit::{TestServer, sqlstate};
use rust_decimal::Decimal;
use std::str::FromStr;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

async fn start() -> (TestServer, Client) {
    let server = TestServer::start(BIN).await.expect("start prismdb");
    let client = server.connect("prism").await.expect("connect");
    (server, client)
}

fn code(err: &tokio_postgres::Error) -> String {
    sqlstate(err).unwrap_or_else(|| format!("no SQLSTATE: {err}"))
}

#[tokio::test]
async fn parameters_of_every_type_round_trip() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE typed (
                id integer PRIMARY KEY,
                c_int2 smallint,
                c_int8 bigint,
                c_float4 real,
                c_float8 double precision,
                c_numeric numeric(12, 3),
                c_text text,
                c_varchar varchar(10),
                c_bool boolean,
                c_date date,
                c_ts timestamp,
                c_tstz timestamptz,
                c_bytea bytea
            )",
        )
        .await
        .unwrap();

    let insert = client
        .prepare(
            "INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .await
        .unwrap();

    let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let ts: NaiveDateTime = date.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
    let tstz: DateTime<Utc> = DateTime::from_naive_utc_and_offset(
        NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap(),
        Utc,
    );
    let numeric = Decimal::from_str("-12345.678").unwrap();
    let bytes: Vec<u8> = vec![0, 1, 2, 254, 255];
    let n = client
        .execute(
            &insert,
            &[
                &1i32,
                &-32768i16,
                &9_223_372_036_854_775_807i64,
                &1.5f32,
                &0.1f64,
                &numeric,
                &"héllo 'quoted'",
                &"short",
                &true,
                &date,
                &ts,
                &tstz,
                &bytes,
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    // All NULLs through typed Option parameters.
    let none_i16: Option<i16> = None;
    let none_i64: Option<i64> = None;
    let none_f32: Option<f32> = None;
    let none_f64: Option<f64> = None;
    let none_dec: Option<Decimal> = None;
    let none_str: Option<&str> = None;
    let none_bool: Option<bool> = None;
    let none_date: Option<NaiveDate> = None;
    let none_ts: Option<NaiveDateTime> = None;
    let none_tstz: Option<DateTime<Utc>> = None;
    let none_bytes: Option<Vec<u8>> = None;
    client
        .execute(
            &insert,
            &[
                &2i32,
                &none_i16,
                &none_i64,
                &none_f32,
                &none_f64,
                &none_dec,
                &none_str,
                &none_str,
                &none_bool,
                &none_date,
                &none_ts,
                &none_tstz,
                &none_bytes,
            ],
        )
        .await
        .unwrap();

    let row = client
        .query_one("SELECT * FROM typed WHERE id = $1", &[&1i32])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>("id"), 1);
    assert_eq!(row.get::<_, i16>("c_int2"), -32768);
    assert_eq!(row.get::<_, i64>("c_int8"), 9_223_372_036_854_775_807);
    assert_eq!(row.get::<_, f32>("c_float4"), 1.5);
    assert_eq!(row.get::<_, f64>("c_float8"), 0.1);
    assert_eq!(row.get::<_, Decimal>("c_numeric"), numeric);
    assert_eq!(row.get::<_, &str>("c_text"), "héllo 'quoted'");
    assert_eq!(row.get::<_, &str>("c_varchar"), "short");
    assert!(row.get::<_, bool>("c_bool"));
    assert_eq!(row.get::<_, NaiveDate>("c_date"), date);
    assert_eq!(row.get::<_, NaiveDateTime>("c_ts"), ts);
    assert_eq!(row.get::<_, DateTime<Utc>>("c_tstz"), tstz);
    assert_eq!(row.get::<_, Vec<u8>>("c_bytea"), bytes);

    let row = client
        .query_one("SELECT * FROM typed WHERE id = 2", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i16>>("c_int2"), None);
    assert_eq!(row.get::<_, Option<Decimal>>("c_numeric"), None);
    assert_eq!(row.get::<_, Option<&str>>("c_text"), None);
    assert_eq!(row.get::<_, Option<DateTime<Utc>>>("c_tstz"), None);
    assert_eq!(row.get::<_, Option<Vec<u8>>>("c_bytea"), None);

    // Result column types are described correctly.
    let stmt = client
        .prepare("SELECT c_int2, c_int8, c_float4, c_float8, c_numeric, c_text, c_varchar, c_bool, c_date, c_ts, c_tstz, c_bytea, id FROM typed")
        .await
        .unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            Type::INT2,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::VARCHAR,
            Type::BOOL,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::BYTEA,
            Type::INT4
        ]
    );

    // Parameters in expressions and WHERE clauses. (Integer literals mixed
    // with columns or parameters are bigint in PrismDB, so the literal is
    // cast to keep the sum an integer as in PostgreSQL.)
    let row = client
        .query_one(
            "SELECT $1::integer + 1::integer, $2::text || '!', $3::numeric * 2",
            &[&41i32, &"hi", &Decimal::from_str("1.25").unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    assert_eq!(row.get::<_, String>(1), "hi!");
    assert_eq!(row.get::<_, Decimal>(2), Decimal::from_str("2.50").unwrap());
    let rows = client
        .query(
            "SELECT id FROM typed WHERE c_date = $1 AND c_bool = $2",
            &[&date, &true],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn parameter_types_are_inferred_from_target_columns() {
    let (_server, client) = start().await;
    client
        .batch_execute(
            "CREATE TABLE inferred (a integer, b smallint, c bigint, d real, e double precision,
                f numeric(6,2), g text, h varchar(5), i boolean, j date, k timestamp,
                l timestamptz, m bytea)",
        )
        .await
        .unwrap();
    let insert = client
        .prepare(
            "INSERT INTO inferred VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        &[
            Type::INT4,
            Type::INT2,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            // PostgreSQL says varchar here; PrismDB describes every string
            // parameter as text, which clients bind the same way.
            Type::TEXT,
            Type::BOOL,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::BYTEA
        ]
    );
    let select = client
        .prepare("SELECT a FROM inferred WHERE c > $1 AND g = $2 AND j < $3")
        .await
        .unwrap();
    assert_eq!(select.params(), &[Type::INT8, Type::TEXT, Type::DATE]);
    let update = client
        .prepare("UPDATE inferred SET f = $1 WHERE i = $2")
        .await
        .unwrap();
    assert_eq!(update.params(), &[Type::NUMERIC, Type::BOOL]);
}

#[tokio::test]
async fn literal_result_types_match_postgres() {
    let (_server, client) = start().await;
    let stmt = client
        .prepare("SELECT 1, 3000000000, 1.5, 'a', true, 1.5::float8, NULL::text, 1 + 1, count(*) FROM (SELECT 1) AS t")
        .await
        .unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            Type::INT4,
            Type::INT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::BOOL,
            Type::FLOAT8,
            Type::TEXT,
            Type::INT4,
            Type::INT8
        ]
    );
    let row = client.query_one(&stmt, &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    assert_eq!(row.get::<_, i64>(1), 3_000_000_000);
    assert_eq!(row.get::<_, Decimal>(2), Decimal::from_str("1.5").unwrap());
    assert_eq!(row.get::<_, &str>(3), "a");
    assert!(row.get::<_, bool>(4));
    assert_eq!(row.get::<_, Option<&str>>(6), None);
    assert_eq!(row.get::<_, i32>(7), 2);
    assert_eq!(row.get::<_, i64>(8), 1);
}

#[tokio::test]
async fn named_statement_is_reusable() {
    let (_server, client) = start().await;
    client
        .batch_execute("CREATE TABLE reuse (id integer PRIMARY KEY, v text)")
        .await
        .unwrap();
    let insert = client
        .prepare("INSERT INTO reuse VALUES ($1, $2)")
        .await
        .unwrap();
    let select = client
        .prepare("SELECT v FROM reuse WHERE id = $1")
        .await
        .unwrap();
    for i in 0..50i32 {
        assert_eq!(
            client
                .execute(&insert, &[&i, &format!("v{i}")])
                .await
                .unwrap(),
            1
        );
    }
    for i in (0..50i32).rev() {
        let row = client.query_one(&select, &[&i]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), format!("v{i}"));
    }
    assert!(
        client
            .query_opt(&select, &[&1000i32])
            .await
            .unwrap()
            .is_none()
    );
    // A statement prepared before a table change still runs afterwards.
    client
        .execute("DELETE FROM reuse WHERE id < 25", &[])
        .await
        .unwrap();
    assert!(client.query_opt(&select, &[&3i32]).await.unwrap().is_none());
    assert_eq!(
        client
            .query_one(&select, &[&30i32])
            .await
            .unwrap()
            .get::<_, String>(0),
        "v30"
    );
}

#[tokio::test]
async fn errors_leave_connection_usable() {
    let (_server, client) = start().await;
    let err = client.query("SELECT 1 / 0", &[]).await.unwrap_err();
    assert_eq!(code(&err), "22012");
    let err = client.prepare("SELEC 1").await.unwrap_err();
    assert_eq!(code(&err), "42601");
    let err = client.query("SELECT * FROM nope", &[]).await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let err = client.simple_query("SELECT * FROM nope").await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let row = client.query_one("SELECT 7::integer", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);

    // An error while executing a bound portal (not at parse time).
    client
        .batch_execute("CREATE TABLE divs (a integer)")
        .await
        .unwrap();
    client
        .execute("INSERT INTO divs VALUES (1), (0)", &[])
        .await
        .unwrap();
    let stmt = client
        .prepare("SELECT 10 / a FROM divs WHERE a <= $1")
        .await
        .unwrap();
    let err = client.query(&stmt, &[&1i32]).await.unwrap_err();
    assert_eq!(code(&err), "22012");
    let rows = client.query(&stmt, &[&-5i32]).await.unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn failed_transaction_is_aborted_until_rollback() {
    let (_server, client) = start().await;
    client
        .batch_execute("CREATE TABLE ab (id integer PRIMARY KEY)")
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute("INSERT INTO ab VALUES (1)", &[])
        .await
        .unwrap();
    let err = client
        .execute("INSERT INTO ab VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "23505");
    let err = client.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(code(&err), "25P02", "extended protocol in aborted block");
    let err = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "25P02", "simple protocol in aborted block");
    client.batch_execute("ROLLBACK").await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM ab", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);

    // The same through the client library's transaction API.
    let mut client = client;
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO ab VALUES (10)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO ab VALUES (11)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    let rows = client
        .query("SELECT id FROM ab ORDER BY id", &[])
        .await
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![10]);
}

#[tokio::test]
async fn command_tags_report_row_counts() {
    let (_server, client) = start().await;
    assert_eq!(
        client
            .execute("CREATE TABLE tags (id integer PRIMARY KEY, v integer)", &[])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        client
            .execute(
                "INSERT INTO tags VALUES (1, 1), (2, 2), (3, 3), (4, 4)",
                &[]
            )
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        client
            .execute("UPDATE tags SET v = v + 1 WHERE id <= $1", &[&3i32])
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        client
            .execute("UPDATE tags SET v = 0 WHERE id = 99", &[])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        client
            .execute("DELETE FROM tags WHERE v > 3", &[])
            .await
            .unwrap(),
        2
    );
    assert_eq!(client.execute("SELECT * FROM tags", &[]).await.unwrap(), 2);
    assert_eq!(
        client
            .execute("INSERT INTO tags SELECT id + 10, v FROM tags", &[])
            .await
            .unwrap(),
        2
    );
    // Simple protocol: one CommandComplete per statement.
    let msgs = client
        .simple_query("INSERT INTO tags VALUES (20, 0); DELETE FROM tags WHERE id >= 10")
        .await
        .unwrap();
    let counts: Vec<u64> = msgs
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(counts, vec![1, 3]);
}

#[tokio::test]
async fn unknown_database_is_3d000_and_databases_are_separate() {
    let (server, client) = start().await;
    let err = server
        .pg_config("no_such_database")
        .connect(NoTls)
        .await
        .err()
        .expect("connecting to a missing database must fail");
    assert_eq!(code(&err), "3D000");

    client
        .batch_execute("CREATE DATABASE other_db")
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE TABLE only_in_prism (a integer); INSERT INTO only_in_prism VALUES (1)",
        )
        .await
        .unwrap();
    let other = server.connect("other_db").await.expect("connect other_db");
    let err = other
        .query("SELECT * FROM only_in_prism", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42P01");
    // The same table name can exist independently in both databases.
    other
        .batch_execute(
            "CREATE TABLE only_in_prism (a integer); INSERT INTO only_in_prism VALUES (2), (3)",
        )
        .await
        .unwrap();
    let n: i64 = other
        .query_one("SELECT count(*) FROM only_in_prism", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    let n: i64 = client
        .query_one("SELECT count(*) FROM only_in_prism", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let db: String = other
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(db, "other_db");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_autocommit_increments_are_not_lost() {
    let (server, client) = start().await;
    client
        .batch_execute("CREATE TABLE counter (id integer PRIMARY KEY, n bigint); INSERT INTO counter VALUES (1, 0)")
        .await
        .unwrap();
    let a = server.connect("prism").await.unwrap();
    let b = server.connect("prism").await.unwrap();
    async fn bump(c: &Client) {
        let stmt = c
            .prepare("UPDATE counter SET n = n + 1 WHERE id = 1")
            .await
            .unwrap();
        for _ in 0..100 {
            let n = c.execute(&stmt, &[]).await.expect("autocommit UPDATE");
            assert_eq!(n, 1);
        }
    }
    tokio::join!(bump(&a), bump(&b));
    let n: i64 = client
        .query_one("SELECT n FROM counter WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 200);
}

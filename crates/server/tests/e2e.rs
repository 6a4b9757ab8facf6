//! End-to-end tests of the wire protocol: a fake engine behind `serve`,
//! driven by tokio-postgres, by a hand-rolled protocol client (for what
//! drivers hide: ReadyForQuery states, row limits, error recovery in a
//! pipeline) and by psql when it is installed.

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use bytes::{Buf, BufMut, BytesMut};
use futures::stream;
use prismdb_common::{Error, Result, Value};
use prismdb_server::{
    Authentication, ConnectionThreads, Metrics, QueryResult, Rows, SqlEngine, SqlSession,
    StartupParams, TxnState, serve,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::NoTls;
use tokio_postgres::types::Type;

/// 2024-01-02 03:04:05 UTC in microseconds.
const T: i64 = 1_704_164_645_000_000;

struct FakeEngine;

struct FakeSession {
    txn: TxnState,
    changes: Vec<(String, String)>,
}

/// A prepared statement of the fake engine.
enum FakeStatement {
    /// `select $1, $2, ...`: returns its parameters as one row.
    Echo(Vec<DataType>),
    /// `select * from t`: the fixed table.
    Table,
    /// `insert ...`: no rows.
    Insert,
}

fn table_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("price", DataType::Decimal128(10, 2), true),
        Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("f", DataType::Float64, true),
    ]))
}

fn table() -> Rows {
    let schema = table_schema();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        Arc::new(
            Decimal128Array::from(vec![1050, -5, 0])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(TimestampMicrosecondArray::from(vec![T, T + 500_000, T])),
        Arc::new(BooleanArray::from(vec![true, false, true])),
        Arc::new(Float64Array::from(vec![0.1, 1e20, f64::NAN])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    // Two batches, to cross a batch boundary when rows are limited.
    let (first, second) = (batch.slice(0, 2), batch.slice(2, 1));
    Rows {
        schema,
        batches: Box::pin(stream::iter(vec![Ok(first), Ok(second)])),
    }
}

fn one() -> Rows {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "?column?",
        DataType::Int32,
        false,
    )]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1]))]).unwrap();
    Rows {
        schema,
        batches: Box::pin(stream::iter(vec![Ok(batch)])),
    }
}

fn echo_schema(types: &[DataType]) -> SchemaRef {
    let fields: Vec<Field> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = if *t == DataType::Null {
                DataType::Utf8
            } else {
                t.clone()
            };
            Field::new(format!("p{}", i + 1), t, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn echo(types: &[DataType], params: Vec<Value>) -> Result<Rows> {
    let schema = echo_schema(types);
    let columns = params
        .into_iter()
        .zip(schema.fields())
        .map(|(v, f)| -> Result<ArrayRef> {
            Ok(match (f.data_type(), v) {
                (DataType::Int64, Value::Int64(n)) => Arc::new(Int64Array::from(vec![n])),
                (DataType::Int64, Value::Null) => Arc::new(Int64Array::from(vec![None])),
                (DataType::Utf8, Value::Text(s)) if s == "fail" => {
                    return Err(Error::DivisionByZero("division by zero".into()));
                }
                (DataType::Utf8, Value::Text(s)) => Arc::new(StringArray::from(vec![s])),
                (DataType::Utf8, Value::Null) => Arc::new(StringArray::from(vec![None::<String>])),
                (t, v) => return Err(Error::DatatypeMismatch(format!("{v:?} for {t}"))),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Rows {
        schema,
        batches: Box::pin(stream::iter(vec![Ok(batch)])),
    })
}

#[async_trait]
impl SqlEngine for FakeEngine {
    type Session = FakeSession;

    /// `secure` logs in with the password `s3cret`; everyone else by name.
    fn authentication(&self, user: &str) -> Authentication {
        match user {
            "secure" => Authentication::Scram(Some(prismdb_common::scram::make_verifier(
                "s3cret",
                b"0123456789abcdef",
                4096,
            ))),
            "nobody" => Authentication::Scram(None),
            _ => Authentication::Trust,
        }
    }

    async fn connect(&self, params: &StartupParams) -> Result<FakeSession> {
        if params.database != "prism" {
            return Err(Error::UndefinedDatabase(format!(
                "database \"{}\" does not exist",
                params.database
            )));
        }
        Ok(FakeSession {
            txn: TxnState::Idle,
            changes: Vec::new(),
        })
    }
}

impl FakeSession {
    fn run(&mut self, sql: &str) -> Result<QueryResult> {
        if self.txn == TxnState::Failed && !sql.eq_ignore_ascii_case("rollback") {
            return Err(Error::InFailedTransaction);
        }
        let result = match sql.to_ascii_lowercase().as_str() {
            "begin" => {
                self.txn = TxnState::InBlock;
                QueryResult::command("BEGIN")
            }
            "commit" | "rollback" => {
                self.txn = TxnState::Idle;
                QueryResult::command(sql.to_ascii_uppercase())
            }
            "set timezone" => {
                self.changes
                    .push(("TimeZone".into(), "Europe/Paris".into()));
                QueryResult::command("SET")
            }
            "select 1" => QueryResult {
                tag: "SELECT".into(),
                rows: Some(one()),
                copy_out: None,
            },
            "select * from t" => QueryResult {
                tag: "SELECT".into(),
                rows: Some(table()),
                copy_out: None,
            },
            s if s.starts_with("insert") => QueryResult::command("INSERT 0 1"),
            _ => {
                if self.txn == TxnState::InBlock {
                    self.txn = TxnState::Failed;
                }
                return Err(Error::UndefinedTable(format!(
                    "relation \"{sql}\" does not exist"
                )));
            }
        };
        Ok(result)
    }
}

#[async_trait]
impl SqlSession for FakeSession {
    type Statement = FakeStatement;
    type SimpleStatement = String;

    fn simple_statements(&mut self, sql: &str) -> Result<Vec<String>> {
        Ok(sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }

    async fn run_simple(&mut self, statement: String, _sql: &Arc<str>) -> Result<QueryResult> {
        self.run(&statement)
    }

    async fn prepare(&mut self, sql: &str, hints: &[Option<DataType>]) -> Result<FakeStatement> {
        let sql = sql.trim().to_ascii_lowercase();
        if sql == "select * from t" {
            return Ok(FakeStatement::Table);
        }
        if sql.starts_with("insert") {
            return Ok(FakeStatement::Insert);
        }
        if let Some(list) = sql.strip_prefix("select ") {
            let count = list
                .split(',')
                .filter(|p| p.trim().starts_with('$'))
                .count();
            if count > 0 {
                let types = (0..count)
                    .map(|i| hints.get(i).cloned().flatten().unwrap_or(DataType::Null))
                    .collect();
                return Ok(FakeStatement::Echo(types));
            }
        }
        Err(Error::Syntax(format!("syntax error at or near \"{sql}\"")))
    }

    fn param_types(&self, stmt: &FakeStatement) -> Vec<DataType> {
        match stmt {
            FakeStatement::Echo(types) => types.clone(),
            _ => Vec::new(),
        }
    }

    fn result_schema(&self, stmt: &FakeStatement) -> Option<SchemaRef> {
        match stmt {
            FakeStatement::Echo(types) => Some(echo_schema(types)),
            FakeStatement::Table => Some(table_schema()),
            FakeStatement::Insert => None,
        }
    }

    async fn execute(&mut self, stmt: &FakeStatement, params: Vec<Value>) -> Result<QueryResult> {
        match stmt {
            FakeStatement::Echo(types) => Ok(QueryResult {
                tag: "SELECT".into(),
                rows: Some(echo(types, params)?),
                copy_out: None,
            }),
            FakeStatement::Table => Ok(QueryResult {
                tag: "SELECT".into(),
                rows: Some(table()),
                copy_out: None,
            }),
            FakeStatement::Insert => Ok(QueryResult::command("INSERT 0 1")),
        }
    }

    fn txn_state(&self) -> TxnState {
        self.txn
    }

    fn take_parameter_changes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changes)
    }

    fn backend_pid(&self) -> i32 {
        4242
    }

    fn canceller(&self) -> prismdb_server::Canceller {
        Arc::new(|| {})
    }
}

struct TestServer {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            Arc::new(FakeEngine),
            listener,
            metrics.clone(),
            // Connections on threads of their own, as a node serves them.
            Arc::new(ConnectionThreads::start(2).unwrap()),
            prismdb_server::CancelRegistry::new(),
            None,
            stopped,
        ));
        TestServer {
            addr,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    async fn client(&self) -> tokio_postgres::Client {
        let config = format!(
            "host=127.0.0.1 port={} user=prism dbname=prism",
            self.addr.port()
        );
        let (client, connection) = tokio_postgres::connect(&config, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn simple_query_returns_text_rows_and_counts() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let messages = client.simple_query("select * from t").await.unwrap();
    let rows: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 3);
    let first: Vec<Option<&str>> = (0..6).map(|i| rows[0].get(i)).collect();
    assert_eq!(
        first,
        [
            Some("1"),
            Some("a"),
            Some("10.50"),
            Some("2024-01-02 03:04:05"),
            Some("t"),
            Some("0.1")
        ]
    );
    let second: Vec<Option<&str>> = (0..6).map(|i| rows[1].get(i)).collect();
    assert_eq!(
        second,
        [
            Some("2"),
            None,
            Some("-0.05"),
            Some("2024-01-02 03:04:05.5"),
            Some("f"),
            Some("1e+20")
        ]
    );
    assert_eq!(rows[2].get(5), Some("NaN"));
    assert!(matches!(
        messages.last(),
        Some(tokio_postgres::SimpleQueryMessage::CommandComplete(3))
    ));

    // Several statements in one Query.
    let messages = client
        .simple_query("begin; insert into t values (1); commit")
        .await
        .unwrap();
    let counts: Vec<u64> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(counts, [0, 1, 0]);

    let text = server.metrics.encode();
    assert!(
        text.contains("prismdb_queries_total{kind=\"select\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("prismdb_queries_total{kind=\"txn\"} 2"),
        "{text}"
    );
    assert!(text.contains("prismdb_connections_open 1"), "{text}");

    // The gauge follows the client out.
    drop(client);
    for _ in 0..100 {
        if server
            .metrics
            .encode()
            .contains("prismdb_connections_open 0")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server
            .metrics
            .encode()
            .contains("prismdb_connections_open 0")
    );
    server.stop().await;
}

#[tokio::test]
async fn prepared_queries_bind_binary_params_and_read_binary_rows() {
    let server = TestServer::start().await;
    let client = server.client().await;

    let stmt = client
        .prepare_typed("select $1, $2", &[Type::INT8, Type::TEXT])
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT]);
    assert_eq!(
        stmt.columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect::<Vec<_>>(),
        [Type::INT8, Type::TEXT]
    );
    let row = client.query_one(&stmt, &[&42i64, &"héllo"]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    assert_eq!(row.get::<_, &str>(1), "héllo");
    // The same statement again, with NULLs.
    let row = client
        .query_one(&stmt, &[&None::<i64>, &None::<&str>])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i64>>(0), None);
    assert_eq!(row.get::<_, Option<&str>>(1), None);

    // A parameter of unknown type is described as text and passed as text.
    let row = client.query_one("select $1", &[&"plain"]).await.unwrap();
    assert_eq!(row.get::<_, &str>(0), "plain");

    // Every column type in binary.
    let rows = client.query("select * from t", &[]).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    assert_eq!(rows[1].get::<_, Option<&str>>(1), None);
    assert_eq!(
        rows[0].get::<_, rust_decimal::Decimal>(2).to_string(),
        "10.50"
    );
    assert_eq!(
        rows[1].get::<_, rust_decimal::Decimal>(2).to_string(),
        "-0.05"
    );
    let at: SystemTime = rows[1].get(3);
    assert_eq!(
        at.duration_since(UNIX_EPOCH).unwrap().as_micros() as i64,
        T + 500_000
    );
    assert!(!rows[1].get::<_, bool>(4));
    assert_eq!(rows[1].get::<_, f64>(5), 1e20);

    // A statement without rows.
    assert_eq!(
        client
            .execute("insert into t values (1)", &[])
            .await
            .unwrap(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn errors_leave_the_connection_usable() {
    let server = TestServer::start().await;
    let client = server.client().await;

    let err = client.simple_query("no such thing").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42P01");
    assert_eq!(client.simple_query("select 1").await.unwrap().len(), 3);

    // Parse fails: pgwire skips to Sync, the next statement works.
    let err = client.prepare("not sql").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42601");
    // Execute fails.
    let err = client.query_one("select $1", &[&"fail"]).await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "22012");
    let stmt = client
        .prepare_typed("select $1", &[Type::INT8])
        .await
        .unwrap();
    let row = client.query_one(&stmt, &[&7i64]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 7);
    assert_eq!(client.query("select * from t", &[]).await.unwrap().len(), 3);

    let text = server.metrics.encode();
    assert!(
        text.contains("prismdb_errors_total{sqlstate=\"42P01\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("prismdb_errors_total{sqlstate=\"42601\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("prismdb_errors_total{sqlstate=\"22012\"} 1"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_database_is_fatal_3d000() {
    let server = TestServer::start().await;
    let config = format!(
        "host=127.0.0.1 port={} user=prism dbname=nope",
        server.addr.port()
    );
    let err = tokio_postgres::connect(&config, NoTls)
        .await
        .err()
        .expect("connect must fail");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "3D000");
    assert_eq!(db.severity(), "FATAL");
    server.stop().await;
}

#[tokio::test]
async fn scram_logins_need_the_right_password() {
    let server = TestServer::start().await;
    let config = |user: &str, password: &str| {
        format!(
            "host=127.0.0.1 port={} user={user} password={password} dbname=prism",
            server.addr.port()
        )
    };
    let (client, conn) = tokio_postgres::connect(&config("secure", "s3cret"), NoTls)
        .await
        .expect("the right password logs in");
    let task = tokio::spawn(conn);
    client.simple_query("SELECT 1").await.unwrap();
    drop(client);
    let _ = task.await;
    for (user, password) in [("secure", "wrong"), ("nobody", "s3cret")] {
        let err = tokio_postgres::connect(&config(user, password), NoTls)
            .await
            .err()
            .expect("a wrong password is refused");
        let db = err.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "28P01", "{user}");
        assert_eq!(db.severity(), "FATAL");
        assert_eq!(
            db.message(),
            format!("password authentication failed for user \"{user}\"")
        );
    }
    // A malformed SASL message ends the connection with an error, not a panic.
    let mut raw = Raw::startup(server.addr, "secure").await;
    assert_eq!(raw.recv().await.0, b'R', "the SASL request");
    let mut out = BytesMut::new();
    Raw::message(&mut out, b'p', b"SCRAM-SHA-256\0\x7f\xff\xff\xffxx");
    raw.send(&out).await;
    let (tag, body) = raw.recv().await;
    assert_eq!(tag, b'E', "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("08P01"));
    server.stop().await;
}

/// A minimal protocol client speaking raw messages.
struct Raw {
    stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> (Raw, Vec<(u8, Vec<u8>)>) {
        let mut raw = Raw::startup(addr, "prism").await;
        let startup = raw.until_ready().await;
        (raw, startup)
    }

    /// Sends a StartupMessage for `user` and nothing more.
    async fn startup(addr: SocketAddr, user: &str) -> Raw {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut raw = Raw {
            stream,
            buf: BytesMut::new(),
        };
        let mut body = BytesMut::new();
        body.put_i32(196_608);
        for (k, v) in [("user", user), ("application_name", "raw")] {
            body.put_slice(k.as_bytes());
            body.put_u8(0);
            body.put_slice(v.as_bytes());
            body.put_u8(0);
        }
        body.put_u8(0);
        let mut msg = BytesMut::new();
        msg.put_i32(body.len() as i32 + 4);
        msg.put_slice(&body);
        raw.stream.write_all(&msg).await.unwrap();
        raw
    }

    fn message(out: &mut BytesMut, tag: u8, body: &[u8]) {
        out.put_u8(tag);
        out.put_i32(body.len() as i32 + 4);
        out.put_slice(body);
    }

    async fn send(&mut self, messages: &BytesMut) {
        self.stream.write_all(messages).await.unwrap();
    }

    async fn recv(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buf.len() >= 5 {
                let len = i32::from_be_bytes(self.buf[1..5].try_into().unwrap()) as usize;
                if self.buf.len() > len {
                    let tag = self.buf.get_u8();
                    self.buf.advance(4);
                    return (tag, self.buf.split_to(len - 4).to_vec());
                }
            }
            let n =
                tokio::time::timeout(Duration::from_secs(5), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("server answers")
                    .unwrap();
            assert!(n > 0, "server closed the connection");
        }
    }

    async fn until_ready(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut messages = Vec::new();
        loop {
            let m = self.recv().await;
            let done = m.0 == b'Z';
            messages.push(m);
            if done {
                return messages;
            }
        }
    }

    async fn query(&mut self, sql: &str) -> Vec<(u8, Vec<u8>)> {
        let mut out = BytesMut::new();
        Self::message(&mut out, b'Q', &cstr(sql));
        self.send(&out).await;
        self.until_ready().await
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn tags(messages: &[(u8, Vec<u8>)]) -> String {
    messages.iter().map(|(t, _)| *t as char).collect()
}

fn ready_state(messages: &[(u8, Vec<u8>)]) -> u8 {
    let (tag, body) = messages.last().unwrap();
    assert_eq!(*tag, b'Z');
    body[0]
}

fn parse(out: &mut BytesMut, name: &str, sql: &str) {
    let mut body = cstr(name);
    body.extend(cstr(sql));
    body.extend(0i16.to_be_bytes());
    Raw::message(out, b'P', &body);
}

fn bind(out: &mut BytesMut, portal: &str, statement: &str) {
    let mut body = cstr(portal);
    body.extend(cstr(statement));
    body.extend(0i16.to_be_bytes()); // parameter formats
    body.extend(0i16.to_be_bytes()); // parameters
    body.extend(0i16.to_be_bytes()); // result formats
    Raw::message(out, b'B', &body);
}

fn execute(out: &mut BytesMut, portal: &str, max_rows: i32) {
    let mut body = cstr(portal);
    body.extend(max_rows.to_be_bytes());
    Raw::message(out, b'E', &body);
}

fn sync(out: &mut BytesMut) {
    Raw::message(out, b'S', &[]);
}

#[tokio::test]
async fn startup_reports_parameters_and_key() {
    let server = TestServer::start().await;
    let (_raw, startup) = Raw::connect(server.addr).await;
    assert_eq!(startup[0].0, b'R');
    let params: Vec<(String, String)> = startup
        .iter()
        .filter(|(t, _)| *t == b'S')
        .map(|(_, body)| {
            let mut parts = body
                .split(|b| *b == 0)
                .map(|p| String::from_utf8(p.to_vec()).unwrap());
            (parts.next().unwrap(), parts.next().unwrap())
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("server_version"), Some("15.0 (PrismDB)"));
    assert_eq!(get("server_encoding"), Some("UTF8"));
    assert_eq!(get("client_encoding"), Some("UTF8"));
    assert_eq!(get("DateStyle"), Some("ISO, MDY"));
    assert_eq!(get("TimeZone"), Some("UTC"));
    assert_eq!(get("integer_datetimes"), Some("on"));
    assert_eq!(get("standard_conforming_strings"), Some("on"));
    assert_eq!(get("application_name"), Some("raw"));
    assert!(startup.iter().any(|(t, _)| *t == b'K'));
    assert_eq!(ready_state(&startup), b'I');
    server.stop().await;
}

#[tokio::test]
async fn ready_for_query_carries_the_transaction_state() {
    let server = TestServer::start().await;
    let (mut raw, _) = Raw::connect(server.addr).await;
    assert_eq!(ready_state(&raw.query("begin").await), b'T');
    assert_eq!(ready_state(&raw.query("select 1").await), b'T');
    let failed = raw.query("no such table").await;
    assert_eq!(tags(&failed), "EZ");
    assert_eq!(ready_state(&failed), b'E');
    assert_eq!(ready_state(&raw.query("select 1").await), b'E');
    assert_eq!(ready_state(&raw.query("rollback").await), b'I');

    // Empty query.
    assert_eq!(tags(&raw.query("").await), "IZ");
    assert_eq!(tags(&raw.query(" ; ").await), "IZ");
    // A changed setting is reported after its statement.
    let set = raw.query("set timezone").await;
    assert_eq!(tags(&set), "CSZ");
    assert!(set[1].1.starts_with(b"TimeZone\0Europe/Paris\0"));
    // Rows of a simple query: RowDescription, DataRows, CommandComplete.
    let select = raw.query("select 1").await;
    assert_eq!(tags(&select), "TDCZ");
    assert_eq!(select[2].1, b"SELECT 1\0");
    server.stop().await;
}

#[tokio::test]
async fn extended_protocol_limits_rows_and_recovers_from_errors() {
    let server = TestServer::start().await;
    let (mut raw, _) = Raw::connect(server.addr).await;

    // Portal suspended after 2 rows, then the rest; named statement and portal.
    let mut out = BytesMut::new();
    parse(&mut out, "s1", "select * from t");
    bind(&mut out, "p1", "s1");
    execute(&mut out, "p1", 2);
    execute(&mut out, "p1", 2);
    sync(&mut out);
    raw.send(&out).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12DDsDCZ");
    assert_eq!(messages[6].1, b"SELECT 1\0");

    // Describe statement and portal.
    let mut out = BytesMut::new();
    Raw::message(&mut out, b'D', &[b"S".as_slice(), &cstr("s1")].concat());
    bind(&mut out, "", "s1");
    Raw::message(&mut out, b'D', &[b"P".as_slice(), &cstr("")].concat());
    execute(&mut out, "", 0);
    sync(&mut out);
    raw.send(&out).await;
    assert_eq!(tags(&raw.until_ready().await), "tT2TDDDCZ");

    // An error in the middle of a pipeline: the rest is skipped until Sync.
    let mut out = BytesMut::new();
    parse(&mut out, "", "not sql");
    bind(&mut out, "", "");
    execute(&mut out, "", 0);
    sync(&mut out);
    parse(&mut out, "", "insert into t values (1)");
    bind(&mut out, "", "");
    execute(&mut out, "", 0);
    sync(&mut out);
    raw.send(&out).await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ");
    let ok = raw.until_ready().await;
    assert_eq!(tags(&ok), "12CZ");
    assert_eq!(ok[2].1, b"INSERT 0 1\0");

    // Unknown statement and portal, duplicate statement name, Close.
    let mut out = BytesMut::new();
    bind(&mut out, "", "nope");
    sync(&mut out);
    parse(&mut out, "s1", "select * from t");
    sync(&mut out);
    Raw::message(&mut out, b'C', &[b"S".as_slice(), &cstr("s1")].concat());
    parse(&mut out, "s1", "select * from t");
    sync(&mut out);
    raw.send(&out).await;
    let unknown = raw.until_ready().await;
    assert_eq!(tags(&unknown), "EZ");
    assert!(String::from_utf8_lossy(&unknown[0].1).contains("C26000"));
    let duplicate = raw.until_ready().await;
    assert!(String::from_utf8_lossy(&duplicate[0].1).contains("C42P05"));
    assert_eq!(tags(&raw.until_ready().await), "31Z");

    // Bind fails on a parameter that does not read as its type.
    let mut out = BytesMut::new();
    let mut body = cstr("");
    body.extend(cstr("select $1"));
    body.extend(1i16.to_be_bytes());
    body.extend(20u32.to_be_bytes()); // int8
    Raw::message(&mut out, b'P', &body);
    let mut body = cstr("");
    body.extend(cstr(""));
    body.extend(0i16.to_be_bytes());
    body.extend(1i16.to_be_bytes());
    body.extend(3i32.to_be_bytes());
    body.extend(b"abc");
    body.extend(0i16.to_be_bytes());
    Raw::message(&mut out, b'B', &body);
    execute(&mut out, "", 0);
    sync(&mut out);
    raw.send(&out).await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "1EZ");
    assert!(String::from_utf8_lossy(&failed[1].1).contains("C22P02"));

    // Empty statement in the extended protocol.
    let mut out = BytesMut::new();
    parse(&mut out, "", "");
    bind(&mut out, "", "");
    execute(&mut out, "", 0);
    sync(&mut out);
    raw.send(&out).await;
    assert_eq!(tags(&raw.until_ready().await), "12IZ");
    server.stop().await;
}

#[tokio::test]
async fn psql_can_query() {
    let Ok(psql) = which_psql() else {
        eprintln!("psql not installed; skipping");
        return;
    };
    let server = TestServer::start().await;
    let output = tokio::process::Command::new(psql)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.addr.port().to_string(),
            "-U",
            "prism",
            "-d",
            "prism",
        ])
        .args(["-X", "-c", "select 1", "-c", "select * from t"])
        .env("PGCONNECT_TIMEOUT", "5")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), output)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(1 row)"), "{stdout}");
    assert!(stdout.contains("10.50"), "{stdout}");
    assert!(stdout.contains("(3 rows)"), "{stdout}");

    let output = tokio::process::Command::new(which_psql().unwrap())
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.addr.port().to_string(),
            "-U",
            "prism",
            "-d",
            "nope",
        ])
        .args(["-X", "-c", "select 1"])
        .env("PGSSLMODE", "disable")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("database \"nope\" does not exist"));
    server.stop().await;
}

fn which_psql() -> std::result::Result<&'static str, ()> {
    let path = "/usr/bin/psql";
    if std::path::Path::new(path).exists() {
        Ok(path)
    } else {
        Err(())
    }
}

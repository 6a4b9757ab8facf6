//! The seam between the wire protocol and the engine.
//!
//! The server crate knows pgwire and nothing of how statements run; the
//! engine (the `exec` crate, wired in by the `prismdb` binary) implements
//! [`SqlEngine`] and [`SqlSession`]. Results cross the seam as Arrow record
//! batches plus a PostgreSQL command tag, parameters as [`Value`]s, errors as
//! [`prismdb_common::Error`], which [`crate::sqlstate`] maps to SQLSTATE codes.

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use futures::stream::BoxStream;
use prismdb_common::{Result, Value};
use std::collections::HashMap;

/// What a client said at start-up.
#[derive(Debug, Clone, Default)]
pub struct StartupParams {
    pub user: String,
    pub database: String,
    /// Every other start-up parameter (application_name, client_encoding, DateStyle, ...).
    pub options: HashMap<String, String>,
    /// The client's address (`pg_stat_activity.client_addr`).
    pub client_addr: Option<String>,
}

/// Stops the statement a session is running, from any thread: the
/// statement ends with 57014 (query_canceled). Does nothing while the
/// session is idle.
pub type Canceller = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A stream of result batches; the server encodes each as it arrives.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// Rows produced by a statement.
pub struct Rows {
    pub schema: SchemaRef,
    pub batches: BatchStream,
}

/// The outcome of one statement.
pub struct QueryResult {
    /// The command tag without row count for row-returning statements that
    /// are plain queries (`SELECT`: the server appends the count it sent) and
    /// complete for everything else (`INSERT 0 3`, `UPDATE 2`, `CREATE TABLE`,
    /// `BEGIN`, and `INSERT 0 2` for `INSERT ... RETURNING`).
    pub tag: String,
    /// Present when the statement returns rows (queries, `RETURNING`, `SHOW`, `EXPLAIN`).
    pub rows: Option<Rows>,
    /// Set for `COPY ... TO STDOUT`: the rows go out as COPY data.
    pub copy_out: Option<prismdb_common::copy::CopyOutFormat>,
}

impl QueryResult {
    /// A statement without rows, e.g. `QueryResult::command("CREATE TABLE")`.
    pub fn command(tag: impl Into<String>) -> Self {
        QueryResult {
            tag: tag.into(),
            rows: None,
            copy_out: None,
        }
    }
}

/// Where the session stands with respect to transactions; reported in every
/// ReadyForQuery message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Idle,
    InBlock,
    Failed,
}

/// How a client must prove who it is before its session opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// The user name is enough.
    Trust,
    /// SCRAM-SHA-256 against this stored verifier
    /// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`); with
    /// `None` (no such role, or no password) the exchange runs and fails.
    Scram(Option<String>),
}

/// The engine as seen by the server: makes one session per connection.
#[async_trait]
pub trait SqlEngine: Send + Sync + 'static {
    type Session: SqlSession;

    /// How a client logging in as `user` must authenticate.
    fn authentication(&self, user: &str) -> Authentication;

    /// Opens a session for a client that completed start-up. Fails with
    /// `Error::UndefinedDatabase` for an unknown database.
    async fn connect(&self, params: &StartupParams) -> Result<Self::Session>;
}

/// One client connection's state: settings, transaction, prepared statements.
#[async_trait]
pub trait SqlSession: Send + 'static {
    /// A parsed, planned statement of the extended protocol.
    type Statement: Send + Sync + 'static;

    /// One statement of a simple-protocol query string, parsed.
    type SimpleStatement: Send + 'static;

    /// Simple protocol, first step: the statements of `sql`, in order. An
    /// error (a syntax error) is the query's only result. An empty string
    /// has no statements.
    fn simple_statements(&mut self, sql: &str) -> Result<Vec<Self::SimpleStatement>>;

    /// Simple protocol, second step: runs one statement (`sql` is the whole
    /// query string, for `pg_stat_activity`). Its rows may still be
    /// streaming; the server reads them all before it runs the next
    /// statement, and stops at the first error.
    async fn run_simple(
        &mut self,
        stmt: Self::SimpleStatement,
        sql: &std::sync::Arc<str>,
    ) -> Result<QueryResult>;

    /// Extended protocol Parse: `param_hints[i]` is the type the client named
    /// for parameter `$i+1`, if any.
    async fn prepare(
        &mut self,
        sql: &str,
        param_hints: &[Option<DataType>],
    ) -> Result<Self::Statement>;

    /// The types of the statement's parameters (for ParameterDescription and
    /// for decoding Bind values). `DataType::Null` means "unknown": the server
    /// then passes the parameter as `Value::Text`.
    fn param_types(&self, stmt: &Self::Statement) -> Vec<DataType>;

    /// The schema of the rows the statement returns, or `None` if it returns
    /// none (RowDescription vs NoData).
    fn result_schema(&self, stmt: &Self::Statement) -> Option<SchemaRef>;

    /// Extended protocol Execute of a bound statement.
    async fn execute(&mut self, stmt: &Self::Statement, params: Vec<Value>) -> Result<QueryResult>;

    /// Whether a statement is SQL `DEALLOCATE`, and of what: `Some(Some(name))`
    /// one statement, `Some(None)` all. Statements of the protocol's Parse
    /// share their name space with SQL `PREPARE`: the server drops its own
    /// first and passes the statement on only if it had none of that name
    /// (and always for ALL).
    fn deallocates(&self, _stmt: &Self::SimpleStatement) -> Option<Option<String>> {
        None
    }

    /// [`SqlSession::deallocates`] for a statement of the extended protocol.
    fn deallocates_prepared(&self, _stmt: &Self::Statement) -> Option<Option<String>> {
        None
    }

    /// The columns of the rows of a cursor DECLAREd in SQL, if the session
    /// has one of that name (a Describe of a portal names it).
    fn cursor_schema(&self, _name: &str) -> Option<SchemaRef> {
        None
    }

    /// Transaction state for ReadyForQuery.
    fn txn_state(&self) -> TxnState;

    /// The session's process id: sent in BackendKeyData, named by a
    /// CancelRequest, shown by `pg_backend_pid()`.
    fn backend_pid(&self) -> i32;

    /// How a CancelRequest (or a client that went away) stops this
    /// session's running statement.
    fn canceller(&self) -> Canceller;

    /// Settings changed by the last statements that the client must be told of
    /// with ParameterStatus (e.g. `client_encoding`, `DateStyle`, `TimeZone`).
    fn take_parameter_changes(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Set while a `COPY ... FROM STDIN` waits for the client's data: the
    /// number of columns of its rows. A statement that starts one is the
    /// last of its query string, and its result is a placeholder; the
    /// server answers CopyInResponse instead and feeds the CopyData that
    /// follows to [`SqlSession::copy_data`].
    fn copy_in_columns(&self) -> Option<usize> {
        None
    }

    /// Set while a binary `COPY ... FROM STDIN` waits for the client's
    /// data: the fields of its columns, by whose types the server decodes
    /// the binary rows into the text rows it passes to
    /// [`SqlSession::copy_data`].
    fn copy_in_binary(&self) -> Option<Vec<arrow::datatypes::Field>> {
        None
    }

    /// One CopyData message of the running COPY (text or CSV, as the COPY
    /// said; rows may span messages). An error ends the COPY.
    async fn copy_data(&mut self, _data: &[u8]) -> Result<()> {
        Err(prismdb_common::Error::Protocol(
            "no COPY FROM STDIN is in progress".into(),
        ))
    }

    /// CopyDone: finishes the COPY; the tag is `COPY n`.
    async fn copy_done(&mut self) -> Result<QueryResult> {
        Err(prismdb_common::Error::Protocol(
            "no COPY FROM STDIN is in progress".into(),
        ))
    }

    /// CopyFail: abandons the COPY, writing nothing; returns the error to report.
    fn copy_fail(&mut self, message: &str) -> prismdb_common::Error {
        prismdb_common::Error::QueryCanceled(format!("COPY from stdin failed: {message}"))
    }
}

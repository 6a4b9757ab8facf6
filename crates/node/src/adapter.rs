//! Adapts the engine's sessions to the server crate's handler traits.

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use futures::StreamExt;
use prismdb_common::{Result, Value};
use prismdb_exec::roles::Login;
use prismdb_exec::{Engine, Output, Prepared, Session, SimpleStatement, TxnStatus};
use prismdb_server::{
    Authentication, QueryResult, Rows, SqlEngine, SqlSession, StartupParams, TxnState,
};
use std::sync::Arc;

/// The engine as the server sees it.
pub struct EngineAdapter {
    engine: Arc<Engine>,
}

impl EngineAdapter {
    pub fn new(engine: Arc<Engine>) -> Self {
        EngineAdapter { engine }
    }
}

#[async_trait]
impl SqlEngine for EngineAdapter {
    type Session = SessionAdapter;

    fn authentication(&self, user: &str) -> Authentication {
        match self.engine.login(user) {
            Login::Trust => Authentication::Trust,
            Login::Scram(verifier) => Authentication::Scram(verifier),
        }
    }

    async fn connect(&self, params: &StartupParams) -> Result<SessionAdapter> {
        let options: Vec<(String, String)> = params
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let database = if params.database.is_empty() {
            &params.user
        } else {
            &params.database
        };
        let session = self.engine.session(&params.user, database, &options)?;
        session.set_client_addr(params.client_addr.clone());
        Ok(SessionAdapter(session))
    }
}

/// One session as the server sees it.
pub struct SessionAdapter(Session);

fn to_result(o: Output) -> QueryResult {
    QueryResult {
        copy_out: o.copy_out,
        tag: o.tag,
        rows: o.rows.map(|r| {
            let computed = futures::stream::iter(r.batches.into_iter().map(Ok));
            Rows {
                schema: r.schema,
                batches: match r.rest {
                    Some(rest) => computed.chain(rest).boxed(),
                    None => computed.boxed(),
                },
            }
        }),
    }
}

#[async_trait]
impl SqlSession for SessionAdapter {
    type Statement = Prepared;
    type SimpleStatement = SimpleStatement;

    fn simple_statements(&mut self, sql: &str) -> Result<Vec<SimpleStatement>> {
        self.0.simple_statements(sql)
    }

    async fn run_simple(&mut self, stmt: SimpleStatement, sql: &Arc<str>) -> Result<QueryResult> {
        self.0.run_simple(stmt, sql).await.map(to_result)
    }

    async fn prepare(&mut self, sql: &str, param_hints: &[Option<DataType>]) -> Result<Prepared> {
        self.0.prepare(sql, param_hints).await
    }

    fn param_types(&self, stmt: &Prepared) -> Vec<DataType> {
        stmt.param_types.clone()
    }

    fn result_schema(&self, stmt: &Prepared) -> Option<SchemaRef> {
        stmt.schema.clone()
    }

    async fn execute(&mut self, stmt: &Prepared, params: Vec<Value>) -> Result<QueryResult> {
        self.0.execute(stmt, &params).await.map(to_result)
    }

    fn txn_state(&self) -> TxnState {
        match self.0.txn_status() {
            TxnStatus::Idle => TxnState::Idle,
            TxnStatus::InBlock => TxnState::InBlock,
            TxnStatus::Failed => TxnState::Failed,
        }
    }

    fn take_parameter_changes(&mut self) -> Vec<(String, String)> {
        self.0.take_parameter_changes()
    }

    fn backend_pid(&self) -> i32 {
        self.0.pid()
    }

    fn canceller(&self) -> prismdb_server::Canceller {
        self.0.canceller()
    }

    fn deallocates(&self, stmt: &SimpleStatement) -> Option<Option<String>> {
        stmt.deallocates()
    }

    fn deallocates_prepared(&self, stmt: &Prepared) -> Option<Option<String>> {
        stmt.deallocates()
    }

    fn copy_in_binary(&self) -> Option<Vec<arrow::datatypes::Field>> {
        self.0.copy_in_binary()
    }

    fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.0.cursor_schema(name)
    }

    fn copy_in_columns(&self) -> Option<usize> {
        self.0.copy_in_columns()
    }

    async fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        self.0.copy_data(data)
    }

    async fn copy_done(&mut self) -> Result<QueryResult> {
        self.0.copy_done().await.map(to_result)
    }

    fn copy_fail(&mut self, message: &str) -> prismdb_common::Error {
        self.0.copy_fail(message)
    }
}

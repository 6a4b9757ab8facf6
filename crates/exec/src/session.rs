//! [`Session`]: one client connection's settings, transaction and planner.

use crate::Engine;
use crate::activity::{SessionActivity, State as ActivityState};
use crate::cancel::{CancelSignal, StatementGuard};
use crate::functions::{columnar_functions, session_functions};
use crate::provider::ScanContext;
use crate::schema::{PlanHints, PrismCatalog, PrismCatalogList, PrismSchema, SchemaState};
use crate::settings::{Settings, SharedSettings};
use crate::txn::Txn;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::prelude::SessionConfig;
use parking_lot::{Mutex, RwLock};
use prismdb_catalog::DEFAULT_SCHEMA;
use prismdb_common::{Error, Result, Value};
use prismdb_rowstore::WriteSet;
use prismdb_sql::hints::ReadHint;
use prismdb_sql::sqlparser::ast::{Expr, Set, Statement, Value as SqlValue};
use prismdb_sql::{StatementKind, classify};
use std::sync::Arc;
use std::time::Duration;

/// A stream of result batches still being produced.
pub type RowStream = futures::stream::BoxStream<'static, Result<RecordBatch>>;

/// Rows a statement returns: those computed already, then those still
/// being produced (a planned query streams all of its rows).
pub struct ResultRows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rest: Option<RowStream>,
}

/// The outcome of one statement: its command tag and rows, if any. Plain
/// queries carry the tag `SELECT`; the wire layer appends the row count.
pub struct Output {
    pub tag: String,
    pub rows: Option<ResultRows>,
    /// Set for `COPY ... TO STDOUT`: its rows go out as COPY data in this
    /// format.
    pub copy_out: Option<prismdb_common::copy::CopyOutFormat>,
}

impl Output {
    pub fn command(tag: impl Into<String>) -> Output {
        Output {
            tag: tag.into(),
            rows: None,
            copy_out: None,
        }
    }
}

/// Transaction status as reported in ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    Idle,
    InBlock,
    Failed,
}

/// A statement of the extended protocol, parsed and described.
pub struct Prepared {
    pub(crate) stmt: Option<Statement>,
    /// The statement's text as the client sent it.
    pub(crate) text: Arc<str>,
    /// The statement's text, the key of the session's plan cache.
    pub(crate) key: String,
    pub param_types: Vec<DataType>,
    pub schema: Option<SchemaRef>,
    /// The statement's `READ_FROM` hints.
    pub(crate) hints: Arc<Vec<ReadHint>>,
}

/// One client connection.
pub struct Session {
    pub(crate) engine: Arc<Engine>,
    pub(crate) database: String,
    /// The role the session logged in as.
    pub(crate) user: String,
    /// Shared with the analytics task of the statement that runs; unique
    /// again between statements.
    pub(crate) state: Arc<SessionState>,
    pub(crate) schema: Arc<SchemaState>,
    pub(crate) settings: SharedSettings,
    pub(crate) txn: Option<Txn>,
    /// Logical plans of recent queries by statement text (see `cached_plan`).
    pub(crate) plan_cache: std::collections::HashMap<String, Arc<crate::query::CachedQuery>>,
    /// Statements of SQL `PREPARE`, by name (see [`crate::prepared`]).
    pub(crate) sql_prepared: std::collections::HashMap<String, crate::prepared::SqlPrepared>,
    /// Open cursors, by name (see [`crate::cursor`]).
    pub(crate) cursors: std::collections::HashMap<String, crate::cursor::Cursor>,
    /// A `COPY ... FROM STDIN` receiving the client's data (see [`crate::copy`]).
    pub(crate) copy: Option<Box<crate::copy::CopyIn>>,
    /// `READ_FROM` hints of the statement being run.
    pub(crate) hints: Arc<Vec<ReadHint>>,
    /// The process id clients know the session by (BackendKeyData,
    /// `pg_backend_pid()`).
    pid: i32,
    /// Cancels the running statement from other threads.
    pub(crate) cancel: Arc<CancelSignal>,
    /// The cancel epoch and deadline of the statement being run (or of the
    /// last one).
    pub(crate) guard: StatementGuard,
    /// Set if the rows the last statement streamed ended in an error: like
    /// a failed statement, that fails the transaction block.
    pub(crate) stream_failed: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The session's row of `pg_stat_activity`.
    pub(crate) activity: SessionActivity,
}

/// One statement of a simple-protocol query string, parsed.
pub struct SimpleStatement {
    stmt: Statement,
    hints: Vec<ReadHint>,
}

impl SimpleStatement {
    /// See [`crate::prepared::deallocation`].
    pub fn deallocates(&self) -> Option<Option<String>> {
        crate::prepared::deallocation(&self.stmt)
    }
}

impl Prepared {
    /// See [`crate::prepared::deallocation`].
    pub fn deallocates(&self) -> Option<Option<String>> {
        self.stmt.as_ref().and_then(crate::prepared::deallocation)
    }
}

/// How many times an autocommit statement is retried after losing a write conflict.
const AUTOCOMMIT_RETRIES: usize = 64;

/// Waits before retry `attempt` of an autocommit statement that lost a
/// write conflict. The first retries only yield; later ones sleep a random
/// time below a bound that doubles per attempt (up to 16 ms), so that two
/// sessions updating the same row from different threads stop arriving in
/// the same group-commit entry, where the same one would lose every time.
async fn autocommit_backoff(attempt: usize) {
    if attempt <= 2 {
        tokio::task::yield_now().await;
        return;
    }
    let bound_us = 250u64 << (attempt - 3).min(6);
    let wait = Duration::from_micros(fastrand::u64(0..=bound_us));
    tokio::time::sleep(wait).await;
}

impl Session {
    pub(crate) fn new(
        engine: Arc<Engine>,
        user: &str,
        database: &str,
        options: &[(String, String)],
        pid: i32,
    ) -> Result<Session> {
        // The role's own settings first (ALTER ROLE ... SET), then what the
        // client asked for at start-up, as in PostgreSQL.
        let role_settings: Vec<(String, String)> = engine
            .catalog()
            .role_settings
            .get(user)
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut settings = Settings::with_startup(&role_settings);
        settings.apply_startup(options);
        let settings: SharedSettings = Arc::new(RwLock::new(settings));
        let schema = Arc::new(SchemaState {
            catalog: engine.catalog.clone(),
            local: Mutex::new(None),
            database: database.to_string(),
            scan: Arc::new(ScanContext::default()),
            hints: Mutex::new(PlanHints::default()),
        });
        let catalog_source: Arc<dyn prismdb_pgcatalog::CatalogSource> =
            Arc::new(crate::schema::SessionCatalogSource {
                state: schema.clone(),
                user: user.to_string(),
                settings: settings.clone(),
                store: engine.store.clone(),
            });
        let catalog_list = Arc::new(PrismCatalogList {
            name: database.to_string(),
            catalog: Arc::new(PrismCatalog {
                public: Arc::new(PrismSchema(schema.clone())),
                cluster: Arc::new(crate::system::ClusterSchema::new(&engine, database)),
                pg_catalog: Arc::new(prismdb_pgcatalog::PgCatalogSchema::new(
                    catalog_source.clone(),
                )),
                information_schema: Arc::new(
                    prismdb_pgcatalog::PgCatalogSchema::information_schema(catalog_source.clone()),
                ),
            }),
        });
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(database, DEFAULT_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false)
            .with_target_partitions(engine.analytics.options().threads.max(1));
        let opts = config.options_mut();
        opts.sql_parser.parse_float_as_decimal = true;
        opts.sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        opts.execution.time_zone = Some("+00:00".into());
        // Row-store scans are single streams read in key order; spreading
        // their batches round-robin costs more than it gains for the point
        // and range reads the row store is for. (Analytical scans get their
        // parallelism from columnar replicas' partitions.)
        opts.optimizer.enable_round_robin_repartition = false;
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_runtime_env(engine.analytics.env())
            .with_catalog_list(catalog_list)
            .with_analyzer_rules(
                [
                    Arc::new(crate::analyzer::ArrayLiterals) as _,
                    Arc::new(crate::analyzer::ArrayText) as _,
                ]
                .into_iter()
                .chain(datafusion::optimizer::Analyzer::new().rules)
                .collect(),
            )
            .build();
        state.add_analyzer_rule(Arc::new(crate::analyzer::RoundingCasts));
        state.add_analyzer_rule(Arc::new(crate::analyzer::CheckedIntegerArithmetic));
        let columnar = engine.columnar().cloned();
        let cancel = Arc::new(CancelSignal::default());
        let udfs = session_functions(crate::functions::SessionInfo {
            settings: settings.clone(),
            database,
            user,
            pid,
            cancel: cancel.clone(),
            scan: schema.scan.clone(),
        })
        .into_iter()
        .chain(prismdb_pgcatalog::functions::builtin_functions())
        .chain(crate::json::json_functions())
        .chain([
            datafusion::logical_expr::ScalarUDF::new_from_impl(
                crate::functions::ExpandArray::default(),
            ),
            datafusion::logical_expr::ScalarUDF::new_from_impl(
                crate::functions::PercentileDisc::default(),
            ),
        ])
        .chain(columnar.into_iter().flat_map(columnar_functions))
        .chain(prismdb_pgcatalog::functions::catalog_functions(
            catalog_source,
        ))
        .chain(std::iter::once(
            datafusion::logical_expr::ScalarUDF::new_from_impl(crate::single::One::default()),
        ));
        for udf in udfs {
            state
                .register_udf(Arc::new(udf))
                .map_err(prismdb_sql::error::from_datafusion)?;
        }
        let activity = engine
            .activity
            .register(pid, database, user, settings.clone());
        Ok(Session {
            engine,
            database: database.to_string(),
            user: user.to_string(),
            state: Arc::new(state),
            schema,
            settings,
            txn: None,
            plan_cache: Default::default(),
            sql_prepared: Default::default(),
            cursors: Default::default(),
            copy: None,
            hints: Arc::default(),
            pid,
            guard: StatementGuard::start(&cancel, None),
            cancel,
            stream_failed: None,
            activity,
        })
    }

    /// The client's address, for `pg_stat_activity`.
    pub fn set_client_addr(&self, addr: Option<String>) {
        self.activity.set_client_addr(addr);
    }

    /// The session's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Cancels the statement the session is running when called, from any
    /// thread (a CancelRequest, a client that hung up); does nothing while
    /// the session is idle.
    pub fn canceller(&self) -> Arc<dyn Fn() + Send + Sync> {
        let signal = self.cancel.clone();
        Arc::new(move || signal.cancel())
    }

    /// The session's database.
    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn txn_status(&self) -> TxnStatus {
        match &self.txn {
            None => TxnStatus::Idle,
            Some(t) if t.failed || self.streamed_an_error() => TxnStatus::Failed,
            Some(_) => TxnStatus::InBlock,
        }
    }

    fn streamed_an_error(&self) -> bool {
        self.stream_failed
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// The state `pg_stat_activity` shows between statements.
    fn idle_state(&self) -> ActivityState {
        match self.txn_status() {
            TxnStatus::Idle => ActivityState::Idle,
            TxnStatus::InBlock => ActivityState::IdleInTransaction,
            TxnStatus::Failed => ActivityState::IdleInTransactionAborted,
        }
    }

    /// Reported settings changed since the last call (for ParameterStatus).
    pub fn take_parameter_changes(&mut self) -> Vec<(String, String)> {
        self.settings.write().take_changes()
    }

    /// Runs every statement of `sql`, stopping at the first error. The rows
    /// of each statement are computed before the next one runs.
    pub async fn simple_query(&mut self, sql: &str) -> Vec<Result<Output>> {
        let stmts = match self.simple_statements(sql) {
            Ok(s) => s,
            Err(e) => return vec![Err(e)],
        };
        let text: Arc<str> = Arc::from(sql);
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let r = match self.run_simple(stmt, &text).await {
                Ok(o) => collect_output(o).await,
                Err(e) => Err(e),
            };
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        out
    }

    /// Splits a simple-protocol query string into its statements; a syntax
    /// error fails the transaction block.
    pub fn simple_statements(&mut self, sql: &str) -> Result<Vec<SimpleStatement>> {
        let stmts = match crate::copy::parse_statements(sql) {
            Ok(s) => s,
            Err(e) => {
                self.fail_txn();
                return Err(e);
            }
        };
        let mut hints = prismdb_sql::hints::read_hints(sql).into_iter();
        Ok(stmts
            .into_iter()
            .map(|stmt| SimpleStatement {
                stmt,
                hints: hints.next().unwrap_or_default(),
            })
            .collect())
    }

    /// Runs one statement of a simple-protocol query string (`text`, shown
    /// by `pg_stat_activity`). Its rows may still be streaming when this
    /// returns; the next statement must wait until they were read.
    pub async fn run_simple(&mut self, s: SimpleStatement, text: &Arc<str>) -> Result<Output> {
        self.hints = Arc::new(s.hints);
        match prismdb_sql::rewrite::hoist_dml(s.stmt) {
            Ok(stmt) => self.run(&stmt, None, &[], text).await,
            Err(e) => {
                self.fail_txn();
                Err(e)
            }
        }
    }

    /// Parses and describes one statement for the extended protocol.
    pub async fn prepare(&mut self, sql: &str, hints: &[Option<DataType>]) -> Result<Prepared> {
        let mut stmts = crate::copy::parse_statements(sql)?;
        if stmts.len() > 1 {
            return Err(Error::Syntax(
                "cannot insert multiple commands into a prepared statement".into(),
            ));
        }
        let Some(stmt) = stmts.pop() else {
            return Ok(Prepared {
                stmt: None,
                text: Arc::from(""),
                key: String::new(),
                param_types: vec![],
                schema: None,
                hints: Arc::default(),
            });
        };
        let stmt = prismdb_sql::rewrite::hoist_dml(stmt)?;
        let (mut param_types, schema) = match classify(&stmt) {
            StatementKind::Query | StatementKind::Dml => {
                // Names resolve against the catalog as of a linearizable read
                // point, so DDL acknowledged on any member is seen here.
                if self.txn.is_none() {
                    self.engine.log.read_point().await?;
                }
                self.describe(&stmt).await?
            }
            StatementKind::Prepared if matches!(stmt, Statement::Execute { .. }) => {
                let bound = self.bound_execute(&stmt)?;
                if self.txn.is_none() {
                    self.engine.log.read_point().await?;
                }
                match classify(&bound) {
                    StatementKind::Query | StatementKind::Dml => {
                        (vec![], self.describe(&bound).await?.1)
                    }
                    _ => (vec![], None),
                }
            }
            StatementKind::Cursor => match &stmt {
                Statement::Declare { stmts } => {
                    match stmts.first().and_then(|d| d.for_query.clone()) {
                        Some(q) => {
                            if self.txn.is_none() {
                                self.engine.log.read_point().await?;
                            }
                            (self.describe(&Statement::Query(q)).await?.0, None)
                        }
                        None => (vec![], None),
                    }
                }
                Statement::Fetch { name, into, .. } if !prismdb_sql::extensions::is_move(into) => {
                    (vec![], self.cursor_schema(&prismdb_sql::normalize(name)))
                }
                _ => (vec![], None),
            },
            StatementKind::Setting => match &stmt {
                Statement::ShowVariable { variable } => {
                    let name = show_name(variable);
                    (vec![], Some(show_schema(&name)))
                }
                _ => (vec![], None),
            },
            _ => (vec![], None),
        };
        for (i, hint) in hints.iter().enumerate() {
            if let Some(t) = hint {
                if i < param_types.len() {
                    param_types[i] = t.clone();
                } else {
                    param_types.resize(i, DataType::Null);
                    param_types.push(t.clone());
                }
            }
        }
        let hints = prismdb_sql::hints::read_hints(sql)
            .pop()
            .unwrap_or_default();
        Ok(Prepared {
            text: Arc::from(sql),
            key: stmt.to_string(),
            stmt: Some(stmt),
            param_types,
            schema,
            hints: Arc::new(hints),
        })
    }

    /// Runs a prepared statement with bound parameters.
    pub async fn execute(&mut self, prepared: &Prepared, params: &[Value]) -> Result<Output> {
        match &prepared.stmt {
            None => Ok(Output::command("")),
            Some(stmt) => {
                self.hints = prepared.hints.clone();
                self.run(stmt, Some(&prepared.key), params, &prepared.text)
                    .await
            }
        }
    }

    fn fail_txn(&mut self) {
        if let Some(t) = self.txn.as_mut() {
            t.failed = true;
        }
    }

    /// Runs one statement, keeping the transaction state machine right.
    /// `key` is the statement's text when the caller already has it (the
    /// plan cache is keyed by it); `text` is what `pg_stat_activity` shows.
    async fn run(
        &mut self,
        stmt: &Statement,
        key: Option<&str>,
        params: &[Value],
        text: &Arc<str>,
    ) -> Result<Output> {
        self.abandon_copy();
        // Rows the previous statement streamed ended in an error: that
        // statement failed its transaction block.
        if self
            .stream_failed
            .take()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
        {
            self.fail_txn();
        }
        self.activity.start_statement(text, self.txn.is_some());
        let kind = classify(stmt);
        let r = if kind == StatementKind::Transaction {
            let r = Box::pin(self.transaction_control(stmt)).await;
            if r.is_err() {
                // A savepoint command that failed fails its block.
                self.fail_txn();
            }
            r
        } else if self.txn.as_ref().is_some_and(|t| t.failed) {
            Err(Error::InFailedTransaction)
        } else {
            // now(), current_date and friends read the statement's start time.
            Arc::make_mut(&mut self.state).mark_start_execution();
            let timeout_ms = self.settings.read().statement_timeout_ms();
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            self.guard = StatementGuard::start(&self.cancel, timeout);
            let r = Box::pin(self.run_kind(kind, stmt, key, params)).await;
            self.schema.scan.set(None);
            if r.is_err() {
                self.fail_txn();
            }
            r
        };
        // A query's rows are still being produced: it stays active until
        // its stream ends (or is dropped).
        let mut r = r;
        if let Ok(Output {
            rows: Some(ResultRows {
                rest: Some(stream), ..
            }),
            ..
        }) = &mut r
        {
            use futures::StreamExt;
            let end = self.activity.end_statement_later(self.idle_state());
            let rows = std::mem::replace(stream, futures::stream::empty().boxed());
            *stream = rows
                .map(move |b| {
                    let _ = &end;
                    b
                })
                .boxed();
        } else {
            self.activity.end_statement(self.idle_state());
        }
        r
    }

    pub(crate) async fn run_kind(
        &mut self,
        kind: StatementKind,
        stmt: &Statement,
        key: Option<&str>,
        params: &[Value],
    ) -> Result<Output> {
        {
            let catalog = self.schema.current();
            match catalog.role(&self.user) {
                Some(role) if role.superuser => {}
                _ => {
                    let role = crate::roles::acting_role(&catalog, &self.user);
                    crate::roles::check_statement(&catalog, &self.database, &role, kind, stmt)?;
                }
            }
        }
        match kind {
            StatementKind::Setting => self.setting(stmt),
            StatementKind::Ddl if matches!(stmt, Statement::Truncate(_)) => {
                self.in_txn(stmt, key, params).await
            }
            StatementKind::Ddl => Box::pin(self.ddl(stmt)).await,
            StatementKind::Dml | StatementKind::Query => self.in_txn(stmt, key, params).await,
            StatementKind::Transaction => Box::pin(self.transaction_control(stmt)).await,
            StatementKind::Copy => Box::pin(self.copy(stmt)).await,
            StatementKind::Prepared => Box::pin(self.prepared_statement(stmt)).await,
            StatementKind::Cursor => Box::pin(self.cursor_statement(stmt, params)).await,
            StatementKind::SessionControl => self.session_control(stmt),
            StatementKind::Analyze => {
                let guard = self.guard.clone();
                guard.run(self.analyze(stmt)).await
            }
            StatementKind::Unsupported => Err(Error::NotSupported(format!(
                "statement not supported: {}",
                stmt.to_string()
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
        }
    }

    /// Runs a query or DML statement in the open transaction, or in its own
    /// autocommit transaction (retried on write conflicts).
    ///
    /// A cancel or the statement's deadline stops the execution; an
    /// autocommit's commit, once proposed, is not interrupted (its outcome
    /// is then known, and the raft timeout bounds it).
    pub(crate) async fn in_txn(
        &mut self,
        stmt: &Statement,
        key: Option<&str>,
        params: &[Value],
    ) -> Result<Output> {
        let guard = self.guard.clone();
        if let Some(mut txn) = self.txn.take() {
            let r = guard
                .run(self.execute_in(stmt, key, params, &mut txn))
                .await;
            self.txn = Some(txn);
            return r;
        }
        let mut attempt = 0;
        loop {
            let mut txn = Txn::begin(guard.run(self.engine.snapshot()).await?, false);
            let out = guard
                .run(self.execute_in(stmt, key, params, &mut txn))
                .await?;
            if txn.is_read_only() {
                return Ok(out);
            }
            match self.engine.log.commit(self.write_set(&txn)?).await {
                Ok(_) => return Ok(out),
                Err(Error::SerializationFailure(_)) if attempt < AUTOCOMMIT_RETRIES => {
                    attempt += 1;
                    autocommit_backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// How this statement's scans choose their engine.
    fn route(&self) -> crate::route::Route {
        let settings = self.settings.read();
        crate::route::Route {
            engines: settings.read_engines(),
            columnar_wait: settings.columnar_max_wait(),
            max_lag: settings.max_replica_lag(),
            columnar: self.engine.columnar().cloned(),
            stats: Some(self.engine.stats.clone()),
            hints: self.hints.clone(),
        }
    }

    async fn execute_in(
        &mut self,
        stmt: &Statement,
        key: Option<&str>,
        params: &[Value],
        txn: &mut Txn,
    ) -> Result<Output> {
        let route = self.route();
        self.schema
            .scan
            .set(Some(txn.read_view_with(&self.engine.store, route)));
        match stmt {
            Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Truncate(_) => Box::pin(self.dml(stmt, params, txn)).await,
            _ => self.query(stmt, key, params).await,
        }
    }

    pub(crate) fn write_set(&self, txn: &Txn) -> Result<WriteSet> {
        let catalog = match &txn.ddl {
            Some(ddl) => ddl.next.clone(),
            None => self.engine.catalog(),
        };
        let indexes = self.engine.indexes(&catalog);
        txn.write_set(self.engine.store.rowid_slot(), &indexes, &self.engine.store)
    }

    /// Commits a transaction block. With DDL in it, the catalog it changed
    /// must still be the current one (else 40001); applying the entry
    /// checks the same against concurrent DDL of other nodes.
    async fn commit(&self, txn: Txn) -> Result<()> {
        let Some(ddl) = &txn.ddl else {
            if !txn.is_read_only() {
                self.engine.log.commit(self.write_set(&txn)?).await?;
            }
            return Ok(());
        };
        let _guard = self.engine.ddl_lock.lock().await;
        if !Arc::ptr_eq(&self.engine.catalog(), &ddl.base) {
            return Err(Error::SerializationFailure(
                "could not serialize access due to concurrent schema change".into(),
            ));
        }
        self.engine.log.commit(self.write_set(&txn)?).await?;
        Ok(())
    }

    async fn transaction_control(&mut self, stmt: &Statement) -> Result<Output> {
        match stmt {
            Statement::StartTransaction { .. } => {
                if self.txn.is_none() {
                    self.txn = Some(Txn::begin(self.engine.snapshot().await?, true));
                    self.activity.begin_transaction();
                }
                Ok(Output::command("BEGIN"))
            }
            Statement::Commit { .. } => {
                let failed = self.txn.as_ref().is_some_and(|t| t.failed);
                let held = if self.txn.is_some() {
                    self.end_block_cursors(!failed).await
                } else {
                    Ok(())
                };
                *self.schema.local.lock() = None;
                match self.txn.take() {
                    None => Ok(Output::command("COMMIT")),
                    Some(t) if t.failed => Ok(Output::command("ROLLBACK")),
                    Some(t) => {
                        if let Err(e) = held.and(self.commit(t).await) {
                            let _ = self.end_block_cursors(false).await;
                            return Err(e);
                        }
                        Ok(Output::command("COMMIT"))
                    }
                }
            }
            Statement::Savepoint { name } => {
                let txn = self.block("SAVEPOINT")?;
                if txn.failed {
                    return Err(Error::InFailedTransaction);
                }
                txn.savepoint(prismdb_sql::normalize(name));
                Ok(Output::command("SAVEPOINT"))
            }
            Statement::ReleaseSavepoint { name } => {
                let txn = self.block("RELEASE SAVEPOINT")?;
                if txn.failed {
                    return Err(Error::InFailedTransaction);
                }
                txn.release(&prismdb_sql::normalize(name))?;
                Ok(Output::command("RELEASE"))
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => {
                let txn = self.block("ROLLBACK TO SAVEPOINT")?;
                let catalog = txn.rollback_to(&prismdb_sql::normalize(name))?;
                *self.schema.local.lock() = catalog;
                self.stream_failed = None;
                Ok(Output::command("ROLLBACK"))
            }
            Statement::Rollback { .. } => {
                if self.txn.is_some() {
                    self.end_block_cursors(false).await?;
                }
                self.txn = None;
                *self.schema.local.lock() = None;
                Ok(Output::command("ROLLBACK"))
            }
            _ => Err(Error::NotSupported(
                "unsupported transaction statement".into(),
            )),
        }
    }

    /// DISCARD and the notification statements. DISCARD ALL resets the
    /// session as PostgreSQL's does (settings, cursors, prepared
    /// statements, advisory locks aside); UNLISTEN has nothing to undo, as
    /// no channel can be listened to; LISTEN and NOTIFY are refused.
    fn session_control(&mut self, stmt: &Statement) -> Result<Output> {
        use prismdb_sql::sqlparser::ast::DiscardObject;
        match stmt {
            Statement::Discard { object_type } => match object_type {
                DiscardObject::ALL => {
                    if self.txn.is_some() {
                        return Err(Error::ActiveSqlTransaction(
                            "DISCARD ALL cannot run inside a transaction block".into(),
                        ));
                    }
                    self.settings.write().reset_all();
                    self.cursors.clear();
                    self.sql_prepared.clear();
                    self.plan_cache.clear();
                    Ok(Output::command("DISCARD ALL"))
                }
                DiscardObject::PLANS => {
                    self.plan_cache.clear();
                    Ok(Output::command("DISCARD PLANS"))
                }
                DiscardObject::SEQUENCES => Ok(Output::command("DISCARD SEQUENCES")),
                DiscardObject::TEMP => Ok(Output::command("DISCARD TEMP")),
            },
            Statement::UNLISTEN { .. } => Ok(Output::command("UNLISTEN")),
            // The row store collects old row versions by itself.
            Statement::Vacuum(_) => Ok(Output::command("VACUUM")),
            _ => Err(Error::NotSupported(
                "LISTEN and NOTIFY are not supported".into(),
            )),
        }
    }

    /// The open transaction block, for a statement (`what`) that only
    /// runs inside one.
    fn block(&mut self, what: &str) -> Result<&mut Txn> {
        self.txn.as_mut().ok_or_else(|| {
            Error::NoActiveSqlTransaction(format!("{what} can only be used in transaction blocks"))
        })
    }

    fn setting(&mut self, stmt: &Statement) -> Result<Output> {
        match stmt {
            Statement::ShowVariable { variable } => {
                let name = show_name(variable);
                if name == "all" {
                    let all = self.settings.read().all();
                    let schema = Arc::new(Schema::new(vec![
                        Field::new("name", DataType::Utf8, false),
                        Field::new("setting", DataType::Utf8, false),
                    ]));
                    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
                    let values: Vec<&str> = all.iter().map(|(_, v)| v.as_str()).collect();
                    let batch = RecordBatch::try_new(
                        schema.clone(),
                        vec![
                            Arc::new(datafusion::arrow::array::StringArray::from(names)),
                            Arc::new(datafusion::arrow::array::StringArray::from(values)),
                        ],
                    )
                    .map_err(|e| Error::Internal(e.to_string()))?;
                    return Ok(Output {
                        tag: "SHOW".into(),
                        rows: Some(ResultRows {
                            schema,
                            batches: vec![batch],
                            rest: None,
                        }),
                        copy_out: None,
                    });
                }
                let name = match name.as_str() {
                    "time zone" => "timezone".to_string(),
                    "transaction isolation level" => "transaction_isolation".to_string(),
                    _ => name,
                };
                let value = self.settings.read().get(&name)?;
                let schema = show_schema(&name);
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(datafusion::arrow::array::StringArray::from(vec![
                        value,
                    ]))],
                )
                .map_err(|e| Error::Internal(e.to_string()))?;
                Ok(Output {
                    tag: "SHOW".into(),
                    rows: Some(ResultRows {
                        schema,
                        batches: vec![batch],
                        rest: None,
                    }),
                    copy_out: None,
                })
            }
            Statement::Set(set) => {
                let mut settings = self.settings.write();
                match set {
                    Set::SingleAssignment {
                        variable, values, ..
                    } => {
                        let name = variable.to_string().to_lowercase();
                        if values.len() == 1
                            && matches!(&values[0], Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default"))
                        {
                            settings.reset(&name)?;
                        } else {
                            let value = values
                                .iter()
                                .map(setting_value)
                                .collect::<Vec<_>>()
                                .join(", ");
                            settings.set(&name, &value)?;
                        }
                    }
                    Set::SetTimeZone { value, .. } => {
                        settings.set("TimeZone", &setting_value(value))?
                    }
                    Set::SetNames { charset_name, .. } => {
                        settings.set("client_encoding", &charset_name.value)?
                    }
                    Set::SetNamesDefault {} => settings.reset("client_encoding")?,
                    Set::SetTransaction { .. } | Set::SetSessionParam(_) => {}
                    // Acting as another role is not supported; going back
                    // to (or staying) the session's own role is.
                    Set::SetRole { role_name, .. }
                        if role_name
                            .as_ref()
                            .is_none_or(|r| prismdb_sql::normalize(r) == self.user) => {}
                    other => return Err(Error::NotSupported(format!("{other} is not supported"))),
                }
                Ok(Output::command("SET"))
            }
            Statement::Reset(r) => {
                let mut settings = self.settings.write();
                match &r.reset {
                    prismdb_sql::sqlparser::ast::Reset::ALL => settings.reset_all(),
                    prismdb_sql::sqlparser::ast::Reset::ConfigurationParameter(name) => {
                        settings.reset(&name.to_string())?
                    }
                }
                Ok(Output::command("RESET"))
            }
            _ => Err(Error::NotSupported("unsupported setting statement".into())),
        }
    }
}

/// The one-column schema of `SHOW name`.
fn show_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]))
}

/// The text of a SET value expression: `'x'`, `x`, `42`, `-1`, `on`.
pub(crate) fn setting_value(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
            SqlValue::Number(n, _) => n.to_string(),
            SqlValue::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        Expr::UnaryOp { op, expr } => format!("{op}{}", setting_value(expr)),
        other => other.to_string(),
    }
}

/// The parameter a `SHOW` names: `SHOW prism.read_engines` arrives as two
/// words, `SHOW TRANSACTION ISOLATION LEVEL` as three, `SHOW TIME ZONE` as two.
fn show_name(variable: &[prismdb_sql::sqlparser::ast::Ident]) -> String {
    let parts: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
    match parts.as_slice() {
        [a, b] if !(a == "time" && b == "zone") => format!("{a}.{b}"),
        _ => parts.join(" "),
    }
}

/// An output with all its rows computed (its stream read to the end).
pub async fn collect_output(mut o: Output) -> Result<Output> {
    use futures::StreamExt;
    if let Some(rows) = o.rows.as_mut()
        && let Some(mut rest) = rows.rest.take()
    {
        while let Some(batch) = rest.next().await {
            rows.batches.push(batch?);
        }
    }
    Ok(o)
}

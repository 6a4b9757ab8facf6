//! Statements, one module per kind, and the session's entry points that
//! run them.
//!
//! The [`Session`] holds a connection's state; what each kind of statement
//! does lives in its module as functions over that state:
//!
//! * [`query`]: SELECT, VALUES, EXPLAIN, through the planner or the
//!   primary-key fast path;
//! * [`dml`]: INSERT, UPDATE, DELETE, TRUNCATE;
//! * [`copy_from`] and [`copy_to`]: the two directions of COPY;
//! * [`ddl`]: CREATE, ALTER, DROP, COMMENT, GRANT and friends;
//! * [`transaction`]: BEGIN, COMMIT, ROLLBACK, savepoints;
//! * [`setting`]: SET, SHOW, RESET, DISCARD;
//! * [`prepared`]: PREPARE and DEALLOCATE (EXECUTE runs here);
//! * [`cursor`]: DECLARE, FETCH, MOVE, CLOSE;
//! * [`analyze`]: ANALYZE, recomputing statistics.
//!
//! This module owns the order of things around every statement: the
//! transaction state machine, statement timeouts and activity, privilege
//! checks, and autocommit transactions with their retries. Statements
//! that run a query (DECLARE, COPY TO, EXECUTE) hand it back here to run,
//! so the kinds do not call each other; the one exception is a table
//! rewrite ([`ddl`]) reading the table's stored rows the way DELETE finds
//! its victims ([`dml::stored_rows`]).

pub(crate) mod analyze;
pub(crate) mod copy_from;
pub(crate) mod copy_to;
pub(crate) mod cursor;
pub(crate) mod ddl;
pub(crate) mod dml;
pub(crate) mod prepared;
pub(crate) mod query;
pub(crate) mod setting;
pub(crate) mod transaction;

use crate::cancel::StatementGuard;
use crate::output::{Output, collect_output};
use crate::session::{Prepared, Session, SimpleStatement};
use crate::txn::Txn;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use prismdb_common::{Error, Result, Value};
use prismdb_sql::sqlparser::ast::Statement;
use prismdb_sql::{StatementKind, classify};
use std::sync::Arc;
use std::time::Duration;

impl Session {
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
            Ok(stmt) => run(self, &stmt, None, &[], text).await,
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
                describe(self, &stmt).await?
            }
            StatementKind::Prepared if matches!(stmt, Statement::Execute { .. }) => {
                let bound = prepared::bound_execute(self, &stmt)?;
                if self.txn.is_none() {
                    self.engine.log.read_point().await?;
                }
                match classify(&bound) {
                    StatementKind::Query | StatementKind::Dml => {
                        (vec![], describe(self, &bound).await?.1)
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
                            (describe(self, &Statement::Query(q)).await?.0, None)
                        }
                        None => (vec![], None),
                    }
                }
                Statement::Fetch { name, into, .. } if !prismdb_sql::extensions::is_move(into) => {
                    (vec![], cursor::schema(self, &prismdb_sql::normalize(name)))
                }
                _ => (vec![], None),
            },
            StatementKind::Setting => match &stmt {
                Statement::ShowVariable { variable } => {
                    let name = setting::show_name(variable);
                    (vec![], Some(setting::show_schema(&name)))
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
                run(self, stmt, Some(&prepared.key), params, &prepared.text).await
            }
        }
    }

    /// The number of columns each row of the running `COPY ... FROM
    /// STDIN` has, if one is waiting for data.
    pub fn copy_in_columns(&self) -> Option<usize> {
        copy_from::columns(self)
    }

    /// The columns of a binary `COPY ... FROM STDIN` waiting for data
    /// (the wire layer decodes the binary rows by their types).
    pub fn copy_in_binary(&self) -> Option<Vec<datafusion::arrow::datatypes::Field>> {
        copy_from::binary_fields(self)
    }

    /// A CopyData chunk of the running `COPY ... FROM STDIN`.
    pub fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        copy_from::data(self, data)
    }

    /// CopyDone: loads the last rows and ends the COPY with its result.
    pub async fn copy_done(&mut self) -> Result<Output> {
        copy_from::done(self).await
    }

    /// CopyFail: the client gave up the COPY; the error to report.
    pub fn copy_fail(&mut self, message: &str) -> Error {
        copy_from::fail(self, message)
    }

    /// The columns of an open cursor's rows.
    pub fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        cursor::schema(self, name)
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

/// Runs one statement, keeping the transaction state machine right.
/// `key` is the statement's text when the caller already has it (the
/// plan cache is keyed by it); `text` is what `pg_stat_activity` shows.
async fn run(
    session: &mut Session,
    stmt: &Statement,
    key: Option<&str>,
    params: &[Value],
    text: &Arc<str>,
) -> Result<Output> {
    session.abandon_copy();
    // Rows the previous statement streamed ended in an error: that
    // statement failed its transaction block.
    if session
        .stream_failed
        .take()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    {
        session.fail_txn();
    }
    session
        .activity
        .start_statement(text, session.txn.is_some());
    let kind = classify(stmt);
    let r = if kind == StatementKind::Transaction {
        let r = Box::pin(transaction::run(session, stmt)).await;
        if r.is_err() {
            // A savepoint command that failed fails its block.
            session.fail_txn();
        }
        r
    } else if session.txn.as_ref().is_some_and(|t| t.failed) {
        Err(Error::InFailedTransaction)
    } else {
        // now(), current_date and friends read the statement's start time.
        Arc::make_mut(&mut session.state).mark_start_execution();
        let timeout_ms = session.settings.read().statement_timeout_ms();
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
        session.guard = StatementGuard::start(&session.cancel, timeout);
        let r = Box::pin(run_kind(session, kind, stmt, key, params)).await;
        session.schema.scan.set(None);
        if r.is_err() {
            session.fail_txn();
        }
        r
    };
    // A query's rows are still being produced: it stays active until
    // its stream ends (or is dropped).
    let mut r = r;
    if let Ok(Output {
        rows: Some(crate::output::ResultRows {
            rest: Some(stream), ..
        }),
        ..
    }) = &mut r
    {
        use futures::StreamExt;
        let end = session.activity.end_statement_later(session.idle_state());
        let rows = std::mem::replace(stream, futures::stream::empty().boxed());
        *stream = rows
            .map(move |b| {
                let _ = &end;
                b
            })
            .boxed();
    } else {
        session.activity.end_statement(session.idle_state());
    }
    r
}

async fn run_kind(
    session: &mut Session,
    kind: StatementKind,
    stmt: &Statement,
    key: Option<&str>,
    params: &[Value],
) -> Result<Output> {
    {
        let catalog = session.schema.current();
        match catalog.role(&session.user) {
            Some(role) if role.superuser => {}
            _ => {
                let role = crate::roles::acting_role(&catalog, &session.user);
                crate::roles::check_statement(&catalog, &session.database, &role, kind, stmt)?;
            }
        }
    }
    match kind {
        StatementKind::Setting => setting::run(session, stmt),
        StatementKind::Ddl if matches!(stmt, Statement::Truncate(_)) => {
            in_txn(session, stmt, key, params).await
        }
        StatementKind::Ddl => Box::pin(ddl::run(session, stmt)).await,
        StatementKind::Dml | StatementKind::Query => in_txn(session, stmt, key, params).await,
        StatementKind::Transaction => Box::pin(transaction::run(session, stmt)).await,
        StatementKind::Copy => match stmt {
            Statement::Copy {
                source,
                to: true,
                target,
                options,
                legacy_options,
                ..
            } => {
                let (query, options) =
                    copy_to::query(session, source, target, options, legacy_options)?;
                let out = Box::pin(in_txn(session, &query, None, &[])).await?;
                copy_to::output(out, &options)
            }
            _ => Box::pin(copy_from::start(session, stmt)).await,
        },
        StatementKind::Prepared => match stmt {
            Statement::Execute { .. } => {
                let stmt = prepared::bound_execute(session, stmt)?;
                let kind = classify(&stmt);
                Box::pin(run_kind(session, kind, &stmt, None, &[])).await
            }
            _ => prepared::run(session, stmt),
        },
        StatementKind::Cursor => match stmt {
            Statement::Declare { stmts } => {
                let declared = cursor::declared(session, stmts)?;
                // FETCH statements read the rows later, each under its own
                // statement_timeout: the query's stream gets no deadline of
                // its own.
                session.guard = StatementGuard::start(&session.cancel, None);
                let query = Statement::Query(declared.query.clone());
                let out = Box::pin(in_txn(session, &query, None, params)).await?;
                cursor::open(session, declared, out).await
            }
            _ => cursor::run(session, stmt).await,
        },
        StatementKind::SessionControl => setting::session_control(session, stmt),
        StatementKind::Analyze => {
            let guard = session.guard.clone();
            guard.run(analyze::run(session, stmt)).await
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
async fn in_txn(
    session: &mut Session,
    stmt: &Statement,
    key: Option<&str>,
    params: &[Value],
) -> Result<Output> {
    let guard = session.guard.clone();
    if let Some(mut txn) = session.txn.take() {
        let r = guard
            .run(execute_in(session, stmt, key, params, &mut txn))
            .await;
        session.txn = Some(txn);
        return r;
    }
    let mut attempt = 0;
    loop {
        let mut txn = Txn::begin(guard.run(session.engine.snapshot()).await?, false);
        let out = guard
            .run(execute_in(session, stmt, key, params, &mut txn))
            .await?;
        if txn.is_read_only() {
            return Ok(out);
        }
        match session.engine.log.commit(session.write_set(&txn)?).await {
            Ok(_) => return Ok(out),
            Err(Error::SerializationFailure(_)) if attempt < AUTOCOMMIT_RETRIES => {
                attempt += 1;
                autocommit_backoff(attempt).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn execute_in(
    session: &mut Session,
    stmt: &Statement,
    key: Option<&str>,
    params: &[Value],
    txn: &mut Txn,
) -> Result<Output> {
    let route = session.route();
    session
        .schema
        .scan
        .set(Some(txn.read_view_with(&session.engine.store, route)));
    match stmt {
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Truncate(_) => Box::pin(dml::run(session, stmt, params, txn)).await,
        _ => query::run(session, stmt, key, params).await,
    }
}

/// Parameter types and result schema of a query or DML statement.
async fn describe(
    session: &mut Session,
    stmt: &Statement,
) -> Result<(Vec<DataType>, Option<SchemaRef>)> {
    match stmt {
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
            dml::describe(session, stmt).await
        }
        _ => query::describe(session, stmt).await,
    }
}

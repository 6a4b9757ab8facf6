//! The PostgreSQL front end proper: [`serve`] accepts connections and runs
//! pgwire on each with a per-connection [`Connection`] that owns the engine
//! session, its prepared statements and portals, and implements start-up,
//! the simple query protocol and the extended query protocol.
//!
//! Messages of the extended protocol are fed into the connection's sink and
//! flushed only at Sync and Flush (and by pgwire when it reports an error),
//! so a pipelined Parse/Bind/Describe/Execute/Sync costs one write.
//!
//! The COPY FROM STDIN sub-protocol lives in [`copy`], the message loop
//! (checking messages before pgwire decodes them, noticing clients that hung
//! up) in [`driver`]. A CancelRequest names a session by the process id and
//! secret of its BackendKeyData; a [`CancelRegistry`] keeps every session's
//! [`Canceller`] under them, so a cancel arriving on any connection thread
//! stops the statement wherever it runs, and passes requests for sessions
//! it does not have to the other members.

#[path = "copy.rs"]
mod copy;
#[path = "driver.rs"]
mod driver;

use crate::auth::{ScramLogin, Step};
use crate::cancel::{CancelRegistry, secret_bytes};
use crate::encode::ResultEncoder;
use crate::handler::{
    Authentication as Login, Canceller, QueryResult, Rows, SqlEngine, SqlSession, StartupParams,
    TxnState,
};
use crate::metrics::Metrics;
use crate::params::decode_params;
use crate::sqlstate::{error_info, fatal_error_info, sqlstate, to_pgwire, wire_error};
use crate::threads::ConnectionThreads;
use crate::types::{self, column_formats, param_oid, param_type_hint};
use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::auth::{
    StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::Portal as PgPortal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::Response;
use pgwire::api::stmt::NoopQueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ErrorHandler, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult, SEVERITY_FATAL};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::data::{DataRow, NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    PortalSuspended, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use prismdb_common::{Error, Result, Value};
use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// The `server_version` reported to clients; drivers parse the leading number.
pub const SERVER_VERSION: &str = "15.0 (PrismDB)";

/// Accepts PostgreSQL clients on `listener` until `shutdown` completes, each
/// connection on its own task with its own engine session, spread over
/// `threads` (see [`ConnectionThreads`]). Connections open at shutdown keep
/// running until their clients leave or `threads` is dropped.
pub async fn serve<E, F>(
    engine: Arc<E>,
    listener: TcpListener,
    metrics: Arc<Metrics>,
    threads: Arc<ConnectionThreads>,
    cancels: Arc<CancelRegistry>,
    tls: Option<crate::tls::Tls>,
    shutdown: F,
) -> std::io::Result<()>
where
    E: SqlEngine,
    F: Future,
{
    let shared = Arc::new(Shared {
        engine,
        metrics,
        pids: RandomPidSecretKeyGenerator::default(),
        cancels,
        tls,
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let shared = shared.clone();
                    // A socket is registered with the I/O driver of the
                    // runtime that accepted it; one that moves to a
                    // connection thread is registered again there.
                    let socket = if threads.is_empty() {
                        Socket::Here(socket)
                    } else {
                        match socket.into_std() {
                            Ok(s) => Socket::Moving(s),
                            Err(e) => {
                                tracing::warn!(%peer, "could not hand the connection over: {e}");
                                continue;
                            }
                        }
                    };
                    threads.spawn(async move {
                        let socket = match socket {
                            Socket::Here(s) => s,
                            Socket::Moving(s) => match TcpStream::from_std(s) {
                                Ok(s) => s,
                                Err(e) => {
                                    tracing::warn!(%peer, "could not register the connection: {e}");
                                    return;
                                }
                            },
                        };
                        shared.metrics.connection_opened();
                        let _open = OpenConnection(shared.metrics.clone());
                        let connection = Arc::new(Connection::new(shared));
                        if let Err(e) = driver::drive(socket, connection).await {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    Ok(())
}

/// An accepted socket on its way to the task that serves it.
enum Socket {
    /// Served on the runtime that accepted it.
    Here(TcpStream),
    /// Deregistered, to be registered with a connection thread's runtime.
    Moving(std::net::TcpStream),
}

/// Decrements the open-connection gauge when a connection task ends, however it ends.
struct OpenConnection(Arc<Metrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// What all connections share.
struct Shared<E> {
    engine: Arc<E>,
    metrics: Arc<Metrics>,
    pids: RandomPidSecretKeyGenerator,
    /// The running sessions by process id: their secret key and how to
    /// cancel their statement.
    cancels: Arc<CancelRegistry>,
    /// TLS for clients that ask for it, when configured.
    tls: Option<crate::tls::Tls>,
}

/// One client connection: the engine session and the extended protocol's
/// named objects. pgwire handles one message at a time per connection, so
/// the lock is never contended; it only makes the state reachable from
/// pgwire's `&self` handlers.
pub(crate) struct Connection<E: SqlEngine> {
    shared: Arc<Shared<E>>,
    state: tokio::sync::Mutex<State<E::Session>>,
    /// The session's process id and canceller, once start-up succeeded.
    cancel: std::sync::OnceLock<(i32, Canceller)>,
}

impl<E: SqlEngine> Drop for Connection<E> {
    fn drop(&mut self) {
        if let Some((pid, _)) = self.cancel.get() {
            self.shared.cancels.remove(*pid);
        }
    }
}

struct State<S: SqlSession> {
    /// Set once start-up succeeded.
    session: Option<S>,
    statements: HashMap<String, Arc<Prepared<S::Statement>>>,
    portals: HashMap<String, Portal<S::Statement>>,
    /// The decoder of a running binary COPY FROM STDIN.
    binary_copy: Option<crate::copy_binary::BinaryCopyIn>,
    /// A start-up waiting for the client's password proof.
    login: Option<(StartupParams, ScramLogin)>,
}

/// A parsed statement (Parse).
struct Prepared<T> {
    /// `None` for an empty query string.
    statement: Option<T>,
    /// Types the Bind values are decoded as.
    param_types: Vec<DataType>,
    /// OIDs reported in ParameterDescription.
    param_oids: Vec<u32>,
    schema: Option<SchemaRef>,
    /// The RowDescription of `schema`, but for format codes.
    columns: Vec<types::ColumnDescription>,
}

/// A bound statement (Bind) and how far its execution got.
struct Portal<T> {
    prepared: Arc<Prepared<T>>,
    params: Vec<Value>,
    result_formats: Vec<i16>,
    state: PortalState,
}

enum PortalState {
    /// Bound, not yet executed.
    Ready,
    /// Returned rows and was suspended by Execute's row limit.
    Running(Box<RunningQuery>),
    /// Ran to completion; executing it again reports no more rows.
    Done(String),
    /// Failed; it cannot run again.
    Failed,
}

struct RunningQuery {
    tag: String,
    encoder: ResultEncoder,
    rows: Rows,
    /// A batch partly sent before a suspension, and its next row.
    pending: Option<(arrow::record_batch::RecordBatch, usize)>,
    started: Instant,
}

fn no_session() -> PgWireError {
    to_pgwire(&Error::Protocol(
        "no session: start-up did not complete".into(),
    ))
}

fn txn_status(state: TxnState) -> TransactionStatus {
    match state {
        TxnState::Idle => TransactionStatus::Idle,
        TxnState::InBlock => TransactionStatus::Transaction,
        TxnState::Failed => TransactionStatus::Error,
    }
}

/// Whether a query string holds no statement (only whitespace and semicolons).
fn is_empty_query(sql: &str) -> bool {
    sql.chars().all(|c| c == ';' || c.is_whitespace())
}

/// The CommandComplete tag: plain queries get the row count appended.
fn complete_tag(tag: &str, rows: usize) -> String {
    if tag.eq_ignore_ascii_case("SELECT") || tag.eq_ignore_ascii_case("FETCH") {
        format!("{tag} {rows}")
    } else {
        tag.to_owned()
    }
}

fn startup_params(parameters: &std::collections::BTreeMap<String, String>) -> StartupParams {
    let mut options: HashMap<String, String> = parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let user = options.remove("user").unwrap_or_default();
    let database = options
        .remove("database")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    StartupParams {
        user,
        database,
        options,
        client_addr: None,
    }
}

/// Outcome of streaming rows for an Execute.
enum Progress {
    /// The row limit was reached with rows possibly left.
    Suspended,
    /// All rows were sent; the count sent by this Execute.
    Complete(usize),
}

impl<E: SqlEngine> Connection<E> {
    /// The TLS set-up, if clients may ask for TLS.
    fn tls(&self) -> Option<&crate::tls::Tls> {
        self.shared.tls.as_ref()
    }

    fn new(shared: Arc<Shared<E>>) -> Self {
        Connection {
            shared,
            state: tokio::sync::Mutex::new(State {
                session: None,
                statements: HashMap::new(),
                portals: HashMap::new(),
                binary_copy: None,
                login: None,
            }),
            cancel: std::sync::OnceLock::new(),
        }
    }

    fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Cancels the statement the session is running, if any (the client
    /// hung up).
    fn cancel_running(&self) {
        if let Some((_, cancel)) = self.cancel.get() {
            cancel();
        }
    }

    /// Simple query protocol: every statement's rows and tag (or the error
    /// that stopped the run), then ReadyForQuery with the session's state.
    /// Statements run one at a time, each one's rows sent as they are
    /// produced before the next one runs.
    async fn simple_query<C>(&self, client: &mut C, sql: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let started = Instant::now();
        let mut guard = self.state.lock().await;
        let State {
            session,
            statements,
            binary_copy,
            ..
        } = &mut *guard;
        let session = session.as_mut().ok_or_else(no_session)?;
        let mut copy_in = None;
        match session.simple_statements(sql) {
            Err(e) => {
                self.metrics().error(sqlstate(&e));
                client
                    .feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into()))
                    .await?;
            }
            Ok(stmts) if stmts.is_empty() => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Ok(stmts) => {
                let text: Arc<str> = Arc::from(sql);
                for stmt in stmts {
                    let result = match session.deallocates(&stmt) {
                        Some(Some(name)) if statements.remove(&name).is_some() => {
                            Ok(QueryResult::command("DEALLOCATE"))
                        }
                        Some(None) => {
                            statements.clear();
                            session.run_simple(stmt, &text).await
                        }
                        _ => session.run_simple(stmt, &text).await,
                    };
                    // A COPY FROM STDIN ends the run; its result comes at
                    // CopyDone.
                    if result.is_ok() && session.copy_in_columns().is_some() {
                        copy_in = session.copy_in_columns();
                        break;
                    }
                    let outcome = match result {
                        Ok(result) => self.send_simple_result(client, result).await?,
                        Err(e) => Err(e),
                    };
                    send_parameter_changes(client, session).await?;
                    if let Err(e) = outcome {
                        self.metrics().error(sqlstate(&e));
                        client
                            .feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into()))
                            .await?;
                        break;
                    }
                }
            }
        }
        self.metrics().latency(started.elapsed());
        let status = txn_status(session.txn_state());
        client.set_transaction_status(status);
        if let Some(columns) = copy_in {
            *binary_copy = session
                .copy_in_binary()
                .map(crate::copy_binary::BinaryCopyIn::new);
            return copy::start_copy_in(client, columns, false, binary_copy.is_some()).await;
        }
        client
            .feed(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        client.flush().await?;
        Ok(())
    }

    /// Sends one simple-protocol result: RowDescription, DataRows and
    /// CommandComplete. The inner error is the engine's, to report.
    async fn send_simple_result<C>(
        &self,
        client: &mut C,
        result: QueryResult,
    ) -> PgWireResult<Result<()>>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let QueryResult {
            tag,
            rows,
            copy_out,
        } = result;
        let tag = match rows {
            None => tag,
            Some(rows) if copy_out.is_some() => {
                let format = copy_out.unwrap_or_else(|| unreachable!("checked above"));
                match crate::copy_out::send(client, &format, rows).await? {
                    Ok(sent) => format!("COPY {sent}"),
                    Err(e) => return Ok(Err(e)),
                }
            }
            Some(mut rows) => {
                let encoder = ResultEncoder::new(&rows.schema, &[]);
                client
                    .feed(PgWireBackendMessage::RowDescription(
                        encoder.row_description(),
                    ))
                    .await?;
                let mut sent = 0;
                let mut buffer = Vec::new();
                while let Some(batch) = rows.batches.next().await {
                    let encoded =
                        batch.and_then(|b| encoder.encode(&b, 0..b.num_rows(), &mut buffer));
                    if let Err(e) = encoded {
                        return Ok(Err(e));
                    }
                    sent += buffer.len();
                    for row in buffer.drain(..) {
                        client.feed(PgWireBackendMessage::DataRow(row)).await?;
                    }
                }
                complete_tag(&tag, sent)
            }
        };
        self.metrics().query(&tag);
        client
            .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                tag,
            )))
            .await?;
        Ok(Ok(()))
    }

    async fn parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.unwrap_or_default();
        let mut state = self.state.lock().await;
        if !name.is_empty() && state.statements.contains_key(&name) {
            return Err(wire_error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let hints: Vec<Option<DataType>> = message
            .type_oids
            .iter()
            .map(|oid| param_type_hint(*oid))
            .collect();
        let session = state.session.as_mut().ok_or_else(no_session)?;
        let prepared = if is_empty_query(&message.query) {
            Prepared {
                statement: None,
                param_types: hints
                    .iter()
                    .map(|h| h.clone().unwrap_or(DataType::Null))
                    .collect(),
                param_oids: message.type_oids.clone(),
                schema: None,
                columns: Vec::new(),
            }
        } else {
            let statement = session
                .prepare(&message.query, &hints)
                .await
                .map_err(|e| to_pgwire(&e))?;
            let engine_types = session.param_types(&statement);
            let count = engine_types.len().max(hints.len());
            // The client encodes a parameter as the type it named, if any;
            // otherwise as the type the engine reports.
            let param_types: Vec<DataType> = (0..count)
                .map(|i| {
                    hints
                        .get(i)
                        .cloned()
                        .flatten()
                        .or_else(|| engine_types.get(i).cloned())
                        .unwrap_or(DataType::Null)
                })
                .collect();
            let param_oids = (0..count)
                .map(|i| match message.type_oids.get(i) {
                    Some(oid) if *oid != 0 => *oid,
                    _ => param_oid(engine_types.get(i).unwrap_or(&DataType::Null)),
                })
                .collect();
            let schema = session.result_schema(&statement);
            let columns = schema
                .as_ref()
                .map(|s| types::describe_columns(s.fields().iter().map(|f| f.as_ref())))
                .unwrap_or_default();
            Prepared {
                statement: Some(statement),
                param_types,
                param_oids,
                schema,
                columns,
            }
        };
        state.statements.insert(name, Arc::new(prepared));
        client
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.unwrap_or_default();
        let portal_name = message.portal_name.unwrap_or_default();
        let mut state = self.state.lock().await;
        let prepared = state
            .statements
            .get(&statement_name)
            .cloned()
            .ok_or_else(|| {
                to_pgwire(&Error::Protocol(format!(
                    "prepared statement \"{statement_name}\" does not exist"
                )))
            })?;
        if !portal_name.is_empty() && state.portals.contains_key(&portal_name) {
            return Err(wire_error(
                "42P03",
                format!("cursor \"{portal_name}\" already exists"),
            ));
        }
        let params = decode_params(
            &prepared.param_types,
            &message.parameter_format_codes,
            &message.parameters,
        )
        .map_err(|e| to_pgwire(&e))?;
        if let Some(schema) = &prepared.schema {
            column_formats(&message.result_column_format_codes, schema.fields().len())
                .map_err(|e| to_pgwire(&e))?;
        }
        let portal = Portal {
            prepared,
            params,
            result_formats: message.result_column_format_codes,
            state: PortalState::Ready,
        };
        state.portals.insert(portal_name, portal);
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.unwrap_or_default();
        let state = self.state.lock().await;
        let (prepared, formats) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                let prepared = state.statements.get(&name).ok_or_else(|| {
                    to_pgwire(&Error::Protocol(format!(
                        "prepared statement \"{name}\" does not exist"
                    )))
                })?;
                client
                    .feed(PgWireBackendMessage::ParameterDescription(
                        ParameterDescription::new(prepared.param_oids.clone()),
                    ))
                    .await?;
                (prepared, &[][..])
            }
            TARGET_TYPE_BYTE_PORTAL => match state.portals.get(&name) {
                Some(portal) => (&portal.prepared, &portal.result_formats[..]),
                None => {
                    // A cursor DECLAREd in SQL is a portal too.
                    let schema = state
                        .session
                        .as_ref()
                        .and_then(|s| s.cursor_schema(&name))
                        .ok_or_else(|| {
                            wire_error("34000", format!("portal \"{name}\" does not exist"))
                        })?;
                    let description = types::row_description(
                        schema.fields().iter().map(|f| f.as_ref()),
                        &vec![false; schema.fields().len()],
                    );
                    client
                        .feed(PgWireBackendMessage::RowDescription(description))
                        .await?;
                    return Ok(());
                }
            },
            other => {
                return Err(wire_error(
                    "08P01",
                    format!("invalid DESCRIBE message subtype {other}"),
                ));
            }
        };
        match &prepared.schema {
            Some(schema) => {
                let binary =
                    column_formats(formats, schema.fields().len()).map_err(|e| to_pgwire(&e))?;
                let description = types::row_description_of(&prepared.columns, &binary);
                client
                    .feed(PgWireBackendMessage::RowDescription(description))
                    .await?;
            }
            None => {
                client
                    .feed(PgWireBackendMessage::NoData(NoData::new()))
                    .await?
            }
        }
        Ok(())
    }

    async fn execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.unwrap_or_default();
        let max_rows = usize::try_from(message.max_rows)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX);
        let mut guard = self.state.lock().await;
        let State {
            session,
            portals,
            statements,
            binary_copy,
            ..
        } = &mut *guard;
        let session = session.as_mut().ok_or_else(no_session)?;
        let portal = portals
            .get_mut(&name)
            .ok_or_else(|| wire_error("34000", format!("portal \"{name}\" does not exist")))?;

        if let PortalState::Ready = portal.state {
            let Some(statement) = portal.prepared.statement.as_ref() else {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            };
            let started = Instant::now();
            let params = std::mem::take(&mut portal.params);
            let result = match session.deallocates_prepared(statement) {
                Some(Some(name)) if statements.remove(&name).is_some() => {
                    Ok(QueryResult::command("DEALLOCATE"))
                }
                Some(None) => {
                    statements.clear();
                    session.execute(statement, params).await
                }
                _ => session.execute(statement, params).await,
            };
            send_parameter_changes(client, session).await?;
            match result {
                Err(e) => {
                    portal.state = PortalState::Failed;
                    self.metrics().latency(started.elapsed());
                    return Err(to_pgwire(&e));
                }
                Ok(QueryResult { tag, .. }) if session.copy_in_columns().is_some() => {
                    let columns = session.copy_in_columns().unwrap_or_default();
                    portal.state = PortalState::Done(tag);
                    *binary_copy = session
                        .copy_in_binary()
                        .map(crate::copy_binary::BinaryCopyIn::new);
                    return copy::start_copy_in(client, columns, true, binary_copy.is_some()).await;
                }
                Ok(QueryResult {
                    rows: Some(rows),
                    copy_out: Some(format),
                    ..
                }) => {
                    let sent = crate::copy_out::send(client, &format, rows).await?;
                    self.metrics().latency(started.elapsed());
                    match sent {
                        Ok(sent) => {
                            let tag = format!("COPY {sent}");
                            self.metrics().query(&tag);
                            client
                                .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                                    tag.clone(),
                                )))
                                .await?;
                            portal.state = PortalState::Done(tag);
                            return Ok(());
                        }
                        Err(e) => {
                            portal.state = PortalState::Failed;
                            return Err(to_pgwire(&e));
                        }
                    }
                }
                Ok(QueryResult {
                    tag, rows: None, ..
                }) => {
                    self.metrics().query(&tag);
                    self.metrics().latency(started.elapsed());
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag.clone(),
                        )))
                        .await?;
                    portal.state = PortalState::Done(tag);
                    return Ok(());
                }
                Ok(QueryResult {
                    tag,
                    rows: Some(rows),
                    ..
                }) => {
                    let binary =
                        match column_formats(&portal.result_formats, rows.schema.fields().len()) {
                            Ok(binary) => binary,
                            Err(e) => {
                                portal.state = PortalState::Failed;
                                return Err(to_pgwire(&e));
                            }
                        };
                    let encoder = ResultEncoder::new(&rows.schema, &binary);
                    portal.state = PortalState::Running(Box::new(RunningQuery {
                        tag,
                        encoder,
                        rows,
                        pending: None,
                        started,
                    }));
                }
            }
        }

        match &mut portal.state {
            PortalState::Running(query) => match send_rows(client, query, max_rows).await? {
                Ok(Progress::Suspended) => {
                    client
                        .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                        .await?;
                }
                Ok(Progress::Complete(sent)) => {
                    let tag = complete_tag(&query.tag, sent);
                    self.metrics().query(&tag);
                    self.metrics().latency(query.started.elapsed());
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag,
                        )))
                        .await?;
                    portal.state = PortalState::Done(std::mem::take(&mut query.tag));
                }
                Err(e) => {
                    self.metrics().latency(query.started.elapsed());
                    portal.state = PortalState::Failed;
                    return Err(to_pgwire(&e));
                }
            },
            PortalState::Done(tag) => {
                let tag = complete_tag(tag, 0);
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
            }
            PortalState::Failed => {
                return Err(wire_error(
                    "55000",
                    format!("portal \"{name}\" cannot be run"),
                ));
            }
            PortalState::Ready => {}
        }
        Ok(())
    }

    async fn sync<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut state = self.state.lock().await;
        let status = state
            .session
            .as_ref()
            .map_or(TransactionStatus::Idle, |s| txn_status(s.txn_state()));
        // Portals live until their transaction ends; outside a block every
        // Sync ends the implicit one.
        if status == TransactionStatus::Idle {
            state.portals.clear();
        } else {
            state.portals.remove("");
        }
        client.set_transaction_status(status);
        client
            .feed(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        client.flush().await?;
        Ok(())
    }

    async fn close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.unwrap_or_default();
        let mut state = self.state.lock().await;
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                state.statements.remove(&name);
            }
            TARGET_TYPE_BYTE_PORTAL => {
                state.portals.remove(&name);
            }
            other => {
                return Err(wire_error(
                    "08P01",
                    format!("invalid CLOSE message subtype {other}"),
                ));
            }
        }
        client
            .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }
}

/// Streams up to `max_rows` rows of a running query. The outer error is the
/// connection's, the inner one the engine's.
async fn send_rows<C>(
    client: &mut C,
    query: &mut RunningQuery,
    max_rows: usize,
) -> PgWireResult<Result<Progress>>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0;
    let mut buffer: Vec<DataRow> = Vec::new();
    loop {
        if sent == max_rows {
            return Ok(Ok(Progress::Suspended));
        }
        let (batch, offset) = match query.pending.take() {
            Some(pending) => pending,
            None => match query.rows.batches.next().await {
                Some(Ok(batch)) => (batch, 0),
                Some(Err(e)) => return Ok(Err(e)),
                None => return Ok(Ok(Progress::Complete(sent))),
            },
        };
        let end = batch.num_rows().min(offset.saturating_add(max_rows - sent));
        if let Err(e) = query.encoder.encode(&batch, offset..end, &mut buffer) {
            return Ok(Err(e));
        }
        sent += end - offset;
        for row in buffer.drain(..) {
            client.feed(PgWireBackendMessage::DataRow(row)).await?;
        }
        if end < batch.num_rows() {
            query.pending = Some((batch, end));
        }
    }
}

/// ParameterStatus for every setting the last statements changed.
async fn send_parameter_changes<C, S>(client: &mut C, session: &mut S) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    S: SqlSession,
{
    for (name, value) in session.take_parameter_changes() {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                name, value,
            )))
            .await?;
    }
    Ok(())
}

#[async_trait]
impl<E: SqlEngine> StartupHandler for Connection<E> {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let startup = match message {
            PgWireFrontendMessage::Startup(startup) => startup,
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let pending = self.state.lock().await.login.take();
                let Some((params, mut login)) = pending else {
                    return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                        SEVERITY_FATAL.to_owned(),
                        "08P01".to_owned(),
                        "unexpected password message".to_owned(),
                    ))));
                };
                return match login.step(password)? {
                    Step::Continue(reply) => {
                        client
                            .send(PgWireBackendMessage::Authentication(reply))
                            .await?;
                        self.state.lock().await.login = Some((params, login));
                        Ok(())
                    }
                    Step::Done(reply) => {
                        client
                            .feed(PgWireBackendMessage::Authentication(reply))
                            .await?;
                        self.open_session(client, params).await
                    }
                };
            }
            _ => return Ok(()),
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);

        let mut params = startup_params(&startup.parameters);
        params.client_addr = Some(client.socket_addr().ip().to_string());
        if params.user.is_empty() {
            return Err(PgWireError::UserError(Box::new(
                pgwire::error::ErrorInfo::new(
                    pgwire::error::SEVERITY_FATAL.to_owned(),
                    "28000".to_owned(),
                    "no PostgreSQL user name specified in startup packet".to_owned(),
                ),
            )));
        }
        match self.shared.engine.authentication(&params.user) {
            Login::Trust => self.open_session(client, params).await,
            Login::Scram(verifier) => {
                let login = ScramLogin::new(&params.user, verifier);
                self.state.lock().await.login = Some((params, login));
                client
                    .send(PgWireBackendMessage::Authentication(ScramLogin::request()))
                    .await?;
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                Ok(())
            }
        }
    }
}

impl<E: SqlEngine> Connection<E> {
    /// Opens the engine session of a client that authenticated and sends
    /// the rest of the start-up reply: AuthenticationOk, the parameters,
    /// BackendKeyData and the first ReadyForQuery.
    async fn open_session<C>(&self, client: &mut C, params: StartupParams) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self
            .shared
            .engine
            .connect(&params)
            .await
            .map_err(|e| PgWireError::UserError(Box::new(fatal_error_info(&e))))?;
        let status = txn_status(session.txn_state());
        let pid = session.backend_pid();
        let (_, secret_key) = self.shared.pids.generate(&*client);
        client.set_pid_and_secret_key(pid, secret_key.clone());
        let canceller = session.canceller();
        self.shared
            .cancels
            .register(pid, secret_bytes(&secret_key), canceller.clone());
        let _ = self.cancel.set((pid, canceller));
        self.state.lock().await.session = Some(session);

        client
            .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
            .await?;
        let application_name = params
            .options
            .get("application_name")
            .cloned()
            .unwrap_or_default();
        let parameters = [
            ("server_version", SERVER_VERSION.to_owned()),
            ("server_encoding", "UTF8".to_owned()),
            ("client_encoding", "UTF8".to_owned()),
            ("DateStyle", "ISO, MDY".to_owned()),
            ("IntervalStyle", "postgres".to_owned()),
            ("TimeZone", "UTC".to_owned()),
            ("integer_datetimes", "on".to_owned()),
            ("standard_conforming_strings", "on".to_owned()),
            ("is_superuser", "on".to_owned()),
            ("default_transaction_read_only", "off".to_owned()),
            ("in_hot_standby", "off".to_owned()),
            ("session_authorization", params.user.clone()),
            ("application_name", application_name),
        ];
        for (name, value) in parameters {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    name.to_owned(),
                    value,
                )))
                .await?;
        }
        client
            .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                pid, secret_key,
            )))
            .await?;
        client.set_transaction_status(status);
        client
            .feed(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        client.flush().await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

#[async_trait]
impl<E: SqlEngine> SimpleQueryHandler for Connection<E> {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.simple_query(client, &query.query).await
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_query` handles the whole message; pgwire never gets here.
        Err(to_pgwire(&Error::Internal(
            "simple query routed past on_query".into(),
        )))
    }
}

#[async_trait]
impl<E: SqlEngine> ExtendedQueryHandler for Connection<E> {
    // pgwire's own statement store goes unused: statements and portals live
    // in the connection's state next to the session that made them.
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(NoopQueryParser::new())
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.parse(client, message).await
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.bind(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.execute(client, message).await
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.describe(client, message).await
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.sync(client).await
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.close(client, message).await
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &PgPortal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_execute` handles Execute; pgwire never gets here.
        Err(to_pgwire(&Error::Internal(
            "execute routed past on_execute".into(),
        )))
    }
}

#[async_trait]
impl<E: SqlEngine> CancelHandler for Connection<E> {
    /// A CancelRequest, on its own connection: cancels the named session's
    /// statement if the secret matches, here or on another member.
    /// PostgreSQL answers nothing either way; the connection closes.
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.shared
            .cancels
            .request(request.pid, secret_bytes(&request.secret_key));
    }
}

impl<E: SqlEngine> ErrorHandler for Connection<E> {
    fn on_error<C>(&self, _client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        // Errors returned to pgwire (extended protocol, start-up) are counted
        // here; the simple protocol counts the ones it sends itself.
        if !matches!(error, PgWireError::IoError(_)) {
            self.metrics().error(error.code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_get_counts_only_for_queries() {
        assert_eq!(complete_tag("SELECT", 3), "SELECT 3");
        assert_eq!(complete_tag("INSERT 0 2", 2), "INSERT 0 2");
        assert_eq!(complete_tag("CREATE TABLE", 0), "CREATE TABLE");
    }

    #[test]
    fn database_defaults_to_user() {
        let params = std::collections::BTreeMap::from([
            ("user".to_owned(), "alice".to_owned()),
            ("application_name".to_owned(), "psql".to_owned()),
        ]);
        let p = startup_params(&params);
        assert_eq!((p.user.as_str(), p.database.as_str()), ("alice", "alice"));
        assert_eq!(
            p.options.get("application_name").map(String::as_str),
            Some("psql")
        );
    }

    #[test]
    fn empty_queries() {
        assert!(is_empty_query(""));
        assert!(is_empty_query(" ; ;\n"));
        assert!(!is_empty_query("select 1"));
    }
}

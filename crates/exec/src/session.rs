//! [`Session`]: one client connection's settings, transaction and planner.

use crate::Engine;
use crate::activity::{SessionActivity, State as ActivityState};
use crate::cancel::{CancelSignal, StatementGuard};
use crate::functions::{columnar_functions, session_functions};
use crate::index_writes::entry_writes;
use crate::point::KeyQuery;
use crate::read_view::ScanContext;
use crate::schema::{PlanHints, PrismCatalog, PrismCatalogList, PrismSchema, SchemaState};
use crate::settings::{Settings, SharedSettings};
use crate::txn::Txn;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionConfig;
use parking_lot::{Mutex, RwLock};
use prismdb_catalog::DEFAULT_SCHEMA;
use prismdb_catalog::Table;
use prismdb_common::{Error, Result};
use prismdb_rowstore::WriteSet;
use prismdb_sql::hints::ReadHint;
use prismdb_sql::sqlparser::ast::Statement;
use std::sync::Arc;

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
    pub(crate) plan_cache: std::collections::HashMap<String, Arc<CachedQuery>>,
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
    pub(crate) stmt: Statement,
    pub(crate) hints: Vec<ReadHint>,
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
            .with_physical_optimizer_rule(Arc::new(crate::sorted_scans::SortedScans))
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
        ))
        .chain(crate::sequences::sequence_functions(
            Arc::downgrade(&engine),
            {
                let schema = schema.clone();
                Arc::new(move || schema.current())
            },
            database.to_string(),
            Arc::default(),
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
    pub(crate) fn idle_state(&self) -> ActivityState {
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

    /// The table `name` as a statement that writes it sees it (views refused).
    pub(crate) fn table(&self, name: &str) -> Result<Arc<Table>> {
        let catalog = self.schema.current();
        let db = catalog.database(&self.database)?;
        if db.views.contains_key(name) {
            return Err(Error::ObjectNotInPrerequisiteState(format!(
                "cannot change view \"{name}\""
            )));
        }
        Ok(catalog.table(&self.database, name)?.clone())
    }

    /// Drops a COPY the client left for another statement (a protocol
    /// violation the wire layer already reported): like any failed
    /// statement it fails a transaction block.
    pub(crate) fn abandon_copy(&mut self) {
        if self.copy.take().is_some() {
            self.fail_txn();
        }
    }

    pub(crate) fn fail_txn(&mut self) {
        if let Some(t) = self.txn.as_mut() {
            t.failed = true;
        }
    }

    /// How this statement's scans choose their engine.
    pub(crate) fn route(&self) -> crate::route::Route {
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

    pub(crate) fn write_set(&self, txn: &Txn) -> Result<WriteSet> {
        let catalog = match &txn.ddl {
            Some(ddl) => ddl.next.clone(),
            None => self.engine.catalog(),
        };
        let indexes = self.engine.indexes(&catalog);
        let mut writes = txn.row_writes();
        entry_writes(txn, &indexes, &self.engine.store, &mut writes)?;
        Ok(txn.write_set(self.engine.store.rowid_slot(), writes))
    }

    /// Commits a transaction block. With DDL in it, the catalog it changed
    /// must still be the current one (else 40001); applying the entry
    /// checks the same against concurrent DDL of other nodes.
    pub(crate) async fn commit(&self, txn: Txn) -> Result<()> {
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

    /// The open transaction block, for a statement (`what`) that only
    /// runs inside one.
    pub(crate) fn block(&mut self, what: &str) -> Result<&mut Txn> {
        self.txn.as_mut().ok_or_else(|| {
            Error::NoActiveSqlTransaction(format!("{what} can only be used in transaction blocks"))
        })
    }
}

/// What a session remembers about a query it ran.
pub(crate) struct CachedQuery {
    /// The catalog the plan was made against; the entry is stale once the
    /// session sees another.
    pub(crate) catalog: Arc<prismdb_catalog::Catalog>,
    pub(crate) plan: LogicalPlan,
    /// Set when the query is a primary-key read the fast path answers.
    pub(crate) key: Option<KeyQuery>,
}

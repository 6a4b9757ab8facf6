//! Planning and running queries with DataFusion, and describing statements
//! for the extended protocol.

use crate::activity::ADMISSION_WAIT;
use crate::analytics::{Lane, Task};
use crate::cancel::StatementGuard;
use crate::convert::value_to_scalar;
use crate::point::KeyQuery;
use crate::route::TableScanExec;
use crate::session::{Output, ResultRows, RowStream, Session};
use crate::settings::Workload;
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::sql::parser::Statement as DfStatement;
use futures::StreamExt;
use prismdb_common::{Error, Result, Value};
use prismdb_router::ReadEngine;
use prismdb_sql::error::from_datafusion;
use prismdb_sql::rewrite::{expand_views, normalize_for_planning, output_names};
use prismdb_sql::sqlparser::ast::Statement;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a session remembers about a query it ran.
pub(crate) struct CachedQuery {
    /// The catalog the plan was made against; the entry is stale once the
    /// session sees another.
    catalog: Arc<prismdb_catalog::Catalog>,
    plan: LogicalPlan,
    /// Set when the query is a primary-key read the fast path answers.
    key: Option<KeyQuery>,
}

impl Session {
    /// Expands views and plans a statement with DataFusion, on the
    /// interactive runtime: planning a large statement takes a while, and
    /// the connection's thread serves other connections' point reads.
    pub(crate) async fn plan(&self, stmt: &Statement) -> Result<LogicalPlan> {
        let mut stmt = Box::new(stmt.clone());
        let catalog = self.schema.current();
        let db = catalog.database(&self.database)?.clone();
        if !db.views.is_empty() {
            expand_views(&mut stmt, &|name| db.views.get(name).cloned())?;
        }
        normalize_for_planning(&mut stmt, &self.database)?;
        let state = self.state.clone();
        self.engine
            .analytics
            .run_on(Lane::Interactive, async move {
                state.statement_to_plan(DfStatement::Statement(stmt)).await
            })
            .await?
            .map_err(from_datafusion)
    }

    // Planning and execution futures are large; they are boxed where the
    // point-lookup path passes by, so its own future stays small and cheap
    // to create and move.

    /// The logical plan of a query, reused while the catalog it was planned
    /// against is current. Plans do not capture snapshots (providers look up
    /// the statement's read view when they scan), so a cached plan reads at
    /// each execution's own snapshot.
    async fn cached_plan(
        &mut self,
        stmt: &Statement,
        key: Option<&str>,
    ) -> Result<Arc<CachedQuery>> {
        const CAPACITY: usize = 256;
        let owned;
        let key = match key {
            Some(k) => k,
            None => {
                owned = stmt.to_string();
                &owned
            }
        };
        let catalog = self.schema.current();
        if let Some(cached) = self.plan_cache.get(key)
            && Arc::ptr_eq(&cached.catalog, &catalog)
        {
            return Ok(cached.clone());
        }
        let plan = Box::pin(self.plan(stmt)).await?;
        let fast = KeyQuery::recognize(stmt, &catalog, &self.database);
        let cached = Arc::new(CachedQuery {
            catalog,
            plan,
            key: fast,
        });
        if self.plan_cache.len() >= CAPACITY {
            self.plan_cache.clear();
        }
        self.plan_cache.insert(key.to_string(), cached.clone());
        Ok(cached)
    }

    /// Binds parameters into a plan.
    pub(crate) fn bind(plan: LogicalPlan, params: &[Value]) -> Result<LogicalPlan> {
        if params.is_empty() {
            return Ok(plan);
        }
        let values: Vec<_> = params.iter().map(value_to_scalar).collect();
        plan.with_param_values(ParamValues::from(values))
            .map_err(from_datafusion)
    }

    /// Runs a logical plan to completion.
    pub(crate) async fn collect(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
        Ok(self.collect_with_schema(plan).await?.1)
    }

    /// Runs a logical plan to completion, returning the schema its batches
    /// really have.
    pub(crate) async fn collect_with_schema(
        &self,
        plan: LogicalPlan,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let (schema, mut stream) = self.start(plan, None).await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            batches.push(batch?);
        }
        Ok((schema, batches))
    }

    /// Plans `plan` physically and starts executing it; returns the schema
    /// its batches have and the stream of them.
    ///
    /// Physical planning (with it the router's choice of engine for each
    /// scan, and the providers pinning the statement's read view) runs on
    /// the interactive runtime. The estimate of the plan's work then picks
    /// where it executes (see [`lane`]): small statements stay on the
    /// interactive runtime, large ones wait for an admission slot and run on
    /// the analytics runtime, under the statement's share of the memory
    /// pool. A task there drives the plan and hands batches over a channel
    /// of two, so rows stream as they are produced and a slow reader holds
    /// the plan back instead of piling up batches. The stream stops with
    /// 57014 when the statement is cancelled or its deadline passes, and
    /// dropping it stops the plan. `failed` is set if the stream ends in an
    /// error (the transaction block then fails, as when a statement does).
    pub(crate) async fn start(
        &self,
        plan: LogicalPlan,
        failed: Option<Arc<AtomicBool>>,
    ) -> Result<(SchemaRef, RowStream)> {
        let analytics = &self.engine.analytics;
        let (workload, min_cost, priority, quota) = {
            let s = self.settings.read();
            (
                s.workload(),
                s.analytics_min_cost(),
                s.priority(),
                s.query_memory_limit(),
            )
        };
        let state = self.state.clone();
        let physical = analytics
            .run_on(Lane::Interactive, async move {
                state.create_physical_plan(&plan).await
            })
            .await?;
        let memory_mb = analytics.options().memory_bytes >> 20;
        let explain = move |e: datafusion::error::DataFusionError| {
            explain_error(from_datafusion(e), memory_mb)
        };
        let physical = physical.map_err(explain)?;
        let lane = lane(workload, estimated_cost(&physical), min_cost);
        let permit = match lane {
            Lane::Interactive => None,
            Lane::Analytics => {
                let waiting = self.activity.waiter();
                let marker = waiting.clone();
                let permit = analytics
                    .admission()
                    .admit(priority, move || marker.set(Some(ADMISSION_WAIT)))
                    .await;
                waiting.set(None);
                Some(permit?)
            }
        };
        let quota = if quota == 0 {
            analytics.default_quota()
        } else {
            quota
        };
        let ctx = Arc::new(
            datafusion::execution::TaskContext::from(self.state.as_ref())
                .with_runtime(analytics.statement_env(quota)),
        );
        let schema = physical.schema();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let task = analytics.spawn(lane, async move {
            let _permit = permit;
            let mut stream = match datafusion::physical_plan::execute_stream(physical, ctx) {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            while let Some(batch) = stream.next().await {
                let failed = batch.is_err();
                if tx.send(batch).await.is_err() || failed {
                    return;
                }
            }
        });
        let rows = Feed {
            rx,
            task: Some(task),
            guard: self.guard.clone(),
            explain: Box::new(explain),
            failed,
            done: false,
        };
        Ok((schema, rows.into_stream()))
    }

    /// Runs a query (SELECT, VALUES, EXPLAIN, ...).
    pub(crate) async fn query(
        &mut self,
        stmt: &Statement,
        key: Option<&str>,
        params: &[Value],
    ) -> Result<Output> {
        let cached = self.cached_plan(stmt, key).await?;
        if let Some(fast) = &cached.key {
            let view = self.schema.scan.current()?;
            // Forced onto a replica (setting or hint), key reads go through
            // the planner too.
            if view.route.forces_columnar(fast.table()) {
                return self.query_planned(stmt, &cached, params).await;
            }
            if let Some(rows) = fast.run(&view, params)? {
                return Ok(Output {
                    tag: "SELECT".into(),
                    rows: Some(rows),
                    copy_out: None,
                });
            }
        }
        self.query_planned(stmt, &cached, params).await
    }

    async fn query_planned(
        &mut self,
        stmt: &Statement,
        cached: &CachedQuery,
        params: &[Value],
    ) -> Result<Output> {
        let plan = Self::bind(cached.plan.clone(), params)?;
        if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
            let (_, batches) = Box::pin(self.collect_with_schema(plan)).await?;
            return explain_output(batches);
        }
        let origins = column_origins(&plan);
        let failed = Arc::new(AtomicBool::new(false));
        let (physical_schema, stream) = Box::pin(self.start(plan, Some(failed.clone()))).await?;
        self.stream_failed = Some(failed);
        let schema = self.with_origins(output_schema(stmt, &physical_schema), &origins);
        let renamed = schema.clone();
        let stream = stream
            .map(move |b| {
                b.and_then(|b| {
                    RecordBatch::try_new(renamed.clone(), b.columns().to_vec())
                        .map_err(|e| Error::Internal(e.to_string()))
                })
            })
            .boxed();
        Ok(Output {
            tag: "SELECT".into(),
            rows: Some(ResultRows {
                schema,
                batches: Vec::new(),
                rest: Some(stream),
            }),
            copy_out: None,
        })
    }

    /// Parameter types and result schema of a query or DML statement.
    pub(crate) async fn describe(
        &mut self,
        stmt: &Statement,
    ) -> Result<(Vec<DataType>, Option<SchemaRef>)> {
        match stmt {
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                self.describe_dml(stmt).await
            }
            _ => {
                let plan = self.plan(stmt).await?;
                let params = param_types(&plan)?;
                let schema = match plan {
                    LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => explain_schema(),
                    _ => self.with_origins(
                        output_schema(stmt, plan.schema().inner()),
                        &column_origins(&plan),
                    ),
                };
                Ok((params, Some(schema)))
            }
        }
    }
}

/// Parameter types of a plan in `$1..$n` order; unknown types are `Null`.
/// A parameter DataFusion could not type but that is cast explicitly
/// (`$1::integer`) takes the cast's type, as in PostgreSQL; one that is the
/// array of `x = ANY($1)` is an array of `x`'s type, and the `$1` of
/// `$1 = ANY(xs)` an element of `xs`'s.
pub(crate) fn param_types(plan: &LogicalPlan) -> Result<Vec<DataType>> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr;
    let mut types = plan.get_parameter_types().map_err(from_datafusion)?;
    let mut casts: Vec<(String, DataType)> = Vec::new();
    plan.apply_with_subqueries(|node| {
        let inputs = node.inputs();
        let schema = if inputs.is_empty() {
            node.schema().as_ref().clone()
        } else {
            datafusion::logical_expr::utils::merge_schema(&inputs)
        };
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::Cast(datafusion::logical_expr::Cast { expr, field }) = x
                    && let Expr::Placeholder(p) = expr.as_ref()
                {
                    casts.push((p.id.clone(), field.data_type().clone()));
                }
                if let Expr::ScalarFunction(f) = x
                    && f.name() == "array_has"
                    && let [Expr::Placeholder(p), element] = f.args.as_slice()
                    && let Ok(ty) =
                        datafusion::logical_expr::ExprSchemable::get_type(element, &schema)
                {
                    casts.push((
                        p.id.clone(),
                        DataType::List(std::sync::Arc::new(
                            datafusion::arrow::datatypes::Field::new_list_field(ty, true),
                        )),
                    ));
                }
                // `$1 = ANY(xs)`: an element of the array's type.
                if let Expr::ScalarFunction(f) = x
                    && f.name() == "array_has"
                    && let [array, Expr::Placeholder(p)] = f.args.as_slice()
                    && let Ok(DataType::List(element) | DataType::LargeList(element)) =
                        datafusion::logical_expr::ExprSchemable::get_type(array, &schema)
                {
                    casts.push((p.id.clone(), element.data_type().clone()));
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .map_err(from_datafusion)?;
    for (id, ty) in casts {
        if let Some(slot @ None) = types.get_mut(&id) {
            *slot = Some(ty);
        }
    }
    let mut out = Vec::new();
    for (name, ty) in types {
        let Some(n) = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return Err(Error::Syntax(format!("invalid parameter name {name}")));
        };
        if n == 0 {
            return Err(Error::Syntax("parameter $0 does not exist".into()));
        }
        if out.len() < n {
            out.resize(n, DataType::Null);
        }
        out[n - 1] = ty.unwrap_or(DataType::Null);
    }
    Ok(out)
}

/// The result schema with PostgreSQL's column names where they differ
/// from DataFusion's.
/// Result rows of `stmt` under PostgreSQL's column names (see [`output_schema`]).
pub(crate) fn renamed_rows(
    stmt: &Statement,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<ResultRows> {
    let schema = output_schema(stmt, schema);
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(ResultRows {
        schema,
        batches,
        rest: None,
    })
}

/// For each result column that is a plain column of a table (through
/// sorts and limits, qualified by the table's name), the table and column.
fn column_origins(plan: &LogicalPlan) -> Vec<Option<(String, String)>> {
    use datafusion::logical_expr::Expr;
    let mut p = plan;
    loop {
        match p {
            LogicalPlan::Sort(s) => p = &s.input,
            LogicalPlan::Limit(l) => p = &l.input,
            LogicalPlan::Projection(_) | LogicalPlan::TableScan(_) => break,
            _ => return Vec::new(),
        }
    }
    match p {
        LogicalPlan::Projection(projection) => projection
            .expr
            .iter()
            .map(|e| {
                let mut e = e;
                while let Expr::Alias(a) = e {
                    e = &a.expr;
                }
                match e {
                    Expr::Column(c) => c
                        .relation
                        .as_ref()
                        .map(|r| (r.table().to_string(), c.name.clone())),
                    _ => None,
                }
            })
            .collect(),
        LogicalPlan::TableScan(scan) => scan
            .projected_schema
            .fields()
            .iter()
            .map(|f| Some((scan.table_name.table().to_string(), f.name().clone())))
            .collect(),
        _ => Vec::new(),
    }
}

impl Session {
    /// Marks the result columns that come straight from a table with the
    /// table's OID and the column's number, which RowDescription reports
    /// (JDBC's `getTableName`, `isNullable`).
    fn with_origins(&self, schema: SchemaRef, origins: &[Option<(String, String)>]) -> SchemaRef {
        if origins.len() != schema.fields().len() || origins.iter().all(Option::is_none) {
            return schema;
        }
        let catalog = self.schema.current();
        let Ok(db) = catalog.database(&self.database) else {
            return schema;
        };
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .zip(origins)
            .map(|(f, origin)| {
                let Some((table, column)) = origin else {
                    return f.as_ref().clone();
                };
                let Some(t) = db.tables.get(table) else {
                    return f.as_ref().clone();
                };
                let Some(attnum) = t
                    .visible_columns()
                    .position(|(_, c)| &c.name == column)
                    .map(|p| p + 1)
                else {
                    return f.as_ref().clone();
                };
                let mut metadata = f.metadata().clone();
                metadata.insert(
                    "pg_table_oid".into(),
                    prismdb_pgcatalog::oids::table_oid(t).to_string(),
                );
                metadata.insert("pg_attnum".into(), attnum.to_string());
                f.as_ref().clone().with_metadata(metadata)
            })
            .collect();
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
    }
}

fn output_schema(stmt: &Statement, schema: &SchemaRef) -> SchemaRef {
    let names = match stmt {
        Statement::Query(q) => output_names(q),
        _ => None,
    };
    match names {
        Some(names) if names.len() == schema.fields().len() => {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .zip(names)
                .map(|(f, n)| f.as_ref().clone().with_name(n).with_nullable(true))
                .collect();
            Arc::new(Schema::new(fields))
        }
        _ => {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect();
            Arc::new(Schema::new(fields))
        }
    }
}

fn explain_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "QUERY PLAN",
        DataType::Utf8,
        false,
    )]))
}

/// DataFusion's EXPLAIN rows (plan_type, plan) as PostgreSQL's single
/// `QUERY PLAN` column, one line per row.
fn explain_output(batches: Vec<RecordBatch>) -> Result<Output> {
    let mut lines = Vec::new();
    for b in &batches {
        let text = |i: usize| b.column(i).as_any().downcast_ref::<StringArray>().cloned();
        let (Some(kinds), Some(plans)) = (text(0), text(b.num_columns().saturating_sub(1))) else {
            continue;
        };
        for row in 0..b.num_rows() {
            if !kinds.is_null(row) && b.num_columns() > 1 {
                lines.push(format!("{}:", kinds.value(row)));
            }
            if !plans.is_null(row) {
                lines.extend(plans.value(row).lines().map(|l| format!("  {l}")));
            }
        }
    }
    let schema = explain_schema();
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(lines))])
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Output {
        tag: "EXPLAIN".into(),
        rows: Some(ResultRows {
            schema,
            batches: vec![batch],
            rest: None,
        }),
        copy_out: None,
    })
}

/// Where a statement estimated at `cost` executes under `workload`.
pub(crate) fn lane(workload: Workload, cost: f64, min_cost: f64) -> Lane {
    match workload {
        Workload::Interactive => Lane::Interactive,
        Workload::Analytics => Lane::Analytics,
        Workload::Auto if cost >= min_cost => Lane::Analytics,
        Workload::Auto => Lane::Interactive,
    }
}

/// The estimated work of a physical plan, in the router's cost units
/// (about microseconds of one core): the cost of the engine chosen for
/// each table scan, summed. Other leaves (VALUES, generate_series) count
/// their rows when DataFusion knows how many.
pub(crate) fn estimated_cost(plan: &Arc<dyn ExecutionPlan>) -> f64 {
    use datafusion::common::stats::Precision;
    /// Cost of producing one row of a leaf that is not a table scan.
    const LEAF_ROW_COST: f64 = 0.05;
    let mut cost = 0.0;
    let mut pending = vec![plan.clone()];
    while let Some(node) = pending.pop() {
        if let Some(scan) = node.downcast_ref::<TableScanExec>() {
            let d = scan.decision();
            cost += match d.engine {
                ReadEngine::Row => d.estimate.row_cost,
                ReadEngine::Columnar => d.estimate.columnar_cost,
            };
            continue;
        }
        let children = node.children();
        if children.is_empty() {
            let stats = StatisticsContext::new().compute(node.as_ref(), &StatisticsArgs::new());
            if let Ok(stats) = stats
                && let Precision::Exact(rows) | Precision::Inexact(rows) = stats.num_rows
            {
                cost += rows as f64 * LEAF_ROW_COST;
            }
            continue;
        }
        pending.extend(children.into_iter().cloned());
    }
    cost
}

/// Names the memory limit in an out-of-memory error of a statement.
pub(crate) fn explain_error(e: Error, memory_mb: usize) -> Error {
    match e {
        Error::OutOfMemory(detail) if !detail.contains("prism.query_memory_limit") => {
            Error::OutOfMemory(format!(
                "out of memory: the query needs more than the analytics memory limit of \
                 {memory_mb} MiB (--analytics-memory-mb): {detail}"
            ))
        }
        other => other,
    }
}

/// The consumer's end of a running plan (see [`Session::start`]).
struct Feed {
    rx: tokio::sync::mpsc::Receiver<datafusion::error::Result<RecordBatch>>,
    /// The task driving the plan; dropping it stops the plan.
    task: Option<Task<()>>,
    guard: StatementGuard,
    explain: Box<dyn Fn(datafusion::error::DataFusionError) -> Error + Send + Sync>,
    failed: Option<Arc<AtomicBool>>,
    done: bool,
}

impl Feed {
    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let rx = &mut self.rx;
        let out = match self.guard.run(async { Ok(rx.recv().await) }).await {
            Ok(Some(Ok(batch))) => return Some(Ok(batch)),
            Ok(Some(Err(e))) => Some(Err((self.explain)(e))),
            Err(stopped) => Some(Err(stopped)),
            // The channel closed: the task ended, normally or by a panic.
            Ok(None) => match self.task.take() {
                Some(task) => task.await.err().map(Err),
                None => None,
            },
        };
        self.done = true;
        self.task = None;
        if matches!(out, Some(Err(_)))
            && let Some(failed) = &self.failed
        {
            failed.store(true, Ordering::SeqCst);
        }
        out
    }

    fn into_stream(self) -> RowStream {
        futures::stream::unfold(self, |mut feed| async move {
            feed.next().await.map(|item| (item, feed))
        })
        .boxed()
    }
}

//! Planning and running DataFusion plans for a session: every statement
//! that computes rows (queries, DML's inputs, DEFAULTs, table rewrites)
//! plans and executes through here, on the engine's runtimes and under
//! the analytics admission queue and memory pool.

use crate::activity::ADMISSION_WAIT;
use crate::analytics::{Lane, Task};
use crate::cancel::StatementGuard;
use crate::convert::column_values;
use crate::convert::value_to_scalar;
use crate::output::{ResultRows, RowStream};
use crate::route::TableScanExec;
use crate::session::Session;
use crate::settings::Workload;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::common::ParamValues;
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
use datafusion::sql::parser::Statement as DfStatement;
use futures::StreamExt;
use prismdb_catalog::Table;
use prismdb_common::{Error, Result, Value};
use prismdb_router::ReadEngine;
use prismdb_sql::error::from_datafusion;
use prismdb_sql::rewrite::{expand_views, normalize_for_planning, output_names};
use prismdb_sql::sqlparser::ast::Statement;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Expands views and plans a statement with DataFusion, on the
/// interactive runtime: planning a large statement takes a while, and
/// the connection's thread serves other connections' point reads.
pub(crate) async fn plan(session: &Session, stmt: &Statement) -> Result<LogicalPlan> {
    let mut stmt = Box::new(stmt.clone());
    let catalog = session.schema.current();
    let db = catalog.database(&session.database)?.clone();
    if !db.views.is_empty() {
        expand_views(&mut stmt, &|name| db.views.get(name).cloned())?;
    }
    normalize_for_planning(&mut stmt, &session.database)?;
    let state = session.state.clone();
    session
        .engine
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
pub(crate) async fn collect(session: &Session, plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
    Ok(collect_with_schema(session, plan).await?.1)
}

/// Runs a logical plan to completion, returning the schema its batches
/// really have.
pub(crate) async fn collect_with_schema(
    session: &Session,
    plan: LogicalPlan,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (schema, mut stream) = start(session, plan, None).await?;
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
    session: &Session,
    plan: LogicalPlan,
    failed: Option<Arc<AtomicBool>>,
) -> Result<(SchemaRef, RowStream)> {
    let analytics = &session.engine.analytics;
    let (workload, min_cost, priority, quota) = {
        let s = session.settings.read();
        (
            s.workload(),
            s.analytics_min_cost(),
            s.priority(),
            s.query_memory_limit(),
        )
    };
    let state = session.state.clone();
    let physical = analytics
        .run_on(Lane::Interactive, async move {
            state.create_physical_plan(&plan).await
        })
        .await?;
    let memory_mb = analytics.options().memory_bytes >> 20;
    let explain =
        move |e: datafusion::error::DataFusionError| explain_error(from_datafusion(e), memory_mb);
    let physical = physical.map_err(explain)?;
    let lane = lane(workload, estimated_cost(&physical), min_cost);
    let permit = match lane {
        Lane::Interactive => None,
        Lane::Analytics => {
            let waiting = session.activity.waiter();
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
        datafusion::execution::TaskContext::from(session.state.as_ref())
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
        guard: session.guard.clone(),
        explain: Box::new(explain),
        failed,
        done: false,
    };
    Ok((schema, rows.into_stream()))
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

/// DEFAULT expressions of a table as DataFusion expressions.
pub(crate) fn defaults(
    session: &Session,
    table: &Table,
) -> Result<HashMap<String, datafusion::logical_expr::Expr>> {
    let empty = DFSchema::empty();
    let mut out = HashMap::new();
    for c in table.columns.iter().filter(|c| c.default.is_some()) {
        let sql = c.default.as_deref().unwrap_or("NULL");
        let sql = prismdb_sql::rewrite::default_for_planning(sql, &session.database)?;
        let expr = session
            .state
            .create_logical_expr(&sql, &empty)
            .map_err(from_datafusion)?;
        let expr = expr
            .cast_to(&c.ty.arrow_type(), &empty)
            .map_err(from_datafusion)?;
        out.insert(c.name.clone(), expr);
    }
    Ok(out)
}

/// The values the DEFAULT expressions of the given columns of a table
/// produce (NULL for a column without one), evaluated once, the way
/// INSERT evaluates them for omitted columns.
pub(crate) async fn default_values(
    session: &Session,
    table: &Table,
    columns: &[usize],
) -> Result<Vec<Value>> {
    let mut defaults = defaults(session, table)?;
    let mut exprs = Vec::new();
    let mut evaluated = Vec::new();
    for &i in columns {
        if let Some(expr) = defaults.remove(&table.columns[i].name) {
            exprs.push(expr.alias(format!("default_{i}")));
            evaluated.push(i);
        }
    }
    let mut out = vec![Value::Null; columns.len()];
    if exprs.is_empty() {
        return Ok(out);
    }
    let plan = datafusion::logical_expr::LogicalPlanBuilder::empty(true)
        .project(exprs)
        .and_then(|b| b.build())
        .map_err(from_datafusion)?;
    let batches = collect(session, plan).await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| Error::Internal("DEFAULT evaluation returned no row".into()))?;
    for (k, &i) in evaluated.iter().enumerate() {
        let value = column_values(batch.column(k), &table.columns[i], &table.name)?.swap_remove(0);
        if let Some(pos) = columns.iter().position(|&c| c == i) {
            out[pos] = value;
        }
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

pub(crate) fn output_schema(stmt: &Statement, schema: &SchemaRef) -> SchemaRef {
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

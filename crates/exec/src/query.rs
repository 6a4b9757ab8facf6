//! Planning and running queries with DataFusion, and describing statements
//! for the extended protocol.

use crate::convert::value_to_scalar;
use crate::point::KeyQuery;
use crate::session::{Output, ResultRows, Session};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DfStatement;
use prismdb_common::{Error, Result, Value};
use prismdb_sql::error::from_datafusion;
use prismdb_sql::rewrite::{expand_views, normalize_for_planning, output_names};
use prismdb_sql::sqlparser::ast::Statement;
use std::sync::Arc;

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
    /// Expands views and plans a statement with DataFusion.
    pub(crate) async fn plan(&self, stmt: &Statement) -> Result<LogicalPlan> {
        let mut stmt = stmt.clone();
        let catalog = self.schema.current();
        let db = catalog.database(&self.database)?.clone();
        if !db.views.is_empty() {
            expand_views(&mut stmt, &|name| db.views.get(name).cloned())?;
        }
        normalize_for_planning(&mut stmt, &self.database)?;
        self.state
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await
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

    /// Runs a logical plan, returning the schema its batches really have.
    ///
    /// Optimization, physical planning (and with it the providers' `scan`,
    /// which pins the statement's read view) and execution all run on the
    /// engine's analytics runtime, under its memory pool: milliseconds of
    /// planning a large query would otherwise hold up the point lookups of
    /// other connections on the same thread. Dropping the returned future
    /// (statement_timeout) aborts the task.
    ///
    /// A plan that reads no table (DEFAULT expressions, VALUES, a SELECT
    /// without FROM) runs right here instead: it is cheap, and it must not
    /// wait behind scans for the analytics threads.
    pub(crate) async fn collect_with_schema(
        &self,
        plan: LogicalPlan,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let state = self.state.clone();
        let heavy = reads_tables(&plan);
        let work = async move {
            let physical = state.create_physical_plan(&plan).await?;
            let schema = physical.schema();
            let batches = datafusion::physical_plan::collect(physical, state.task_ctx()).await?;
            Ok::<_, datafusion::error::DataFusionError>((schema, batches))
        };
        let analytics = &self.engine.analytics;
        let outcome = if heavy {
            analytics.run(work).await?
        } else {
            work.await
        };
        outcome.map_err(|e| analytics.explain_error(from_datafusion(e)))
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
        let is_explain = matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_));
        let (physical_schema, batches) = Box::pin(self.collect_with_schema(plan)).await?;
        if is_explain {
            return explain_output(batches);
        }
        Ok(Output {
            tag: "SELECT".into(),
            rows: Some(renamed_rows(stmt, &physical_schema, batches)?),
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
                    _ => output_schema(stmt, plan.schema().inner()),
                };
                Ok((params, Some(schema)))
            }
        }
    }
}

/// Parameter types of a plan in `$1..$n` order; unknown types are `Null`.
/// A parameter DataFusion could not type but that is cast explicitly
/// (`$1::integer`) takes the cast's type, as in PostgreSQL.
pub(crate) fn param_types(plan: &LogicalPlan) -> Result<Vec<DataType>> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr;
    let mut types = plan.get_parameter_types().map_err(from_datafusion)?;
    let mut casts: Vec<(String, DataType)> = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::Cast(datafusion::logical_expr::Cast { expr, field }) = x
                    && let Expr::Placeholder(p) = expr.as_ref()
                {
                    casts.push((p.id.clone(), field.data_type().clone()));
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
    Ok(ResultRows { schema, batches })
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
        }),
    })
}

/// Whether `plan` scans any table (views are expanded by now).
fn reads_tables(plan: &LogicalPlan) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        found = matches!(node, LogicalPlan::TableScan(_));
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

//! SELECT, VALUES and EXPLAIN: answered by the primary-key fast path
//! ([`KeyQuery`]) when it can, else planned by DataFusion (plans cached per
//! statement text) and streamed; and the result columns as PostgreSQL
//! names and describes them.

use crate::output::{Output, ResultRows};
use crate::planner::{self, output_schema, param_types};
use crate::point::KeyQuery;
use crate::session::{CachedQuery, Session};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::LogicalPlan;
use futures::StreamExt;
use prismdb_common::{Error, Result, Value};
use prismdb_sql::sqlparser::ast::Statement;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The logical plan of a query, reused while the catalog it was planned
/// against is current. Plans do not capture snapshots (providers look up
/// the statement's read view when they scan), so a cached plan reads at
/// each execution's own snapshot.
async fn cached_plan(
    session: &mut Session,
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
    let catalog = session.schema.current();
    if let Some(cached) = session.plan_cache.get(key)
        && Arc::ptr_eq(&cached.catalog, &catalog)
    {
        return Ok(cached.clone());
    }
    let plan = Box::pin(planner::plan(session, stmt)).await?;
    let fast = KeyQuery::recognize(stmt, &catalog, &session.database);
    let cached = Arc::new(CachedQuery {
        catalog,
        plan,
        key: fast,
    });
    if session.plan_cache.len() >= CAPACITY {
        session.plan_cache.clear();
    }
    session.plan_cache.insert(key.to_string(), cached.clone());
    Ok(cached)
}

/// Runs a query (SELECT, VALUES, EXPLAIN, ...).
pub(crate) async fn run(
    session: &mut Session,
    stmt: &Statement,
    key: Option<&str>,
    params: &[Value],
) -> Result<Output> {
    let cached = cached_plan(session, stmt, key).await?;
    if let Some(fast) = &cached.key {
        let view = session.schema.scan.current()?;
        // Forced onto a replica (setting or hint), key reads go through
        // the planner too.
        if view.route.forces_columnar(fast.table()) {
            return query_planned(session, stmt, &cached, params).await;
        }
        if let Some(rows) = fast.run(&view, params)? {
            return Ok(Output::with_rows("SELECT", rows));
        }
    }
    query_planned(session, stmt, &cached, params).await
}

async fn query_planned(
    session: &mut Session,
    stmt: &Statement,
    cached: &CachedQuery,
    params: &[Value],
) -> Result<Output> {
    let plan = planner::bind(cached.plan.clone(), params)?;
    if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
        let (_, batches) = Box::pin(planner::collect_with_schema(session, plan)).await?;
        return explain_output(batches);
    }
    let origins = column_origins(&plan);
    let failed = Arc::new(AtomicBool::new(false));
    let (physical_schema, stream) =
        Box::pin(planner::start(session, plan, Some(failed.clone()))).await?;
    session.stream_failed = Some(failed);
    let schema = with_origins(session, output_schema(stmt, &physical_schema), &origins);
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

/// Parameter types and result schema of a query.
pub(crate) async fn describe(
    session: &Session,
    stmt: &Statement,
) -> Result<(Vec<DataType>, Option<SchemaRef>)> {
    let plan = planner::plan(session, stmt).await?;
    let params = param_types(&plan)?;
    let schema = match plan {
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => explain_schema(),
        _ => with_origins(
            session,
            output_schema(stmt, plan.schema().inner()),
            &column_origins(&plan),
        ),
    };
    Ok((params, Some(schema)))
}

/// Marks the result columns that come straight from a table with the
/// table's OID and the column's number, which RowDescription reports
/// (JDBC's `getTableName`, `isNullable`).
fn with_origins(
    session: &Session,
    schema: SchemaRef,
    origins: &[Option<(String, String)>],
) -> SchemaRef {
    if origins.len() != schema.fields().len() || origins.iter().all(Option::is_none) {
        return schema;
    }
    let catalog = session.schema.current();
    let Ok(db) = catalog.database(&session.database) else {
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
    let rows = ResultRows::of_columns(schema, vec![Arc::new(StringArray::from(lines))])?;
    Ok(Output::with_rows("EXPLAIN", rows))
}

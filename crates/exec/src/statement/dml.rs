//! INSERT, UPDATE, DELETE and TRUNCATE.
//!
//! DataFusion computes the rows; this module turns them into buffered writes:
//!
//! * INSERT is planned by DataFusion (column lists, DEFAULTs through
//!   [`crate::provider::RowTable`]'s `get_column_default`, casts to the
//!   column types, parameter types); its input plan yields complete rows.
//! * UPDATE and DELETE are rewritten into a SELECT of every stored column of
//!   the target (the hidden row id included) followed by the new values of
//!   the assigned columns, so each result row carries both the old key and
//!   the new row.
//!
//! Every new row is checked against the table: NOT NULL (23502), varchar
//! length (22001), numeric precision (22003) and primary-key uniqueness
//! (23505, against the snapshot and the transaction's own writes; the
//! committer re-checks against concurrent commits).

use crate::convert::{column_values, rows_to_batch};
use crate::index_writes::check_unique;
use crate::output::{Output, ResultRows};
use crate::planner::{self, param_types};
use crate::point::{PointChange, PointWrite};
use crate::rows::{check_not_null, duplicate_key, key_of, new_row_key, row_exists, stored_at};
use crate::session::Session;
use crate::txn::Txn;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ExprSchemable, LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use prismdb_catalog::{Column, Table};
use prismdb_common::{Error, Result, Value};
use prismdb_sql::error::from_datafusion;
use prismdb_sql::sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Insert, SelectItem, Statement, TableFactor,
    TableObject, TableWithJoins, Update,
};
use prismdb_sql::{normalize, object_name, parse};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Quotes an identifier for generated SQL.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The target of an UPDATE or DELETE and the SELECT that finds its rows.
struct Target {
    table: Arc<Table>,
    /// Name the target is referred to by in the statement (alias or table name).
    reference: String,
    select: Statement,
}

pub(crate) async fn run(
    session: &mut Session,
    stmt: &Statement,
    params: &[Value],
    txn: &mut Txn,
) -> Result<Output> {
    if matches!(stmt, Statement::Update(_) | Statement::Delete(_))
        && let Some(point) =
            PointWrite::recognize(stmt, &session.schema.current(), &session.database)
    {
        let view = session.schema.scan.current()?;
        let verb = if matches!(stmt, Statement::Update(_)) {
            "UPDATE"
        } else {
            "DELETE"
        };
        match point.run(&view, params)? {
            Some(PointChange::Nothing) => return Ok(Output::command(format!("{verb} 0"))),
            Some(PointChange::Update(key, row, old)) => {
                let key = (point.table.id, key);
                let indexes = session.engine.indexes(&session.schema.current());
                check_unique(txn, &indexes, &session.engine.store, &key, &row, Some(&old))?;
                txn.update(key, row);
                return Ok(Output::command(format!("{verb} 1")));
            }
            Some(PointChange::Delete(key)) => {
                txn.delete((point.table.id, key));
                return Ok(Output::command(format!("{verb} 1")));
            }
            None => {}
        }
    }
    match stmt {
        Statement::Insert(ins) => insert(session, ins, params, txn).await,
        Statement::Update(upd) => update(session, upd, params, txn).await,
        Statement::Delete(del) => delete(session, del, params, txn).await,
        Statement::Truncate(t) => {
            for target in &t.table_names {
                truncate(session, &object_name(&target.name)?, txn).await?;
            }
            Ok(Output::command("TRUNCATE TABLE"))
        }
        _ => Err(Error::Internal("not a DML statement".into())),
    }
}

async fn plan_insert(session: &Session, ins: &Insert) -> Result<(Arc<Table>, LogicalPlan)> {
    let TableObject::TableName(name) = &ins.table else {
        return Err(Error::NotSupported(
            "INSERT into a table function is not supported".into(),
        ));
    };
    if ins.on.is_some() {
        return Err(Error::NotSupported(
            "INSERT ... ON CONFLICT is not supported".into(),
        ));
    }
    let table = session.table(&object_name(name)?)?;
    let defaults = planner::defaults(session, &table)?;
    let mut ins = ins.clone();
    ins.returning = None;
    if ins.source.is_none() {
        // INSERT ... DEFAULT VALUES: one row of defaults.
        let cols: Vec<String> = table
            .visible_columns()
            .map(|(_, c)| quote(&c.name))
            .collect();
        let defaults = vec!["DEFAULT"; cols.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({defaults})",
            quote(&table.name),
            cols.join(", ")
        );
        match parse(&sql)?.pop() {
            Some(Statement::Insert(rewritten)) => ins = rewritten,
            _ => return Err(Error::Internal("DEFAULT VALUES rewrite".into())),
        }
    }
    name_leading_columns(&mut ins, &table)?;
    check_generated_always(session, &ins, &table)?;
    replace_default_keywords(&mut ins, &table)?;
    session
        .schema
        .hints
        .lock()
        .defaults
        .insert(table.id, defaults);
    let plan = planner::plan(session, &Statement::Insert(ins)).await;
    session.schema.hints.lock().defaults.clear();
    Ok((table, plan?))
}

async fn insert(
    session: &mut Session,
    ins: &Insert,
    params: &[Value],
    txn: &mut Txn,
) -> Result<Output> {
    let (table, plan) = plan_insert(session, ins).await?;
    let plan = planner::bind(plan, params)?;
    let LogicalPlan::Dml(dml) = plan else {
        return Err(Error::Internal(
            "INSERT did not plan to a DML statement".into(),
        ));
    };
    if !matches!(dml.op, WriteOp::Insert(_)) {
        return Err(Error::Internal("INSERT planned to another write".into()));
    }
    check_insert_types(&dml.input, &table)?;
    let batches = planner::collect(session, dml.input.as_ref().clone()).await?;
    let visible: Vec<(usize, &Column)> = table.visible_columns().collect();
    let indexes = session.engine.indexes(&session.schema.current());
    let mut inserted = Vec::new();
    for batch in &batches {
        let columns = visible
            .iter()
            .enumerate()
            .map(|(j, (_, c))| column_values(batch.column(j), c, &table.name))
            .collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            let mut stored = vec![Value::Null; table.columns.len()];
            for ((i, _), values) in visible.iter().zip(&columns) {
                stored[*i] = values[row].clone();
            }
            let at = txn.read_version;
            let key = new_row_key(&session.engine.store, &table, &mut stored, txn, |k| {
                stored_at(&session.engine.store, at, k)
            })?;
            check_unique(txn, &indexes, &session.engine.store, &key, &stored, None)?;
            txn.insert(key, stored.clone());
            inserted.push(stored);
        }
    }
    let n = inserted.len();
    let rows = match &ins.returning {
        Some(items) => Some(returning(session, &table, None, items, &inserted).await?),
        None => None,
    };
    Ok(Output {
        tag: format!("INSERT 0 {n}"),
        rows,
        copy_out: None,
    })
}

/// Builds the SELECT of every stored column of the target followed by `extra` expressions.
fn target_select(
    session: &Session,
    relation: &TableWithJoins,
    extra_from: &[TableWithJoins],
    extra: &[String],
    selection: Option<&Expr>,
) -> Result<Target> {
    if !relation.joins.is_empty() {
        return Err(Error::NotSupported(
            "joins in the target of UPDATE or DELETE are not supported".into(),
        ));
    }
    let TableFactor::Table { name, alias, .. } = &relation.relation else {
        return Err(Error::NotSupported(
            "the target of UPDATE or DELETE must be a table".into(),
        ));
    };
    let table = session.table(&object_name(name)?)?;
    let reference = alias
        .as_ref()
        .map(|a| normalize(&a.name))
        .unwrap_or_else(|| table.name.clone());
    let mut items: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{}.{}", quote(&reference), quote(&c.name)))
        .collect();
    items.extend(extra.iter().cloned());
    let mut from = vec![relation.to_string()];
    from.extend(extra_from.iter().map(|t| t.to_string()));
    let mut sql = format!("SELECT {} FROM {}", items.join(", "), from.join(", "));
    if let Some(sel) = selection {
        sql.push_str(&format!(" WHERE {sel}"));
    }
    let select = parse(&sql)?
        .pop()
        .ok_or_else(|| Error::Internal("empty rewrite".into()))?;
    Ok(Target {
        table,
        reference,
        select,
    })
}

/// Plans a target SELECT with the target's hidden columns visible.
async fn plan_target(session: &Session, target: &Target) -> Result<LogicalPlan> {
    session.schema.hints.lock().dml_target = Some(target.table.id);
    let plan = planner::plan(session, &target.select).await;
    session.schema.hints.lock().dml_target = None;
    plan
}

fn update_target(session: &Session, upd: &Update) -> Result<(Target, Vec<usize>)> {
    let table_name = match &upd.table.relation {
        TableFactor::Table { name, .. } => object_name(name)?,
        _ => {
            return Err(Error::NotSupported(
                "the target of UPDATE must be a table".into(),
            ));
        }
    };
    let table = session.table(&table_name)?;
    let mut assigned = Vec::with_capacity(upd.assignments.len());
    let mut exprs = Vec::with_capacity(upd.assignments.len());
    for a in &upd.assignments {
        let AssignmentTarget::ColumnName(col) = &a.target else {
            return Err(Error::NotSupported(
                "tuple assignments are not supported".into(),
            ));
        };
        let name = col
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(normalize)
            .unwrap_or_default();
        let idx = table
            .column_index(&name)
            .filter(|&i| !table.columns[i].hidden)
            .ok_or_else(|| {
                Error::UndefinedColumn(format!(
                    "column \"{name}\" of relation \"{}\" does not exist",
                    table.name
                ))
            })?;
        if assigned.contains(&idx) {
            return Err(Error::DuplicateColumn(format!(
                "multiple assignments to same column \"{name}\""
            )));
        }
        assigned.push(idx);
        let ty = table.columns[idx].ty.cast_name();
        let mut value = a.value.clone();
        if table.columns[idx].ty == prismdb_catalog::SqlType::Bytea {
            bytea_literal(&mut value)?;
        }
        exprs.push(match &value {
            Expr::Value(v)
                if matches!(v.value, prismdb_sql::sqlparser::ast::Value::Placeholder(_)) =>
            {
                format!("CAST({value} AS {ty})")
            }
            Expr::Identifier(i)
                if i.value.eq_ignore_ascii_case("default") && i.quote_style.is_none() =>
            {
                let c = &table.columns[idx];
                format!("CAST({} AS {ty})", c.default.as_deref().unwrap_or("NULL"))
            }
            other => format!("({other})"),
        });
    }
    let from: Vec<TableWithJoins> = match &upd.from {
        Some(prismdb_sql::sqlparser::ast::UpdateTableFromKind::BeforeSet(f))
        | Some(prismdb_sql::sqlparser::ast::UpdateTableFromKind::AfterSet(f)) => f.clone(),
        None => vec![],
    };
    let target = target_select(session, &upd.table, &from, &exprs, upd.selection.as_ref())?;
    Ok((target, assigned))
}

async fn update(
    session: &mut Session,
    upd: &Update,
    params: &[Value],
    txn: &mut Txn,
) -> Result<Output> {
    let (target, assigned) = update_target(session, upd)?;
    let plan = planner::bind(plan_target(session, &target).await?, params)?;
    let batches = planner::collect(session, plan).await?;
    let table = &target.table;
    let n = table.columns.len();
    // key -> (old row, new row); later matches of the same row win.
    let mut changes: BTreeMap<Vec<u8>, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for batch in &batches {
        let old = stored_columns(batch, table)?;
        let new_cols = assigned
            .iter()
            .enumerate()
            .map(|(k, &i)| column_values(batch.column(n + k), &table.columns[i], &table.name))
            .collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            let old_row: Vec<Value> = old.iter().map(|c| c[row].clone()).collect();
            let mut new_row = old_row.clone();
            for (k, &i) in assigned.iter().enumerate() {
                new_row[i] = new_cols[k][row].clone();
            }
            check_not_null(table, &new_row)?;
            changes.insert(key_of(table, &old_row), (old_row, new_row));
        }
    }
    // Keys that change are removed first, so that shifting keys
    // (`SET id = id + 1`) does not collide with rows about to move.
    let indexes = session.engine.indexes(&session.schema.current());
    let mut moved = Vec::new();
    for (old_key, (old_row, new_row)) in &changes {
        let new_key = key_of(table, new_row);
        if &new_key != old_key {
            txn.delete((table.id, old_key.clone()));
            moved.push((new_key, new_row));
        } else {
            let key = (table.id, new_key);
            check_unique(
                txn,
                &indexes,
                &session.engine.store,
                &key,
                new_row,
                Some(old_row),
            )?;
            txn.update(key, new_row.clone());
        }
    }
    for (new_key, new_row) in moved {
        let key = (table.id, new_key);
        if row_exists(txn, &key, |k| {
            stored_at(&session.engine.store, txn.read_version, k)
        })? {
            return Err(duplicate_key(table));
        }
        check_unique(txn, &indexes, &session.engine.store, &key, new_row, None)?;
        txn.insert(key, new_row.clone());
    }
    let count = changes.len();
    let rows = match &upd.returning {
        Some(items) => {
            let new_rows: Vec<Vec<Value>> = changes.into_values().map(|(_, new)| new).collect();
            Some(returning(session, table, Some(&target.reference), items, &new_rows).await?)
        }
        None => None,
    };
    Ok(Output {
        tag: format!("UPDATE {count}"),
        rows,
        copy_out: None,
    })
}

fn delete_target(session: &Session, del: &Delete) -> Result<Target> {
    let tables = match &del.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    let [relation] = tables.as_slice() else {
        return Err(Error::NotSupported(
            "DELETE from several tables is not supported".into(),
        ));
    };
    let using = del.using.clone().unwrap_or_default();
    target_select(session, relation, &using, &[], del.selection.as_ref())
}

async fn delete(
    session: &mut Session,
    del: &Delete,
    params: &[Value],
    txn: &mut Txn,
) -> Result<Output> {
    let target = delete_target(session, del)?;
    let plan = planner::bind(plan_target(session, &target).await?, params)?;
    let batches = planner::collect(session, plan).await?;
    let table = &target.table;
    let mut victims: BTreeMap<Vec<u8>, Vec<Value>> = BTreeMap::new();
    for batch in &batches {
        let cols = stored_columns(batch, table)?;
        for row in 0..batch.num_rows() {
            let r: Vec<Value> = cols.iter().map(|c| c[row].clone()).collect();
            victims.insert(key_of(table, &r), r);
        }
    }
    for key in victims.keys() {
        txn.delete((table.id, key.clone()));
    }
    let count = victims.len();
    let rows = match &del.returning {
        Some(items) => {
            let old: Vec<Vec<Value>> = victims.into_values().collect();
            Some(returning(session, table, Some(&target.reference), items, &old).await?)
        }
        None => None,
    };
    Ok(Output {
        tag: format!("DELETE {count}"),
        rows,
        copy_out: None,
    })
}

async fn truncate(session: &mut Session, name: &str, txn: &mut Txn) -> Result<()> {
    let table = session.table(name)?;
    for row in stored_rows(session, &table).await? {
        txn.delete((table.id, key_of(&table, &row)));
    }
    Ok(())
}

/// Every stored row of a table (hidden columns included) as the
/// statement's read view sees it; the caller sets that view.
pub(crate) async fn stored_rows(session: &Session, table: &Table) -> Result<Vec<Vec<Value>>> {
    let relation = parse(&format!("SELECT 1 FROM {}", quote(&table.name)))?;
    let Some(Statement::Query(q)) = relation.first() else {
        return Err(Error::Internal("stored rows rewrite".into()));
    };
    let prismdb_sql::sqlparser::ast::SetExpr::Select(sel) = q.body.as_ref() else {
        return Err(Error::Internal("stored rows rewrite".into()));
    };
    let target = target_select(session, &sel.from[0], &[], &[], None)?;
    let batches = planner::collect(session, plan_target(session, &target).await?).await?;
    let mut rows = Vec::new();
    for batch in &batches {
        let cols = stored_columns(batch, &target.table)?;
        rows.extend((0..batch.num_rows()).map(|row| cols.iter().map(|c| c[row].clone()).collect()));
    }
    Ok(rows)
}

/// Evaluates a RETURNING list over the affected rows.
async fn returning(
    session: &Session,
    table: &Table,
    reference: Option<&str>,
    items: &[SelectItem],
    rows: &[Vec<Value>],
) -> Result<ResultRows> {
    let schema = table.arrow_schema();
    let visible: Vec<(usize, &Column)> = table.visible_columns().collect();
    let cols: Vec<usize> = visible.iter().map(|(i, _)| *i).collect();
    let columns: Vec<&Column> = visible.iter().map(|(_, c)| *c).collect();
    let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
    let batch = rows_to_batch(&schema, &columns, &cols, &refs)?;
    let ctx = SessionContext::new();
    let name = reference.unwrap_or(&table.name);
    let mem = MemTable::try_new(schema, vec![vec![batch]]).map_err(from_datafusion)?;
    ctx.register_table(name, Arc::new(mem))
        .map_err(from_datafusion)?;
    let list = items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {list} FROM {}", quote(name));
    let stmt = parse(&sql)?
        .pop()
        .ok_or_else(|| Error::Internal("empty RETURNING".into()))?;
    // Evaluated off the connection's thread, like any plan.
    let (schema, batches) = session
        .engine
        .analytics
        .run_on(crate::Lane::Interactive, async move {
            let df = ctx.sql(&sql).await?;
            let schema = df.schema().inner().clone();
            Ok::<_, datafusion::error::DataFusionError>((schema, df.collect().await?))
        })
        .await?
        .map_err(from_datafusion)?;
    planner::renamed_rows(&stmt, &schema, batches)
}

/// Parameter types and RETURNING schema of a DML statement.
pub(crate) async fn describe(
    session: &mut Session,
    stmt: &Statement,
) -> Result<(Vec<DataType>, Option<SchemaRef>)> {
    let (table, reference, plan, items) = match stmt {
        Statement::Insert(ins) => {
            let (table, plan) = plan_insert(session, ins).await?;
            (table, None, plan, ins.returning.as_ref())
        }
        Statement::Update(upd) => {
            let (target, _) = update_target(session, upd)?;
            let plan = plan_target(session, &target).await?;
            (
                target.table,
                Some(target.reference),
                plan,
                upd.returning.as_ref(),
            )
        }
        Statement::Delete(del) => {
            let target = delete_target(session, del)?;
            let plan = plan_target(session, &target).await?;
            (
                target.table,
                Some(target.reference),
                plan,
                del.returning.as_ref(),
            )
        }
        _ => return Err(Error::Internal("not a DML statement".into())),
    };
    let params = param_types(&plan)?;
    let schema = match items {
        Some(items) => Some(
            returning(session, &table, reference.as_deref(), items, &[])
                .await?
                .schema,
        ),
        None => None,
    };
    Ok((params, schema))
}

/// The columns an INSERT's values go to, in order: its column list, or
/// every visible column.
fn target_columns(ins: &Insert, table: &Table) -> Vec<String> {
    if ins.columns.is_empty() {
        return table
            .visible_columns()
            .map(|(_, c)| c.name.clone())
            .collect();
    }
    ins.columns
        .iter()
        .map(|c| {
            c.0.last()
                .and_then(|p| p.as_ident())
                .map(normalize)
                .unwrap_or_default()
        })
        .collect()
}

/// Replaces the `DEFAULT` keyword in `INSERT ... VALUES` rows with the
/// column's default expression (or NULL), which DataFusion does not know.
fn replace_default_keywords(ins: &mut Insert, table: &Table) -> Result<()> {
    use prismdb_sql::sqlparser::ast::SetExpr;
    let names = target_columns(ins, table);
    let Some(source) = ins.source.as_mut() else {
        return Ok(());
    };
    let SetExpr::Values(values) = source.body.as_mut() else {
        return Ok(());
    };
    for row in values.rows.iter_mut() {
        for (i, e) in row.iter_mut().enumerate() {
            let column = names
                .get(i)
                .and_then(|n| table.column_index(n))
                .map(|i| &table.columns[i]);
            if column.is_some_and(|c| c.ty == prismdb_catalog::SqlType::Bytea) {
                bytea_literal(e)?;
            }
            let is_default = matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"));
            if !is_default {
                continue;
            }
            let sql = match column {
                Some(c) => format!(
                    "CAST({} AS {})",
                    c.default.as_deref().unwrap_or("NULL"),
                    c.ty.cast_name()
                ),
                None => "NULL".to_string(),
            };
            *e = prismdb_sql::rewrite::parse_expr(&sql)?;
        }
    }
    Ok(())
}

/// Rejects assignments PostgreSQL does not convert implicitly, which
/// DataFusion's INSERT planning would cast: a boolean into a non-boolean
/// column and a number or date into a boolean one (42804).
fn check_insert_types(input: &LogicalPlan, table: &Table) -> Result<()> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr as DfExpr;
    let mut bad: Option<(DataType, DataType)> = None;
    let _ = input.apply(|node| {
        let schemas: Vec<_> = node.inputs().iter().map(|i| i.schema().clone()).collect();
        let schema = schemas
            .first()
            .cloned()
            .unwrap_or_else(|| node.schema().clone());
        node.apply_expressions(|e| {
            e.apply(|x| {
                if let DfExpr::Cast(datafusion::logical_expr::Cast { expr, field }) = x
                    && let Ok(source) = expr.get_type(&schema)
                {
                    let target = field.data_type();
                    let bool_in = source == DataType::Boolean
                        && *target != DataType::Boolean
                        && !target.is_null();
                    let bool_out = *target == DataType::Boolean
                        && (source.is_numeric() || source.is_temporal());
                    if bool_in || bool_out {
                        bad = Some((source, target.clone()));
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    match bad {
        None => Ok(()),
        Some((source, target)) => {
            let column = table
                .visible_columns()
                .map(|(_, c)| c)
                .find(|c| c.ty.arrow_type() == target);
            let (name, ty) = column
                .map(|c| (c.name.as_str(), c.ty.pg_name()))
                .unwrap_or(("?", target.to_string()));
            let shown = if source == DataType::Boolean {
                "boolean".to_string()
            } else {
                source.to_string()
            };
            Err(Error::DatatypeMismatch(format!(
                "column \"{name}\" is of type {ty} but expression is of type {shown}"
            )))
        }
    }
}

/// Reads a string literal written to a bytea column in PostgreSQL's bytea
/// text format (`'\\x0102'`), replacing it with the equivalent hex literal.
fn bytea_literal(e: &mut Expr) -> Result<()> {
    use prismdb_sql::sqlparser::ast::Value as SqlValue;
    if let Expr::Value(v) = e
        && let SqlValue::SingleQuotedString(s) = &v.value
    {
        let bytes = prismdb_common::value::parse_bytea(s)
            .ok_or_else(|| prismdb_sql::rewrite::bytea_error(s))?;
        v.value = SqlValue::HexStringLiteral(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }
    Ok(())
}

/// Every stored column of the target from the first columns of a batch.
fn stored_columns(batch: &RecordBatch, table: &Table) -> Result<Vec<Vec<Value>>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| column_values(batch.column(i), c, &table.name))
        .collect()
}

/// An INSERT that gives a `GENERATED ALWAYS` identity column a value
/// other than DEFAULT is refused (428C9), as in PostgreSQL without
/// `OVERRIDING SYSTEM VALUE`.
fn check_generated_always(session: &Session, ins: &Insert, table: &Table) -> Result<()> {
    let catalog = session.schema.current();
    let Ok(db) = catalog.database(&session.database) else {
        return Ok(());
    };
    let targets = target_columns(ins, table);
    let values = match ins.source.as_deref().map(|q| q.body.as_ref()) {
        Some(prismdb_sql::sqlparser::ast::SetExpr::Values(v)) => Some(v),
        _ => None,
    };
    for (position, column) in targets.iter().enumerate() {
        if db.identity(table.id, column) != Some(prismdb_catalog::Identity::Always) {
            continue;
        }
        let all_default = values.is_some_and(|v| {
            v.rows.iter().all(|r| {
                matches!(r.content.get(position), Some(Expr::Identifier(id))
                    if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
            })
        });
        if ins.source.is_some() && !all_default {
            return Err(Error::GeneratedAlways(format!(
                "cannot insert a non-DEFAULT value into column \"{column}\"{}Column \"{column}\" is an identity column defined as GENERATED ALWAYS.",
                prismdb_common::error::DETAIL
            )));
        }
    }
    Ok(())
}

/// `INSERT INTO t VALUES (...)` without a column list whose rows are
/// shorter than the table: PostgreSQL fills the leading columns and gives
/// the rest their defaults, so the column list is made explicit.
fn name_leading_columns(ins: &mut Insert, table: &Table) -> Result<()> {
    if !ins.columns.is_empty() {
        return Ok(());
    }
    let Some(source) = &ins.source else {
        return Ok(());
    };
    let prismdb_sql::sqlparser::ast::SetExpr::Values(values) = source.body.as_ref() else {
        return Ok(());
    };
    let visible: Vec<&Column> = table.visible_columns().map(|(_, c)| c).collect();
    if values.rows.iter().any(|r| r.content.len() > visible.len()) {
        return Err(Error::Syntax(
            "INSERT has more expressions than target columns".into(),
        ));
    }
    let Some(width) = values.rows.first().map(|r| r.content.len()) else {
        return Ok(());
    };
    if width >= visible.len() || values.rows.iter().any(|r| r.content.len() != width) {
        return Ok(());
    }
    ins.columns = visible[..width]
        .iter()
        .map(|c| {
            prismdb_sql::sqlparser::ast::ObjectName::from(vec![
                prismdb_sql::sqlparser::ast::Ident::with_quote('"', c.name.clone()),
            ])
        })
        .collect();
    Ok(())
}

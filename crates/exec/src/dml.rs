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
use crate::point::{PointChange, PointWrite};
use crate::query::param_types;
use crate::session::{Output, ResultRows, Session};
use crate::txn::Txn;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ExprSchemable, LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use prismdb_catalog::{Column, Table};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Error, Result, Value};
use prismdb_sql::error::from_datafusion;
use prismdb_sql::sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Insert, SelectItem, Statement, TableFactor,
    TableObject, TableWithJoins, Update,
};
use prismdb_sql::{normalize, object_name, parse};
use std::collections::{BTreeMap, HashMap};
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

impl Session {
    pub(crate) async fn dml(
        &mut self,
        stmt: &Statement,
        params: &[Value],
        txn: &mut Txn,
    ) -> Result<Output> {
        if matches!(stmt, Statement::Update(_) | Statement::Delete(_))
            && let Some(point) = PointWrite::recognize(stmt, &self.schema.current(), &self.database)
        {
            let view = self.schema.scan.current()?;
            let verb = if matches!(stmt, Statement::Update(_)) {
                "UPDATE"
            } else {
                "DELETE"
            };
            match point.run(&view, params)? {
                Some(PointChange::Nothing) => return Ok(Output::command(format!("{verb} 0"))),
                Some(PointChange::Update(key, row, old)) => {
                    let key = (point.table.id, key);
                    let indexes = self.engine.indexes(&self.schema.current());
                    check_unique(txn, &indexes, &self.engine.store, &key, &row, Some(&old))?;
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
            Statement::Insert(ins) => self.insert(ins, params, txn).await,
            Statement::Update(upd) => self.update(upd, params, txn).await,
            Statement::Delete(del) => self.delete(del, params, txn).await,
            Statement::Truncate(t) => {
                for target in &t.table_names {
                    self.truncate(&object_name(&target.name)?, txn).await?;
                }
                Ok(Output::command("TRUNCATE TABLE"))
            }
            _ => Err(Error::Internal("not a DML statement".into())),
        }
    }

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

    /// DEFAULT expressions of a table as DataFusion expressions.
    fn defaults(&self, table: &Table) -> Result<HashMap<String, datafusion::logical_expr::Expr>> {
        let empty = DFSchema::empty();
        let mut out = HashMap::new();
        for c in table.columns.iter().filter(|c| c.default.is_some()) {
            let sql = c.default.as_deref().unwrap_or("NULL");
            let expr = self
                .state
                .create_logical_expr(sql, &empty)
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
        &self,
        table: &Table,
        columns: &[usize],
    ) -> Result<Vec<Value>> {
        let mut defaults = self.defaults(table)?;
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
        let batches = self.collect(plan).await?;
        let batch = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| Error::Internal("DEFAULT evaluation returned no row".into()))?;
        for (k, &i) in evaluated.iter().enumerate() {
            let value =
                column_values(batch.column(k), &table.columns[i], &table.name)?.swap_remove(0);
            if let Some(pos) = columns.iter().position(|&c| c == i) {
                out[pos] = value;
            }
        }
        Ok(out)
    }

    async fn plan_insert(&self, ins: &Insert) -> Result<(Arc<Table>, LogicalPlan)> {
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
        let table = self.table(&object_name(name)?)?;
        let defaults = self.defaults(&table)?;
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
        replace_default_keywords(&mut ins, &table)?;
        self.schema.hints.lock().defaults.insert(table.id, defaults);
        let plan = self.plan(&Statement::Insert(ins)).await;
        self.schema.hints.lock().defaults.clear();
        Ok((table, plan?))
    }

    async fn insert(&mut self, ins: &Insert, params: &[Value], txn: &mut Txn) -> Result<Output> {
        let (table, plan) = self.plan_insert(ins).await?;
        let plan = Self::bind(plan, params)?;
        let LogicalPlan::Dml(dml) = plan else {
            return Err(Error::Internal(
                "INSERT did not plan to a DML statement".into(),
            ));
        };
        if !matches!(dml.op, WriteOp::Insert(_)) {
            return Err(Error::Internal("INSERT planned to another write".into()));
        }
        check_insert_types(&dml.input, &table)?;
        let batches = self.collect(dml.input.as_ref().clone()).await?;
        let visible: Vec<(usize, &Column)> = table.visible_columns().collect();
        let indexes = self.engine.indexes(&self.schema.current());
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
                let key = self.new_row_key(&table, &mut stored, txn, |k| {
                    stored_at(&self.engine.store, at, k)
                })?;
                check_unique(txn, &indexes, &self.engine.store, &key, &stored, None)?;
                txn.insert(key, stored.clone());
                inserted.push(stored);
            }
        }
        let n = inserted.len();
        let rows = match &ins.returning {
            Some(items) => Some(self.returning(&table, None, items, &inserted).await?),
            None => None,
        };
        Ok(Output {
            tag: format!("INSERT 0 {n}"),
            rows,
            copy_out: None,
        })
    }

    /// Completes a new row of `table` for storage and checks it: hidden
    /// columns get a fresh row id, then NOT NULL (23502) and a free primary
    /// key (23505, against the transaction's own writes, then its snapshot
    /// as `in_snapshot` reads it: [`stored_at`], or COPY's answer from one
    /// probe per batch). Returns the row's key; INSERT and COPY buffer
    /// their rows under it.
    pub(crate) fn new_row_key(
        &self,
        table: &Table,
        stored: &mut [Value],
        txn: &mut Txn,
        in_snapshot: impl FnOnce(&prismdb_rowstore::RowKey) -> Result<bool>,
    ) -> Result<prismdb_rowstore::RowKey> {
        for (i, c) in table.columns.iter().enumerate() {
            if c.hidden {
                let id = self.engine.store.next_rowid();
                txn.used_rowid(id);
                stored[i] = Value::Int64(id);
            }
        }
        check_not_null(table, stored)?;
        let key = (table.id, key_of(table, stored));
        if row_exists(txn, &key, in_snapshot)? {
            return Err(duplicate_key(table));
        }
        Ok(key)
    }

    /// Builds the SELECT of every stored column of the target followed by `extra` expressions.
    fn target_select(
        &self,
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
        let table = self.table(&object_name(name)?)?;
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
    async fn plan_target(&self, target: &Target) -> Result<LogicalPlan> {
        self.schema.hints.lock().dml_target = Some(target.table.id);
        let plan = self.plan(&target.select).await;
        self.schema.hints.lock().dml_target = None;
        plan
    }

    fn update_target(&self, upd: &Update) -> Result<(Target, Vec<usize>)> {
        let table_name = match &upd.table.relation {
            TableFactor::Table { name, .. } => object_name(name)?,
            _ => {
                return Err(Error::NotSupported(
                    "the target of UPDATE must be a table".into(),
                ));
            }
        };
        let table = self.table(&table_name)?;
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
        let target = self.target_select(&upd.table, &from, &exprs, upd.selection.as_ref())?;
        Ok((target, assigned))
    }

    async fn update(&mut self, upd: &Update, params: &[Value], txn: &mut Txn) -> Result<Output> {
        let (target, assigned) = self.update_target(upd)?;
        let plan = Self::bind(self.plan_target(&target).await?, params)?;
        let batches = self.collect(plan).await?;
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
        let indexes = self.engine.indexes(&self.schema.current());
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
                    &self.engine.store,
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
                stored_at(&self.engine.store, txn.read_version, k)
            })? {
                return Err(duplicate_key(table));
            }
            check_unique(txn, &indexes, &self.engine.store, &key, new_row, None)?;
            txn.insert(key, new_row.clone());
        }
        let count = changes.len();
        let rows = match &upd.returning {
            Some(items) => {
                let new_rows: Vec<Vec<Value>> = changes.into_values().map(|(_, new)| new).collect();
                Some(
                    self.returning(table, Some(&target.reference), items, &new_rows)
                        .await?,
                )
            }
            None => None,
        };
        Ok(Output {
            tag: format!("UPDATE {count}"),
            rows,
            copy_out: None,
        })
    }

    fn delete_target(&self, del: &Delete) -> Result<Target> {
        let tables = match &del.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
        };
        let [relation] = tables.as_slice() else {
            return Err(Error::NotSupported(
                "DELETE from several tables is not supported".into(),
            ));
        };
        let using = del.using.clone().unwrap_or_default();
        self.target_select(relation, &using, &[], del.selection.as_ref())
    }

    async fn delete(&mut self, del: &Delete, params: &[Value], txn: &mut Txn) -> Result<Output> {
        let target = self.delete_target(del)?;
        let plan = Self::bind(self.plan_target(&target).await?, params)?;
        let batches = self.collect(plan).await?;
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
                Some(
                    self.returning(table, Some(&target.reference), items, &old)
                        .await?,
                )
            }
            None => None,
        };
        Ok(Output {
            tag: format!("DELETE {count}"),
            rows,
            copy_out: None,
        })
    }

    async fn truncate(&mut self, name: &str, txn: &mut Txn) -> Result<()> {
        let table = self.table(name)?;
        for row in self.stored_rows(&table).await? {
            txn.delete((table.id, key_of(&table, &row)));
        }
        Ok(())
    }

    /// Every stored row of a table (hidden columns included) as the
    /// statement's read view sees it; the caller sets that view.
    pub(crate) async fn stored_rows(&self, table: &Table) -> Result<Vec<Vec<Value>>> {
        let relation = parse(&format!("SELECT 1 FROM {}", quote(&table.name)))?;
        let Some(Statement::Query(q)) = relation.first() else {
            return Err(Error::Internal("stored rows rewrite".into()));
        };
        let prismdb_sql::sqlparser::ast::SetExpr::Select(sel) = q.body.as_ref() else {
            return Err(Error::Internal("stored rows rewrite".into()));
        };
        let target = self.target_select(&sel.from[0], &[], &[], None)?;
        let batches = self.collect(self.plan_target(&target).await?).await?;
        let mut rows = Vec::new();
        for batch in &batches {
            let cols = stored_columns(batch, &target.table)?;
            rows.extend(
                (0..batch.num_rows()).map(|row| cols.iter().map(|c| c[row].clone()).collect()),
            );
        }
        Ok(rows)
    }

    /// Evaluates a RETURNING list over the affected rows.
    async fn returning(
        &self,
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
        let (schema, batches) = self
            .engine
            .analytics
            .run_on(crate::Lane::Interactive, async move {
                let df = ctx.sql(&sql).await?;
                let schema = df.schema().inner().clone();
                Ok::<_, datafusion::error::DataFusionError>((schema, df.collect().await?))
            })
            .await?
            .map_err(from_datafusion)?;
        crate::query::renamed_rows(&stmt, &schema, batches)
    }

    /// Parameter types and RETURNING schema of a DML statement.
    pub(crate) async fn describe_dml(
        &mut self,
        stmt: &Statement,
    ) -> Result<(Vec<DataType>, Option<SchemaRef>)> {
        let (table, reference, plan, returning) = match stmt {
            Statement::Insert(ins) => {
                let (table, plan) = self.plan_insert(ins).await?;
                (table, None, plan, ins.returning.as_ref())
            }
            Statement::Update(upd) => {
                let (target, _) = self.update_target(upd)?;
                let plan = self.plan_target(&target).await?;
                (
                    target.table,
                    Some(target.reference),
                    plan,
                    upd.returning.as_ref(),
                )
            }
            Statement::Delete(del) => {
                let target = self.delete_target(del)?;
                let plan = self.plan_target(&target).await?;
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
        let schema = match returning {
            Some(items) => Some(
                self.returning(&table, reference.as_deref(), items, &[])
                    .await?
                    .schema,
            ),
            None => None,
        };
        Ok((params, schema))
    }
}

/// Replaces the `DEFAULT` keyword in `INSERT ... VALUES` rows with the
/// column's default expression (or NULL), which DataFusion does not know.
fn replace_default_keywords(ins: &mut Insert, table: &Table) -> Result<()> {
    use prismdb_sql::sqlparser::ast::SetExpr;
    let Some(source) = ins.source.as_mut() else {
        return Ok(());
    };
    let SetExpr::Values(values) = source.body.as_mut() else {
        return Ok(());
    };
    let names: Vec<String> = if ins.columns.is_empty() {
        table
            .visible_columns()
            .map(|(_, c)| c.name.clone())
            .collect()
    } else {
        ins.columns
            .iter()
            .map(|c| {
                c.0.last()
                    .and_then(|p| p.as_ident())
                    .map(normalize)
                    .unwrap_or_default()
            })
            .collect()
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

/// The encoded primary key of a stored row.
pub(crate) fn key_of(table: &Table, row: &[Value]) -> Vec<u8> {
    let key: Vec<Value> = table.primary_key.iter().map(|&i| row[i].clone()).collect();
    encode_key(&key)
}

fn check_not_null(table: &Table, row: &[Value]) -> Result<()> {
    for (c, v) in table.columns.iter().zip(row) {
        if !c.nullable && v.is_null() {
            return Err(Error::NotNullViolation(format!(
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                c.name, table.name
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

/// Whether a live row exists under `key` for this transaction: its own
/// writes first, then its snapshot as `in_snapshot` reads it.
fn row_exists(
    txn: &Txn,
    key: &prismdb_rowstore::RowKey,
    in_snapshot: impl FnOnce(&prismdb_rowstore::RowKey) -> Result<bool>,
) -> Result<bool> {
    match txn.own(key) {
        Some(own) => Ok(own.is_some()),
        None => in_snapshot(key),
    }
}

/// Whether `store` holds a live row under `key` as of version `at`.
pub(crate) fn stored_at(
    store: &prismdb_rowstore::RowStore,
    at: prismdb_common::Version,
    key: &prismdb_rowstore::RowKey,
) -> Result<bool> {
    Ok(store.get(key.0, &key.1, at)?.is_some())
}

fn duplicate_key(table: &Table) -> Error {
    Error::UniqueViolation(format!(
        "duplicate key value violates unique constraint \"{}_pkey\"",
        table.name
    ))
}

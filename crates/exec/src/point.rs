//! The point-lookup fast path: `SELECT cols FROM t WHERE pk = $1 [AND ...]`.
//!
//! A query that reads one row by its whole primary key does not need a
//! query planner: [`PointQuery::recognize`] spots the shape once per
//! statement text (the result is cached with the statement's logical plan),
//! and [`PointQuery::run`] turns the bound key into one read of the
//! statement's [`ReadView`] — the same snapshot-plus-own-writes read the
//! row-store provider does — and projects the row. Anything the fast path
//! cannot answer exactly (a key value of another type, say) falls back to
//! the planned query, so both paths always agree.

use crate::convert::{rows_to_batch, scalar_to_value, value_to_scalar};
use crate::provider::ReadView;
use crate::session::ResultRows;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use prismdb_catalog::{Catalog, Column, Table};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Result, Value};
use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, SelectItem, SetExpr, Statement, TableFactor,
    Value as SqlValue,
};
use std::sync::Arc;

/// Where one key column's value comes from.
#[derive(Debug, Clone)]
enum KeySource {
    /// `$n` (0-based index into the bound parameters).
    Param(usize),
    /// A literal in the statement.
    Literal(Value),
}

/// A recognized point lookup.
#[derive(Debug, Clone)]
pub struct PointQuery {
    table: Arc<Table>,
    /// Source of each primary-key column's value, in key order.
    key: Vec<KeySource>,
    /// Stored column index of each output column.
    columns: Vec<usize>,
    schema: SchemaRef,
}

impl PointQuery {
    /// Recognizes `SELECT <columns or *> FROM <table> WHERE <pk = value AND ...>`
    /// covering every key column exactly once and nothing else.
    pub fn recognize(stmt: &Statement, catalog: &Catalog, database: &str) -> Option<PointQuery> {
        let Statement::Query(q) = stmt else {
            return None;
        };
        if q.with.is_some()
            || q.order_by.is_some()
            || q.limit_clause.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
        {
            return None;
        }
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return None;
        };
        let plain_group_by =
            matches!(&sel.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
        if sel.distinct.is_some()
            || sel.top.is_some()
            || sel.into.is_some()
            || sel.exclude.is_some()
            || sel.prewhere.is_some()
            || sel.having.is_some()
            || sel.qualify.is_some()
            || !plain_group_by
            || !sel.lateral_views.is_empty()
            || !sel.connect_by.is_empty()
            || !sel.cluster_by.is_empty()
            || !sel.distribute_by.is_empty()
            || !sel.sort_by.is_empty()
            || !sel.named_window.is_empty()
        {
            return None;
        }
        let [from] = sel.from.as_slice() else {
            return None;
        };
        if !from.joins.is_empty() {
            return None;
        }
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &from.relation
        else {
            return None;
        };
        let table_name = prismdb_sql::object_name(name).ok()?;
        let db = catalog.databases.get(database)?;
        let table = db.tables.get(&table_name)?.clone();
        let reference = alias
            .as_ref()
            .map(|a| normalize(&a.name))
            .unwrap_or_else(|| table_name.clone());
        if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
            return None;
        }

        // Output columns.
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for item in &sel.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    for (i, c) in table.visible_columns() {
                        columns.push(i);
                        fields.push(c.ty.arrow_field(&c.name, true));
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    let i = column_ref(e, &table, &reference)?;
                    let c = &table.columns[i];
                    columns.push(i);
                    fields.push(c.ty.arrow_field(&c.name, true));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let i = column_ref(expr, &table, &reference)?;
                    columns.push(i);
                    fields.push(table.columns[i].ty.arrow_field(&normalize(alias), true));
                }
                _ => return None,
            }
        }

        // Key equalities.
        let mut key: Vec<Option<KeySource>> = vec![None; table.primary_key.len()];
        let mut conjuncts = Vec::new();
        split_and(sel.selection.as_ref()?, &mut conjuncts);
        for c in conjuncts {
            let Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } = c
            else {
                return None;
            };
            let (col, value) = match (
                column_ref(left, &table, &reference),
                column_ref(right, &table, &reference),
            ) {
                (Some(i), None) => (i, right.as_ref()),
                (None, Some(i)) => (i, left.as_ref()),
                _ => return None,
            };
            let pos = table.primary_key.iter().position(|&k| k == col)?;
            if key[pos].is_some() {
                return None;
            }
            key[pos] = Some(key_source(value)?);
        }
        let key: Vec<KeySource> = key.into_iter().collect::<Option<_>>()?;
        Some(PointQuery {
            table,
            key,
            columns,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// Reads the row. `Ok(None)` means "not exactly answerable here": the
    /// caller runs the planned query instead.
    pub fn run(&self, view: &ReadView, params: &[Value]) -> Result<Option<ResultRows>> {
        let mut key = Vec::with_capacity(self.key.len());
        for (source, &col) in self.key.iter().zip(&self.table.primary_key) {
            let raw = match source {
                KeySource::Param(n) => match params.get(*n) {
                    Some(v) => v.clone(),
                    None => return Ok(None),
                },
                KeySource::Literal(v) => v.clone(),
            };
            if raw.is_null() {
                return Ok(Some(self.rows(&[])?));
            }
            match key_value(raw, &self.table.columns[col]) {
                Some(v) => key.push(v),
                None => return Ok(None),
            }
        }
        let row = view.get(self.table.id, &encode_key(&key))?;
        let rows: Vec<&[Value]> = row.iter().map(|r| r.as_slice()).collect();
        Ok(Some(self.rows(&rows)?))
    }

    fn rows(&self, rows: &[&[Value]]) -> Result<ResultRows> {
        let columns: Vec<&Column> = self
            .columns
            .iter()
            .map(|&i| &self.table.columns[i])
            .collect();
        let batch = rows_to_batch(&self.schema, &columns, &self.columns, rows)?;
        Ok(ResultRows {
            schema: self.schema.clone(),
            batches: vec![batch],
        })
    }
}

fn split_and<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        other => out.push(other),
    }
}

/// The stored index of a visible column named by `e` (`col` or `t.col`).
fn column_ref(e: &Expr, table: &Table, reference: &str) -> Option<usize> {
    let name = match e {
        Expr::Identifier(i) => normalize(i),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [t, c] if normalize(t) == reference => normalize(c),
            _ => return None,
        },
        _ => return None,
    };
    table
        .column_index(&name)
        .filter(|&i| !table.columns[i].hidden)
}

fn key_source(e: &Expr) -> Option<KeySource> {
    let Expr::Value(v) = e else { return None };
    match &v.value {
        SqlValue::Placeholder(p) => {
            let n: usize = p.strip_prefix('$')?.parse().ok()?;
            Some(KeySource::Param(n.checked_sub(1)?))
        }
        SqlValue::Number(n, false) => n
            .parse::<i64>()
            .ok()
            .map(|i| KeySource::Literal(Value::Int64(i))),
        SqlValue::SingleQuotedString(s) => Some(KeySource::Literal(Value::Text(s.clone()))),
        _ => None,
    }
}

/// A bound value as a value of the key column's type, if it converts exactly.
fn key_value(v: Value, column: &Column) -> Option<Value> {
    let target = column.ty.arrow_type();
    let scalar = value_to_scalar(&v);
    if scalar.data_type() == target {
        return Some(v);
    }
    let cast = scalar.cast_to(&target).ok()?;
    // Only exact conversions: casting back must give the original value.
    if cast.cast_to(&scalar.data_type()).ok()? != scalar {
        return None;
    }
    scalar_to_value(&cast).ok()
}

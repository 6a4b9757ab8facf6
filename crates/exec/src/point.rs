//! The point fast paths: `SELECT cols FROM t WHERE pk = $1 [AND ...]`, and
//! single-row `UPDATE ... WHERE pk = ...` / `DELETE ... WHERE pk = ...`.
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
use prismdb_catalog::{Catalog, Column, SqlType, Table};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Error, Result, Value};
use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, FromTable, GroupByExpr, SelectItem, SetExpr, Statement,
    TableFactor, TableWithJoins, Value as SqlValue,
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
        let (table, reference) = target(from, catalog, database)?;

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

        let key = key_equalities(sel.selection.as_ref()?, &table, &reference)?;
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
        let Some(key) = bind_key(&self.key, &self.table, params) else {
            return Ok(None);
        };
        let Some(key) = key else {
            return Ok(Some(self.rows(&[])?));
        };
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

/// `pk = value AND ...` covering every key column exactly once and nothing
/// else: the source of each key column's value, in key order.
fn key_equalities(selection: &Expr, table: &Table, reference: &str) -> Option<Vec<KeySource>> {
    let mut key: Vec<Option<KeySource>> = vec![None; table.primary_key.len()];
    let mut conjuncts = Vec::new();
    split_and(selection, &mut conjuncts);
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
            column_ref(left, table, reference),
            column_ref(right, table, reference),
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
    key.into_iter().collect()
}

/// The bound key: `None` if a value does not convert exactly to its column's
/// type (the planned path decides), `Some(None)` if a key value is NULL (no
/// row matches).
fn bind_key(sources: &[KeySource], table: &Table, params: &[Value]) -> Option<Option<Vec<Value>>> {
    let mut key = Vec::with_capacity(sources.len());
    for (source, &col) in sources.iter().zip(&table.primary_key) {
        let raw = source.bind(params)?;
        if raw.is_null() {
            return Some(None);
        }
        key.push(key_value(raw, &table.columns[col])?);
    }
    Some(Some(key))
}

impl KeySource {
    fn bind(&self, params: &[Value]) -> Option<Value> {
        match self {
            KeySource::Param(n) => params.get(*n).cloned(),
            KeySource::Literal(v) => Some(v.clone()),
        }
    }
}

/// The new value of one column in a point UPDATE.
#[derive(Debug, Clone)]
enum SetSource {
    /// A parameter or literal.
    Value(KeySource),
    /// `column + delta` or `column - delta` on integer columns.
    Add {
        column: usize,
        delta: KeySource,
        negate: bool,
    },
}

/// A recognized single-row write: `UPDATE t SET c = v, ... WHERE pk = ...`
/// or `DELETE FROM t WHERE pk = ...`, without RETURNING. Assigned values are
/// parameters, literals, or an integer column plus or minus one; key columns
/// are not assigned. Like [`PointQuery`], anything not answerable exactly
/// falls back to the planned statement.
#[derive(Debug, Clone)]
pub struct PointWrite {
    pub table: Arc<Table>,
    key: Vec<KeySource>,
    /// `None` for DELETE.
    sets: Option<Vec<(usize, SetSource)>>,
}

/// What a [`PointWrite`] found and computed.
pub enum PointChange {
    /// No row has the key.
    Nothing,
    /// Replace the row with this one.
    Update(Vec<u8>, Vec<Value>),
    /// Delete the row.
    Delete(Vec<u8>),
}

fn is_integer(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Int16 | SqlType::Int32 | SqlType::Int64)
}

/// Column types whose values need no check beyond an exact conversion.
fn plain_type(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Bool
            | SqlType::Int16
            | SqlType::Int32
            | SqlType::Int64
            | SqlType::Float64
            | SqlType::Text
            | SqlType::Varchar(None)
    )
}

fn target(
    table_with_joins: &TableWithJoins,
    catalog: &Catalog,
    database: &str,
) -> Option<(Arc<Table>, String)> {
    if !table_with_joins.joins.is_empty() {
        return None;
    }
    let TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = &table_with_joins.relation
    else {
        return None;
    };
    if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return None;
    }
    let table_name = prismdb_sql::object_name(name).ok()?;
    let table = catalog
        .databases
        .get(database)?
        .tables
        .get(&table_name)?
        .clone();
    let reference = alias
        .as_ref()
        .map(|a| normalize(&a.name))
        .unwrap_or(table_name);
    Some((table, reference))
}

impl PointWrite {
    /// Recognizes a single-row UPDATE or DELETE by primary key.
    pub fn recognize(stmt: &Statement, catalog: &Catalog, database: &str) -> Option<PointWrite> {
        match stmt {
            Statement::Update(upd) => {
                if upd.from.is_some() || upd.returning.is_some() || upd.or.is_some() {
                    return None;
                }
                let (table, reference) = target(&upd.table, catalog, database)?;
                let key = key_equalities(upd.selection.as_ref()?, &table, &reference)?;
                let mut sets = Vec::new();
                for a in &upd.assignments {
                    let AssignmentTarget::ColumnName(name) = &a.target else {
                        return None;
                    };
                    let [ident] = name.0.as_slice() else {
                        return None;
                    };
                    let col = table.column_index(&normalize(ident.as_ident()?))?;
                    let column = &table.columns[col];
                    if column.hidden
                        || table.primary_key.contains(&col)
                        || !plain_type(&column.ty)
                        || sets.iter().any(|(c, _)| *c == col)
                    {
                        return None;
                    }
                    let source = match &a.value {
                        Expr::BinaryOp { left, op, right } if is_integer(&column.ty) => {
                            let negate = match op {
                                BinaryOperator::Plus => false,
                                BinaryOperator::Minus => true,
                                _ => return None,
                            };
                            let base = column_ref(left, &table, &reference)?;
                            if !is_integer(&table.columns[base].ty) {
                                return None;
                            }
                            SetSource::Add {
                                column: base,
                                delta: key_source(right)?,
                                negate,
                            }
                        }
                        v => SetSource::Value(key_source(v)?),
                    };
                    sets.push((col, source));
                }
                Some(PointWrite {
                    table,
                    key,
                    sets: Some(sets),
                })
            }
            Statement::Delete(del) => {
                if del.using.is_some() || del.returning.is_some() || !del.tables.is_empty() {
                    return None;
                }
                let tables = match &del.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                let [relation] = tables.as_slice() else {
                    return None;
                };
                let (table, reference) = target(relation, catalog, database)?;
                let key = key_equalities(del.selection.as_ref()?, &table, &reference)?;
                Some(PointWrite {
                    table,
                    key,
                    sets: None,
                })
            }
            _ => None,
        }
    }

    /// Reads the row through `view` and computes the change. `Ok(None)`
    /// means "not exactly answerable here": the caller runs the planned
    /// statement instead.
    pub fn run(&self, view: &ReadView, params: &[Value]) -> Result<Option<PointChange>> {
        let Some(key) = bind_key(&self.key, &self.table, params) else {
            return Ok(None);
        };
        let Some(key) = key else {
            return Ok(Some(PointChange::Nothing));
        };
        let encoded = encode_key(&key);
        let Some(row) = view.get(self.table.id, &encoded)? else {
            return Ok(Some(PointChange::Nothing));
        };
        let Some(sets) = &self.sets else {
            return Ok(Some(PointChange::Delete(encoded)));
        };
        let mut new_row = row.as_ref().clone();
        for (col, source) in sets {
            let column = &self.table.columns[*col];
            let value = match source {
                SetSource::Value(v) => {
                    let Some(raw) = v.bind(params) else {
                        return Ok(None);
                    };
                    if raw.is_null() {
                        Value::Null
                    } else {
                        let Some(v) = key_value(raw, column) else {
                            return Ok(None);
                        };
                        v
                    }
                }
                SetSource::Add {
                    column: base,
                    delta,
                    negate,
                } => {
                    let Some(delta) = delta.bind(params) else {
                        return Ok(None);
                    };
                    let (Some(a), Some(b)) = (as_i64(&row[*base]), as_i64(&delta)) else {
                        if row[*base].is_null() || delta.is_null() {
                            new_row[*col] = Value::Null;
                            continue;
                        }
                        return Ok(None);
                    };
                    let sum = if *negate {
                        a.checked_sub(b)
                    } else {
                        a.checked_add(b)
                    };
                    let out_of_range = || {
                        Error::NumericOutOfRange(format!("{} out of range", column.ty.pg_name()))
                    };
                    let sum = sum.ok_or_else(out_of_range)?;
                    match column.ty {
                        SqlType::Int16 => {
                            Value::Int16(i16::try_from(sum).map_err(|_| out_of_range())?)
                        }
                        SqlType::Int32 => {
                            Value::Int32(i32::try_from(sum).map_err(|_| out_of_range())?)
                        }
                        _ => Value::Int64(sum),
                    }
                }
            };
            if value.is_null() && !column.nullable {
                return Ok(None);
            }
            new_row[*col] = value;
        }
        Ok(Some(PointChange::Update(encoded, new_row)))
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int16(i) => Some(i64::from(*i)),
        Value::Int32(i) => Some(i64::from(*i)),
        Value::Int64(i) => Some(*i),
        _ => None,
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

//! The key fast paths: SELECTs that read rows by primary key or through a
//! secondary index, and single-row `UPDATE ... WHERE pk = ...` / `DELETE
//! ... WHERE pk = ...`, run without DataFusion.
//!
//! A query whose only predicate is on a key does not need a query
//! planner. [`KeyQuery::recognize`] reads the WHERE clause into the
//! conditions of [`crate::access`] (the analysis the provider uses too) and
//! spots these shapes once per statement text (the result is cached with
//! the statement's logical plan):
//!
//! * a point: `pk = v [AND pk2 = v2 ...]` over every key column;
//! * an IN list on a single-column key: `id IN (v, ...)` with up to
//!   [`MAX_IN_LIST`] values (duplicates read once, NULLs match nothing);
//! * a short range on the first key column, bounded on both sides:
//!   `k BETWEEN a AND b`, or one lower (`>`, `>=`) and one upper (`<`,
//!   `<=`) comparison, on integer, text or date keys;
//! * through a secondary index (not a partial one): equalities on a
//!   leading run of its columns and optionally bounds on the next one,
//!   with an ORDER BY, if any, on the columns after the equalities in one
//!   direction (read backwards for DESC, NULLs where PostgreSQL sorts
//!   them); unique indexes and longer equality runs are preferred;
//!
//! where each value is a parameter (`$n`) or a literal, the select list is
//! plain columns (or `*`), and the query may end in `ORDER BY` a leading run
//! of key columns, ascending, and `LIMIT n` with a literal `n`. Anything
//! else (another condition, DESC, OFFSET, a join, a composite key with an
//! IN list ...) is planned.
//!
//! [`KeyQuery::run`] binds the values into the [`Read`] the row-store
//! provider would make of the same conditions ([`Read::primary_key`], or
//! an [`IndexRead`]) and reads it the way the provider does, at the
//! statement's [`ReadView`] (snapshot plus own writes). Rows come back in
//! key (or index) order, which is what `ORDER BY` on the
//! key asks for and one of the orders a query without `ORDER BY` may
//! return. A range stops after [`RANGE_ROW_CAP`] rows: when it holds more
//! (and no smaller `LIMIT` applies) the statement is planned instead, so the
//! fast path only ever answers small reads, and large ranges stay with the
//! planner and its choice of engine. Anything the fast path cannot answer
//! exactly (a key value of another type that does not convert exactly, say)
//! also falls back to the planned query, so both paths always agree.

use crate::access::{Cond, Op, OrderColumn, Shape, covers, index_order};
use crate::convert::{rows_to_batch, scalar_to_value, value_to_scalar};
use crate::output::ResultRows;
use crate::read_view::ReadView;
use crate::reads::{IndexRead, Read};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use prismdb_catalog::{Catalog, Column, SqlType, Table};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Error, Result, Value};
use prismdb_rowstore::index::IndexLayout;
use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, FromTable, GroupByExpr, LimitClause, OrderByKind,
    Query, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins, UnaryOperator,
    Value as SqlValue,
};
use std::sync::Arc;

/// The longest IN list the fast path reads key by key.
pub const MAX_IN_LIST: usize = 64;

/// The most rows a range read by the fast path returns; a range holding
/// more is planned.
pub const RANGE_ROW_CAP: usize = 1000;

/// Where one key column's value comes from.
#[derive(Debug, Clone)]
enum KeySource {
    /// `$n` (0-based index into the bound parameters).
    Param(usize),
    /// A literal in the statement.
    Literal(Value),
}

/// One end of a key range: its value and whether it is included.
#[derive(Debug, Clone)]
struct RangeEnd {
    value: KeySource,
    inclusive: bool,
}

/// Which keys a [`KeyQuery`] reads.
#[derive(Debug, Clone)]
enum KeyAccess {
    /// One key: the source of each key column's value, in key order.
    Point(Vec<KeySource>),
    /// Any of these values of a single-column key.
    In(Vec<KeySource>),
    /// First key column between two bounds.
    Range { lower: RangeEnd, upper: RangeEnd },
    /// Through a secondary index: equalities on a leading run of its key
    /// columns, optionally bounds on the next one, read in index order
    /// (backwards for a descending ORDER BY).
    Index {
        layout: Arc<IndexLayout>,
        eq: Vec<KeySource>,
        lower: Option<RangeEnd>,
        upper: Option<RangeEnd>,
        reverse: bool,
        /// The ordered column after the equalities may hold NULLs: they
        /// are read apart, after the others ascending and before them
        /// descending, as PostgreSQL orders them.
        nulls_apart: bool,
    },
}

/// A recognized primary-key read: a point, an IN list or a short range.
#[derive(Debug, Clone)]
pub struct KeyQuery {
    table: Arc<Table>,
    access: KeyAccess,
    /// `LIMIT n`.
    limit: Option<usize>,
    /// Stored column index of each output column.
    columns: Vec<usize>,
    /// The same columns as a mask over the stored ones: all a read decodes.
    keep: Arc<[bool]>,
    schema: SchemaRef,
}

impl KeyQuery {
    /// The table the query reads.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Recognizes `SELECT <columns or *> FROM <table> WHERE <key predicate>
    /// [ORDER BY <key columns>] [LIMIT n]` (see the module documentation).
    pub fn recognize(stmt: &Statement, catalog: &Catalog, database: &str) -> Option<KeyQuery> {
        let Statement::Query(q) = stmt else {
            return None;
        };
        if q.with.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
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

        // Output columns, and the names ORDER BY would take for an output
        // column rather than a table column.
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        let mut aliases = Vec::new();
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
                    let name = normalize(alias);
                    columns.push(i);
                    fields.push(table.columns[i].ty.arrow_field(&name, true));
                    aliases.push(name);
                }
                _ => return None,
            }
        }

        let conds = conditions(sel.selection.as_ref()?, &table, &reference)?;
        let access = match key_access(&conds, &table) {
            Some(a) if key_order(q, &table, &reference, &aliases) => a,
            _ => index_access(q, &conds, &table, &reference, &aliases, catalog, database)?,
        };
        let limit = match &q.limit_clause {
            None => None,
            Some(LimitClause::LimitOffset {
                limit: Some(Expr::Value(v)),
                offset: None,
                limit_by,
            }) if limit_by.is_empty() => match &v.value {
                SqlValue::Number(n, false) => Some(n.parse::<usize>().ok()?),
                _ => return None,
            },
            Some(_) => return None,
        };
        Some(KeyQuery {
            keep: crate::reads::columns_mask(&table, &columns),
            table,
            access,
            limit,
            columns,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// Reads the rows. `Ok(None)` means "not exactly answerable here" (or a
    /// range longer than [`RANGE_ROW_CAP`]): the caller runs the planned
    /// query instead.
    pub fn run(&self, view: &ReadView, params: &[Value]) -> Result<Option<ResultRows>> {
        let limit = self.limit.unwrap_or(usize::MAX);
        let Some(read) = self.bind_read(view, params) else {
            return Ok(None);
        };
        let want = limit.min(RANGE_ROW_CAP + 1);
        let mut cursor = read.cursor(view, self.table.id, Some(self.keep.clone()));
        let mut rows: Vec<Arc<Vec<Value>>> = Vec::new();
        while rows.len() < want {
            match cursor.next_rows(view, want - rows.len())? {
                Some(chunk) => rows.extend(chunk),
                None => break,
            }
        }
        if rows.len() > RANGE_ROW_CAP && limit > RANGE_ROW_CAP {
            return Ok(None);
        }
        rows.truncate(limit);
        let refs: Vec<&[Value]> = rows.iter().map(|r| r.as_slice()).collect();
        Ok(Some(self.rows(&refs)?))
    }

    /// The read of the statement with its parameters bound: `None` when a
    /// value does not convert exactly to its key column's type (or the
    /// index cannot serve this snapshot yet).
    fn bind_read(&self, view: &ReadView, params: &[Value]) -> Option<Read> {
        let table = &self.table;
        let nothing = Read::Points(Vec::new());
        match &self.access {
            KeyAccess::Index {
                layout,
                eq,
                lower,
                upper,
                reverse,
                nulls_apart,
            } => {
                if !view.store.index_usable(layout.id, view.snapshot) {
                    return None;
                }
                let columns = |i: usize| &table.columns[layout.key[i]];
                let Some(shape) = bind_shape(params, eq, (lower, upper), columns)? else {
                    return Some(nothing);
                };
                let read = IndexRead::new(
                    layout,
                    &shape,
                    (*reverse, *nulls_apart),
                    covers(table, layout, &self.columns),
                );
                Some(Read::Index(Arc::new(read)))
            }
            KeyAccess::Point(sources) => {
                let columns = |i: usize| &table.columns[table.primary_key[i]];
                match bind_shape(params, sources, (&None, &None), columns)? {
                    Some(shape) => Some(Read::primary_key(table.primary_key.len(), &shape)),
                    None => Some(nothing),
                }
            }
            KeyAccess::In(sources) => {
                let column = &table.columns[table.primary_key[0]];
                let mut values = Vec::with_capacity(sources.len());
                for source in sources {
                    let raw = source.bind(params)?;
                    if raw.is_null() {
                        continue;
                    }
                    values.push(key_value(raw, column)?);
                }
                let shape = Shape {
                    eq: Vec::new(),
                    in_list: Some(values),
                    lower: None,
                    upper: None,
                    consumed: 0,
                };
                Some(Read::primary_key(table.primary_key.len(), &shape))
            }
            KeyAccess::Range { lower, upper } => {
                let columns = |i: usize| &table.columns[table.primary_key[i]];
                let bounds = (&Some(lower.clone()), &Some(upper.clone()));
                match bind_shape(params, &[], bounds, columns)? {
                    Some(shape) => Some(Read::primary_key(table.primary_key.len(), &shape)),
                    None => Some(nothing),
                }
            }
        }
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
            rest: None,
        })
    }
}

/// Binds equalities on leading key columns and bounds on the next one
/// (`column(i)`: the column of key position `i`) to a [`Shape`]. `None`
/// when a value does not convert exactly; `Some(None)` when a NULL makes
/// the read select nothing.
fn bind_shape<'a>(
    params: &[Value],
    eq: &[KeySource],
    (lower, upper): (&Option<RangeEnd>, &Option<RangeEnd>),
    column: impl Fn(usize) -> &'a Column,
) -> Option<Option<Shape<Value>>> {
    let mut values = Vec::with_capacity(eq.len());
    for (i, source) in eq.iter().enumerate() {
        let raw = source.bind(params)?;
        if raw.is_null() {
            return Some(None);
        }
        values.push(key_value(raw, column(i))?);
    }
    let bound = |end: &Option<RangeEnd>| -> Option<Option<Option<(Value, bool)>>> {
        match end {
            None => Some(Some(None)),
            Some(e) => match e.bind(params, column(eq.len()))? {
                // A bound that is NULL selects nothing.
                None => Some(None),
                Some(v) => Some(Some(Some((v, e.inclusive)))),
            },
        }
    };
    let (Some(lower), Some(upper)) = (bound(lower)?, bound(upper)?) else {
        return Some(None);
    };
    Some(Some(Shape {
        eq: values,
        in_list: None,
        lower,
        upper,
        consumed: 0,
    }))
}

impl RangeEnd {
    /// The bound value: `None` if it does not convert exactly to the key
    /// column's type, `Some(None)` if it is NULL.
    fn bind(&self, params: &[Value], column: &Column) -> Option<Option<Value>> {
        let raw = self.value.bind(params)?;
        if raw.is_null() {
            return Some(None);
        }
        Some(Some(key_value(raw, column)?))
    }
}

/// Key types whose encoded order is the SQL comparison order of the values a
/// range may be bound to.
fn range_type(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Int16
            | SqlType::Int32
            | SqlType::Int64
            | SqlType::Text
            | SqlType::Varchar(_)
            | SqlType::Date
    )
}

/// The conjuncts of a WHERE clause as conditions on single columns
/// (`col = v`, `col op v` either way round, `BETWEEN`, an IN list of up to
/// [`MAX_IN_LIST`] values), each value a parameter or a literal; `None` if
/// any conjunct is something else.
fn conditions(selection: &Expr, table: &Table, reference: &str) -> Option<Vec<Cond<RangeEnd>>> {
    let mut conjuncts = Vec::new();
    split_and(selection, &mut conjuncts);
    let end = |value, inclusive| RangeEnd { value, inclusive };
    let mut conds = Vec::with_capacity(conjuncts.len());
    for c in conjuncts {
        match c {
            Expr::InList {
                expr,
                list,
                negated: false,
            } if !list.is_empty() && list.len() <= MAX_IN_LIST => {
                let column = column_ref(expr, table, reference)?;
                let values = list
                    .iter()
                    .map(|e| key_source(e).map(|v| end(v, true)))
                    .collect::<Option<_>>()?;
                conds.push(Cond {
                    column,
                    op: Op::In(values),
                });
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                let column = column_ref(expr, table, reference)?;
                conds.push(Cond {
                    column,
                    op: Op::Lower(end(key_source(low)?, true), true),
                });
                conds.push(Cond {
                    column,
                    op: Op::Upper(end(key_source(high)?, true), true),
                });
            }
            Expr::BinaryOp { left, op, right } => {
                let (column, value, op) = match (
                    column_ref(left, table, reference),
                    column_ref(right, table, reference),
                ) {
                    (Some(c), None) => (c, right.as_ref(), op.clone()),
                    (None, Some(c)) => (
                        c,
                        left.as_ref(),
                        match op {
                            BinaryOperator::Lt => BinaryOperator::Gt,
                            BinaryOperator::LtEq => BinaryOperator::GtEq,
                            BinaryOperator::Gt => BinaryOperator::Lt,
                            BinaryOperator::GtEq => BinaryOperator::LtEq,
                            BinaryOperator::Eq => BinaryOperator::Eq,
                            _ => return None,
                        },
                    ),
                    _ => return None,
                };
                let value = key_source(value)?;
                let op = match op {
                    BinaryOperator::Eq => Op::Eq(end(value, true)),
                    BinaryOperator::Gt => Op::Lower(end(value, false), false),
                    BinaryOperator::GtEq => Op::Lower(end(value, true), true),
                    BinaryOperator::Lt => Op::Upper(end(value, false), false),
                    BinaryOperator::LtEq => Op::Upper(end(value, true), true),
                    _ => return None,
                };
                conds.push(Cond { column, op });
            }
            _ => return None,
        }
    }
    Some(conds)
}

/// The primary-key read of the conditions, when they are exactly a point
/// (every key column equal), an IN list on a single-column key, or a range
/// on the first key column bounded on both sides (integer, text and date
/// keys).
fn key_access(conds: &[Cond<RangeEnd>], table: &Table) -> Option<KeyAccess> {
    let pk = &table.primary_key;
    let shape = Shape::of(pk, conds);
    if shape.consumed != conds.len() || conds.is_empty() {
        return None;
    }
    if shape.eq.len() == pk.len() {
        return Some(KeyAccess::Point(
            shape.eq.into_iter().map(|e| e.value).collect(),
        ));
    }
    if !shape.eq.is_empty() {
        return None;
    }
    if let Some(list) = shape.in_list {
        return (pk.len() == 1).then(|| KeyAccess::In(list.into_iter().map(|e| e.value).collect()));
    }
    if !range_type(&table.columns[pk[0]].ty) {
        return None;
    }
    Some(KeyAccess::Range {
        lower: shape.lower?.0,
        upper: shape.upper?.0,
    })
}

/// A WHERE clause answered by a secondary index: every conjunct is an
/// equality on a leading run of the index's key columns or a bound on the
/// next one (`BETWEEN`, `<`, `<=`, `>`, `>=`; integer, text and date
/// columns), and the ORDER BY, if any, is one an index read gives (see
/// [`index_order`]). Unique indexes and longer equality runs win. Partial
/// indexes are left to the planner.
fn index_access(
    q: &Query,
    conds: &[Cond<RangeEnd>],
    table: &Arc<Table>,
    reference: &str,
    aliases: &[String],
    catalog: &Catalog,
    database: &str,
) -> Option<KeyAccess> {
    let db = catalog.database(database).ok()?;
    if conds.iter().any(|c| matches!(c.op, Op::In(_))) {
        return None;
    }
    let order: Vec<OrderColumn> = match &q.order_by {
        None => Vec::new(),
        Some(o) => {
            if o.interpolate.is_some() {
                return None;
            }
            let OrderByKind::Expressions(exprs) = &o.kind else {
                return None;
            };
            exprs
                .iter()
                .map(|e| {
                    let shadowed =
                        matches!(&e.expr, Expr::Identifier(i) if aliases.contains(&normalize(i)));
                    if shadowed || e.with_fill.is_some() {
                        return None;
                    }
                    let column = column_ref(&e.expr, table, reference)?;
                    let descending = e.options.asc == Some(false);
                    Some(OrderColumn {
                        column,
                        descending,
                        // PostgreSQL's default: NULLs sort as larger than
                        // any value.
                        nulls_first: e.options.nulls_first.unwrap_or(descending),
                    })
                })
                .collect::<Option<_>>()?
        }
    };
    let mut best: Option<(bool, usize, KeyAccess)> = None;
    for index in db.indexes_on(table.id) {
        let layout = Arc::new(IndexLayout::new(table, index).ok()?);
        if layout.filter.is_some() || index.predicate.is_some() {
            continue;
        }
        let shape = Shape::of(&layout.key, conds);
        if shape.consumed != conds.len() || shape.is_empty() && order.is_empty() {
            continue;
        }
        let ranged = shape.lower.is_some() || shape.upper.is_some();
        if ranged && !range_type(&table.columns[layout.key[shape.eq.len()]].ty) {
            continue;
        }
        let Some((reverse, nulls_apart)) = index_order(table, &layout, &shape, &order) else {
            continue;
        };
        let full_point = layout.unique && shape.eq.len() == layout.key.len();
        let rank = (full_point, shape.eq.len());
        if best.as_ref().is_some_and(|(u, n, _)| (*u, *n) >= rank) {
            continue;
        }
        best = Some((
            rank.0,
            rank.1,
            KeyAccess::Index {
                layout,
                eq: shape.eq.into_iter().map(|e| e.value).collect(),
                lower: shape.lower.map(|(e, _)| e),
                upper: shape.upper.map(|(e, _)| e),
                reverse,
                nulls_apart,
            },
        ));
    }
    best.map(|(_, _, a)| a)
}

/// Whether the query's ORDER BY, if any, asks for key order: a leading run
/// of key columns, each ascending (key columns are never NULL, so NULLS
/// FIRST/LAST does not matter), none of them shadowed by an output column
/// alias (ORDER BY prefers those).
fn key_order(q: &Query, table: &Table, reference: &str, aliases: &[String]) -> bool {
    let Some(order_by) = &q.order_by else {
        return true;
    };
    if order_by.interpolate.is_some() {
        return false;
    }
    let OrderByKind::Expressions(exprs) = &order_by.kind else {
        return false;
    };
    exprs.len() <= table.primary_key.len()
        && exprs.iter().zip(&table.primary_key).all(|(o, &k)| {
            let shadowed = match &o.expr {
                Expr::Identifier(i) => aliases.contains(&normalize(i)),
                _ => false,
            };
            o.options.asc != Some(false)
                && o.with_fill.is_none()
                && !shadowed
                && column_ref(&o.expr, table, reference) == Some(k)
        })
}

/// `pk = value AND ...` covering every key column exactly once and nothing
/// else: the source of each key column's value, in key order.
fn key_equalities(selection: &Expr, table: &Table, reference: &str) -> Option<Vec<KeySource>> {
    match key_access(&conditions(selection, table, reference)?, table)? {
        KeyAccess::Point(key) => Some(key),
        _ => None,
    }
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
/// are not assigned. Like [`KeyQuery`], anything not answerable exactly
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
    /// Replace the row (the third field) with this one.
    Update(Vec<u8>, Vec<Value>, Arc<Vec<Value>>),
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
                            if !column.nullable {
                                return Ok(None);
                            }
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
        Ok(Some(PointChange::Update(encoded, new_row, row)))
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
    // `-5`: a negative integer literal.
    if let Expr::UnaryOp {
        op: UnaryOperator::Minus,
        expr,
    } = e
        && let Expr::Value(v) = expr.as_ref()
        && let SqlValue::Number(n, false) = &v.value
    {
        return n
            .parse::<i64>()
            .ok()
            .and_then(i64::checked_neg)
            .map(|i| KeySource::Literal(Value::Int64(i)));
    }
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
        SqlValue::Null => Some(KeySource::Literal(Value::Null)),
        _ => None,
    }
}

/// A literal of the statement as a value of `column`'s type, if it
/// converts exactly (NULL stays NULL).
pub(crate) fn literal_value(e: &Expr, column: &Column) -> Option<Value> {
    match key_source(e)? {
        KeySource::Literal(Value::Null) => Some(Value::Null),
        KeySource::Literal(v) => key_value(v, column),
        KeySource::Param(_) => None,
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

#[cfg(test)]
#[path = "point_test.rs"]
mod tests;

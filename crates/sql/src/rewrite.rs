//! Rewrites of the statement tree before DataFusion plans it.
//!
//! * [`expand_views`] replaces each reference to a view with the view's
//!   query as a derived table, so views need no planner support and always
//!   reflect the current definitions of the tables below them.
//! * [`output_names`] computes the column names PostgreSQL would give a
//!   query's result (`count`, `?column?`, ...), which differ from
//!   DataFusion's expression names.

use crate::sqlparser::ast::{
    Expr, Function, Ident, ObjectName, Query, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef,
    TableFactor, VisitMut, VisitorMut,
};
use crate::{normalize, object_name, parse};
use prismdb_catalog::View;
use prismdb_common::{Error, Result};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Replaces references to views (as resolved by `lookup`) with their queries.
pub fn expand_views(stmt: &mut Statement, lookup: &dyn Fn(&str) -> Option<Arc<View>>) -> Result<()> {
    struct Expander<'a> {
        lookup: &'a dyn Fn(&str) -> Option<Arc<View>>,
        depth: usize,
    }
    impl VisitorMut for Expander<'_> {
        type Break = Error;
        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<Error> {
            let TableFactor::Table { name, alias, args: None, .. } = tf else { return ControlFlow::Continue(()) };
            let Ok(view_name) = object_name(name) else { return ControlFlow::Continue(()) };
            let Some(view) = (self.lookup)(&view_name) else { return ControlFlow::Continue(()) };
            self.depth += 1;
            if self.depth > 64 {
                return ControlFlow::Break(Error::InvalidStatement("views nest too deeply".into()));
            }
            let query = match view_query(&view) {
                Ok(q) => q,
                Err(e) => return ControlFlow::Break(e),
            };
            let alias = match alias.take() {
                Some(mut a) => {
                    if a.columns.is_empty() {
                        a.columns = alias_columns(&view);
                    }
                    a
                }
                None => TableAlias {
                    explicit: true,
                    name: Ident::new(view_name),
                    columns: alias_columns(&view),
                    at: None,
                },
            };
            *tf = TableFactor::Derived { lateral: false, subquery: Box::new(query), alias: Some(alias), sample: None };
            ControlFlow::Continue(())
        }
    }
    match stmt.visit(&mut Expander { lookup, depth: 0 }) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn alias_columns(view: &View) -> Vec<TableAliasColumnDef> {
    view.columns.iter().map(|c| TableAliasColumnDef { name: Ident::with_quote('"', c), data_type: None }).collect()
}

/// Parses a view's stored query.
pub fn view_query(view: &View) -> Result<Query> {
    match parse(&view.query)?.pop() {
        Some(Statement::Query(q)) => Ok(*q),
        _ => Err(Error::Internal(format!("view \"{}\" has an invalid definition", view.name))),
    }
}

/// PostgreSQL's names for the result columns of a query, when they can be
/// told from the select list alone (no `*`); `None` otherwise.
pub fn output_names(query: &Query) -> Option<Vec<String>> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
            _ => None,
        })
        .collect()
}

/// The name PostgreSQL gives an unaliased select-list expression
/// (`FigureColname`).
fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => normalize(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize).unwrap_or_else(|| "?column?".into()),
        Expr::Function(Function { name, .. }) => last_name(name),
        Expr::Cast { expr, data_type, .. } => match expr.as_ref() {
            Expr::Value(_) => type_name(&data_type.to_string()),
            inner => {
                let n = expr_name(inner);
                if n == "?column?" { type_name(&data_type.to_string()) } else { n }
            }
        },
        Expr::Nested(inner) => expr_name(inner),
        Expr::Value(v) if matches!(v.value, crate::sqlparser::ast::Value::Boolean(_)) => "bool".into(),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Subquery(q) => output_names(q).and_then(|n| n.into_iter().next()).unwrap_or_else(|| "?column?".into()),
        Expr::Extract { .. } => "extract".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::TypedString(ts) => type_name(&ts.data_type.to_string()),
        _ => "?column?".into(),
    }
}

fn last_name(name: &ObjectName) -> String {
    name.0.last().and_then(|p| p.as_ident()).map(normalize).unwrap_or_else(|| "?column?".into())
}

/// The column name PostgreSQL uses for a cast to a type: its internal name.
fn type_name(t: &str) -> String {
    let t = t.to_lowercase();
    let base = t.split('(').next().unwrap_or(&t).trim();
    match base {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "double" | "float" => "float8",
        "boolean" | "bool" => "bool",
        "varchar" | "character varying" => "varchar",
        "char" | "character" => "bpchar",
        "decimal" | "numeric" => "numeric",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => return other.to_string(),
    }
    .to_string()
}

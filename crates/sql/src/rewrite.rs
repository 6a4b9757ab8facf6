//! Rewrites of the statement tree before DataFusion plans it.
//!
//! * [`expand_views`] replaces each reference to a view with the view's
//!   query as a derived table, so views need no planner support and always
//!   reflect the current definitions of the tables below them.
//! * [`output_names`] computes the column names PostgreSQL would give a
//!   query's result (`count`, `?column?`, ...), which differ from
//!   DataFusion's expression names.

use crate::sqlparser::ast::{
    Expr, Function, Ident, ObjectName, Query, SelectItem, SetExpr, Statement, TableAlias,
    TableAliasColumnDef, TableFactor, VisitMut, VisitorMut,
};
use crate::{normalize, object_name, parse};
use prismdb_catalog::View;
use prismdb_common::{Error, Result};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Replaces references to views (as resolved by `lookup`) with their queries.
pub fn expand_views(
    stmt: &mut Statement,
    lookup: &dyn Fn(&str) -> Option<Arc<View>>,
) -> Result<()> {
    struct Expander<'a> {
        lookup: &'a dyn Fn(&str) -> Option<Arc<View>>,
        depth: usize,
    }
    impl VisitorMut for Expander<'_> {
        type Break = Error;
        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<Error> {
            let TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } = tf
            else {
                return ControlFlow::Continue(());
            };
            let Ok(view_name) = object_name(name) else {
                return ControlFlow::Continue(());
            };
            let Some(view) = (self.lookup)(&view_name) else {
                return ControlFlow::Continue(());
            };
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
            *tf = TableFactor::Derived {
                lateral: false,
                subquery: Box::new(query),
                alias: Some(alias),
                sample: None,
            };
            ControlFlow::Continue(())
        }
    }
    match stmt.visit(&mut Expander { lookup, depth: 0 }) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn alias_columns(view: &View) -> Vec<TableAliasColumnDef> {
    view.columns
        .iter()
        .map(|c| TableAliasColumnDef {
            name: Ident::with_quote('"', c),
            data_type: None,
        })
        .collect()
}

/// Parses a view's stored query.
pub fn view_query(view: &View) -> Result<Query> {
    match parse(&view.query)?.pop() {
        Some(Statement::Query(q)) => Ok(*q),
        _ => Err(Error::Internal(format!(
            "view \"{}\" has an invalid definition",
            view.name
        ))),
    }
}

/// PostgreSQL's names for the result columns of a query, when they can be
/// told from the select list alone (no `*`); `None` otherwise.
pub fn output_names(query: &Query) -> Option<Vec<String>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
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
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(normalize)
            .unwrap_or_else(|| "?column?".into()),
        Expr::Function(Function { name, .. }) => last_name(name),
        // A cast keeps the name of a column or function it wraps and is
        // otherwise named after its type (PostgreSQL's FigureColname).
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            Expr::Value(_) | Expr::Cast { .. } => type_name(&data_type.to_string()),
            inner => {
                let n = expr_name(inner);
                if n == "?column?" {
                    type_name(&data_type.to_string())
                } else {
                    n
                }
            }
        },
        Expr::Nested(inner) => expr_name(inner),
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(crate::sqlparser::ast::AccessExpr::Dot(Expr::Identifier(i))) => normalize(i),
            _ => "?column?".into(),
        },
        Expr::Value(v) if matches!(v.value, crate::sqlparser::ast::Value::Boolean(_)) => {
            "bool".into()
        }
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Subquery(q) => output_names(q)
            .and_then(|n| n.into_iter().next())
            .unwrap_or_else(|| "?column?".into()),
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
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(normalize)
        .unwrap_or_else(|| "?column?".into())
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

/// Rewrites that make DataFusion plan PostgreSQL's meaning:
///
/// * `information_schema.columnar_replicas` reads `prism_cluster`'s view,
///   and `pg_stat_activity` its `activity`; other bare `pg_catalog`
///   relation names (`pg_class`) read `pg_catalog`, and
///   `pg_catalog.f(...)` calls `f`;
/// * unaliased select-list expressions get their PostgreSQL name as alias
///   (made unique within the list), so `SELECT 2+3, (2)+3` or two scalar
///   subqueries do not trip DataFusion's unique-name rule;
/// * `'...'::bytea` literals are read in PostgreSQL's bytea text format;
/// * casts to `varchar(n)` / `char(n)` truncate to `n` characters, as
///   explicit casts do in PostgreSQL.
pub fn normalize_for_planning(stmt: &mut Statement, database: &str) -> Result<()> {
    struct Normalizer<'a> {
        database: &'a str,
        /// Subqueries that are operands of `ANY`/`ALL` (sets, not scalar
        /// values), by address while the tree is visited.
        set_operands: Vec<*const crate::sqlparser::ast::Query>,
    }
    impl VisitorMut for Normalizer<'_> {
        type Break = Error;

        fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<Error> {
            // information_schema.columnar_replicas is PrismDB's own view,
            // served by the prism_cluster schema.
            let n = name.0.len();
            if n >= 2 {
                let part = |i: usize| name.0[i].as_ident().map(normalize).unwrap_or_default();
                if part(n - 2) == "information_schema" && part(n - 1) == "columnar_replicas" {
                    name.0[n - 2] = crate::sqlparser::ast::ObjectNamePart::Identifier(Ident::new(
                        "prism_cluster",
                    ));
                }
            }
            // pg_stat_activity (bare or in pg_catalog) is prism_cluster's
            // activity view; pg_catalog comes first on PostgreSQL's search
            // path too.
            let last = name.0[n - 1].as_ident().map(normalize).unwrap_or_default();
            let schema =
                (n >= 2).then(|| name.0[n - 2].as_ident().map(normalize).unwrap_or_default());
            // Other pg_catalog relations: bare names resolve there first,
            // as on PostgreSQL's search path.
            if n == 1
                && last != "pg_stat_activity"
                && last != "pg_stat_progress_create_index"
                && prismdb_pgcatalog::tables::relation(&last).is_some()
            {
                name.0.insert(
                    0,
                    crate::sqlparser::ast::ObjectNamePart::Identifier(Ident::new(
                        prismdb_pgcatalog::PG_CATALOG,
                    )),
                );
            }
            if last == "pg_stat_activity" && matches!(schema.as_deref(), None | Some("pg_catalog"))
            {
                let part =
                    |s: &str| crate::sqlparser::ast::ObjectNamePart::Identifier(Ident::new(s));
                name.0 = vec![part("prism_cluster"), part("activity")];
            }
            if last == "pg_stat_progress_create_index"
                && matches!(schema.as_deref(), None | Some("pg_catalog"))
            {
                let part =
                    |s: &str| crate::sqlparser::ast::ObjectNamePart::Identifier(Ident::new(s));
                name.0 = vec![part("prism_cluster"), part("progress_create_index")];
            }
            if let [db, _, _] = name.0.as_slice() {
                let db = db.as_ident().map(normalize).unwrap_or_default();
                if db != self.database {
                    return ControlFlow::Break(Error::NotSupported(format!(
                        "cross-database references are not implemented: {name}"
                    )));
                }
            }
            ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
            match sort_by_subqueries(query) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => ControlFlow::Break(e),
            }
        }

        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
            if let Err(e) = lateral_function(query) {
                return ControlFlow::Break(e);
            }
            // No rows to order (see `reads_no_rows` below).
            if let SetExpr::Select(select) = query.body.as_ref()
                && reads_no_rows(select)
            {
                query.order_by = None;
            }
            ControlFlow::Continue(())
        }

        fn pre_visit_select(
            &mut self,
            select: &mut crate::sqlparser::ast::Select,
        ) -> ControlFlow<Error> {
            let mut used: Vec<String> = select
                .projection
                .iter()
                .filter_map(|i| match i {
                    SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
                    SelectItem::UnnamedExpr(
                        e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
                    ) => Some(expr_name(e)),
                    _ => None,
                })
                .collect();
            for item in select.projection.iter_mut() {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                    && is_constant(e)
                {
                    int4_literals(e);
                }
                let SelectItem::UnnamedExpr(e) = item else {
                    continue;
                };
                if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    continue;
                }
                let base = expr_name(e);
                let mut name = base.clone();
                let mut n = 1;
                while used.contains(&name) {
                    n += 1;
                    name = format!("{base}_{n}");
                }
                used.push(name.clone());
                let expr = std::mem::replace(e, Expr::value(crate::sqlparser::ast::Value::Null));
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::with_quote('"', name),
                };
            }
            // Over a pg_catalog relation that never has rows, the select
            // list and WHERE are never evaluated: computed columns become
            // NULL and the condition FALSE, so that what DataFusion cannot
            // plan (psql's correlated `ARRAY(SELECT ...)` over pg_policy,
            // functions of objects PrismDB has none of) still gives
            // PostgreSQL's empty answer.
            if reads_no_rows(select) && !aggregates(select) {
                for item in select.projection.iter_mut() {
                    if let SelectItem::ExprWithAlias { expr: e, .. } = item
                        && !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                    {
                        *e = Expr::value(crate::sqlparser::ast::Value::Null);
                    }
                }
                if select.selection.is_some() {
                    select.selection =
                        Some(Expr::value(crate::sqlparser::ast::Value::Boolean(false)));
                }
            }
            // A set-returning function in the select list returns rows,
            // not one array, also inside an expression (`'a' || g(...)`).
            for item in select.projection.iter_mut() {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    let mut srf = SelectListSrf::default();
                    if let ControlFlow::Break(err) = e.visit(&mut srf) {
                        return ControlFlow::Break(err);
                    }
                }
            }
            ControlFlow::Continue(())
        }

        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<Error> {
            // `pg_catalog.unnest(...)` in FROM is `unnest(...)`.
            if let TableFactor::Table {
                name,
                args: Some(_),
                ..
            } = tf
                && name.0.len() == 2
                && name.0[0].as_ident().map(normalize).as_deref() == Some("pg_catalog")
            {
                name.0.remove(0);
            }
            // A scalar function in FROM (`string_to_array(...) s`) is one
            // row holding its value, in a column named after the alias.
            if let TableFactor::Table {
                name,
                args: Some(args),
                alias,
                ..
            } = tf
                && !matches!(
                    last_name(name).as_str(),
                    "generate_series" | "unnest" | "range" | "generate_subscripts"
                )
                && prismdb_pgcatalog::tables::relation(&last_name(name)).is_none()
            {
                let fname = last_name(name);
                let column = alias
                    .as_ref()
                    .map(|a| {
                        a.columns
                            .first()
                            .map_or_else(|| normalize(&a.name), |c| normalize(&c.name))
                    })
                    .unwrap_or_else(|| fname.clone());
                let table = alias
                    .as_ref()
                    .map_or_else(|| fname.clone(), |a| normalize(&a.name));
                let call = format!(
                    "{fname}({})",
                    args.args
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let arguments = args
                    .args
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let value_column = alias
                    .as_ref()
                    .and_then(|a| a.columns.first())
                    .map_or_else(|| "value".to_string(), |c| normalize(&c.name));
                let sql = match json_set_function(&fname) {
                    Some((inner, false)) => format!(
                        "SELECT * FROM (SELECT unnest({inner}({arguments})) AS \"{value_column}\") AS \"{table}\""
                    ),
                    Some((inner, true)) => format!(
                        "SELECT * FROM (SELECT get_field(__prism_member, 'key') AS key, \
                         get_field(__prism_member, 'value') AS value \
                         FROM (SELECT unnest({inner}({arguments})) AS __prism_member) AS __prism_members) AS \"{table}\""
                    ),
                    None => format!("SELECT * FROM (SELECT {call} AS \"{column}\") AS \"{table}\""),
                };
                match parse(&sql).map(|mut v| v.pop()) {
                    Ok(Some(Statement::Query(q))) => {
                        if let SetExpr::Select(sel) = *q.body
                            && let Some(from) = sel.from.into_iter().next()
                        {
                            *tf = from.relation;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return ControlFlow::Break(e),
                }
                return ControlFlow::Continue(());
            }
            // A function in FROM returning one column names that column
            // after its alias, or after itself without one.
            let named = match tf {
                TableFactor::Table {
                    name,
                    args: Some(_),
                    alias,
                    ..
                } => Some((last_name(name), alias)),
                TableFactor::UNNEST {
                    alias,
                    array_exprs,
                    with_offset: false,
                    with_ordinality: false,
                    ..
                } if array_exprs.len() == 1 => Some(("unnest".to_string(), alias)),
                _ => None,
            };
            if let Some((fname, alias)) = named
                && matches!(fname.as_str(), "generate_series" | "unnest" | "range")
            {
                match alias {
                    Some(a) if a.columns.is_empty() => a.columns.push(TableAliasColumnDef {
                        name: a.name.clone(),
                        data_type: None,
                    }),
                    Some(_) => {}
                    None => {
                        *alias = Some(TableAlias {
                            explicit: false,
                            name: Ident::new(&fname),
                            columns: vec![TableAliasColumnDef {
                                name: Ident::new(&fname),
                                data_type: None,
                            }],
                            at: None,
                        })
                    }
                }
            }
            ControlFlow::Continue(())
        }

        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
            if let Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } = expr
                && let Expr::Subquery(q) = right.as_ref()
            {
                self.set_operands.push(&**q as *const _);
            }
            if let Expr::Cast {
                data_type,
                expr: inner,
                ..
            } = expr
            {
                system_type(data_type);
                if let Expr::Cast { data_type, .. } = inner.as_mut() {
                    system_type(data_type);
                }
            }
            if let Err(e) = typed_text_cast(expr) {
                return ControlFlow::Break(e);
            }
            match object_id_cast(expr) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => ControlFlow::Break(e),
            }
        }

        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
            use crate::sqlparser::ast::{BinaryOperator, CharacterLength, DataType, Value};
            // Collations: every text compares bytewise (C), which is what
            // `COLLATE "C"` and the default collation of a C database mean.
            if let Expr::Collate {
                expr: inner,
                collation,
            } = expr
            {
                let last = collation.0.last().and_then(|p| p.as_ident()).map(normalize);
                if matches!(
                    last.as_deref(),
                    Some("default" | "C" | "c" | "POSIX" | "posix")
                ) {
                    let inner = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                    *expr = Expr::Nested(Box::new(inner));
                }
            }
            // `a OPERATOR(pg_catalog.~) b` is `a ~ b`.
            if let Expr::BinaryOp { op, .. } = expr
                && let BinaryOperator::PGCustomBinaryOperator(parts) = op
                && (parts.len() == 1 || parts[0].eq_ignore_ascii_case("pg_catalog"))
            {
                let builtin = match parts.last().map(String::as_str) {
                    Some("~") => Some(BinaryOperator::PGRegexMatch),
                    Some("!~") => Some(BinaryOperator::PGRegexNotMatch),
                    Some("~*") => Some(BinaryOperator::PGRegexIMatch),
                    Some("!~*") => Some(BinaryOperator::PGRegexNotIMatch),
                    Some("~~") => Some(BinaryOperator::PGLikeMatch),
                    Some("!~~") => Some(BinaryOperator::PGNotLikeMatch),
                    Some("~~*") => Some(BinaryOperator::PGILikeMatch),
                    Some("!~~*") => Some(BinaryOperator::PGNotILikeMatch),
                    Some("=") => Some(BinaryOperator::Eq),
                    Some("<>") => Some(BinaryOperator::NotEq),
                    Some("<") => Some(BinaryOperator::Lt),
                    Some(">") => Some(BinaryOperator::Gt),
                    Some("<=") => Some(BinaryOperator::LtEq),
                    Some(">=") => Some(BinaryOperator::GtEq),
                    Some("+") => Some(BinaryOperator::Plus),
                    Some("-") => Some(BinaryOperator::Minus),
                    Some("*") => Some(BinaryOperator::Multiply),
                    Some("/") => Some(BinaryOperator::Divide),
                    Some("||") => Some(BinaryOperator::StringConcat),
                    _ => None,
                };
                if let Some(builtin) = builtin {
                    *op = builtin;
                }
            }
            // A scalar subquery that does not aggregate collects its rows
            // and `prism_one` takes the one value (DataFusion plans
            // correlated scalar subqueries only when they aggregate);
            // conditions on outer columns alone guard that from outside.
            if let Expr::Subquery(query) = expr
                && !self.set_operands.contains(&(&**query as *const _))
                && single_value(query)
            {
                let outer = outer_conditions(query);
                let one = format!("prism_one(({query}))");
                let sql = match outer {
                    Some(outer) => format!("CASE WHEN {outer} THEN {one} END"),
                    None => one,
                };
                match parse_expr(&sql) {
                    Ok(e) => *expr = e,
                    Err(e) => return ControlFlow::Break(e),
                }
            }
            // `pg_catalog.f(...)` is `f(...)`: every built-in function is
            // in pg_catalog.
            if let Expr::Function(f) = expr
                && f.name.0.len() == 2
                && f.name.0[0].as_ident().map(normalize).as_deref() == Some("pg_catalog")
            {
                f.name.0.remove(0);
            }
            niladic_function(expr);
            if let Err(e) = percentile_disc(expr) {
                return ControlFlow::Break(e);
            }
            expand_array(expr);
            if let Err(e) = field_access(expr) {
                return ControlFlow::Break(e);
            }
            // `jsonb_agg(x)` / `json_agg(x)` collect each value's JSON text
            // with array_agg and join them into an array.
            if let Expr::Function(f) = expr
                && f.over.is_none()
                && matches!(last_name(&f.name).as_str(), "jsonb_agg" | "json_agg")
            {
                let jsonb = last_name(&f.name) == "jsonb_agg";
                let (target, element) = if jsonb {
                    ("prism_jsonb_agg_text", "to_jsonb")
                } else {
                    ("prism_json_agg_text", "to_json")
                };
                for arg in function_args(f) {
                    let value =
                        std::mem::replace(arg, Expr::value(crate::sqlparser::ast::Value::Null));
                    match fill(&format!("{element}(__prism_value)"), "__prism_value", value) {
                        Ok(call) => *arg = call,
                        Err(e) => return ControlFlow::Break(e),
                    }
                }
                f.name = ObjectName::from(vec![Ident::new("array_agg")]);
                let inner =
                    std::mem::replace(expr, Expr::value(crate::sqlparser::ast::Value::Null));
                match fill(&format!("{target}(__prism_agg)"), "__prism_agg", inner) {
                    Ok(call) => *expr = call,
                    Err(e) => return ControlFlow::Break(e),
                }
            }
            if let Err(e) = case_membership(expr) {
                return ControlFlow::Break(e);
            }
            if let Err(e) = like_escape(expr) {
                return ControlFlow::Break(e);
            }
            if let Err(e) = json_operator(expr) {
                return ControlFlow::Break(e);
            }
            if let Err(e) = array_subquery(expr) {
                return ControlFlow::Break(e);
            }
            if let Err(e) = array_fill(expr) {
                return ControlFlow::Break(e);
            }
            // `INTERVAL '1 mon 2 days'` is the cast of its text, read with
            // PostgreSQL's interval input (`exec::analyzer`).
            if let Expr::Interval(i) = expr
                && i.leading_field.is_none()
                && i.last_field.is_none()
                && matches!(
                    i.value.as_ref(),
                    Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))
                )
            {
                let value = std::mem::replace(i.value.as_mut(), Expr::value(Value::Null));
                *expr = Expr::Cast {
                    kind: crate::sqlparser::ast::CastKind::DoubleColon,
                    expr: Box::new(value),
                    data_type: DataType::Interval {
                        fields: None,
                        precision: None,
                    },
                    array: false,
                    format: None,
                };
            }
            if let Err(e) = array_length(expr) {
                return ControlFlow::Break(e);
            }
            // `pg_typeof(1)` is integer, as the literal's type is.
            if let Expr::Function(f) = expr
                && last_name(&f.name) == "pg_typeof"
            {
                for a in function_args(f) {
                    if is_constant(a) {
                        int4_literals(a);
                    }
                }
            }
            // `x = ANY (subquery)` is `x IN (subquery)` and `x <> ALL
            // (subquery)` is `x NOT IN (subquery)`, with the same NULL rules.
            let membership = match expr {
                Expr::AnyOp {
                    left,
                    compare_op: BinaryOperator::Eq,
                    right,
                    ..
                } => Some((left, right, false)),
                Expr::AllOp {
                    left,
                    compare_op: BinaryOperator::NotEq,
                    right,
                } => Some((left, right, true)),
                _ => None,
            };
            if let Some((left, right, negated)) = membership
                && let Expr::Subquery(q) = right.as_ref()
            {
                let (left, subquery) = (left.clone(), q.clone());
                *expr = Expr::InSubquery {
                    expr: left,
                    subquery,
                    negated,
                };
                return ControlFlow::Continue(());
            }
            // Other `x op ALL (subquery)`: true when no row of the subquery
            // makes the comparison false or unknown. (In a select list this
            // answers false where PostgreSQL answers NULL.)
            if let Expr::AllOp {
                left,
                compare_op,
                right,
            } = expr
                && let Expr::Subquery(q) = right.as_ref()
            {
                let sql = format!(
                    "NOT EXISTS (SELECT 1 FROM ({q}) AS __prism_all(c) WHERE NOT (({left}) {compare_op} __prism_all.c) \
                         OR __prism_all.c IS NULL OR ({left}) IS NULL)"
                );
                match parse_expr(&sql) {
                    Ok(e) => *expr = e,
                    Err(e) => return ControlFlow::Break(e),
                }
                return ControlFlow::Continue(());
            }
            if let Expr::Function(f) = expr {
                pg_to_char_format(f);
                return ControlFlow::Continue(());
            }
            let Expr::Cast {
                expr: inner,
                data_type,
                ..
            } = expr
            else {
                return ControlFlow::Continue(());
            };
            match data_type {
                DataType::Bytea => {
                    if let Expr::Value(v) = inner.as_mut()
                        && let Value::SingleQuotedString(s) = &v.value
                    {
                        let Some(bytes) = prismdb_common::value::parse_bytea(s) else {
                            return ControlFlow::Break(bytea_error(s));
                        };
                        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                        v.value = Value::HexStringLiteral(hex);
                    }
                }
                DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
                | DataType::CharacterVarying(Some(CharacterLength::IntegerLength {
                    length, ..
                }))
                | DataType::Char(Some(CharacterLength::IntegerLength { length, .. }))
                | DataType::Character(Some(CharacterLength::IntegerLength { length, .. })) => {
                    let sql = format!("left(CAST(({inner}) AS VARCHAR), {length})");
                    match parse_expr(&sql) {
                        Ok(e) => *expr = e,
                        Err(e) => return ControlFlow::Break(e),
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    if let ControlFlow::Break(e) = stmt.visit(&mut Normalizer {
        database,
        set_operands: Vec::new(),
    }) {
        return Err(e);
    }
    object_names_in_results(stmt);
    Ok(())
}

/// A `reg*` cast the statement's result shows (`SELECT relid::regclass`,
/// `SELECT 'int4'::regtype`) prints the object's name, as PostgreSQL's
/// output function does; everywhere else (comparisons, joins, subqueries)
/// the cast stays the OID.
fn object_names_in_results(stmt: &mut Statement) {
    use crate::sqlparser::ast::GroupByExpr;
    let Statement::Query(q) = stmt else {
        return;
    };
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    // Grouped by expressions: the select list must stay what they group.
    if matches!(&select.group_by, GroupByExpr::Expressions(e, _) if !e.is_empty())
        || matches!(select.group_by, GroupByExpr::All(_))
    {
        return;
    }
    for item in select.projection.iter_mut() {
        if let SelectItem::UnnamedExpr(Expr::Function(f))
        | SelectItem::ExprWithAlias {
            expr: Expr::Function(f),
            ..
        } = item
            && matches!(
                last_name(&f.name).as_str(),
                "prism_regclass"
                    | "prism_regtype"
                    | "prism_regnamespace"
                    | "prism_regrole"
                    | "prism_regproc"
            )
        {
            let name = format!("{}_name", last_name(&f.name));
            f.name = ObjectName::from(vec![Ident::new(name)]);
        }
    }
}

/// SQL's functions called without parentheses (`current_user`,
/// `session_user`, `current_role`, `user`, `current_catalog`) become calls
/// of the session's functions, and `statement_timestamp()` /
/// `transaction_timestamp()` are `now()` (the statement's start).
fn niladic_function(expr: &mut Expr) {
    use crate::sqlparser::ast::{FunctionArgumentList, FunctionArguments};
    let name = match expr {
        Expr::Function(f) if f.name.0.len() == 1 => last_name(&f.name),
        Expr::Identifier(i) if i.quote_style.is_none() => i.value.to_lowercase(),
        _ => return,
    };
    let no_parens = match expr {
        Expr::Function(f) => matches!(f.args, FunctionArguments::None),
        _ => true,
    };
    let target = match name.as_str() {
        "current_user" | "session_user" | "current_role" | "user" if no_parens => name.clone(),
        "current_catalog" if no_parens => "current_database".into(),
        "statement_timestamp" | "transaction_timestamp" if !no_parens => "now".into(),
        _ => return,
    };
    if let Expr::Function(f) = expr {
        f.name = ObjectName::from(vec![Ident::new(target)]);
        f.args = FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![],
            clauses: vec![],
        });
    } else if let Ok(call) = parse_expr(&format!("{target}()")) {
        *expr = call;
    }
}

/// `array_fill(v, ARRAY[n])`, a one-dimensional array of `n` copies of
/// `v`, is `array_repeat(v, n)` (PrismDB's arrays have one dimension;
/// lower bounds other than 1 are refused).
fn array_fill(expr: &mut Expr) -> Result<()> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    if last_name(&f.name) != "array_fill" || f.name.0.len() > 2 {
        return Ok(());
    }
    let call = match function_args(f).as_slice() {
        [value, dims] => format!("array_repeat({value}, CAST(({dims})[1] AS BIGINT))"),
        _ => {
            return Err(Error::NotSupported(
                "array_fill with lower bounds is not supported".into(),
            ));
        }
    };
    *expr = parse_expr(&call)?;
    Ok(())
}

/// `ARRAY(SELECT e FROM ... [ORDER BY o])` collects its rows as
/// `(SELECT coalesce(array_agg(e [ORDER BY o]), make_array()) FROM ...)`
/// (no rows: an empty array).
fn array_subquery(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::FunctionArguments;
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    let FunctionArguments::Subquery(query) = &f.args else {
        return Ok(());
    };
    if last_name(&f.name) != "array" {
        return Ok(());
    }
    let mut query = (**query).clone();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(Error::NotSupported(
            "ARRAY(subquery) of a set operation is not supported".into(),
        ));
    };
    // Over the elements of a catalog array PrismDB always leaves NULL
    // (psql: `array(select 'toast.' || x from unnest(tc.reloptions) x)`),
    // the array is empty.
    if let [twj] = select.from.as_slice()
        && twj.joins.is_empty()
        && let TableFactor::Table {
            name,
            args: Some(args),
            ..
        } = &twj.relation
        && last_name(name) == "unnest"
        && let [
            crate::sqlparser::ast::FunctionArg::Unnamed(
                crate::sqlparser::ast::FunctionArgExpr::Expr(Expr::CompoundIdentifier(parts)),
            ),
        ] = args.args.as_slice()
        && parts
            .last()
            .is_some_and(|c| prismdb_pgcatalog::tables::is_null_array_column(&normalize(c)))
    {
        *expr = parse_expr("CAST(make_array() AS TEXT[])")?;
        return Ok(());
    }
    let [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] =
        select.projection.as_mut_slice()
    else {
        return Err(Error::Syntax("subquery must return only one column".into()));
    };
    // A set-returning item (rewritten to `unnest` already) cannot sit in
    // an aggregate: its rows are made in a derived table first.
    let mut returns_set = false;
    let _ = crate::sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::Function(f) = x
            && last_name(&f.name) == "unnest"
        {
            returns_set = true;
        }
        ControlFlow::<()>::Continue(())
    });
    if returns_set {
        let item = std::mem::replace(e, Expr::value(crate::sqlparser::ast::Value::Null));
        select.projection = vec![SelectItem::ExprWithAlias {
            expr: item,
            alias: Ident::new("__prism_v"),
        }];
        let Ok(Some(Statement::Query(mut outer))) = parse(
            "SELECT coalesce(array_agg(__prism_v), make_array()) FROM (SELECT 1) AS __prism_a",
        )
        .map(|mut v| v.pop()) else {
            return Err(Error::Internal("ARRAY(subquery) template".into()));
        };
        if let SetExpr::Select(o) = outer.body.as_mut()
            && let Some(TableFactor::Derived { subquery, .. }) =
                o.from.first_mut().map(|t| &mut t.relation)
        {
            **subquery = query;
        }
        *expr = Expr::Subquery(outer);
        return Ok(());
    }
    let order = query
        .order_by
        .take()
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    *e = parse_expr(&format!("coalesce(array_agg({e}{order}), make_array())"))?;
    *expr = Expr::Subquery(Box::new(query));
    Ok(())
}

/// `array_length` is PostgreSQL's `integer`, not an unsigned count.
fn array_length(expr: &mut Expr) -> Result<()> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    if last_name(&f.name) != "array_length" || f.name.0.len() > 2 {
        return Ok(());
    }
    let call = std::mem::replace(expr, Expr::value(crate::sqlparser::ast::Value::Null));
    *expr = fill("CAST(__prism_len AS INT)", "__prism_len", call)?;
    Ok(())
}

/// Whether a SELECT's FROM holds a pg_catalog relation that never has
/// rows where that empties the whole result (leftmost, or inner-joined).
fn reads_no_rows(select: &crate::sqlparser::ast::Select) -> bool {
    use crate::sqlparser::ast::JoinOperator;
    let stub = |f: &TableFactor| match f {
        TableFactor::Table {
            name, args: None, ..
        } => {
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident())
                .map(normalize)
                .collect();
            match parts.as_slice() {
                [n] | [_, n] if parts.len() == 1 || parts[0] == prismdb_pgcatalog::PG_CATALOG => {
                    prismdb_pgcatalog::stubs::is_stub(n)
                }
                _ => false,
            }
        }
        _ => false,
    };
    select.from.iter().any(|twj| {
        let outer = |j: &crate::sqlparser::ast::Join| {
            matches!(
                j.join_operator,
                JoinOperator::Right(_)
                    | JoinOperator::RightOuter(_)
                    | JoinOperator::FullOuter(_)
                    | JoinOperator::RightSemi(_)
                    | JoinOperator::RightAnti(_)
            )
        };
        (stub(&twj.relation) && !twj.joins.iter().any(outer))
            || twj.joins.iter().any(|j| {
                stub(&j.relation)
                    && matches!(
                        j.join_operator,
                        JoinOperator::Inner(_) | JoinOperator::Join(_) | JoinOperator::CrossJoin(_)
                    )
            })
    })
}

/// Whether a SELECT aggregates (one row even without input rows).
fn aggregates(select: &crate::sqlparser::ast::Select) -> bool {
    use crate::sqlparser::ast::{GroupByExpr, Visit, Visitor};
    /// Aggregates of this SELECT, not of its subqueries.
    struct Finds(bool, usize);
    impl Visitor for Finds {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.1 += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.1 -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.1 == 0
                && let Expr::Function(f) = e
                && AGGREGATES.contains(&last_name(&f.name).as_str())
            {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    let mut f = Finds(false, 0);
    for item in &select.projection {
        let _ = Visit::visit(item, &mut f);
    }
    grouped || select.having.is_some() || f.0
}

/// Casts to `json`, `jsonb` and `uuid` (text underneath) check and
/// normalize the text: `x::jsonb` is `prism_jsonb(CAST(x AS TEXT))`.
fn typed_text_cast(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::DataType;
    let Expr::Cast {
        expr: inner,
        data_type,
        ..
    } = expr
    else {
        return Ok(());
    };
    let function = match data_type {
        DataType::JSON => "prism_json",
        DataType::JSONB => "prism_jsonb",
        DataType::Uuid => "prism_uuid",
        DataType::Custom(name, m) if m.is_empty() => match last_name(name).as_str() {
            "json" => "prism_json",
            "jsonb" => "prism_jsonb",
            "uuid" => "prism_uuid",
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    *expr = parse_expr(&format!("{function}(CAST({inner} AS TEXT))"))?;
    Ok(())
}

/// `LIKE p ESCAPE 'c'` with an escape character other than backslash
/// (which DataFusion takes only) is `LIKE prism_like_escape(p, 'c')`: the
/// pattern rewritten to use backslash.
fn like_escape(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::Value;
    let (Expr::Like {
        pattern,
        escape_char,
        ..
    }
    | Expr::ILike {
        pattern,
        escape_char,
        ..
    }) = expr
    else {
        return Ok(());
    };
    let Some(escape) = escape_char.as_ref() else {
        return Ok(());
    };
    let c = match &escape.value {
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => s.clone(),
        _ => return Ok(()),
    };
    if c == "\\" {
        return Ok(());
    }
    let literal = c.replace('\'', "''");
    let rewritten = parse_expr(&format!("prism_like_escape({pattern}, '{literal}')"))?;
    **pattern = rewritten;
    *escape_char = None;
    Ok(())
}

/// Rewrites the set-returning functions of one select-list item with
/// [`select_list_srf`], except inside an `unnest` (one made by an earlier
/// pass, so the rewrite can run twice over a statement).
#[derive(Default)]
struct SelectListSrf {
    /// For each expression entered: whether it is an `unnest` call.
    entered: Vec<bool>,
    /// How many `unnest` calls enclose the current expression.
    inside_unnest: usize,
}

impl VisitorMut for SelectListSrf {
    type Break = Error;

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<Error> {
        let unnest = matches!(e, Expr::Function(f) if last_name(&f.name) == "unnest");
        self.entered.push(unnest);
        if unnest {
            self.inside_unnest += 1;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<Error> {
        if self.entered.pop().unwrap_or(false) {
            self.inside_unnest -= 1;
            return ControlFlow::Continue(());
        }
        if self.inside_unnest == 0
            && let Err(err) = select_list_srf(e)
        {
            return ControlFlow::Break(err);
        }
        ControlFlow::Continue(())
    }
}

/// A set-returning function of the select list as the `unnest` of the
/// array it makes, so each element is a row (PostgreSQL's semantics):
/// `generate_series`, `generate_subscripts` and the JSON array functions.
/// Called on the way up, so the `unnest` made is not visited again.
fn select_list_srf(e: &mut Expr) -> Result<()> {
    let Expr::Function(f) = e else {
        return Ok(());
    };
    let name = last_name(&f.name);
    if f.name.0.len() > 2
        || !(matches!(name.as_str(), "generate_series" | "generate_subscripts")
            || json_set_function(&name).is_some_and(|(_, each)| !each))
    {
        return Ok(());
    }
    let sql = if let Some((inner, _)) = json_set_function(&name) {
        f.name = ObjectName::from(vec![Ident::new(inner)]);
        format!("unnest({f})")
    } else if name == "generate_subscripts" {
        // The subscripts of a one-dimensional array: 1..n.
        match function_args(f).as_slice() {
            [array, dim] => {
                format!("unnest(generate_series(1, CAST(array_length({array}, {dim}) AS BIGINT)))")
            }
            _ => return Ok(()),
        }
    } else {
        f.name = ObjectName::from(vec![Ident::new("generate_series")]);
        format!("unnest({f})")
    };
    *e = parse_expr(&sql)?;
    Ok(())
}

/// The JSON operators as functions: `->`, `->>`, `#>`, `#>>`, `@>`,
/// `<@`, `?`, `?|`, `?&`.
fn json_operator(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::BinaryOperator as Op;
    let Expr::BinaryOp { left, op, right } = expr else {
        return Ok(());
    };
    let (function, swap) = match op {
        Op::Arrow => ("prism_json_get", false),
        Op::LongArrow => ("prism_json_get_text", false),
        Op::HashArrow => ("prism_json_path", false),
        Op::HashLongArrow => ("prism_json_path_text", false),
        Op::AtArrow => ("prism_jsonb_contains", false),
        Op::ArrowAt => ("prism_jsonb_contains", true),
        Op::Question => ("prism_jsonb_exists", false),
        Op::QuestionPipe => ("prism_jsonb_exists_any", false),
        Op::QuestionAnd => ("prism_jsonb_exists_all", false),
        _ => return Ok(()),
    };
    let (a, b) = if swap { (right, left) } else { (left, right) };
    *expr = parse_expr(&format!("{function}({a}, {b})"))?;
    Ok(())
}

/// `CASE WHEN x IN (SELECT e ...) THEN` — a membership test DataFusion
/// plans only in WHERE — tests `x` against the subquery's values collected
/// into an array: `CASE WHEN array_has((SELECT array_agg(e) ...), x)`. As
/// a CASE condition, unknown and false lead to the same branch.
fn case_membership(expr: &mut Expr) -> Result<()> {
    let Expr::Case { conditions, .. } = expr else {
        return Ok(());
    };
    for when in conditions.iter_mut() {
        let Expr::InSubquery {
            expr: x,
            subquery,
            negated,
        } = &when.condition
        else {
            continue;
        };
        let mut values = (**subquery).clone();
        let SetExpr::Select(select) = values.body.as_mut() else {
            continue;
        };
        let [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] =
            select.projection.as_mut_slice()
        else {
            continue;
        };
        // Trees, not text: the parts were rewritten already, and some
        // rewritten forms (`user()`) do not parse again.
        let item = std::mem::replace(e, Expr::value(crate::sqlparser::ast::Value::Null));
        *e = fill("array_agg(__prism_item)", "__prism_item", item)?;
        values.order_by = None;
        let x = (**x).clone();
        let mut test = parse_expr(if *negated {
            "NOT coalesce(array_has(__prism_values, __prism_x), false)"
        } else {
            "coalesce(array_has(__prism_values, __prism_x), false)"
        })?;
        replace_identifier(
            &mut test,
            "__prism_values",
            Expr::Subquery(Box::new(values)),
        );
        replace_identifier(&mut test, "__prism_x", x);
        when.condition = test;
    }
    Ok(())
}

/// Puts `with` in place of the identifier `name` in `expr`.
/// `template` parsed, with the identifier `name` in it replaced by the tree
/// `with` (trees, not text: their parts were rewritten already, and some
/// rewritten forms do not parse again).
fn fill(template: &str, name: &str, with: Expr) -> Result<Expr> {
    let mut e = parse_expr(template)?;
    replace_identifier(&mut e, name, with);
    Ok(e)
}

fn replace_identifier(expr: &mut Expr, name: &str, with: Expr) {
    struct Put<'a>(&'a str, Option<Expr>);
    impl VisitorMut for Put<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if matches!(e, Expr::Identifier(i) if i.value == self.0)
                && let Some(w) = self.1.take()
            {
                *e = w;
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(expr, &mut Put(name, Some(with)));
}

/// `percentile_disc(f) WITHIN GROUP (ORDER BY x)`: the first value, in
/// that order, whose position reaches `f` of the non-NULL values —
/// `prism_percentile_disc(array_agg(x ORDER BY x) FILTER (WHERE x IS NOT
/// NULL), f)`.
fn percentile_disc(expr: &mut Expr) -> Result<()> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    if last_name(&f.name) != "percentile_disc" || f.within_group.len() != 1 || f.over.is_some() {
        return Ok(());
    }
    let order = f.within_group[0].clone();
    let fraction = match function_args(f).as_slice() {
        [fraction] => (*fraction).clone(),
        _ => return Ok(()),
    };
    let sort = order.expr.clone();
    let mut call = parse_expr(&format!(
        "prism_percentile_disc(array_agg(__prism_sort ORDER BY {order}) FILTER (WHERE __prism_sort IS NOT NULL), __prism_fraction)"
    ))?;
    replace_identifier(&mut call, "__prism_fraction", fraction);
    // Twice: in the aggregate and in its filter.
    replace_identifier(&mut call, "__prism_sort", sort.clone());
    replace_identifier(&mut call, "__prism_sort", sort);
    *expr = call;
    Ok(())
}

/// The set-returning JSON functions: the function giving their rows as a
/// list, and whether the rows are `{key, value}` records.
fn json_set_function(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "jsonb_array_elements" => ("prism_jsonb_elements", false),
        "json_array_elements" => ("prism_json_elements", false),
        "jsonb_array_elements_text" | "json_array_elements_text" => {
            ("prism_json_elements_text", false)
        }
        "jsonb_each" => ("prism_jsonb_each", true),
        "json_each" => ("prism_json_each", true),
        "jsonb_each_text" | "json_each_text" => ("prism_json_each_text", true),
        _ => return None,
    })
}

/// A set-returning function in FROM whose arguments read the table before
/// it (`FROM t a, jsonb_array_elements(a.doc) e`, also written `CROSS
/// JOIN LATERAL` or `JOIN LATERAL ... ON true`): PostgreSQL's LATERAL,
/// which DataFusion cannot plan. The pair becomes one derived table under
/// the table's name whose rows are the table's rows, each repeated once
/// per element (the function moved to its select list, where it returns
/// rows), and `e.value` reads that derived table's element column.
/// Applies to the array functions (`jsonb_array_elements[_text]`,
/// `json_array_elements[_text]`, `unnest`, `generate_series`) when the
/// query names the function's columns only qualified and selects no `*`.
fn lateral_function(query: &mut Query) -> Result<()> {
    use crate::sqlparser::ast::{FunctionArg, FunctionArgExpr, JoinConstraint, JoinOperator};
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    // The table, then the function: two FROM items, or one join.
    let (table, function) = match select.from.as_slice() {
        [a, b] if a.joins.is_empty() && b.joins.is_empty() => (&a.relation, &b.relation),
        [a] if a.joins.len() == 1
            && match &a.joins[0].join_operator {
                JoinOperator::CrossJoin(_) => true,
                JoinOperator::Inner(JoinConstraint::On(Expr::Value(v)))
                | JoinOperator::Join(JoinConstraint::On(Expr::Value(v)))
                | JoinOperator::Left(JoinConstraint::On(Expr::Value(v)))
                    if matches!(v.value, crate::sqlparser::ast::Value::Boolean(true)) =>
                {
                    // A LEFT JOIN keeps rows without elements: not this.
                    !matches!(a.joins[0].join_operator, JoinOperator::Left(_))
                }
                _ => false,
            } =>
        {
            (&a.relation, &a.joins[0].relation)
        }
        _ => return Ok(()),
    };
    let TableFactor::Table {
        name: table_name,
        alias: table_alias,
        args: None,
        ..
    } = table
    else {
        return Ok(());
    };
    let (fname, args, falias) = match function {
        TableFactor::Table {
            name,
            args: Some(args),
            alias,
            ..
        } => (last_name(name), args.args.clone(), alias.clone()),
        TableFactor::Function {
            name, args, alias, ..
        } => (last_name(name), args.clone(), alias.clone()),
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality: false,
            ..
        } => (
            "unnest".to_string(),
            array_exprs
                .iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e.clone())))
                .collect(),
            alias.clone(),
        ),
        _ => return Ok(()),
    };
    if !matches!(
        fname.as_str(),
        "jsonb_array_elements"
            | "json_array_elements"
            | "jsonb_array_elements_text"
            | "json_array_elements_text"
            | "unnest"
            | "generate_series"
    ) {
        return Ok(());
    }
    let qualifier = table_alias
        .as_ref()
        .map(|a| normalize(&a.name))
        .or_else(|| {
            table_name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(normalize)
        })
        .unwrap_or_default();
    // Only when the function reads the table (otherwise it plans as is).
    let reads_table = args.iter().any(|a| {
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = a else {
            return false;
        };
        let mut found = false;
        let _ = crate::sqlparser::ast::visit_expressions(e, |x| {
            // A column of the table, qualified or not (nothing else is in
            // scope but outer queries').
            match x {
                Expr::CompoundIdentifier(parts)
                    if parts.len() == 2 && normalize(&parts[0]) == qualifier =>
                {
                    found = true
                }
                Expr::Identifier(_) => found = true,
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        found
    });
    if !reads_table {
        return Ok(());
    }
    if select.projection.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    }) {
        return Ok(());
    }
    // The function's name for its rows and its column.
    let fqual = falias
        .as_ref()
        .map(|a| normalize(&a.name))
        .unwrap_or_else(|| fname.clone());
    let fcolumn = falias
        .as_ref()
        .and_then(|a| a.columns.first())
        .map(|c| normalize(&c.name))
        .unwrap_or_else(|| {
            if fname.contains("array_elements") {
                "value".to_string()
            } else {
                fqual.clone()
            }
        });
    let hidden = format!("__prism_{fqual}_{fcolumn}");
    let call = format!(
        "{fname}({})",
        args.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let alias_sql = match table_alias {
        Some(a) => format!(" AS {}", a.name),
        None => String::new(),
    };
    let sql = format!(
        "SELECT * FROM (SELECT {qualifier_ident}.*, {call} AS \"{hidden}\" FROM {table_name}{alias_sql}) AS {qualifier_ident}",
        qualifier_ident = Ident::with_quote('"', qualifier.clone()),
    );
    let Ok(Some(Statement::Query(q))) = parse(&sql).map(|mut v| v.pop()) else {
        return Err(Error::Internal("LATERAL rewrite".into()));
    };
    let SetExpr::Select(template) = *q.body else {
        return Err(Error::Internal("LATERAL rewrite".into()));
    };
    select.from = template.from;
    // `e.value` (and a bare `e` for the element) read the element column.
    let replace = |e: &mut Expr| {
        let _ = crate::sqlparser::ast::visit_expressions_mut(e, |x| {
            let element = match x {
                Expr::CompoundIdentifier(parts)
                    if parts.len() == 2
                        && normalize(&parts[0]) == fqual
                        && normalize(&parts[1]) == fcolumn =>
                {
                    true
                }
                Expr::Identifier(i) if normalize(i) == fqual && fqual != qualifier => true,
                _ => false,
            };
            if element {
                *x = Expr::CompoundIdentifier(vec![
                    Ident::with_quote('"', qualifier.clone()),
                    Ident::with_quote('"', hidden.clone()),
                ]);
            }
            ControlFlow::<()>::Continue(())
        });
    };
    for item in select.projection.iter_mut() {
        match item {
            SelectItem::UnnamedExpr(e) => {
                // Keep the column's name (`value`, not the hidden one).
                let named = matches!(e, Expr::CompoundIdentifier(p)
                    if p.len() == 2 && normalize(&p[0]) == fqual)
                    || matches!(e, Expr::Identifier(i) if normalize(i) == fqual);
                let name = match e {
                    Expr::CompoundIdentifier(p) => normalize(&p[1]),
                    Expr::Identifier(i) => normalize(i),
                    _ => String::new(),
                };
                replace(e);
                if named {
                    let expr =
                        std::mem::replace(e, Expr::value(crate::sqlparser::ast::Value::Null));
                    *item = SelectItem::ExprWithAlias {
                        expr,
                        alias: Ident::with_quote('"', name),
                    };
                }
            }
            SelectItem::ExprWithAlias { expr, .. } => replace(expr),
            _ => {}
        }
    }
    if let Some(w) = select.selection.as_mut() {
        replace(w);
    }
    if let Some(h) = select.having.as_mut() {
        replace(h);
    }
    if let crate::sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
        exprs.iter_mut().for_each(replace);
    }
    if let Some(order) = query.order_by.as_mut()
        && let crate::sqlparser::ast::OrderByKind::Expressions(exprs) = &mut order.kind
    {
        for o in exprs.iter_mut() {
            replace(&mut o.expr);
        }
    }
    Ok(())
}

/// `information_schema._pg_expandarray(a)` (pgjdbc's key-column queries):
/// one row per element, a record of the element `x` and its 1-based
/// position `n` — `unnest(prism_expandarray(a))`.
fn expand_array(expr: &mut Expr) {
    let Expr::Function(f) = expr else {
        return;
    };
    if last_name(&f.name) != "_pg_expandarray" {
        return;
    }
    f.name = ObjectName::from(vec![Ident::new("prism_expandarray")]);
    let inner = std::mem::replace(expr, Expr::value(crate::sqlparser::ast::Value::Null));
    if let Ok(call) = fill("unnest(__prism_array)", "__prism_array", inner) {
        *expr = call;
    }
}

/// A record's field, `(r).x`: `get_field(r, 'x')`.
fn field_access(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::AccessExpr;
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return Ok(());
    };
    if !matches!(root.as_ref(), Expr::Nested(_))
        || !access_chain
            .iter()
            .all(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_))))
    {
        return Ok(());
    }
    let mut out = std::mem::replace(
        root.as_mut(),
        Expr::value(crate::sqlparser::ast::Value::Null),
    );
    for access in access_chain.iter() {
        let AccessExpr::Dot(Expr::Identifier(field)) = access else {
            continue;
        };
        out = fill(
            &format!(
                "get_field(__prism_record, '{}')",
                normalize(field).replace('\'', "''")
            ),
            "__prism_record",
            out,
        )?;
    }
    *expr = out;
    Ok(())
}

/// Whether an expression holds a subquery.
fn has_subquery(e: &Expr) -> bool {
    use crate::sqlparser::ast::{Visit, Visitor};
    struct Finds(bool);
    impl Visitor for Finds {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.0 = true;
            ControlFlow::Break(())
        }
    }
    let mut f = Finds(false);
    let _ = Visit::visit(e, &mut f);
    f.0
}

/// ORDER BY expressions holding subqueries (Grafana's `ORDER BY CASE WHEN
/// schema IN (SELECT ...) THEN 0 ELSE 1 END`), which DataFusion plans only
/// in a select list: each becomes a hidden output column of the query,
/// which is wrapped to sort by it and return only its own columns.
fn sort_by_subqueries(query: &mut Query) -> Result<()> {
    use crate::sqlparser::ast::OrderByKind;
    let Some(order) = query.order_by.as_mut() else {
        return Ok(());
    };
    let OrderByKind::Expressions(items) = &mut order.kind else {
        return Ok(());
    };
    if !items.iter().any(|i| has_subquery(&i.expr)) {
        return Ok(());
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    let names: Option<Vec<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
            SelectItem::UnnamedExpr(e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) => {
                Some(expr_name(e))
            }
            _ => None,
        })
        .collect();
    let Some(names) = names else {
        return Ok(());
    };
    for (k, item) in items.iter_mut().enumerate() {
        if has_subquery(&item.expr) {
            let hidden = format!("__prism_order_{k}");
            let expr = std::mem::replace(&mut item.expr, Expr::Identifier(Ident::new(&hidden)));
            select.projection.push(SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', hidden),
            });
        }
    }
    let inner = Query {
        order_by: None,
        limit_clause: None,
        fetch: None,
        ..query.clone()
    };
    let columns: Vec<String> = names
        .iter()
        .map(|n| format!("__prism_sorted.\"{}\"", n.replace('"', "\"\"")))
        .collect();
    let outer = format!(
        "SELECT {} FROM (SELECT 1) AS __prism_sorted",
        columns.join(", ")
    );
    let Some(Statement::Query(mut wrapped)) = parse(&outer)?.pop() else {
        return Ok(());
    };
    // The inner query goes in as a tree: it was rewritten already.
    if let SetExpr::Select(outer_select) = wrapped.body.as_mut()
        && let Some(from) = outer_select.from.first_mut()
        && let TableFactor::Derived { subquery, .. } = &mut from.relation
    {
        **subquery = inner;
    }
    wrapped.order_by = query.order_by.take();
    wrapped.limit_clause = query.limit_clause.take();
    wrapped.fetch = query.fetch.take();
    *query = *wrapped;
    Ok(())
}

/// The plain argument expressions of a function call.
fn function_args(f: &mut Function) -> Vec<&mut Expr> {
    use crate::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    match &mut f.args {
        FunctionArguments::List(l) => l
            .args
            .iter_mut()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

/// Whether an expression is built of literals and operators only (so
/// retyping its literals cannot change how it matches GROUP BY or ORDER BY).
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Value(_) => true,
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) | Expr::Cast { expr, .. } => {
            is_constant(expr)
        }
        Expr::BinaryOp { left, right, .. } => is_constant(left) && is_constant(right),
        Expr::Array(a) => a.elem.iter().all(is_constant),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_none_or(is_constant)
                && conditions
                    .iter()
                    .all(|c| is_constant(&c.condition) && is_constant(&c.result))
                && else_result.as_deref().is_none_or(is_constant)
        }
        _ => false,
    }
}

/// Types integer literals of a select list as PostgreSQL does: `int4`
/// when they fit, `int8` otherwise (DataFusion reads all as `int8`). Only
/// literals that are the item itself, operands of its arithmetic and CASE
/// branches, or elements of an ARRAY[...] are touched; function arguments
/// and window frames keep their literal form.
fn int4_literals(e: &mut Expr) {
    use crate::sqlparser::ast::{CastKind, DataType, Value};
    match e {
        Expr::Value(v) => {
            if matches!(&v.value, Value::Number(n, false) if n.parse::<i32>().is_ok()) {
                let lit = std::mem::replace(e, Expr::value(Value::Null));
                *e = Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(lit),
                    data_type: DataType::Int(None),
                    array: false,
                    format: None,
                };
            }
        }
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => int4_literals(expr),
        Expr::Array(a) => a.elem.iter_mut().for_each(int4_literals),
        Expr::BinaryOp { left, right, .. } => {
            int4_literals(left);
            int4_literals(right);
        }
        Expr::Case {
            conditions,
            else_result,
            ..
        } => {
            for c in conditions.iter_mut() {
                int4_literals(&mut c.result);
            }
            if let Some(e) = else_result {
                int4_literals(e);
            }
        }
        _ => {}
    }
}

/// The error for malformed bytea text: bad hex digits are an invalid
/// parameter value (22023), bad escapes invalid text (22P02).
pub fn bytea_error(s: &str) -> Error {
    if s.starts_with("\\x") || s.starts_with("\\X") {
        Error::InvalidParameterValue("invalid hexadecimal data in bytea input".into())
    } else {
        Error::InvalidText("invalid input syntax for type bytea".into())
    }
}

/// `to_char(x, 'YYYY-MM-DD')`: translates a literal PostgreSQL format
/// pattern into the strftime pattern DataFusion's `to_char` reads.
fn pg_to_char_format(f: &mut Function) {
    use crate::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments, Value};
    if !last_name(&f.name).eq_ignore_ascii_case("to_char") {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) = list.args.get_mut(1)
    else {
        return;
    };
    if let Value::SingleQuotedString(fmt) = &mut v.value {
        *fmt = strftime_pattern(fmt);
    }
}

/// PostgreSQL date/time format patterns to strftime, longest first.
fn strftime_pattern(pg: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("YYYY", "%Y"),
        ("Month", "%B"),
        ("MONTH", "%B"),
        ("Mon", "%b"),
        ("MON", "%b"),
        ("Day", "%A"),
        ("DAY", "%A"),
        ("DDD", "%j"),
        ("Dy", "%a"),
        ("DY", "%a"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("HH", "%I"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("MS", "%3f"),
        ("US", "%6f"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("TZ", "%Z"),
    ];
    let mut out = String::with_capacity(pg.len() + 8);
    let mut rest = pg;
    'outer: while !rest.is_empty() {
        for (from, to) in MAP {
            if let Some(r) = rest.strip_prefix(from) {
                out.push_str(to);
                rest = r;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            if c == '%' {
                out.push_str("%%");
            } else {
                out.push(c);
            }
        }
        rest = chars.as_str();
    }
    out
}

/// A column default's SQL text as the planner takes it: normalized the way
/// a query's expressions are (`'s'::regclass` becomes the relation's OID,
/// say), then spelled again.
pub fn default_for_planning(sql: &str, database: &str) -> Result<String> {
    use crate::sqlparser::parser::Parser;
    let mut stmt = Parser::new(&crate::dialect::PrismDialect::default())
        // Parenthesized: a reg* cast at the top stays an OID (a result
        // column would show the name).
        .try_with_sql(&format!("SELECT ({sql})"))
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| Error::Syntax(format!("syntax error: {e}")))?;
    normalize_for_planning(&mut stmt, database)?;
    let Statement::Query(q) = &stmt else {
        return Ok(sql.to_string());
    };
    let crate::sqlparser::ast::SetExpr::Select(select) = q.body.as_ref() else {
        return Ok(sql.to_string());
    };
    use crate::sqlparser::ast::SelectItem;
    match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] => {
            Ok(e.to_string())
        }
        _ => Ok(sql.to_string()),
    }
}

/// Parses one SQL expression.
pub fn parse_expr(sql: &str) -> Result<Expr> {
    use crate::sqlparser::parser::Parser;
    Parser::new(&crate::dialect::PrismDialect::default())
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::Syntax(format!("syntax error: {e}")))
}

/// Aggregate functions by name (a select item that calls one, even inside
/// a nested subquery, is left as it is).
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "median",
    "first_value",
    "last_value",
    "corr",
    "covar_pop",
    "covar_samp",
    "bit_and",
    "bit_or",
    "bit_xor",
    "approx_distinct",
    "approx_median",
    "approx_percentile_cont",
    "regr_slope",
    "regr_intercept",
    "regr_count",
];

/// Makes a scalar subquery that reads a table and does not aggregate,
/// group, limit or deduplicate collect its rows (`array_agg` of its select
/// item); the caller takes the one value with `prism_one` (NULL without
/// rows, 21000 with more than one, as PostgreSQL's scalar subqueries give).
/// Whether it did.
fn single_value(query: &mut crate::sqlparser::ast::Query) -> bool {
    use crate::sqlparser::ast::{GroupByExpr, SetExpr, Visit, Visitor};
    struct FindsAggregate(bool);
    impl Visitor for FindsAggregate {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Function(f)
                    if f.over.is_some()
                        || f.name
                            .0
                            .last()
                            .and_then(|p| p.as_ident())
                            .map(normalize)
                            .is_some_and(|n| AGGREGATES.contains(&n.as_str())) =>
                {
                    self.0 = true;
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    if grouped || select.having.is_some() || select.distinct.is_some() || select.from.is_empty() {
        return false;
    }
    let [item] = select.projection.as_mut_slice() else {
        return false;
    };
    let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
        return false;
    };
    let mut finds = FindsAggregate(false);
    let _ = Visit::visit(&*e, &mut finds);
    if finds.0 {
        return false;
    }
    let Ok(collected) = parse_expr(&format!("array_agg({e})")) else {
        return false;
    };
    *e = collected;
    // Order means nothing for at most one row, and cannot name columns an
    // aggregate hides.
    query.order_by = None;
    true
}

/// Takes the conditions of a scalar subquery's WHERE that name only the
/// outer query's columns (`(SELECT ... FROM d WHERE d.k = a.k AND
/// a.flag)`) out of it, joined by AND: the caller evaluates the subquery
/// only when they hold, which gives the same NULL otherwise and lets
/// DataFusion decorrelate the rest. A condition counts as outer when every
/// column it names is qualified by a name the subquery's FROM does not
/// define.
fn outer_conditions(query: &mut crate::sqlparser::ast::Query) -> Option<String> {
    use crate::sqlparser::ast::{SetExpr, TableFactor, Visit, Visitor};
    struct Names {
        qualifiers: Vec<String>,
        bare: bool,
        subquery: bool,
    }
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(_) => self.bare = true,
                Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    self.qualifiers.push(normalize(&parts[parts.len() - 2]));
                }
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    self.subquery = true;
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
        match e {
            Expr::BinaryOp {
                left,
                op: crate::sqlparser::ast::BinaryOperator::And,
                right,
            } => {
                conjuncts(*left, out);
                conjuncts(*right, out);
            }
            Expr::Nested(inner) if matches!(*inner, Expr::BinaryOp { .. }) => {
                let is_and = matches!(
                    &*inner,
                    Expr::BinaryOp {
                        op: crate::sqlparser::ast::BinaryOperator::And,
                        ..
                    }
                );
                if is_and {
                    conjuncts(*inner, out);
                } else {
                    out.push(Expr::Nested(inner));
                }
            }
            other => out.push(other),
        }
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let mut inner_names: Vec<String> = Vec::new();
    for twj in &select.from {
        for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                        inner_names.push(normalize(last));
                    }
                    if let Some(a) = alias {
                        inner_names.push(normalize(&a.name));
                    }
                }
                // A derived table or function in FROM: names cannot be told
                // apart reliably; leave the subquery alone.
                _ => return None,
            }
        }
    }
    let selection = select.selection.take()?;
    let mut all = Vec::new();
    conjuncts(selection, &mut all);
    let (mut outer, mut inner) = (Vec::new(), Vec::new());
    for c in all {
        let mut names = Names {
            qualifiers: Vec::new(),
            bare: false,
            subquery: false,
        };
        let _ = Visit::visit(&c, &mut names);
        let is_outer = !names.bare
            && !names.subquery
            && !names.qualifiers.is_empty()
            && names.qualifiers.iter().all(|q| !inner_names.contains(q));
        if is_outer {
            outer.push(c);
        } else {
            inner.push(c);
        }
    }
    substitute_correlations(&mut inner, &inner_names);
    select.selection = inner.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: crate::sqlparser::ast::BinaryOperator::And,
        right: Box::new(b),
    });
    if outer.is_empty() {
        return None;
    }
    Some(
        outer
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// Rewrites conditions of a subquery's WHERE that compare outer and inner
/// columns other than by equality (which DataFusion cannot decorrelate)
/// into conditions on inner columns alone, where an equality among the
/// conjuncts says which inner expression an outer column equals:
/// `c.oid = a.attcollation AND a.attcollation <> t.typcollation` becomes
/// `c.oid = a.attcollation AND c.oid <> t.typcollation`. A row passes the
/// WHERE only if the equality holds, so the value is the same.
fn substitute_correlations(conjuncts: &mut [Expr], inner_names: &[String]) {
    use crate::sqlparser::ast::{BinaryOperator, Visit, Visitor};
    struct Qualifiers(Vec<String>, bool);
    impl Visitor for Qualifiers {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(_) | Expr::Subquery(_) | Expr::Exists { .. } => self.1 = true,
                Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    self.0.push(normalize(&parts[parts.len() - 2]));
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    // (all qualifiers inner, any qualifier outer), or None when unsure.
    let sides = |e: &Expr| -> Option<(bool, bool)> {
        let mut q = Qualifiers(Vec::new(), false);
        let _ = Visit::visit(e, &mut q);
        if q.1 {
            return None;
        }
        let inner = q.0.iter().all(|n| inner_names.contains(n));
        let outer = q.0.iter().any(|n| !inner_names.contains(n));
        Some((inner, outer))
    };
    let is_outer_column = |e: &Expr| {
        matches!(e, Expr::CompoundIdentifier(p) if p.len() >= 2) && sides(e) == Some((false, true))
    };
    let mut equal: Vec<(String, Expr)> = Vec::new();
    for c in conjuncts.iter() {
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = c
        {
            for (outer, inner) in [(left, right), (right, left)] {
                if is_outer_column(outer) && sides(inner).is_some_and(|(i, _)| i) {
                    equal.push((outer.to_string(), (**inner).clone()));
                }
            }
        }
    }
    if equal.is_empty() {
        return;
    }
    struct Substitute<'a>(&'a [(String, Expr)]);
    impl VisitorMut for Substitute<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if matches!(e, Expr::CompoundIdentifier(_)) {
                let text = e.to_string();
                if let Some((_, inner)) = self.0.iter().find(|(o, _)| *o == text) {
                    *e = Expr::Nested(Box::new(inner.clone()));
                }
            }
            ControlFlow::Continue(())
        }
    }
    for c in conjuncts.iter_mut() {
        let correlating_equality = matches!(
            c,
            Expr::BinaryOp {
                op: BinaryOperator::Eq,
                ..
            }
        ) && sides(c).is_some_and(|(_, outer)| outer);
        let mixed = sides(c).is_some_and(|(inner, outer)| !inner && outer);
        if mixed && !correlating_equality {
            let _ = VisitMut::visit(c, &mut Substitute(&equal));
        }
    }
}

/// Type names as catalog queries write them: `pg_catalog.text` is `text`,
/// `name` and `"char"` are text, `oid` is an unsigned 32-bit integer (reported
/// as `oid`).
fn system_type(data_type: &mut crate::sqlparser::ast::DataType) {
    use crate::sqlparser::ast::{ArrayElemTypeDef, DataType};
    if let DataType::Array(
        ArrayElemTypeDef::SquareBracket(inner, _) | ArrayElemTypeDef::AngleBracket(inner),
    ) = data_type
    {
        system_type(inner);
        return;
    }
    let DataType::Custom(name, modifiers) = data_type else {
        return;
    };
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(normalize))
        .collect();
    let last = match parts.as_slice() {
        [schema, last] if schema == "pg_catalog" => last.clone(),
        [last] => last.clone(),
        _ => return,
    };
    match last.as_str() {
        "name" | "char" => *data_type = DataType::Text,
        "oid" => *data_type = DataType::IntUnsigned(None),
        "regclass" | "regtype" | "regproc" | "regnamespace" | "regrole" | "regprocedure"
        | "regoper" | "regoperator" | "regconfig" | "regdictionary" | "regcollation" => {
            *name = crate::sqlparser::ast::ObjectName::from(vec![Ident::new(last)]);
        }
        _ if parts.len() == 2 => {
            let spelled = if modifiers.is_empty() {
                last.clone()
            } else {
                format!("{last}({})", modifiers.join(","))
            };
            let parsed =
                crate::sqlparser::parser::Parser::new(&crate::dialect::PrismDialect::default())
                    .try_with_sql(&spelled)
                    .and_then(|mut p| p.parse_data_type());
            if let Ok(parsed) = parsed {
                *data_type = parsed;
            }
        }
        _ => {}
    }
}

/// Casts to the object-identifier types: `x::regclass` is the relation's
/// OID (`prism_regclass`), `x::regclass::text` its name
/// (`prism_regclass_name`); the same for `regtype`. Their arguments are
/// passed as text (a name or digits).
fn object_id_cast(expr: &mut Expr) -> Result<()> {
    use crate::sqlparser::ast::DataType;
    fn reg_type(data_type: &DataType) -> Option<&'static str> {
        if matches!(data_type, DataType::Regclass) {
            return Some("regclass");
        }
        let DataType::Custom(name, _) = data_type else {
            return None;
        };
        match name.0.as_slice() {
            [p] => match p.as_ident().map(normalize).as_deref() {
                Some("regclass") => Some("regclass"),
                Some("regtype") => Some("regtype"),
                Some("regnamespace") => Some("regnamespace"),
                Some("regrole") => Some("regrole"),
                Some("regproc" | "regprocedure") => Some("regproc"),
                Some(
                    "regoper" | "regoperator" | "regconfig" | "regdictionary" | "regcollation",
                ) => Some("regother"),
                _ => None,
            },
            _ => None,
        }
    }
    fn textual(data_type: &DataType) -> bool {
        matches!(
            data_type,
            DataType::Text
                | DataType::Varchar(_)
                | DataType::CharacterVarying(_)
                | DataType::String(_)
        )
    }
    let Expr::Cast {
        expr: inner,
        data_type,
        ..
    } = expr
    else {
        return Ok(());
    };
    let call =
        |function: String, arg: &Expr| parse_expr(&format!("{function}(CAST({arg} AS TEXT))"));
    if textual(data_type)
        && let Expr::Cast {
            expr: arg,
            data_type: inner_type,
            ..
        } = inner.as_ref()
        && let Some(reg) = reg_type(inner_type)
    {
        *expr = call(format!("prism_{reg}_name"), arg)?;
        return Ok(());
    }
    if let Some(reg) = reg_type(data_type) {
        *expr = call(format!("prism_{reg}"), inner)?;
    }
    Ok(())
}

/// `WITH ... INSERT/UPDATE/DELETE` parses as a query whose body is the DML
/// statement; turn it back into the DML statement with the WITH clause
/// moved where DataFusion plans it (the source query of an INSERT).
pub fn hoist_dml(stmt: Statement) -> Result<Statement> {
    let Statement::Query(q) = &stmt else {
        return Ok(stmt);
    };
    let body = match q.body.as_ref() {
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => s.clone(),
        _ => return Ok(stmt),
    };
    let Some(with) = q.with.clone() else {
        return Ok(body);
    };
    match body {
        Statement::Insert(mut ins) => {
            match ins.source.as_mut() {
                Some(src) if src.with.is_none() => src.with = Some(with),
                _ => {
                    return Err(Error::NotSupported(
                        "WITH on this INSERT is not supported".into(),
                    ));
                }
            }
            Ok(Statement::Insert(ins))
        }
        _ => Err(Error::NotSupported(
            "WITH before UPDATE or DELETE is not supported".into(),
        )),
    }
}

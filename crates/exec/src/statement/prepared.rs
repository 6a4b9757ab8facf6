//! SQL-level prepared statements: `PREPARE name [(types)] AS statement`,
//! `EXECUTE name [(arguments)]` and `DEALLOCATE [PREPARE] { name | ALL }`.
//!
//! A statement prepared this way is kept as parsed; EXECUTE substitutes
//! its arguments for the parameters `$1`, `$2`, ... (cast to the declared
//! types, if any) and the statement runner runs the result as any other
//! statement, so its plan is cached under the substituted text like a
//! simple query's.

use crate::output::Output;
use crate::prepared::{SqlPrepared, is_all};
use crate::session::Session;
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{
    CastKind, Expr, Statement, Value as SqlValue, VisitMut, VisitorMut,
};
use prismdb_sql::{StatementKind, classify, normalize};
use std::ops::ControlFlow;

/// PREPARE or DEALLOCATE.
pub(crate) fn run(session: &mut Session, stmt: &Statement) -> Result<Output> {
    match stmt {
        Statement::Prepare {
            name,
            data_types,
            statement,
        } => {
            let name = normalize(name);
            if session.sql_prepared.contains_key(&name) {
                return Err(Error::DuplicatePreparedStatement(format!(
                    "prepared statement \"{name}\" already exists"
                )));
            }
            let mut stmt = prismdb_sql::rewrite::hoist_dml((**statement).clone())?;
            if !matches!(classify(&stmt), StatementKind::Query | StatementKind::Dml)
                || matches!(stmt, Statement::Explain { .. })
            {
                return Err(Error::Syntax(
                    "syntax error: only SELECT, VALUES, INSERT, UPDATE and DELETE can be prepared"
                        .into(),
                ));
            }
            let params = highest_parameter(&mut stmt).max(data_types.len());
            session.sql_prepared.insert(
                name,
                SqlPrepared {
                    stmt,
                    types: data_types.clone(),
                    params,
                },
            );
            Ok(Output::command("PREPARE"))
        }
        Statement::Deallocate { name, .. } => {
            if is_all(name) {
                session.sql_prepared.clear();
                return Ok(Output::command("DEALLOCATE ALL"));
            }
            let name = normalize(name);
            match session.sql_prepared.remove(&name) {
                Some(_) => Ok(Output::command("DEALLOCATE")),
                None => Err(unknown(&name)),
            }
        }
        _ => Err(Error::Internal("not a prepared-statement command".into())),
    }
}

/// The statement an EXECUTE runs: the prepared one with its arguments
/// in place of its parameters.
pub(crate) fn bound_execute(session: &Session, stmt: &Statement) -> Result<Statement> {
    let Statement::Execute {
        name: Some(name),
        parameters,
        immediate: false,
        into,
        using,
        ..
    } = stmt
    else {
        return Err(Error::NotSupported(
            "this form of EXECUTE is not supported".into(),
        ));
    };
    if !into.is_empty() || !using.is_empty() {
        return Err(Error::NotSupported(
            "this form of EXECUTE is not supported".into(),
        ));
    }
    let name = prismdb_sql::object_name(name)?;
    let prepared = session
        .sql_prepared
        .get(&name)
        .ok_or_else(|| unknown(&name))?;
    if parameters.len() != prepared.params {
        return Err(Error::Syntax(format!(
            "wrong number of parameters for prepared statement \"{name}\": expected {}, got {}",
            prepared.params,
            parameters.len()
        )));
    }
    let mut bound = prepared.stmt.clone();
    let _ = bound.visit(&mut Params(|n: usize, expr: &mut Expr| {
        let Some(arg) = parameters.get(n - 1) else {
            return;
        };
        let arg = Expr::Nested(Box::new(arg.clone()));
        *expr = match prepared.types.get(n - 1) {
            Some(t) => Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(arg),
                data_type: t.clone(),
                array: false,
                format: None,
            },
            None => arg,
        };
    }));
    Ok(bound)
}

/// The highest `$n` in a statement.
fn highest_parameter(stmt: &mut Statement) -> usize {
    let mut high = 0;
    let _ = stmt.visit(&mut Params(|n: usize, _: &mut Expr| {
        high = high.max(n);
    }));
    high
}

/// Calls its closure on every `$n` parameter of a statement.
struct Params<F>(F);

impl<F: FnMut(usize, &mut Expr)> VisitorMut for Params<F> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Value(v) = expr
            && let SqlValue::Placeholder(p) = &v.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
        {
            (self.0)(n, expr);
        }
        ControlFlow::Continue(())
    }
}

fn unknown(name: &str) -> Error {
    Error::InvalidStatementName(format!("prepared statement \"{name}\" does not exist"))
}

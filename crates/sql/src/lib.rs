//! SQL front end: parsing and binding of the statements PrismDB handles
//! itself, and the translation of DataFusion's errors into PrismDB's.
//!
//! The path of a statement through this crate:
//!
//! 1. [`parse`] turns text into sqlparser `Statement`s (PostgreSQL dialect),
//!    mapping parse failures to `Error::Syntax` (42601); PrismDB's own
//!    statement forms are recognized by [`extensions`].
//! 2. [`classify`] sorts each statement into a [`StatementKind`] so the
//!    executor knows whether it is transaction control, a setting, DDL, DML
//!    or a query.
//! 3. DDL is bound against the catalog here: [`ddl::bind_create_table`] turns
//!    `CREATE TABLE` into a [`prismdb_catalog::Table`] (types from
//!    [`types::sql_type`], primary key, NOT NULL, DEFAULT) and
//!    [`ddl::bind_alter_table`] applies `ALTER TABLE`'s operations to one.
//! 4. Queries and DML are planned by DataFusion's SQL planner in the `exec`
//!    crate; its errors come back through [`error::from_datafusion`].

pub mod clients;
pub mod ddl;
pub mod depth;
pub mod dialect;
pub mod error;
pub mod extensions;
pub mod hints;
pub mod rewrite;
pub mod types;

pub use datafusion::sql::sqlparser;
use dialect::PrismDialect;
use prismdb_common::{Error, Result};
use sqlparser::ast::Statement;
use sqlparser::parser::Parser;

/// Parses SQL text into statements, PrismDB's own forms included (see
/// [`extensions`]).
///
/// A statement nested too deeply to handle safely is refused with 54001
/// before it is parsed, and AND/OR chains come out balanced (see
/// [`depth`]).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let sql = clients::substitute(sql).unwrap_or(sql);
    let copy_booleans = extensions::copy_boolean_options(sql);
    let sql = copy_booleans.as_deref().unwrap_or(sql);
    depth::check(sql)?;
    let dialect = PrismDialect::default();
    let parsed = Parser::new(&dialect)
        .with_recursion_limit(prismdb_common::limits::MAX_PARSER_NESTING)
        .try_with_sql(sql)
        .and_then(|mut parser| extensions::parse_statements(&mut parser));
    let mut stmts = parsed.map_err(|e| match e {
        sqlparser::parser::ParserError::RecursionLimitExceeded => depth::too_complex(&format!(
            "the statement nests more than {} levels deep",
            prismdb_common::limits::MAX_PARSER_NESTING
        )),
        e => {
            let msg = e.to_string();
            let msg = msg.strip_prefix("sql parser error: ").unwrap_or(&msg);
            Error::Syntax(format!("syntax error: {msg}"))
        }
    })?;
    depth::balance(&mut stmts);
    Ok(stmts)
}

/// What a statement is, for dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// BEGIN / START TRANSACTION / COMMIT / END / ROLLBACK, savepoints.
    Transaction,
    /// SET / RESET / SHOW of a setting.
    Setting,
    /// CREATE / DROP of databases, tables, views, roles; ALTER TABLE and
    /// ROLE; GRANT / REVOKE; TRUNCATE.
    Ddl,
    /// INSERT / UPDATE / DELETE.
    Dml,
    /// SELECT and friends, EXPLAIN.
    Query,
    /// COPY (only `COPY ... FROM STDIN` runs; other forms get 0A000).
    Copy,
    /// ANALYZE: refresh the router's statistics.
    Analyze,
    /// SQL-level PREPARE / EXECUTE / DEALLOCATE.
    Prepared,
    /// DECLARE ... CURSOR, FETCH, MOVE, CLOSE.
    Cursor,
    /// DISCARD, LISTEN / UNLISTEN / NOTIFY.
    SessionControl,
    /// Anything else: answered with 0A000.
    Unsupported,
}

/// Sorts a statement into its [`StatementKind`].
pub fn classify(stmt: &Statement) -> StatementKind {
    use Statement::*;
    match stmt {
        StartTransaction { .. }
        | Commit { .. }
        | Rollback { .. }
        | Savepoint { .. }
        | ReleaseSavepoint { .. } => StatementKind::Transaction,
        Set(_) | ShowVariable { .. } | Reset(_) => StatementKind::Setting,
        CreateTable(_)
        | CreateView(_)
        | CreateSequence { .. }
        | CreateDatabase { .. }
        | Drop { .. }
        | AlterTable(_)
        | AlterRole { .. }
        | CreateRole(_)
        | CreateIndex(_)
        | AlterIndex { .. }
        | Comment { .. }
        | Grant(_)
        | Revoke(_)
        | Truncate(_) => StatementKind::Ddl,
        Insert(_) | Update(_) | Delete(_) => StatementKind::Dml,
        Query(_) | Explain { .. } => StatementKind::Query,
        Copy { .. } => StatementKind::Copy,
        Analyze(_) => StatementKind::Analyze,
        Prepare { .. } | Execute { .. } | Deallocate { .. } => StatementKind::Prepared,
        Declare { .. } | Fetch { .. } | Close { .. } => StatementKind::Cursor,
        Discard { .. } | LISTEN { .. } | UNLISTEN { .. } | NOTIFY { .. } | Vacuum(_) => {
            StatementKind::SessionControl
        }
        _ => StatementKind::Unsupported,
    }
}

/// The last identifier of a possibly qualified name, normalized as
/// PostgreSQL does: unquoted identifiers fold to lower case.
pub fn object_name(name: &sqlparser::ast::ObjectName) -> Result<String> {
    let parts: Vec<&sqlparser::ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [one] => Ok(normalize(one)),
        [schema, one] if normalize(schema) == prismdb_catalog::DEFAULT_SCHEMA => Ok(normalize(one)),
        [schema, _] => Err(Error::UndefinedTable(format!(
            "schema \"{}\" does not exist",
            normalize(schema)
        ))),
        _ => Err(Error::NotSupported(format!(
            "qualified name {name} is not supported"
        ))),
    }
}

/// Folds an identifier the way PostgreSQL does.
pub fn normalize(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

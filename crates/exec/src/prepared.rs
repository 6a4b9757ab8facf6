//! SQL-level prepared statements as a session keeps them (the statements
//! themselves run in [`crate::statement::prepared`]).
//!
//! Protocol-level (Parse) statements share the name space in PostgreSQL;
//! the wire server keeps those and answers DEALLOCATE for them itself
//! (see [`deallocation`]).

use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{DataType as SqlType, Ident, Statement};

/// A statement prepared with SQL `PREPARE`.
pub(crate) struct SqlPrepared {
    pub(crate) stmt: Statement,
    /// The declared parameter types (possibly fewer than its parameters).
    pub(crate) types: Vec<SqlType>,
    /// How many parameters EXECUTE must pass.
    pub(crate) params: usize,
}

/// What a DEALLOCATE statement drops: one named statement, or all of them
/// (`None`). Other statements give `None` at the outer level.
pub fn deallocation(stmt: &Statement) -> Option<Option<String>> {
    match stmt {
        Statement::Deallocate { name, .. } => Some(if is_all(name) {
            None
        } else {
            Some(normalize(name))
        }),
        Statement::Discard {
            object_type: prismdb_sql::sqlparser::ast::DiscardObject::ALL,
        } => Some(None),
        _ => None,
    }
}

pub(crate) fn is_all(name: &Ident) -> bool {
    name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all")
}

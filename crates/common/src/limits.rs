//! Limits that keep one statement from taking the server down.
//!
//! Parsing, rewriting, planning and evaluating a statement recurse over its
//! expression tree, on whatever thread runs that step: a connection thread
//! (parse, rewrite, logical planning), an analytics thread (optimization,
//! physical planning, execution) or the node's main runtime. A tree deep
//! enough overflows the thread's stack, and a stack overflow aborts the
//! whole process, not one session. So the depth of a statement is bounded
//! before anything recurses over it ([`MAX_EXPRESSION_DEPTH`], checked by
//! `prismdb_sql::parse`, error 54001 as in PostgreSQL), and every thread
//! that handles statements gets a stack large enough for that depth
//! ([`STATEMENT_STACK_BYTES`]; untouched stack pages cost address space, not
//! memory).

/// The deepest expression tree a statement may hold: operators chained
/// without parentheses (`a AND b AND ...`, `1 + 1 + ...`) and nesting
/// (parentheses, function calls, subqueries, CASE) both count.
pub const MAX_EXPRESSION_DEPTH: usize = 1_000;

/// How deep the SQL parser may recurse (nested parentheses, subqueries,
/// function calls). The parser counts one or two steps per level of the
/// tree it builds; the depth check before parsing is what refuses deep
/// statements, and this limit is set well above what a statement that
/// passed it can reach: sqlparser, hitting its limit, can spend time
/// exponential in the nesting backtracking out of it.
pub const MAX_PARSER_NESTING: usize = 8 * MAX_EXPRESSION_DEPTH;

/// Stack size of every thread that parses, plans or runs statements.
pub const STATEMENT_STACK_BYTES: usize = 64 << 20;

//! Optimizer hints in comments: `SELECT /*+ READ_FROM(columnar, t) */ …`.
//!
//! sqlparser drops comments, so hints are read from the statement text with
//! its tokenizer: every `/*+ … */` comment belongs to the statement it sits
//! in (statements are counted by top-level `;`). The one hint PrismDB knows
//! is `READ_FROM(engine, table [, table …])` with engine `row` or
//! `columnar`; several hints may share one comment. Unknown or malformed
//! hints are ignored, as comments are.

use crate::normalize;
use crate::sqlparser::dialect::PostgreSqlDialect;
use crate::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// The engine a hint asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintEngine {
    Row,
    Columnar,
}

/// `READ_FROM(engine, table)`: scans of `table` (name or alias as written,
/// normalized) read `engine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadHint {
    pub engine: HintEngine,
    pub table: String,
}

/// The read hints of each statement of `sql`, by statement position
/// (statements without hints get an empty list; the list is empty when the
/// text has no hint comment at all).
pub fn read_hints(sql: &str) -> Vec<Vec<ReadHint>> {
    if !sql.contains("/*+") {
        return Vec::new();
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return Vec::new();
    };
    let mut out: Vec<Vec<ReadHint>> = vec![Vec::new()];
    let mut started = false;
    for token in tokens {
        match token {
            Token::SemiColon if started => {
                out.push(Vec::new());
                started = false;
            }
            Token::SemiColon => {}
            Token::Whitespace(Whitespace::MultiLineComment(body)) => {
                if let Some(hint) = body.strip_prefix('+') {
                    out.last_mut()
                        .expect("one list per statement")
                        .extend(parse_hint(hint));
                }
            }
            Token::Whitespace(_) => {}
            _ => started = true,
        }
    }
    if out.iter().all(Vec::is_empty) {
        return Vec::new();
    }
    out
}

/// The `READ_FROM(...)` hints of one hint comment's body.
fn parse_hint(body: &str) -> Vec<ReadHint> {
    let mut hints = Vec::new();
    let mut rest = body;
    while let Some(start) = find_ci(rest, "read_from") {
        rest = &rest[start + "read_from".len()..];
        let trimmed = rest.trim_start();
        let Some(args) = trimmed.strip_prefix('(') else {
            continue;
        };
        let Some(end) = args.find(')') else {
            break;
        };
        let mut parts = args[..end].split(',').map(str::trim);
        let engine = match parts.next().map(str::to_ascii_lowercase).as_deref() {
            Some("row") => Some(HintEngine::Row),
            Some("columnar") => Some(HintEngine::Columnar),
            _ => None,
        };
        if let Some(engine) = engine {
            for t in parts.filter(|t| !t.is_empty()) {
                hints.push(ReadHint {
                    engine,
                    table: identifier(t),
                });
            }
        }
        rest = &args[end + 1..];
    }
    hints
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

/// A table name as written in a hint: `"Quoted"` keeps its case, bare
/// names fold to lower case; a schema prefix is dropped.
fn identifier(t: &str) -> String {
    let last = t.rsplit('.').next().unwrap_or(t).trim();
    match last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => normalize(&crate::sqlparser::ast::Ident::new(last)),
    }
}

#[cfg(test)]
#[path = "hints_test.rs"]
mod tests;

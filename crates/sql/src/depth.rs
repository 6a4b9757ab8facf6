//! Bounding how deep a statement's expression tree is, before anything
//! recurses over it.
//!
//! Everything that handles a statement — the parser, our rewrites,
//! DataFusion's planner and evaluator, even dropping the tree — recurses
//! over it, and a stack overflow takes the whole server down. PostgreSQL
//! answers a too-deep statement with 54001 ("stack depth limit exceeded");
//! so does [`check`], from the tokens alone, so that a statement too deep
//! to handle safely is never parsed into a tree:
//!
//! * [`depth_bound`] walks the tokens once, without recursion, and bounds
//!   the depth of the tree the parser would build: every level of nesting
//!   (parentheses, brackets, CASE) adds one, and so does every operator or
//!   keyword since the last separator of its level (`,`, `;`, WHEN/THEN/ELSE
//!   of a CASE, AND/OR), since chained operators (`a + b + c`) nest one
//!   level per operator. AND and OR chains count only
//!   `2·⌈log₂(n + 1)⌉`, because [`balance`] rebuilds them as balanced trees
//!   right after parsing; PostgreSQL flattens them the same way, and
//!   generated SQL with thousands of `OR id = …` terms is common.
//! * Until it is balanced, a chain is as deep as it is long, and dropping it
//!   (when parsing fails after it) recurses that deep, so a chain may hold
//!   at most [`MAX_BOOLEAN_TERMS`] terms.
//!
//! The bound is conservative (keywords count as operators), exact enough
//! that ordinary statements sit far below the limit; statements shorter
//! than half the limit in bytes cannot exceed it and are not tokenized.

use prismdb_common::limits::MAX_EXPRESSION_DEPTH;
use prismdb_common::{Error, Result};
use sqlparser::ast::{BinaryOperator, Expr, Statement, VisitMut, VisitorMut};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::ControlFlow;

use crate::sqlparser;

/// The longest AND or OR chain (terms on one level between commas).
pub const MAX_BOOLEAN_TERMS: usize = 100_000;

/// The error of a statement nested too deeply (54001).
pub fn too_complex(detail: &str) -> Error {
    Error::StatementTooComplex(format!("stack depth limit exceeded: {detail}"))
}

/// Fails with 54001 when `sql`'s expression tree could be deeper than
/// [`MAX_EXPRESSION_DEPTH`] or holds an AND/OR chain longer than
/// [`MAX_BOOLEAN_TERMS`]. Text that does not tokenize passes: the parser
/// reports it.
pub fn check(sql: &str) -> Result<()> {
    if sql.len() * 2 <= MAX_EXPRESSION_DEPTH {
        return Ok(());
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return Ok(());
    };
    let bound = depth_bound(&tokens);
    if bound.longest_chain > MAX_BOOLEAN_TERMS {
        return Err(too_complex(&format!(
            "an AND/OR chain of more than {MAX_BOOLEAN_TERMS} terms"
        )));
    }
    if bound.depth > MAX_EXPRESSION_DEPTH {
        return Err(too_complex(&format!(
            "expressions nest more than {MAX_EXPRESSION_DEPTH} levels deep"
        )));
    }
    Ok(())
}

/// What [`depth_bound`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// An upper bound of the tree's depth once AND/OR chains are balanced.
    pub depth: usize,
    /// The most AND/OR operators on one level between separators.
    pub longest_chain: usize,
}

/// One level of nesting while walking tokens.
#[derive(Default)]
struct Level {
    /// Operators and keywords since the last separator.
    ops: usize,
    /// AND/OR operators since the last comma.
    chain: usize,
    /// Opened by CASE (closed by END) rather than a bracket.
    case: bool,
}

impl Level {
    fn depth(&self) -> usize {
        1 + self.ops + 2 * ceil_log2(self.chain + 1)
    }
}

fn ceil_log2(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

/// Bounds the depth of the expression tree `tokens` parse into (see the
/// module documentation); iterative, linear in the tokens.
pub fn depth_bound(tokens: &[Token]) -> Bound {
    let mut levels = vec![Level::default()];
    // Σ depth() over `levels` except the innermost, kept incrementally.
    let mut outer = 0usize;
    let mut bound = Bound {
        depth: 1,
        longest_chain: 0,
    };
    for token in tokens {
        let Some(top) = levels.last_mut() else {
            break;
        };
        match token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen | Token::LBracket | Token::LBrace => {
                outer += top.depth();
                levels.push(Level::default());
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                close(&mut levels, &mut outer, false)
            }
            Token::Comma | Token::SemiColon => {
                top.ops = 0;
                top.chain = 0;
            }
            Token::Word(w) => match w.keyword {
                Keyword::AND | Keyword::OR => {
                    top.ops = 0;
                    top.chain += 1;
                    bound.longest_chain = bound.longest_chain.max(top.chain);
                }
                Keyword::CASE => {
                    top.ops += 1;
                    outer += top.depth();
                    levels.push(Level {
                        case: true,
                        ..Level::default()
                    });
                }
                Keyword::WHEN | Keyword::THEN | Keyword::ELSE if top.case => {
                    top.ops = 0;
                    top.chain = 0;
                }
                Keyword::END if top.case => close(&mut levels, &mut outer, true),
                Keyword::NoKeyword => {}
                _ => top.ops += 1,
            },
            // Literals and placeholders are leaves.
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Period => {}
            _ => top.ops += 1,
        }
        if let Some(top) = levels.last() {
            bound.depth = bound.depth.max(outer + top.depth());
        }
    }
    bound
}

/// Leaves the innermost level (a bracket or, with `case`, a CASE); the
/// construct it closed is one more node of the level around it.
fn close(levels: &mut Vec<Level>, outer: &mut usize, case: bool) {
    if levels.len() < 2 || levels.last().is_some_and(|l| l.case != case) {
        return;
    }
    levels.pop();
    if let Some(top) = levels.last_mut() {
        *outer -= top.depth();
        top.ops += 1;
    }
}

/// Rebuilds every chain of one AND or OR operator in `stmts` as a balanced
/// tree (operands keep their left-to-right order, so evaluation still goes
/// left to right), so that a chain of `n` terms is `⌈log₂ n⌉` deep instead
/// of `n`. The parser builds such chains leaning left, one level per
/// operator.
pub fn balance(stmts: &mut [Statement]) {
    struct Balancer;
    impl VisitorMut for Balancer {
        type Break = ();
        // Pre-order: a chain is rebuilt from its top before the visit goes
        // down into it, so the visit only ever descends the balanced tree.
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            balance_chain(expr);
            ControlFlow::Continue(())
        }
    }
    for stmt in stmts {
        let _ = stmt.visit(&mut Balancer);
    }
}

/// Balances the tree of one AND or OR operator whose top is `expr`, if
/// it has at least three operands: all of them, left to right, become the
/// leaves of a balanced tree. The visit then goes down into that tree and
/// rebuilds each subtree from its own leaves, which keeps it balanced.
fn balance_chain(expr: &mut Expr) {
    let op = match expr {
        Expr::BinaryOp {
            op: op @ (BinaryOperator::And | BinaryOperator::Or),
            left,
            right,
        } if matches!(left.as_ref(), Expr::BinaryOp { op: inner, .. } if inner == op)
            || matches!(right.as_ref(), Expr::BinaryOp { op: inner, .. } if inner == op) =>
        {
            op.clone()
        }
        _ => return,
    };
    // Collect the operands without recursion: the parser's chains lean
    // left one level per operator.
    let mut leaves = Vec::new();
    let mut pending = vec![std::mem::replace(expr, placeholder())];
    while let Some(e) = pending.pop() {
        match e {
            Expr::BinaryOp {
                left,
                op: ref o,
                right,
            } if *o == op => {
                pending.push(*right);
                pending.push(*left);
            }
            other => leaves.push(other),
        }
    }
    *expr = build_balanced(leaves, &op);
}

fn placeholder() -> Expr {
    Expr::Value(sqlparser::ast::Value::Null.into())
}

/// `terms[0] op terms[1] op ...` as a balanced tree, halving iteratively
/// (pairs of neighbours each round), so building it does not recurse.
fn build_balanced(mut terms: Vec<Expr>, op: &BinaryOperator) -> Expr {
    while terms.len() > 1 {
        let mut next = Vec::with_capacity(terms.len().div_ceil(2));
        let mut it = terms.into_iter();
        while let Some(left) = it.next() {
            match it.next() {
                Some(right) => next.push(Expr::BinaryOp {
                    left: Box::new(left),
                    op: op.clone(),
                    right: Box::new(right),
                }),
                None => next.push(left),
            }
        }
        terms = next;
    }
    terms.pop().unwrap_or_else(placeholder)
}

#[cfg(test)]
#[path = "depth_test.rs"]
mod tests;

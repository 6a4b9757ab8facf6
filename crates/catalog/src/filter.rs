//! [`RowFilter`]: the predicate of a partial index, in a form evaluated on
//! one stored row without SQL machinery.
//!
//! Comparisons hold the literal in the memcomparable key encoding of the
//! column's own type, so evaluating one compares bytes, and the result is
//! SQL's three-valued one (a row belongs to the index only where it is
//! true, as in PostgreSQL).

use crate::Table;
use prismdb_common::Value;
use prismdb_common::keycode::encode_value;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CompareOp {
    /// Whether the comparison holds for an ordering of its operands.
    pub fn holds(self, o: Ordering) -> bool {
        match self {
            CompareOp::Eq => o == Ordering::Equal,
            CompareOp::NotEq => o != Ordering::Equal,
            CompareOp::Lt => o == Ordering::Less,
            CompareOp::LtEq => o != Ordering::Greater,
            CompareOp::Gt => o == Ordering::Greater,
            CompareOp::GtEq => o != Ordering::Less,
        }
    }
}

/// A predicate over the columns of one table (by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RowFilter {
    And(Vec<RowFilter>),
    Or(Vec<RowFilter>),
    Not(Box<RowFilter>),
    IsNull(String),
    IsNotNull(String),
    /// A boolean column used as a condition.
    Column(String),
    /// `column op literal`; the literal key-encoded in the column's type.
    Compare {
        column: String,
        op: CompareOp,
        literal: Vec<u8>,
    },
    Const(Option<bool>),
}

impl RowFilter {
    /// Whether the row (all stored columns of `table`) satisfies the
    /// predicate: `Some(true)`, `Some(false)`, or `None` for unknown.
    pub fn eval(&self, table: &Table, row: &[Value]) -> Option<bool> {
        let value = |name: &str| {
            table
                .column_index(name)
                .and_then(|i| row.get(i))
                .unwrap_or(&Value::Null)
        };
        match self {
            RowFilter::And(parts) => {
                let mut unknown = false;
                for p in parts {
                    match p.eval(table, row) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            RowFilter::Or(parts) => {
                let mut unknown = false;
                for p in parts {
                    match p.eval(table, row) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            RowFilter::Not(p) => p.eval(table, row).map(|b| !b),
            RowFilter::IsNull(c) => Some(value(c).is_null()),
            RowFilter::IsNotNull(c) => Some(!value(c).is_null()),
            RowFilter::Column(c) => match value(c) {
                Value::Bool(b) => Some(*b),
                _ => None,
            },
            RowFilter::Compare {
                column,
                op,
                literal,
            } => {
                let v = value(column);
                if v.is_null() {
                    return None;
                }
                let mut encoded = Vec::with_capacity(16);
                encode_value(&mut encoded, v);
                Some(op.holds(encoded.as_slice().cmp(literal.as_slice())))
            }
            RowFilter::Const(b) => *b,
        }
    }

    /// The columns the predicate reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            RowFilter::And(p) | RowFilter::Or(p) => p.iter().for_each(|f| f.collect_columns(out)),
            RowFilter::Not(p) => p.collect_columns(out),
            RowFilter::IsNull(c) | RowFilter::IsNotNull(c) | RowFilter::Column(c) => out.push(c),
            RowFilter::Compare { column, .. } => out.push(column),
            RowFilter::Const(_) => {}
        }
    }
}

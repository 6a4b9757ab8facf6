//! Access paths: how a scan reaches its rows in the row store.
//!
//! Both the planner-free fast path ([`crate::point`]) and the DataFusion
//! provider ([`crate::provider`]) describe a scan's conditions the same
//! way, as conjuncts `column op value` ([`Cond`]), and this module turns
//! them into the ways to the rows: the primary key or any secondary index
//! ([`Shape`] over its key columns: equalities on a leading run, then an IN
//! list or bounds on the next column), or a full scan. The router costs the
//! candidates ([`index_paths`] describes each index's for it), and
//! [`crate::reads`] reads the chosen path.

use crate::read_view::ReadView;
use prismdb_catalog::{CompareOp, RowFilter, SqlType, Table};
use prismdb_common::Value;
use prismdb_common::keycode::{encode_key, encode_value, prefix_end};
use prismdb_router::{IndexPath, KeyAccess};
use prismdb_rowstore::index::IndexLayout;
use std::ops::Bound;
use std::sync::Arc;

/// A range of encoded keys: lower and upper bound.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// One condition of a scan: `column op value` (stored column index).
#[derive(Debug, Clone)]
pub struct Cond<V> {
    pub column: usize,
    pub op: Op<V>,
}

/// The comparison of a [`Cond`].
#[derive(Debug, Clone)]
pub enum Op<V> {
    Eq(V),
    In(Vec<V>),
    /// A lower bound, inclusive or not.
    Lower(V, bool),
    /// An upper bound, inclusive or not.
    Upper(V, bool),
}

/// What a scan's conditions give over one key (the primary key's or an
/// index's columns): equalities on a leading run of its columns, then an
/// IN list or bounds on the next one.
#[derive(Debug, Clone)]
pub struct Shape<V> {
    pub eq: Vec<V>,
    pub in_list: Option<Vec<V>>,
    pub lower: Option<(V, bool)>,
    pub upper: Option<(V, bool)>,
    /// How many of the conditions the shape accounts for.
    pub consumed: usize,
}

impl<V: Clone> Shape<V> {
    /// The shape of `conds` over key columns `key`.
    pub fn of(key: &[usize], conds: &[Cond<V>]) -> Shape<V> {
        let mut eq = Vec::new();
        let mut consumed = 0;
        for &k in key {
            match conds
                .iter()
                .find(|c| c.column == k && matches!(c.op, Op::Eq(_)))
            {
                Some(Cond { op: Op::Eq(v), .. }) => {
                    eq.push(v.clone());
                    consumed += 1;
                }
                _ => break,
            }
        }
        let mut shape = Shape {
            eq,
            in_list: None,
            lower: None,
            upper: None,
            consumed,
        };
        let Some(&next) = key.get(shape.eq.len()) else {
            return shape;
        };
        for c in conds.iter().filter(|c| c.column == next) {
            match &c.op {
                Op::In(values)
                    if shape.in_list.is_none()
                        && shape.lower.is_none()
                        && shape.upper.is_none() =>
                {
                    shape.in_list = Some(values.clone());
                    shape.consumed += 1;
                }
                Op::Lower(v, inclusive) if shape.lower.is_none() && shape.in_list.is_none() => {
                    shape.lower = Some((v.clone(), *inclusive));
                    shape.consumed += 1;
                }
                Op::Upper(v, inclusive) if shape.upper.is_none() && shape.in_list.is_none() => {
                    shape.upper = Some((v.clone(), *inclusive));
                    shape.consumed += 1;
                }
                _ => {}
            }
        }
        shape
    }

    /// The shape a primary-key read takes (see
    /// [`crate::reads::Read::primary_key`]) over a key of `width` columns:
    /// an IN list on an inner key column is left to the filter, and the
    /// equality prefix before it read as a range.
    pub fn by_key(mut self, width: usize) -> Shape<V> {
        if self.in_list.is_some() && self.eq.len() + 1 != width {
            self.in_list = None;
        }
        self
    }

    /// Whether the shape narrows the key at all.
    pub fn is_empty(&self) -> bool {
        self.consumed == 0
    }

    /// The shape as the router's description, over a key of `width`
    /// columns.
    pub fn key_access(&self, width: usize, as_value: impl Fn(&V) -> Option<Value>) -> KeyAccess {
        if let Some(list) = &self.in_list {
            if self.eq.len() + 1 == width {
                return KeyAccess::Points(list.len());
            }
            return KeyAccess::Prefix {
                columns: self.eq.len(),
            };
        }
        if self.lower.is_some() || self.upper.is_some() {
            return KeyAccess::Range {
                prefix: self.eq.len(),
                lower: self.lower.as_ref().and_then(|(v, _)| as_value(v)),
                upper: self.upper.as_ref().and_then(|(v, _)| as_value(v)),
            };
        }
        match self.eq.len() {
            0 => KeyAccess::Full,
            n if n == width => KeyAccess::Points(1),
            n => KeyAccess::Prefix { columns: n },
        }
    }
}

impl Shape<Value> {
    /// The key ranges the shape reads, in key order. A comparison with
    /// NULL selects nothing (no ranges); bounds leave NULL keys out.
    pub fn ranges(&self) -> Vec<KeyRange> {
        if self.eq.iter().any(Value::is_null) {
            return Vec::new();
        }
        let prefix = encode_key(&self.eq);
        let end = |p: &[u8]| prefix_end(p).map_or(Bound::Unbounded, Bound::Excluded);
        if let Some(list) = &self.in_list {
            let mut keys: Vec<Vec<u8>> = list
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| {
                    let mut k = prefix.clone();
                    encode_value(&mut k, v);
                    k
                })
                .collect();
            keys.sort();
            keys.dedup();
            return keys
                .into_iter()
                .map(|k| {
                    let e = end(&k);
                    (Bound::Included(k), e)
                })
                .collect();
        }
        if self.lower.is_none() && self.upper.is_none() {
            let e = end(&prefix);
            return vec![(Bound::Included(prefix), e)];
        }
        if self.lower.as_ref().is_some_and(|(v, _)| v.is_null())
            || self.upper.as_ref().is_some_and(|(v, _)| v.is_null())
        {
            return Vec::new();
        }
        let with = |v: &Value| {
            let mut k = prefix.clone();
            encode_value(&mut k, v);
            k
        };
        let lower = match &self.lower {
            Some((v, true)) => with(v),
            Some((v, false)) => {
                let k = with(v);
                prefix_end(&k).unwrap_or(k)
            }
            // Past the NULLs of the bounded column.
            None => {
                let mut k = prefix.clone();
                k.push(0x01);
                k
            }
        };
        let upper = match &self.upper {
            Some((v, true)) => end(&with(v)),
            Some((v, false)) => Bound::Excluded(with(v)),
            None => end(&prefix),
        };
        vec![(Bound::Included(lower), upper)]
    }
}

impl Shape<Value> {
    /// The equality prefix's range split at the next column's NULLs:
    /// non-NULL keys first, then NULL ones (ascending order as PostgreSQL
    /// sorts it).
    pub fn null_split(&self) -> Vec<KeyRange> {
        if self.eq.iter().any(Value::is_null) {
            return Vec::new();
        }
        let prefix = encode_key(&self.eq);
        let mut nulls = prefix.clone();
        nulls.push(0x00);
        let mut present = prefix.clone();
        present.push(0x01);
        let end = prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
        vec![
            (Bound::Included(present.clone()), end),
            (Bound::Included(nulls), Bound::Excluded(present)),
        ]
    }
}

/// The secondary indexes that could serve a scan with `conds` at the
/// read view's snapshot (complete here, not partial), each with its shape
/// and its description for the router. `needed`: the stored columns the
/// scan returns.
pub fn index_paths(
    view: &ReadView,
    layouts: &[Arc<IndexLayout>],
    conds: &[Cond<Value>],
    nulls: &[(usize, bool)],
    needed: &[usize],
) -> Vec<(Arc<IndexLayout>, Shape<Value>, IndexPath)> {
    let mut out = Vec::new();
    for layout in layouts {
        if !readable(view, layout, conds, nulls) {
            continue;
        }
        let shape = Shape::of(&layout.key, conds);
        if shape.is_empty() {
            continue;
        }
        let path = index_path(layout, &shape, covers(&layout.table, layout, needed));
        out.push((layout.clone(), shape, path));
    }
    out
}

/// One column of a requested row order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderColumn {
    /// Stored column index.
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

/// How a read of `layout` after `shape`'s equalities gives its rows in
/// `order`: `(reverse, nulls_apart)`, or `None` if it cannot.
///
/// Entries sort ascending with NULLs first, so a read gives each ordered
/// column ascending NULLS FIRST, or backwards descending NULLS LAST. The
/// first ordered column may ask for the other NULLs placement (PostgreSQL's
/// default does): its NULLs are then read as a range of their own, placed
/// where they belong (`nulls_apart`; see [`Shape::null_split`]). Later
/// ordered columns must hold no NULLs or want them where the read gives
/// them. The primary key's columns follow the key's (entries of equal
/// keys sort by it). Order columns the equalities fix may appear anywhere
/// in `order`; an IN list breaks the order.
pub fn index_order<V>(
    table: &Table,
    layout: &IndexLayout,
    shape: &Shape<V>,
    order: &[OrderColumn],
) -> Option<(bool, bool)> {
    let fixed = &layout.key[..shape.eq.len()];
    let order: Vec<&OrderColumn> = order
        .iter()
        .filter(|o| !fixed.contains(&o.column))
        .collect();
    let Some(first) = order.first() else {
        return Some((false, false));
    };
    if shape.in_list.is_some() {
        return None;
    }
    // Entries of equal key values sort by primary key.
    let after: Vec<usize> = layout.key[shape.eq.len()..]
        .iter()
        .copied()
        .chain(
            table
                .primary_key
                .iter()
                .copied()
                .filter(|c| !layout.key.contains(c)),
        )
        .collect();
    let reverse = first.descending;
    let natural_nulls_first = !reverse;
    if order.len() > after.len()
        || !order
            .iter()
            .zip(&after)
            .all(|(o, &k)| o.column == k && o.descending == reverse)
    {
        return None;
    }
    let nullable = |c: usize| table.columns[c].nullable;
    if order
        .iter()
        .skip(1)
        .any(|o| nullable(o.column) && o.nulls_first != natural_nulls_first)
    {
        return None;
    }
    let ranged = shape.lower.is_some() || shape.upper.is_some();
    let nulls_apart = nullable(first.column) && !ranged && first.nulls_first != natural_nulls_first;
    Some((reverse, nulls_apart))
}

/// Whether a scan's conditions imply a partial index's predicate, so that
/// every row the scan selects has an entry in the index. `conds` are the
/// scan's comparisons; `nulls` its `column IS [NOT] NULL` tests (`true`:
/// IS NULL). A comparison implies its column is not NULL.
pub fn implies(
    table: &Table,
    conds: &[Cond<Value>],
    nulls: &[(usize, bool)],
    filter: &RowFilter,
) -> bool {
    let column = |name: &str| table.column_index(name);
    match filter {
        RowFilter::And(parts) => parts.iter().all(|p| implies(table, conds, nulls, p)),
        RowFilter::Or(parts) => parts.iter().any(|p| implies(table, conds, nulls, p)),
        RowFilter::Const(b) => *b == Some(true),
        RowFilter::IsNull(c) => column(c).is_some_and(|c| nulls.contains(&(c, true))),
        RowFilter::IsNotNull(c) => column(c)
            .is_some_and(|c| nulls.contains(&(c, false)) || conds.iter().any(|d| d.column == c)),
        RowFilter::Column(c) => column(c).is_some_and(|c| {
            conds
                .iter()
                .any(|d| d.column == c && matches!(&d.op, Op::Eq(Value::Bool(true))))
        }),
        RowFilter::Not(inner) => match inner.as_ref() {
            RowFilter::Column(c) => column(c).is_some_and(|c| {
                conds
                    .iter()
                    .any(|d| d.column == c && matches!(&d.op, Op::Eq(Value::Bool(false))))
            }),
            RowFilter::IsNull(c) => implies(table, conds, nulls, &RowFilter::IsNotNull(c.clone())),
            RowFilter::IsNotNull(c) => implies(table, conds, nulls, &RowFilter::IsNull(c.clone())),
            _ => false,
        },
        RowFilter::Compare {
            column: name,
            op,
            literal,
        } => {
            let Some(c) = column(name) else {
                return false;
            };
            let encoded = |v: &Value| {
                let mut k = Vec::with_capacity(16);
                encode_value(&mut k, v);
                k
            };
            let literal = literal.as_slice();
            conds.iter().filter(|d| d.column == c).any(|d| match &d.op {
                Op::Eq(v) => !v.is_null() && op.holds(encoded(v).as_slice().cmp(literal)),
                Op::In(vs) => {
                    !vs.is_empty()
                        && vs
                            .iter()
                            .all(|v| !v.is_null() && op.holds(encoded(v).as_slice().cmp(literal)))
                }
                // Every value above a lower bound: `c > l` and `c >= l`
                // hold when the bound is past the literal.
                Op::Lower(v, inclusive) => {
                    let bound = encoded(v);
                    match op {
                        CompareOp::Gt => {
                            bound.as_slice() > literal
                                || (!inclusive && bound.as_slice() == literal)
                        }
                        CompareOp::GtEq => bound.as_slice() >= literal,
                        _ => false,
                    }
                }
                Op::Upper(v, inclusive) => {
                    let bound = encoded(v);
                    match op {
                        CompareOp::Lt => {
                            bound.as_slice() < literal
                                || (!inclusive && bound.as_slice() == literal)
                        }
                        CompareOp::LtEq => bound.as_slice() <= literal,
                        _ => false,
                    }
                }
            })
        }
    }
}

/// Whether a scan with `conds` and `nulls` at the view's snapshot can read
/// through `layout`: complete on this member, and a partial index only
/// when the conditions imply its predicate.
pub fn readable(
    view: &ReadView,
    layout: &IndexLayout,
    conds: &[Cond<Value>],
    nulls: &[(usize, bool)],
) -> bool {
    view.store.index_usable(layout.id, view.snapshot)
        && layout
            .filter
            .as_ref()
            .is_none_or(|f| implies(&layout.table, conds, nulls, f))
}

/// The router's description of reading `layout` over `shape`.
pub fn index_path(layout: &IndexLayout, shape: &Shape<Value>, covering: bool) -> IndexPath {
    IndexPath {
        name: layout.name.clone(),
        columns: layout.key.clone(),
        access: shape.key_access(layout.key.len(), |v| Some(v.clone())),
        unique: layout.unique,
        covering,
        ordered_limit: None,
    }
}

/// Whether a shape over a unique index names whole keys (each range one
/// claim).
pub fn names_claims(layout: &IndexLayout, shape: &Shape<Value>) -> bool {
    layout.unique
        && shape.lower.is_none()
        && shape.upper.is_none()
        && shape.eq.len() + usize::from(shape.in_list.is_some()) == layout.key.len()
}

/// Whether an index's entries hold every column in `needed` (key columns
/// of a type whose key encoding reads back exactly, INCLUDE columns, the
/// primary key's).
pub fn covers(table: &Table, layout: &IndexLayout, needed: &[usize]) -> bool {
    let decodable =
        |c: usize| !matches!(table.columns[c].ty, SqlType::Array(_) | SqlType::Interval);
    needed.iter().all(|&c| {
        (layout.key.contains(&c) && decodable(c))
            || layout.include.contains(&c)
            || table.primary_key.contains(&c)
    })
}

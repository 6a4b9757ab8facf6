//! Secondary indexes: the layout of their entries.
//!
//! An index's entries are rows of their own key space in the `data` column
//! family, versioned exactly like table rows, so a read at snapshot `S`
//! through an index sees the entries of exactly the rows a scan at `S` sees:
//!
//! ```text
//! key   = INDEX_SPACE | index id (u32 BE) | memcomparable(key columns) [| pk] | !version
//! value = tombstone | encoded row (INCLUDE columns..., pk as bytea)
//! ```
//!
//! The primary key ends the entry key of a non-unique index (so every row
//! has its own entry). A unique index's entry key is its key columns alone
//! — the entry *claims* the key — unless one of them is NULL (NULLs are
//! distinct, as in PostgreSQL), when the primary key follows as well.
//! Because a claim is a row key of its own, the row store's commit
//! validation decides uniqueness like primary-key uniqueness: identically on
//! every member, first committer wins.
//!
//! A transaction's commit carries the entry writes of its row writes
//! ([`IndexLayout::writes`]), computed against the catalog it read. How
//! apply maintains the entries when the indexes change, and how they are
//! built, is the `builds` module's; an index's build state on this member
//! ([`BuildState`], [`IndexStatus`]) is re-exported here from the
//! `registry` module.

use crate::row::encode_row;
use crate::writes::{RowKey, Write};
use prismdb_catalog::{Index, RowFilter, Table};
use prismdb_common::keycode::encode_value;
use prismdb_common::{Error, Result, TableId, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::registry::{BuildState, IndexStatus};

/// The high bit of a key-space id marks an index's entries (table ids
/// never reach it).
pub const INDEX_SPACE: TableId = 0x8000_0000;

/// The key space of an index's entries.
pub fn entries_table(index: u32) -> TableId {
    INDEX_SPACE | index
}

/// Whether a key space holds index entries rather than table rows.
pub fn is_index_space(table: TableId) -> bool {
    table & INDEX_SPACE != 0
}

/// How an index's entries derive from its table's rows.
#[derive(Debug, Clone)]
pub struct IndexLayout {
    pub id: u32,
    pub name: String,
    pub table: Arc<Table>,
    /// Stored column positions of the key columns, in key order.
    pub key: Vec<usize>,
    /// Stored column positions of the INCLUDE columns.
    pub include: Vec<usize>,
    pub unique: bool,
    pub filter: Option<RowFilter>,
}

/// What identifies the entries of one index definition: a change of any of
/// these needs a rebuild.
#[derive(PartialEq)]
pub(crate) struct Signature {
    table: TableId,
    key: Vec<usize>,
    include: Vec<usize>,
    primary_key: Vec<usize>,
    unique: bool,
    filter: Option<RowFilter>,
}

impl IndexLayout {
    /// The layout of `index` over `table`; columns the table lacks are an
    /// error (the catalog never records such an index).
    pub fn new(table: &Arc<Table>, index: &Index) -> Result<IndexLayout> {
        let position = |name: &String| {
            table.column_index(name).ok_or_else(|| {
                Error::Internal(format!(
                    "index \"{}\" names column \"{name}\" that its table lacks",
                    index.name
                ))
            })
        };
        Ok(IndexLayout {
            id: index.id,
            name: index.name.clone(),
            table: table.clone(),
            key: index
                .columns
                .iter()
                .map(|c| position(&c.name))
                .collect::<Result<_>>()?,
            include: index.include.iter().map(position).collect::<Result<_>>()?,
            unique: index.unique,
            filter: index.filter.clone(),
        })
    }

    pub(crate) fn signature(&self) -> Signature {
        Signature {
            table: self.table.id,
            key: self.key.clone(),
            include: self.include.clone(),
            primary_key: self.table.primary_key.clone(),
            unique: self.unique,
            filter: self.filter.clone(),
        }
    }

    /// The key space of this index's entries.
    pub fn entries_table(&self) -> TableId {
        entries_table(self.id)
    }

    /// Whether the row belongs to the index (a partial index's predicate).
    pub fn covers_row(&self, row: &[Value]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.eval(&self.table, row) == Some(true))
    }

    /// The stored columns an entry is made from (key, INCLUDE and primary
    /// key columns); `None` for a partial index, whose predicate may read
    /// any column.
    pub fn columns_read(&self) -> Option<Vec<bool>> {
        if self.filter.is_some() {
            return None;
        }
        let mut keep = vec![false; self.table.columns.len()];
        for &c in self
            .key
            .iter()
            .chain(&self.include)
            .chain(&self.table.primary_key)
        {
            keep[c] = true;
        }
        Some(keep)
    }

    /// The key columns' values of a row.
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.key.iter().map(|&c| column(row, c).clone()).collect()
    }

    /// Whether a row's entry claims its key alone: a unique index and no
    /// NULL among the key columns.
    pub fn claims(&self, row: &[Value]) -> bool {
        self.unique && self.key.iter().all(|&c| !column(row, c).is_null())
    }

    /// The entry of a row with encoded primary key `pk`: its key within the
    /// index's key space and its value; `None` when the row is not in the
    /// index.
    pub fn entry(&self, pk: &[u8], row: &[Value]) -> Option<(Vec<u8>, Vec<Value>)> {
        if !self.covers_row(row) {
            return None;
        }
        let mut key = Vec::with_capacity(16 + pk.len());
        for &c in &self.key {
            encode_value(&mut key, column(row, c));
        }
        if !self.claims(row) {
            key.extend_from_slice(pk);
        }
        let mut value: Vec<Value> = self
            .include
            .iter()
            .map(|&c| column(row, c).clone())
            .collect();
        value.push(Value::Bytes(pk.to_vec()));
        Some((key, value))
    }

    /// The entry writes that turn a row from `old` into `new` (`None`: the
    /// row does not exist before / after).
    pub fn writes(
        &self,
        pk: &[u8],
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Vec<(RowKey, Write)> {
        let old = old.and_then(|r| self.entry(pk, r));
        let new_claims = new.is_some_and(|r| self.claims(r));
        let new = new.and_then(|r| self.entry(pk, r));
        let space = self.entries_table();
        match (old, new) {
            (None, None) => Vec::new(),
            (Some((k, _)), None) => vec![((space, k), Write::Delete)],
            (None, Some((k, v))) => vec![(
                (space, k),
                Write::Put {
                    row: encode_row(&v),
                    insert: new_claims,
                },
            )],
            (Some((ok, ov)), Some((nk, nv))) => {
                if ok == nk {
                    if ov == nv {
                        return Vec::new();
                    }
                    return vec![(
                        (space, nk),
                        Write::Put {
                            row: encode_row(&nv),
                            insert: false,
                        },
                    )];
                }
                vec![
                    ((space, ok), Write::Delete),
                    (
                        (space, nk),
                        Write::Put {
                            row: encode_row(&nv),
                            insert: new_claims,
                        },
                    ),
                ]
            }
        }
    }

    /// `Key (a, b)=(1, x)`, as PostgreSQL names a key in its messages.
    pub fn describe_key(&self, row: &[Value]) -> String {
        let names: Vec<&str> = self
            .key
            .iter()
            .map(|&c| self.table.columns[c].name.as_str())
            .collect();
        let values: Vec<String> = self
            .key
            .iter()
            .map(|&c| match column(row, c) {
                Value::Null => "null".to_string(),
                v => v.to_string(),
            })
            .collect();
        format!("Key ({})=({})", names.join(", "), values.join(", "))
    }
}

fn column(row: &[Value], c: usize) -> &Value {
    row.get(c).unwrap_or(&Value::Null)
}

/// The encoded primary key an entry's value ends with.
pub fn entry_pk(value: &[Value]) -> Result<&[u8]> {
    match value.last() {
        Some(Value::Bytes(pk)) => Ok(pk),
        _ => Err(Error::Storage("index entry without its row key".into())),
    }
}

/// Adds entry writes to a transaction's row writes. A key written twice
/// (one row gives a unique key up, another takes it) keeps the put; two
/// puts claiming one key are a duplicate.
pub fn merge_entry_writes(
    writes: &mut BTreeMap<RowKey, Write>,
    entries: Vec<(RowKey, Write)>,
    name: &str,
) -> Result<()> {
    for (key, write) in entries {
        match (writes.get(&key), &write) {
            (Some(Write::Put { .. }), Write::Delete) => {}
            (Some(Write::Put { .. }), Write::Put { .. }) => {
                return Err(Error::UniqueViolation(format!(
                    "duplicate key value violates unique constraint \"{name}\""
                )));
            }
            _ => {
                writes.insert(key, write);
            }
        }
    }
    Ok(())
}

/// Which way [`RowStore::index_entries`](crate::RowStore::index_entries)
/// reads a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// In key order.
    Forward,
    /// In reverse key order.
    Backward,
    /// In reverse key order, over a range that is usually short (the
    /// entries under one prefix of equalities): read forwards when it
    /// holds at most [`SHORT_RANGE`] versions.
    BackwardShort,
}

/// The most versions a [`Direction::BackwardShort`] read takes forwards.
pub const SHORT_RANGE: usize = 64;

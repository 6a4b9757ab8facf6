//! Keeping secondary indexes in step with a transaction's writes: the
//! entry writes its commit carries, and the uniqueness check of each row a
//! statement writes.
//!
//! Entries are computed once, at commit, from each written row's committed
//! version at the transaction's snapshot and its final version in the
//! overlay ([`entry_writes`]); the row store's validation then decides
//! concurrent claims of one unique key (first committer wins).
//!
//! A statement checks each row it writes against unique indexes as
//! PostgreSQL does, row by row ([`check_unique`]): the snapshot's owner of
//! the key (through the index once its build is complete here, else by
//! reading the table) and the rows the transaction itself wrote, which it
//! remembers by claimed key ([`crate::txn::Claims`]).

use crate::txn::Txn;
use prismdb_catalog::Catalog;
use prismdb_common::error::DETAIL;
use prismdb_common::{Error, Result, TableId, Value, Version};
use prismdb_rowstore::index::{IndexLayout, entry_pk, merge_entry_writes};
use prismdb_rowstore::{RowKey, RowStore, Write};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

/// The indexes of one catalog, by table.
#[derive(Default)]
pub struct IndexSet {
    by_table: HashMap<TableId, Vec<Arc<IndexLayout>>>,
}

impl IndexSet {
    pub fn of(catalog: &Catalog) -> IndexSet {
        let mut by_table: HashMap<TableId, Vec<Arc<IndexLayout>>> = HashMap::new();
        for (table, index) in catalog.all_indexes() {
            if let Ok(layout) = IndexLayout::new(table, index) {
                by_table.entry(table.id).or_default().push(Arc::new(layout));
            }
        }
        for layouts in by_table.values_mut() {
            layouts.sort_by_key(|l| l.id);
        }
        IndexSet { by_table }
    }

    /// The indexes of one table (none: empty).
    pub fn on(&self, table: TableId) -> &[Arc<IndexLayout>] {
        self.by_table.get(&table).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.by_table.is_empty()
    }
}

/// Adds the index entry writes of the transaction's row writes to `writes`.
pub fn entry_writes(
    txn: &Txn,
    set: &IndexSet,
    store: &RowStore,
    writes: &mut BTreeMap<RowKey, Write>,
) -> Result<()> {
    if set.is_empty() {
        return Ok(());
    }
    for ((table, pk), new) in txn.overlay().iter() {
        let layouts = set.on(*table);
        if layouts.is_empty() {
            continue;
        }
        let old = store.get(*table, pk, txn.read_version)?;
        for layout in layouts {
            let entries = layout.writes(pk, old.as_deref(), new.as_deref().map(Vec::as_slice));
            merge_entry_writes(writes, entries, &layout.name)?;
        }
    }
    Ok(())
}

fn duplicate(layout: &IndexLayout, row: &[Value]) -> Error {
    Error::UniqueViolation(format!(
        "duplicate key value violates unique constraint \"{}\"{DETAIL}{} already exists.",
        layout.name,
        layout.describe_key(row)
    ))
}

/// Checks that the row the transaction is about to write under `key`
/// (its table's, primary key encoded) takes no unique key another live
/// row holds, and records its claims. `old`: the version of the same row
/// it replaces, whose claims need no check again.
pub fn check_unique(
    txn: &mut Txn,
    set: &IndexSet,
    store: &RowStore,
    key: &RowKey,
    row: &[Value],
    old: Option<&[Value]>,
) -> Result<()> {
    let (table, pk) = key;
    for layout in set.on(*table) {
        if !layout.unique || !layout.claims(row) {
            continue;
        }
        let Some((claim, _)) = layout.entry(pk, row) else {
            continue;
        };
        if old.is_some_and(|o| {
            layout.claims(o) && layout.entry(pk, o).is_some_and(|(k, _)| k == claim)
        }) {
            continue;
        }
        // A row this transaction wrote that still holds the key.
        if let Some(holder) = txn.claims().get(&(layout.id, claim.clone()))
            && holder != pk
            && holds_in_overlay(txn, layout, *table, holder, &claim) == Some(true)
        {
            return Err(duplicate(layout, row));
        }
        // The snapshot's holder, unless this transaction changed it since.
        for holder in snapshot_holders(store, layout, &claim, txn.read_version)? {
            if holder == *pk {
                continue;
            }
            match holds_in_overlay(txn, layout, *table, &holder, &claim) {
                Some(false) => {}
                Some(true) | None => return Err(duplicate(layout, row)),
            }
        }
        txn.claim(layout.id, claim, pk.clone());
    }
    Ok(())
}

/// Whether the transaction's own version of row `pk` claims `claim`:
/// `None` if the transaction has not written the row.
fn holds_in_overlay(
    txn: &Txn,
    layout: &IndexLayout,
    table: TableId,
    pk: &[u8],
    claim: &[u8],
) -> Option<bool> {
    let own = txn.own(&(table, pk.to_vec()))?;
    Some(own.is_some_and(|row| {
        layout.claims(&row) && layout.entry(pk, &row).is_some_and(|(k, _)| k == claim)
    }))
}

/// The primary keys of the rows that hold `claim` at `snapshot`: through
/// the index when it is complete here, else by reading the table.
fn snapshot_holders(
    store: &RowStore,
    layout: &IndexLayout,
    claim: &[u8],
    snapshot: Version,
) -> Result<Vec<Vec<u8>>> {
    if store.index_usable(layout.id, snapshot) {
        return Ok(match store.get(layout.entries_table(), claim, snapshot)? {
            Some(entry) => vec![entry_pk(&entry)?.to_vec()],
            None => Vec::new(),
        });
    }
    let mut holders = Vec::new();
    let mut lower: Bound<Vec<u8>> = Bound::Unbounded;
    loop {
        let chunk = store.scan(
            layout.table.id,
            match &lower {
                Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                _ => Bound::Unbounded,
            },
            Bound::Unbounded,
            snapshot,
            4096,
        )?;
        for (pk, row) in &chunk.rows {
            if layout.claims(row) && layout.entry(pk, row).is_some_and(|(k, _)| k == claim) {
                holders.push(pk.clone());
            }
        }
        match chunk.resume_after {
            Some(after) => lower = Bound::Excluded(after),
            None => return Ok(holders),
        }
    }
}

//! The index-group cache: the live entries under one value of an index's
//! leading column (a customer's orders in an index on
//! `(customer_id, created_at)`), in memory.
//!
//! A read that names one value of an index's leading column
//! (`customer_id = $1`, in either order, with or without a limit) reads
//! that value's whole *group* of entries. Through RocksDB that is a seek of
//! the memtables and of every level, the largest cost of such a read. A
//! group of at most [`SHORT_RANGE`](crate::index::SHORT_RANGE) versions is kept here, as the visible
//! entries a read found, and the next read of it is a hash lookup. A longer
//! group is kept as a marker, so reads of it go to RocksDB at once.
//!
//! A group is an entry of a [`RowCache`] of its own, keyed
//! `index key space | leading value`, and is MVCC-safe the way rows there
//! are (see the `cache` module):
//! - applying a write of an index entry removes the group of the entry's
//!   leading value and raises its shard's fence, before the write can be
//!   read ([`IndexGroups::written`]);
//! - a read at snapshot `S` keeps the group it read only while that fence
//!   is `<= S`: no write newer than `S` has reached the group;
//! - a group kept at `S` answers reads at snapshots `>= S`.
//!
//! Where an entry key's leading value ends depends on the leading column's
//! type. Apply takes it from the catalog each entry was applied under
//! ([`Leads`]), and a read keeps a group only when the value it names is
//! exactly one encoded value of that type ([`IndexGroups::key`]), so a
//! reader and apply always name a group with the same bytes. An index
//! rebuilt or dropped drops its groups together with its entries (a range
//! delete of its key space); a snapshot install clears everything.

use crate::cache::RowCache;
use crate::index::{INDEX_SPACE, IndexLayout};
use crate::row::{Rows, decode_row};
use parking_lot::RwLock;
use prismdb_catalog::Catalog;
use prismdb_common::keycode::{KeyKind, value_len};
use prismdb_common::{Error, Result, TableId, Version};
use std::collections::HashMap;
use std::sync::Arc;

/// Per index id, the key kind of its leading column.
pub(crate) type Leads = Arc<HashMap<u32, KeyKind>>;

/// The leads of every index of `catalog`.
pub(crate) fn leads_of(catalog: &Catalog) -> HashMap<u32, KeyKind> {
    catalog
        .all_indexes()
        .filter_map(|(t, i)| IndexLayout::new(t, i).ok())
        .filter_map(|l| Some((l.id, lead_of(&l)?)))
        .collect()
}

/// The key kind of `layout`'s leading column.
pub(crate) fn lead_of(layout: &IndexLayout) -> Option<KeyKind> {
    let lead = *layout.key.first()?;
    Some(layout.table.columns.get(lead)?.ty.key_kind())
}

/// The first byte of a kept group: its entries follow.
const ENTRIES: u8 = 1;
/// The first (and only) byte of a group longer than [`SHORT_RANGE`](crate::index::SHORT_RANGE).
const LONG: u8 = 2;

/// The group cache and the leads it keys groups by.
pub(crate) struct IndexGroups {
    pub(crate) cache: RowCache,
    leads: RwLock<Leads>,
}

/// The cache key of the group `lead` in the entries of key space `space`.
fn group_key(space: TableId, lead: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + lead.len());
    k.extend(space.to_be_bytes());
    k.extend(lead);
    k
}

impl IndexGroups {
    /// A cache of at most `bytes` (0 turns it off).
    pub(crate) fn new(bytes: usize) -> IndexGroups {
        IndexGroups {
            cache: RowCache::new(bytes),
            leads: RwLock::default(),
        }
    }

    /// The leads of the applied catalog.
    pub(crate) fn leads(&self) -> Leads {
        self.leads.read().clone()
    }

    pub(crate) fn set_leads(&self, leads: Leads) {
        *self.leads.write() = leads;
    }

    /// The cache key of index `index`'s group `lead`, if `lead` is exactly
    /// one encoded value of the index's leading column.
    pub(crate) fn key(&self, index: u32, lead: &[u8]) -> Option<Vec<u8>> {
        let kind = *self.leads.read().get(&index)?;
        let whole = value_len(lead, kind).ok()? == lead.len();
        whole.then(|| group_key(INDEX_SPACE | index, lead))
    }

    /// A write at `version` of the entry `entry` (its key without key
    /// space and version) in key space `space`, under `leads`: its group
    /// is dropped and reads older than `version` no longer keep it. An
    /// entry whose leading value cannot be told drops every group of its
    /// index.
    pub(crate) fn written(&self, leads: &Leads, space: TableId, entry: &[u8], version: Version) {
        let len = leads
            .get(&(space & !INDEX_SPACE))
            .and_then(|kind| value_len(entry, *kind).ok());
        match len {
            Some(n) => self
                .cache
                .write(&group_key(space, &entry[..n]), version, &[], false),
            None => self.cache.clear_tables(&[space], version),
        }
    }

    /// Keeps the group that a read at `snapshot` found: `packed` as
    /// [`pack`] or [`long`] made it.
    pub(crate) fn fill(&self, key: &[u8], packed: &[u8], snapshot: Version) {
        self.cache.fill(key, snapshot, packed, snapshot);
    }
}

/// A group's entries (key and stored value, in key order) packed for the
/// cache.
pub(crate) fn pack<'a>(entries: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let mut out = vec![ENTRIES];
    for (key, value) in entries {
        out.extend((key.len() as u32).to_le_bytes());
        out.extend(key);
        out.extend((value.len() as u32).to_le_bytes());
        out.extend(value);
    }
    out
}

/// The packed form of a group too long to keep.
pub(crate) fn long() -> [u8; 1] {
    [LONG]
}

fn corrupt() -> Error {
    Error::Internal("corrupt index group".into())
}

/// The next length-prefixed part of a packed group.
fn take<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8]> {
    let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
    let len = u32::from_le_bytes(*len) as usize;
    if tail.len() < len {
        return Err(corrupt());
    }
    let (part, tail) = tail.split_at(len);
    *rest = tail;
    Ok(part)
}

/// The rows of a packed group as an index read gives them: in key order
/// (or reversed with `reverse`), at most `limit`, with the key to continue
/// after when the limit ended the read. `None` for a group too long to
/// keep.
pub(crate) fn unpack(packed: &[u8], limit: usize, reverse: bool) -> Result<Option<Rows>> {
    let (&kind, mut rest) = packed.split_first().ok_or_else(corrupt)?;
    if kind == LONG {
        return Ok(None);
    }
    let mut entries: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
    while !rest.is_empty() {
        let key = take(&mut rest)?;
        let value = take(&mut rest)?;
        entries.push((key, value));
    }
    if reverse {
        entries.reverse();
    }
    let more = entries.len() > limit;
    let mut rows = Vec::with_capacity(entries.len().min(limit));
    for (key, value) in entries.into_iter().take(limit) {
        if let Some(row) = decode_row(value)? {
            rows.push((key.to_vec(), row));
        }
    }
    let after = if more {
        rows.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    Ok(Some((rows, after)))
}

#[cfg(test)]
#[path = "groups_test.rs"]
mod tests;

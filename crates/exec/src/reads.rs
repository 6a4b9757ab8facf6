//! Reading the rows an access path chose: by primary keys, over a key
//! range, or through a secondary index, a chunk at a time, as a statement
//! sees them (the snapshot's rows merged with the transaction's own
//! writes).
//!
//! [`crate::access`] decides how a scan reaches its rows; a [`Read`] is that
//! decision with its keys bound, and a [`ReadCursor`] walks it. The
//! planner-free fast path ([`crate::point`]) and the DataFusion provider
//! ([`crate::provider`]) both read through them, so the two return the
//! same rows for the same conditions.

use crate::access::{KeyRange, Shape, names_claims};
use crate::read_view::{Overlay, ReadView};
use prismdb_common::keycode::{KeyKind, decode_key, encode_key, prefix_end};
use prismdb_common::{Result, TableId, Value};
use prismdb_rowstore::index::{Direction, IndexLayout, entry_pk};
use std::ops::Bound;
use std::sync::Arc;

/// How a scan reaches its rows, with its keys bound.
#[derive(Debug, Clone)]
pub enum Read {
    /// These primary keys (encoded, in key order).
    Points(Vec<Vec<u8>>),
    /// The primary keys in a range.
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// Through a secondary index.
    Index(Arc<IndexRead>),
}

impl Read {
    /// The read by primary key (of `width` columns) of `shape` over the
    /// key's columns, as [`Shape::by_key`] leaves it: points when it names
    /// whole keys, else one key range.
    pub fn primary_key(width: usize, shape: &Shape<Value>) -> Read {
        if shape.eq.len() == width {
            return Read::Points(vec![encode_key(&shape.eq)]);
        }
        if let Some(list) = &shape.in_list {
            let mut keys: Vec<Vec<u8>> = list
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| {
                    let mut k = shape.eq.clone();
                    k.push(v.clone());
                    encode_key(&k)
                })
                .collect();
            keys.sort();
            keys.dedup();
            return Read::Points(keys);
        }
        match shape.ranges().into_iter().next() {
            Some((lo, hi)) => Read::Range(lo, hi),
            None => Read::Points(Vec::new()),
        }
    }

    /// A cursor over the rows of `table` this read selects. With `keep`,
    /// rows read from the store hold only the columns it marks (by stored
    /// position; the others are NULL): the caller reads no other column.
    pub fn cursor(&self, view: &ReadView, table: TableId, keep: Option<Arc<[bool]>>) -> ReadCursor {
        let state = match self {
            Read::Points(keys) => State::Points(keys.clone().into_iter()),
            Read::Range(lo, hi) => State::Range(
                RangeRead::new(view, table, lo.clone(), hi.clone()).keeping(keep.clone()),
            ),
            Read::Index(read) => State::Index(read.clone(), IndexCursor::default()),
        };
        ReadCursor { table, state, keep }
    }
}

/// The mask of `table`'s stored columns that marks `columns` (for
/// [`Read::cursor`]).
pub fn columns_mask(table: &prismdb_catalog::Table, columns: &[usize]) -> Arc<[bool]> {
    let mut keep = vec![false; table.columns.len()];
    for &c in columns {
        if let Some(k) = keep.get_mut(c) {
            *k = true;
        }
    }
    keep.into()
}

/// Where a [`Read`] stands.
pub struct ReadCursor {
    table: TableId,
    state: State,
    keep: Option<Arc<[bool]>>,
}

enum State {
    Points(std::vec::IntoIter<Vec<u8>>),
    Range(RangeRead),
    Index(Arc<IndexRead>, IndexCursor),
    Done,
}

impl ReadCursor {
    /// The next rows, in the read's order: up to `want` (at least one) of
    /// the snapshot with the transaction's own writes merged in, so
    /// possibly fewer (own deletes) or, over a key range, more (own
    /// inserts). `None` once every row has been returned.
    pub fn next_rows(
        &mut self,
        view: &ReadView,
        want: usize,
    ) -> Result<Option<Vec<Arc<Vec<Value>>>>> {
        let want = want.max(1);
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => Ok(None),
            State::Points(mut keys) => {
                let mut rows = Vec::new();
                while rows.len() < want {
                    let Some(k) = keys.next() else { break };
                    if let Some(r) = view.get_columns(self.table, &k, self.keep.as_deref())? {
                        rows.push(r);
                    }
                }
                if keys.len() > 0 {
                    self.state = State::Points(keys);
                }
                Ok(Some(rows))
            }
            State::Index(read, mut cursor) => {
                let rows = read.next_rows(view, &mut cursor, want, self.keep.as_deref())?;
                if rows.len() == want {
                    self.state = State::Index(read, cursor);
                }
                Ok(Some(rows))
            }
            State::Range(mut range) => {
                let rows = range.next_chunk(view, want)?;
                if !range.is_done() {
                    self.state = State::Range(range);
                }
                Ok(rows)
            }
        }
    }

    /// Whether every row has been returned.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// The transaction's own rows of one table: encoded key and row (`None`:
/// deleted).
type OwnRows<'a> = Vec<(&'a Vec<u8>, &'a Option<Arc<Vec<Value>>>)>;

/// One table's own writes within a key range: encoded key and row (`None`: deleted).
type OwnWrites = Vec<(Vec<u8>, Option<Arc<Vec<Value>>>)>;

/// A row rebuilt from an index entry alone: its key columns, INCLUDE
/// columns and primary key; other columns NULL (the caller reads only
/// covered ones).
fn row_of_entry(layout: &IndexLayout, key: &[u8], value: &[Value]) -> Result<Vec<Value>> {
    let table = &layout.table;
    let mut row = vec![Value::Null; table.columns.len()];
    let kinds: Vec<KeyKind> = layout
        .key
        .iter()
        .map(|&c| table.columns[c].ty.key_kind())
        .collect();
    let (keys, _) = decode_key(key, &kinds)?;
    for (&c, v) in layout.key.iter().zip(keys) {
        row[c] = v;
    }
    for (&c, v) in layout.include.iter().zip(value) {
        row[c] = v.clone();
    }
    let pk_kinds: Vec<KeyKind> = table
        .primary_key
        .iter()
        .map(|&c| table.columns[c].ty.key_kind())
        .collect();
    let (pk, _) = decode_key(entry_pk(value)?, &pk_kinds)?;
    for (&c, v) in table.primary_key.iter().zip(pk) {
        row[c] = v;
    }
    Ok(row)
}

/// Rows read through one index: the entries of its ranges at the view's
/// snapshot (skipping rows the transaction wrote) and the transaction's own
/// rows whose entries fall in those ranges, in index order (or reversed).
#[derive(Debug)]
pub struct IndexRead {
    pub layout: Arc<IndexLayout>,
    pub ranges: Vec<KeyRange>,
    /// The entries hold every column read: rows are rebuilt from them
    /// instead of read from the table.
    pub covering: bool,
    /// Each range is one whole key of a unique index: its claim is read
    /// with a point read instead of an iterator.
    pub claims: bool,
    /// How each range is read: backwards ones under a prefix of
    /// equalities are usually short, and tried forwards first.
    pub direction: Direction,
    /// Each range is every entry under one value of the index's leading
    /// column: it is read as that value's group (`RowStore::index_group`).
    pub lead_groups: bool,
}

/// Where a read of an [`IndexRead`] a chunk at a time stands: the range
/// being read, and the key of the last row taken from it.
#[derive(Debug, Clone, Default)]
pub struct IndexCursor {
    range: usize,
    resume: Option<Vec<u8>>,
}

impl IndexRead {
    /// The read of `layout` over `shape`, in the order [`crate::access::index_order`]
    /// gave (`reverse`, `nulls_apart`).
    pub fn new(
        layout: &Arc<IndexLayout>,
        shape: &Shape<Value>,
        (reverse, nulls_apart): (bool, bool),
        covering: bool,
    ) -> IndexRead {
        let mut ranges = if nulls_apart {
            shape.null_split()
        } else {
            shape.ranges()
        };
        if reverse {
            ranges.reverse();
        }
        let direction = match (reverse, shape.eq.is_empty()) {
            (false, _) => Direction::Forward,
            (true, true) => Direction::Backward,
            (true, false) => Direction::BackwardShort,
        };
        let claims = !nulls_apart && names_claims(layout, shape);
        let one_value = match &shape.in_list {
            Some(_) => shape.eq.is_empty(),
            None => shape.eq.len() == 1,
        };
        let lead_groups =
            !claims && !nulls_apart && one_value && shape.lower.is_none() && shape.upper.is_none();
        IndexRead {
            direction,
            lead_groups,
            claims,
            layout: layout.clone(),
            ranges,
            covering,
        }
    }

    /// Whether each range is read in reverse index order.
    pub fn reverse(&self) -> bool {
        self.direction != Direction::Forward
    }
}

/// Entries read per store call.
const ENTRY_CHUNK: usize = 1024;

impl IndexRead {
    /// Up to `want` more rows, continuing where `cursor` stands: the
    /// ranges in the order given, each read in index order (backwards when
    /// `reverse`); fewer only once every range is read.
    pub fn next_rows(
        &self,
        view: &ReadView,
        cursor: &mut IndexCursor,
        want: usize,
        keep: Option<&[bool]>,
    ) -> Result<Vec<Arc<Vec<Value>>>> {
        let table = self.layout.table.id;
        let own: OwnRows<'_> = view
            .overlay
            .range((table, Vec::new())..)
            .take_while(|((t, _), _)| *t == table)
            .map(|((_, pk), row)| (pk, row))
            .collect();
        let mut out = Vec::new();
        while out.len() < want && cursor.range < self.ranges.len() {
            let (lo, hi) = &self.ranges[cursor.range];
            let (lo, hi) = match cursor.resume.take() {
                None => (lo.clone(), hi.clone()),
                Some(k) if self.reverse() => (lo.clone(), Bound::Excluded(k)),
                Some(k) => (Bound::Excluded(k), hi.clone()),
            };
            let need = want - out.len();
            let mut group = self.read_range(view, (&lo, &hi), &own, need, keep)?;
            // Fewer than asked for: the snapshot has no more in the range.
            let read_all = group.len() < need;
            if !own.is_empty() {
                for (pk, row) in &own {
                    let Some(row) = row else { continue };
                    if let Some((key, _)) = self.layout.entry(pk, row)
                        && within(&key, &lo, &hi)
                    {
                        group.push((key, row.clone()));
                    }
                }
                group.sort_by(|a, b| a.0.cmp(&b.0));
                if self.reverse() {
                    group.reverse();
                }
            }
            if read_all && group.len() <= need {
                cursor.range += 1;
            } else {
                // What is left of the range lies beyond the last row taken.
                group.truncate(need);
                cursor.resume = group.last().map(|(k, _)| k.clone());
            }
            out.extend(group.into_iter().map(|(_, r)| r));
        }
        Ok(out)
    }

    /// Up to `want` rows of the snapshot in one range, with their entry
    /// keys, skipping rows the transaction wrote.
    #[allow(clippy::type_complexity)]
    fn read_range(
        &self,
        view: &ReadView,
        (lo, hi): (&Bound<Vec<u8>>, &Bound<Vec<u8>>),
        own: &OwnRows<'_>,
        want: usize,
        keep: Option<&[bool]>,
    ) -> Result<Vec<(Vec<u8>, Arc<Vec<Value>>)>> {
        let table = self.layout.table.id;
        let mut found = Vec::new();
        if self.claims
            && let Bound::Included(claim) = lo
        {
            if let Some(value) =
                view.store
                    .get(self.layout.entries_table(), claim, view.snapshot)?
            {
                let pk = entry_pk(&value)?;
                if own.binary_search_by(|(k, _)| k.as_slice().cmp(pk)).is_err() {
                    if self.covering {
                        let row = row_of_entry(&self.layout, claim, &value)?;
                        found.push((claim.clone(), Arc::new(row)));
                    } else if let Some(row) =
                        view.store.get_columns(table, pk, view.snapshot, keep)?
                    {
                        found.push((claim.clone(), Arc::new(row)));
                    }
                }
            }
            return Ok(found);
        }
        // The whole range of one leading value (not the rest of one a
        // chunk ended) is that value's group.
        let mut lead = match (lo, hi) {
            (Bound::Included(lead), hi)
                if self.lead_groups
                    && *hi == prefix_end(lead).map_or(Bound::Unbounded, Bound::Excluded) =>
            {
                Some(lead.as_slice())
            }
            _ => None,
        };
        let mut lo = lo.clone();
        let mut hi = hi.clone();
        while found.len() < want {
            let limit = ENTRY_CHUNK.min(want - found.len()).max(1);
            let grouped = match lead.take() {
                Some(lead) => view.store.index_group(
                    self.layout.id,
                    lead,
                    view.snapshot,
                    limit,
                    self.direction,
                )?,
                None => None,
            };
            let (entries, next) = match grouped {
                Some(read) => read,
                None => view.store.index_entries(
                    self.layout.id,
                    bound_ref(&lo),
                    bound_ref(&hi),
                    view.snapshot,
                    limit,
                    self.direction,
                )?,
            };
            let mut kept = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let pk = entry_pk(&value)?;
                if !own.is_empty() && own.binary_search_by(|(k, _)| k.as_slice().cmp(pk)).is_ok() {
                    continue;
                }
                kept.push((key, value));
            }
            if self.covering {
                for (key, value) in kept {
                    let row = row_of_entry(&self.layout, &key, &value)?;
                    found.push((key, Arc::new(row)));
                }
            } else {
                let pks = kept
                    .iter()
                    .map(|(_, value)| entry_pk(value))
                    .collect::<Result<Vec<_>>>()?;
                let rows = view.store.get_many(table, pks, view.snapshot, keep)?;
                for ((key, _), row) in kept.into_iter().zip(rows) {
                    if let Some(row) = row {
                        found.push((key, Arc::new(row)));
                    }
                }
            }
            match next {
                Some(after) if self.reverse() => hi = Bound::Excluded(after),
                Some(after) => lo = Bound::Excluded(after),
                None => break,
            }
        }
        Ok(found)
    }
}

fn within(key: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= h.as_slice(),
        Bound::Excluded(h) => key < h.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// The rows of one table in a key range as a statement sees them: the
/// snapshot's rows merged with the transaction's own writes (which replace
/// or delete them, or add new keys), in key order, read a chunk at a time.
/// Row-store scans and the key fast path ([`crate::point`]) both read
/// ranges through it.
pub struct RangeRead {
    table: TableId,
    /// The columns rows from the store hold (see [`Read::cursor`]).
    keep: Option<Arc<[bool]>>,
    next: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    own: OwnWrites,
    own_pos: usize,
    done: bool,
}

impl RangeRead {
    pub fn new(
        view: &ReadView,
        table: TableId,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
    ) -> RangeRead {
        let done = range_is_empty(&lower, &upper);
        let own = if done {
            Vec::new()
        } else {
            own_writes(&view.overlay, table, &lower, &upper)
        };
        RangeRead {
            table,
            keep: None,
            next: lower,
            upper,
            own,
            own_pos: 0,
            done,
        }
    }

    /// The read that decodes only the columns `keep` marks (see
    /// [`Read::cursor`]).
    pub fn keeping(mut self, keep: Option<Arc<[bool]>>) -> RangeRead {
        self.keep = keep;
        self
    }

    /// Whether every row of the range has been returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next rows: up to `limit` (at least 1) rows of the snapshot with
    /// the own writes among them merged in, so possibly fewer (own deletes)
    /// or more (own inserts). `None` once the range is exhausted.
    pub fn next_chunk(
        &mut self,
        view: &ReadView,
        limit: usize,
    ) -> Result<Option<Vec<Arc<Vec<Value>>>>> {
        if self.done {
            return Ok(None);
        }
        let chunk = view.store.scan_columns(
            self.table,
            (bound_ref(&self.next), bound_ref(&self.upper)),
            view.snapshot,
            limit.max(1),
            self.keep.as_deref(),
        )?;
        let own = &self.own;
        let mut own_pos = self.own_pos;
        let mut rows = Vec::with_capacity(chunk.rows.len());
        for (pk, row) in chunk.rows {
            while own_pos < own.len() && own[own_pos].0 < pk {
                if let Some(r) = &own[own_pos].1 {
                    rows.push(r.clone());
                }
                own_pos += 1;
            }
            if own_pos < own.len() && own[own_pos].0 == pk {
                if let Some(r) = &own[own_pos].1 {
                    rows.push(r.clone());
                }
                own_pos += 1;
            } else {
                rows.push(Arc::new(row));
            }
        }
        match chunk.resume_after {
            Some(after) => self.next = Bound::Excluded(after),
            None => {
                rows.extend(own[own_pos..].iter().filter_map(|(_, r)| r.clone()));
                own_pos = own.len();
                self.done = true;
            }
        }
        self.own_pos = own_pos;
        Ok(Some(rows))
    }
}

/// Whether no key can lie between the bounds (`BTreeMap::range` panics on
/// some of these, and a store scan need not run).
fn range_is_empty(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    }
}

/// The transaction's own writes to one table within a key range, in key order.
fn own_writes(
    overlay: &Overlay,
    table: TableId,
    lo: &Bound<Vec<u8>>,
    hi: &Bound<Vec<u8>>,
) -> OwnWrites {
    if overlay.is_empty() {
        return Vec::new();
    }
    let map = |b: &Bound<Vec<u8>>| match b {
        Bound::Included(k) => Bound::Included((table, k.clone())),
        Bound::Excluded(k) => Bound::Excluded((table, k.clone())),
        Bound::Unbounded => Bound::Unbounded,
    };
    let (lo, hi) = (map(lo), map(hi));
    overlay
        .range((lo, hi))
        .filter(|((t, _), _)| *t == table)
        .map(|((_, k), v)| (k.clone(), v.clone()))
        .collect()
}

fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

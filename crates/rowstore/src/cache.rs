//! The row cache: the newest version of recently read rows, in memory.
//!
//! A point read in RocksDB seeks the memtables and every file whose bloom
//! filter admits the row, and that seek is most of what a primary-key or
//! index lookup costs in the store. [`RowCache`] keeps, per row, its newest
//! version and stored bytes, so reading it again at that version or any
//! later snapshot is a hash lookup.
//!
//! Commit validation asks it too: a row it holds has that version as its
//! newest, so first-committer-wins needs no seek for the rows a
//! transaction read before writing them.
//!
//! Entries are MVCC-safe because an entry is always its row's newest
//! applied version:
//! - Applying a write replaces the row's entry with the written version
//!   (or removes it, for a delete) before the write can be seen (before the
//!   applied version is published), and raises the fence of the row's
//!   shard to the write's version.
//! - A reader at snapshot `S` fills in what it read only while its shard's
//!   fence is `<= S`: no write newer than `S` has reached the shard, so the
//!   version it read is the row's newest. The check and the insert happen
//!   under the shard lock invalidation takes too, so a write either fails
//!   the check or removes the entry after it.
//! - An entry of version `v` answers reads at snapshots `>= v`; older
//!   snapshots read RocksDB.
//!
//! Index entries are rows of their own key spaces and are kept the same way
//! (a unique index's claim is read with a point read). An index build's
//! claims go in once written, with the build's snapshot as the read that
//! found them: a commit after it that wrote the key raised the fence.
//! Written rows and built claims go in only while their shard has room (a
//! freshly loaded table is cached; a bulk load into a full cache does not
//! push out what readers use); other index entries are only read by range
//! reads, which do not look here. Deletes and absent rows are not kept.
//! Range deletes (a dropped table, a dropped or rebuilt index) drop the
//! entries of their key spaces and raise every fence; a snapshot install
//! clears everything. Each shard holds at most its share of the byte budget
//! and evicts with CLOCK (second chance).

use hashbrown::HashTable;
use parking_lot::Mutex;
use prismdb_common::{TableId, Version};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Shards, each with its own lock and fence.
const SHARDS: usize = 64;

/// Bytes an entry costs besides its key and row: the table slot (~38 at
/// the table's load factor), the CLOCK ring slot (16, ~24 with the ring's
/// spare room), and the allocation's header and rounding (~24).
const ENTRY_OVERHEAD: usize = 88;

/// One cached row: its newest version and, in one allocation, its key and
/// that version's stored bytes.
struct Entry {
    /// `key length (u16 LE) | key | stored bytes`.
    data: Arc<[u8]>,
    version: Version,
    /// Read since the CLOCK hand last passed it.
    referenced: bool,
}

/// A hint to load the cache line at `p` (nothing on other targets).
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64's baseline, and a prefetch is a hint
    // that never faults or reads memory into the program, whatever `p` is.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn key_of(data: &[u8]) -> &[u8] {
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    &data[2..2 + n]
}

fn pack(key: &[u8], value: &[u8]) -> Arc<[u8]> {
    let mut data = Vec::with_capacity(2 + key.len() + value.len());
    data.extend((key.len() as u16).to_le_bytes());
    data.extend(key);
    data.extend(value);
    Arc::from(data)
}

#[derive(Default)]
struct Shard {
    /// The newest version of any write applied to a row of this shard (or
    /// of a whole-store change): reads older than it do not fill in.
    fence: Version,
    table: HashTable<Entry>,
    /// CLOCK order: entries' data in the order they were put in. A slot
    /// whose entry was removed or replaced since is stale and skipped.
    ring: VecDeque<Arc<[u8]>>,
    bytes: usize,
    /// Reads answered here, and reads that were not.
    hits: u64,
    misses: u64,
}

/// The bytes an entry of `key` and `value` is counted as.
fn cost(key: &[u8], value: &[u8]) -> usize {
    2 + key.len() + value.len() + ENTRY_OVERHEAD
}

impl Shard {
    /// The bytes a held entry (its packed `data`) is counted as.
    fn cost(data: &[u8]) -> usize {
        data.len() + ENTRY_OVERHEAD
    }

    fn remove(&mut self, hash: u64, key: &[u8]) {
        if let Ok(e) = self.table.find_entry(hash, |e| key_of(&e.data) == key) {
            let (e, _) = e.remove();
            self.bytes -= Shard::cost(&e.data);
        }
    }

    /// Evicts until the shard holds at most `budget` bytes.
    fn evict(&mut self, budget: usize, hasher: &foldhash::fast::RandomState) {
        while self.bytes > budget {
            let Some(data) = self.ring.pop_front() else {
                return;
            };
            let key = key_of(&data);
            let hash = hasher.hash_one(key);
            let Some(e) = self.table.find_mut(hash, |e| key_of(&e.data) == key) else {
                continue;
            };
            if !Arc::ptr_eq(&e.data, &data) {
                continue;
            }
            if e.referenced {
                e.referenced = false;
                self.ring.push_back(data);
            } else {
                self.remove(hash, key);
            }
        }
        // Removed and replaced rows leave stale slots behind.
        if self.ring.len() > 2 * self.table.len() + 1024 {
            let table = &self.table;
            self.ring.retain(|d| {
                let key = key_of(d);
                table
                    .find(hasher.hash_one(key), |e| key_of(&e.data) == key)
                    .is_some_and(|e| Arc::ptr_eq(&e.data, d))
            });
        }
    }

    fn clear(&mut self, fence: Version) {
        self.fence = fence;
        self.table.clear();
        self.ring.clear();
        self.bytes = 0;
    }
}

/// Hits and misses of the row cache since the store opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Rows held and the bytes they are counted as.
    pub rows: u64,
    pub bytes: u64,
}

/// The newest versions of recently read rows, keyed by `table | pk`.
pub(crate) struct RowCache {
    shards: Box<[Mutex<Shard>]>,
    hasher: foldhash::fast::RandomState,
    shard_budget: usize,
}

impl RowCache {
    /// A cache of at most `bytes` (0 turns it off).
    pub(crate) fn new(bytes: usize) -> RowCache {
        RowCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
            shard_budget: bytes / SHARDS,
        }
    }

    fn enabled(&self) -> bool {
        self.shard_budget > 0
    }

    /// The row's hash and its shard. The table takes the hash's low bits
    /// for the bucket and its top 7 for the control byte; the shard takes
    /// bits from the middle, so keys of one shard still spread over both.
    fn shard(&self, row: &[u8]) -> (u64, &Mutex<Shard>) {
        let h = self.hasher.hash_one(row);
        (h, &self.shards[(h >> 32) as usize % SHARDS])
    }

    /// `f` of the stored bytes of `row` (`table | pk`) as of `snapshot`, if
    /// the cache holds its newest version and that is not newer than
    /// `snapshot`. `f` runs under the shard's lock: a hit writes nothing
    /// that other threads read (no reference count, no shared counter).
    pub(crate) fn read<R>(
        &self,
        row: &[u8],
        snapshot: Version,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        if !self.enabled() {
            return None;
        }
        let (hash, shard) = self.shard(row);
        let mut shard = shard.lock();
        let Some(e) = shard
            .table
            .find_mut(hash, |e| key_of(&e.data) == row)
            .filter(|e| e.version <= snapshot)
        else {
            shard.misses += 1;
            return None;
        };
        if !e.referenced {
            e.referenced = true;
        }
        let out = f(&e.data[2 + key_of(&e.data).len()..]);
        shard.hits += 1;
        Some(out)
    }

    /// The version of `row` the cache holds, which is its newest applied
    /// version, and live (deletes are not kept); `None` when it holds none.
    pub(crate) fn newest(&self, row: &[u8]) -> Option<Version> {
        if !self.enabled() {
            return None;
        }
        let (hash, shard) = self.shard(row);
        let shard = shard.lock();
        shard
            .table
            .find(hash, |e| key_of(&e.data) == row)
            .map(|e| e.version)
    }

    /// Asks the CPU to start loading the entries of `rows`, for reads of
    /// all of them right after (the rows behind an index range): the
    /// lookups' memory misses then overlap instead of coming one after the
    /// other, each behind its shard's lock. Only the table's slots are
    /// touched here; the entries' data is prefetched, not read.
    pub(crate) fn prefetch<'r>(&self, rows: impl IntoIterator<Item = &'r [u8]>) {
        if !self.enabled() {
            return;
        }
        for row in rows {
            let (hash, shard) = self.shard(row);
            let shard = shard.lock();
            for e in shard.table.iter_hash(hash) {
                prefetch(e.data.as_ptr());
            }
        }
    }

    /// Whether an entry of `row` with `value` fits the cache at all.
    fn fits(&self, row: &[u8], value: &[u8]) -> bool {
        row.len() <= u16::MAX as usize && cost(row, value) <= self.shard_budget / 8
    }

    /// Keeps `value`, the live version `version` of `row` that a read at
    /// `snapshot` found, unless a newer write may have reached the row.
    /// Evicts to make room.
    pub(crate) fn fill(&self, row: &[u8], version: Version, value: &[u8], snapshot: Version) {
        self.put_in(row, version, value, snapshot, true);
    }

    /// [`RowCache::fill`] for what is not known to be read (an index
    /// build's entries): kept only while the shard has room, never pushing
    /// out what readers use.
    pub(crate) fn fill_spare(&self, row: &[u8], version: Version, value: &[u8], snapshot: Version) {
        self.put_in(row, version, value, snapshot, false);
    }

    fn put_in(&self, row: &[u8], version: Version, value: &[u8], snapshot: Version, evict: bool) {
        if !self.enabled() || !self.fits(row, value) {
            return;
        }
        let (hash, shard) = self.shard(row);
        let mut shard = shard.lock();
        if shard.fence > snapshot {
            return;
        }
        if shard.table.find(hash, |e| key_of(&e.data) == row).is_some() {
            return;
        }
        self.insert(&mut shard, hash, row, version, value, evict);
    }

    /// Puts a new entry in a shard (locked, without one for `row`): with
    /// `evict`, evicting to make room; without, only if there is room.
    fn insert(
        &self,
        shard: &mut Shard,
        hash: u64,
        row: &[u8],
        version: Version,
        value: &[u8],
        evict: bool,
    ) {
        let cost = cost(row, value);
        if !evict && shard.bytes + cost > self.shard_budget {
            return;
        }
        let data = pack(row, value);
        shard.bytes += cost;
        shard.ring.push_back(data.clone());
        shard.table.insert_unique(
            hash,
            Entry {
                data,
                version,
                referenced: false,
            },
            |e| self.hasher.hash_one(key_of(&e.data)),
        );
        if evict {
            shard.evict(self.shard_budget, &self.hasher);
        }
    }

    /// A write at `version` to `row` (`value`: the stored bytes, a row or a
    /// delete), called before the write can be read: a cached row takes
    /// the new version (a delete drops it), and reads older than `version`
    /// no longer fill the shard in. A row not cached goes in, with `admit`,
    /// only while the shard has room: a fresh load is cached, but a bulk
    /// load does not push out what readers use.
    pub(crate) fn write(&self, row: &[u8], version: Version, value: &[u8], admit: bool) {
        if !self.enabled() {
            return;
        }
        let live = value.first() == Some(&crate::row::ROW) && self.fits(row, value);
        let (hash, shard) = self.shard(row);
        let mut shard = shard.lock();
        shard.fence = shard.fence.max(version);
        let Some(e) = shard.table.find_mut(hash, |e| key_of(&e.data) == row) else {
            if live && admit {
                self.insert(&mut shard, hash, row, version, value, false);
            }
            return;
        };
        if !live {
            shard.remove(hash, row);
            return;
        }
        let data = pack(row, value);
        let old = Shard::cost(&e.data);
        e.version = version;
        e.data = data.clone();
        shard.bytes = shard.bytes + Shard::cost(&data) - old;
        // The entry's old ring slot is stale now.
        shard.ring.push_back(data);
        shard.evict(self.shard_budget, &self.hasher);
    }

    /// Every row of the key spaces `tables` removed at `version`: drops
    /// their entries and keeps reads older than `version` from filling in
    /// anywhere.
    pub(crate) fn clear_tables(&self, tables: &[TableId], version: Version) {
        if !self.enabled() || tables.is_empty() {
            return;
        }
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.fence = shard.fence.max(version);
            let mut freed = 0;
            shard.table.retain(|e| {
                let gone = tables
                    .iter()
                    .any(|t| key_of(&e.data).starts_with(&t.to_be_bytes()));
                if gone {
                    freed += Shard::cost(&e.data);
                }
                !gone
            });
            shard.bytes -= freed;
        }
    }

    /// A change to the whole store: drops every entry and keeps reads
    /// older than `version` from filling in.
    pub(crate) fn clear(&self, version: Version) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let fence = shard.fence.max(version);
            shard.clear(fence);
        }
    }

    /// After the store's contents were replaced (with every fence raised
    /// to the maximum while that happened): the fences become `version`,
    /// the newest version the new contents hold.
    pub(crate) fn reopen(&self, version: Version) {
        for shard in self.shards.iter() {
            shard.lock().clear(version);
        }
    }

    pub(crate) fn stats(&self) -> RowCacheStats {
        let mut stats = RowCacheStats::default();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            stats.hits += shard.hits;
            stats.misses += shard.misses;
            stats.rows += shard.table.len() as u64;
            stats.bytes += shard.bytes as u64;
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RowCache {
        fn get(&self, row: &[u8], snapshot: Version) -> Option<Vec<u8>> {
            self.read(row, snapshot, <[u8]>::to_vec)
        }
    }

    fn key(i: u32) -> Vec<u8> {
        let mut k = 1u32.to_be_bytes().to_vec();
        k.extend(i.to_be_bytes());
        k
    }

    #[test]
    fn an_entry_answers_snapshots_from_its_version_on() {
        let c = RowCache::new(1 << 20);
        c.fill(&key(1), 5, b"row", 7);
        assert!(c.get(&key(1), 4).is_none());
        assert_eq!(&*c.get(&key(1), 5).unwrap(), b"row".as_slice());
        assert_eq!(&*c.get(&key(1), 100).unwrap(), b"row".as_slice());
    }

    fn stored(text: &[u8]) -> Vec<u8> {
        let mut v = vec![crate::row::ROW];
        v.extend(text);
        v
    }

    #[test]
    fn a_write_replaces_a_cached_row_and_fences_older_reads() {
        let c = RowCache::new(1 << 20);
        c.fill(&key(1), 5, &stored(b"old"), 7);
        c.write(&key(1), 9, &stored(b"new"), true);
        assert!(c.get(&key(1), 8).is_none());
        assert_eq!(&*c.get(&key(1), 9).unwrap(), &stored(b"new")[..]);
        // A delete drops it.
        c.write(&key(1), 11, &crate::row::tombstone(), true);
        assert!(c.get(&key(1), 100).is_none());
        // A reader that took its snapshot before the write does not fill in.
        c.fill(&key(1), 9, &stored(b"new"), 10);
        assert!(c.get(&key(1), 100).is_none());
        // One that read after it does.
        c.fill(&key(1), 12, &stored(b"newer"), 12);
        assert_eq!(&*c.get(&key(1), 12).unwrap(), &stored(b"newer")[..]);
        // A row not cached goes in when written, while there is room.
        c.write(&key(2), 13, &stored(b"x"), true);
        assert!(c.get(&key(2), 12).is_none());
        assert_eq!(&*c.get(&key(2), 13).unwrap(), &stored(b"x")[..]);
    }

    #[test]
    fn writes_and_build_entries_do_not_push_out_read_rows() {
        let c = RowCache::new(SHARDS * 4096);
        for i in 0..10_000 {
            c.fill(&key(i), 1, &stored(&[7; 60]), 1);
        }
        let read: Vec<u32> = (0..10_000)
            .filter(|i| c.get(&key(*i), 1).is_some())
            .collect();
        assert!(!read.is_empty());
        for i in 10_000..20_000 {
            c.write(&key(i), 2, &stored(&[7; 60]), true);
            c.fill_spare(&key(i + 10_000), 1, &stored(&[7; 60]), 2);
        }
        assert!(read.iter().all(|i| c.get(&key(*i), 2).is_some()));
        // But on an empty cache they go in, up to its budget.
        let c = RowCache::new(SHARDS * 4096);
        for i in 0..10_000 {
            c.write(&key(i), 2, &stored(&[7; 60]), true);
        }
        let s = c.stats();
        assert!(s.rows > 0 && s.bytes as usize <= SHARDS * 4096, "{s:?}");
    }

    #[test]
    fn clearing_drops_everything_and_fences_every_shard() {
        let c = RowCache::new(1 << 20);
        for i in 0..200 {
            c.fill(&key(i), 3, b"r", 3);
        }
        c.clear(10);
        assert_eq!(c.stats().rows, 0);
        for i in 0..200 {
            c.fill(&key(i), 3, b"r", 9);
        }
        assert_eq!(c.stats().rows, 0);
        c.reopen(4);
        c.fill(&key(1), 3, b"r", 5);
        assert_eq!(c.stats().rows, 1);
    }

    #[test]
    fn shards_stay_within_budget_and_keep_referenced_rows() {
        let c = RowCache::new(SHARDS * 4096);
        let hot = key(0);
        c.fill(&hot, 1, &[7; 100], 1);
        for i in 1..10_000 {
            c.get(&hot, 1);
            c.fill(&key(i), 1, &[7; 100], 1);
        }
        let s = c.stats();
        assert!(s.bytes as usize <= SHARDS * 4096, "{s:?}");
        assert!(s.rows > 0);
        assert!(c.get(&hot, 1).is_some());
    }

    #[test]
    fn clearing_key_spaces_keeps_other_rows() {
        let c = RowCache::new(1 << 20);
        let mut other = 2u32.to_be_bytes().to_vec();
        other.extend(1u32.to_be_bytes());
        c.fill(&key(1), 1, b"r", 1);
        c.fill(&other, 1, b"o", 1);
        c.clear_tables(&[1], 5);
        assert!(c.get(&key(1), 9).is_none());
        assert_eq!(&*c.get(&other, 9).unwrap(), b"o".as_slice());
        // Every fence rose: a read from before the change does not fill in.
        c.fill(&key(1), 1, b"r", 4);
        assert!(c.get(&key(1), 9).is_none());
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let off = RowCache::new(0);
        off.fill(&key(1), 1, b"r", 1);
        assert!(off.get(&key(1), 1).is_none());
    }
}

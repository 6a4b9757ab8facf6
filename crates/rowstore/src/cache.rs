//! The row cache: the newest version of recently read rows, in memory.
//!
//! A point read in RocksDB seeks the memtables and every file whose bloom
//! filter admits the row, and that seek is most of what a primary-key or
//! index lookup costs in the store. [`RowCache`] keeps, per row, its newest
//! version and stored bytes, so reading it again at that version or any
//! later snapshot is a hash lookup.
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
//! (a unique index's claim is read with a point read); an index build
//! writes entries without going through here, but before its index serves
//! reads, so none of its key space is cached yet. Deletes and absent
//! rows are not kept. Range deletes (a dropped table, a dropped or rebuilt
//! index) drop the entries of their key spaces and raise every fence; a
//! snapshot install clears everything. Each shard holds at most its share
//! of the byte budget and evicts with CLOCK (second chance).

use parking_lot::Mutex;
use prismdb_common::{TableId, Version};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shards, each with its own lock and fence.
const SHARDS: usize = 64;

/// Bytes an entry costs besides its key and row: the map slot (~64 at the
/// map's load factor), the CLOCK ring slot (24), and the two allocations'
/// headers and rounding (~40).
const ENTRY_OVERHEAD: usize = 128;

/// One cached row: its newest version and that version's stored bytes.
struct Entry {
    version: Version,
    row: Arc<[u8]>,
    /// Read since the CLOCK hand last passed it.
    referenced: bool,
    /// Tells this entry from an earlier one of the same row in the ring.
    generation: u64,
}

#[derive(Default)]
struct Shard {
    /// The newest version of any write applied to a row of this shard (or
    /// of a whole-store change): reads older than it do not fill in.
    fence: Version,
    map: HashMap<Arc<[u8]>, Entry, foldhash::fast::RandomState>,
    /// CLOCK order: rows in the order they were put in, with the entry's
    /// generation (stale slots, whose row was removed or put in again, are
    /// skipped).
    ring: VecDeque<(Arc<[u8]>, u64)>,
    bytes: usize,
    generations: u64,
}

impl Shard {
    fn cost(key: &[u8], row: &[u8]) -> usize {
        key.len() + row.len() + ENTRY_OVERHEAD
    }

    fn remove(&mut self, key: &[u8]) {
        if let Some((k, e)) = self.map.remove_entry(key) {
            self.bytes -= Shard::cost(&k, &e.row);
        }
    }

    /// Evicts until the shard holds at most `budget` bytes.
    fn evict(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some((key, generation)) = self.ring.pop_front() else {
                return;
            };
            let Some(e) = self.map.get_mut(&key) else {
                continue;
            };
            if e.generation != generation {
                continue;
            }
            if e.referenced {
                e.referenced = false;
                self.ring.push_back((key, generation));
            } else {
                self.remove(&key);
            }
        }
        // Removed and refilled rows leave stale slots behind.
        if self.ring.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.ring
                .retain(|(k, g)| map.get(k).is_some_and(|e| e.generation == *g));
        }
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
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RowCache {
    /// A cache of at most `bytes` (0 turns it off).
    pub(crate) fn new(bytes: usize) -> RowCache {
        RowCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
            shard_budget: bytes / SHARDS,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn enabled(&self) -> bool {
        self.shard_budget > 0
    }

    fn shard(&self, row: &[u8]) -> &Mutex<Shard> {
        let h = self.hasher.hash_one(row);
        // The map hashes the key again with its own state; the shard takes
        // the high bits so the two do not line up.
        &self.shards[(h >> 58) as usize % SHARDS]
    }

    /// The stored bytes of `row` (`table | pk`) as of `snapshot`, if the
    /// cache holds its newest version and that is not newer than `snapshot`.
    pub(crate) fn get(&self, row: &[u8], snapshot: Version) -> Option<Arc<[u8]>> {
        if !self.enabled() {
            return None;
        }
        let mut shard = self.shard(row).lock();
        let hit = shard.map.get_mut(row).and_then(|e| {
            (e.version <= snapshot).then(|| {
                e.referenced = true;
                e.row.clone()
            })
        });
        drop(shard);
        match hit {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        hit
    }

    /// Keeps `value`, the live version `version` of `row` that a read at
    /// `snapshot` found, unless a newer write may have reached the row.
    pub(crate) fn fill(&self, row: &[u8], version: Version, value: &[u8], snapshot: Version) {
        if !self.enabled() {
            return;
        }
        let cost = Shard::cost(row, value);
        if cost > self.shard_budget / 8 {
            return;
        }
        let mut shard = self.shard(row).lock();
        if shard.fence > snapshot || shard.map.contains_key(row) {
            return;
        }
        shard.generations += 1;
        let generation = shard.generations;
        let key: Arc<[u8]> = Arc::from(row);
        shard.map.insert(
            key.clone(),
            Entry {
                version,
                row: Arc::from(value),
                referenced: false,
                generation,
            },
        );
        shard.ring.push_back((key, generation));
        shard.bytes += cost;
        shard.evict(self.shard_budget);
    }

    /// A write at `version` to `row` (`value`: the stored bytes, a row or a
    /// delete), called before the write can be read: a cached row takes
    /// the new version (a delete drops it), and reads older than `version`
    /// no longer fill the shard in. Rows not cached stay out: a bulk load
    /// does not push out what readers use.
    pub(crate) fn write(&self, row: &[u8], version: Version, value: &[u8]) {
        if !self.enabled() {
            return;
        }
        let live = value.first() == Some(&crate::row::ROW);
        let mut shard = self.shard(row).lock();
        shard.fence = shard.fence.max(version);
        match shard.map.get_mut(row) {
            Some(e) if live && Shard::cost(row, value) <= self.shard_budget / 8 => {
                let old = e.row.len();
                e.version = version;
                e.row = Arc::from(value);
                shard.bytes = shard.bytes + value.len() - old;
                shard.evict(self.shard_budget);
            }
            Some(_) => shard.remove(row),
            None => {}
        }
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
            let gone: Vec<Arc<[u8]>> = shard
                .map
                .keys()
                .filter(|k| tables.iter().any(|t| k.starts_with(&t.to_be_bytes())))
                .cloned()
                .collect();
            for k in gone {
                shard.remove(&k);
            }
        }
    }

    /// A change to the whole store: drops every entry and keeps reads
    /// older than `version` from filling in.
    pub(crate) fn clear(&self, version: Version) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.fence = shard.fence.max(version);
            shard.map.clear();
            shard.ring.clear();
            shard.bytes = 0;
        }
    }

    /// After the store's contents were replaced (with every fence raised
    /// to the maximum while that happened): the fences become `version`,
    /// the newest version the new contents hold.
    pub(crate) fn reopen(&self, version: Version) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.fence = version;
            shard.map.clear();
            shard.ring.clear();
            shard.bytes = 0;
        }
    }

    pub(crate) fn stats(&self) -> RowCacheStats {
        let (mut rows, mut bytes) = (0, 0);
        for shard in self.shards.iter() {
            let shard = shard.lock();
            rows += shard.map.len() as u64;
            bytes += shard.bytes as u64;
        }
        RowCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            rows,
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(&*c.get(&key(1), 5).unwrap(), b"row");
        assert_eq!(&*c.get(&key(1), 100).unwrap(), b"row");
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
        c.write(&key(1), 9, &stored(b"new"));
        assert!(c.get(&key(1), 8).is_none());
        assert_eq!(&*c.get(&key(1), 9).unwrap(), &stored(b"new")[..]);
        // A delete drops it.
        c.write(&key(1), 11, &crate::row::tombstone());
        assert!(c.get(&key(1), 100).is_none());
        // A reader that took its snapshot before the write does not fill in.
        c.fill(&key(1), 9, &stored(b"new"), 10);
        assert!(c.get(&key(1), 100).is_none());
        // One that read after it does.
        c.fill(&key(1), 12, &stored(b"newer"), 12);
        assert_eq!(&*c.get(&key(1), 12).unwrap(), &stored(b"newer")[..]);
        // Rows not cached stay out when written.
        c.write(&key(2), 13, &stored(b"x"));
        assert!(c.get(&key(2), 13).is_none());
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
        assert_eq!(&*c.get(&other, 9).unwrap(), b"o");
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

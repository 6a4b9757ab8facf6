//! Reusable RocksDB iterators for point reads and small range reads.
//!
//! A point read is one seek, but creating a RocksDB iterator for it costs
//! more than the seek: it references the column family's current state and
//! builds an iterator over the memtables and every level, and destroying it
//! undoes all of that. [`PointReaders`] keeps idle iterators and `refresh`es
//! one for each read instead: while no flush or compaction has changed the
//! column family, a refresh only moves the iterator to the newest sequence
//! number. Idle iterators keep the memtables and files they were built over
//! alive, so reads drop the least recently used one once it has been idle
//! for a second, and [`PointReaders::release_idle`] drops idle ones when no
//! reads come.
//!
//! This is the crate's one `unsafe` use: the pooled iterators borrow the
//! database, which the borrow checker cannot express for a pool stored next
//! to the database it borrows. The invariants are kept here (see
//! [`PointReaders::with`]).

use parking_lot::Mutex;
use rocksdb::{DB, DBRawIterator, ReadOptions};
use std::time::{Duration, Instant};

/// Most idle iterators kept; more than the threads reading at once is waste.
const MAX_IDLE: usize = 64;

/// An iterator idle this long is dropped by the next read.
const STALE: Duration = Duration::from_secs(1);

/// A pooled iterator and when it was last returned.
struct Idle {
    it: DBRawIterator<'static>,
    since: Instant,
}

/// Idle iterators over one column family of one database, all created with
/// the same read options.
pub(crate) struct PointReaders {
    idle: Mutex<Vec<Idle>>,
    options: fn() -> ReadOptions,
}

impl PointReaders {
    /// An empty pool whose iterators are made with `options()`.
    pub(crate) fn new(options: fn() -> ReadOptions) -> PointReaders {
        PointReaders {
            idle: Mutex::new(Vec::new()),
            options,
        }
    }

    /// Runs `f` with an iterator over `cf` of `db` that sees everything
    /// written so far; `f` must seek before reading.
    ///
    /// `db` must be the database every call on this pool passes, and the
    /// pool must be [`clear`](PointReaders::clear)ed before that database
    /// is dropped: [`crate::RowStore`] owns both and clears the pool in its
    /// `Drop`. Iterators never leave this pool except into `f`, which only
    /// borrows one.
    pub(crate) fn with<R>(
        &self,
        db: &DB,
        cf: &impl rocksdb::AsColumnFamilyRef,
        f: impl FnOnce(&mut DBRawIterator<'_>) -> R,
    ) -> Result<R, rocksdb::Error> {
        let reused = self.idle.lock().pop();
        let mut it = match reused {
            Some(mut idle) => match idle.it.refresh() {
                Ok(()) => idle.it,
                Err(_) => Self::open(db, cf, (self.options)()),
            },
            None => Self::open(db, cf, (self.options)()),
        };
        let out = f(&mut it);
        let now = Instant::now();
        // The pool is a stack: its bottom is the least recently used, and
        // is dropped once it has been idle for a while.
        let stale = {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(Idle { it, since: now });
            }
            match idle.first() {
                Some(oldest) if now.duration_since(oldest.since) > STALE => Some(idle.remove(0)),
                _ => None,
            }
        };
        drop(stale);
        Ok(out)
    }

    /// A new iterator whose borrow of `db` is extended to `'static`.
    #[allow(unsafe_code)]
    fn open(
        db: &DB,
        cf: &impl rocksdb::AsColumnFamilyRef,
        ro: ReadOptions,
    ) -> DBRawIterator<'static> {
        let it = db.raw_iterator_cf_opt(cf, ro);
        // SAFETY: the iterator refers to `db` (and the column family, which
        // is never dropped while the database is open). It is stored only in
        // this pool, which is cleared before the database is dropped (the
        // contract of `with`), so it never outlives what it refers to. The
        // lifetime is a marker only: the layout does not depend on it.
        unsafe { std::mem::transmute::<DBRawIterator<'_>, DBRawIterator<'static>>(it) }
    }

    /// Drops the iterators not used for `idle_for` (they pin the memtables
    /// and files they were built over).
    pub(crate) fn release_idle(&self, idle_for: Duration) {
        let now = Instant::now();
        // Taken out under the lock, destroyed after it.
        let stale: Vec<Idle> = {
            let mut idle = self.idle.lock();
            let (keep, stale) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|i| now.duration_since(i.since) < idle_for);
            *idle = keep;
            stale
        };
        drop(stale);
    }

    /// Drops every idle iterator.
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.idle.lock());
        drop(all);
    }
}

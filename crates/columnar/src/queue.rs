//! The apply queue: work the node handed to the replicas that the apply
//! thread has not done yet, in log order, and how far behind that leaves
//! the replicas.
//!
//! The node submits each applied batch of log entries right after the row
//! store applied it and goes on; the replicas' apply thread takes what is
//! queued and applies it. Submitting never blocks the log: when more row
//! changes wait than the queue holds (the apply thread is paused, or a
//! burst of writes outruns it), the queued changes are dropped and the
//! tables they belonged to are rebuilt from the row store instead — first
//! thing, before the entries that remain (their catalog changes, which
//! must still apply in order). A rebuild reads a row-store snapshot taken
//! after the dropped entries were applied there, so nothing is lost.
//!
//! The queue also remembers when its oldest piece of work was submitted:
//! that age is the replicas' lag.

use crate::store::ApplyEntry;
use prismdb_catalog::Catalog;
use prismdb_common::{TableId, Version};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// One piece of work for the apply thread.
pub(crate) enum Work {
    /// Log entries up to index `through` (entries that change nothing this
    /// node keeps are left out, so `through` may be past the last one).
    Entries {
        entries: Vec<ApplyEntry>,
        through: Version,
    },
    /// Rebuild these tables' replicas from the row store: their queued
    /// changes were dropped.
    Rebuild(BTreeSet<TableId>),
    /// The row store was replaced wholesale by a log snapshot at index
    /// `at` with this catalog.
    Reset { catalog: Arc<Catalog>, at: Version },
}

impl Work {
    fn changes(&self) -> usize {
        match self {
            Work::Entries { entries, .. } => entries
                .iter()
                .flat_map(|e| &e.changes)
                .map(|(_, c)| c.len())
                .sum(),
            Work::Rebuild(_) | Work::Reset { .. } => 0,
        }
    }
}

struct Queued {
    work: Work,
    submitted: Instant,
}

/// Work waiting for the apply thread.
pub(crate) struct ApplyQueue {
    items: VecDeque<Queued>,
    /// Row changes in `items`.
    changes: usize,
    /// More changes than this, with work already waiting, overflow.
    limit: usize,
    /// When the work the thread is doing now was submitted.
    in_flight: Option<Instant>,
    overflows: u64,
}

impl ApplyQueue {
    pub(crate) fn new(limit: usize) -> ApplyQueue {
        ApplyQueue {
            items: VecDeque::new(),
            changes: 0,
            limit,
            in_flight: None,
            overflows: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `work`. Past the limit, drops every queued row change (see
    /// the module documentation) and returns the tables that will be
    /// rebuilt.
    pub(crate) fn push(&mut self, work: Work, now: Instant) -> Option<BTreeSet<TableId>> {
        let n = work.changes();
        self.items.push_back(Queued {
            work,
            submitted: now,
        });
        if self.items.len() > 1 && self.changes + n > self.limit {
            return Some(self.overflow());
        }
        self.changes += n;
        None
    }

    /// Strips the row changes from every queued entry and puts a rebuild
    /// of their tables first.
    fn overflow(&mut self) -> BTreeSet<TableId> {
        self.overflows += 1;
        let oldest = self.items.front().map(|q| q.submitted);
        let mut rebuild = BTreeSet::new();
        let mut kept: VecDeque<Queued> = VecDeque::with_capacity(self.items.len());
        for q in self.items.drain(..) {
            match q.work {
                Work::Rebuild(tables) => rebuild.extend(tables),
                Work::Entries { entries, through } => {
                    let mut catalogs = Vec::new();
                    for e in entries {
                        rebuild.extend(e.changes.iter().map(|(t, _)| *t));
                        if e.catalog.is_some() {
                            catalogs.push(ApplyEntry {
                                changes: Vec::new(),
                                ..e
                            });
                        }
                    }
                    // Entries left without anything to apply fold into the
                    // previous ones: only how far they reach matters.
                    match kept.back_mut() {
                        Some(Queued {
                            work:
                                Work::Entries {
                                    entries: prev,
                                    through: prev_through,
                                },
                            ..
                        }) => {
                            prev.extend(catalogs);
                            *prev_through = (*prev_through).max(through);
                        }
                        _ => kept.push_back(Queued {
                            work: Work::Entries {
                                entries: catalogs,
                                through,
                            },
                            submitted: q.submitted,
                        }),
                    }
                }
                reset @ Work::Reset { .. } => kept.push_back(Queued {
                    work: reset,
                    submitted: q.submitted,
                }),
            }
        }
        if !rebuild.is_empty() {
            kept.push_front(Queued {
                work: Work::Rebuild(rebuild.clone()),
                submitted: oldest.unwrap_or_else(Instant::now),
            });
        }
        self.items = kept;
        self.changes = 0;
        rebuild
    }

    /// Takes all queued work for the thread, which calls [`Self::done`]
    /// once it has done it.
    pub(crate) fn take(&mut self) -> Vec<Work> {
        self.in_flight = self.items.front().map(|q| q.submitted);
        self.changes = 0;
        self.items.drain(..).map(|q| q.work).collect()
    }

    /// Drops all queued work (what a start covers already).
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.changes = 0;
    }

    pub(crate) fn done(&mut self) {
        self.in_flight = None;
    }

    /// When the oldest work not done yet was submitted.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.in_flight
            .or_else(|| self.items.front().map(|q| q.submitted))
    }

    /// How many times queued changes were dropped for a rebuild.
    pub(crate) fn overflows(&self) -> u64 {
        self.overflows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::RowChange;

    fn entry(index: Version, table: TableId, rows: usize, catalog: bool) -> ApplyEntry {
        ApplyEntry {
            index,
            catalog: catalog.then(|| Arc::new(Catalog::default())),
            changes: vec![(
                table,
                (0..rows)
                    .map(|i| RowChange {
                        key: vec![i as u8],
                        row: None,
                    })
                    .collect(),
            )],
        }
    }

    fn entries(list: Vec<ApplyEntry>, through: Version) -> Work {
        Work::Entries {
            entries: list,
            through,
        }
    }

    #[test]
    fn work_comes_out_in_order_and_the_oldest_sets_the_lag() {
        let mut q = ApplyQueue::new(100);
        let t0 = Instant::now();
        assert!(
            q.push(entries(vec![entry(1, 7, 3, false)], 1), t0)
                .is_none()
        );
        let t1 = t0 + std::time::Duration::from_millis(5);
        assert!(
            q.push(entries(vec![entry(2, 7, 3, false)], 4), t1)
                .is_none()
        );
        assert_eq!(q.oldest(), Some(t0));
        let taken = q.take();
        assert_eq!(taken.len(), 2);
        assert!(q.is_empty());
        // Still the oldest while the thread applies it.
        assert_eq!(q.oldest(), Some(t0));
        q.done();
        assert_eq!(q.oldest(), None);
    }

    #[test]
    fn one_large_entry_alone_does_not_overflow() {
        let mut q = ApplyQueue::new(10);
        assert!(
            q.push(entries(vec![entry(1, 7, 50, false)], 1), Instant::now())
                .is_none()
        );
        assert_eq!(q.overflows(), 0);
    }

    #[test]
    fn overflow_drops_changes_keeps_catalogs_and_rebuilds_first() {
        let mut q = ApplyQueue::new(10);
        let t0 = Instant::now();
        q.push(entries(vec![entry(1, 7, 6, false)], 1), t0);
        q.push(entries(vec![entry(2, 8, 1, true)], 2), t0);
        let rebuilt = q
            .push(entries(vec![entry(3, 9, 6, false)], 5), t0)
            .expect("overflow");
        assert_eq!(rebuilt, BTreeSet::from([7, 8, 9]));
        assert_eq!(q.overflows(), 1);
        let work = q.take();
        assert!(matches!(&work[0], Work::Rebuild(t) if *t == BTreeSet::from([7, 8, 9])));
        // What is left: the catalog change of entry 2, reaching index 5.
        let rest: Vec<(Vec<Version>, Version)> = work[1..]
            .iter()
            .map(|w| match w {
                Work::Entries { entries, through } => {
                    assert!(entries.iter().all(|e| e.changes.is_empty()));
                    (entries.iter().map(|e| e.index).collect(), *through)
                }
                _ => panic!("unexpected work"),
            })
            .collect();
        assert_eq!(rest, vec![(vec![2], 5)]);
        assert_eq!(Work::changes(&work[1]), 0);
    }

    #[test]
    fn a_second_overflow_merges_into_one_rebuild() {
        let mut q = ApplyQueue::new(4);
        let t0 = Instant::now();
        q.push(entries(vec![entry(1, 7, 3, false)], 1), t0);
        q.push(entries(vec![entry(2, 7, 3, false)], 2), t0);
        q.push(entries(vec![entry(3, 8, 3, false)], 3), t0);
        q.push(entries(vec![entry(4, 8, 3, false)], 4), t0);
        let work = q.take();
        let rebuilds: Vec<_> = work
            .iter()
            .filter_map(|w| match w {
                Work::Rebuild(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(rebuilds, vec![BTreeSet::from([7, 8])]);
        assert!(matches!(
            work.last(),
            Some(Work::Entries { through: 4, .. })
        ));
    }
}

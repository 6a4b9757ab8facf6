//! Admission control of analytical statements: at most `max_running` run
//! at once on a node, up to `max_queued` more wait, and a statement past
//! that is refused (53000) instead of piling up.
//!
//! Only statements the planner estimates as large come here (see
//! `crate::query`); small ones — point reads, short ranges, small tables,
//! plans that read no table — never queue behind them. The queue is
//! ordered by the statement's priority (`prism.priority`: high, medium,
//! low, in the spirit of TiDB's resource groups) and then by arrival, and
//! a [`Permit`] passes its slot straight to the next waiter when its
//! statement ends, so a steady stream of new arrivals cannot overtake the
//! queue. While a statement waits, its session shows it in
//! `pg_stat_activity` (`wait_event_type` `Admission`, `wait_event`
//! `AnalyticsQueue`).
//!
//! The running count also sizes each statement's share of the analytics
//! memory pool: a statement may hold `pool / max_running` unless its
//! session sets `prism.query_memory_limit`, so every admitted statement is
//! guaranteed its share however large the others are.

use parking_lot::Mutex;
use prismdb_common::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::oneshot;

/// How soon a queued statement is admitted relative to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    High,
    #[default]
    Medium,
    Low,
}

impl Priority {
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high" => Some(Priority::High),
            "medium" => Some(Priority::Medium),
            "low" => Some(Priority::Low),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

/// What the queue admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Analytical statements running at once (at least 1).
    pub max_running: usize,
    /// Statements waiting beyond those; one more is refused.
    pub max_queued: usize,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            // One per analytics thread: one per CPU by default.
            max_running: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            max_queued: 64,
        }
    }
}

struct State {
    running: usize,
    /// Waiters by (priority, arrival).
    queue: BTreeMap<(Priority, u64), oneshot::Sender<Permit>>,
    next_seq: u64,
}

/// One node's admission queue.
pub struct Admission {
    limits: AdmissionLimits,
    state: Mutex<State>,
}

/// A running statement's slot; dropping it admits the next waiter.
pub struct Permit {
    admission: Option<Arc<Admission>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(admission) = self.admission.take() {
            admission.release();
        }
    }
}

/// Counts of the queue, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionStatus {
    pub running: usize,
    pub queued: usize,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits: AdmissionLimits {
                max_running: limits.max_running.max(1),
                max_queued: limits.max_queued,
            },
            state: Mutex::new(State {
                running: 0,
                queue: BTreeMap::new(),
                next_seq: 0,
            }),
        })
    }

    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    pub fn status(&self) -> AdmissionStatus {
        let s = self.state.lock();
        AdmissionStatus {
            running: s.running,
            queued: s.queue.len(),
        }
    }

    /// Admits a statement: at once while fewer than `max_running` run and
    /// nobody waits, else after the statements queued before it (by
    /// priority, then arrival). `on_wait` is called once if the statement
    /// has to wait. Dropping the returned future leaves the queue.
    pub async fn admit(
        self: &Arc<Self>,
        priority: Priority,
        on_wait: impl FnOnce(),
    ) -> Result<Permit> {
        let (key, rx) = {
            let mut s = self.state.lock();
            if s.running < self.limits.max_running && s.queue.is_empty() {
                s.running += 1;
                return Ok(Permit {
                    admission: Some(self.clone()),
                });
            }
            if s.queue.len() >= self.limits.max_queued {
                return Err(Error::InsufficientResources(format!(
                    "too many analytical statements: {} running and {} waiting \
                     (--analytics-max-running, --analytics-max-queued)",
                    s.running,
                    s.queue.len()
                )));
            }
            let key = (priority, s.next_seq);
            s.next_seq += 1;
            let (tx, rx) = oneshot::channel();
            s.queue.insert(key, tx);
            (key, rx)
        };
        on_wait();
        // Leaves the queue if this future is dropped while waiting.
        let mut waiting = Waiting {
            admission: self,
            key: Some(key),
        };
        let permit = rx.await;
        waiting.key = None;
        permit.map_err(|_| Error::Internal("the admission queue went away".into()))
    }

    /// A statement ended: its slot goes to the first waiter, if any.
    fn release(self: Arc<Self>) {
        let mut s = self.state.lock();
        while let Some((_, tx)) = s.queue.pop_first() {
            // The slot moves with the permit; `running` stays.
            let permit = Permit {
                admission: Some(self.clone()),
            };
            match tx.send(permit) {
                Ok(()) => return,
                Err(mut permit) => {
                    // The waiter left just now: try the next one, without
                    // letting the returned permit release the slot again.
                    permit.admission = None;
                }
            }
        }
        s.running -= 1;
    }
}

/// Removes a waiter whose statement stopped waiting.
struct Waiting<'a> {
    admission: &'a Arc<Admission>,
    key: Option<(Priority, u64)>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.admission.state.lock().queue.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(max_running: usize, max_queued: usize) -> AdmissionLimits {
        AdmissionLimits {
            max_running,
            max_queued,
        }
    }

    #[tokio::test]
    async fn runs_up_to_the_limit_then_queues_then_refuses() {
        let a = Admission::new(limits(2, 1));
        let p1 = a.admit(Priority::Medium, || {}).await.unwrap();
        let _p2 = a.admit(Priority::Medium, || {}).await.unwrap();
        let a2 = a.clone();
        let waited = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = waited.clone();
        let third = tokio::spawn(async move {
            a2.admit(Priority::Medium, move || {
                w.store(true, std::sync::atomic::Ordering::SeqCst)
            })
            .await
        });
        while a.status().queued == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(waited.load(std::sync::atomic::Ordering::SeqCst));
        let refused = a.admit(Priority::Medium, || {}).await;
        assert!(matches!(refused, Err(Error::InsufficientResources(_))));
        drop(p1);
        let p3 = third.await.unwrap().unwrap();
        assert_eq!(
            a.status(),
            AdmissionStatus {
                running: 2,
                queued: 0
            }
        );
        drop(p3);
        assert_eq!(a.status().running, 1);
    }

    #[tokio::test]
    async fn higher_priority_goes_first_and_leaving_the_queue_frees_the_place() {
        let a = Admission::new(limits(1, 10));
        let p = a.admit(Priority::Medium, || {}).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("low", Priority::Low),
            ("medium", Priority::Medium),
            ("high", Priority::High),
        ] {
            let (a2, order) = (a.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let permit = a2.admit(priority, || {}).await.unwrap();
                order.lock().push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(permit);
            }));
            while a.status().queued < tasks.len() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        // One more waiter gives up: the queue forgets it.
        let a2 = a.clone();
        let quitter =
            tokio::spawn(async move { a2.admit(Priority::High, || {}).await.map(|_| ()) });
        while a.status().queued < 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        quitter.abort();
        let _ = quitter.await;
        assert_eq!(a.status().queued, 3);
        drop(p);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock(), vec!["high", "medium", "low"]);
        assert_eq!(
            a.status(),
            AdmissionStatus {
                running: 0,
                queued: 0
            }
        );
    }
}

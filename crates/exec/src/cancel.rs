//! Stopping a session's running statement from elsewhere: a CancelRequest
//! on another connection (any thread), a client that hung up, or
//! `statement_timeout`.
//!
//! A [`CancelSignal`] belongs to one session. Each statement takes a
//! [`StatementGuard`] when it starts: the signal's epoch at that moment and
//! the statement's deadline. [`CancelSignal::cancel`] bumps the epoch and
//! wakes whatever waits, so only a statement running when the cancel came
//! is stopped; a cancel that arrives while the session is idle is forgotten,
//! as in PostgreSQL.
//!
//! Stopping means dropping the statement's future at its next await (see
//! [`StatementGuard::run`]); its analytics task is aborted with it, and
//! DataFusion's operators give the runtime back often enough (cooperative
//! budget) for the abort to land promptly. Streams of result rows check the
//! same guard between batches.

use prismdb_common::{Error, Result};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One session's cancel signal.
#[derive(Default)]
pub struct CancelSignal {
    epoch: AtomicU64,
    notify: Notify,
    /// The deadline of the statement running now, for code that waits
    /// without an await point to be dropped at (`pg_sleep`).
    deadline: parking_lot::Mutex<Option<Instant>>,
}

impl CancelSignal {
    /// Cancels the statement running now, if any.
    pub fn cancel(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Blocks the calling thread for `d`, or until the statement running
    /// now is cancelled or reaches its deadline (then with the error it
    /// stops with).
    pub fn sleep(&self, d: Duration) -> Result<()> {
        let since = self.epoch();
        let end = Instant::now() + d;
        let deadline = *self.deadline.lock();
        loop {
            let now = Instant::now();
            if self.epoch() != since {
                return Err(user_cancel());
            }
            if deadline.is_some_and(|d| now >= d) {
                return Err(timeout_cancel());
            }
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(10)));
        }
    }

    /// Resolves once a cancel arrives after `since`.
    async fn cancelled_after(&self, since: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.epoch() != since {
                return;
            }
            notified.await;
        }
    }
}

/// Why a statement stops early.
pub(crate) fn user_cancel() -> Error {
    Error::QueryCanceled("canceling statement due to user request".into())
}

pub(crate) fn timeout_cancel() -> Error {
    Error::QueryCanceled("canceling statement due to statement timeout".into())
}

/// The cancel epoch and deadline of one running statement.
#[derive(Clone)]
pub struct StatementGuard {
    signal: Arc<CancelSignal>,
    since: u64,
    deadline: Option<Instant>,
}

impl StatementGuard {
    /// A guard for a statement starting now, with `timeout` (none: no
    /// deadline).
    pub(crate) fn start(signal: &Arc<CancelSignal>, timeout: Option<Duration>) -> Self {
        let deadline = timeout.map(|t| Instant::now() + t);
        *signal.deadline.lock() = deadline;
        StatementGuard {
            signal: signal.clone(),
            since: signal.epoch(),
            deadline,
        }
    }

    /// The error the statement must stop with now, if any.
    pub fn check(&self) -> Result<()> {
        if self.signal.epoch() != self.since {
            return Err(user_cancel());
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timeout_cancel());
        }
        Ok(())
    }

    /// Runs `fut` until it ends, the session is cancelled or the deadline
    /// passes, whichever comes first.
    pub async fn run<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        // Statement futures are large; on the heap they do not weigh on the
        // stack of whoever polls this one.
        let fut = Box::pin(fut);
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.signal.cancelled_after(self.since) => Err(user_cancel()),
            () = deadline => Err(timeout_cancel()),
            out = fut => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_stops_the_running_statement_only() {
        let signal = Arc::new(CancelSignal::default());
        // A cancel while idle is forgotten.
        signal.cancel();
        let guard = StatementGuard::start(&signal, None);
        assert!(guard.check().is_ok());
        let s = signal.clone();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.cancel();
        });
        let out: Result<()> = guard.run(std::future::pending()).await;
        assert_eq!(out, Err(user_cancel()));
        canceller.await.unwrap();
        assert_eq!(guard.check(), Err(user_cancel()));
        // The next statement starts clean.
        assert!(StatementGuard::start(&signal, None).check().is_ok());
    }

    #[tokio::test]
    async fn the_deadline_stops_a_statement() {
        let signal = Arc::new(CancelSignal::default());
        let guard = StatementGuard::start(&signal, Some(Duration::from_millis(10)));
        let out: Result<()> = guard.run(std::future::pending()).await;
        assert_eq!(out, Err(timeout_cancel()));
        let quick = StatementGuard::start(&signal, Some(Duration::from_secs(10)));
        assert_eq!(quick.run(async { Ok(7) }).await, Ok(7));
    }
}

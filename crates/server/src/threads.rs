//! The threads that run client connections.
//!
//! A connection's work is short and mostly I/O: read a message, answer it
//! from the row store, write the reply. On a work-stealing runtime every
//! reply that wakes a parked worker costs a futex wake and often a
//! reschedule IPI to another core, which on a small machine is a large part
//! of a point lookup. [`ConnectionThreads`] instead runs N single-threaded
//! runtimes, one OS thread each (`prism-sql-<i>`), and hands each accepted
//! connection to the next one in turn: a connection lives on one thread, is
//! woken by that thread's own I/O driver, and never moves.
//!
//! Heavy work does not run here: planned queries execute on the analytics
//! runtime and Raft on the node's main runtime; a connection only awaits
//! them. With zero threads, connections run on the runtime that accepted
//! them.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// One connection thread: its runtime's handle, and how to stop it.
struct Worker {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A fixed set of single-threaded runtimes that connections are spread over.
pub struct ConnectionThreads {
    workers: Vec<Worker>,
    next: AtomicUsize,
}

impl ConnectionThreads {
    /// Starts `n` connection threads (none for `n == 0`: [`Self::spawn`]
    /// then uses the caller's runtime).
    pub fn start(n: usize) -> std::io::Result<ConnectionThreads> {
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            // I/O and timers only: connections start no processes and wait for no
            // signals, and without those drivers a park does less.
            let runtime = Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("prism-sql-{i}"))
                .stack_size(prismdb_common::limits::STATEMENT_STACK_BYTES)
                .spawn(move || {
                    // Runs the thread's connections until told to stop (or
                    // the owner is gone), then ends whatever connections are
                    // left, waiting a little for blocking work they started.
                    let _ = runtime.block_on(stopped);
                    runtime.shutdown_timeout(Duration::from_secs(5));
                })?;
            workers.push(Worker {
                handle,
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Ok(ConnectionThreads {
            workers,
            next: AtomicUsize::new(0),
        })
    }

    /// Whether connections run on the accepting runtime.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// The runtime the next connection goes to; `None` means the current
    /// one.
    fn next_handle(&self) -> Option<&Handle> {
        if self.workers.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        Some(&self.workers[i].handle)
    }

    /// Spawns `fut` on the next connection thread (or the current runtime).
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self.next_handle() {
            Some(h) => drop(h.spawn(fut)),
            None => drop(tokio::spawn(fut)),
        }
    }
}

impl Drop for ConnectionThreads {
    fn drop(&mut self) {
        for w in &mut self.workers {
            if let Some(stop) = w.stop.take() {
                let _ = stop.send(());
            }
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

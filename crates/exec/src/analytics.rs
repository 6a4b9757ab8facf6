//! Workload isolation for analytical execution: the runtime whose worker
//! threads run DataFusion plans, and the memory pool those plans share.
//!
//! Planned queries (everything but the primary-key point lookups of
//! [`crate::point`]) execute on the engine's own multi-threaded tokio
//! runtime, whose threads are named `prism-analytics` and, on Linux, run at
//! a lower CPU priority. A long scan, join or aggregate therefore competes
//! with the runtime that serves connections, point lookups and Raft only
//! for what the scheduler leaves it. Every session's DataFusion
//! `RuntimeEnv` draws from one memory pool of `--analytics-memory-mb`.
//! Nothing spills to disk: an operator that needs more than the pool has
//! left fails its query with 53200 (out_of_memory), and the server goes on.

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use prismdb_common::{Error, Result};
use prismdb_sql::error::from_datafusion;
use std::cell::Cell;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

/// How many of the largest memory consumers an out-of-memory error names.
const REPORTED_CONSUMERS: NonZeroUsize = NonZeroUsize::new(5).unwrap();

/// Sizing of analytical execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsOptions {
    /// Worker threads of the analytics runtime (at least one is started).
    pub threads: usize,
    /// Bytes the running analytical queries of the node may hold together.
    pub memory_bytes: usize,
    /// How the scheduler treats the analytics threads.
    pub priority: AnalyticsPriority,
}

/// Scheduling of the analytics threads (Linux; elsewhere left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticsPriority {
    /// `SCHED_IDLE`: the threads run only on CPU time no other thread of
    /// the machine wants, and any other thread that wakes up takes the CPU
    /// from them at once. Point lookups never queue behind a scan.
    Idle,
    /// Normal scheduling this many nice steps below the process (0 leaves
    /// the priority alone). A woken point lookup may wait for a scan's
    /// time slice.
    Nice(i32),
}

impl Default for AnalyticsOptions {
    fn default() -> Self {
        AnalyticsOptions {
            threads: default_threads(),
            memory_bytes: 1024 << 20,
            priority: AnalyticsPriority::Idle,
        }
    }
}

/// The default number of analytics threads: one per CPU.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The analytics runtime and memory pool of one engine.
pub(crate) struct Analytics {
    /// Taken on drop and shut down without waiting (see [`Drop`]).
    runtime: Option<Runtime>,
    handle: Handle,
    env: Arc<RuntimeEnv>,
    options: AnalyticsOptions,
}

impl Analytics {
    /// Starts the runtime's threads and builds the shared pool.
    pub(crate) fn new(options: AnalyticsOptions) -> Result<Analytics> {
        let priority = options.priority;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("prism-analytics")
            .thread_stack_size(prismdb_common::limits::STATEMENT_STACK_BYTES)
            .on_thread_start(move || {
                lower_priority(priority);
                YIELDS.set(priority != AnalyticsPriority::Nice(0));
            })
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the analytics runtime: {e}")))?;
        let pool = TrackConsumersPool::new(
            GreedyMemoryPool::new(options.memory_bytes),
            REPORTED_CONSUMERS,
        );
        // With the disk manager disabled, sorts and aggregates that run out
        // of memory fail instead of spilling.
        let env = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(from_datafusion)?;
        Ok(Analytics {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            env,
            options,
        })
    }

    /// The DataFusion runtime environment every session of the engine uses.
    pub(crate) fn env(&self) -> Arc<RuntimeEnv> {
        self.env.clone()
    }

    pub(crate) fn options(&self) -> &AnalyticsOptions {
        &self.options
    }

    /// Runs `fut` on the analytics runtime and waits for its outcome.
    /// Dropping the returned future (statement_timeout, a closed connection)
    /// aborts the task.
    pub(crate) async fn run<T, F>(&self, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let mut task = AbortOnDrop(self.handle.spawn(fut));
        match (&mut task.0).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!("analytical query panicked: {message}");
                Err(Error::Internal(format!(
                    "analytical query panicked: {message}"
                )))
            }
            Err(e) => Err(Error::Internal(format!(
                "analytical query did not finish: {e}"
            ))),
        }
    }

    /// Names the memory limit in an out-of-memory error of a query.
    pub(crate) fn explain_error(&self, e: Error) -> Error {
        match e {
            Error::OutOfMemory(detail) => Error::OutOfMemory(format!(
                "out of memory: the query needs more than the analytics memory limit of {} MiB \
                 (--analytics-memory-mb): {detail}",
                self.options.memory_bytes >> 20
            )),
            other => other,
        }
    }
}

impl Drop for Analytics {
    /// Engines may be dropped inside another runtime, where a blocking
    /// shutdown would panic; the workers finish their current poll and exit.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A task that is aborted when its handle is dropped before it finished.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

thread_local! {
    /// Set on analytics threads that run at a lowered priority.
    static YIELDS: Cell<bool> = const { Cell::new(false) };
    /// When this thread last gave up the CPU at a [`yield_point`].
    static LAST_YIELD: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How long an analytics thread runs between [`yield_point`]s that give
/// the CPU back.
const YIELD_EVERY: Duration = Duration::from_micros(100);

/// Called between batches by table scans. On an analytics thread of
/// lowered priority that has run for [`YIELD_EVERY`] since it last did,
/// gives the CPU back to the kernel (`sched_yield`). `SCHED_IDLE` alone does
/// not keep a scan from holding a CPU while a point lookup, or the client
/// waiting for it, is runnable there: on Linux 6.18 (EEVDF) analytics
/// threads were seen running for up to a scheduler tick (4 ms) with
/// connection threads and pgbench queued behind them, which tripled the
/// point lookups' p99 while TPC-H Q1 ran. Yielding every 100 µs of work
/// bounds that wait; with nothing else runnable a yield returns at once.
pub(crate) fn yield_point() {
    if !YIELDS.get() {
        return;
    }
    let now = Instant::now();
    match LAST_YIELD.get() {
        Some(last) if now.duration_since(last) < YIELD_EVERY => {}
        Some(_) => {
            std::thread::yield_now();
            LAST_YIELD.set(Some(Instant::now()));
        }
        None => LAST_YIELD.set(Some(now)),
    }
}

/// Lowers the calling thread's priority as `priority` says, so point
/// lookups and replication on the main runtime win the CPU.
#[cfg(target_os = "linux")]
fn lower_priority(priority: AnalyticsPriority) {
    use rustix::process::{getpriority_process, setpriority_process};
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    match priority {
        AnalyticsPriority::Nice(0) => {}
        AnalyticsPriority::Nice(nice) => {
            let tid = Some(rustix::thread::gettid());
            let target = getpriority_process(tid).unwrap_or(0).saturating_add(nice);
            if let Err(e) = setpriority_process(tid, target.clamp(-20, 19)) {
                tracing::warn!("cannot set the nice value of an analytics thread to {target}: {e}");
            }
        }
        AnalyticsPriority::Idle => {
            let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
            if let Err(e) =
                set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
            {
                tracing::warn!("cannot move an analytics thread to SCHED_IDLE: {e:?}");
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_priority: AnalyticsPriority) {}

#[cfg(test)]
#[path = "analytics_test.rs"]
mod tests;

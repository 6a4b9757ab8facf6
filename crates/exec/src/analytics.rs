//! Where planned statements run, and the memory they share.
//!
//! Connection threads only parse and answer point reads; everything
//! DataFusion does — logical and physical planning, optimization,
//! execution — runs on one of two multi-threaded tokio runtimes of the
//! engine, chosen per statement by its estimated work (`crate::query`):
//!
//! * **interactive** (`prism-query` threads, normal priority): planning of
//!   every statement, and the execution of small ones — short scans, small
//!   tables, plans that read no table. These never wait for an admission
//!   slot, so they never queue behind big analytics.
//! * **analytics** (`prism-analytics` threads, `--analytics-priority`):
//!   the execution of large statements, at most `--analytics-max-running`
//!   at once ([`crate::admission`]).
//!
//! A task that is stopped (statement_timeout, a cancel, a closed
//! connection) is aborted at its next await, and DataFusion's operators
//! give the runtime back often enough for that to land promptly. A panic
//! is an internal error (XX000) of its statement only.
//!
//! Every statement's DataFusion `RuntimeEnv` draws from one memory pool of
//! `--analytics-memory-mb`, through a [`QuotaPool`] that caps the statement
//! at its share (`pool / max_running` unless `prism.query_memory_limit`
//! says otherwise). Nothing spills to disk: an operator that needs more
//! fails its statement with 53200 (out_of_memory), and the server goes on.

use crate::admission::{Admission, AdmissionLimits};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    GreedyMemoryPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
    TrackConsumersPool,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use prismdb_common::limits::STATEMENT_STACK_BYTES;
use prismdb_common::{Error, Result};
use prismdb_sql::error::from_datafusion;
use std::cell::Cell;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

/// How many of the largest memory consumers an out-of-memory error names.
const REPORTED_CONSUMERS: NonZeroUsize = NonZeroUsize::new(5).unwrap();

/// Sizing of statement execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsOptions {
    /// Worker threads of the analytics runtime (at least one is started).
    pub threads: usize,
    /// Worker threads of the interactive runtime (at least one).
    pub interactive_threads: usize,
    /// Bytes the running statements of the node may hold together.
    pub memory_bytes: usize,
    /// How the scheduler treats the analytics threads.
    pub priority: AnalyticsPriority,
    /// How many analytical statements run at once, and wait.
    pub admission: AdmissionLimits,
    /// How long an analytics thread works between giving the CPU back
    /// (`sched_yield`) so that woken OLTP threads run at once; zero never
    /// yields.
    pub yield_every: Duration,
    /// The scheduler slice asked for the analytics threads: how long a
    /// woken thread of any process can wait behind one of them (zero
    /// keeps the kernel's).
    pub slice: Duration,
}

/// Scheduling of the analytics threads (Linux; elsewhere left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticsPriority {
    /// `SCHED_IDLE`: the threads run only on CPU time no other thread of
    /// the machine wants. Any busy process can starve them completely.
    Idle,
    /// Normal scheduling with this many nice steps below the process: a
    /// weight (each step about 1.25 times less CPU than the step before
    /// when threads compete), never zero. 0 leaves the priority alone.
    Nice(i32),
}

impl Default for AnalyticsOptions {
    fn default() -> Self {
        AnalyticsOptions {
            threads: default_threads(),
            interactive_threads: default_threads(),
            memory_bytes: 1024 << 20,
            priority: AnalyticsPriority::Nice(DEFAULT_NICE),
            admission: AdmissionLimits::default(),
            yield_every: DEFAULT_YIELD_EVERY,
            slice: prismdb_common::sched::MIN_SLICE,
        }
    }
}

/// The nice steps analytics threads run below the rest of the server by
/// default (see `docs/architecture.md`, "Workload isolation").
pub const DEFAULT_NICE: i32 = 4;

/// The default number of analytics threads: one per CPU.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Which runtime a statement's execution runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Interactive,
    Analytics,
}

/// The runtimes, admission queue and memory pool of one engine.
pub(crate) struct Analytics {
    /// Taken by [`Analytics::shutdown`], or on drop (then shut down
    /// without waiting, see [`Drop`]).
    runtimes: Mutex<Option<(Runtime, Runtime)>>,
    interactive: Handle,
    analytics: Handle,
    env: Arc<RuntimeEnv>,
    options: AnalyticsOptions,
    admission: Arc<Admission>,
}

fn build_runtime(
    name: &'static str,
    threads: usize,
    on_start: impl Fn() + Send + Sync + 'static,
) -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .thread_stack_size(STATEMENT_STACK_BYTES)
        .enable_all()
        .on_thread_start(on_start)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the {name} runtime: {e}")))
}

impl Analytics {
    /// Starts the runtimes' threads and builds the shared pool.
    pub(crate) fn new(options: AnalyticsOptions) -> Result<Analytics> {
        let interactive = build_runtime("prism-query", options.interactive_threads, || {})?;
        let (priority, yield_every) = (options.priority, options.yield_every);
        let analytics_slice = options.slice;
        let analytics = build_runtime("prism-analytics", options.threads, move || {
            lower_priority(priority);
            if !analytics_slice.is_zero() {
                ask_for_slice(analytics_slice);
            }
            YIELD_EVERY.set((!yield_every.is_zero()).then_some(yield_every));
        })?;
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
            interactive: interactive.handle().clone(),
            analytics: analytics.handle().clone(),
            runtimes: Mutex::new(Some((interactive, analytics))),
            env,
            admission: Admission::new(options.admission),
            options,
        })
    }

    /// Stops both runtimes and waits up to `grace` for their threads: each
    /// running statement ends at its current poll, and no thread of this
    /// engine touches the store any more once this returns (a process that
    /// exits while one still reads RocksDB aborts in its destructors). Must
    /// not be called on an async worker thread (use `spawn_blocking`).
    /// Statements started afterwards fail.
    pub(crate) fn shutdown(&self, grace: Duration) {
        let taken = self
            .runtimes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((interactive, analytics)) = taken {
            interactive.shutdown_timeout(grace);
            analytics.shutdown_timeout(grace);
        }
    }

    /// The DataFusion runtime environment sessions plan with (the whole
    /// pool; statements execute under [`Self::statement_env`]).
    pub(crate) fn env(&self) -> Arc<RuntimeEnv> {
        self.env.clone()
    }

    /// The environment one statement executes in: the shared pool, capped
    /// at `quota` bytes for this statement.
    pub(crate) fn statement_env(&self, quota: usize) -> Arc<RuntimeEnv> {
        let mut env = (*self.env).clone();
        env.memory_pool = Arc::new(QuotaPool {
            inner: self.env.memory_pool.clone(),
            quota,
            used: AtomicUsize::new(0),
        });
        Arc::new(env)
    }

    /// A statement's share of the pool when its session sets none.
    pub(crate) fn default_quota(&self) -> usize {
        self.options.memory_bytes / self.admission.limits().max_running.max(1)
    }

    pub(crate) fn options(&self) -> &AnalyticsOptions {
        &self.options
    }

    pub(crate) fn admission(&self) -> &Arc<Admission> {
        &self.admission
    }

    fn handle(&self, lane: Lane) -> &Handle {
        match lane {
            Lane::Interactive => &self.interactive,
            Lane::Analytics => &self.analytics,
        }
    }

    /// Starts `fut` on `lane`'s runtime; dropping the returned task aborts
    /// it.
    pub(crate) fn spawn<T, F>(&self, lane: Lane, fut: F) -> Task<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        Task(self.handle(lane).spawn(fut))
    }

    /// Runs `fut` on `lane`'s runtime and waits for its outcome. Dropping
    /// the returned future (statement_timeout, a cancel, a closed
    /// connection) aborts the task.
    pub(crate) async fn run_on<T, F>(&self, lane: Lane, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn(lane, fut).await
    }

    /// Runs `fut` on the analytics runtime (see [`Self::run_on`]).
    #[cfg(test)]
    pub(crate) async fn run<T, F>(&self, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        self.run_on(Lane::Analytics, fut).await
    }
}

/// A statement's task on a runtime: awaiting it gives its outcome (a panic
/// is an internal error), dropping it aborts the task.
pub(crate) struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(Ok(v)),
            Poll::Ready(Err(e)) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!("a statement's task panicked: {message}");
                Poll::Ready(Err(Error::Internal(format!(
                    "analytical query panicked: {message}"
                ))))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::Internal(format!(
                "analytical query did not finish: {e}"
            )))),
        }
    }
}

/// One statement's view of the shared memory pool: reservations go to the
/// pool as usual, but the statement as a whole may not hold more than
/// `quota` bytes.
#[derive(Debug)]
pub(crate) struct QuotaPool {
    inner: Arc<dyn MemoryPool>,
    quota: usize,
    used: AtomicUsize,
}

impl std::fmt::Display for QuotaPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement quota of {} bytes over {}",
            self.quota, self.inner
        )
    }
}

impl MemoryPool for QuotaPool {
    fn name(&self) -> &str {
        "prism_statement_quota"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::Relaxed);
        self.inner.grow(reservation, additional)
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::error::Result<()> {
        let quota = self.quota;
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used.saturating_add(additional) <= quota).then_some(used + additional)
            })
            .map_err(|used| {
                datafusion::error::DataFusionError::ResourcesExhausted(format!(
                    "the statement holds {used} bytes and asks for {additional} more, past its \
                     share of {} MiB of the analytics memory (prism.query_memory_limit)",
                    quota >> 20
                ))
            })?;
        if let Err(e) = self.inner.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.quota)
    }
}

impl Drop for Analytics {
    /// Engines may be dropped inside another runtime, where a blocking
    /// shutdown would panic; the workers finish their current poll and exit.
    fn drop(&mut self) {
        let runtimes = self.runtimes.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some((interactive, analytics)) = runtimes.take() {
            interactive.shutdown_background();
            analytics.shutdown_background();
        }
    }
}

thread_local! {
    /// On analytics threads: how long they work between yields.
    static YIELD_EVERY: Cell<Option<Duration>> = const { Cell::new(None) };
    /// When this thread last gave up the CPU at a [`yield_point`].
    static LAST_YIELD: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The default time an analytics thread works between yields.
pub const DEFAULT_YIELD_EVERY: Duration = Duration::from_micros(100);

/// Called between batches by table scans. On an analytics thread that has
/// worked for its yield interval since it last did, gives the CPU back to
/// the kernel (`sched_yield`): a connection thread woken meanwhile runs at
/// once instead of waiting out the scan's time slice. With nothing else
/// runnable a yield returns at once, so an idle machine loses nothing.
/// (On Linux 6.18, EEVDF, scans were seen holding a CPU for a whole tick,
/// 4 ms, with connection threads and pgbench queued behind them.)
pub(crate) fn yield_point() {
    let Some(every) = YIELD_EVERY.get() else {
        return;
    };
    let now = Instant::now();
    match LAST_YIELD.get() {
        Some(last) if now.duration_since(last) < every => {}
        Some(_) => {
            std::thread::yield_now();
            LAST_YIELD.set(Some(Instant::now()));
        }
        None => LAST_YIELD.set(Some(now)),
    }
}

/// Asks for the analytics threads' scheduler slice on the calling thread,
/// saying once per process what the kernel made of it.
fn ask_for_slice(slice: Duration) {
    use prismdb_common::sched::{SliceOutcome, request_slice};
    static TOLD: std::sync::Once = std::sync::Once::new();
    let outcome = request_slice(slice);
    TOLD.call_once(|| match outcome {
        Ok(SliceOutcome::Granted(s)) => {
            tracing::info!("analytics threads run with a {s:?} scheduler slice");
        }
        Ok(SliceOutcome::Unsupported) => tracing::info!(
            "the kernel keeps its own scheduler slice for analytics threads (needs Linux 6.12)"
        ),
        Ok(SliceOutcome::NotNormal) => {}
        Err(e) => tracing::warn!("cannot ask for a {slice:?} scheduler slice: {e}"),
    });
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

//! Unit tests of `analytics`: where tasks run, how they end, and how
//! out-of-memory errors reach the client.

use super::*;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn analytics(nice: i32) -> Analytics {
    with_priority(AnalyticsPriority::Nice(nice))
}

fn options(priority: AnalyticsPriority) -> AnalyticsOptions {
    AnalyticsOptions {
        threads: 1,
        interactive_threads: 1,
        memory_bytes: 8 << 20,
        priority,
        admission: AdmissionLimits::default(),
        yield_every: DEFAULT_YIELD_EVERY,
        slice: Duration::ZERO,
    }
}

fn with_priority(priority: AnalyticsPriority) -> Analytics {
    Analytics::new(options(priority)).unwrap()
}

#[tokio::test]
async fn tasks_run_on_named_threads() {
    let a = analytics(0);
    let name = a
        .run(async { std::thread::current().name().map(str::to_string) })
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("prism-analytics"));
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn analytics_threads_run_at_a_lower_priority() {
    let ours = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
    let a = analytics(3);
    let theirs = a
        .run(async {
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        })
        .await
        .unwrap();
    assert_eq!(theirs, (ours + 3).min(19));
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn idle_analytics_threads_run_under_sched_idle() {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
    let a = with_priority(AnalyticsPriority::Idle);
    let policy = a
        .run(async { thread_priority::thread_schedule_policy().unwrap() })
        .await
        .unwrap();
    assert_eq!(
        policy,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
    );
    // The caller's thread is left alone.
    assert_ne!(thread_priority::thread_schedule_policy().unwrap(), policy);
}

#[tokio::test]
async fn analytics_threads_yield_between_batches_unless_told_not_to() {
    // Runs the yield point for a while and reports whether this thread
    // yields and whether it has marked a yield.
    async fn probe() -> (bool, bool) {
        let until = std::time::Instant::now() + Duration::from_millis(2);
        while std::time::Instant::now() < until {
            yield_point();
        }
        (YIELD_EVERY.get().is_some(), LAST_YIELD.get().is_some())
    }
    for (every, yields) in [
        (DEFAULT_YIELD_EVERY, true),
        (Duration::from_micros(50), true),
        (Duration::ZERO, false),
    ] {
        let mut options = options(AnalyticsPriority::Nice(0));
        options.yield_every = every;
        let a = Analytics::new(options).unwrap();
        assert_eq!(a.run(probe()).await.unwrap(), (yields, yields), "{every:?}");
        // The interactive runtime never yields here.
        let interactive = a.run_on(Lane::Interactive, probe()).await.unwrap();
        assert_eq!(interactive, (false, false));
    }
    // Threads that serve connections never yield here.
    assert_eq!(probe().await, (false, false));
}

#[tokio::test]
async fn dropping_the_wait_aborts_the_task() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let a = analytics(0);
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let waited = tokio::time::timeout(
        Duration::from_millis(50),
        a.run(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }),
    )
    .await;
    assert!(waited.is_err());
    for _ in 0..200 {
        if dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the task was not aborted");
}

#[tokio::test]
async fn a_panic_is_an_internal_error_and_the_runtime_goes_on() {
    let a = analytics(0);
    let r = a.run(async { panic!("boom") }).await;
    assert!(
        matches!(&r, Err(Error::Internal(m)) if m.contains("boom")),
        "{r:?}"
    );
    assert_eq!(a.run(async { 7 }).await.unwrap(), 7);
}

#[tokio::test]
async fn dropping_in_an_async_context_does_not_panic() {
    drop(analytics(0));
}

#[test]
fn resources_exhausted_is_out_of_memory_however_wrapped() {
    let raw = || DataFusionError::ResourcesExhausted("Failed to allocate 1.0 MB".into());
    let wrapped = [
        raw(),
        raw().context("Not enough memory to continue external sort"),
        DataFusionError::Shared(Arc::new(raw())),
        DataFusionError::Shared(Arc::new(raw().context("while sorting"))),
        DataFusionError::External(Box::new(raw())),
        DataFusionError::ArrowError(Box::new(ArrowError::ExternalError(Box::new(raw()))), None),
        DataFusionError::Execution("Resources exhausted: Failed to allocate".into()),
    ];
    for e in wrapped {
        let shown = format!("{e:?}");
        match crate::planner::explain_error(from_datafusion(e), 8) {
            Error::OutOfMemory(m) => {
                assert!(m.contains("analytics memory limit of 8 MiB"), "{m}");
                assert!(m.contains("Failed to allocate"), "{m}");
            }
            other => panic!("{shown} became {other:?}"),
        }
    }
    assert_eq!(
        crate::planner::explain_error(Error::DivisionByZero("division by zero".into()), 8),
        Error::DivisionByZero("division by zero".into())
    );
}

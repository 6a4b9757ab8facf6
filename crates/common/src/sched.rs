//! Scheduler slices for the server's long-running threads.
//!
//! Nice values (weights) decide how the CPU is *shared* between analytics
//! threads, the server's OLTP threads and every other process; they say
//! little about *when* a woken thread gets a core. Linux's fair scheduler
//! (EEVDF) lets the running thread finish its slice (by default 0.7 ms
//! times 1 + log2 of the CPUs: 1.4 ms on 2 cores) before a woken one of
//! equal standing runs, so a point lookup that wakes on a core busy with an
//! analytics thread waits up to that long.
//!
//! Since Linux 6.12 a thread may ask for its own slice
//! (`sched_attr.sched_runtime` under `SCHED_OTHER`). Analytics threads ask
//! for the shortest (0.1 ms): a thread woken behind one of them waits at
//! most that, and their share of the CPU stays what their weight gives.
//! (Short slices for the latency threads instead were measured too: they
//! cost point lookups 6-15% of their throughput alone, as connection
//! threads then preempt each other and the clients.) Older kernels ignore
//! the request, which [`request_slice`] reports.

use std::time::Duration;

/// The shortest slice the kernel grants (it clamps requests to
/// [`MIN_SLICE`]–[`MAX_SLICE`]).
pub const MIN_SLICE: Duration = Duration::from_micros(100);

/// The longest slice the kernel grants.
pub const MAX_SLICE: Duration = Duration::from_millis(100);

/// What became of a slice request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceOutcome {
    /// The kernel now runs the calling thread with this slice.
    Granted(Duration),
    /// The kernel keeps its own slice (before Linux 6.12, or not Linux).
    Unsupported,
    /// The thread is not under normal scheduling (`SCHED_IDLE`, real time):
    /// nothing was asked.
    NotNormal,
}

/// Asks the kernel to run the calling thread with `slice` (clamped by the
/// kernel to 0.1–100 ms), keeping its policy and nice value. `Duration::ZERO`
/// returns the thread to the kernel's default slice.
pub fn request_slice(slice: Duration) -> std::io::Result<SliceOutcome> {
    imp::request_slice(slice)
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use super::{MAX_SLICE, MIN_SLICE, SliceOutcome};
    use std::time::Duration;

    const SCHED_OTHER: u32 = 0;
    const SCHED_BATCH: u32 = 3;

    /// `struct sched_attr` as `sched_setattr(2)` defines it (the
    /// utilization-clamp fields included, size 56).
    #[repr(C)]
    #[derive(Default)]
    struct SchedAttr {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
        util_min: u32,
        util_max: u32,
    }

    fn get() -> std::io::Result<SchedAttr> {
        let mut attr = SchedAttr::default();
        let size = std::mem::size_of::<SchedAttr>() as libc::c_uint;
        // SAFETY: `attr` is a live, writable `sched_attr` of `size` bytes;
        // the kernel writes at most `size` bytes into it. Thread id 0 is
        // the calling thread.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                0 as libc::pid_t,
                &mut attr as *mut SchedAttr,
                size,
                0 as libc::c_uint,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(attr)
    }

    pub(super) fn request_slice(slice: Duration) -> std::io::Result<SliceOutcome> {
        match ask(slice) {
            // No such system call (some sandboxes), or a kernel that
            // refuses the attribute: the kernel's slice stays.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
                Ok(SliceOutcome::Unsupported)
            }
            other => other,
        }
    }

    fn ask(slice: Duration) -> std::io::Result<SliceOutcome> {
        let mut attr = get()?;
        if attr.policy != SCHED_OTHER && attr.policy != SCHED_BATCH {
            return Ok(SliceOutcome::NotNormal);
        }
        attr.size = std::mem::size_of::<SchedAttr>() as u32;
        attr.flags = 0;
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        attr.runtime = nanos(slice);
        // SAFETY: `attr` is a fully initialized `sched_attr` whose `size`
        // field is its own size; the kernel only reads it. Thread id 0 is
        // the calling thread.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                0 as libc::pid_t,
                &attr as *const SchedAttr,
                0 as libc::c_uint,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let now = get()?;
        // A kernel that honours the request reports the slice it set as the
        // thread's runtime; older ones report 0 (or their base slice when
        // nothing was asked).
        Ok(
            if slice.is_zero()
                || now.runtime == attr.runtime.clamp(nanos(MIN_SLICE), nanos(MAX_SLICE))
            {
                SliceOutcome::Granted(Duration::from_nanos(now.runtime))
            } else {
                SliceOutcome::Unsupported
            },
        )
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::SliceOutcome;
    use std::time::Duration;

    pub(super) fn request_slice(_slice: Duration) -> std::io::Result<SliceOutcome> {
        Ok(SliceOutcome::Unsupported)
    }
}

#[cfg(test)]
#[path = "sched_test.rs"]
mod tests;

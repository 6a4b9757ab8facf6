//! Tests of the slice request: it never fails on a normal thread, and a
//! granted slice is the one asked for (clamped) and can be given back.

use super::*;

#[test]
fn a_slice_request_is_granted_or_reported_unsupported() {
    std::thread::spawn(|| {
        match request_slice(MIN_SLICE).expect("sched_setattr on a normal thread") {
            SliceOutcome::Granted(slice) => {
                assert_eq!(slice, MIN_SLICE);
                // Below the kernel's floor is clamped up to it.
                assert_eq!(
                    request_slice(Duration::from_micros(10)).unwrap(),
                    SliceOutcome::Granted(MIN_SLICE)
                );
                assert!(matches!(
                    request_slice(Duration::ZERO).unwrap(),
                    SliceOutcome::Granted(_)
                ));
            }
            SliceOutcome::Unsupported => {}
            SliceOutcome::NotNormal => panic!("a new thread runs under SCHED_OTHER"),
        }
    })
    .join()
    .unwrap();
}

//! Pinned snapshots: the versions readers use, which garbage collection
//! keeps. [`SnapshotGuard`] holds one registration in the count of
//! snapshots in use by version (kept by [`crate::RowStore`]) and gives it
//! up when dropped.

use parking_lot::Mutex;
use prismdb_common::Version;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Keeps a snapshot version registered as in use until dropped.
pub struct SnapshotGuard {
    version: Version,
    active: Arc<Mutex<BTreeMap<Version, usize>>>,
}

impl SnapshotGuard {
    /// The guard of one registration of `version` that the caller has
    /// just counted in `active`.
    pub(crate) fn new(version: Version, active: Arc<Mutex<BTreeMap<Version, usize>>>) -> Self {
        SnapshotGuard { version, active }
    }

    pub fn version(&self) -> Version {
        self.version
    }
}

impl Drop for SnapshotGuard {
    fn drop(&mut self) {
        let mut active = self.active.lock();
        if let Some(n) = active.get_mut(&self.version) {
            *n -= 1;
            if *n == 0 {
                active.remove(&self.version);
            }
        }
    }
}

//! Index builds seen from the engine: a `CREATE INDEX` waiting until this
//! member's build is done, and removing indexes whose build failed.
//!
//! A unique index whose back-fill finds a duplicate fails on every member
//! alike (the build reads the same snapshot everywhere). The `CREATE`
//! waiting for it drops the index again through the log and reports the
//! duplicate. When no statement waits any more (its client went away), the
//! leader drops it once it has been failed for [`ABANDONED_AFTER`], long
//! enough for a `CREATE` waiting on another member to see the failure
//! there first; each member remembers the failures of indexes dropped
//! that way, so a late waiter still reports the duplicate.

use crate::Engine;
use crate::cancel::StatementGuard;
use prismdb_catalog::Catalog;
use prismdb_common::{Error, Result};
use prismdb_rowstore::WriteSet;
use prismdb_rowstore::index::BuildState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a failed build no statement waits for is kept before the
/// leader drops its index.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(10);

/// Waits until this member has built index `id` for the statement of
/// session `pid`. A unique index whose build found a duplicate is dropped
/// again (through the log, so on every member) and its error returned:
/// nothing is left half-built.
pub(crate) async fn wait_for_index(
    engine: &Engine,
    pid: i32,
    guard: &StatementGuard,
    id: u32,
) -> Result<()> {
    /// Takes the waiter out again however the wait ends, also when the
    /// statement's future is dropped (its client went away).
    struct Waiting<'a>(&'a Engine, u32);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.index_waiters.lock().remove(&self.1);
        }
    }
    engine.index_waiters.lock().insert(id, pid);
    let _waiting = Waiting(engine, id);
    wait_for_build(engine, guard, id).await
}

async fn wait_for_build(engine: &Engine, guard: &StatementGuard, id: u32) -> Result<()> {
    let store = &engine.store;
    loop {
        let Some(status) = store.index_status(id) else {
            return Err(match store.dropped_failure(id) {
                Some(message) => Error::UniqueViolation(message),
                None => Error::ObjectNotInPrerequisiteState(
                    "the index was dropped before its build finished".into(),
                ),
            });
        };
        match status.state {
            BuildState::Ready => return Ok(()),
            BuildState::Failed(message) => {
                drop_index(engine, id).await?;
                return Err(Error::UniqueViolation(message));
            }
            BuildState::Building { .. } => {}
        }
        guard.check()?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Removes index `id` from the catalog, if it is still there.
async fn drop_index(engine: &Engine, id: u32) -> Result<()> {
    let mut attempt = 0;
    loop {
        let _guard = engine.ddl_lock.lock().await;
        let read_version = engine.store.last_version();
        let mut next: Catalog = engine.catalog().as_ref().clone();
        let mut found = false;
        for db in next.databases.values_mut() {
            if db.indexes.values().any(|i| i.id == id) {
                Arc::make_mut(db).indexes.retain(|_, i| i.id != id);
                found = true;
            }
        }
        if !found {
            return Ok(());
        }
        let ws = WriteSet {
            read_version,
            catalog: Some(next.encode()),
            ..Default::default()
        };
        match engine.log.commit(ws).await {
            Ok(_) => return Ok(()),
            Err(Error::SerializationFailure(_)) if attempt < 5 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Failed builds no statement waits for, and when each was first seen.
#[derive(Default)]
pub struct AbandonedBuilds {
    seen: HashMap<u32, Instant>,
}

impl AbandonedBuilds {
    /// Drops the indexes whose build has failed on this member for at
    /// least `after` while no statement here waited for them; returns how
    /// many. Meant for the leader, which every failure reaches.
    pub async fn drop_expired(&mut self, engine: &Engine, after: Duration) -> Result<usize> {
        let now = Instant::now();
        let waited: Vec<u32> = engine.index_waiters.lock().keys().copied().collect();
        let failed: Vec<u32> = engine
            .store
            .index_statuses()
            .into_iter()
            .filter(|s| matches!(s.state, BuildState::Failed(_)) && !waited.contains(&s.id))
            .map(|s| s.id)
            .collect();
        self.seen.retain(|id, _| failed.contains(id));
        let mut dropped = 0;
        for id in failed {
            let since = *self.seen.entry(id).or_insert(now);
            if now.duration_since(since) >= after {
                drop_index(engine, id).await?;
                self.seen.remove(&id);
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

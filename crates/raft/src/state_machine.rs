//! The state machine side of the log: applying entries and snapshots.
//!
//! Entries are applied through an [`Applier`] (the node wires it to the row
//! store), which writes their effects together with this module's applied
//! state (last applied log id and membership) in one atomic batch, so the two
//! can never disagree after a crash. Snapshots are the applier's consistent
//! export; the latest one is kept in memory and in a file so a restarted
//! leader can send it to a follower whose log was compacted away.

use crate::log_store::blocking;
use crate::types::{Member, Response, TypeConfig};
use crate::{decode, encode};
use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

type StorageResult<T> = Result<T, StorageError<u64>>;

/// Where committed entries take effect.
pub trait Applier: Send + Sync + 'static {
    /// Applies commands in log order: `(index, command)`, the command absent
    /// for Raft's own entries. An entry carrying a batch of several commands
    /// appears once per command, all with its index. `state` must be stored atomically with the
    /// effects, under a key [`Applier::state`] and [`Applier::export`] read
    /// back. Returns one response per item. An error means nothing was
    /// applied and the node cannot go on.
    fn apply(&self, entries: &[(u64, Option<&[u8]>)], state: &[u8])
    -> Result<Vec<Vec<u8>>, String>;
    /// The state stored by the last `apply` or `import`.
    fn state(&self) -> Result<Option<Vec<u8>>, String>;
    /// A consistent copy of everything applied, and the state stored with it.
    fn export(&self) -> Result<(Option<Vec<u8>>, Vec<u8>), String>;
    /// Replaces everything with an export (whose state comes with it).
    fn import(&self, data: &[u8]) -> Result<(), String>;
    /// The oldest snapshot version still read on this node (for the
    /// cluster-wide garbage-collection horizon).
    fn oldest_snapshot(&self) -> u64;
    /// The highest index whose effects are visible to readers.
    fn applied_index(&self) -> u64;
}

/// Applied position, stored by the applier with every batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AppliedState {
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, Member>,
}

/// A built snapshot: its metadata and bytes.
#[derive(Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, Member>,
    data: Vec<u8>,
}

/// The openraft state machine over an [`Applier`].
#[derive(Clone)]
pub struct StateMachine {
    applier: Arc<dyn Applier>,
    applied: Arc<Mutex<AppliedState>>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    snapshot_file: PathBuf,
}

fn sm_err(e: impl ToString) -> StorageError<u64> {
    StorageIOError::write_state_machine(AnyError::error(e.to_string())).into()
}

fn snap_err(e: impl ToString) -> StorageError<u64> {
    StorageIOError::write_snapshot(None, AnyError::error(e.to_string())).into()
}

impl StateMachine {
    /// A state machine applying through `applier`, keeping its latest
    /// snapshot in `snapshot_file`.
    pub fn new(applier: Arc<dyn Applier>, snapshot_file: PathBuf) -> StorageResult<StateMachine> {
        let applied = match applier.state().map_err(sm_err)? {
            Some(b) => decode(&b).map_err(sm_err)?,
            None => AppliedState::default(),
        };
        let current = match std::fs::read(&snapshot_file) {
            Ok(b) => decode::<StoredSnapshot>(&b).ok(),
            Err(_) => None,
        };
        Ok(StateMachine {
            applier,
            applied: Arc::new(Mutex::new(applied)),
            current: Arc::new(Mutex::new(current)),
            snapshot_file,
        })
    }

    fn save(&self, snap: &StoredSnapshot) -> StorageResult<()> {
        let bytes = encode(snap).map_err(snap_err)?;
        let tmp = self.snapshot_file.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(snap_err)?;
        std::fs::rename(&tmp, &self.snapshot_file).map_err(snap_err)?;
        *self.current.lock() = Some(snap.clone());
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let (state, data) = blocking(|| self.applier.export()).map_err(snap_err)?;
        let state: AppliedState = match state {
            Some(b) => decode(&b).map_err(snap_err)?,
            None => AppliedState::default(),
        };
        let snapshot_id = match state.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, data.len()),
            None => format!("0-0-{}", data.len()),
        };
        let meta = SnapshotMeta {
            last_log_id: state.last_applied,
            last_membership: state.membership,
            snapshot_id,
        };
        let stored = StoredSnapshot { meta, data };
        blocking(|| self.save(&stored))?;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, Member>)> {
        let a = self.applied.lock();
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Response>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut next = self.applied.lock().clone();
        let mut items = Vec::with_capacity(entries.len());
        // How many items each entry became.
        let mut counts = Vec::with_capacity(entries.len());
        for e in &entries {
            next.last_applied = Some(e.log_id);
            let before = items.len();
            match &e.payload {
                EntryPayload::Blank => items.push((e.log_id.index, None)),
                EntryPayload::Normal(batch) => {
                    items.extend(batch.0.iter().map(|c| (e.log_id.index, Some(c.as_slice()))));
                    if batch.0.is_empty() {
                        items.push((e.log_id.index, None));
                    }
                }
                EntryPayload::Membership(m) => {
                    next.membership = StoredMembership::new(Some(e.log_id), m.clone());
                    items.push((e.log_id.index, None));
                }
            }
            counts.push((
                items.len() - before,
                matches!(e.payload, EntryPayload::Normal(_)),
            ));
        }
        let state = encode(&next).map_err(sm_err)?;
        // Applying writes one unsynced batch (the log is the durable copy):
        // cheap enough to run in place.
        let responses = self.applier.apply(&items, &state).map_err(sm_err)?;
        if responses.len() != items.len() {
            return Err(sm_err(
                "the applier answered a different number of commands",
            ));
        }
        *self.applied.lock() = next;
        let mut responses = responses.into_iter();
        Ok(counts
            .into_iter()
            .map(|(n, normal)| {
                let r: Vec<Vec<u8>> = responses.by_ref().take(n).collect();
                Response(if normal { r } else { Vec::new() })
            })
            .collect())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, Member>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        blocking(|| self.applier.import(&data)).map_err(sm_err)?;
        *self.applied.lock() = AppliedState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        blocking(|| self.save(&stored))
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.current.lock().clone().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

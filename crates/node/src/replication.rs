//! The glue between the replicated log and the engines.
//!
//! [`StoreApplier`] is the log's [`Applier`]: it decodes each entry's
//! [`Command`] and applies the batch to the row store together with the
//! log's applied state. [`ReplicatedLog`] is the engine's [`Log`]: commits
//! become proposals, read points come from read-index, and the members view
//! comes from the Raft metrics of every member.

use async_trait::async_trait;
use prismdb_columnar::ColumnStore;
use prismdb_common::{Error, Result, Version};
use prismdb_exec::{ClusterMember, Log};
use prismdb_raft::{Applier, Replica};
use prismdb_rowstore::{Command, Entry, RowStore, WriteSet};
use std::sync::Arc;

/// `meta` key under which the log's applied state is stored with the data.
const RAFT_STATE_KEY: &[u8] = b"raft_applied";

pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    prismdb_raft::encode(v).map_err(|e| Error::Internal(format!("cannot encode: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    prismdb_raft::decode(b).map_err(|e| Error::Internal(format!("cannot decode: {e}")))
}

/// Applies log entries to the row store, then hands the accepted ones to
/// this node's columnar replicas.
pub struct StoreApplier(pub Arc<RowStore>, pub Arc<ColumnStore>);

impl Applier for StoreApplier {
    fn apply(
        &self,
        entries: &[(u64, Option<&[u8]>)],
        state: &[u8],
    ) -> Result<Vec<Vec<u8>>, String> {
        let commands: Vec<Option<Result<Command>>> = entries
            .iter()
            .map(|(_, p)| p.map(decode::<Command>))
            .collect();
        let batch: Vec<Entry<'_>> = entries
            .iter()
            .zip(&commands)
            .map(|((index, _), c)| Entry {
                index: *index,
                command: c.as_ref().and_then(|c| c.as_ref().ok()),
            })
            .collect();
        let outcomes = self
            .0
            .apply(&batch, &[(RAFT_STATE_KEY, state)])
            .map_err(|e| e.to_string())?;
        let accepted: Vec<bool> = outcomes.iter().map(|o| o.is_ok()).collect();
        let fed: Vec<(u64, Option<&Command>)> =
            batch.iter().map(|e| (e.index, e.command)).collect();
        if let Err(e) = crate::columnar::feed(&self.1, &fed, &accepted) {
            tracing::error!("columnar replicas could not apply entries: {e}");
        }
        outcomes
            .into_iter()
            .zip(&commands)
            .map(|(outcome, command)| {
                // An entry that does not decode is rejected the same way on
                // every replica.
                let outcome = match command {
                    Some(Err(e)) => Err(e.clone()),
                    _ => outcome,
                };
                encode(&outcome).map_err(|e| e.to_string())
            })
            .collect()
    }

    fn state(&self) -> Result<Option<Vec<u8>>, String> {
        self.0.meta(RAFT_STATE_KEY).map_err(|e| e.to_string())
    }

    fn export(&self) -> Result<(Option<Vec<u8>>, Vec<u8>), String> {
        self.0.export(RAFT_STATE_KEY).map_err(|e| e.to_string())
    }

    fn import(&self, data: &[u8]) -> Result<(), String> {
        self.0.import(data).map_err(|e| e.to_string())?;
        let catalog = match self.0.catalog() {
            Some((_, bytes)) => {
                prismdb_catalog::Catalog::decode(&bytes).map_err(|e| e.to_string())?
            }
            None => prismdb_catalog::Catalog::default(),
        };
        self.1.reset_source(Arc::new(catalog));
        Ok(())
    }

    fn oldest_snapshot(&self) -> u64 {
        self.0.oldest_active()
    }

    fn applied_index(&self) -> u64 {
        self.0.last_version()
    }
}

/// The engine's view of the replicated log.
pub struct ReplicatedLog {
    pub replica: Arc<Replica>,
}

impl ReplicatedLog {
    /// Proposes a command; returns the outcome of applying it.
    pub async fn propose(&self, command: &Command) -> Result<Version> {
        let (_, response) = self.replica.propose(encode(command)?).await?;
        decode::<Result<Version>>(&response)?
    }
}

#[async_trait]
impl Log for ReplicatedLog {
    async fn commit(&self, ws: WriteSet) -> Result<Version> {
        self.propose(&Command::Commit(ws)).await
    }

    async fn read_point(&self) -> Result<Version> {
        self.replica.read_index().await
    }

    async fn columnar_status(&self) -> Vec<prismdb_columnar::ReplicaStatus> {
        self.replica
            .reports(std::time::Duration::from_millis(500))
            .await
            .into_iter()
            .filter_map(|(_, report)| report)
            .filter(|bytes| !bytes.is_empty())
            .filter_map(|bytes| decode::<Vec<prismdb_columnar::ReplicaStatus>>(&bytes).ok())
            .flatten()
            .collect()
    }

    async fn members(&self) -> Vec<ClusterMember> {
        let statuses = self.replica.members().await;
        let name_of = |id: u64| {
            statuses
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.member.name.clone())
        };
        statuses
            .iter()
            .map(|s| ClusterMember {
                name: s.member.name.clone(),
                node_id: s.id,
                peer_addr: s.member.peer_addr.clone(),
                sql_addr: s.member.sql_addr.clone(),
                role: s.role.clone(),
                voter: s.voter,
                is_leader: s.role == "leader",
                leader: s.leader.and_then(name_of),
                term: s.term,
                applied_index: s.applied_index,
                last_log_index: s.last_log_index,
                snapshot_index: s.snapshot_index,
                purged_index: s.purged_index,
                this_node: s.id == self.replica.id,
            })
            .collect()
    }
}

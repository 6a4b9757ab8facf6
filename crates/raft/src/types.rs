//! The openraft type configuration and cluster members.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Cursor;

/// One member of the cluster, as configured (`--name`, `--peer-listen`) and
/// with the address clients reach it on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    /// Node-to-node (Raft RPC) address, `host:port`.
    pub peer_addr: String,
    /// PostgreSQL protocol address, `host:port` (may be empty if unknown).
    pub sql_addr: String,
    /// A columnar member: stays a learner and hosts columnar replicas.
    #[serde(default)]
    pub columnar: bool,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.peer_addr)
    }
}

/// One proposal: an encoded command of the layer above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal(pub Vec<u8>);

/// An entry's payload: the commands of the proposals that were waiting when
/// it was proposed, applied in order at the entry's index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch(pub Vec<Vec<u8>>);

/// What applying an entry returned: one encoded response per command of
/// its batch (empty for Raft's own entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response(pub Vec<Vec<u8>>);

openraft::declare_raft_types!(
    /// PrismDB's openraft configuration.
    pub TypeConfig:
        D = Batch,
        R = Response,
        NodeId = u64,
        Node = Member,
);

/// The node id of a member name: stable, so a name always maps to the same
/// id (FNV-1a, 63 bits, never 0).
pub fn node_id(name: &str) -> u64 {
    (prismdb_common::files::fnv1a(name.as_bytes()) >> 1).max(1)
}

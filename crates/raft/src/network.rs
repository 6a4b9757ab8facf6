//! Node-to-node RPC, client side: openraft's network over HTTP (reqwest).
//!
//! Each RPC is a `POST /raft/<name>` whose body is the bincode request and
//! whose response body is a bincode `Result<response, remote error>`.

use crate::types::{Member, TypeConfig};
use crate::{decode, encode};
use openraft::RPCTypes;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// An error of one HTTP call to a peer.
#[derive(Debug)]
pub enum CallError {
    /// The request never reached the peer (connection refused and the like):
    /// safe to retry elsewhere.
    NotSent(String),
    /// It may have reached the peer, but no answer came back.
    NoAnswer(String),
    /// The answer could not be read.
    Garbled(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotSent(e) => write!(f, "peer unreachable: {e}"),
            CallError::NoAnswer(e) => write!(f, "no answer from peer: {e}"),
            CallError::Garbled(e) => write!(f, "malformed answer from peer: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Posts `req` to `http://{addr}/raft/{path}` and decodes the answer.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    client: &reqwest::Client,
    addr: &str,
    path: &str,
    req: &Req,
    timeout: Duration,
) -> Result<Resp, CallError> {
    let body = encode(req).map_err(CallError::Garbled)?;
    let res = client
        .post(format!("http://{addr}/raft/{path}"))
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                CallError::NotSent(e.to_string())
            } else {
                CallError::NoAnswer(e.to_string())
            }
        })?;
    if !res.status().is_success() {
        return Err(CallError::Garbled(format!("HTTP {}", res.status())));
    }
    let bytes = res
        .bytes()
        .await
        .map_err(|e| CallError::NoAnswer(e.to_string()))?;
    decode(&bytes).map_err(CallError::Garbled)
}

/// Creates a [`PeerClient`] per target.
#[derive(Clone, Default)]
pub struct Network {
    client: reqwest::Client,
}

impl Network {
    pub fn new(client: reqwest::Client) -> Network {
        Network { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &Member) -> PeerClient {
        PeerClient {
            target,
            addr: node.peer_addr.clone(),
            client: self.client.clone(),
        }
    }
}

/// The connection to one peer.
pub struct PeerClient {
    target: u64,
    addr: String,
    client: reqwest::Client,
}

impl PeerClient {
    async fn rpc<Req, Resp, E>(
        &self,
        path: &str,
        kind: RPCTypes,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, Member, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let ttl = option.hard_ttl();
        let answer: Result<Resp, E> = call(&self.client, &self.addr, path, req, ttl)
            .await
            .map_err(|e| match e {
                CallError::NotSent(_) => RPCError::Unreachable(Unreachable::new(&e)),
                CallError::NoAnswer(ref m) if m.contains("timed out") => {
                    RPCError::Timeout(Timeout {
                        action: kind,
                        id: 0,
                        target: self.target,
                        timeout: ttl,
                    })
                }
                _ => RPCError::Network(NetworkError::new(&e)),
            })?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, Member, RaftError<u64>>> {
        self.rpc("append", RPCTypes::AppendEntries, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, Member, RaftError<u64, InstallSnapshotError>>,
    > {
        self.rpc("snapshot", RPCTypes::InstallSnapshot, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, Member, RaftError<u64>>> {
        self.rpc("vote", RPCTypes::Vote, &rpc, &option).await
    }
}

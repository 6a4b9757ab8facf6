//! Node-to-node RPC, server side: an axum router on the peer address.
//!
//! `POST /raft/{append,vote,snapshot}` carry openraft's own RPCs;
//! `propose`, `read_index` and `join` are the leader's side of forwarded
//! writes, read points and joins; `status` is a member's own status,
//! `report` what the layers above publish about it (columnar replicas) and
//! `cancel` a CancelRequest passed on by the member that received it.

use crate::replica::Replica;
use crate::types::{Member, Proposal, TypeConfig};
use crate::{decode, encode};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

fn reply<T: Serialize>(v: &T) -> Response {
    match encode(v) {
        Ok(b) => b.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn body<T: DeserializeOwned>(b: &[u8]) -> Result<T, Response> {
    decode(b).map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())
}

/// The peer RPC router of `replica`.
pub fn router(replica: Arc<Replica>) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .route("/raft/propose", post(propose))
        .route("/raft/read_index", post(read_index))
        .route("/raft/status", post(status))
        .route("/raft/join", post(join))
        .route("/raft/report", post(report))
        .route("/raft/cancel", post(cancel))
        .with_state(replica)
}

async fn append(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let req: AppendEntriesRequest<TypeConfig> = match body(&b) {
        Ok(v) => v,
        Err(e) => return e,
    };
    reply(&r.raft.append_entries(req).await)
}

async fn vote(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let req: VoteRequest<u64> = match body(&b) {
        Ok(v) => v,
        Err(e) => return e,
    };
    reply(&r.raft.vote(req).await)
}

async fn snapshot(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let req: InstallSnapshotRequest<TypeConfig> = match body(&b) {
        Ok(v) => v,
        Err(e) => return e,
    };
    reply(&r.raft.install_snapshot(req).await)
}

async fn propose(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let req: Proposal = match body(&b) {
        Ok(v) => v,
        Err(e) => return e,
    };
    reply(&r.propose_local(req.0, r.timeout()).await)
}

async fn report(State(r): State<Arc<Replica>>) -> Response {
    reply(&r.local_report())
}

async fn cancel(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let (pid, secret): (i32, Vec<u8>) = match body(&b) {
        Ok(req) => req,
        Err(e) => return e,
    };
    reply(&r.cancel_local(pid, &secret))
}

async fn read_index(State(r): State<Arc<Replica>>) -> Response {
    reply(&r.read_index_local(r.timeout()).await)
}

async fn status(State(r): State<Arc<Replica>>) -> Response {
    reply(&r.local_status())
}

async fn join(State(r): State<Arc<Replica>>, b: Bytes) -> Response {
    let req: Member = match body(&b) {
        Ok(v) => v,
        Err(e) => return e,
    };
    reply(&r.add_member(req).await)
}

/// Serves peer RPC on `listener` until `shutdown` resolves.
pub async fn serve(
    replica: Arc<Replica>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(replica))
        .with_graceful_shutdown(shutdown)
        .await
}

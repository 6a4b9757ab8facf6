//! A running cluster member: start-up, proposals, read points and status.
//!
//! - **Start-up** follows etcd: with `--initial-cluster-state new` every
//!   member of `--initial-cluster` initializes the same membership (openraft
//!   accepts the identical call on each); with `existing` the node asks the
//!   cluster's leader to add it, first as a learner and then as a voter.
//! - **Proposals** go to the local Raft when this node leads; otherwise they
//!   are forwarded to the leader over RPC. The leader proposes one entry at a
//!   time: the proposals that arrive while it is in flight go together into
//!   the next entry (group commit at the log level: openraft waits for each
//!   append's fsync, so one entry per commit would mean one fsync per
//!   commit). A batch's commands apply in order at the entry's index, and the answer waits until this
//!   node has applied the entry too, so its next read sees the write. A
//!   proposal is retried on another leader only when the first never took it.
//! - **Read points** are read-index: the leader confirms with a quorum that it
//!   still leads and names its commit index; a follower asks the leader for
//!   it. The caller then reads once the local state machine reached it.
//! - Every wait is bounded by the configured timeout, so a node without a
//!   quorum answers with an error instead of hanging.

use crate::log_store::LogStore;
use crate::network::{CallError, Network, call};
use crate::state_machine::{Applier, StateMachine};
use crate::types::{Batch, Member, Proposal, TypeConfig, node_id};
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, Config, Raft, ServerState, SnapshotPolicy};
use prismdb_common::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `--initial-cluster-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    /// Bootstrap a new cluster from `--initial-cluster`.
    New,
    /// Join a running cluster.
    Existing,
}

/// How a member runs.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    pub me: Member,
    /// Every initial member, this one included.
    pub initial_cluster: Vec<Member>,
    pub state: ClusterState,
    /// Directory for the snapshot file.
    pub dir: PathBuf,
    pub heartbeat: Duration,
    pub election_timeout: Duration,
    /// Build a snapshot (and compact the log) every this many entries.
    pub snapshot_every: u64,
    /// Entries kept in the log behind the latest snapshot.
    pub keep_behind_snapshot: u64,
    /// Bound of every proposal and read point.
    pub timeout: Duration,
}

/// One member as seen from this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub member: Member,
    /// `leader`, `follower`, `candidate`, `learner`, or `unreachable`.
    pub role: String,
    pub voter: bool,
    pub term: u64,
    /// The leader this member knows of.
    pub leader: Option<u64>,
    pub applied_index: Option<u64>,
    pub last_log_index: Option<u64>,
    /// Last log index covered by its latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Entries up to here were compacted out of its log.
    pub purged_index: Option<u64>,
    /// The oldest snapshot its transactions still read.
    pub oldest_snapshot: Option<u64>,
}

/// Answer of a forwarded proposal.
#[derive(Debug, Serialize, Deserialize)]
pub enum ProposeOutcome {
    Applied {
        index: u64,
        response: Vec<u8>,
    },
    /// The callee does not lead (nothing was appended); try this one.
    NotLeader(Option<Member>),
    /// Appended but not known to be committed, or failed otherwise.
    Failed {
        maybe_applied: bool,
        message: String,
    },
}

/// Answer of a forwarded read-index request.
#[derive(Debug, Serialize, Deserialize)]
pub enum ReadOutcome {
    Index(u64),
    NotLeader(Option<Member>),
    Failed(String),
}

/// Answer of a join request.
#[derive(Debug, Serialize, Deserialize)]
pub enum JoinOutcome {
    Joined,
    NotLeader(Option<Member>),
    Failed(String),
}

/// Callers waiting for the next read-index round.
type ReadWaiters = Vec<tokio::sync::oneshot::Sender<Result<u64>>>;

/// Read-index rounds shared by concurrent readers: at most one round runs
/// at a time, and every caller that arrives while it runs is answered by
/// the next one (which starts after the caller arrived, so its answer
/// still covers every commit acknowledged before the call).
#[derive(Default)]
struct ReadBatch {
    running: bool,
    waiting: ReadWaiters,
}

/// A proposal waiting for the next entry.
struct PendingWrite {
    id: u64,
    payload: Vec<u8>,
    reply: tokio::sync::oneshot::Sender<ProposeOutcome>,
}

/// Proposals batched into entries, one entry in flight at a time.
#[derive(Default)]
struct WriteBatch {
    running: bool,
    next_id: u64,
    waiting: Vec<PendingWrite>,
}

/// The outcome of a proposal whose entry no quorum acknowledged in time.
fn unacknowledged(timeout: Duration) -> ProposeOutcome {
    ProposeOutcome::Failed {
        maybe_applied: true,
        message: format!(
            "the commit was proposed but no quorum acknowledged it within {timeout:?}; it may or may not be applied"
        ),
    }
}

/// A running member.
pub struct Replica {
    pub raft: Raft<TypeConfig>,
    pub id: u64,
    pub me: Member,
    config: ReplicaConfig,
    client: reqwest::Client,
    applier: Arc<dyn Applier>,
    reads: parking_lot::Mutex<ReadBatch>,
    writes: parking_lot::Mutex<WriteBatch>,
    /// What this member answers to a report request (opaque bytes the
    /// layers above define), if anything.
    report: parking_lot::RwLock<Option<Reporter>>,
    /// Cancels a statement of this member's sessions by process id and
    /// secret key, for cancel requests that reached another member.
    cancel: parking_lot::RwLock<Option<CancelHook>>,
    /// Whether this member is the only voter of the membership logged at
    /// this log id: worked out once per membership, since every read
    /// point asks.
    sole_voter: parking_lot::RwLock<Option<(Option<openraft::LogId<u64>>, bool)>>,
}

/// Produces a member's report.
pub type Reporter = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// Cancels the running statement of the local session with this process id
/// if the secret key matches; says whether there was such a session.
pub type CancelHook = Arc<dyn Fn(i32, &[u8]) -> bool + Send + Sync>;

impl Replica {
    /// Starts the member on `log` and `applier`, bootstrapping or joining as
    /// configured.
    pub async fn start(
        config: ReplicaConfig,
        log: LogStore,
        applier: Arc<dyn Applier>,
    ) -> Result<Arc<Replica>> {
        let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("raft: {e}"));
        let hb = config.heartbeat.as_millis() as u64;
        let el = config.election_timeout.as_millis() as u64;
        let raft_config = Config {
            cluster_name: "prismdb".into(),
            heartbeat_interval: hb.max(1),
            // openraft waits a leader lease of `election_timeout_max` before
            // a follower stands for election: keep the spread narrow so a
            // failover takes about 1.5-2.5 election timeouts.
            election_timeout_min: el.max(hb * 3),
            election_timeout_max: el.max(hb * 3) * 3 / 2,
            install_snapshot_timeout: 10_000,
            max_payload_entries: 1024,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_every.max(1)),
            max_in_snapshot_log_to_keep: config.keep_behind_snapshot,
            purge_batch_size: 256,
            ..Default::default()
        }
        .validate()
        .map_err(|e| internal(&e))?;
        let sm = StateMachine::new(applier.clone(), config.dir.join("raft-snapshot.bin"))
            .map_err(|e| internal(&e))?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| internal(&e))?;
        let id = node_id(&config.me.name);
        let raft = Raft::new(
            id,
            Arc::new(raft_config),
            Network::new(client.clone()),
            log,
            sm,
        )
        .await
        .map_err(|e| internal(&e))?;
        let replica = Arc::new(Replica {
            raft,
            id,
            me: config.me.clone(),
            config,
            client,
            applier,
            reads: parking_lot::Mutex::new(ReadBatch::default()),
            writes: parking_lot::Mutex::new(WriteBatch::default()),
            report: parking_lot::RwLock::new(None),
            cancel: parking_lot::RwLock::new(None),
            sole_voter: parking_lot::RwLock::new(None),
        });
        let initialized = replica
            .raft
            .is_initialized()
            .await
            .map_err(|e| internal(&e))?;
        if !initialized {
            match replica.config.state {
                ClusterState::New => {
                    let members: BTreeMap<u64, Member> = replica
                        .config
                        .initial_cluster
                        .iter()
                        .map(|m| (node_id(&m.name), m.clone()))
                        .collect();
                    if let Err(e) = replica.raft.initialize(members).await {
                        // Another member's identical initialization got here first.
                        tracing::info!("cluster already initialized: {e}");
                    }
                }
                ClusterState::Existing => {
                    let r = replica.clone();
                    tokio::spawn(async move { r.join_cluster().await });
                }
            }
        }
        Ok(replica)
    }

    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// The leader's member description, if one is known.
    pub fn leader(&self) -> Option<(u64, Member)> {
        let m = self.raft.metrics().borrow().clone();
        let leader = m.current_leader?;
        let node = m.membership_config.membership().get_node(&leader)?.clone();
        Some((leader, node))
    }

    /// Where to send a request next after `next` was named as the leader:
    /// `None` is this node. With no name, waits a moment and asks the
    /// metrics, as an election may be under way.
    async fn next_target(&self, next: Option<Member>) -> Option<Member> {
        match next {
            Some(m) if m.name == self.me.name => None,
            Some(m) => Some(m),
            None => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.leader()
                    .filter(|(id, _)| *id != self.id)
                    .map(|(_, m)| m)
            }
        }
    }

    /// Proposes an entry and returns its log index and the applier's
    /// response, once this node has applied it.
    pub async fn propose(self: &Arc<Self>, payload: Vec<u8>) -> Result<(u64, Vec<u8>)> {
        let deadline = Instant::now() + self.config.timeout;
        let mut target: Option<Member> = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::Unavailable(format!(
                    "no Raft leader accepted the commit within {:?}; nothing was written",
                    self.config.timeout
                )));
            }
            let outcome = match &target {
                None => self.propose_local(payload.clone(), remaining).await,
                Some(leader) => {
                    match call::<_, ProposeOutcome>(
                        &self.client,
                        &leader.peer_addr,
                        "propose",
                        &Proposal(payload.clone()),
                        remaining,
                    )
                    .await
                    {
                        Ok(o) => o,
                        Err(CallError::NotSent(_)) => ProposeOutcome::NotLeader(None),
                        Err(e) => ProposeOutcome::Failed {
                            maybe_applied: true,
                            message: e.to_string(),
                        },
                    }
                }
            };
            match outcome {
                ProposeOutcome::Applied { index, response } => {
                    if target.is_some() {
                        self.wait_applied(index, deadline).await?;
                    }
                    return Ok((index, response));
                }
                ProposeOutcome::NotLeader(next) => {
                    target = self.next_target(next).await;
                }
                ProposeOutcome::Failed {
                    maybe_applied: true,
                    message,
                } => return Err(Error::CommitUnknown(message)),
                ProposeOutcome::Failed { message, .. } => return Err(Error::Unavailable(message)),
            }
        }
    }

    /// Proposes on this node's Raft (also the callee side of a forwarded
    /// proposal), in the next entry.
    pub async fn propose_local(
        self: &Arc<Self>,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> ProposeOutcome {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let (id, start) = {
            let mut writes = self.writes.lock();
            let id = writes.next_id;
            writes.next_id += 1;
            writes.waiting.push(PendingWrite { id, payload, reply });
            (id, !std::mem::replace(&mut writes.running, true))
        };
        if start {
            // A task of its own, so a caller that gives up does not strand
            // the others.
            let me = self.clone();
            tokio::spawn(async move { me.write_rounds().await });
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => ProposeOutcome::Failed {
                maybe_applied: true,
                message: "the proposal was dropped; it may or may not be applied".into(),
            },
            Err(_) => {
                // Still queued means never proposed: take it back.
                let mut writes = self.writes.lock();
                let queued = writes.waiting.iter().position(|w| w.id == id);
                if let Some(i) = queued {
                    writes.waiting.remove(i);
                }
                match queued {
                    None => unacknowledged(timeout),
                    Some(_) => ProposeOutcome::Failed {
                        maybe_applied: false,
                        message: format!(
                            "no entry could be proposed within {timeout:?}; nothing was written"
                        ),
                    },
                }
            }
        }
    }

    /// Proposes entries of everything waiting, one at a time, until nothing
    /// waits.
    async fn write_rounds(self: Arc<Self>) {
        const MAX_BATCH: usize = 512;
        loop {
            let batch: Vec<PendingWrite> = {
                let mut writes = self.writes.lock();
                if writes.waiting.is_empty() {
                    writes.running = false;
                    return;
                }
                let n = writes.waiting.len().min(MAX_BATCH);
                writes.waiting.drain(..n).collect()
            };
            let (replies, payloads): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.reply, w.payload)).unzip();
            let timeout = self.config.timeout;
            let write = self.raft.client_write(Batch(payloads));
            match tokio::time::timeout(timeout, write).await {
                Ok(Ok(resp)) => {
                    let mut responses = resp.data.0.into_iter();
                    for reply in replies {
                        let _ = reply.send(ProposeOutcome::Applied {
                            index: resp.log_id.index,
                            response: responses.next().unwrap_or_default(),
                        });
                    }
                }
                Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                    for reply in replies {
                        let _ = reply.send(ProposeOutcome::NotLeader(f.leader_node.clone()));
                    }
                }
                Err(_) => {
                    for reply in replies {
                        let _ = reply.send(unacknowledged(timeout));
                    }
                }
                Ok(Err(e)) => {
                    let message = format!("raft: {e}");
                    for reply in replies {
                        let _ = reply.send(ProposeOutcome::Failed {
                            maybe_applied: false,
                            message: message.clone(),
                        });
                    }
                }
            }
        }
    }

    /// A linearizable read point: a log index that includes every commit
    /// acknowledged before this call, applied on this node on return.
    /// Concurrent callers share read-index rounds.
    pub async fn read_index(self: &Arc<Self>) -> Result<u64> {
        if self.is_sole_voter_leader() {
            // No other member can lead or commit: every acknowledged write
            // was applied here before it was acknowledged.
            return Ok(self.applier.applied_index());
        }
        let deadline = Instant::now() + self.config.timeout;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut reads = self.reads.lock();
            reads.waiting.push(tx);
            !std::mem::replace(&mut reads.running, true)
        };
        if start {
            // A task of its own, so a caller that gives up does not strand
            // the others.
            let me = self.clone();
            tokio::spawn(async move { me.read_rounds().await });
        }
        let index = rx
            .await
            .map_err(|_| Error::Internal("read-index round dropped".into()))??;
        self.wait_applied(index, deadline).await?;
        Ok(index)
    }

    /// Whether this member leads a membership in which it is the only voter.
    fn is_sole_voter_leader(&self) -> bool {
        let metrics = self.raft.server_metrics();
        let m = metrics.borrow();
        if m.state != ServerState::Leader || m.current_leader != Some(self.id) {
            return false;
        }
        let log_id = *m.membership_config.log_id();
        if let Some((known, sole)) = *self.sole_voter.read()
            && known == log_id
        {
            return sole;
        }
        let mut voters = m.membership_config.membership().voter_ids();
        let sole = voters.next() == Some(self.id) && voters.next().is_none();
        *self.sole_voter.write() = Some((log_id, sole));
        sole
    }

    /// Runs read-index rounds until nobody waits.
    async fn read_rounds(self: Arc<Self>) {
        loop {
            let waiters = {
                let mut reads = self.reads.lock();
                if reads.waiting.is_empty() {
                    reads.running = false;
                    return;
                }
                std::mem::take(&mut reads.waiting)
            };
            let result = self.read_index_round().await;
            for w in waiters {
                let _ = w.send(result.clone());
            }
        }
    }

    /// One read-index round: the leader's commit index, confirmed by a
    /// quorum (asked of the leader when this node follows).
    async fn read_index_round(&self) -> Result<u64> {
        let deadline = Instant::now() + self.config.timeout;
        let mut target: Option<Member> = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::Unavailable(format!(
                    "no Raft leader confirmed a read point within {:?}",
                    self.config.timeout
                )));
            }
            let outcome = match &target {
                None => self.read_index_local(remaining).await,
                Some(leader) => match call::<_, ReadOutcome>(
                    &self.client,
                    &leader.peer_addr,
                    "read_index",
                    &(),
                    remaining,
                )
                .await
                {
                    Ok(o) => o,
                    Err(_) => ReadOutcome::NotLeader(None),
                },
            };
            match outcome {
                ReadOutcome::Index(index) => return Ok(index),
                ReadOutcome::NotLeader(next) => {
                    target = self.next_target(next).await;
                }
                ReadOutcome::Failed(m) => {
                    tracing::debug!("read index: {m}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    target = None;
                }
            }
        }
    }

    /// The leader's side of a read point (does not wait for local apply).
    pub async fn read_index_local(&self, timeout: Duration) -> ReadOutcome {
        match tokio::time::timeout(timeout, self.raft.get_read_log_id()).await {
            Err(_) => ReadOutcome::Failed("no quorum confirmed the leader in time".into()),
            Ok(Ok((read, _))) => ReadOutcome::Index(read.map(|l| l.index).unwrap_or(0)),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                ReadOutcome::NotLeader(f.leader_node)
            }
            Ok(Err(e)) => ReadOutcome::Failed(e.to_string()),
        }
    }

    async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<()> {
        if self.applier.applied_index() >= index {
            return Ok(());
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(remaining.max(Duration::from_millis(1))))
            .applied_index_at_least(Some(index), "read point")
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::Unavailable(format!(
                    "this node did not apply up to index {index} in time: {e}"
                ))
            })
    }

    /// This node's own status.
    pub fn local_status(&self) -> MemberStatus {
        let m = self.raft.metrics().borrow().clone();
        let voter = m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == self.id);
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Follower if voter => "follower",
            ServerState::Follower => "learner",
            ServerState::Shutdown => "shutdown",
        };
        MemberStatus {
            id: self.id,
            member: self.me.clone(),
            role: role.into(),
            voter,
            term: m.current_term,
            leader: m.current_leader,
            applied_index: m.last_applied.map(|l| l.index),
            last_log_index: m.last_log_index,
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            oldest_snapshot: Some(self.applier.oldest_snapshot()),
        }
    }

    /// Every member of the current membership with its status, asking each
    /// other member over RPC (bounded wait; silent members show as
    /// `unreachable`).
    pub async fn members(&self) -> Vec<MemberStatus> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership().clone();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let mut out = Vec::new();
        let mut asks = Vec::new();
        for (id, node) in membership.nodes() {
            if *id == self.id {
                out.push(self.local_status());
                continue;
            }
            let (id, node) = (*id, node.clone());
            let voter = voters.contains(&id);
            let client = self.client.clone();
            asks.push(async move {
                match call::<_, MemberStatus>(
                    &client,
                    &node.peer_addr,
                    "status",
                    &(),
                    Duration::from_millis(500),
                )
                .await
                {
                    Ok(s) => s,
                    Err(_) => MemberStatus {
                        id,
                        member: node,
                        role: "unreachable".into(),
                        voter,
                        term: 0,
                        leader: None,
                        applied_index: None,
                        last_log_index: None,
                        snapshot_index: None,
                        purged_index: None,
                        oldest_snapshot: None,
                    },
                }
            });
        }
        out.extend(futures::future::join_all(asks).await);
        out.sort_by(|a, b| a.member.name.cmp(&b.member.name));
        out
    }

    /// The members of the current configuration, with whether each votes,
    /// as this node knows them (no network round).
    pub fn membership(&self) -> Vec<(Member, bool)> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership().clone();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| (node.clone(), voters.contains(id)))
            .collect()
    }

    /// Sets what this member answers to report requests.
    pub fn set_reporter(&self, reporter: Reporter) {
        *self.report.write() = Some(reporter);
    }

    /// This member's report (empty if none is set).
    pub fn local_report(&self) -> Vec<u8> {
        self.report.read().as_ref().map(|r| r()).unwrap_or_default()
    }

    /// Sets how this member cancels its own sessions' statements.
    pub fn set_cancel_hook(&self, hook: CancelHook) {
        *self.cancel.write() = Some(hook);
    }

    /// Cancels a statement of a session of this member (see
    /// [`CancelHook`]); false if there is no such session or no hook.
    pub fn cancel_local(&self, pid: i32, secret: &[u8]) -> bool {
        let hook = self.cancel.read().clone();
        hook.is_some_and(|h| h(pid, secret))
    }

    /// Passes a cancel request to every other member, which cancels the
    /// statement of its session with that process id and secret key if it
    /// has one; says whether one did. Members that do not answer within the
    /// RPC timeout count as not having it.
    pub async fn cancel_elsewhere(&self, pid: i32, secret: Vec<u8>) -> bool {
        let timeout = self.timeout();
        let asks = self
            .membership()
            .into_iter()
            .filter(|(m, _)| m.name != self.me.name)
            .map(|(m, _)| {
                let client = self.client.clone();
                let req = (pid, secret.clone());
                async move {
                    call::<_, bool>(&client, &m.peer_addr, "cancel", &req, timeout)
                        .await
                        .unwrap_or(false)
                }
            });
        futures::future::join_all(asks).await.into_iter().any(|c| c)
    }

    /// Every member's report; `None` for members that did not answer in
    /// time.
    pub async fn reports(&self, timeout: Duration) -> Vec<(Member, Option<Vec<u8>>)> {
        let members = self.membership();
        let asks = members.into_iter().map(|(m, _)| {
            let client = self.client.clone();
            let me = m.name == self.me.name;
            async move {
                if me {
                    return (m, Some(self.local_report()));
                }
                let answer = call::<_, Vec<u8>>(&client, &m.peer_addr, "report", &(), timeout)
                    .await
                    .ok();
                (m, answer)
            }
        });
        futures::future::join_all(asks).await
    }

    /// The leader's side of a join: add `member` as a learner, let it catch
    /// up, then make it a voter.
    pub async fn add_member(&self, member: Member) -> JoinOutcome {
        let id = node_id(&member.name);
        let is_voter = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == id);
        if is_voter {
            return JoinOutcome::Joined;
        }
        let columnar = member.columnar;
        match self.raft.add_learner(id, member, true).await {
            Ok(_) => {}
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                return JoinOutcome::NotLeader(f.leader_node);
            }
            Err(e) => return JoinOutcome::Failed(e.to_string()),
        }
        if columnar {
            // Columnar members receive the log but never vote.
            return JoinOutcome::Joined;
        }
        let add = ChangeMembers::AddVoterIds(BTreeSet::from([id]));
        match self.raft.change_membership(add, false).await {
            Ok(_) => JoinOutcome::Joined,
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                JoinOutcome::NotLeader(f.leader_node)
            }
            Err(e) => JoinOutcome::Failed(e.to_string()),
        }
    }

    /// Asks the members of `--initial-cluster` until the leader adds this node.
    async fn join_cluster(self: Arc<Self>) {
        let peers: Vec<Member> = self
            .config
            .initial_cluster
            .iter()
            .filter(|m| m.name != self.me.name)
            .cloned()
            .collect();
        let mut next: Option<Member> = None;
        loop {
            let targets: Vec<Member> = match next.take() {
                Some(m) => vec![m],
                None => peers.clone(),
            };
            for peer in targets {
                let answer = call::<_, JoinOutcome>(
                    &self.client,
                    &peer.peer_addr,
                    "join",
                    &self.me,
                    Duration::from_secs(60),
                )
                .await;
                match answer {
                    Ok(JoinOutcome::Joined) => {
                        tracing::info!(via = %peer, "joined the cluster");
                        return;
                    }
                    Ok(JoinOutcome::NotLeader(Some(l))) => {
                        next = Some(l);
                        break;
                    }
                    Ok(other) => tracing::debug!(?other, via = %peer, "join not done yet"),
                    Err(e) => tracing::debug!(via = %peer, "join: {e}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Stops Raft (on shutdown).
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

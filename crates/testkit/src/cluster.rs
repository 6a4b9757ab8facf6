//! `TestCluster`: several real `prismdb` processes forming one Raft group on
//! loopback, each with its own data directory and ports.
//!
//! Members are started as etcd-style `--name nI --initial-cluster
//! n1=…,n2=…,n3=… --initial-cluster-state new`, all at once. Any member can
//! be killed with SIGKILL and restarted on the same directory and ports.

use crate::server::{TestServer, free_ports};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio_postgres::Client;

/// One row of `prism_cluster.members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub name: String,
    pub node_id: i64,
    pub peer_addr: String,
    pub sql_addr: String,
    pub role: String,
    pub voter: bool,
    pub is_leader: bool,
    pub leader: Option<String>,
    pub term: i64,
    pub applied_index: Option<i64>,
    pub last_log_index: Option<i64>,
    pub snapshot_index: Option<i64>,
    pub purged_index: Option<i64>,
    pub this_node: bool,
}

/// `prism_cluster.members` as the node behind `client` sees it, ordered by
/// name.
pub async fn members(client: &Client) -> Result<Vec<MemberRow>> {
    let rows = client
        .query(
            "SELECT name, node_id, peer_addr, sql_addr, role, voter, is_leader, leader, term, \
                    applied_index, last_log_index, snapshot_index, purged_index, this_node \
             FROM prism_cluster.members ORDER BY name",
            &[],
        )
        .await
        .context("querying prism_cluster.members")?;
    Ok(rows
        .iter()
        .map(|r| MemberRow {
            name: r.get(0),
            node_id: r.get(1),
            peer_addr: r.get(2),
            sql_addr: r.get(3),
            role: r.get(4),
            voter: r.get(5),
            is_leader: r.get(6),
            leader: r.get(7),
            term: r.get(8),
            applied_index: r.get(9),
            last_log_index: r.get(10),
            snapshot_index: r.get(11),
            purged_index: r.get(12),
            this_node: r.get(13),
        })
        .collect())
}

/// How many times `start` tries with fresh ports when a member cannot bind
/// its address.
const START_ATTEMPTS: usize = 3;

/// A running cluster of `prismdb` processes.
pub struct TestCluster {
    pub nodes: Vec<TestServer>,
    /// Data directories and logs; kept on disk when a test fails.
    temp: Option<TempDir>,
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // The members are killed when `nodes` is dropped, before `temp`.
        if std::thread::panicking()
            && let Some(temp) = self.temp.take()
        {
            eprintln!(
                "cluster data directories and full server logs kept in {}",
                temp.keep().display()
            );
        }
    }
}

impl TestCluster {
    /// Starts `n` members and waits until every one accepts connections and
    /// a leader is elected. `extra_args` go to every member.
    ///
    /// Ports are picked free but released before the members bind them, so
    /// another process may take one in between; when a member exits because
    /// its address is in use, the whole cluster is started again on fresh
    /// ports and directories.
    pub async fn start(bin: impl AsRef<Path>, n: usize, extra_args: &[&str]) -> Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::start_once(bin.as_ref(), n, extra_args).await {
                Ok(cluster) => return Ok(cluster),
                Err(e) if attempt < START_ATTEMPTS && format!("{e:#}").contains("in use") => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn start_once(bin: &Path, n: usize, extra_args: &[&str]) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("prismdb-cluster-")
            .tempdir()
            .context("creating temporary directory")?;
        let ports = free_ports(3 * n)?;
        let initial: Vec<String> = (0..n)
            .map(|i| format!("n{}=127.0.0.1:{}", i + 1, ports[3 * i + 2]))
            .collect();
        let initial = initial.join(",");
        let mut nodes = Vec::new();
        for i in 0..n {
            let mut args = vec![
                "--name".to_string(),
                format!("n{}", i + 1),
                "--initial-cluster".to_string(),
                initial.clone(),
                "--initial-cluster-state".to_string(),
                "new".to_string(),
            ];
            args.extend(extra_args.iter().map(|s| s.to_string()));
            let node = TestServer::member(
                bin,
                temp.path().join(format!("n{}", i + 1)),
                (ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]),
                &args,
            )?;
            nodes.push(node);
        }
        for node in &mut nodes {
            node.launch()?;
        }
        for node in &mut nodes {
            node.wait_started().await?;
        }
        let cluster = TestCluster {
            nodes,
            temp: Some(temp),
        };
        cluster.leader(Duration::from_secs(30)).await?;
        Ok(cluster)
    }

    /// Starts a member `name` that joins this running cluster through n1
    /// (`--initial-cluster-state existing`), with its data directory under
    /// `dir` and `extra_args` (e.g. `--role columnar`). Returns once it
    /// accepts connections; joining completes in the background.
    pub async fn join(
        &self,
        bin: impl AsRef<Path>,
        dir: &Path,
        name: &str,
        extra_args: &[&str],
    ) -> Result<TestServer> {
        let ports = free_ports(3)?;
        let initial = format!(
            "n1=127.0.0.1:{},{name}=127.0.0.1:{}",
            self.nodes[0].peer_port(),
            ports[2]
        );
        let mut args: Vec<String> = [
            "--name",
            name,
            "--initial-cluster",
            &initial,
            "--initial-cluster-state",
            "existing",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let mut member = TestServer::member(
            bin.as_ref(),
            dir.join(name),
            (ports[0], ports[1], ports[2]),
            &args,
        )?;
        member.launch()?;
        member.wait_started().await?;
        Ok(member)
    }

    /// The index of the current leader, as a running member reports it,
    /// waiting up to `timeout` for one to be elected.
    pub async fn leader(&self, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            for node in &self.nodes {
                let Ok(client) = node.connect(crate::DEFAULT_DB).await else {
                    continue;
                };
                let rows = client
                    .query(
                        "SELECT name FROM prism_cluster.members WHERE is_leader",
                        &[],
                    )
                    .await;
                if let Ok(rows) = rows
                    && let Some(row) = rows.first()
                {
                    let name: String = row.get(0);
                    if let Some(i) = name.strip_prefix('n').and_then(|n| n.parse::<usize>().ok()) {
                        return Ok(i - 1);
                    }
                }
            }
            if Instant::now() >= deadline {
                bail!("no leader elected within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `prism_cluster.members` as member `i` sees it (a fresh connection).
    pub async fn members(&self, i: usize) -> Result<Vec<MemberRow>> {
        let client = self.nodes[i].connect(crate::DEFAULT_DB).await?;
        members(&client).await
    }

    /// The index in [`TestCluster::nodes`] of the member called `name`
    /// (`n1` is 0).
    pub fn index_of(name: &str) -> Option<usize> {
        name.strip_prefix('n')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
    }

    /// Log tails of every member (for failure messages).
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("---- n{} ----\n{}", i + 1, n.log_tail(4000)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

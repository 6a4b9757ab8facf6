//! The PrismDB node: wiring of engine, wire protocol and HTTP endpoints.
//!
//! [`Node::start`] opens the [`prismdb_exec::Engine`] on the data
//! directory, binds the PostgreSQL listener (served by `prismdb_server`
//! through the adapter in [`adapter`]) and the HTTP listener ([`http`]:
//! `/health` and Prometheus `/metrics`), and runs until its shutdown future
//! resolves. The `prismdb` binary (`main.rs`) only parses flags and signals.

pub mod adapter;
pub mod http;

use anyhow::Context;
use prismdb_exec::{Engine, EngineOptions};
use prismdb_server::Metrics;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything needed to start a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub http: SocketAddr,
    /// fsync every commit group.
    pub fsync: bool,
}

/// Runs a node until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut opts = EngineOptions::default();
    opts.store.sync = config.fsync;
    let engine = Engine::open(&config.data_dir, opts)
        .await
        .with_context(|| format!("opening data directory {}", config.data_dir.display()))?;
    let metrics = Arc::new(Metrics::new());
    let pg = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let http = tokio::net::TcpListener::bind(config.http)
        .await
        .with_context(|| format!("binding {}", config.http))?;
    tracing::info!(listen = %config.listen, http = %config.http, data_dir = %config.data_dir.display(), "PrismDB ready");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let http_task = tokio::spawn(http::serve(
        http,
        metrics.clone(),
        wait_stop(stop_rx.clone()),
    ));
    let adapter = Arc::new(adapter::EngineAdapter::new(engine));
    let pg_task = tokio::spawn(prismdb_server::serve(
        adapter,
        pg,
        metrics,
        wait_stop(stop_rx),
    ));
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = pg_task.await;
    let _ = http_task.await;
    Ok(())
}

async fn wait_stop(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

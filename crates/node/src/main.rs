//! `prismdb`: the PrismDB server binary.

use clap::{Parser, Subcommand};
use prismdb_node::NodeConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "prismdb",
    version,
    about = "PrismDB: an HTAP SQL database speaking the PostgreSQL protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node.
    Start {
        /// Directory for all data; created if missing.
        #[arg(long, default_value = "./prism-data", env = "PRISM_DATA_DIR")]
        data_dir: PathBuf,
        /// PostgreSQL protocol listen address.
        #[arg(long, default_value = "127.0.0.1:5433", env = "PRISM_LISTEN")]
        listen: SocketAddr,
        /// HTTP (health, metrics) listen address.
        #[arg(long, default_value = "127.0.0.1:8080", env = "PRISM_HTTP")]
        http: SocketAddr,
        /// fsync each commit group (turn off only for throwaway data).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        fsync: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Start {
            data_dir,
            listen,
            http,
            fsync,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("prism-worker")
                .build()?;
            runtime.block_on(prismdb_node::run(
                NodeConfig {
                    data_dir,
                    listen,
                    http,
                    fsync,
                },
                shutdown_signal(),
            ))
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

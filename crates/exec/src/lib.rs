//! Execution: sessions, transactions, and running statements.
//!
//! The life of a statement, with the types that carry it:
//!
//! 1. The server hands SQL text to a [`Session`] (one per connection).
//!    `prismdb_sql::parse` turns it into sqlparser statements and
//!    `prismdb_sql::classify` says what each is.
//! 2. Transaction control and settings are handled by the session itself
//!    ([`Txn`], [`settings::Settings`]).
//! 3. DDL ([`ddl`]) builds the next [`prismdb_catalog::Catalog`] and commits
//!    it through the row store like any write, under the engine's DDL lock.
//! 4. Queries ([`query`]) are planned and run by DataFusion over
//!    [`provider::RowTable`]s, which read the row store at the statement's
//!    [`provider::ReadView`]: the transaction's snapshot plus its own writes.
//! 5. DML ([`dml`]) uses DataFusion to compute the rows to write (INSERT's
//!    source, UPDATE's new values, DELETE's victims), checks them against
//!    the table's constraints and buffers the writes in the [`Txn`].
//! 6. COMMIT (or the end of an autocommit statement) hands the transaction's
//!    write set to the row store's committer, which decides conflicts and
//!    applies it atomically at a new version. Autocommit statements that lose
//!    a write conflict are retried at a fresh snapshot.

mod analyzer;
pub mod convert;
mod ddl;
mod dml;
mod functions;
mod point;
pub mod provider;
mod query;
pub mod schema;
mod session;
pub mod settings;
mod txn;

pub use session::{Output, Prepared, ResultRows, Session, TxnStatus};
pub use txn::Txn;

use parking_lot::RwLock;
use prismdb_catalog::Catalog;
use prismdb_common::{Error, Result};
use prismdb_rowstore::{RowStore, StoreOptions, WriteSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

/// Options of an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub store: StoreOptions,
}

/// The database engine of one node: the row store and the catalog.
pub struct Engine {
    store: Arc<RowStore>,
    catalog: Arc<RwLock<Arc<Catalog>>>,
    /// Serializes DDL so each builds on the catalog the previous one left.
    ddl_lock: tokio::sync::Mutex<()>,
    next_pid: AtomicI32,
}

impl Engine {
    /// Opens the engine on a data directory, creating it on first start.
    pub async fn open(dir: &Path, opts: EngineOptions) -> Result<Arc<Engine>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let store = Arc::new(RowStore::open(&dir.join("rowstore"), opts.store)?);
        let catalog = match store.load_catalog()? {
            Some(bytes) => Catalog::decode(&bytes)?,
            None => {
                let catalog = Catalog::default();
                let ws = WriteSet {
                    catalog: Some(catalog.encode()),
                    ..Default::default()
                };
                store.commit(ws).await?;
                catalog
            }
        };
        Ok(Arc::new(Engine {
            store,
            catalog: Arc::new(RwLock::new(Arc::new(catalog))),
            ddl_lock: tokio::sync::Mutex::new(()),
            next_pid: AtomicI32::new(1000),
        }))
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }

    pub fn store(&self) -> &Arc<RowStore> {
        &self.store
    }

    /// Opens a session on `database` for `user`, with the client's start-up
    /// parameters applied to its settings.
    pub fn session(
        self: &Arc<Self>,
        user: &str,
        database: &str,
        options: &[(String, String)],
    ) -> Result<Session> {
        self.catalog().database(database)?;
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        Session::new(self.clone(), user, database, options, pid)
    }
}

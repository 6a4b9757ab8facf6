//! The DataFusion catalog adapter: resolves table names of one database to
//! [`RowTable`] providers.
//!
//! A session's DataFusion context has one catalog (named after the
//! session's database) with one schema, `public`. Each lookup reads the
//! engine's current [`Catalog`], so DDL committed by any session is seen by
//! the next statement planned anywhere. The session tells the schema which
//! table is the target of the UPDATE or DELETE being planned (it is exposed
//! with its hidden row id) and the DEFAULT expressions of an INSERT target.

use crate::SharedCatalog;
use crate::provider::RowTable;
use crate::read_view::ScanContext;
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use parking_lot::Mutex;
use prismdb_catalog::{Catalog, DEFAULT_SCHEMA};
use prismdb_common::TableId;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Planning hints a session sets before planning one statement.
#[derive(Default)]
pub struct PlanHints {
    /// Table exposed with hidden columns (UPDATE / DELETE target).
    pub dml_target: Option<TableId>,
    /// DEFAULT expressions by table, for INSERT targets.
    pub defaults: HashMap<TableId, HashMap<String, Expr>>,
}

/// Shared by a session and its schema provider.
pub struct SchemaState {
    pub catalog: Arc<SharedCatalog>,
    /// The catalog as changed by DDL of the session's open transaction.
    pub local: Mutex<Option<Arc<Catalog>>>,
    pub database: String,
    pub scan: Arc<ScanContext>,
    pub hints: Mutex<PlanHints>,
}

impl SchemaState {
    /// The catalog this session sees: its transaction's, else the shared one.
    pub fn current(&self) -> Arc<Catalog> {
        if let Some(local) = self.local.lock().as_ref() {
            return local.clone();
        }
        self.catalog.current()
    }
}

impl fmt::Debug for SchemaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemaState({})", self.database)
    }
}

/// `public` of one database.
#[derive(Debug)]
pub struct PrismSchema(pub Arc<SchemaState>);

#[async_trait]
impl SchemaProvider for PrismSchema {
    fn table_names(&self) -> Vec<String> {
        let catalog = self.0.current();
        catalog
            .database(&self.0.database)
            .map(|db| db.tables.keys().cloned().collect())
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let catalog = self.0.current();
        let Ok(db) = catalog.database(&self.0.database) else {
            return Ok(None);
        };
        let Some(table) = db.tables.get(name) else {
            return Ok(None);
        };
        let hints = self.0.hints.lock();
        let with_hidden = hints.dml_target == Some(table.id);
        let defaults = hints.defaults.get(&table.id).cloned().unwrap_or_default();
        let indexes = self.0.catalog.indexes(&catalog).on(table.id).to_vec();
        Ok(Some(Arc::new(RowTable::new(
            table.clone(),
            self.0.scan.clone(),
            with_hidden,
            defaults,
            indexes,
        ))))
    }

    fn table_exist(&self, name: &str) -> bool {
        let catalog = self.0.current();
        catalog
            .database(&self.0.database)
            .map(|db| db.tables.contains_key(name))
            .unwrap_or(false)
    }
}

/// The catalog of one database: `public`, the `prism_cluster` system
/// schema and `pg_catalog`.
#[derive(Debug)]
pub struct PrismCatalog {
    pub public: Arc<PrismSchema>,
    pub cluster: Arc<crate::system::ClusterSchema>,
    pub pg_catalog: Arc<prismdb_pgcatalog::PgCatalogSchema>,
    pub information_schema: Arc<prismdb_pgcatalog::PgCatalogSchema>,
}

/// What `pg_catalog` reads: the session's catalog (its open transaction's
/// DDL included), database and user.
pub struct SessionCatalogSource {
    pub state: Arc<SchemaState>,
    pub user: String,
    /// The session's settings, for `pg_settings`.
    pub settings: crate::settings::SharedSettings,
    /// The row store, for live row counts.
    pub store: Arc<prismdb_rowstore::RowStore>,
}

impl std::fmt::Debug for SessionCatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCatalogSource")
            .field("database", &self.state.database)
            .field("user", &self.user)
            .finish()
    }
}

impl prismdb_pgcatalog::CatalogSource for SessionCatalogSource {
    fn catalog(&self) -> Arc<Catalog> {
        self.state.current()
    }

    fn database(&self) -> String {
        self.state.database.clone()
    }

    fn user(&self) -> String {
        self.user.clone()
    }

    fn owner(&self) -> String {
        self.state
            .current()
            .role_name(prismdb_catalog::roles::BOOTSTRAP_ROLE_OID)
    }

    fn settings(&self) -> Vec<(String, String)> {
        self.settings.read().all()
    }

    fn row_count(&self, table: prismdb_common::TableId) -> u64 {
        self.store.row_count(table)
    }
}

impl CatalogProvider for PrismCatalog {
    fn schema_names(&self) -> Vec<String> {
        vec![
            DEFAULT_SCHEMA.to_string(),
            crate::system::CLUSTER_SCHEMA.to_string(),
            prismdb_pgcatalog::PG_CATALOG.to_string(),
            prismdb_pgcatalog::information_schema::INFORMATION_SCHEMA.to_string(),
        ]
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        match name {
            DEFAULT_SCHEMA => Some(self.public.clone()),
            crate::system::CLUSTER_SCHEMA => Some(self.cluster.clone()),
            prismdb_pgcatalog::PG_CATALOG => Some(self.pg_catalog.clone()),
            prismdb_pgcatalog::information_schema::INFORMATION_SCHEMA => {
                Some(self.information_schema.clone())
            }
            _ => None,
        }
    }
}

/// The only catalog a session sees: its own database.
#[derive(Debug)]
pub struct PrismCatalogList {
    pub name: String,
    pub catalog: Arc<PrismCatalog>,
}

impl CatalogProviderList for PrismCatalogList {
    fn register_catalog(
        &self,
        _name: String,
        _catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        (name == self.name).then(|| self.catalog.clone() as Arc<dyn CatalogProvider>)
    }
}

//! The `pg_catalog` schema as DataFusion sees it: each relation is built
//! when a statement scans it, from the catalog that statement reads.

use crate::tables::{Relation, Snapshot};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{SchemaProvider, Session};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use prismdb_catalog::Catalog;
use std::fmt;
use std::sync::Arc;

/// Where the schema reads the catalog from: the session's view of it
/// (its open transaction's DDL included).
pub trait CatalogSource: fmt::Debug + Send + Sync {
    /// The catalog the statement being planned reads.
    fn catalog(&self) -> Arc<Catalog>;
    /// The session's database.
    fn database(&self) -> String;
    /// The session's user.
    fn user(&self) -> String;
    /// The role that owns every object.
    fn owner(&self) -> String;
}

/// `pg_catalog`.
#[derive(Debug)]
pub struct PgCatalogSchema {
    source: Arc<dyn CatalogSource>,
}

impl PgCatalogSchema {
    pub fn new(source: Arc<dyn CatalogSource>) -> PgCatalogSchema {
        PgCatalogSchema { source }
    }
}

#[async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        crate::tables::all_relations()
            .map(|r| r.name.to_string())
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(crate::tables::relation(name).map(|relation| {
            Arc::new(CatalogTable {
                relation,
                source: self.source.clone(),
            }) as Arc<dyn TableProvider>
        }))
    }

    fn table_exist(&self, name: &str) -> bool {
        crate::tables::relation(name).is_some()
    }
}

/// One relation, built at scan time.
struct CatalogTable {
    relation: &'static Relation,
    source: Arc<dyn CatalogSource>,
}

impl fmt::Debug for CatalogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pg_catalog.{}", self.relation.name)
    }
}

#[async_trait]
impl TableProvider for CatalogTable {
    fn schema(&self) -> SchemaRef {
        self.relation.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let catalog = self.source.catalog();
        let (database, user, owner) = (
            self.source.database(),
            self.source.user(),
            self.source.owner(),
        );
        let snapshot = Snapshot {
            catalog: &catalog,
            database: &database,
            owner: &owner,
            user: &user,
        };
        let batch = self
            .relation
            .batch(&snapshot)
            .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema(),
            projection.cloned(),
        )?)
    }
}

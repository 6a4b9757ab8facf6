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
    /// The session's settings and their values (`pg_settings`).
    fn settings(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The live rows of a table (`pg_stat_user_tables.n_live_tup`).
    fn row_count(&self, _table: prismdb_common::TableId) -> u64 {
        0
    }
}

/// `pg_catalog`.
#[derive(Debug)]
pub struct PgCatalogSchema {
    source: Arc<dyn CatalogSource>,
    /// `pg_catalog` or `information_schema`.
    name: &'static str,
    lookup: fn(&str) -> Option<&'static Relation>,
    names: fn() -> Vec<String>,
}

impl PgCatalogSchema {
    /// The `pg_catalog` schema.
    pub fn new(source: Arc<dyn CatalogSource>) -> PgCatalogSchema {
        PgCatalogSchema {
            source,
            name: crate::PG_CATALOG,
            lookup: crate::tables::relation,
            names: || {
                crate::tables::all_relations()
                    .map(|r| r.name.to_string())
                    .collect()
            },
        }
    }

    /// The `information_schema` schema.
    pub fn information_schema(source: Arc<dyn CatalogSource>) -> PgCatalogSchema {
        PgCatalogSchema {
            source,
            name: crate::information_schema::INFORMATION_SCHEMA,
            lookup: crate::information_schema::relation,
            names: || {
                crate::information_schema::RELATIONS
                    .iter()
                    .map(|r| r.name.to_string())
                    .collect()
            },
        }
    }
}

#[async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        (self.names)()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok((self.lookup)(name).map(|relation| {
            Arc::new(CatalogTable {
                schema: self.name,
                relation,
                source: self.source.clone(),
            }) as Arc<dyn TableProvider>
        }))
    }

    fn table_exist(&self, name: &str) -> bool {
        (self.lookup)(name).is_some()
    }
}

/// One relation, built at scan time.
struct CatalogTable {
    schema: &'static str,
    relation: &'static Relation,
    source: Arc<dyn CatalogSource>,
}

impl fmt::Debug for CatalogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.relation.name)
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
        // Only pg_settings reads the settings.
        let settings = if self.relation.name == "pg_settings" {
            self.source.settings()
        } else {
            Vec::new()
        };
        let row_counts = if self.relation.name == "pg_stat_user_tables" {
            catalog
                .database(&database)
                .map(|db| {
                    db.tables
                        .values()
                        .map(|t| (t.id, self.source.row_count(t.id)))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Default::default()
        };
        let snapshot = Snapshot {
            catalog: &catalog,
            database: &database,
            owner: &owner,
            user: &user,
            settings: &settings,
            row_counts: &row_counts,
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

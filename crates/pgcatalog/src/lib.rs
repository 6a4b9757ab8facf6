//! PostgreSQL's system catalog (`pg_catalog`), generated from PrismDB's
//! live [`Catalog`](prismdb_catalog::Catalog).
//!
//! Clients learn what a database holds by querying `pg_catalog`: psql's
//! `\d` family, drivers' metadata calls (JDBC `DatabaseMetaData`), ORMs'
//! reflection and dashboard tools' schema discovery. This crate answers
//! them in PostgreSQL's shape:
//!
//! * [`oids`] gives every object a stable OID: PostgreSQL's own for
//!   built-in types and schemas, and one derived from the table id for
//!   tables and their primary-key indexes;
//! * [`types`] lists the built-in types with PostgreSQL's OIDs and maps
//!   column types to them (`atttypid`, `atttypmod`, `format_type`);
//! * [`tables`] builds each `pg_catalog` relation as an Arrow batch from one
//!   catalog snapshot;
//!   [`stubs`] are the relations of objects PrismDB does not have, with
//!   PostgreSQL's columns and no rows;
//! * [`information_schema`] is the standard's schema, PostgreSQL-shaped;
//! * [`schema`] serves them to DataFusion as the `pg_catalog` schema, read
//!   at the snapshot of the statement that scans them;
//! * [`functions`] are the catalog functions clients call with them
//!   (`format_type`, `pg_get_userbyid`, `pg_table_is_visible`, ...).

pub mod functions;
pub mod information_schema;
pub mod oids;
pub mod schema;
pub mod stubs;
pub mod tables;
pub mod types;

pub use schema::{CatalogSource, PgCatalogSchema};

/// The schema's name.
pub const PG_CATALOG: &str = "pg_catalog";

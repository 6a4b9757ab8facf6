//! The catalog: databases, tables, views, and how SQL types map to Arrow.
//!
//! A [`Catalog`] is a plain value. Every DDL statement produces a new catalog
//! (copy-on-write through `Arc`s) which is serialized with [`Catalog::encode`]
//! and committed by the row store in the same atomic batch as the DDL's
//! version bump, so the catalog persisted on disk always matches the data.
//! Readers take an `Arc<Catalog>` snapshot and never see a half-applied DDL.
//!
//! Tables without a declared primary key get a hidden `__prism_rowid`
//! column (see [`ROWID_COLUMN`]) that serves as their key; it is never shown.

pub mod arrow_rows;
mod filter;
pub mod roles;
mod types;

pub use filter::{CompareOp, RowFilter};
pub use roles::{AclItem, Ownership, Role};
pub use types::{ArrayElement, DEFAULT_NUMERIC, SqlType};

use prismdb_common::{Error, Result, TableId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Name of the hidden key column of tables declared without a primary key.
pub const ROWID_COLUMN: &str = "__prism_rowid";
/// The database every cluster starts with, and the schema every table lives in.
pub const DEFAULT_DATABASE: &str = "prism";
pub const DEFAULT_SCHEMA: &str = "public";

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    /// The DEFAULT expression as SQL text, evaluated at insert time.
    pub default: Option<String>,
    /// Hidden columns (the row id) are stored but never shown to clients.
    pub hidden: bool,
}

/// A table: its columns in declaration order and which of them form the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<Column>,
    /// Indices into `columns` of the primary key, in key order. Never empty:
    /// a table without a declared key uses its hidden row id column.
    pub primary_key: Vec<usize>,
    /// Columnar replicas asked for with `ALTER TABLE … SET COLUMNAR REPLICA n`
    /// (0: none).
    #[serde(default)]
    pub columnar_replicas: u32,
    /// Owner and grants.
    #[serde(default)]
    pub ownership: Ownership,
    /// The primary key constraint's name when the statement gave one
    /// (`CONSTRAINT c PRIMARY KEY`); see [`Table::key_constraint_name`].
    #[serde(default)]
    pub key_constraint: Option<String>,
}

impl Table {
    /// The name of the primary key constraint and its index: the one given,
    /// or PostgreSQL's `<table>_pkey`.
    pub fn key_constraint_name(&self) -> String {
        match &self.key_constraint {
            Some(name) => name.clone(),
            None => format!("{}_pkey", self.name),
        }
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether the key is the hidden row id rather than declared columns.
    pub fn has_rowid(&self) -> bool {
        self.primary_key.len() == 1 && self.columns[self.primary_key[0]].hidden
    }

    /// The columns a client sees, in order.
    pub fn visible_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden)
    }

    /// Arrow schema of the visible columns, as scans return them.
    pub fn arrow_schema(&self) -> arrow::datatypes::SchemaRef {
        let fields: Vec<_> = self
            .visible_columns()
            .map(|(_, c)| c.ty.arrow_field(&c.name, c.nullable))
            .collect();
        Arc::new(arrow::datatypes::Schema::new(fields))
    }
}

/// A view: a stored query, expanded at planning time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    /// The defining query, as SQL text.
    pub query: String,
    /// Column names given as `CREATE VIEW v(a, b)`, if any.
    pub columns: Vec<String>,
    /// The type of each column of the view's rows when it was created
    /// (`None` where no column type matches), for `pg_attribute`.
    #[serde(default)]
    pub types: Vec<Option<SqlType>>,
    /// Owner and grants.
    #[serde(default)]
    pub ownership: Ownership,
}

/// One database: a namespace of tables and views (schema `public`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub tables: BTreeMap<String, Arc<Table>>,
    pub views: BTreeMap<String, Arc<View>>,
    /// Roles (OIDs, [`roles::PUBLIC_GRANTEE`] for all) granted CREATE on
    /// schema `public`; superusers need no grant.
    #[serde(default)]
    pub create_grantees: Vec<u32>,
    /// `COMMENT ON TABLE / COLUMN`, by table id.
    #[serde(default)]
    pub comments: BTreeMap<TableId, Comments>,
    /// Secondary indexes by name (names share the relations' space).
    #[serde(default)]
    pub indexes: BTreeMap<String, Index>,
    /// Sequences by name (names share the relations' space).
    #[serde(default)]
    pub sequences: BTreeMap<String, Arc<Sequence>>,
}

/// How an identity column takes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`: an INSERT may not give a value.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`: a value given is taken.
    ByDefault,
}

/// A sequence: `CREATE SEQUENCE`, or the one a `SERIAL` or identity column
/// owns. The
/// catalog holds its definition; its value lives in the row store, in the
/// key space of its id (see `prismdb_exec::sequences`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Drawn from the table ids (never reused): its OID and the row store's
    /// key space of its value derive from it.
    pub id: TableId,
    pub name: String,
    /// `smallint`, `integer` or `bigint`.
    pub ty: SqlType,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub start: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `OWNED BY table.column`: the table's id and the column's name. The
    /// sequence is dropped with its table.
    pub owned_by: Option<(TableId, String)>,
    /// The column it owns is an identity column (`GENERATED ... AS
    /// IDENTITY`), and how.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Owner and grants.
    #[serde(default)]
    pub ownership: Ownership,
}

/// A secondary index (`CREATE INDEX`, or a `UNIQUE` constraint). The
/// catalog records its definition; the row store keeps its entries (see
/// `prismdb_rowstore::index`), built from the log index of its DDL on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Unique among indexes ever made: the index's OID and the row store's
    /// key space of its entries derive from it.
    pub id: u32,
    pub name: String,
    pub table: TableId,
    pub columns: Vec<IndexColumn>,
    /// `INCLUDE (...)` columns.
    pub include: Vec<String>,
    /// `WHERE ...` of a partial index, as SQL text.
    pub predicate: Option<String>,
    /// The predicate in the form the row store evaluates (`None` for an
    /// index of every row).
    #[serde(default)]
    pub filter: Option<RowFilter>,
    /// No two rows with the same non-NULL key (NULLs are distinct).
    #[serde(default)]
    pub unique: bool,
    /// Declared as a `UNIQUE` constraint (listed in `pg_constraint`, dropped
    /// with `DROP CONSTRAINT`), not with `CREATE INDEX`.
    #[serde(default)]
    pub constraint: bool,
}

impl Index {
    /// The names of the index's columns: its key columns, then the
    /// INCLUDE ones (PostgreSQL's `indkey` order).
    pub fn column_names(&self) -> impl Iterator<Item = &String> {
        self.columns.iter().map(|c| &c.name).chain(&self.include)
    }
}

/// One key column of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: String,
    pub descending: bool,
    /// NULLS FIRST (PostgreSQL's default for DESC).
    pub nulls_first: bool,
}

/// The comments of one table and its columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comments {
    pub table: Option<String>,
    /// By column name.
    pub columns: BTreeMap<String, String>,
}

impl Comments {
    pub fn is_empty(&self) -> bool {
        self.table.is_none() && self.columns.is_empty()
    }
}

impl Database {
    /// The sequence column `column` of table `table` owns (SERIAL or
    /// identity), if any.
    pub fn sequence_owned_by(&self, table: TableId, column: &str) -> Option<&Arc<Sequence>> {
        self.sequences.values().find(|s| {
            s.owned_by
                .as_ref()
                .is_some_and(|(t, c)| *t == table && c == column)
        })
    }

    /// How column `column` of table `table` is an identity column, if it is.
    pub fn identity(&self, table: TableId, column: &str) -> Option<Identity> {
        self.sequence_owned_by(table, column)?.identity
    }

    /// The indexes of one table, by name.
    pub fn indexes_on(&self, table: TableId) -> impl Iterator<Item = &Index> {
        self.indexes.values().filter(move |i| i.table == table)
    }

    /// Whether a table, view, sequence or index (a primary key's included) of this
    /// name exists.
    pub fn has_relation(&self, name: &str) -> bool {
        self.has_relation_besides_key_of(name, None)
    }

    /// [`Database::has_relation`], not counting the primary key index of
    /// table `except`.
    pub fn has_relation_besides_key_of(&self, name: &str, except: Option<TableId>) -> bool {
        self.tables.contains_key(name)
            || self.views.contains_key(name)
            || self.indexes.contains_key(name)
            || self.sequences.contains_key(name)
            || self
                .tables
                .values()
                .any(|t| Some(t.id) != except && !t.has_rowid() && t.key_constraint_name() == name)
    }
}

/// All databases of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub databases: BTreeMap<String, Arc<Database>>,
    pub next_table_id: TableId,
    /// Settings a role's sessions start with (`ALTER ROLE r SET p = v`):
    /// role → parameter → value.
    #[serde(default)]
    pub role_settings: BTreeMap<String, BTreeMap<String, String>>,
    /// Roles by name; a catalog written before roles existed has only the
    /// bootstrap superuser.
    #[serde(default = "roles::default_roles")]
    pub roles: BTreeMap<String, Role>,
    /// The OID the next `CREATE ROLE` takes.
    #[serde(default = "first_role_oid")]
    pub next_role_oid: u32,
    /// The id the next `CREATE INDEX` takes.
    #[serde(default)]
    pub next_index_id: u32,
}

fn first_role_oid() -> u32 {
    roles::FIRST_ROLE_OID
}

impl Default for Catalog {
    fn default() -> Self {
        let mut databases = BTreeMap::new();
        databases.insert(DEFAULT_DATABASE.to_string(), Arc::new(Database::default()));
        Catalog {
            databases,
            next_table_id: 1,
            role_settings: BTreeMap::new(),
            roles: roles::default_roles(),
            next_role_oid: roles::FIRST_ROLE_OID,
            next_index_id: 0,
        }
    }
}

impl Catalog {
    /// Serializes the catalog for the row store's metadata.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data structures to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a catalog written by [`Catalog::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Catalog> {
        serde_json::from_slice(bytes).map_err(|e| Error::Storage(format!("corrupt catalog: {e}")))
    }

    pub fn database(&self, name: &str) -> Result<&Arc<Database>> {
        self.databases
            .get(name)
            .ok_or_else(|| Error::UndefinedDatabase(format!("database \"{name}\" does not exist")))
    }

    /// Looks up a table of a database.
    pub fn table(&self, database: &str, name: &str) -> Result<&Arc<Table>> {
        self.database(database)?
            .tables
            .get(name)
            .ok_or_else(|| Error::UndefinedTable(format!("relation \"{name}\" does not exist")))
    }

    /// Finds a table by id, with its database name.
    pub fn table_by_id(&self, id: TableId) -> Option<(&str, &Arc<Table>)> {
        self.databases.iter().find_map(|(db, d)| {
            d.tables
                .values()
                .find(|t| t.id == id)
                .map(|t| (db.as_str(), t))
        })
    }

    /// Every index of every database with its table.
    pub fn all_indexes(&self) -> impl Iterator<Item = (&Arc<Table>, &Index)> {
        self.databases.values().flat_map(|d| {
            d.indexes
                .values()
                .filter_map(|i| d.tables.values().find(|t| t.id == i.table).map(|t| (t, i)))
        })
    }

    /// A role by name.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    /// A role by OID.
    pub fn role_by_oid(&self, oid: u32) -> Option<&Role> {
        self.roles.values().find(|r| r.oid == oid)
    }

    /// The name of a role OID as PostgreSQL prints an unknown one.
    pub fn role_name(&self, oid: u32) -> String {
        self.role_by_oid(oid)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| oid.to_string())
    }

    /// Whether clients must prove a password: once any role has one, every
    /// login is authenticated with SCRAM-SHA-256.
    pub fn passwords_required(&self) -> bool {
        self.roles.values().any(|r| r.password.is_some())
    }

    /// A mutable copy of one database, for building the next catalog.
    pub fn database_mut(&mut self, name: &str) -> Result<&mut Database> {
        let db = self.databases.get_mut(name).ok_or_else(|| {
            Error::UndefinedDatabase(format!("database \"{name}\" does not exist"))
        })?;
        Ok(Arc::make_mut(db))
    }
}

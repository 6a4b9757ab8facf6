//! Object identifiers. Built-in objects keep PostgreSQL's OIDs, which
//! clients hard-code (`typnamespace = 11`, `relam = 403`); PrismDB's own
//! objects get OIDs from 16384 up (PostgreSQL's first user OID), derived
//! from ids that never change, so an OID a client cached stays valid.

use prismdb_catalog::Table;

/// `pg_catalog`.
pub const PG_CATALOG_NAMESPACE: u32 = 11;
/// `public`.
pub const PUBLIC_NAMESPACE: u32 = 2200;
/// `information_schema` (PostgreSQL assigns it at initdb; 13000 here).
pub const INFORMATION_SCHEMA_NAMESPACE: u32 = 13000;
/// `prism_cluster`, PrismDB's system views.
pub const PRISM_CLUSTER_NAMESPACE: u32 = 13100;

/// The bootstrap superuser (PostgreSQL's `BOOTSTRAP_SUPERUSERID`), which
/// owns the built-in objects.
pub const BOOTSTRAP_ROLE: u32 = prismdb_catalog::roles::BOOTSTRAP_ROLE_OID;

/// Access methods (`pg_am`).
pub const HEAP_AM: u32 = 2;
pub const BTREE_AM: u32 = 403;

/// The first OID of user objects.
pub const FIRST_USER_OID: u32 = 16384;

/// Views are kept by name only; their OIDs are drawn from a hash of the
/// name in a range of their own, above every table's.
const VIEW_OID_BASE: u32 = 0x4000_0000;

/// A table's OID. Table ids are never reused; each table has four OIDs:
/// itself, its row type, its primary-key index and that constraint.
pub fn table_oid(table: &Table) -> u32 {
    FIRST_USER_OID + 4 * table.id
}

/// A sequence's OID. Sequence ids are drawn from the table ids, so a
/// sequence's OIDs never meet a table's.
pub fn sequence_oid(seq: &prismdb_catalog::Sequence) -> u32 {
    FIRST_USER_OID + 4 * seq.id
}

/// The OID of a table's row type (`pg_class.reltype`).
pub fn row_type_oid(table: &Table) -> u32 {
    table_oid(table) + 1
}

/// The OID of a table's primary-key index.
pub fn primary_key_oid(table: &Table) -> u32 {
    table_oid(table) + 2
}

/// The OID of a table's primary-key constraint.
pub fn primary_key_constraint_oid(table: &Table) -> u32 {
    table_oid(table) + 3
}

/// Secondary indexes take OIDs of a range of their own, from their ids.
const INDEX_OID_BASE: u32 = 0x0800_0000;

/// A secondary index's OID.
pub fn index_oid(index: &prismdb_catalog::Index) -> u32 {
    INDEX_OID_BASE + index.id
}

/// UNIQUE constraints take OIDs of a range of their own, from their
/// index's id.
const UNIQUE_CONSTRAINT_OID_BASE: u32 = 0x0C00_0000;

/// The OID of the UNIQUE constraint an index backs.
pub fn unique_constraint_oid(index: &prismdb_catalog::Index) -> u32 {
    UNIQUE_CONSTRAINT_OID_BASE + index.id
}

/// Column defaults (`pg_attrdef`) take OIDs of a range of their own:
/// 1,600 (PostgreSQL's column limit) per table id.
const ATTRDEF_OID_BASE: u32 = 0x1000_0000;

/// The OID of the default of column `attnum` (from 1).
pub fn attrdef_oid(table: &Table, attnum: i16) -> u32 {
    ATTRDEF_OID_BASE + table.id * 1600 + attnum as u32
}

/// Databases, too, are kept by name; their OIDs come from a range below
/// the views'.
const DATABASE_OID_BASE: u32 = 0x2000_0000;

/// FNV-1a of a name.
fn name_hash(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A view's OID: stable for its name.
pub fn view_oid(name: &str) -> u32 {
    VIEW_OID_BASE | (name_hash(name) & 0x3fff_ffff)
}

/// A database's OID: stable for its name.
pub fn database_oid(name: &str) -> u32 {
    DATABASE_OID_BASE | (name_hash(name) & 0x1fff_ffff)
}

/// PostgreSQL's OIDs of the `pg_catalog` relations clients name in
/// `'pg_catalog.pg_class'::regclass` and `obj_description(oid, 'pg_class')`.
pub fn catalog_relation_oid(name: &str) -> Option<u32> {
    Some(match name {
        "pg_type" => 1247,
        "pg_attribute" => 1249,
        "pg_proc" => 1255,
        "pg_class" => 1259,
        "pg_database" => 1262,
        "pg_authid" => 1260,
        "pg_am" => 2601,
        "pg_attrdef" => 2604,
        "pg_constraint" => 2606,
        "pg_description" => 2609,
        "pg_index" => 2610,
        "pg_inherits" => 2611,
        "pg_namespace" => 2615,
        "pg_sequence" => 2224,
        "pg_extension" => 3079,
        "pg_collation" => 3456,
        "pg_enum" => 3501,
        _ => return None,
    })
}

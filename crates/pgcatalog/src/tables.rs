//! The `pg_catalog` relations, each built as one Arrow batch from a
//! catalog snapshot.
//!
//! A relation is a list of typed columns ([`Kind`]) and a function from a
//! [`Snapshot`] to rows of [`Value`]s, turned into Arrow as stored rows
//! are (`catalog::arrow_rows::build_array`). Columns keep PostgreSQL's names,
//! order and types (OIDs as `oid`, names as `name`); relations PrismDB has
//! nothing to put in (inheritance, extensions) exist with
//! their columns and no rows, so a client's catalog query returns
//! PostgreSQL's shape instead of an error.

use crate::oids::{self, BOOTSTRAP_ROLE, PG_CATALOG_NAMESPACE, PUBLIC_NAMESPACE};
use crate::types::{self, BUILTIN_TYPES, type_modifier, type_oid};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use prismdb_catalog::arrow_rows::build_array;
use prismdb_catalog::{ArrayElement, Catalog, DEFAULT_SCHEMA, SqlType, Table};
use prismdb_common::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What a relation is built from: the catalog as the reading statement
/// sees it, the database it reads, and who owns its objects.
pub struct Snapshot<'a> {
    pub catalog: &'a Catalog,
    pub database: &'a str,
    /// The role that owns every object (PrismDB has one owner per cluster).
    pub owner: &'a str,
    /// The session's user.
    pub user: &'a str,
    /// The session's settings (`pg_settings`).
    pub settings: &'a [(String, String)],
    /// Live rows per table, for the relations that report them
    /// (`pg_stat_user_tables.n_live_tup`); empty for the others.
    pub row_counts: &'a std::collections::HashMap<prismdb_common::TableId, u64>,
}

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Oid,
    Name,
    Text,
    /// PostgreSQL's one-byte `"char"`.
    Char,
    /// An array of text (`aclitem[]`, `text[]`) PrismDB always leaves NULL.
    TextArray,
    /// An array of text that carries values (`relacl`, `rolconfig`).
    Texts,
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    TimestampTz,
    /// An array of smallint (`int2[]`), from `Value::List`s.
    I16Array,
    /// `int2vector` (`indkey`): an array of smallint that prints as
    /// `1 2`.
    Int2Vector,
    /// `oidvector` (`indclass`): an array of OIDs that prints as `1 2`.
    OidVector,
}

impl Kind {
    /// The column type its values are stored as, and the PostgreSQL type
    /// the wire names it, where that is not the stored type's own.
    fn stored(self) -> (SqlType, Option<&'static str>) {
        match self {
            Kind::Oid => (SqlType::Int64, Some("oid")),
            Kind::Name => (SqlType::Text, Some("name")),
            Kind::Text | Kind::Char => (SqlType::Text, None),
            Kind::TextArray | Kind::Texts => (SqlType::Array(ArrayElement::Text), None),
            Kind::Bool => (SqlType::Bool, None),
            Kind::I16 => (SqlType::Int16, None),
            Kind::I32 => (SqlType::Int32, None),
            Kind::I64 => (SqlType::Int64, None),
            Kind::F32 => (SqlType::Float32, None),
            Kind::F64 => (SqlType::Float64, None),
            Kind::TimestampTz => (SqlType::TimestampTz, None),
            Kind::I16Array => (SqlType::Array(ArrayElement::Int16), None),
            Kind::Int2Vector => (SqlType::Array(ArrayElement::Int16), Some("int2vector")),
            Kind::OidVector => (SqlType::Array(ArrayElement::Int64), Some("oidvector")),
        }
    }

    fn field(self, name: &str) -> Field {
        let (stored, pg) = self.stored();
        let field = Field::new(name, stored.arrow_type(), true);
        match pg {
            Some(pg) => field.with_metadata(HashMap::from([("pg_type".into(), pg.into())])),
            None => field,
        }
    }
}

pub(crate) fn s(v: impl Into<String>) -> Value {
    Value::Text(v.into())
}

/// An OID value (OID columns are `bigint` data the wire sends as `oid`).
fn oid_value(v: u32) -> Value {
    Value::Int64(v.into())
}

/// A `pg_catalog` relation.
pub struct Relation {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub rows: fn(&Snapshot<'_>) -> Vec<Vec<Value>>,
}

impl Relation {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|(n, k)| k.field(n))
                .collect::<Vec<_>>(),
        ))
    }

    /// The relation's rows in `snapshot`, as one batch.
    pub fn batch(&self, snapshot: &Snapshot<'_>) -> Result<RecordBatch, ArrowError> {
        let rows = (self.rows)(snapshot);
        let mismatch = |name: &str, e: &dyn std::fmt::Display| {
            ArrowError::InvalidArgumentError(format!("pg_catalog.{}.{name}: {e}", self.name))
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null));
            let array = build_array(&kind.stored().0, values).map_err(|e| mismatch(name, &e))?;
            arrays.push(array);
        }
        RecordBatch::try_new(self.schema(), arrays)
    }
}

/// The relations of the schema that describe PrismDB's objects (see
/// [`crate::stubs::STUBS`] for the others).
pub const RELATIONS: &[Relation] = &[
    PG_SETTINGS,
    PG_STAT_USER_TABLES,
    PG_NAMESPACE,
    PG_CLASS,
    PG_ATTRIBUTE,
    PG_TYPE,
    PG_AM,
    PG_DATABASE,
    PG_ROLES,
    PG_USER,
    PG_DB_ROLE_SETTING,
    PG_AUTHID,
    PG_INDEX,
    PG_CONSTRAINT,
    PG_ATTRDEF,
    PG_DESCRIPTION,
    PG_TABLES,
    PG_VIEWS,
    PG_INDEXES,
    PG_EXTENSION,
    PG_ENUM,
    PG_COLLATION,
];

/// Whether `column` is an array column PrismDB leaves NULL wherever a
/// pg_catalog relation has it (`reloptions`, `proargnames`, ...; not
/// `relacl` or `rolconfig`, which carry grants and settings).
pub fn is_null_array_column(column: &str) -> bool {
    let kinds = || {
        all_relations()
            .flat_map(|r| r.columns.iter())
            .filter(|(n, _)| *n == column)
            .map(|(_, k)| *k)
    };
    kinds().any(|k| k == Kind::TextArray) && !kinds().any(|k| k == Kind::Texts)
}

/// Every relation of the schema.
pub fn all_relations() -> impl Iterator<Item = &'static Relation> {
    RELATIONS.iter().chain(crate::stubs::STUBS)
}

/// A relation by name.
pub fn relation(name: &str) -> Option<&'static Relation> {
    all_relations().find(|r| r.name == name)
}

/// The schemas, with their OIDs.
pub fn namespaces() -> [(u32, &'static str); 4] {
    [
        (PG_CATALOG_NAMESPACE, "pg_catalog"),
        (PUBLIC_NAMESPACE, DEFAULT_SCHEMA),
        (oids::INFORMATION_SCHEMA_NAMESPACE, "information_schema"),
        (oids::PRISM_CLUSTER_NAMESPACE, "prism_cluster"),
    ]
}

/// A role's OID: the owner is the bootstrap superuser.
pub fn role_oid(snapshot: &Snapshot<'_>, role: &str) -> u32 {
    snapshot.catalog.role(role).map_or(0, |r| r.oid)
}

pub(crate) fn tables<'a>(snapshot: &Snapshot<'a>) -> Vec<&'a Arc<Table>> {
    snapshot
        .catalog
        .database(snapshot.database)
        .map(|db| db.tables.values().collect())
        .unwrap_or_default()
}

pub(crate) fn views<'a>(
    snapshot: &Snapshot<'a>,
) -> Vec<(&'a String, &'a Arc<prismdb_catalog::View>)> {
    snapshot
        .catalog
        .database(snapshot.database)
        .map(|db| db.views.iter().collect())
        .unwrap_or_default()
}

pub(crate) fn sequences<'a>(snapshot: &Snapshot<'a>) -> Vec<&'a Arc<prismdb_catalog::Sequence>> {
    snapshot
        .catalog
        .database(snapshot.database)
        .map(|db| db.sequences.values().collect())
        .unwrap_or_default()
}

/// Whether a table has a declared primary key (not the hidden row id).
pub(crate) fn has_primary_key(t: &Table) -> bool {
    !t.has_rowid()
}

/// The visible columns with their `attnum` (from 1).
pub(crate) fn attributes(t: &Table) -> impl Iterator<Item = (i16, &prismdb_catalog::Column)> {
    t.visible_columns()
        .enumerate()
        .map(|(i, (_, c))| (i as i16 + 1, c))
}

/// `attnum`s of the primary key's columns.
fn key_attnums(t: &Table) -> Vec<i16> {
    let visible: Vec<usize> = t.visible_columns().map(|(i, _)| i).collect();
    t.primary_key
        .iter()
        .filter_map(|k| visible.iter().position(|v| v == k))
        .map(|p| p as i16 + 1)
        .collect()
}

/// `typstorage`: plain for fixed-size types, main for numeric, extended
/// for other variable-length ones.
fn storage(oid: u32, len: i16) -> &'static str {
    match (oid, len) {
        (1700, _) => "m",
        (_, -1) => "x",
        _ => "p",
    }
}

/// A column DEFAULT as `pg_get_expr` prints it: a string literal or a
/// negative number with a cast to the column's type, as PostgreSQL
/// deparses constants (`'x'::character varying`, `'-1'::integer`).
pub(crate) fn default_expression(default: &str, ty: &SqlType) -> String {
    let d = default.trim();
    let cast = || types::format_type(type_oid(ty), None).unwrap_or_else(|| "text".into());
    let single_literal = d.len() >= 2
        && d.starts_with('\'')
        && d.ends_with('\'')
        && !d[1..d.len() - 1].replace("''", "").contains('\'');
    if single_literal {
        return format!("{d}::{}", cast());
    }
    if d.starts_with('-') && d[1..].parse::<f64>().is_ok() {
        return format!("'{d}'::{}", cast());
    }
    d.to_string()
}

/// The secondary indexes of the session's database with their tables.
pub(crate) fn secondary_indexes<'a>(
    snapshot: &Snapshot<'a>,
) -> Vec<(&'a prismdb_catalog::Index, &'a Arc<Table>)> {
    let Ok(db) = snapshot.catalog.database(snapshot.database) else {
        return Vec::new();
    };
    db.indexes
        .values()
        .filter_map(|i| db.tables.values().find(|t| t.id == i.table).map(|t| (i, t)))
        .collect()
}

/// The `attnum` of a visible column by name.
pub(crate) fn attnum(t: &Table, name: &str) -> Option<i16> {
    attributes(t).find(|(_, c)| c.name == name).map(|(n, _)| n)
}

/// `pg_get_indexdef` of a secondary index.
pub fn secondary_index_definition(
    index: &prismdb_catalog::Index,
    t: &Table,
    pretty: bool,
) -> String {
    let cols: Vec<String> = index
        .columns
        .iter()
        .map(|c| {
            let mut s = quote_ident(&c.name);
            match (c.descending, c.nulls_first) {
                (false, true) => s.push_str(" NULLS FIRST"),
                (true, true) => s.push_str(" DESC"),
                (true, false) => s.push_str(" DESC NULLS LAST"),
                (false, false) => {}
            }
            s
        })
        .collect();
    // Pretty, a table on the search path is not schema-qualified.
    let schema = if pretty {
        String::new()
    } else {
        format!("{DEFAULT_SCHEMA}.")
    };
    let mut def = format!(
        "CREATE {}INDEX {} ON {schema}{} USING btree ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        quote_ident(&t.name),
        cols.join(", ")
    );
    if !index.include.is_empty() {
        let include: Vec<String> = index.include.iter().map(|c| quote_ident(c)).collect();
        def.push_str(&format!(" INCLUDE ({})", include.join(", ")));
    }
    if let Some(p) = &index.predicate {
        if pretty {
            def.push_str(&format!(" WHERE {p}"));
        } else {
            def.push_str(&format!(" WHERE ({p})"));
        }
    }
    def
}

/// `pg_get_indexdef` of a table's primary-key index.
pub fn index_definition(t: &Table) -> String {
    let cols: Vec<String> = t
        .primary_key
        .iter()
        .map(|&i| quote_ident(&t.columns[i].name))
        .collect();
    format!(
        "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
        quote_ident(&t.key_constraint_name()),
        DEFAULT_SCHEMA,
        quote_ident(&t.name),
        cols.join(", ")
    )
}

/// `quote_ident`: the name as SQL must spell it.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !is_reserved(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn is_reserved(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&name)
}

fn collation_of(ty: &SqlType) -> u32 {
    match ty {
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => 100,
        _ => 0,
    }
}

const PG_NAMESPACE: Relation = Relation {
    name: "pg_namespace",
    columns: &[
        ("oid", Kind::Oid),
        ("nspname", Kind::Name),
        ("nspowner", Kind::Oid),
        ("nspacl", Kind::TextArray),
    ],
    rows: |_| {
        namespaces()
            .iter()
            .map(|(oid, name)| {
                vec![
                    oid_value(*oid),
                    s(*name),
                    oid_value(BOOTSTRAP_ROLE),
                    Value::Null,
                ]
            })
            .collect()
    },
};

const PG_CLASS: Relation = Relation {
    name: "pg_class",
    columns: &[
        ("oid", Kind::Oid),
        ("relname", Kind::Name),
        ("relnamespace", Kind::Oid),
        ("reltype", Kind::Oid),
        ("reloftype", Kind::Oid),
        ("relowner", Kind::Oid),
        ("relam", Kind::Oid),
        ("relfilenode", Kind::Oid),
        ("reltablespace", Kind::Oid),
        ("relpages", Kind::I32),
        ("reltuples", Kind::F32),
        ("relallvisible", Kind::I32),
        ("reltoastrelid", Kind::Oid),
        ("relhasindex", Kind::Bool),
        ("relisshared", Kind::Bool),
        ("relpersistence", Kind::Char),
        ("relkind", Kind::Char),
        ("relnatts", Kind::I16),
        ("relchecks", Kind::I16),
        ("relhasrules", Kind::Bool),
        ("relhastriggers", Kind::Bool),
        ("relhassubclass", Kind::Bool),
        ("relrowsecurity", Kind::Bool),
        ("relforcerowsecurity", Kind::Bool),
        ("relispopulated", Kind::Bool),
        ("relreplident", Kind::Char),
        ("relispartition", Kind::Bool),
        ("relrewrite", Kind::Oid),
        ("relfrozenxid", Kind::Oid),
        ("relminmxid", Kind::Oid),
        ("relacl", Kind::Texts),
        ("reloptions", Kind::TextArray),
        ("relpartbound", Kind::Text),
    ],
    rows: |snap| {
        let class = |oid: u32, name: String, reltype: u32, am: u32, kind: &str, natts: usize| {
            vec![
                oid_value(oid),
                Value::Text(name),
                oid_value(PUBLIC_NAMESPACE),
                oid_value(reltype),
                oid_value(0),
                oid_value(BOOTSTRAP_ROLE),
                oid_value(am),
                oid_value(if kind == "v" { 0 } else { oid }),
                oid_value(0),
                Value::Int32(0),
                Value::Float32(-1.0),
                Value::Int32(0),
                oid_value(0),
                Value::Bool(false),
                Value::Bool(false),
                s("p"),
                s(kind),
                Value::Int16(natts as i16),
                Value::Int16(0),
                Value::Bool(kind == "v"),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                s(if kind == "r" { "d" } else { "n" }),
                Value::Bool(false),
                oid_value(0),
                oid_value(0),
                oid_value(0),
                Value::Null,
                Value::Null,
                Value::Null,
            ]
        };
        let mut rows = Vec::new();
        for t in tables(snap) {
            let mut row = class(
                oids::table_oid(t),
                t.name.clone(),
                oids::row_type_oid(t),
                oids::HEAP_AM,
                "r",
                t.visible_columns().count(),
            );
            row[13] = Value::Bool(has_primary_key(t));
            row[5] = oid_value(t.ownership.owner);
            row[30] = relacl(snap, &t.ownership);
            rows.push(row);
            if has_primary_key(t) {
                let mut index = class(
                    oids::primary_key_oid(t),
                    t.key_constraint_name(),
                    0,
                    oids::BTREE_AM,
                    "i",
                    t.primary_key.len(),
                );
                index[5] = oid_value(t.ownership.owner);
                rows.push(index);
            }
        }
        for (index, t) in secondary_indexes(snap) {
            let mut row = class(
                oids::index_oid(index),
                index.name.clone(),
                0,
                oids::BTREE_AM,
                "i",
                index.columns.len() + index.include.len(),
            );
            row[5] = oid_value(t.ownership.owner);
            rows.push(row);
        }
        for seq in sequences(snap) {
            // A sequence's row has last_value, log_cnt and is_called.
            let mut row = class(oids::sequence_oid(seq), seq.name.clone(), 0, 0, "S", 3);
            row[5] = oid_value(seq.ownership.owner);
            row[30] = relacl(snap, &seq.ownership);
            rows.push(row);
        }
        for (name, v) in views(snap) {
            let mut row = class(
                oids::view_oid(name),
                name.clone(),
                0,
                0,
                "v",
                v.columns.len(),
            );
            row[5] = oid_value(v.ownership.owner);
            row[30] = relacl(snap, &v.ownership);
            rows.push(row);
        }
        rows
    },
};

const PG_ATTRIBUTE: Relation = Relation {
    name: "pg_attribute",
    columns: &[
        ("attrelid", Kind::Oid),
        ("attname", Kind::Name),
        ("atttypid", Kind::Oid),
        ("attstattarget", Kind::I32),
        ("attlen", Kind::I16),
        ("attnum", Kind::I16),
        ("attndims", Kind::I32),
        ("attcacheoff", Kind::I32),
        ("atttypmod", Kind::I32),
        ("attbyval", Kind::Bool),
        ("attalign", Kind::Char),
        ("attstorage", Kind::Char),
        ("attcompression", Kind::Char),
        ("attnotnull", Kind::Bool),
        ("atthasdef", Kind::Bool),
        ("atthasmissing", Kind::Bool),
        ("attidentity", Kind::Char),
        ("attgenerated", Kind::Char),
        ("attisdropped", Kind::Bool),
        ("attislocal", Kind::Bool),
        ("attinhcount", Kind::I32),
        ("attcollation", Kind::Oid),
        ("attacl", Kind::TextArray),
        ("attoptions", Kind::TextArray),
        ("attfdwoptions", Kind::TextArray),
        ("attmissingval", Kind::Text),
    ],
    rows: |snap| {
        let attr =
            |rel: u32, name: &str, ty: Option<&SqlType>, num: i16, notnull: bool, def: bool| {
                let oid = ty.map_or(0, type_oid);
                let builtin = types::by_oid(oid);
                let len = builtin.map_or(-1, |t| t.len);
                vec![
                    oid_value(rel),
                    s(name),
                    oid_value(oid),
                    Value::Int32(-1),
                    Value::Int16(len),
                    Value::Int16(num),
                    Value::Int32(0),
                    Value::Int32(-1),
                    Value::Int32(ty.map_or(-1, type_modifier)),
                    Value::Bool((1..=8).contains(&len)),
                    s(match len {
                        1 => "c",
                        2 => "s",
                        4 => "i",
                        8 => "d",
                        _ => "i",
                    }),
                    s(storage(oid, len)),
                    s(""),
                    Value::Bool(notnull),
                    Value::Bool(def),
                    Value::Bool(false),
                    s(""),
                    s(""),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Int32(0),
                    oid_value(ty.map_or(0, collation_of)),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            };
        let mut rows = Vec::new();
        let db = snap.catalog.database(snap.database).ok();
        for t in tables(snap) {
            let rel = oids::table_oid(t);
            for (num, c) in attributes(t) {
                let identity = db.and_then(|db| db.identity(t.id, &c.name));
                let mut row = attr(
                    rel,
                    &c.name,
                    Some(&c.ty),
                    num,
                    !c.nullable,
                    c.default.is_some() && identity.is_none(),
                );
                // attidentity: an identity column's default is its own.
                row[16] = s(match identity {
                    Some(prismdb_catalog::Identity::Always) => "a",
                    Some(prismdb_catalog::Identity::ByDefault) => "d",
                    None => "",
                });
                rows.push(row);
            }
            if has_primary_key(t) {
                let index = oids::primary_key_oid(t);
                for (i, &k) in t.primary_key.iter().enumerate() {
                    let c = &t.columns[k];
                    rows.push(attr(
                        index,
                        &c.name,
                        Some(&c.ty),
                        i as i16 + 1,
                        false,
                        false,
                    ));
                }
            }
        }
        for (index, t) in secondary_indexes(snap) {
            let rel = oids::index_oid(index);
            let names = index.column_names();
            for (i, name) in names.enumerate() {
                if let Some((_, c)) = t.visible_columns().find(|(_, c)| c.name == *name) {
                    rows.push(attr(rel, &c.name, Some(&c.ty), i as i16 + 1, false, false));
                }
            }
        }
        for (name, v) in views(snap) {
            let rel = oids::view_oid(name);
            for (i, c) in v.columns.iter().enumerate() {
                let ty = v.types.get(i).and_then(Option::as_ref);
                rows.push(attr(rel, c, ty, i as i16 + 1, false, false));
            }
        }
        rows
    },
};

const PG_TYPE: Relation = Relation {
    name: "pg_type",
    columns: &[
        ("oid", Kind::Oid),
        ("typname", Kind::Name),
        ("typnamespace", Kind::Oid),
        ("typowner", Kind::Oid),
        ("typlen", Kind::I16),
        ("typbyval", Kind::Bool),
        ("typtype", Kind::Char),
        ("typcategory", Kind::Char),
        ("typispreferred", Kind::Bool),
        ("typisdefined", Kind::Bool),
        ("typdelim", Kind::Char),
        ("typrelid", Kind::Oid),
        ("typsubscript", Kind::Text),
        ("typelem", Kind::Oid),
        ("typarray", Kind::Oid),
        ("typinput", Kind::Text),
        ("typoutput", Kind::Text),
        ("typreceive", Kind::Text),
        ("typsend", Kind::Text),
        ("typalign", Kind::Char),
        ("typstorage", Kind::Char),
        ("typnotnull", Kind::Bool),
        ("typbasetype", Kind::Oid),
        ("typtypmod", Kind::I32),
        ("typndims", Kind::I32),
        ("typcollation", Kind::Oid),
        ("typdefault", Kind::Text),
        ("typacl", Kind::TextArray),
    ],
    rows: |snap| {
        let mut rows: Vec<Vec<Value>> = BUILTIN_TYPES
            .iter()
            .map(|t| {
                let pseudo = t.category == 'P' || t.name == "unknown";
                let base = if t.elem != 0 {
                    types::by_oid(t.elem).map_or(t.name, |e| e.name)
                } else {
                    t.name
                };
                let io = |suffix: &str| {
                    if t.elem != 0 {
                        format!("array_{suffix}")
                    } else {
                        format!("{base}{suffix}")
                    }
                };
                let collation = match base {
                    "text" | "varchar" | "bpchar" | "name" => 100,
                    _ => 0,
                };
                vec![
                    oid_value(t.oid),
                    s(t.name),
                    oid_value(PG_CATALOG_NAMESPACE),
                    oid_value(BOOTSTRAP_ROLE),
                    Value::Int16(t.len),
                    Value::Bool((1..=8).contains(&t.len) && t.name != "name"),
                    s(if pseudo { "p" } else { "b" }),
                    Value::Text(t.category.to_string()),
                    Value::Bool(matches!(
                        t.name,
                        "bool" | "float8" | "text" | "timestamptz" | "oid" | "interval"
                    )),
                    Value::Bool(true),
                    s(","),
                    oid_value(0),
                    s(if t.elem != 0 {
                        "array_subscript_handler"
                    } else {
                        "-"
                    }),
                    oid_value(t.elem),
                    oid_value(t.array),
                    Value::Text(io("in")),
                    Value::Text(io("out")),
                    Value::Text(io("recv")),
                    Value::Text(io("send")),
                    s(match t.len {
                        1 => "c",
                        2 => "s",
                        8 => "d",
                        _ => "i",
                    }),
                    s(storage(t.oid, t.len)),
                    Value::Bool(false),
                    oid_value(0),
                    Value::Int32(-1),
                    Value::Int32(0),
                    oid_value(collation),
                    Value::Null,
                    Value::Null,
                ]
            })
            .collect();
        // Each table's row type.
        for t in tables(snap) {
            let mut row = rows[0].clone();
            row[0] = oid_value(oids::row_type_oid(t));
            row[1] = Value::Text(t.name.clone());
            row[2] = oid_value(PUBLIC_NAMESPACE);
            row[4] = Value::Int16(-1);
            row[5] = Value::Bool(false);
            row[6] = s("c");
            row[7] = s("C");
            row[8] = Value::Bool(false);
            row[11] = oid_value(oids::table_oid(t));
            row[12] = s("-");
            row[13] = oid_value(0);
            row[14] = oid_value(0);
            for (i, f) in ["record_in", "record_out", "record_recv", "record_send"]
                .iter()
                .enumerate()
            {
                row[15 + i] = s(*f);
            }
            row[19] = s("d");
            row[20] = s("x");
            row[25] = oid_value(0);
            rows.push(row);
        }
        rows
    },
};

const PG_AM: Relation = Relation {
    name: "pg_am",
    columns: &[
        ("oid", Kind::Oid),
        ("amname", Kind::Name),
        ("amhandler", Kind::Text),
        ("amtype", Kind::Char),
    ],
    rows: |_| {
        vec![
            vec![
                oid_value(oids::HEAP_AM),
                s("heap"),
                s("heap_tableam_handler"),
                s("t"),
            ],
            vec![
                oid_value(oids::BTREE_AM),
                s("btree"),
                s("bthandler"),
                s("i"),
            ],
            vec![oid_value(405), s("hash"), s("hashhandler"), s("i")],
        ]
    },
};

const PG_DATABASE: Relation = Relation {
    name: "pg_database",
    columns: &[
        ("oid", Kind::Oid),
        ("datname", Kind::Name),
        ("datdba", Kind::Oid),
        ("encoding", Kind::I32),
        ("datlocprovider", Kind::Char),
        ("datistemplate", Kind::Bool),
        ("datallowconn", Kind::Bool),
        ("datconnlimit", Kind::I32),
        ("datfrozenxid", Kind::Oid),
        ("datminmxid", Kind::Oid),
        ("dattablespace", Kind::Oid),
        ("datcollate", Kind::Text),
        ("datctype", Kind::Text),
        ("daticulocale", Kind::Text),
        ("datcollversion", Kind::Text),
        ("datacl", Kind::TextArray),
    ],
    rows: |snap| {
        snap.catalog
            .databases
            .keys()
            .map(|name| {
                vec![
                    oid_value(oids::database_oid(name)),
                    s(name.as_str()),
                    oid_value(BOOTSTRAP_ROLE),
                    Value::Int32(6),
                    s("c"),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Int32(-1),
                    oid_value(0),
                    oid_value(1),
                    oid_value(1663),
                    s("C.UTF-8"),
                    s("C.UTF-8"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            })
            .collect()
    },
};

/// The roles of the cluster.
fn roles<'a>(snap: &Snapshot<'a>) -> impl Iterator<Item = &'a prismdb_catalog::Role> {
    snap.catalog.roles.values()
}

/// `rolconfig`: the role's `ALTER ROLE ... SET` settings as `name=value`.
fn role_config(snap: &Snapshot<'_>, role: &str) -> Value {
    match snap.catalog.role_settings.get(role) {
        Some(settings) if !settings.is_empty() => Value::List(
            settings
                .iter()
                .map(|(k, v)| Value::Text(format!("{k}={v}")))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// `relacl` of a relation.
fn relacl(snap: &Snapshot<'_>, ownership: &prismdb_catalog::Ownership) -> Value {
    match ownership.acl_items(|oid| snap.catalog.role_name(oid)) {
        Some(items) => Value::List(items.into_iter().map(Value::Text).collect()),
        None => Value::Null,
    }
}

const PG_ROLES: Relation = Relation {
    name: "pg_roles",
    columns: &[
        ("rolname", Kind::Name),
        ("rolsuper", Kind::Bool),
        ("rolinherit", Kind::Bool),
        ("rolcreaterole", Kind::Bool),
        ("rolcreatedb", Kind::Bool),
        ("rolcanlogin", Kind::Bool),
        ("rolreplication", Kind::Bool),
        ("rolconnlimit", Kind::I32),
        ("rolpassword", Kind::Text),
        ("rolvaliduntil", Kind::Text),
        ("rolbypassrls", Kind::Bool),
        ("rolconfig", Kind::Texts),
        ("oid", Kind::Oid),
    ],
    rows: |snap| {
        roles(snap)
            .map(|r| {
                vec![
                    Value::Text(r.name.clone()),
                    Value::Bool(r.superuser),
                    Value::Bool(r.inherit),
                    Value::Bool(r.create_role),
                    Value::Bool(r.create_db),
                    Value::Bool(r.login),
                    Value::Bool(r.replication),
                    Value::Int32(r.connection_limit),
                    s("********"),
                    r.valid_until.clone().map_or(Value::Null, Value::Text),
                    Value::Bool(r.bypass_rls),
                    role_config(snap, &r.name),
                    oid_value(r.oid),
                ]
            })
            .collect()
    },
};

/// The roles with their stored passwords (SCRAM verifiers), which only a
/// superuser's session sees (PostgreSQL refuses others the relation;
/// here `rolpassword` reads NULL for them).
const PG_AUTHID: Relation = Relation {
    name: "pg_authid",
    columns: &[
        ("oid", Kind::Oid),
        ("rolname", Kind::Name),
        ("rolsuper", Kind::Bool),
        ("rolinherit", Kind::Bool),
        ("rolcreaterole", Kind::Bool),
        ("rolcreatedb", Kind::Bool),
        ("rolcanlogin", Kind::Bool),
        ("rolreplication", Kind::Bool),
        ("rolbypassrls", Kind::Bool),
        ("rolconnlimit", Kind::I32),
        ("rolpassword", Kind::Text),
        ("rolvaliduntil", Kind::Text),
    ],
    rows: |snap| {
        let superuser = snap.catalog.role(snap.user).is_some_and(|r| r.superuser);
        roles(snap)
            .map(|r| {
                vec![
                    oid_value(r.oid),
                    Value::Text(r.name.clone()),
                    Value::Bool(r.superuser),
                    Value::Bool(r.inherit),
                    Value::Bool(r.create_role),
                    Value::Bool(r.create_db),
                    Value::Bool(r.login),
                    Value::Bool(r.replication),
                    Value::Bool(r.bypass_rls),
                    Value::Int32(r.connection_limit),
                    match (&r.password, superuser) {
                        (Some(p), true) => Value::Text(p.clone()),
                        _ => Value::Null,
                    },
                    r.valid_until.clone().map_or(Value::Null, Value::Text),
                ]
            })
            .collect()
    },
};

/// `ALTER ROLE ... SET` settings (PrismDB has no per-database form:
/// `setdatabase` is 0).
const PG_DB_ROLE_SETTING: Relation = Relation {
    name: "pg_db_role_setting",
    columns: &[
        ("setdatabase", Kind::Oid),
        ("setrole", Kind::Oid),
        ("setconfig", Kind::Texts),
    ],
    rows: |snap| {
        roles(snap)
            .filter(|r| snap.catalog.role_settings.contains_key(&r.name))
            .map(|r| vec![oid_value(0), oid_value(r.oid), role_config(snap, &r.name)])
            .collect()
    },
};

const PG_USER: Relation = Relation {
    name: "pg_user",
    columns: &[
        ("usename", Kind::Name),
        ("usesysid", Kind::Oid),
        ("usecreatedb", Kind::Bool),
        ("usesuper", Kind::Bool),
        ("userepl", Kind::Bool),
        ("usebypassrls", Kind::Bool),
        ("passwd", Kind::Text),
        ("valuntil", Kind::Text),
        ("useconfig", Kind::Texts),
    ],
    rows: |snap| {
        roles(snap)
            .filter(|r| r.login)
            .map(|r| {
                vec![
                    Value::Text(r.name.clone()),
                    oid_value(r.oid),
                    Value::Bool(r.create_db),
                    Value::Bool(r.superuser),
                    Value::Bool(r.replication),
                    Value::Bool(r.bypass_rls),
                    s("********"),
                    r.valid_until.clone().map_or(Value::Null, Value::Text),
                    role_config(snap, &r.name),
                ]
            })
            .collect()
    },
};

const PG_INDEX: Relation = Relation {
    name: "pg_index",
    columns: &[
        ("indexrelid", Kind::Oid),
        ("indrelid", Kind::Oid),
        ("indnatts", Kind::I16),
        ("indnkeyatts", Kind::I16),
        ("indisunique", Kind::Bool),
        ("indnullsnotdistinct", Kind::Bool),
        ("indisprimary", Kind::Bool),
        ("indisexclusion", Kind::Bool),
        ("indimmediate", Kind::Bool),
        ("indisclustered", Kind::Bool),
        ("indisvalid", Kind::Bool),
        ("indcheckxmin", Kind::Bool),
        ("indisready", Kind::Bool),
        ("indislive", Kind::Bool),
        ("indisreplident", Kind::Bool),
        ("indkey", Kind::Int2Vector),
        ("indcollation", Kind::OidVector),
        ("indclass", Kind::OidVector),
        ("indoption", Kind::Int2Vector),
        ("indexprs", Kind::Text),
        ("indpred", Kind::Text),
    ],
    rows: |snap| {
        let secondary = secondary_indexes(snap).into_iter().map(|(index, t)| {
            let keys: Vec<i16> = index
                .column_names()
                .map(|c| attnum(t, c).unwrap_or(0))
                .collect();
            let key_columns: Vec<&prismdb_catalog::Column> = index
                .columns
                .iter()
                .filter_map(|c| t.visible_columns().find(|(_, col)| col.name == c.name))
                .map(|(_, col)| col)
                .collect();
            vec![
                oid_value(oids::index_oid(index)),
                oid_value(oids::table_oid(t)),
                Value::Int16(keys.len() as i16),
                Value::Int16(index.columns.len() as i16),
                Value::Bool(index.unique),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                Value::List(keys.iter().map(|k| Value::Int16(*k)).collect()),
                Value::List(
                    key_columns
                        .iter()
                        .map(|c| Value::Int64(collation_of(&c.ty).into()))
                        .collect(),
                ),
                Value::List(vec![Value::Int64(0); index.columns.len()]),
                Value::List(
                    index
                        .columns
                        .iter()
                        .map(|c| {
                            Value::Int16(i16::from(c.descending) | (i16::from(c.nulls_first) << 1))
                        })
                        .collect(),
                ),
                Value::Null,
                index.predicate.clone().map_or(Value::Null, Value::Text),
            ]
        });
        tables(snap)
            .into_iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                let keys = key_attnums(t);
                let n = keys.len() as i16;
                vec![
                    oid_value(oids::primary_key_oid(t)),
                    oid_value(oids::table_oid(t)),
                    Value::Int16(n),
                    Value::Int16(n),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::List(keys.iter().map(|k| Value::Int16(*k)).collect()),
                    Value::List(
                        t.primary_key
                            .iter()
                            .map(|&i| Value::Int64(collation_of(&t.columns[i].ty).into()))
                            .collect(),
                    ),
                    Value::List(vec![Value::Int64(0); keys.len()]),
                    Value::List(vec![Value::Int16(0); keys.len()]),
                    Value::Null,
                    Value::Null,
                ]
            })
            .chain(secondary)
            .collect()
    },
};

const PG_CONSTRAINT: Relation = Relation {
    name: "pg_constraint",
    columns: &[
        ("oid", Kind::Oid),
        ("conname", Kind::Name),
        ("connamespace", Kind::Oid),
        ("contype", Kind::Char),
        ("condeferrable", Kind::Bool),
        ("condeferred", Kind::Bool),
        ("convalidated", Kind::Bool),
        ("conrelid", Kind::Oid),
        ("contypid", Kind::Oid),
        ("conindid", Kind::Oid),
        ("conparentid", Kind::Oid),
        ("confrelid", Kind::Oid),
        ("confupdtype", Kind::Char),
        ("confdeltype", Kind::Char),
        ("confmatchtype", Kind::Char),
        ("conislocal", Kind::Bool),
        ("coninhcount", Kind::I32),
        ("connoinherit", Kind::Bool),
        ("conkey", Kind::I16Array),
        ("confkey", Kind::I16Array),
        ("conbin", Kind::Text),
    ],
    rows: |snap| {
        let unique = secondary_indexes(snap)
            .into_iter()
            .filter(|(i, _)| i.constraint)
            .map(|(index, t)| {
                let keys: Vec<i16> = index
                    .columns
                    .iter()
                    .map(|c| attnum(t, &c.name).unwrap_or(0))
                    .collect();
                key_constraint_row(
                    oids::unique_constraint_oid(index),
                    index.name.clone(),
                    "u",
                    t,
                    oids::index_oid(index),
                    &keys,
                )
            })
            .collect::<Vec<_>>();
        tables(snap)
            .into_iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                key_constraint_row(
                    oids::primary_key_constraint_oid(t),
                    t.key_constraint_name(),
                    "p",
                    t,
                    oids::primary_key_oid(t),
                    &key_attnums(t),
                )
            })
            .chain(unique)
            .collect()
    },
};

/// A `pg_constraint` row of a primary-key (`p`) or unique (`u`) constraint
/// of table `t`, backed by index `index_oid` over columns `keys`.
fn key_constraint_row(
    oid: u32,
    name: String,
    contype: &str,
    t: &Table,
    index_oid: u32,
    keys: &[i16],
) -> Vec<Value> {
    vec![
        oid_value(oid),
        Value::Text(name),
        oid_value(PUBLIC_NAMESPACE),
        s(contype),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(true),
        oid_value(oids::table_oid(t)),
        oid_value(0),
        oid_value(index_oid),
        oid_value(0),
        oid_value(0),
        s(" "),
        s(" "),
        s(" "),
        Value::Bool(true),
        Value::Int32(0),
        Value::Bool(true),
        Value::List(keys.iter().map(|k| Value::Int16(*k)).collect()),
        Value::Null,
        Value::Null,
    ]
}

const PG_SETTINGS: Relation = Relation {
    name: "pg_settings",
    columns: &[
        ("name", Kind::Text),
        ("setting", Kind::Text),
        ("unit", Kind::Text),
        ("category", Kind::Text),
        ("short_desc", Kind::Text),
        ("extra_desc", Kind::Text),
        ("context", Kind::Text),
        ("vartype", Kind::Text),
        ("source", Kind::Text),
        ("min_val", Kind::Text),
        ("max_val", Kind::Text),
        ("enumvals", Kind::TextArray),
        ("boot_val", Kind::Text),
        ("reset_val", Kind::Text),
        ("sourcefile", Kind::Text),
        ("sourceline", Kind::I32),
        ("pending_restart", Kind::Bool),
    ],
    rows: |snap| {
        snap.settings
            .iter()
            .map(|(name, value)| {
                let vartype = if matches!(value.as_str(), "on" | "off") {
                    "bool"
                } else if value.parse::<i64>().is_ok() {
                    "integer"
                } else {
                    "string"
                };
                vec![
                    s(name.as_str()),
                    s(value.as_str()),
                    Value::Null,
                    s(if name.starts_with("prism.") {
                        "Customized Options"
                    } else {
                        "Client Connection Defaults"
                    }),
                    s(""),
                    Value::Null,
                    s("user"),
                    s(vartype),
                    s("default"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    s(value.as_str()),
                    s(value.as_str()),
                    Value::Null,
                    Value::Null,
                    Value::Bool(false),
                ]
            })
            .collect()
    },
};

/// Per-table activity counters: the live rows (exact, as the row store
/// keeps them); PrismDB counts no scans or vacuums, so those read 0.
const PG_STAT_USER_TABLES: Relation = Relation {
    name: "pg_stat_user_tables",
    columns: &[
        ("relid", Kind::Oid),
        ("schemaname", Kind::Name),
        ("relname", Kind::Name),
        ("seq_scan", Kind::I64),
        ("seq_tup_read", Kind::I64),
        ("idx_scan", Kind::I64),
        ("idx_tup_fetch", Kind::I64),
        ("n_tup_ins", Kind::I64),
        ("n_tup_upd", Kind::I64),
        ("n_tup_del", Kind::I64),
        ("n_tup_hot_upd", Kind::I64),
        ("n_live_tup", Kind::I64),
        ("n_dead_tup", Kind::I64),
        ("n_mod_since_analyze", Kind::I64),
        ("n_ins_since_vacuum", Kind::I64),
        ("last_vacuum", Kind::TimestampTz),
        ("last_autovacuum", Kind::TimestampTz),
        ("last_analyze", Kind::TimestampTz),
        ("last_autoanalyze", Kind::TimestampTz),
        ("vacuum_count", Kind::I64),
        ("autovacuum_count", Kind::I64),
        ("analyze_count", Kind::I64),
        ("autoanalyze_count", Kind::I64),
    ],
    rows: |snap| {
        tables(snap)
            .iter()
            .map(|t| {
                let mut row = vec![
                    oid_value(oids::table_oid(t)),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                ];
                row.extend((0..12).map(|_| Value::Int64(0)));
                // n_live_tup
                row[11] = Value::Int64(
                    snap.row_counts
                        .get(&t.id)
                        .map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX)),
                );
                row.extend((0..4).map(|_| Value::Null));
                row.extend((0..4).map(|_| Value::Int64(0)));
                row
            })
            .collect()
    },
};

const PG_ATTRDEF: Relation = Relation {
    name: "pg_attrdef",
    columns: &[
        ("oid", Kind::Oid),
        ("adrelid", Kind::Oid),
        ("adnum", Kind::I16),
        ("adbin", Kind::Text),
    ],
    rows: |snap| {
        let mut rows = Vec::new();
        let db = snap.catalog.database(snap.database).ok();
        for t in tables(snap) {
            for (num, c) in attributes(t) {
                // An identity column's default is not a default here.
                if db.is_some_and(|db| db.identity(t.id, &c.name).is_some()) {
                    continue;
                }
                if let Some(d) = &c.default {
                    rows.push(vec![
                        oid_value(oids::attrdef_oid(t, num)),
                        oid_value(oids::table_oid(t)),
                        Value::Int16(num),
                        Value::Text(default_expression(d, &c.ty)),
                    ]);
                }
            }
        }
        rows
    },
};

const PG_DESCRIPTION: Relation = Relation {
    name: "pg_description",
    columns: &[
        ("objoid", Kind::Oid),
        ("classoid", Kind::Oid),
        ("objsubid", Kind::I32),
        ("description", Kind::Text),
    ],
    rows: |snap| {
        let Ok(db) = snap.catalog.database(snap.database) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for t in db.tables.values() {
            let Some(c) = db.comments.get(&t.id) else {
                continue;
            };
            let oid = oids::table_oid(t);
            let mut row = |subid: i32, text: &str| {
                rows.push(vec![
                    oid_value(oid),
                    oid_value(1259),
                    Value::Int32(subid),
                    s(text),
                ])
            };
            if let Some(text) = &c.table {
                row(0, text);
            }
            for (n, (_, col)) in t.visible_columns().enumerate() {
                if let Some(text) = c.columns.get(&col.name) {
                    row(n as i32 + 1, text);
                }
            }
        }
        rows
    },
};

const PG_TABLES: Relation = Relation {
    name: "pg_tables",
    columns: &[
        ("schemaname", Kind::Name),
        ("tablename", Kind::Name),
        ("tableowner", Kind::Name),
        ("tablespace", Kind::Name),
        ("hasindexes", Kind::Bool),
        ("hasrules", Kind::Bool),
        ("hastriggers", Kind::Bool),
        ("rowsecurity", Kind::Bool),
    ],
    rows: |snap| {
        tables(snap)
            .into_iter()
            .map(|t| {
                vec![
                    s(DEFAULT_SCHEMA),
                    Value::Text(t.name.clone()),
                    Value::Text(snap.catalog.role_name(t.ownership.owner)),
                    Value::Null,
                    Value::Bool(has_primary_key(t)),
                    Value::Bool(false),
                    Value::Bool(false),
                    Value::Bool(false),
                ]
            })
            .collect()
    },
};

const PG_VIEWS: Relation = Relation {
    name: "pg_views",
    columns: &[
        ("schemaname", Kind::Name),
        ("viewname", Kind::Name),
        ("viewowner", Kind::Name),
        ("definition", Kind::Text),
    ],
    rows: |snap| {
        views(snap)
            .into_iter()
            .map(|(name, v)| {
                vec![
                    s(DEFAULT_SCHEMA),
                    Value::Text(name.clone()),
                    Value::Text(snap.catalog.role_name(v.ownership.owner)),
                    Value::Text(format!(" {};", v.query.trim_end_matches(';'))),
                ]
            })
            .collect()
    },
};

const PG_INDEXES: Relation = Relation {
    name: "pg_indexes",
    columns: &[
        ("schemaname", Kind::Name),
        ("tablename", Kind::Name),
        ("indexname", Kind::Name),
        ("tablespace", Kind::Name),
        ("indexdef", Kind::Text),
    ],
    rows: |snap| {
        tables(snap)
            .into_iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                vec![
                    s(DEFAULT_SCHEMA),
                    Value::Text(t.name.clone()),
                    Value::Text(t.key_constraint_name()),
                    Value::Null,
                    Value::Text(index_definition(t)),
                ]
            })
            .chain(secondary_indexes(snap).into_iter().map(|(index, t)| {
                vec![
                    s(DEFAULT_SCHEMA),
                    Value::Text(t.name.clone()),
                    Value::Text(index.name.clone()),
                    Value::Null,
                    Value::Text(secondary_index_definition(index, t, false)),
                ]
            }))
            .collect()
    },
};

const PG_EXTENSION: Relation = Relation {
    name: "pg_extension",
    columns: &[
        ("oid", Kind::Oid),
        ("extname", Kind::Name),
        ("extowner", Kind::Oid),
        ("extnamespace", Kind::Oid),
        ("extrelocatable", Kind::Bool),
        ("extversion", Kind::Text),
        ("extconfig", Kind::TextArray),
        ("extcondition", Kind::TextArray),
    ],
    rows: |_| Vec::new(),
};

const PG_ENUM: Relation = Relation {
    name: "pg_enum",
    columns: &[
        ("oid", Kind::Oid),
        ("enumtypid", Kind::Oid),
        ("enumsortorder", Kind::F32),
        ("enumlabel", Kind::Name),
    ],
    rows: |_| Vec::new(),
};

const PG_COLLATION: Relation = Relation {
    name: "pg_collation",
    columns: &[
        ("oid", Kind::Oid),
        ("collname", Kind::Name),
        ("collnamespace", Kind::Oid),
        ("collowner", Kind::Oid),
        ("collprovider", Kind::Char),
        ("collisdeterministic", Kind::Bool),
        ("collencoding", Kind::I32),
        ("collcollate", Kind::Text),
        ("collctype", Kind::Text),
        ("colliculocale", Kind::Text),
        ("collversion", Kind::Text),
    ],
    rows: |_| {
        [
            (100, "default", "d", -1, None),
            (950, "C", "c", -1, Some("C")),
            (951, "POSIX", "c", -1, Some("POSIX")),
        ]
        .into_iter()
        .map(|(oid, name, provider, encoding, locale)| {
            let locale = locale.map_or(Value::Null, s);
            vec![
                oid_value(oid),
                s(name),
                oid_value(PG_CATALOG_NAMESPACE),
                oid_value(BOOTSTRAP_ROLE),
                s(provider),
                Value::Bool(true),
                Value::Int32(encoding),
                locale.clone(),
                locale,
                Value::Null,
                Value::Null,
            ]
        })
        .collect()
    },
};

#[cfg(test)]
#[path = "tables_test.rs"]
mod tests;

//! The `pg_catalog` relations, each built as one Arrow batch from a
//! catalog snapshot.
//!
//! A relation is a list of typed columns ([`Kind`]) and a function from a
//! [`Snapshot`] to rows of [`V`] values. Columns keep PostgreSQL's names,
//! order and types (OIDs as `oid`, names as `name`); relations PrismDB has
//! nothing to put in (descriptions, inheritance, extensions) exist with
//! their columns and no rows, so a client's catalog query returns
//! PostgreSQL's shape instead of an error.

use crate::oids::{self, BOOTSTRAP_ROLE, PG_CATALOG_NAMESPACE, PUBLIC_NAMESPACE};
use crate::types::{self, BUILTIN_TYPES, type_modifier, type_oid};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Int16Array, Int32Array, Int64Array, StringArray,
    UInt32Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use prismdb_catalog::{Catalog, DEFAULT_SCHEMA, SqlType, Table};
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
}

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Oid,
    Name,
    Text,
    /// PostgreSQL's one-byte `"char"`.
    Char,
    /// An array of text (`aclitem[]`, `text[]`); always NULL so far.
    TextArray,
    Bool,
    I16,
    I32,
    I64,
    F32,
}

impl Kind {
    fn field(self, name: &str) -> Field {
        let (dt, pg) = match self {
            Kind::Oid => (DataType::UInt32, Some("oid")),
            Kind::Name => (DataType::Utf8, Some("name")),
            Kind::Text | Kind::Char => (DataType::Utf8, None),
            Kind::Bool => (DataType::Boolean, None),
            Kind::TextArray => (
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                None,
            ),
            Kind::I16 => (DataType::Int16, None),
            Kind::I32 => (DataType::Int32, None),
            Kind::I64 => (DataType::Int64, None),
            Kind::F32 => (DataType::Float32, None),
        };
        let field = Field::new(name, dt, true);
        match pg {
            Some(pg) => field.with_metadata(HashMap::from([("pg_type".into(), pg.into())])),
            None => field,
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Oid(u32),
    Text(String),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
}

fn s(v: impl Into<String>) -> V {
    V::Text(v.into())
}

/// A `pg_catalog` relation.
pub struct Relation {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub rows: fn(&Snapshot<'_>) -> Vec<Vec<V>>,
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
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r.get(i).unwrap_or(&V::Null));
            let mismatch = |v: &V| {
                ArrowError::InvalidArgumentError(format!(
                    "pg_catalog.{}.{name}: {v:?} is not {kind:?}",
                    self.name
                ))
            };
            let array: ArrayRef = match kind {
                Kind::Oid => Arc::new(
                    values
                        .map(|v| match v {
                            V::Oid(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<UInt32Array, _>>()?,
                ),
                Kind::Name | Kind::Text | Kind::Char => Arc::new(
                    values
                        .map(|v| match v {
                            V::Text(x) => Ok(Some(x.as_str())),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<StringArray, _>>()?,
                ),
                Kind::TextArray => {
                    if let Some(v) = values.clone().find(|v| **v != V::Null) {
                        return Err(mismatch(v));
                    }
                    datafusion::arrow::array::new_null_array(
                        &kind.field(name).data_type().clone(),
                        rows.len(),
                    )
                }
                Kind::Bool => Arc::new(
                    values
                        .map(|v| match v {
                            V::Bool(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<BooleanArray, _>>()?,
                ),
                Kind::I16 => Arc::new(
                    values
                        .map(|v| match v {
                            V::I16(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<Int16Array, _>>()?,
                ),
                Kind::I32 => Arc::new(
                    values
                        .map(|v| match v {
                            V::I32(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<Int32Array, _>>()?,
                ),
                Kind::I64 => Arc::new(
                    values
                        .map(|v| match v {
                            V::I64(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<Int64Array, _>>()?,
                ),
                Kind::F32 => Arc::new(
                    values
                        .map(|v| match v {
                            V::F32(x) => Ok(Some(*x)),
                            V::Null => Ok(None),
                            v => Err(mismatch(v)),
                        })
                        .collect::<Result<Float32Array, _>>()?,
                ),
            };
            arrays.push(array);
        }
        RecordBatch::try_new(self.schema(), arrays)
    }
}

/// Every relation of the schema.
pub const RELATIONS: &[Relation] = &[
    PG_NAMESPACE,
    PG_CLASS,
    PG_ATTRIBUTE,
    PG_TYPE,
    PG_AM,
    PG_DATABASE,
    PG_ROLES,
    PG_USER,
    PG_INDEX,
    PG_CONSTRAINT,
    PG_ATTRDEF,
    PG_DESCRIPTION,
    PG_TABLES,
    PG_VIEWS,
    PG_INDEXES,
    PG_INHERITS,
    PG_EXTENSION,
    PG_ENUM,
    PG_COLLATION,
    PG_SEQUENCE,
];

/// A relation by name.
pub fn relation(name: &str) -> Option<&'static Relation> {
    RELATIONS.iter().find(|r| r.name == name)
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
    if role == snapshot.owner {
        BOOTSTRAP_ROLE
    } else {
        oids::FIRST_USER_OID - 1 - (oids::view_oid(role) & 0x0fff)
    }
}

fn tables<'a>(snapshot: &Snapshot<'a>) -> Vec<&'a Arc<Table>> {
    snapshot
        .catalog
        .database(snapshot.database)
        .map(|db| db.tables.values().collect())
        .unwrap_or_default()
}

fn views<'a>(snapshot: &Snapshot<'a>) -> Vec<(&'a String, &'a Arc<prismdb_catalog::View>)> {
    snapshot
        .catalog
        .database(snapshot.database)
        .map(|db| db.views.iter().collect())
        .unwrap_or_default()
}

/// Whether a table has a declared primary key (not the hidden row id).
fn has_primary_key(t: &Table) -> bool {
    !t.has_rowid()
}

/// The visible columns with their `attnum` (from 1).
fn attributes(t: &Table) -> impl Iterator<Item = (i16, &prismdb_catalog::Column)> {
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

fn primary_key_name(t: &Table) -> String {
    format!("{}_pkey", t.name)
}

fn index_definition(t: &Table) -> String {
    let cols: Vec<String> = t
        .primary_key
        .iter()
        .map(|&i| quote_ident(&t.columns[i].name))
        .collect();
    format!(
        "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
        quote_ident(&primary_key_name(t)),
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
            .map(|(oid, name)| vec![V::Oid(*oid), s(*name), V::Oid(BOOTSTRAP_ROLE), V::Null])
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
        ("relacl", Kind::TextArray),
        ("reloptions", Kind::TextArray),
        ("relpartbound", Kind::Text),
    ],
    rows: |snap| {
        let class = |oid: u32, name: String, reltype: u32, am: u32, kind: &str, natts: usize| {
            vec![
                V::Oid(oid),
                V::Text(name),
                V::Oid(PUBLIC_NAMESPACE),
                V::Oid(reltype),
                V::Oid(0),
                V::Oid(BOOTSTRAP_ROLE),
                V::Oid(am),
                V::Oid(if kind == "v" { 0 } else { oid }),
                V::Oid(0),
                V::I32(0),
                V::F32(-1.0),
                V::I32(0),
                V::Oid(0),
                V::Bool(false),
                V::Bool(false),
                s("p"),
                s(kind),
                V::I16(natts as i16),
                V::I16(0),
                V::Bool(kind == "v"),
                V::Bool(false),
                V::Bool(false),
                V::Bool(false),
                V::Bool(false),
                V::Bool(true),
                s(if kind == "r" { "d" } else { "n" }),
                V::Bool(false),
                V::Oid(0),
                V::Oid(0),
                V::Oid(0),
                V::Null,
                V::Null,
                V::Null,
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
            row[13] = V::Bool(has_primary_key(t));
            rows.push(row);
            if has_primary_key(t) {
                rows.push(class(
                    oids::primary_key_oid(t),
                    primary_key_name(t),
                    0,
                    oids::BTREE_AM,
                    "i",
                    t.primary_key.len(),
                ));
            }
        }
        for (name, v) in views(snap) {
            rows.push(class(
                oids::view_oid(name),
                name.clone(),
                0,
                0,
                "v",
                v.columns.len(),
            ));
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
                    V::Oid(rel),
                    s(name),
                    V::Oid(oid),
                    V::I32(-1),
                    V::I16(len),
                    V::I16(num),
                    V::I32(0),
                    V::I32(-1),
                    V::I32(ty.map_or(-1, type_modifier)),
                    V::Bool((1..=8).contains(&len)),
                    s(match len {
                        1 => "c",
                        2 => "s",
                        4 => "i",
                        8 => "d",
                        _ => "i",
                    }),
                    s(if len == -1 { "x" } else { "p" }),
                    s(""),
                    V::Bool(notnull),
                    V::Bool(def),
                    V::Bool(false),
                    s(""),
                    s(""),
                    V::Bool(false),
                    V::Bool(true),
                    V::I32(0),
                    V::Oid(ty.map_or(0, collation_of)),
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                ]
            };
        let mut rows = Vec::new();
        for t in tables(snap) {
            let rel = oids::table_oid(t);
            for (num, c) in attributes(t) {
                rows.push(attr(
                    rel,
                    &c.name,
                    Some(&c.ty),
                    num,
                    !c.nullable,
                    c.default.is_some(),
                ));
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
        for (name, v) in views(snap) {
            let rel = oids::view_oid(name);
            for (i, c) in v.columns.iter().enumerate() {
                rows.push(attr(rel, c, None, i as i16 + 1, false, false));
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
        let mut rows: Vec<Vec<V>> = BUILTIN_TYPES
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
                    V::Oid(t.oid),
                    s(t.name),
                    V::Oid(PG_CATALOG_NAMESPACE),
                    V::Oid(BOOTSTRAP_ROLE),
                    V::I16(t.len),
                    V::Bool((1..=8).contains(&t.len) && t.name != "name"),
                    s(if pseudo { "p" } else { "b" }),
                    V::Text(t.category.to_string()),
                    V::Bool(matches!(
                        t.name,
                        "bool" | "float8" | "text" | "timestamptz" | "oid" | "interval"
                    )),
                    V::Bool(true),
                    s(","),
                    V::Oid(0),
                    s(if t.elem != 0 {
                        "array_subscript_handler"
                    } else {
                        "-"
                    }),
                    V::Oid(t.elem),
                    V::Oid(t.array),
                    V::Text(io("in")),
                    V::Text(io("out")),
                    V::Text(io("recv")),
                    V::Text(io("send")),
                    s(match t.len {
                        1 => "c",
                        2 => "s",
                        8 => "d",
                        _ => "i",
                    }),
                    s(if t.len == -1 { "x" } else { "p" }),
                    V::Bool(false),
                    V::Oid(0),
                    V::I32(-1),
                    V::I32(0),
                    V::Oid(collation),
                    V::Null,
                    V::Null,
                ]
            })
            .collect();
        // Each table's row type.
        for t in tables(snap) {
            let mut row = rows[0].clone();
            row[0] = V::Oid(oids::row_type_oid(t));
            row[1] = V::Text(t.name.clone());
            row[2] = V::Oid(PUBLIC_NAMESPACE);
            row[4] = V::I16(-1);
            row[5] = V::Bool(false);
            row[6] = s("c");
            row[7] = s("C");
            row[8] = V::Bool(false);
            row[11] = V::Oid(oids::table_oid(t));
            row[12] = s("-");
            row[13] = V::Oid(0);
            row[14] = V::Oid(0);
            for (i, f) in ["record_in", "record_out", "record_recv", "record_send"]
                .iter()
                .enumerate()
            {
                row[15 + i] = s(*f);
            }
            row[19] = s("d");
            row[20] = s("x");
            row[25] = V::Oid(0);
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
                V::Oid(oids::HEAP_AM),
                s("heap"),
                s("heap_tableam_handler"),
                s("t"),
            ],
            vec![V::Oid(oids::BTREE_AM), s("btree"), s("bthandler"), s("i")],
            vec![V::Oid(405), s("hash"), s("hashhandler"), s("i")],
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
                    V::Oid(oids::database_oid(name)),
                    s(name.as_str()),
                    V::Oid(BOOTSTRAP_ROLE),
                    V::I32(6),
                    s("c"),
                    V::Bool(false),
                    V::Bool(true),
                    V::I32(-1),
                    V::Oid(0),
                    V::Oid(1),
                    V::Oid(1663),
                    s("C.UTF-8"),
                    s("C.UTF-8"),
                    V::Null,
                    V::Null,
                    V::Null,
                ]
            })
            .collect()
    },
};

/// The roles: the owner, and the session's user if another.
fn roles(snap: &Snapshot<'_>) -> Vec<String> {
    let mut roles = vec![snap.owner.to_string()];
    if snap.user != snap.owner {
        roles.push(snap.user.to_string());
    }
    roles
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
        ("rolconfig", Kind::TextArray),
        ("oid", Kind::Oid),
    ],
    rows: |snap| {
        roles(snap)
            .into_iter()
            .map(|r| {
                let oid = role_oid(snap, &r);
                let sup = oid == BOOTSTRAP_ROLE;
                vec![
                    V::Text(r),
                    V::Bool(sup),
                    V::Bool(true),
                    V::Bool(sup),
                    V::Bool(sup),
                    V::Bool(true),
                    V::Bool(sup),
                    V::I32(-1),
                    s("********"),
                    V::Null,
                    V::Bool(sup),
                    V::Null,
                    V::Oid(oid),
                ]
            })
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
        ("useconfig", Kind::TextArray),
    ],
    rows: |snap| {
        roles(snap)
            .into_iter()
            .map(|r| {
                let oid = role_oid(snap, &r);
                let sup = oid == BOOTSTRAP_ROLE;
                vec![
                    V::Text(r),
                    V::Oid(oid),
                    V::Bool(sup),
                    V::Bool(sup),
                    V::Bool(sup),
                    V::Bool(sup),
                    s("********"),
                    V::Null,
                    V::Null,
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
        ("indkey", Kind::Text),
        ("indcollation", Kind::Text),
        ("indclass", Kind::Text),
        ("indoption", Kind::Text),
        ("indexprs", Kind::Text),
        ("indpred", Kind::Text),
    ],
    rows: |snap| {
        tables(snap)
            .into_iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                let keys = key_attnums(t);
                let n = keys.len() as i16;
                let join = |v: Vec<String>| v.join(" ");
                vec![
                    V::Oid(oids::primary_key_oid(t)),
                    V::Oid(oids::table_oid(t)),
                    V::I16(n),
                    V::I16(n),
                    V::Bool(true),
                    V::Bool(false),
                    V::Bool(true),
                    V::Bool(false),
                    V::Bool(true),
                    V::Bool(false),
                    V::Bool(true),
                    V::Bool(false),
                    V::Bool(true),
                    V::Bool(true),
                    V::Bool(false),
                    V::Text(join(keys.iter().map(|k| k.to_string()).collect())),
                    V::Text(join(
                        t.primary_key
                            .iter()
                            .map(|&i| collation_of(&t.columns[i].ty).to_string())
                            .collect(),
                    )),
                    V::Text(join(vec!["0".to_string(); keys.len()])),
                    V::Text(join(vec!["0".to_string(); keys.len()])),
                    V::Null,
                    V::Null,
                ]
            })
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
        ("conkey", Kind::Text),
        ("confkey", Kind::Text),
        ("conbin", Kind::Text),
    ],
    rows: |snap| {
        tables(snap)
            .into_iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                let keys: Vec<String> = key_attnums(t).iter().map(|k| k.to_string()).collect();
                vec![
                    V::Oid(oids::primary_key_constraint_oid(t)),
                    V::Text(primary_key_name(t)),
                    V::Oid(PUBLIC_NAMESPACE),
                    s("p"),
                    V::Bool(false),
                    V::Bool(false),
                    V::Bool(true),
                    V::Oid(oids::table_oid(t)),
                    V::Oid(0),
                    V::Oid(oids::primary_key_oid(t)),
                    V::Oid(0),
                    V::Oid(0),
                    s(" "),
                    s(" "),
                    s(" "),
                    V::Bool(true),
                    V::I32(0),
                    V::Bool(true),
                    V::Text(format!("{{{}}}", keys.join(","))),
                    V::Null,
                    V::Null,
                ]
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
        for t in tables(snap) {
            for (num, c) in attributes(t) {
                if let Some(d) = &c.default {
                    rows.push(vec![
                        V::Oid(oids::attrdef_oid(t, num)),
                        V::Oid(oids::table_oid(t)),
                        V::I16(num),
                        V::Text(d.clone()),
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
    rows: |_| Vec::new(),
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
                    V::Text(t.name.clone()),
                    s(snap.owner),
                    V::Null,
                    V::Bool(has_primary_key(t)),
                    V::Bool(false),
                    V::Bool(false),
                    V::Bool(false),
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
                    V::Text(name.clone()),
                    s(snap.owner),
                    V::Text(format!(" {};", v.query.trim_end_matches(';'))),
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
                    V::Text(t.name.clone()),
                    V::Text(primary_key_name(t)),
                    V::Null,
                    V::Text(index_definition(t)),
                ]
            })
            .collect()
    },
};

const PG_INHERITS: Relation = Relation {
    name: "pg_inherits",
    columns: &[
        ("inhrelid", Kind::Oid),
        ("inhparent", Kind::Oid),
        ("inhseqno", Kind::I32),
        ("inhdetachpending", Kind::Bool),
    ],
    rows: |_| Vec::new(),
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
            let locale = locale.map_or(V::Null, s);
            vec![
                V::Oid(oid),
                s(name),
                V::Oid(PG_CATALOG_NAMESPACE),
                V::Oid(BOOTSTRAP_ROLE),
                s(provider),
                V::Bool(true),
                V::I32(encoding),
                locale.clone(),
                locale,
                V::Null,
                V::Null,
            ]
        })
        .collect()
    },
};

const PG_SEQUENCE: Relation = Relation {
    name: "pg_sequence",
    columns: &[
        ("seqrelid", Kind::Oid),
        ("seqtypid", Kind::Oid),
        ("seqstart", Kind::I64),
        ("seqincrement", Kind::I64),
        ("seqmax", Kind::I64),
        ("seqmin", Kind::I64),
        ("seqcache", Kind::I64),
        ("seqcycle", Kind::Bool),
    ],
    rows: |_| Vec::new(),
};

#[cfg(test)]
#[path = "tables_test.rs"]
mod tests;

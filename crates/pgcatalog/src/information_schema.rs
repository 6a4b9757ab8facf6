//! The SQL-standard `information_schema` in PostgreSQL's shape, from the
//! same catalog snapshot as `pg_catalog`: `schemata`, `tables`, `columns`,
//! `views`, `table_constraints`, `key_column_usage`,
//! `constraint_column_usage`, and (empty: PrismDB has no such objects yet)
//! `referential_constraints`, `check_constraints`, `sequences`, `routines`,
//! `triggers`. Type names are PostgreSQL's (`integer`,
//! `character varying`, `timestamp with time zone`), so tools that pick
//! time or text columns by `data_type` (Grafana, Metabase) recognize them.

use crate::tables::{
    Kind, Relation, Snapshot, attributes, default_expression, has_primary_key, s, tables, views,
};
use crate::types::{format_type, type_oid};
use prismdb_catalog::{DEFAULT_SCHEMA, SqlType};
use prismdb_common::Value;

/// The schema's name.
pub const INFORMATION_SCHEMA: &str = "information_schema";

/// Its relations.
pub const RELATIONS: &[Relation] = &[
    SCHEMATA,
    TABLES,
    COLUMNS,
    VIEWS,
    TABLE_CONSTRAINTS,
    KEY_COLUMN_USAGE,
    CONSTRAINT_COLUMN_USAGE,
    REFERENTIAL_CONSTRAINTS,
    CHECK_CONSTRAINTS,
    SEQUENCES,
    ROUTINES,
    TRIGGERS,
];

/// A relation by name.
pub fn relation(name: &str) -> Option<&'static Relation> {
    RELATIONS.iter().find(|r| r.name == name)
}

fn yes_no(b: bool) -> Value {
    s(if b { "YES" } else { "NO" })
}

fn db(snap: &Snapshot<'_>) -> Value {
    s(snap.database)
}

/// `data_type` as the standard spells it (arrays are `ARRAY`).
fn data_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Varchar(_) => "character varying".into(),
        SqlType::Char(_) => "character".into(),
        SqlType::Numeric { .. } => "numeric".into(),
        SqlType::Array(_) => "ARRAY".into(),
        other => format_type(type_oid(other), None).unwrap_or_else(|| "USER-DEFINED".into()),
    }
}

/// `udt_name`: the type's internal name (`int4`, `varchar`).
fn udt_name(ty: &SqlType) -> String {
    crate::types::by_oid(type_oid(ty))
        .map(|t| t.name.to_string())
        .unwrap_or_default()
}

/// `(character_maximum_length, numeric_precision, numeric_precision_radix,
/// numeric_scale, datetime_precision)`.
fn sizes(ty: &SqlType) -> [Value; 5] {
    let int = |v: i64| Value::Int32(v as i32);
    match ty {
        SqlType::Varchar(Some(n)) | SqlType::Char(n) => [
            int(i64::from(*n)),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ],
        SqlType::Int16 => [Value::Null, int(16), int(2), int(0), Value::Null],
        SqlType::Int32 => [Value::Null, int(32), int(2), int(0), Value::Null],
        SqlType::Int64 => [Value::Null, int(64), int(2), int(0), Value::Null],
        SqlType::Float32 => [Value::Null, int(24), int(2), Value::Null, Value::Null],
        SqlType::Float64 => [Value::Null, int(53), int(2), Value::Null, Value::Null],
        SqlType::Numeric {
            precision,
            scale,
            unconstrained: false,
        } => [
            Value::Null,
            int(i64::from(*precision)),
            int(10),
            int(i64::from(*scale)),
            Value::Null,
        ],
        SqlType::Numeric { .. } => [Value::Null, Value::Null, int(10), Value::Null, Value::Null],
        SqlType::Date => [Value::Null, Value::Null, Value::Null, Value::Null, int(0)],
        SqlType::Timestamp | SqlType::TimestampTz => {
            [Value::Null, Value::Null, Value::Null, Value::Null, int(6)]
        }
        _ => [
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    }
}

const SCHEMATA: Relation = Relation {
    name: "schemata",
    columns: &[
        ("catalog_name", Kind::Name),
        ("schema_name", Kind::Name),
        ("schema_owner", Kind::Name),
        ("default_character_set_catalog", Kind::Name),
        ("default_character_set_schema", Kind::Name),
        ("default_character_set_name", Kind::Name),
        ("sql_path", Kind::Text),
    ],
    rows: |snap| {
        crate::tables::namespaces()
            .iter()
            .map(|(_, n)| {
                vec![
                    db(snap),
                    s(*n),
                    s(snap.owner),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            })
            .collect()
    },
};

const TABLES: Relation = Relation {
    name: "tables",
    columns: &[
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("table_type", Kind::Text),
        ("self_referencing_column_name", Kind::Name),
        ("reference_generation", Kind::Text),
        ("user_defined_type_catalog", Kind::Name),
        ("user_defined_type_schema", Kind::Name),
        ("user_defined_type_name", Kind::Name),
        ("is_insertable_into", Kind::Text),
        ("is_typed", Kind::Text),
        ("commit_action", Kind::Text),
    ],
    rows: |snap| {
        let row = |schema: &str, name: &str, kind: &str, insertable: bool| {
            vec![
                db(snap),
                s(schema),
                s(name),
                s(kind),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                yes_no(insertable),
                yes_no(false),
                Value::Null,
            ]
        };
        let mut rows: Vec<Vec<Value>> = tables(snap)
            .iter()
            .map(|t| row(DEFAULT_SCHEMA, &t.name, "BASE TABLE", true))
            .collect();
        rows.extend(
            views(snap)
                .iter()
                .map(|(n, _)| row(DEFAULT_SCHEMA, n, "VIEW", false)),
        );
        rows.extend(
            crate::tables::all_relations()
                .map(|r| row(crate::PG_CATALOG, r.name, "BASE TABLE", false)),
        );
        rows.extend(
            RELATIONS
                .iter()
                .map(|r| row(INFORMATION_SCHEMA, r.name, "VIEW", false)),
        );
        rows
    },
};

const COLUMNS: Relation = Relation {
    name: "columns",
    columns: &[
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("column_name", Kind::Name),
        ("ordinal_position", Kind::I32),
        ("column_default", Kind::Text),
        ("is_nullable", Kind::Text),
        ("data_type", Kind::Text),
        ("character_maximum_length", Kind::I32),
        ("character_octet_length", Kind::I32),
        ("numeric_precision", Kind::I32),
        ("numeric_precision_radix", Kind::I32),
        ("numeric_scale", Kind::I32),
        ("datetime_precision", Kind::I32),
        ("interval_type", Kind::Text),
        ("interval_precision", Kind::I32),
        ("character_set_catalog", Kind::Name),
        ("character_set_schema", Kind::Name),
        ("character_set_name", Kind::Name),
        ("collation_catalog", Kind::Name),
        ("collation_schema", Kind::Name),
        ("collation_name", Kind::Name),
        ("domain_catalog", Kind::Name),
        ("domain_schema", Kind::Name),
        ("domain_name", Kind::Name),
        ("udt_catalog", Kind::Name),
        ("udt_schema", Kind::Name),
        ("udt_name", Kind::Name),
        ("scope_catalog", Kind::Name),
        ("scope_schema", Kind::Name),
        ("scope_name", Kind::Name),
        ("maximum_cardinality", Kind::I32),
        ("dtd_identifier", Kind::Name),
        ("is_self_referencing", Kind::Text),
        ("is_identity", Kind::Text),
        ("identity_generation", Kind::Text),
        ("identity_start", Kind::Text),
        ("identity_increment", Kind::Text),
        ("identity_maximum", Kind::Text),
        ("identity_minimum", Kind::Text),
        ("identity_cycle", Kind::Text),
        ("is_generated", Kind::Text),
        ("generation_expression", Kind::Text),
        ("is_updatable", Kind::Text),
    ],
    rows: |snap| {
        let mut rows = Vec::new();
        let mut push = |table: &str,
                        num: i16,
                        name: &str,
                        ty: Option<&SqlType>,
                        nullable: bool,
                        default: Option<String>,
                        updatable: bool,
                        identity: Option<&prismdb_catalog::Sequence>| {
            let [len, precision, radix, scale, dt_precision] = ty.map_or(
                [
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ],
                sizes,
            );
            let octets = match &len {
                Value::Int32(n) => Value::Int32(n.saturating_mul(4)),
                _ if matches!(ty, Some(SqlType::Text | SqlType::Varchar(None))) => {
                    Value::Int32(1_073_741_824)
                }
                _ => Value::Null,
            };
            rows.push(vec![
                db(snap),
                s(DEFAULT_SCHEMA),
                s(table),
                s(name),
                Value::Int32(i32::from(num)),
                default.map_or(Value::Null, s),
                yes_no(nullable),
                ty.map_or(Value::Null, |t| s(data_type(t))),
                len,
                octets,
                precision,
                radix,
                scale,
                dt_precision,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                db(snap),
                s(crate::PG_CATALOG),
                ty.map_or(Value::Null, |t| s(udt_name(t))),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                s(num.to_string()),
                yes_no(false),
                yes_no(identity.is_some()),
                identity.map_or(Value::Null, |q| {
                    s(match q.identity {
                        Some(prismdb_catalog::Identity::Always) => "ALWAYS",
                        _ => "BY DEFAULT",
                    })
                }),
                identity.map_or(Value::Null, |q| s(q.start.to_string())),
                identity.map_or(Value::Null, |q| s(q.increment.to_string())),
                identity.map_or(Value::Null, |q| s(q.max.to_string())),
                identity.map_or(Value::Null, |q| s(q.min.to_string())),
                yes_no(identity.is_some_and(|q| q.cycle)),
                s("NEVER"),
                Value::Null,
                yes_no(updatable),
            ]);
        };
        let database = snap.catalog.database(snap.database).ok();
        for t in tables(snap) {
            for (num, c) in attributes(t) {
                // An identity column shows its sequence, not a default.
                let identity = database
                    .and_then(|db| db.sequence_owned_by(t.id, &c.name))
                    .filter(|q| q.identity.is_some());
                let default = match identity {
                    Some(_) => None,
                    None => c.default.as_deref().map(|d| default_expression(d, &c.ty)),
                };
                push(
                    &t.name,
                    num,
                    &c.name,
                    Some(&c.ty),
                    c.nullable,
                    default,
                    true,
                    identity.map(|q| q.as_ref()),
                );
            }
        }
        for (name, v) in views(snap) {
            for (i, c) in v.columns.iter().enumerate() {
                let ty = v.types.get(i).and_then(Option::as_ref);
                push(name, i as i16 + 1, c, ty, true, None, false, None);
            }
        }
        rows
    },
};

const VIEWS: Relation = Relation {
    name: "views",
    columns: &[
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("view_definition", Kind::Text),
        ("check_option", Kind::Text),
        ("is_updatable", Kind::Text),
        ("is_insertable_into", Kind::Text),
        ("is_trigger_updatable", Kind::Text),
        ("is_trigger_deletable", Kind::Text),
        ("is_trigger_insertable_into", Kind::Text),
    ],
    rows: |snap| {
        views(snap)
            .iter()
            .map(|(name, v)| {
                vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(name.as_str()),
                    s(format!(" {};", v.query.trim_end_matches(';'))),
                    s("NONE"),
                    yes_no(false),
                    yes_no(false),
                    yes_no(false),
                    yes_no(false),
                    yes_no(false),
                ]
            })
            .collect()
    },
};

const TABLE_CONSTRAINTS: Relation = Relation {
    name: "table_constraints",
    columns: &[
        ("constraint_catalog", Kind::Name),
        ("constraint_schema", Kind::Name),
        ("constraint_name", Kind::Name),
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("constraint_type", Kind::Text),
        ("is_deferrable", Kind::Text),
        ("initially_deferred", Kind::Text),
        ("enforced", Kind::Text),
        ("nulls_distinct", Kind::Text),
    ],
    rows: |snap| {
        tables(snap)
            .iter()
            .filter(|t| has_primary_key(t))
            .map(|t| {
                vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.key_constraint_name()),
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                    s("PRIMARY KEY"),
                    yes_no(false),
                    yes_no(false),
                    yes_no(true),
                    Value::Null,
                ]
            })
            .chain(unique_constraints(snap).into_iter().map(|(index, t)| {
                vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(index.name.as_str()),
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                    s("UNIQUE"),
                    yes_no(false),
                    yes_no(false),
                    yes_no(true),
                    yes_no(true),
                ]
            }))
            .collect()
    },
};

/// The UNIQUE constraints of the session's database with their tables.
fn unique_constraints<'a>(
    snap: &Snapshot<'a>,
) -> Vec<(
    &'a prismdb_catalog::Index,
    &'a std::sync::Arc<prismdb_catalog::Table>,
)> {
    crate::tables::secondary_indexes(snap)
        .into_iter()
        .filter(|(i, _)| i.constraint)
        .collect()
}

const KEY_COLUMN_USAGE: Relation = Relation {
    name: "key_column_usage",
    columns: &[
        ("constraint_catalog", Kind::Name),
        ("constraint_schema", Kind::Name),
        ("constraint_name", Kind::Name),
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("column_name", Kind::Name),
        ("ordinal_position", Kind::I32),
        ("position_in_unique_constraint", Kind::I32),
    ],
    rows: |snap| {
        let mut rows = Vec::new();
        for t in tables(snap).iter().filter(|t| has_primary_key(t)) {
            for (i, &k) in t.primary_key.iter().enumerate() {
                rows.push(vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.key_constraint_name()),
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                    s(t.columns[k].name.as_str()),
                    Value::Int32(i as i32 + 1),
                    Value::Null,
                ]);
            }
        }
        for (index, t) in unique_constraints(snap) {
            for (i, c) in index.columns.iter().enumerate() {
                rows.push(vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(index.name.as_str()),
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                    s(c.name.as_str()),
                    Value::Int32(i as i32 + 1),
                    Value::Null,
                ]);
            }
        }
        rows
    },
};

const CONSTRAINT_COLUMN_USAGE: Relation = Relation {
    name: "constraint_column_usage",
    columns: &[
        ("table_catalog", Kind::Name),
        ("table_schema", Kind::Name),
        ("table_name", Kind::Name),
        ("column_name", Kind::Name),
        ("constraint_catalog", Kind::Name),
        ("constraint_schema", Kind::Name),
        ("constraint_name", Kind::Name),
    ],
    rows: |snap| {
        let mut rows = Vec::new();
        for t in tables(snap).iter().filter(|t| has_primary_key(t)) {
            for &k in &t.primary_key {
                rows.push(vec![
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.name.as_str()),
                    s(t.columns[k].name.as_str()),
                    db(snap),
                    s(DEFAULT_SCHEMA),
                    s(t.key_constraint_name()),
                ]);
            }
        }
        rows
    },
};

const REFERENTIAL_CONSTRAINTS: Relation = Relation {
    name: "referential_constraints",
    columns: &[
        ("constraint_catalog", Kind::Name),
        ("constraint_schema", Kind::Name),
        ("constraint_name", Kind::Name),
        ("unique_constraint_catalog", Kind::Name),
        ("unique_constraint_schema", Kind::Name),
        ("unique_constraint_name", Kind::Name),
        ("match_option", Kind::Text),
        ("update_rule", Kind::Text),
        ("delete_rule", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const CHECK_CONSTRAINTS: Relation = Relation {
    name: "check_constraints",
    columns: &[
        ("constraint_catalog", Kind::Name),
        ("constraint_schema", Kind::Name),
        ("constraint_name", Kind::Name),
        ("check_clause", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const SEQUENCES: Relation = Relation {
    name: "sequences",
    columns: &[
        ("sequence_catalog", Kind::Name),
        ("sequence_schema", Kind::Name),
        ("sequence_name", Kind::Name),
        ("data_type", Kind::Text),
        ("numeric_precision", Kind::I32),
        ("numeric_precision_radix", Kind::I32),
        ("numeric_scale", Kind::I32),
        ("start_value", Kind::Text),
        ("minimum_value", Kind::Text),
        ("maximum_value", Kind::Text),
        ("increment", Kind::Text),
        ("cycle_option", Kind::Text),
    ],
    rows: |snap| {
        crate::tables::sequences(snap)
            .into_iter()
            .map(|seq| {
                let (ty, precision) = match seq.ty {
                    prismdb_catalog::SqlType::Int16 => ("smallint", 16),
                    prismdb_catalog::SqlType::Int32 => ("integer", 32),
                    _ => ("bigint", 64),
                };
                vec![
                    s(snap.database),
                    s(prismdb_catalog::DEFAULT_SCHEMA),
                    s(seq.name.clone()),
                    s(ty),
                    Value::Int32(precision),
                    Value::Int32(2),
                    Value::Int32(0),
                    s(seq.start.to_string()),
                    s(seq.min.to_string()),
                    s(seq.max.to_string()),
                    s(seq.increment.to_string()),
                    s(if seq.cycle { "YES" } else { "NO" }),
                ]
            })
            .collect()
    },
};

const ROUTINES: Relation = Relation {
    name: "routines",
    columns: &[
        ("specific_catalog", Kind::Name),
        ("specific_schema", Kind::Name),
        ("specific_name", Kind::Name),
        ("routine_catalog", Kind::Name),
        ("routine_schema", Kind::Name),
        ("routine_name", Kind::Name),
        ("routine_type", Kind::Text),
        ("data_type", Kind::Text),
        ("routine_definition", Kind::Text),
        ("external_language", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

const TRIGGERS: Relation = Relation {
    name: "triggers",
    columns: &[
        ("trigger_catalog", Kind::Name),
        ("trigger_schema", Kind::Name),
        ("trigger_name", Kind::Name),
        ("event_manipulation", Kind::Text),
        ("event_object_catalog", Kind::Name),
        ("event_object_schema", Kind::Name),
        ("event_object_table", Kind::Name),
        ("action_order", Kind::I32),
        ("action_condition", Kind::Text),
        ("action_statement", Kind::Text),
        ("action_orientation", Kind::Text),
        ("action_timing", Kind::Text),
    ],
    rows: |_| Vec::new(),
};

//! Arrow ↔ PostgreSQL type mapping: which PostgreSQL type (OID, length,
//! modifier) a result column is reported as, how its values go on the wire
//! ([`Wire`]), and which Arrow type a parameter type named by a client means.
//!
//! A field's metadata may name the PostgreSQL type explicitly:
//! `"pg_type" = "varchar"` reports a `Utf8` column as `varchar` (OID 1043),
//! `"pg_typmod"` sets the type modifier. A named type is honoured when the
//! Arrow data can be sent as that type, else the default mapping applies.

use arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use pgwire::api::Type;
use pgwire::messages::data::{
    FORMAT_CODE_BINARY, FORMAT_CODE_TEXT, FieldDescription, RowDescription,
};
use prismdb_common::{Error, Result};

/// Field metadata key naming the PostgreSQL type of a column.
pub const PG_TYPE_KEY: &str = "pg_type";
/// Field metadata key giving the PostgreSQL type modifier of a column.
pub const PG_TYPMOD_KEY: &str = "pg_typmod";

/// How the values of a PostgreSQL type are written, text and binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Bool,
    Int2,
    Int4,
    Int8,
    /// `oid` and the `reg*` types: unsigned 32-bit.
    Oid,
    Float4,
    Float8,
    Numeric,
    /// Text-like types whose binary form is the UTF-8 text.
    Text,
    /// `jsonb`: binary form is a version byte (1) and the text.
    Jsonb,
    /// `uuid`: binary form is 16 bytes.
    Uuid,
    Bytea,
    /// `int2vector`: an array whose text form is its elements separated by
    /// spaces (binary: the array form).
    Vector,
    Date,
    Timestamp,
    TimestampTz,
    Time,
    Interval,
    /// A one-dimensional array: `{a,b}` in text, PostgreSQL's array layout
    /// in binary; its elements go as the element type's wire says.
    Array,
}

/// The kind of data an Arrow type holds, for checking a named type fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    Bytes,
    Date,
    Timestamp,
    Time,
    Interval,
    List,
}

/// The type a value of `dt` has once dictionaries and run-end encoding are
/// looked through.
pub fn value_type(dt: &DataType) -> &DataType {
    match dt {
        DataType::Dictionary(_, v) => value_type(v),
        DataType::RunEndEncoded(_, v) => value_type(v.data_type()),
        other => other,
    }
}

fn class_of(dt: &DataType) -> Class {
    use DataType::*;
    match value_type(dt) {
        Boolean => Class::Bool,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Class::Int,
        Float16 | Float32 | Float64 => Class::Float,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Class::Decimal,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Class::Bytes,
        Date32 | Date64 => Class::Date,
        Timestamp(..) => Class::Timestamp,
        Time32(_) | Time64(_) => Class::Time,
        Interval(_) | Duration(_) => Class::Interval,
        List(_) | LargeList(_) | FixedSizeList(..) => Class::List,
        _ => Class::Text,
    }
}

/// How values of a PostgreSQL type are written; `None` for types this
/// server cannot produce.
pub fn wire_of(t: &Type) -> Option<Wire> {
    Some(match *t {
        Type::BOOL => Wire::Bool,
        Type::INT2 => Wire::Int2,
        Type::INT4 => Wire::Int4,
        Type::INT8 => Wire::Int8,
        Type::OID | Type::REGCLASS | Type::REGPROC | Type::REGTYPE => Wire::Oid,
        Type::FLOAT4 => Wire::Float4,
        Type::FLOAT8 => Wire::Float8,
        Type::NUMERIC => Wire::Numeric,
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::JSON
        | Type::XML
        | Type::UNKNOWN => Wire::Text,
        Type::JSONB => Wire::Jsonb,
        Type::UUID => Wire::Uuid,
        Type::BYTEA => Wire::Bytea,
        Type::DATE => Wire::Date,
        Type::TIMESTAMP => Wire::Timestamp,
        Type::TIMESTAMPTZ => Wire::TimestampTz,
        Type::TIME => Wire::Time,
        Type::INTERVAL => Wire::Interval,
        Type::INT2_VECTOR => Wire::Vector,
        _ if element_of(t).is_some() => Wire::Array,
        _ => return None,
    })
}

/// The array types of the element types arrays can hold, as pairs.
const ARRAY_TYPES: &[(Type, Type)] = &[
    (Type::BOOL, Type::BOOL_ARRAY),
    (Type::INT2, Type::INT2_ARRAY),
    (Type::INT4, Type::INT4_ARRAY),
    (Type::INT8, Type::INT8_ARRAY),
    (Type::OID, Type::OID_ARRAY),
    (Type::FLOAT4, Type::FLOAT4_ARRAY),
    (Type::FLOAT8, Type::FLOAT8_ARRAY),
    (Type::NUMERIC, Type::NUMERIC_ARRAY),
    (Type::TEXT, Type::TEXT_ARRAY),
    (Type::VARCHAR, Type::VARCHAR_ARRAY),
    (Type::BPCHAR, Type::BPCHAR_ARRAY),
    (Type::NAME, Type::NAME_ARRAY),
    (Type::JSON, Type::JSON_ARRAY),
    (Type::JSONB, Type::JSONB_ARRAY),
    (Type::UUID, Type::UUID_ARRAY),
    (Type::BYTEA, Type::BYTEA_ARRAY),
    (Type::DATE, Type::DATE_ARRAY),
    (Type::TIME, Type::TIME_ARRAY),
    (Type::TIMESTAMP, Type::TIMESTAMP_ARRAY),
    (Type::TIMESTAMPTZ, Type::TIMESTAMPTZ_ARRAY),
    (Type::INTERVAL, Type::INTERVAL_ARRAY),
];

/// The element type of an array type.
pub fn element_of(t: &Type) -> Option<Type> {
    ARRAY_TYPES
        .iter()
        .find(|(_, a)| a == t)
        .map(|(e, _)| e.clone())
}

/// The array type of an element type (`text[]` for anything else).
pub fn array_of(element: &Type) -> Type {
    ARRAY_TYPES
        .iter()
        .find(|(e, _)| e == element)
        .map_or(Type::TEXT_ARRAY, |(_, a)| a.clone())
}

fn wire_class(w: Wire) -> Class {
    match w {
        Wire::Bool => Class::Bool,
        Wire::Int2 | Wire::Int4 | Wire::Int8 | Wire::Oid => Class::Int,
        Wire::Float4 | Wire::Float8 => Class::Float,
        Wire::Numeric => Class::Decimal,
        Wire::Text | Wire::Jsonb | Wire::Uuid => Class::Text,
        Wire::Bytea => Class::Bytes,
        Wire::Date => Class::Date,
        Wire::Timestamp | Wire::TimestampTz => Class::Timestamp,
        Wire::Time => Class::Time,
        Wire::Interval => Class::Interval,
        Wire::Array | Wire::Vector => Class::List,
    }
}

/// The PostgreSQL type of Arrow data without metadata.
pub fn default_pg_type(dt: &DataType) -> Type {
    use DataType::*;
    match value_type(dt) {
        Boolean => Type::BOOL,
        Int8 | Int16 | UInt8 => Type::INT2,
        Int32 | UInt16 => Type::INT4,
        Int64 => Type::INT8,
        // Casts to `oid` give unsigned 32-bit integers (as oid values are).
        UInt32 => Type::OID,
        UInt64 => Type::NUMERIC,
        Float16 | Float32 => Type::FLOAT4,
        Float64 => Type::FLOAT8,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Type::NUMERIC,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Type::BYTEA,
        Date32 | Date64 => Type::DATE,
        Timestamp(_, None) => Type::TIMESTAMP,
        Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        Time32(_) | Time64(_) => Type::TIME,
        Interval(_) | Duration(_) => Type::INTERVAL,
        List(f) | LargeList(f) | FixedSizeList(f, _) => array_of(&pg_type(f)),
        _ => Type::TEXT,
    }
}

/// The PostgreSQL type a column is reported as: the metadata's `pg_type`
/// when it names a type the data can be sent as, else [`default_pg_type`].
pub fn pg_type(field: &Field) -> Type {
    let named = field
        .metadata()
        .get(PG_TYPE_KEY)
        .and_then(|n| pg_type_by_name(n));
    match named {
        Some(t) if wire_of(&t).is_some_and(|w| fits(field.data_type(), w)) => t,
        _ => default_pg_type(field.data_type()),
    }
}

fn fits(dt: &DataType, wire: Wire) -> bool {
    let class = class_of(dt);
    // UInt64 is sent as numeric by default; unsigned data may also be named oid.
    class == wire_class(wire) || (class == Class::Int && wire == Wire::Numeric)
}

/// A PostgreSQL type by its name or a common SQL alias.
pub fn pg_type_by_name(name: &str) -> Option<Type> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "bool" | "boolean" => Type::BOOL,
        "int2" | "smallint" => Type::INT2,
        "int4" | "int" | "integer" => Type::INT4,
        "int8" | "bigint" => Type::INT8,
        "oid" => Type::OID,
        "regclass" => Type::REGCLASS,
        "regproc" => Type::REGPROC,
        "regtype" => Type::REGTYPE,
        "float4" | "real" => Type::FLOAT4,
        "float8" | "double precision" | "float" => Type::FLOAT8,
        "numeric" | "decimal" => Type::NUMERIC,
        "text" => Type::TEXT,
        "varchar" | "character varying" => Type::VARCHAR,
        "bpchar" | "char" | "character" => Type::BPCHAR,
        "name" => Type::NAME,
        "json" => Type::JSON,
        "jsonb" => Type::JSONB,
        "xml" => Type::XML,
        "uuid" => Type::UUID,
        "bytea" => Type::BYTEA,
        "date" => Type::DATE,
        "time" | "time without time zone" => Type::TIME,
        "timestamp" | "timestamp without time zone" => Type::TIMESTAMP,
        "timestamptz" | "timestamp with time zone" => Type::TIMESTAMPTZ,
        "interval" => Type::INTERVAL,
        "int2vector" => Type::INT2_VECTOR,
        "unknown" => Type::UNKNOWN,
        _ => return None,
    })
}

/// `pg_type.typlen`: the fixed size of a type, -1 for variable length.
pub fn type_size(t: &Type) -> i16 {
    match *t {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4
        | Type::OID
        | Type::REGCLASS
        | Type::REGPROC
        | Type::REGTYPE
        | Type::FLOAT4
        | Type::DATE => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::INTERVAL | Type::UUID => 16,
        Type::NAME => 64,
        Type::UNKNOWN => -2,
        _ => -1,
    }
}

/// The type modifier reported for a column: the `pg_typmod` metadata, or -1.
pub fn type_modifier(field: &Field) -> i32 {
    field
        .metadata()
        .get(PG_TYPMOD_KEY)
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(-1)
}

/// The Arrow type a client-named parameter type (Parse) stands for; `None`
/// for "unspecified" (0) and types without a counterpart.
pub fn param_type_hint(oid: u32) -> Option<DataType> {
    let t = Type::from_oid(oid)?;
    if let Some(element) = element_of(&t) {
        let element = param_type_hint(element.oid())?;
        return Some(DataType::List(std::sync::Arc::new(
            arrow::datatypes::Field::new_list_field(element, true),
        )));
    }
    Some(match t {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => DataType::Decimal128(38, 10),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        Type::INTERVAL => DataType::Interval(IntervalUnit::MonthDayNano),
        _ => return None,
    })
}

/// The OID reported for a parameter of the given Arrow type; parameters of
/// unknown type (`DataType::Null`) are reported as `text`.
pub fn param_oid(dt: &DataType) -> u32 {
    default_pg_type(dt).oid()
}

/// Per-column result formats from a Bind's format codes: none means all
/// text, one applies to all, else one per column. `true` is binary.
pub fn column_formats(codes: &[i16], columns: usize) -> Result<Vec<bool>> {
    let binary = |code: i16| match code {
        FORMAT_CODE_TEXT => Ok(false),
        FORMAT_CODE_BINARY => Ok(true),
        other => Err(Error::Protocol(format!("unsupported format code: {other}"))),
    };
    match codes {
        [] => Ok(vec![false; columns]),
        [code] => Ok(vec![binary(*code)?; columns]),
        codes if codes.len() == columns => codes.iter().map(|c| binary(*c)).collect(),
        codes => Err(Error::Protocol(format!(
            "bind message has {} result formats but query has {columns} columns",
            codes.len()
        ))),
    }
}

/// What a RowDescription says of one result column, apart from its format
/// code: worked out once when a statement is prepared, not on every
/// Describe.
#[derive(Debug, Clone)]
pub struct ColumnDescription {
    name: String,
    table_id: i32,
    column_id: i16,
    type_id: u32,
    type_size: i16,
    type_modifier: i32,
}

/// Describes result columns from their Arrow fields (type, typmod and the
/// table and column they come from, which the field's metadata carries).
pub fn describe_columns<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<ColumnDescription> {
    fields
        .into_iter()
        .map(|field| {
            let t = pg_type(field);
            let number = |key: &str| {
                field
                    .metadata()
                    .get(key)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            ColumnDescription {
                name: field.name().clone(),
                table_id: number("pg_table_oid"),
                column_id: number("pg_attnum") as i16,
                type_id: t.oid(),
                type_size: type_size(&t),
                type_modifier: type_modifier(field),
            }
        })
        .collect()
}

/// The RowDescription of described columns, each in binary where `binary`
/// says so.
pub fn row_description_of(columns: &[ColumnDescription], binary: &[bool]) -> RowDescription {
    let fields = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let format = if binary.get(i).copied().unwrap_or(false) {
                FORMAT_CODE_BINARY
            } else {
                FORMAT_CODE_TEXT
            };
            FieldDescription::new(
                c.name.clone(),
                c.table_id,
                c.column_id,
                c.type_id,
                c.type_size,
                c.type_modifier,
                format,
            )
        })
        .collect();
    RowDescription::new(fields)
}

/// RowDescription for fields sent in the given formats (`true` = binary).
pub fn row_description<'a>(
    fields: impl IntoIterator<Item = &'a Field>,
    binary: &[bool],
) -> RowDescription {
    row_description_of(&describe_columns(fields), binary)
}

#[cfg(test)]
#[path = "types_test.rs"]
mod tests;

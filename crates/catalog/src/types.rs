//! SQL column types and their Arrow and key-encoding counterparts.

use arrow::datatypes::{DataType, Field, TimeUnit};
use prismdb_common::keycode::KeyKind;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Precision and scale used for `numeric` declared without them.
pub const DEFAULT_NUMERIC: (u8, i8) = (38, 10);

/// A column type as declared in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlType {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `numeric(precision, scale)`; unconstrained `numeric` uses [`DEFAULT_NUMERIC`].
    Numeric {
        precision: u8,
        scale: i8,
        unconstrained: bool,
    },
    Text,
    /// `varchar(n)`; `None` for unbounded `varchar`.
    Varchar(Option<u32>),
    /// `char(n)`, stored blank-padded to n.
    Char(u32),
    Bytea,
    Date,
    Timestamp,
    TimestampTz,
    /// `json`: the text as given, checked to be JSON.
    Json,
    /// `jsonb`: JSON kept in PostgreSQL's normalized text form.
    Jsonb,
    /// `uuid`, kept as its canonical text form.
    Uuid,
    /// `time` (without time zone): microseconds since midnight, stored as
    /// a 64-bit integer.
    Time,
    /// `interval`: months, days and microseconds.
    Interval,
    /// A one-dimensional array (`int[]`, `text[]`, ...), stored as a list
    /// of its elements and scanned as an Arrow list.
    Array(ArrayElement),
}

/// The element types arrays may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArrayElement {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Text,
    Varchar,
    Date,
    Timestamp,
    TimestampTz,
    Uuid,
}

impl ArrayElement {
    /// The element's own column type.
    pub fn sql_type(self) -> SqlType {
        match self {
            ArrayElement::Bool => SqlType::Bool,
            ArrayElement::Int16 => SqlType::Int16,
            ArrayElement::Int32 => SqlType::Int32,
            ArrayElement::Int64 => SqlType::Int64,
            ArrayElement::Float32 => SqlType::Float32,
            ArrayElement::Float64 => SqlType::Float64,
            ArrayElement::Text => SqlType::Text,
            ArrayElement::Varchar => SqlType::Varchar(None),
            ArrayElement::Date => SqlType::Date,
            ArrayElement::Timestamp => SqlType::Timestamp,
            ArrayElement::TimestampTz => SqlType::TimestampTz,
            ArrayElement::Uuid => SqlType::Uuid,
        }
    }

    /// The element kind of arrays of `ty`, if arrays of it are supported.
    pub fn of(ty: &SqlType) -> Option<ArrayElement> {
        Some(match ty {
            SqlType::Bool => ArrayElement::Bool,
            SqlType::Int16 => ArrayElement::Int16,
            SqlType::Int32 => ArrayElement::Int32,
            SqlType::Int64 => ArrayElement::Int64,
            SqlType::Float32 => ArrayElement::Float32,
            SqlType::Float64 => ArrayElement::Float64,
            SqlType::Text => ArrayElement::Text,
            SqlType::Varchar(None) => ArrayElement::Varchar,
            SqlType::Date => ArrayElement::Date,
            SqlType::Timestamp => ArrayElement::Timestamp,
            SqlType::TimestampTz => ArrayElement::TimestampTz,
            SqlType::Uuid => ArrayElement::Uuid,
            _ => return None,
        })
    }
}

impl SqlType {
    /// The Arrow type scans produce for this column.
    pub fn arrow_type(&self) -> DataType {
        match self {
            SqlType::Bool => DataType::Boolean,
            SqlType::Int16 => DataType::Int16,
            SqlType::Int32 => DataType::Int32,
            SqlType::Int64 => DataType::Int64,
            SqlType::Float32 => DataType::Float32,
            SqlType::Float64 => DataType::Float64,
            SqlType::Numeric {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale),
            SqlType::Text
            | SqlType::Varchar(_)
            | SqlType::Char(_)
            | SqlType::Json
            | SqlType::Jsonb
            | SqlType::Uuid => DataType::Utf8,
            SqlType::Bytea => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqlType::Time => DataType::Time64(TimeUnit::Microsecond),
            SqlType::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            SqlType::Interval => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
            SqlType::Array(e) => DataType::List(std::sync::Arc::new(Field::new_list_field(
                e.sql_type().arrow_type(),
                true,
            ))),
        }
    }

    /// An Arrow field for a column of this type. The `pg_type` metadata tells
    /// the wire layer the exact PostgreSQL type where Arrow's is coarser.
    pub fn arrow_field(&self, name: &str, nullable: bool) -> Field {
        let field = Field::new(name, self.arrow_type(), nullable);
        let pg = match self {
            SqlType::Varchar(_) => Some("varchar"),
            SqlType::Char(_) => Some("bpchar"),
            SqlType::Json => Some("json"),
            SqlType::Jsonb => Some("jsonb"),
            SqlType::Uuid => Some("uuid"),
            SqlType::Numeric {
                unconstrained: true,
                ..
            } => Some("numeric"),
            SqlType::Array(ArrayElement::Varchar) => Some("_varchar"),
            SqlType::Array(ArrayElement::Uuid) => Some("_uuid"),
            _ => None,
        };
        let mut metadata = HashMap::new();
        if let Some(pg) = pg {
            metadata.insert("pg_type".to_string(), pg.to_string());
        }
        // The type modifier PostgreSQL reports (`atttypmod`), so that
        // result columns and view columns keep `varchar(20)`.
        let typmod = match self {
            SqlType::Varchar(Some(n)) | SqlType::Char(n) => Some(*n as i64 + 4),
            SqlType::Numeric {
                precision,
                scale,
                unconstrained: false,
            } => Some((((*precision as i64) << 16) | (*scale as i64 & 0xffff)) + 4),
            _ => None,
        };
        if let Some(m) = typmod {
            metadata.insert("pg_typmod".to_string(), m.to_string());
        }
        if metadata.is_empty() {
            field
        } else {
            field.with_metadata(metadata)
        }
    }

    /// The column type of values of an Arrow field (a view's column), as
    /// far as it can be told: `None` for types columns cannot have.
    pub fn from_arrow(field: &Field) -> Option<SqlType> {
        let named = field.metadata().get("pg_type").map(String::as_str);
        let length = field
            .metadata()
            .get("pg_typmod")
            .and_then(|m| m.parse::<u32>().ok())
            .and_then(|m| m.checked_sub(4));
        Some(match (field.data_type(), named) {
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some("varchar")) => {
                SqlType::Varchar(length)
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some("bpchar")) => {
                SqlType::Char(length.unwrap_or(1))
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some("json")) => {
                SqlType::Json
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some("jsonb")) => {
                SqlType::Jsonb
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some("uuid")) => {
                SqlType::Uuid
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, _) => SqlType::Text,
            (DataType::Boolean, _) => SqlType::Bool,
            (DataType::Int8 | DataType::Int16, _) => SqlType::Int16,
            (DataType::Int32, _) => SqlType::Int32,
            (DataType::Int64, _) => SqlType::Int64,
            (DataType::Float32, _) => SqlType::Float32,
            (DataType::Float64, _) => SqlType::Float64,
            (DataType::Decimal128(p, s), named) => SqlType::Numeric {
                precision: *p,
                scale: *s,
                unconstrained: named == Some("numeric"),
            },
            (DataType::Binary | DataType::LargeBinary | DataType::BinaryView, _) => SqlType::Bytea,
            (DataType::Date32 | DataType::Date64, _) => SqlType::Date,
            (DataType::Timestamp(_, None), _) => SqlType::Timestamp,
            (DataType::Time32(_) | DataType::Time64(_), _) => SqlType::Time,
            (DataType::Timestamp(_, Some(_)), _) => SqlType::TimestampTz,
            (DataType::Interval(_) | DataType::Duration(_), _) => SqlType::Interval,
            (DataType::List(f) | DataType::LargeList(f), named) => {
                let element = match named {
                    Some("_varchar") => SqlType::Varchar(None),
                    Some("_uuid") => SqlType::Uuid,
                    _ => SqlType::from_arrow(f)?,
                };
                SqlType::Array(ArrayElement::of(&element)?)
            }
            _ => return None,
        })
    }

    /// How a key column of this type is decoded.
    pub fn key_kind(&self) -> KeyKind {
        match self {
            SqlType::Bool => KeyKind::Bool,
            SqlType::Int16 => KeyKind::Int16,
            SqlType::Int32 => KeyKind::Int32,
            SqlType::Int64 => KeyKind::Int64,
            SqlType::Float32 => KeyKind::Float32,
            SqlType::Float64 => KeyKind::Float64,
            SqlType::Numeric { scale, .. } => KeyKind::Decimal(*scale),
            SqlType::Text
            | SqlType::Varchar(_)
            | SqlType::Char(_)
            | SqlType::Json
            | SqlType::Jsonb
            | SqlType::Uuid => KeyKind::Text,
            SqlType::Bytea => KeyKind::Bytes,
            SqlType::Date => KeyKind::Date,
            SqlType::Timestamp => KeyKind::Timestamp,
            SqlType::Time => KeyKind::Int64,
            SqlType::TimestampTz => KeyKind::TimestampTz,
            // Never a key column (CREATE TABLE refuses it).
            SqlType::Array(_) | SqlType::Interval => KeyKind::Bytes,
        }
    }

    /// A name for this type that the SQL planner accepts in `CAST(x AS ...)`.
    pub fn cast_name(&self) -> String {
        match self {
            SqlType::Varchar(_) | SqlType::Char(_) => "VARCHAR".into(),
            SqlType::TimestampTz => "TIMESTAMP WITH TIME ZONE".into(),
            SqlType::Timestamp => "TIMESTAMP".into(),
            SqlType::Time => "TIME".into(),
            SqlType::Interval => "INTERVAL".into(),
            SqlType::Array(e) => format!("{}[]", e.sql_type().cast_name()),
            other => other.pg_name(),
        }
    }

    /// The type's name as PostgreSQL prints it (`format_type`).
    pub fn pg_name(&self) -> String {
        match self {
            SqlType::Bool => "boolean".into(),
            SqlType::Int16 => "smallint".into(),
            SqlType::Int32 => "integer".into(),
            SqlType::Int64 => "bigint".into(),
            SqlType::Float32 => "real".into(),
            SqlType::Float64 => "double precision".into(),
            SqlType::Numeric {
                unconstrained: true,
                ..
            } => "numeric".into(),
            SqlType::Numeric {
                precision, scale, ..
            } => format!("numeric({precision},{scale})"),
            SqlType::Text => "text".into(),
            SqlType::Varchar(None) => "character varying".into(),
            SqlType::Varchar(Some(n)) => format!("character varying({n})"),
            SqlType::Char(n) => format!("character({n})"),
            SqlType::Bytea => "bytea".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp without time zone".into(),
            SqlType::TimestampTz => "timestamp with time zone".into(),
            SqlType::Json => "json".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::Uuid => "uuid".into(),
            SqlType::Time => "time without time zone".into(),
            SqlType::Interval => "interval".into(),
            SqlType::Array(e) => format!("{}[]", e.sql_type().pg_name()),
        }
    }
}

//! Conversions between row-store [`Value`]s and Arrow / DataFusion values.
//!
//! Scans turn stored rows into Arrow arrays column by column
//! ([`rows_to_batch`]); DML turns the Arrow rows DataFusion computed back
//! into typed values for storage ([`column_values`]), checking them against
//! the column type on the way (NOT NULL, varchar length, numeric precision).

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use prismdb_catalog::{Column, SqlType};
use prismdb_common::{Error, Result, Value};
use std::sync::Arc;

/// Builds one Arrow array from the `idx`-th value of each row.
pub fn build_array<'a>(ty: &SqlType, values: impl Iterator<Item = &'a Value>) -> Result<ArrayRef> {
    macro_rules! build {
        ($builder:expr, $($pat:pat => $v:expr),+) => {{
            let mut b = $builder;
            for value in values {
                match value {
                    $($pat => b.append_value($v),)+
                    Value::Null => b.append_null(),
                    other => return Err(Error::Internal(format!("stored value {other:?} does not match column type {ty:?}"))),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match ty {
        SqlType::Bool => build!(BooleanBuilder::new(), Value::Bool(v) => *v),
        SqlType::Int16 => build!(Int16Builder::new(), Value::Int16(v) => *v),
        SqlType::Int32 => build!(Int32Builder::new(), Value::Int32(v) => *v),
        SqlType::Int64 => build!(Int64Builder::new(), Value::Int64(v) => *v),
        SqlType::Float32 => build!(Float32Builder::new(), Value::Float32(v) => *v),
        SqlType::Float64 => build!(Float64Builder::new(), Value::Float64(v) => *v),
        SqlType::Numeric {
            precision, scale, ..
        } => {
            let mut b = Decimal128Builder::new();
            for value in values {
                match value {
                    Value::Decimal(v, s) => b.append_value(rescale(*v, *s, *scale)),
                    Value::Null => b.append_null(),
                    other => {
                        return Err(Error::Internal(format!(
                            "stored value {other:?} is not numeric"
                        )));
                    }
                }
            }
            Arc::new(
                b.finish()
                    .with_precision_and_scale(*precision, *scale)
                    .map_err(|e| Error::Internal(e.to_string()))?,
            )
        }
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => {
            build!(StringBuilder::new(), Value::Text(v) => v.as_str())
        }
        SqlType::Bytea => build!(BinaryBuilder::new(), Value::Bytes(v) => v.as_slice()),
        SqlType::Date => build!(Date32Builder::new(), Value::Date(v) => *v),
        SqlType::Timestamp => build!(TimestampMicrosecondBuilder::new(), Value::Timestamp(v) => *v),
        SqlType::TimestampTz => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("+00:00");
            for value in values {
                match value {
                    Value::TimestampTz(v) => b.append_value(*v),
                    Value::Null => b.append_null(),
                    other => {
                        return Err(Error::Internal(format!(
                            "stored value {other:?} is not timestamptz"
                        )));
                    }
                }
            }
            Arc::new(b.finish())
        }
    })
}

/// Rescales a stored decimal to the column's current scale.
fn rescale(v: i128, from: i8, to: i8) -> i128 {
    match from.cmp(&to) {
        std::cmp::Ordering::Equal => v,
        std::cmp::Ordering::Less => v.saturating_mul(10i128.pow((to - from) as u32)),
        std::cmp::Ordering::Greater => v / 10i128.pow((from - to) as u32),
    }
}

/// Builds a record batch of the stored columns `cols` (indices into each
/// row) with the given output schema.
pub fn rows_to_batch(
    schema: &SchemaRef,
    columns: &[&Column],
    cols: &[usize],
    rows: &[&[Value]],
) -> Result<RecordBatch> {
    const NULL: Value = Value::Null;
    let arrays = cols
        .iter()
        .zip(columns)
        .map(|(&i, col)| build_array(&col.ty, rows.iter().map(|r| r.get(i).unwrap_or(&NULL))))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Converts one Arrow column to stored values of `column`'s type, enforcing
/// the column's constraints. `table` names the relation in error messages.
pub fn column_values(array: &ArrayRef, column: &Column, table: &str) -> Result<Vec<Value>> {
    let target = column.ty.arrow_type();
    if column.ty == SqlType::Bytea
        && let Some(text) = array
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
    {
        return text
            .iter()
            .map(|v| match v {
                None => Ok(Value::Null),
                Some(s) => prismdb_common::value::parse_bytea(s)
                    .map(Value::Bytes)
                    .ok_or_else(|| prismdb_sql::rewrite::bytea_error(s)),
            })
            .collect();
    }
    let array = if array.data_type() == &target {
        array.clone()
    } else {
        let opts = CastOptions {
            safe: false,
            ..Default::default()
        };
        cast_with_options(array, &target, &opts).map_err(prismdb_sql::error::from_arrow)?
    };
    let mut out = Vec::with_capacity(array.len());
    for row in 0..array.len() {
        if array.is_null(row) {
            out.push(Value::Null);
            continue;
        }
        let scalar = ScalarValue::try_from_array(&array, row)
            .map_err(prismdb_sql::error::from_datafusion)?;
        let v = scalar_to_value(&scalar)?;
        check_value(&v, column, table)?;
        out.push(v);
    }
    Ok(out)
}

/// Checks type modifiers that Arrow types do not carry.
fn check_value(v: &Value, column: &Column, _table: &str) -> Result<()> {
    match (&column.ty, v) {
        (SqlType::Varchar(Some(n)), Value::Text(s)) if s.chars().count() > *n as usize => Err(
            Error::StringTooLong(format!("value too long for type character varying({n})")),
        ),
        (SqlType::Char(n), Value::Text(s))
            if s.trim_end_matches(' ').chars().count() > *n as usize =>
        {
            Err(Error::StringTooLong(format!(
                "value too long for type character({n})"
            )))
        }
        (
            SqlType::Numeric {
                precision,
                scale,
                unconstrained: false,
            },
            Value::Decimal(d, _),
        ) => {
            let limit = 10i128.pow(*precision as u32);
            if d.unsigned_abs() >= limit as u128 {
                return Err(Error::NumericOutOfRange(format!(
                    "numeric field overflow: a field with precision {precision}, scale {scale} must round to an absolute value less than 10^{}",
                    *precision as i32 - *scale as i32
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A DataFusion scalar as a stored value.
pub fn scalar_to_value(s: &ScalarValue) -> Result<Value> {
    Ok(match s {
        v if v.is_null() => Value::Null,
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(v)) => Value::Int16(*v as i16),
        ScalarValue::Int16(Some(v)) => Value::Int16(*v),
        ScalarValue::Int32(Some(v)) => Value::Int32(*v),
        ScalarValue::Int64(Some(v)) => Value::Int64(*v),
        ScalarValue::UInt8(Some(v)) => Value::Int16(*v as i16),
        ScalarValue::UInt16(Some(v)) => Value::Int32(*v as i32),
        ScalarValue::UInt32(Some(v)) => Value::Int64(*v as i64),
        ScalarValue::Float32(Some(v)) => Value::Float32(*v),
        ScalarValue::Float64(Some(v)) => Value::Float64(*v),
        ScalarValue::Decimal128(Some(v), _, s) => Value::Decimal(*v, *s),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Value::Text(v.clone()),
        ScalarValue::Binary(Some(v))
        | ScalarValue::LargeBinary(Some(v))
        | ScalarValue::BinaryView(Some(v)) => Value::Bytes(v.clone()),
        ScalarValue::Date32(Some(v)) => Value::Date(*v),
        ScalarValue::TimestampMicrosecond(Some(v), None) => Value::Timestamp(*v),
        ScalarValue::TimestampMicrosecond(Some(v), Some(_)) => Value::TimestampTz(*v),
        other => {
            return Err(Error::NotSupported(format!(
                "values of type {} cannot be stored",
                other.data_type()
            )));
        }
    })
}

/// A stored or bound value as a DataFusion scalar.
pub fn value_to_scalar(v: &Value) -> ScalarValue {
    match v {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Int16(i) => ScalarValue::Int16(Some(*i)),
        Value::Int32(i) => ScalarValue::Int32(Some(*i)),
        Value::Int64(i) => ScalarValue::Int64(Some(*i)),
        Value::Float32(f) => ScalarValue::Float32(Some(*f)),
        Value::Float64(f) => ScalarValue::Float64(Some(*f)),
        Value::Decimal(d, s) => ScalarValue::Decimal128(Some(*d), 38, *s),
        Value::Text(t) => ScalarValue::Utf8(Some(t.clone())),
        Value::Bytes(b) => ScalarValue::Binary(Some(b.clone())),
        Value::Date(d) => ScalarValue::Date32(Some(*d)),
        Value::Timestamp(t) => ScalarValue::TimestampMicrosecond(Some(*t), None),
        Value::TimestampTz(t) => ScalarValue::TimestampMicrosecond(Some(*t), Some("+00:00".into())),
    }
}

/// Converts a literal compared with a key column to a key value. Only
/// literals of exactly the column's type qualify (the optimizer has already
/// unwrapped lossless casts), so the bound is never off by a rounding.
pub fn scalar_as_key(s: &ScalarValue, ty: &SqlType) -> Option<Value> {
    if s.is_null() || s.data_type() != ty.arrow_type() {
        return None;
    }
    scalar_to_value(s).ok()
}

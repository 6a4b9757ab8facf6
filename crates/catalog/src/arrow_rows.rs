//! Stored rows as Arrow: building arrays and record batches from
//! [`Value`]s of a column type. Shared by the row store's scans and the
//! columnar replicas, so both engines produce identical Arrow data.

use crate::{Column, SqlType};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use prismdb_common::{Error, Result, Value};
use std::sync::Arc;

/// Builds one Arrow array from the `idx`-th value of each row.
pub fn build_array<'a>(
    ty: &SqlType,
    values: impl ExactSizeIterator<Item = &'a Value>,
) -> Result<ArrayRef> {
    // Builders sized to the values: a default builder reserves 1,024 slots,
    // which a one-row result would allocate, zero and free for nothing.
    let n = values.len();
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
        SqlType::Bool => build!(BooleanBuilder::with_capacity(n), Value::Bool(v) => *v),
        SqlType::Int16 => build!(Int16Builder::with_capacity(n), Value::Int16(v) => *v),
        SqlType::Int32 => build!(Int32Builder::with_capacity(n), Value::Int32(v) => *v),
        SqlType::Int64 => build!(Int64Builder::with_capacity(n), Value::Int64(v) => *v),
        SqlType::Time => build!(
            time_builder(n),
            Value::Int64(v) => *v
        ),
        SqlType::Float32 => build!(Float32Builder::with_capacity(n), Value::Float32(v) => *v),
        SqlType::Float64 => build!(Float64Builder::with_capacity(n), Value::Float64(v) => *v),
        SqlType::Numeric {
            precision, scale, ..
        } => {
            let mut b = Decimal128Builder::with_capacity(n);
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
        SqlType::Text
        | SqlType::Varchar(_)
        | SqlType::Char(_)
        | SqlType::Json
        | SqlType::Jsonb
        | SqlType::Uuid => {
            build!(StringBuilder::with_capacity(n, n * 16), Value::Text(v) => v.as_str())
        }
        SqlType::Bytea => {
            build!(BinaryBuilder::with_capacity(n, n * 16), Value::Bytes(v) => v.as_slice())
        }
        SqlType::Date => build!(Date32Builder::with_capacity(n), Value::Date(v) => *v),
        SqlType::Timestamp => {
            build!(TimestampMicrosecondBuilder::with_capacity(n), Value::Timestamp(v) => *v)
        }
        SqlType::TimestampTz => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("+00:00");
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
        SqlType::Interval => {
            let mut b = arrow::array::IntervalMonthDayNanoBuilder::with_capacity(n);
            for value in values {
                match value {
                    Value::Interval(months, days, micros) => {
                        b.append_value(arrow::datatypes::IntervalMonthDayNano::new(
                            *months,
                            *days,
                            micros.saturating_mul(1000),
                        ))
                    }
                    Value::Null => b.append_null(),
                    other => {
                        return Err(Error::Internal(format!(
                            "stored value {other:?} is not an interval"
                        )));
                    }
                }
            }
            Arc::new(b.finish())
        }
        SqlType::Array(element) => {
            let mut lengths = Vec::with_capacity(n);
            let mut present = Vec::with_capacity(n);
            let mut items: Vec<&Value> = Vec::new();
            for value in values {
                match value {
                    Value::List(list) => {
                        lengths.push(list.len());
                        present.push(true);
                        items.extend(list.iter());
                    }
                    Value::Null => {
                        lengths.push(0);
                        present.push(false);
                    }
                    other => {
                        return Err(Error::Internal(format!(
                            "stored value {other:?} is not an array"
                        )));
                    }
                }
            }
            let element = element.sql_type();
            let elements = build_array(&element, items.into_iter())?;
            Arc::new(
                arrow::array::ListArray::try_new(
                    Arc::new(arrow::datatypes::Field::new_list_field(
                        element.arrow_type(),
                        true,
                    )),
                    arrow::buffer::OffsetBuffer::from_lengths(lengths),
                    elements,
                    Some(arrow::buffer::NullBuffer::from(present)),
                )
                .map_err(|e| Error::Internal(e.to_string()))?,
            )
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

/// A builder of `time` values (microseconds since midnight).
fn time_builder(n: usize) -> arrow::array::Time64MicrosecondBuilder {
    arrow::array::Time64MicrosecondBuilder::with_capacity(n)
}

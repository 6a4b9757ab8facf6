//! Stored rows as Arrow: building arrays and record batches from
//! [`Value`]s of a column type. Shared by the row store's scans and the
//! columnar replicas, so both engines produce identical Arrow data.

use crate::{Column, SqlType};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBufferBuilder, BooleanBuilder, Decimal128Builder,
    PrimitiveArray, StringBuilder,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    SchemaRef, Time64MicrosecondType, TimestampMicrosecondType,
};
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
    // Fixed-width columns go straight into a value vector the array then
    // owns, with a validity bitmap only once a NULL turns up: a builder's
    // bitmap and `finish` are most of the cost of a one-row result.
    macro_rules! primitive {
        ($t:ty, $pat:pat => $v:expr) => {{
            let mut data: Vec<<$t as ArrowPrimitiveType>::Native> = Vec::with_capacity(n);
            let mut valid: Option<BooleanBufferBuilder> = None;
            for value in values {
                match value {
                    $pat => {
                        data.push($v);
                        if let Some(b) = valid.as_mut() {
                            b.append(true);
                        }
                    }
                    Value::Null => {
                        let b = valid.get_or_insert_with(|| {
                            let mut b = BooleanBufferBuilder::new(n);
                            b.append_n(data.len(), true);
                            b
                        });
                        b.append(false);
                        data.push(Default::default());
                    }
                    other => {
                        return Err(Error::Internal(format!(
                            "stored value {other:?} does not match column type {ty:?}"
                        )));
                    }
                }
            }
            let nulls = valid.map(|mut b| NullBuffer::new(b.finish()));
            PrimitiveArray::<$t>::new(ScalarBuffer::from(data), nulls)
        }};
    }
    Ok(match ty {
        SqlType::Bool => build!(BooleanBuilder::with_capacity(n), Value::Bool(v) => *v),
        SqlType::Int16 => Arc::new(primitive!(Int16Type, Value::Int16(v) => *v)),
        SqlType::Int32 => Arc::new(primitive!(Int32Type, Value::Int32(v) => *v)),
        SqlType::Int64 => Arc::new(primitive!(Int64Type, Value::Int64(v) => *v)),
        SqlType::Time => Arc::new(primitive!(Time64MicrosecondType, Value::Int64(v) => *v)),
        SqlType::Float32 => Arc::new(primitive!(Float32Type, Value::Float32(v) => *v)),
        SqlType::Float64 => Arc::new(primitive!(Float64Type, Value::Float64(v) => *v)),
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
        SqlType::Date => Arc::new(primitive!(Date32Type, Value::Date(v) => *v)),
        SqlType::Timestamp => {
            Arc::new(primitive!(TimestampMicrosecondType, Value::Timestamp(v) => *v))
        }
        SqlType::TimestampTz => Arc::new(
            primitive!(TimestampMicrosecondType, Value::TimestampTz(v) => *v)
                .with_timezone("+00:00"),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;

    #[test]
    fn fixed_width_arrays_keep_values_and_nulls_in_place() {
        let values = [Value::Int64(1), Value::Null, Value::Int64(3), Value::Null];
        let a = build_array(&SqlType::Int64, values.iter()).unwrap();
        let a = a.as_primitive::<Int64Type>();
        assert_eq!(a.len(), 4);
        assert_eq!(a.null_count(), 2);
        assert_eq!((a.value(0), a.value(2)), (1, 3));
        assert!(a.is_null(1) && a.is_null(3));

        let leading = [Value::Null, Value::Int32(7)];
        let a = build_array(&SqlType::Int32, leading.iter()).unwrap();
        let a = a.as_primitive::<Int32Type>();
        assert!(a.is_null(0) && a.is_valid(1));
        assert_eq!(a.value(1), 7);

        let all = [Value::Float64(0.5), Value::Float64(-2.0)];
        let a = build_array(&SqlType::Float64, all.iter()).unwrap();
        assert_eq!(a.null_count(), 0);
        assert!(a.nulls().is_none());
        assert_eq!(a.as_primitive::<Float64Type>().values(), &[0.5, -2.0]);

        let none: [Value; 0] = [];
        assert_eq!(build_array(&SqlType::Date, none.iter()).unwrap().len(), 0);
    }

    #[test]
    fn temporal_arrays_carry_their_arrow_types() {
        let ts = [Value::TimestampTz(5), Value::Null];
        let a = build_array(&SqlType::TimestampTz, ts.iter()).unwrap();
        assert_eq!(
            a.data_type(),
            &DataType::Timestamp(
                arrow::datatypes::TimeUnit::Microsecond,
                Some("+00:00".into())
            )
        );
        assert_eq!(a.as_primitive::<TimestampMicrosecondType>().value(0), 5);
        assert!(a.is_null(1));
        for (ty, v) in [
            (SqlType::Timestamp, Value::Timestamp(9)),
            (SqlType::Time, Value::Int64(9)),
            (SqlType::Date, Value::Date(9)),
        ] {
            let a = build_array(&ty, [v].iter()).unwrap();
            assert_eq!(a.data_type(), &ty.arrow_type());
        }
        let wrong = [Value::Int32(1)];
        assert!(build_array(&SqlType::Int64, wrong.iter()).is_err());
    }
}

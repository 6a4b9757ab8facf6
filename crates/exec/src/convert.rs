//! Conversions between row-store [`Value`]s and Arrow / DataFusion values.
//!
//! Scans turn stored rows into Arrow arrays column by column
//! ([`rows_to_batch`]); DML turns the Arrow rows DataFusion computed back
//! into typed values for storage ([`column_values`]), checking them against
//! the column type on the way (NOT NULL, varchar length, numeric precision).

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::common::ScalarValue;
use prismdb_catalog::{Column, SqlType};
use prismdb_common::{Error, Result, Value};

pub use prismdb_catalog::arrow_rows::{build_array, rows_to_batch};

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
    if let SqlType::Array(element) = column.ty {
        return array_values(array, element.sql_type(), column, table);
    }
    // Interval text (COPY, text parameters) in PostgreSQL's input forms.
    if column.ty == SqlType::Interval
        && matches!(
            array.data_type(),
            datafusion::arrow::datatypes::DataType::Utf8
                | datafusion::arrow::datatypes::DataType::LargeUtf8
                | datafusion::arrow::datatypes::DataType::Utf8View
        )
        && let Ok(text) = cast_with_options(
            array,
            &datafusion::arrow::datatypes::DataType::Utf8,
            &CastOptions::default(),
        )
    {
        use datafusion::arrow::array::AsArray;
        let text = text.as_string::<i32>();
        return (0..text.len())
            .map(|row| {
                if text.is_null(row) {
                    return Ok(Value::Null);
                }
                let (months, days, micros) =
                    prismdb_common::value::parse_interval(text.value(row))?;
                Ok(Value::Interval(months, days, micros))
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
        let mut v = scalar_to_value(&scalar)?;
        check_value(&v, column, table)?;
        if let Value::Text(t) = &v
            && let Some(canonical) = crate::json::stored_text(&column.ty, t)?
        {
            v = Value::Text(canonical);
        }
        out.push(v);
    }
    Ok(out)
}

/// Values for an array column: lists cast element-wise to the element
/// type, or array literals (`'{1,2}'`) parsed and their elements cast.
fn array_values(
    array: &ArrayRef,
    element: SqlType,
    column: &Column,
    table: &str,
) -> Result<Vec<Value>> {
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::DataType;
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    let element_column = Column {
        ty: element,
        nullable: true,
        ..column.clone()
    };
    let elements = |items: &ArrayRef| -> Result<Value> {
        column_values(items, &element_column, table).map(Value::List)
    };
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast_with_options(array, &DataType::Utf8, &opts)
                .map_err(prismdb_sql::error::from_arrow)?;
            let text = text.as_string::<i32>();
            (0..text.len())
                .map(|row| {
                    if text.is_null(row) {
                        return Ok(Value::Null);
                    }
                    let items = prismdb_common::value::parse_array_literal(text.value(row))?;
                    let items: ArrayRef = std::sync::Arc::new(StringArray::from(items));
                    elements(&items)
                })
                .collect()
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let lists = cast_with_options(array, &column.ty.arrow_type(), &opts)
                .map_err(prismdb_sql::error::from_arrow)?;
            let lists = lists.as_list::<i32>();
            (0..lists.len())
                .map(|row| {
                    if lists.is_null(row) {
                        Ok(Value::Null)
                    } else {
                        elements(&lists.value(row))
                    }
                })
                .collect()
        }
        DataType::Null => Ok(vec![Value::Null; array.len()]),
        other => Err(Error::DatatypeMismatch(format!(
            "column \"{}\" is of type {} but expression is of type {other}",
            column.name,
            column.ty.pg_name()
        ))),
    }
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
        // `time`: microseconds since midnight.
        ScalarValue::Time64Microsecond(Some(v)) => Value::Int64(*v),
        ScalarValue::Time64Nanosecond(Some(v)) => Value::Int64(*v / 1000),
        ScalarValue::IntervalMonthDayNano(Some(v)) => {
            Value::Interval(v.months, v.days, v.nanoseconds / 1000)
        }
        ScalarValue::IntervalDayTime(Some(v)) => {
            Value::Interval(0, v.days, i64::from(v.milliseconds) * 1000)
        }
        ScalarValue::IntervalYearMonth(Some(v)) => Value::Interval(*v, 0, 0),
        ScalarValue::List(l) if l.len() == 1 => {
            let items = l.value(0);
            let mut out = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                let s = ScalarValue::try_from_array(&items, i)
                    .map_err(prismdb_sql::error::from_datafusion)?;
                out.push(scalar_to_value(&s)?);
            }
            Value::List(out)
        }
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
        Value::Interval(months, days, micros) => ScalarValue::IntervalMonthDayNano(Some(
            datafusion::arrow::datatypes::IntervalMonthDayNano::new(
                *months,
                *days,
                micros.saturating_mul(1000),
            ),
        )),
        Value::List(items) => {
            let scalars: Vec<ScalarValue> = items.iter().map(value_to_scalar).collect();
            // The element type is the first non-NULL element's.
            let element = scalars
                .iter()
                .find(|s| !s.is_null())
                .map_or(datafusion::arrow::datatypes::DataType::Null, |s| {
                    s.data_type()
                });
            let scalars: Vec<ScalarValue> = scalars
                .into_iter()
                .map(|s| {
                    if s.is_null() {
                        ScalarValue::try_from(&element).unwrap_or(ScalarValue::Null)
                    } else {
                        s
                    }
                })
                .collect();
            ScalarValue::List(ScalarValue::new_list(&scalars, &element, true))
        }
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

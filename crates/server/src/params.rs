//! Bind parameters: decodes the values of a Bind message, text or binary,
//! into [`Value`]s of the statement's parameter types.

use crate::format;
use arrow::datatypes::DataType;
use bytes::Bytes;
use pgwire::messages::data::{FORMAT_CODE_BINARY, FORMAT_CODE_TEXT};
use prismdb_common::{Error, Result, Value};

/// Decodes all parameters of a Bind: `formats` are the Bind's parameter
/// format codes (none: all text; one: for all; else one per parameter).
pub fn decode_params(
    types: &[DataType],
    formats: &[i16],
    values: &[Option<Bytes>],
) -> Result<Vec<Value>> {
    if values.len() != types.len() {
        return Err(Error::Protocol(format!(
            "bind message supplies {} parameters, but prepared statement requires {}",
            values.len(),
            types.len()
        )));
    }
    if formats.len() > 1 && formats.len() != values.len() {
        return Err(Error::Protocol(format!(
            "bind message has {} parameter formats but {} parameters",
            formats.len(),
            values.len()
        )));
    }
    values
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (value, ty))| {
            let code = match formats {
                [] => FORMAT_CODE_TEXT,
                [code] => *code,
                codes => codes[i],
            };
            let binary = match code {
                FORMAT_CODE_TEXT => false,
                FORMAT_CODE_BINARY => true,
                other => return Err(Error::Protocol(format!("unsupported format code: {other}"))),
            };
            decode_param(ty, binary, value.as_deref(), i + 1)
        })
        .collect()
}

/// Decodes parameter `$index` of type `ty` from its wire bytes (`None` is NULL).
pub fn decode_param(
    ty: &DataType,
    binary: bool,
    bytes: Option<&[u8]>,
    index: usize,
) -> Result<Value> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    if binary {
        decode_binary(ty, bytes, index)
    } else {
        decode_text(ty, utf8(bytes)?)
    }
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes)
        .map_err(|_| Error::InvalidText("invalid byte sequence for encoding \"UTF8\"".into()))
}

fn parse_int(text: &str, type_name: &str, min: i64, max: i64) -> Result<i64> {
    let v: i64 = text
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                Error::NumericOutOfRange(format!(
                    "value \"{text}\" is out of range for type {type_name}"
                ))
            }
            _ => Error::InvalidText(format!(
                "invalid input syntax for type {type_name}: \"{text}\""
            )),
        })?;
    if v < min || v > max {
        return Err(Error::NumericOutOfRange(format!(
            "value \"{text}\" is out of range for type {type_name}"
        )));
    }
    Ok(v)
}

fn parse_float(text: &str, type_name: &str) -> Result<f64> {
    text.trim().parse::<f64>().map_err(|_| {
        Error::InvalidText(format!(
            "invalid input syntax for type {type_name}: \"{text}\""
        ))
    })
}

fn decode_text(ty: &DataType, text: &str) -> Result<Value> {
    use DataType::*;
    Ok(match ty {
        List(f) | LargeList(f) => Value::List(
            prismdb_common::value::parse_array_literal(text)?
                .into_iter()
                .map(|item| match item {
                    None => Ok(Value::Null),
                    Some(t) => decode_text(f.data_type(), &t),
                })
                .collect::<Result<_>>()?,
        ),
        Boolean => Value::Bool(format::parse_bool(text)?),
        Int8 | Int16 | UInt8 => {
            Value::Int16(parse_int(text, "smallint", i16::MIN as i64, i16::MAX as i64)? as i16)
        }
        Int32 | UInt16 => {
            Value::Int32(parse_int(text, "integer", i32::MIN as i64, i32::MAX as i64)? as i32)
        }
        Int64 | UInt32 | UInt64 => Value::Int64(parse_int(text, "bigint", i64::MIN, i64::MAX)?),
        Float16 | Float32 => Value::Float32(parse_float(text, "real")? as f32),
        Float64 => Value::Float64(parse_float(text, "double precision")?),
        Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s) | Decimal256(_, s) => {
            let (v, scale) = format::parse_decimal(text)?;
            Value::Decimal(format::rescale(v, scale, *s as i32)?, *s)
        }
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => {
            Value::Bytes(format::parse_bytea(text)?)
        }
        Date32 | Date64 => Value::Date(format::parse_date(text)?),
        Timestamp(_, None) => Value::Timestamp(format::parse_timestamp(text, false)?),
        Timestamp(_, Some(_)) => Value::TimestampTz(format::parse_timestamp(text, true)?),
        _ => Value::Text(text.to_owned()),
    })
}

fn decode_binary(ty: &DataType, bytes: &[u8], index: usize) -> Result<Value> {
    use DataType::*;
    let bad = || {
        Error::Protocol(format!(
            "incorrect binary data format in bind parameter {index}"
        ))
    };
    if let List(f) | LargeList(f) = ty {
        return decode_binary_array(f.data_type(), bytes, index).ok_or_else(bad)?;
    }
    let out_of_range = |name: &str| Error::NumericOutOfRange(format!("{name} out of range"));
    // Integers are read by their width, so a client may send any integer type.
    let int = || -> Result<i64> {
        Ok(match bytes.len() {
            2 => i16::from_be_bytes([bytes[0], bytes[1]]) as i64,
            4 => i32::from_be_bytes(bytes.try_into().map_err(|_| bad())?) as i64,
            8 => i64::from_be_bytes(bytes.try_into().map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    };
    let float = || -> Result<f64> {
        Ok(match bytes.len() {
            4 => f32::from_be_bytes(bytes.try_into().map_err(|_| bad())?) as f64,
            8 => f64::from_be_bytes(bytes.try_into().map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    };
    Ok(match ty {
        Boolean => match bytes {
            [b] => Value::Bool(*b != 0),
            _ => return Err(bad()),
        },
        Int8 | Int16 | UInt8 => {
            Value::Int16(i16::try_from(int()?).map_err(|_| out_of_range("smallint"))?)
        }
        Int32 | UInt16 => Value::Int32(i32::try_from(int()?).map_err(|_| out_of_range("integer"))?),
        Int64 | UInt32 | UInt64 => Value::Int64(int()?),
        Float16 | Float32 => Value::Float32(float()? as f32),
        Float64 => Value::Float64(float()?),
        Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s) | Decimal256(_, s) => {
            let (v, dscale) = format::read_numeric_binary(bytes)?;
            Value::Decimal(format::rescale(v, dscale as i32, *s as i32)?, *s)
        }
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Value::Bytes(bytes.to_vec()),
        Date32 | Date64 => {
            let days = i32::from_be_bytes(bytes.try_into().map_err(|_| bad())?);
            Value::Date(match days {
                i32::MIN | i32::MAX => days,
                d => d
                    .checked_add(format::PG_EPOCH_DAYS)
                    .ok_or_else(|| out_of_range("date"))?,
            })
        }
        Timestamp(_, tz) => {
            let t = i64::from_be_bytes(bytes.try_into().map_err(|_| bad())?);
            let t = match t {
                i64::MIN | i64::MAX => t,
                t => t
                    .checked_add(format::PG_EPOCH_MICROS)
                    .ok_or_else(|| out_of_range("timestamp"))?,
            };
            if tz.is_some() {
                Value::TimestampTz(t)
            } else {
                Value::Timestamp(t)
            }
        }
        // interval: microseconds, days, months.
        Interval(_) => {
            let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] =
                <[u8; 16]>::try_from(bytes).map_err(|_| bad())?;
            Value::Interval(
                i32::from_be_bytes([m, n, o, p]),
                i32::from_be_bytes([i, j, k, l]),
                i64::from_be_bytes([a, b, c, d, e, f, g, h]),
            )
        }
        // `time` goes on as its text, which the statement casts.
        Time32(_) | Time64(_) => {
            let micros = i64::from_be_bytes(bytes.try_into().map_err(|_| bad())?);
            let mut text = String::new();
            format::write_time(&mut text, micros)?;
            Value::Text(text)
        }
        // Text-like and unknown types: the binary form of text is its UTF-8.
        _ => Value::Text(utf8(bytes)?.to_owned()),
    })
}

/// A binary one-dimensional array: dimensions, has-nulls flag, element
/// OID, then per dimension its length and lower bound, then each element's
/// length (-1: NULL) and bytes. `None` when the layout is broken.
fn decode_binary_array(element: &DataType, bytes: &[u8], index: usize) -> Option<Result<Value>> {
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let ndim = int(0)?;
    if ndim == 0 {
        return Some(Ok(Value::List(Vec::new())));
    }
    if ndim != 1 {
        return Some(Err(Error::NotSupported(
            "multidimensional arrays are not supported".into(),
        )));
    }
    let count = usize::try_from(int(12)?).ok()?;
    let mut at = 20;
    let mut items = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let len = int(at)?;
        at += 4;
        if len < 0 {
            items.push(Value::Null);
            continue;
        }
        let value = bytes.get(at..at + len as usize)?;
        at += len as usize;
        match decode_binary(element, value, index) {
            Ok(v) => items.push(v),
            Err(e) => return Some(Err(e)),
        }
    }
    (at == bytes.len()).then_some(Ok(Value::List(items)))
}

#[cfg(test)]
#[path = "params_test.rs"]
mod tests;

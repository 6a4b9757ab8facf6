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
        // Text-like and unknown types: the binary form of text is its UTF-8.
        _ => Value::Text(utf8(bytes)?.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use bytes::BytesMut;

    fn text(ty: DataType, s: &str) -> Result<Value> {
        decode_param(&ty, false, Some(s.as_bytes()), 1)
    }

    fn bin(ty: DataType, b: &[u8]) -> Result<Value> {
        decode_param(&ty, true, Some(b), 1)
    }

    #[test]
    fn text_params_decode() {
        assert_eq!(text(DataType::Int64, " 42 ").unwrap(), Value::Int64(42));
        assert_eq!(text(DataType::Int16, "-7").unwrap(), Value::Int16(-7));
        assert!(matches!(
            text(DataType::Int16, "40000"),
            Err(Error::NumericOutOfRange(_))
        ));
        assert!(matches!(
            text(DataType::Int32, "abc"),
            Err(Error::InvalidText(_))
        ));
        assert_eq!(text(DataType::Float64, "0.5").unwrap(), Value::Float64(0.5));
        assert!(
            matches!(text(DataType::Float64, "Infinity").unwrap(), Value::Float64(f) if f.is_infinite())
        );
        assert_eq!(text(DataType::Boolean, "t").unwrap(), Value::Bool(true));
        assert_eq!(
            text(DataType::Decimal128(10, 2), "10.5").unwrap(),
            Value::Decimal(1050, 2)
        );
        assert_eq!(
            text(DataType::Utf8, "hi").unwrap(),
            Value::Text("hi".into())
        );
        assert_eq!(
            text(DataType::Null, "42").unwrap(),
            Value::Text("42".into())
        );
        assert_eq!(
            text(DataType::Binary, "\\x00ff").unwrap(),
            Value::Bytes(vec![0, 255])
        );
        assert_eq!(
            text(DataType::Date32, "2024-01-02").unwrap(),
            Value::Date(19724)
        );
        assert_eq!(
            text(
                DataType::Timestamp(TimeUnit::Microsecond, None),
                "2024-01-02 03:04:05"
            )
            .unwrap(),
            Value::Timestamp(1_704_164_645_000_000)
        );
        assert_eq!(
            text(
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "2024-01-02 04:04:05+01"
            )
            .unwrap(),
            Value::TimestampTz(1_704_164_645_000_000)
        );
        assert!(matches!(text(DataType::Utf8, "\u{0}"), Ok(Value::Text(_))));
        assert!(decode_param(&DataType::Utf8, false, Some(&[0xff]), 1).is_err());
        assert_eq!(
            decode_param(&DataType::Int64, false, None, 1).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn binary_params_decode() {
        assert_eq!(
            bin(DataType::Int64, &42i64.to_be_bytes()).unwrap(),
            Value::Int64(42)
        );
        assert_eq!(
            bin(DataType::Int64, &42i32.to_be_bytes()).unwrap(),
            Value::Int64(42)
        );
        assert_eq!(
            bin(DataType::Int32, &42i16.to_be_bytes()).unwrap(),
            Value::Int32(42)
        );
        assert!(bin(DataType::Int16, &100_000i32.to_be_bytes()).is_err());
        assert!(bin(DataType::Int64, &[1, 2, 3]).is_err());
        assert_eq!(
            bin(DataType::Float64, &1.5f64.to_be_bytes()).unwrap(),
            Value::Float64(1.5)
        );
        assert_eq!(
            bin(DataType::Float32, &1.5f32.to_be_bytes()).unwrap(),
            Value::Float32(1.5)
        );
        assert_eq!(bin(DataType::Boolean, &[1]).unwrap(), Value::Bool(true));
        assert_eq!(
            bin(DataType::Utf8, b"abc").unwrap(),
            Value::Text("abc".into())
        );
        assert_eq!(
            bin(DataType::Binary, &[9, 8]).unwrap(),
            Value::Bytes(vec![9, 8])
        );
        assert_eq!(
            bin(DataType::Date32, &1i32.to_be_bytes()).unwrap(),
            Value::Date(format::PG_EPOCH_DAYS + 1)
        );
        assert_eq!(
            bin(
                DataType::Timestamp(TimeUnit::Microsecond, None),
                &0i64.to_be_bytes()
            )
            .unwrap(),
            Value::Timestamp(format::PG_EPOCH_MICROS)
        );
        let mut num = BytesMut::new();
        format::put_numeric_binary(&mut num, 12345, 3);
        assert_eq!(
            bin(DataType::Decimal128(10, 2), &num).unwrap(),
            Value::Decimal(1235, 2)
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let types = [
            DataType::Boolean,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Decimal128(38, 4),
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Null,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"0123456789-+.:eE \\xTZinfatyBC\xff\xc3\xa9";
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % 2 == 0 {
                        next() as u8
                    } else {
                        alphabet[(next() % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let ty = &types[(next() % types.len() as u64) as usize];
            let _ = decode_param(ty, next() % 2 == 0, Some(&bytes), 1);
        }
    }

    #[test]
    fn counts_and_formats_are_checked() {
        let types = [DataType::Int64, DataType::Utf8];
        let values = [
            Some(Bytes::copy_from_slice(&7i64.to_be_bytes())),
            Some(Bytes::from_static(b"x")),
        ];
        assert_eq!(
            decode_params(&types, &[1, 0], &values).unwrap(),
            vec![Value::Int64(7), Value::Text("x".into())]
        );
        assert!(decode_params(&types, &[1, 0, 1], &values).is_err());
        assert!(decode_params(&types, &[2], &values).is_err());
        assert!(decode_params(&types[..1], &[], &values).is_err());
        assert_eq!(
            decode_params(&types, &[], &[None, None]).unwrap(),
            vec![Value::Null, Value::Null]
        );
    }
}

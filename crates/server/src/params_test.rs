//! Unit tests of `params`.

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

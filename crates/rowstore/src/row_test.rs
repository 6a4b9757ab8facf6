//! Unit tests of `row`.

use super::*;

#[test]
fn rows_round_trip() {
    let row = vec![
        Value::Int64(-5),
        Value::Null,
        Value::Text("héllo".into()),
        Value::Decimal(1050, 2),
        Value::Bool(true),
        Value::Float64(1.5),
        Value::Bytes(vec![0, 1, 255]),
        Value::Date(19724),
        Value::Timestamp(123),
        Value::TimestampTz(-9),
        Value::Int16(7),
        Value::Int32(-70000),
        Value::Float32(0.25),
    ];
    assert_eq!(decode_row(&encode_row(&row)).unwrap(), Some(row));
    assert_eq!(decode_row(&tombstone()).unwrap(), None);
    assert!(decode_row(&[1, 5, 3]).is_err());
}

#[test]
fn arrays_round_trip_and_nested_ones_are_corrupt() {
    let row = vec![
        Value::Int32(1),
        Value::List(vec![Value::Int64(5), Value::Null, Value::Int64(-7)]),
        Value::List(vec![]),
        Value::List(vec![Value::Text("a b".into()), Value::Text(String::new())]),
    ];
    assert_eq!(decode_row(&encode_row(&row)).unwrap(), Some(row));
    // A list inside a list, or a count beyond the bytes, is refused.
    let nested = [ROW, 1, 13, 1, 13, 0];
    assert!(decode_row(&nested).is_err());
    let long = [ROW, 1, 13, 0xff, 0xff, 0x03, 0];
    assert!(decode_row(&long).is_err());
}

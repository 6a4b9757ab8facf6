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

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

#[test]
fn decoding_some_columns_skips_the_others_in_place() {
    let row = vec![
        Value::Int64(-5),
        Value::Text("héllo".into()),
        Value::Decimal(1050, 2),
        Value::Interval(1, -2, 3),
        Value::List(vec![Value::Text("a".into()), Value::Null]),
        Value::Bytes(vec![0, 1, 255]),
        Value::Bool(true),
        Value::Null,
        Value::Date(19724),
        Value::TimestampTz(-9),
        Value::Int16(7),
        Value::Int32(-70000),
        Value::Float32(0.25),
        Value::Float64(1.5),
        Value::Timestamp(123),
    ];
    let encoded = encode_row(&row);
    for pattern in 0u32..64 {
        // Every mask of the first six columns, the rest alternating; a
        // mask shorter than the row keeps the columns past its end.
        let len = if pattern % 2 == 0 { row.len() } else { 6 };
        let keep: Vec<bool> = (0..len)
            .map(|i| {
                if i < 6 {
                    pattern >> i & 1 == 1
                } else {
                    i % 2 == 0
                }
            })
            .collect();
        let want: Vec<Value> = row
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if keep.get(i).copied().unwrap_or(true) {
                    v.clone()
                } else {
                    Value::Null
                }
            })
            .collect();
        assert_eq!(decode_columns(&encoded, Some(&keep)).unwrap(), Some(want));
    }
    assert_eq!(decode_columns(&tombstone(), Some(&[true])).unwrap(), None);
    assert!(decode_columns(&[ROW, 1, 8, 5, b'a'], Some(&[false])).is_err());
}

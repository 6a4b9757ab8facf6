//! Unit tests of `keycode`.

use super::*;
use proptest::prelude::*;

fn roundtrip(vals: Vec<Value>, kinds: &[KeyKind]) {
    let enc = encode_key(&vals);
    let (dec, used) = decode_key(&enc, kinds).unwrap();
    assert_eq!(used, enc.len());
    assert_eq!(dec.len(), vals.len());
    // `value_len` walks the same boundaries `decode_key` finds.
    let mut at = 0;
    for kind in kinds {
        let (_, one) = decode_key(&enc[at..], &[*kind]).unwrap();
        assert_eq!(value_len(&enc[at..], *kind).unwrap(), one);
        at += one;
    }
    assert_eq!(at, enc.len());
    for (a, b) in dec.iter().zip(&vals) {
        assert_eq!(a.sql_cmp(b), std::cmp::Ordering::Equal, "{a:?} vs {b:?}");
    }
}

proptest! {
    #[test]
    fn int64_order(a: i64, b: i64) {
        let (ka, kb) = (encode_key(&[Value::Int64(a)]), encode_key(&[Value::Int64(b)]));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        roundtrip(vec![Value::Int64(a)], &[KeyKind::Int64]);
    }

    #[test]
    fn int32_and_int16_order(a: i32, b: i32, c: i16, d: i16) {
        prop_assert_eq!(encode_key(&[Value::Int32(a)]).cmp(&encode_key(&[Value::Int32(b)])), a.cmp(&b));
        prop_assert_eq!(encode_key(&[Value::Int16(c)]).cmp(&encode_key(&[Value::Int16(d)])), c.cmp(&d));
    }

    #[test]
    fn float_order(a: f64, b: f64) {
        prop_assume!(!a.is_nan() && !b.is_nan());
        let (ka, kb) = (encode_key(&[Value::Float64(a)]), encode_key(&[Value::Float64(b)]));
        prop_assert_eq!(ka.cmp(&kb), a.total_cmp(&b));
        roundtrip(vec![Value::Float64(a)], &[KeyKind::Float64]);
    }

    #[test]
    fn decimal_order(a: i64, b: i64) {
        let (ka, kb) = (encode_key(&[Value::Decimal(a as i128, 2)]), encode_key(&[Value::Decimal(b as i128, 2)]));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
    }

    #[test]
    fn text_order(a: String, b: String) {
        let (ka, kb) = (encode_key(&[Value::Text(a.clone())]), encode_key(&[Value::Text(b.clone())]));
        prop_assert_eq!(ka.cmp(&kb), a.as_bytes().cmp(b.as_bytes()));
        roundtrip(vec![Value::Text(a)], &[KeyKind::Text]);
    }

    #[test]
    fn bytes_order_and_roundtrip(a: Vec<u8>, b: Vec<u8>) {
        let (ka, kb) = (encode_key(&[Value::Bytes(a.clone())]), encode_key(&[Value::Bytes(b.clone())]));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        roundtrip(vec![Value::Bytes(a)], &[KeyKind::Bytes]);
    }

    #[test]
    fn composite_order(a: (String, i32), b: (String, i32)) {
        let ka = encode_key(&[Value::Text(a.0.clone()), Value::Int32(a.1)]);
        let kb = encode_key(&[Value::Text(b.0.clone()), Value::Int32(b.1)]);
        prop_assert_eq!(ka.cmp(&kb), (a.0.as_bytes(), a.1).cmp(&(b.0.as_bytes(), b.1)));
        roundtrip(vec![Value::Text(a.0), Value::Int32(a.1)], &[KeyKind::Text, KeyKind::Int32]);
    }
}

#[test]
fn null_sorts_first_and_prefix_end() {
    assert!(encode_key(&[Value::Null]) < encode_key(&[Value::Int64(i64::MIN)]));
    assert_eq!(prefix_end(&[1, 2, 0xff]), Some(vec![1, 3]));
    assert_eq!(prefix_end(&[0xff]), None);
}

#[test]
fn full_group_text_sorts_before_longer() {
    let a = encode_key(&[Value::Text("abcdefgh".into())]);
    let b = encode_key(&[Value::Text("abcdefgh\0".into())]);
    assert!(a < b);
    roundtrip(vec![Value::Text("abcdefgh".into())], &[KeyKind::Text]);
}

#[test]
fn value_len_of_nulls_and_truncated_keys() {
    let enc = encode_key(&[Value::Null, Value::Text("abcdefghij".into())]);
    assert_eq!(value_len(&enc, KeyKind::Text).unwrap(), 1);
    assert_eq!(value_len(&enc[1..], KeyKind::Text).unwrap(), enc.len() - 1);
    assert!(value_len(&enc[1..enc.len() - 1], KeyKind::Text).is_err());
    assert!(value_len(&[], KeyKind::Int32).is_err());
    assert!(value_len(&[1, 0, 0], KeyKind::Int32).is_err());
}

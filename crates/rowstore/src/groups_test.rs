//! Unit tests of `groups`: packing, and reads of packed groups.

use super::*;
use crate::row::encode_row;
use prismdb_common::Value;

fn group(n: i32) -> Vec<u8> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| (vec![1, i as u8], encode_row(&[Value::Int32(i)])))
        .collect();
    pack(rows.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
}

fn keys(rows: &Rows) -> Vec<u8> {
    rows.0.iter().map(|(k, _)| k[1]).collect()
}

#[test]
fn unpack_gives_order_limit_and_resume_key() {
    let g = group(5);
    let all = unpack(&g, 10, false).unwrap().unwrap();
    assert_eq!(keys(&all), vec![0, 1, 2, 3, 4]);
    assert_eq!(all.1, None);
    assert_eq!(all.0[3].1, vec![Value::Int32(3)]);
    let first = unpack(&g, 2, false).unwrap().unwrap();
    assert_eq!(keys(&first), vec![0, 1]);
    assert_eq!(first.1, Some(vec![1, 1]));
    let last = unpack(&g, 2, true).unwrap().unwrap();
    assert_eq!(keys(&last), vec![4, 3]);
    assert_eq!(last.1, Some(vec![1, 3]));
    let exact = unpack(&g, 5, true).unwrap().unwrap();
    assert_eq!(keys(&exact), vec![4, 3, 2, 1, 0]);
    assert_eq!(exact.1, None);
}

#[test]
fn empty_long_and_corrupt_groups() {
    let empty = unpack(&group(0), 3, false).unwrap().unwrap();
    assert!(empty.0.is_empty() && empty.1.is_none());
    assert!(unpack(&long(), 3, false).unwrap().is_none());
    let g = group(2);
    assert!(unpack(&g[..g.len() - 1], 3, false).is_err());
    assert!(unpack(&[], 3, false).is_err());
}

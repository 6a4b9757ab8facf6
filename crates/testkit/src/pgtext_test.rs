//! Unit tests of `pgtext`.

use super::*;

#[test]
fn floats() {
    assert_eq!(format_float8(0.1), "0.1");
    assert_eq!(format_float8(1e20), "1e+20");
    assert_eq!(format_float8(1.5e-5), "1.5e-05");
    assert_eq!(format_float8(123456789012345.0), "123456789012345");
    assert_eq!(format_float8(1e15), "1e+15");
    assert_eq!(format_float8(-2.5), "-2.5");
    assert_eq!(format_float8(0.0001), "0.0001");
    assert_eq!(format_float8(1.0 / 3.0), "0.3333333333333333");
    assert_eq!(format_float4(100000.0), "100000");
    assert_eq!(format_float4(1e6), "1e+06");
    assert_eq!(format_float4(1.1), "1.1");
    assert_eq!(format_float8(f64::INFINITY), "Infinity");
}

fn numeric_raw(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&ndigits.to_be_bytes());
    v.extend_from_slice(&weight.to_be_bytes());
    v.extend_from_slice(&sign.to_be_bytes());
    v.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

#[test]
fn numerics() {
    // 12345.678 = [1, 2345, 6780], weight 1, dscale 3
    let raw = numeric_raw(3, 1, 0, 3, &[1, 2345, 6780]);
    assert_eq!(format_numeric(&raw).unwrap(), "12345.678");
    // -0.0012 = [12], weight -1, dscale 4
    let raw = numeric_raw(1, -1, 0x4000, 4, &[12]);
    assert_eq!(format_numeric(&raw).unwrap(), "-0.0012");
    // 0.00
    let raw = numeric_raw(0, 0, 0, 2, &[]);
    assert_eq!(format_numeric(&raw).unwrap(), "0.00");
    // 10000 = [1], weight 1, dscale 0
    let raw = numeric_raw(1, 1, 0, 0, &[1]);
    assert_eq!(format_numeric(&raw).unwrap(), "10000");
}

#[test]
fn dates_and_times() {
    assert_eq!(format_date(0), "2000-01-01");
    assert_eq!(format_date(-1), "1999-12-31");
    assert_eq!(format_date(8766), "2024-01-01");
    assert_eq!(format_timestamp(1_500_000, false), "2000-01-01 00:00:01.5");
    assert_eq!(format_timestamp(-1, true), "1999-12-31 23:59:59.999999+00");
    assert_eq!(format_interval(0, 0, 0), "00:00:00");
    assert_eq!(
        format_interval(3_600_000_000, 3, 14),
        "1 year 2 mons 3 days 01:00:00"
    );
    assert_eq!(format_interval(7_200_000_000, -1, 0), "-1 days +02:00:00");
    assert_eq!(format_interval(0, 1, 0), "1 day");
}

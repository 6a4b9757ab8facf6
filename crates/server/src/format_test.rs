//! Unit tests of `format`.

use super::*;

fn f8(v: f64) -> String {
    let mut s = String::new();
    write_float8(&mut s, v).unwrap();
    s
}

fn f4(v: f32) -> String {
    let mut s = String::new();
    write_float4(&mut s, v).unwrap();
    s
}

#[test]
fn floats_print_like_postgres_15() {
    assert_eq!(f8(0.1), "0.1");
    assert_eq!(f8(3.0), "3");
    assert_eq!(f8(-2.5), "-2.5");
    assert_eq!(f8(0.0), "0");
    assert_eq!(f8(-0.0), "-0");
    assert_eq!(f8(1e20), "1e+20");
    assert_eq!(f8(1e15), "1e+15");
    assert_eq!(f8(1e14), "100000000000000");
    assert_eq!(f8(123456789012345.6), "123456789012345.6");
    assert_eq!(f8(0.0001), "0.0001");
    assert_eq!(f8(0.00001), "1e-05");
    assert_eq!(f8(1.5e-7), "1.5e-07");
    assert_eq!(f8(1e100), "1e+100");
    assert_eq!(f8(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(f8(f64::MAX), "1.7976931348623157e+308");
    assert_eq!(f8(f64::NAN), "NaN");
    assert_eq!(f8(f64::INFINITY), "Infinity");
    assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
    assert_eq!(f8(std::f64::consts::PI), "3.141592653589793");
    assert_eq!(f4(0.1), "0.1");
    assert_eq!(f4(3.0), "3");
    assert_eq!(f4(123456.0), "123456");
    assert_eq!(f4(1234567.0), "1.234567e+06");
    assert_eq!(f4(1e6), "1e+06");
    assert_eq!(f4(std::f32::consts::PI), "3.1415927");
    assert_eq!(f4(f32::NAN), "NaN");
}

fn date(days: i32) -> String {
    let mut s = String::new();
    write_date(&mut s, days).unwrap();
    s
}

fn ts(micros: i64, tz: bool) -> String {
    let mut s = String::new();
    write_timestamp(&mut s, micros, tz).unwrap();
    s
}

#[test]
fn dates_and_timestamps_print_like_postgres() {
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(19724), "2024-01-02");
    assert_eq!(date(-719_528), "0001-01-01 BC");
    assert_eq!(date(i32::MAX), "infinity");
    assert_eq!(date(2_932_897), "10000-01-01");
    let t = 1_704_164_645_000_000; // 2024-01-02 03:04:05 UTC
    assert_eq!(ts(t, false), "2024-01-02 03:04:05");
    assert_eq!(ts(t + 500_000, false), "2024-01-02 03:04:05.5");
    assert_eq!(ts(t + 123_456, false), "2024-01-02 03:04:05.123456");
    assert_eq!(ts(t + 1_000, false), "2024-01-02 03:04:05.001");
    assert_eq!(ts(t, true), "2024-01-02 03:04:05+00");
    assert_eq!(ts(-1, false), "1969-12-31 23:59:59.999999");
    assert_eq!(ts(i64::MIN, true), "-infinity");
    let mut s = String::new();
    write_time(&mut s, 3_723_000_100).unwrap();
    assert_eq!(s, "01:02:03.0001");
}

fn iv(months: i32, days: i32, micros: i64) -> String {
    let mut s = String::new();
    write_interval(&mut s, months, days, micros).unwrap();
    s
}

#[test]
fn intervals_print_like_postgres() {
    assert_eq!(iv(0, 0, 0), "00:00:00");
    assert_eq!(iv(0, 1, 2 * MICROS_PER_HOUR), "1 day 02:00:00");
    assert_eq!(iv(3, 0, 0), "3 mons");
    assert_eq!(iv(0, 0, MICROS_PER_SEC), "00:00:01");
    assert_eq!(
        iv(
            14,
            3,
            4 * MICROS_PER_HOUR + 5 * MICROS_PER_MINUTE + 6_789_000
        ),
        "1 year 2 mons 3 days 04:05:06.789"
    );
    assert_eq!(iv(24, 0, 0), "2 years");
    assert_eq!(iv(1, 0, 0), "1 mon");
    assert_eq!(iv(0, -1, 0), "-1 days");
    assert_eq!(iv(0, -1, 2 * MICROS_PER_HOUR), "-1 days +02:00:00");
    assert_eq!(iv(0, 1, -MICROS_PER_SEC), "1 day -00:00:01");
    assert_eq!(iv(0, 0, -90 * MICROS_PER_MINUTE), "-01:30:00");
    assert_eq!(iv(-13, 0, 0), "-1 years -1 mons");
    assert_eq!(iv(0, 0, 100 * MICROS_PER_HOUR), "100:00:00");
    assert_eq!(iv(0, 0, i64::MAX), "2562047788:00:54.775807");
}

fn dec(v: i128, scale: i8) -> String {
    let mut s = String::new();
    write_decimal(&mut s, v, scale).unwrap();
    s
}

#[test]
fn numerics_print_with_their_scale() {
    assert_eq!(dec(1050, 2), "10.50");
    assert_eq!(dec(-5, 2), "-0.05");
    assert_eq!(dec(0, 2), "0.00");
    assert_eq!(dec(12, 0), "12");
    assert_eq!(dec(12, -2), "1200");
    assert_eq!(dec(0, -2), "0");
    assert_eq!(
        dec(i128::MIN, 0),
        "-170141183460469231731687303715884105728"
    );
}

#[test]
fn bytea_hex() {
    let mut s = String::new();
    write_bytea_hex(&mut s, &[1, 2, 0xab]).unwrap();
    assert_eq!(s, "\\x0102ab");
    assert_eq!(parse_bytea("\\x0102ab").unwrap(), vec![1, 2, 0xab]);
    assert_eq!(parse_bytea("a\\\\b\\001").unwrap(), b"a\\b\x01".to_vec());
    assert!(parse_bytea("\\x0").is_err());
}

fn numeric_bytes(v: i128, scale: i8) -> Vec<u8> {
    let mut b = BytesMut::new();
    put_numeric_binary(&mut b, v, scale);
    b.to_vec()
}

#[test]
fn numeric_binary_matches_postgres_layout() {
    // 10.50: ndigits 2, weight 0, sign +, dscale 2, digits [10, 5000]
    assert_eq!(
        numeric_bytes(1050, 2),
        vec![0, 2, 0, 0, 0, 0, 0, 2, 0, 10, 0x13, 0x88]
    );
    // 0.05: ndigits 1, weight -1, dscale 2, digits [500]
    assert_eq!(
        numeric_bytes(5, 2),
        vec![0, 1, 0xff, 0xff, 0, 0, 0, 2, 0x01, 0xf4]
    );
    // 0 with scale 2: no digits
    assert_eq!(numeric_bytes(0, 2), vec![0, 0, 0, 0, 0, 0, 0, 2]);
    // -12345678: digits [1234, 5678], weight 1, negative
    assert_eq!(
        numeric_bytes(-12345678, 0),
        vec![0, 2, 0, 1, 0x40, 0, 0, 0, 0x04, 0xd2, 0x16, 0x2e]
    );
    // 10000: digits [1], weight 1 (trailing zero groups dropped)
    assert_eq!(numeric_bytes(10000, 0), vec![0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn numeric_binary_round_trips() {
    for (v, s) in [
        (1050i128, 2i8),
        (-5, 2),
        (0, 0),
        (0, 4),
        (123_456_789_012_345_678_901_234_567_890, 10),
        (-1, 38),
        (i128::MAX / 10, 0),
        (99_999, 1),
        (7, -3),
    ] {
        let (back, dscale) = read_numeric_binary(&numeric_bytes(v, s)).unwrap();
        let expect = if s < 0 {
            v * 10i128.pow(s.unsigned_abs() as u32)
        } else {
            v
        };
        assert_eq!((back, dscale), (expect, s.max(0) as u16), "{v} scale {s}");
    }
    assert!(read_numeric_binary(&[0, 1, 0, 0]).is_err());
}

#[test]
fn decimals_parse_and_rescale() {
    assert_eq!(parse_decimal("10.50").unwrap(), (1050, 2));
    assert_eq!(parse_decimal("-0.05").unwrap(), (-5, 2));
    assert_eq!(parse_decimal(" 42 ").unwrap(), (42, 0));
    assert_eq!(parse_decimal("1.5e2").unwrap(), (150, 0));
    assert_eq!(parse_decimal(".5").unwrap(), (5, 1));
    assert!(parse_decimal("abc").is_err());
    assert!(parse_decimal("").is_err());
    assert_eq!(rescale(1055, 3, 2).unwrap(), 106);
    assert_eq!(rescale(-1055, 3, 2).unwrap(), -106);
    assert_eq!(rescale(1054, 3, 2).unwrap(), 105);
    assert_eq!(rescale(15, 1, 3).unwrap(), 1500);
    assert!(rescale(i128::MAX, 0, 2).is_err());
}

#[test]
fn temporal_literals_parse() {
    assert_eq!(parse_date("2024-01-02").unwrap(), 19724);
    assert_eq!(parse_date("1970-01-01").unwrap(), 0);
    assert!(parse_date("2024-13-01").is_err());
    let t = 1_704_164_645_000_000;
    assert_eq!(parse_timestamp("2024-01-02 03:04:05", false).unwrap(), t);
    assert_eq!(
        parse_timestamp("2024-01-02T03:04:05.25", false).unwrap(),
        t + 250_000
    );
    assert_eq!(
        parse_timestamp("2024-01-02", false).unwrap(),
        t - 11_045_000_000
    );
    assert_eq!(parse_timestamp("2024-01-02 03:04:05+00", true).unwrap(), t);
    assert_eq!(parse_timestamp("2024-01-02 05:04:05+02", true).unwrap(), t);
    assert_eq!(
        parse_timestamp("2024-01-01 22:34:05-04:30", true).unwrap(),
        t
    );
    assert_eq!(parse_timestamp("2024-01-02 03:04:05Z", true).unwrap(), t);
    assert_eq!(parse_timestamp("2024-01-02 03:04:05+02", false).unwrap(), t);
    assert!(parse_timestamp("yesterday-ish", false).is_err());
    assert!(parse_timestamp("2024-01-02 03:04:05+1é1", true).is_err());
    assert_eq!(parse_time("01:02:03.5").unwrap(), 3_723_500_000);
}

#[test]
fn bools_parse_like_boolin() {
    for t in ["t", "true", "TRUE", "yes", "y", "on", "1", " tr "] {
        assert!(parse_bool(t).unwrap(), "{t}");
    }
    for f in ["f", "false", "no", "n", "off", "0"] {
        assert!(!parse_bool(f).unwrap(), "{f}");
    }
    assert!(parse_bool("maybe").is_err());
    assert!(parse_bool("").is_err());
    assert!(parse_bool("o").is_err());
}

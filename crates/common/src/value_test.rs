//! Unit tests of `value`.

use super::*;

#[test]
fn decimals_format_like_postgres() {
    assert_eq!(format_decimal(1050, 2), "10.50");
    assert_eq!(format_decimal(-5, 2), "-0.05");
    assert_eq!(format_decimal(0, 2), "0.00");
    assert_eq!(format_decimal(12, 0), "12");
}

#[test]
fn bytea_text_forms() {
    assert_eq!(parse_bytea("\\x0102ff"), Some(vec![1, 2, 255]));
    assert_eq!(parse_bytea("a\\\\b\\001"), Some(vec![b'a', b'\\', b'b', 1]));
    assert_eq!(parse_bytea("\\x0"), None);
}

#[test]
fn dates_and_timestamps_format() {
    assert_eq!(format_date(0), "1970-01-01");
    assert_eq!(format_date(19724), "2024-01-02");
    assert_eq!(format_timestamp(1_500_000), "1970-01-01 00:00:01.5");
}

#[test]
fn intervals_parse_as_postgresql_reads_them() {
    let p = |s: &str| parse_interval(s).unwrap();
    assert_eq!(p("1 day"), (0, 1, 0));
    assert_eq!(p("2 hours 30 minutes"), (0, 0, 9_000_000_000));
    assert_eq!(p("1 mon 2 days 03:04:05"), (1, 2, 11_045_000_000));
    assert_eq!(p("-1 days +02:00:00"), (0, -1, 7_200_000_000));
    assert_eq!(p("@ 3 days ago"), (0, -3, 0));
    assert_eq!(p("1.5 days"), (0, 1, 43_200_000_000));
    assert_eq!(p("1 year 2 mons"), (14, 0, 0));
    assert_eq!(p("90 seconds"), (0, 0, 90_000_000));
    assert_eq!(p("10s"), (0, 0, 10_000_000));
    assert_eq!(p("00:00:00.5"), (0, 0, 500_000));
    for bad in ["", "banana", "1 fortnight", "1:2:3:4", "12:60"] {
        assert!(parse_interval(bad).is_err(), "{bad}");
    }
}

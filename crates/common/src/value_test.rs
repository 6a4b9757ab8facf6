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

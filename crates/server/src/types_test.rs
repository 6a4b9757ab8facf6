//! Unit tests of `types`.

use super::*;
use std::collections::HashMap;

fn oid(dt: DataType) -> u32 {
    pg_type(&Field::new("c", dt, true)).oid()
}

#[test]
fn arrow_types_map_to_postgres_oids() {
    use DataType::*;
    assert_eq!(oid(Boolean), 16);
    assert_eq!(oid(Int8), 21);
    assert_eq!(oid(Int16), 21);
    assert_eq!(oid(Int32), 23);
    assert_eq!(oid(Int64), 20);
    assert_eq!(oid(UInt8), 21);
    assert_eq!(oid(UInt16), 23);
    assert_eq!(oid(UInt32), 26);
    assert_eq!(oid(UInt64), 1700);
    assert_eq!(oid(Float16), 700);
    assert_eq!(oid(Float32), 700);
    assert_eq!(oid(Float64), 701);
    assert_eq!(oid(Decimal128(10, 2)), 1700);
    assert_eq!(oid(Decimal256(50, 2)), 1700);
    assert_eq!(oid(Utf8), 25);
    assert_eq!(oid(LargeUtf8), 25);
    assert_eq!(oid(Utf8View), 25);
    assert_eq!(oid(Binary), 17);
    assert_eq!(oid(BinaryView), 17);
    assert_eq!(oid(Date32), 1082);
    assert_eq!(oid(Date64), 1082);
    assert_eq!(oid(Timestamp(TimeUnit::Microsecond, None)), 1114);
    assert_eq!(
        oid(Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))),
        1184
    );
    assert_eq!(oid(Time64(TimeUnit::Microsecond)), 1083);
    assert_eq!(oid(Interval(IntervalUnit::MonthDayNano)), 1186);
    assert_eq!(oid(Null), 25);
    assert_eq!(oid(List(Arc::new(Field::new("item", Int32, true)))), 1007);
    assert_eq!(oid(List(Arc::new(Field::new("item", Utf8, true)))), 1009);
    assert_eq!(oid(Dictionary(Box::new(Int32), Box::new(Utf8))), 25);
}

use std::sync::Arc;

#[test]
fn metadata_names_the_type_when_it_fits() {
    let with = |dt: DataType, name: &str| {
        let meta = HashMap::from([(PG_TYPE_KEY.to_owned(), name.to_owned())]);
        pg_type(&Field::new("c", dt, true).with_metadata(meta)).oid()
    };
    assert_eq!(with(DataType::Utf8, "varchar"), 1043);
    assert_eq!(with(DataType::Utf8, "json"), 114);
    assert_eq!(with(DataType::Int64, "int4"), 23);
    assert_eq!(with(DataType::UInt32, "oid"), 26);
    // Does not fit: the default mapping wins.
    assert_eq!(with(DataType::Utf8, "int4"), 25);
    assert_eq!(with(DataType::Int32, "no_such_type"), 23);
}

#[test]
fn format_codes_resolve_per_column() {
    assert_eq!(column_formats(&[], 2).unwrap(), vec![false, false]);
    assert_eq!(column_formats(&[1], 2).unwrap(), vec![true, true]);
    assert_eq!(column_formats(&[0, 1], 2).unwrap(), vec![false, true]);
    assert!(column_formats(&[0, 1, 1], 2).is_err());
    assert!(column_formats(&[7], 2).is_err());
}

#[test]
fn hints_name_arrow_types() {
    assert_eq!(param_type_hint(20), Some(DataType::Int64));
    assert_eq!(param_type_hint(25), Some(DataType::Utf8));
    assert_eq!(param_type_hint(0), None);
    assert_eq!(param_oid(&DataType::Null), 25);
    assert_eq!(param_oid(&DataType::Int64), 20);
}

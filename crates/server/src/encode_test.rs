//! Unit tests of `encode`.

use super::*;
use arrow::array::{
    DictionaryArray, IntervalDayTimeArray, ListArray, ListBuilder, NullArray, StringBuilder,
    Time32SecondArray, TimestampSecondArray,
};
use arrow::datatypes::{Field, Int32Type, IntervalDayTime, IntervalMonthDayNano};
use bytes::Buf;
use std::collections::HashMap;
use std::sync::Arc;

/// Decodes the cells of a DataRow: `None` for NULL.
fn cells(row: &DataRow) -> Vec<Option<Vec<u8>>> {
    let mut data = row.data.clone();
    (0..row.field_count)
        .map(|_| {
            let len = data.get_i32();
            (len >= 0).then(|| data.split_to(len as usize).to_vec())
        })
        .collect()
}

fn encode_one(array: ArrayRef, binary: bool) -> Vec<Option<Vec<u8>>> {
    encode_field(
        Field::new("c", array.data_type().clone(), true),
        array,
        binary,
    )
}

fn encode_field(field: Field, array: ArrayRef, binary: bool) -> Vec<Option<Vec<u8>>> {
    let schema = Arc::new(Schema::new(vec![field]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
    let encoder = ResultEncoder::new(&schema, &[binary]);
    let mut rows = Vec::new();
    encoder
        .encode(&batch, 0..batch.num_rows(), &mut rows)
        .unwrap();
    rows.iter().map(|r| cells(r).remove(0)).collect()
}

fn text(array: ArrayRef) -> Vec<String> {
    encode_one(array, false)
        .into_iter()
        .map(|c| c.map_or("NULL".to_owned(), |b| String::from_utf8(b).unwrap()))
        .collect()
}

#[test]
fn text_matches_postgres_output() {
    assert_eq!(
        text(Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None
        ]))),
        ["t", "f", "NULL"]
    );
    assert_eq!(
        text(Arc::new(Int16Array::from(vec![-32768, 7]))),
        ["-32768", "7"]
    );
    assert_eq!(
        text(Arc::new(Int64Array::from(vec![i64::MIN]))),
        ["-9223372036854775808"]
    );
    assert_eq!(
        text(Arc::new(UInt64Array::from(vec![u64::MAX]))),
        ["18446744073709551615"]
    );
    assert_eq!(
        text(Arc::new(Float64Array::from(vec![
            0.1,
            3.0,
            1e20,
            f64::NAN,
            f64::NEG_INFINITY
        ]))),
        ["0.1", "3", "1e+20", "NaN", "-Infinity"]
    );
    assert_eq!(
        text(Arc::new(Float32Array::from(vec![0.1f32, 2.5]))),
        ["0.1", "2.5"]
    );
    let dec = Decimal128Array::from(vec![1050, -5, 0])
        .with_precision_and_scale(10, 2)
        .unwrap();
    assert_eq!(text(Arc::new(dec)), ["10.50", "-0.05", "0.00"]);
    let dec = Decimal256Array::from(vec![arrow::datatypes::i256::from_i128(-123456)])
        .with_precision_and_scale(50, 3)
        .unwrap();
    assert_eq!(text(Arc::new(dec)), ["-123.456"]);
    assert_eq!(
        text(Arc::new(StringArray::from(vec!["héllo", ""]))),
        ["héllo", ""]
    );
    assert_eq!(
        text(Arc::new(StringViewArray::from(vec![
            "a long string beyond twelve bytes"
        ]))),
        ["a long string beyond twelve bytes"]
    );
    assert_eq!(
        text(Arc::new(BinaryArray::from(vec![&[1u8, 2][..]]))),
        ["\\x0102"]
    );
    assert_eq!(
        text(Arc::new(Date32Array::from(vec![19724]))),
        ["2024-01-02"]
    );
    let t = 1_704_164_645_000_000;
    assert_eq!(
        text(Arc::new(TimestampMicrosecondArray::from(vec![
            t,
            t + 120_000
        ]))),
        ["2024-01-02 03:04:05", "2024-01-02 03:04:05.12"]
    );
    assert_eq!(
        text(Arc::new(
            TimestampMicrosecondArray::from(vec![t]).with_timezone("UTC")
        )),
        ["2024-01-02 03:04:05+00"]
    );
    assert_eq!(
        text(Arc::new(TimestampSecondArray::from(vec![t / 1_000_000]))),
        ["2024-01-02 03:04:05"]
    );
    assert_eq!(
        text(Arc::new(Time32SecondArray::from(vec![3723]))),
        ["01:02:03"]
    );
    assert_eq!(
        text(Arc::new(IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(0, 1, 7_200_000_000_000),
            IntervalMonthDayNano::new(3, 0, 0),
            IntervalMonthDayNano::new(0, 0, 1_000_000_000),
        ]))),
        ["1 day 02:00:00", "3 mons", "00:00:01"]
    );
    assert_eq!(
        text(Arc::new(IntervalDayTimeArray::from(vec![
            IntervalDayTime::new(2, 1500)
        ]))),
        ["2 days 00:00:01.5"]
    );
    assert_eq!(text(Arc::new(NullArray::new(2))), ["NULL", "NULL"]);
    let dict: DictionaryArray<Int32Type> = vec!["x", "y", "x"].into_iter().collect();
    assert_eq!(text(Arc::new(dict)), ["x", "y", "x"]);
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        Some(vec![]),
        Some(vec![None, Some(-3)]),
    ]);
    assert_eq!(text(Arc::new(list)), ["{1,2}", "{}", "{NULL,-3}"]);
    let words: Vec<Option<Vec<Option<&str>>>> =
        vec![Some(vec![Some("a b"), Some(""), Some("q\"\\")])];
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in words {
        builder.append_option(row);
    }
    assert_eq!(
        text(Arc::new(builder.finish())),
        ["{\"a b\",\"\",\"q\\\"\\\\\"}"]
    );
}

fn binary(array: ArrayRef) -> Vec<u8> {
    encode_one(array, true).remove(0).unwrap()
}

#[test]
fn binary_matches_postgres_send_formats() {
    assert_eq!(binary(Arc::new(BooleanArray::from(vec![true]))), [1]);
    assert_eq!(
        binary(Arc::new(Int8Array::from(vec![-2]))),
        (-2i16).to_be_bytes()
    );
    assert_eq!(
        binary(Arc::new(Int32Array::from(vec![7]))),
        7i32.to_be_bytes()
    );
    assert_eq!(
        binary(Arc::new(UInt32Array::from(vec![7]))),
        7u32.to_be_bytes()
    );
    assert_eq!(
        binary(Arc::new(Float64Array::from(vec![0.5]))),
        0.5f64.to_be_bytes()
    );
    assert_eq!(
        binary(Arc::new(Float32Array::from(vec![0.5]))),
        0.5f32.to_be_bytes()
    );
    assert_eq!(binary(Arc::new(StringArray::from(vec!["ab"]))), *b"ab");
    assert_eq!(
        binary(Arc::new(Date32Array::from(vec![PG_EPOCH_DAYS + 1]))),
        1i32.to_be_bytes()
    );
    assert_eq!(
        binary(Arc::new(TimestampMicrosecondArray::from(vec![
            PG_EPOCH_MICROS + 5
        ]))),
        5i64.to_be_bytes()
    );
    let dec = Decimal128Array::from(vec![1050])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let bytes = binary(Arc::new(dec));
    assert_eq!(format::read_numeric_binary(&bytes).unwrap(), (1050, 2));
    let iv = binary(Arc::new(IntervalMonthDayNanoArray::from(vec![
        IntervalMonthDayNano::new(3, 2, 1_000),
    ])));
    assert_eq!(
        iv,
        [
            1i64.to_be_bytes().as_slice(),
            &2i32.to_be_bytes(),
            &3i32.to_be_bytes()
        ]
        .concat()
    );
}

#[test]
fn metadata_types_change_the_wire_form() {
    let named = |dt: DataType, name: &str| {
        Field::new("c", dt, true)
            .with_metadata(HashMap::from([(types::PG_TYPE_KEY.into(), name.into())]))
    };
    let cell = encode_field(
        named(DataType::Int64, "int4"),
        Arc::new(Int64Array::from(vec![9])),
        true,
    );
    assert_eq!(cell[0].as_deref(), Some(&9i32.to_be_bytes()[..]));
    let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    let cell = encode_field(
        named(DataType::Utf8, "uuid"),
        Arc::new(StringArray::from(vec![uuid])),
        true,
    );
    assert_eq!(cell[0].as_ref().map(Vec::len), Some(16));
    let cell = encode_field(
        named(DataType::Utf8, "jsonb"),
        Arc::new(StringArray::from(vec!["{}"])),
        true,
    );
    assert_eq!(cell[0].as_deref(), Some(&b"\x01{}"[..]));
}

#[test]
fn rows_are_split_by_range_and_mixed_formats() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
        ],
    )
    .unwrap();
    let encoder = ResultEncoder::new(&schema, &[true, false]);
    let mut rows = Vec::new();
    encoder.encode(&batch, 1..3, &mut rows).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(cells(&rows[0]), vec![None, Some(b"y".to_vec())]);
    assert_eq!(
        cells(&rows[1]),
        vec![Some(3i32.to_be_bytes().to_vec()), Some(b"z".to_vec())]
    );
    let desc = encoder.row_description();
    assert_eq!(desc.fields[0].type_id, 23);
    assert_eq!(desc.fields[0].format_code, 1);
    assert_eq!(desc.fields[1].format_code, 0);
}

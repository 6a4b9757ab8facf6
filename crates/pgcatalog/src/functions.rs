//! The catalog functions clients call beside `pg_catalog`'s relations
//! (psql's `\d` queries, drivers' metadata): `format_type`,
//! `pg_get_userbyid`, `pg_table_is_visible`, `pg_encoding_to_char`,
//! `pg_get_expr`, and the description lookups, which find none.

use crate::types::format_type;
use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use std::sync::Arc;

/// A function evaluated row by row over scalar values (catalog queries
/// read few rows; clarity wins over speed here).
fn row_udf(
    name: &str,
    inputs: Vec<DataType>,
    output: DataType,
    f: impl Fn(&[ScalarValue]) -> ScalarValue + Send + Sync + 'static,
) -> ScalarUDF {
    let out_type = output.clone();
    create_udf(
        name,
        inputs,
        output,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
            let rows = args.iter().find_map(|a| match a {
                ColumnarValue::Array(a) => Some(a.len()),
                ColumnarValue::Scalar(_) => None,
            });
            let Some(rows) = rows else {
                let values: Vec<ScalarValue> = args
                    .iter()
                    .map(|a| match a {
                        ColumnarValue::Scalar(s) => s.clone(),
                        ColumnarValue::Array(_) => unreachable!("no arrays"),
                    })
                    .collect();
                return Ok(ColumnarValue::Scalar(f(&values).cast_to(&out_type)?));
            };
            let arrays: Vec<ArrayRef> = args
                .iter()
                .map(|a| a.clone().into_array(rows))
                .collect::<Result<_>>()?;
            let out = (0..rows)
                .map(|i| {
                    let values = arrays
                        .iter()
                        .map(|a| ScalarValue::try_from_array(a, i))
                        .collect::<Result<Vec<_>>>()?;
                    f(&values).cast_to(&out_type)
                })
                .collect::<Result<Vec<_>>>()?;
            if out.is_empty() {
                return Ok(ColumnarValue::Array(
                    datafusion::arrow::array::new_empty_array(&out_type),
                ));
            }
            Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
        }),
    )
}

fn int(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(x) => x,
        _ => None,
    }
}

fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        _ => None,
    }
}

/// The functions, for a session whose objects all belong to `owner`.
pub fn catalog_functions(owner: &str) -> Vec<ScalarUDF> {
    let owner = owner.to_string();
    vec![
        row_udf(
            "pg_get_userbyid",
            vec![DataType::Int64],
            DataType::Utf8,
            move |a| {
                ScalarValue::Utf8(int(&a[0]).map(|oid| {
                    if oid == i64::from(crate::oids::BOOTSTRAP_ROLE) {
                        owner.clone()
                    } else {
                        format!("unknown (OID={oid})")
                    }
                }))
            },
        ),
        // Every relation lives in a schema of the search path (public,
        // pg_catalog), and no name hides another.
        row_udf(
            "pg_table_is_visible",
            vec![DataType::Int64],
            DataType::Boolean,
            |a| ScalarValue::Boolean(int(&a[0]).map(|_| true)),
        ),
        row_udf(
            "pg_type_is_visible",
            vec![DataType::Int64],
            DataType::Boolean,
            |a| ScalarValue::Boolean(int(&a[0]).map(|_| true)),
        ),
        row_udf(
            "format_type",
            vec![DataType::Int64, DataType::Int64],
            DataType::Utf8,
            |a| {
                let Some(oid) = int(&a[0]) else {
                    return ScalarValue::Utf8(None);
                };
                let typmod = int(&a[1]).map(|m| m as i32);
                ScalarValue::Utf8(Some(
                    u32::try_from(oid)
                        .ok()
                        .and_then(|oid| format_type(oid, typmod))
                        .unwrap_or_else(|| "???".to_string()),
                ))
            },
        ),
        row_udf(
            "pg_encoding_to_char",
            vec![DataType::Int64],
            DataType::Utf8,
            |a| {
                ScalarValue::Utf8(int(&a[0]).map(|e| match e {
                    0 => "SQL_ASCII".to_string(),
                    6 => "UTF8".to_string(),
                    _ => String::new(),
                }))
            },
        ),
        // Expressions are kept as SQL text already.
        row_udf(
            "pg_get_expr",
            vec![DataType::Utf8, DataType::Int64],
            DataType::Utf8,
            |a| ScalarValue::Utf8(text(&a[0])),
        ),
        row_udf(
            "obj_description",
            vec![DataType::Int64, DataType::Utf8],
            DataType::Utf8,
            |_| ScalarValue::Utf8(None),
        ),
        row_udf(
            "shobj_description",
            vec![DataType::Int64, DataType::Utf8],
            DataType::Utf8,
            |_| ScalarValue::Utf8(None),
        ),
        row_udf(
            "col_description",
            vec![DataType::Int64, DataType::Int64],
            DataType::Utf8,
            |_| ScalarValue::Utf8(None),
        ),
    ]
}

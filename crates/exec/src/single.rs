//! `prism_one(list)`: the one value of a scalar subquery.
//!
//! A scalar subquery yields the value of its only row, NULL without rows,
//! and fails with 21000 when it has more than one. DataFusion plans
//! correlated scalar subqueries only when they aggregate, so `sql::rewrite`
//! turns a non-aggregating `(SELECT x FROM ...)` into
//! `prism_one((SELECT array_agg(x) FROM ...))`: the subquery collects its
//! rows, and this function, evaluated only where the outer query uses the
//! value, takes the one row or fails (psql's `\d` and ORMs' catalog
//! queries use such subqueries).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use prismdb_common::Error;

/// The function's name.
pub const ONE: &str = "prism_one";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct One {
    signature: Signature,
}

impl Default for One {
    fn default() -> Self {
        One {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

fn too_many() -> DataFusionError {
    DataFusionError::External(Box::new(Error::CardinalityViolation(
        "more than one row returned by a subquery used as an expression".into(),
    )))
}

impl ScalarUDFImpl for One {
    fn name(&self) -> &str {
        ONE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            DataType::List(f) | DataType::LargeList(f) => Ok(f.data_type().clone()),
            DataType::Null => Ok(DataType::Null),
            other => Err(DataFusionError::Plan(format!(
                "{ONE} expects a list, not {other}"
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let out_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let lists = &arrays[0];
        if matches!(lists.data_type(), DataType::Null) {
            return Ok(ColumnarValue::Array(new_null_array(&out_type, lists.len())));
        }
        let values: Vec<ScalarValue> = (0..lists.len())
            .map(|i| {
                if lists.is_null(i) {
                    return ScalarValue::try_from(&out_type);
                }
                let row: ArrayRef = match lists.data_type() {
                    DataType::LargeList(_) => lists.as_list::<i64>().value(i),
                    _ => lists.as_list::<i32>().value(i),
                };
                match row.len() {
                    0 => ScalarValue::try_from(&out_type),
                    1 => ScalarValue::try_from_array(&row, 0),
                    _ => Err(too_many()),
                }
            })
            .collect::<Result<_>>()?;
        if values.is_empty() {
            return Ok(ColumnarValue::Array(new_null_array(&out_type, 0)));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

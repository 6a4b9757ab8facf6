//! PostgreSQL functions clients call at start-up and dashboards rely on,
//! registered per session: `version()`, `current_setting(name)`,
//! `current_database()`, `current_schema()`, `pg_backend_pid()`.

use crate::settings::{SERVER_VERSION, SharedSettings};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use std::sync::Arc;

fn constant(name: &str, value: String) -> ScalarUDF {
    create_udf(
        name,
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                value.clone(),
            ))))
        }),
    )
}

/// The functions of one session.
pub fn session_functions(settings: SharedSettings, database: &str, pid: i32) -> Vec<ScalarUDF> {
    let version = format!(
        "PostgreSQL {SERVER_VERSION} (PrismDB {}) on {}-linux, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    let current_setting = create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let lookup = |name: Option<&str>| -> Result<Option<String>, DataFusionError> {
                match name {
                    None => Ok(None),
                    Some(n) => settings
                        .read()
                        .get(n)
                        .map(Some)
                        .map_err(|e| DataFusionError::External(Box::new(e))),
                }
            };
            match args.first() {
                Some(ColumnarValue::Scalar(s)) => {
                    let name = match s {
                        ScalarValue::Utf8(v)
                        | ScalarValue::LargeUtf8(v)
                        | ScalarValue::Utf8View(v) => v.clone(),
                        _ => None,
                    };
                    Ok(ColumnarValue::Scalar(ScalarValue::Utf8(lookup(
                        name.as_deref(),
                    )?)))
                }
                Some(ColumnarValue::Array(a)) => {
                    let names = a.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                        DataFusionError::Execution("current_setting expects text".into())
                    })?;
                    let out: Result<StringArray, DataFusionError> = (0..names.len())
                        .map(|i| lookup((!names.is_null(i)).then(|| names.value(i))))
                        .collect();
                    Ok(ColumnarValue::Array(Arc::new(out?)))
                }
                None => Err(DataFusionError::Plan(
                    "current_setting expects one argument".into(),
                )),
            }
        }),
    );
    let pid_udf = create_udf(
        "pg_backend_pid",
        vec![],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |_| Ok(ColumnarValue::Scalar(ScalarValue::Int32(Some(pid))))),
    );
    vec![
        constant("version", version),
        current_setting,
        constant("current_database", database.to_string()),
        constant(
            "current_schema",
            prismdb_catalog::DEFAULT_SCHEMA.to_string(),
        ),
        pid_udf,
    ]
}

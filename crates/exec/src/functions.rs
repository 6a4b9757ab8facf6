//! PostgreSQL functions clients call at start-up and dashboards rely on,
//! registered per session: `version()`, `current_setting(name)`,
//! `current_database()`, `current_schema()`, `pg_backend_pid()`; and the
//! controls of this node's columnar apply, after PostgreSQL's
//! `pg_wal_replay_pause()` family: `prism_columnar_apply_pause()`,
//! `prism_columnar_apply_resume()`, `prism_columnar_apply_paused()`.

use crate::settings::{SERVER_VERSION, SharedSettings};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use prismdb_columnar::ColumnStore;
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

/// A function of no arguments returning a boolean, evaluated when called.
fn action(name: &str, f: impl Fn() -> bool + Send + Sync + 'static) -> ScalarUDF {
    create_udf(
        name,
        vec![],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |_| Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(f()))))),
    )
}

/// Controls of this node's columnar apply thread: pausing it lets the
/// replicas fall behind the log (reads then wait for them or, past
/// `prism.max_replica_lag`, use the row store) until it is resumed. Pause
/// and resume return whether they changed anything.
pub fn columnar_functions(columnar: Arc<ColumnStore>) -> Vec<ScalarUDF> {
    let (pause, resume, paused) = (columnar.clone(), columnar.clone(), columnar);
    vec![
        action("prism_columnar_apply_pause", move || pause.pause()),
        action("prism_columnar_apply_resume", move || resume.resume()),
        action("prism_columnar_apply_paused", move || paused.is_paused()),
    ]
}

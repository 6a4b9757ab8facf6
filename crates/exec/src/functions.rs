//! PostgreSQL functions clients call at start-up and dashboards rely on,
//! registered per session: `version()`, `current_setting(name)`,
//! `current_database()`, `current_schema()`, `pg_backend_pid()`,
//! `current_user` and its spellings, `pg_sleep`, `gen_random_uuid()`,
//! `clock_timestamp()`, `txid_current()` and the advisory locks (held per
//! session: they exclude nothing across sessions yet); and the
//! controls of this node's columnar apply, after PostgreSQL's
//! `pg_wal_replay_pause()` family: `prism_columnar_apply_pause()`,
//! `prism_columnar_apply_resume()`, `prism_columnar_apply_paused()`.

use crate::cancel::CancelSignal;
use crate::read_view::ScanContext;
use crate::settings::{SERVER_VERSION, SharedSettings};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use prismdb_columnar::ColumnStore;
use prismdb_pgcatalog::functions::row_function;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

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

/// What the functions of one session read.
pub struct SessionInfo<'a> {
    pub settings: SharedSettings,
    pub database: &'a str,
    pub user: &'a str,
    pub pid: i32,
    pub cancel: Arc<CancelSignal>,
    pub scan: Arc<ScanContext>,
}

/// The functions of one session.
pub fn session_functions(info: SessionInfo<'_>) -> Vec<ScalarUDF> {
    let SessionInfo {
        settings,
        database,
        user,
        pid,
        cancel,
        scan,
    } = info;
    let mut out = base_functions(settings.clone(), database, pid);
    // `set_config(name, value, is_local)`: SET from a query (a local
    // setting lasts for the session here, not only the transaction).
    out.push(row_function(
        "set_config",
        vec![vec![DataType::Utf8, DataType::Utf8, DataType::Boolean]],
        DataType::Utf8,
        Volatility::Volatile,
        move |a| {
            let text = |v: &ScalarValue| match v {
                ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
                    s.clone()
                }
                _ => None,
            };
            let Some(name) = text(&a[0]) else {
                return Err(DataFusionError::External(Box::new(
                    prismdb_common::Error::InvalidParameterValue(
                        "SET requires parameter name".into(),
                    ),
                )));
            };
            let external = |e| DataFusionError::External(Box::new(e));
            let mut s = settings.write();
            match text(&a[1]) {
                Some(v) => s.set(&name, &v).map_err(external)?,
                None => s.reset(&name).map_err(external)?,
            }
            Ok(ScalarValue::Utf8(Some(s.get(&name).map_err(external)?)))
        },
    ));
    for name in ["current_user", "session_user", "current_role", "user"] {
        out.push(constant(name, user.to_string()));
    }
    out.push(row_function(
        "pg_sleep",
        vec![vec![DataType::Float64]],
        DataType::Utf8,
        Volatility::Volatile,
        move |a| {
            let secs = match a[0].cast_to(&DataType::Float64)? {
                ScalarValue::Float64(Some(s)) if s.is_finite() && s > 0.0 => s,
                _ => return Ok(void()),
            };
            let d = Duration::from_secs_f64(secs.min(1e9));
            let sleep = || cancel.sleep(d);
            let slept = match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(sleep)
                }
                _ => sleep(),
            };
            slept.map_err(|e| DataFusionError::External(Box::new(e)))?;
            Ok(void())
        },
    ));
    out.push(row_function(
        "gen_random_uuid",
        vec![vec![]],
        DataType::Utf8,
        Volatility::Volatile,
        |_| Ok(ScalarValue::Utf8(Some(random_uuid()))),
    ));
    out.push(row_function(
        "clock_timestamp",
        vec![vec![]],
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        Volatility::Volatile,
        |_| {
            let micros = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or_default();
            Ok(ScalarValue::TimestampMicrosecond(
                Some(micros),
                Some("+00:00".into()),
            ))
        },
    ));
    // The transaction's read version: unique among transactions that
    // write, and increasing in commit order as PostgreSQL's ids are.
    out.push(row_function(
        "txid_current",
        vec![vec![]],
        DataType::Int64,
        Volatility::Stable,
        move |_| {
            Ok(ScalarValue::Int64(
                scan.current().ok().map(|v| v.snapshot as i64 + 1),
            ))
        },
    ));
    out.extend(advisory_locks());
    // The schemas of the search path; with `true`, the implicit
    // pg_catalog first.
    out.push(row_function(
        "current_schemas",
        vec![vec![DataType::Boolean]],
        DataType::List(Arc::new(
            datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true),
        )),
        Volatility::Stable,
        |a| {
            let implicit = matches!(a[0], ScalarValue::Boolean(Some(true)));
            let mut names = Vec::new();
            if implicit {
                names.push(ScalarValue::Utf8(Some("pg_catalog".into())));
            }
            names.push(ScalarValue::Utf8(Some(
                prismdb_catalog::DEFAULT_SCHEMA.to_string(),
            )));
            Ok(ScalarValue::List(ScalarValue::new_list(
                &names,
                &DataType::Utf8,
                true,
            )))
        },
    ));
    out
}

/// What a function returning `void` returns: PostgreSQL sends it as an
/// empty string.
fn void() -> ScalarValue {
    ScalarValue::Utf8(Some(String::new()))
}

/// A version 4 (random) UUID in its text form.
fn random_uuid() -> String {
    let mut b: [u8; 16] = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `pg_advisory_lock` and its family, with session-level and
/// transaction-level locks alike held until unlocked (or the session
/// ends): each lock is counted, as PostgreSQL counts repeated locks.
fn advisory_locks() -> Vec<ScalarUDF> {
    let held: Arc<parking_lot::Mutex<HashMap<(i64, i64), usize>>> = Arc::default();
    let key = |a: &[ScalarValue]| -> Option<(i64, i64)> {
        let n = |v: &ScalarValue| match v.cast_to(&DataType::Int64).ok()? {
            ScalarValue::Int64(x) => x,
            _ => None,
        };
        match a {
            [k] => Some((0, n(k)?)),
            [a, b] => Some((n(a)?, n(b)?)),
            _ => None,
        }
    };
    let signatures = || {
        vec![
            vec![DataType::Int64],
            vec![DataType::Int32, DataType::Int32],
        ]
    };
    let mut out = Vec::new();
    for (name, returns) in [
        ("pg_advisory_lock", DataType::Utf8),
        ("pg_advisory_xact_lock", DataType::Utf8),
        ("pg_advisory_lock_shared", DataType::Utf8),
        ("pg_advisory_xact_lock_shared", DataType::Utf8),
        ("pg_try_advisory_lock", DataType::Boolean),
        ("pg_try_advisory_xact_lock", DataType::Boolean),
        ("pg_try_advisory_lock_shared", DataType::Boolean),
        ("pg_try_advisory_xact_lock_shared", DataType::Boolean),
    ] {
        let held = held.clone();
        let boolean = returns == DataType::Boolean;
        out.push(row_function(
            name,
            signatures(),
            returns,
            Volatility::Volatile,
            move |a| {
                let Some(k) = key(a) else {
                    return Ok(ScalarValue::Null);
                };
                *held.lock().entry(k).or_default() += 1;
                Ok(if boolean {
                    ScalarValue::Boolean(Some(true))
                } else {
                    void()
                })
            },
        ));
    }
    for name in ["pg_advisory_unlock", "pg_advisory_unlock_shared"] {
        let held = held.clone();
        out.push(row_function(
            name,
            signatures(),
            DataType::Boolean,
            Volatility::Volatile,
            move |a| {
                let Some(k) = key(a) else {
                    return Ok(ScalarValue::Boolean(None));
                };
                let mut held = held.lock();
                let released = match held.get_mut(&k) {
                    Some(n) if *n > 1 => {
                        *n -= 1;
                        true
                    }
                    Some(_) => held.remove(&k).is_some(),
                    None => false,
                };
                Ok(ScalarValue::Boolean(Some(released)))
            },
        ));
    }
    out.push(row_function(
        "pg_advisory_unlock_all",
        vec![vec![]],
        DataType::Utf8,
        Volatility::Volatile,
        move |_| {
            held.lock().clear();
            Ok(void())
        },
    ));
    out
}

/// The functions every session has, whoever it is.
fn base_functions(settings: SharedSettings, database: &str, pid: i32) -> Vec<ScalarUDF> {
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

/// `prism_expandarray(a)`: the elements of a one-dimensional array with
/// their positions, as a list of records `{x, n}` (what pgjdbc's
/// `information_schema._pg_expandarray` returns, one row each once
/// unnested).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ExpandArray {
    signature: datafusion::logical_expr::Signature,
}

impl Default for ExpandArray {
    fn default() -> Self {
        ExpandArray {
            signature: datafusion::logical_expr::Signature::any(1, Volatility::Immutable),
        }
    }
}

fn expanded_type(arg: &DataType) -> datafusion::error::Result<DataType> {
    use datafusion::arrow::datatypes::{Field, Fields};
    let element = match arg {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        DataType::Null => DataType::Int64,
        other => {
            return Err(DataFusionError::Plan(format!(
                "_pg_expandarray expects an array, not {other}"
            )));
        }
    };
    let record = DataType::Struct(Fields::from(vec![
        Field::new("x", element, true),
        Field::new("n", DataType::Int32, false),
    ]));
    Ok(DataType::List(Arc::new(Field::new_list_field(
        record, true,
    ))))
}

impl datafusion::logical_expr::ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        "prism_expandarray"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        expanded_type(&args[0])
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        use datafusion::arrow::array::{AsArray, Int32Array, ListArray, StructArray};
        use datafusion::arrow::buffer::OffsetBuffer;
        let out_type = args.return_field.data_type().clone();
        let DataType::List(record_field) = &out_type else {
            return Err(DataFusionError::Internal("bad return type".into()));
        };
        let DataType::Struct(fields) = record_field.data_type() else {
            return Err(DataFusionError::Internal("bad record type".into()));
        };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let input = &arrays[0];
        if matches!(input.data_type(), DataType::Null) {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_null_array(&out_type, input.len()),
            ));
        }
        let lists = input.as_list::<i32>();
        let values = lists.values().clone();
        let offsets = lists.value_offsets();
        let positions: Int32Array = (0..lists.len())
            .flat_map(|row| {
                let len = offsets[row + 1] - offsets[row];
                1..=len
            })
            .collect();
        let start = offsets[0] as usize;
        let end = offsets[lists.len()] as usize;
        let records = StructArray::try_new(
            fields.clone(),
            vec![values.slice(start, end - start), Arc::new(positions)],
            None,
        )?;
        let rebased: Vec<i32> = offsets.iter().map(|o| o - offsets[0]).collect();
        let list = ListArray::try_new(
            record_field.clone(),
            OffsetBuffer::new(rebased.into()),
            Arc::new(records),
            lists.nulls().cloned(),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// `prism_percentile_disc(sorted, f)`: of a sorted list of the non-NULL
/// values, the first whose position reaches the fraction `f` (what
/// `percentile_disc(f) WITHIN GROUP (ORDER BY x)` returns; see
/// `sql::rewrite`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PercentileDisc {
    signature: datafusion::logical_expr::Signature,
}

impl Default for PercentileDisc {
    fn default() -> Self {
        PercentileDisc {
            signature: datafusion::logical_expr::Signature::any(2, Volatility::Immutable),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for PercentileDisc {
    fn name(&self) -> &str {
        "prism_percentile_disc"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        match &args[0] {
            DataType::List(f) | DataType::LargeList(f) => Ok(f.data_type().clone()),
            other => Ok(other.clone()),
        }
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray};
        let out_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if matches!(arrays[0].data_type(), DataType::Null) {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_null_array(&out_type, arrays[0].len()),
            ));
        }
        let lists = arrays[0].as_list::<i32>();
        let fractions = datafusion::arrow::compute::cast(&arrays[1], &DataType::Float64)?;
        let fractions = fractions.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let mut out = Vec::with_capacity(lists.len());
        for row in 0..lists.len() {
            if lists.is_null(row) || fractions.is_null(row) {
                out.push(ScalarValue::try_from(&out_type)?);
                continue;
            }
            let f = fractions.value(row);
            if !(0.0..=1.0).contains(&f) {
                return Err(DataFusionError::External(Box::new(
                    prismdb_common::Error::NumericOutOfRange(format!(
                        "percentile value {f} is not between 0 and 1"
                    )),
                )));
            }
            let values = lists.value(row);
            let n = values.len();
            if n == 0 {
                out.push(ScalarValue::try_from(&out_type)?);
                continue;
            }
            let k = ((f * n as f64).ceil() as usize).clamp(1, n);
            out.push(ScalarValue::try_from_array(&values, k - 1)?);
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

//! Session settings: what `SET`, `SHOW`, `RESET` and `current_setting()` see.
//!
//! Names are case-insensitive. The known PostgreSQL parameters that clients
//! send or ask for at start-up have PostgreSQL's defaults; any dotted name
//! (`prism.x`, `myapp.y`) may be set freely, as PostgreSQL allows for
//! custom options. Changes to parameters PostgreSQL reports to the client
//! (`client_encoding`, `DateStyle`, ...) are queued for a ParameterStatus.

use parking_lot::RwLock;
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{Expr, Value as SqlValue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The server version reported to clients; drivers parse the leading number.
pub const SERVER_VERSION: &str = "15.0";

/// Known parameters: (name as shown, default, reported to the client).
const KNOWN: &[(&str, &str, bool)] = &[
    ("application_name", "", true),
    ("client_encoding", "UTF8", true),
    ("client_min_messages", "notice", false),
    ("DateStyle", "ISO, MDY", true),
    ("default_transaction_isolation", "repeatable read", false),
    ("default_transaction_read_only", "off", false),
    ("extra_float_digits", "1", false),
    ("idle_in_transaction_session_timeout", "0", false),
    ("integer_datetimes", "on", true),
    ("IntervalStyle", "postgres", true),
    ("is_superuser", "on", true),
    ("lc_messages", "C", false),
    ("lc_monetary", "C", false),
    ("lc_numeric", "C", false),
    ("lc_time", "C", false),
    ("lock_timeout", "0", false),
    ("max_identifier_length", "63", false),
    ("search_path", "\"$user\", public", false),
    ("server_encoding", "UTF8", true),
    ("server_version", SERVER_VERSION, true),
    ("server_version_num", "150000", false),
    ("standard_conforming_strings", "on", true),
    ("statement_timeout", "0", false),
    ("TimeZone", "UTC", true),
    ("transaction_isolation", "repeatable read", false),
    ("transaction_read_only", "off", false),
    ("bytea_output", "hex", false),
    ("row_security", "on", false),
    ("synchronous_commit", "on", false),
    ("jit", "off", false),
    ("default_table_access_method", "heap", false),
    ("default_transaction_isolation", "repeatable read", false),
    ("default_transaction_read_only", "off", false),
    ("max_connections", "100", false),
    ("block_size", "8192", false),
    ("work_mem", "4MB", false),
    ("maintenance_work_mem", "64MB", false),
    ("shared_buffers", "128MB", false),
    ("max_index_keys", "32", false),
    ("ssl", "off", false),
    ("track_commit_timestamp", "off", false),
    ("wal_level", "replica", false),
    ("prism.read_engines", "auto", false),
    ("prism.columnar_max_wait", "1s", false),
    ("prism.max_replica_lag", "1s", false),
    ("prism.workload", "auto", false),
    ("prism.analytics_min_cost", "50000", false),
    ("prism.priority", "medium", false),
    ("prism.query_memory_limit", "0", false),
];

/// Parameters that only the server sets.
const READ_ONLY: &[&str] = &[
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "max_identifier_length",
    "is_superuser",
];

fn known(name: &str) -> Option<&'static (&'static str, &'static str, bool)> {
    KNOWN.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name))
}

/// Engines a session lets table scans read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEngines {
    /// Always the row store.
    Row,
    /// A columnar replica wherever this node has one that can serve the
    /// scan; the row store otherwise.
    Columnar,
    /// The engine the router's cost model finds cheaper per scan.
    Auto,
}

/// Which runtime a session's planned statements execute on (`prism.workload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// By the planner's estimate: below `prism.analytics_min_cost` on the
    /// interactive runtime, at or above it through the admission queue on
    /// the analytics runtime.
    Auto,
    /// Always the interactive runtime, never queued.
    Interactive,
    /// Always the analytics runtime, through the admission queue.
    Analytics,
}

/// One session's settings; shared with functions like `current_setting()`.
#[derive(Debug, Default)]
pub struct Settings {
    values: BTreeMap<String, String>,
    changed: Vec<(String, String)>,
    /// The settings every statement reads, parsed once per change.
    parsed: Parsed,
}

/// The values of the settings every statement consults, kept parsed so a
/// statement reads fields rather than looking up and parsing strings.
#[derive(Debug, Clone, Copy)]
struct Parsed {
    read_engines: ReadEngines,
    columnar_max_wait_ms: u64,
    max_replica_lag_ms: u64,
    statement_timeout_ms: u64,
    workload: Workload,
    analytics_min_cost: f64,
    priority: crate::admission::Priority,
    /// 0: the statement's fair share of the analytics memory.
    query_memory_limit: usize,
}

impl Default for Parsed {
    /// The defaults in [`KNOWN`].
    fn default() -> Self {
        Parsed {
            read_engines: ReadEngines::Auto,
            columnar_max_wait_ms: 1000,
            max_replica_lag_ms: 1000,
            statement_timeout_ms: 0,
            workload: Workload::Auto,
            analytics_min_cost: 50_000.0,
            priority: crate::admission::Priority::Medium,
            query_memory_limit: 0,
        }
    }
}

pub type SharedSettings = Arc<RwLock<Settings>>;

impl Settings {
    /// Settings with start-up parameters from the client applied.
    pub fn with_startup(options: &[(String, String)]) -> Settings {
        let mut s = Settings::default();
        s.apply_startup(options);
        s
    }

    /// Applies start-up parameters (known, writable ones, and custom dotted
    /// ones); values that do not parse are ignored.
    /// The start-up parameter `options` carries command-line style settings
    /// (`-c statement_timeout=5s -c prism.workload=analytics`, as libpq's
    /// `PGOPTIONS`); they apply after the other parameters.
    pub fn apply_startup(&mut self, options: &[(String, String)]) {
        let command_line: Vec<(String, String)> = options
            .iter()
            .filter(|(k, _)| k == "options")
            .flat_map(|(_, v)| parse_command_line_options(v))
            .collect();
        for (k, v) in options.iter().chain(&command_line) {
            if k == "options" {
                continue;
            }
            let writable = match known(k) {
                Some(_) => !READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(k)),
                None => k.contains('.'),
            };
            if writable {
                let _ = self.set(k, v);
            }
        }
        self.changed.clear();
    }

    /// The current value; errors with 42704 for an unknown parameter.
    pub fn get(&self, name: &str) -> Result<String> {
        let key = name.to_lowercase();
        if let Some(v) = self.values.get(&key) {
            return Ok(v.clone());
        }
        match known(name) {
            Some((_, default, _)) => Ok(default.to_string()),
            None => Err(unrecognized(name)),
        }
    }

    /// The value of a custom setting, if set.
    pub fn get_opt(&self, name: &str) -> Option<String> {
        self.get(name).ok()
    }

    /// Sets a parameter.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let key = name.to_lowercase();
        let report = match known(name) {
            Some((_, _, report)) => {
                if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                    return Err(Error::InvalidStatement(format!(
                        "parameter \"{key}\" cannot be changed"
                    )));
                }
                *report
            }
            None if key.contains('.') => false,
            None => return Err(unrecognized(name)),
        };
        let value = normalize_value(&key, value)?;
        if report {
            let shown = known(name)
                .map(|(n, _, _)| n.to_string())
                .unwrap_or(key.clone());
            self.changed.push((shown, value.clone()));
        }
        self.values.insert(key, value);
        self.reparse();
        Ok(())
    }

    /// Resets a parameter to its default.
    pub fn reset(&mut self, name: &str) -> Result<()> {
        let key = name.to_lowercase();
        if known(name).is_none() && !key.contains('.') {
            return Err(unrecognized(name));
        }
        self.values.remove(&key);
        if let Some((shown, default, true)) = known(name) {
            self.changed.push((shown.to_string(), default.to_string()));
        }
        self.reparse();
        Ok(())
    }

    /// Resets every parameter.
    pub fn reset_all(&mut self) {
        let keys: Vec<String> = self.values.keys().cloned().collect();
        for k in keys {
            let _ = self.reset(&k);
        }
    }

    /// Every parameter with its value, for `SHOW ALL`.
    pub fn all(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = KNOWN
            .iter()
            .map(|(n, _, _)| (n.to_string(), self.get(n).unwrap_or_default()))
            .collect();
        out.extend(
            self.values
                .iter()
                .filter(|(k, _)| known(k).is_none())
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        out.sort_by_key(|(k, _)| k.to_lowercase());
        out
    }

    /// Reported parameters changed since the last call.
    pub fn take_changes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changed)
    }

    /// Which engines table scans may read (`prism.read_engines`).
    pub fn read_engines(&self) -> ReadEngines {
        self.parsed.read_engines
    }

    /// How long a scan waits for a columnar replica to reach its read
    /// index before it reads the row store instead
    /// (`prism.columnar_max_wait`).
    pub fn columnar_max_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.parsed.columnar_max_wait_ms)
    }

    /// How far behind a columnar replica may be and still serve a scan
    /// (`prism.max_replica_lag`); a replica further behind is skipped.
    pub fn max_replica_lag(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.parsed.max_replica_lag_ms)
    }

    /// `statement_timeout` in milliseconds (0 = none).
    pub fn statement_timeout_ms(&self) -> u64 {
        self.parsed.statement_timeout_ms
    }

    /// Where planned statements execute (`prism.workload`).
    pub fn workload(&self) -> Workload {
        self.parsed.workload
    }

    /// The estimated cost (about microseconds of one core) from which a
    /// statement is analytical (`prism.analytics_min_cost`).
    pub fn analytics_min_cost(&self) -> f64 {
        self.parsed.analytics_min_cost
    }

    /// The admission priority of the session's analytical statements
    /// (`prism.priority`).
    pub fn priority(&self) -> crate::admission::Priority {
        self.parsed.priority
    }

    /// Bytes of analytics memory one statement may hold; 0 means its fair
    /// share (`prism.query_memory_limit`).
    pub fn query_memory_limit(&self) -> usize {
        self.parsed.query_memory_limit
    }

    /// Parses the statement-wide settings again after a change.
    fn reparse(&mut self) {
        let defaults = Parsed::default();
        let ms = |name: &str, default: u64| {
            self.get(name)
                .ok()
                .and_then(|v| parse_duration_ms(&v))
                .unwrap_or(default)
        };
        let parsed = Parsed {
            read_engines: match self.get("prism.read_engines").as_deref() {
                Ok("row") => ReadEngines::Row,
                Ok("columnar") => ReadEngines::Columnar,
                _ => ReadEngines::Auto,
            },
            columnar_max_wait_ms: ms("prism.columnar_max_wait", defaults.columnar_max_wait_ms),
            max_replica_lag_ms: ms("prism.max_replica_lag", defaults.max_replica_lag_ms),
            statement_timeout_ms: ms("statement_timeout", defaults.statement_timeout_ms),
            workload: match self.get("prism.workload").as_deref() {
                Ok("interactive") => Workload::Interactive,
                Ok("analytics") => Workload::Analytics,
                _ => Workload::Auto,
            },
            analytics_min_cost: self
                .get("prism.analytics_min_cost")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(defaults.analytics_min_cost),
            priority: self
                .get("prism.priority")
                .ok()
                .and_then(|v| crate::admission::Priority::parse(&v))
                .unwrap_or_default(),
            query_memory_limit: self
                .get("prism.query_memory_limit")
                .ok()
                .and_then(|v| parse_bytes(&v))
                .unwrap_or(0),
        };
        self.parsed = parsed;
    }
}

/// `-c name=value` and `--name=value` pairs of a start-up `options` string
/// (a backslash escapes a space in a value).
fn parse_command_line_options(text: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let pair = if w == "-c" {
            it.next()
        } else if let Some(rest) = w.strip_prefix("--") {
            Some(rest.to_string())
        } else {
            w.strip_prefix("-c").map(str::to_string)
        };
        if let Some((k, v)) = pair.as_deref().and_then(|p| p.split_once('=')) {
            out.push((k.replace('-', "_"), v.to_string()));
        }
    }
    out
}

fn unrecognized(name: &str) -> Error {
    Error::UndefinedObject(format!(
        "unrecognized configuration parameter \"{}\"",
        name.to_lowercase()
    ))
}

/// Checks and canonicalizes values of parameters with a fixed vocabulary.
fn normalize_value(key: &str, value: &str) -> Result<String> {
    match key {
        "client_encoding" => match value.to_uppercase().replace(['-', '_'], "").as_str() {
            "UTF8" | "UNICODE" => Ok("UTF8".into()),
            "SQLASCII" => Ok("SQL_ASCII".into()),
            _ => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"client_encoding\": \"{value}\""
            ))),
        },
        "timezone" => match value.to_uppercase().as_str() {
            "UTC" | "GMT" | "Z" | "ZULU" | "+00" | "+00:00" | "0" | "ETC/UTC" | "LOCAL"
            | "DEFAULT" => Ok("UTC".into()),
            _ => Ok(value.to_string()),
        },
        "extra_float_digits" => match value.trim().parse::<i32>() {
            Ok(v) if (-15..=3).contains(&v) => Ok(v.to_string()),
            _ => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"extra_float_digits\": \"{value}\""
            ))),
        },
        "prism.read_engines" => match value.trim().to_lowercase().as_str() {
            v @ ("row" | "columnar" | "auto") => Ok(v.to_string()),
            _ => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"prism.read_engines\": \"{value}\" (expected row, columnar or auto)"
            ))),
        },
        "prism.workload" => match value.trim().to_lowercase().as_str() {
            v @ ("auto" | "interactive" | "analytics") => Ok(v.to_string()),
            _ => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"prism.workload\": \"{value}\" (expected auto, interactive or analytics)"
            ))),
        },
        "prism.priority" => match crate::admission::Priority::parse(value) {
            Some(p) => Ok(p.name().to_string()),
            None => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"prism.priority\": \"{value}\" (expected high, medium or low)"
            ))),
        },
        "prism.analytics_min_cost" => match value.trim().parse::<f64>() {
            Ok(v) if v >= 0.0 && v.is_finite() => Ok(value.trim().to_string()),
            _ => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"prism.analytics_min_cost\": \"{value}\" (expected a number of at least 0)"
            ))),
        },
        "prism.query_memory_limit" => match parse_bytes(value) {
            Some(_) => Ok(value.trim().to_string()),
            None => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"prism.query_memory_limit\": \"{value}\" (expected bytes, e.g. 0, 512kB, 256MB, 2GB)"
            ))),
        },
        "statement_timeout"
        | "lock_timeout"
        | "idle_in_transaction_session_timeout"
        | "prism.columnar_max_wait"
        | "prism.max_replica_lag" => match parse_duration_ms(value) {
            Some(ms) => Ok(if value.trim().chars().all(|c| c.is_ascii_digit()) {
                ms.to_string()
            } else {
                value.trim().to_string()
            }),
            None => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"{key}\": \"{value}\""
            ))),
        },
        "datestyle" => {
            let v = value.to_uppercase();
            if v.contains("ISO") || v.contains("MDY") || v.contains("DMY") || v.contains("YMD") {
                let order = if v.contains("DMY") {
                    "DMY"
                } else if v.contains("YMD") {
                    "YMD"
                } else {
                    "MDY"
                };
                Ok(format!("ISO, {order}"))
            } else {
                Err(Error::InvalidParameterValue(format!(
                    "invalid value for parameter \"DateStyle\": \"{value}\""
                )))
            }
        }
        _ => Ok(value.to_string()),
    }
}

/// Parses `1048576`, `512kB`, `256MB`, `2GB` (PostgreSQL's memory units,
/// powers of 1024) into bytes.
pub fn parse_bytes(v: &str) -> Option<usize> {
    let v = v.trim().trim_matches('\'');
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult: usize = match unit.trim() {
        "" | "B" => 1,
        "kB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parses `500`, `500ms`, `2s`, `1min` into milliseconds.
pub fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim().trim_matches('\'');
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "us" => 0.001,
        _ => return None,
    };
    Some((n * mult) as u64)
}

#[cfg(test)]
#[path = "settings_test.rs"]
mod tests;

/// The text of a SET value expression: `'x'`, `x`, `42`, `-1`, `on`.
pub(crate) fn setting_value(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
            SqlValue::Number(n, _) => n.to_string(),
            SqlValue::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        Expr::UnaryOp { op, expr } => format!("{op}{}", setting_value(expr)),
        other => other.to_string(),
    }
}

//! The cost model: which engine serves a table scan, at what estimated cost.
//!
//! Costs are in abstract units of roughly one microsecond of one core on
//! warm data. The row store pays per key it seeks and per row it decodes
//! (whole rows: it stores them together). A columnar replica pays a fixed
//! start-up (snapshot, partitions, DataFusion operators), then per row and
//! per projected value and byte, but reads only the projected columns and
//! cannot seek by key: it scans every row of the table (segment pruning is
//! a bonus the model does not count on).
//!
//! [`decide`] applies, in order: reasons the row store must serve (a DML
//! target, the transaction's own writes), a forced engine (setting or
//! hint), the replica's availability and freshness bound, and finally the
//! cheaper estimate (ties go to the row store).

use crate::stats::{TableStats, default_width};
use prismdb_catalog::Table;
use prismdb_common::Value;
use std::fmt;
use std::time::Duration;

/// Row store: seeking to one key or the start of a range.
pub const ROW_SEEK: f64 = 3.0;
/// Row store: reading and decoding one row.
pub const ROW_PER_ROW: f64 = 0.25;
/// Row store: per byte of a decoded row.
pub const ROW_PER_BYTE: f64 = 0.002;
/// Columnar: fixed cost of a scan.
pub const COLUMNAR_START: f64 = 200.0;
/// Columnar: per row scanned (visibility, batching).
pub const COLUMNAR_PER_ROW: f64 = 0.002;
/// Columnar: per projected value.
pub const COLUMNAR_PER_VALUE: f64 = 0.003;
/// Columnar: per projected byte.
pub const COLUMNAR_PER_BYTE: f64 = 0.0005;

/// Selectivity of an equality on a column without statistics.
const DEFAULT_EQ_SEL: f64 = 0.005;
/// Selectivity of a one-sided range without statistics.
const DEFAULT_INEQ_SEL: f64 = 1.0 / 3.0;
/// Selectivity of a two-sided range without statistics.
const DEFAULT_RANGE_SEL: f64 = 0.005;

/// The engine a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEngine {
    Row,
    Columnar,
}

impl fmt::Display for ReadEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadEngine::Row => "row",
            ReadEngine::Columnar => "columnar",
        })
    }
}

/// What the session asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Preference {
    /// The cheaper engine.
    Auto,
    /// This engine, because of `source` (`prism.read_engines = row`,
    /// `hint READ_FROM(columnar, t)`).
    Force(ReadEngine, String),
}

/// How the primary-key predicates of a scan reach rows in the row store.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyAccess {
    /// Equalities on the whole key: this many distinct keys.
    Points(usize),
    /// Equalities on the first `columns` key columns (not all of them).
    Prefix { columns: usize },
    /// Equalities on the first `prefix` key columns and bounds on the next
    /// one (`None`: unbounded).
    Range {
        prefix: usize,
        lower: Option<Value>,
        upper: Option<Value>,
    },
    /// No usable key predicate.
    Full,
}

/// The state of the table's columnar replica, as this node sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicaState {
    /// The table has no columnar replica.
    None,
    /// The table has replicas, none on this node.
    NotHere,
    /// This node's replica cannot serve now (building, rebuilding, ...).
    Unavailable(String),
    /// This node's replica serves reads; it is `lag` behind the read index.
    Available { lag: Duration },
}

/// One table scan to route.
#[derive(Debug, Clone)]
pub struct ScanRequest<'a> {
    pub table: &'a Table,
    /// Live rows of the table now.
    pub rows: u64,
    /// Statistics from the last ANALYZE, if any.
    pub stats: Option<&'a TableStats>,
    pub access: &'a KeyAccess,
    /// The secondary indexes that could serve the scan instead of the
    /// primary key.
    pub indexes: &'a [IndexPath],
    /// Stored column indices the scan returns.
    pub projection: &'a [usize],
    /// Rows the scan may stop after (a LIMIT with nothing in between).
    pub limit: Option<usize>,
    pub replica: &'a ReplicaState,
    pub preference: &'a Preference,
    /// Why only the row store can serve this scan, if so.
    pub row_only: Option<&'a str>,
    /// `prism.max_replica_lag`.
    pub max_replica_lag: Duration,
}

/// A secondary index as a way to the scan's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexPath {
    pub name: String,
    /// Stored column indices of the index's key columns, in key order.
    pub columns: Vec<usize>,
    /// How the scan's conditions reach its entries.
    pub access: KeyAccess,
    /// No two rows share a key (so a point is at most one row).
    pub unique: bool,
    /// The entries hold every column the scan needs: no row is fetched.
    pub covering: bool,
    /// The entries come in the order the query asks for, so a LIMIT of
    /// this many rows stops the read early.
    pub ordered_limit: Option<usize>,
}

/// Estimated rows and both engines' costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Rows the scan returns: those its key predicates select, up to its
    /// limit (other filters apply after the scan).
    pub rows: f64,
    pub row_cost: f64,
    pub columnar_cost: f64,
}

/// The engine chosen for a scan and why the other lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub engine: ReadEngine,
    pub estimate: Estimate,
    /// `rejected columnar: …` or `rejected row: …`.
    pub rejected: String,
    /// On the row store: the index of [`ScanRequest::indexes`] that serves
    /// the scan (`None`: the primary key), and what the cheapest other row
    /// path would have cost.
    pub index: Option<usize>,
    pub row_alternative: Option<(String, f64)>,
}

impl Decision {
    /// The same estimate served by the row store after all, because `why`.
    pub fn fall_back_to_row(&self, why: &str) -> Decision {
        Decision {
            engine: ReadEngine::Row,
            estimate: self.estimate,
            rejected: format!("rejected columnar: {why}"),
            index: self.index,
            row_alternative: self.row_alternative.clone(),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.estimate;
        write!(
            f,
            "engine={}, est_rows={:.0}, cost row={:.2} columnar={:.2}, {}",
            self.engine, e.rows, e.row_cost, e.columnar_cost, self.rejected
        )?;
        if let Some((path, cost)) = &self.row_alternative
            && self.engine == ReadEngine::Row
        {
            write!(f, ", rejected {path}: cost {cost:.2}")?;
        }
        Ok(())
    }
}

/// Chooses the engine of one scan.
pub fn decide(req: &ScanRequest<'_>) -> Decision {
    let primary = estimate(req);
    // The cheapest row-store path: the primary key's or an index's.
    let mut best: (Option<usize>, f64) = (None, primary.row_cost);
    let mut index_costs = Vec::with_capacity(req.indexes.len());
    for (i, path) in req.indexes.iter().enumerate() {
        let (rows, cost) = index_cost(req, path);
        index_costs.push((rows, cost));
        if cost < best.1 {
            best = (Some(i), cost);
        }
    }
    let (index, estimate, row_alternative) = match best.0 {
        None => {
            let alternative = index_costs
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                .map(|(i, (_, c))| (format!("index {}", req.indexes[i].name), *c));
            (None, primary, alternative)
        }
        Some(i) => {
            let (rows, cost) = index_costs[i];
            let primary_name = match req.access {
                KeyAccess::Full => "full scan".to_string(),
                _ => "primary key".to_string(),
            };
            (
                Some(i),
                Estimate {
                    rows,
                    row_cost: cost,
                    columnar_cost: primary.columnar_cost,
                },
                Some((primary_name, primary.row_cost)),
            )
        }
    };
    let row = |why: String| Decision {
        engine: ReadEngine::Row,
        estimate,
        rejected: format!("rejected columnar: {why}"),
        index,
        row_alternative: row_alternative.clone(),
    };
    let columnar = |why: String| Decision {
        engine: ReadEngine::Columnar,
        estimate,
        rejected: format!("rejected row: {why}"),
        index: None,
        row_alternative: None,
    };
    if let Some(why) = req.row_only {
        return row(why.to_string());
    }
    if let Preference::Force(ReadEngine::Row, source) = req.preference {
        return row(source.clone());
    }
    let forced_columnar = match req.preference {
        Preference::Force(ReadEngine::Columnar, source) => Some(source),
        _ => None,
    };
    match req.replica {
        ReplicaState::None => return row("no columnar replica".into()),
        ReplicaState::NotHere => return row("no columnar replica on this node".into()),
        ReplicaState::Unavailable(why) => match forced_columnar {
            // Forced, the scan waits (bounded) for the replica.
            Some(source) => return columnar(source.clone()),
            None => return row(format!("replica unavailable: {why}")),
        },
        ReplicaState::Available { lag } if *lag > req.max_replica_lag => {
            return row(format!(
                "replica lag {} > prism.max_replica_lag ({})",
                show_duration(*lag),
                show_duration(req.max_replica_lag)
            ));
        }
        ReplicaState::Available { .. } => {}
    }
    if let Some(source) = forced_columnar {
        return columnar(source.clone());
    }
    if estimate.columnar_cost < estimate.row_cost {
        columnar(format!(
            "cost {:.2} > columnar cost {:.2}",
            estimate.row_cost, estimate.columnar_cost
        ))
    } else {
        row(format!(
            "cost {:.2} >= row cost {:.2}",
            estimate.columnar_cost, estimate.row_cost
        ))
    }
}

/// `2.1 s`, `350 ms`.
pub fn show_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Estimated rows and both engines' costs of a scan.
pub fn estimate(req: &ScanRequest<'_>) -> Estimate {
    let n = req.rows as f64;
    let table = req.table;
    let width = |i: usize| column_width(req, i);
    let row_width: f64 = (0..table.columns.len()).map(width).sum();
    let projected_width: f64 = req.projection.iter().map(|&i| width(i)).sum();

    let (selected, seeks) = selection(req, &table.primary_key, req.access, true);
    let read = match req.limit {
        Some(l) => selected.min(l as f64),
        None => selected,
    };
    let row_cost = seeks * ROW_SEEK + read * (ROW_PER_ROW + ROW_PER_BYTE * row_width);

    // A replica scans every row, unless a limit with no key predicate lets
    // it stop early.
    let scanned = match (req.access, req.limit) {
        (KeyAccess::Full, Some(l)) => n.min(l as f64),
        _ => n,
    };
    let columnar_cost = COLUMNAR_START
        + scanned
            * (COLUMNAR_PER_ROW
                + COLUMNAR_PER_VALUE * req.projection.len() as f64
                + COLUMNAR_PER_BYTE * projected_width);
    Estimate {
        rows: read,
        row_cost,
        columnar_cost,
    }
}

/// Rows a key access selects over key columns `key` (a unique key when
/// `unique`: a point is at most one row), and the seeks it takes.
fn selection(req: &ScanRequest<'_>, key: &[usize], access: &KeyAccess, unique: bool) -> (f64, f64) {
    let n = req.rows as f64;
    let eq = |columns: usize| -> f64 {
        key[..columns.min(key.len())]
            .iter()
            .map(|&c| eq_selectivity(req.stats, c))
            .product()
    };
    let (selected, seeks) = match access {
        KeyAccess::Points(k) if unique => ((*k as f64).min(n), *k as f64),
        KeyAccess::Points(k) => (n * eq(key.len()) * *k as f64, *k as f64),
        KeyAccess::Prefix { columns } => (n * eq(*columns), 1.0),
        KeyAccess::Range {
            prefix,
            lower,
            upper,
        } => {
            let sel = match key.get(*prefix) {
                Some(&c) => range_selectivity(req.stats, c, lower, upper),
                None => 1.0,
            };
            (n * eq(*prefix) * sel, 1.0)
        }
        KeyAccess::Full => (n, 1.0),
    };
    let selected = if n == 0.0 {
        0.0
    } else {
        selected.clamp(1.0_f64.min(n), n).round()
    };
    (selected, seeks)
}

/// Row-store cost of reading a scan's rows through a secondary index: a
/// seek per range, a small cost per entry, and (unless the index covers
/// the scan) a point read of each row. Returns the rows and the cost.
fn index_cost(req: &ScanRequest<'_>, path: &IndexPath) -> (f64, f64) {
    let (selected, seeks) = selection(req, &path.columns, &path.access, path.unique);
    let read = match path.ordered_limit.or(match path.access {
        KeyAccess::Full => None,
        _ => req.limit,
    }) {
        Some(l) => selected.min(l as f64),
        None => selected,
    };
    let width = |i: usize| column_width(req, i);
    let row_width: f64 = (0..req.table.columns.len()).map(width).sum();
    let entry_width: f64 = path.columns.iter().map(|&c| width(c)).sum::<f64>() + 8.0;
    let per_entry = ROW_PER_ROW + ROW_PER_BYTE * entry_width;
    let per_row = if path.covering {
        0.0
    } else {
        ROW_SEEK + ROW_PER_ROW + ROW_PER_BYTE * row_width
    };
    (read, seeks * ROW_SEEK + read * (per_entry + per_row))
}

/// Average stored width of column `i`: from statistics (NULLs take no
/// room), else its type's default.
fn column_width(req: &ScanRequest<'_>, i: usize) -> f64 {
    match req.stats.and_then(|s| s.column(i)) {
        Some(c) => c.avg_width * (1.0 - c.null_frac),
        None => req
            .table
            .columns
            .get(i)
            .map_or(8.0, |c| default_width(&c.ty)),
    }
}

/// Selectivity of `column = value`.
fn eq_selectivity(stats: Option<&TableStats>, column: usize) -> f64 {
    match stats.and_then(|s| s.column(column)) {
        Some(c) if c.distinct >= 1.0 => (1.0 - c.null_frac) / c.distinct,
        _ => DEFAULT_EQ_SEL,
    }
}

/// Selectivity of `lower <= column <= upper` (either bound optional), by
/// linear interpolation between the column's min and max where values are
/// numbers, dates or timestamps.
fn range_selectivity(
    stats: Option<&TableStats>,
    column: usize,
    lower: &Option<Value>,
    upper: &Option<Value>,
) -> f64 {
    let default = match (lower, upper) {
        (None, None) => 1.0,
        (Some(_), Some(_)) => DEFAULT_RANGE_SEL,
        _ => DEFAULT_INEQ_SEL,
    };
    let Some(c) = stats.and_then(|s| s.column(column)) else {
        return default;
    };
    let (Some(min), Some(max)) = (
        c.min.as_ref().and_then(numeric),
        c.max.as_ref().and_then(numeric),
    ) else {
        return default;
    };
    let bound = |b: &Option<Value>| b.as_ref().map(|v| numeric(v).ok_or(()));
    let (lo, hi) = match (bound(lower), bound(upper)) {
        (Some(Err(())), _) | (_, Some(Err(()))) => return default,
        (lo, hi) => (
            lo.map_or(min, |v| v.unwrap_or(min).max(min)),
            hi.map_or(max, |v| v.unwrap_or(max).min(max)),
        ),
    };
    if hi < lo {
        return 0.0;
    }
    let discrete = c.min.as_ref().is_some_and(is_discrete);
    let (span, width) = if discrete {
        (hi.floor() - lo.ceil() + 1.0, max - min + 1.0)
    } else {
        (hi - lo, max - min)
    };
    if width <= 0.0 {
        return 1.0;
    }
    ((span / width) * (1.0 - c.null_frac)).clamp(0.0, 1.0)
}

fn is_discrete(v: &Value) -> bool {
    matches!(
        v,
        Value::Int16(_)
            | Value::Int32(_)
            | Value::Int64(_)
            | Value::Date(_)
            | Value::Timestamp(_)
            | Value::TimestampTz(_)
    )
}

/// A value on a number line, where it has one.
fn numeric(v: &Value) -> Option<f64> {
    Some(match v {
        Value::Int16(i) => f64::from(*i),
        Value::Int32(i) => f64::from(*i),
        Value::Int64(i) => *i as f64,
        Value::Float32(f) => f64::from(*f),
        Value::Float64(f) => *f,
        Value::Decimal(u, s) => *u as f64 / 10f64.powi(i32::from(*s)),
        Value::Date(d) => f64::from(*d),
        Value::Timestamp(t) | Value::TimestampTz(t) => *t as f64,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "cost_test.rs"]
mod tests;

//! Table statistics: row count, per-column min/max, null fraction, average
//! width and a distinct-count estimate.
//!
//! [`StatsBuilder`] sees every row of a scan once. Counts, nulls, widths and
//! min/max are exact over the rows it saw; distinct counts are estimated
//! from a uniform reservoir sample of [`SAMPLE_ROWS`] rows with the Duj1
//! estimator (Haas and Stokes), which is exact when the sample holds every
//! row. The sample is drawn with a fixed seed, so the same rows give the
//! same statistics.

use prismdb_catalog::{SqlType, Table};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Value, Version};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Rows kept in the sample that distinct counts are estimated from.
pub const SAMPLE_ROWS: usize = 30_000;

/// Statistics of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// Fraction of rows where the column is NULL.
    pub null_frac: f64,
    /// Estimated number of distinct non-null values.
    pub distinct: f64,
    pub min: Option<Value>,
    pub max: Option<Value>,
    /// Average size of a non-null value, in bytes.
    pub avg_width: f64,
}

/// Statistics of one table, as of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    /// Live rows at the snapshot.
    pub rows: u64,
    /// The snapshot (log index) they describe.
    pub version: Version,
    /// Rows the distinct counts were estimated from.
    pub sample_rows: u64,
    /// Per stored column, in the table's column order.
    pub columns: Vec<ColumnStats>,
}

impl TableStats {
    pub fn column(&self, i: usize) -> Option<&ColumnStats> {
        self.columns.get(i)
    }

    /// Average stored width of a row, in bytes.
    pub fn row_width(&self) -> f64 {
        self.columns
            .iter()
            .map(|c| c.avg_width * (1.0 - c.null_frac))
            .sum()
    }
}

/// The width a value of `ty` is assumed to have without statistics.
pub fn default_width(ty: &SqlType) -> f64 {
    match ty {
        SqlType::Bool => 1.0,
        SqlType::Int16 => 2.0,
        SqlType::Int32 | SqlType::Float32 | SqlType::Date => 4.0,
        SqlType::Int64
        | SqlType::Float64
        | SqlType::Timestamp
        | SqlType::TimestampTz
        | SqlType::Time => 8.0,
        SqlType::Numeric { .. } | SqlType::Interval => 16.0,
        SqlType::Char(n) => f64::from(*n),
        SqlType::Varchar(Some(n)) => f64::from(*n).min(32.0),
        SqlType::Text | SqlType::Varchar(None) | SqlType::Bytea => 32.0,
        SqlType::Uuid => 36.0,
        SqlType::Json | SqlType::Jsonb => 64.0,
        SqlType::Array(e) => 4.0 * default_width(&e.sql_type()),
    }
}

/// The size of one value, in bytes.
pub fn value_width(v: &Value) -> usize {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int16(_) => 2,
        Value::Int32(_) | Value::Float32(_) | Value::Date(_) => 4,
        Value::Int64(_) | Value::Float64(_) | Value::Timestamp(_) | Value::TimestampTz(_) => 8,
        Value::Decimal(..) | Value::Interval(..) => 16,
        Value::Text(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(items) => items.iter().map(value_width).sum(),
    }
}

/// A small deterministic generator for the reservoir.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Default)]
struct Column {
    nulls: u64,
    width: u64,
    min: Option<Value>,
    max: Option<Value>,
}

/// Computes [`TableStats`] from rows fed one at a time.
pub struct StatsBuilder {
    columns: Vec<Column>,
    rows: u64,
    sample: Vec<Vec<Value>>,
    capacity: usize,
    rng: SplitMix64,
}

impl StatsBuilder {
    /// A builder for rows of `table` (stored columns, hidden ones included).
    pub fn new(table: &Table) -> StatsBuilder {
        StatsBuilder::with_sample(table.columns.len(), SAMPLE_ROWS)
    }

    /// A builder for rows of `columns` values, sampling `capacity` rows.
    pub fn with_sample(columns: usize, capacity: usize) -> StatsBuilder {
        StatsBuilder {
            columns: (0..columns).map(|_| Column::default()).collect(),
            rows: 0,
            sample: Vec::new(),
            capacity: capacity.max(1),
            rng: SplitMix64(0x005e_ed0f_57a7),
        }
    }

    /// Counts one row.
    pub fn add(&mut self, row: &[Value]) {
        self.rows += 1;
        for (c, v) in self.columns.iter_mut().zip(row) {
            if v.is_null() {
                c.nulls += 1;
                continue;
            }
            c.width += value_width(v) as u64;
            if c.min
                .as_ref()
                .is_none_or(|m| v.sql_cmp(m) == Ordering::Less)
            {
                c.min = Some(v.clone());
            }
            if c.max
                .as_ref()
                .is_none_or(|m| v.sql_cmp(m) == Ordering::Greater)
            {
                c.max = Some(v.clone());
            }
        }
        // Algorithm R: the n-th row replaces a random slot with probability k/n.
        if self.sample.len() < self.capacity {
            self.sample.push(row.to_vec());
        } else {
            let slot = self.rng.next() % self.rows;
            if (slot as usize) < self.capacity {
                self.sample[slot as usize] = row.to_vec();
            }
        }
    }

    /// The statistics of the rows seen, describing snapshot `version`.
    pub fn finish(self, version: Version) -> TableStats {
        let total = self.rows;
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let non_null = total - c.nulls;
                ColumnStats {
                    null_frac: if total == 0 {
                        0.0
                    } else {
                        c.nulls as f64 / total as f64
                    },
                    distinct: estimate_distinct(&self.sample, i, non_null),
                    min: c.min.clone(),
                    max: c.max.clone(),
                    avg_width: if non_null == 0 {
                        0.0
                    } else {
                        c.width as f64 / non_null as f64
                    },
                }
            })
            .collect();
        TableStats {
            rows: total,
            version,
            sample_rows: self.sample.len() as u64,
            columns,
        }
    }
}

/// Duj1: `n·d / (n − f1 + f1·n/N)` over the sample's `n` non-null values,
/// `d` of them distinct and `f1` seen once, of `total` non-null values.
fn estimate_distinct(sample: &[Vec<Value>], column: usize, total: u64) -> f64 {
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
    for row in sample {
        if let Some(v) = row.get(column).filter(|v| !v.is_null()) {
            *seen.entry(encode_key(std::slice::from_ref(v))).or_insert(0) += 1;
        }
    }
    let n: f64 = seen.values().map(|&c| f64::from(c)).sum();
    let d = seen.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let total = total as f64;
    if n >= total {
        return d;
    }
    let f1 = seen.values().filter(|&&c| c == 1).count() as f64;
    let estimate = n * d / (n - f1 + f1 * n / total);
    estimate.clamp(d, total).round()
}

#[cfg(test)]
#[path = "stats_test.rs"]
mod tests;

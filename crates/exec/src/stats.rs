//! The router's table statistics on this node: computing them (`ANALYZE`,
//! and automatically when a table has none or changed a lot since) and
//! handing them to scans.
//!
//! Statistics describe one snapshot of the row store, read in chunks by a
//! blocking task; the row count the router uses is always the row store's
//! exact live count (kept as entries apply), so only the distributions
//! (min/max, nulls, widths, distinct counts) age between analyses.
//!
//! They are this node's own, derived from its row store, and are kept in a
//! file beside the stores (`<data-dir>/statistics`), rewritten whole after
//! every analysis (a new file renamed over the old one): a restarted node
//! starts with them instead of reading every large table again as queries
//! touch it. Each table's entry records a fingerprint of the column layout
//! it was computed under; after ADD or DROP COLUMN it is no longer used. A
//! file that does not read back is ignored (and replaced by the next
//! analysis).

use parking_lot::{Mutex, RwLock};
use prismdb_catalog::{Catalog, Table};
use prismdb_common::{Error, Result, TableId, Value};
use prismdb_router::{ColumnStats, StatsBuilder, TableStats};
use prismdb_rowstore::RowStore;
use prismdb_rowstore::row::{decode_row, encode_row};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

/// Tables smaller than this are not analyzed automatically: defaults and
/// the exact row count route them well enough.
const AUTO_ANALYZE_MIN_ROWS: u64 = 1000;
/// A table is re-analyzed automatically once its row count moved by this
/// fraction of the analyzed count.
const AUTO_ANALYZE_CHANGE: f64 = 0.2;

/// Statistics of this node's tables.
#[derive(Default)]
pub struct Statistics {
    tables: RwLock<HashMap<TableId, Analyzed>>,
    /// Tables being analyzed in the background.
    running: Mutex<HashSet<TableId>>,
    /// Where they are kept across restarts.
    file: Option<PathBuf>,
    /// Serializes writes of `file`.
    saving: Mutex<()>,
}

/// One table's statistics and the column layout they were computed under.
#[derive(Debug, Clone, PartialEq)]
struct Analyzed {
    layout: u64,
    stats: Arc<TableStats>,
}

impl Statistics {
    /// Statistics kept in `file` (none: in memory only), starting with what
    /// the file holds.
    pub fn open(file: Option<PathBuf>) -> Statistics {
        let tables = match &file {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => decode(&bytes).unwrap_or_else(|e| {
                    tracing::warn!(
                        "ignoring the statistics in {}: {e}; tables are analyzed again as queries need them",
                        path.display()
                    );
                    HashMap::new()
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
                Err(e) => {
                    tracing::warn!("cannot read {}: {e}", path.display());
                    HashMap::new()
                }
            },
            None => HashMap::new(),
        };
        Statistics {
            tables: RwLock::new(tables),
            file,
            ..Default::default()
        }
    }

    /// The statistics of `table`, if analyzed under its current layout.
    pub fn get(&self, table: &Table) -> Option<Arc<TableStats>> {
        let layout = layout_of(table);
        self.tables
            .read()
            .get(&table.id)
            .filter(|a| a.layout == layout)
            .map(|a| a.stats.clone())
    }

    /// Keeps `stats` of `table` unless newer ones are already known, and
    /// writes the file.
    fn store(&self, table: &Table, stats: TableStats) {
        let layout = layout_of(table);
        {
            let mut tables = self.tables.write();
            if tables
                .get(&table.id)
                .is_some_and(|a| a.layout == layout && a.stats.version > stats.version)
            {
                return;
            }
            tables.insert(
                table.id,
                Analyzed {
                    layout,
                    stats: Arc::new(stats),
                },
            );
        }
        self.save();
    }

    /// Forgets the statistics of tables `catalog` no longer has.
    pub fn retain(&self, catalog: &Catalog) {
        let live: HashSet<TableId> = catalog
            .databases
            .values()
            .flat_map(|db| db.tables.values().map(|t| t.id))
            .collect();
        let forgot = {
            let mut tables = self.tables.write();
            let before = tables.len();
            tables.retain(|id, _| live.contains(id));
            tables.len() != before
        };
        if forgot {
            self.save();
        }
    }

    /// Rewrites the file with what is known now. Failing to is logged: the
    /// statistics are derived data a later analysis recomputes.
    fn save(&self) {
        let Some(path) = &self.file else { return };
        let _one_at_a_time = self.saving.lock();
        let bytes = encode(&self.tables.read());
        if let Err(e) =
            prismdb_common::files::write_atomically(path, &path.with_extension("tmp"), &bytes)
        {
            tracing::warn!("cannot write the statistics to {}: {e}", path.display());
        }
    }

    /// Analyzes `table` at the newest applied snapshot (blocking reads).
    pub fn analyze(&self, store: &RowStore, table: &Table) -> Result<Arc<TableStats>> {
        let snapshot = store.pin_latest();
        let stats = compute(store, table, snapshot.version())?;
        self.store(table, stats);
        Ok(self.get(table).expect("just stored"))
    }

    /// Starts a background analysis of `table` if it has no statistics and
    /// is not small, or its row count moved a lot since the last one.
    pub fn refresh_if_stale(self: &Arc<Self>, store: &Arc<RowStore>, table: &Table, rows: u64) {
        let stale = match self.get(table) {
            None => rows >= AUTO_ANALYZE_MIN_ROWS,
            Some(s) => {
                let moved = (rows as f64 - s.rows as f64).abs();
                moved >= AUTO_ANALYZE_MIN_ROWS as f64 && moved > AUTO_ANALYZE_CHANGE * s.rows as f64
            }
        };
        if !stale || !self.running.lock().insert(table.id) {
            return;
        }
        let (stats, store, table) = (self.clone(), store.clone(), table.clone());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.running.lock().remove(&table.id);
            return;
        };
        handle.spawn_blocking(move || {
            if let Err(e) = stats.analyze(&store, &table) {
                tracing::warn!(table = %table.name, "automatic ANALYZE failed: {e}");
            }
            stats.running.lock().remove(&table.id);
        });
    }
}

/// A fingerprint of `table`'s stored columns (names, types, hidden flags):
/// FNV-1a over their text, stable across runs and builds.
fn layout_of(table: &Table) -> u64 {
    let text: String = table
        .columns
        .iter()
        .map(|c| format!("{}\u{1f}{:?}\u{1f}{}\u{1e}", c.name, c.ty, c.hidden))
        .collect();
    prismdb_common::files::fnv1a(text.as_bytes())
}

/// The file format: `MAGIC`, a table count, then per table its id, layout,
/// rows, version, sample rows and column count (u64 LE each) and per column
/// null fraction, distinct count and average width (f64 LE) and min and
/// max as one row of the row store's encoding (NULL for none), prefixed by
/// its length (u32 LE).
const MAGIC: &[u8] = b"PRISMSTATS1\n";

fn encode(tables: &HashMap<TableId, Analyzed>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend((tables.len() as u64).to_le_bytes());
    let mut ids: Vec<&TableId> = tables.keys().collect();
    ids.sort();
    for id in ids {
        let a = &tables[id];
        let s = &a.stats;
        for n in [
            u64::from(*id),
            a.layout,
            s.rows,
            s.version,
            s.sample_rows,
            s.columns.len() as u64,
        ] {
            out.extend(n.to_le_bytes());
        }
        for c in &s.columns {
            for f in [c.null_frac, c.distinct, c.avg_width] {
                out.extend(f.to_le_bytes());
            }
            let bounds = encode_row(&[
                c.min.clone().unwrap_or(Value::Null),
                c.max.clone().unwrap_or(Value::Null),
            ]);
            out.extend((bounds.len() as u32).to_le_bytes());
            out.extend(bounds);
        }
    }
    out
}

/// Reads the file format from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(malformed());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| malformed())?,
        ))
    }

    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| malformed())?,
        ))
    }
}

fn malformed() -> Error {
    Error::Storage("malformed statistics file".into())
}

fn decode(bytes: &[u8]) -> Result<HashMap<TableId, Analyzed>> {
    let mut r = Reader(bytes.strip_prefix(MAGIC).ok_or_else(malformed)?);
    let count = r.u64()?;
    let mut tables = HashMap::new();
    for _ in 0..count {
        let id = TableId::try_from(r.u64()?).map_err(|_| malformed())?;
        let layout = r.u64()?;
        let (rows, version, sample_rows) = (r.u64()?, r.u64()?, r.u64()?);
        let ncols = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..ncols {
            let (null_frac, distinct, avg_width) = (r.f64()?, r.f64()?, r.f64()?);
            let len = r.u32()? as usize;
            let bounds = decode_row(r.take(len)?)?.ok_or_else(malformed)?;
            let [min, max]: [Value; 2] = bounds.try_into().map_err(|_| malformed())?;
            let bound = |v: Value| (!v.is_null()).then_some(v);
            columns.push(ColumnStats {
                null_frac,
                distinct,
                min: bound(min),
                max: bound(max),
                avg_width,
            });
        }
        let stats = TableStats {
            rows,
            version,
            sample_rows,
            columns,
        };
        tables.insert(
            id,
            Analyzed {
                layout,
                stats: Arc::new(stats),
            },
        );
    }
    if !r.0.is_empty() {
        return Err(malformed());
    }
    Ok(tables)
}

/// Reads every row of `table` at `version` into a [`StatsBuilder`].
fn compute(store: &RowStore, table: &Table, version: u64) -> Result<TableStats> {
    const CHUNK: usize = 4096;
    let mut builder = StatsBuilder::new(table);
    let mut next: Bound<Vec<u8>> = Bound::Unbounded;
    loop {
        let lower = match &next {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Included(k) => Bound::Included(k.as_slice()),
        };
        let chunk = store.scan(table.id, lower, Bound::Unbounded, version, CHUNK)?;
        for (_, row) in &chunk.rows {
            builder.add(row);
        }
        match chunk.resume_after {
            Some(k) => next = Bound::Excluded(k),
            None => break,
        }
    }
    Ok(builder.finish(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prismdb_catalog::{Column, SqlType};

    fn table(id: TableId, columns: &[(&str, SqlType)]) -> Table {
        Table {
            id,
            name: format!("t{id}"),
            columns: columns
                .iter()
                .map(|(name, ty)| Column {
                    name: name.to_string(),
                    ty: *ty,
                    nullable: true,
                    default: None,
                    hidden: false,
                })
                .collect(),
            primary_key: vec![0],
            columnar_replicas: 0,
            key_constraint: None,
            ownership: Default::default(),
        }
    }

    fn stats(version: u64) -> TableStats {
        let column = |min: Option<Value>, max: Option<Value>| ColumnStats {
            null_frac: 0.25,
            distinct: 1234.5,
            min,
            max,
            avg_width: 7.75,
        };
        TableStats {
            rows: 4000,
            version,
            sample_rows: 3000,
            columns: vec![
                column(Some(Value::Int64(-3)), Some(Value::Int64(9_000_000_000))),
                column(
                    Some(Value::Text("a".into())),
                    Some(Value::Text("zz é".into())),
                ),
                column(Some(Value::Decimal(-12345, 2)), Some(Value::Date(19000))),
                column(None, None),
            ],
        }
    }

    fn four_columns(id: TableId) -> Table {
        table(
            id,
            &[
                ("id", SqlType::Int64),
                ("name", SqlType::Text),
                (
                    "x",
                    SqlType::Numeric {
                        precision: 10,
                        scale: 2,
                        unconstrained: false,
                    },
                ),
                ("empty", SqlType::Bool),
            ],
        )
    }

    #[test]
    fn the_file_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statistics");
        let (a, b) = (four_columns(3), four_columns(9));
        let s = Statistics::open(Some(path.clone()));
        s.store(&a, stats(10));
        s.store(&b, stats(11));
        // Older statistics do not replace newer ones.
        s.store(&a, stats(5));
        let reopened = Statistics::open(Some(path.clone()));
        assert_eq!(*reopened.tables.read(), *s.tables.read());
        assert_eq!(reopened.get(&a).unwrap().version, 10);
        assert_eq!(*reopened.get(&b).unwrap(), stats(11));
        // Dropped tables are forgotten, in the file too.
        let mut db = prismdb_catalog::Database::default();
        db.tables.insert("t9".into(), Arc::new(b.clone()));
        let mut catalog = Catalog::default();
        catalog.databases.insert("prism".into(), Arc::new(db));
        reopened.retain(&catalog);
        let again = Statistics::open(Some(path));
        assert!(again.get(&a).is_none());
        assert!(again.get(&b).is_some());
    }

    #[test]
    fn statistics_of_another_layout_are_not_used() {
        let s = Statistics::open(None);
        let t = four_columns(3);
        s.store(&t, stats(10));
        assert!(s.get(&t).is_some());
        let mut renamed = t.clone();
        renamed.columns[3].name = "other".into();
        assert!(s.get(&renamed).is_none());
        let mut retyped = t.clone();
        retyped.columns[3].ty = SqlType::Int32;
        assert!(s.get(&retyped).is_none());
    }

    #[test]
    fn a_damaged_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("statistics");
        let s = Statistics::open(Some(path.clone()));
        s.store(&four_columns(3), stats(10));
        let good = std::fs::read(&path).unwrap();
        for bad in [&good[..good.len() - 3], &good[1..], b"PRISMSTATS1\n"] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                Statistics::open(Some(path.clone()))
                    .tables
                    .read()
                    .is_empty()
            );
        }
    }
}

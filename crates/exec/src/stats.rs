//! The router's table statistics on this node: computing them (`ANALYZE`,
//! and automatically when a table has none or changed a lot since) and
//! handing them to scans.
//!
//! Statistics describe one snapshot of the row store, read in chunks by a
//! blocking task; the row count the router uses is always the row store's
//! exact live count (kept as entries apply), so only the distributions
//! (min/max, nulls, widths, distinct counts) age between analyses. They are
//! kept in memory: a restarted node re-analyzes tables as queries touch
//! them.

use parking_lot::{Mutex, RwLock};
use prismdb_catalog::Table;
use prismdb_common::{Result, TableId};
use prismdb_router::{StatsBuilder, TableStats};
use prismdb_rowstore::RowStore;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
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
    tables: RwLock<HashMap<TableId, Arc<TableStats>>>,
    /// Tables being analyzed in the background.
    running: Mutex<HashSet<TableId>>,
}

impl Statistics {
    /// The statistics of `table`, if analyzed under its current layout.
    pub fn get(&self, table: &Table) -> Option<Arc<TableStats>> {
        self.tables
            .read()
            .get(&table.id)
            .filter(|s| s.columns.len() == table.columns.len())
            .cloned()
    }

    /// Keeps `stats` unless newer ones are already known.
    fn store(&self, table: TableId, stats: TableStats) {
        let mut tables = self.tables.write();
        if tables
            .get(&table)
            .is_none_or(|s| s.version <= stats.version)
        {
            tables.insert(table, Arc::new(stats));
        }
    }

    /// Analyzes `table` at the newest applied snapshot (blocking reads).
    pub fn analyze(&self, store: &RowStore, table: &Table) -> Result<Arc<TableStats>> {
        let snapshot = store.pin_latest();
        let stats = compute(store, table, snapshot.version())?;
        self.store(table.id, stats);
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

impl crate::Session {
    /// `ANALYZE [table [(columns)]]`: recomputes the statistics of one table
    /// of the session's database, or of all of them. Columns named are
    /// checked; every column is analyzed.
    pub(crate) async fn analyze(
        &mut self,
        stmt: &prismdb_sql::sqlparser::ast::Statement,
    ) -> Result<crate::Output> {
        use prismdb_common::Error;
        use prismdb_sql::sqlparser::ast::Statement;
        let Statement::Analyze(a) = stmt else {
            return Err(Error::Internal("not an ANALYZE statement".into()));
        };
        if a.partitions.is_some() || a.noscan || a.cache_metadata || a.for_columns {
            return Err(Error::NotSupported(
                "only ANALYZE [table [(column, ...)]] is supported".into(),
            ));
        }
        // Tables (and their DDL) acknowledged anywhere are seen here.
        self.engine.log.read_point().await?;
        let tables: Vec<Arc<Table>> = match &a.table_name {
            Some(name) => {
                let table = self.table(&prismdb_sql::object_name(name)?)?;
                for c in &a.columns {
                    let name = prismdb_sql::normalize(c);
                    if table
                        .column_index(&name)
                        .is_none_or(|i| table.columns[i].hidden)
                    {
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{name}\" of relation \"{}\" does not exist",
                            table.name
                        )));
                    }
                }
                vec![table]
            }
            None => {
                let catalog = self.engine.catalog();
                catalog
                    .database(&self.database)?
                    .tables
                    .values()
                    .cloned()
                    .collect()
            }
        };
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for t in &tables {
                engine.stats.analyze(&engine.store, t)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Internal(format!("ANALYZE failed: {e}")))??;
        Ok(crate::Output::command("ANALYZE"))
    }
}

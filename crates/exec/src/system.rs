//! System tables: the `prism_cluster` schema.
//!
//! `prism_cluster.members` lists every member of the Raft group as this
//! node sees it at query time: role, voter or learner, the leader it knows,
//! term, applied and last log index, and how far its log was snapshotted
//! and compacted. Other members are asked over the
//! cluster's RPC with a short bound; a silent one shows as `unreachable`.
//!
//! `prism_cluster.columnar_replicas` (also `information_schema.
//! columnar_replicas`) lists, for every table of the database with columnar
//! replicas, each member meant to host one: whether it is available, build
//! progress, applied index and lag, rows, segments and memory, as that
//! member reports them.
//!
//! `prism_cluster.activity` (also `pg_stat_activity` and
//! `pg_catalog.pg_stat_activity`) has one row per session of this node,
//! with PostgreSQL's columns: what it runs, since when, and what it waits
//! for (`wait_event_type` `Admission`, `wait_event` `AnalyticsQueue` while
//! the admission queue holds its statement back).
//!
//! `prism_cluster.indexes` lists every secondary index of the database with
//! its build on this member: `building` (rows done of the table's rows),
//! `ready` (reads use it), or `failed` with the reason; and the log index
//! its entries are built from.
//!
//! `prism_cluster.table_statistics` shows what the router knows of each
//! column of each table on this node: the table's exact live row count and,
//! once analyzed, the analyzed row count and index, null fraction,
//! distinct-count estimate, min, max and average width.

use crate::{ClusterMember, Engine, Log};
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{SchemaProvider, Session as DfSession};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use prismdb_columnar::ReplicaStatus;
use std::fmt;
use std::sync::{Arc, Weak};

pub const CLUSTER_SCHEMA: &str = "prism_cluster";

/// `prism_cluster`.
pub struct ClusterSchema {
    activity: Arc<SystemTable<ActivityTable>>,
    members: Arc<SystemTable<MembersTable>>,
    replicas: Arc<SystemTable<ReplicasTable>>,
    statistics: Arc<SystemTable<StatisticsTable>>,
    indexes: Arc<SystemTable<IndexesTable>>,
    progress: Arc<SystemTable<ProgressTable>>,
}

impl ClusterSchema {
    pub fn new(engine: &Arc<Engine>, database: &str) -> ClusterSchema {
        ClusterSchema {
            activity: Arc::new(SystemTable(ActivityTable {
                activity: engine.activity.clone(),
            })),
            members: Arc::new(SystemTable(MembersTable {
                log: engine.log.clone(),
            })),
            replicas: Arc::new(SystemTable(ReplicasTable {
                engine: Arc::downgrade(engine),
                database: database.to_string(),
            })),
            statistics: Arc::new(SystemTable(StatisticsTable {
                engine: Arc::downgrade(engine),
                database: database.to_string(),
            })),
            indexes: Arc::new(SystemTable(IndexesTable {
                engine: Arc::downgrade(engine),
                database: database.to_string(),
            })),
            progress: Arc::new(SystemTable(ProgressTable {
                engine: Arc::downgrade(engine),
                database: database.to_string(),
            })),
        }
    }
}

impl fmt::Debug for ClusterSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSchema")
    }
}

#[async_trait]
impl SchemaProvider for ClusterSchema {
    fn table_names(&self) -> Vec<String> {
        vec![
            ACTIVITY_TABLE.into(),
            "members".into(),
            REPLICAS_TABLE.into(),
            STATISTICS_TABLE.into(),
            INDEXES_TABLE.into(),
            PROGRESS_TABLE.into(),
        ]
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(match name {
            ACTIVITY_TABLE => Some(self.activity.clone() as Arc<dyn TableProvider>),
            "members" => Some(self.members.clone() as Arc<dyn TableProvider>),
            REPLICAS_TABLE => Some(self.replicas.clone() as Arc<dyn TableProvider>),
            STATISTICS_TABLE => Some(self.statistics.clone() as Arc<dyn TableProvider>),
            INDEXES_TABLE => Some(self.indexes.clone() as Arc<dyn TableProvider>),
            PROGRESS_TABLE => Some(self.progress.clone() as Arc<dyn TableProvider>),
            _ => None,
        })
    }

    fn table_exist(&self, name: &str) -> bool {
        name == ACTIVITY_TABLE
            || name == "members"
            || name == REPLICAS_TABLE
            || name == STATISTICS_TABLE
            || name == INDEXES_TABLE
            || name == PROGRESS_TABLE
    }
}

/// Name of the session activity view (also reachable as
/// `pg_stat_activity`).
pub const ACTIVITY_TABLE: &str = "activity";

/// `prism_cluster.activity`: `pg_stat_activity` of this node.
struct ActivityTable {
    activity: Arc<crate::activity::Activity>,
}

impl fmt::Debug for ActivityTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivityTable")
    }
}

fn activity_schema() -> SchemaRef {
    let ts = || {
        DataType::Timestamp(
            datafusion::arrow::datatypes::TimeUnit::Microsecond,
            Some("+00:00".into()),
        )
    };
    Arc::new(Schema::new(vec![
        Field::new("datname", DataType::Utf8, true),
        Field::new("pid", DataType::Int32, false),
        Field::new("usename", DataType::Utf8, true),
        Field::new("application_name", DataType::Utf8, true),
        Field::new("client_addr", DataType::Utf8, true),
        Field::new("backend_start", ts(), true),
        Field::new("xact_start", ts(), true),
        Field::new("query_start", ts(), true),
        Field::new("state_change", ts(), true),
        Field::new("wait_event_type", DataType::Utf8, true),
        Field::new("wait_event", DataType::Utf8, true),
        Field::new("state", DataType::Utf8, true),
        Field::new("query", DataType::Utf8, true),
        Field::new("backend_type", DataType::Utf8, true),
    ]))
}

#[async_trait]
impl SystemView for ActivityTable {
    fn schema(&self) -> SchemaRef {
        activity_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        use datafusion::arrow::array::TimestampMicrosecondArray;
        let rows = self.activity.rows();
        let micros = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .ok()
        };
        let time =
            |f: &dyn Fn(&crate::activity::Row) -> Option<std::time::SystemTime>| -> ArrayRef {
                Arc::new(
                    TimestampMicrosecondArray::from_iter(
                        rows.iter().map(|r| f(r).and_then(micros)),
                    )
                    .with_timezone("+00:00"),
                )
            };
        let text = |f: &dyn Fn(&crate::activity::Row) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from_iter(rows.iter().map(f)))
        };
        let columns: Vec<ArrayRef> = vec![
            text(&|r| Some(r.entry.database.clone())),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.entry.pid),
            )),
            text(&|r| Some(r.entry.user.clone())),
            text(&|r| Some(r.application_name.clone())),
            text(&|r| r.entry.client_addr.clone()),
            time(&|r| Some(r.entry.backend_start)),
            time(&|r| r.entry.xact_start),
            time(&|r| r.entry.query_start),
            time(&|r| Some(r.entry.state_change)),
            text(&|r| r.entry.wait.map(|w| w.0.to_string())),
            text(&|r| r.entry.wait.map(|w| w.1.to_string())),
            text(&|r| Some(r.entry.state.name().to_string())),
            text(&|r| Some(r.entry.query.to_string())),
            text(&|_| Some("client backend".to_string())),
        ];
        Ok(RecordBatch::try_new(activity_schema(), columns)?)
    }
}

/// `prism_cluster.members`.
struct MembersTable {
    log: Arc<dyn Log>,
}

impl fmt::Debug for MembersTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MembersTable")
    }
}

fn members_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("node_id", DataType::Int64, false),
        Field::new("peer_addr", DataType::Utf8, false),
        Field::new("sql_addr", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("voter", DataType::Boolean, false),
        Field::new("is_leader", DataType::Boolean, false),
        Field::new("leader", DataType::Utf8, true),
        Field::new("term", DataType::Int64, false),
        Field::new("applied_index", DataType::Int64, true),
        Field::new("last_log_index", DataType::Int64, true),
        Field::new("snapshot_index", DataType::Int64, true),
        Field::new("purged_index", DataType::Int64, true),
        Field::new("this_node", DataType::Boolean, false),
    ]))
}

fn to_batch(members: &[ClusterMember]) -> DfResult<RecordBatch> {
    let text = |f: &dyn Fn(&ClusterMember) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(members.iter().map(f)))
    };
    let int = |f: &dyn Fn(&ClusterMember) -> Option<u64>| -> ArrayRef {
        Arc::new(Int64Array::from_iter(
            members.iter().map(|m| f(m).map(|v| v as i64)),
        ))
    };
    let boolean = |f: &dyn Fn(&ClusterMember) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from_iter(members.iter().map(|m| Some(f(m)))))
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|m| m.name.clone()),
        int(&|m| Some(m.node_id & (i64::MAX as u64))),
        text(&|m| m.peer_addr.clone()),
        text(&|m| m.sql_addr.clone()),
        text(&|m| m.role.clone()),
        boolean(&|m| m.voter),
        boolean(&|m| m.is_leader),
        Arc::new(StringArray::from_iter(
            members.iter().map(|m| m.leader.clone()),
        )),
        int(&|m| Some(m.term)),
        int(&|m| m.applied_index),
        int(&|m| m.last_log_index),
        int(&|m| m.snapshot_index),
        int(&|m| m.purged_index),
        boolean(&|m| m.this_node),
    ];
    Ok(RecordBatch::try_new(members_schema(), columns)?)
}

/// Name of the columnar replica view (also reachable as
/// `information_schema.columnar_replicas`).
pub const REPLICAS_TABLE: &str = "columnar_replicas";

/// `prism_cluster.columnar_replicas`: one row per table and hosting member.
struct ReplicasTable {
    engine: Weak<Engine>,
    database: String,
}

impl fmt::Debug for ReplicasTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplicasTable")
    }
}

fn replicas_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_schema", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("replica_count", DataType::Int32, false),
        Field::new("host", DataType::Utf8, false),
        Field::new("available", DataType::Boolean, false),
        Field::new("progress", DataType::Float64, false),
        Field::new("applied_index", DataType::Int64, true),
        Field::new("lag_entries", DataType::Int64, true),
        Field::new("lag_ms", DataType::Int64, true),
        Field::new("rows", DataType::Int64, true),
        Field::new("segments", DataType::Int64, true),
        Field::new("memory_bytes", DataType::Int64, true),
        Field::new("checkpoint_index", DataType::Int64, true),
    ]))
}

impl ReplicasTable {
    /// Every table with replicas, once per member meant to host it, with
    /// that member's report (a member that did not report shows as not
    /// available).
    async fn rows(&self) -> Vec<ReplicaStatus> {
        let Some(engine) = self.engine.upgrade() else {
            return Vec::new();
        };
        let Some(columnar) = engine.columnar() else {
            return Vec::new();
        };
        let hosting = columnar.hosting();
        let (reported, members) =
            futures::join!(engine.log.columnar_status(), engine.log.members());
        // Lag is measured against the newest entry any member has.
        let head = members.iter().filter_map(|m| m.last_log_index).max();
        let catalog = engine.catalog();
        let Ok(db) = catalog.database(&self.database) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for table in db.tables.values().filter(|t| t.columnar_replicas > 0) {
            for host in hosting.hosts_for(table) {
                let row = reported
                    .iter()
                    .find(|r| {
                        r.table_id == table.id && r.host == host && r.database == self.database
                    })
                    .cloned()
                    .unwrap_or_else(|| ReplicaStatus {
                        table_id: table.id,
                        database: self.database.clone(),
                        table: table.name.clone(),
                        host,
                        ..Default::default()
                    });
                let lag_entries = match head {
                    Some(h) if row.applied_index > 0 => {
                        row.lag_entries.max(h.saturating_sub(row.applied_index))
                    }
                    _ => row.lag_entries,
                };
                out.push(ReplicaStatus {
                    replica_count: table.columnar_replicas,
                    table: table.name.clone(),
                    lag_entries,
                    ..row
                });
            }
        }
        out
    }
}

fn replicas_batch(rows: &[ReplicaStatus]) -> DfResult<RecordBatch> {
    let int = |f: &dyn Fn(&ReplicaStatus) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| f(r) as i64),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|_| prismdb_catalog::DEFAULT_SCHEMA),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.table.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.replica_count as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.host.as_str()),
        )),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.available)),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.progress),
        )),
        int(&|r| r.applied_index),
        int(&|r| r.lag_entries),
        int(&|r| r.lag_ms),
        int(&|r| r.rows),
        int(&|r| r.segments),
        int(&|r| r.memory_bytes),
        int(&|r| r.checkpoint_index),
    ];
    Ok(RecordBatch::try_new(replicas_schema(), columns)?)
}

/// Name of the statistics view.
pub const STATISTICS_TABLE: &str = "table_statistics";

/// `prism_cluster.table_statistics`: one row per column of each table.
struct StatisticsTable {
    engine: Weak<Engine>,
    database: String,
}

impl fmt::Debug for StatisticsTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StatisticsTable")
    }
}

fn statistics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("live_rows", DataType::Int64, false),
        Field::new("analyzed_rows", DataType::Int64, true),
        Field::new("analyzed_index", DataType::Int64, true),
        Field::new("null_frac", DataType::Float64, true),
        Field::new("n_distinct", DataType::Float64, true),
        Field::new("min_value", DataType::Utf8, true),
        Field::new("max_value", DataType::Utf8, true),
        Field::new("avg_width", DataType::Float64, true),
    ]))
}

#[async_trait]
impl SystemView for StatisticsTable {
    fn schema(&self) -> SchemaRef {
        statistics_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        let mut table_names = Vec::new();
        let mut column_names = Vec::new();
        let mut live = Vec::new();
        let mut analyzed: Vec<Option<i64>> = Vec::new();
        let mut index: Vec<Option<i64>> = Vec::new();
        let mut null_frac: Vec<Option<f64>> = Vec::new();
        let mut distinct: Vec<Option<f64>> = Vec::new();
        let mut min: Vec<Option<String>> = Vec::new();
        let mut max: Vec<Option<String>> = Vec::new();
        let mut width: Vec<Option<f64>> = Vec::new();
        if let Some(engine) = self.engine.upgrade() {
            let catalog = engine.catalog();
            if let Ok(db) = catalog.database(&self.database) {
                for table in db.tables.values() {
                    let stats = engine.stats.get(table);
                    let rows = engine.store().row_count(table.id) as i64;
                    for (i, c) in table.visible_columns() {
                        let cs = stats.as_ref().and_then(|s| s.column(i));
                        table_names.push(table.name.clone());
                        column_names.push(c.name.clone());
                        live.push(rows);
                        analyzed.push(stats.as_ref().map(|s| s.rows as i64));
                        index.push(stats.as_ref().map(|s| s.version as i64));
                        null_frac.push(cs.map(|c| c.null_frac));
                        distinct.push(cs.map(|c| c.distinct));
                        min.push(cs.and_then(|c| c.min.as_ref()).map(|v| v.to_string()));
                        max.push(cs.and_then(|c| c.max.as_ref()).map(|v| v.to_string()));
                        width.push(cs.map(|c| c.avg_width));
                    }
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(table_names)),
            Arc::new(StringArray::from(column_names)),
            Arc::new(Int64Array::from(live)),
            Arc::new(Int64Array::from(analyzed)),
            Arc::new(Int64Array::from(index)),
            Arc::new(Float64Array::from(null_frac)),
            Arc::new(Float64Array::from(distinct)),
            Arc::new(StringArray::from(min)),
            Arc::new(StringArray::from(max)),
            Arc::new(Float64Array::from(width)),
        ];
        Ok(RecordBatch::try_new(statistics_schema(), columns)?)
    }
}

/// Name of the index build view.
pub const INDEXES_TABLE: &str = "indexes";

/// `prism_cluster.indexes`: one row per secondary index of the database.
struct IndexesTable {
    engine: Weak<Engine>,
    database: String,
}

impl fmt::Debug for IndexesTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexesTable")
    }
}

fn indexes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("index_name", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("is_unique", DataType::Boolean, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("rows_done", DataType::Int64, true),
        Field::new("rows_total", DataType::Int64, true),
        Field::new("built_from_index", DataType::Int64, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

#[async_trait]
impl SystemView for IndexesTable {
    fn schema(&self) -> SchemaRef {
        indexes_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        use prismdb_rowstore::index::BuildState;
        let mut names = Vec::new();
        let mut tables = Vec::new();
        let mut unique = Vec::new();
        let mut states = Vec::new();
        let mut done: Vec<Option<i64>> = Vec::new();
        let mut total: Vec<Option<i64>> = Vec::new();
        let mut since: Vec<Option<i64>> = Vec::new();
        let mut errors: Vec<Option<String>> = Vec::new();
        if let Some(engine) = self.engine.upgrade() {
            let catalog = engine.catalog();
            if let Ok(db) = catalog.database(&self.database) {
                for index in db.indexes.values() {
                    let Some(table) = db.tables.values().find(|t| t.id == index.table) else {
                        continue;
                    };
                    let status = engine.store().index_status(index.id);
                    names.push(index.name.clone());
                    tables.push(table.name.clone());
                    unique.push(index.unique);
                    since.push(status.as_ref().map(|s| s.since as i64));
                    let (state, d, t, e) = match status.map(|s| s.state) {
                        Some(BuildState::Building { done, total }) => {
                            ("building", Some(done as i64), Some(total as i64), None)
                        }
                        Some(BuildState::Ready) => ("ready", None, None, None),
                        Some(BuildState::Failed(why)) => {
                            ("failed", None, None, Some(why.replace('\n', " ")))
                        }
                        None => ("unknown", None, None, None),
                    };
                    states.push(state.to_string());
                    done.push(d);
                    total.push(t);
                    errors.push(e);
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(tables)),
            Arc::new(BooleanArray::from(unique)),
            Arc::new(StringArray::from(states)),
            Arc::new(Int64Array::from(done)),
            Arc::new(Int64Array::from(total)),
            Arc::new(Int64Array::from(since)),
            Arc::new(StringArray::from(errors)),
        ];
        Ok(RecordBatch::try_new(indexes_schema(), columns)?)
    }
}

/// Name of the index build progress view (also
/// `pg_stat_progress_create_index`).
pub const PROGRESS_TABLE: &str = "progress_create_index";

/// `pg_stat_progress_create_index`: one row per index this member is
/// building, with PostgreSQL's columns.
struct ProgressTable {
    engine: Weak<Engine>,
    database: String,
}

impl fmt::Debug for ProgressTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressTable")
    }
}

fn progress_schema() -> SchemaRef {
    let int = |n: &str| Field::new(n, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        Field::new("pid", DataType::Int32, false),
        Field::new("datid", DataType::Int64, false),
        Field::new("datname", DataType::Utf8, false),
        Field::new("relid", DataType::Int64, false),
        Field::new("index_relid", DataType::Int64, false),
        Field::new("command", DataType::Utf8, false),
        Field::new("phase", DataType::Utf8, false),
        int("lockers_total"),
        int("lockers_done"),
        Field::new("current_locker_pid", DataType::Int64, false),
        int("blocks_total"),
        int("blocks_done"),
        int("tuples_total"),
        int("tuples_done"),
        int("partitions_total"),
        int("partitions_done"),
    ]))
}

#[async_trait]
impl SystemView for ProgressTable {
    fn schema(&self) -> SchemaRef {
        progress_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        use prismdb_rowstore::index::BuildState;
        let mut rows: Vec<(i32, i64, i64, String, i64, i64)> = Vec::new();
        let mut datid = 0;
        if let Some(engine) = self.engine.upgrade() {
            let catalog = engine.catalog();
            datid = i64::from(prismdb_pgcatalog::oids::database_oid(&self.database));
            if let Ok(db) = catalog.database(&self.database) {
                let waiters = engine.index_waiters.lock().clone();
                for index in db.indexes.values() {
                    let Some(table) = db.tables.values().find(|t| t.id == index.table) else {
                        continue;
                    };
                    let Some(status) = engine.store().index_status(index.id) else {
                        continue;
                    };
                    if let BuildState::Building { done, total } = status.state {
                        rows.push((
                            waiters.get(&index.id).copied().unwrap_or(0),
                            i64::from(prismdb_pgcatalog::oids::table_oid(table)),
                            i64::from(prismdb_pgcatalog::oids::index_oid(index)),
                            "building index: scanning table".into(),
                            total as i64,
                            done as i64,
                        ));
                    }
                }
            }
        }
        let n = rows.len();
        let zeros = || Arc::new(Int64Array::from(vec![0i64; n])) as ArrayRef;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(vec![datid; n])),
            Arc::new(StringArray::from(vec![self.database.clone(); n])),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec!["CREATE INDEX CONCURRENTLY"; n])),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>(),
            )),
            zeros(),
            zeros(),
            zeros(),
            zeros(),
            zeros(),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.5).collect::<Vec<_>>(),
            )),
            zeros(),
            zeros(),
        ];
        Ok(RecordBatch::try_new(progress_schema(), columns)?)
    }
}

/// A system table: a schema and the rows it has when read.
#[async_trait]
trait SystemView: fmt::Debug + Send + Sync + 'static {
    fn schema(&self) -> SchemaRef;
    async fn batch(&self) -> DfResult<RecordBatch>;
}

#[async_trait]
impl SystemView for MembersTable {
    fn schema(&self) -> SchemaRef {
        members_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        to_batch(&self.log.members().await)
    }
}

#[async_trait]
impl SystemView for ReplicasTable {
    fn schema(&self) -> SchemaRef {
        replicas_schema()
    }

    async fn batch(&self) -> DfResult<RecordBatch> {
        replicas_batch(&self.rows().await)
    }
}

/// DataFusion's view of a [`SystemView`]: its rows, computed at each scan.
#[derive(Debug)]
struct SystemTable<T>(T);

#[async_trait]
impl<T: SystemView> TableProvider for SystemTable<T> {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batch = self.0.batch().await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.0.schema(),
            projection.cloned(),
        )?)
    }
}

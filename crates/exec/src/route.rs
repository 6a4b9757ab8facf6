//! Routing a table scan to the row store or a columnar replica.
//!
//! Each statement carries a [`Route`]: the session's `prism.read_engines`,
//! `prism.max_replica_lag` and `prism.columnar_max_wait`, the statement's
//! `READ_FROM` hints, this node's replicas and statistics. When DataFusion
//! asks a table for its scan, [`route_scan`] gathers what the cost model
//! needs — the table's exact live row count, its statistics, the key access
//! the filters allow, the projected columns, the replica's state and lag —
//! and lets [`prismdb_router::decide`] choose. A replica serves only
//! committed data as of the statement's read index, so a transaction's own
//! uncommitted writes to the table, and UPDATE/DELETE targets, always read
//! the row store. A replica the router picked that does not reach the read
//! index within the wait leaves the scan to the row store, which then says
//! why.
//!
//! Every routed scan is a [`TableScanExec`] in the plan: EXPLAIN shows the
//! engine, estimated rows, both engines' costs and why the other engine
//! lost; EXPLAIN ANALYZE adds the rows it produced and the time spent.

use crate::settings::ReadEngines;
use crate::stats::Statistics;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, Statistics as DfStatistics};
use datafusion::error::Result as DfResult;
use datafusion::execution::{RecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    SortOrderPushdownResult,
};
use futures::Stream;
use prismdb_catalog::Table;
use prismdb_columnar::{ColumnStore, ColumnarScan, ReadOutcome, ReadSnapshot};
use prismdb_common::Version;
use prismdb_router::{
    Decision, IndexPath, KeyAccess, Preference, ReadEngine, ReplicaState, ScanRequest, decide,
};
use prismdb_rowstore::RowStore;
use prismdb_sql::hints::{HintEngine, ReadHint};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// How one statement's scans pick their engine.
#[derive(Clone)]
pub struct Route {
    pub engines: ReadEngines,
    pub columnar_wait: Duration,
    pub max_lag: Duration,
    pub columnar: Option<Arc<ColumnStore>>,
    pub stats: Option<Arc<Statistics>>,
    /// The statement's `READ_FROM` hints.
    pub hints: Arc<Vec<ReadHint>>,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            engines: ReadEngines::Row,
            columnar_wait: Duration::ZERO,
            max_lag: Duration::ZERO,
            columnar: None,
            stats: None,
            hints: Arc::default(),
        }
    }
}

impl Route {
    /// What scans of `table` ask for: a hint naming it, else the setting.
    pub fn preference(&self, table: &str) -> Preference {
        if let Some(h) = self.hints.iter().rev().find(|h| h.table == table) {
            let (engine, name) = match h.engine {
                HintEngine::Row => (ReadEngine::Row, "row"),
                HintEngine::Columnar => (ReadEngine::Columnar, "columnar"),
            };
            return Preference::Force(engine, format!("hint READ_FROM({name}, {table})"));
        }
        match self.engines {
            ReadEngines::Auto => Preference::Auto,
            ReadEngines::Row => {
                Preference::Force(ReadEngine::Row, "prism.read_engines = row".into())
            }
            ReadEngines::Columnar => {
                Preference::Force(ReadEngine::Columnar, "prism.read_engines = columnar".into())
            }
        }
    }

    /// Whether scans of `table` are asked to read a columnar replica this
    /// node has (the point fast path then leaves them to the planner).
    pub fn forces_columnar(&self, table: &Table) -> bool {
        self.columnar.is_some()
            && table.columnar_replicas > 0
            && matches!(
                self.preference(&table.name),
                Preference::Force(ReadEngine::Columnar, _)
            )
    }
}

/// The shape of one scan, as the provider derived it from DataFusion's
/// request.
pub struct ScanShape<'a> {
    pub key: KeyAccess,
    /// The secondary indexes that could serve the scan instead.
    pub indexes: &'a [IndexPath],
    /// Stored column indices returned.
    pub projection: &'a [usize],
    pub limit: Option<usize>,
    /// Why only the row store can serve, if so.
    pub row_only: Option<&'static str>,
}

/// Chooses the engine of a scan of `table` at read index `at`. With a
/// columnar choice that the replica honours, also returns the replica's
/// snapshot to read.
pub async fn route_scan(
    route: &Route,
    store: &Arc<RowStore>,
    table: &Table,
    at: Version,
    shape: &ScanShape<'_>,
) -> (Decision, Option<ReadSnapshot>) {
    let rows = store.row_count(table.id);
    let stats = route.stats.as_ref().and_then(|s| {
        s.refresh_if_stale(store, table, rows);
        s.get(table)
    });
    let replica = match (&route.columnar, table.columnar_replicas) {
        (_, 0) => ReplicaState::None,
        (None, _) => ReplicaState::NotHere,
        (Some(c), _) => match c.probe(table, at) {
            None => ReplicaState::NotHere,
            Some(Err(why)) => ReplicaState::Unavailable(why),
            Some(Ok(lag)) => ReplicaState::Available { lag },
        },
    };
    let preference = route.preference(&table.name);
    let decision = decide(&ScanRequest {
        table,
        rows,
        stats: stats.as_deref(),
        access: &shape.key,
        indexes: shape.indexes,
        projection: shape.projection,
        limit: shape.limit,
        replica: &replica,
        preference: &preference,
        row_only: shape.row_only,
        max_replica_lag: route.max_lag,
    });
    if decision.engine == ReadEngine::Row {
        return (decision, None);
    }
    let Some(columnar) = &route.columnar else {
        return (
            decision.fall_back_to_row("no columnar replica on this node"),
            None,
        );
    };
    match columnar.read(table, at, route.columnar_wait).await {
        ReadOutcome::Ready(snapshot) => (decision, Some(snapshot)),
        ReadOutcome::Unavailable(why) => (
            decision.fall_back_to_row(&format!("replica unavailable: {why}")),
            None,
        ),
    }
}

/// Plans a columnar scan of `snapshot` for the table's visible columns
/// `projection` (indices into the provider's schema, mapped to stored
/// columns by `stored`).
pub fn columnar_plan(
    state: &dyn Session,
    table: &Table,
    snapshot: ReadSnapshot,
    schema: SchemaRef,
    stored: Vec<usize>,
    filters: &[Expr],
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let predicate = pruning_predicate(state, &snapshot.schema, filters);
    let partitions = state.config().target_partitions();
    Ok(Arc::new(ColumnarScan::new(
        &table.name,
        snapshot,
        schema,
        stored,
        predicate,
        partitions,
    )?))
}

/// The filters as one physical predicate over the stored columns, for
/// pruning segments; `None` if they cannot be expressed so.
fn pruning_predicate(
    state: &dyn Session,
    stored: &SchemaRef,
    filters: &[Expr],
) -> Option<Arc<dyn PhysicalExpr>> {
    let expr = conjunction(filters.iter().cloned())?;
    let expr = expr
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) => Transformed::yes(Expr::Column(Column::new_unqualified(c.name))),
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    let df_schema = DFSchema::try_from(stored.as_ref().clone()).ok()?;
    state.create_physical_expr(expr, &df_schema).ok()
}

/// How an index access reads in EXPLAIN: `index range (name)`,
/// `index-only lookup (name)`.
pub fn show_index_access(path: &IndexPath) -> String {
    let kind = match &path.access {
        KeyAccess::Points(1) => "lookup".to_string(),
        KeyAccess::Points(n) => format!("lookups ({n})"),
        KeyAccess::Prefix { .. } => "prefix".to_string(),
        KeyAccess::Range { .. } => "range".to_string(),
        KeyAccess::Full => "scan".to_string(),
    };
    let only = if path.covering { "index-only" } else { "index" };
    format!("{only} {kind} ({})", path.name)
}

/// How a key access reads in EXPLAIN.
pub fn show_access(key: &KeyAccess) -> String {
    match key {
        KeyAccess::Points(1) => "key lookup".into(),
        KeyAccess::Points(n) => format!("key lookups ({n})"),
        KeyAccess::Prefix { columns } => format!("key prefix ({columns} of the key columns)"),
        KeyAccess::Range { .. } => "key range".into(),
        KeyAccess::Full => "full".into(),
    }
}

/// A row-store scan that can also give its rows in an order asked of it
/// (through an index, or the primary key), for a sort to go away.
pub trait Reorder: Send + Sync {
    /// The scan reading its rows in `order` (over the scan's output
    /// columns), with its access as EXPLAIN shows it; `None` if no path
    /// gives that order without losing selectivity. `limited`: a LIMIT
    /// above stops the read early (a whole index read in order pays a row
    /// read per entry, worth it only then or when the index covers the
    /// scan).
    fn ordered(
        &self,
        order: &[PhysicalSortExpr],
        limited: bool,
    ) -> Option<(Arc<dyn ExecutionPlan>, String)>;
}

/// A routed table scan: the engine's own operator below, the router's
/// decision and run-time figures on top.
pub struct TableScanExec {
    table: String,
    access: String,
    decision: Decision,
    input: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
    reorder: Option<Arc<dyn Reorder>>,
}

impl TableScanExec {
    pub fn new(
        table: &str,
        access: String,
        decision: Decision,
        input: Arc<dyn ExecutionPlan>,
    ) -> TableScanExec {
        TableScanExec {
            table: table.to_string(),
            access,
            decision,
            input,
            metrics: ExecutionPlanMetricsSet::new(),
            reorder: None,
        }
    }

    /// The scan, able to read in other orders through `reorder`.
    pub fn with_reorder(mut self, reorder: Arc<dyn Reorder>) -> TableScanExec {
        self.reorder = Some(reorder);
        self
    }

    /// The scan reading its rows in `order`, if it can (see [`Reorder`]).
    pub fn ordered(
        &self,
        order: &[PhysicalSortExpr],
        limited: bool,
    ) -> Option<Arc<dyn ExecutionPlan>> {
        let (input, access) = self.reorder.as_ref()?.ordered(order, limited)?;
        Some(Arc::new(TableScanExec {
            table: self.table.clone(),
            access,
            decision: self.decision.clone(),
            input,
            metrics: ExecutionPlanMetricsSet::new(),
            reorder: None,
        }))
    }

    /// The router's choice for this scan, with its estimates.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }
}

impl fmt::Debug for TableScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableScanExec({})", self.table)
    }
}

impl DisplayAs for TableScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.decision;
        let e = &d.estimate;
        write!(
            f,
            "TableScan: table={}, engine={}, access={}, est_rows={:.0}, cost row={:.2} columnar={:.2}, {}",
            self.table, d.engine, self.access, e.rows, e.row_cost, e.columnar_cost, d.rejected
        )?;
        if let Some((path, cost)) = &d.row_alternative
            && d.engine == ReadEngine::Row
        {
            write!(f, ", rejected {path}: cost {cost:.2}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for TableScanExec {
    fn name(&self) -> &str {
        "TableScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => Ok(Arc::new(TableScanExec {
                table: self.table.clone(),
                access: self.access.clone(),
                decision: self.decision.clone(),
                input,
                metrics: ExecutionPlanMetricsSet::new(),
                reorder: self.reorder.clone(),
            })),
            _ => Err(datafusion::error::DataFusionError::Internal(
                "TableScanExec has exactly one input".into(),
            )),
        }
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
    ) -> DfResult<SortOrderPushdownResult<Arc<dyn ExecutionPlan>>> {
        Ok(match self.ordered(order, false) {
            Some(inner) => SortOrderPushdownResult::Exact { inner },
            None => SortOrderPushdownResult::Unsupported,
        })
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<DfStatistics>],
        _args: &StatisticsArgs,
    ) -> DfResult<Arc<DfStatistics>> {
        let mut stats = match input_stats.first() {
            Some(s) => s.as_ref().clone(),
            None => DfStatistics::new_unknown(&self.schema()),
        };
        // The row store knows no statistics of its own: the router's
        // estimate lets the optimizer order joins over row-store scans too.
        if matches!(stats.num_rows, Precision::Absent) {
            stats.num_rows = Precision::Inexact(self.decision.estimate.rows as usize);
        }
        Ok(Arc::new(stats))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(MeteredStream { input, baseline }))
    }
}

/// Counts the rows a scan produces and the time spent producing them.
struct MeteredStream {
    input: SendableRecordBatchStream,
    baseline: BaselineMetrics,
}

impl Stream for MeteredStream {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let poll = {
            let _timer = this.baseline.elapsed_compute().timer();
            this.input.as_mut().poll_next(cx)
        };
        if matches!(poll, Poll::Ready(Some(_))) {
            crate::analytics::yield_point();
        }
        this.baseline.record_poll(poll)
    }
}

impl RecordBatchStream for MeteredStream {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

//! Choosing the engine of a table scan: the row store or a columnar replica.
//!
//! Each statement carries a [`Route`] (from the session's
//! `prism.read_engines` and `prism.columnar_max_wait`). When DataFusion asks
//! a table for its scan, [`choose`] decides by rule: `row` always reads the
//! row store; `columnar` reads this node's replica of the table whenever it
//! can serve the statement; `auto` does so for scans that are not
//! primary-key lookups. A replica serves only committed data as of the
//! statement's read index, so a transaction's own uncommitted writes to the
//! table, and UPDATE/DELETE targets, always read the row store. When a
//! replica does not reach the read index within the wait, the scan reads
//! the row store and says why.
//!
//! Both kinds of scan show in EXPLAIN: [`ColumnarScan`] with its index,
//! pruning and partitions, [`RowScanExec`] with the reason it read the row
//! store.

use crate::settings::ReadEngines;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema};
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use prismdb_catalog::Table;
use prismdb_columnar::{ColumnStore, ColumnarScan, ReadSnapshot};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How one statement's scans pick their engine.
#[derive(Clone)]
pub struct Route {
    pub engines: ReadEngines,
    pub columnar_wait: Duration,
    pub columnar: Option<Arc<ColumnStore>>,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            engines: ReadEngines::Row,
            columnar_wait: Duration::ZERO,
            columnar: None,
        }
    }
}

/// The engine [`choose`] picked.
pub enum Choice {
    Row(String),
    Columnar(Arc<ColumnStore>),
}

/// Decides the engine of a scan of `table`.
pub fn choose(
    route: &Route,
    table: &Table,
    key_lookup: bool,
    dml_target: bool,
    own_writes: bool,
) -> Choice {
    let row = |why: &str| Choice::Row(why.to_string());
    if route.engines == ReadEngines::Row {
        return row("prism.read_engines = row");
    }
    if table.columnar_replicas == 0 {
        return row("no columnar replica");
    }
    let Some(store) = &route.columnar else {
        return row("no columnar replica on this node");
    };
    if dml_target {
        return row("target of UPDATE/DELETE");
    }
    if own_writes {
        return row("the transaction has uncommitted writes to the table");
    }
    if route.engines == ReadEngines::Auto && key_lookup {
        return row("primary-key lookup");
    }
    Choice::Columnar(store.clone())
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

/// A row-store scan, labelled with the table and why the row store serves it.
pub struct RowScanExec {
    table: String,
    reason: String,
    input: Arc<dyn ExecutionPlan>,
}

impl RowScanExec {
    pub fn new(table: &str, reason: String, input: Arc<dyn ExecutionPlan>) -> RowScanExec {
        RowScanExec {
            table: table.to_string(),
            reason,
            input,
        }
    }
}

impl fmt::Debug for RowScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowScanExec({})", self.table)
    }
}

impl DisplayAs for RowScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RowScan: table={}, engine=row, reason={}",
            self.table, self.reason
        )
    }
}

impl ExecutionPlan for RowScanExec {
    fn name(&self) -> &str {
        "RowScanExec"
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
            Some(input) if children.is_empty() => Ok(Arc::new(RowScanExec {
                table: self.table.clone(),
                reason: self.reason.clone(),
                input,
            })),
            _ => Err(datafusion::error::DataFusionError::Internal(
                "RowScanExec has exactly one input".into(),
            )),
        }
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

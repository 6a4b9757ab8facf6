//! A physical optimizer rule: a sort whose input is a row-store scan,
//! under filters and projections, goes away when the scan can
//! read its rows in that order (an index or the primary key; see
//! [`crate::route::Reorder`]), and a LIMIT of the sort then stops the read
//! early.
//!
//! DataFusion's own sort pushdown stops at a filter; the provider's
//! filters are inexact (DataFusion re-checks them above the scan), so an
//! ordered read almost always sits under one.

use crate::route::TableScanExec;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::physical_expr::PhysicalSortExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::limit::GlobalLimitExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, SortOrderPushdownResult};
use std::sync::Arc;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SortedScans;

impl PhysicalOptimizerRule for SortedScans {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|plan| {
            let Some(sort) = plan.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(plan));
            };
            if sort.preserve_partitioning()
                && sort.input().output_partitioning().partition_count() > 1
            {
                return Ok(Transformed::no(plan));
            }
            let Some(ordered) = ordered(
                sort.input(),
                sort.expr(),
                sort.fetch(),
                sort.fetch().is_some(),
            )?
            else {
                return Ok(Transformed::no(plan));
            };
            let plan: Arc<dyn ExecutionPlan> = match sort.fetch() {
                Some(fetch) => Arc::new(GlobalLimitExec::new(ordered, 0, Some(fetch))),
                None => ordered,
            };
            Ok(Transformed::yes(plan))
        })
        .data()
    }

    fn name(&self) -> &str {
        "sorted_scans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` giving its rows in `order`, if the scan below can read them so.
/// A filter on the way takes `fetch`, the rows wanted above it: it then
/// passes them on as soon as it has them instead of filling a batch.
fn ordered(
    plan: &Arc<dyn ExecutionPlan>,
    order: &[PhysicalSortExpr],
    fetch: Option<usize>,
    limited: bool,
) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
    if plan.output_partitioning().partition_count() != 1 {
        return Ok(None);
    }
    if let Some(filter) = plan.downcast_ref::<FilterExec>() {
        // A filter may also project: the order in terms of its input.
        let below = match filter.projection() {
            None => order.to_vec(),
            Some(kept) => {
                let mut below = Vec::with_capacity(order.len());
                for e in order {
                    let Some(c) = e.expr.downcast_ref::<Column>() else {
                        return Ok(None);
                    };
                    let Some(&source) = kept.get(c.index()) else {
                        return Ok(None);
                    };
                    let field = filter.input().schema().field(source).name().clone();
                    below.push(PhysicalSortExpr {
                        expr: Arc::new(Column::new(&field, source)),
                        options: e.options,
                    });
                }
                below
            }
        };
        let Some(plan) = rebuilt(plan, filter.input(), &below, None, limited)? else {
            return Ok(None);
        };
        return Ok(Some(match fetch {
            Some(n) => plan.with_fetch(Some(n)).unwrap_or(plan),
            None => plan,
        }));
    }
    if plan.downcast_ref::<CooperativeExec>().is_some() {
        let input = &plan.children()[0].clone();
        return rebuilt(plan, input, order, fetch, limited);
    }
    if let Some(projection) = plan.downcast_ref::<ProjectionExec>() {
        // The order in terms of the projection's input: only columns
        // passed through.
        let mut below = Vec::with_capacity(order.len());
        for e in order {
            let Some(c) = e.expr.downcast_ref::<Column>() else {
                return Ok(None);
            };
            let Some(source) = projection
                .expr()
                .get(c.index())
                .and_then(|p| p.expr.downcast_ref::<Column>())
            else {
                return Ok(None);
            };
            below.push(PhysicalSortExpr {
                expr: Arc::new(source.clone()),
                options: e.options,
            });
        }
        return rebuilt(plan, projection.input(), &below, fetch, limited);
    }
    if let Some(scan) = plan.downcast_ref::<TableScanExec>() {
        return Ok(scan.ordered(order, limited));
    }
    match plan.try_pushdown_sort(order)? {
        SortOrderPushdownResult::Exact { inner } => Ok(Some(inner)),
        _ => Ok(None),
    }
}

/// `parent` over its one `input`, which gives its rows in `order`.
fn rebuilt(
    parent: &Arc<dyn ExecutionPlan>,
    input: &Arc<dyn ExecutionPlan>,
    order: &[PhysicalSortExpr],
    fetch: Option<usize>,
    limited: bool,
) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
    match ordered(input, order, fetch, limited)? {
        Some(input) => Ok(Some(parent.clone().replace_children(
            vec![input],
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )?)),
        None => Ok(None),
    }
}

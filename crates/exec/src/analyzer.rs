//! Logical-plan rules that give DataFusion plans PostgreSQL's semantics
//! where the two differ, run after DataFusion's own type coercion.
//!
//! * [`RoundingCasts`]: a cast of a float or numeric value to an integer
//!   type rounds (PostgreSQL) instead of truncating (Arrow): `2.7::int` is 3,
//!   `(-2.5)::numeric::int` is -3. Float halves round away from zero, where
//!   PostgreSQL rounds them to even.

use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct RoundingCasts;

impl AnalyzerRule for RoundingCasts {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let inputs = node.inputs();
            let schema: DFSchema = if inputs.is_empty() {
                node.schema().as_ref().clone()
            } else {
                merge_schema(&inputs)
            };
            node.map_expressions(|e| e.transform_up(|x| round_before_integer_cast(x, &schema)))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "prism_rounding_casts"
    }
}

fn round_before_integer_cast(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::Cast(Cast { expr, field }) = &e else {
        return Ok(Transformed::no(e));
    };
    if !field.data_type().is_integer() {
        return Ok(Transformed::no(e));
    }
    // A cast whose input is already `round(..)` was rewritten before.
    if matches!(expr.as_ref(), Expr::ScalarFunction(f) if f.name() == "round") {
        return Ok(Transformed::no(e));
    }
    let Ok(source) = expr.get_type(schema) else {
        return Ok(Transformed::no(e));
    };
    if !(source.is_floating()
        || matches!(
            source,
            datafusion::arrow::datatypes::DataType::Decimal128(..)
        ))
    {
        return Ok(Transformed::no(e));
    }
    let rounded = datafusion::functions::math::round().call(vec![expr.as_ref().clone()]);
    Ok(Transformed::yes(Expr::Cast(Cast {
        expr: Box::new(rounded),
        field: field.clone(),
    })))
}

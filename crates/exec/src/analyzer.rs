//! Logical-plan rules that give DataFusion plans PostgreSQL's semantics
//! where the two differ, run after DataFusion's own type coercion (except
//! [`ArrayLiterals`], which runs before it).
//!
//! * [`ArrayLiterals`]: a string literal compared with an array is an
//!   array literal of the array's type (`polroles = '{0}'`), as PostgreSQL
//!   types an unknown literal after the other operand; and a string literal
//!   cast to an array type (`'{1,2}'::int[]`, a literal inserted into an
//!   array column) is parsed as one; an interval literal is read with
//!   PostgreSQL's interval input (`1 mon 2 days 03:04:05`).
//! * [`ArrayText`]: an array cast to text is written as PostgreSQL writes
//!   it (`{1,2}`, `int2vector`'s `1 2`), not as Arrow displays lists.
//! * [`RoundingCasts`]: a cast of a float or numeric value to an integer
//!   type rounds (PostgreSQL) instead of truncating (Arrow): `2.7::int` is 3,
//!   `(-2.5)::numeric::int` is -3. Float halves round away from zero, where
//!   PostgreSQL rounds them to even.
//! * [`CheckedIntegerArithmetic`]: `+`, `-` and `*` on integers fail with
//!   22003 on overflow (PostgreSQL) instead of wrapping around (Arrow's
//!   default kernels).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    BinaryExpr, Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF,
    Volatility, create_udf,
};
use datafusion::optimizer::AnalyzerRule;
use std::sync::{Arc, LazyLock};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct ArrayLiterals;

impl AnalyzerRule for ArrayLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        rewrite_plan(plan, array_literal_operand)
    }

    fn name(&self) -> &str {
        "prism_array_literals"
    }
}

fn array_literal_operand(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    // `'{1,2}'::int[]` (and a text literal stored into an array column):
    // Arrow would cast the whole text to one element. `'1 mon 2 days
    // 03:04:05'::interval`: PostgreSQL's interval input, which Arrow's
    // parser does not read.
    if let Expr::Cast(datafusion::logical_expr::Cast { expr, field })
    | Expr::TryCast(datafusion::logical_expr::TryCast { expr, field }) = &e
        && let Some(s) = string_literal(expr)
    {
        match field.data_type() {
            DataType::List(f) => return Ok(Transformed::yes(array_literal(s, f.data_type())?)),
            DataType::Interval(_) => {
                return Ok(Transformed::yes(
                    interval_literal(s)?.cast_to(field.data_type(), schema)?,
                ));
            }
            _ => {}
        }
    }
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else {
        return Ok(Transformed::no(e));
    };
    // `jsonb || jsonb` (an untyped literal on either side taken as jsonb).
    if *op == Operator::StringConcat {
        let jsonb = |x: &Expr| {
            datafusion::logical_expr::ExprSchemable::to_field(x, schema).is_ok_and(|(_, f)| {
                f.metadata().get("pg_type").map(String::as_str) == Some("jsonb")
            })
        };
        if jsonb(left) || jsonb(right) {
            return Ok(Transformed::yes(
                crate::json::JSONB_CONCAT.call(vec![left.as_ref().clone(), right.as_ref().clone()]),
            ));
        }
    }
    if !matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    ) {
        return Ok(Transformed::no(e));
    }
    // A string literal compared with an array or an interval is one.
    let literal_like = |typed: &Expr, text: &str| match typed.get_type(schema) {
        Ok(DataType::List(f)) => Some(array_literal(text, f.data_type())),
        Ok(DataType::Interval(_)) => Some(interval_literal(text)),
        _ => None,
    };
    let (new_left, new_right) = if let Some(s) = string_literal(right)
        && let Some(literal) = literal_like(left, s)
    {
        (left.as_ref().clone(), literal?)
    } else if let Some(s) = string_literal(left)
        && let Some(literal) = literal_like(right, s)
    {
        (literal?, right.as_ref().clone())
    } else {
        return Ok(Transformed::no(e));
    };
    Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
        left: Box::new(new_left),
        op: *op,
        right: Box::new(new_right),
    })))
}

/// The text of a string literal.
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            datafusion::common::ScalarValue::Utf8(Some(s))
            | datafusion::common::ScalarValue::Utf8View(Some(s))
            | datafusion::common::ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}

/// An interval literal read with PostgreSQL's interval input.
fn interval_literal(text: &str) -> Result<Expr> {
    let (months, days, micros) = prismdb_common::value::parse_interval(text)
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    let value = prismdb_common::Value::Interval(months, days, micros);
    Ok(Expr::Literal(crate::convert::value_to_scalar(&value), None))
}

/// A PostgreSQL array literal (`{1,2}`, `{"a b",NULL}`) as a list literal
/// of `element`s.
fn array_literal(text: &str, element: &DataType) -> Result<Expr> {
    use datafusion::common::ScalarValue;
    let items = prismdb_common::value::parse_array_literal(text)
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    let values = items
        .into_iter()
        .map(|v| ScalarValue::Utf8(v).cast_to(element))
        .collect::<Result<Vec<_>>>()?;
    Ok(Expr::Literal(
        ScalarValue::List(ScalarValue::new_list(&values, element, true)),
        None,
    ))
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct RoundingCasts;

impl AnalyzerRule for RoundingCasts {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        rewrite_plan(plan, round_before_integer_cast)
    }

    fn name(&self) -> &str {
        "prism_rounding_casts"
    }
}

type ExprRewrite = fn(Expr, &DFSchema) -> Result<Transformed<Expr>>;

/// Applies `f` to every expression of every node of `plan` (subqueries
/// included), typing expressions against the node's inputs.
fn rewrite_plan(plan: LogicalPlan, f: ExprRewrite) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let inputs = node.inputs();
        let schema: DFSchema = if inputs.is_empty() {
            node.schema().as_ref().clone()
        } else {
            merge_schema(&inputs)
        };
        rewrite_expressions(node, &schema, f)
    })
    .map(|t| t.data)
}

/// Applies `f` bottom-up to every expression of `node`, keeping the names
/// of its top-level expressions: plans above refer to a node's outputs by
/// name (`t.v2 + Int64(1)`), so a rewritten expression must keep its name.
fn rewrite_expressions(
    node: LogicalPlan,
    schema: &DFSchema,
    f: ExprRewrite,
) -> Result<Transformed<LogicalPlan>> {
    let preserver = NamePreserver::new(&node);
    node.map_expressions(|e| {
        let saved = preserver.save(&e);
        let t = e.transform_up(|x| f(x, schema))?;
        Ok(if t.transformed {
            Transformed::yes(saved.restore(t.data))
        } else {
            t
        })
    })
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

/// See the module documentation.
#[derive(Debug, Default)]
pub struct CheckedIntegerArithmetic;

impl AnalyzerRule for CheckedIntegerArithmetic {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        rewrite_plan(plan, checked_arithmetic)
    }

    fn name(&self) -> &str {
        "prism_checked_integer_arithmetic"
    }
}

const INTEGER_TYPES: [DataType; 3] = [DataType::Int16, DataType::Int32, DataType::Int64];

/// `(op, type)` → the checked function computing it.
static CHECKED: LazyLock<Vec<(Operator, DataType, Arc<ScalarUDF>)>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (op, name) in [
        (Operator::Plus, "add"),
        (Operator::Minus, "sub"),
        (Operator::Multiply, "mul"),
    ] {
        for ty in INTEGER_TYPES {
            let udf = create_udf(
                &format!("prism_checked_{name}_{}", ty.to_string().to_lowercase()),
                vec![ty.clone(), ty.clone()],
                ty.clone(),
                Volatility::Immutable,
                Arc::new(move |args: &[ColumnarValue]| {
                    use datafusion::arrow::compute::kernels::numeric;
                    let arrays = ColumnarValue::values_to_arrays(args)?;
                    let (l, r) = (&arrays[0], &arrays[1]);
                    let result = match op {
                        Operator::Plus => numeric::add(l, r),
                        Operator::Minus => numeric::sub(l, r),
                        _ => numeric::mul(l, r),
                    };
                    let out = result.map_err(|e| match e {
                        datafusion::arrow::error::ArrowError::ArithmeticOverflow(_) => {
                            datafusion::error::DataFusionError::External(Box::new(
                                prismdb_common::Error::NumericOutOfRange(
                                    "integer out of range".into(),
                                ),
                            ))
                        }
                        other => {
                            datafusion::error::DataFusionError::ArrowError(Box::new(other), None)
                        }
                    })?;
                    let scalar_inputs = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
                    if scalar_inputs && out.len() == 1 {
                        return Ok(ColumnarValue::Scalar(
                            datafusion::common::ScalarValue::try_from_array(&out, 0)?,
                        ));
                    }
                    Ok(ColumnarValue::Array(out))
                }),
            );
            out.push((op, ty, Arc::new(udf)));
        }
    }
    out
});

/// The type of an operand of `+ - *`. An operand rewritten already (the
/// rewrite runs bottom-up) has its checked function's type: typing it
/// through `get_type` would walk, and name, the whole chain below it again
/// at every level, cubic in the length of `a + b + c + ...`.
fn operand_type(e: &Expr, schema: &DFSchema) -> Result<DataType> {
    if let Expr::ScalarFunction(f) = e
        && let Some((_, ty, _)) = CHECKED
            .iter()
            .find(|(_, _, udf)| udf.name() == f.func.name())
    {
        return Ok(ty.clone());
    }
    e.get_type(schema)
}

fn checked_arithmetic(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else {
        return Ok(Transformed::no(e));
    };
    if !matches!(op, Operator::Plus | Operator::Minus | Operator::Multiply) {
        return Ok(Transformed::no(e));
    }
    let (Ok(lt), Ok(rt)) = (operand_type(left, schema), operand_type(right, schema)) else {
        return Ok(Transformed::no(e));
    };
    if lt != rt {
        return Ok(Transformed::no(e));
    }
    let Some((_, _, udf)) = CHECKED.iter().find(|(o, t, _)| o == op && *t == lt) else {
        return Ok(Transformed::no(e));
    };
    Ok(Transformed::yes(
        udf.call(vec![left.as_ref().clone(), right.as_ref().clone()]),
    ))
}

/// See [`ArrayText`].
#[derive(Debug, Default)]
pub struct ArrayText;

impl AnalyzerRule for ArrayText {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        rewrite_plan(plan, array_cast_to_text)
    }

    fn name(&self) -> &str {
        "prism_array_text"
    }
}

/// The functions writing an array's text: PostgreSQL's `{a,"b c",NULL}`,
/// and `int2vector`'s `1 2`.
static ARRAY_TEXT: LazyLock<(Arc<ScalarUDF>, Arc<ScalarUDF>)> = LazyLock::new(|| {
    let udf = |name: &str, vector: bool| {
        Arc::new(ScalarUDF::new_from_impl(
            datafusion::logical_expr::SimpleScalarUDF::new_with_signature(
                name,
                datafusion::logical_expr::Signature::any(1, Volatility::Immutable),
                DataType::Utf8,
                Arc::new(move |args: &[ColumnarValue]| array_text(args, vector)),
            ),
        ))
    };
    (
        udf("prism_array_text", false),
        udf("prism_int2vector_text", true),
    )
});

fn array_text(args: &[ColumnarValue], vector: bool) -> Result<ColumnarValue> {
    use datafusion::arrow::array::{Array, AsArray, StringBuilder};
    use datafusion::common::ScalarValue;
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let lists = arrays[0].as_list::<i32>();
    let mut out = StringBuilder::new();
    for row in 0..lists.len() {
        if lists.is_null(row) {
            out.append_null();
            continue;
        }
        let values = lists.value(row);
        let mut parts = Vec::with_capacity(values.len());
        for i in 0..values.len() {
            if values.is_null(i) {
                parts.push("NULL".to_string());
                continue;
            }
            let v = ScalarValue::try_from_array(&values, i)?;
            let text = match &v {
                ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => s.clone(),
                ScalarValue::Boolean(Some(b)) => if *b { "t" } else { "f" }.to_string(),
                other => other.to_string(),
            };
            parts.push(if vector {
                text
            } else {
                let mut quoted = Vec::with_capacity(text.len());
                prismdb_common::value::push_array_element(&mut quoted, text.as_bytes());
                String::from_utf8_lossy(&quoted).into_owned()
            });
        }
        if vector {
            out.append_value(parts.join(" "));
        } else {
            out.append_value(format!("{{{}}}", parts.join(",")));
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn array_cast_to_text(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::Cast(Cast { expr, field }) = &e else {
        return Ok(Transformed::no(e));
    };
    if !matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View) {
        return Ok(Transformed::no(e));
    }
    let Ok(source) = expr.to_field(schema) else {
        return Ok(Transformed::no(e));
    };
    if !matches!(source.1.data_type(), DataType::List(_)) {
        return Ok(Transformed::no(e));
    }
    let vector = matches!(
        source.1.metadata().get("pg_type").map(String::as_str),
        Some("int2vector" | "oidvector")
    );
    let udf = if vector { &ARRAY_TEXT.1 } else { &ARRAY_TEXT.0 };
    let call = udf.call(vec![expr.as_ref().clone()]);
    Ok(Transformed::yes(Expr::Cast(Cast {
        expr: Box::new(call),
        field: field.clone(),
    })))
}

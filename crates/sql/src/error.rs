//! Translation of DataFusion and Arrow errors into PrismDB's [`Error`].
//!
//! DataFusion reports most failures as strings inside a handful of variants;
//! the mapping looks at the variant first and the message second, and keeps
//! the message (minus DataFusion's own prefixes) for the client.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use prismdb_common::Error;

/// Maps a DataFusion error to the PrismDB error a client should see.
pub fn from_datafusion(e: DataFusionError) -> Error {
    match e {
        DataFusionError::External(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => match other.downcast::<DataFusionError>() {
                Ok(df) => from_datafusion(*df),
                Err(other) => Error::Internal(other.to_string()),
            },
        },
        DataFusionError::Context(ctx, inner) => match from_datafusion(*inner) {
            Error::Internal(m) => Error::Internal(format!("{ctx}: {m}")),
            other => other,
        },
        DataFusionError::Shared(inner) => from_datafusion(clone_shared(&inner)),
        DataFusionError::Diagnostic(_, inner) => from_datafusion(*inner),
        DataFusionError::Collection(mut errs) if !errs.is_empty() => {
            from_datafusion(errs.remove(0))
        }
        DataFusionError::ArrowError(inner, _) => from_arrow(*inner),
        DataFusionError::SQL(inner, _) => Error::Syntax(format!("syntax error: {inner}")),
        DataFusionError::NotImplemented(m) => Error::NotSupported(m),
        DataFusionError::ResourcesExhausted(m) => Error::OutOfMemory(m),
        DataFusionError::SchemaError(inner, _) => schema_error(inner.to_string()),
        DataFusionError::Plan(m) => plan_error(m),
        DataFusionError::Execution(m) => execution_error(m),
        DataFusionError::IoError(e) => Error::Storage(e.to_string()),
        DataFusionError::Internal(m) => internal_error(m),
        other => Error::Internal(other.to_string()),
    }
}

fn clone_shared(e: &DataFusionError) -> DataFusionError {
    match e {
        DataFusionError::External(inner) => match inner.downcast_ref::<Error>() {
            Some(ours) => DataFusionError::External(Box::new(ours.clone())),
            None => DataFusionError::Execution(inner.to_string()),
        },
        DataFusionError::Plan(m) => DataFusionError::Plan(m.clone()),
        DataFusionError::Execution(m) => DataFusionError::Execution(m.clone()),
        DataFusionError::NotImplemented(m) => DataFusionError::NotImplemented(m.clone()),
        DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(m.clone()),
        DataFusionError::Context(ctx, inner) => {
            DataFusionError::Context(ctx.clone(), Box::new(clone_shared(inner)))
        }
        DataFusionError::Shared(inner) => clone_shared(inner),
        other => DataFusionError::Execution(other.to_string()),
    }
}

/// Maps an Arrow compute error.
pub fn from_arrow(e: ArrowError) -> Error {
    match e {
        ArrowError::DivideByZero => Error::DivisionByZero("division by zero".into()),
        ArrowError::CastError(m) => cast_error(m),
        ArrowError::ParseError(m) => cast_error(m),
        ArrowError::ComputeError(m) | ArrowError::InvalidArgumentError(m) => {
            if m.contains("Overflow") || m.contains("overflow") {
                Error::NumericOutOfRange(format!("value out of range: {m}"))
            } else if m.contains("precision") && m.contains("Decimal")
                || m.contains("is too large to store in a Decimal")
            {
                Error::NumericOutOfRange(format!("numeric field overflow: {m}"))
            } else {
                Error::DataException(m)
            }
        }
        ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => match other.downcast::<DataFusionError>() {
                Ok(df) => from_datafusion(*df),
                Err(other) => Error::Internal(other.to_string()),
            },
        },
        ArrowError::ArithmeticOverflow(m) => {
            Error::NumericOutOfRange(format!("value out of range: {m}"))
        }
        other => Error::Internal(other.to_string()),
    }
}

fn cast_error(m: String) -> Error {
    let quoted = m.split('\'').nth(1).unwrap_or("");
    let integral = !quoted.is_empty()
        && quoted
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit())
        && !quoted.trim_start_matches(['-', '+']).is_empty();
    if integral && m.contains("Cannot cast string") && m.contains("Int") {
        return Error::NumericOutOfRange(format!(
            "value \"{quoted}\" is out of range for type {}",
            int_type_name(&m)
        ));
    }
    if m.contains("Can't cast value")
        || m.contains("too large")
        || m.contains("overflow")
        || m.contains("Overflow")
        || m.contains("out of range")
        || m.contains("is out of range")
        || m.contains("precision")
    {
        Error::NumericOutOfRange(format!("value out of range: {m}"))
    } else if m.contains("Cannot cast string") && m.contains("Time64") {
        let quoted = m.split('\'').nth(1).unwrap_or("");
        Error::InvalidDatetime(format!("invalid input syntax for type time: \"{quoted}\""))
    } else if m.contains("Date")
        || m.contains("Timestamp")
        || m.contains("date")
        || m.contains("timestamp")
    {
        // A well-formed date with an impossible field (2023-02-29) is an
        // out-of-range value (22008); anything else is bad syntax (22007).
        let quoted = m.split('\'').nth(1).unwrap_or("");
        let shaped = quoted.len() >= 10
            && quoted.as_bytes()[4] == b'-'
            && quoted.as_bytes()[7] == b'-'
            && quoted[..4].bytes().all(|b| b.is_ascii_digit());
        if shaped {
            Error::DatetimeOverflow(format!("date/time field value out of range: \"{quoted}\""))
        } else {
            Error::InvalidDatetime(format!(
                "invalid input syntax for type date/time: \"{quoted}\""
            ))
        }
    } else {
        Error::InvalidText(format!("invalid input syntax: {m}"))
    }
}

fn int_type_name(m: &str) -> &'static str {
    if m.contains("Int16") {
        "smallint"
    } else if m.contains("Int32") {
        "integer"
    } else {
        "bigint"
    }
}

fn schema_error(m: String) -> Error {
    if m.contains("No field named") || m.contains("not found") && m.contains("field") {
        Error::UndefinedColumn(m)
    } else if m.contains("Ambiguous reference") {
        Error::AmbiguousColumn(m)
    } else if m.contains("duplicate qualified field name")
        || m.contains("duplicate unqualified field name")
    {
        Error::DuplicateColumn(m)
    } else if m.contains("table") && m.contains("not found") {
        Error::UndefinedTable(m)
    } else {
        Error::InvalidStatement(m)
    }
}

fn plan_error(m: String) -> Error {
    let lower = m.to_lowercase();
    if lower.contains("table '") && lower.contains("not found") {
        let name = m
            .split('\'')
            .nth(1)
            .unwrap_or("")
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_string();
        Error::UndefinedTable(format!("relation \"{name}\" does not exist"))
    } else if lower.contains("inconsistent data length across values list")
        || lower.contains("more expressions than target columns")
        || lower.contains("column count")
        || lower.contains("have different number of columns")
    {
        Error::Syntax(m)
    } else if lower.contains("cannot coerce arithmetic expression") {
        Error::UndefinedFunction(format!("operator does not exist: {m}"))
    } else if lower.contains("invalid function")
        || lower.contains("function") && lower.contains("not found")
        || lower.contains("no function matches")
        || lower.contains("failed to coerce arguments")
        || lower.contains("coercion from")
    {
        Error::UndefinedFunction(m)
    } else if lower.contains("cannot infer common")
        || lower.contains("there isn't a common type")
        || lower.contains("cannot be cast")
        || lower.contains("cannot automatically convert")
        || lower.contains("does not support") && lower.contains("type")
        || lower.contains("must be boolean")
        || lower.contains("expected boolean")
        || lower.contains("boolean") && lower.contains("filter")
    {
        Error::DatatypeMismatch(m)
    } else if lower.contains("aggregate functions are not allowed")
        || lower.contains("projection references non-aggregate values")
        || lower.contains("group by")
    {
        Error::Grouping(m)
    } else if lower.contains("column")
        && (lower.contains("not found") || lower.contains("no field"))
    {
        Error::UndefinedColumn(m)
    } else if lower.contains("not supported") || lower.contains("unsupported") {
        Error::NotSupported(m)
    } else if lower.contains("division by zero") || lower.contains("divide by zero") {
        Error::DivisionByZero("division by zero".into())
    } else {
        Error::InvalidStatement(m)
    }
}

/// DataFusion reports a few user errors as internal ones: a BETWEEN over
/// types that cannot be compared (PostgreSQL: no such operator) and a call
/// that matches no signature of a function; both are 42883.
fn internal_error(m: String) -> Error {
    let lower = m.to_lowercase();
    if lower.contains("failed to coerce types") {
        Error::UndefinedFunction(format!("operator does not exist: {m}"))
    } else if lower.contains("failed to match any signature") {
        Error::UndefinedFunction(m)
    } else {
        Error::Internal(m)
    }
}

fn execution_error(m: String) -> Error {
    let lower = m.to_lowercase();
    if lower.contains("scalar subquery returned more than one row") {
        Error::CardinalityViolation(
            "more than one row returned by a subquery used as an expression".into(),
        )
    } else if lower.contains("divide by zero") || lower.contains("division by zero") {
        Error::DivisionByZero("division by zero".into())
    } else if lower.contains("overflow") || lower.contains("out of range") {
        Error::NumericOutOfRange(m)
    } else if lower.contains("cast error") || lower.contains("cannot cast") {
        cast_error(m)
    } else if lower.contains("resources exhausted") {
        Error::OutOfMemory(m)
    } else {
        Error::DataException(m)
    }
}

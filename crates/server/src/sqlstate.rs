//! SQLSTATE codes: the one place where [`prismdb_common::Error`] variants
//! become PostgreSQL error codes and pgwire [`ErrorInfo`]s.

use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_FATAL};
use prismdb_common::Error;
use prismdb_common::error::DETAIL;

/// The PostgreSQL SQLSTATE of an error.
pub fn sqlstate(e: &Error) -> &'static str {
    match e {
        Error::Syntax(_) => "42601",
        Error::UndefinedTable(_) => "42P01",
        Error::UndefinedColumn(_) => "42703",
        Error::UndefinedFunction(_) => "42883",
        Error::UndefinedDatabase(_) => "3D000",
        Error::UndefinedObject(_) => "42704",
        Error::DuplicateTable(_) => "42P07",
        Error::DuplicateDatabase(_) => "42P04",
        Error::AmbiguousColumn(_) => "42702",
        Error::DuplicateColumn(_) => "42701",
        Error::DatatypeMismatch(_) => "42804",
        Error::Grouping(_) => "42803",
        Error::InvalidStatement(_) => "42000",
        Error::UniqueViolation(_) => "23505",
        Error::NotNullViolation(_) => "23502",
        Error::InvalidText(_) => "22P02",
        Error::InvalidDatetime(_) => "22007",
        Error::DatetimeOverflow(_) => "22008",
        Error::CardinalityViolation(_) => "21000",
        Error::ObjectNotInPrerequisiteState(_) => "55000",
        Error::NumericOutOfRange(_) => "22003",
        Error::SequenceGeneratorLimitExceeded(_) => "2200H",
        Error::GeneratedAlways(_) => "428C9",
        Error::InvalidTableDefinition(_) => "42P16",
        Error::WrongObjectType(_) => "42809",
        Error::InvalidName(_) => "42602",
        Error::StringTooLong(_) => "22001",
        Error::DivisionByZero(_) => "22012",
        Error::InvalidParameterValue(_) => "22023",
        Error::DataException(_) => "22000",
        Error::BadCopyFormat(_) => "22P04",
        Error::NotSupported(_) => "0A000",
        Error::ActiveSqlTransaction(_) => "25001",
        Error::NoActiveSqlTransaction(_) => "25P01",
        Error::InvalidSavepoint(_) => "3B001",
        Error::InvalidCursorName(_) => "34000",
        Error::DuplicateCursor(_) => "42P03",
        Error::DuplicatePreparedStatement(_) => "42P05",
        Error::InvalidStatementName(_) => "26000",
        Error::InsufficientPrivilege(_) => "42501",
        Error::InvalidAuthorization(_) => "28000",
        Error::InvalidPassword(_) => "28P01",
        Error::DuplicateObject(_) => "42710",
        Error::DependentObjectsStillExist(_) => "2BP01",
        Error::ObjectInUse(_) => "55006",
        Error::InFailedTransaction => "25P02",
        Error::SerializationFailure(_) => "40001",
        Error::QueryCanceled(_) => "57014",
        Error::OutOfMemory(_) => "53200",
        Error::StatementTooComplex(_) => "54001",
        Error::InsufficientResources(_) => "53000",
        Error::Protocol(msg) if is_unknown_statement(msg) => "26000",
        Error::Protocol(_) => "08P01",
        Error::Unavailable(_) => "57P03",
        Error::CommitUnknown(_) => "40003",
        Error::Storage(_) => "58030",
        Error::Internal(_) => "XX000",
    }
}

/// Whether a protocol error complains about a prepared statement or portal
/// that does not exist (26000 invalid_sql_statement_name in PostgreSQL).
fn is_unknown_statement(msg: &str) -> bool {
    (msg.starts_with("prepared statement") || msg.starts_with("portal"))
        && msg.ends_with("does not exist")
}

/// The ErrorResponse fields for an error, severity ERROR.
///
/// Non-deterministic failures (`Internal`, `Storage`) are logged in full here
/// so that every path reporting one to a client leaves a trace.
pub fn error_info(e: &Error) -> ErrorInfo {
    error_info_with_severity(e, SEVERITY_ERROR)
}

/// Like [`error_info`] with severity FATAL: the connection ends after it.
pub fn fatal_error_info(e: &Error) -> ErrorInfo {
    error_info_with_severity(e, SEVERITY_FATAL)
}

fn error_info_with_severity(e: &Error, severity: &str) -> ErrorInfo {
    if matches!(e, Error::Internal(_) | Error::Storage(_)) {
        tracing::error!(error = ?e, "statement failed: {e}");
    }
    // A message may carry PostgreSQL's DETAIL line after its own.
    let text = e.to_string();
    match text.split_once(DETAIL) {
        Some((message, detail)) => {
            let mut info = ErrorInfo::new(
                severity.to_owned(),
                sqlstate(e).to_owned(),
                message.to_owned(),
            );
            info.detail = Some(detail.to_owned());
            info
        }
        None => ErrorInfo::new(severity.to_owned(), sqlstate(e).to_owned(), text),
    }
}

/// An error as pgwire's error type, for handlers that return it.
pub(crate) fn to_pgwire(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

/// A protocol-level error with an explicit SQLSTATE (codes the engine's
/// [`Error`] does not name, such as 34000 or 42P05).
pub(crate) fn wire_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        SEVERITY_ERROR.to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_code() {
        let s = || "x".to_owned();
        let cases = [
            (Error::Syntax(s()), "42601"),
            (Error::UndefinedTable(s()), "42P01"),
            (Error::UndefinedColumn(s()), "42703"),
            (Error::UndefinedFunction(s()), "42883"),
            (Error::UndefinedDatabase(s()), "3D000"),
            (Error::UndefinedObject(s()), "42704"),
            (Error::DuplicateTable(s()), "42P07"),
            (Error::DuplicateDatabase(s()), "42P04"),
            (Error::AmbiguousColumn(s()), "42702"),
            (Error::DuplicateColumn(s()), "42701"),
            (Error::DatatypeMismatch(s()), "42804"),
            (Error::Grouping(s()), "42803"),
            (Error::InvalidStatement(s()), "42000"),
            (Error::UniqueViolation(s()), "23505"),
            (Error::NotNullViolation(s()), "23502"),
            (Error::InvalidText(s()), "22P02"),
            (Error::InvalidDatetime(s()), "22007"),
            (Error::DatetimeOverflow(s()), "22008"),
            (Error::ActiveSqlTransaction(s()), "25001"),
            (Error::NoActiveSqlTransaction(s()), "25P01"),
            (Error::InvalidSavepoint(s()), "3B001"),
            (Error::InvalidCursorName(s()), "34000"),
            (Error::DuplicateCursor(s()), "42P03"),
            (Error::DuplicatePreparedStatement(s()), "42P05"),
            (Error::InvalidStatementName(s()), "26000"),
            (Error::CardinalityViolation(s()), "21000"),
            (Error::InsufficientPrivilege(s()), "42501"),
            (Error::InvalidAuthorization(s()), "28000"),
            (Error::InvalidPassword(s()), "28P01"),
            (Error::DuplicateObject(s()), "42710"),
            (Error::DependentObjectsStillExist(s()), "2BP01"),
            (Error::ObjectInUse(s()), "55006"),
            (Error::ObjectNotInPrerequisiteState(s()), "55000"),
            (Error::NumericOutOfRange(s()), "22003"),
            (Error::SequenceGeneratorLimitExceeded(s()), "2200H"),
            (Error::GeneratedAlways(s()), "428C9"),
            (Error::InvalidTableDefinition(s()), "42P16"),
            (Error::WrongObjectType(s()), "42809"),
            (Error::InvalidName(s()), "42602"),
            (Error::StringTooLong(s()), "22001"),
            (Error::DivisionByZero(s()), "22012"),
            (Error::InvalidParameterValue(s()), "22023"),
            (Error::DataException(s()), "22000"),
            (Error::BadCopyFormat(s()), "22P04"),
            (Error::NotSupported(s()), "0A000"),
            (Error::InFailedTransaction, "25P02"),
            (Error::SerializationFailure(s()), "40001"),
            (Error::QueryCanceled(s()), "57014"),
            (Error::OutOfMemory(s()), "53200"),
            (Error::Protocol(s()), "08P01"),
            (
                Error::Protocol("prepared statement \"s1\" does not exist".into()),
                "26000",
            ),
            (Error::Storage(s()), "58030"),
            (Error::Internal(s()), "XX000"),
        ];
        for (e, code) in cases {
            assert_eq!(sqlstate(&e), code, "{e:?}");
        }
    }

    #[test]
    fn error_info_carries_code_message_and_severity() {
        let info = error_info(&Error::UndefinedTable(
            "relation \"t\" does not exist".into(),
        ));
        assert_eq!(info.severity, "ERROR");
        assert_eq!(info.code, "42P01");
        assert_eq!(info.message, "relation \"t\" does not exist");
        let info = fatal_error_info(&Error::UndefinedDatabase(
            "database \"x\" does not exist".into(),
        ));
        assert_eq!(info.severity, "FATAL");
        assert_eq!(info.code, "3D000");
        assert!(info.is_fatal());
        let info = error_info(&Error::Internal("boom".into()));
        assert_eq!(info.code, "XX000");
        assert_eq!(info.message, "internal error: boom");
    }
}

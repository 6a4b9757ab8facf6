//! The error type of PrismDB.
//!
//! Variants are named by what the client did or must do, not by where the
//! failure happened. Each carries a human-readable message that is safe to
//! show a client; `Internal` and `Storage` messages are logged in full by the
//! server and shown in short form. The server crate maps variants to SQLSTATE
//! codes in one place (`prismdb_server::sqlstate`).

/// Separates an error's message from PostgreSQL's DETAIL line in the
/// text of an [`Error`]: the wire sends them as separate fields.
pub const DETAIL: &str = "\nDETAIL:  ";

/// Result with the PrismDB [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a statement can end in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Error {
    /// The statement could not be parsed (42601).
    #[error("{0}")]
    Syntax(String),
    /// A relation named in the statement does not exist (42P01).
    #[error("{0}")]
    UndefinedTable(String),
    /// A column named in the statement does not exist (42703).
    #[error("{0}")]
    UndefinedColumn(String),
    /// A function or operator does not exist for the given argument types (42883).
    #[error("{0}")]
    UndefinedFunction(String),
    /// A database named at connect time or in DDL does not exist (3D000).
    #[error("{0}")]
    UndefinedDatabase(String),
    /// A configuration parameter does not exist (42704).
    #[error("{0}")]
    UndefinedObject(String),
    /// CREATE of a relation that already exists (42P07).
    #[error("{0}")]
    DuplicateTable(String),
    /// CREATE DATABASE of a database that already exists (42P04).
    #[error("{0}")]
    DuplicateDatabase(String),
    /// A column reference is ambiguous (42702).
    #[error("{0}")]
    AmbiguousColumn(String),
    /// A column appears twice in a definition or column list (42701).
    #[error("{0}")]
    DuplicateColumn(String),
    /// A value of the wrong type where another was required (42804).
    #[error("{0}")]
    DatatypeMismatch(String),
    /// A grouping rule was broken (42803).
    #[error("{0}")]
    Grouping(String),
    /// Some other semantic error in the statement (42P10 etc. folded here: 42000).
    #[error("{0}")]
    InvalidStatement(String),
    /// Primary key or unique constraint violated (23505).
    #[error("{0}")]
    UniqueViolation(String),
    /// NULL written into a NOT NULL column (23502).
    #[error("{0}")]
    NotNullViolation(String),
    /// Text could not be read as a value of the target type (22P02).
    #[error("{0}")]
    InvalidText(String),
    /// A date/time value is malformed or out of range (22007 / 22008).
    #[error("{0}")]
    InvalidDatetime(String),
    /// A date/time field is out of range, e.g. February 30th (22008).
    #[error("{0}")]
    DatetimeOverflow(String),
    /// A subquery used as an expression returned more than one row (21000).
    #[error("{0}")]
    CardinalityViolation(String),
    /// The object is not in a state that allows the operation, e.g. writing
    /// to a view (55000).
    #[error("{0}")]
    ObjectNotInPrerequisiteState(String),
    /// A number does not fit the target type (22003).
    #[error("{0}")]
    NumericOutOfRange(String),
    /// A table definition that cannot be, e.g. dropping NOT NULL of a
    /// primary-key column (42P16).
    #[error("{0}")]
    InvalidTableDefinition(String),
    /// A value given for a `GENERATED ALWAYS` identity column (428C9).
    #[error("{0}")]
    GeneratedAlways(String),
    /// A sequence reached its bound without CYCLE (2200H).
    #[error("{0}")]
    SequenceGeneratorLimitExceeded(String),
    /// An object is not of the kind the statement needs, e.g. `nextval` of a
    /// table (42809).
    #[error("{0}")]
    WrongObjectType(String),
    /// A name that cannot be a name, e.g. too many dotted parts (42602).
    #[error("{0}")]
    InvalidName(String),
    /// A string is longer than its varchar(n) (22001).
    #[error("{0}")]
    StringTooLong(String),
    /// Division by zero (22012).
    #[error("{0}")]
    DivisionByZero(String),
    /// An argument has an invalid value (22023).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// Some other data exception (22000).
    #[error("{0}")]
    DataException(String),
    /// COPY data that does not fit its format: wrong number of columns, a
    /// bad end marker, mixed newline styles (22P04).
    #[error("{0}")]
    BadCopyFormat(String),
    /// Valid SQL that PrismDB does not support (0A000).
    #[error("{0}")]
    NotSupported(String),
    /// A statement that cannot run inside a transaction block (25001).
    #[error("{0}")]
    ActiveSqlTransaction(String),
    /// A statement that only runs inside a transaction block (25P01).
    #[error("{0}")]
    NoActiveSqlTransaction(String),
    /// A savepoint named that does not exist (3B001).
    #[error("{0}")]
    InvalidSavepoint(String),
    /// A cursor named that does not exist (34000).
    #[error("{0}")]
    InvalidCursorName(String),
    /// A cursor name already in use (42P03).
    #[error("{0}")]
    DuplicateCursor(String),
    /// A prepared statement name already in use (42P05).
    #[error("{0}")]
    DuplicatePreparedStatement(String),
    /// A prepared statement named that does not exist (26000).
    #[error("{0}")]
    InvalidStatementName(String),
    /// The role may not do this (42501).
    #[error("{0}")]
    InsufficientPrivilege(String),
    /// A login refused: the role does not exist or may not log in (28000).
    #[error("{0}")]
    InvalidAuthorization(String),
    /// A login refused for its password (28P01).
    #[error("{0}")]
    InvalidPassword(String),
    /// An object (a role) that already exists (42710).
    #[error("{0}")]
    DuplicateObject(String),
    /// An object others depend on (2BP01).
    #[error("{0}")]
    DependentObjectsStillExist(String),
    /// An object in use (55006), such as the session's own role.
    #[error("{0}")]
    ObjectInUse(String),
    /// A statement in a transaction block that already failed (25P02).
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// A write conflicted with a concurrent committed write (40001). Retryable.
    #[error("{0}")]
    SerializationFailure(String),
    /// The statement was cancelled by the client or by statement_timeout (57014).
    #[error("{0}")]
    QueryCanceled(String),
    /// The node cannot take the statement now: too many are running or
    /// queued (53000, insufficient_resources). Retryable.
    #[error("{0}")]
    InsufficientResources(String),
    /// A statement nests too deeply to be handled safely (54001,
    /// statement_too_complex: "stack depth limit exceeded").
    #[error("{0}")]
    StatementTooComplex(String),
    /// A resource limit was hit (53200 for memory).
    #[error("{0}")]
    OutOfMemory(String),
    /// Protocol-level misuse, e.g. an unknown prepared statement (26000/08P01).
    #[error("{0}")]
    Protocol(String),
    /// The cluster cannot serve the request now: no leader, no quorum, or
    /// this node is too far behind (57P03). Nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// A commit was proposed but its outcome is unknown: no quorum
    /// acknowledged it in time (40003). It may still be applied later.
    #[error("{0}")]
    CommitUnknown(String),
    /// The storage engine failed (58030). Not deterministic.
    #[error("storage error: {0}")]
    Storage(String),
    /// A bug or an unexpected state (XX000). Not deterministic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the same input on another replica fails the same way. Only
    /// deterministic failures of a replicated apply may be reported to the
    /// client as the outcome of the statement; others mean "retry elsewhere".
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self,
            Error::Storage(_)
                | Error::Internal(_)
                | Error::QueryCanceled(_)
                | Error::Unavailable(_)
                | Error::CommitUnknown(_)
                | Error::InsufficientResources(_)
        )
    }

    /// Whether a client may simply run the same transaction again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::SerializationFailure(_))
    }
}

/// Return early with an error built from a format string:
/// `bail!(UndefinedTable, "relation \"{name}\" does not exist")`.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}

/// Build an error from a format string: `err!(Internal, "bad state {x}")`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::Error::$kind(format!($($arg)*))
    };
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

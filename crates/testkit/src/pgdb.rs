//! sqllogictest driver (`AsyncDB`) over tokio-postgres.
//!
//! Two modes run the same `.slt` corpus:
//! - [`Protocol::Simple`]: every record is sent with the simple query protocol
//!   and values are compared exactly as the server sent them in text form;
//! - [`Protocol::Extended`]: every record is prepared (Parse/Describe) and
//!   executed without parameters; binary results are rendered back to
//!   PostgreSQL's text form by [`crate::pgtext`].
//!
//! Errors display as `"{SQLSTATE}: {message}"`, so a record can say
//! `statement error 42P01` (a regex over that text) or `statement error (42P01)`
//! (an exact SQLSTATE match).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqllogictest::{AsyncDB, DBOutput};
use tokio::task::JoinHandle;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

use crate::pgtext::PgText;

/// Which protocol a [`PgDb`] uses to run statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `Query` messages (simple query protocol).
    Simple,
    /// `Parse`/`Bind`/`Execute` (extended query protocol), no parameters.
    Extended,
}

impl Protocol {
    /// A short lowercase name, also used as the sqllogictest label
    /// (`skipif extended`, `onlyif simple`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Simple => "simple",
            Protocol::Extended => "extended",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error from the server (with SQLSTATE) or from the client library.
#[derive(Debug, Clone)]
pub struct PgError {
    /// The five-character SQLSTATE, when the server sent one.
    pub sqlstate: Option<String>,
    /// The primary message.
    pub message: String,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sqlstate {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PgError {}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => PgError {
                sqlstate: Some(db.code().code().to_string()),
                message: db.message().to_string(),
            },
            None => PgError {
                sqlstate: None,
                message: format!("client error: {e}"),
            },
        }
    }
}

/// Column type letters used in `query <types>` headers.
///
/// Column types are not validated by default (simple mode cannot see them);
/// the letters are kept for documentation and for the extended mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgColumnType {
    /// `I`: smallint, integer, bigint.
    Integer,
    /// `R`: real, double precision, numeric.
    Float,
    /// `T`: text and everything else rendered as text.
    Text,
    /// `B`: boolean.
    Bool,
    /// Any other letter (or `?` when the type is not known).
    Other(char),
}

impl sqllogictest::ColumnType for PgColumnType {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'I' => Self::Integer,
            'R' => Self::Float,
            'T' => Self::Text,
            'B' => Self::Bool,
            c if c.is_ascii_alphanumeric() || c == '?' => Self::Other(c),
            _ => return None,
        })
    }

    fn to_char(&self) -> char {
        match self {
            Self::Integer => 'I',
            Self::Float => 'R',
            Self::Text => 'T',
            Self::Bool => 'B',
            Self::Other(c) => *c,
        }
    }
}

impl PgColumnType {
    /// The letter for a PostgreSQL type.
    pub fn from_pg(ty: &Type) -> Self {
        match *ty {
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => Self::Integer,
            Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => Self::Float,
            Type::BOOL => Self::Bool,
            _ => Self::Text,
        }
    }
}

/// Formats a text value the sqllogictest way: NULL → `NULL`, `""` → `(empty)`.
pub fn slt_value(v: Option<&str>) -> String {
    match v {
        None => "NULL".to_string(),
        Some("") => "(empty)".to_string(),
        Some(s) => s.to_string(),
    }
}

/// A sqllogictest database connection over tokio-postgres.
pub struct PgDb {
    client: Option<Client>,
    conn_task: Option<JoinHandle<()>>,
    protocol: Protocol,
}

impl PgDb {
    /// Connects with `config` using the given protocol.
    pub async fn connect(config: &Config, protocol: Protocol) -> Result<Self, PgError> {
        let (client, connection) = config.connect(NoTls).await?;
        let conn_task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            client: Some(client),
            conn_task: Some(conn_task),
            protocol,
        })
    }

    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn client(&self) -> Result<&Client, PgError> {
        self.client.as_ref().ok_or_else(|| PgError {
            sqlstate: None,
            message: "connection already shut down".into(),
        })
    }

    async fn run_simple(&self, sql: &str) -> Result<DBOutput<PgColumnType>, PgError> {
        let messages = self.client()?.simple_query(sql).await?;
        let mut ncols: Option<usize> = None;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut last_count = 0;
        for msg in messages {
            match msg {
                SimpleQueryMessage::RowDescription(cols) => {
                    ncols.get_or_insert(cols.len());
                }
                SimpleQueryMessage::Row(row) => {
                    ncols.get_or_insert(row.len());
                    rows.push((0..row.len()).map(|i| slt_value(row.get(i))).collect());
                }
                SimpleQueryMessage::CommandComplete(n) => last_count = n,
                _ => {}
            }
        }
        match ncols {
            Some(n) => Ok(DBOutput::Rows {
                types: vec![PgColumnType::Other('?'); n],
                rows,
            }),
            None => Ok(DBOutput::StatementComplete(last_count)),
        }
    }

    async fn run_extended(&self, sql: &str) -> Result<DBOutput<PgColumnType>, PgError> {
        let client = self.client()?;
        let stmt = client.prepare(sql).await?;
        if stmt.columns().is_empty() {
            let n = client.execute(&stmt, &[]).await?;
            return Ok(DBOutput::StatementComplete(n));
        }
        let types: Vec<PgColumnType> = stmt
            .columns()
            .iter()
            .map(|c| PgColumnType::from_pg(c.type_()))
            .collect();
        let result = client.query(&stmt, &[]).await?;
        let mut rows = Vec::with_capacity(result.len());
        for row in &result {
            let mut out = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let v: Option<PgText> = row.try_get(i).map_err(|e| PgError {
                    sqlstate: None,
                    message: format!("decoding column {i}: {e}"),
                })?;
                out.push(slt_value(v.as_ref().map(|t| t.0.as_str())));
            }
            rows.push(out);
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

#[async_trait]
impl AsyncDB for PgDb {
    type Error = PgError;
    type ColumnType = PgColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        match self.protocol {
            Protocol::Simple => self.run_simple(sql).await,
            Protocol::Extended => self.run_extended(sql).await,
        }
    }

    async fn shutdown(&mut self) {
        // Dropping the client sends Terminate; wait for the socket to close.
        self.client.take();
        if let Some(task) = self.conn_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    fn engine_name(&self) -> &str {
        "postgres"
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }

    async fn run_command(command: std::process::Command) -> std::io::Result<std::process::Output> {
        tokio::process::Command::from(command).output().await
    }

    fn error_sql_state(err: &Self::Error) -> Option<String> {
        err.sqlstate.clone()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        self.client.take();
    }
}

//! `COPY table [(columns)] FROM STDIN`: bulk loading through the COPY
//! sub-protocol.
//!
//! The statement itself ([`Session::copy`]) checks its options, resolves
//! the table and column list, evaluates the DEFAULTs of the columns it
//! leaves out, and leaves a [`CopyIn`] on the session; the wire layer then
//! answers CopyInResponse and feeds the client's CopyData chunks to
//! [`Session::copy_data`] until CopyDone ([`Session::copy_done`]) or
//! CopyFail ([`Session::copy_fail`]).
//!
//! Rows are split into fields by [`crate::copy_format`] and converted a
//! batch at a time, column by column, with the conversion and checks INSERT
//! uses for its values ([`crate::convert::column_values`]: the Arrow cast
//! from text to the column type, varchar length, numeric precision, bytea
//! input) — no SQL is planned per row. Each row then goes through INSERT's
//! own path ([`Session::new_row_key`]): hidden row id, NOT NULL, primary-key
//! uniqueness. Errors are reported in row order, as PostgreSQL does.
//!
//! Outside a transaction block the COPY is one transaction of its own whose
//! rows are committed as one write set at CopyDone (nothing is written on
//! any error or on CopyFail); inside a block its rows join the block's
//! transaction, and an error fails the block.
//!
//! The binary format reaches this module as text rows: the wire layer
//! decodes it by column type first. Not supported (0A000): files and
//! programs. `COPY ... TO STDOUT` is [`crate::copy_out`]'s.

use crate::convert::column_values;
use crate::copy_format::{CopyFormat, Fields, Kind, Next, RowReader, invalid_byte};
use crate::dml::{key_of, stored_at};
use crate::index_writes::check_unique;
use crate::session::{Output, Session};
use crate::txn::Txn;
use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use prismdb_catalog::Table;
use prismdb_common::copy::{CopyKind, CopyOutFormat};
use prismdb_common::{Error, Result, Value, Version};
use prismdb_sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Ident, Statement,
};
use prismdb_sql::{normalize, object_name};
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

/// Rows converted together: large enough that per-batch costs vanish,
/// small enough that errors are found soon after their row arrives.
const BATCH_ROWS: usize = 4096;

/// A `COPY ... FROM STDIN` waiting for, or receiving, the client's data.
pub(crate) struct CopyIn {
    /// The transaction of a COPY run outside a transaction block; inside
    /// one, the rows join the block's transaction.
    own_txn: Option<Txn>,
    /// The client sends binary rows (decoded to text by the wire layer).
    binary: bool,
    load: Load,
}

/// Turns the data of one COPY into buffered inserts.
struct Load {
    table: Arc<Table>,
    /// The stored column each field of an input row goes to.
    targets: Vec<usize>,
    /// A new row before its fields are filled in: the DEFAULTs of the
    /// columns the COPY leaves out, NULL elsewhere.
    template: Vec<Value>,
    reader: RowReader,
    fields: Fields,
    /// The pending batch: one text column per input field.
    builders: Vec<StringBuilder>,
    pending: usize,
    /// Rows buffered in the transaction so far.
    rows: u64,
    /// The indexes of the catalog the COPY writes under (unique keys are
    /// checked row by row).
    indexes: Arc<crate::index_writes::IndexSet>,
}

/// Options of a COPY statement, before they are checked against each other.
#[derive(Default)]
pub(crate) struct Options {
    format: Option<String>,
    delimiter: Option<char>,
    null: Option<String>,
    header: Option<bool>,
    quote: Option<char>,
    escape: Option<char>,
    force_null: Option<Vec<Ident>>,
    force_not_null: Option<Vec<Ident>>,
    /// FORCE_QUOTE's columns (`*` parses as none: every column).
    force_quote: Option<Vec<Ident>>,
    encoding: Option<String>,
    freeze: Option<bool>,
}

fn redundant() -> Error {
    Error::Syntax("conflicting or redundant options".into())
}

/// Sets an option once; twice is an error, as in PostgreSQL.
fn once<T>(slot: &mut Option<T>, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(redundant());
    }
    *slot = Some(value);
    Ok(())
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterValue(message.into())
}

fn unsupported(message: impl Into<String>) -> Error {
    Error::NotSupported(message.into())
}

/// A character option as the single byte PostgreSQL requires.
fn one_byte(c: char, what: &str) -> Result<u8> {
    if c.is_ascii() {
        Ok(c as u8)
    } else {
        Err(unsupported(format!(
            "COPY {what} must be a single one-byte character"
        )))
    }
}

impl Options {
    pub(crate) fn collect(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<Options> {
        let mut o = Options::default();
        for option in options {
            match option {
                CopyOption::Format(f) => once(&mut o.format, normalize(f))?,
                CopyOption::Freeze(f) => once(&mut o.freeze, *f)?,
                CopyOption::Delimiter(c) => once(&mut o.delimiter, *c)?,
                CopyOption::Null(s) => once(&mut o.null, s.clone())?,
                CopyOption::Header(h) => once(&mut o.header, *h)?,
                CopyOption::Quote(c) => once(&mut o.quote, *c)?,
                CopyOption::Escape(c) => once(&mut o.escape, *c)?,
                CopyOption::ForceQuote(cols) => once(&mut o.force_quote, cols.clone())?,
                CopyOption::ForceNotNull(cols) => once(&mut o.force_not_null, cols.clone())?,
                CopyOption::ForceNull(cols) => once(&mut o.force_null, cols.clone())?,
                CopyOption::Encoding(e) => once(&mut o.encoding, e.clone())?,
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Binary => once(&mut o.format, "binary".to_string())?,
                CopyLegacyOption::Delimiter(c) => once(&mut o.delimiter, *c)?,
                CopyLegacyOption::Null(s) => once(&mut o.null, s.clone())?,
                CopyLegacyOption::Header => once(&mut o.header, true)?,
                CopyLegacyOption::Csv(csv) => {
                    once(&mut o.format, "csv".to_string())?;
                    for option in csv {
                        match option {
                            CopyLegacyCsvOption::Header => once(&mut o.header, true)?,
                            CopyLegacyCsvOption::Quote(c) => once(&mut o.quote, *c)?,
                            CopyLegacyCsvOption::Escape(c) => once(&mut o.escape, *c)?,
                            CopyLegacyCsvOption::ForceQuote(cols) => {
                                once(&mut o.force_quote, cols.clone())?
                            }
                            CopyLegacyCsvOption::ForceNotNull(cols) => {
                                once(&mut o.force_not_null, cols.clone())?
                            }
                        }
                    }
                }
                other => {
                    return Err(Error::Syntax(format!(
                        "syntax error: COPY option {other} is not a PostgreSQL option"
                    )));
                }
            }
        }
        Ok(o)
    }

    /// The data format of a COPY TO: `columns` are the names of the
    /// columns it writes (FORCE_QUOTE names some of them).
    pub(crate) fn format_out(&self, columns: &[String]) -> Result<CopyOutFormat> {
        if self.format.as_deref() == Some("binary") {
            self.refuse_text_options_in_binary()?;
            if self.force_quote.is_some() {
                return Err(unsupported("COPY force quote available only in CSV mode"));
            }
        }
        if self.force_not_null.is_some() {
            return Err(unsupported(
                "COPY force not null only available using COPY FROM",
            ));
        }
        if self.force_null.is_some() {
            return Err(unsupported(
                "COPY force null only available using COPY FROM",
            ));
        }
        if self.format.as_deref() == Some("binary") {
            return Ok(CopyOutFormat {
                kind: CopyKind::Binary,
                delimiter: b'\t',
                null: String::new(),
                quote: b'"',
                escape: b'"',
                header: false,
                force_quote: vec![false; columns.len()],
            });
        }
        let force_quote = self.force_quote.clone();
        let plain = Options {
            force_quote: None,
            format: self.format.clone(),
            delimiter: self.delimiter,
            null: self.null.clone(),
            header: self.header,
            quote: self.quote,
            escape: self.escape,
            encoding: self.encoding.clone(),
            ..Options::default()
        };
        let f = plain.format()?;
        let csv = f.kind == Kind::Csv;
        let mut quoted = vec![false; columns.len()];
        if let Some(list) = &force_quote {
            if !csv {
                return Err(unsupported("COPY force quote available only in CSV mode"));
            }
            if list.is_empty() {
                quoted = vec![true; columns.len()];
            }
            for ident in list {
                let name = normalize(ident);
                let i = columns.iter().position(|c| *c == name).ok_or_else(|| {
                    Error::InvalidStatement(format!(
                        "FORCE_QUOTE column \"{name}\" not referenced by COPY"
                    ))
                })?;
                quoted[i] = true;
            }
        }
        Ok(CopyOutFormat {
            kind: if csv { CopyKind::Csv } else { CopyKind::Text },
            delimiter: f.delimiter,
            null: String::from_utf8_lossy(&f.null).into_owned(),
            quote: f.quote,
            escape: f.escape,
            header: f.header,
            force_quote: quoted,
        })
    }

    /// Binary COPY takes none of the text formats' options (42601).
    fn refuse_text_options_in_binary(&self) -> Result<()> {
        for (given, name) in [
            (self.delimiter.is_some(), "DELIMITER"),
            (self.null.is_some(), "NULL"),
            (self.header.is_some(), "HEADER"),
            (self.quote.is_some(), "QUOTE"),
            (self.escape.is_some(), "ESCAPE"),
        ] {
            if given {
                return Err(Error::Syntax(format!(
                    "cannot specify {name} in BINARY mode"
                )));
            }
        }
        Ok(())
    }

    /// The text format binary COPY FROM rows arrive in, once the wire
    /// layer decoded them; options that binary COPY refuses are refused.
    fn binary_in(&self) -> Result<CopyFormat> {
        self.refuse_text_options_in_binary()?;
        if self.force_null.is_some() || self.force_not_null.is_some() {
            return Err(unsupported("COPY force null available only in CSV mode"));
        }
        Ok(CopyFormat::new(Kind::Text))
    }

    /// The data format, checked the way PostgreSQL's `ProcessCopyOptions`
    /// checks it. FORCE_* columns are resolved by the caller.
    fn format(&self) -> Result<CopyFormat> {
        let kind = match self.format.as_deref() {
            None | Some("text") => Kind::Text,
            Some("csv") => Kind::Csv,
            Some("binary") => {
                return Err(unsupported(
                    "COPY in binary format is not supported: use FORMAT text or csv",
                ));
            }
            Some(other) => return Err(invalid(format!("COPY format \"{other}\" not recognized"))),
        };
        let csv = kind == Kind::Csv;
        let mut f = CopyFormat::new(kind);
        if let Some(c) = self.delimiter {
            f.delimiter = one_byte(c, "delimiter")?;
        }
        if let Some(null) = &self.null {
            f.null = null.as_bytes().to_vec();
        }
        f.header = self.header.unwrap_or(false);
        if f.delimiter == b'\n' || f.delimiter == b'\r' {
            return Err(invalid(
                "COPY delimiter cannot be newline or carriage return",
            ));
        }
        if f.null.contains(&b'\n') || f.null.contains(&b'\r') {
            return Err(invalid(
                "COPY null representation cannot use newline or carriage return",
            ));
        }
        if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&f.delimiter) {
            return Err(invalid(format!(
                "COPY delimiter cannot be \"{}\"",
                f.delimiter as char
            )));
        }
        if let Some(c) = self.quote {
            if !csv {
                return Err(unsupported("COPY quote available only in CSV mode"));
            }
            f.quote = one_byte(c, "quote")?;
            f.escape = f.quote;
        }
        if f.delimiter == f.quote && csv {
            return Err(invalid("COPY delimiter and quote must be different"));
        }
        if let Some(c) = self.escape {
            if !csv {
                return Err(unsupported("COPY escape available only in CSV mode"));
            }
            f.escape = one_byte(c, "escape")?;
        }
        if self.force_quote.is_some() {
            return Err(unsupported(if csv {
                "COPY force quote only available using COPY TO"
            } else {
                "COPY force quote available only in CSV mode"
            }));
        }
        if self.force_not_null.is_some() && !csv {
            return Err(unsupported(
                "COPY force not null available only in CSV mode",
            ));
        }
        if self.force_null.is_some() && !csv {
            return Err(unsupported("COPY force null available only in CSV mode"));
        }
        if f.null.contains(&f.delimiter) {
            return Err(unsupported(
                "COPY delimiter must not appear in the NULL specification",
            ));
        }
        if csv && f.null.contains(&f.quote) {
            return Err(unsupported(
                "CSV quote character must not appear in the NULL specification",
            ));
        }
        if let Some(encoding) = &self.encoding {
            let name: String = encoding
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if name != "utf8" && name != "unicode" {
                return Err(unsupported(format!(
                    "COPY ENCODING '{encoding}' is not supported: data must be UTF8"
                )));
            }
        }
        Ok(f)
    }
}

/// By input field, whether a FORCE_NULL / FORCE_NOT_NULL list names it.
fn force_flags(
    list: &Option<Vec<Ident>>,
    option: &str,
    table: &Table,
    targets: &[usize],
) -> Result<Vec<bool>> {
    let mut flags = vec![false; targets.len()];
    for ident in list.iter().flatten() {
        let name = normalize(ident);
        let column = table
            .column_index(&name)
            .filter(|&i| !table.columns[i].hidden)
            .ok_or_else(|| undefined_column(&name, table))?;
        let field = targets.iter().position(|&t| t == column).ok_or_else(|| {
            Error::InvalidStatement(format!("{option} column \"{name}\" not referenced by COPY"))
        })?;
        flags[field] = true;
    }
    Ok(flags)
}

fn undefined_column(name: &str, table: &Table) -> Error {
    Error::UndefinedColumn(format!(
        "column \"{name}\" of relation \"{}\" does not exist",
        table.name
    ))
}

/// [`prismdb_sql::parse`], refusing statements after a `COPY ... FROM
/// STDIN`: sqlparser takes whatever follows it for inline data (and may
/// drop it), where PostgreSQL would run it after the copy.
pub(crate) fn parse_statements(sql: &str) -> Result<Vec<Statement>> {
    use prismdb_sql::sqlparser::dialect::PostgreSqlDialect;
    use prismdb_sql::sqlparser::tokenizer::{Token, Tokenizer};
    let stmts = prismdb_sql::parse(sql)?;
    let copy_in = matches!(
        stmts.last(),
        Some(Statement::Copy {
            to: false,
            target: CopyTarget::Stdin,
            ..
        })
    );
    if !copy_in {
        return Ok(stmts);
    }
    // Count the non-empty `;`-separated pieces of the text.
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| Error::Syntax(format!("syntax error: {e}")))?;
    let mut pieces = 0;
    let mut in_piece = false;
    for token in &tokens {
        match token {
            Token::SemiColon => in_piece = false,
            Token::Whitespace(_) => {}
            _ if !in_piece => {
                pieces += 1;
                in_piece = true;
            }
            _ => {}
        }
    }
    if pieces > stmts.len() {
        return Err(unsupported(
            "COPY FROM STDIN must be the last statement of a query string",
        ));
    }
    Ok(stmts)
}

fn no_copy() -> Error {
    Error::Protocol("no COPY FROM STDIN is in progress".into())
}

impl Session {
    /// Runs a COPY statement: a `COPY ... FROM STDIN` is checked and left
    /// waiting for the client's data (see [`Session::copy_in_columns`]);
    /// its result is a placeholder, the real one comes from
    /// [`Session::copy_done`].
    pub(crate) async fn copy(&mut self, stmt: &Statement) -> Result<Output> {
        let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            values,
        } = stmt
        else {
            return Err(Error::Internal("not a COPY statement".into()));
        };
        if *to {
            return Box::pin(self.copy_to(source, target, options, legacy_options)).await;
        }
        match target {
            CopyTarget::Stdin => {}
            CopyTarget::File { .. } | CopyTarget::Program { .. } => {
                return Err(unsupported(
                    "COPY FROM a file or program is not supported: the server reads no files; \
                     use COPY FROM STDIN (psql's \\copy)",
                ));
            }
            CopyTarget::Stdout => return Err(Error::Syntax("syntax error at STDOUT".into())),
        }
        // sqlparser reads what follows `FROM STDIN;` as inline data (see
        // also `parse_statements`).
        if values
            .iter()
            .any(|v| v.as_deref().is_none_or(|s| !s.trim().is_empty()))
        {
            return Err(unsupported(
                "COPY FROM STDIN must be the last statement of a query string",
            ));
        }
        let CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(Error::Syntax("COPY FROM does not take a query".into()));
        };
        let options = Options::collect(options, legacy_options)?;
        // Outside a block the COPY reads (and resolves its table) at a
        // linearizable read point, like any autocommit statement.
        let own_txn = match self.txn {
            Some(_) => None,
            None => Some(Txn::begin(self.engine.snapshot().await?, false)),
        };
        let table = self.table(&object_name(table_name)?)?;
        // Binary rows are turned into text rows by the wire layer, which
        // decodes each value by its column's type (see `copy_in_binary`).
        let binary = options.format.as_deref() == Some("binary");
        let mut format = if binary {
            options.binary_in()?
        } else {
            options.format()?
        };
        let targets: Vec<usize> = if columns.is_empty() {
            table.visible_columns().map(|(i, _)| i).collect()
        } else {
            let mut targets = Vec::with_capacity(columns.len());
            for ident in columns {
                let name = normalize(ident);
                let i = table
                    .column_index(&name)
                    .filter(|&i| !table.columns[i].hidden)
                    .ok_or_else(|| undefined_column(&name, &table))?;
                if targets.contains(&i) {
                    return Err(Error::DuplicateColumn(format!(
                        "column \"{name}\" specified more than once"
                    )));
                }
                targets.push(i);
            }
            targets
        };
        format.force_null = force_flags(&options.force_null, "FORCE_NULL", &table, &targets)?;
        format.force_not_null =
            force_flags(&options.force_not_null, "FORCE_NOT_NULL", &table, &targets)?;
        let omitted: Vec<usize> = table
            .visible_columns()
            .map(|(i, _)| i)
            .filter(|i| !targets.contains(i))
            .collect();
        let defaults = self.default_values(&table, &omitted).await?;
        let mut template = vec![Value::Null; table.columns.len()];
        for (&i, value) in omitted.iter().zip(defaults) {
            template[i] = value;
        }
        let builders = targets.iter().map(|_| StringBuilder::new()).collect();
        self.copy = Some(Box::new(CopyIn {
            own_txn,
            binary,
            load: Load {
                table,
                targets,
                template,
                reader: RowReader::new(format),
                fields: Fields::default(),
                builders,
                pending: 0,
                rows: 0,
                indexes: self.engine.indexes(&self.schema.current()),
            },
        }));
        Ok(Output::command("COPY"))
    }

    /// While a `COPY ... FROM STDIN` waits for data: how many columns each
    /// of its rows has (for CopyInResponse).
    pub fn copy_in_columns(&self) -> Option<usize> {
        self.copy.as_ref().map(|c| c.load.targets.len())
    }

    /// For a binary `COPY ... FROM STDIN`: the fields of its columns, by
    /// which the wire layer decodes each value before passing the rows on
    /// as text (tab-separated, `\N` for NULL, backslash escapes).
    pub fn copy_in_binary(&self) -> Option<Vec<datafusion::arrow::datatypes::Field>> {
        let copy = self.copy.as_ref().filter(|c| c.binary)?;
        let table = &copy.load.table;
        Some(
            copy.load
                .targets
                .iter()
                .map(|&i| {
                    let c = &table.columns[i];
                    c.ty.arrow_field(&c.name, c.nullable)
                })
                .collect(),
        )
    }

    /// One CopyData chunk of the running COPY. After an error the COPY is
    /// over (and a transaction block failed).
    pub fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        let mut copy = self.copy.take().ok_or_else(no_copy)?;
        if let Err(e) = self.guard.check() {
            self.fail_block();
            return Err(e);
        }
        copy.load.reader.push(data);
        match self.feed(&mut copy, false) {
            Ok(()) => {
                self.copy = Some(copy);
                Ok(())
            }
            Err(e) => {
                self.fail_block();
                Err(e)
            }
        }
    }

    /// CopyDone: reads the rest of the data and, outside a transaction
    /// block, commits the COPY. Its tag is `COPY n`.
    pub async fn copy_done(&mut self) -> Result<Output> {
        let mut copy = self.copy.take().ok_or_else(no_copy)?;
        if let Err(e) = self.guard.check().and_then(|()| self.feed(&mut copy, true)) {
            self.fail_block();
            return Err(e);
        }
        let rows = copy.load.rows;
        if let Some(txn) = copy.own_txn.take()
            && !txn.is_read_only()
        {
            let started = std::time::Instant::now();
            let ws = self.write_set(&txn)?;
            let encoded = started.elapsed();
            let committed = self.engine.log.commit(ws).await;
            // Freeing a large transaction takes a while: not on the reply path.
            tokio::task::spawn_blocking(move || drop(txn));
            committed?;
            tracing::debug!(
                rows,
                ?encoded,
                committed = ?started.elapsed(),
                "COPY committed its write set"
            );
        }
        Ok(Output::command(format!("COPY {rows}")))
    }

    /// CopyFail: abandons the COPY (failing a transaction block) and
    /// returns the error to report.
    pub fn copy_fail(&mut self, message: &str) -> Error {
        self.copy = None;
        self.fail_block();
        Error::QueryCanceled(format!("COPY from stdin failed: {message}"))
    }

    /// Drops a COPY the client left for another statement (a protocol
    /// violation the wire layer already reported): like any failed
    /// statement it fails a transaction block.
    pub(crate) fn abandon_copy(&mut self) {
        if self.copy.take().is_some() {
            self.fail_block();
        }
    }

    fn fail_block(&mut self) {
        if let Some(t) = self.txn.as_mut() {
            t.failed = true;
        }
    }

    /// Loads the complete rows buffered in `copy` into its transaction
    /// (its own or the block's); `finished` after CopyDone.
    fn feed(&mut self, copy: &mut CopyIn, finished: bool) -> Result<()> {
        let CopyIn { own_txn, load, .. } = copy;
        if let Some(txn) = own_txn {
            return self.load_rows(load, txn, finished);
        }
        let mut txn = self
            .txn
            .take()
            .ok_or_else(|| Error::Internal("COPY lost its transaction block".into()))?;
        let r = self.load_rows(load, &mut txn, finished);
        self.txn = Some(txn);
        r
    }

    fn load_rows(&self, load: &mut Load, txn: &mut Txn, finished: bool) -> Result<()> {
        loop {
            match load.reader.next_row(&mut load.fields, finished) {
                Ok(Next::Row) => {}
                Ok(Next::NeedMore | Next::End) => break,
                Err(e) => {
                    // Rows before the bad one may fail first.
                    self.flush(load, txn)?;
                    return Err(e);
                }
            }
            let count = load.fields.len();
            let expected = load.targets.len();
            if count != expected {
                self.flush(load, txn)?;
                return Err(self.bad_row(load, count, expected));
            }
            if let Err(e) = load.add_row() {
                self.flush(load, txn)?;
                return Err(e);
            }
            if load.pending == BATCH_ROWS {
                self.flush(load, txn)?;
            }
        }
        if finished {
            self.flush(load, txn)?;
        }
        Ok(())
    }

    /// The error for a row with the wrong number of fields: an extra field
    /// is reported at once; with fields missing, the ones present are
    /// converted first (their errors come first, as in PostgreSQL).
    fn bad_row(&self, load: &Load, count: usize, expected: usize) -> Error {
        if count > expected {
            return Error::BadCopyFormat("extra data after last expected column".into());
        }
        let table = &load.table;
        for (i, &c) in load.targets.iter().enumerate().take(count) {
            let text = match load.fields.get(i).map(std::str::from_utf8) {
                None => None,
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    let bytes = load.fields.get(i).unwrap_or_default();
                    return invalid_byte(&bytes[e.valid_up_to()..]);
                }
            };
            let array: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(vec![text]));
            if let Err(e) = column_values(&array, &table.columns[c], &table.name) {
                return e;
            }
        }
        Error::BadCopyFormat(format!(
            "missing data for column \"{}\"",
            table.columns[load.targets[count]].name
        ))
    }

    /// Converts the pending batch and buffers its rows in `txn`, checking
    /// each as INSERT does.
    fn flush(&self, load: &mut Load, txn: &mut Txn) -> Result<()> {
        if load.pending == 0 {
            return Ok(());
        }
        let rows = std::mem::take(&mut load.pending);
        let arrays: Vec<ArrayRef> = load
            .builders
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let table = load.table.clone();
        let converted: Result<Vec<Vec<Value>>> = arrays
            .iter()
            .zip(&load.targets)
            .map(|(a, &c)| column_values(a, &table.columns[c], &table.name))
            .collect();
        let columns = match converted {
            Ok(columns) => columns,
            Err(e) => {
                // Find the first bad row: its errors, and those of the rows
                // before it, are reported in row order.
                for row in 0..rows {
                    let mut stored = load.template.clone();
                    for (a, &c) in arrays.iter().zip(&load.targets) {
                        let mut v =
                            column_values(&a.slice(row, 1), &table.columns[c], &table.name)?;
                        stored[c] = v.pop().unwrap_or(Value::Null);
                    }
                    self.insert_copied(load, stored, txn, &Probe::PerRow)?;
                }
                return Err(e);
            }
        };
        let mut columns: Vec<std::vec::IntoIter<Value>> =
            columns.into_iter().map(Vec::into_iter).collect();
        let batch: Vec<Vec<Value>> = (0..rows)
            .map(|_| {
                let mut stored = load.template.clone();
                for (values, &c) in columns.iter_mut().zip(&load.targets) {
                    stored[c] = values.next().unwrap_or(Value::Null);
                }
                stored
            })
            .collect();
        let probe = self.probe(&table, &batch, txn.read_version)?;
        for stored in batch {
            self.insert_copied(load, stored, txn, &probe)?;
        }
        Ok(())
    }

    /// Finds which keys of a batch already have a live row at the snapshot
    /// `at`, with one scan of the batch's key range instead of a point
    /// read per row (what makes COPY fast: most of INSERT's per-row cost).
    fn probe(&self, table: &Table, batch: &[Vec<Value>], at: Version) -> Result<Probe> {
        if table.has_rowid() {
            return Ok(Probe::FreshRowIds);
        }
        let keys: Vec<Vec<u8>> = batch.iter().map(|row| key_of(table, row)).collect();
        let (Some(low), Some(high)) = (keys.iter().min(), keys.iter().max()) else {
            return Ok(Probe::Taken(HashSet::new()));
        };
        // A range holding many more rows than the batch (keys interleaved
        // with existing ones) is cheaper to check row by row.
        let limit = keys.len() * 2 + 16;
        let chunk = self.engine.store.scan(
            table.id,
            Bound::Included(low),
            Bound::Included(high),
            at,
            limit,
        )?;
        if chunk.resume_after.is_some() {
            return Ok(Probe::PerRow);
        }
        Ok(Probe::Taken(
            chunk.rows.into_iter().map(|(k, _)| k).collect(),
        ))
    }

    /// Buffers one converted row through INSERT's checks, the snapshot's
    /// keys as `probe` knows them.
    fn insert_copied(
        &self,
        load: &mut Load,
        mut stored: Vec<Value>,
        txn: &mut Txn,
        probe: &Probe,
    ) -> Result<()> {
        let at = txn.read_version;
        let key = self.new_row_key(&load.table, &mut stored, txn, |key| match probe {
            Probe::FreshRowIds => Ok(false),
            Probe::Taken(taken) => Ok(taken.contains(&key.1)),
            Probe::PerRow => stored_at(&self.engine.store, at, key),
        })?;
        if !load.indexes.on(load.table.id).is_empty() {
            check_unique(txn, &load.indexes, &self.engine.store, &key, &stored, None)?;
        }
        txn.insert(key, stored);
        load.rows += 1;
        Ok(())
    }
}

/// What a batch's rows need to know of the keys at the snapshot.
enum Probe {
    /// The table's key is its hidden row id, and a new row's id is fresh:
    /// the store never hands out one that was committed.
    FreshRowIds,
    /// Every key in the batch's key range with a live row.
    Taken(HashSet<Vec<u8>>),
    /// Unknown: read each key.
    PerRow,
}

impl Load {
    /// Appends the row in `fields` to the pending batch.
    fn add_row(&mut self) -> Result<()> {
        // Check every field before appending any, so that a bad row leaves
        // the batch whole.
        for i in 0..self.fields.len() {
            if let Some(bytes) = self.fields.get(i)
                && let Err(e) = std::str::from_utf8(bytes)
            {
                return Err(invalid_byte(&bytes[e.valid_up_to()..]));
            }
        }
        for (i, builder) in self.builders.iter_mut().enumerate() {
            match self.fields.get(i).map(std::str::from_utf8) {
                Some(Ok(s)) => builder.append_value(s),
                _ => builder.append_null(),
            }
        }
        self.pending += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prismdb_sql::parse;

    fn format_of(sql: &str) -> Result<CopyFormat> {
        let Some(Statement::Copy {
            options,
            legacy_options,
            ..
        }) = parse(sql)?.pop()
        else {
            panic!("not a COPY: {sql}");
        };
        Options::collect(&options, &legacy_options)?.format()
    }

    fn code(r: Result<CopyFormat>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => format!("{e:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }

    #[test]
    fn options_and_legacy_options() {
        let f = format_of("COPY t FROM STDIN").unwrap();
        assert_eq!(
            (f.kind, f.delimiter, &f.null[..]),
            (Kind::Text, b'\t', &b"\\N"[..])
        );
        let f = format_of("COPY t FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'x', HEADER)")
            .unwrap();
        assert_eq!(
            (f.kind, f.delimiter, &f.null[..], f.header),
            (Kind::Csv, b';', &b"x"[..], true)
        );
        let f = format_of("COPY t FROM STDIN WITH CSV HEADER").unwrap();
        assert_eq!((f.kind, f.header, &f.null[..]), (Kind::Csv, true, &b""[..]));
        let f = format_of("COPY t FROM STDIN (FORMAT csv, QUOTE '''', ESCAPE '\\')").unwrap();
        assert_eq!((f.quote, f.escape), (b'\'', b'\\'));
        let f = format_of("COPY t FROM STDIN DELIMITER ',' NULL 'NULL'").unwrap();
        assert_eq!((f.delimiter, &f.null[..]), (b',', &b"NULL"[..]));
        let f = format_of("COPY t FROM STDIN (FORMAT text, HEADER false)").unwrap();
        assert!(!f.header);
    }

    #[test]
    fn copy_from_stdin_ends_its_query_string() {
        // sqlparser reads whatever follows `COPY ... FROM STDIN;` as inline
        // data; the session refuses it (0A000) rather than lose statements.
        let values = |sql: &str| match parse(sql).unwrap().pop() {
            Some(Statement::Copy { values, .. }) => values
                .iter()
                .filter(|v| v.as_deref().is_none_or(|s| !s.trim().is_empty()))
                .count(),
            other => panic!("not a COPY: {other:?}"),
        };
        assert_eq!(values("COPY t FROM STDIN"), 0);
        assert_eq!(values("COPY t FROM STDIN;"), 0);
        assert_eq!(values("COPY t FROM STDIN ; \n"), 0);
        assert!(values("COPY t FROM STDIN;\nSELECT 1\n") > 0);
        // Without a line end it is lost altogether: the text is counted.
        assert_eq!(values("COPY t FROM STDIN; SELECT 1"), 0);
        let refused = |sql: &str| matches!(parse_statements(sql), Err(Error::NotSupported(_)));
        assert!(refused("COPY t FROM STDIN; SELECT 1"));
        assert!(refused("COPY t FROM STDIN; COPY u FROM STDIN;"));
        assert!(!refused("COPY t FROM STDIN ; -- done\n"));
        assert!(!refused(
            "SELECT ';'; COPY t (a) FROM STDIN WITH (FORMAT csv);"
        ));
        assert_eq!(
            parse_statements("SELECT 1; COPY t FROM STDIN")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn option_errors_match_postgres() {
        let cases = [
            ("COPY t FROM STDIN (FORMAT binary)", "NotSupported"),
            ("COPY t FROM STDIN BINARY", "NotSupported"),
            ("COPY t FROM STDIN (FORMAT xml)", "InvalidParameterValue"),
            ("COPY t FROM STDIN (FORMAT csv, FORMAT csv)", "Syntax"),
            (
                "COPY t FROM STDIN (DELIMITER '\\')",
                "InvalidParameterValue",
            ),
            ("COPY t FROM STDIN (DELIMITER 'x')", "InvalidParameterValue"),
            // sqlparser takes only one-byte strings as characters.
            ("COPY t FROM STDIN (DELIMITER 'é')", "Syntax"),
            ("COPY t FROM STDIN (QUOTE '''')", "NotSupported"),
            ("COPY t FROM STDIN (ESCAPE 'x')", "NotSupported"),
            (
                "COPY t FROM STDIN (FORMAT csv, QUOTE ',')",
                "InvalidParameterValue",
            ),
            ("COPY t FROM STDIN (NULL 'a\tb')", "NotSupported"),
            ("COPY t FROM STDIN (FORCE_NULL (b))", "NotSupported"),
            (
                "COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE (b))",
                "NotSupported",
            ),
            ("COPY t FROM STDIN (ENCODING 'latin1')", "NotSupported"),
            ("COPY t FROM STDIN (ENCODING 'UTF-8')", "ok"),
        ];
        for (sql, expected) in cases {
            assert_eq!(code(format_of(sql)), expected, "{sql}");
        }
    }
}

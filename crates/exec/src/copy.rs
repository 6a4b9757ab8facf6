//! COPY's options, their checks and formats, and the state of a `COPY ...
//! FROM STDIN` receiving the client's data (the statements themselves run
//! in [`crate::statement::copy_from`] and [`crate::statement::copy_to`]).

use crate::copy_format::{CopyFormat, Fields, Kind, RowReader, invalid_byte};
use crate::txn::Txn;
use datafusion::arrow::array::StringBuilder;
use prismdb_catalog::Table;
use prismdb_common::copy::{CopyKind, CopyOutFormat};
use prismdb_common::{Error, Result, Value};
use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopyTarget, Ident, Statement,
};
use std::collections::HashSet;
use std::sync::Arc;

/// Rows converted together: large enough that per-batch costs vanish,
/// small enough that errors are found soon after their row arrives.
pub(crate) const BATCH_ROWS: usize = 4096;

/// A `COPY ... FROM STDIN` waiting for, or receiving, the client's data.
pub(crate) struct CopyIn {
    /// The transaction of a COPY run outside a transaction block; inside
    /// one, the rows join the block's transaction.
    pub(crate) own_txn: Option<Txn>,
    /// The client sends binary rows (decoded to text by the wire layer).
    pub(crate) binary: bool,
    pub(crate) load: Load,
}

/// Turns the data of one COPY into buffered inserts.
pub(crate) struct Load {
    pub(crate) table: Arc<Table>,
    /// The stored column each field of an input row goes to.
    pub(crate) targets: Vec<usize>,
    /// A new row before its fields are filled in: the DEFAULTs of the
    /// columns the COPY leaves out, NULL elsewhere.
    pub(crate) template: Vec<Value>,
    pub(crate) reader: RowReader,
    pub(crate) fields: Fields,
    /// The pending batch: one text column per input field.
    pub(crate) builders: Vec<StringBuilder>,
    pub(crate) pending: usize,
    /// Rows buffered in the transaction so far.
    pub(crate) rows: u64,
    /// The indexes of the catalog the COPY writes under (unique keys are
    /// checked row by row).
    pub(crate) indexes: Arc<crate::index_writes::IndexSet>,
}

/// Options of a COPY statement, before they are checked against each other.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) format: Option<String>,
    pub(crate) delimiter: Option<char>,
    pub(crate) null: Option<String>,
    pub(crate) header: Option<bool>,
    pub(crate) quote: Option<char>,
    pub(crate) escape: Option<char>,
    pub(crate) force_null: Option<Vec<Ident>>,
    pub(crate) force_not_null: Option<Vec<Ident>>,
    /// FORCE_QUOTE's columns (`*` parses as none: every column).
    pub(crate) force_quote: Option<Vec<Ident>>,
    pub(crate) encoding: Option<String>,
    pub(crate) freeze: Option<bool>,
}

pub(crate) fn redundant() -> Error {
    Error::Syntax("conflicting or redundant options".into())
}

/// Sets an option once; twice is an error, as in PostgreSQL.
pub(crate) fn once<T>(slot: &mut Option<T>, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(redundant());
    }
    *slot = Some(value);
    Ok(())
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterValue(message.into())
}

pub(crate) fn unsupported(message: impl Into<String>) -> Error {
    Error::NotSupported(message.into())
}

/// A character option as the single byte PostgreSQL requires.
pub(crate) fn one_byte(c: char, what: &str) -> Result<u8> {
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
    pub(crate) fn binary_in(&self) -> Result<CopyFormat> {
        self.refuse_text_options_in_binary()?;
        if self.force_null.is_some() || self.force_not_null.is_some() {
            return Err(unsupported("COPY force null available only in CSV mode"));
        }
        Ok(CopyFormat::new(Kind::Text))
    }

    /// The data format, checked the way PostgreSQL's `ProcessCopyOptions`
    /// checks it. FORCE_* columns are resolved by the caller.
    pub(crate) fn format(&self) -> Result<CopyFormat> {
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
pub(crate) fn force_flags(
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

pub(crate) fn undefined_column(name: &str, table: &Table) -> Error {
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

pub(crate) fn no_copy() -> Error {
    Error::Protocol("no COPY FROM STDIN is in progress".into())
}

/// What a batch's rows need to know of the keys at the snapshot.
pub(crate) enum Probe {
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
    pub(crate) fn add_row(&mut self) -> Result<()> {
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

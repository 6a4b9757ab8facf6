//! The data formats of `COPY ... FROM STDIN`: PostgreSQL's text format and
//! CSV, read from a stream of CopyData chunks into rows of raw fields.
//!
//! [`CopyFormat`] holds the options that shape the data (delimiter, NULL
//! string, quote and escape characters, header, FORCE_NULL and
//! FORCE_NOT_NULL). [`RowReader`] buffers the client's chunks — a row may
//! span any number of them — and splits complete rows into [`Fields`]: it
//! undoes text-format backslash escapes and CSV quoting, recognizes NULLs
//! (compared against the raw field text, as PostgreSQL does), skips the
//! header line, stops at the `\.` end marker and insists on one newline
//! style per stream, all as PostgreSQL 15 does. Turning fields into typed
//! values is not its business (see `crate::copy`).

use prismdb_common::{Error, Result};
use std::ops::Range;

/// Text or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Csv,
}

/// How the data of one COPY is laid out.
#[derive(Debug, Clone)]
pub(crate) struct CopyFormat {
    pub kind: Kind,
    pub delimiter: u8,
    /// The raw field text that stands for NULL (`\N` in text, empty in CSV).
    pub null: Vec<u8>,
    /// CSV only.
    pub quote: u8,
    /// CSV only.
    pub escape: u8,
    /// The first line names the columns and is skipped.
    pub header: bool,
    /// CSV only, by field position: a quoted field equal to the NULL
    /// string is NULL too (FORCE_NULL).
    pub force_null: Vec<bool>,
    /// CSV only, by field position: never NULL; the NULL string is read as
    /// text (FORCE_NOT_NULL).
    pub force_not_null: Vec<bool>,
}

impl CopyFormat {
    /// PostgreSQL's defaults for a format.
    pub fn new(kind: Kind) -> CopyFormat {
        CopyFormat {
            kind,
            delimiter: if kind == Kind::Csv { b',' } else { b'\t' },
            null: if kind == Kind::Csv {
                Vec::new()
            } else {
                b"\\N".to_vec()
            },
            quote: b'"',
            escape: b'"',
            header: false,
            force_null: Vec::new(),
            force_not_null: Vec::new(),
        }
    }
}

/// The fields of one row: their decoded bytes back to back, and each
/// field's range in them (`None` for NULL).
#[derive(Debug, Default)]
pub(crate) struct Fields {
    data: Vec<u8>,
    fields: Vec<Option<Range<usize>>>,
}

impl Fields {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i`'s bytes, `None` for NULL.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.fields[i].clone().map(|r| &self.data[r])
    }

    fn clear(&mut self) {
        self.data.clear();
        self.fields.clear();
    }

    /// Ends the field whose decoded bytes start at `start`; `null` says
    /// its raw text was the NULL string.
    fn end_field(&mut self, start: usize, null: bool) {
        if null {
            self.data.truncate(start);
            self.fields.push(None);
        } else {
            self.fields.push(Some(start..self.data.len()));
        }
    }
}

/// What [`RowReader::next_row`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A row; its fields are in the caller's [`Fields`].
    Row,
    /// The buffered data ends inside a row: wait for more.
    NeedMore,
    /// No more rows: the end marker, or the end of the data after CopyDone.
    End,
}

/// The newline style of a stream, fixed by its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Nl,
    Cr,
    CrNl,
}

/// Outcome of parsing at the read position.
enum Parsed {
    /// A row that used this many bytes.
    Row(usize),
    Incomplete,
    /// The end marker at the start of a line.
    End,
}

/// Splits a COPY data stream into rows of fields.
pub(crate) struct RowReader {
    format: CopyFormat,
    buf: Vec<u8>,
    /// Start of the unread data in `buf`.
    pos: usize,
    /// No line end was found in `buf[pos..scanned]` when a row was last
    /// incomplete: nothing new to parse until a line end arrives after it.
    scanned: usize,
    eol: Option<Eol>,
    header_pending: bool,
    /// The end marker was seen; the rest of the data is ignored.
    ended: bool,
}

fn bad_format(message: &str) -> Error {
    Error::BadCopyFormat(message.to_string())
}

/// PostgreSQL rejects NUL bytes in text; the whole class is 22021.
pub(crate) fn invalid_byte(b: &[u8]) -> Error {
    let shown: Vec<String> = b.iter().take(2).map(|b| format!("0x{b:02x}")).collect();
    Error::DataException(format!(
        "invalid byte sequence for encoding \"UTF8\": {}",
        shown.join(" ")
    ))
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl RowReader {
    pub fn new(format: CopyFormat) -> RowReader {
        RowReader {
            header_pending: format.header,
            format,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            eol: None,
            ended: false,
        }
    }

    /// Appends a chunk of the client's data.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.ended {
            return;
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned = self.scanned.saturating_sub(self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Reads the next complete row into `out`. `finished` says the client
    /// sent CopyDone: the buffered data is all there is, and a last line
    /// without a line end is a row.
    pub fn next_row(&mut self, out: &mut Fields, finished: bool) -> Result<Next> {
        loop {
            if self.ended {
                return Ok(Next::End);
            }
            if self.pos == self.buf.len() {
                return Ok(if finished { Next::End } else { Next::NeedMore });
            }
            if !finished {
                let from = self.scanned.max(self.pos);
                if !self.buf[from..].iter().any(|&b| b == b'\n' || b == b'\r') {
                    self.scanned = self.buf.len();
                    return Ok(Next::NeedMore);
                }
            }
            out.clear();
            let parsed = match self.format.kind {
                Kind::Text => self.parse_text(out, finished)?,
                Kind::Csv => self.parse_csv(out, finished)?,
            };
            match parsed {
                Parsed::Incomplete => {
                    self.scanned = self.buf.len();
                    return Ok(Next::NeedMore);
                }
                Parsed::End => {
                    self.ended = true;
                    return Ok(Next::End);
                }
                Parsed::Row(used) => {
                    self.pos += used;
                    if self.header_pending {
                        self.header_pending = false;
                        continue;
                    }
                    if self.format.kind == Kind::Csv {
                        self.apply_force(out);
                    }
                    return Ok(Next::Row);
                }
            }
        }
    }

    /// FORCE_NULL and FORCE_NOT_NULL, by field position.
    fn apply_force(&self, out: &mut Fields) {
        for i in 0..out.fields.len() {
            match &out.fields[i] {
                None if self.format.force_not_null.get(i) == Some(&true) => {
                    let start = out.data.len();
                    out.data.extend_from_slice(&self.format.null);
                    out.fields[i] = Some(start..out.data.len());
                }
                Some(r)
                    if self.format.force_null.get(i) == Some(&true)
                        && out.data[r.clone()] == self.format.null[..] =>
                {
                    out.fields[i] = None;
                }
                _ => {}
            }
        }
    }

    /// Checks a line end against the stream's newline style (the first
    /// line fixes it).
    fn line_end(&mut self, eol: Eol, csv: bool) -> Result<()> {
        let Some(expected) = self.eol else {
            self.eol = Some(eol);
            return Ok(());
        };
        if expected == eol {
            return Ok(());
        }
        // What the stray character is, as PostgreSQL words it.
        let newline = matches!((expected, eol), (Eol::Cr, _) | (Eol::CrNl, Eol::Nl));
        Err(match (newline, csv) {
            (true, false) => bad_format("literal newline found in data"),
            (false, false) => bad_format("literal carriage return found in data"),
            (true, true) => bad_format("unquoted newline found in data"),
            (false, true) => bad_format("unquoted carriage return found in data"),
        })
    }

    /// The line end at `buf[i]` (a CR or LF): its style and length, or
    /// `None` if a CR ends the buffered data and an LF may follow.
    fn eol_at(buf: &[u8], i: usize, finished: bool) -> Option<(Eol, usize)> {
        if buf[i] == b'\n' {
            return Some((Eol::Nl, 1));
        }
        match buf.get(i + 1) {
            Some(b'\n') => Some((Eol::CrNl, 2)),
            Some(_) => Some((Eol::Cr, 1)),
            None if finished => Some((Eol::Cr, 1)),
            None => None,
        }
    }

    /// One text-format row at the read position.
    fn parse_text(&mut self, out: &mut Fields, finished: bool) -> Result<Parsed> {
        let buf = &self.buf[self.pos..];
        let delimiter = self.format.delimiter;
        let null = &self.format.null[..];
        let mut i = 0;
        let mut raw_start = 0;
        let mut data_start = 0;
        loop {
            // Copy the run of ordinary bytes in one go.
            let run = i;
            while i < buf.len() {
                let c = buf[i];
                if c == delimiter || c == b'\\' || c == b'\n' || c == b'\r' || c == 0 {
                    break;
                }
                i += 1;
            }
            out.data.extend_from_slice(&buf[run..i]);
            if i == buf.len() {
                if !finished {
                    return Ok(Parsed::Incomplete);
                }
                out.end_field(data_start, buf[raw_start..i] == *null);
                return Ok(Parsed::Row(i));
            }
            let c = buf[i];
            if c == 0 {
                return Err(invalid_byte(&buf[i..]));
            }
            if c == delimiter {
                out.end_field(data_start, buf[raw_start..i] == *null);
                i += 1;
                raw_start = i;
                data_start = out.data.len();
                continue;
            }
            if c == b'\n' || c == b'\r' {
                let Some((eol, len)) = Self::eol_at(buf, i, finished) else {
                    return Ok(Parsed::Incomplete);
                };
                out.end_field(data_start, buf[raw_start..i] == *null);
                self.line_end(eol, false)?;
                return Ok(Parsed::Row(i + len));
            }
            // A backslash escape.
            let Some(&next) = buf.get(i + 1) else {
                if !finished {
                    return Ok(Parsed::Incomplete);
                }
                // A backslash ending the data is dropped.
                i += 1;
                continue;
            };
            if next == b'.' {
                // The end marker: ends the data, with whatever precedes it
                // on its line as the last row.
                let after = i + 2;
                let eol = match buf.get(after) {
                    None if !finished => return Ok(Parsed::Incomplete),
                    None => None,
                    Some(b'\n' | b'\r') => match Self::eol_at(buf, after, finished) {
                        None => return Ok(Parsed::Incomplete),
                        some => some,
                    },
                    Some(_) => None,
                };
                let Some((eol, _)) = eol else {
                    return Err(bad_format("end-of-copy marker corrupt"));
                };
                if self.eol.is_some_and(|e| e != eol) {
                    return Err(bad_format(
                        "end-of-copy marker does not match previous newline style",
                    ));
                }
                self.ended = true;
                if i == 0 {
                    return Ok(Parsed::End);
                }
                out.end_field(data_start, buf[raw_start..i] == *null);
                return Ok(Parsed::Row(after));
            }
            i += 2;
            let byte = match next {
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                b'0'..=b'7' => {
                    let mut value = u32::from(next - b'0');
                    for _ in 0..2 {
                        match buf.get(i) {
                            Some(d @ b'0'..=b'7') => {
                                value = value * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            None if !finished => return Ok(Parsed::Incomplete),
                            _ => break,
                        }
                    }
                    (value & 0xff) as u8
                }
                b'x' => match buf.get(i).and_then(|&d| hex_value(d)) {
                    None if i == buf.len() && !finished => return Ok(Parsed::Incomplete),
                    None => b'x',
                    Some(high) => {
                        i += 1;
                        match buf.get(i).and_then(|&d| hex_value(d)) {
                            None if i == buf.len() && !finished => {
                                return Ok(Parsed::Incomplete);
                            }
                            None => high,
                            Some(low) => {
                                i += 1;
                                high * 16 + low
                            }
                        }
                    }
                },
                other => other,
            };
            if byte == 0 {
                return Err(invalid_byte(&[0]));
            }
            out.data.push(byte);
        }
    }

    /// One CSV row at the read position.
    fn parse_csv(&mut self, out: &mut Fields, finished: bool) -> Result<Parsed> {
        let buf = &self.buf[self.pos..];
        // `\.` alone on a line ends the data.
        if buf.starts_with(b"\\.") {
            match buf.get(2) {
                None if !finished => return Ok(Parsed::Incomplete),
                Some(b'\n' | b'\r') => match Self::eol_at(buf, 2, finished) {
                    None => return Ok(Parsed::Incomplete),
                    Some(_) => return Ok(Parsed::End),
                },
                _ => {}
            }
        }
        let CopyFormat {
            delimiter,
            quote,
            escape,
            ..
        } = self.format;
        let null = &self.format.null[..];
        let mut i = 0;
        let mut raw_start = 0;
        let mut data_start = 0;
        let mut in_quote = false;
        let mut saw_quote = false;
        loop {
            let Some(&c) = buf.get(i) else {
                if !finished {
                    return Ok(Parsed::Incomplete);
                }
                if in_quote {
                    return Err(bad_format("unterminated CSV quoted field"));
                }
                out.end_field(data_start, !saw_quote && buf[raw_start..i] == *null);
                return Ok(Parsed::Row(i));
            };
            if c == 0 {
                return Err(invalid_byte(&buf[i..]));
            }
            if in_quote {
                if c == escape {
                    match buf.get(i + 1) {
                        None if !finished => return Ok(Parsed::Incomplete),
                        Some(&n) if n == escape || n == quote => {
                            out.data.push(n);
                            i += 2;
                            continue;
                        }
                        _ => {}
                    }
                }
                if c == quote {
                    in_quote = false;
                } else {
                    out.data.push(c);
                }
                i += 1;
                continue;
            }
            if c == delimiter {
                out.end_field(data_start, !saw_quote && buf[raw_start..i] == *null);
                i += 1;
                raw_start = i;
                data_start = out.data.len();
                saw_quote = false;
            } else if c == quote {
                in_quote = true;
                saw_quote = true;
                i += 1;
            } else if c == b'\n' || c == b'\r' {
                let Some((eol, len)) = Self::eol_at(buf, i, finished) else {
                    return Ok(Parsed::Incomplete);
                };
                out.end_field(data_start, !saw_quote && buf[raw_start..i] == *null);
                self.line_end(eol, true)?;
                return Ok(Parsed::Row(i + len));
            } else {
                out.data.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
#[path = "copy_format_test.rs"]
mod tests;

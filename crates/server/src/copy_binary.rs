//! Binary `COPY ... FROM STDIN`: PostgreSQL's `PGCOPY` layout (signature,
//! flags, header extension; then per row a field count and each field's
//! length, -1 for NULL, and binary value; a count of -1 ends the data).
//!
//! [`BinaryCopyIn`] decodes the client's CopyData, split anywhere, value by
//! value with the decoders of binary Bind parameters ([`decode_param`]),
//! by the types of the COPY's columns, and writes complete rows in COPY's
//! text format (tab-separated, `\N` for NULL, backslash escapes) for the
//! session to load like any text COPY.

use crate::params::decode_param;
use arrow::datatypes::Field;
use prismdb_common::{Error, Result, Value};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The state of one binary COPY FROM.
pub(crate) struct BinaryCopyIn {
    fields: Vec<Field>,
    buf: Vec<u8>,
    header_read: bool,
    ended: bool,
}

fn bad(message: &str) -> Error {
    Error::BadCopyFormat(message.to_string())
}

impl BinaryCopyIn {
    pub(crate) fn new(fields: Vec<Field>) -> Self {
        BinaryCopyIn {
            fields,
            buf: Vec::new(),
            header_read: false,
            ended: false,
        }
    }

    /// Takes one CopyData chunk; returns the text rows it completed.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        if self.ended {
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        if !self.header_read {
            if self.buf.len() < SIGNATURE.len() + 8 {
                return Ok(out);
            }
            if &self.buf[..SIGNATURE.len()] != SIGNATURE {
                return Err(bad("COPY file signature not recognized"));
            }
            let ext = i32_at(&self.buf, SIGNATURE.len() + 4).unwrap_or(0);
            let ext = usize::try_from(ext).map_err(|_| bad("invalid COPY file header"))?;
            let end = SIGNATURE.len() + 8 + ext;
            if self.buf.len() < end {
                return Ok(out);
            }
            self.header_read = true;
            at = end;
        }
        while let Some(count) = i16_at(&self.buf, at) {
            if count == -1 {
                self.ended = true;
                at = self.buf.len();
                break;
            }
            if count as usize != self.fields.len() {
                return Err(bad(&format!(
                    "row field count is {count}, expected {}",
                    self.fields.len()
                )));
            }
            // Decode only complete rows; a partial one waits for more data.
            let mut pos = at + 2;
            let mut values = Vec::with_capacity(self.fields.len());
            let mut complete = true;
            for field in &self.fields {
                let Some(len) = i32_at(&self.buf, pos) else {
                    complete = false;
                    break;
                };
                pos += 4;
                if len < 0 {
                    values.push(None);
                    continue;
                }
                let len = len as usize;
                if self.buf.len() < pos + len {
                    complete = false;
                    break;
                }
                values.push(Some(text_of(field, &self.buf[pos..pos + len])?));
                pos += len;
            }
            if !complete {
                break;
            }
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                match v {
                    None => out.extend_from_slice(b"\\N"),
                    Some(t) => escape_into(&mut out, t),
                }
            }
            out.push(b'\n');
            at = pos;
        }
        self.buf.drain(..at);
        Ok(out)
    }

    /// CopyDone: the data must have ended on a row boundary.
    pub(crate) fn finish(&self) -> Result<()> {
        if !self.buf.is_empty() || !self.header_read {
            return Err(bad("unexpected EOF in COPY data"));
        }
        Ok(())
    }
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The text form of one binary value of a column of type `field`.
fn text_of(field: &Field, bytes: &[u8]) -> Result<String> {
    match field.metadata().get("pg_type").map(String::as_str) {
        Some("jsonb") => {
            return match bytes.split_first() {
                Some((1, rest)) => Ok(String::from_utf8_lossy(rest).into_owned()),
                _ => Err(bad("unsupported jsonb version number")),
            };
        }
        Some("uuid") if bytes.len() == 16 => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            return Ok(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ));
        }
        _ => {}
    }
    Ok(
        match decode_param(field.data_type(), true, Some(bytes), 1)? {
            Value::Text(t) => t,
            other => other.to_string(),
        },
    )
}

/// Escapes a value for COPY's text format.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
}

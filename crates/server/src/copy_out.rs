//! `COPY ... TO STDOUT` on the wire: CopyOutResponse, the rows as CopyData
//! in text, CSV or binary COPY format, CopyDone, then `COPY n`.
//!
//! Escaping follows PostgreSQL's COPY TO: in text, backslash, the
//! delimiter and the control characters `\b \f \n \r \t \v` are
//! backslash-escaped and NULL is its marker (`\N`); in CSV a value is
//! quoted when it holds the delimiter, the quote, a line break, equals the
//! NULL marker, is `\.` alone, or its column is forced; binary is
//! PostgreSQL's `PGCOPY` file format.

use crate::encode::{CopyEncoder, CopyEvent};
use crate::handler::Rows;
use bytes::{BufMut, BytesMut};
use futures::{Sink, SinkExt, StreamExt};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use prismdb_common::Result;
use prismdb_common::copy::{CopyKind, CopyOutFormat};
use std::fmt::Debug;

/// Sends the rows of a COPY TO: returns the number of rows sent, or the
/// error that ended the copy (the caller reports it; the CopyOutResponse
/// went out already).
pub(crate) async fn send<C>(
    client: &mut C,
    format: &CopyOutFormat,
    mut rows: Rows,
) -> PgWireResult<Result<usize>>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let columns = rows.schema.fields().len();
    let binary = format.kind == CopyKind::Binary;
    let code = i16::from(binary);
    client
        .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            code as i8,
            columns as i16,
            vec![code; columns],
        )))
        .await?;
    let encoder = CopyEncoder::new(&rows.schema);
    let mut out = BytesMut::with_capacity(64 * 1024);
    if binary {
        out.put_slice(b"PGCOPY\n\xff\r\n\0");
        out.put_i32(0);
        out.put_i32(0);
    } else if format.header {
        let names: Vec<&str> = rows
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.put_u8(format.delimiter);
            }
            put_value(&mut out, format, i, name.as_bytes(), columns, true);
        }
        out.put_u8(b'\n');
    }
    let mut sent = 0;
    let mut ends: Vec<usize> = Vec::new();
    while let Some(batch) = rows.batches.next().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        let encoded = encoder.each_value(&batch, binary, |event| {
            match event {
                CopyEvent::EndRow => {
                    if !binary {
                        out.put_u8(b'\n');
                    }
                    ends.push(out.len());
                    sent += 1;
                }
                CopyEvent::Value(column, value) if binary => {
                    if column == 0 {
                        out.put_i16(columns as i16);
                    }
                    match value {
                        None => out.put_i32(-1),
                        Some(v) => {
                            out.put_i32(v.len() as i32);
                            out.put_slice(v);
                        }
                    }
                }
                CopyEvent::Value(column, value) => {
                    if column > 0 {
                        out.put_u8(format.delimiter);
                    }
                    match value {
                        None => out.put_slice(format.null.as_bytes()),
                        Some(v) => put_value(&mut out, format, column, v, columns, false),
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = encoded {
            return Ok(Err(e));
        }
        // One row per CopyData message, as PostgreSQL sends them (clients
        // such as psycopg parse a message as one row); the header, if any,
        // goes with the first.
        let mut data = out.split().freeze();
        let mut at = 0;
        for end in ends.drain(..) {
            let row = data.split_to(end - at);
            at = end;
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(row)))
                .await?;
        }
        out.extend_from_slice(&data);
    }
    if binary {
        out.put_i16(-1);
    }
    if !out.is_empty() {
        client
            .feed(PgWireBackendMessage::CopyData(CopyData::new(out.freeze())))
            .await?;
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    Ok(Ok(sent))
}

/// One non-NULL value (or a header name) in text or CSV form.
fn put_value(
    out: &mut BytesMut,
    format: &CopyOutFormat,
    column: usize,
    v: &[u8],
    columns: usize,
    header: bool,
) {
    match format.kind {
        CopyKind::Text | CopyKind::Binary => {
            for &b in v {
                match b {
                    b'\\' => out.put_slice(b"\\\\"),
                    b'\n' => out.put_slice(b"\\n"),
                    b'\r' => out.put_slice(b"\\r"),
                    b'\t' => out.put_slice(b"\\t"),
                    8 => out.put_slice(b"\\b"),
                    12 => out.put_slice(b"\\f"),
                    11 => out.put_slice(b"\\v"),
                    b if b == format.delimiter => {
                        out.put_u8(b'\\');
                        out.put_u8(b);
                    }
                    b => out.put_u8(b),
                }
            }
        }
        CopyKind::Csv => {
            let forced = !header && format.force_quote.get(column).copied().unwrap_or(false);
            let quote = forced
                || v == format.null.as_bytes()
                || (columns == 1 && v == b"\\.")
                || v.iter().any(|&b| {
                    b == format.delimiter || b == format.quote || b == b'\n' || b == b'\r'
                });
            if !quote {
                out.put_slice(v);
                return;
            }
            out.put_u8(format.quote);
            for &b in v {
                if b == format.quote || b == format.escape {
                    out.put_u8(format.escape);
                }
                out.put_u8(b);
            }
            out.put_u8(format.quote);
        }
    }
}

//! `COPY table [(columns)] FROM STDIN`: bulk loading through the COPY
//! sub-protocol.
//!
//! The statement itself ([`start`]) checks its options, resolves
//! the table and column list, evaluates the DEFAULTs of the columns it
//! leaves out, and leaves a [`CopyIn`] on the session; the wire layer then
//! answers CopyInResponse and feeds the client's CopyData chunks to
//! [`data`] until CopyDone ([`done`]) or
//! CopyFail ([`fail`]).
//!
//! Rows are split into fields by [`crate::copy_format`] and converted a
//! batch at a time, column by column, with the conversion and checks INSERT
//! uses for its values ([`crate::convert::column_values`]: the Arrow cast
//! from text to the column type, varchar length, numeric precision, bytea
//! input) — no SQL is planned per row. Each row then goes through INSERT's
//! own path ([`crate::rows::new_row_key`]): hidden row id, NOT NULL, primary-key
//! uniqueness. Errors are reported in row order, as PostgreSQL does.
//!
//! Outside a transaction block the COPY is one transaction of its own whose
//! rows are committed as one write set at CopyDone (nothing is written on
//! any error or on CopyFail); inside a block its rows join the block's
//! transaction, and an error fails the block.
//!
//! The binary format reaches this module as text rows: the wire layer
//! decodes it by column type first. Not supported (0A000): files and
//! programs. `COPY ... TO STDOUT` is [`super::copy_to`]'s.

use crate::convert::column_values;
use crate::copy::{
    BATCH_ROWS, CopyIn, Load, Options, Probe, force_flags, no_copy, undefined_column, unsupported,
};
use crate::copy_format::{Fields, Next, RowReader, invalid_byte};
use crate::index_writes::check_unique;
use crate::output::Output;
use crate::planner;
use crate::rows::{key_of, new_row_key, stored_at};
use crate::session::Session;
use crate::txn::Txn;
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use prismdb_catalog::Table;
use prismdb_common::{Error, Result, Value, Version};
use prismdb_sql::sqlparser::ast::{CopySource, CopyTarget, Statement};
use prismdb_sql::{normalize, object_name};
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

/// Runs a COPY statement: a `COPY ... FROM STDIN` is checked and left
/// waiting for the client's data (see [`columns`]);
/// its result is a placeholder, the real one comes from
/// [`done`].
pub(crate) async fn start(session: &mut Session, stmt: &Statement) -> Result<Output> {
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
        return Err(Error::Internal("COPY TO runs as its query".into()));
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
    let own_txn = match session.txn {
        Some(_) => None,
        None => Some(Txn::begin(session.engine.snapshot().await?, false)),
    };
    let table = session.table(&object_name(table_name)?)?;
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
    let defaults = planner::default_values(session, &table, &omitted).await?;
    let mut template = vec![Value::Null; table.columns.len()];
    for (&i, value) in omitted.iter().zip(defaults) {
        template[i] = value;
    }
    let builders = targets.iter().map(|_| StringBuilder::new()).collect();
    session.copy = Some(Box::new(CopyIn {
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
            indexes: session.engine.indexes(&session.schema.current()),
        },
    }));
    Ok(Output::command("COPY"))
}

/// While a `COPY ... FROM STDIN` waits for data: how many columns each
/// of its rows has (for CopyInResponse).
pub(crate) fn columns(session: &Session) -> Option<usize> {
    session.copy.as_ref().map(|c| c.load.targets.len())
}

/// For a binary `COPY ... FROM STDIN`: the fields of its columns, by
/// which the wire layer decodes each value before passing the rows on
/// as text (tab-separated, `\N` for NULL, backslash escapes).
pub(crate) fn binary_fields(session: &Session) -> Option<Vec<datafusion::arrow::datatypes::Field>> {
    let copy = session.copy.as_ref().filter(|c| c.binary)?;
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
pub(crate) fn data(session: &mut Session, data: &[u8]) -> Result<()> {
    let mut copy = session.copy.take().ok_or_else(no_copy)?;
    if let Err(e) = session.guard.check() {
        session.fail_txn();
        return Err(e);
    }
    copy.load.reader.push(data);
    match feed(session, &mut copy, false) {
        Ok(()) => {
            session.copy = Some(copy);
            Ok(())
        }
        Err(e) => {
            session.fail_txn();
            Err(e)
        }
    }
}

/// CopyDone: reads the rest of the data and, outside a transaction
/// block, commits the COPY. Its tag is `COPY n`.
pub(crate) async fn done(session: &mut Session) -> Result<Output> {
    let mut copy = session.copy.take().ok_or_else(no_copy)?;
    if let Err(e) = session
        .guard
        .check()
        .and_then(|()| feed(session, &mut copy, true))
    {
        session.fail_txn();
        return Err(e);
    }
    let rows = copy.load.rows;
    if let Some(txn) = copy.own_txn.take()
        && !txn.is_read_only()
    {
        let started = std::time::Instant::now();
        let ws = session.write_set(&txn)?;
        let encoded = started.elapsed();
        let committed = session.engine.log.commit(ws).await;
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
pub(crate) fn fail(session: &mut Session, message: &str) -> Error {
    session.copy = None;
    session.fail_txn();
    Error::QueryCanceled(format!("COPY from stdin failed: {message}"))
}

/// Loads the complete rows buffered in `copy` into its transaction
/// (its own or the block's); `finished` after CopyDone.
fn feed(session: &mut Session, copy: &mut CopyIn, finished: bool) -> Result<()> {
    let CopyIn { own_txn, load, .. } = copy;
    if let Some(txn) = own_txn {
        return load_rows(session, load, txn, finished);
    }
    let mut txn = session
        .txn
        .take()
        .ok_or_else(|| Error::Internal("COPY lost its transaction block".into()))?;
    let r = load_rows(session, load, &mut txn, finished);
    session.txn = Some(txn);
    r
}

fn load_rows(session: &Session, load: &mut Load, txn: &mut Txn, finished: bool) -> Result<()> {
    loop {
        match load.reader.next_row(&mut load.fields, finished) {
            Ok(Next::Row) => {}
            Ok(Next::NeedMore | Next::End) => break,
            Err(e) => {
                // Rows before the bad one may fail first.
                flush(session, load, txn)?;
                return Err(e);
            }
        }
        let count = load.fields.len();
        let expected = load.targets.len();
        if count != expected {
            flush(session, load, txn)?;
            return Err(bad_row(load, count, expected));
        }
        if let Err(e) = load.add_row() {
            flush(session, load, txn)?;
            return Err(e);
        }
        if load.pending == BATCH_ROWS {
            flush(session, load, txn)?;
        }
    }
    if finished {
        flush(session, load, txn)?;
    }
    Ok(())
}

/// The error for a row with the wrong number of fields: an extra field
/// is reported at once; with fields missing, the ones present are
/// converted first (their errors come first, as in PostgreSQL).
fn bad_row(load: &Load, count: usize, expected: usize) -> Error {
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
fn flush(session: &Session, load: &mut Load, txn: &mut Txn) -> Result<()> {
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
                    let mut v = column_values(&a.slice(row, 1), &table.columns[c], &table.name)?;
                    stored[c] = v.pop().unwrap_or(Value::Null);
                }
                insert_copied(session, load, stored, txn, &Probe::PerRow)?;
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
    let probe = probe(session, &table, &batch, txn.read_version)?;
    for stored in batch {
        insert_copied(session, load, stored, txn, &probe)?;
    }
    Ok(())
}

/// Finds which keys of a batch already have a live row at the snapshot
/// `at`, with one scan of the batch's key range instead of a point
/// read per row (what makes COPY fast: most of INSERT's per-row cost).
fn probe(session: &Session, table: &Table, batch: &[Vec<Value>], at: Version) -> Result<Probe> {
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
    let chunk = session.engine.store.scan(
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
    session: &Session,
    load: &mut Load,
    mut stored: Vec<Value>,
    txn: &mut Txn,
    probe: &Probe,
) -> Result<()> {
    let at = txn.read_version;
    let key = new_row_key(
        &session.engine.store,
        &load.table,
        &mut stored,
        txn,
        |key| match probe {
            Probe::FreshRowIds => Ok(false),
            Probe::Taken(taken) => Ok(taken.contains(&key.1)),
            Probe::PerRow => stored_at(&session.engine.store, at, key),
        },
    )?;
    if !load.indexes.on(load.table.id).is_empty() {
        check_unique(
            txn,
            &load.indexes,
            &session.engine.store,
            &key,
            &stored,
            None,
        )?;
    }
    txn.insert(key, stored);
    load.rows += 1;
    Ok(())
}

//! What every new row must pass before it is written, on every write path
//! (INSERT, UPDATE, COPY, table rewrites): its hidden row id, NOT NULL, and
//! primary-key uniqueness against the transaction's own writes and its
//! snapshot; and the encoded primary key rows are stored under.

use crate::txn::Txn;
use prismdb_catalog::Table;
use prismdb_common::keycode::encode_key;
use prismdb_common::{Error, Result, Value};
use prismdb_rowstore::{RowKey, RowStore};

/// The encoded primary key of a stored row.
pub(crate) fn key_of(table: &Table, row: &[Value]) -> Vec<u8> {
    let key: Vec<Value> = table.primary_key.iter().map(|&i| row[i].clone()).collect();
    encode_key(&key)
}

pub(crate) fn check_not_null(table: &Table, row: &[Value]) -> Result<()> {
    for (c, v) in table.columns.iter().zip(row) {
        if !c.nullable && v.is_null() {
            return Err(Error::NotNullViolation(format!(
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                c.name, table.name
            )));
        }
    }
    Ok(())
}

/// Whether a live row exists under `key` for this transaction: its own
/// writes first, then its snapshot as `in_snapshot` reads it.
pub(crate) fn row_exists(
    txn: &Txn,
    key: &RowKey,
    in_snapshot: impl FnOnce(&RowKey) -> Result<bool>,
) -> Result<bool> {
    match txn.own(key) {
        Some(own) => Ok(own.is_some()),
        None => in_snapshot(key),
    }
}

/// Whether `store` holds a live row under `key` as of version `at`.
pub(crate) fn stored_at(
    store: &RowStore,
    at: prismdb_common::Version,
    key: &RowKey,
) -> Result<bool> {
    Ok(store.get(key.0, &key.1, at)?.is_some())
}

pub(crate) fn duplicate_key(table: &Table) -> Error {
    Error::UniqueViolation(format!(
        "duplicate key value violates unique constraint \"{}\"",
        table.key_constraint_name()
    ))
}

/// Completes a new row of `table` for storage and checks it: hidden
/// columns get a fresh row id, then NOT NULL (23502) and a free primary
/// key (23505, against the transaction's own writes, then its snapshot
/// as `in_snapshot` reads it: [`stored_at`], or COPY's answer from one
/// probe per batch). Returns the row's key; INSERT and COPY buffer
/// their rows under it.
pub(crate) fn new_row_key(
    store: &RowStore,
    table: &Table,
    stored: &mut [Value],
    txn: &mut Txn,
    in_snapshot: impl FnOnce(&RowKey) -> Result<bool>,
) -> Result<RowKey> {
    for (i, c) in table.columns.iter().enumerate() {
        if c.hidden {
            let id = store.next_rowid();
            txn.used_rowid(id);
            stored[i] = Value::Int64(id);
        }
    }
    check_not_null(table, stored)?;
    let key = (table.id, key_of(table, stored));
    if row_exists(txn, &key, in_snapshot)? {
        return Err(duplicate_key(table));
    }
    Ok(key)
}

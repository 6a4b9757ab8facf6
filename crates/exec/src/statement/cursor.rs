//! DECLARE, FETCH, MOVE and CLOSE: opening, moving and closing the
//! session's cursors (see [`crate::cursor`] for what a cursor is).
//!
//! DECLARE is two steps around its query, which the statement runner
//! starts in the transaction: [`declared`] checks the declaration, and
//! [`open`] keeps the query's rows as a cursor.

use crate::cursor::Cursor;
use crate::output::{Output, ResultRows};
use crate::session::Session;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use prismdb_common::{Error, Result};
use prismdb_sql::extensions::is_move;
use prismdb_sql::normalize;
use prismdb_sql::sqlparser::ast::{CloseCursor, Declare, DeclareType, Query, Statement};

/// A checked `DECLARE name CURSOR FOR query`, its query not yet started.
pub(crate) struct Declared {
    name: String,
    pub(crate) query: Box<Query>,
    scroll: bool,
    hold: bool,
    in_block: bool,
}

/// Checks a DECLARE: one cursor, with a free non-empty name, in a
/// transaction block unless WITH HOLD.
pub(crate) fn declared(session: &Session, stmts: &[Declare]) -> Result<Declared> {
    let [declare] = stmts else {
        return Err(Error::Syntax(
            "syntax error: DECLARE declares one cursor".into(),
        ));
    };
    let (Some(query), Some(DeclareType::Cursor), [name]) = (
        &declare.for_query,
        &declare.declare_type,
        declare.names.as_slice(),
    ) else {
        return Err(Error::Syntax(
            "syntax error: expected DECLARE name CURSOR FOR query".into(),
        ));
    };
    let name = normalize(name);
    if name.is_empty() {
        return Err(Error::InvalidCursorName(
            "invalid cursor name: must not be empty".into(),
        ));
    }
    if session.cursors.contains_key(&name) {
        return Err(Error::DuplicateCursor(format!(
            "cursor \"{name}\" already exists"
        )));
    }
    let hold = declare.hold == Some(true);
    let in_block = session.txn.is_some();
    if !in_block && !hold {
        return Err(Error::NoActiveSqlTransaction(
            "DECLARE CURSOR can only be used in transaction blocks".into(),
        ));
    }
    Ok(Declared {
        name,
        query: query.clone(),
        scroll: declare.scroll == Some(true),
        hold,
        in_block,
    })
}

/// Opens a declared cursor over its query's started output.
pub(crate) async fn open(session: &mut Session, declared: Declared, out: Output) -> Result<Output> {
    let Some(ResultRows {
        schema,
        batches,
        rest,
    }) = out.rows
    else {
        return Err(Error::InvalidStatement(
            "cursor query returns no rows".into(),
        ));
    };
    let mut cursor = Cursor::new(
        schema,
        batches,
        rest,
        declared.scroll,
        declared.hold,
        declared.in_block,
    );
    // A SCROLL cursor holds its rows to move anywhere; a holdable one
    // declared outside a block holds them before its snapshot goes.
    if declared.scroll || !declared.in_block {
        let guard = session.guard.clone();
        guard.run(cursor.hold_rows()).await?;
    }
    session.cursors.insert(declared.name, cursor);
    Ok(Output::command("DECLARE CURSOR"))
}

/// FETCH, MOVE or CLOSE.
pub(crate) async fn run(session: &mut Session, stmt: &Statement) -> Result<Output> {
    match stmt {
        Statement::Fetch {
            name,
            direction,
            into,
            ..
        } => {
            let name = normalize(name);
            let motion = crate::cursor::motion(direction)?;
            let cursor = session
                .cursors
                .get_mut(&name)
                .ok_or_else(|| unknown(&name))?;
            let guard = session.guard.clone();
            let rows = guard.run(cursor.go(motion)).await?;
            let n: usize = rows.iter().map(RecordBatch::num_rows).sum();
            if is_move(into) {
                return Ok(Output::command(format!("MOVE {n}")));
            }
            Ok(Output {
                tag: "FETCH".into(),
                rows: Some(ResultRows {
                    schema: cursor.schema.clone(),
                    batches: rows,
                    rest: None,
                }),
                copy_out: None,
            })
        }
        Statement::Close { cursor } => match cursor {
            CloseCursor::All => {
                session.cursors.clear();
                Ok(Output::command("CLOSE CURSOR ALL"))
            }
            CloseCursor::Specific { name } => {
                let name = normalize(name);
                session
                    .cursors
                    .remove(&name)
                    .ok_or_else(|| unknown(&name))?;
                Ok(Output::command("CLOSE CURSOR"))
            }
        },
        _ => Err(Error::Internal("not a cursor statement".into())),
    }
}

/// The columns a cursor's rows have (for Describe of the portal the
/// cursor is, and of FETCH statements).
pub(crate) fn schema(session: &Session, name: &str) -> Option<SchemaRef> {
    session.cursors.get(name).map(|c| c.schema.clone())
}

fn unknown(name: &str) -> Error {
    Error::InvalidCursorName(format!("cursor \"{name}\" does not exist"))
}

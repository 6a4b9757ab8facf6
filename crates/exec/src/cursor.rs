//! SQL cursors: `DECLARE name [BINARY] [NO] [SCROLL] CURSOR [WITH[OUT] HOLD]
//! FOR query`, `FETCH` and `MOVE` in every direction, `CLOSE name | ALL`.
//!
//! A cursor starts its query when declared, at the transaction's snapshot,
//! and reads its rows as they are fetched: a cursor that is not SCROLL
//! streams and only moves forward (55000 otherwise, as PostgreSQL says for
//! plans that cannot scan backward). A SCROLL cursor, and a WITH HOLD one
//! once its transaction commits, hold all their rows and move anywhere.
//! Without HOLD a cursor lives until its transaction block ends; a
//! transaction that rolls back takes the cursors it declared with it.

use crate::output::RowStream;
use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{FetchDirection, Value as SqlValue, ValueWithSpan};
use std::collections::{HashMap, VecDeque};

/// One open cursor.
pub(crate) struct Cursor {
    pub(crate) schema: SchemaRef,
    source: Source,
    /// 0 before the first row, n after fetching row n, total + 1 past the end.
    position: u64,
    scroll: bool,
    hold: bool,
    /// Declared in the open transaction block: gone if it rolls back.
    in_block: bool,
}

enum Source {
    /// Rows still being produced, read in order.
    Stream {
        pending: VecDeque<RecordBatch>,
        /// In a mutex only to make the session `Sync`; read through
        /// `get_mut`, never locked.
        rest: Option<std::sync::Mutex<RowStream>>,
    },
    /// The rows after the first `base` (which were read from a stream
    /// before the rest was held), in one batch.
    Held { base: u64, rows: RecordBatch },
}

/// Where a FETCH or MOVE goes, relative to the cursor's position.
pub(crate) enum Motion {
    /// The next `n` rows (`u64::MAX`: all); 0 re-reads the current row.
    Forward(u64),
    /// The previous `n` rows, nearest first.
    Backward(u64),
    /// Row `n` counted from the start (negative: from the end).
    Absolute(i64),
    /// Row `n` counted from the current one.
    Relative(i64),
}

fn count(v: &ValueWithSpan) -> Result<i64> {
    match &v.value {
        SqlValue::Number(n, _) => n
            .parse::<i64>()
            .map_err(|_| Error::Syntax(format!("syntax error: invalid row count {n}"))),
        other => Err(Error::Syntax(format!(
            "syntax error: invalid row count {other}"
        ))),
    }
}

pub(crate) fn motion(direction: &FetchDirection) -> Result<Motion> {
    let signed = |n: i64| {
        if n >= 0 {
            Motion::Forward(n as u64)
        } else {
            Motion::Backward(n.unsigned_abs())
        }
    };
    Ok(match direction {
        FetchDirection::Next | FetchDirection::Forward { limit: None } => Motion::Forward(1),
        FetchDirection::Prior | FetchDirection::Backward { limit: None } => Motion::Backward(1),
        FetchDirection::First => Motion::Absolute(1),
        FetchDirection::Last => Motion::Absolute(-1),
        FetchDirection::Absolute { limit } => Motion::Absolute(count(limit)?),
        FetchDirection::Relative { limit } => Motion::Relative(count(limit)?),
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
            signed(count(limit)?)
        }
        FetchDirection::Backward { limit: Some(limit) } => match signed(count(limit)?) {
            Motion::Forward(n) => Motion::Backward(n),
            Motion::Backward(n) => Motion::Forward(n),
            m => m,
        },
        FetchDirection::All | FetchDirection::ForwardAll => Motion::Forward(u64::MAX),
        FetchDirection::BackwardAll => Motion::Backward(u64::MAX),
    })
}

fn cannot_scan_backward() -> Error {
    Error::ObjectNotInPrerequisiteState(
        "cursor can only scan forward (declare it with SCROLL to scan backward)".into(),
    )
}

impl Cursor {
    /// A cursor over a started query: the rows it computed already, then
    /// the rest of its stream.
    pub(crate) fn new(
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        rest: Option<RowStream>,
        scroll: bool,
        hold: bool,
        in_block: bool,
    ) -> Cursor {
        Cursor {
            schema,
            source: Source::Stream {
                pending: batches.into(),
                rest: rest.map(std::sync::Mutex::new),
            },
            position: 0,
            scroll,
            hold,
            in_block,
        }
    }

    /// Reads up to `n` more rows of a streaming cursor.
    async fn pull(&mut self, mut n: u64) -> Result<Vec<RecordBatch>> {
        let Source::Stream { pending, rest } = &mut self.source else {
            return Err(Error::Internal("pull from a held cursor".into()));
        };
        let mut out = Vec::new();
        while n > 0 {
            let batch = match pending.pop_front() {
                Some(b) => b,
                None => match rest.as_mut().and_then(|m| m.get_mut().ok()) {
                    None => break,
                    Some(stream) => match stream.next().await {
                        Some(b) => b?,
                        None => {
                            *rest = None;
                            break;
                        }
                    },
                },
            };
            let rows = batch.num_rows() as u64;
            if rows > n {
                let take = n as usize;
                pending.push_front(batch.slice(take, batch.num_rows() - take));
                out.push(batch.slice(0, take));
                n = 0;
            } else {
                n -= rows;
                out.push(batch);
            }
        }
        Ok(out)
    }

    /// Reads every remaining row into memory, keeping those read already
    /// counted: afterwards the cursor moves anywhere.
    pub(crate) async fn hold_rows(&mut self) -> Result<()> {
        if matches!(self.source, Source::Held { .. }) {
            return Ok(());
        }
        let rest = self.pull(u64::MAX).await?;
        let rows = concat_batches(&self.schema, &rest).map_err(arrow_error)?;
        // Rows a stream returned already are gone (only a SCROLL cursor,
        // held from the start, may go back to them).
        self.source = Source::Held {
            base: self.position,
            rows,
        };
        Ok(())
    }

    /// Whether a motion goes back to (or re-reads) a row read already.
    fn goes_back(&self, motion: &Motion) -> bool {
        let p = self.position as i64;
        match *motion {
            Motion::Forward(n) => n == 0 && p > 0,
            Motion::Backward(n) => n > 0 || p > 0,
            Motion::Absolute(n) => n >= 0 && n <= p && !(n == 0 && p == 0),
            Motion::Relative(n) => n < 0 || (n == 0 && p > 0),
        }
    }

    /// Moves the cursor; returns the rows passed over that FETCH returns.
    pub(crate) async fn go(&mut self, motion: Motion) -> Result<Vec<RecordBatch>> {
        if !self.scroll && self.goes_back(&motion) {
            return Err(cannot_scan_backward());
        }
        if let Source::Held { base, rows: all } = &self.source {
            let total = base + all.num_rows() as u64;
            let (rows, position) = held_motion(self.position, total, motion);
            self.position = position;
            let indices: Vec<u32> = rows
                .iter()
                .filter(|r| **r > *base)
                .map(|r| (*r - base - 1) as u32)
                .collect();
            if indices.is_empty() {
                return Ok(vec![]);
            }
            let indices = UInt32Array::from(indices);
            return Ok(vec![take_record_batch(all, &indices).map_err(arrow_error)?]);
        }
        // A streaming cursor moves forward only.
        let (skip, take) = match motion {
            Motion::Forward(0) | Motion::Relative(0) | Motion::Absolute(0) => (0, 0),
            Motion::Forward(n) => (0, n),
            Motion::Relative(n) if n > 0 => (n as u64 - 1, 1),
            Motion::Absolute(n) if n > 0 && n as u64 > self.position => {
                (n as u64 - self.position - 1, 1)
            }
            Motion::Absolute(-1) => {
                // LAST: read to the end, keep the last row.
                let rows = self.pull(u64::MAX).await?;
                let read: u64 = rows.iter().map(|b| b.num_rows() as u64).sum();
                self.position += read;
                return Ok(rows
                    .iter()
                    .rev()
                    .find(|b| b.num_rows() > 0)
                    .map(|b| vec![b.slice(b.num_rows() - 1, 1)])
                    .unwrap_or_default());
            }
            _ => return Err(cannot_scan_backward()),
        };
        if skip > 0 {
            let skipped: u64 = self
                .pull(skip)
                .await?
                .iter()
                .map(|b| b.num_rows() as u64)
                .sum();
            self.position += skipped;
            if skipped < skip {
                self.position += 1;
                return Ok(vec![]);
            }
        }
        let rows = self.pull(take).await?;
        let read: u64 = rows.iter().map(|b| b.num_rows() as u64).sum();
        self.position += read;
        if read < take {
            // Past the end.
            self.position += 1;
        }
        Ok(rows)
    }
}

/// The rows (1-based, in the order returned) a motion passes over in a
/// cursor of `total` held rows at `position`, and the position after it.
fn held_motion(position: u64, total: u64, motion: Motion) -> (Vec<u64>, u64) {
    let current = |p: u64| {
        if (1..=total).contains(&p) {
            vec![p]
        } else {
            vec![]
        }
    };
    let at = |target: i64| -> (Vec<u64>, u64) {
        let p = target.clamp(0, total as i64 + 1) as u64;
        (current(p), p)
    };
    match motion {
        Motion::Forward(0) | Motion::Backward(0) => (current(position), position),
        Motion::Forward(n) => {
            let end = position.saturating_add(n).min(total + 1);
            ((position + 1..=end.min(total)).collect(), end)
        }
        Motion::Backward(n) => {
            let end = position.saturating_sub(n);
            let from = position.min(total + 1);
            ((end.max(1)..from).rev().collect(), end)
        }
        Motion::Absolute(n) if n >= 0 => at(n),
        Motion::Absolute(n) => at(total as i64 + 1 + n),
        Motion::Relative(n) => at(position as i64 + n),
    }
}

fn arrow_error(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::Internal(e.to_string())
}

/// The transaction block ends: cursors without HOLD close; WITH HOLD
/// cursors of a block that commits read their remaining rows first
/// (called before the commit, at the block's snapshot). On rollback,
/// the holdable cursors the block declared close too.
pub(crate) async fn end_block(cursors: &mut HashMap<String, Cursor>, commit: bool) -> Result<()> {
    cursors.retain(|_, c| c.hold && (commit || !c.in_block));
    if commit {
        for c in cursors.values_mut() {
            if c.in_block {
                c.hold_rows().await?;
                c.in_block = false;
            }
        }
    }
    Ok(())
}

//! What a statement gives back: its command tag and its rows, computed or
//! still streaming.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use prismdb_common::{Error, Result};

/// A stream of result batches still being produced.
pub type RowStream = futures::stream::BoxStream<'static, Result<RecordBatch>>;

/// Rows a statement returns: those computed already, then those still
/// being produced (a planned query streams all of its rows).
pub struct ResultRows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rest: Option<RowStream>,
}

/// The outcome of one statement: its command tag and rows, if any. Plain
/// queries carry the tag `SELECT`; the wire layer appends the row count.
pub struct Output {
    pub tag: String,
    pub rows: Option<ResultRows>,
    /// Set for `COPY ... TO STDOUT`: its rows go out as COPY data in this
    /// format.
    pub copy_out: Option<prismdb_common::copy::CopyOutFormat>,
}

impl ResultRows {
    /// Rows computed already: one batch of `columns`.
    pub fn of_columns(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<ResultRows> {
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(ResultRows {
            schema,
            batches: vec![batch],
            rest: None,
        })
    }
}

impl Output {
    pub fn command(tag: impl Into<String>) -> Output {
        Output {
            tag: tag.into(),
            rows: None,
            copy_out: None,
        }
    }

    /// A statement's output with rows.
    pub fn with_rows(tag: impl Into<String>, rows: ResultRows) -> Output {
        Output {
            tag: tag.into(),
            rows: Some(rows),
            copy_out: None,
        }
    }
}

/// An output with all its rows computed (its stream read to the end).
pub async fn collect_output(mut o: Output) -> Result<Output> {
    use futures::StreamExt;
    if let Some(rows) = o.rows.as_mut()
        && let Some(mut rest) = rows.rest.take()
    {
        while let Some(batch) = rest.next().await {
            rows.batches.push(batch?);
        }
    }
    Ok(o)
}

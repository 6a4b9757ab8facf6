//! A replica on disk: one Parquet file per segment and a JSON manifest.
//!
//! ```text
//! <dir>/t<table id>/manifest.json     table definition, applied index,
//!                                      segments and their delete marks
//! <dir>/t<table id>/seg-<id>.parquet   stored columns + __prism_created
//!                                      (u64) + __prism_key (16-byte hash)
//! ```
//!
//! A segment file is written once and never changed; the manifest is
//! replaced atomically (write, fsync, rename), so after a crash a replica is
//! whatever the last manifest says, at its applied index, and files no
//! manifest names are removed.

use crate::segment::{KeyHash, Segment};
use datafusion::arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatchOptions;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use prismdb_catalog::Table;
use prismdb_common::{Error, Result, Version};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CREATED_COLUMN: &str = "__prism_created";
const KEY_COLUMN: &str = "__prism_key";
pub const MANIFEST: &str = "manifest.json";

fn io_err(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}

/// What a replica's directory holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub table: Table,
    /// Every entry up to here is reflected in the segments.
    pub applied: Version,
    /// Reads below this index are not served by the replica.
    pub ready_from: Version,
    pub segments: Vec<ManifestSegment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestSegment {
    pub id: u64,
    pub rows: usize,
    pub file: String,
    pub deletes: Vec<(u32, Version)>,
}

pub fn table_dir(root: &Path, table: prismdb_common::TableId) -> PathBuf {
    root.join(format!("t{table}"))
}

pub fn segment_file(id: u64) -> String {
    format!("seg-{id}.parquet")
}

/// Writes a segment's rows and versions to `path`.
pub fn write_segment(path: &Path, segment: &Segment, batch: &RecordBatch) -> Result<()> {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(CREATED_COLUMN, DataType::UInt64, false));
    fields.push(Field::new(KEY_COLUMN, DataType::FixedSizeBinary(16), false));
    let schema = Arc::new(Schema::new(fields));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from(segment.created.clone())));
    let keys = FixedSizeBinaryArray::try_from_iter(segment.keys.iter().map(|k| k.to_be_bytes()))
        .map_err(|e| Error::Internal(e.to_string()))?;
    columns.push(Arc::new(keys));
    let full = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(segment.rows.max(1)))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props))
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    writer
        .write(&full)
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| io_err("cannot sync", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err("cannot rename", path, e))?;
    Ok(())
}

fn read_batches(path: &Path, columns: Option<&[usize]>) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| io_err("cannot open", path, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| io_err("cannot read", path, e))?;
    if let Some(cols) = columns {
        let mask = ProjectionMask::roots(builder.parquet_schema(), cols.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder
        .with_batch_size(1 << 20)
        .build()
        .map_err(|e| io_err("cannot read", path, e))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| io_err("cannot read", path, e))
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    datafusion::arrow::compute::concat_batches(schema, batches)
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Reads the stored columns `columns` (indices into `schema`) of a segment
/// file, as a batch of `schema` projected to them.
pub fn read_columns(path: &Path, schema: &SchemaRef, columns: &[usize]) -> Result<RecordBatch> {
    let projected = Arc::new(
        schema
            .project(columns)
            .map_err(|e| Error::Internal(e.to_string()))?,
    );
    if columns.is_empty() {
        // No columns (`count(*)`): just the row count, which a batch
        // without columns must be given explicitly.
        let file = File::open(path).map_err(|e| io_err("cannot open", path, e))?;
        let rows = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| io_err("cannot read", path, e))?
            .metadata()
            .file_metadata()
            .num_rows();
        return RecordBatch::try_new_with_options(
            projected,
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(rows as usize)),
        )
        .map_err(|e| Error::Internal(e.to_string()));
    }
    let batches = read_batches(path, Some(columns))?;
    let batches: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| {
            RecordBatch::try_new(projected.clone(), b.columns().to_vec())
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .collect::<Result<_>>()?;
    concat(&projected, &batches)
}

/// Reads a whole segment file: the rows (as `schema`), versions and key hashes.
pub fn read_segment(
    path: &Path,
    schema: &SchemaRef,
) -> Result<(RecordBatch, Vec<Version>, Vec<KeyHash>)> {
    let batches = read_batches(path, None)?;
    let n = schema.fields().len();
    let mut data = Vec::new();
    let mut created = Vec::new();
    let mut keys = Vec::new();
    for b in batches {
        if b.num_columns() != n + 2 {
            return Err(io_err("unexpected columns in", path, b.num_columns()));
        }
        data.push(
            RecordBatch::try_new(schema.clone(), b.columns()[..n].to_vec())
                .map_err(|e| io_err("cannot read", path, e))?,
        );
        let c = b.columns()[n]
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| io_err("bad version column in", path, ""))?;
        created.extend(c.values().iter().copied());
        let k = b.columns()[n + 1]
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .ok_or_else(|| io_err("bad key column in", path, ""))?;
        for i in 0..k.len() {
            let mut h = [0u8; 16];
            h.copy_from_slice(k.value(i));
            keys.push(u128::from_be_bytes(h));
        }
    }
    Ok((concat(schema, &data)?, created, keys))
}

/// Atomically replaces the manifest in `dir`.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let bytes = serde_json::to_vec(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    prismdb_common::files::write_atomically(&path, &dir.join("manifest.tmp"), &bytes)
        .map_err(|e| io_err("cannot write", &path, e))
}

pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io_err("corrupt manifest", &path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("cannot read", &path, e)),
    }
}

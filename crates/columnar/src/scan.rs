//! Scanning a replica in DataFusion: [`ColumnarScan`], an execution plan
//! over a [`ReadSnapshot`].
//!
//! The scan prunes segments whose min/max statistics rule out the query's
//! filters (DataFusion's `PruningPredicate`), spreads the remaining segments
//! over partitions so they are read on all cores, projects only the columns
//! the query uses, and filters rows to those visible at the snapshot's index.
//! Segments dropped from memory are read from their Parquet files, only the
//! projected columns.

use crate::persist;
use crate::segment::Segment;
use crate::store::ReadSnapshot;
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, ScalarValue, Statistics};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// Segment statistics in the shape pruning wants: one container per segment.
struct SegmentStats<'a> {
    schema: &'a SchemaRef,
    segments: &'a [Arc<Segment>],
}

impl SegmentStats<'_> {
    fn column(&self, column: &Column) -> Option<usize> {
        self.schema.index_of(&column.name).ok()
    }

    fn values(
        &self,
        column: &Column,
        pick: fn(&crate::segment::ColumnStats) -> &ScalarValue,
    ) -> Option<ArrayRef> {
        let i = self.column(column)?;
        ScalarValue::iter_to_array(self.segments.iter().map(|s| pick(&s.stats[i]).clone())).ok()
    }
}

impl PruningStatistics for SegmentStats<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.values(column, |s| &s.min)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.values(column, |s| &s.max)
    }

    fn num_containers(&self) -> usize {
        self.segments.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let i = self.column(column)?;
        Some(Arc::new(UInt64Array::from_iter_values(
            self.segments.iter().map(|s| s.stats[i].nulls),
        )))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(UInt64Array::from_iter_values(
            self.segments.iter().map(|s| s.rows as u64),
        )))
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

/// One unit of a partition's work.
#[derive(Clone)]
enum Part {
    Segment(Arc<Segment>),
    Delta(RecordBatch),
}

/// A scan of one replica as of one log index.
pub struct ColumnarScan {
    table: String,
    at: Version,
    /// Output schema (the projected columns).
    schema: SchemaRef,
    stored_schema: SchemaRef,
    /// Stored column index of each output column.
    columns: Vec<usize>,
    partitions: Vec<Vec<Part>>,
    total_segments: usize,
    kept_segments: usize,
    props: Arc<PlanProperties>,
    snapshot: Arc<ReadSnapshot>,
}

use prismdb_common::Version;

impl fmt::Debug for ColumnarScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ColumnarScan({})", self.table)
    }
}

impl ColumnarScan {
    /// Plans a scan of `snapshot` returning the stored columns `columns`
    /// (as `schema`), skipping segments `predicate` rules out, over at most
    /// `max_partitions` partitions.
    pub fn new(
        table: &str,
        snapshot: ReadSnapshot,
        schema: SchemaRef,
        columns: Vec<usize>,
        predicate: Option<Arc<dyn PhysicalExpr>>,
        max_partitions: usize,
    ) -> DfResult<ColumnarScan> {
        let total_segments = snapshot.segments.len();
        let keep: Vec<bool> = match predicate {
            Some(expr) if total_segments > 0 => {
                match PruningPredicateBuilder::new()
                    .with_file_schema(snapshot.schema.clone())
                    .try_build(expr)
                {
                    Ok(p) => p
                        .prune(&SegmentStats {
                            schema: &snapshot.schema,
                            segments: &snapshot.segments,
                        })
                        .unwrap_or_else(|_| vec![true; total_segments]),
                    Err(_) => vec![true; total_segments],
                }
            }
            _ => vec![true; total_segments],
        };
        let mut parts: Vec<(usize, Part)> = snapshot
            .segments
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(s, _)| (s.rows, Part::Segment(s.clone())))
            .collect();
        let kept_segments = parts.len();
        if let Some(d) = &snapshot.delta {
            parts.push((d.num_rows(), Part::Delta(d.clone())));
        }
        // Largest first onto the lightest partition.
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        let n = max_partitions.max(1).min(parts.len().max(1));
        let mut partitions: Vec<(usize, Vec<Part>)> = (0..n).map(|_| (0, Vec::new())).collect();
        for (rows, part) in parts {
            let lightest = partitions
                .iter_mut()
                .min_by_key(|p| p.0)
                .expect("at least one partition");
            lightest.0 += rows;
            lightest.1.push(part);
        }
        let props = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(ColumnarScan {
            table: table.to_string(),
            at: snapshot.at,
            schema,
            stored_schema: snapshot.schema.clone(),
            columns,
            partitions: partitions.into_iter().map(|p| p.1).collect(),
            total_segments,
            kept_segments,
            props: Arc::new(props),
            snapshot: Arc::new(snapshot),
        })
    }

    fn read_part(&self, part: &Part) -> DfResult<Option<RecordBatch>> {
        let batch = match part {
            Part::Delta(b) => b.project(&self.columns)?,
            Part::Segment(seg) => {
                let projected = match seg.batch() {
                    Some(b) => b.project(&self.columns)?,
                    None => {
                        let path = seg.file.lock().clone().ok_or_else(|| {
                            DataFusionError::Internal("evicted segment without a file".into())
                        })?;
                        persist::read_columns(&path, &self.stored_schema, &self.columns)
                            .map_err(|e| DataFusionError::External(Box::new(e)))?
                    }
                };
                match seg.visibility(self.at) {
                    None => projected,
                    Some(mask) => filter_record_batch(&projected, &mask)?,
                }
            }
        };
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            batch.columns().to_vec(),
            &datafusion::arrow::record_batch::RecordBatchOptions::new()
                .with_row_count(Some(batch.num_rows())),
        )?;
        Ok((batch.num_rows() > 0).then_some(batch))
    }
}

impl DisplayAs for ColumnarScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "ColumnarScan: table={}, engine=columnar, as_of_index={}, segments={}/{} after pruning, delta_rows={}, partitions={}, projection=[{}]",
            self.table,
            self.at,
            self.kept_segments,
            self.total_segments,
            self.snapshot.delta.as_ref().map_or(0, |d| d.num_rows()),
            self.partitions.len(),
            names.join(", ")
        )
    }
}

impl ExecutionPlan for ColumnarScan {
    fn name(&self) -> &str {
        "ColumnarScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> DfResult<Arc<Statistics>> {
        // Row counts (before visibility filtering) let the optimizer order
        // joins and pick build sides.
        let rows_of = |parts: &[Part]| -> usize {
            parts
                .iter()
                .map(|p| match p {
                    Part::Segment(s) => s.rows - s.deleted_count().min(s.rows),
                    Part::Delta(d) => d.num_rows(),
                })
                .sum()
        };
        let rows = match args.partition() {
            Some(i) => self.partitions.get(i).map_or(0, |p| rows_of(p)),
            None => self.partitions.iter().map(|p| rows_of(p)).sum(),
        };
        let mut stats = Statistics::new_unknown(&self.schema);
        stats.num_rows = Precision::Inexact(rows);
        Ok(Arc::new(stats))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let parts = self.partitions.get(partition).cloned().unwrap_or_default();
        let this = ColumnarScanPart {
            scan: Arc::new(self.clone_for_stream()),
        };
        let batch_size = context.session_config().batch_size().max(1024);
        // Segments are large; operators above work best on batch-size slices
        // (zero-copy views of the segment's arrays).
        let stream = futures::stream::iter(parts.into_iter().flat_map(move |p| {
            let slices: Vec<DfResult<RecordBatch>> = match this.scan.read_part(&p) {
                Err(e) => vec![Err(e)],
                Ok(None) => Vec::new(),
                Ok(Some(b)) => (0..b.num_rows())
                    .step_by(batch_size)
                    .map(|off| Ok(b.slice(off, batch_size.min(b.num_rows() - off))))
                    .collect(),
            };
            slices
        }));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

impl ColumnarScan {
    fn clone_for_stream(&self) -> ColumnarScan {
        ColumnarScan {
            table: self.table.clone(),
            at: self.at,
            schema: self.schema.clone(),
            stored_schema: self.stored_schema.clone(),
            columns: self.columns.clone(),
            partitions: Vec::new(),
            total_segments: self.total_segments,
            kept_segments: self.kept_segments,
            props: self.props.clone(),
            snapshot: self.snapshot.clone(),
        }
    }
}

struct ColumnarScanPart {
    scan: Arc<ColumnarScan>,
}

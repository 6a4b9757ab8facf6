//! The row-store `TableProvider`: DataFusion's view of a PrismDB table.
//!
//! A [`RowTable`] is created when DataFusion resolves a table name during
//! planning. It reads through the session's [`ScanContext`], which holds the
//! [`ReadView`] of the statement being run: the snapshot version and the
//! transaction's own uncommitted writes (the overlay). Because the view is
//! looked up when the plan executes, not when it was planned, a cached plan
//! of a prepared statement reads at each execution's own snapshot.
//!
//! Filters on the primary key are pushed down: equality on the whole key
//! becomes point reads, an `IN` list on a single-column key becomes a set of
//! point reads, and comparisons on the first key column become a key range.
//! Filters stay `Inexact`, so DataFusion re-checks them.

use crate::access::{
    Cond, Op, OrderColumn, Shape, covers, index_order, index_path, index_paths, readable,
};
use crate::convert::{rows_to_batch, scalar_as_key};
use crate::read_view::{ReadView, ScanContext};
use crate::reads::{IndexRead, Read, ReadCursor};
use crate::route::{
    Reorder, ScanShape, TableScanExec, columnar_plan, route_scan, show_access, show_index_access,
};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::utils::{split_binary, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use prismdb_catalog::{Column, SqlType, Table};
use prismdb_common::{Error, Result, Value};
use prismdb_router::{IndexPath, KeyAccess, ReadEngine};
use prismdb_rowstore::index::IndexLayout;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A table as DataFusion sees it.
pub struct RowTable {
    table: Arc<Table>,
    schema: SchemaRef,
    /// Stored column index of each schema field.
    cols: Vec<usize>,
    ctx: Arc<ScanContext>,
    defaults: HashMap<String, Expr>,
    /// Exposes hidden columns: the target of an UPDATE or DELETE.
    with_hidden: bool,
    /// The table's secondary indexes.
    indexes: Vec<Arc<IndexLayout>>,
}

impl fmt::Debug for RowTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowTable({})", self.table.name)
    }
}

impl RowTable {
    /// A provider of the table's visible columns, or of all stored columns
    /// (the hidden row id included) when `with_hidden` — used as the target
    /// of UPDATE and DELETE, which must know every row's key.
    pub fn new(
        table: Arc<Table>,
        ctx: Arc<ScanContext>,
        with_hidden: bool,
        defaults: HashMap<String, Expr>,
        indexes: Vec<Arc<IndexLayout>>,
    ) -> Self {
        let cols: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| with_hidden || !c.hidden)
            .map(|(i, _)| i)
            .collect();
        let fields: Vec<_> = cols
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                // NOT NULL is enforced when rows are written; DataFusion
                // sees every column as nullable so that it never rejects
                // or optimizes on its own account.
                c.ty.arrow_field(&c.name, true)
            })
            .collect();
        RowTable {
            table,
            schema: Arc::new(Schema::new(fields)),
            cols,
            ctx,
            defaults,
            with_hidden,
            indexes,
        }
    }

    /// The stored column an expression names, if it is a plain column.
    fn column(&self, expr: &Expr) -> Option<usize> {
        match expr {
            Expr::Column(c) => self.table.column_index(&c.name),
            _ => None,
        }
    }

    /// The pushed-down filters as conditions on single columns (the
    /// forms an access path can use; others are left to DataFusion).
    fn conditions(&self, filters: &[Expr]) -> Vec<Cond<Value>> {
        let ty = |c: usize| &self.table.columns[c].ty;
        let literal = |c: usize, e: &Expr| match e {
            Expr::Literal(lit, _) => scalar_as_key(lit, ty(c)),
            _ => None,
        };
        let mut conds = Vec::new();
        for f in filters.iter().flat_map(split_conjunction) {
            match f {
                // `c = a OR c = b ...` (how short IN lists arrive) is an IN list.
                Expr::BinaryExpr(BinaryExpr {
                    op: Operator::Or, ..
                }) => {
                    let mut column = None;
                    let values: Option<Vec<Value>> = split_binary(f, Operator::Or)
                        .into_iter()
                        .map(|d| match d {
                            Expr::BinaryExpr(BinaryExpr {
                                left,
                                op: Operator::Eq,
                                right,
                            }) => {
                                let (c, lit) = match (self.column(left), self.column(right)) {
                                    (Some(c), None) => (c, right.as_ref()),
                                    (None, Some(c)) => (c, left.as_ref()),
                                    _ => return None,
                                };
                                if *column.get_or_insert(c) != c {
                                    return None;
                                }
                                literal(c, lit)
                            }
                            _ => None,
                        })
                        .collect();
                    if let (Some(values), Some(column)) = (values, column) {
                        conds.push(Cond {
                            column,
                            op: Op::In(values),
                        });
                    }
                }
                Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                    let (c, lit, op) = match (self.column(left), self.column(right)) {
                        (Some(c), None) => (c, right.as_ref(), *op),
                        (None, Some(c)) => match op.swap() {
                            Some(op) => (c, left.as_ref(), op),
                            None => continue,
                        },
                        _ => continue,
                    };
                    let Some(v) = literal(c, lit) else { continue };
                    let op = match op {
                        Operator::Eq => Op::Eq(v),
                        Operator::Gt => Op::Lower(v, false),
                        Operator::GtEq => Op::Lower(v, true),
                        Operator::Lt => Op::Upper(v, false),
                        Operator::LtEq => Op::Upper(v, true),
                        _ => continue,
                    };
                    conds.push(Cond { column: c, op });
                }
                Expr::InList(list) if !list.negated => {
                    let Some(c) = self.column(&list.expr) else {
                        continue;
                    };
                    let values: Option<Vec<Value>> =
                        list.list.iter().map(|e| literal(c, e)).collect();
                    if let Some(values) = values {
                        conds.push(Cond {
                            column: c,
                            op: Op::In(values),
                        });
                    }
                }
                Expr::Between(b) if !b.negated => {
                    let Some(c) = self.column(&b.expr) else {
                        continue;
                    };
                    if let (Some(lo), Some(hi)) = (literal(c, &b.low), literal(c, &b.high)) {
                        conds.push(Cond {
                            column: c,
                            op: Op::Lower(lo, true),
                        });
                        conds.push(Cond {
                            column: c,
                            op: Op::Upper(hi, true),
                        });
                    }
                }
                // A boolean column as a condition, or its negation.
                Expr::Column(_) | Expr::Not(_) => {
                    let (inner, value) = match f {
                        Expr::Not(inner) => (inner.as_ref(), false),
                        other => (other, true),
                    };
                    if let Some(c) = self.column(inner)
                        && matches!(ty(c), SqlType::Bool)
                    {
                        conds.push(Cond {
                            column: c,
                            op: Op::Eq(Value::Bool(value)),
                        });
                    }
                }
                _ => {}
            }
        }
        conds
    }

    /// The `column IS [NOT] NULL` tests among the filters (`true`: IS NULL).
    fn null_tests(&self, filters: &[Expr]) -> Vec<(usize, bool)> {
        filters
            .iter()
            .flat_map(split_conjunction)
            .filter_map(|f| match f {
                Expr::IsNull(e) => Some((self.column(e)?, true)),
                Expr::IsNotNull(e) => Some((self.column(e)?, false)),
                _ => None,
            })
            .collect()
    }

    /// The primary-key access path of the conditions, and its
    /// description for the router.
    fn access_path(&self, conds: &[Cond<Value>]) -> (Read, KeyAccess) {
        let pk = &self.table.primary_key;
        let shape = Shape::of(pk, conds).by_key(pk.len());
        let key = shape.key_access(pk.len(), |v| Some(v.clone()));
        (Read::primary_key(pk.len(), &shape), key)
    }
}

#[async_trait]
impl TableProvider for RowTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let view = self.ctx.current().map_err(to_df)?;
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.cols.len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&projection)?);
        let cols: Vec<usize> = projection.iter().map(|&i| self.cols[i]).collect();
        let conds = self.conditions(filters);
        let nulls = self.null_tests(filters);
        let (access, key) = self.access_path(&conds);
        let indexes = if self.with_hidden {
            Vec::new()
        } else {
            index_paths(&view, &self.indexes, &conds, &nulls, &cols)
        };
        let index_descriptions: Vec<IndexPath> =
            indexes.iter().map(|(_, _, p)| p.clone()).collect();
        let table_id = self.table.id;
        let own_writes = view
            .overlay
            .range((table_id, Vec::new())..)
            .next()
            .is_some_and(|((t, _), _)| *t == table_id);
        let row_only = if self.with_hidden {
            Some("target of UPDATE/DELETE")
        } else if own_writes {
            Some("the transaction has uncommitted writes to the table")
        } else {
            None
        };
        let shape = ScanShape {
            key,
            indexes: &index_descriptions,
            projection: &cols,
            limit,
            row_only,
        };
        let (decision, snapshot) =
            route_scan(&view.route, &view.store, &self.table, view.snapshot, &shape).await;
        let (access, access_text) = match decision.index.and_then(|i| indexes.into_iter().nth(i)) {
            Some((layout, shape_of_index, path)) if decision.engine == ReadEngine::Row => (
                Read::Index(Arc::new(IndexRead::new(
                    &layout,
                    &shape_of_index,
                    (false, false),
                    path.covering,
                ))),
                show_index_access(&path),
            ),
            _ => (access, show_access(&shape.key)),
        };
        if let (ReadEngine::Columnar, Some(snapshot)) = (decision.engine, snapshot) {
            let scan = columnar_plan(state, &self.table, snapshot, schema, cols, filters)?;
            return Ok(Arc::new(TableScanExec::new(
                &self.table.name,
                access_text,
                decision,
                scan,
            )));
        }
        let narrowing = match &access {
            Read::Index(read) => Shape::of(&read.layout.key, &conds).consumed,
            _ => Shape::of(&self.table.primary_key, &conds).consumed,
        };
        let reorder = OrderedRead {
            table: self.table.clone(),
            schema: schema.clone(),
            cols: cols.clone(),
            view: view.clone(),
            limit,
            layouts: if self.with_hidden {
                Vec::new()
            } else {
                self.indexes.clone()
            },
            key_path: match &access {
                Read::Index(_) => self.access_path(&conds).0,
                _ => access.clone(),
            },
            conds,
            nulls,
            key_text: show_access(&shape.key),
            narrowing,
        };
        let scan = row_scan(&self.table, schema, cols, access, view, limit, None)?;
        Ok(Arc::new(
            TableScanExec::new(&self.table.name, access_text, decision, scan)
                .with_reorder(Arc::new(reorder)),
        ))
    }
}

/// A row-store scan's plan: one partition reading through `access`,
/// declared to give its rows in `order` when it does.
fn row_scan(
    table: &Arc<Table>,
    schema: SchemaRef,
    cols: Vec<usize>,
    access: Read,
    view: Arc<ReadView>,
    limit: Option<usize>,
    order: Option<LexOrdering>,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let stream = RowScan {
        table: table.clone(),
        schema: schema.clone(),
        cols,
        access,
        view,
        limit,
    };
    Ok(Arc::new(StreamingTableExec::try_new(
        schema,
        vec![Arc::new(stream)],
        None,
        order,
        false,
        limit,
    )?))
}

/// What a row-store scan needs to read its rows in another order: its
/// conditions, the table's indexes, and the primary-key path it has.
struct OrderedRead {
    table: Arc<Table>,
    schema: SchemaRef,
    cols: Vec<usize>,
    view: Arc<ReadView>,
    limit: Option<usize>,
    layouts: Vec<Arc<IndexLayout>>,
    conds: Vec<Cond<Value>>,
    nulls: Vec<(usize, bool)>,
    /// The primary-key path of the scan's conditions (rows in key order).
    key_path: Read,
    key_text: String,
    /// How many conditions the chosen path answers: an ordered path must
    /// answer as many.
    narrowing: usize,
}

impl Reorder for OrderedRead {
    fn ordered(
        &self,
        order: &[PhysicalSortExpr],
        limited: bool,
    ) -> Option<(Arc<dyn ExecutionPlan>, String)> {
        let mut columns = Vec::with_capacity(order.len());
        for e in order {
            let c = e.expr.downcast_ref::<PhysicalColumn>()?;
            columns.push(OrderColumn {
                column: *self.cols.get(c.index())?,
                descending: e.options.descending,
                nulls_first: e.options.nulls_first,
            });
        }
        let pk = &self.table.primary_key;
        let pk_shape = Shape::of(pk, &self.conds);
        let fixed = &pk[..pk_shape.eq.len()];
        let rest: Vec<&OrderColumn> = columns
            .iter()
            .filter(|o| !fixed.contains(&o.column))
            .collect();
        let (access, text) = if pk_shape.consumed >= self.narrowing
            && rest.len() <= pk.len() - fixed.len()
            && rest
                .iter()
                .zip(&pk[fixed.len()..])
                .all(|(o, &k)| o.column == k && !o.descending)
        {
            (
                self.key_path.clone(),
                format!("{}, in key order", self.key_text),
            )
        } else {
            let mut best: Option<(usize, usize, Arc<IndexRead>, IndexPath)> = None;
            for layout in &self.layouts {
                if !readable(&self.view, layout, &self.conds, &self.nulls) {
                    continue;
                }
                let shape = Shape::of(&layout.key, &self.conds);
                if shape.consumed < self.narrowing {
                    continue;
                }
                let Some((reverse, nulls_apart)) =
                    index_order(&self.table, layout, &shape, &columns)
                else {
                    continue;
                };
                let rank = (shape.eq.len(), shape.consumed);
                if best.as_ref().is_some_and(|(e, c, _, _)| (*e, *c) >= rank) {
                    continue;
                }
                let covering = covers(&self.table, layout, &self.cols);
                if shape.is_empty() && !covering && !limited {
                    continue;
                }
                let path = index_path(layout, &shape, covering);
                let read = IndexRead::new(layout, &shape, (reverse, nulls_apart), covering);
                best = Some((rank.0, rank.1, Arc::new(read), path));
            }
            let (_, _, read, path) = best?;
            let text = format!(
                "{}, in {}index order",
                show_index_access(&path),
                if read.reverse() { "reverse " } else { "" }
            );
            (Read::Index(read), text)
        };
        let order = LexOrdering::new(order.to_vec())?;
        let plan = row_scan(
            &self.table,
            self.schema.clone(),
            self.cols.clone(),
            access,
            self.view.clone(),
            self.limit,
            Some(order),
        )
        .ok()?;
        Some((plan, text))
    }
}

pub(crate) fn to_df(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// One partition of a row-store scan.
struct RowScan {
    table: Arc<Table>,
    schema: SchemaRef,
    cols: Vec<usize>,
    access: Read,
    view: Arc<ReadView>,
    limit: Option<usize>,
}

impl fmt::Debug for RowScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowScan({}, {:?})", self.table.name, self.access)
    }
}

/// Rows read per chunk: the first chunk is small, so that a LIMIT above
/// the scan (or a consumer that stops early) reads little; chunks double
/// up to the largest.
const FIRST_CHUNK_ROWS: usize = 128;
const CHUNK_ROWS: usize = 8192;

impl PartitionStream for RowScan {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut cursor = Cursor {
            table: self.table.clone(),
            schema: self.schema.clone(),
            cols: self.cols.clone(),
            view: self.view.clone(),
            remaining: self.limit.unwrap_or(usize::MAX),
            chunk: FIRST_CHUNK_ROWS,
            reader: self.access.cursor(
                &self.view,
                self.table.id,
                Some(crate::reads::columns_mask(&self.table, &self.cols)),
            ),
        };
        let stream = futures::stream::unfold(Some(()), move |more| {
            let batch = match more {
                None => None,
                Some(()) => match cursor.next_batch() {
                    Ok(Some(b)) => Some((Ok(b), Some(()))),
                    Ok(None) => None,
                    Err(e) => Some((Err(to_df(e)), None)),
                },
            };
            futures::future::ready(batch)
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

struct Cursor {
    table: Arc<Table>,
    schema: SchemaRef,
    cols: Vec<usize>,
    view: Arc<ReadView>,
    remaining: usize,
    /// Rows the next chunk reads.
    chunk: usize,
    reader: ReadCursor,
}

impl Cursor {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let chunk = self.chunk;
        self.chunk = (chunk * 2).min(CHUNK_ROWS);
        let Some(rows) = self
            .reader
            .next_rows(&self.view, chunk.min(self.remaining))?
        else {
            return Ok(None);
        };
        let take = rows.len().min(self.remaining);
        self.remaining -= take;
        let refs: Vec<&[Value]> = rows[..take].iter().map(|r| r.as_slice()).collect();
        let columns: Vec<&Column> = self.cols.iter().map(|&i| &self.table.columns[i]).collect();
        let batch = rows_to_batch(&self.schema, &columns, &self.cols, &refs)?;
        if batch.num_rows() == 0 && !self.reader.is_done() {
            // An empty chunk (all overridden by own deletes) is not the end.
            return self.next_batch();
        }
        Ok(Some(batch))
    }
}

//! What one statement reads: a snapshot of the row store, the
//! transaction's own uncommitted writes over it, and how its scans choose
//! an engine; and the slot through which a session's table providers find
//! the view of the statement being run.

use crate::route::Route;
use parking_lot::Mutex;
use prismdb_common::{Error, Result, TableId, Value, Version};
use prismdb_rowstore::{RowKey, RowStore};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Rows a transaction wrote and has not committed: `None` marks a delete.
pub type Overlay = BTreeMap<RowKey, Option<Arc<Vec<Value>>>>;

/// What one statement reads.
pub struct ReadView {
    pub store: Arc<RowStore>,
    pub snapshot: Version,
    pub overlay: Arc<Overlay>,
    /// How scans choose between the row store and columnar replicas.
    pub route: Route,
}

impl ReadView {
    /// Reads one row by encoded primary key, own writes first.
    pub fn get(&self, table: TableId, pk: &[u8]) -> Result<Option<Arc<Vec<Value>>>> {
        self.get_columns(table, pk, None)
    }

    /// [`ReadView::get`] that, with `keep`, decodes a row of the snapshot
    /// with only the columns it marks (the others read as NULL; own writes
    /// come whole).
    pub fn get_columns(
        &self,
        table: TableId,
        pk: &[u8],
        keep: Option<&[bool]>,
    ) -> Result<Option<Arc<Vec<Value>>>> {
        if let Some(own) = self.overlay.get(&(table, pk.to_vec())) {
            return Ok(own.clone());
        }
        Ok(self
            .store
            .get_columns(table, pk, self.snapshot, keep)?
            .map(Arc::new))
    }
}

/// The read view of the statement a session is running, shared with the
/// table providers it planned.
#[derive(Default)]
pub struct ScanContext {
    view: Mutex<Option<Arc<ReadView>>>,
}

impl fmt::Debug for ScanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScanContext")
    }
}

impl ScanContext {
    pub fn set(&self, view: Option<Arc<ReadView>>) {
        *self.view.lock() = view;
    }

    pub fn current(&self) -> Result<Arc<ReadView>> {
        self.view
            .lock()
            .clone()
            .ok_or_else(|| Error::Internal("table read outside a statement".into()))
    }
}

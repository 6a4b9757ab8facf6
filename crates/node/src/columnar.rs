//! The glue between the row store, the log and the columnar replicas.
//!
//! [`StoreSource`] lets replica builds read pinned row-store snapshots.
//! [`feed`] turns the write sets the row store accepted into the replicas'
//! row changes (decoding rows only of tables this node hosts), and
//! [`hosting`] derives which members host replicas from the Raft
//! membership: the columnar members if the cluster has any, else the voters.

use prismdb_catalog::Catalog;
use prismdb_columnar::{ApplyEntry, ColumnStore, Hosting, RowChange, RowSource};
use prismdb_common::{Result, TableId, Version};
use prismdb_raft::Replica;
use prismdb_rowstore::{Command, RowStore, Write, row::decode_row};
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The row store as replica builds read it.
pub struct StoreSource(pub Arc<RowStore>);

impl RowSource for StoreSource {
    fn applied(&self) -> Version {
        self.0.last_version()
    }

    fn horizon(&self) -> Version {
        self.0.horizon()
    }

    fn pin(&self, version: Version) -> Option<Box<dyn Any + Send + Sync>> {
        self.0
            .pin(version)
            .map(|g| Box::new(g) as Box<dyn Any + Send + Sync>)
    }

    fn estimate_rows(&self, table: TableId) -> u64 {
        self.0.estimate_rows(table).unwrap_or(0)
    }

    fn scan(
        &self,
        table: TableId,
        since: Option<Version>,
        at: Version,
        resume: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<RowChange>, Option<Vec<u8>>)> {
        let (rows, next) = self.0.scan_changes(table, since, at, resume, limit)?;
        Ok((
            rows.into_iter()
                .map(|(key, row)| RowChange { key, row })
                .collect(),
            next,
        ))
    }
}

/// Hands the entries the row store just applied to the replicas' apply
/// queue: for each accepted commit, its new catalog and the row changes of
/// hosted tables.
pub fn feed(
    columnar: &Arc<ColumnStore>,
    entries: &[(u64, Option<&Command>)],
    accepted: &[bool],
) -> Result<()> {
    let mut out = Vec::with_capacity(entries.len());
    for ((index, command), ok) in entries.iter().zip(accepted) {
        let Some(Command::Commit(ws)) = command.filter(|_| *ok) else {
            continue;
        };
        let catalog = match &ws.catalog {
            Some(bytes) => Some(Arc::new(Catalog::decode(bytes)?)),
            None => None,
        };
        let mut changes: BTreeMap<TableId, Vec<RowChange>> = BTreeMap::new();
        for ((table, key), write) in &ws.writes {
            if !columnar.wants(*table) {
                continue;
            }
            let row = match write {
                Write::Put { row, .. } => decode_row(row)?,
                Write::Delete => None,
            };
            changes.entry(*table).or_default().push(RowChange {
                key: key.clone(),
                row,
            });
        }
        if catalog.is_none() && changes.is_empty() {
            continue;
        }
        out.push(ApplyEntry {
            index: *index,
            catalog,
            changes: changes.into_iter().collect(),
        });
    }
    if let Some((last, _)) = entries.last() {
        columnar.submit(out, *last);
    }
    Ok(())
}

/// Which members host replicas, from this node's view of the membership.
pub fn hosting(replica: &Replica, this: &str) -> Hosting {
    let members = replica.membership();
    let columnar: Vec<String> = members
        .iter()
        .filter(|(m, _)| m.columnar)
        .map(|(m, _)| m.name.clone())
        .collect();
    let mut eligible = if columnar.is_empty() {
        members
            .iter()
            .filter(|(_, voter)| *voter)
            .map(|(m, _)| m.name.clone())
            .collect()
    } else {
        columnar
    };
    eligible.sort();
    Hosting {
        this: this.to_string(),
        eligible,
    }
}

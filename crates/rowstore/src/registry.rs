//! The registry of the applied catalog's indexes and their builds on this
//! member: each index's build state ([`BuildState`]), kept in memory and in
//! the `meta` column family (`index/<id>`), what a catalog change does to
//! the indexes ([`IndexChanges`]), and the builds handed to the index
//! builder ([`BuildJob`]). Plain data; the row store loads it at open and
//! after a snapshot install ([`Registry::load`]), and the `builds` module
//! keeps it as entries apply and builds run.

use crate::pins::SnapshotGuard;
use prismdb_catalog::Catalog;
use prismdb_common::{Result, TableId, Version};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An index's build on this member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BuildState {
    /// Back-filling: rows done of an estimated total.
    Building { done: u64, total: u64 },
    /// Complete: reads at snapshots from `since` on may use it.
    Ready,
    /// The build failed (a unique index found a duplicate); the message
    /// names the key.
    Failed(String),
}

/// One index as this member's row store knows it.
#[derive(Debug, Clone)]
pub struct IndexStatus {
    pub id: u32,
    pub name: String,
    pub table: TableId,
    /// The log index of the DDL its entries are (re)built from.
    pub since: Version,
    pub state: BuildState,
}

/// An index's build state as `meta` stores it (under [`index_meta_key`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredState {
    pub(crate) since: Version,
    pub(crate) state: BuildState,
}

/// The indexes of the applied catalog and their builds.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) indexes: HashMap<u32, IndexStatus>,
    /// Why each recently dropped index's build failed here, for a
    /// `CREATE` still waiting on it.
    pub(crate) failures: HashMap<u32, String>,
}

/// Most failures of dropped builds remembered.
pub(crate) const MAX_FAILURES: usize = 256;

/// A build to run: the index, the log index it starts from, and a pinned
/// snapshot there when apply could take one.
pub(crate) struct BuildJob {
    pub(crate) id: u32,
    pub(crate) since: Version,
    pub(crate) snapshot: Option<SnapshotGuard>,
}

/// What a catalog change does to the indexes.
#[derive(Default)]
pub(crate) struct IndexChanges {
    /// Indexes whose entries are (re)built from this version.
    pub(crate) rebuild: Vec<IndexStatus>,
    /// Indexes gone (entries removed).
    pub(crate) dropped: Vec<u32>,
    /// Tables whose index set changed: older writers are refused.
    pub(crate) tables: Vec<TableId>,
    /// The catalog's indexes by id (names and tables), after the change.
    pub(crate) current: HashMap<u32, (String, TableId)>,
    /// The key kind of each index's leading column, after the change
    /// (none when the new catalog cannot be read).
    pub(crate) leads: HashMap<u32, prismdb_common::keycode::KeyKind>,
}

/// `meta` keys `index/<id>`: an index's build state on this member.
const META_INDEX_PREFIX: &[u8] = b"index/";

/// The `meta` key of index `id`'s build state.
pub(crate) fn index_meta_key(id: u32) -> Vec<u8> {
    let mut k = META_INDEX_PREFIX.to_vec();
    k.extend(id.to_be_bytes());
    k
}

impl Registry {
    /// The registry of the indexes of `catalog` (encoded; an absent or
    /// unreadable catalog has none), each with the build state `stored`
    /// reads from `meta` at its key, or, if none is stored (an index
    /// recorded before its entries were kept), a build from `last`. Also
    /// returns the indexes whose builds had not completed, to restart.
    pub(crate) fn load(
        catalog: Option<&[u8]>,
        last: Version,
        mut stored: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
    ) -> Result<(Registry, Vec<u32>)> {
        let catalog = catalog
            .and_then(|bytes| Catalog::decode(bytes).ok())
            .unwrap_or_default();
        let mut registry = Registry::default();
        let mut jobs = Vec::new();
        for (table, index) in catalog.all_indexes() {
            let stored: Option<StoredState> =
                stored(&index_meta_key(index.id))?.and_then(|b| serde_json::from_slice(&b).ok());
            let (since, state) = match stored {
                Some(s) => (s.since, s.state),
                // An index recorded before its entries were kept: built now.
                None => (last, BuildState::Building { done: 0, total: 0 }),
            };
            if matches!(state, BuildState::Building { .. }) {
                jobs.push(index.id);
            }
            registry.indexes.insert(
                index.id,
                IndexStatus {
                    id: index.id,
                    name: index.name.clone(),
                    table: table.id,
                    since,
                    state,
                },
            );
        }
        Ok((registry, jobs))
    }
}

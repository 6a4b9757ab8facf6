//! openraft's own storage test suite, run against the RocksDB log store and
//! the state machine over an in-memory applier.

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use parking_lot::Mutex;
use prismdb_raft::{Applier, LogStore, StateMachine, TypeConfig, column_families};
use rocksdb::{DB, Options};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Applied payloads by index, and the stored state.
type Applied = (BTreeMap<u64, Vec<u8>>, Option<Vec<u8>>);

/// Keeps applied payloads and the stored state in memory.
#[derive(Default)]
struct MemApplier {
    inner: Mutex<Applied>,
}

impl Applier for MemApplier {
    fn apply(
        &self,
        entries: &[(u64, Option<&[u8]>)],
        state: &[u8],
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut g = self.inner.lock();
        let mut out = Vec::new();
        for (i, p) in entries {
            if let Some(p) = p {
                g.0.insert(*i, p.to_vec());
            }
            out.push(Vec::new());
        }
        g.1 = Some(state.to_vec());
        Ok(out)
    }

    fn state(&self) -> Result<Option<Vec<u8>>, String> {
        Ok(self.inner.lock().1.clone())
    }

    fn export(&self) -> Result<(Option<Vec<u8>>, Vec<u8>), String> {
        let g = self.inner.lock();
        let state = g.1.clone().unwrap_or_default();
        let mut all = Vec::new();
        all.extend((state.len() as u32).to_be_bytes());
        all.extend(&state);
        for (i, p) in &g.0 {
            all.extend(i.to_be_bytes());
            all.extend((p.len() as u32).to_be_bytes());
            all.extend(p);
        }
        Ok((g.1.clone(), all))
    }

    fn import(&self, data: &[u8]) -> Result<(), String> {
        let mut g = self.inner.lock();
        let n = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
        let state = data[4..4 + n].to_vec();
        let mut rest = &data[4 + n..];
        g.0.clear();
        while !rest.is_empty() {
            let i = u64::from_be_bytes(rest[..8].try_into().unwrap());
            let l = u32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
            g.0.insert(i, rest[12..12 + l].to_vec());
            rest = &rest[12 + l..];
        }
        g.1 = (!state.is_empty()).then_some(state);
        Ok(())
    }

    fn oldest_snapshot(&self) -> u64 {
        0
    }

    fn applied_index(&self) -> u64 {
        0
    }
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = DB::open_cf_descriptors(&opts, dir.path().join("db"), column_families()).unwrap();
        let log = LogStore::new(Arc::new(db), false)?;
        let sm = StateMachine::new(
            Arc::new(MemApplier::default()),
            dir.path().join("snapshot.bin"),
        )?;
        Ok((dir, log, sm))
    }
}

#[test]
fn t10_log_store_and_state_machine_pass_openraft_suite() {
    Suite::test_all(Builder).unwrap();
}

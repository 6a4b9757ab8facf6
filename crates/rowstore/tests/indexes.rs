//! Secondary index entries in the row store, on a real RocksDB: written in
//! the same batch as their rows, back-filled online from the DDL's log
//! index, unique claims decided at apply, and garbage-collected like row
//! versions.

use prismdb_catalog::{Catalog, Column, Index, IndexColumn, SqlType, Table};
use prismdb_common::keycode::{encode_key, prefix_end};
use prismdb_common::{Error, Value};
use prismdb_rowstore::index::{BuildState, Direction, IndexLayout, entries_table, entry_pk};
use prismdb_rowstore::row::encode_row;
use prismdb_rowstore::{Command, Entry, RowStore, StoreOptions, Write, WriteSet};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn table() -> Arc<Table> {
    let col = |name: &str, nullable| Column {
        name: name.into(),
        ty: SqlType::Int64,
        nullable,
        default: None,
        hidden: false,
    };
    Arc::new(Table {
        id: 1,
        name: "t".into(),
        columns: vec![col("id", false), col("c", true)],
        primary_key: vec![0],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    })
}

fn catalog(unique: bool) -> Catalog {
    let mut c = Catalog::default();
    let t = table();
    let db = c.database_mut("prism").unwrap();
    db.tables.insert("t".into(), t);
    db.indexes.insert(
        "t_c".into(),
        Index {
            id: 0,
            name: "t_c".into(),
            table: 1,
            columns: vec![IndexColumn {
                name: "c".into(),
                descending: false,
                nulls_first: false,
            }],
            include: Vec::new(),
            predicate: None,
            filter: None,
            unique,
            constraint: false,
        },
    );
    c.next_table_id = 2;
    c.next_index_id = 1;
    c
}

fn layout(unique: bool) -> IndexLayout {
    let c = catalog(unique);
    let t = c.database("prism").unwrap().tables["t"].clone();
    IndexLayout::new(&t, &c.database("prism").unwrap().indexes["t_c"]).unwrap()
}

fn commit(s: &RowStore, ws: WriteSet) -> Result<u64, Error> {
    let cmd = Command::Commit(ws);
    let entry = Entry {
        index: s.last_version() + 1,
        command: Some(&cmd),
    };
    s.apply(&[entry], &[]).unwrap().remove(0)
}

fn pk(id: i64) -> Vec<u8> {
    encode_key(&[Value::Int64(id)])
}

fn row(id: i64, c: Option<i64>) -> Vec<Value> {
    vec![Value::Int64(id), c.map_or(Value::Null, Value::Int64)]
}

/// A write set that changes row `id` from `old` to `new`, with its entries.
fn change(
    s: &RowStore,
    l: &IndexLayout,
    id: i64,
    old: Option<Option<i64>>,
    new: Option<Option<i64>>,
) -> WriteSet {
    let mut ws = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    let old_row = old.map(|c| row(id, c));
    let new_row = new.map(|c| row(id, c));
    let write = match &new_row {
        Some(r) => Write::Put {
            row: encode_row(r),
            insert: old_row.is_none(),
        },
        None => Write::Delete,
    };
    ws.writes.insert((1, pk(id)), write);
    for (k, w) in l.writes(&pk(id), old_row.as_deref(), new_row.as_deref()) {
        ws.writes.insert(k, w);
    }
    ws
}

/// A store for one test. Dropping it waits until no background thread
/// (an index build, the compaction after one) still holds the store: the
/// test process may end right after the test, and RocksDB must not be
/// working while the process tears down.
struct Store(Arc<RowStore>);

impl std::ops::Deref for Store {
    type Target = Arc<RowStore>;

    fn deref(&self) -> &Arc<RowStore> {
        &self.0
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Arc::strong_count(&self.0) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A store in a new directory. Bound as `let (_dir, s) = open()`, the
/// store drops first (locals drop in reverse order), then the directory.
fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap());
    s.start_index_builds().unwrap();
    (dir, Store(s))
}

fn ddl(s: &RowStore, catalog: &Catalog) -> u64 {
    commit(
        s,
        WriteSet {
            read_version: s.last_version(),
            catalog: Some(catalog.encode()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn wait_built(s: &RowStore, id: u32) -> BuildState {
    let start = Instant::now();
    loop {
        let state = s.index_status(id).unwrap().state;
        if !matches!(state, BuildState::Building { .. }) {
            return state;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "build never ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The primary keys (as ids) the index holds for value `c` at `snapshot`.
fn holders(s: &RowStore, c: i64, snapshot: u64) -> Vec<Vec<u8>> {
    let key = encode_key(&[Value::Int64(c)]);
    let end = prismdb_common::keycode::prefix_end(&key).unwrap();
    let (entries, _) = s
        .index_entries(
            0,
            Bound::Included(&key),
            Bound::Excluded(&end),
            snapshot,
            100_000,
            Direction::Forward,
        )
        .unwrap();
    entries
        .iter()
        .map(|(_, v)| entry_pk(v).unwrap().to_vec())
        .collect()
}

#[test]
fn entries_follow_rows_and_are_collected_like_versions() {
    let (_dir, s) = open();
    let l = layout(false);
    ddl(&s, &catalog(false));
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    let v1 = commit(&s, change(&s, &l, 1, None, Some(Some(1)))).unwrap();
    let v2 = commit(&s, change(&s, &l, 1, Some(Some(1)), Some(Some(2)))).unwrap();
    let v3 = commit(&s, change(&s, &l, 1, Some(Some(2)), Some(Some(3)))).unwrap();
    // Every snapshot sees exactly its row's entry.
    assert_eq!(holders(&s, 1, v1), vec![pk(1)]);
    assert!(holders(&s, 1, v2).is_empty());
    assert_eq!(holders(&s, 2, v2), vec![pk(1)]);
    assert_eq!(holders(&s, 3, v3), vec![pk(1)]);
    assert!(holders(&s, 2, v3).is_empty());
    let space = entries_table(0);
    assert_eq!(s.version_count(space).unwrap(), 5);
    s.collect_garbage(v3).unwrap();
    // Only the live entry of the newest version is left.
    assert_eq!(s.version_count(space).unwrap(), 1);
    assert_eq!(holders(&s, 3, v3), vec![pk(1)]);
    // A delete leaves nothing once collected.
    let v4 = commit(&s, change(&s, &l, 1, Some(Some(3)), None)).unwrap();
    s.collect_garbage(v4).unwrap();
    assert_eq!(s.version_count(space).unwrap(), 0);
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The entry keys of index 0 for value `c` at `snapshot`, read in chunks of
/// `chunk` in `direction`, each chunk continuing where the last stopped.
fn entry_keys(
    s: &RowStore,
    c: i64,
    snapshot: u64,
    direction: Direction,
    chunk: usize,
) -> Vec<Vec<u8>> {
    let key = encode_key(&[Value::Int64(c)]);
    let end = prismdb_common::keycode::prefix_end(&key).unwrap();
    let mut lower = Bound::Included(key.clone());
    let mut upper = Bound::Excluded(end);
    let mut out = Vec::new();
    loop {
        let (entries, next) = s
            .index_entries(
                0,
                as_ref(&lower),
                as_ref(&upper),
                snapshot,
                chunk,
                direction,
            )
            .unwrap();
        assert!(entries.len() <= chunk);
        out.extend(entries.into_iter().map(|(k, _)| k));
        match next {
            None => return out,
            Some(k) if direction == Direction::Forward => lower = Bound::Excluded(k),
            Some(k) => upper = Bound::Excluded(k),
        }
    }
}

#[test]
fn backward_reads_match_forward_ones_at_every_snapshot() {
    let (_dir, s) = open();
    let l = layout(false);
    ddl(&s, &catalog(false));
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    // Value 0 gets few entries, value 1 more than a short read takes
    // forwards; rows move between values and go, leaving old versions.
    let mut snapshots = Vec::new();
    let mut current: Vec<Option<Option<i64>>> = vec![None; 200];
    for step in 0..600i64 {
        let id = (step * 37) % 200;
        let new = match step % 5 {
            4 => None,
            _ if id % 10 == 0 => Some(Some(0)),
            _ => Some(Some(1 + step % 2)),
        };
        let old = current[id as usize];
        if old.is_none() && new.is_none() {
            continue;
        }
        let v = commit(&s, change(&s, &l, id, old, new)).unwrap();
        current[id as usize] = new;
        if step % 50 == 0 {
            snapshots.push(v);
        }
    }
    snapshots.push(s.last_version());
    for &at in &snapshots {
        for c in 0..3 {
            let forward = entry_keys(&s, c, at, Direction::Forward, 1000);
            let mut want = forward.clone();
            want.reverse();
            for chunk in [1, 3, 10, 1000] {
                for direction in [Direction::Backward, Direction::BackwardShort] {
                    assert_eq!(
                        entry_keys(&s, c, at, direction, chunk),
                        want,
                        "value {c} at {at}, chunks of {chunk}, {direction:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_build_back_fills_from_its_log_index() {
    let (_dir, s) = open();
    let l = layout(false);
    // A catalog with the table only, then rows, then the index.
    let mut without = catalog(false);
    without.database_mut("prism").unwrap().indexes.clear();
    ddl(&s, &without);
    for id in 0..5000 {
        commit(&s, {
            let mut ws = WriteSet {
                read_version: s.last_version(),
                ..Default::default()
            };
            ws.writes.insert(
                (1, pk(id)),
                Write::Put {
                    row: encode_row(&row(id, Some(id % 7))),
                    insert: true,
                },
            );
            ws
        })
        .unwrap();
    }
    let before = s.last_version();
    let at = ddl(&s, &catalog(false));
    // A writer planned against the catalog without the index is refused.
    let mut stale = change(&s, &l, 9999, None, Some(Some(1)));
    stale.read_version = before;
    assert!(matches!(
        commit(&s, stale),
        Err(Error::SerializationFailure(_))
    ));
    // Writes after the DDL carry their entries while the build runs.
    commit(&s, change(&s, &l, 1, Some(Some(1)), Some(Some(6)))).unwrap();
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    assert!(s.index_usable(0, s.last_version()));
    assert!(!s.index_usable(0, at - 1));
    let now = s.last_version();
    let sixes = holders(&s, 6, now);
    assert_eq!(sixes.len(), 5000 / 7 + 1);
    assert!(sixes.contains(&pk(1)));
    assert!(!holders(&s, 1, now).contains(&pk(1)));
    // Once built, the back-fill (still in the memtable: far too little to
    // fill one) is compacted below level 0, and reads are unchanged.
    let start = Instant::now();
    loop {
        let files = s.files_per_level();
        if files[0] == 0 && files.iter().sum::<u64>() > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the built index stayed in the memtable or level 0: {files:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(holders(&s, 6, now), sixes);
}

#[test]
fn unique_claims_are_decided_at_apply_and_builds_find_duplicates() {
    let (_dir, s) = open();
    let l = layout(true);
    ddl(&s, &catalog(true));
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    // Two transactions from one snapshot claim the same key: the second
    // committer loses with 23505 naming the index.
    let a = change(&s, &l, 1, None, Some(Some(10)));
    let b = change(&s, &l, 2, None, Some(Some(10)));
    commit(&s, a).unwrap();
    match commit(&s, b) {
        Err(Error::UniqueViolation(m)) => assert!(m.contains("\"t_c\""), "{m}"),
        other => panic!("{other:?}"),
    }
    // NULLs are distinct.
    commit(&s, change(&s, &l, 3, None, Some(None))).unwrap();
    commit(&s, change(&s, &l, 4, None, Some(None))).unwrap();
    // A key given up can be claimed again.
    commit(&s, change(&s, &l, 1, Some(Some(10)), Some(Some(11)))).unwrap();
    commit(&s, change(&s, &l, 2, None, Some(Some(10)))).unwrap();

    // A unique index over duplicate rows fails its build.
    let mut plain = catalog(false);
    plain.database_mut("prism").unwrap().indexes.clear();
    ddl(&s, &plain);
    commit(&s, change(&s, &layout(false), 5, None, Some(Some(11)))).unwrap();
    let mut again = catalog(true);
    let db = again.database_mut("prism").unwrap();
    let mut index = db.indexes.remove("t_c").unwrap();
    index.id = 1;
    index.name = "t_c2".into();
    db.indexes.insert("t_c2".into(), index);
    again.next_index_id = 2;
    ddl(&s, &again);
    match wait_built(&s, 1) {
        BuildState::Failed(m) => assert!(m.contains("Key (c)=(11) is duplicated"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// The first chunk of a read of value `c`'s entries at `snapshot`
/// (`None`: NULL), straight from RocksDB: keys, values and where to go on.
fn first_chunk(
    s: &RowStore,
    c: Option<i64>,
    snapshot: u64,
    limit: usize,
    direction: Direction,
) -> prismdb_rowstore::Rows {
    let key = encode_key(&[c.map_or(Value::Null, Value::Int64)]);
    let end = prismdb_common::keycode::prefix_end(&key).unwrap();
    s.index_entries(
        0,
        Bound::Included(&key),
        Bound::Excluded(&end),
        snapshot,
        limit,
        direction,
    )
    .unwrap()
}

#[test]
fn index_groups_answer_like_rocksdb_under_writes_and_collection() {
    let (_dir, s) = open();
    let l = layout(false);
    ddl(&s, &catalog(false));
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    let mut rng = fastrand::Rng::with_seed(17);
    // Value 0 collects far more entries than a group keeps; values 1..8
    // hold a few each; NULLs are a group of their own.
    let value = |rng: &mut fastrand::Rng| match rng.u8(0..10) {
        0..=2 => Some(0),
        3 => None,
        _ => Some(rng.i64(1..8)),
    };
    let mut current: Vec<Option<Option<i64>>> = vec![None; 300];
    let mut snapshots = vec![s.last_version()];
    let (mut answered, mut long) = (0, 0);
    for step in 0..4000 {
        let id = rng.usize(0..current.len());
        let new = if rng.u8(0..6) == 0 {
            None
        } else {
            Some(value(&mut rng))
        };
        let old = current[id];
        if old.is_some() || new.is_some() {
            let v = commit(&s, change(&s, &l, id as i64, old, new)).unwrap();
            current[id] = new;
            if rng.u8(0..20) == 0 {
                snapshots.push(v);
            }
        }
        if step % 500 == 499 {
            // Collection removes superseded entries, never visible ones.
            let keep = snapshots.len() / 2;
            s.collect_garbage(snapshots[keep]).unwrap();
            snapshots.drain(..keep);
        }
        for _ in 0..3 {
            let c = value(&mut rng);
            let at = if rng.bool() {
                s.last_version()
            } else {
                snapshots[rng.usize(0..snapshots.len())]
            };
            let limit = [1, 3, 10, 100][rng.usize(0..4)];
            let direction = [Direction::Forward, Direction::BackwardShort][rng.usize(0..2)];
            let lead = encode_key(&[c.map_or(Value::Null, Value::Int64)]);
            let want = first_chunk(&s, c, at, limit, direction);
            match s.index_group(0, &lead, at, limit, direction).unwrap() {
                Some(got) => {
                    answered += 1;
                    let case = format!("value {c:?} at {at}, limit {limit}, {direction:?}");
                    assert_eq!(got.0, want.0, "{case}");
                    // A group knows when it is exhausted; a RocksDB read
                    // that stopped at its limit may point on to nothing.
                    if got.1 != want.1 {
                        assert!(got.1.is_none() && want.0.len() == limit, "{case}");
                        let (key, end) = (lead.clone(), prefix_end(&lead).unwrap());
                        let after = want.1.unwrap();
                        let (lower, upper) = match direction {
                            Direction::Forward => (Bound::Excluded(&after), Bound::Excluded(&end)),
                            _ => (Bound::Included(&key), Bound::Excluded(&after)),
                        };
                        let rest = s
                            .index_entries(
                                0,
                                as_ref(&lower.cloned()),
                                as_ref(&upper.cloned()),
                                at,
                                10,
                                direction,
                            )
                            .unwrap();
                        assert!(rest.0.is_empty(), "{case}");
                    }
                }
                None => long += 1,
            }
        }
    }
    let stats = s.group_cache_stats();
    assert!(
        answered > 1000 && long > 100,
        "{answered} answered, {long} long"
    );
    assert!(stats.hits > 1000, "{stats:?}");
    // A value that is not one whole key value of the leading column is
    // never taken as a group.
    let two = encode_key(&[Value::Int64(1), Value::Int64(2)]);
    let at = s.last_version();
    assert!(
        s.index_group(0, &two, at, 10, Direction::Forward)
            .unwrap()
            .is_none()
    );
    assert!(
        s.index_group(0, &[1, 2], at, 10, Direction::Forward)
            .unwrap()
            .is_none()
    );
}

/// The primary keys of the rows a group read returns.
fn group_pks(s: &RowStore, c: i64) -> Option<Vec<Vec<u8>>> {
    let lead = encode_key(&[Value::Int64(c)]);
    let rows = s
        .index_group(0, &lead, s.last_version(), 100, Direction::Forward)
        .unwrap()?;
    Some(
        rows.0
            .iter()
            .map(|(_, v)| entry_pk(v).unwrap().to_vec())
            .collect(),
    )
}

#[test]
fn index_groups_follow_installed_snapshots_and_dropped_indexes() {
    let (_dir, s) = open();
    let l = layout(false);
    ddl(&s, &catalog(false));
    assert_eq!(wait_built(&s, 0), BuildState::Ready);
    for id in 1..=5 {
        commit(&s, change(&s, &l, id, None, Some(Some(1)))).unwrap();
    }
    let five: Vec<_> = (1..=5).map(pk).collect();
    assert_eq!(group_pks(&s, 1), Some(five.clone()));
    let hits = s.group_cache_stats().hits;
    assert_eq!(group_pks(&s, 1), Some(five));
    assert!(s.group_cache_stats().hits > hits);

    // Another store's snapshot replaces this one's entries.
    let (_other_dir, other) = open();
    ddl(&other, &catalog(false));
    assert_eq!(wait_built(&other, 0), BuildState::Ready);
    for id in 10..=12 {
        commit(&other, change(&other, &l, id, None, Some(Some(1)))).unwrap();
    }
    // Its versions reach past every version this store kept a group at.
    for id in 100..120 {
        commit(&other, change(&other, &l, id, None, Some(Some(2)))).unwrap();
    }
    assert!(other.last_version() > s.last_version());
    let (_, bytes) = other.export(b"none").unwrap();
    s.import(&bytes).unwrap();
    assert_eq!(group_pks(&s, 1), Some((10..=12).map(pk).collect()));
    assert_eq!(group_pks(&s, 1), Some((10..=12).map(pk).collect()));

    // A dropped index has no groups.
    let mut without = catalog(false);
    without.database_mut("prism").unwrap().indexes.clear();
    ddl(&s, &without);
    assert_eq!(group_pks(&s, 1), None);
}

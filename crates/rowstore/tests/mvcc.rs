//! MVCC visibility and commit validation of the row store, on a real RocksDB.

use prismdb_common::{Error, Value, keycode::encode_key};
use prismdb_rowstore::{Command, Entry, RowStore, StoreOptions, Write, WriteSet, row::encode_row};
use std::ops::Bound;

fn store() -> (tempfile::TempDir, RowStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    (dir, s)
}

/// Applies one write set as the next log entry.
fn commit(s: &RowStore, ws: WriteSet) -> Result<u64, Error> {
    let cmd = Command::Commit(ws);
    let entry = Entry {
        index: s.last_version() + 1,
        command: Some(&cmd),
    };
    s.apply(&[entry], &[]).unwrap().remove(0)
}

fn put(ws: &mut WriteSet, table: u32, id: i64, v: &str, insert: bool) {
    let pk = encode_key(&[Value::Int64(id)]);
    let row = encode_row(&[Value::Int64(id), Value::Text(v.into())]);
    ws.writes.insert((table, pk), Write::Put { row, insert });
}

fn text_at(s: &RowStore, id: i64, snap: u64) -> Option<String> {
    s.get(1, &encode_key(&[Value::Int64(id)]), snap)
        .unwrap()
        .map(|r| match &r[1] {
            Value::Text(t) => t.clone(),
            v => panic!("unexpected {v:?}"),
        })
}

#[tokio::test]
async fn t10_snapshots_see_versions_as_of_their_time() {
    let (_d, s) = store();
    let mut ws = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    put(&mut ws, 1, 1, "a", true);
    put(&mut ws, 1, 2, "b", true);
    let v1 = commit(&s, ws).unwrap();
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "a2", false);
    ws.writes
        .insert((1, encode_key(&[Value::Int64(2)])), Write::Delete);
    let v2 = commit(&s, ws).unwrap();
    assert!(v2 > v1);
    assert_eq!(text_at(&s, 1, v1 - 1), None);
    assert_eq!(text_at(&s, 1, v1).as_deref(), Some("a"));
    assert_eq!(text_at(&s, 1, v2).as_deref(), Some("a2"));
    assert_eq!(text_at(&s, 2, v1).as_deref(), Some("b"));
    assert_eq!(text_at(&s, 2, v2), None);
    let all = s
        .scan(1, Bound::Unbounded, Bound::Unbounded, v1, 100)
        .unwrap();
    assert_eq!(all.rows.len(), 2);
    let all = s
        .scan(1, Bound::Unbounded, Bound::Unbounded, v2, 100)
        .unwrap();
    assert_eq!(all.rows.len(), 1);
    // Another table's keys are not visible.
    assert!(
        s.scan(2, Bound::Unbounded, Bound::Unbounded, v2, 100)
            .unwrap()
            .rows
            .is_empty()
    );
}

#[tokio::test]
async fn t20_first_committer_wins_and_inserts_are_unique() {
    let (_d, s) = store();
    let snap = s.last_version();
    let mut a = WriteSet {
        read_version: snap,
        ..Default::default()
    };
    put(&mut a, 1, 1, "a", true);
    let mut b = a.clone();
    put(&mut b, 1, 1, "b", true);
    commit(&s, a).unwrap();
    assert!(matches!(commit(&s, b), Err(Error::UniqueViolation(_))));
    let mut c = WriteSet {
        read_version: snap,
        ..Default::default()
    };
    put(&mut c, 1, 1, "c", false);
    assert!(matches!(commit(&s, c), Err(Error::SerializationFailure(_))));
}

#[tokio::test]
async fn t30_chunked_scans_resume_and_ranges_bound() {
    let (_d, s) = store();
    let mut ws = WriteSet::default();
    for i in 0..100 {
        put(&mut ws, 1, i, "x", true);
    }
    let v = commit(&s, ws).unwrap();
    let mut seen = 0;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let chunk = s.scan(1, lower, Bound::Unbounded, v, 7).unwrap();
        seen += chunk.rows.len();
        match chunk.resume_after {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(seen, 100);
    let lo = encode_key(&[Value::Int64(10)]);
    let hi = encode_key(&[Value::Int64(20)]);
    let r = s
        .scan(1, Bound::Included(&lo), Bound::Excluded(&hi), v, 1000)
        .unwrap();
    assert_eq!(r.rows.len(), 10);
    let r = s
        .scan(1, Bound::Excluded(&lo), Bound::Included(&hi), v, 1000)
        .unwrap();
    assert_eq!(r.rows.len(), 10);
}

#[tokio::test]
async fn t40_reopen_keeps_versions_and_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let v = {
        let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
        let mut ws = WriteSet {
            catalog: Some(b"cat".to_vec()),
            ..Default::default()
        };
        put(&mut ws, 1, 5, "five", true);
        commit(&s, ws).unwrap()
    };
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    assert_eq!(s.last_version(), v);
    assert_eq!(s.catalog(), Some((v, b"cat".to_vec())));
    assert_eq!(text_at(&s, 5, v).as_deref(), Some("five"));
}

#[tokio::test]
async fn t50_snapshot_export_import_round_trips() {
    let (_d1, a) = store();
    let mut ws = WriteSet {
        catalog: Some(b"cat".to_vec()),
        ..Default::default()
    };
    put(&mut ws, 1, 1, "one", true);
    put(&mut ws, 1, 2, "two", true);
    let v1 = commit(&a, ws).unwrap();
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "uno", false);
    let v2 = commit(&a, ws).unwrap();
    let (state, bytes) = a.export(b"last_version").unwrap();
    assert_eq!(state, Some(v2.to_be_bytes().to_vec()));

    let (_d2, b) = store();
    let mut junk = WriteSet::default();
    put(&mut junk, 1, 99, "junk", true);
    commit(&b, junk).unwrap();
    b.import(&bytes).unwrap();
    assert_eq!(b.last_version(), v2);
    assert_eq!(b.catalog(), Some((v1, b"cat".to_vec())));
    assert_eq!(text_at(&b, 1, v1).as_deref(), Some("one"));
    assert_eq!(text_at(&b, 1, v2).as_deref(), Some("uno"));
    assert_eq!(text_at(&b, 99, v2), None);
    assert!(b.import(b"garbage").is_err());
}

#[tokio::test]
async fn t60_garbage_collection_keeps_what_snapshots_see() {
    let (_d, s) = store();
    let mut ws = WriteSet::default();
    put(&mut ws, 1, 1, "a", true);
    put(&mut ws, 1, 2, "x", true);
    let v1 = commit(&s, ws).unwrap();
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "b", false);
    ws.writes
        .insert((1, encode_key(&[Value::Int64(2)])), Write::Delete);
    let v2 = commit(&s, ws).unwrap();
    let mut ws = WriteSet {
        read_version: v2,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "c", false);
    let v3 = commit(&s, ws).unwrap();
    // Below v2: key 1 keeps "b" (v2) and "c" (v3); "a" goes; key 2's
    // delete at v2 and its row at v1 both go.
    assert_eq!(s.collect_garbage(v2).unwrap(), 3);
    assert_eq!(text_at(&s, 1, v2).as_deref(), Some("b"));
    assert_eq!(text_at(&s, 1, v3).as_deref(), Some("c"));
    assert_eq!(text_at(&s, 2, v3), None);

    // A horizon entry makes commits that read below it fail, identically
    // on every replica.
    let h = Command::Horizon(v2);
    let idx = s.last_version() + 1;
    s.apply(
        &[Entry {
            index: idx,
            command: Some(&h),
        }],
        &[],
    )
    .unwrap();
    let mut old = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut old, 1, 3, "late", true);
    assert!(matches!(
        commit(&s, old),
        Err(Error::SerializationFailure(_))
    ));
}

/// Entries of the garbage index (`meta` keys under `gc/`).
fn gc_index_len(s: &RowStore) -> usize {
    let meta = s.db().cf_handle("meta").unwrap();
    s.db()
        .prefix_iterator_cf(meta, b"gc/")
        .map(|item| item.unwrap())
        .take_while(|(k, _)| k.starts_with(b"gc/"))
        .count()
}

/// Opens (again) the store in `dir`.
fn reopen(dir: &std::path::Path) -> RowStore {
    RowStore::open(dir, StoreOptions::default(), vec![]).unwrap()
}

/// Inserts rows `ids` of table 1 in one commit; returns its version.
fn insert_rows(s: &RowStore, ids: std::ops::RangeInclusive<i64>, text: &str) -> u64 {
    let mut ws = WriteSet::default();
    for id in ids {
        put(&mut ws, 1, id, text, true);
    }
    commit(s, ws).unwrap()
}

/// Deletes the `meta` key `marker` and every key under `prefix` (ending in
/// `/`), as a store written before they existed would lack them.
fn forget_meta(s: &RowStore, marker: &[u8], prefix: &[u8]) {
    let meta = s.db().cf_handle("meta").unwrap();
    s.db().delete_cf(meta, marker).unwrap();
    let mut end = prefix.to_vec();
    *end.last_mut().unwrap() += 1;
    s.db()
        .delete_range_cf(meta, prefix, end.as_slice())
        .unwrap();
}

fn delete(ws: &mut WriteSet, table: u32, id: i64) {
    ws.writes
        .insert((table, encode_key(&[Value::Int64(id)])), Write::Delete);
}

#[tokio::test]
async fn t65_garbage_index_names_what_collection_visits() {
    let dir = tempfile::tempdir().unwrap();
    let open = || reopen(dir.path());
    let s = open();
    let v1 = insert_rows(&s, 1..=200, "v1");
    // Inserts of new rows make no garbage.
    assert_eq!(gc_index_len(&s), 0);
    let update = |s: &RowStore, read: u64, text: &str| {
        let mut ws = WriteSet {
            read_version: read,
            ..Default::default()
        };
        for id in 1..=5 {
            put(&mut ws, 1, id, text, false);
        }
        commit(s, ws).unwrap()
    };
    let v2 = update(&s, v1, "v2");
    let mut ws = WriteSet {
        read_version: v2,
        ..Default::default()
    };
    delete(&mut ws, 1, 6);
    let v3 = commit(&s, ws).unwrap();
    let v4 = update(&s, v3, "v4");
    assert_eq!(gc_index_len(&s), 11);
    assert_eq!(s.version_count(1).unwrap(), 211);

    // Up to v3: the v1 versions of 1..=5, and row 6 with its delete.
    assert_eq!(s.collect_garbage(v3).unwrap(), 7);
    assert_eq!(s.version_count(1).unwrap(), 204);
    assert_eq!(gc_index_len(&s), 5, "the entries of v4 stay");
    assert_eq!(text_at(&s, 1, v3).as_deref(), Some("v2"));
    assert_eq!(text_at(&s, 1, v4).as_deref(), Some("v4"));
    assert_eq!(text_at(&s, 7, v4).as_deref(), Some("v1"));
    assert_eq!(text_at(&s, 6, v4), None);

    // The index survives a restart, and a run with nothing new is free.
    drop(s);
    let s = open();
    assert_eq!(s.collect_garbage(v4).unwrap(), 5);
    assert_eq!(s.version_count(1).unwrap(), 199);
    assert_eq!(gc_index_len(&s), 0);
    assert_eq!(s.collect_garbage(v4).unwrap(), 0);
    assert_eq!(text_at(&s, 1, v4).as_deref(), Some("v4"));

    // A snapshot carries the index: the importing store collects the same.
    let v5 = update(&s, v4, "v5");
    let (_, bytes) = s.export(b"none").unwrap();
    let (_d2, b) = store();
    b.import(&bytes).unwrap();
    assert_eq!(b.collect_garbage(v5).unwrap(), 5);
    assert_eq!(b.version_count(1).unwrap(), 199);
    assert_eq!(text_at(&b, 1, v5).as_deref(), Some("v5"));
}

#[tokio::test]
async fn t66_a_store_from_before_the_garbage_index_is_scanned_once() {
    let dir = tempfile::tempdir().unwrap();
    let open = || reopen(dir.path());
    let s = open();
    let v1 = insert_rows(&s, 1..=10, "a");
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "b", false);
    delete(&mut ws, 1, 2);
    let v2 = commit(&s, ws).unwrap();
    // Make it look like a store written before the index existed.
    forget_meta(&s, b"gc_indexed_from", b"gc/");
    drop(s);
    let s = open();
    assert_eq!(
        s.meta(b"gc_indexed_from").unwrap(),
        Some(v2.to_be_bytes().to_vec())
    );
    // Writes from now on are indexed.
    let mut ws = WriteSet {
        read_version: v2,
        ..Default::default()
    };
    put(&mut ws, 1, 3, "c", false);
    let v3 = commit(&s, ws).unwrap();
    assert_eq!(gc_index_len(&s), 1);
    // Below the last unindexed write, only indexed rows are visited.
    assert_eq!(s.collect_garbage(v1).unwrap(), 0);
    // Once the bound reaches it, one full scan: row 1's "a", row 2's
    // delete and row; the indexed row 3 is not yet below the bound.
    assert_eq!(s.collect_garbage(v2).unwrap(), 3);
    let nothing_owed = Some(0u64.to_be_bytes().to_vec());
    assert_eq!(s.meta(b"gc_indexed_from").unwrap(), nothing_owed);
    assert_eq!(s.collect_garbage(v3).unwrap(), 1);
    assert_eq!(s.version_count(1).unwrap(), 9);
    drop(s);
    let s = open();
    assert_eq!(s.meta(b"gc_indexed_from").unwrap(), nothing_owed);
}

#[tokio::test]
async fn t67_each_table_knows_its_newest_write() {
    let dir = tempfile::tempdir().unwrap();
    let open = || reopen(dir.path());
    let s = open();
    assert_eq!(s.last_write(1), 0);
    let mut ws = WriteSet::default();
    put(&mut ws, 1, 1, "a", true);
    let v1 = commit(&s, ws).unwrap();
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 2, 1, "b", true);
    let v2 = commit(&s, ws).unwrap();
    assert_eq!(
        (s.last_write(1), s.last_write(2), s.last_write(3)),
        (v1, v2, 0)
    );
    // Changes since a version at or after the newest write: none, and the
    // answer agrees with reading the table.
    let changes = |s: &RowStore, since| s.scan_changes(1, Some(since), v2, None, 100).unwrap();
    assert!(changes(&s, v1).0.is_empty());
    assert_eq!(changes(&s, v1 - 1).0.len(), 1);
    // A layout change counts as a write.
    let alter = WriteSet {
        read_version: v2,
        catalog: Some(b"{}".to_vec()),
        altered_tables: vec![1],
        ..Default::default()
    };
    let v3 = commit(&s, alter).unwrap();
    assert_eq!(s.last_write(1), v3);
    drop(s);
    let s = open();
    assert_eq!((s.last_write(1), s.last_write(2)), (v3, v2));
    let drop_table = WriteSet {
        read_version: v3,
        catalog: Some(b"{}".to_vec()),
        drop_tables: vec![2],
        ..Default::default()
    };
    commit(&s, drop_table).unwrap();
    assert_eq!(s.last_write(2), 0);
    // A store from before these were kept: any table may have been written
    // up to its last version.
    forget_meta(&s, b"written_from", b"written/");
    let last = s.last_version();
    drop(s);
    let s = open();
    assert_eq!((s.last_write(1), s.last_write(7)), (last, last));
    assert_eq!(
        s.scan_changes(1, Some(v1 - 1), last, None, 100)
            .unwrap()
            .0
            .len(),
        1
    );
}

#[tokio::test]
async fn t70_hidden_row_ids_continue_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        rowid_slot: 3,
        ..Default::default()
    };
    let used = {
        let s = RowStore::open(dir.path(), opts.clone(), vec![]).unwrap();
        let a = s.next_rowid();
        let b = s.next_rowid();
        assert!(b > a && a >> 47 == 3);
        let ws = WriteSet {
            rowid_high: Some((3, b)),
            catalog: Some(b"c".to_vec()),
            ..Default::default()
        };
        commit(&s, ws).unwrap();
        b
    };
    let s = RowStore::open(dir.path(), opts, vec![]).unwrap();
    assert!(s.next_rowid() > used);
}

#[tokio::test]
async fn t80_writes_from_before_an_alter_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    let mut ws = WriteSet::default();
    put(&mut ws, 1, 1, "a", true);
    let v1 = commit(&s, ws).unwrap();
    // ALTER of table 1 (an empty rewrite is marked through altered_tables).
    let alter = WriteSet {
        read_version: v1,
        catalog: Some(b"{}".to_vec()),
        altered_tables: vec![1],
        ..Default::default()
    };
    let v2 = commit(&s, alter).unwrap();
    // A new key of table 1 from a snapshot before the ALTER: 40001.
    let mut late = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut late, 1, 2, "old layout", true);
    let err = commit(&s, late).unwrap_err();
    assert!(matches!(err, Error::SerializationFailure(_)), "{err:?}");
    // Other tables are not affected, and new snapshots write table 1 again.
    let mut other = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut other, 2, 1, "x", true);
    commit(&s, other).unwrap();
    let mut fresh = WriteSet {
        read_version: v2,
        ..Default::default()
    };
    put(&mut fresh, 1, 2, "new layout", true);
    commit(&s, fresh).unwrap();
    // The marks survive a reopen.
    drop(s);
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    let mut late = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut late, 1, 3, "old layout", true);
    assert!(commit(&s, late).is_err());
}

#[tokio::test]
async fn t90_live_row_counts_follow_applied_writes_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    let mut ws = WriteSet::default();
    for id in 1..=5 {
        put(&mut ws, 1, id, "a", true);
    }
    put(&mut ws, 2, 1, "x", true);
    commit(&s, ws).unwrap();
    assert_eq!((s.row_count(1), s.row_count(2), s.row_count(3)), (5, 1, 0));

    // Updates do not count, deletes do, deleting a missing key does not.
    let mut ws = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    put(&mut ws, 1, 1, "b", false);
    ws.writes
        .insert((1, encode_key(&[Value::Int64(2)])), Write::Delete);
    ws.writes
        .insert((1, encode_key(&[Value::Int64(99)])), Write::Delete);
    commit(&s, ws).unwrap();
    assert_eq!(s.row_count(1), 4);

    // A rejected entry changes nothing; two entries of one batch add up.
    let stale = WriteSet {
        read_version: 0,
        writes: [((1, encode_key(&[Value::Int64(1)])), Write::Delete)].into(),
        ..Default::default()
    };
    let mut a = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    put(&mut a, 1, 10, "c", true);
    let mut b = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    put(&mut b, 1, 2, "again", true);
    let (c0, c1, c2) = (
        Command::Commit(stale),
        Command::Commit(a),
        Command::Commit(b),
    );
    let base = s.last_version();
    let out = s
        .apply(
            &[
                Entry {
                    index: base + 1,
                    command: Some(&c0),
                },
                Entry {
                    index: base + 2,
                    command: Some(&c1),
                },
                Entry {
                    index: base + 3,
                    command: Some(&c2),
                },
            ],
            &[],
        )
        .unwrap();
    assert!(out[0].is_err() && out[1].is_ok() && out[2].is_ok());
    assert_eq!(s.row_count(1), 6);

    // Dropping a table forgets its count.
    commit(
        &s,
        WriteSet {
            read_version: s.last_version(),
            drop_tables: vec![2],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.row_count(2), 0);

    drop(s);
    let s = RowStore::open(dir.path(), StoreOptions::default(), vec![]).unwrap();
    assert_eq!((s.row_count(1), s.row_count(2)), (6, 0));
}

/// Point reads reuse iterators: each must see every write applied before it,
/// across memtable flushes and a dropped table, also with readers on other
/// threads.
#[tokio::test]
async fn t95_point_reads_see_writes_across_flushes_and_drops() {
    let (_d, s) = store();
    let s = std::sync::Arc::new(s);
    let mut ws = WriteSet::default();
    for id in 1..=100 {
        put(&mut ws, 1, id, "n0", true);
    }
    let v0 = commit(&s, ws).unwrap();
    assert_eq!(text_at(&s, 1, v0).as_deref(), Some("n0"));

    // Readers follow one key while it is rewritten and flushed underneath.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (s, stop) = (s.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = 0u32;
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
                    let at = s.last_version();
                    let text = text_at(&s, 7, at).expect("key 7 is never deleted");
                    let n: u32 = text[1..].parse().unwrap();
                    assert!(n >= seen, "read n{n} after n{seen}");
                    seen = n;
                    reads += 1;
                }
                seen
            })
        })
        .collect();
    let mut last = v0;
    for n in 1..=200u32 {
        let mut ws = WriteSet {
            read_version: last,
            ..Default::default()
        };
        put(&mut ws, 1, 7, &format!("n{n}"), false);
        last = commit(&s, ws).unwrap();
        // Every read on this thread sees the write just applied.
        assert_eq!(text_at(&s, 7, last), Some(format!("n{n}")));
        assert_eq!(text_at(&s, 7, v0).as_deref(), Some("n0"));
        if n % 50 == 0 {
            s.flush().unwrap();
            assert_eq!(text_at(&s, 7, last), Some(format!("n{n}")));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(text_at(&s, 7, s.last_version()).as_deref(), Some("n200"));

    // Idle iterators released, then a drop: nothing of the table is seen.
    s.release_idle_readers(std::time::Duration::ZERO);
    assert_eq!(text_at(&s, 8, s.last_version()).as_deref(), Some("n0"));
    let ws = WriteSet {
        read_version: s.last_version(),
        drop_tables: vec![1],
        ..Default::default()
    };
    let dropped = commit(&s, ws).unwrap();
    assert_eq!(text_at(&s, 8, dropped), None);
    assert_eq!(text_at(&s, 7, dropped), None);
    s.flush().unwrap();
    assert_eq!(text_at(&s, 8, dropped), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Random puts and deletes over a few rows, collected now and then at
    /// a rising bound: every snapshot at or above the bound reads what the
    /// model says, and exactly the versions it needs are stored.
    #[test]
    fn p10_collection_keeps_every_snapshot_at_or_above_its_bound(
        steps in proptest::collection::vec(
            (proptest::collection::vec((0i64..6, proptest::prelude::any::<bool>()), 1..4), 0u64..6),
            1..40,
        )
    ) {
        let (_d, s) = store();
        // Per row, its versions oldest first: (version, text or deleted).
        let mut history: std::collections::BTreeMap<i64, Vec<(u64, Option<String>)>> =
            Default::default();
        let mut bound = 0;
        for (writes, lag) in steps {
            let mut ws = WriteSet { read_version: s.last_version(), ..Default::default() };
            let version = s.last_version() + 1;
            let text = format!("v{version}");
            let mut last_write = std::collections::BTreeMap::new();
            for (id, is_put) in writes {
                last_write.insert(id, is_put);
            }
            for (&id, &is_put) in &last_write {
                if is_put {
                    put(&mut ws, 1, id, &text, false);
                } else {
                    delete(&mut ws, 1, id);
                }
                history.entry(id).or_default().push((version, is_put.then(|| text.clone())));
            }
            proptest::prop_assert_eq!(commit(&s, ws).unwrap(), version);
            if lag < 3 {
                bound = bound.max(version - lag.min(version - 1));
                s.collect_garbage(bound).unwrap();
                let mut expected = 0;
                for versions in history.values() {
                    expected += versions.iter().filter(|(v, _)| *v > bound).count();
                    if let Some((_, Some(_))) = versions.iter().rev().find(|(v, _)| *v <= bound) {
                        expected += 1;
                    }
                }
                proptest::prop_assert_eq!(s.version_count(1).unwrap(), expected);
                for snap in bound..=version {
                    for (&id, versions) in &history {
                        let want = versions
                            .iter()
                            .rev()
                            .find(|(v, _)| *v <= snap)
                            .and_then(|(_, t)| t.clone());
                        proptest::prop_assert_eq!(text_at(&s, id, snap), want, "row {} at {}", id, snap);
                    }
                }
            }
        }
    }
}

//! The row cache never changes what a read returns: reads through it match
//! a model of every committed version while writers, deletes and garbage
//! collection run, and whole-store changes (DROP TABLE, snapshot installs)
//! leave nothing stale behind; commit validation, which asks the cache for
//! a row's newest version before it seeks, decides exactly as without it.

use prismdb_common::{Value, keycode::encode_key};
use prismdb_rowstore::{Command, Entry, RowStore, StoreOptions, Write, WriteSet, row::encode_row};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const KEYS: i64 = 40;

fn open(dir: &std::path::Path, row_cache_bytes: usize) -> RowStore {
    let opts = StoreOptions {
        row_cache_bytes,
        ..Default::default()
    };
    RowStore::open(dir, opts, vec![]).unwrap()
}

fn pk(id: i64) -> Vec<u8> {
    encode_key(&[Value::Int64(id)])
}

fn commit(s: &RowStore, ws: WriteSet) -> u64 {
    let cmd = Command::Commit(ws);
    let entry = Entry {
        index: s.last_version() + 1,
        command: Some(&cmd),
    };
    s.apply(&[entry], &[]).unwrap().remove(0).unwrap()
}

fn text(row: Option<Vec<Value>>) -> Option<String> {
    row.map(|r| match &r[1] {
        Value::Text(t) => t.clone(),
        v => panic!("unexpected {v:?}"),
    })
}

/// Per key, every committed version: version → text (`None`: deleted).
type Model = Vec<BTreeMap<u64, Option<String>>>;

fn expected(model: &Model, id: i64, at: u64) -> Option<String> {
    model[id as usize]
        .range(..=at)
        .next_back()
        .and_then(|(_, v)| v.clone())
}

#[test]
fn cached_reads_match_every_committed_version_under_concurrent_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(dir.path(), 1 << 20));
    let model = Arc::new(parking_lot::Mutex::new(vec![
        BTreeMap::new();
        KEYS as usize
    ]));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, model, stop) = (s.clone(), model.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = fastrand::Rng::with_seed(7);
            for n in 0..3000u32 {
                let version = s.last_version() + 1;
                let mut ws = WriteSet {
                    read_version: s.last_version(),
                    ..Default::default()
                };
                let mut m = model.lock();
                for _ in 0..rng.usize(1..4) {
                    let id = rng.i64(0..KEYS);
                    if rng.u8(0..4) == 0 {
                        ws.writes.insert((1, pk(id)), Write::Delete);
                        m[id as usize].insert(version, None);
                    } else {
                        let t = format!("{id}@{version}");
                        let row = encode_row(&[Value::Int64(id), Value::Text(t.clone())]);
                        ws.writes
                            .insert((1, pk(id)), Write::Put { row, insert: false });
                        m[id as usize].insert(version, Some(t));
                    }
                }
                // The model knows the version before a reader can see it.
                drop(m);
                assert_eq!(commit(&s, ws), version);
                if n % 200 == 0 {
                    s.collect_garbage(s.oldest_active()).unwrap();
                }
                if n % 500 == 0 {
                    s.flush().unwrap();
                }
            }
            stop.store(true, Ordering::Release);
        })
    };
    let readers: Vec<_> = (0..3u64)
        .map(|seed| {
            let (s, model, stop) = (s.clone(), model.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                let mut reads = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let snap = s.pin_latest();
                    let at = snap.version();
                    // Reads at the newest snapshot and at older pinned ones.
                    for _ in 0..20 {
                        let id = rng.i64(0..KEYS);
                        let got = text(s.get(1, &pk(id), at).unwrap());
                        assert_eq!(got, expected(&model.lock(), id, at), "key {id} at {at}");
                        reads += 1;
                    }
                    let ids: Vec<i64> = (0..8).map(|_| rng.i64(0..KEYS)).collect();
                    let keys: Vec<Vec<u8>> = ids.iter().map(|i| pk(*i)).collect();
                    let rows = s
                        .get_many(1, keys.iter().map(|k| k.as_slice()), at, None)
                        .unwrap();
                    let m = model.lock();
                    for (id, row) in ids.iter().zip(rows) {
                        assert_eq!(text(row), expected(&m, *id, at), "key {id} at {at}");
                    }
                }
                reads
            })
        })
        .collect();
    writer.join().unwrap();
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    let stats = s.row_cache_stats();
    assert!(stats.hits > 0, "{stats:?}");
    // Every final row reads right, from the cache or not.
    let at = s.last_version();
    let m = model.lock();
    for id in 0..KEYS {
        assert_eq!(text(s.get(1, &pk(id), at).unwrap()), expected(&m, id, at));
        assert_eq!(text(s.get(1, &pk(id), at).unwrap()), expected(&m, id, at));
    }
}

fn put_all(s: &RowStore, table: u32, label: &str) -> u64 {
    let mut ws = WriteSet {
        read_version: s.last_version(),
        ..Default::default()
    };
    for id in 0..KEYS {
        let row = encode_row(&[Value::Int64(id), Value::Text(format!("{label}{id}"))]);
        ws.writes
            .insert((table, pk(id)), Write::Put { row, insert: false });
    }
    commit(s, ws)
}

fn read_all(s: &RowStore, table: u32) -> Vec<Option<String>> {
    let at = s.last_version();
    (0..KEYS)
        .map(|id| text(s.get(table, &pk(id), at).unwrap()))
        .collect()
}

#[test]
fn dropped_tables_and_installed_snapshots_leave_no_cached_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), 1 << 20);
    put_all(&s, 1, "a");
    assert!(read_all(&s, 1).iter().all(|r| r.is_some()));
    assert!(s.row_cache_stats().rows > 0);
    let ws = WriteSet {
        read_version: s.last_version(),
        drop_tables: vec![1],
        ..Default::default()
    };
    commit(&s, ws);
    assert!(read_all(&s, 1).iter().all(|r| r.is_none()));
    put_all(&s, 1, "b");
    assert_eq!(read_all(&s, 1)[3].as_deref(), Some("b3"));

    // Another store's snapshot replaces this one's rows.
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(other_dir.path(), 1 << 20);
    put_all(&other, 1, "c");
    let (_, bytes) = other.export(b"none").unwrap();
    assert_eq!(read_all(&s, 1)[3].as_deref(), Some("b3"));
    s.import(&bytes).unwrap();
    assert_eq!(read_all(&s, 1)[3].as_deref(), Some("c3"));
    // And the cache fills in again afterwards.
    let before = s.row_cache_stats().hits;
    read_all(&s, 1);
    assert!(s.row_cache_stats().hits > before);
}

#[test]
fn a_store_without_a_row_cache_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), 0);
    put_all(&s, 1, "a");
    assert_eq!(read_all(&s, 1)[5].as_deref(), Some("a5"));
    assert_eq!(read_all(&s, 1)[5].as_deref(), Some("a5"));
    assert_eq!(s.row_cache_stats().hits, 0);
}

/// One commit's outcome, comparable across stores: its version, or the
/// kind of error that refused it.
fn try_commit(s: &RowStore, ws: WriteSet) -> Result<u64, String> {
    let cmd = Command::Commit(ws);
    let entry = Entry {
        index: s.last_version() + 1,
        command: Some(&cmd),
    };
    s.apply(&[entry], &[])
        .unwrap()
        .remove(0)
        .map_err(|e| format!("{:?}", std::mem::discriminant(&e)))
}

#[test]
fn commit_validation_decides_the_same_with_and_without_the_row_cache() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cached = open(d1.path(), 1 << 20);
    let uncached = open(d2.path(), 0);
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut refused, mut conflicts) = (0, 0);
    for n in 0..2000u32 {
        let last = cached.last_version();
        assert_eq!(last, uncached.last_version());
        // Mostly fresh snapshots, some stale ones (concurrent writers).
        let read_version = last.saturating_sub(rng.u64(0..4));
        let mut ws = WriteSet {
            read_version,
            ..Default::default()
        };
        for _ in 0..rng.usize(1..4) {
            let id = rng.i64(0..KEYS);
            let write = match rng.u8(0..5) {
                0 => Write::Delete,
                r => Write::Put {
                    row: encode_row(&[Value::Int64(id), Value::Text(format!("{id}@{n}"))]),
                    insert: r == 1,
                },
            };
            ws.writes.insert((1, pk(id)), write);
        }
        let a = try_commit(&cached, ws.clone());
        let b = try_commit(&uncached, ws);
        assert_eq!(a, b, "commit {n}");
        if a.is_err() {
            refused += 1;
        }
        if read_version < last {
            conflicts += 1;
        }
        // Readers fill the cache with rows the next commits write.
        for _ in 0..4 {
            let id = rng.i64(0..KEYS);
            let at = cached.last_version();
            assert_eq!(
                text(cached.get(1, &pk(id), at).unwrap()),
                text(uncached.get(1, &pk(id), at).unwrap())
            );
        }
        assert_eq!(cached.row_count(1), uncached.row_count(1), "commit {n}");
        if n % 300 == 0 {
            cached.collect_garbage(cached.last_version()).unwrap();
            uncached.collect_garbage(uncached.last_version()).unwrap();
        }
    }
    assert!(refused > 0 && conflicts > 0, "{refused} {conflicts}");
    assert!(cached.row_cache_stats().hits > 0);
}

//! MVCC visibility and commit validation of the row store, on a real RocksDB.

use prismdb_common::{Error, Value, keycode::encode_key};
use prismdb_rowstore::{RowStore, StoreOptions, Write, WriteSet, row::encode_row};
use std::ops::Bound;

fn store() -> (tempfile::TempDir, RowStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = RowStore::open(
        dir.path(),
        StoreOptions {
            sync: false,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, s)
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
    let v1 = s.commit(ws).await.unwrap();
    let mut ws = WriteSet {
        read_version: v1,
        ..Default::default()
    };
    put(&mut ws, 1, 1, "a2", false);
    ws.writes
        .insert((1, encode_key(&[Value::Int64(2)])), Write::Delete);
    let v2 = s.commit(ws).await.unwrap();
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
    s.commit(a).await.unwrap();
    assert!(matches!(s.commit(b).await, Err(Error::UniqueViolation(_))));
    let mut c = WriteSet {
        read_version: snap,
        ..Default::default()
    };
    put(&mut c, 1, 1, "c", false);
    assert!(matches!(
        s.commit(c).await,
        Err(Error::SerializationFailure(_))
    ));
}

#[tokio::test]
async fn t30_chunked_scans_resume_and_ranges_bound() {
    let (_d, s) = store();
    let mut ws = WriteSet::default();
    for i in 0..100 {
        put(&mut ws, 1, i, "x", true);
    }
    let v = s.commit(ws).await.unwrap();
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
        let s = RowStore::open(dir.path(), StoreOptions::default()).unwrap();
        let mut ws = WriteSet {
            catalog: Some(b"cat".to_vec()),
            ..Default::default()
        };
        put(&mut ws, 1, 5, "five", true);
        s.commit(ws).await.unwrap()
    };
    let s = RowStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(s.last_version(), v);
    assert_eq!(s.load_catalog().unwrap().as_deref(), Some(&b"cat"[..]));
    assert_eq!(text_at(&s, 5, v).as_deref(), Some("five"));
}

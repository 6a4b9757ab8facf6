//! A replica's versioned state without a server: reads as of an index see
//! exactly the rows of that index while later changes arrive, through
//! freezing and compaction; a checkpoint written to Parquet restores to the
//! same rows and delete marks; segments are pruned by min/max statistics.

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::compute::filter_record_batch;
use prismdb_catalog::{Column, SqlType, Table};
use prismdb_columnar::persist;
use prismdb_columnar::replica::{ReplicaState, RowChange, SEGMENT_ROWS};
use prismdb_common::Value;
use std::sync::Arc;

fn table() -> Arc<Table> {
    let col = |name: &str, ty: SqlType| Column {
        name: name.into(),
        ty,
        nullable: true,
        default: None,
        hidden: false,
    };
    Arc::new(Table {
        id: 7,
        name: "t".into(),
        columns: vec![col("id", SqlType::Int64), col("v", SqlType::Text)],
        primary_key: vec![0],
        columnar_replicas: 1,
        key_constraint: None,
        ownership: Default::default(),
    })
}

fn put(id: i64, v: &str) -> RowChange {
    RowChange {
        key: id.to_be_bytes().to_vec(),
        row: Some(vec![Value::Int64(id), Value::Text(v.into())]),
    }
}

fn delete(id: i64) -> RowChange {
    RowChange {
        key: id.to_be_bytes().to_vec(),
        row: None,
    }
}

/// Sorted (id, v) pairs a reader at `at` sees.
fn rows_at(state: &ReplicaState, at: u64) -> Vec<(i64, String)> {
    let (segments, delta) = state.read(at).unwrap();
    let mut batches = Vec::new();
    for seg in segments {
        let batch = seg.batch().expect("loaded");
        batches.push(match seg.visibility(at) {
            None => batch,
            Some(mask) => filter_record_batch(&batch, &mask).unwrap(),
        });
    }
    batches.extend(delta);
    let mut out = Vec::new();
    for b in batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vs = b
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), vs.value(i).to_string()));
        }
    }
    out.sort();
    out
}

fn ready() -> ReplicaState {
    let mut s = ReplicaState::new(table());
    s.finish_build(0).unwrap();
    s
}

#[test]
fn reads_see_exactly_their_index() {
    let mut s = ready();
    s.apply(1, vec![put(1, "a"), put(2, "b")]).unwrap();
    s.apply(2, vec![put(1, "a2"), delete(2), put(3, "c")])
        .unwrap();
    s.apply(3, vec![delete(3)]).unwrap();
    assert_eq!(rows_at(&s, 0), vec![]);
    assert_eq!(rows_at(&s, 1), vec![(1, "a".into()), (2, "b".into())]);
    assert_eq!(rows_at(&s, 2), vec![(1, "a2".into()), (3, "c".into())]);
    assert_eq!(rows_at(&s, 3), vec![(1, "a2".into())]);
    // Freezing the delta changes nothing a reader sees.
    s.freeze().unwrap();
    assert_eq!(rows_at(&s, 1), vec![(1, "a".into()), (2, "b".into())]);
    assert_eq!(rows_at(&s, 3), vec![(1, "a2".into())]);
    // Deleting a frozen row marks it at its index.
    s.apply(4, vec![delete(1), put(4, "d")]).unwrap();
    assert_eq!(rows_at(&s, 3), vec![(1, "a2".into())]);
    assert_eq!(rows_at(&s, 4), vec![(4, "d".into())]);
}

#[test]
fn changes_during_a_build_wait_and_apply_after_the_snapshot() {
    let mut s = ReplicaState::new(table());
    // Entries 5 and 6 arrive while the build copies the snapshot at 5.
    s.apply(5, vec![put(9, "ignored: in the snapshot")])
        .unwrap();
    s.apply(6, vec![put(2, "b6")]).unwrap();
    assert!(!s.is_ready());
    s.apply_now(5, vec![put(1, "a"), put(2, "b")]).unwrap();
    s.finish_build(5).unwrap();
    assert!(s.is_ready());
    assert_eq!(s.ready_from, 5);
    assert_eq!(rows_at(&s, 5), vec![(1, "a".into()), (2, "b".into())]);
    assert_eq!(rows_at(&s, 6), vec![(1, "a".into()), (2, "b6".into())]);
}

#[test]
fn compaction_merges_and_purges_only_what_no_reader_sees() {
    let mut s = ready();
    let mut version = 0;
    for round in 0..6 {
        version += 1;
        let changes = (0..100).map(|i| put(round * 100 + i, "x")).collect();
        s.apply(version, changes).unwrap();
        s.freeze().unwrap();
    }
    version += 1;
    s.apply(version, (0..300).map(delete).collect()).unwrap();
    let before_delete = version - 1;
    assert_eq!(s.segments.len(), 6);
    // A reader still at `before_delete` keeps the deleted rows alive.
    assert!(s.compact(before_delete).unwrap());
    assert_eq!(s.segments.len(), 1);
    assert_eq!(rows_at(&s, before_delete).len(), 600);
    assert_eq!(rows_at(&s, version).len(), 300);
    // Once nobody reads below `version`, the deleted rows go.
    assert!(s.compact(version).unwrap());
    let seg = s.segments.values().next().unwrap();
    assert_eq!(seg.rows, 300);
    assert_eq!(rows_at(&s, version).len(), 300);
    // Later deletes still find the merged rows.
    s.apply(version + 1, vec![delete(599)]).unwrap();
    assert_eq!(rows_at(&s, version + 1).len(), 299);
    const { assert!(SEGMENT_ROWS > 600) };
}

#[test]
fn checkpoint_restores_rows_and_delete_marks() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = ready();
    s.apply(1, (0..1000).map(|i| put(i, "v")).collect())
        .unwrap();
    s.freeze().unwrap();
    s.apply(2, vec![delete(10), put(11, "changed")]).unwrap();
    s.freeze().unwrap();
    for seg in s.segments.values() {
        let path = dir.path().join(persist::segment_file(seg.id));
        persist::write_segment(&path, seg, &seg.batch().unwrap()).unwrap();
    }
    persist::write_manifest(dir.path(), &s.manifest(2)).unwrap();
    let manifest = persist::read_manifest(dir.path()).unwrap().unwrap();
    assert_eq!(manifest.applied, 2);
    let mut restored = ReplicaState::restore(table(), &manifest, dir.path()).unwrap();
    restored.finish_build(0).unwrap();
    assert_eq!(rows_at(&restored, 1), rows_at(&s, 1));
    assert_eq!(rows_at(&restored, 2), rows_at(&s, 2));
    // The key index is rebuilt: a delete after restore finds its row.
    restored.apply(3, vec![delete(11)]).unwrap();
    assert_eq!(rows_at(&restored, 3).len(), 998);
    // Projected reads of a segment file return just those columns.
    let seg = restored.segments.values().next().unwrap();
    let path = seg.file.lock().clone().unwrap();
    let b = persist::read_columns(&path, &restored.schema, &[1]).unwrap();
    assert_eq!(b.num_columns(), 1);
    assert_eq!(b.num_rows(), seg.rows);
    assert_eq!(b.column(0).null_count(), 0);
    // No columns at all (`count(*)`): the rows are still counted.
    let b = persist::read_columns(&path, &restored.schema, &[]).unwrap();
    assert_eq!(b.num_columns(), 0);
    assert_eq!(b.num_rows(), seg.rows);
}

#[test]
fn compaction_does_not_rewrite_what_a_reader_still_sees() {
    let mut s = ready();
    s.apply(1, (0..100).map(|i| put(i, "x")).collect()).unwrap();
    s.freeze().unwrap();
    s.apply(2, (0..60).map(delete).collect()).unwrap();
    // A reader at 1 still sees every deleted row: nothing to gain.
    assert!(!s.compact(1).unwrap());
    assert_eq!(rows_at(&s, 1).len(), 100);
    assert!(s.compact(2).unwrap());
    assert_eq!(s.segments.values().next().unwrap().rows, 40);
}

#[test]
fn compaction_that_purges_every_row_leaves_no_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = ready();
    s.apply(1, (0..100).map(|i| put(i, "x")).collect()).unwrap();
    s.freeze().unwrap();
    s.apply(2, (0..100).map(delete).collect()).unwrap();
    assert!(s.compact(2).unwrap());
    assert_eq!(rows_at(&s, 2), vec![]);
    // What is left checkpoints (as `ColumnStore::checkpoint` writes it)
    // and restores.
    for seg in s.segments.values() {
        let path = dir.path().join(persist::segment_file(seg.id));
        persist::write_segment(&path, seg, &seg.batch().unwrap()).unwrap();
    }
    assert!(s.segments.is_empty(), "{:?}", s.segments);
    persist::write_manifest(dir.path(), &s.manifest(2)).unwrap();
    let manifest = persist::read_manifest(dir.path()).unwrap().unwrap();
    let restored = ReplicaState::restore(table(), &manifest, dir.path()).unwrap();
    assert!(restored.segments.is_empty());
    // Keys come back after being purged.
    s.apply(3, vec![put(5, "again")]).unwrap();
    assert_eq!(rows_at(&s, 3), vec![(5, "again".into())]);
}

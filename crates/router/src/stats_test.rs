//! Statistics over known rows.

use super::*;

fn rows(n: i64) -> Vec<Vec<Value>> {
    (1..=n)
        .map(|i| {
            vec![
                Value::Int64(i),
                if i % 4 == 0 {
                    Value::Null
                } else {
                    Value::Text(format!("v{}", i % 10))
                },
            ]
        })
        .collect()
}

#[test]
fn exact_when_every_row_is_sampled() {
    let mut b = StatsBuilder::with_sample(2, 1000);
    for r in rows(100) {
        b.add(&r);
    }
    let s = b.finish(7);
    assert_eq!((s.rows, s.version, s.sample_rows), (100, 7, 100));
    let id = &s.columns[0];
    assert_eq!(id.min, Some(Value::Int64(1)));
    assert_eq!(id.max, Some(Value::Int64(100)));
    assert_eq!((id.null_frac, id.distinct, id.avg_width), (0.0, 100.0, 8.0));
    let v = &s.columns[1];
    assert_eq!(v.null_frac, 0.25);
    // i % 10 for i not divisible by 4: every digit except 0, 4 and 8 ... and
    // 4, 8 still occur (14, 18); only multiples of 4 are NULL.
    assert_eq!(v.distinct, 10.0);
    assert_eq!(v.min, Some(Value::Text("v0".into())));
    assert_eq!(v.avg_width, 2.0);
}

#[test]
fn distinct_counts_are_estimated_from_a_sample() {
    // 20,000 rows: a unique column and a column with 50 values, sampled 2,000.
    let mut b = StatsBuilder::with_sample(2, 2000);
    for i in 0..20_000i64 {
        b.add(&[Value::Int64(i), Value::Int64(i % 50)]);
    }
    let s = b.finish(1);
    assert_eq!(s.sample_rows, 2000);
    let unique = s.columns[0].distinct;
    assert!((15_000.0..=20_000.0).contains(&unique), "{unique}");
    assert_eq!(s.columns[1].distinct, 50.0);
    // Min and max are exact, not sampled.
    assert_eq!(s.columns[0].max, Some(Value::Int64(19_999)));
}

#[test]
fn the_same_rows_give_the_same_statistics() {
    let build = || {
        let mut b = StatsBuilder::with_sample(2, 100);
        for r in rows(5000) {
            b.add(&r);
        }
        b.finish(3)
    };
    assert_eq!(build(), build());
}

#[test]
fn an_empty_table_has_empty_statistics() {
    let s = StatsBuilder::with_sample(1, 10).finish(0);
    assert_eq!(s.rows, 0);
    assert_eq!(s.columns[0].min, None);
    assert_eq!(s.columns[0].distinct, 0.0);
}

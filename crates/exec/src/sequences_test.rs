//! Unit tests of `sequences`: option binding and reservation arithmetic.

use super::*;

fn seq(spec: SequenceSpec) -> Sequence {
    bind_sequence(7, "s", &spec).unwrap()
}

#[test]
fn defaults_follow_postgres() {
    let up = seq(SequenceSpec::default());
    assert_eq!(
        (up.min, up.max, up.start, up.increment, up.cache),
        (1, i64::MAX, 1, 1, 1)
    );
    let down = seq(SequenceSpec {
        increment: Some(-2),
        ty: Some(SqlType::Int32),
        ..Default::default()
    });
    assert_eq!(
        (down.min, down.max, down.start),
        (i64::from(i32::MIN), -1, -1)
    );
}

#[test]
fn invalid_options_are_refused() {
    let bad = |spec: SequenceSpec| bind_sequence(1, "s", &spec).unwrap_err().to_string();
    assert_eq!(
        bad(SequenceSpec {
            increment: Some(0),
            ..Default::default()
        }),
        "INCREMENT must not be zero"
    );
    assert_eq!(
        bad(SequenceSpec {
            min: Some(Some(5)),
            max: Some(Some(5)),
            ..Default::default()
        }),
        "MINVALUE (5) must be less than MAXVALUE (5)"
    );
    assert_eq!(
        bad(SequenceSpec {
            start: Some(0),
            ..Default::default()
        }),
        "START value (0) cannot be less than MINVALUE (1)"
    );
    assert_eq!(
        bad(SequenceSpec {
            ty: Some(SqlType::Int16),
            max: Some(Some(40_000)),
            ..Default::default()
        }),
        "MAXVALUE (40000) is out of range for sequence data type smallint"
    );
    assert_eq!(
        bad(SequenceSpec {
            cache: Some(0),
            ..Default::default()
        }),
        "CACHE (0) must be greater than zero"
    );
}

#[test]
fn reservations_stop_at_the_bound_or_cycle() {
    let s = seq(SequenceSpec {
        max: Some(Some(10)),
        increment: Some(3),
        ..Default::default()
    });
    let state = State::fresh(&s);
    // 1, 4, 7, 10: four values fit.
    let (first, n, after) = state.reserve(&s, 100).unwrap();
    assert_eq!((first, n, after.done), (1, 4, true));
    assert!(after.reserve(&s, 1).is_err());
    let (first, n, after) = state.reserve(&s, 2).unwrap();
    assert_eq!((first, n, after.next, after.done), (1, 2, 7, false));
    let cyc = seq(SequenceSpec {
        max: Some(Some(3)),
        cycle: Some(true),
        ..Default::default()
    });
    let (_, n, after) = State::fresh(&cyc).reserve(&cyc, 10).unwrap();
    assert_eq!((n, after.next, after.done), (3, 1, false));
    let big = seq(SequenceSpec::default());
    let end = State {
        next: i64::MAX,
        done: false,
        epoch: 0,
    };
    let (first, n, after) = end.reserve(&big, 10).unwrap();
    assert_eq!((first, n, after.done), (i64::MAX, 1, true));
}

#[test]
fn relation_names_are_unquoted_or_lowercased() {
    assert_eq!(relation_name("Foo").unwrap(), "foo");
    assert_eq!(relation_name("\"Foo\"").unwrap(), "Foo");
    assert_eq!(relation_name("public.s").unwrap(), "s");
    assert_eq!(relation_name("\"a.b\"").unwrap(), "a.b");
    assert!(relation_name("a.b.c.d").is_err());
}

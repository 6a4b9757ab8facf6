//! Unit tests of `point`: which statements the key fast path takes, and
//! which it leaves to the planner. That the fast path returns what the
//! planner returns is tested end to end (`crates/node/tests/engine.rs`,
//! `sql-tests/key_reads.slt`).

use super::*;
use prismdb_catalog::{DEFAULT_DATABASE, Database};

fn column(name: &str, ty: SqlType) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable: false,
        default: None,
        hidden: false,
    }
}

/// `t (id bigint PRIMARY KEY, v text)`, `c (a int, b text, v text,
/// PRIMARY KEY (a, b))` and `f (x double precision PRIMARY KEY)`.
fn catalog() -> Catalog {
    let t = Table {
        id: 1,
        name: "t".into(),
        columns: vec![column("id", SqlType::Int64), column("v", SqlType::Text)],
        primary_key: vec![0],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    };
    let c = Table {
        id: 2,
        name: "c".into(),
        columns: vec![
            column("a", SqlType::Int32),
            column("b", SqlType::Text),
            column("v", SqlType::Text),
        ],
        primary_key: vec![0, 1],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    };
    let f = Table {
        id: 3,
        name: "f".into(),
        columns: vec![column("x", SqlType::Float64)],
        primary_key: vec![0],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    };
    let mut db = Database::default();
    for table in [t, c, f] {
        db.tables.insert(table.name.clone(), Arc::new(table));
    }
    // `c (v)` unique, and `c (b, v)`.
    let index = |id, name: &str, columns: &[&str], unique| prismdb_catalog::Index {
        id,
        name: name.into(),
        table: 2,
        columns: columns
            .iter()
            .map(|c| prismdb_catalog::IndexColumn {
                name: (*c).into(),
                descending: false,
                nulls_first: false,
            })
            .collect(),
        include: Vec::new(),
        predicate: None,
        filter: None,
        unique,
        constraint: false,
    };
    db.indexes
        .insert("c_v".into(), index(0, "c_v", &["v"], true));
    db.indexes
        .insert("c_b_v".into(), index(1, "c_b_v", &["b", "v"], false));
    let mut catalog = Catalog::default();
    catalog
        .databases
        .insert(DEFAULT_DATABASE.into(), Arc::new(db));
    catalog
}

/// The shape the fast path takes for `sql`: `point`, `in N`, `range`, with
/// ` limit N` appended; `None` when the statement is planned.
fn shape(sql: &str) -> Option<String> {
    let stmt = prismdb_sql::parse(sql).unwrap().pop().unwrap();
    let q = KeyQuery::recognize(&stmt, &catalog(), DEFAULT_DATABASE)?;
    let mut s = match &q.access {
        KeyAccess::Point(_) => "point".to_string(),
        KeyAccess::In(v) => format!("in {}", v.len()),
        KeyAccess::Range { lower, upper } => format!(
            "range {}{}",
            if lower.inclusive { "[" } else { "(" },
            if upper.inclusive { "]" } else { ")" }
        ),
        KeyAccess::Index {
            layout,
            eq,
            reverse,
            ..
        } => format!(
            "index {} eq {}{}",
            layout.name,
            eq.len(),
            if *reverse { " reverse" } else { "" }
        ),
    };
    if let Some(n) = q.limit {
        s.push_str(&format!(" limit {n}"));
    }
    Some(s)
}

#[test]
fn points() {
    assert_eq!(
        shape("SELECT v FROM t WHERE id = $1").as_deref(),
        Some("point")
    );
    assert_eq!(
        shape("SELECT * FROM t WHERE 3 = id").as_deref(),
        Some("point")
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id = -3").as_deref(),
        Some("point")
    );
    assert_eq!(
        shape("SELECT v FROM c WHERE b = 'x' AND a = $1").as_deref(),
        Some("point")
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id = 1 ORDER BY id LIMIT 1").as_deref(),
        Some("point limit 1")
    );
    // A key prefix, another column, a repeated column: planned.
    assert_eq!(shape("SELECT v FROM c WHERE a = 1"), None);
    assert_eq!(shape("SELECT v FROM t WHERE id = 1 AND v = 'a'"), None);
    assert_eq!(shape("SELECT v FROM t WHERE id = 1 AND id = 2"), None);
}

#[test]
fn in_lists() {
    assert_eq!(
        shape("SELECT v FROM t WHERE id IN ($1, $2, 3)").as_deref(),
        Some("in 3")
    );
    assert_eq!(
        shape("SELECT * FROM t WHERE id IN (1, 1, NULL, -2) ORDER BY id").as_deref(),
        Some("in 4")
    );
    assert_eq!(
        shape("SELECT * FROM t WHERE id IN (1, 2) LIMIT 1").as_deref(),
        Some("in 2 limit 1")
    );
    let list: Vec<String> = (1..=MAX_IN_LIST).map(|i| i.to_string()).collect();
    assert_eq!(
        shape(&format!(
            "SELECT v FROM t WHERE id IN ({})",
            list.join(", ")
        )),
        Some(format!("in {MAX_IN_LIST}"))
    );
    // Too long, negated, a composite key, an expression, more conditions:
    // planned.
    let list: Vec<String> = (0..=MAX_IN_LIST).map(|i| i.to_string()).collect();
    assert_eq!(
        shape(&format!(
            "SELECT v FROM t WHERE id IN ({})",
            list.join(", ")
        )),
        None
    );
    assert_eq!(shape("SELECT v FROM t WHERE id NOT IN (1, 2)"), None);
    assert_eq!(shape("SELECT v FROM c WHERE a IN (1, 2)"), None);
    assert_eq!(shape("SELECT v FROM t WHERE id IN (1, 1 + 1)"), None);
    assert_eq!(
        shape("SELECT v FROM t WHERE id IN (1, 2) AND v = 'a'"),
        None
    );
    assert_eq!(shape("SELECT v FROM t WHERE id IN (SELECT 1)"), None);
}

#[test]
fn ranges() {
    assert_eq!(
        shape("SELECT v FROM t WHERE id BETWEEN $1 AND $2").as_deref(),
        Some("range []")
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id >= 1 AND id < 10").as_deref(),
        Some("range [)")
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id > -5 AND 10 >= id").as_deref(),
        Some("range (]")
    );
    assert_eq!(
        shape("SELECT * FROM t WHERE (id < $2) AND (id > $1) ORDER BY t.id ASC LIMIT 5").as_deref(),
        Some("range () limit 5")
    );
    assert_eq!(
        shape("SELECT v FROM c WHERE a BETWEEN 1 AND 3 ORDER BY a, b").as_deref(),
        Some("range []")
    );
    // Open on one side, two lower bounds, NOT BETWEEN, another column, a
    // non-first key column, a float key: planned.
    assert_eq!(shape("SELECT v FROM t WHERE id >= 1"), None);
    assert_eq!(
        shape("SELECT v FROM t WHERE id > 1 AND id > 2 AND id < 5"),
        None
    );
    assert_eq!(shape("SELECT v FROM t WHERE id NOT BETWEEN 1 AND 5"), None);
    assert_eq!(
        shape("SELECT v FROM t WHERE id BETWEEN 1 AND 5 AND v = 'a'"),
        None
    );
    // (A non-first key column that leads an index is read through it.)
    assert_eq!(
        shape("SELECT v FROM c WHERE b BETWEEN 'a' AND 'c'").as_deref(),
        Some("index c_b_v eq 0")
    );
    assert_eq!(shape("SELECT x FROM f WHERE x BETWEEN 1 AND 2"), None);
    assert_eq!(shape("SELECT v FROM t WHERE id BETWEEN 1.5 AND 2"), None);
}

#[test]
fn order_and_limit() {
    // DESC, a non-key column, the second key column first, an output alias
    // that hides the key column, OFFSET, a LIMIT expression: planned.
    assert_eq!(
        shape("SELECT v FROM t WHERE id IN (1, 2) ORDER BY id DESC"),
        None
    );
    assert_eq!(shape("SELECT v FROM t WHERE id IN (1, 2) ORDER BY v"), None);
    assert_eq!(
        shape("SELECT v FROM c WHERE a BETWEEN 1 AND 2 ORDER BY b"),
        None
    );
    assert_eq!(
        shape("SELECT v AS id FROM t WHERE id IN (1, 2) ORDER BY id"),
        None
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id IN (1, 2) LIMIT 1 OFFSET 1"),
        None
    );
    assert_eq!(shape("SELECT v FROM t WHERE id IN (1, 2) LIMIT $1"), None);
    assert_eq!(shape("SELECT v FROM t WHERE id IN (1, 2) ORDER BY 1"), None);
    assert_eq!(
        shape("SELECT id AS id, v FROM t WHERE id IN (1, 2) ORDER BY id").as_deref(),
        None
    );
    assert_eq!(
        shape("SELECT v FROM t WHERE id IN (1, 2) ORDER BY id NULLS FIRST").as_deref(),
        Some("in 2")
    );
}

#[test]
fn secondary_indexes() {
    assert_eq!(
        shape("SELECT a FROM c WHERE v = $1").as_deref(),
        Some("index c_v eq 1")
    );
    assert_eq!(
        shape("SELECT a, v FROM c WHERE b = $1 ORDER BY v DESC LIMIT 10").as_deref(),
        Some("index c_b_v eq 1 reverse limit 10")
    );
    assert_eq!(
        shape("SELECT a FROM c WHERE b = 'x' AND v >= 'k' AND v < 'q' ORDER BY v").as_deref(),
        Some("index c_b_v eq 1")
    );
    // A leading key column is not an index's prefix; order against the
    // index; another column; an IN list: planned.
    assert_eq!(shape("SELECT a FROM c WHERE b = 'x' ORDER BY a"), None);
    assert_eq!(
        shape("SELECT a FROM c WHERE b = 'x' ORDER BY v DESC, a"),
        None
    );
    assert_eq!(
        shape("SELECT a FROM c WHERE b = 'x' AND a = 1 AND v = 'y'"),
        None
    );
    assert_eq!(shape("SELECT a FROM c WHERE v IN ('a', 'b')"), None);
}

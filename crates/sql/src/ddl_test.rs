//! Unit tests of `ddl`: binding of CREATE TABLE and ALTER TABLE.

use super::*;
use crate::parse;
use crate::sqlparser::ast::Statement;

fn create(sql: &str) -> Table {
    match parse(sql).unwrap().pop() {
        Some(Statement::CreateTable(ct)) => bind_create_table(&ct, 7).unwrap(),
        other => panic!("not CREATE TABLE: {other:?}"),
    }
}

fn alter(table: &Table, sql: &str) -> Result<AlteredTable> {
    match parse(sql).unwrap().pop() {
        Some(Statement::AlterTable(at)) => bind_alter_table(table, &at.operations),
        other => panic!("not ALTER TABLE: {other:?}"),
    }
}

fn names(table: &Table) -> Vec<&str> {
    table.columns.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn add_and_drop_columns_map_sources_and_key() {
    let t = create("CREATE TABLE t (x text, k integer, v integer, PRIMARY KEY (k))");
    let a = alter(
        &t,
        "ALTER TABLE t DROP COLUMN x, ADD COLUMN w integer NOT NULL DEFAULT 1 + 1, ADD y text",
    )
    .unwrap();
    assert_eq!(names(&a.table), ["k", "v", "w", "y"]);
    assert_eq!(a.table.primary_key, vec![0]);
    assert_eq!(
        a.sources,
        Some(vec![
            ColumnSource::Existing(1),
            ColumnSource::Existing(2),
            ColumnSource::Added,
            ColumnSource::Added,
        ])
    );
    let w = &a.table.columns[2];
    assert!(!w.nullable);
    assert_eq!(w.default.as_deref(), Some("1 + 1"));
    assert_eq!(a.columnar_replicas, None);
}

#[test]
fn tables_with_a_row_id_keep_it() {
    let t = create("CREATE TABLE t (a integer, b integer)");
    let a = alter(&t, "ALTER TABLE t DROP COLUMN a, ADD COLUMN c text").unwrap();
    assert_eq!(names(&a.table), ["b", ROWID_COLUMN, "c"]);
    assert!(a.table.has_rowid());
    assert_eq!(a.table.primary_key, vec![1]);
    // The hidden column is not a column to drop or add.
    let e = alter(&t, &format!("ALTER TABLE t DROP COLUMN {ROWID_COLUMN}")).unwrap_err();
    assert!(matches!(e, Error::UndefinedColumn(_)), "{e:?}");
    let e = alter(&t, &format!("ALTER TABLE t ADD COLUMN {ROWID_COLUMN} int")).unwrap_err();
    assert!(matches!(e, Error::InvalidStatement(_)), "{e:?}");
}

#[test]
fn if_exists_and_if_not_exists_skip() {
    let t = create("CREATE TABLE t (id integer PRIMARY KEY, a integer)");
    let a = alter(
        &t,
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a text, DROP COLUMN IF EXISTS nope",
    )
    .unwrap();
    assert_eq!(a.table, t);
    assert_eq!(a.sources, None);
}

#[test]
fn errors() {
    let t = create("CREATE TABLE t (id integer PRIMARY KEY, a integer)");
    let cases = [
        ("ALTER TABLE t ADD COLUMN A text", "42701"),
        ("ALTER TABLE t ADD COLUMN b int, ADD COLUMN b int", "42701"),
        ("ALTER TABLE t DROP COLUMN b", "42703"),
        ("ALTER TABLE t DROP COLUMN id", "0A000"),
        ("ALTER TABLE t ADD COLUMN b int PRIMARY KEY", "0A000"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "0A000"),
        ("ALTER TABLE t SET COLUMNAR REPLICA -1", "22023"),
        ("ALTER TABLE t SET COLUMNAR REPLICA 1.5", "22023"),
        ("ALTER TABLE t SET COLUMNAR REPLICA 99999999999", "22023"),
    ];
    for (sql, code) in cases {
        let e = alter(&t, sql).unwrap_err();
        let got = match e {
            Error::DuplicateColumn(_) => "42701",
            Error::UndefinedColumn(_) => "42703",
            Error::NotSupported(_) => "0A000",
            Error::InvalidParameterValue(_) => "22023",
            ref other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(got, code, "{sql}: {e:?}");
    }
    let one = create("CREATE TABLE one (x integer)");
    let e = alter(&one, "ALTER TABLE one DROP COLUMN x").unwrap_err();
    assert!(matches!(e, Error::NotSupported(_)), "{e:?}");
}

#[test]
fn set_columnar_replica() {
    let t = create("CREATE TABLE t (id integer PRIMARY KEY)");
    let a = alter(&t, "ALTER TABLE t SET COLUMNAR REPLICA 3").unwrap();
    assert_eq!(a.columnar_replicas, Some(3));
    assert_eq!(a.table.columnar_replicas, 3);
    assert_eq!(a.sources, None);
    assert_eq!(a.table.columns, t.columns);
}

#[test]
fn defaults_are_normalized_like_queries() {
    let sql =
        crate::rewrite::default_for_planning("nextval('t_id_seq'::regclass)", "prism").unwrap();
    assert_eq!(sql, "(nextval(prism_regclass(CAST('t_id_seq' AS TEXT))))");
    assert_eq!(
        crate::rewrite::default_for_planning("1 + 2", "prism").unwrap(),
        "(CAST(1 AS INT) + CAST(2 AS INT))"
    );
    // A reg* cast alone stays the OID, as a default must.
    assert_eq!(
        crate::rewrite::default_for_planning("'t'::regclass", "prism").unwrap(),
        "(prism_regclass(CAST('t' AS TEXT)))"
    );
}

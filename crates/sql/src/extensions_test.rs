//! Unit tests of `extensions`: PrismDB's own statement forms.

use super::copy_boolean_options;
use crate::parse;
use crate::sqlparser::ast::{AlterTableOperation, SqlOption, Statement};
use prismdb_common::Error;

/// The table name, IF EXISTS flag and replica expression of a parsed
/// `SET COLUMNAR REPLICA`.
fn columnar(stmt: &Statement) -> (String, bool, String) {
    let Statement::AlterTable(at) = stmt else {
        panic!("not ALTER TABLE: {stmt}");
    };
    let [AlterTableOperation::SetTblProperties { table_properties }] = at.operations.as_slice()
    else {
        panic!("unexpected operations: {stmt}");
    };
    let [SqlOption::KeyValue { key, value }] = table_properties.as_slice() else {
        panic!("unexpected properties: {stmt}");
    };
    assert_eq!(key.value, "columnar_replica");
    (at.name.to_string(), at.if_exists, value.to_string())
}

#[test]
fn set_columnar_replica_is_a_table_property() {
    let stmts = parse("alter table T set Columnar replica 2;").unwrap();
    assert_eq!(stmts.len(), 1);
    assert_eq!(columnar(&stmts[0]), ("T".into(), false, "2".into()));

    let stmts = parse("ALTER TABLE IF EXISTS public.\"My T\" SET COLUMNAR REPLICA 0").unwrap();
    assert_eq!(
        columnar(&stmts[0]),
        ("public.\"My T\"".into(), true, "0".into())
    );

    // Signs and fractions parse; binding rejects them.
    let stmts = parse("ALTER TABLE t SET COLUMNAR REPLICA -1").unwrap();
    assert_eq!(columnar(&stmts[0]).2, "-1");
}

#[test]
fn set_columnar_replica_among_other_statements() {
    let stmts = parse(
        "CREATE TABLE t (a int); ALTER TABLE t SET COLUMNAR REPLICA 1;; \
         SELECT 1; ALTER TABLE t ADD COLUMN b int",
    )
    .unwrap();
    assert_eq!(stmts.len(), 4);
    assert!(matches!(stmts[0], Statement::CreateTable(_)));
    assert_eq!(columnar(&stmts[1]).2, "1");
    assert!(matches!(stmts[2], Statement::Query(_)));
    let Statement::AlterTable(at) = &stmts[3] else {
        panic!("not ALTER TABLE");
    };
    assert!(matches!(
        at.operations.as_slice(),
        [AlterTableOperation::AddColumn { .. }]
    ));
}

#[test]
fn malformed_forms_are_syntax_errors() {
    for sql in [
        "ALTER TABLE t SET COLUMNAR REPLICA",
        "ALTER TABLE t SET COLUMNAR REPLICA two",
        "ALTER TABLE t SET COLUMNAR REPLICA 1 2",
        "ALTER TABLE t SET COLUMNAR REPLICA 1 SELECT 1",
        "ALTER TABLE t SET COLUMNAR REPLICAS 1",
        "SELECT 1 SELECT 2",
    ] {
        assert!(matches!(parse(sql), Err(Error::Syntax(_))), "{sql}");
    }
}

#[test]
fn other_statements_parse_as_before() {
    use crate::sqlparser::dialect::PostgreSqlDialect;
    use crate::sqlparser::parser::Parser;
    for sql in [
        "SELECT 1; SELECT 2",
        "ALTER TABLE t SET (fillfactor = 10)",
        "ALTER TABLE t DROP COLUMN a, ADD COLUMN b int DEFAULT 1",
        "",
        ";;",
    ] {
        let ours = parse(sql).unwrap();
        let theirs = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        assert_eq!(ours, theirs, "{sql}");
    }
}

#[test]
fn copy_boolean_options_read_on_and_off_and_leave_the_rest_alone() {
    assert_eq!(
        copy_boolean_options("copy t from stdin with (freeze on)").as_deref(),
        Some("copy t from stdin with (freeze TRUE)")
    );
    assert_eq!(
        copy_boolean_options("COPY t TO STDOUT (FORMAT csv, HEADER off)").as_deref(),
        Some("COPY t TO STDOUT (FORMAT csv, HEADER FALSE)")
    );
    // Not a COPY, nothing to change, or text around multi-byte characters.
    assert_eq!(copy_boolean_options("select 'freeze on'"), None);
    assert_eq!(copy_boolean_options("éé freeze on"), None);
    assert_eq!(
        copy_boolean_options("copy t from stdin (header true)"),
        None
    );
    assert_eq!(
        copy_boolean_options("copy t from stdin (delimiter 'é')"),
        None
    );
    assert_eq!(
        copy_boolean_options("copy é from stdin (header on)").as_deref(),
        Some("copy é from stdin (header TRUE)")
    );
}

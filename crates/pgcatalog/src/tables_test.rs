use super::*;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use prismdb_catalog::{Column, Database, View};

fn column(name: &str, ty: SqlType, nullable: bool, hidden: bool) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable,
        default: None,
        hidden,
    }
}

/// `t (id int PRIMARY KEY, name varchar(20) DEFAULT 'x')`, `log (msg text)`
/// without a key, and a view `v`.
fn catalog() -> Catalog {
    let mut t = Table {
        id: 1,
        name: "t".into(),
        columns: vec![
            column("id", SqlType::Int32, false, false),
            column("name", SqlType::Varchar(Some(20)), true, false),
        ],
        primary_key: vec![0],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    };
    t.columns[1].default = Some("'x'".into());
    let log = Table {
        id: 2,
        name: "log".into(),
        columns: vec![
            column("msg", SqlType::Text, true, false),
            column(prismdb_catalog::ROWID_COLUMN, SqlType::Int64, false, true),
        ],
        primary_key: vec![1],
        columnar_replicas: 0,
        key_constraint: None,
        ownership: Default::default(),
    };
    let mut db = Database::default();
    db.tables.insert("t".into(), Arc::new(t));
    db.tables.insert("log".into(), Arc::new(log));
    db.views.insert(
        "v".into(),
        Arc::new(View {
            name: "v".into(),
            query: "SELECT id FROM t".into(),
            columns: vec!["id".into()],
            types: vec![Some(SqlType::Int32)],
            ownership: Default::default(),
        }),
    );
    let mut catalog = Catalog::default();
    catalog.databases.insert("prism".into(), Arc::new(db));
    catalog
}

fn snapshot(catalog: &Catalog) -> Snapshot<'_> {
    Snapshot {
        catalog,
        database: "prism",
        owner: "prism",
        user: "prism",
        settings: &[],
        row_counts: Box::leak(Box::default()),
    }
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<String> {
    let a = batch.column_by_name(column).unwrap().as_string::<i32>();
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

#[test]
fn every_relation_builds_with_its_declared_columns() {
    let catalog = catalog();
    for relation in all_relations() {
        let batch = relation.batch(&snapshot(&catalog)).unwrap();
        assert_eq!(
            batch.num_columns(),
            relation.columns.len(),
            "{}",
            relation.name
        );
    }
    let empty = Catalog::default();
    for relation in all_relations() {
        relation.batch(&snapshot(&empty)).unwrap();
    }
}

#[test]
fn tables_views_and_primary_keys_appear_in_pg_class() {
    let catalog = catalog();
    let batch = relation("pg_class")
        .unwrap()
        .batch(&snapshot(&catalog))
        .unwrap();
    let mut rows: Vec<(String, String)> = strings(&batch, "relname")
        .into_iter()
        .zip(strings(&batch, "relkind"))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [("log", "r"), ("t", "r"), ("t_pkey", "i"), ("v", "v")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // OIDs are distinct and in the user range.
    let oids = batch
        .column_by_name("oid")
        .unwrap()
        .as_primitive::<Int64Type>();
    let mut seen: Vec<i64> = oids.values().to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|&o| o >= i64::from(oids::FIRST_USER_OID)));
}

#[test]
fn hidden_row_ids_are_not_attributes() {
    let catalog = catalog();
    let batch = relation("pg_attribute")
        .unwrap()
        .batch(&snapshot(&catalog))
        .unwrap();
    let names = strings(&batch, "attname");
    assert!(!names.iter().any(|n| n == prismdb_catalog::ROWID_COLUMN));
    assert_eq!(
        names.iter().filter(|n| *n == "id").count(),
        3,
        "t, t_pkey and v"
    );
}

#[test]
fn identifiers_are_quoted_as_postgresql_quotes_them() {
    assert_eq!(quote_ident("abc_1"), "abc_1");
    assert_eq!(quote_ident("Abc"), "\"Abc\"");
    assert_eq!(quote_ident("select"), "\"select\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(quote_ident("1a"), "\"1a\"");
}

#[test]
fn only_arrays_left_null_everywhere_count_as_null_arrays() {
    assert!(is_null_array_column("reloptions"));
    assert!(is_null_array_column("proargnames"));
    // Grants and role settings carry values.
    assert!(!is_null_array_column("relacl"));
    assert!(!is_null_array_column("rolconfig"));
    assert!(!is_null_array_column("useconfig"));
    assert!(!is_null_array_column("relname"));
}

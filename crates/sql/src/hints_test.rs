//! Reading `READ_FROM` hints out of statement text.

use super::*;

fn hint(engine: HintEngine, table: &str) -> ReadHint {
    ReadHint {
        engine,
        table: table.into(),
    }
}

#[test]
fn hints_belong_to_their_statement() {
    let sql = "SELECT 1; SELECT /*+ READ_FROM(columnar, Orders) READ_FROM(row, lineitem, \"Part\") */ * FROM orders; SELECT 2";
    assert_eq!(
        read_hints(sql),
        vec![
            vec![],
            vec![
                hint(HintEngine::Columnar, "orders"),
                hint(HintEngine::Row, "lineitem"),
                hint(HintEngine::Row, "Part"),
            ],
            vec![],
        ]
    );
}

#[test]
fn text_without_hints_has_none() {
    assert!(read_hints("SELECT 1 /* READ_FROM(columnar, t) */").is_empty());
    assert!(read_hints("SELECT '/*+ READ_FROM(columnar, t) */'").is_empty());
    assert!(read_hints("SELECT /*+ READ_FROM(disk, t) NOPE */ 1").is_empty());
}

#[test]
fn case_and_spacing_do_not_matter() {
    assert_eq!(
        read_hints("select /*+read_from ( ROW , public.t )*/ * from t"),
        vec![vec![hint(HintEngine::Row, "t")]]
    );
}

//! The depth bound against real parse trees, balancing of AND/OR chains,
//! and statements at and past the limits on a thread of the size every
//! statement-handling thread has.

use super::*;
use prismdb_common::limits::STATEMENT_STACK_BYTES;
use proptest::prelude::*;

fn tokens(sql: &str) -> Vec<Token> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .unwrap()
}

/// The deepest nesting of expressions in `stmts` (each `Expr` one level).
fn real_depth(stmts: &mut [Statement]) -> usize {
    struct Depth {
        now: usize,
        max: usize,
    }
    impl VisitorMut for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &mut Expr) -> ControlFlow<()> {
            self.now += 1;
            self.max = self.max.max(self.now);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &mut Expr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut d = Depth { now: 0, max: 0 };
    for s in stmts {
        let _ = s.visit(&mut d);
    }
    d.max
}

/// Runs `f` on a thread with the stack statement handling gets.
fn on_statement_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STATEMENT_STACK_BYTES)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn bounds_of_simple_shapes() {
    let b = |sql: &str| depth_bound(&tokens(sql)).depth;
    assert!(b("select 1") <= 3);
    assert!(b("select a, b, c from t where x = 1") <= 6);
    // Chained operators nest one level each.
    assert!(b(&format!("select {}", vec!["1"; 200].join(" + "))) >= 200);
    // Parentheses nest.
    assert!(b(&format!("select {}1{}", "(".repeat(100), ")".repeat(100))) >= 100);
    // AND/OR chains count logarithmically.
    let ors: Vec<String> = (0..5000).map(|i| format!("id = {i}")).collect();
    let bound = depth_bound(&tokens(&format!(
        "select * from t where {}",
        ors.join(" OR ")
    )));
    assert!(bound.depth < 60, "{bound:?}");
    assert_eq!(bound.longest_chain, 4999);
    // Long lists are wide, not deep.
    let values: Vec<String> = (0..5000).map(|i| format!("({i}, -{i}, 'x')")).collect();
    assert!(b(&format!("insert into t values {}", values.join(", "))) < 10);
    let case = format!(
        "select case {} else 0 end",
        (0..1000)
            .map(|i| format!("when x = {i} then {i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(b(&case) < 10);
}

#[test]
fn balancing_keeps_the_text_and_order_of_operands() {
    let sql = "select * from t where a = 1 and b = 2 and c = 3 and d = 4 and e = 5";
    let mut stmts = crate::parse(sql).unwrap();
    assert_eq!(stmts[0].to_string().to_lowercase(), sql);
    assert!(real_depth(&mut stmts) <= 6);
    let mixed = "SELECT a OR b OR c AND d AND e OR f";
    assert_eq!(crate::parse(mixed).unwrap()[0].to_string(), mixed);
}

#[test]
fn statements_past_the_limits_are_refused_with_54001() {
    let deep = format!(
        "select {}",
        vec!["1"; MAX_EXPRESSION_DEPTH + 10].join(" + ")
    );
    assert!(matches!(
        crate::parse(&deep),
        Err(Error::StatementTooComplex(_))
    ));
    let parens = format!("select {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(
        crate::parse(&parens),
        Err(Error::StatementTooComplex(_))
    ));
    let chain = vec!["x"; MAX_BOOLEAN_TERMS + 2].join(" or ");
    assert!(matches!(
        crate::parse(&format!("select {chain}")),
        Err(Error::StatementTooComplex(_))
    ));
}

#[test]
fn statements_at_the_limits_parse_and_drop_on_a_statement_stack() {
    on_statement_stack(|| {
        // Just under the depth limit: parsed, rewritten, printed, dropped.
        let n = MAX_EXPRESSION_DEPTH / 2 - 5;
        let deep = format!("select {}", vec!["1"; n].join(" + "));
        let stmts = crate::parse(&deep).unwrap();
        assert!(stmts[0].to_string().len() > n);
        let n = MAX_EXPRESSION_DEPTH - 5;
        let nested = format!("select {}1{}", "(".repeat(n), ")".repeat(n));
        crate::parse(&nested).unwrap();
        let nested = format!("select {}x{}", "abs(".repeat(n / 2), ")".repeat(n / 2));
        crate::parse(&nested).unwrap();
        let nested = format!("select {}1{}", "(select ".repeat(n / 2), ")".repeat(n / 2));
        crate::parse(&nested).unwrap();
        // The longest AND chain allowed, balanced, and a parse error right
        // after one (the unbalanced chain is dropped by the parser).
        let terms: Vec<String> = (0..MAX_BOOLEAN_TERMS)
            .map(|i| format!("id <> {i}"))
            .collect();
        let chain = terms.join(" AND ");
        let mut stmts = crate::parse(&format!("select * from t where {chain}")).unwrap();
        assert!(real_depth(&mut stmts) < 40);
        assert!(crate::parse(&format!("select * from t where {chain} AND )")).is_err());
    });
}

/// Random expressions from a small grammar of the shapes that nest.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("x".to_string()),
        Just("1".to_string()),
        Just("'s'".to_string()),
        Just("$1".to_string()),
    ];
    leaf.prop_recursive(8, 200, 6, |inner| {
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                proptest::sample::select(vec!["+", "*", "-", "||", "=", "<"])
            )
                .prop_map(|(a, b, op)| format!("{a} {op} {b}")),
            proptest::collection::vec(inner.clone(), 2..8).prop_map(|v| v.join(" AND ")),
            proptest::collection::vec(inner.clone(), 2..8).prop_map(|v| v.join(" OR ")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("NOT {a}")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            inner.clone().prop_map(|a| format!("{a}::int")),
            inner.clone().prop_map(|a| format!("({a}) IS NULL")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("CASE WHEN {a} THEN {b} ELSE {a} END")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("coalesce({a}, {b})")),
            inner
                .clone()
                .prop_map(|a| format!("(SELECT {a} FROM t WHERE {a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} IN ({b}, 1, 2)")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} BETWEEN {b} AND 3")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The bound is never below the depth of the tree the statement parses
    /// into (after balancing).
    #[test]
    fn the_bound_covers_the_parsed_tree(e in expr()) {
        let sql = format!("SELECT {e} FROM t WHERE {e}");
        let bound = depth_bound(&tokens(&sql));
        if let Ok(mut stmts) = crate::parse(&sql) {
            let depth = real_depth(&mut stmts);
            prop_assert!(depth <= bound.depth, "depth {} > bound {} for {}", depth, bound.depth, sql);
        }
    }
}

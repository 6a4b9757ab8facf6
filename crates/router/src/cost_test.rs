//! Golden cases of the cost model: statistics and a scan in, the route and
//! both costs out. A change to the model shows up here as a changed line.

use super::*;
use crate::stats::{ColumnStats, TableStats};
use prismdb_catalog::{Column, SqlType, Table};

fn column(name: &str, ty: SqlType) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable: true,
        default: None,
        hidden: false,
    }
}

/// `orders (id bigint primary key, customer int, amount numeric(12,2), note text)`.
fn orders() -> Table {
    Table {
        id: 1,
        name: "orders".into(),
        columns: vec![
            column("id", SqlType::Int64),
            column("customer", SqlType::Int32),
            column(
                "amount",
                SqlType::Numeric {
                    precision: 12,
                    scale: 2,
                    unconstrained: false,
                },
            ),
            column("note", SqlType::Text),
        ],
        primary_key: vec![0],
        columnar_replicas: 1,
        key_constraint: None,
        ownership: Default::default(),
    }
}

/// `events (tenant int, seq bigint, payload text, primary key (tenant, seq))`.
fn events() -> Table {
    Table {
        id: 2,
        name: "events".into(),
        columns: vec![
            column("tenant", SqlType::Int32),
            column("seq", SqlType::Int64),
            column("payload", SqlType::Text),
        ],
        primary_key: vec![0, 1],
        columnar_replicas: 1,
        key_constraint: None,
        ownership: Default::default(),
    }
}

fn col(min: Value, max: Value, distinct: f64, width: f64, null_frac: f64) -> ColumnStats {
    ColumnStats {
        null_frac,
        distinct,
        min: Some(min),
        max: Some(max),
        avg_width: width,
    }
}

/// One million orders, ids 1..=1,000,000, 10,000 customers, 20% notes NULL.
fn orders_stats() -> TableStats {
    TableStats {
        rows: 1_000_000,
        version: 10,
        sample_rows: 30_000,
        columns: vec![
            col(
                Value::Int64(1),
                Value::Int64(1_000_000),
                1_000_000.0,
                8.0,
                0.0,
            ),
            col(Value::Int32(1), Value::Int32(10_000), 10_000.0, 4.0, 0.0),
            col(
                Value::Decimal(100, 2),
                Value::Decimal(9_999_900, 2),
                50_000.0,
                16.0,
                0.0,
            ),
            col(
                Value::Text("a".into()),
                Value::Text("z".into()),
                900.0,
                40.0,
                0.2,
            ),
        ],
    }
}

fn events_stats() -> TableStats {
    TableStats {
        rows: 200_000,
        version: 10,
        sample_rows: 30_000,
        columns: vec![
            col(Value::Int32(1), Value::Int32(50), 50.0, 4.0, 0.0),
            col(Value::Int64(1), Value::Int64(4_000), 4_000.0, 8.0, 0.0),
            col(
                Value::Text("a".into()),
                Value::Text("z".into()),
                200_000.0,
                100.0,
                0.0,
            ),
        ],
    }
}

const AVAILABLE: ReplicaState = ReplicaState::Available {
    lag: Duration::ZERO,
};

struct Case {
    table: Table,
    rows: u64,
    stats: Option<TableStats>,
    access: KeyAccess,
    indexes: Vec<IndexPath>,
    projection: Vec<usize>,
    limit: Option<usize>,
    replica: ReplicaState,
    preference: Preference,
    row_only: Option<&'static str>,
    max_lag: Duration,
}

impl Case {
    fn orders(access: KeyAccess, projection: &[usize]) -> Case {
        Case {
            table: orders(),
            rows: 1_000_000,
            stats: Some(orders_stats()),
            access,
            indexes: Vec::new(),
            projection: projection.to_vec(),
            limit: None,
            replica: AVAILABLE,
            preference: Preference::Auto,
            row_only: None,
            max_lag: Duration::from_secs(1),
        }
    }

    fn decide(&self) -> String {
        decide(&ScanRequest {
            table: &self.table,
            rows: self.rows,
            stats: self.stats.as_ref(),
            access: &self.access,
            indexes: &self.indexes,
            projection: &self.projection,
            limit: self.limit,
            replica: &self.replica,
            preference: &self.preference,
            row_only: self.row_only,
            max_replica_lag: self.max_lag,
        })
        .to_string()
    }
}

fn range(lower: Option<i64>, upper: Option<i64>) -> KeyAccess {
    KeyAccess::Range {
        prefix: 0,
        lower: lower.map(Value::Int64),
        upper: upper.map(Value::Int64),
    }
}

/// `orders (customer)`, reached by `access`.
fn customer_index(access: KeyAccess, covering: bool) -> IndexPath {
    IndexPath {
        name: "orders_customer".into(),
        columns: vec![1],
        access,
        unique: false,
        covering,
        ordered_limit: None,
    }
}

fn customer_range(lower: i32, upper: i32) -> KeyAccess {
    KeyAccess::Range {
        prefix: 0,
        lower: Some(Value::Int32(lower)),
        upper: Some(Value::Int32(upper)),
    }
}

#[test]
fn golden_routes() {
    let forced = |engine, source: &str| Preference::Force(engine, source.into());
    let cases: Vec<(&str, Case)> = vec![
        ("point lookup", Case::orders(KeyAccess::Points(1), &[3])),
        (
            "small IN list",
            Case::orders(KeyAccess::Points(20), &[0, 2]),
        ),
        (
            "short range",
            Case::orders(range(Some(500), Some(599)), &[0, 1, 2, 3]),
        ),
        (
            "one-sided range past max",
            Case::orders(range(Some(2_000_000), None), &[0]),
        ),
        (
            "wide range",
            Case::orders(range(Some(1), Some(400_000)), &[2]),
        ),
        (
            "full scan aggregate",
            Case::orders(KeyAccess::Full, &[1, 2]),
        ),
        ("count(*)", Case::orders(KeyAccess::Full, &[])),
        (
            "LIMIT without predicates",
            Case {
                limit: Some(10),
                ..Case::orders(KeyAccess::Full, &[0, 1, 2, 3])
            },
        ),
        (
            "small table full scan",
            Case {
                rows: 40,
                stats: None,
                ..Case::orders(KeyAccess::Full, &[0, 1, 2, 3])
            },
        ),
        (
            "no statistics: two-sided range uses the default selectivity",
            Case {
                stats: None,
                ..Case::orders(range(Some(1), Some(400_000)), &[2])
            },
        ),
        (
            "key prefix of a composite key",
            Case {
                table: events(),
                rows: 200_000,
                stats: Some(events_stats()),
                ..Case::orders(KeyAccess::Prefix { columns: 1 }, &[1, 2])
            },
        ),
        (
            "lagging replica",
            Case {
                replica: ReplicaState::Available {
                    lag: Duration::from_millis(2_100),
                },
                max_lag: Duration::from_millis(500),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "lag within the bound",
            Case {
                replica: ReplicaState::Available {
                    lag: Duration::from_millis(300),
                },
                max_lag: Duration::from_millis(500),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "building replica",
            Case {
                replica: ReplicaState::Unavailable("replica is building (40% done)".into()),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "building replica, forced columnar waits for it",
            Case {
                replica: ReplicaState::Unavailable("replica is building (40% done)".into()),
                preference: forced(ReadEngine::Columnar, "prism.read_engines = columnar"),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "no replica",
            Case {
                replica: ReplicaState::None,
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "replica on another member",
            Case {
                replica: ReplicaState::NotHere,
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "forced row",
            Case {
                preference: forced(ReadEngine::Row, "prism.read_engines = row"),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "hinted columnar point lookup",
            Case {
                preference: forced(ReadEngine::Columnar, "hint READ_FROM(columnar, orders)"),
                ..Case::orders(KeyAccess::Points(1), &[3])
            },
        ),
        (
            "forced columnar but too far behind",
            Case {
                replica: ReplicaState::Available {
                    lag: Duration::from_secs(3),
                },
                preference: forced(ReadEngine::Columnar, "prism.read_engines = columnar"),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "UPDATE target",
            Case {
                row_only: Some("target of UPDATE/DELETE"),
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
        (
            "one customer through an index",
            Case {
                indexes: vec![customer_index(KeyAccess::Points(1), false)],
                ..Case::orders(KeyAccess::Full, &[0, 2])
            },
        ),
        (
            "one customer, index-only",
            Case {
                indexes: vec![customer_index(KeyAccess::Points(1), true)],
                ..Case::orders(KeyAccess::Full, &[0, 1])
            },
        ),
        (
            "a few customers through an index range",
            Case {
                indexes: vec![customer_index(customer_range(100, 109), false)],
                ..Case::orders(KeyAccess::Full, &[0, 2])
            },
        ),
        (
            "index range at the boundary: the replica wins",
            Case {
                indexes: vec![customer_index(customer_range(100, 199), false)],
                ..Case::orders(KeyAccess::Full, &[0, 2])
            },
        ),
        (
            "half the customers: the replica wins",
            Case {
                indexes: vec![customer_index(customer_range(1, 5000), false)],
                ..Case::orders(KeyAccess::Full, &[0, 2])
            },
        ),
        (
            "a key point beats an index",
            Case {
                indexes: vec![customer_index(KeyAccess::Points(1), false)],
                ..Case::orders(KeyAccess::Points(1), &[0, 2])
            },
        ),
        (
            "index without a replica",
            Case {
                replica: ReplicaState::None,
                indexes: vec![customer_index(customer_range(1, 5000), false)],
                ..Case::orders(KeyAccess::Full, &[0, 2])
            },
        ),
        (
            "empty table",
            Case {
                rows: 0,
                stats: None,
                ..Case::orders(KeyAccess::Full, &[1, 2])
            },
        ),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|(name, case)| format!("{name}: {}", case.decide()))
        .collect();
    let want = GOLDEN.trim().lines().map(str::trim).collect::<Vec<_>>();
    for (i, line) in got.iter().enumerate() {
        assert_eq!(
            Some(&line.as_str()),
            want.get(i),
            "golden case {i} changed\n{}",
            got.join("\n")
        );
    }
    assert_eq!(got.len(), want.len(), "{}", got.join("\n"));
}

const GOLDEN: &str = "
point lookup: engine=row, est_rows=1, cost row=3.37 columnar=21200.00, rejected columnar: cost 21200.00 >= row cost 3.37
small IN list: engine=row, est_rows=20, cost row=67.40 columnar=20200.00, rejected columnar: cost 20200.00 >= row cost 67.40
short range: engine=row, est_rows=100, cost row=40.00 columnar=44200.00, rejected columnar: cost 44200.00 >= row cost 40.00
one-sided range past max: engine=row, est_rows=1, cost row=3.37 columnar=9200.00, rejected columnar: cost 9200.00 >= row cost 3.37
wide range: engine=columnar, est_rows=400000, cost row=148003.00 columnar=13200.00, rejected row: cost 148003.00 > columnar cost 13200.00
full scan aggregate: engine=columnar, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected row: cost 370003.00 > columnar cost 18200.00
count(*): engine=columnar, est_rows=1000000, cost row=370003.00 columnar=2200.00, rejected row: cost 370003.00 > columnar cost 2200.00
LIMIT without predicates: engine=row, est_rows=10, cost row=6.70 columnar=200.44, rejected columnar: cost 200.44 >= row cost 6.70
small table full scan: engine=row, est_rows=40, cost row=17.80 columnar=201.76, rejected columnar: cost 201.76 >= row cost 17.80
no statistics: two-sided range uses the default selectivity: engine=row, est_rows=5000, cost row=1853.00 columnar=13200.00, rejected columnar: cost 13200.00 >= row cost 1853.00
key prefix of a composite key: engine=row, est_rows=4000, cost row=1899.00 columnar=12600.00, rejected columnar: cost 12600.00 >= row cost 1899.00
lagging replica: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: replica lag 2.1 s > prism.max_replica_lag (500 ms)
lag within the bound: engine=columnar, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected row: cost 370003.00 > columnar cost 18200.00
building replica: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: replica unavailable: replica is building (40% done)
building replica, forced columnar waits for it: engine=columnar, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected row: prism.read_engines = columnar
no replica: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: no columnar replica
replica on another member: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: no columnar replica on this node
forced row: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: prism.read_engines = row
hinted columnar point lookup: engine=columnar, est_rows=1, cost row=3.37 columnar=21200.00, rejected row: hint READ_FROM(columnar, orders)
forced columnar but too far behind: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: replica lag 3.0 s > prism.max_replica_lag (1.0 s)
UPDATE target: engine=row, est_rows=1000000, cost row=370003.00 columnar=18200.00, rejected columnar: target of UPDATE/DELETE
one customer through an index: engine=row, est_rows=100, cost row=367.40 columnar=20200.00, rejected columnar: cost 20200.00 >= row cost 367.40, rejected full scan: cost 370003.00
one customer, index-only: engine=row, est_rows=100, cost row=30.40 columnar=14200.00, rejected columnar: cost 14200.00 >= row cost 30.40, rejected full scan: cost 370003.00
a few customers through an index range: engine=row, est_rows=1000, cost row=3647.00 columnar=20200.00, rejected columnar: cost 20200.00 >= row cost 3647.00, rejected full scan: cost 370003.00
index range at the boundary: the replica wins: engine=columnar, est_rows=10000, cost row=36443.00 columnar=20200.00, rejected row: cost 36443.00 > columnar cost 20200.00
half the customers: the replica wins: engine=columnar, est_rows=1000000, cost row=370003.00 columnar=20200.00, rejected row: cost 370003.00 > columnar cost 20200.00
a key point beats an index: engine=row, est_rows=1, cost row=3.37 columnar=20200.00, rejected columnar: cost 20200.00 >= row cost 3.37, rejected index orders_customer: cost 367.40
index without a replica: engine=row, est_rows=1000000, cost row=370003.00 columnar=20200.00, rejected columnar: no columnar replica, rejected index orders_customer: cost 1822003.00
empty table: engine=row, est_rows=0, cost row=3.00 columnar=200.00, rejected columnar: cost 200.00 >= row cost 3.00
";

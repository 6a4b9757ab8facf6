//! Server metrics: connections, statements by kind, errors by SQLSTATE and
//! statement latency, kept in a prometheus-client [`Registry`] and rendered in
//! the Prometheus text exposition format by [`Metrics::encode`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SqlstateLabel {
    sqlstate: String,
}

/// The server's metrics and the registry that holds them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections_open: Gauge,
    connections: Counter,
    /// The `queries` counter of each of [`KINDS`], fetched from the family
    /// once: a statement bumps one without a label lookup.
    by_kind: Vec<Counter>,
    errors: Family<SqlstateLabel, Counter>,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry (prefix `prismdb`) with the server's metrics registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("prismdb");
        let connections_open = Gauge::default();
        let connections = Counter::default();
        let queries = Family::<KindLabel, Counter>::default();
        let errors = Family::<SqlstateLabel, Counter>::default();
        // 50µs .. ~105s in 22 doubling steps.
        let latency = Histogram::new(exponential_buckets(50e-6, 2.0, 22));
        registry.register(
            "connections_open",
            "Client connections currently open",
            connections_open.clone(),
        );
        registry.register(
            "connections",
            "Client connections accepted",
            connections.clone(),
        );
        registry.register("queries", "Statements completed, by kind", queries.clone());
        registry.register(
            "errors",
            "Errors sent to clients, by SQLSTATE",
            errors.clone(),
        );
        registry.register(
            "statement_latency_seconds",
            "Statement latency",
            latency.clone(),
        );
        let by_kind = KINDS
            .iter()
            .map(|kind| queries.get_or_create(&KindLabel { kind }).clone())
            .collect();
        Metrics {
            registry,
            connections_open,
            connections,
            by_kind,
            errors,
            latency,
        }
    }

    /// The registry, for registering further metrics before the server starts.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The metrics in the Prometheus/OpenMetrics text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.inc();
        self.connections_open.inc();
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.dec();
    }

    /// Counts a completed statement by the kind its command tag names.
    pub(crate) fn query(&self, tag: &str) {
        self.by_kind[kind_index(tag)].inc();
    }

    pub(crate) fn error(&self, sqlstate: &str) {
        self.errors
            .get_or_create(&SqlstateLabel {
                sqlstate: sqlstate.to_owned(),
            })
            .inc();
    }

    pub(crate) fn latency(&self, elapsed: Duration) {
        self.latency.observe(elapsed.as_secs_f64());
    }
}

/// The kind label of a statement from the first word of its command tag.
pub fn query_kind(tag: &str) -> &'static str {
    KINDS[kind_index(tag)]
}

/// The statement kinds `prismdb_queries` counts, by label.
const KINDS: [&str; 7] = [
    "select", "insert", "update", "delete", "ddl", "txn", "other",
];

/// Index into [`KINDS`] of the kind the first word of `tag` names.
fn kind_index(tag: &str) -> usize {
    const WORDS: [(&str, usize); 26] = [
        ("SELECT", 0),
        ("SHOW", 0),
        ("EXPLAIN", 0),
        ("VALUES", 0),
        ("TABLE", 0),
        ("FETCH", 0),
        ("INSERT", 1),
        ("COPY", 1),
        ("UPDATE", 2),
        ("MERGE", 2),
        ("DELETE", 3),
        ("TRUNCATE", 3),
        ("CREATE", 4),
        ("DROP", 4),
        ("ALTER", 4),
        ("COMMENT", 4),
        ("GRANT", 4),
        ("REVOKE", 4),
        ("BEGIN", 5),
        ("START", 5),
        ("COMMIT", 5),
        ("END", 5),
        ("ROLLBACK", 5),
        ("SAVEPOINT", 5),
        ("RELEASE", 5),
        ("PREPARE", 5),
    ];
    let word = tag.split_ascii_whitespace().next().unwrap_or("");
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map_or(KINDS.len() - 1, |(_, i)| *i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_tag() {
        assert_eq!(query_kind("SELECT"), "select");
        assert_eq!(query_kind("INSERT 0 3"), "insert");
        assert_eq!(query_kind("UPDATE 2"), "update");
        assert_eq!(query_kind("DELETE 1"), "delete");
        assert_eq!(query_kind("CREATE TABLE"), "ddl");
        assert_eq!(query_kind("BEGIN"), "txn");
        assert_eq!(query_kind("ROLLBACK"), "txn");
        assert_eq!(query_kind("SET"), "other");
        assert_eq!(query_kind(""), "other");
    }

    #[test]
    fn encodes_text_format() {
        let m = Metrics::new();
        m.connection_opened();
        m.query("SELECT");
        m.query("INSERT 0 1");
        m.error("42P01");
        m.latency(Duration::from_millis(3));
        let text = m.encode();
        assert!(text.contains("prismdb_connections_open 1"), "{text}");
        assert!(text.contains("prismdb_connections_total 1"), "{text}");
        assert!(
            text.contains("prismdb_queries_total{kind=\"select\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("prismdb_queries_total{kind=\"insert\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("prismdb_errors_total{sqlstate=\"42P01\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("prismdb_statement_latency_seconds_count 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}

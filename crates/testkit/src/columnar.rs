//! Helpers for testing columnar replicas against the row store.
//!
//! This module owns the pieces the columnar end-to-end tests share (one
//! node today, a cluster later):
//!
//! - [`SplitMix64`], a tiny deterministic PRNG, and [`test_seed`], which
//!   takes the seed from `PRISM_TEST_SEED` so a failing run can be replayed.
//! - [`Workload`]: three tables under a name prefix — `<p>items` (integer
//!   primary key), `<p>events` (composite `(integer, text)` key) and
//!   `<p>notes` (no primary key) with integer, bigint, numeric(12,2), text,
//!   date and boolean columns and NULLs — an initial load, and seeded rounds
//!   of random INSERT / UPDATE / DELETE statements (key, key-range and
//!   non-key predicates, key changes, re-inserted keys), mixed through
//!   explicit transactions (committed or rolled back) and autocommit, in both
//!   the simple and the extended protocol. A small model of the live keys
//!   keeps every statement valid, so a failing statement is a real error.
//! - [`Workload::queries`]: analytical queries over those tables (aggregates,
//!   GROUP BY, key and non-key filters, joins, ORDER BY … LIMIT, DISTINCT,
//!   NULL filters, subqueries).
//! - [`same_results`]: runs queries under `prism.read_engines = 'row'` and
//!   `'columnar'`, compares the rows as sorted text, and checks with EXPLAIN
//!   that the columnar run really scanned replicas.
//! - [`replica_rows`] / [`wait_replicas_available`]: the
//!   `information_schema.columnar_replicas` view.
//! - [`replica_dir`] / [`wait_manifest`] / [`replica_log_lines`]: a
//!   replica's checkpoint directory and what the server log says about it.

use crate::pgtext::civil_from_days;
use anyhow::{Context, Result, anyhow, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, good enough
/// statistics for test data, and identical output on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A uniformly chosen element of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The seed of a randomized test: `PRISM_TEST_SEED` (decimal or `0x` hex)
/// if set, else `default`. Printed, so a failure can be replayed.
pub fn test_seed(default: u64) -> u64 {
    let seed = match std::env::var("PRISM_TEST_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("PRISM_TEST_SEED={s:?} is not a u64"))
        }
        Err(_) => default,
    };
    println!("seed: PRISM_TEST_SEED={seed}");
    seed
}

// ---------------------------------------------------------------------------
// SQL literals

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "O'Brien",
    "ünïcødé",
    "",
    "x y",
    "zeta",
    "ETA",
    "theta",
    "iota",
    "kappa",
    "λ",
    "mu",
    "nu",
];
const KINDS: &[&str] = &["click", "view", "buy", "refund", "it's"];

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl SplitMix64 {
    fn null_or(&mut self, null_percent: u64, f: impl FnOnce(&mut Self) -> String) -> String {
        if self.chance(null_percent) {
            "NULL".into()
        } else {
            f(self)
        }
    }

    /// A numeric(12,2) literal with |v| < 10^7.
    fn numeric(&mut self) -> String {
        let cents = self.range(-999_999_999, 999_999_999);
        let sign = if cents < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
    }

    /// A date literal between 2015 and 2024.
    fn date(&mut self) -> String {
        // 2015-01-01 is day 16436.
        let (y, m, d) = civil_from_days(16_436 + self.range(0, 3650));
        format!("DATE '{y:04}-{m:02}-{d:02}'")
    }

    fn text(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.pick(WORDS));
        }
        if self.chance(50) {
            let _ = write!(s, "{}", self.below(1000));
        }
        quote(&s)
    }

    fn boolean(&mut self) -> String {
        if self.chance(50) { "true" } else { "false" }.into()
    }

    fn bigint(&mut self) -> String {
        // Mostly beyond 32 bits, small enough that a sum of 100k of them
        // stays exact as a double (avg).
        if self.chance(20) {
            self.range(-100, 100).to_string()
        } else {
            self.range(-10_000_000_000, 10_000_000_000).to_string()
        }
    }
}

// ---------------------------------------------------------------------------
// The workload

/// What a [`Workload::round`] ran.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundStats {
    /// DML statements run (BEGIN / COMMIT / ROLLBACK not counted).
    pub statements: usize,
    pub transactions: usize,
    pub rolled_back: usize,
}

/// The live keys as far as the workload knows: exact, except that
/// deletes with non-key predicates leave keys here that are gone (harmless:
/// updates and deletes of a missing key do nothing). `gone_*` keys are
/// certainly absent and may be inserted again.
#[derive(Debug, Clone, Default)]
struct Model {
    next_item: i32,
    items: BTreeSet<i32>,
    gone_items: BTreeSet<i32>,
    next_event: u32,
    events: BTreeSet<(i32, String)>,
    gone_events: BTreeSet<(i32, String)>,
}

/// One statement to run.
enum Stmt {
    Sql(String),
    /// Extended protocol with integer parameters.
    Params(String, Vec<i64>, Vec<i32>),
}

impl Stmt {
    fn text(&self) -> String {
        match self {
            Stmt::Sql(s) => s.clone(),
            Stmt::Params(s, big, int) => {
                format!("{s} -- bigint params {big:?}, int params {int:?}")
            }
        }
    }
}

/// A seeded random workload over three tables named `<prefix>items`,
/// `<prefix>events` and `<prefix>notes`.
#[derive(Debug, Clone)]
pub struct Workload {
    prefix: String,
    rng: SplitMix64,
    model: Model,
}

const EVENT_REGIONS: i64 = 8;
const ITEM_GROUPS: i64 = 20;

impl Workload {
    pub fn new(prefix: &str, seed: u64) -> Workload {
        Workload {
            prefix: prefix.to_string(),
            rng: SplitMix64::new(seed),
            model: Model::default(),
        }
    }

    /// `<prefix>items`: integer primary key.
    pub fn items(&self) -> String {
        format!("{}items", self.prefix)
    }

    /// `<prefix>events`: primary key `(region integer, code text)`.
    pub fn events(&self) -> String {
        format!("{}events", self.prefix)
    }

    /// `<prefix>notes`: no primary key.
    pub fn notes(&self) -> String {
        format!("{}notes", self.prefix)
    }

    pub fn tables(&self) -> Vec<String> {
        vec![self.items(), self.events(), self.notes()]
    }

    /// Creates the three tables.
    pub async fn create(&self, client: &Client) -> Result<()> {
        let sql = format!(
            "CREATE TABLE {items} (id integer PRIMARY KEY, grp integer, qty bigint, \
                 price numeric(12,2), name text, day date, active boolean, memo text);
             CREATE TABLE {events} (region integer, code text, item_id integer, \
                 amount numeric(12,2), note text, day date, done boolean, seq bigint, \
                 PRIMARY KEY (region, code));
             CREATE TABLE {notes} (item_id integer, kind text, v bigint, \
                 price numeric(12,2), day date, ok boolean);",
            items = self.items(),
            events = self.events(),
            notes = self.notes()
        );
        client
            .batch_execute(&sql)
            .await
            .context("creating the workload tables")
    }

    /// Sets the columnar replica count of every table.
    pub async fn set_replicas(&self, client: &Client, n: u32) -> Result<()> {
        for t in self.tables() {
            client
                .batch_execute(&format!("ALTER TABLE {t} SET COLUMNAR REPLICA {n}"))
                .await
                .with_context(|| format!("SET COLUMNAR REPLICA {n} on {t}"))?;
        }
        Ok(())
    }

    /// Inserts `items` items, `events` events and `notes` notes in
    /// multi-row INSERTs of up to 500 rows.
    pub async fn load(
        &mut self,
        client: &Client,
        items: usize,
        events: usize,
        notes: usize,
    ) -> Result<()> {
        for (table, total) in [(0, items), (1, events), (2, notes)] {
            let mut done = 0;
            while done < total {
                let n = (total - done).min(500);
                let sql = match table {
                    0 => self.insert_items(n, false),
                    1 => self.insert_events(n, false),
                    _ => self.insert_notes(n),
                };
                client
                    .batch_execute(&sql)
                    .await
                    .with_context(|| format!("loading: {}", truncate(&sql, 300)))?;
                done += n;
            }
        }
        Ok(())
    }

    /// Inserts `n` items with fresh keys in one `INSERT … SELECT … FROM
    /// generate_series` (much faster than VALUES lists for big loads). The
    /// values are arithmetic on the key, seeded, with NULLs in every
    /// nullable column.
    pub async fn load_items_generated(&mut self, client: &Client, n: usize) -> Result<()> {
        let first = self.model.next_item;
        let last = first + n as i32 - 1;
        let k = 1 + self.rng.below(1000) as i64;
        let sql = format!(
            "INSERT INTO {items} (id, grp, qty, price, name, day, active, memo)              SELECT g,                     CASE WHEN g % 19 = 0 THEN NULL ELSE (g * {k}) % {ITEM_GROUPS} END,                     CASE WHEN g % 23 = 0 THEN NULL                          ELSE (CAST(g AS bigint) * 7919 % 1000003 - 500000) * 10007 + {k} END,                     CASE WHEN g % 11 = 0 THEN NULL                          ELSE CAST((g * 31 + {k}) % 2000000 - 1000000 AS numeric(12,2)) / 100 END,                     CASE WHEN g % 13 = 0 THEN NULL ELSE 'item ' || ((g * {k}) % 1000) END,                     CASE WHEN g % 17 = 0 THEN NULL ELSE CAST('2015-01-01' AS date) + (g % 3650) END,                     CASE WHEN g % 29 = 0 THEN NULL ELSE (g + {k}) % 3 = 0 END,                     CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('memo ', g % 5) END              FROM generate_series({first}, {last}) AS s(g)",
            items = self.items(),
        );
        client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("loading {n} generated items"))?;
        self.model.items.extend(first..=last);
        self.model.next_item = last + 1;
        Ok(())
    }

    /// Loads about `rows` rows: half items, a quarter each events and notes.
    pub async fn load_rows(&mut self, client: &Client, rows: usize) -> Result<()> {
        self.load(client, rows / 2, rows / 4, rows / 4).await
    }

    /// Forgets every row of `<prefix>items` (after a TRUNCATE).
    pub fn items_truncated(&mut self) {
        let all: Vec<i32> = self.model.items.iter().copied().collect();
        self.model.gone_items.extend(all);
        self.model.items.clear();
    }

    /// Forgets every row of `<prefix>events` (after a TRUNCATE or DROP).
    pub fn events_truncated(&mut self) {
        let all: Vec<(i32, String)> = self.model.events.iter().cloned().collect();
        self.model.gone_events.extend(all);
        self.model.events.clear();
    }

    /// One round of about `statements` random DML statements, some in
    /// explicit transactions (most committed, some rolled back), the rest
    /// in autocommit. Any error is returned with the statement that failed.
    pub async fn round(&mut self, client: &Client, statements: usize) -> Result<RoundStats> {
        let mut stats = RoundStats::default();
        while stats.statements < statements {
            if self.rng.chance(40) {
                let n = self.rng.range(2, 8) as usize;
                let saved = self.model.clone();
                let commit = self.rng.chance(80);
                client.batch_execute("BEGIN").await.context("BEGIN")?;
                for _ in 0..n {
                    let stmt = self.statement();
                    if let Err(e) = run(client, &stmt).await {
                        let _ = client.batch_execute("ROLLBACK").await;
                        return Err(e.context(format!("in a transaction: {}", stmt.text())));
                    }
                    stats.statements += 1;
                }
                stats.transactions += 1;
                if commit {
                    client.batch_execute("COMMIT").await.context("COMMIT")?;
                } else {
                    client.batch_execute("ROLLBACK").await.context("ROLLBACK")?;
                    self.model = saved;
                    stats.rolled_back += 1;
                }
            } else {
                let stmt = self.statement();
                run(client, &stmt)
                    .await
                    .with_context(|| format!("autocommit: {}", stmt.text()))?;
                stats.statements += 1;
            }
        }
        Ok(stats)
    }

    /// A random statement, with the model updated as if it ran.
    fn statement(&mut self) -> Stmt {
        match self.rng.below(3) {
            0 => self.item_statement(),
            1 => self.event_statement(),
            _ => self.note_statement(),
        }
    }

    fn some_item(&mut self) -> i32 {
        let m = &self.model;
        if !m.items.is_empty() && self.rng.chance(85) {
            let k = self.rng.below(m.items.len() as u64) as usize;
            *m.items.iter().nth(k).expect("in range")
        } else {
            self.rng.range(-5, m.next_item as i64 + 5) as i32
        }
    }

    fn some_event(&mut self) -> (i32, String) {
        let m = &self.model;
        if !m.events.is_empty() && self.rng.chance(85) {
            let k = self.rng.below(m.events.len() as u64) as usize;
            m.events.iter().nth(k).expect("in range").clone()
        } else {
            (
                self.rng.range(0, EVENT_REGIONS - 1) as i32,
                format!("c{:06}", self.rng.below(m.next_event as u64 + 3)),
            )
        }
    }

    fn item_row(&mut self, id: i32) -> String {
        let r = &mut self.rng;
        let grp = r.null_or(5, |r| r.range(0, ITEM_GROUPS - 1).to_string());
        let qty = r.null_or(5, |r| r.bigint());
        let price = r.null_or(8, |r| r.numeric());
        let name = r.null_or(8, |r| r.text(1));
        let day = r.null_or(8, |r| r.date());
        let active = r.null_or(5, |r| r.boolean());
        let memo = r.null_or(10, |r| {
            let n = r.range(2, 6) as usize;
            r.text(n)
        });
        format!("({id}, {grp}, {qty}, {price}, {name}, {day}, {active}, {memo})")
    }

    fn insert_items(&mut self, n: usize, reuse: bool) -> String {
        let mut rows = Vec::with_capacity(n);
        let mut used = BTreeSet::new();
        for _ in 0..n {
            let id = match self.model.gone_items.iter().next().copied() {
                Some(_) if reuse && self.rng.chance(30) => {
                    let k = self.rng.below(self.model.gone_items.len() as u64) as usize;
                    let id = *self.model.gone_items.iter().nth(k).expect("in range");
                    if used.contains(&id) {
                        self.fresh_item()
                    } else {
                        id
                    }
                }
                _ => self.fresh_item(),
            };
            used.insert(id);
            self.model.gone_items.remove(&id);
            self.model.items.insert(id);
            rows.push(self.item_row(id));
        }
        format!(
            "INSERT INTO {} (id, grp, qty, price, name, day, active, memo) VALUES {}",
            self.items(),
            rows.join(", ")
        )
    }

    fn fresh_item(&mut self) -> i32 {
        let id = self.model.next_item;
        self.model.next_item += 1;
        id
    }

    fn fresh_event(&mut self) -> (i32, String) {
        let code = format!("c{:06}", self.model.next_event);
        self.model.next_event += 1;
        (self.rng.range(0, EVENT_REGIONS - 1) as i32, code)
    }

    fn insert_events(&mut self, n: usize, reuse: bool) -> String {
        let mut rows = Vec::with_capacity(n);
        let mut used = BTreeSet::new();
        for _ in 0..n {
            let mut key = if reuse && !self.model.gone_events.is_empty() && self.rng.chance(30) {
                let k = self.rng.below(self.model.gone_events.len() as u64) as usize;
                self.model
                    .gone_events
                    .iter()
                    .nth(k)
                    .expect("in range")
                    .clone()
            } else {
                self.fresh_event()
            };
            if used.contains(&key) {
                key = self.fresh_event();
            }
            used.insert(key.clone());
            self.model.gone_events.remove(&key);
            self.model.events.insert(key.clone());
            let item = self.some_item();
            let r = &mut self.rng;
            let amount = r.null_or(8, |r| r.numeric());
            let note = r.null_or(15, |r| r.text(2));
            let day = r.null_or(8, |r| r.date());
            let done = r.null_or(5, |r| r.boolean());
            let seq = r.null_or(5, |r| r.bigint());
            let item = if r.chance(5) {
                "NULL".to_string()
            } else {
                item.to_string()
            };
            rows.push(format!(
                "({}, {}, {item}, {amount}, {note}, {day}, {done}, {seq})",
                key.0,
                quote(&key.1)
            ));
        }
        format!(
            "INSERT INTO {} (region, code, item_id, amount, note, day, done, seq) VALUES {}",
            self.events(),
            rows.join(", ")
        )
    }

    fn note_row(&mut self) -> String {
        let item = self.some_item();
        let r = &mut self.rng;
        let item = if r.chance(5) {
            "NULL".to_string()
        } else {
            item.to_string()
        };
        let kind = r.null_or(8, |r| quote(r.pick(KINDS)));
        let v = r.null_or(5, |r| r.range(-1000, 1000).to_string());
        let price = r.null_or(8, |r| r.numeric());
        let day = r.null_or(8, |r| r.date());
        let ok = r.null_or(5, |r| r.boolean());
        format!("({item}, {kind}, {v}, {price}, {day}, {ok})")
    }

    fn insert_notes(&mut self, n: usize) -> String {
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let row = self.note_row();
            // Whole-row duplicates: a table without a key keeps both.
            if self.rng.chance(5) {
                rows.push(row.clone());
            }
            rows.push(row);
        }
        format!(
            "INSERT INTO {} (item_id, kind, v, price, day, ok) VALUES {}",
            self.notes(),
            rows.join(", ")
        )
    }

    fn item_statement(&mut self) -> Stmt {
        let t = self.items();
        match self.rng.below(100) {
            0..=24 => {
                let n = self.rng.range(1, 5) as usize;
                Stmt::Sql(self.insert_items(n, true))
            }
            25..=39 => {
                let id = self.some_item();
                let d = self.rng.range(-50, 50);
                let price = self.rng.null_or(10, |r| r.numeric());
                Stmt::Sql(format!(
                    "UPDATE {t} SET qty = qty + {d}, price = {price}, active = NOT active WHERE id = {id}"
                ))
            }
            40..=46 => {
                let id = self.some_item();
                let qty = self.rng.range(-10_000_000_000, 10_000_000_000);
                Stmt::Params(
                    format!("UPDATE {t} SET qty = $1 WHERE id = $2"),
                    vec![qty],
                    vec![id],
                )
            }
            47..=54 => {
                let lo = self.some_item();
                let hi = lo + self.rng.range(0, 20) as i32;
                let name = self.rng.null_or(20, |r| r.text(1));
                let day = self.rng.null_or(20, |r| r.date());
                Stmt::Sql(format!(
                    "UPDATE {t} SET name = {name}, day = {day} WHERE id BETWEEN {lo} AND {hi}"
                ))
            }
            55..=61 => {
                let g = self.rng.range(0, ITEM_GROUPS - 1);
                let memo = self.rng.null_or(30, |r| r.text(3));
                Stmt::Sql(format!(
                    "UPDATE {t} SET price = price + 1.25, memo = {memo} WHERE grp = {g} AND active"
                ))
            }
            62..=66 => {
                // A key change: the old key is gone, the new one is fresh.
                let old = self.some_item();
                let new = self.fresh_item();
                self.model.items.remove(&old);
                self.model.gone_items.insert(old);
                self.model.items.insert(new);
                Stmt::Sql(format!("UPDATE {t} SET id = {new} WHERE id = {old}"))
            }
            67..=79 => {
                let id = self.some_item();
                self.model.items.remove(&id);
                self.model.gone_items.insert(id);
                Stmt::Sql(format!("DELETE FROM {t} WHERE id = {id}"))
            }
            80..=85 => {
                let id = self.some_item();
                self.model.items.remove(&id);
                self.model.gone_items.insert(id);
                Stmt::Params(format!("DELETE FROM {t} WHERE id = $1"), vec![], vec![id])
            }
            86..=93 => {
                let lo = self.some_item();
                let hi = lo + self.rng.range(1, 12) as i32;
                let gone: Vec<i32> = self.model.items.range(lo..hi).copied().collect();
                for id in gone {
                    self.model.items.remove(&id);
                    self.model.gone_items.insert(id);
                }
                for id in lo..hi {
                    if id < self.model.next_item {
                        self.model.gone_items.insert(id);
                    }
                }
                Stmt::Sql(format!("DELETE FROM {t} WHERE id >= {lo} AND id < {hi}"))
            }
            _ => {
                // Non-key predicate: the model cannot tell which keys went.
                let g = self.rng.range(0, ITEM_GROUPS - 1);
                let q = self.rng.range(-10_000_000_000, 10_000_000_000);
                Stmt::Sql(format!(
                    "DELETE FROM {t} WHERE grp = {g} AND qty > {q} AND NOT active"
                ))
            }
        }
    }

    fn event_statement(&mut self) -> Stmt {
        let t = self.events();
        match self.rng.below(100) {
            0..=27 => {
                let n = self.rng.range(1, 4) as usize;
                Stmt::Sql(self.insert_events(n, true))
            }
            28..=44 => {
                let (region, code) = self.some_event();
                let amount = self.rng.null_or(10, |r| r.numeric());
                let done = self.rng.null_or(10, |r| r.boolean());
                Stmt::Sql(format!(
                    "UPDATE {t} SET amount = {amount}, done = {done}, seq = seq + 1 \
                     WHERE region = {region} AND code = {}",
                    quote(&code)
                ))
            }
            45..=52 => {
                // Key prefix plus a range on the second key column.
                let (region, code) = self.some_event();
                let note = self.rng.null_or(20, |r| r.text(2));
                Stmt::Sql(format!(
                    "UPDATE {t} SET note = {note} WHERE region = {region} AND code < {}",
                    quote(&code)
                ))
            }
            53..=58 => {
                let item = self.some_item();
                let new = self.some_item();
                Stmt::Sql(format!(
                    "UPDATE {t} SET item_id = {new}, day = NULL WHERE item_id = {item}"
                ))
            }
            59..=63 => {
                let (region, code) = self.some_event();
                let new = self.fresh_event();
                self.model.events.remove(&(region, code.clone()));
                self.model.gone_events.insert((region, code.clone()));
                self.model.events.insert(new.clone());
                Stmt::Sql(format!(
                    "UPDATE {t} SET region = {}, code = {} WHERE region = {region} AND code = {}",
                    new.0,
                    quote(&new.1),
                    quote(&code)
                ))
            }
            64..=80 => {
                let key = self.some_event();
                self.model.events.remove(&key);
                self.model.gone_events.insert(key.clone());
                Stmt::Sql(format!(
                    "DELETE FROM {t} WHERE region = {} AND code = {}",
                    key.0,
                    quote(&key.1)
                ))
            }
            81..=90 => {
                let (region, lo) = self.some_event();
                let n: u32 = lo[1..].parse().unwrap_or(0);
                let hi = format!("c{:06}", n + self.rng.range(1, 30) as u32);
                let gone: Vec<(i32, String)> = self
                    .model
                    .events
                    .range((region, lo.clone())..=(region, hi.clone()))
                    .cloned()
                    .collect();
                for k in gone {
                    self.model.events.remove(&k);
                    self.model.gone_events.insert(k);
                }
                Stmt::Sql(format!(
                    "DELETE FROM {t} WHERE region = {region} AND code BETWEEN {} AND {}",
                    quote(&lo),
                    quote(&hi)
                ))
            }
            _ => {
                let cut = self.rng.numeric();
                Stmt::Sql(format!(
                    "DELETE FROM {t} WHERE done AND amount < {cut} AND seq % 7 = 0"
                ))
            }
        }
    }

    fn note_statement(&mut self) -> Stmt {
        let t = self.notes();
        match self.rng.below(100) {
            0..=39 => {
                let n = self.rng.range(1, 6) as usize;
                Stmt::Sql(self.insert_notes(n))
            }
            40..=59 => {
                let item = self.some_item();
                Stmt::Sql(format!(
                    "UPDATE {t} SET v = v + 1, ok = NOT ok WHERE item_id = {item}"
                ))
            }
            60..=69 => {
                let kind = quote(self.rng.pick(KINDS));
                let v = self.rng.range(-1000, 1000);
                let price = self.rng.null_or(30, |r| r.numeric());
                Stmt::Sql(format!(
                    "UPDATE {t} SET kind = NULL, price = {price} WHERE kind = {kind} AND v > {v}"
                ))
            }
            70..=74 => {
                let item = self.some_item();
                let day = self.rng.date();
                Stmt::Sql(format!(
                    "UPDATE {t} SET kind = 'fixed', day = {day} WHERE kind IS NULL AND item_id < {item}"
                ))
            }
            75..=89 => {
                let item = self.some_item();
                Stmt::Sql(format!("DELETE FROM {t} WHERE item_id = {item}"))
            }
            _ => {
                let kind = quote(self.rng.pick(KINDS));
                let v = self.rng.range(-1000, 1000);
                Stmt::Sql(format!(
                    "DELETE FROM {t} WHERE kind = {kind} AND v < {v} AND ok"
                ))
            }
        }
    }

    /// Analytical queries over the three tables. Every ORDER BY … LIMIT
    /// orders by a unique key (or by all output columns), so the result is
    /// the same set of rows whatever the engine.
    pub fn queries(&self) -> Vec<String> {
        let (i, e, n) = (self.items(), self.events(), self.notes());
        vec![
            // Whole tables.
            format!("SELECT * FROM {i}"),
            format!("SELECT * FROM {e}"),
            format!("SELECT * FROM {n}"),
            // Aggregates.
            format!(
                "SELECT count(*), count(grp), count(price), sum(qty), sum(price), avg(price), \
                 min(price), max(price), min(day), max(day), min(name), max(name), \
                 min(qty), max(qty), avg(grp) FROM {i}"
            ),
            format!(
                "SELECT count(*), sum(amount), avg(amount), min(code), max(code), \
                 min(seq), max(seq), count(DISTINCT item_id) FROM {e}"
            ),
            format!("SELECT count(*), sum(v), avg(v), sum(price), min(day), max(day) FROM {n}"),
            format!("SELECT count(*) FROM {i}"),
            // GROUP BY.
            format!(
                "SELECT grp, count(*), sum(qty), avg(qty), sum(price), min(name), max(day) \
                 FROM {i} GROUP BY grp"
            ),
            format!("SELECT active, count(*), min(id), max(id) FROM {i} GROUP BY active"),
            format!(
                "SELECT region, done, count(*), sum(amount), min(code), max(code) \
                 FROM {e} GROUP BY region, done"
            ),
            format!(
                "SELECT kind, ok, count(*), sum(v), sum(price), min(day), max(day) \
                 FROM {n} GROUP BY kind, ok"
            ),
            format!("SELECT grp FROM {i} GROUP BY grp HAVING count(*) > 10"),
            format!(
                "SELECT EXTRACT(YEAR FROM day) AS y, count(*), sum(price) FROM {i} \
                 GROUP BY EXTRACT(YEAR FROM day)"
            ),
            // Key filters.
            format!("SELECT * FROM {i} WHERE id = 17"),
            format!("SELECT id, name, price FROM {i} WHERE id BETWEEN 100 AND 250"),
            format!("SELECT * FROM {i} WHERE id > 1000 AND id <= 1100"),
            format!("SELECT code, amount, note FROM {e} WHERE region = 3"),
            format!("SELECT * FROM {e} WHERE region = 2 AND code < 'c000500'"),
            format!("SELECT * FROM {e} WHERE region = 5 AND code = 'c000042'"),
            // Non-key filters.
            format!("SELECT count(*), sum(price) FROM {i} WHERE price > 100 AND active"),
            format!(
                "SELECT id, qty FROM {i} WHERE day >= DATE '2019-01-01' AND day < DATE '2020-01-01'"
            ),
            format!("SELECT id, name FROM {i} WHERE name LIKE 'a%' OR name = 'O''Brien'"),
            format!("SELECT count(*) FROM {e} WHERE amount BETWEEN -1000 AND 1000 AND NOT done"),
            format!("SELECT item_id, v FROM {n} WHERE v > 900 OR v < -900"),
            format!("SELECT * FROM {n} WHERE item_id = 5"),
            // NULL filters.
            format!("SELECT count(*) FROM {i} WHERE name IS NULL"),
            format!("SELECT id FROM {i} WHERE price IS NULL OR day IS NULL"),
            format!("SELECT count(*), count(kind) FROM {n} WHERE kind IS NULL OR ok IS NULL"),
            format!("SELECT region, code FROM {e} WHERE item_id IS NULL AND amount IS NOT NULL"),
            // ORDER BY … LIMIT.
            format!("SELECT id, name, qty FROM {i} ORDER BY qty DESC NULLS LAST, id LIMIT 20"),
            format!("SELECT region, code, amount FROM {e} ORDER BY amount, region, code LIMIT 25"),
            format!(
                "SELECT item_id, kind, v FROM {n} ORDER BY v DESC NULLS LAST, item_id, kind LIMIT 15"
            ),
            format!("SELECT id FROM {i} WHERE active ORDER BY id DESC LIMIT 10"),
            // DISTINCT.
            format!("SELECT DISTINCT grp FROM {i}"),
            format!("SELECT DISTINCT region, done FROM {e}"),
            format!("SELECT DISTINCT kind FROM {n}"),
            // Joins.
            format!(
                "SELECT it.grp, count(*), sum(ev.amount) FROM {e} ev JOIN {i} it \
                 ON ev.item_id = it.id GROUP BY it.grp"
            ),
            format!(
                "SELECT nt.kind, count(*), sum(nt.v) FROM {n} nt JOIN {i} it \
                 ON nt.item_id = it.id WHERE it.active GROUP BY nt.kind"
            ),
            format!(
                "SELECT it.id, count(ev.code) FROM {i} it LEFT JOIN {e} ev \
                 ON ev.item_id = it.id WHERE it.id < 200 GROUP BY it.id"
            ),
            format!(
                "SELECT it.id, it.name, ev.region, ev.code FROM {i} it JOIN {e} ev \
                 ON ev.item_id = it.id WHERE ev.region = 1 AND it.grp < 5"
            ),
            // Subqueries.
            format!("SELECT count(*) FROM {i} WHERE id IN (SELECT item_id FROM {e} WHERE done)"),
            format!(
                "SELECT count(*) FROM {n} nt WHERE NOT EXISTS \
                 (SELECT 1 FROM {i} it WHERE it.id = nt.item_id)"
            ),
        ]
    }
}

impl Workload {
    /// `n` random queries of the shapes the router sends to different
    /// engines: key lookups (present and missing keys), IN lists, key
    /// ranges from a few rows to most of the table, key prefixes and
    /// ranges of the composite key, LIMITs and full aggregates.
    pub fn key_queries(&mut self, n: usize) -> Vec<String> {
        let (i, e, nt) = (self.items(), self.events(), self.notes());
        let top = self.model.next_item.max(2) as i64;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let q = match self.rng.below(10) {
                0 => format!(
                    "SELECT * FROM {i} WHERE id = {}",
                    self.rng.range(0, top + 5)
                ),
                1 => {
                    let ids: Vec<String> = (0..1 + self.rng.below(12))
                        .map(|_| self.rng.range(-2, top + 5).to_string())
                        .collect();
                    format!(
                        "SELECT id, name, price FROM {i} WHERE id IN ({})",
                        ids.join(", ")
                    )
                }
                2 => {
                    let lo = self.rng.range(0, top);
                    let width = self.rng.pick(&[1, 10, 100, 1000, 100_000]);
                    format!(
                        "SELECT id, qty, day FROM {i} WHERE id >= {lo} AND id < {}",
                        lo + width
                    )
                }
                3 => {
                    let lo = self.rng.range(0, top);
                    format!("SELECT count(*), sum(price), max(name) FROM {i} WHERE id > {lo}")
                }
                4 => format!(
                    "SELECT code, amount FROM {e} WHERE region = {}",
                    self.rng.range(0, EVENT_REGIONS)
                ),
                5 => format!(
                    "SELECT count(*), sum(amount) FROM {e} WHERE region = {} AND code >= 'c{:06}'",
                    self.rng.range(0, EVENT_REGIONS),
                    self.rng.range(0, 2000)
                ),
                6 => format!(
                    "SELECT id FROM {i} WHERE id BETWEEN {} AND {} AND active",
                    self.rng.range(0, top / 2),
                    self.rng.range(top / 2, top)
                ),
                7 => format!("SELECT grp, count(*), sum(qty) FROM {i} GROUP BY grp"),
                8 => format!(
                    "SELECT nt.kind, count(*) FROM {nt} nt JOIN {i} it ON nt.item_id = it.id \
                     WHERE it.id < {} GROUP BY nt.kind",
                    self.rng.range(0, top)
                ),
                _ => format!(
                    "SELECT * FROM {i} ORDER BY id LIMIT {}",
                    1 + self.rng.below(20)
                ),
            };
            out.push(q);
        }
        out
    }
}

async fn run(client: &Client, stmt: &Stmt) -> Result<()> {
    match stmt {
        Stmt::Sql(sql) => client.batch_execute(sql).await?,
        Stmt::Params(sql, big, int) => {
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
            for b in big {
                params.push(b);
            }
            for i in int {
                params.push(i);
            }
            client.execute(sql.as_str(), &params).await?;
        }
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------
// Comparing engines

/// One result row as text (`None` for NULL).
pub type TextRow = Vec<Option<String>>;

/// Runs `sql` in the simple protocol and returns its rows as text.
pub async fn text_rows(client: &Client, sql: &str) -> Result<Vec<TextRow>> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

/// The plan `EXPLAIN sql` prints, as one string.
pub async fn explain(client: &Client, sql: &str) -> Result<String> {
    let rows = text_rows(client, &format!("EXPLAIN {sql}")).await?;
    Ok(rows
        .into_iter()
        .flatten()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Sets `prism.read_engines`.
pub async fn set_engines(client: &Client, engines: &str) -> Result<()> {
    client
        .batch_execute(&format!("SET prism.read_engines = '{engines}'"))
        .await
        .with_context(|| format!("SET prism.read_engines = '{engines}'"))
}

fn show_row(r: &TextRow) -> String {
    let cells: Vec<&str> = r.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect();
    format!("({})", cells.join(", "))
}

/// Rows of `a` not in `b` and of `b` not in `a`, as multisets.
fn multiset_diff(a: &[TextRow], b: &[TextRow]) -> (Vec<TextRow>, Vec<TextRow>) {
    let mut counts: BTreeMap<&TextRow, i64> = BTreeMap::new();
    for r in a {
        *counts.entry(r).or_default() += 1;
    }
    for r in b {
        *counts.entry(r).or_default() -= 1;
    }
    let mut only_a = Vec::new();
    let mut only_b = Vec::new();
    for (r, n) in counts {
        for _ in 0..n.max(0) {
            only_a.push(r.clone());
        }
        for _ in 0..(-n).max(0) {
            only_b.push(r.clone());
        }
    }
    (only_a, only_b)
}

/// Why the rows of `query` differ between the engines, for a panic message.
fn describe_diff(query: &str, row: &[TextRow], col: &[TextRow]) -> String {
    let (only_row, only_col) = multiset_diff(row, col);
    let mut s = format!(
        "row store and columnar replica disagree\nquery: {query}\nrow store: {} rows, columnar: {} rows\n",
        row.len(),
        col.len()
    );
    for (what, rows) in [
        ("only in the row store", &only_row),
        ("only in the columnar result", &only_col),
    ] {
        let _ = writeln!(s, "{what} ({}):", rows.len());
        for r in rows.iter().take(20) {
            let _ = writeln!(s, "  {}", show_row(r));
        }
        if rows.len() > 20 {
            let _ = writeln!(s, "  … {} more", rows.len() - 20);
        }
    }
    s
}

/// Runs `query` under `prism.read_engines = 'row'` and then `engines`, and
/// panics, with the query and a diff, unless both return the same rows
/// (compared as sorted vectors of text values). Leaves the session at
/// `engines`.
async fn same_rows_under(client: &Client, query: &str, engines: &str) {
    set_engines(client, "row").await.expect("set row engine");
    let mut row = text_rows(client, query)
        .await
        .unwrap_or_else(|e| panic!("row store: {query}: {e:?}"));
    set_engines(client, engines)
        .await
        .unwrap_or_else(|e| panic!("set {engines} engines: {e:?}"));
    let mut other = text_rows(client, query)
        .await
        .unwrap_or_else(|e| panic!("{engines}: {query}: {e:?}"));
    row.sort();
    other.sort();
    if row != other {
        panic!("under '{engines}': {}", describe_diff(query, &row, &other));
    }
}

/// One row of a query that must return exactly one, as text.
pub async fn one_row(client: &Client, sql: &str) -> TextRow {
    let rows = text_rows(client, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    assert_eq!(rows.len(), 1, "{sql} returned {rows:?}");
    rows.into_iter().next().expect("one row")
}

/// Runs each query under `prism.read_engines = 'row'` and then `'columnar'`
/// and panics, with the query and a diff, unless both return the same rows
/// (compared as sorted vectors of text values). Also panics unless
/// `EXPLAIN <query>` under `'columnar'` shows a `ColumnarScan` and no
/// row-store scan, i.e. the columnar run really read replicas. Restores the
/// session's `prism.read_engines` afterwards.
pub async fn same_results(client: &Client, queries: &[String]) {
    // Not `SHOW prism.read_engines`: SHOW does not accept dotted names yet.
    let before = text_rows(client, "SELECT current_setting('prism.read_engines')")
        .await
        .expect("current_setting('prism.read_engines')");
    let before = before
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_else(|| "auto".into());
    for query in queries {
        same_rows_under(client, query, "columnar").await;
        let plan = explain(client, query)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {query}: {e:?}"));
        assert!(
            plan.contains("ColumnarScan") && !plan.contains("engine=row"),
            "the columnar run of a query did not read only replicas\nquery: {query}\nplan:\n{plan}"
        );
    }
    set_engines(client, &before)
        .await
        .expect("restore prism.read_engines");
}

/// Scans each engine served, over some queries' plans.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineCounts {
    pub row: usize,
    pub columnar: usize,
}

/// Runs each query under `prism.read_engines = 'auto'` and `'row'` and
/// panics, with the query and a diff, unless both return the same rows.
/// Returns how many scans `auto` sent to each engine (from EXPLAIN).
/// Leaves the session at `'auto'`.
pub async fn auto_matches_row(client: &Client, queries: &[String]) -> EngineCounts {
    let mut counts = EngineCounts::default();
    for query in queries {
        same_rows_under(client, query, "auto").await;
        let plan = explain(client, query)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {query}: {e:?}"));
        counts.row += plan.matches("engine=row,").count();
        counts.columnar +=
            plan.matches("TableScan: table=").count() - plan.matches("engine=row,").count();
    }
    counts
}

// ---------------------------------------------------------------------------
// The replicas view

/// One row of `information_schema.columnar_replicas`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaRow {
    pub table_schema: String,
    pub table_name: String,
    pub replica_count: i32,
    pub host: String,
    pub available: bool,
    pub progress: f64,
    pub applied_index: Option<i64>,
    pub lag_entries: Option<i64>,
    pub lag_ms: Option<i64>,
    pub rows: Option<i64>,
    pub segments: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub checkpoint_index: Option<i64>,
}

/// `information_schema.columnar_replicas`, ordered by table and host.
pub async fn replica_rows(client: &Client) -> Result<Vec<ReplicaRow>> {
    let rows = client
        .query(
            "SELECT table_schema, table_name, replica_count, host, available, progress, \
                    applied_index, lag_entries, lag_ms, rows, segments, memory_bytes, \
                    checkpoint_index \
             FROM information_schema.columnar_replicas ORDER BY table_name, host",
            &[],
        )
        .await
        .context("querying information_schema.columnar_replicas")?;
    rows.iter()
        .map(|r| {
            Ok(ReplicaRow {
                table_schema: r.try_get(0)?,
                table_name: r.try_get(1)?,
                replica_count: r.try_get(2)?,
                host: r.try_get(3)?,
                available: r.try_get(4)?,
                progress: r.try_get(5)?,
                applied_index: r.try_get(6)?,
                lag_entries: r.try_get(7)?,
                lag_ms: r.try_get(8)?,
                rows: r.try_get(9)?,
                segments: r.try_get(10)?,
                memory_bytes: r.try_get(11)?,
                checkpoint_index: r.try_get(12)?,
            })
        })
        .collect::<std::result::Result<_, tokio_postgres::Error>>()
        .context("reading information_schema.columnar_replicas")
}

/// Polls the view until every row in it is available; returns the rows.
/// Fails after `timeout` with the last rows seen.
pub async fn wait_replicas_available(
    client: &Client,
    timeout: Duration,
) -> Result<Vec<ReplicaRow>> {
    let deadline = Instant::now() + timeout;
    loop {
        let rows = replica_rows(client).await?;
        if rows.iter().all(|r| r.available) {
            return Ok(rows);
        }
        if Instant::now() >= deadline {
            bail!("columnar replicas not all available after {timeout:?}: {rows:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// Replicas on disk and in the log

/// The checkpoint directory (`<data-dir>/columnar/t<id>`) whose manifest
/// names `table`, if one exists.
pub fn replica_dir(data_dir: &Path, table: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(data_dir.join("columnar")).ok()?;
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(bytes) = std::fs::read(dir.join("manifest.json")) else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        if manifest["table"]["name"].as_str() == Some(table) {
            return Some(dir);
        }
    }
    None
}

/// What a replica's manifest records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestSummary {
    /// Every entry up to here is in the checkpoint.
    pub applied: u64,
    pub segments: usize,
    /// Rows in the segment files, deleted ones included.
    pub rows: u64,
}

/// Reads `<dir>/manifest.json`.
pub fn manifest_summary(dir: &Path) -> Result<ManifestSummary> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let m: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let applied = m["applied"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}: no applied index", path.display()))?;
    let segments = m["segments"].as_array().cloned().unwrap_or_default();
    Ok(ManifestSummary {
        applied,
        segments: segments.len(),
        rows: segments.iter().filter_map(|s| s["rows"].as_u64()).sum(),
    })
}

/// Waits until `table` has a checkpoint directory with a manifest whose
/// applied index is at least `min_applied`; returns the directory.
pub async fn wait_manifest(
    data_dir: &Path,
    table: &str,
    min_applied: u64,
    timeout: Duration,
) -> Result<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(dir) = replica_dir(data_dir, table)
            && manifest_summary(&dir).is_ok_and(|m| m.applied >= min_applied)
        {
            return Ok(dir);
        }
        if Instant::now() >= deadline {
            bail!(
                "no manifest for {table} at index {min_applied} or later under {} after {timeout:?}",
                data_dir.join("columnar").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a replica became ready, from its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyKind {
    /// Restored from its checkpoint and caught up with later changes.
    CaughtUp,
    /// Built from the row store.
    Built,
}

/// The "columnar replica of `table` ready at index N: K rows caught up /
/// built in …" lines in `log`, in order, as (kind, line).
pub fn replica_log_lines(log: &str, table: &str) -> Vec<(ReadyKind, String)> {
    let needle = format!("columnar replica of {table} ready at index ");
    log.lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| {
            let kind = if l.contains(" rows caught up in ") {
                ReadyKind::CaughtUp
            } else if l.contains(" rows built in ") {
                ReadyKind::Built
            } else {
                return None;
            };
            Some((kind, l.to_string()))
        })
        .collect()
}

/// Lines of `log` where the columnar store warns or errs (failed
/// checkpoints, builds, applies).
pub fn columnar_problems(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("prismdb_columnar") && (l.contains("WARN") || l.contains("ERROR")))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        // Reference value of SplitMix64 seeded with 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(16_436), (2015, 1, 1));
        assert_eq!(civil_from_days(18_321), (2020, 2, 29));
    }

    #[test]
    fn diff_is_multiset() {
        let r = |s: &str| vec![Some(s.to_string())];
        let (a, b) = multiset_diff(&[r("x"), r("x"), r("y")], &[r("x"), r("z")]);
        assert_eq!(a, vec![r("x"), r("y")]);
        assert_eq!(b, vec![r("z")]);
    }

    #[test]
    fn log_lines() {
        let log = "… columnar replica of t ready at index 4: 2 rows built in 1ms\n\
                   … columnar replica of t2 ready at index 9: 0 rows caught up in 1ms\n\
                   … columnar replica of t ready at index 9: 1 rows caught up in 1ms";
        let kinds: Vec<ReadyKind> = replica_log_lines(log, "t").iter().map(|l| l.0).collect();
        assert_eq!(kinds, [ReadyKind::Built, ReadyKind::CaughtUp]);
    }
}

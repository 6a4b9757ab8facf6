//! Sequences: their values (`nextval`, `currval`, `setval`, `lastval`),
//! the binding of `CREATE SEQUENCE`'s options, the sequences `SERIAL`
//! columns own, and what `DROP SEQUENCE` and `DROP TABLE` do to them.
//!
//! A sequence's state is one row of its own key space in the row store
//! (the key space of its id): the next value no node has reserved yet,
//! whether none is left, and an epoch that `setval` advances. A node
//! reserves a *block* of values with one commit through the log (so a
//! value is never handed out twice, on any node, across crashes) and hands
//! them out from memory; a block's size grows while values go fast, so a
//! busy `nextval` costs a log round trip only once per many values. Values
//! a node reserved but did not hand out before it stopped are skipped, as
//! PostgreSQL skips cached and pre-logged values after a crash.
//!
//! `nextval` is not transactional: the commit that reserves a block is its
//! own, whatever the calling transaction does after. Each call checks the
//! sequence's epoch in the row store (a row-cache hit), so a `setval`
//! anywhere makes every node drop its block.
//!
//! Values are reserved from inside expression evaluation, which is
//! synchronous: the reservation waits on the log with the worker thread
//! handed off to the runtime (`block_in_place`).

use crate::Engine;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ScalarUDF, Volatility};
use parking_lot::Mutex;
use prismdb_catalog::{Catalog, Database, Sequence, SqlType};
use prismdb_common::keycode::encode_key;
use prismdb_common::{Error, Result, TableId, Value, Version};
use prismdb_pgcatalog::functions::row_function;
use prismdb_rowstore::row::encode_row;
use prismdb_rowstore::{Write, WriteSet};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The most values one reservation takes.
const MAX_BLOCK: i64 = 1 << 14;

/// A block that lasted less than this makes the next one twice as large.
const FAST_BLOCK: Duration = Duration::from_secs(1);

/// The primary key of a sequence's state row.
fn state_key() -> Vec<u8> {
    encode_key(&[Value::Int64(0)])
}

/// A sequence's state in the row store.
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    /// The next value to reserve.
    next: i64,
    /// No value is left (the sequence reached its bound without CYCLE).
    done: bool,
    epoch: i64,
}

impl State {
    fn fresh(seq: &Sequence) -> State {
        State {
            next: seq.start,
            done: false,
            epoch: 0,
        }
    }

    fn row(&self) -> Vec<u8> {
        encode_row(&[
            Value::Int64(self.next),
            Value::Bool(self.done),
            Value::Int64(self.epoch),
        ])
    }

    fn of_row(row: &[Value]) -> Option<State> {
        match row {
            [Value::Int64(next), Value::Bool(done), Value::Int64(epoch)] => Some(State {
                next: *next,
                done: *done,
                epoch: *epoch,
            }),
            _ => None,
        }
    }

    /// Up to `n` values from `next` on, within the sequence's bounds: the
    /// first, how many, and the state after them.
    fn reserve(&self, seq: &Sequence, n: i64) -> Result<(i64, i64, State)> {
        if self.done {
            return Err(exhausted(seq));
        }
        let inc = i128::from(seq.increment);
        let (first, bound) = (i128::from(self.next), i128::from(bound(seq)));
        // How many values fit between `next` and the bound.
        let room = (bound - first) / inc + 1;
        let count = room.clamp(0, i128::from(n));
        if count == 0 {
            return Err(exhausted(seq));
        }
        let after = first + inc * count;
        let mut state = *self;
        let past = if inc > 0 {
            after > bound
        } else {
            after < bound
        };
        if past {
            if seq.cycle {
                state.next = if inc > 0 { seq.min } else { seq.max };
            } else {
                state.done = true;
            }
        } else {
            state.next = after as i64;
        }
        Ok((self.next, count as i64, state))
    }
}

/// The bound values move towards: MAXVALUE ascending, MINVALUE descending.
fn bound(seq: &Sequence) -> i64 {
    if seq.increment > 0 { seq.max } else { seq.min }
}

fn exhausted(seq: &Sequence) -> Error {
    let (which, value) = if seq.increment > 0 {
        ("maximum", seq.max)
    } else {
        ("minimum", seq.min)
    };
    Error::SequenceGeneratorLimitExceeded(format!(
        "nextval: reached {which} value of sequence \"{}\" ({value})",
        seq.name
    ))
}

/// Values of one sequence this node reserved and has not handed out.
struct Block {
    epoch: i64,
    next: i64,
    remaining: i64,
    /// Size and reservation time of the newest block.
    size: i64,
    reserved: Instant,
}

/// This node's blocks of reserved values, per sequence.
#[derive(Default)]
pub struct Sequences {
    blocks: Mutex<HashMap<TableId, Block>>,
}

impl Sequences {
    /// The sequence's state as of the newest applied version, and that
    /// version.
    fn state(engine: &Engine, seq: &Sequence) -> Result<(State, Version)> {
        let at = engine.store.last_version();
        let row = engine.store.get_columns(seq.id, &state_key(), at, None)?;
        let state = match row {
            None => State::fresh(seq),
            Some(row) => State::of_row(&row).ok_or_else(|| {
                Error::Internal(format!("corrupt state of sequence {}", seq.name))
            })?,
        };
        Ok((state, at))
    }

    /// A value from this node's block, if it has one of the current epoch.
    fn take(&self, seq: &Sequence, epoch: i64) -> Option<i64> {
        let mut blocks = self.blocks.lock();
        let block = blocks.get_mut(&seq.id)?;
        if block.epoch != epoch || block.remaining == 0 {
            return None;
        }
        let value = block.next;
        block.remaining -= 1;
        block.next = block.next.wrapping_add(seq.increment);
        Some(value)
    }

    /// How many values the next reservation takes.
    fn next_size(&self, seq: &Sequence) -> i64 {
        let base = seq.cache.clamp(1, MAX_BLOCK).max(32);
        match self.blocks.lock().get(&seq.id) {
            Some(b) if b.reserved.elapsed() < FAST_BLOCK => (b.size * 2).clamp(base, MAX_BLOCK),
            _ => base,
        }
    }

    /// `nextval`: the sequence's next value.
    pub async fn next(&self, engine: &Engine, seq: &Sequence) -> Result<i64> {
        loop {
            let (state, at) = Sequences::state(engine, seq)?;
            if let Some(v) = self.take(seq, state.epoch) {
                return Ok(v);
            }
            let size = self.next_size(seq);
            let (first, count, after) = state.reserve(seq, size)?;
            match commit_state(engine, seq, at, after).await {
                Ok(_) => {
                    let mut blocks = self.blocks.lock();
                    let keep = blocks
                        .get(&seq.id)
                        .is_some_and(|b| b.epoch == state.epoch && b.remaining > 0);
                    if !keep {
                        blocks.insert(
                            seq.id,
                            Block {
                                epoch: state.epoch,
                                next: first,
                                remaining: count,
                                size,
                                reserved: Instant::now(),
                            },
                        );
                    }
                }
                // Another reservation or setval committed first: read again.
                Err(Error::SerializationFailure(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `setval`: the next `nextval` returns `value` (`called`: the value
    /// after it), on every node.
    pub async fn set(
        &self,
        engine: &Engine,
        seq: &Sequence,
        value: i64,
        called: bool,
    ) -> Result<()> {
        if value < seq.min || value > seq.max {
            return Err(Error::NumericOutOfRange(format!(
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                seq.name, seq.min, seq.max
            )));
        }
        loop {
            let (state, at) = Sequences::state(engine, seq)?;
            let mut after = State {
                next: value,
                done: false,
                epoch: state.epoch + 1,
            };
            if called {
                // The state after handing out `value` itself.
                let (_, _, next) = after.reserve(seq, 1)?;
                after = State {
                    epoch: state.epoch + 1,
                    ..next
                };
            }
            match commit_state(engine, seq, at, after).await {
                Ok(_) => {
                    self.blocks.lock().remove(&seq.id);
                    return Ok(());
                }
                Err(Error::SerializationFailure(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Commits `state` as the sequence's state, read at `at`.
async fn commit_state(
    engine: &Engine,
    seq: &Sequence,
    at: Version,
    state: State,
) -> Result<Version> {
    let mut ws = WriteSet {
        read_version: at,
        ..Default::default()
    };
    ws.writes.insert(
        (seq.id, state_key()),
        Write::Put {
            row: state.row(),
            insert: false,
        },
    );
    engine.log.commit(ws).await
}

/// Runs `f` to completion from synchronous code on a runtime worker.
fn wait<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(f))
        }
        _ => Err(Error::NotSupported(
            "sequence values cannot be reserved outside the server's runtime".into(),
        )),
    }
}

/// The bounds of a sequence type.
fn type_range(ty: SqlType) -> (i64, i64) {
    match ty {
        SqlType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        SqlType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    }
}

fn type_name(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Int16 => "smallint",
        SqlType::Int32 => "integer",
        _ => "bigint",
    }
}

/// The options of `CREATE SEQUENCE`, as numbers.
#[derive(Debug, Default, Clone)]
pub struct SequenceSpec {
    pub ty: Option<SqlType>,
    pub increment: Option<i64>,
    /// `Some(None)`: `NO MINVALUE`.
    pub min: Option<Option<i64>>,
    pub max: Option<Option<i64>>,
    pub start: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: Option<bool>,
}

/// A sequence named `name` with id `id` as `spec` defines it, with
/// PostgreSQL's defaults and checks (22023).
pub fn bind_sequence(id: TableId, name: &str, spec: &SequenceSpec) -> Result<Sequence> {
    let invalid = |m: String| Err(Error::InvalidParameterValue(m));
    let ty = spec.ty.unwrap_or(SqlType::Int64);
    if !matches!(ty, SqlType::Int16 | SqlType::Int32 | SqlType::Int64) {
        return invalid("sequence type must be smallint, integer, or bigint".into());
    }
    let (lo, hi) = type_range(ty);
    let increment = spec.increment.unwrap_or(1);
    if increment == 0 {
        return invalid("INCREMENT must not be zero".into());
    }
    let max = match spec.max.flatten() {
        Some(v) => v,
        None if increment > 0 => hi,
        None => -1,
    };
    let min = match spec.min.flatten() {
        Some(v) => v,
        None if increment > 0 => 1,
        None => lo,
    };
    for (what, v) in [("MAXVALUE", max), ("MINVALUE", min)] {
        if v < lo || v > hi {
            return invalid(format!(
                "{what} ({v}) is out of range for sequence data type {}",
                type_name(ty)
            ));
        }
    }
    if min >= max {
        return invalid(format!(
            "MINVALUE ({min}) must be less than MAXVALUE ({max})"
        ));
    }
    let start = spec.start.unwrap_or(if increment > 0 { min } else { max });
    if start < min {
        return invalid(format!(
            "START value ({start}) cannot be less than MINVALUE ({min})"
        ));
    }
    if start > max {
        return invalid(format!(
            "START value ({start}) cannot be greater than MAXVALUE ({max})"
        ));
    }
    let cache = spec.cache.unwrap_or(1);
    if cache <= 0 {
        return invalid(format!("CACHE ({cache}) must be greater than zero"));
    }
    Ok(Sequence {
        id,
        name: name.to_string(),
        ty,
        increment,
        min,
        max,
        start,
        cache,
        cycle: spec.cycle.unwrap_or(false),
        owned_by: None,
        identity: None,
        ownership: Default::default(),
    })
}

/// The OID of a sequence (sequence ids are drawn from the table ids).
pub fn sequence_oid(seq: &Sequence) -> i64 {
    i64::from(prismdb_pgcatalog::oids::sequence_oid(seq))
}

/// The sequence a `regclass` argument names: a name (possibly quoted or
/// schema-qualified) or an OID.
fn resolve(catalog: &Catalog, database: &str, arg: &ScalarValue) -> Result<Arc<Sequence>> {
    let db = catalog.database(database)?;
    let (found, shown) = match arg {
        ScalarValue::Int64(Some(oid)) => (
            db.sequences
                .values()
                .find(|s| sequence_oid(s) == *oid)
                .cloned(),
            oid.to_string(),
        ),
        ScalarValue::Utf8(Some(t))
        | ScalarValue::LargeUtf8(Some(t))
        | ScalarValue::Utf8View(Some(t)) => {
            // Digits are an OID, as in a regclass's input.
            if let Ok(oid) = t.trim().parse::<i64>() {
                return resolve(catalog, database, &ScalarValue::Int64(Some(oid)));
            }
            let name = relation_name(t)?;
            (db.sequences.get(&name).cloned(), name)
        }
        _ => return Err(Error::Internal("sequence argument is not a name".into())),
    };
    if let Some(seq) = found {
        return Ok(seq);
    }
    if db.has_relation(&shown) {
        return Err(Error::WrongObjectType(format!(
            "\"{shown}\" is not a sequence"
        )));
    }
    Err(Error::UndefinedTable(format!(
        "relation \"{shown}\" does not exist"
    )))
}

/// The relation a text `regclass` names: its last part, unquoted, or
/// lowercased when not quoted (a schema before it is not checked).
fn relation_name(text: &str) -> Result<String> {
    let mut parts = prismdb_pgcatalog::functions::name_parts(text);
    if parts.len() > 3 {
        return Err(Error::InvalidName(format!(
            "improper relation name (too many dotted names): {text}"
        )));
    }
    Ok(parts.pop().unwrap_or_default())
}

/// What a session's `currval` and `lastval` read.
#[derive(Default)]
pub struct SessionValues {
    by_sequence: HashMap<TableId, i64>,
    last: Option<(TableId, i64)>,
}

impl SessionValues {
    fn record(&mut self, seq: &Sequence, value: i64) {
        self.by_sequence.insert(seq.id, value);
        self.last = Some((seq.id, value));
    }
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// `nextval`, `currval`, `setval` and `lastval` for one session.
pub fn sequence_functions(
    engine: Weak<Engine>,
    catalog: Arc<dyn Fn() -> Arc<Catalog> + Send + Sync>,
    database: String,
    values: Arc<Mutex<SessionValues>>,
) -> Vec<ScalarUDF> {
    let arg_types = || vec![vec![DataType::Utf8], vec![DataType::Int64]];
    let lookup = {
        let catalog = catalog.clone();
        let database = database.clone();
        move |arg: &ScalarValue| -> datafusion::error::Result<(Arc<Engine>, Arc<Sequence>)> {
            let engine = engine.upgrade().ok_or_else(|| {
                external(Error::Unavailable("the server is shutting down".into()))
            })?;
            let seq = resolve(&catalog(), &database, arg).map_err(external)?;
            Ok((engine, seq))
        }
    };
    let lookup = Arc::new(lookup);
    let mut out = Vec::new();
    {
        let (lookup, values) = (lookup.clone(), values.clone());
        out.push(row_function(
            "nextval",
            arg_types(),
            DataType::Int64,
            Volatility::Volatile,
            move |a| {
                if a[0].is_null() {
                    return Ok(ScalarValue::Int64(None));
                }
                let (engine, seq) = lookup(&a[0])?;
                let v = wait(engine.sequences.next(&engine, &seq)).map_err(external)?;
                values.lock().record(&seq, v);
                Ok(ScalarValue::Int64(Some(v)))
            },
        ));
    }
    {
        let (lookup, values) = (lookup.clone(), values.clone());
        out.push(row_function(
            "currval",
            arg_types(),
            DataType::Int64,
            Volatility::Volatile,
            move |a| {
                if a[0].is_null() {
                    return Ok(ScalarValue::Int64(None));
                }
                let (_, seq) = lookup(&a[0])?;
                match values.lock().by_sequence.get(&seq.id) {
                    Some(v) => Ok(ScalarValue::Int64(Some(*v))),
                    None => Err(external(Error::ObjectNotInPrerequisiteState(format!(
                        "currval of sequence \"{}\" is not yet defined in this session",
                        seq.name
                    )))),
                }
            },
        ));
    }
    {
        let (lookup, values) = (lookup.clone(), values.clone());
        out.push(row_function(
            "setval",
            vec![
                vec![DataType::Utf8, DataType::Int64],
                vec![DataType::Int64, DataType::Int64],
                vec![DataType::Utf8, DataType::Int64, DataType::Boolean],
                vec![DataType::Int64, DataType::Int64, DataType::Boolean],
            ],
            DataType::Int64,
            Volatility::Volatile,
            move |a| {
                if a.iter().any(ScalarValue::is_null) {
                    return Ok(ScalarValue::Int64(None));
                }
                let (engine, seq) = lookup(&a[0])?;
                let ScalarValue::Int64(Some(value)) = a[1] else {
                    return Err(external(Error::Internal(
                        "setval value is not bigint".into(),
                    )));
                };
                let called = !matches!(a.get(2), Some(ScalarValue::Boolean(Some(false))));
                wait(engine.sequences.set(&engine, &seq, value, called)).map_err(external)?;
                if called {
                    values.lock().record(&seq, value);
                }
                Ok(ScalarValue::Int64(Some(value)))
            },
        ));
    }
    out.push(row_function(
        "lastval",
        vec![vec![]],
        DataType::Int64,
        Volatility::Volatile,
        move |_| {
            let last = values.lock().last;
            let Some((id, v)) = last else {
                return Err(external(Error::ObjectNotInPrerequisiteState(
                    "lastval is not yet defined in this session".into(),
                )));
            };
            // A sequence dropped since has no value to show.
            let exists = catalog()
                .database(&database)
                .is_ok_and(|db| db.sequences.values().any(|s| s.id == id));
            if !exists {
                return Err(external(Error::ObjectNotInPrerequisiteState(
                    "lastval is not yet defined in this session".into(),
                )));
            }
            Ok(ScalarValue::Int64(Some(v)))
        },
    ));
    out
}

/// A number of a sequence option (`-5`, `+3`, `100`).
fn option_number(expr: &prismdb_sql::sqlparser::ast::Expr) -> Result<i64> {
    use prismdb_sql::sqlparser::ast::{Expr, UnaryOperator, Value as V};
    let (negative, inner) = match expr {
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => (true, expr.as_ref()),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => (false, expr.as_ref()),
        e => (false, e),
    };
    let Expr::Value(v) = inner else {
        return Err(Error::Syntax(format!("syntax error at or near \"{expr}\"")));
    };
    let V::Number(text, _) = &v.value else {
        return Err(Error::Syntax(format!("syntax error at or near \"{expr}\"")));
    };
    let text = if negative {
        format!("-{text}")
    } else {
        text.clone()
    };
    text.parse::<i64>().map_err(|_| {
        Error::NumericOutOfRange(format!("value \"{text}\" is out of range for type bigint"))
    })
}

/// The [`SequenceSpec`] of `CREATE SEQUENCE`'s type and options.
pub fn spec_of(
    data_type: Option<&prismdb_sql::sqlparser::ast::DataType>,
    options: &[prismdb_sql::sqlparser::ast::SequenceOptions],
) -> Result<SequenceSpec> {
    use prismdb_sql::sqlparser::ast::SequenceOptions as O;
    let mut spec = SequenceSpec {
        ty: data_type.map(prismdb_sql::types::sql_type).transpose()?,
        ..Default::default()
    };
    for option in options {
        match option {
            O::IncrementBy(e, _) => spec.increment = Some(option_number(e)?),
            O::MinValue(e) => spec.min = Some(e.as_ref().map(option_number).transpose()?),
            O::MaxValue(e) => spec.max = Some(e.as_ref().map(option_number).transpose()?),
            O::StartWith(e, _) => spec.start = Some(option_number(e)?),
            O::Cache(e) => spec.cache = Some(option_number(e)?),
            // sqlparser's flag is set for `NO CYCLE`.
            O::Cycle(no) => spec.cycle = Some(!no),
        }
    }
    Ok(spec)
}

/// The column `OWNED BY target` names (`NONE`: none), which must be a
/// column of a table of `db`.
pub fn owner(
    db: &Database,
    target: &prismdb_sql::sqlparser::ast::ObjectName,
) -> Result<Option<(TableId, String)>> {
    let parts: Vec<String> = target
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(prismdb_sql::normalize))
        .collect();
    let (table, column) = match parts.as_slice() {
        [none] if none == "none" => return Ok(None),
        [table, column] | [_, table, column] => (table, column),
        _ => {
            return Err(Error::InvalidParameterValue(
                "invalid OWNED BY option".into(),
            ));
        }
    };
    let t = db
        .tables
        .get(table)
        .ok_or_else(|| Error::UndefinedTable(format!("relation \"{table}\" does not exist")))?;
    if t.column_index(column).is_none_or(|i| t.columns[i].hidden) {
        return Err(Error::UndefinedColumn(format!(
            "column \"{column}\" of relation \"{table}\" does not exist"
        )));
    }
    Ok(Some((t.id, column.clone())))
}

/// A name as a `regclass` string literal spells it: quoted unless it is
/// lowercase letters, digits and underscores.
fn regclass_literal(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    let spelled = if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    };
    spelled.replace('\'', "''")
}

/// A sequence a column of a new table owns: a SERIAL column's, or an
/// identity column's (with its options and kind).
pub struct Owned {
    pub column: String,
    pub spec: SequenceSpec,
    pub identity: Option<prismdb_catalog::Identity>,
}

/// The sequences of a new table's SERIAL and identity columns, as
/// [`serial_and_identity`] lists them.
pub fn owned_sequences(
    table: &prismdb_catalog::Table,
    ct: &prismdb_sql::sqlparser::ast::CreateTable,
) -> Result<Vec<Owned>> {
    let ty = |column: &str| table.column_index(column).map(|i| table.columns[i].ty);
    let mut out = Vec::new();
    for column in prismdb_sql::ddl::serial_columns(ct) {
        out.push(Owned {
            spec: SequenceSpec {
                ty: ty(&column),
                ..Default::default()
            },
            column,
            identity: None,
        });
    }
    for id in prismdb_sql::ddl::identity_columns(ct) {
        let mut spec = spec_of(None, &id.options)?;
        spec.ty = ty(&id.column);
        out.push(Owned {
            column: id.column,
            spec,
            identity: Some(if id.always {
                prismdb_catalog::Identity::Always
            } else {
                prismdb_catalog::Identity::ByDefault
            }),
        });
    }
    Ok(out)
}

/// Adds the sequences `owned` describes for `table`: each named
/// `<table>_<column>_seq` (with a number appended while that name is
/// taken, as PostgreSQL does), owned by its column, whose default becomes
/// its `nextval`.
pub fn add_owned_sequences(
    catalog: &mut Catalog,
    database: &str,
    table: &Arc<prismdb_catalog::Table>,
    owned: Vec<Owned>,
    owner_oid: u32,
) -> Result<()> {
    let mut table = table.as_ref().clone();
    for o in owned {
        let Some(i) = table.column_index(&o.column) else {
            continue;
        };
        let db = catalog.database(database)?;
        let base = format!("{}_{}_seq", table.name, o.column);
        let mut name = base.clone();
        let mut n = 0;
        while db.has_relation(&name) {
            n += 1;
            name = format!("{base}{n}");
        }
        let mut seq = bind_sequence(catalog.next_table_id, &name, &o.spec)?;
        seq.owned_by = Some((table.id, o.column.clone()));
        seq.identity = o.identity;
        seq.ownership = prismdb_catalog::Ownership::owned_by(owner_oid);
        catalog.next_table_id += 1;
        table.columns[i].default =
            Some(format!("nextval('{}'::regclass)", regclass_literal(&name)));
        catalog
            .database_mut(database)?
            .sequences
            .insert(name, Arc::new(seq));
    }
    catalog
        .database_mut(database)?
        .tables
        .insert(table.name.clone(), Arc::new(table));
    Ok(())
}

/// Whether a column default draws from sequence `name`.
fn uses(default: &str, name: &str) -> bool {
    default.contains(&format!("'{}'::regclass", regclass_literal(name)))
}

/// `DROP SEQUENCE name`: its id, or `None` when no sequence has the name.
/// A column default that uses it refuses the drop (2BP01) unless
/// `cascade`, which drops that default.
pub fn drop_sequence(db: &mut Database, name: &str, cascade: bool) -> Result<Option<TableId>> {
    if !db.sequences.contains_key(name) {
        if db.has_relation(name) {
            return Err(Error::WrongObjectType(format!(
                "\"{name}\" is not a sequence"
            )));
        }
        return Ok(None);
    }
    let users: Vec<(String, usize)> = db
        .tables
        .values()
        .flat_map(|t| {
            t.columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.default.as_deref().is_some_and(|d| uses(d, name)))
                .map(move |(i, _)| (t.name.clone(), i))
        })
        .collect();
    if let Some((table, i)) = users.first()
        && !cascade
    {
        let column = &db.tables[table].columns[*i].name;
        return Err(Error::DependentObjectsStillExist(format!(
            "cannot drop sequence {name} because other objects depend on it{}default value for column {column} of table {table} depends on sequence {name}",
            prismdb_common::error::DETAIL
        )));
    }
    for (table, i) in users {
        if let Some(t) = db.tables.get_mut(&table) {
            Arc::make_mut(t).columns[i].default = None;
        }
    }
    Ok(db.sequences.remove(name).map(|s| s.id))
}

/// Drops the sequences table `table` owns; returns their ids.
pub fn drop_owned(db: &mut Database, table: TableId) -> Vec<TableId> {
    let owned: Vec<String> = db
        .sequences
        .iter()
        .filter(|(_, s)| s.owned_by.as_ref().is_some_and(|o| o.0 == table))
        .map(|(n, _)| n.clone())
        .collect();
    owned
        .into_iter()
        .filter_map(|n| db.sequences.remove(&n).map(|s| s.id))
        .collect()
}

#[cfg(test)]
#[path = "sequences_test.rs"]
mod tests;

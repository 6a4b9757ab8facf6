//! Index DDL: `CREATE INDEX`, `DROP INDEX`, `ALTER INDEX ... RENAME TO`,
//! and keeping the declared indexes consistent when tables and columns go.
//!
//! An index is recorded in the catalog (committed through the log, so every
//! member has it at the same log index) and listed by `pg_catalog`; the
//! row store builds its entries from that log index on (see
//! `prismdb_rowstore::index`). The predicate of a partial index is kept as
//! SQL text and, where it has a form the row store evaluates, as a
//! [`RowFilter`]; a unique partial index needs that form (0A000 without),
//! a non-unique one without it indexes every row (reads re-check their
//! conditions, so extra entries change no answer).

use prismdb_catalog::{Catalog, CompareOp, Database, Index, IndexColumn, Role, RowFilter, Table};
use prismdb_common::keycode::encode_value;
use prismdb_common::{Error, Result};
use prismdb_sql::ddl::UniqueSpec;
use prismdb_sql::sqlparser::ast::{
    BinaryOperator, CreateIndex, Expr, ObjectName, UnaryOperator, Value as SqlValue,
};
use prismdb_sql::{normalize, object_name};

/// PostgreSQL's limit on identifiers.
const NAME_LIMIT: usize = 63;

fn must_own(actor: &Role, owner: u32, table: &str) -> Result<()> {
    if actor.superuser || actor.oid == owner {
        Ok(())
    } else {
        Err(Error::InsufficientPrivilege(format!(
            "must be owner of table {table}"
        )))
    }
}

/// The owner of an index: its table's (an index whose table is gone,
/// which `prune` never leaves, counts as the actor's).
fn index_owner(db: &Database, index: &Index, actor: &Role) -> u32 {
    db.tables
        .values()
        .find(|t| t.id == index.table)
        .map_or(actor.oid, |t| t.ownership.owner)
}

/// `CREATE INDEX`: the new index's id, `None` when `IF NOT EXISTS` found
/// the name taken.
pub(crate) fn create_index(
    catalog: &mut Catalog,
    database: &str,
    actor: &Role,
    ci: &CreateIndex,
) -> Result<Option<u32>> {
    if let Some(using) = &ci.using
        && !using.to_string().eq_ignore_ascii_case("btree")
    {
        return Err(Error::NotSupported(format!(
            "access method \"{}\" is not supported; indexes are btree",
            using.to_string().to_lowercase()
        )));
    }
    if !ci.with.is_empty() || ci.nulls_distinct.is_some() || !ci.index_options.is_empty() {
        return Err(Error::NotSupported(
            "index storage options are not supported".into(),
        ));
    }
    let table_name = object_name(&ci.table_name)?;
    let id = catalog.next_index_id;
    let db = catalog.database_mut(database)?;
    let Some(table) = db.tables.get(&table_name).cloned() else {
        if db.views.contains_key(&table_name) {
            return Err(Error::InvalidStatement(format!(
                "cannot create index on relation \"{table_name}\": it is a view"
            )));
        }
        return Err(Error::UndefinedTable(format!(
            "relation \"{table_name}\" does not exist"
        )));
    };
    must_own(actor, table.ownership.owner, &table_name)?;
    let known = |c: &str| table.visible_columns().any(|(_, col)| col.name == c);
    let mut columns = Vec::with_capacity(ci.columns.len());
    for c in &ci.columns {
        let name = match &c.column.expr {
            Expr::Identifier(i) => normalize(i),
            other => {
                return Err(Error::NotSupported(format!(
                    "indexes on expressions are not supported: {other}"
                )));
            }
        };
        if c.operator_class.is_some() {
            return Err(Error::NotSupported(
                "operator classes are not supported".into(),
            ));
        }
        if !known(&name) {
            return Err(Error::UndefinedColumn(format!(
                "column \"{name}\" does not exist"
            )));
        }
        let descending = c.column.options.asc == Some(false);
        columns.push(IndexColumn {
            name,
            descending,
            nulls_first: c.column.options.nulls_first.unwrap_or(descending),
        });
    }
    if columns.is_empty() {
        return Err(Error::Syntax("an index needs at least one column".into()));
    }
    let mut include = Vec::with_capacity(ci.include.len());
    for i in &ci.include {
        let name = normalize(i);
        if !known(&name) {
            return Err(Error::UndefinedColumn(format!(
                "column \"{name}\" does not exist"
            )));
        }
        include.push(name);
    }
    let name = match &ci.name {
        Some(n) => object_name(n)?,
        None => default_name(db, &table_name, &columns),
    };
    if db.has_relation(&name) {
        if ci.if_not_exists {
            return Ok(None);
        }
        return Err(Error::DuplicateTable(format!(
            "relation \"{name}\" already exists"
        )));
    }
    let filter = match &ci.predicate {
        None => None,
        Some(p) => match row_filter(p, &table) {
            Ok(f) => Some(f),
            Err(e) if ci.unique => return Err(e),
            Err(_) => None,
        },
    };
    db.indexes.insert(
        name.clone(),
        Index {
            id,
            name,
            table: table.id,
            columns,
            include,
            predicate: ci.predicate.as_ref().map(|p| p.to_string()),
            filter,
            unique: ci.unique,
            constraint: false,
        },
    );
    catalog.next_index_id += 1;
    Ok(Some(id))
}

/// The predicate of a partial index as a [`RowFilter`]: AND, OR, NOT,
/// IS [NOT] NULL, boolean columns, constants, and comparisons of a column
/// with a literal of a type that converts exactly to the column's.
fn row_filter(e: &Expr, table: &Table) -> Result<RowFilter> {
    let unsupported = || {
        Error::NotSupported(format!(
            "unique partial indexes with this predicate are not supported: {e}"
        ))
    };
    let column = |e: &Expr| match e {
        Expr::Identifier(i) => {
            let name = normalize(i);
            table
                .column_index(&name)
                .filter(|&c| !table.columns[c].hidden)
                .map(|c| (name, c))
        }
        _ => None,
    };
    Ok(match e {
        Expr::Nested(inner) => row_filter(inner, table)?,
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => RowFilter::And(vec![row_filter(left, table)?, row_filter(right, table)?]),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => RowFilter::Or(vec![row_filter(left, table)?, row_filter(right, table)?]),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => RowFilter::Not(Box::new(row_filter(expr, table)?)),
        Expr::IsNull(x) => RowFilter::IsNull(column(x).ok_or_else(unsupported)?.0),
        Expr::IsNotNull(x) => RowFilter::IsNotNull(column(x).ok_or_else(unsupported)?.0),
        Expr::Value(v) => match &v.value {
            SqlValue::Boolean(b) => RowFilter::Const(Some(*b)),
            SqlValue::Null => RowFilter::Const(None),
            _ => return Err(unsupported()),
        },
        Expr::Identifier(_) => {
            let (name, c) = column(e).ok_or_else(unsupported)?;
            if table.columns[c].ty != prismdb_catalog::SqlType::Bool {
                return Err(unsupported());
            }
            RowFilter::Column(name)
        }
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => CompareOp::Eq,
                BinaryOperator::NotEq => CompareOp::NotEq,
                BinaryOperator::Lt => CompareOp::Lt,
                BinaryOperator::LtEq => CompareOp::LtEq,
                BinaryOperator::Gt => CompareOp::Gt,
                BinaryOperator::GtEq => CompareOp::GtEq,
                _ => return Err(unsupported()),
            };
            let flip = |op| match op {
                CompareOp::Lt => CompareOp::Gt,
                CompareOp::LtEq => CompareOp::GtEq,
                CompareOp::Gt => CompareOp::Lt,
                CompareOp::GtEq => CompareOp::LtEq,
                other => other,
            };
            let ((name, c), literal, op) = match (column(left), column(right)) {
                (Some(col), None) => (col, right.as_ref(), op),
                (None, Some(col)) => (col, left.as_ref(), flip(op)),
                _ => return Err(unsupported()),
            };
            let value =
                crate::point::literal_value(literal, &table.columns[c]).ok_or_else(unsupported)?;
            if value.is_null() {
                RowFilter::Const(None)
            } else {
                let mut encoded = Vec::new();
                encode_value(&mut encoded, &value);
                RowFilter::Compare {
                    column: name,
                    op,
                    literal: encoded,
                }
            }
        }
        _ => return Err(unsupported()),
    })
}

/// A `UNIQUE` constraint of `table` (in `CREATE TABLE` or `ALTER TABLE
/// ... ADD`): a unique index that `pg_constraint` lists and `DROP
/// CONSTRAINT` removes, named `table_cols_key` unless named. Returns the
/// index's id.
pub(crate) fn add_unique_constraint(
    catalog: &mut Catalog,
    database: &str,
    table: &Table,
    spec: &UniqueSpec,
) -> Result<u32> {
    let id = catalog.next_index_id;
    let db = catalog.database_mut(database)?;
    let mut columns = Vec::with_capacity(spec.columns.len());
    for name in &spec.columns {
        if !table.visible_columns().any(|(_, c)| c.name == *name) {
            return Err(Error::UndefinedColumn(format!(
                "column \"{name}\" named in key does not exist"
            )));
        }
        if columns.iter().any(|c: &IndexColumn| c.name == *name) {
            return Err(Error::DuplicateColumn(format!(
                "column \"{name}\" appears twice in unique constraint"
            )));
        }
        columns.push(IndexColumn {
            name: name.clone(),
            descending: false,
            nulls_first: false,
        });
    }
    let name = match &spec.name {
        Some(n) => n.clone(),
        None => free_name(db, &table.name, &columns, "key"),
    };
    if db.has_relation(&name) {
        return Err(Error::DuplicateTable(format!(
            "relation \"{name}\" already exists"
        )));
    }
    db.indexes.insert(
        name.clone(),
        Index {
            id,
            name,
            table: table.id,
            columns,
            include: Vec::new(),
            predicate: None,
            filter: None,
            unique: true,
            constraint: true,
        },
    );
    catalog.next_index_id += 1;
    Ok(id)
}

/// `ALTER TABLE t DROP CONSTRAINT name` of a unique constraint: `false`
/// when `t` has no unique constraint of that name.
pub(crate) fn drop_unique_constraint(db: &mut Database, table: &Table, name: &str) -> bool {
    let found = db
        .indexes
        .get(name)
        .is_some_and(|i| i.constraint && i.table == table.id);
    if found {
        db.indexes.remove(name);
    }
    found
}

/// PostgreSQL's name for an unnamed index: `table_col1_col2_idx`, with a
/// number added until it is free.
fn default_name(db: &Database, table: &str, columns: &[IndexColumn]) -> String {
    free_name(db, table, columns, "idx")
}

/// `table_col1_col2_<suffix>`, with a number added until it is free.
fn free_name(db: &Database, table: &str, columns: &[IndexColumn], suffix: &str) -> String {
    let base: String = std::iter::once(table)
        .chain(columns.iter().map(|c| c.name.as_str()))
        .collect::<Vec<_>>()
        .join("_");
    let mut base: String = base.chars().take(NAME_LIMIT - 1 - suffix.len()).collect();
    while base.ends_with('_') {
        base.pop();
    }
    let mut name = format!("{base}_{suffix}");
    let mut n = 0;
    while db.has_relation(&name) {
        n += 1;
        name = format!("{base}_{suffix}{n}");
    }
    name
}

/// `DROP INDEX [IF EXISTS] names`.
pub(crate) fn drop_indexes(
    catalog: &mut Catalog,
    database: &str,
    actor: &Role,
    names: &[ObjectName],
    if_exists: bool,
) -> Result<()> {
    let db = catalog.database_mut(database)?;
    for n in names {
        let name = object_name(n)?;
        let Some(index) = db.indexes.get(&name) else {
            if if_exists {
                continue;
            }
            if db.has_relation(&name) {
                return Err(Error::InvalidStatement(format!(
                    "\"{name}\" is not an index"
                )));
            }
            return Err(Error::UndefinedObject(format!(
                "index \"{name}\" does not exist"
            )));
        };
        must_own(actor, index_owner(db, index, actor), &name)?;
        db.indexes.remove(&name);
    }
    Ok(())
}

/// `ALTER INDEX name RENAME TO new`.
pub(crate) fn rename_index(
    catalog: &mut Catalog,
    database: &str,
    actor: &Role,
    name: &ObjectName,
    new: &ObjectName,
) -> Result<()> {
    let db = catalog.database_mut(database)?;
    let name = object_name(name)?;
    let new = object_name(new)?;
    let Some(mut index) = db.indexes.get(&name).cloned() else {
        return Err(Error::UndefinedObject(format!(
            "index \"{name}\" does not exist"
        )));
    };
    must_own(actor, index_owner(db, &index, actor), &name)?;
    if db.has_relation(&new) {
        return Err(Error::DuplicateTable(format!(
            "relation \"{new}\" already exists"
        )));
    }
    db.indexes.remove(&name);
    index.name = new.clone();
    db.indexes.insert(new, index);
    Ok(())
}

/// Drops the indexes whose table is gone or that name a column the table
/// no longer has (PostgreSQL drops an index with its table or column).
pub(crate) fn prune(db: &mut Database) {
    let tables = &db.tables;
    db.indexes.retain(|_, index| {
        tables
            .values()
            .find(|t| t.id == index.table)
            .is_some_and(|t| {
                index
                    .column_names()
                    .all(|c| t.visible_columns().any(|(_, col)| col.name == *c))
            })
    });
}

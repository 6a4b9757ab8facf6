//! DDL: CREATE/DROP DATABASE, TABLE, VIEW and SEQUENCE (and the sequences
//! `SERIAL` columns own); ALTER TABLE; the role statements of
//! [`crate::roles`].
//!
//! Each DDL statement takes the engine's DDL lock, builds the next catalog
//! from the current one, and commits it through the row store (with the
//! removal of a dropped table's rows in the same batch). Only after the
//! commit is durable does the engine publish the new catalog to sessions.
//! Inside a transaction block DDL is transactional, as in PostgreSQL: the
//! block sees its own schema changes, others do not, and COMMIT publishes
//! them atomically with the block's writes (40001 if another DDL committed
//! in between); ROLLBACK forgets them. CREATE/DROP DATABASE refuse to run
//! in a block (25001).
//!
//! Rows are stored positionally, so `ALTER TABLE ... ADD/DROP COLUMN`
//! rewrites every row of the table in the same write set as the new
//! catalog: the rows are read at the statement's snapshot (in a block, the
//! block's snapshot and own writes) and put again re-encoded for the new
//! column list (a dropped column's value removed, an added column's
//! DEFAULT — evaluated once — or NULL appended). A concurrent commit to one
//! of those rows makes the ALTER fail with 40001. `SET COLUMNAR REPLICA n`
//! only changes the catalog.

use crate::output::Output;
use crate::planner;
use crate::rows::key_of;
use crate::session::Session;
use crate::txn::{Txn, TxnDdl};
use prismdb_catalog::{Catalog, Database, Table};
use prismdb_common::{Error, Result, TableId, Value};
use prismdb_rowstore::row::encode_row;
use prismdb_rowstore::{RowKey, Write, WriteSet};
use prismdb_sql::ddl::{
    AlteredTable, ColumnSource, UniqueSpec, bind_alter_table, bind_create_table, bind_create_view,
    unique_constraints,
};
use prismdb_sql::object_name;
use prismdb_sql::sqlparser::ast::{
    AlterTable, AlterTableOperation, ColumnOption, ObjectType, Statement, TableConstraint,
};
use std::sync::Arc;

/// A table whose stored rows an ALTER TABLE rewrites.
struct Rewrite {
    /// The table as the rows are stored now.
    old: Arc<Table>,
    /// The table as the rows must be stored.
    new: Arc<Table>,
    /// Where each column of `new` takes its values from.
    sources: Vec<ColumnSource>,
}

pub(crate) async fn run(session: &mut Session, stmt: &Statement) -> Result<Output> {
    let engine = session.engine.clone();
    let in_block = session.txn.is_some();
    if in_block
        && matches!(
            stmt,
            Statement::CreateDatabase { .. }
                | Statement::Drop {
                    object_type: ObjectType::Database,
                    ..
                }
        )
    {
        let what = if matches!(stmt, Statement::CreateDatabase { .. }) {
            "CREATE"
        } else {
            "DROP"
        };
        return Err(Error::ActiveSqlTransaction(format!(
            "{what} DATABASE cannot run inside a transaction block"
        )));
    }
    // Outside a block, DDL holds the lock from reading the catalog to
    // publishing the next one; inside, the check happens at COMMIT.
    let _guard = if in_block {
        None
    } else {
        Some(engine.ddl_lock.lock().await)
    };
    // The snapshot is taken before the catalog is read, so a schema change
    // applied in between makes the commit conflict rather than be lost.
    // ALTER TABLE reads the table's rows: outside a block it takes a
    // pinned, linearizable snapshot of its own.
    let snapshot = if !in_block && matches!(stmt, Statement::AlterTable(_)) {
        Some(Txn::begin(engine.snapshot().await?, false))
    } else {
        None
    };
    let read_version = match &snapshot {
        Some(txn) => txn.read_version,
        None => engine.store.last_version(),
    };
    let base = session.schema.current();
    let actor = crate::roles::acting_role(&base, &session.user);
    let mut next: Catalog = base.as_ref().clone();
    let mut drop_tables: Vec<TableId> = Vec::new();
    let mut rewrite: Option<Rewrite> = None;
    // The indexes the statement creates: it returns once they are built.
    let mut created_indexes: Vec<u32> = Vec::new();
    let tag = match stmt {
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            ..
        } => {
            let name = object_name(db_name)?;
            if next.databases.contains_key(&name) {
                if *if_not_exists {
                    return Ok(Output::command("CREATE DATABASE"));
                }
                return Err(Error::DuplicateDatabase(format!(
                    "database \"{name}\" already exists"
                )));
            }
            next.databases.insert(name, Arc::new(Database::default()));
            "CREATE DATABASE"
        }
        Statement::CreateTable(ct) => {
            let name = object_name(&ct.name)?;
            if next.database(&session.database)?.has_relation(&name) {
                if ct.if_not_exists {
                    return Ok(Output::command("CREATE TABLE"));
                }
                return Err(Error::DuplicateTable(format!(
                    "relation \"{name}\" already exists"
                )));
            }
            let mut table = bind_create_table(ct, next.next_table_id)?;
            let key = table.key_constraint_name();
            if !table.has_rowid()
                && (key == name || next.database(&session.database)?.has_relation(&key))
            {
                return Err(Error::DuplicateTable(format!(
                    "relation \"{key}\" already exists"
                )));
            }
            let uniques = unique_constraints(ct)?;
            table.ownership = prismdb_catalog::Ownership::owned_by(actor.oid);
            next.next_table_id += 1;
            let table = Arc::new(table);
            next.database_mut(&session.database)?
                .tables
                .insert(name, table.clone());
            for spec in &uniques {
                crate::indexes::add_unique_constraint(&mut next, &session.database, &table, spec)?;
            }
            let owned = crate::sequences::owned_sequences(&table, ct)?;
            if !owned.is_empty() {
                crate::sequences::add_owned_sequences(
                    &mut next,
                    &session.database,
                    &table,
                    owned,
                    actor.oid,
                )?;
            }
            "CREATE TABLE"
        }
        Statement::CreateView(cv) => {
            let mut view = bind_create_view(cv)?;
            view.ownership = prismdb_catalog::Ownership::owned_by(actor.oid);
            let db = next.database(&session.database)?;
            if db.tables.contains_key(&view.name)
                || (db.views.contains_key(&view.name) && !cv.or_replace)
            {
                if cv.if_not_exists {
                    return Ok(Output::command("CREATE VIEW"));
                }
                return Err(Error::DuplicateTable(format!(
                    "relation \"{}\" already exists",
                    view.name
                )));
            }
            // Plan the query once so a broken view is rejected now.
            let query = Statement::Query(cv.query.clone());
            let plan = planner::plan(session, &query).await?;
            let width = plan.schema().fields().len();
            if !view.columns.is_empty() && view.columns.len() > width {
                return Err(Error::InvalidStatement(
                    "CREATE VIEW specifies more column names than columns".into(),
                ));
            }
            // Columns the statement does not name are named as the
            // query names them.
            for f in plan.schema().fields().iter().skip(view.columns.len()) {
                view.columns.push(f.name().clone());
            }
            view.types = plan
                .schema()
                .fields()
                .iter()
                .map(|f| prismdb_catalog::SqlType::from_arrow(f))
                .collect();
            next.database_mut(&session.database)?
                .views
                .insert(view.name.clone(), Arc::new(view));
            "CREATE VIEW"
        }
        Statement::Drop {
            object_type,
            if_exists,
            names,
            cascade,
            ..
        } => match object_type {
            ObjectType::Table => {
                for n in names {
                    let name = object_name(n)?;
                    let db = next.database_mut(&session.database)?;
                    match db.tables.remove(&name) {
                        Some(t) => {
                            db.comments.remove(&t.id);
                            drop_tables.push(t.id);
                            crate::indexes::prune(db);
                            // The sequences its SERIAL columns own go too.
                            drop_tables.extend(crate::sequences::drop_owned(db, t.id));
                        }
                        None if db.views.contains_key(&name) => {
                            return Err(Error::InvalidStatement(format!(
                                "\"{name}\" is not a table"
                            )));
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(Error::UndefinedTable(format!(
                                "table \"{name}\" does not exist"
                            )));
                        }
                    }
                }
                "DROP TABLE"
            }
            ObjectType::View => {
                for n in names {
                    let name = object_name(n)?;
                    let db = next.database_mut(&session.database)?;
                    match db.views.remove(&name) {
                        Some(_) => {}
                        None if db.tables.contains_key(&name) => {
                            return Err(Error::InvalidStatement(format!(
                                "\"{name}\" is not a view"
                            )));
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(Error::UndefinedTable(format!(
                                "view \"{name}\" does not exist"
                            )));
                        }
                    }
                }
                "DROP VIEW"
            }
            ObjectType::Database => {
                for n in names {
                    let name = object_name(n)?;
                    if name == session.database {
                        return Err(Error::InvalidStatement(
                            "cannot drop the currently open database".into(),
                        ));
                    }
                    match next.databases.remove(&name) {
                        Some(db) => drop_tables.extend(db.tables.values().map(|t| t.id)),
                        None if *if_exists => {}
                        None => {
                            return Err(Error::UndefinedDatabase(format!(
                                "database \"{name}\" does not exist"
                            )));
                        }
                    }
                }
                "DROP DATABASE"
            }
            ObjectType::Sequence => {
                let db = next.database_mut(&session.database)?;
                for n in names {
                    let name = object_name(n)?;
                    match crate::sequences::drop_sequence(db, &name, *cascade)? {
                        Some(id) => drop_tables.push(id),
                        None if *if_exists => {}
                        None => {
                            return Err(Error::UndefinedTable(format!(
                                "sequence \"{name}\" does not exist"
                            )));
                        }
                    }
                }
                "DROP SEQUENCE"
            }
            ObjectType::Index => {
                crate::indexes::drop_indexes(
                    &mut next,
                    &session.database,
                    &actor,
                    names,
                    *if_exists,
                )?;
                "DROP INDEX"
            }
            ObjectType::Role | ObjectType::User => {
                crate::roles::drop_roles(&mut next, &actor, names, *if_exists)?;
                crate::roles::check_passwords(&next)?;
                "DROP ROLE"
            }
            other => {
                return Err(Error::NotSupported(format!(
                    "DROP {other} is not supported"
                )));
            }
        },
        Statement::CreateSequence {
            temporary,
            if_not_exists,
            name,
            data_type,
            sequence_options,
            owned_by,
        } => {
            if *temporary {
                return Err(Error::NotSupported(
                    "temporary sequences are not supported".into(),
                ));
            }
            let name = object_name(name)?;
            if next.database(&session.database)?.has_relation(&name) {
                if *if_not_exists {
                    return Ok(Output::command("CREATE SEQUENCE"));
                }
                return Err(Error::DuplicateTable(format!(
                    "relation \"{name}\" already exists"
                )));
            }
            let spec = crate::sequences::spec_of(data_type.as_ref(), sequence_options)?;
            let mut seq = crate::sequences::bind_sequence(next.next_table_id, &name, &spec)?;
            seq.owned_by = match owned_by {
                Some(target) => crate::sequences::owner(next.database(&session.database)?, target)?,
                None => None,
            };
            seq.ownership = prismdb_catalog::Ownership::owned_by(actor.oid);
            next.next_table_id += 1;
            next.database_mut(&session.database)?
                .sequences
                .insert(name, Arc::new(seq));
            "CREATE SEQUENCE"
        }
        Statement::AlterRole { name, operation } => {
            let name = prismdb_sql::normalize(name);
            crate::roles::alter_role(&mut next, &actor, &name, operation)?;
            crate::roles::check_passwords(&next)?;
            "ALTER ROLE"
        }
        Statement::Comment {
            object_type,
            object_name,
            comment,
            if_exists,
        } => {
            if !comment_on(
                &mut next,
                &session.database,
                &actor,
                object_type,
                object_name,
                comment.as_deref(),
            )? && !*if_exists
            {
                return Err(Error::UndefinedTable(format!(
                    "relation \"{object_name}\" does not exist"
                )));
            }
            "COMMENT"
        }
        Statement::CreateIndex(ci) => {
            created_indexes.extend(crate::indexes::create_index(
                &mut next,
                &session.database,
                &actor,
                ci,
            )?);
            "CREATE INDEX"
        }
        Statement::AlterIndex {
            name,
            operation: prismdb_sql::sqlparser::ast::AlterIndexOperation::RenameIndex { index_name },
        } => {
            crate::indexes::rename_index(&mut next, &session.database, &actor, name, index_name)?;
            "ALTER INDEX"
        }
        Statement::CreateRole(cr) => {
            crate::roles::create_role(&mut next, &actor, cr)?;
            crate::roles::check_passwords(&next)?;
            "CREATE ROLE"
        }
        Statement::Grant(g) => {
            crate::roles::grant_or_revoke(
                &mut next,
                &session.database,
                &actor,
                &g.privileges,
                g.objects.as_ref(),
                &g.grantees,
                true,
            )?;
            "GRANT"
        }
        Statement::Revoke(r) => {
            crate::roles::grant_or_revoke(
                &mut next,
                &session.database,
                &actor,
                &r.privileges,
                r.objects.as_ref(),
                &r.grantees,
                false,
            )?;
            "REVOKE"
        }
        Statement::AlterTable(at) => {
            // UNIQUE constraints are indexes; the other operations
            // change the table.
            let (constraints, rest, column_uniques) = unique_operations(session, at, &mut next)?;
            created_indexes = constraints;
            let mut at = at.clone();
            at.operations = rest;
            let at = &at;
            let altered = if at.operations.is_empty() {
                None
            } else {
                alter_table(session, at, &mut next)?
            };
            match altered {
                Some(altered) => rewrite = altered,
                // Nothing changed (skipped by IF [NOT] EXISTS, say).
                None if next == *base => return Ok(Output::command("ALTER TABLE")),
                // Only constraints changed: committed below like any DDL.
                None => {}
            }
            // Comments and indexes of dropped columns go with them.
            let name = object_name(&at.name)?;
            // A primary key added under a name another relation has.
            let adds_key = at.operations.iter().any(|op| {
                matches!(
                    op,
                    AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::PrimaryKey(_),
                        ..
                    }
                )
            });
            if adds_key && let Some(table) = next.database(&session.database)?.tables.get(&name) {
                let key = table.key_constraint_name();
                if next
                    .database(&session.database)?
                    .has_relation_besides_key_of(&key, Some(table.id))
                {
                    return Err(Error::DuplicateTable(format!(
                        "relation \"{key}\" already exists"
                    )));
                }
            }
            // UNIQUE on added columns, once they are there.
            if !column_uniques.is_empty()
                && let Some(table) = next.database(&session.database)?.tables.get(&name).cloned()
            {
                for spec in &column_uniques {
                    created_indexes.push(crate::indexes::add_unique_constraint(
                        &mut next,
                        &session.database,
                        &table,
                        spec,
                    )?);
                }
            }
            let db = next.database_mut(&session.database)?;
            crate::indexes::prune(db);
            if let Some(t) = db.tables.get(&name).cloned()
                && let Some(c) = db.comments.get_mut(&t.id)
            {
                c.columns.retain(|col, _| t.column_index(col).is_some());
            }
            "ALTER TABLE"
        }
        other => {
            return Err(Error::NotSupported(format!(
                "statement not supported: {}",
                other
                    .to_string()
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
    };
    // The rewritten rows, read with the catalog they were written under
    // (the session's current one, not yet replaced).
    let rows = match &rewrite {
        Some(rw) => {
            let view = match (&snapshot, &session.txn) {
                (Some(txn), _) | (None, Some(txn)) => txn.read_view(&engine.store),
                (None, None) => {
                    return Err(Error::Internal("ALTER TABLE without a snapshot".into()));
                }
            };
            session.schema.scan.set(Some(view));
            rewritten_rows(session, rw).await?
        }
        None => Vec::new(),
    };
    if rewrite.is_some() {
        // The new unique indexes are built from the rewritten rows.
        for &id in &created_indexes {
            check_unique_rows(&next, id, rows.iter().filter_map(|(_, r)| r.as_ref()))?;
        }
    } else if let Some(txn) = session.txn.as_ref() {
        // In a block the builds start at COMMIT: duplicates are looked
        // for now, in what the block sees.
        for &id in &created_indexes {
            check_unique_build(session, &next, id, txn)?;
        }
    }
    if let Some(txn) = session.txn.as_mut() {
        for (key, row) in rows {
            match row {
                Some(row) => txn.update(key, row),
                None => txn.delete(key),
            }
        }
        let next = Arc::new(next);
        let ddl = txn.ddl.get_or_insert_with(|| TxnDdl {
            base: engine.catalog(),
            next: next.clone(),
            drop_tables: Vec::new(),
        });
        ddl.next = next.clone();
        ddl.drop_tables.extend(drop_tables);
        *session.schema.local.lock() = Some(next);
        return Ok(Output::command(tag));
    }
    let writes = rows
        .into_iter()
        .map(|(key, row)| {
            let write = match row {
                Some(row) => Write::Put {
                    row: encode_row(&row),
                    insert: false,
                },
                None => Write::Delete,
            };
            (key, write)
        })
        .collect();
    let ws = WriteSet {
        read_version,
        writes,
        catalog: Some(next.encode()),
        drop_tables,
        altered_tables: rewrite.iter().map(|rw| rw.old.id).collect(),
        ..Default::default()
    };
    engine.log.commit(ws).await?;
    drop(_guard);
    for id in created_indexes {
        crate::builds::wait_for_index(&session.engine, session.pid(), &session.guard, id).await?;
    }
    Ok(Output::command(tag))
}

/// Applies the `ADD [CONSTRAINT c] UNIQUE (...)` and `DROP CONSTRAINT`
/// (of a unique constraint) operations of an ALTER TABLE to `next`;
/// returns the indexes the ADDs made, the other operations, and the
/// `UNIQUE` constraints of added columns (made once the columns exist).
#[allow(clippy::type_complexity)]
fn unique_operations(
    session: &Session,
    at: &AlterTable,
    next: &mut Catalog,
) -> Result<(Vec<u32>, Vec<AlterTableOperation>, Vec<UniqueSpec>)> {
    let name = object_name(&at.name)?;
    let Some(table) = next.database(&session.database)?.tables.get(&name).cloned() else {
        return Ok((Vec::new(), at.operations.clone(), Vec::new()));
    };
    let mut created = Vec::new();
    let mut column_uniques = Vec::new();
    let mut rest = Vec::new();
    for op in &at.operations {
        match op {
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::Unique(u),
                not_valid: false,
            } => {
                let spec = prismdb_sql::ddl::unique_spec(u)?;
                created.push(crate::indexes::add_unique_constraint(
                    next,
                    &session.database,
                    &table,
                    &spec,
                )?);
            }
            AlterTableOperation::AddColumn { column_def, .. }
                if column_def
                    .options
                    .iter()
                    .any(|o| matches!(o.option, ColumnOption::Unique(_))) =>
            {
                column_uniques.extend(prismdb_sql::ddl::column_unique_constraints(column_def)?);
                let mut op = op.clone();
                if let AlterTableOperation::AddColumn { column_def, .. } = &mut op {
                    column_def
                        .options
                        .retain(|o| !matches!(o.option, ColumnOption::Unique(_)));
                }
                rest.push(op);
            }
            AlterTableOperation::DropConstraint {
                if_exists, name: c, ..
            } => {
                let c = prismdb_sql::normalize(c);
                let db = next.database_mut(&session.database)?;
                if !crate::indexes::drop_unique_constraint(db, &table, &c) {
                    if !table.has_rowid() && c == table.key_constraint_name() {
                        return Err(Error::NotSupported(
                            "dropping a primary key is not supported".into(),
                        ));
                    }
                    if !*if_exists {
                        return Err(Error::UndefinedObject(format!(
                            "constraint \"{c}\" of relation \"{}\" does not exist",
                            table.name
                        )));
                    }
                }
            }
            other => rest.push(other.clone()),
        }
    }
    Ok((created, rest, column_uniques))
}

/// The layout of index `id` of `catalog`, if it is a unique one.
fn unique_layout(catalog: &Catalog, id: u32) -> Option<prismdb_rowstore::index::IndexLayout> {
    catalog
        .all_indexes()
        .find(|(_, i)| i.id == id && i.unique)
        .and_then(|(t, i)| prismdb_rowstore::index::IndexLayout::new(t, i).ok())
}

/// Fails with 23505 when two rows the transaction sees share a key of
/// the new index `id` of `catalog`, if it is unique.
fn check_unique_build(session: &Session, catalog: &Catalog, id: u32, txn: &Txn) -> Result<()> {
    let Some(layout) = unique_layout(catalog, id) else {
        return Ok(());
    };
    let view = txn.read_view(&session.engine.store);
    let mut range = crate::reads::RangeRead::new(
        &view,
        layout.table.id,
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
    );
    let mut seen = std::collections::HashSet::new();
    while let Some(rows) = range.next_chunk(&view, 4096)? {
        first_duplicate(&layout, rows.iter().map(|r| r.as_slice()), &mut seen)?;
        session.guard.check()?;
    }
    Ok(())
}

/// Fails with 23505 when two of `rows` share a key of the new index `id`
/// of `catalog`, if it is unique.
fn check_unique_rows<'a>(
    catalog: &Catalog,
    id: u32,
    rows: impl Iterator<Item = &'a Vec<Value>>,
) -> Result<()> {
    let Some(layout) = unique_layout(catalog, id) else {
        return Ok(());
    };
    first_duplicate(
        &layout,
        rows.map(|r| r.as_slice()),
        &mut std::collections::HashSet::new(),
    )
}

/// The 23505 of the first of `rows` whose key of the unique index
/// `layout` is in `seen` (or an earlier row); adds the keys to `seen`.
fn first_duplicate<'a>(
    layout: &prismdb_rowstore::index::IndexLayout,
    rows: impl Iterator<Item = &'a [Value]>,
    seen: &mut std::collections::HashSet<Vec<u8>>,
) -> Result<()> {
    for row in rows {
        if !layout.covers_row(row) || !layout.claims(row) {
            continue;
        }
        let key = layout.key_values(row);
        if !seen.insert(prismdb_common::keycode::encode_key(&key)) {
            return Err(Error::UniqueViolation(format!(
                "could not create unique index \"{}\"{}{} is duplicated.",
                layout.name,
                prismdb_common::error::DETAIL,
                layout.describe_key(row)
            )));
        }
    }
    Ok(())
}

/// Applies an ALTER TABLE to `next`. `None`: nothing to do (the table
/// is missing and IF EXISTS was given, or every operation was skipped by
/// IF [NOT] EXISTS); `Some(Some(_))`: the table's rows must be rewritten.
fn alter_table(
    session: &Session,
    at: &AlterTable,
    next: &mut Catalog,
) -> Result<Option<Option<Rewrite>>> {
    if at.location.is_some() || at.on_cluster.is_some() || at.table_type.is_some() {
        return Err(Error::NotSupported(
            "this form of ALTER TABLE is not supported".into(),
        ));
    }
    let name = object_name(&at.name)?;
    let db = next.database(&session.database)?;
    let Some(old) = db.tables.get(&name).cloned() else {
        if db.views.contains_key(&name) {
            return Err(Error::InvalidStatement(format!(
                "ALTER TABLE cannot be performed on relation \"{name}\": it is a view"
            )));
        }
        if at.if_exists {
            return Ok(None);
        }
        return Err(Error::UndefinedTable(format!(
            "relation \"{name}\" does not exist"
        )));
    };
    let AlteredTable {
        table,
        sources,
        columnar_replicas,
    } = bind_alter_table(&old, &at.operations)?;
    if let Some(n) = columnar_replicas {
        let capacity = session.engine.columnar_capacity();
        if n as usize > capacity {
            let members = if capacity == 1 { "member" } else { "members" };
            return Err(Error::InvalidParameterValue(format!(
                "cannot place {n} columnar replicas: only {capacity} {members} can host one"
            )));
        }
    }
    if table == *old {
        return Ok(None);
    }
    let new = Arc::new(table);
    next.database_mut(&session.database)?
        .tables
        .insert(name, new.clone());
    Ok(Some(sources.map(|sources| Rewrite { old, new, sources })))
}

/// Every row of an altered table, keyed and re-encoded for its new
/// column list, from the statement's read view. Added columns get their
/// DEFAULT, evaluated once (NULL without one); a NOT NULL column added
/// without a non-null default to a table with rows is a 23502.
/// The rows of an altered table as they must be stored: each row under
/// its key, re-encoded; when the key itself changes (a primary key
/// added), the row moves: its old key is deleted (`None`), and the new
/// keys must be unique (23505) and not NULL (23502).
async fn rewritten_rows(
    session: &Session,
    rw: &Rewrite,
) -> Result<Vec<(RowKey, Option<Vec<Value>>)>> {
    let added: Vec<usize> = rw
        .sources
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == ColumnSource::Added)
        .map(|(i, _)| i)
        .collect();
    let defaults = planner::default_values(session, &rw.new, &added).await?;
    let rows = super::dml::stored_rows(session, &rw.old).await?;
    if !rows.is_empty() {
        for (&i, value) in added.iter().zip(&defaults) {
            let column = &rw.new.columns[i];
            if !column.nullable && value.is_null() {
                return Err(Error::NotNullViolation(format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    column.name, rw.new.name
                )));
            }
        }
    }
    let key_moves = rw
        .old
        .primary_key
        .iter()
        .map(|&i| &rw.old.columns[i].name)
        .ne(rw.new.primary_key.iter().map(|&i| &rw.new.columns[i].name));
    let mut seen = std::collections::HashSet::new();
    let mut old_keys = Vec::new();
    let mut out = Vec::with_capacity(rows.len() * if key_moves { 2 } else { 1 });
    for row in rows {
        let key = (rw.old.id, key_of(&rw.old, &row));
        let mut defaults = defaults.iter();
        let new_row: Vec<Value> = rw
            .sources
            .iter()
            .map(|source| match source {
                ColumnSource::Existing(i) => row[*i].clone(),
                ColumnSource::Added => defaults.next().cloned().unwrap_or(Value::Null),
            })
            .collect();
        if !key_moves {
            out.push((key, Some(new_row)));
            continue;
        }
        for &k in &rw.new.primary_key {
            if new_row[k].is_null() {
                return Err(Error::NotNullViolation(format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    rw.new.columns[k].name, rw.new.name
                )));
            }
        }
        let new_key = (rw.new.id, key_of(&rw.new, &new_row));
        if !seen.insert(new_key.1.clone()) {
            let values: Vec<String> = rw
                .new
                .primary_key
                .iter()
                .map(|&k| new_row[k].to_string())
                .collect();
            let names: Vec<&str> = rw
                .new
                .primary_key
                .iter()
                .map(|&k| rw.new.columns[k].name.as_str())
                .collect();
            return Err(Error::UniqueViolation(format!(
                "could not create unique index \"{}\": key ({})=({}) is duplicated",
                rw.new.key_constraint_name(),
                names.join(", "),
                values.join(", ")
            )));
        }
        old_keys.push(key);
        out.push((new_key, Some(new_row)));
    }
    // An old key may be some row's new key (a row id equal to a key
    // value): only the others are deleted, and each key is written once.
    out.extend(
        old_keys
            .into_iter()
            .filter(|k| !seen.contains(&k.1))
            .map(|k| (k, None)),
    );
    Ok(out)
}

/// `COMMENT ON TABLE t` / `COMMENT ON COLUMN t.c` (`IS NULL` removes it).
/// `false` when the table does not exist; 42703 for a missing column,
/// 42501 unless the role owns the table.
fn comment_on(
    catalog: &mut Catalog,
    database: &str,
    actor: &prismdb_catalog::Role,
    object_type: &prismdb_sql::sqlparser::ast::CommentObject,
    name: &prismdb_sql::sqlparser::ast::ObjectName,
    comment: Option<&str>,
) -> Result<bool> {
    use prismdb_sql::sqlparser::ast::{CommentObject, ObjectName};
    let (table_name, column) = match object_type {
        CommentObject::Table => (object_name(name)?, None),
        CommentObject::Column => {
            let mut parts = name.0.clone();
            let Some(column) = parts.pop().and_then(|p| p.as_ident().cloned()) else {
                return Err(Error::Syntax("column name must be qualified".into()));
            };
            if parts.is_empty() {
                return Err(Error::Syntax("column name must be qualified".into()));
            }
            (
                object_name(&ObjectName(parts))?,
                Some(prismdb_sql::normalize(&column)),
            )
        }
        other => {
            return Err(Error::NotSupported(format!(
                "COMMENT ON {other} is not supported"
            )));
        }
    };
    let db = catalog.database_mut(database)?;
    let Some(table) = db.tables.get(&table_name) else {
        return Ok(false);
    };
    if !actor.superuser && table.ownership.owner != actor.oid {
        return Err(Error::InsufficientPrivilege(format!(
            "must be owner of relation {table_name}"
        )));
    }
    if let Some(c) = &column
        && !table.visible_columns().any(|(_, col)| col.name == *c)
    {
        return Err(Error::UndefinedColumn(format!(
            "column \"{c}\" of relation \"{table_name}\" does not exist"
        )));
    }
    let id = table.id;
    let comments = db.comments.entry(id).or_default();
    let text = comment.filter(|c| !c.is_empty()).map(str::to_string);
    match (column, text) {
        (None, text) => comments.table = text,
        (Some(c), Some(text)) => {
            comments.columns.insert(c, text);
        }
        (Some(c), None) => {
            comments.columns.remove(&c);
        }
    }
    if comments.is_empty() {
        db.comments.remove(&id);
    }
    Ok(true)
}

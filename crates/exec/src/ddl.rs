//! DDL: CREATE/DROP DATABASE, TABLE and VIEW.
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

use crate::session::{Output, Session};
use crate::txn::TxnDdl;
use prismdb_catalog::{Catalog, Database};
use prismdb_common::{Error, Result, TableId};
use prismdb_rowstore::WriteSet;
use prismdb_sql::ddl::{bind_create_table, bind_create_view};
use prismdb_sql::object_name;
use prismdb_sql::sqlparser::ast::{ObjectType, Statement};
use std::sync::Arc;

impl Session {
    pub(crate) async fn ddl(&mut self, stmt: &Statement) -> Result<Output> {
        let engine = self.engine.clone();
        let in_block = self.txn.is_some();
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
        let read_version = engine.store.last_version();
        let base = self.schema.current();
        let mut next: Catalog = base.as_ref().clone();
        let mut drop_tables: Vec<TableId> = Vec::new();
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
                if next.database(&self.database)?.has_relation(&name) {
                    if ct.if_not_exists {
                        return Ok(Output::command("CREATE TABLE"));
                    }
                    return Err(Error::DuplicateTable(format!(
                        "relation \"{name}\" already exists"
                    )));
                }
                let table = bind_create_table(ct, next.next_table_id)?;
                next.next_table_id += 1;
                next.database_mut(&self.database)?
                    .tables
                    .insert(name, Arc::new(table));
                "CREATE TABLE"
            }
            Statement::CreateView(cv) => {
                let view = bind_create_view(cv)?;
                let db = next.database(&self.database)?;
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
                let plan = self.plan(&query).await?;
                let width = plan.schema().fields().len();
                if !view.columns.is_empty() && view.columns.len() > width {
                    return Err(Error::InvalidStatement(
                        "CREATE VIEW specifies more column names than columns".into(),
                    ));
                }
                next.database_mut(&self.database)?
                    .views
                    .insert(view.name.clone(), Arc::new(view));
                "CREATE VIEW"
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => match object_type {
                ObjectType::Table => {
                    for n in names {
                        let name = object_name(n)?;
                        let db = next.database_mut(&self.database)?;
                        match db.tables.remove(&name) {
                            Some(t) => drop_tables.push(t.id),
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
                        let db = next.database_mut(&self.database)?;
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
                        if name == self.database {
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
                other => {
                    return Err(Error::NotSupported(format!(
                        "DROP {other} is not supported"
                    )));
                }
            },
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
        if let Some(txn) = self.txn.as_mut() {
            let next = Arc::new(next);
            let ddl = txn.ddl.get_or_insert_with(|| TxnDdl {
                base: engine.catalog(),
                next: next.clone(),
                drop_tables: Vec::new(),
            });
            ddl.next = next.clone();
            ddl.drop_tables.extend(drop_tables);
            *self.schema.local.lock() = Some(next);
            return Ok(Output::command(tag));
        }
        let ws = WriteSet {
            read_version,
            catalog: Some(next.encode()),
            drop_tables,
            ..Default::default()
        };
        engine.log.commit(ws).await?;
        Ok(Output::command(tag))
    }
}

//! BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE and ROLLBACK TO: the
//! session's transaction block.

use crate::output::Output;
use crate::session::Session;
use crate::txn::Txn;
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::Statement;

pub(crate) async fn run(session: &mut Session, stmt: &Statement) -> Result<Output> {
    match stmt {
        Statement::StartTransaction { .. } => {
            if session.txn.is_none() {
                session.txn = Some(Txn::begin(session.engine.snapshot().await?, true));
                session.activity.begin_transaction();
            }
            Ok(Output::command("BEGIN"))
        }
        Statement::Commit { .. } => {
            let failed = session.txn.as_ref().is_some_and(|t| t.failed);
            let held = if session.txn.is_some() {
                crate::cursor::end_block(&mut session.cursors, !failed).await
            } else {
                Ok(())
            };
            *session.schema.local.lock() = None;
            match session.txn.take() {
                None => Ok(Output::command("COMMIT")),
                Some(t) if t.failed => Ok(Output::command("ROLLBACK")),
                Some(t) => {
                    if let Err(e) = held.and(session.commit(t).await) {
                        let _ = crate::cursor::end_block(&mut session.cursors, false).await;
                        return Err(e);
                    }
                    Ok(Output::command("COMMIT"))
                }
            }
        }
        Statement::Savepoint { name } => {
            let txn = session.block("SAVEPOINT")?;
            if txn.failed {
                return Err(Error::InFailedTransaction);
            }
            txn.savepoint(prismdb_sql::normalize(name));
            Ok(Output::command("SAVEPOINT"))
        }
        Statement::ReleaseSavepoint { name } => {
            let txn = session.block("RELEASE SAVEPOINT")?;
            if txn.failed {
                return Err(Error::InFailedTransaction);
            }
            txn.release(&prismdb_sql::normalize(name))?;
            Ok(Output::command("RELEASE"))
        }
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => {
            let txn = session.block("ROLLBACK TO SAVEPOINT")?;
            let catalog = txn.rollback_to(&prismdb_sql::normalize(name))?;
            *session.schema.local.lock() = catalog;
            session.stream_failed = None;
            Ok(Output::command("ROLLBACK"))
        }
        Statement::Rollback { .. } => {
            if session.txn.is_some() {
                crate::cursor::end_block(&mut session.cursors, false).await?;
            }
            session.txn = None;
            *session.schema.local.lock() = None;
            Ok(Output::command("ROLLBACK"))
        }
        _ => Err(Error::NotSupported(
            "unsupported transaction statement".into(),
        )),
    }
}

//! ANALYZE: recomputes the statistics the router costs access paths with
//! (see [`crate::stats`]).

use crate::output::Output;
use crate::session::Session;
use prismdb_catalog::Table;
use prismdb_common::Result;
use std::sync::Arc;

/// `ANALYZE [table [(columns)]]`: recomputes the statistics of one table
/// of the session's database, or of all of them. Columns named are
/// checked; every column is analyzed.
pub(crate) async fn run(
    session: &mut Session,
    stmt: &prismdb_sql::sqlparser::ast::Statement,
) -> Result<Output> {
    use prismdb_common::Error;
    use prismdb_sql::sqlparser::ast::Statement;
    let Statement::Analyze(a) = stmt else {
        return Err(Error::Internal("not an ANALYZE statement".into()));
    };
    if a.partitions.is_some() || a.noscan || a.cache_metadata || a.for_columns {
        return Err(Error::NotSupported(
            "only ANALYZE [table [(column, ...)]] is supported".into(),
        ));
    }
    // Tables (and their DDL) acknowledged anywhere are seen here.
    session.engine.log.read_point().await?;
    let tables: Vec<Arc<Table>> = match &a.table_name {
        Some(name) => {
            let table = session.table(&prismdb_sql::object_name(name)?)?;
            for c in &a.columns {
                let name = prismdb_sql::normalize(c);
                if table
                    .column_index(&name)
                    .is_none_or(|i| table.columns[i].hidden)
                {
                    return Err(Error::UndefinedColumn(format!(
                        "column \"{name}\" of relation \"{}\" does not exist",
                        table.name
                    )));
                }
            }
            vec![table]
        }
        None => {
            let catalog = session.engine.catalog();
            // Statistics of dropped tables go with the next full ANALYZE.
            session.engine.stats.retain(&catalog);
            catalog
                .database(&session.database)?
                .tables
                .values()
                .cloned()
                .collect()
        }
    };
    let engine = session.engine.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        for t in &tables {
            engine.stats.analyze(&engine.store, t)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(format!("ANALYZE failed: {e}")))??;
    Ok(crate::Output::command("ANALYZE"))
}

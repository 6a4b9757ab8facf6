//! `COPY table [(columns)] TO STDOUT` and `COPY (query) TO STDOUT`, in
//! text, CSV or binary format.
//!
//! The statement runs as the query it stands for (`SELECT columns FROM
//! table`, or its own query) at the statement's snapshot, and its rows
//! stream out like a query's; [`Output::copy_out`] tells the wire layer to
//! send them as CopyData in the chosen format (it owns the text and binary
//! forms of values) and to answer `COPY n`.

use crate::copy::Options;
use crate::output::Output;
use crate::session::Session;
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{
    CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use prismdb_sql::{normalize, object_name};

/// The query a `COPY ... TO STDOUT` stands for, and its options.
pub(crate) fn query(
    session: &Session,
    source: &CopySource,
    target: &CopyTarget,
    options: &[CopyOption],
    legacy_options: &[CopyLegacyOption],
) -> Result<(Statement, Options)> {
    match target {
        CopyTarget::Stdout => {}
        CopyTarget::File { .. } | CopyTarget::Program { .. } => {
            return Err(Error::NotSupported(
                "COPY TO a file or program is not supported: the server writes no files; \
                 use COPY TO STDOUT (psql's \\copy)"
                    .into(),
            ));
        }
        CopyTarget::Stdin => return Err(Error::Syntax("syntax error at STDIN".into())),
    }
    let options = Options::collect(options, legacy_options)?;
    let query = match source {
        CopySource::Query(q) => Statement::Query(q.clone()),
        CopySource::Table {
            table_name,
            columns,
        } => {
            let name = object_name(table_name)?;
            // Views have no rows of their own to copy, as in PostgreSQL.
            let table = session.table(&name)?;
            let list = if columns.is_empty() {
                table
                    .visible_columns()
                    .map(|(_, c)| prismdb_pgcatalog::tables::quote_ident(&c.name))
                    .collect::<Vec<_>>()
            } else {
                let mut list = Vec::new();
                for ident in columns {
                    let n = normalize(ident);
                    if table
                        .column_index(&n)
                        .is_none_or(|i| table.columns[i].hidden)
                    {
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{n}\" of relation \"{}\" does not exist",
                            table.name
                        )));
                    }
                    let quoted = prismdb_pgcatalog::tables::quote_ident(&n);
                    if list.contains(&quoted) {
                        return Err(Error::DuplicateColumn(format!(
                            "column \"{n}\" specified more than once"
                        )));
                    }
                    list.push(quoted);
                }
                list
            };
            let sql = format!(
                "SELECT {} FROM {}",
                list.join(", "),
                prismdb_pgcatalog::tables::quote_ident(&table.name)
            );
            prismdb_sql::parse(&sql)?
                .pop()
                .ok_or_else(|| Error::Internal("empty COPY query".into()))?
        }
    };
    if !matches!(query, Statement::Query(_)) {
        return Err(Error::Syntax("COPY query must be a SELECT".into()));
    }
    Ok((query, options))
}

/// The started output of the COPY's query, to go out as COPY data.
pub(crate) fn output(mut out: Output, options: &Options) -> Result<Output> {
    let rows = out
        .rows
        .as_ref()
        .ok_or_else(|| Error::Internal("COPY query returned no rows".into()))?;
    let names: Vec<String> = rows
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    out.copy_out = Some(options.format_out(&names)?);
    out.tag = "COPY".into();
    Ok(out)
}

//! SET, SHOW and RESET of the session's settings, and DISCARD, UNLISTEN
//! and VACUUM, which change nothing a session can see.

use crate::output::{Output, ResultRows};
use crate::session::Session;
use crate::settings::setting_value;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use prismdb_common::{Error, Result};
use prismdb_sql::sqlparser::ast::{Expr, Set, Statement};
use std::sync::Arc;

/// DISCARD and the notification statements. DISCARD ALL resets the
/// session as PostgreSQL's does (settings, cursors, prepared
/// statements, advisory locks aside); UNLISTEN has nothing to undo, as
/// no channel can be listened to; LISTEN and NOTIFY are refused.
pub(crate) fn session_control(session: &mut Session, stmt: &Statement) -> Result<Output> {
    use prismdb_sql::sqlparser::ast::DiscardObject;
    match stmt {
        Statement::Discard { object_type } => match object_type {
            DiscardObject::ALL => {
                if session.txn.is_some() {
                    return Err(Error::ActiveSqlTransaction(
                        "DISCARD ALL cannot run inside a transaction block".into(),
                    ));
                }
                session.settings.write().reset_all();
                session.cursors.clear();
                session.sql_prepared.clear();
                session.plan_cache.clear();
                Ok(Output::command("DISCARD ALL"))
            }
            DiscardObject::PLANS => {
                session.plan_cache.clear();
                Ok(Output::command("DISCARD PLANS"))
            }
            DiscardObject::SEQUENCES => Ok(Output::command("DISCARD SEQUENCES")),
            DiscardObject::TEMP => Ok(Output::command("DISCARD TEMP")),
        },
        Statement::UNLISTEN { .. } => Ok(Output::command("UNLISTEN")),
        // The row store collects old row versions by itself.
        Statement::Vacuum(_) => Ok(Output::command("VACUUM")),
        _ => Err(Error::NotSupported(
            "LISTEN and NOTIFY are not supported".into(),
        )),
    }
}

pub(crate) fn run(session: &mut Session, stmt: &Statement) -> Result<Output> {
    match stmt {
        Statement::ShowVariable { variable } => {
            let name = show_name(variable);
            if name == "all" {
                let all = session.settings.read().all();
                let schema = Arc::new(Schema::new(vec![
                    Field::new("name", DataType::Utf8, false),
                    Field::new("setting", DataType::Utf8, false),
                ]));
                let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
                let values: Vec<&str> = all.iter().map(|(_, v)| v.as_str()).collect();
                let rows = ResultRows::of_columns(
                    schema,
                    vec![
                        Arc::new(datafusion::arrow::array::StringArray::from(names)),
                        Arc::new(datafusion::arrow::array::StringArray::from(values)),
                    ],
                )?;
                return Ok(Output::with_rows("SHOW", rows));
            }
            let name = match name.as_str() {
                "time zone" => "timezone".to_string(),
                "transaction isolation level" => "transaction_isolation".to_string(),
                _ => name,
            };
            let value = session.settings.read().get(&name)?;
            let schema = show_schema(&name);
            let rows = ResultRows::of_columns(
                schema,
                vec![Arc::new(datafusion::arrow::array::StringArray::from(vec![
                    value,
                ]))],
            )?;
            Ok(Output::with_rows("SHOW", rows))
        }
        Statement::Set(set) => {
            let mut settings = session.settings.write();
            match set {
                Set::SingleAssignment {
                    variable, values, ..
                } => {
                    let name = variable.to_string().to_lowercase();
                    if values.len() == 1
                        && matches!(&values[0], Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default"))
                    {
                        settings.reset(&name)?;
                    } else {
                        let value = values
                            .iter()
                            .map(setting_value)
                            .collect::<Vec<_>>()
                            .join(", ");
                        settings.set(&name, &value)?;
                    }
                }
                Set::SetTimeZone { value, .. } => {
                    settings.set("TimeZone", &setting_value(value))?
                }
                Set::SetNames { charset_name, .. } => {
                    settings.set("client_encoding", &charset_name.value)?
                }
                Set::SetNamesDefault {} => settings.reset("client_encoding")?,
                Set::SetTransaction { .. } | Set::SetSessionParam(_) => {}
                // Acting as another role is not supported; going back
                // to (or staying) the session's own role is.
                Set::SetRole { role_name, .. }
                    if role_name
                        .as_ref()
                        .is_none_or(|r| prismdb_sql::normalize(r) == session.user) => {}
                other => return Err(Error::NotSupported(format!("{other} is not supported"))),
            }
            Ok(Output::command("SET"))
        }
        Statement::Reset(r) => {
            let mut settings = session.settings.write();
            match &r.reset {
                prismdb_sql::sqlparser::ast::Reset::ALL => settings.reset_all(),
                prismdb_sql::sqlparser::ast::Reset::ConfigurationParameter(name) => {
                    settings.reset(&name.to_string())?
                }
            }
            Ok(Output::command("RESET"))
        }
        _ => Err(Error::NotSupported("unsupported setting statement".into())),
    }
}

/// The one-column schema of `SHOW name`.
pub(crate) fn show_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]))
}

/// The parameter a `SHOW` names: `SHOW prism.read_engines` arrives as two
/// words, `SHOW TRANSACTION ISOLATION LEVEL` as three, `SHOW TIME ZONE` as two.
pub(crate) fn show_name(variable: &[prismdb_sql::sqlparser::ast::Ident]) -> String {
    let parts: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
    match parts.as_slice() {
        [a, b] if !(a == "time" && b == "zone") => format!("{a}.{b}"),
        _ => parts.join(" "),
    }
}

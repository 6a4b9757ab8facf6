//! Binding of `CREATE TABLE` and `CREATE VIEW` to catalog objects.

use crate::sqlparser::ast::{
    ColumnOption, CreateTable, CreateView, Expr, Ident, IndexColumn, TableConstraint,
};
use crate::{normalize, object_name, types::sql_type};
use prismdb_catalog::{Column, ROWID_COLUMN, SqlType, Table, View};
use prismdb_common::{Error, Result, TableId};

/// Builds the catalog table for a `CREATE TABLE` statement.
pub fn bind_create_table(ct: &CreateTable, id: TableId) -> Result<Table> {
    if ct.query.is_some() {
        return Err(Error::NotSupported(
            "CREATE TABLE ... AS is not supported".into(),
        ));
    }
    let name = object_name(&ct.name)?;
    let mut columns: Vec<Column> = Vec::with_capacity(ct.columns.len() + 1);
    let mut primary_key: Option<Vec<usize>> = None;
    let set_pk = |pk: Vec<usize>, primary_key: &mut Option<Vec<usize>>| -> Result<()> {
        if primary_key.is_some() {
            return Err(Error::InvalidStatement(format!(
                "multiple primary keys for table \"{name}\" are not allowed"
            )));
        }
        *primary_key = Some(pk);
        Ok(())
    };
    for def in &ct.columns {
        let col_name = normalize(&def.name);
        if col_name == ROWID_COLUMN {
            return Err(Error::InvalidStatement(format!(
                "column name \"{col_name}\" is reserved"
            )));
        }
        if columns.iter().any(|c| c.name == col_name) {
            return Err(Error::DuplicateColumn(format!(
                "column \"{col_name}\" specified more than once"
            )));
        }
        let mut column = Column {
            name: col_name,
            ty: sql_type(&def.data_type)?,
            nullable: true,
            default: None,
            hidden: false,
        };
        for opt in &def.options {
            match &opt.option {
                ColumnOption::Null => column.nullable = true,
                ColumnOption::NotNull => column.nullable = false,
                ColumnOption::Default(expr) => column.default = Some(default_sql(expr)),
                ColumnOption::PrimaryKey(_) => {
                    column.nullable = false;
                    set_pk(vec![columns.len()], &mut primary_key)?;
                }
                ColumnOption::Unique(_) | ColumnOption::Check(_) | ColumnOption::ForeignKey(_) => {
                    return Err(Error::NotSupported(format!(
                        "constraint {} is not supported; only PRIMARY KEY, NOT NULL and DEFAULT are",
                        opt.option
                    )));
                }
                ColumnOption::Comment(_) | ColumnOption::Collation(_) => {}
                other => {
                    return Err(Error::NotSupported(format!(
                        "column option {other} is not supported"
                    )));
                }
            }
        }
        columns.push(column);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                let idx = key_columns(&pk.columns, &mut columns)?;
                set_pk(idx, &mut primary_key)?;
            }
            other => {
                return Err(Error::NotSupported(format!(
                    "constraint {other} is not supported; only PRIMARY KEY is"
                )));
            }
        }
    }
    if columns.is_empty() {
        return Err(Error::NotSupported(
            "tables without columns are not supported".into(),
        ));
    }
    let primary_key = match primary_key {
        Some(pk) => pk,
        None => {
            columns.push(Column {
                name: ROWID_COLUMN.into(),
                ty: SqlType::Int64,
                nullable: false,
                default: None,
                hidden: true,
            });
            vec![columns.len() - 1]
        }
    };
    Ok(Table {
        id,
        name,
        columns,
        primary_key,
        columnar_replicas: 0,
    })
}

fn key_columns(cols: &[IndexColumn], columns: &mut [Column]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(cols.len());
    for c in cols {
        let name = match &c.column.expr {
            Expr::Identifier(ident) => normalize(ident),
            other => {
                return Err(Error::NotSupported(format!(
                    "key expression {other} is not supported"
                )));
            }
        };
        let idx = columns
            .iter()
            .position(|col| col.name == name)
            .ok_or_else(|| {
                Error::UndefinedColumn(format!("column \"{name}\" named in key does not exist"))
            })?;
        if out.contains(&idx) {
            return Err(Error::DuplicateColumn(format!(
                "column \"{name}\" appears twice in primary key constraint"
            )));
        }
        columns[idx].nullable = false;
        out.push(idx);
    }
    Ok(out)
}

/// The DEFAULT expression as SQL text that DataFusion can plan.
fn default_sql(expr: &Expr) -> String {
    expr.to_string()
}

/// Builds the catalog view for a `CREATE VIEW` statement.
pub fn bind_create_view(cv: &CreateView) -> Result<View> {
    if cv.materialized {
        return Err(Error::NotSupported(
            "materialized views are not supported".into(),
        ));
    }
    let columns = cv.columns.iter().map(|c| normalize(&c.name)).collect();
    Ok(View {
        name: object_name(&cv.name)?,
        query: cv.query.to_string(),
        columns,
    })
}

/// Column names of an identifier list (`INSERT INTO t (a, b)`), normalized.
pub fn ident_names(idents: &[Ident]) -> Vec<String> {
    idents.iter().map(normalize).collect()
}

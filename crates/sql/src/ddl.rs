//! Binding of `CREATE TABLE`, `ALTER TABLE` and `CREATE VIEW` to catalog objects.

use crate::sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CreateTable, CreateView, Expr, GeneratedAs,
    Ident, IndexColumn, NullsDistinctOption, SqlOption, TableConstraint, UnaryOperator,
    UniqueConstraint, Value as SqlValue,
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
    let mut key_constraint: Option<String> = None;
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
        if columns.iter().any(|c| c.name == col_name) {
            return Err(Error::DuplicateColumn(format!(
                "column \"{col_name}\" specified more than once"
            )));
        }
        let (column, is_key) = match crate::types::serial_type(&def.data_type) {
            Some(ty) => bind_serial_column(def, ty, &name)?,
            None => bind_column(def)?,
        };
        if column.default.is_some() && is_identity(def) {
            return Err(Error::Syntax(format!(
                "both default and identity specified for column \"{}\" of table \"{name}\"",
                column.name
            )));
        }
        if is_key {
            set_pk(vec![columns.len()], &mut primary_key)?;
            key_constraint = def.options.iter().find_map(|o| match &o.option {
                ColumnOption::PrimaryKey(pk) => o.name.as_ref().or(pk.name.as_ref()).map(normalize),
                _ => None,
            });
        }
        columns.push(column);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                let idx = key_columns(&pk.columns, &mut columns)?;
                set_pk(idx, &mut primary_key)?;
                key_constraint = pk.name.as_ref().map(normalize);
            }
            TableConstraint::Unique(_) => {}
            other => {
                return Err(Error::NotSupported(format!(
                    "constraint {other} is not supported; only PRIMARY KEY and UNIQUE are"
                )));
            }
        }
    }
    if columns.is_empty() {
        return Err(Error::NotSupported(
            "tables without columns are not supported".into(),
        ));
    }
    if let Some(pk) = &primary_key
        && let Some(c) = pk
            .iter()
            .map(|&i| &columns[i])
            .find(|c| matches!(c.ty, SqlType::Array(_) | SqlType::Interval))
    {
        return Err(Error::NotSupported(format!(
            "{} column \"{}\" cannot be part of a primary key",
            if c.ty == SqlType::Interval {
                "interval"
            } else {
                "array"
            },
            c.name
        )));
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
        key_constraint,
        ownership: Default::default(),
    })
}

/// A `UNIQUE` constraint as declared: its name, if given, and its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueSpec {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// The `UNIQUE` constraints of a `CREATE TABLE`, column and table ones, in
/// declaration order.
pub fn unique_constraints(ct: &CreateTable) -> Result<Vec<UniqueSpec>> {
    let mut out = Vec::new();
    for def in &ct.columns {
        out.extend(column_unique_constraints(def)?);
    }
    for constraint in &ct.constraints {
        if let TableConstraint::Unique(u) = constraint {
            out.push(unique_spec(u)?);
        }
    }
    Ok(out)
}

/// The `UNIQUE` constraints declared on one column definition (`ALTER
/// TABLE ... ADD COLUMN c int UNIQUE`), each on that column alone.
pub fn column_unique_constraints(def: &ColumnDef) -> Result<Vec<UniqueSpec>> {
    let mut out = Vec::new();
    for opt in &def.options {
        if let ColumnOption::Unique(u) = &opt.option {
            check_unique_form(u)?;
            out.push(UniqueSpec {
                name: opt.name.as_ref().or(u.name.as_ref()).map(normalize),
                columns: vec![normalize(&def.name)],
            });
        }
    }
    Ok(out)
}

/// A table-level `UNIQUE (...)` constraint (also `ALTER TABLE ... ADD`).
pub fn unique_spec(u: &UniqueConstraint) -> Result<UniqueSpec> {
    check_unique_form(u)?;
    let columns = u
        .columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => Ok(normalize(i)),
            other => Err(Error::NotSupported(format!(
                "unique constraints on expressions are not supported: {other}"
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(UniqueSpec {
        name: u.name.as_ref().map(normalize),
        columns,
    })
}

fn check_unique_form(u: &UniqueConstraint) -> Result<()> {
    if u.characteristics.is_some()
        || !u.index_options.is_empty()
        || matches!(u.nulls_distinct, NullsDistinctOption::NotDistinct)
    {
        return Err(Error::NotSupported(format!(
            "this form of unique constraint is not supported: {u}"
        )));
    }
    Ok(())
}

/// Binds one column definition of `CREATE TABLE` or `ALTER TABLE ... ADD
/// COLUMN`: its name, type, NOT NULL and DEFAULT. The flag says whether the
/// column was declared `PRIMARY KEY` (it is then NOT NULL).
/// A `SERIAL` column of table `table`: its integer type, NOT NULL. Its
/// default (`nextval` of the sequence it owns) is set by the caller, which
/// names and creates that sequence ([`serial_columns`]).
fn bind_serial_column(def: &ColumnDef, ty: SqlType, table: &str) -> Result<(Column, bool)> {
    let mut def = def.clone();
    def.data_type = crate::sqlparser::ast::DataType::Custom(
        crate::sqlparser::ast::ObjectName::from(vec![Ident::new("int8")]),
        Vec::new(),
    );
    let (mut column, is_key) = bind_column(&def)?;
    if column.default.is_some() {
        return Err(Error::Syntax(format!(
            "multiple default values specified for column \"{}\" of table \"{table}\"",
            column.name
        )));
    }
    column.ty = ty;
    column.nullable = false;
    Ok((column, is_key))
}

/// An identity column of a `CREATE TABLE`: its name, whether it is
/// `GENERATED ALWAYS` (else `BY DEFAULT`), and its sequence's options.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySpec {
    pub column: String,
    pub always: bool,
    pub options: Vec<crate::sqlparser::ast::SequenceOptions>,
}

/// The identity option of a column definition, if it has one.
fn identity_of(def: &ColumnDef) -> Option<(bool, Vec<crate::sqlparser::ast::SequenceOptions>)> {
    def.options.iter().find_map(|o| match &o.option {
        ColumnOption::Generated {
            generated_as: g @ (GeneratedAs::Always | GeneratedAs::ByDefault),
            generation_expr: None,
            sequence_options,
            ..
        } => Some((
            matches!(g, GeneratedAs::Always),
            sequence_options.clone().unwrap_or_default(),
        )),
        _ => None,
    })
}

/// Whether a column definition declares an identity column.
pub fn is_identity(def: &ColumnDef) -> bool {
    identity_of(def).is_some()
}

/// The identity columns of a `CREATE TABLE` (`GENERATED { ALWAYS | BY
/// DEFAULT } AS IDENTITY [(options)]`).
pub fn identity_columns(ct: &CreateTable) -> Vec<IdentitySpec> {
    ct.columns
        .iter()
        .filter_map(|def| {
            let (always, options) = identity_of(def)?;
            Some(IdentitySpec {
                column: normalize(&def.name),
                always,
                options,
            })
        })
        .collect()
}

/// The columns of a `CREATE TABLE` declared `SERIAL` (or `BIGSERIAL`,
/// `SMALLSERIAL`), by name: each owns a sequence that gives its default.
pub fn serial_columns(ct: &CreateTable) -> Vec<String> {
    ct.columns
        .iter()
        .filter(|def| crate::types::serial_type(&def.data_type).is_some())
        .map(|def| normalize(&def.name))
        .collect()
}

pub fn bind_column(def: &ColumnDef) -> Result<(Column, bool)> {
    let col_name = normalize(&def.name);
    if col_name == ROWID_COLUMN {
        return Err(Error::InvalidStatement(format!(
            "column name \"{col_name}\" is reserved"
        )));
    }
    let mut column = Column {
        name: col_name,
        ty: sql_type(&def.data_type)?,
        nullable: true,
        default: None,
        hidden: false,
    };
    let mut is_key = false;
    for opt in &def.options {
        match &opt.option {
            ColumnOption::Null => column.nullable = true,
            ColumnOption::NotNull => column.nullable = false,
            ColumnOption::Default(expr) => column.default = Some(default_sql(expr)),
            ColumnOption::PrimaryKey(_) => {
                column.nullable = false;
                is_key = true;
            }
            // Made a unique index by the caller ([`unique_constraints`]).
            ColumnOption::Unique(_) => {}
            ColumnOption::Check(_) | ColumnOption::ForeignKey(_) => {
                return Err(Error::NotSupported(format!(
                    "constraint {} is not supported; only PRIMARY KEY, UNIQUE, NOT NULL and DEFAULT are",
                    opt.option
                )));
            }
            ColumnOption::Comment(_) | ColumnOption::Collation(_) => {}
            // An identity column: its sequence and default are made by the
            // caller ([`identity_columns`]).
            ColumnOption::Generated {
                generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                generation_expr: None,
                ..
            } => {
                if !matches!(column.ty, SqlType::Int16 | SqlType::Int32 | SqlType::Int64) {
                    return Err(Error::InvalidParameterValue(
                        "identity column type must be smallint, integer, or bigint".into(),
                    ));
                }
                column.nullable = false;
            }
            other => {
                return Err(Error::NotSupported(format!(
                    "column option {other} is not supported"
                )));
            }
        }
    }
    Ok((column, is_key))
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
    // `nextval('public.s'::regclass)` (as pg_dump writes it) is kept as
    // PostgreSQL shows it: `nextval('s'::regclass)`.
    if let Expr::Function(f) = expr
        && crate::object_name(&f.name).as_deref() == Ok("nextval")
        && let crate::sqlparser::ast::FunctionArguments::List(list) = &f.args
        && let [
            crate::sqlparser::ast::FunctionArg::Unnamed(
                crate::sqlparser::ast::FunctionArgExpr::Expr(Expr::Cast {
                    expr: inner,
                    data_type,
                    ..
                }),
            ),
        ] = list.args.as_slice()
        && data_type.to_string().eq_ignore_ascii_case("regclass")
        && let Expr::Value(v) = inner.as_ref()
        && let SqlValue::SingleQuotedString(name) = &v.value
    {
        let name = name.strip_prefix("public.").unwrap_or(name);
        return format!("nextval('{}'::regclass)", name.replace('\'', "''"));
    }
    expr.to_string()
}

/// The key of the table property that `ALTER TABLE t SET COLUMNAR REPLICA n`
/// parses to (see [`crate::parse`]).
pub const COLUMNAR_REPLICA_PROPERTY: &str = "columnar_replica";

/// Where the values of one column of an altered table come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSource {
    /// The column at this index of the table before the change.
    Existing(usize),
    /// A column the statement adds: its DEFAULT (or NULL) for every row.
    Added,
}

/// The outcome of binding `ALTER TABLE`'s operations to a table.
#[derive(Debug, Clone, PartialEq)]
pub struct AlteredTable {
    /// The table with every operation applied.
    pub table: Table,
    /// For each column of `table`, where its stored values come from, when
    /// columns were added or dropped (the stored rows must then be
    /// rewritten); `None` when the column list did not change.
    pub sources: Option<Vec<ColumnSource>>,
    /// The count asked for with `SET COLUMNAR REPLICA n`, if given.
    pub columnar_replicas: Option<u32>,
}

/// Applies the operations of an `ALTER TABLE` statement to `table`, in
/// order: `ADD [COLUMN] [IF NOT EXISTS]`, `DROP [COLUMN] [IF EXISTS]`,
/// `ALTER [COLUMN] c SET DEFAULT e | DROP DEFAULT | DROP NOT NULL`, and
/// `SET COLUMNAR REPLICA n` (which [`crate::parse`] turns into a table
/// property), and `ADD [CONSTRAINT c] PRIMARY KEY (cols)` on a table
/// without one. Added columns go after the existing ones; an existing
/// primary key cannot be changed (0A000). An added column's `UNIQUE` is
/// left to the caller ([`column_unique_constraints`]).
pub fn bind_alter_table(table: &Table, operations: &[AlterTableOperation]) -> Result<AlteredTable> {
    let mut out = table.clone();
    let mut sources: Vec<ColumnSource> = (0..table.columns.len())
        .map(ColumnSource::Existing)
        .collect();
    let mut columns_changed = false;
    let mut columnar_replicas = None;
    let relation = &table.name;
    for op in operations {
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                column_position,
                ..
            } => {
                if column_position.is_some() {
                    return Err(Error::NotSupported(
                        "ADD COLUMN ... FIRST / AFTER is not supported".into(),
                    ));
                }
                let name = normalize(&column_def.name);
                if out.column_index(&name).is_some() && name != ROWID_COLUMN {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(Error::DuplicateColumn(format!(
                        "column \"{name}\" of relation \"{relation}\" already exists"
                    )));
                }
                if is_identity(column_def) {
                    return Err(Error::NotSupported(
                        "adding an identity column is not supported".into(),
                    ));
                }
                let (column, is_key) = bind_column(column_def)?;
                if is_key {
                    return Err(Error::NotSupported(
                        "adding a PRIMARY KEY column is not supported".into(),
                    ));
                }
                out.columns.push(column);
                sources.push(ColumnSource::Added);
                columns_changed = true;
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for ident in column_names {
                    let name = normalize(ident);
                    let Some(idx) = out.column_index(&name).filter(|&i| !out.columns[i].hidden)
                    else {
                        if *if_exists {
                            continue;
                        }
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{name}\" of relation \"{relation}\" does not exist"
                        )));
                    };
                    if out.primary_key.contains(&idx) {
                        return Err(Error::NotSupported(format!(
                            "cannot drop primary key column \"{name}\" of relation \"{relation}\""
                        )));
                    }
                    if out.visible_columns().count() == 1 {
                        return Err(Error::NotSupported(format!(
                            "cannot drop column \"{name}\": tables without columns are not supported"
                        )));
                    }
                    out.columns.remove(idx);
                    sources.remove(idx);
                    for k in out.primary_key.iter_mut() {
                        if *k > idx {
                            *k -= 1;
                        }
                    }
                    columns_changed = true;
                }
            }
            // A primary key for a table created without one: the hidden
            // row id gives way to the named columns, which become NOT
            // NULL; every row is stored again under its new key.
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::PrimaryKey(pk),
                not_valid: false,
            } if pk.index_type.is_none() && pk.index_options.is_empty() => {
                if !out.has_rowid() {
                    return Err(Error::InvalidStatement(format!(
                        "multiple primary keys for table \"{relation}\" are not allowed"
                    )));
                }
                let mut key = key_columns(&pk.columns, &mut out.columns)?;
                let rowid = out.primary_key[0];
                out.columns.remove(rowid);
                sources.remove(rowid);
                for k in key.iter_mut() {
                    if *k > rowid {
                        *k -= 1;
                    }
                }
                out.primary_key = key;
                out.key_constraint = pk.name.as_ref().map(normalize);
                columns_changed = true;
            }
            // Defaults and NULLability, which leave the stored rows as
            // they are.
            AlterTableOperation::AlterColumn { column_name, op } => {
                use crate::sqlparser::ast::AlterColumnOperation as A;
                let name = normalize(column_name);
                let Some(idx) = out.column_index(&name).filter(|&i| !out.columns[i].hidden) else {
                    return Err(Error::UndefinedColumn(format!(
                        "column \"{name}\" of relation \"{relation}\" does not exist"
                    )));
                };
                let column = &mut out.columns[idx];
                match op {
                    A::SetDefault { value } => column.default = Some(default_sql(value)),
                    A::DropDefault => column.default = None,
                    A::DropNotNull => {
                        if out.primary_key.contains(&idx) {
                            return Err(Error::InvalidTableDefinition(format!(
                                "column \"{name}\" is in a primary key"
                            )));
                        }
                        column.nullable = true;
                    }
                    other => {
                        let text = other.to_string();
                        let words: Vec<&str> = text.split_whitespace().take(2).collect();
                        return Err(Error::NotSupported(format!(
                            "ALTER TABLE ... ALTER COLUMN ... {} is not supported",
                            words.join(" ")
                        )));
                    }
                }
            }
            AlterTableOperation::SetTblProperties { table_properties } => {
                for property in table_properties {
                    match property {
                        SqlOption::KeyValue { key, value }
                            if key.value.eq_ignore_ascii_case(COLUMNAR_REPLICA_PROPERTY) =>
                        {
                            let n = replica_count(value)?;
                            out.columnar_replicas = n;
                            columnar_replicas = Some(n);
                        }
                        other => {
                            return Err(Error::NotSupported(format!(
                                "table property {other} is not supported"
                            )));
                        }
                    }
                }
            }
            other => {
                let text = other.to_string();
                let words: Vec<&str> = text.split_whitespace().take(2).collect();
                return Err(Error::NotSupported(format!(
                    "ALTER TABLE ... {} is not supported",
                    words.join(" ")
                )));
            }
        }
    }
    Ok(AlteredTable {
        table: out,
        sources: columns_changed.then_some(sources),
        columnar_replicas,
    })
}

/// The `n` of `SET COLUMNAR REPLICA n`: an integer literal from 0 up (22023).
fn replica_count(value: &Expr) -> Result<u32> {
    let invalid = || {
        Error::InvalidParameterValue(format!(
            "invalid columnar replica count {value}: must be a non-negative integer"
        ))
    };
    match value {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n.parse::<u32>().map_err(|_| invalid()),
            _ => Err(invalid()),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => replica_count(expr),
        _ => Err(invalid()),
    }
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
        types: Vec::new(),
        ownership: Default::default(),
    })
}

/// Column names of an identifier list (`INSERT INTO t (a, b)`), normalized.
pub fn ident_names(idents: &[Ident]) -> Vec<String> {
    idents.iter().map(normalize).collect()
}

#[cfg(test)]
#[path = "ddl_test.rs"]
mod tests;

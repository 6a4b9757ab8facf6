//! The catalog functions clients call beside `pg_catalog`'s relations
//! (psql's `\d` queries, drivers' metadata): `format_type`,
//! `pg_get_userbyid`, `pg_table_is_visible`, `pg_encoding_to_char`,
//! `pg_get_expr`, the description lookups (which find none), and the
//! object-identifier casts `sql::rewrite` turns `x::regclass`,
//! `x::regclass::text`, `x::regtype` and `x::regtype::text` into
//! (`prism_regclass`, `prism_regclass_name`, `prism_regtype`,
//! `prism_regtype_name`).

use crate::oids;
use crate::schema::CatalogSource;
use crate::tables::quote_ident;
use crate::types::format_type;
use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use std::sync::Arc;

/// A function evaluated row by row over scalar values (catalog queries
/// read few rows; clarity wins over speed here).
fn row_udf(
    name: &str,
    inputs: Vec<DataType>,
    output: DataType,
    f: impl Fn(&[ScalarValue]) -> ScalarValue + Send + Sync + 'static,
) -> ScalarUDF {
    try_row_udf(name, vec![inputs], output, move |a| Ok(f(a)))
}

/// [`row_udf`] for functions that may fail, and take any of several
/// argument lists.
fn try_row_udf(
    name: &str,
    signatures: Vec<Vec<DataType>>,
    output: DataType,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    row_function(name, signatures, output, Volatility::Stable, f)
}

/// A function evaluated row by row over scalar values, taking any of the
/// argument lists `signatures` (an empty list: no arguments). A volatile
/// one is called once per row even without arguments; a stable one of
/// constant arguments once per batch.
pub fn row_function(
    name: &str,
    signatures: Vec<Vec<DataType>>,
    output: DataType,
    volatility: Volatility,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    let signature = Signature::one_of(
        signatures
            .into_iter()
            .map(|s| {
                if s.is_empty() {
                    TypeSignature::Nullary
                } else {
                    TypeSignature::Exact(s)
                }
            })
            .collect(),
        volatility,
    );
    with_signature(name, signature, output, f)
}

fn with_signature(
    name: &str,
    signature: Signature,
    output: DataType,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFunction {
        name: name.to_string(),
        signature,
        output,
        f: Arc::new(f),
    })
}

/// The PostgreSQL name of the type of a value of `field` (what
/// `pg_typeof` prints): the type its metadata names, else the one its
/// Arrow type maps to.
pub fn type_name_of(field: &datafusion::arrow::datatypes::Field) -> String {
    if let Some(named) = field.metadata().get("pg_type")
        && let Some(t) = crate::types::BUILTIN_TYPES.iter().find(|t| t.name == named)
    {
        return format_type(t.oid, None).unwrap_or_else(|| named.clone());
    }
    arrow_type_name(field.data_type())
}

fn arrow_type_name(dt: &DataType) -> String {
    use DataType::*;
    match dt {
        Null => "unknown".into(),
        Boolean => "boolean".into(),
        Int8 | Int16 | UInt8 => "smallint".into(),
        Int32 | UInt16 => "integer".into(),
        Int64 | UInt64 => "bigint".into(),
        UInt32 => "oid".into(),
        Float16 | Float32 => "real".into(),
        Float64 => "double precision".into(),
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => "numeric".into(),
        Utf8 | LargeUtf8 | Utf8View => "text".into(),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => "bytea".into(),
        Date32 | Date64 => "date".into(),
        Timestamp(_, None) => "timestamp without time zone".into(),
        Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        Time32(_) | Time64(_) => "time without time zone".into(),
        Interval(_) | Duration(_) => "interval".into(),
        List(f) | LargeList(f) | ListView(f) | FixedSizeList(f, _) => {
            format!("{}[]", type_name_of(f))
        }
        Dictionary(_, v) => arrow_type_name(v),
        _ => "unknown".into(),
    }
}

/// `pg_typeof(any)`: the name of its argument's type.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTypeof {
    signature: Signature,
}

impl ScalarUDFImpl for PgTypeof {
    fn name(&self) -> &str {
        "pg_typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = args
            .arg_fields
            .first()
            .map(|f| type_name_of(f))
            .unwrap_or_else(|| "unknown".into());
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))))
    }
}

/// Functions that answer the same for every session: `pg_typeof`,
/// `quote_ident`, `quote_literal`, `quote_nullable`, the privilege tests
/// (every object is accessible until GRANT and REVOKE exist),
/// `array_lower` and `array_upper`.
pub fn builtin_functions() -> Vec<ScalarUDF> {
    let mut out = vec![
        ScalarUDF::new_from_impl(PgTypeof {
            signature: Signature::any(1, Volatility::Stable),
        }),
        text_udf("quote_ident", DataType::Utf8, |t| {
            Ok(ScalarValue::Utf8(Some(quote_ident(t))))
        }),
        text_udf("quote_literal", DataType::Utf8, |t| {
            Ok(ScalarValue::Utf8(Some(quote_literal(t))))
        }),
        with_signature(
            "format",
            Signature::variadic_any(Volatility::Immutable),
            DataType::Utf8,
            |a| match a.first().and_then(text) {
                None => Ok(ScalarValue::Utf8(None)),
                Some(f) => format_text(&f, &a[1..]).map(|t| ScalarValue::Utf8(Some(t))),
            },
        ),
        row_udf(
            "quote_nullable",
            vec![DataType::Utf8],
            DataType::Utf8,
            |a| {
                ScalarValue::Utf8(Some(
                    text(&a[0]).map_or_else(|| "NULL".to_string(), |t| quote_literal(&t)),
                ))
            },
        ),
    ];
    for name in [
        "has_schema_privilege",
        "has_database_privilege",
        "has_function_privilege",
        "has_sequence_privilege",
        "has_type_privilege",
        "has_language_privilege",
        "has_tablespace_privilege",
        "has_foreign_data_wrapper_privilege",
        "has_server_privilege",
        "pg_has_role",
    ] {
        out.push(with_signature(
            name,
            Signature::variadic_any(Volatility::Stable),
            DataType::Boolean,
            |a| {
                Ok(ScalarValue::Boolean(
                    (!a.iter().any(ScalarValue::is_null)).then_some(true),
                ))
            },
        ));
    }
    // Storage sizes: PrismDB's tables live in one shared RocksDB, where a
    // table's bytes are not tracked; every relation reports 0.
    for name in [
        "pg_relation_size",
        "pg_table_size",
        "pg_total_relation_size",
        "pg_indexes_size",
        "pg_database_size",
        "pg_tablespace_size",
    ] {
        out.push(with_signature(
            name,
            Signature::variadic_any(Volatility::Stable),
            DataType::Int64,
            |a| {
                Ok(ScalarValue::Int64(
                    (!a.iter().any(ScalarValue::is_null)).then_some(0),
                ))
            },
        ));
    }
    out.push(with_signature(
        "pg_size_pretty",
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        |a| Ok(ScalarValue::Utf8(int(&a[0]).map(size_pretty))),
    ));
    out.push(row_udf(
        "prism_like_escape",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        |a| {
            let (Some(p), Some(e)) = (text(&a[0]), text(&a[1])) else {
                return ScalarValue::Utf8(None);
            };
            ScalarValue::Utf8(Some(like_with_backslash(&p, e.chars().next())))
        },
    ));
    // `parse_ident('a."B c"')`: the parts of a qualified name.
    out.push(with_signature(
        "parse_ident",
        Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8]),
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
            ],
            Volatility::Immutable,
        ),
        DataType::List(Arc::new(
            datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true),
        )),
        |a| {
            let Some(t) = text(&a[0]) else {
                return Ok(ScalarValue::Null);
            };
            let parts: Vec<ScalarValue> = name_parts(&t)
                .into_iter()
                .map(|p| ScalarValue::Utf8(Some(p)))
                .collect();
            Ok(ScalarValue::List(ScalarValue::new_list(
                &parts,
                &DataType::Utf8,
                true,
            )))
        },
    ));
    // Bounds are bigint here (PostgreSQL: integer) so that they feed
    // generate_series, which takes bigint.
    for (name, upper) in [("array_lower", false), ("array_upper", true)] {
        out.push(with_signature(
            name,
            Signature::any(2, Volatility::Immutable),
            DataType::Int64,
            move |a| {
                let len = match &a[0] {
                    ScalarValue::List(l) if !l.is_null(0) => Some(l.value(0).len()),
                    ScalarValue::LargeList(l) if !l.is_null(0) => Some(l.value(0).len()),
                    _ => None,
                };
                let dim = int(&a[1]);
                Ok(ScalarValue::Int64(match (len, dim) {
                    (Some(n), Some(1)) if n > 0 => Some(if upper { n as i64 } else { 1 }),
                    _ => None,
                }))
            },
        ));
    }
    out
}

/// A LIKE pattern written with escape character `escape` (none: `ESCAPE
/// ''`) rewritten to use backslash.
pub fn like_with_backslash(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push_str("\\\\"),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// `pg_size_pretty`: bytes, then kB, MB, GB, TB, PB once a value
/// reaches 10240 of the smaller unit, rounded half away from zero.
pub fn size_pretty(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    const LIMIT2: i64 = LIMIT * 2 - 1;
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    let mut size = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT2 {
            return format!("{} {unit}", half_rounded(size));
        }
        size >>= 10;
    }
    format!("{} PB", half_rounded(size))
}

/// A string as a SQL literal: quotes doubled, and backslashes doubled in
/// an `E'...'` literal, as PostgreSQL's `quote_literal` writes it.
pub fn quote_literal(t: &str) -> String {
    let body = t.replace('\'', "''");
    if t.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// A value as `format`'s `%s` prints it (PostgreSQL's text output).
fn format_arg(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    Some(match v {
        ScalarValue::Boolean(Some(b)) => if *b { "t" } else { "f" }.to_string(),
        v => text(v).unwrap_or_else(|| v.to_string()),
    })
}

/// PostgreSQL's `format(formatstr, args...)`: `%s` (text, NULL as empty),
/// `%I` (identifier, quoted if needed), `%L` (literal, NULL as `NULL`) and
/// `%%`, each with an optional `n$` position and `-`/width flags.
fn format_text(f: &str, args: &[ScalarValue]) -> Result<String> {
    let invalid = |m: &str| external(prismdb_common::Error::InvalidParameterValue(m.to_string()));
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // [n$][-][width]type
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '$' || d == '-' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(kind) = chars.next() else {
            return Err(invalid("unterminated format() type specifier"));
        };
        let (position, rest) = match spec.split_once('$') {
            Some((n, rest)) => {
                let n: usize = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    invalid("format specifies argument 0, but arguments are numbered from 1")
                })?;
                (n - 1, rest.to_string())
            }
            None => (next, spec),
        };
        next = position + 1;
        let left = rest.starts_with('-');
        let width: usize = rest.trim_start_matches('-').parse().unwrap_or(0);
        let arg = args
            .get(position)
            .ok_or_else(|| invalid("too few arguments for format()"))?;
        let value = format_arg(arg);
        let piece = match kind {
            's' => value.unwrap_or_default(),
            'I' => match value {
                Some(v) => crate::tables::quote_ident(&v),
                None => {
                    return Err(invalid(
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
            },
            'L' => value.map_or_else(|| "NULL".to_string(), |v| quote_literal(&v)),
            other => {
                return Err(invalid(&format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        };
        let pad = width.saturating_sub(piece.chars().count());
        if left {
            out.push_str(&piece);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&piece);
        }
    }
    Ok(out)
}

type RowFn = Arc<dyn Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync>;

/// See [`row_function`].
struct RowFunction {
    name: String,
    signature: Signature,
    output: DataType,
    f: RowFn,
}

impl std::fmt::Debug for RowFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowFunction")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.f, &other.f)
    }
}

impl Eq for RowFunction {}

impl std::hash::Hash for RowFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let constant = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        if constant && self.signature.volatility != Volatility::Volatile {
            let values: Vec<ScalarValue> = args
                .args
                .iter()
                .filter_map(|a| match a {
                    ColumnarValue::Scalar(s) => Some(s.clone()),
                    ColumnarValue::Array(_) => None,
                })
                .collect();
            return Ok(ColumnarValue::Scalar(
                (self.f)(&values)?.cast_to(&self.output)?,
            ));
        }
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.clone().into_array(rows))
            .collect::<Result<_>>()?;
        let out = (0..rows)
            .map(|i| {
                let values = arrays
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, i))
                    .collect::<Result<Vec<_>>>()?;
                (self.f)(&values)?.cast_to(&self.output)
            })
            .collect::<Result<Vec<_>>>()?;
        if out.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.output),
            ));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

fn external(e: prismdb_common::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The parts of a possibly qualified name, as SQL reads them: unquoted
/// parts fold to lower case.
pub fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.trim().chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}

/// A relation named by `t` (a name or an OID in digits): its OID and its
/// name as `regclass` prints it.
fn regclass(source: &dyn CatalogSource, t: &str) -> Result<(u32, String)> {
    let catalog = source.catalog();
    let database = source.database();
    let mut relations: Vec<(u32, String, &str)> = Vec::new();
    if let Ok(db) = catalog.database(&database) {
        for table in db.tables.values() {
            relations.push((oids::table_oid(table), table.name.clone(), "public"));
            if !table.has_rowid() {
                relations.push((
                    oids::primary_key_oid(table),
                    table.key_constraint_name(),
                    "public",
                ));
            }
        }
        for name in db.views.keys() {
            relations.push((oids::view_oid(name), name.clone(), "public"));
        }
        for index in db.indexes.values() {
            relations.push((oids::index_oid(index), index.name.clone(), "public"));
        }
        for seq in db.sequences.values() {
            relations.push((oids::sequence_oid(seq), seq.name.clone(), "public"));
        }
    }
    for r in crate::tables::all_relations() {
        if let Some(oid) = oids::catalog_relation_oid(r.name) {
            relations.push((oid, r.name.to_string(), "pg_catalog"));
        }
    }
    if let Ok(oid) = t.trim().parse::<u32>() {
        let name = relations
            .iter()
            .find(|r| r.0 == oid)
            .map_or_else(|| oid.to_string(), |r| quote_ident(&r.1));
        return Ok((oid, name));
    }
    let parts = name_parts(t);
    let (schema, name) = match parts.as_slice() {
        [name] => (None, name),
        [schema, name] => (Some(schema.as_str()), name),
        [_, schema, name] => (Some(schema.as_str()), name),
        _ => {
            return Err(external(prismdb_common::Error::Syntax(format!(
                "invalid name syntax: {t}"
            ))));
        }
    };
    relations
        .iter()
        .find(|r| &r.1 == name && schema.is_none_or(|s| s == r.2))
        .map(|r| (r.0, quote_ident(&r.1)))
        .ok_or_else(|| {
            external(prismdb_common::Error::UndefinedTable(format!(
                "relation \"{t}\" does not exist"
            )))
        })
}

/// A type named by `t` (a name, a SQL spelling such as `integer`, or an
/// OID in digits): its OID.
fn regtype(t: &str) -> Result<u32> {
    let t = t.trim();
    if let Ok(oid) = t.parse::<u32>() {
        return Ok(oid);
    }
    let parts = name_parts(t);
    let name = parts.last().map(String::as_str).unwrap_or_default();
    let alias = match name {
        "integer" | "int" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "character varying" => "varchar",
        "character" => "bpchar",
        "decimal" => "numeric",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        other => other,
    };
    crate::types::BUILTIN_TYPES
        .iter()
        .find(|ty| ty.name == alias)
        .map(|ty| ty.oid)
        .ok_or_else(|| {
            external(prismdb_common::Error::UndefinedObject(format!(
                "type \"{t}\" does not exist"
            )))
        })
}

/// A function of one text argument, NULL on NULL.
fn text_udf(
    name: &str,
    output: DataType,
    f: impl Fn(&str) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    let out = output.clone();
    try_row_udf(
        name,
        vec![vec![DataType::Utf8]],
        output,
        move |a| match text(&a[0]) {
            None => ScalarValue::try_from(&out),
            Some(t) => f(&t),
        },
    )
}

fn int(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(x) => x,
        _ => None,
    }
}

/// `pg_get_serial_sequence(table, column)`: `public.<sequence>` of the
/// sequence the column owns, if any. The table is a relation name (quoted
/// or not); the column is taken as written.
fn serial_sequence(
    source: &dyn CatalogSource,
    table: &ScalarValue,
    column: &ScalarValue,
) -> Option<String> {
    let table = name_parts(&text(table)?).pop()?;
    let column = text(column)?;
    let catalog = source.catalog();
    let db = catalog.database(&source.database()).ok()?;
    let t = db.tables.get(&table)?;
    let seq = db.sequence_owned_by(t.id, &column)?;
    Some(format!(
        "{}.{}",
        prismdb_catalog::DEFAULT_SCHEMA,
        crate::tables::quote_ident(&seq.name)
    ))
}

fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        _ => None,
    }
}

/// `has_table_privilege([user,] table, privileges)` and its column forms
/// (`has_column_privilege([user,] table, column, privileges)`,
/// `has_any_column_privilege`), answered at table level: whether the role
/// holds any of the comma-separated privileges. A role given by name or
/// OID; relations outside `public` (the catalogs) are readable by all.
fn has_privilege(source: &dyn CatalogSource, name: &str, a: &[ScalarValue]) -> Result<ScalarValue> {
    if a.iter().any(ScalarValue::is_null) {
        return Ok(ScalarValue::Boolean(None));
    }
    let column_form = name == "has_column_privilege";
    let with_user = a.len() == if column_form { 4 } else { 3 };
    let (user, rest) = if with_user {
        (Some(&a[0]), &a[1..])
    } else {
        (None, a)
    };
    let (Some(table), Some(wanted)) = (rest.first(), rest.last().and_then(text)) else {
        return Err(DataFusionError::Plan(format!(
            "function {name} does not take {} arguments",
            a.len()
        )));
    };
    let catalog = source.catalog();
    let role = match user {
        None => catalog.role(&source.user()).cloned(),
        Some(u) => match text(u) {
            Some(n) => Some(catalog.role(&n).cloned().ok_or_else(|| {
                external(prismdb_common::Error::UndefinedObject(format!(
                    "role \"{n}\" does not exist"
                )))
            })?),
            None => int(u).and_then(|oid| {
                u32::try_from(oid)
                    .ok()
                    .and_then(|oid| catalog.role_by_oid(oid).cloned())
            }),
        },
    };
    let Some(role) = role else {
        return Ok(ScalarValue::Boolean(None));
    };
    let db = source.database();
    let Ok(database) = catalog.database(&db) else {
        return Ok(ScalarValue::Boolean(None));
    };
    let ownership = match text(table) {
        Some(t) => {
            let parts = name_parts(&t);
            match parts.as_slice() {
                [n] | [_, n] if parts.len() == 1 || parts[0] == "public" => database
                    .tables
                    .get(n)
                    .map(|t| &t.ownership)
                    .or_else(|| database.views.get(n).map(|v| &v.ownership)),
                _ => None,
            }
        }
        None => int(table).and_then(|oid| {
            database
                .tables
                .values()
                .find(|t| i64::from(oids::table_oid(t)) == oid)
                .map(|t| &t.ownership)
                .or_else(|| {
                    database
                        .views
                        .iter()
                        .find(|(n, _)| i64::from(oids::view_oid(n)) == oid)
                        .map(|(_, v)| &v.ownership)
                })
        }),
    };
    let Some(ownership) = ownership else {
        return Ok(ScalarValue::Boolean(Some(true)));
    };
    use prismdb_catalog::roles::privilege;
    let mut bits = 0;
    for p in wanted.split(',') {
        let p = p.trim().to_ascii_uppercase();
        let p = p.strip_suffix(" WITH GRANT OPTION").unwrap_or(&p).trim();
        bits |= match p {
            "SELECT" => privilege::SELECT,
            "INSERT" => privilege::INSERT,
            "UPDATE" => privilege::UPDATE,
            "DELETE" => privilege::DELETE,
            "TRUNCATE" => privilege::TRUNCATE,
            "REFERENCES" => privilege::REFERENCES,
            "TRIGGER" => privilege::TRIGGER,
            other => {
                return Err(external(prismdb_common::Error::InvalidParameterValue(
                    format!("unrecognized privilege type: \"{other}\""),
                )));
            }
        };
    }
    Ok(ScalarValue::Boolean(Some(
        ownership.privileges_of(&role) & bits != 0,
    )))
}

/// The comment of a table (`subid` 0) or of its `subid`-th column.
fn description(source: &dyn CatalogSource, oid: i64, subid: i64) -> Option<String> {
    let catalog = source.catalog();
    let db = catalog.database(&source.database()).ok()?;
    let table = db
        .tables
        .values()
        .find(|t| i64::from(oids::table_oid(t)) == oid)?;
    let comments = db.comments.get(&table.id)?;
    if subid == 0 {
        return comments.table.clone();
    }
    let (_, column) = table
        .visible_columns()
        .nth(usize::try_from(subid - 1).ok()?)?;
    comments.columns.get(&column.name).cloned()
}

/// A function named as `regproc` prints it: its name without the schema,
/// `-` for 0.
fn regproc(t: &str) -> Result<ScalarValue> {
    let t = t.trim();
    Ok(ScalarValue::Utf8(Some(if t == "0" {
        "-".into()
    } else {
        name_parts(t).pop().unwrap_or_default()
    })))
}

/// The tables of the session's database.
fn tables(source: &dyn CatalogSource) -> Vec<Arc<prismdb_catalog::Table>> {
    source
        .catalog()
        .database(&source.database())
        .map(|db| db.tables.values().cloned().collect())
        .unwrap_or_default()
}

/// `pg_get_indexdef(oid [, column, pretty])`: the CREATE INDEX statement,
/// or with a column number the name of that key column. Pretty, a partial
/// index's predicate is not wrapped in parentheses (psql's `\d`).
fn index_def(source: &dyn CatalogSource, oid: i64, column: i64, pretty: bool) -> Option<String> {
    let catalog = source.catalog();
    if let Ok(db) = catalog.database(&source.database())
        && let Some(index) = db
            .indexes
            .values()
            .find(|i| i64::from(oids::index_oid(i)) == oid)
    {
        let table = db.tables.values().find(|t| t.id == index.table)?;
        if column == 0 {
            return Some(crate::tables::secondary_index_definition(
                index, table, pretty,
            ));
        }
        let k = usize::try_from(column - 1).ok()?;
        let name = index.column_names().nth(k)?;
        return Some(quote_ident(name));
    }
    let table = tables(source)
        .into_iter()
        .find(|t| !t.has_rowid() && i64::from(oids::primary_key_oid(t)) == oid)?;
    if column == 0 {
        return Some(crate::tables::index_definition(&table));
    }
    let k = usize::try_from(column - 1).ok()?;
    let col = table.primary_key.get(k)?;
    Some(quote_ident(&table.columns[*col].name))
}

/// `pg_get_constraintdef(oid [, pretty])`.
fn constraint_def(source: &dyn CatalogSource, oid: i64) -> Option<String> {
    let catalog = source.catalog();
    if let Ok(db) = catalog.database(&source.database())
        && let Some(index) = db
            .indexes
            .values()
            .find(|i| i.constraint && i64::from(oids::unique_constraint_oid(i)) == oid)
    {
        let cols: Vec<String> = index.columns.iter().map(|c| quote_ident(&c.name)).collect();
        return Some(format!("UNIQUE ({})", cols.join(", ")));
    }
    let table = tables(source)
        .into_iter()
        .find(|t| !t.has_rowid() && i64::from(oids::primary_key_constraint_oid(t)) == oid)?;
    let cols: Vec<String> = table
        .primary_key
        .iter()
        .map(|&i| quote_ident(&table.columns[i].name))
        .collect();
    Some(format!("PRIMARY KEY ({})", cols.join(", ")))
}

/// `pg_get_viewdef(view [, pretty])`: the view's query as stored, written
/// as PostgreSQL writes it (a leading space, a closing semicolon).
fn view_def(source: &dyn CatalogSource, view: &ScalarValue) -> Result<Option<String>> {
    let catalog = source.catalog();
    let Ok(db) = catalog.database(&source.database()) else {
        return Ok(None);
    };
    let found = match int(view) {
        Some(oid) => db
            .views
            .values()
            .find(|v| i64::from(oids::view_oid(&v.name)) == oid),
        None => match text(view) {
            Some(name) => {
                let oid = regclass(source, &name)?.0;
                db.views.values().find(|v| oids::view_oid(&v.name) == oid)
            }
            None => None,
        },
    };
    Ok(found.map(|v| format!(" {};", v.query.trim_end_matches(';'))))
}

/// The functions, for a session reading `source`.
pub fn catalog_functions(source: Arc<dyn CatalogSource>) -> Vec<ScalarUDF> {
    let owner = source.clone();
    let privileges = [
        "has_table_privilege",
        "has_any_column_privilege",
        "has_column_privilege",
    ]
    .into_iter()
    .map(|name| {
        let source = source.clone();
        with_signature(
            name,
            Signature::variadic_any(Volatility::Stable),
            DataType::Boolean,
            move |a| has_privilege(source.as_ref(), name, a),
        )
    })
    .collect::<Vec<_>>();
    let (s1, s2) = (source.clone(), source.clone());
    let (s3, s4, s5) = (source.clone(), source.clone(), source.clone());
    vec![
        try_row_udf(
            "pg_get_indexdef",
            vec![
                vec![DataType::Int64],
                vec![DataType::Int64, DataType::Int64, DataType::Boolean],
            ],
            DataType::Utf8,
            move |a| {
                let column = a.get(1).and_then(int).unwrap_or(0);
                let pretty = matches!(a.get(2), Some(ScalarValue::Boolean(Some(true))));
                Ok(ScalarValue::Utf8(
                    int(&a[0]).and_then(|oid| index_def(&*s3, oid, column, pretty)),
                ))
            },
        ),
        try_row_udf(
            "pg_get_constraintdef",
            vec![
                vec![DataType::Int64],
                vec![DataType::Int64, DataType::Boolean],
            ],
            DataType::Utf8,
            move |a| {
                Ok(ScalarValue::Utf8(
                    int(&a[0]).and_then(|oid| constraint_def(&*s4, oid)),
                ))
            },
        ),
        try_row_udf(
            "pg_get_viewdef",
            vec![
                vec![DataType::Int64],
                vec![DataType::Int64, DataType::Boolean],
                vec![DataType::Utf8],
                vec![DataType::Utf8, DataType::Boolean],
            ],
            DataType::Utf8,
            move |a| Ok(ScalarValue::Utf8(view_def(&*s5, &a[0])?)),
        ),
        text_udf("prism_regclass", DataType::Int64, move |t| {
            Ok(ScalarValue::Int64(Some(i64::from(regclass(&*s1, t)?.0))))
        }),
        text_udf("prism_regclass_name", DataType::Utf8, move |t| {
            Ok(ScalarValue::Utf8(Some(regclass(&*s2, t)?.1)))
        }),
        // to_regclass / to_regtype: the OID, or NULL where the cast errs.
        {
            let s = source.clone();
            text_udf("to_regclass", DataType::Int64, move |t| {
                Ok(ScalarValue::Int64(
                    regclass(&*s, t).ok().map(|r| i64::from(r.0)),
                ))
            })
        },
        text_udf("to_regtype", DataType::Int64, |t| {
            Ok(ScalarValue::Int64(regtype(t).ok().map(i64::from)))
        }),
        text_udf("to_regnamespace", DataType::Int64, |t| {
            let name = name_parts(t).pop().unwrap_or_default();
            Ok(ScalarValue::Int64(
                crate::tables::namespaces()
                    .iter()
                    .find(|(_, n)| *n == name)
                    .map(|(oid, _)| i64::from(*oid)),
            ))
        }),
        text_udf("to_regproc", DataType::Int64, |_| {
            Ok(ScalarValue::Int64(None))
        }),
        // The sequence a column owns (SERIAL), schema-qualified.
        {
            let source = source.clone();
            row_udf(
                "pg_get_serial_sequence",
                vec![DataType::Utf8, DataType::Utf8],
                DataType::Utf8,
                move |a| ScalarValue::Utf8(serial_sequence(&*source, &a[0], &a[1])),
            )
        },
        row_udf(
            "pg_collation_is_visible",
            vec![DataType::Int64],
            DataType::Boolean,
            |a| ScalarValue::Boolean(int(&a[0]).map(|_| true)),
        ),
        text_udf("to_regprocedure", DataType::Int64, |_| {
            Ok(ScalarValue::Int64(None))
        }),
        text_udf("prism_regtype", DataType::Int64, |t| {
            Ok(ScalarValue::Int64(Some(i64::from(regtype(t)?))))
        }),
        text_udf("prism_regtype_name", DataType::Utf8, |t| {
            let oid = regtype(t)?;
            Ok(ScalarValue::Utf8(Some(
                format_type(oid, None).unwrap_or_else(|| oid.to_string()),
            )))
        }),
        text_udf("prism_regnamespace", DataType::Int64, |t| {
            let t = t.trim();
            if let Ok(oid) = t.parse::<i64>() {
                return Ok(ScalarValue::Int64(Some(oid)));
            }
            let name = name_parts(t).pop().unwrap_or_default();
            crate::tables::namespaces()
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(oid, _)| ScalarValue::Int64(Some(i64::from(*oid))))
                .ok_or_else(|| {
                    external(prismdb_common::Error::UndefinedObject(format!(
                        "schema \"{name}\" does not exist"
                    )))
                })
        }),
        text_udf("prism_regnamespace_name", DataType::Utf8, |t| {
            let t = t.trim();
            let named = t.parse::<u32>().ok().and_then(|oid| {
                crate::tables::namespaces()
                    .iter()
                    .find(|(o, _)| *o == oid)
                    .map(|(_, n)| quote_ident(n))
            });
            Ok(ScalarValue::Utf8(Some(
                named.unwrap_or_else(|| t.to_string()),
            )))
        }),
        {
            let source = source.clone();
            text_udf("prism_regrole", DataType::Int64, move |t| {
                let t = t.trim();
                if let Ok(oid) = t.parse::<i64>() {
                    return Ok(ScalarValue::Int64(Some(oid)));
                }
                let name = name_parts(t).pop().unwrap_or_default();
                match source.catalog().role(&name) {
                    Some(r) => Ok(ScalarValue::Int64(Some(i64::from(r.oid)))),
                    None => Err(external(prismdb_common::Error::UndefinedObject(format!(
                        "role \"{t}\" does not exist"
                    )))),
                }
            })
        },
        {
            let source = source.clone();
            text_udf("prism_regrole_name", DataType::Utf8, move |t| {
                let t = t.trim();
                let role = t
                    .parse::<u32>()
                    .ok()
                    .and_then(|oid| source.catalog().role_by_oid(oid).map(|r| r.name.clone()));
                Ok(ScalarValue::Utf8(Some(match role {
                    Some(name) => quote_ident(&name),
                    None => t.to_string(),
                })))
            })
        },
        // Functions, operators, text-search objects: PrismDB has none of
        // its own; OIDs pass through and 0 prints as `-`.
        text_udf("prism_regother", DataType::Int64, |t| {
            t.trim()
                .parse::<i64>()
                .map(|o| ScalarValue::Int64(Some(o)))
                .map_err(|_| {
                    external(prismdb_common::Error::UndefinedFunction(format!(
                        "function \"{t}\" does not exist"
                    )))
                })
        }),
        // Functions (`regproc`) are named, as `pg_type.typinput` names
        // them: `'pg_catalog.array_in'::regproc` is `array_in`.
        text_udf("prism_regproc", DataType::Utf8, regproc),
        text_udf("prism_regproc_name", DataType::Utf8, regproc),
        text_udf("prism_regother_name", DataType::Utf8, |t| {
            let t = t.trim();
            Ok(ScalarValue::Utf8(Some(if t == "0" {
                "-".into()
            } else {
                t.into()
            })))
        }),
        row_udf(
            "pg_get_userbyid",
            vec![DataType::Int64],
            DataType::Utf8,
            move |a| {
                let catalog = owner.catalog();
                ScalarValue::Utf8(int(&a[0]).map(|oid| {
                    u32::try_from(oid)
                        .ok()
                        .and_then(|oid| catalog.role_by_oid(oid))
                        .map(|r| r.name.clone())
                        .unwrap_or_else(|| format!("unknown (OID={oid})"))
                }))
            },
        ),
        // Every relation lives in a schema of the search path (public,
        // pg_catalog), and no name hides another.
        row_udf(
            "pg_table_is_visible",
            vec![DataType::Int64],
            DataType::Boolean,
            |a| ScalarValue::Boolean(int(&a[0]).map(|_| true)),
        ),
        row_udf(
            "pg_type_is_visible",
            vec![DataType::Int64],
            DataType::Boolean,
            |a| ScalarValue::Boolean(int(&a[0]).map(|_| true)),
        ),
        row_udf(
            "format_type",
            vec![DataType::Int64, DataType::Int64],
            DataType::Utf8,
            |a| {
                let Some(oid) = int(&a[0]) else {
                    return ScalarValue::Utf8(None);
                };
                let typmod = int(&a[1]).map(|m| m as i32);
                ScalarValue::Utf8(Some(
                    u32::try_from(oid)
                        .ok()
                        .and_then(|oid| format_type(oid, typmod))
                        .unwrap_or_else(|| "???".to_string()),
                ))
            },
        ),
        row_udf(
            "pg_encoding_to_char",
            vec![DataType::Int64],
            DataType::Utf8,
            |a| {
                ScalarValue::Utf8(int(&a[0]).map(|e| match e {
                    0 => "SQL_ASCII".to_string(),
                    6 => "UTF8".to_string(),
                    _ => String::new(),
                }))
            },
        ),
        // Expressions are kept as SQL text already.
        try_row_udf(
            "pg_get_expr",
            vec![
                vec![DataType::Utf8, DataType::Int64],
                vec![DataType::Utf8, DataType::Int64, DataType::Boolean],
            ],
            DataType::Utf8,
            |a| Ok(ScalarValue::Utf8(text(&a[0]))),
        ),
        try_row_udf(
            "obj_description",
            vec![vec![DataType::Int64], vec![DataType::Int64, DataType::Utf8]],
            DataType::Utf8,
            {
                let source = source.clone();
                move |a| {
                    // Only relations (`pg_class`) have comments.
                    if a.get(1).and_then(text).is_some_and(|c| c != "pg_class") {
                        return Ok(ScalarValue::Utf8(None));
                    }
                    Ok(ScalarValue::Utf8(
                        int(&a[0]).and_then(|oid| description(source.as_ref(), oid, 0)),
                    ))
                }
            },
        ),
        row_udf(
            "shobj_description",
            vec![DataType::Int64, DataType::Utf8],
            DataType::Utf8,
            |_| ScalarValue::Utf8(None),
        ),
        row_udf(
            "col_description",
            vec![DataType::Int64, DataType::Int64],
            DataType::Utf8,
            {
                let source = source.clone();
                move |a| {
                    ScalarValue::Utf8(match (int(&a[0]), int(&a[1])) {
                        (Some(oid), Some(n)) if n > 0 => description(source.as_ref(), oid, n),
                        _ => None,
                    })
                }
            },
        ),
    ]
    .into_iter()
    .chain(
        // Definitions of objects PrismDB has none of (functions, triggers,
        // rules, partitioning): NULL, as PostgreSQL answers an unknown OID.
        [
            "pg_get_function_result",
            "pg_get_function_arguments",
            "pg_get_function_identity_arguments",
            "pg_get_functiondef",
            "pg_get_triggerdef",
            "pg_get_ruledef",
            "pg_get_partkeydef",
            "pg_get_statisticsobjdef",
        ]
        .into_iter()
        .map(|name| {
            with_signature(
                name,
                Signature::variadic_any(Volatility::Stable),
                DataType::Utf8,
                |_| Ok(ScalarValue::Utf8(None)),
            )
        }),
    )
    .chain(privileges)
    .collect()
}

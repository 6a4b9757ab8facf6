//! `json`, `jsonb` and `uuid` values: their input checks and canonical
//! forms, and the functions and operators on them.
//!
//! All three are text underneath (Arrow `Utf8`, the column's `pg_type`
//! metadata naming the type for the wire). `json` keeps the text as given
//! once it parses; `jsonb` keeps PostgreSQL's normalized form (object keys
//! ordered by length, then bytes, the last of duplicate keys kept,
//! `", "` and `": "` separators); `uuid` keeps lower-case hyphenated hex.
//! Numbers are read as JSON doubles or 64-bit integers, so `jsonb` does not
//! keep trailing zeros (`1.50` is `1.5`) as PostgreSQL's numeric does.
//!
//! `sql::rewrite` turns casts to these types into `prism_json(..)`,
//! `prism_jsonb(..)` and `prism_uuid(..)`, and the operators `->`, `->>`,
//! `#>`, `#>>`, `@>`, `<@`, `?`, `?|`, `?&` into the `prism_json_*`
//! functions here.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use prismdb_common::{Error, Result};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

fn invalid(ty: &str, text: &str) -> Error {
    Error::InvalidText(format!("invalid input syntax for type {ty}: \"{text}\""))
}

fn parse(text: &str) -> Result<Json> {
    serde_json::from_str(text)
        .map_err(|_| Error::InvalidText("invalid input syntax for type json".into()))
}

/// A `json` value from its text: the text itself, once it parses.
pub fn json_in(text: &str) -> Result<String> {
    parse(text)?;
    Ok(text.to_string())
}

/// A `jsonb` value from its text: PostgreSQL's normalized form.
pub fn jsonb_in(text: &str) -> Result<String> {
    Ok(jsonb_out(&parse(text)?))
}

/// PostgreSQL's text form of a `jsonb` value.
pub fn jsonb_out(v: &Json) -> String {
    let mut out = String::new();
    write_jsonb(v, &mut out);
    out
}

fn write_jsonb(v: &Json, out: &mut String) {
    match v {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Json::String((*k).clone()).to_string());
                out.push_str(": ");
                write_jsonb(&map[*k], out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A `uuid` from its text: 32 hex digits, optionally in braces and with a
/// hyphen after any group of four; kept lower-case and hyphenated.
pub fn uuid_in(text: &str) -> Result<String> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t);
    let mut hex = String::with_capacity(32);
    let mut since_hyphen = 0;
    for c in t.chars() {
        if c == '-' {
            if since_hyphen == 0 || since_hyphen % 4 != 0 || hex.len() == 32 {
                return Err(invalid("uuid", text));
            }
            since_hyphen = 0;
            continue;
        }
        if !c.is_ascii_hexdigit() {
            return Err(invalid("uuid", text));
        }
        hex.push(c.to_ascii_lowercase());
        since_hyphen += 1;
    }
    if hex.len() != 32 || t.ends_with('-') {
        return Err(invalid("uuid", text));
    }
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The PostgreSQL type an argument field is (its `pg_type` metadata).
fn pg_type_of(field: &Field) -> Option<&str> {
    field.metadata().get("pg_type").map(String::as_str)
}

/// A text field of PostgreSQL type `pg_type`.
fn typed_field(name: &str, pg_type: &str) -> FieldRef {
    Arc::new(
        Field::new(name, DataType::Utf8, true).with_metadata(HashMap::from([(
            "pg_type".to_string(),
            pg_type.to_string(),
        )])),
    )
}

/// What a [`TextFunction`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Returns {
    /// Text of a fixed PostgreSQL type (`json`, `jsonb`, `uuid`, `text`).
    Typed(&'static str),
    /// `json` or `jsonb`, as the first argument is.
    LikeFirst,
    Boolean,
    Int32,
    /// A list of text (`jsonb_array_elements`).
    TextList,
    /// A list of `{key, value}` records of text (`json_each`).
    KeyValueList,
}

fn key_value_type() -> DataType {
    DataType::Struct(
        vec![
            Field::new("key", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]
        .into(),
    )
}

fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(element, true)))
}

type RowFn = fn(&[ScalarValue], &[FieldRef]) -> Result<ScalarValue>;

/// A function evaluated row by row over scalar values, knowing its
/// arguments' fields (so `json` and `jsonb` arguments are told apart).
#[derive(Debug)]
struct TextFunction {
    name: &'static str,
    signature: Signature,
    returns: Returns,
    f: RowFn,
}

impl PartialEq for TextFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TextFunction {}

impl std::hash::Hash for TextFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for TextFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(match self.returns {
            Returns::Boolean => DataType::Boolean,
            Returns::Int32 => DataType::Int32,
            Returns::TextList => list_of(DataType::Utf8),
            Returns::KeyValueList => list_of(key_value_type()),
            _ => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs<'_>) -> DfResult<FieldRef> {
        Ok(match self.returns {
            Returns::Boolean => Arc::new(Field::new(self.name, DataType::Boolean, true)),
            Returns::Int32 => Arc::new(Field::new(self.name, DataType::Int32, true)),
            Returns::TextList => Arc::new(Field::new(self.name, list_of(DataType::Utf8), true)),
            Returns::KeyValueList => {
                Arc::new(Field::new(self.name, list_of(key_value_type()), true))
            }
            Returns::Typed(t) => typed_field(self.name, t),
            Returns::LikeFirst => {
                let first = args.arg_fields.first().and_then(|f| pg_type_of(f));
                typed_field(
                    self.name,
                    if first == Some("jsonb") {
                        "jsonb"
                    } else {
                        "json"
                    },
                )
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let out_type = args.return_field.data_type().clone();
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.clone().into_array(rows))
            .collect::<DfResult<_>>()?;
        let values = (0..rows)
            .map(|i| {
                let row = arrays
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, i))
                    .collect::<DfResult<Vec<_>>>()?;
                (self.f)(&row, &args.arg_fields)
                    .map_err(external)?
                    .cast_to(&out_type)
            })
            .collect::<DfResult<Vec<_>>>()?;
        if values.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&out_type),
            ));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        _ => None,
    }
}

/// A SQL value as JSON: numbers, booleans and text as themselves, `json`
/// arguments (by their field) parsed, arrays element by element.
fn to_json(v: &ScalarValue, field: Option<&Field>) -> Result<Json> {
    if v.is_null() {
        return Ok(Json::Null);
    }
    if let Some(f) = field
        && matches!(pg_type_of(f), Some("json" | "jsonb"))
        && let Some(t) = text(v)
    {
        return parse(&t);
    }
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => Json::Bool(*b),
        ScalarValue::Int8(Some(i)) => Json::from(*i),
        ScalarValue::Int16(Some(i)) => Json::from(*i),
        ScalarValue::Int32(Some(i)) => Json::from(*i),
        ScalarValue::Int64(Some(i)) => Json::from(*i),
        ScalarValue::UInt32(Some(i)) => Json::from(*i),
        ScalarValue::UInt64(Some(i)) => Json::from(*i),
        ScalarValue::Float32(Some(f)) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        ScalarValue::Float64(Some(f)) => {
            serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
        }
        ScalarValue::Decimal128(Some(d), _, s) => {
            let shown = prismdb_common::value::format_decimal(*d, *s);
            serde_json::from_str(&shown).unwrap_or(Json::String(shown))
        }
        ScalarValue::List(l) => {
            let element = match l.data_type() {
                DataType::List(f) => Some(f.clone()),
                _ => None,
            };
            let values = l.value(0);
            let mut items = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                let s = ScalarValue::try_from_array(&values, i)
                    .map_err(|e| Error::Internal(format!("reading an array element: {e}")))?;
                items.push(to_json(&s, element.as_deref())?);
            }
            Json::Array(items)
        }
        other => match text(other) {
            Some(t) => Json::String(t),
            None => Json::String(other.to_string()),
        },
    })
}

/// Writes a JSON value as the type the caller returns.
fn json_result(v: Option<&Json>, jsonb: bool) -> ScalarValue {
    ScalarValue::Utf8(v.map(|v| if jsonb { jsonb_out(v) } else { v.to_string() }))
}

/// A JSON value's text for `->>`: strings unquoted, NULL for JSON null,
/// other values as their type prints them (`jsonb`'s `{"a": 1}`).
fn json_text(v: &Json, jsonb: bool) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other if jsonb => Some(jsonb_out(other)),
        other => Some(other.to_string()),
    }
}

/// The element `->` selects: an object's key, or an array's index
/// (negative counts from the end).
fn get<'a>(v: &'a Json, key: &ScalarValue) -> Option<&'a Json> {
    match (v, key) {
        (Json::Object(m), k) => text(k).and_then(|k| m.get(&k)),
        (Json::Array(a), k) => {
            let i = match k.cast_to(&DataType::Int64).ok()? {
                ScalarValue::Int64(Some(i)) => i,
                _ => return None,
            };
            let i = if i < 0 { a.len() as i64 + i } else { i };
            a.get(usize::try_from(i).ok()?)
        }
        _ => None,
    }
}

/// The element a `#>` path (`{a,0,b}`) selects.
fn get_path<'a>(mut v: &'a Json, path: &ScalarValue) -> Option<&'a Json> {
    if path.is_null() {
        return None;
    }
    let steps = keys_of(path);
    for step in steps {
        v = match v {
            Json::Object(m) => m.get(&step)?,
            Json::Array(a) => {
                let i: i64 = step.parse().ok()?;
                let i = if i < 0 { a.len() as i64 + i } else { i };
                a.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(v)
}

/// `a @> b`: every part of `b` is in `a` (PostgreSQL's jsonb containment:
/// an array contains an array whose every element some element contains;
/// an array also contains a bare scalar it holds).
fn contains(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => y
            .iter()
            .all(|(k, v)| x.get(k).is_some_and(|xv| contains(xv, v))),
        (Json::Array(x), Json::Array(y)) => y.iter().all(|yv| x.iter().any(|xv| contains(xv, yv))),
        (Json::Array(x), y) if !y.is_object() && !y.is_array() => x.iter().any(|xv| xv == y),
        (x, y) => x == y,
    }
}

/// `a || b` on jsonb: objects merge (the right one's value wins), anything
/// else concatenates as arrays (a non-array as a one-element array).
fn concat(a: Json, b: Json) -> Json {
    match (a, b) {
        (Json::Object(mut x), Json::Object(y)) => {
            x.extend(y);
            Json::Object(x)
        }
        (a, b) => {
            let items = |v: Json| match v {
                Json::Array(items) => items,
                other => vec![other],
            };
            let mut out = items(a);
            out.extend(items(b));
            Json::Array(out)
        }
    }
}

/// `a ? key`: a top-level key, or a string element of an array.
fn exists(a: &Json, key: &str) -> bool {
    match a {
        Json::Object(m) => m.contains_key(key),
        Json::Array(items) => items.iter().any(|i| i.as_str() == Some(key)),
        Json::String(s) => s == key,
        _ => false,
    }
}

fn keys_of(v: &ScalarValue) -> Vec<String> {
    let values = match v {
        ScalarValue::List(l) => l.value(0),
        ScalarValue::LargeList(l) => l.value(0),
        other => return text(other).map(|t| array_items(&t)).unwrap_or_default(),
    };
    // Elements of any string (or other) type, as text.
    let Ok(values) = datafusion::arrow::compute::cast(&values, &DataType::Utf8) else {
        return Vec::new();
    };
    match values.as_string_opt::<i32>() {
        Some(s) => (0..s.len()).map(|i| s.value(i).to_string()).collect(),
        None => Vec::new(),
    }
}

/// The items of a text array literal `{a,b}`.
fn array_items(t: &str) -> Vec<String> {
    t.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect()
}

fn is_jsonb(fields: &[FieldRef]) -> bool {
    fields
        .first()
        .is_some_and(|f| pg_type_of(f) == Some("jsonb"))
}

fn first_json(a: &[ScalarValue]) -> Result<Option<Json>> {
    text(&a[0]).map(|t| parse(&t)).transpose()
}

fn function(name: &'static str, signature: Signature, returns: Returns, f: RowFn) -> ScalarUDF {
    ScalarUDF::new_from_impl(TextFunction {
        name,
        signature,
        returns,
        f,
    })
}

/// `jsonb || jsonb`, which the analyzer puts in place of the operator.
pub static JSONB_CONCAT: std::sync::LazyLock<ScalarUDF> =
    std::sync::LazyLock::new(jsonb_concat_function);

/// Its result is typed `text` (jsonb's text form): the operator is
/// replaced after the statement's result columns were described, as the
/// `||` of two strings.
fn jsonb_concat_function() -> ScalarUDF {
    function(
        "prism_jsonb_concat",
        Signature::any(2, Volatility::Immutable),
        Returns::Typed("text"),
        |a, _| {
            let (Some(x), Some(y)) = (text(&a[0]), text(&a[1])) else {
                return Ok(ScalarValue::Utf8(None));
            };
            Ok(ScalarValue::Utf8(Some(jsonb_out(&concat(
                parse(&x)?,
                parse(&y)?,
            )))))
        },
    )
}

/// The functions.
pub fn json_functions() -> Vec<ScalarUDF> {
    let one_text = || Signature::exact(vec![DataType::Utf8], Volatility::Immutable);
    let two = || Signature::any(2, Volatility::Immutable);
    vec![
        function("prism_json", one_text(), Returns::Typed("json"), |a, _| {
            Ok(ScalarValue::Utf8(
                text(&a[0]).map(|t| json_in(&t)).transpose()?,
            ))
        }),
        function(
            "prism_jsonb",
            one_text(),
            Returns::Typed("jsonb"),
            |a, _| {
                Ok(ScalarValue::Utf8(
                    text(&a[0]).map(|t| jsonb_in(&t)).transpose()?,
                ))
            },
        ),
        function("prism_uuid", one_text(), Returns::Typed("uuid"), |a, _| {
            Ok(ScalarValue::Utf8(
                text(&a[0]).map(|t| uuid_in(&t)).transpose()?,
            ))
        }),
        function("prism_json_get", two(), Returns::LikeFirst, |a, f| {
            let v = first_json(a)?;
            Ok(json_result(
                v.as_ref().and_then(|v| get(v, &a[1])),
                is_jsonb(f),
            ))
        }),
        function(
            "prism_json_get_text",
            two(),
            Returns::Typed("text"),
            |a, f| {
                let v = first_json(a)?;
                Ok(ScalarValue::Utf8(
                    v.as_ref()
                        .and_then(|v| get(v, &a[1]))
                        .and_then(|v| json_text(v, is_jsonb(f))),
                ))
            },
        ),
        function("prism_json_path", two(), Returns::LikeFirst, |a, f| {
            let v = first_json(a)?;
            Ok(json_result(
                v.as_ref().and_then(|v| get_path(v, &a[1])),
                is_jsonb(f),
            ))
        }),
        function(
            "prism_json_path_text",
            two(),
            Returns::Typed("text"),
            |a, f| {
                let v = first_json(a)?;
                Ok(ScalarValue::Utf8(
                    v.as_ref()
                        .and_then(|v| get_path(v, &a[1]))
                        .and_then(|v| json_text(v, is_jsonb(f))),
                ))
            },
        ),
        jsonb_concat_function(),
        function("prism_jsonb_contains", two(), Returns::Boolean, |a, _| {
            let (Some(x), Some(y)) = (text(&a[0]), text(&a[1])) else {
                return Ok(ScalarValue::Boolean(None));
            };
            Ok(ScalarValue::Boolean(Some(contains(
                &parse(&x)?,
                &parse(&y)?,
            ))))
        }),
        function("prism_jsonb_exists", two(), Returns::Boolean, |a, _| {
            let (Some(v), Some(k)) = (first_json(a)?, text(&a[1])) else {
                return Ok(ScalarValue::Boolean(None));
            };
            Ok(ScalarValue::Boolean(Some(exists(&v, &k))))
        }),
        function("prism_jsonb_exists_any", two(), Returns::Boolean, |a, _| {
            let Some(v) = first_json(a)? else {
                return Ok(ScalarValue::Boolean(None));
            };
            Ok(ScalarValue::Boolean(Some(
                keys_of(&a[1]).iter().any(|k| exists(&v, k)),
            )))
        }),
        function("prism_jsonb_exists_all", two(), Returns::Boolean, |a, _| {
            let Some(v) = first_json(a)? else {
                return Ok(ScalarValue::Boolean(None));
            };
            Ok(ScalarValue::Boolean(Some(
                keys_of(&a[1]).iter().all(|k| exists(&v, k)),
            )))
        }),
        function(
            "jsonb_build_object",
            Signature::variadic_any(Volatility::Immutable),
            Returns::Typed("jsonb"),
            |a, f| build_object(a, f).map(|v| ScalarValue::Utf8(Some(jsonb_out(&v)))),
        ),
        function(
            "json_build_object",
            Signature::variadic_any(Volatility::Immutable),
            Returns::Typed("json"),
            |a, f| {
                // Keys in argument order, as PostgreSQL's json keeps them.
                build_object(a, f)?;
                let parts = a
                    .chunks(2)
                    .enumerate()
                    .map(|(i, pair)| {
                        let key = text(&pair[0]).unwrap_or_else(|| pair[0].to_string());
                        let value = to_json(&pair[1], f.get(2 * i + 1).map(|f| f.as_ref()))?;
                        Ok(format!("{} : {value}", Json::String(key)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(ScalarValue::Utf8(Some(format!("{{{}}}", parts.join(", ")))))
            },
        ),
        function(
            "jsonb_build_array",
            Signature::variadic_any(Volatility::Immutable),
            Returns::Typed("jsonb"),
            |a, f| build_array(a, f).map(|v| ScalarValue::Utf8(Some(jsonb_out(&v)))),
        ),
        function(
            "json_build_array",
            Signature::variadic_any(Volatility::Immutable),
            Returns::Typed("json"),
            |a, f| build_array(a, f).map(|v| ScalarValue::Utf8(Some(json_build_out(&v)))),
        ),
        function(
            "to_jsonb",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("jsonb"),
            |a, f| {
                if a[0].is_null() {
                    return Ok(ScalarValue::Utf8(None));
                }
                Ok(ScalarValue::Utf8(Some(jsonb_out(&to_json(
                    &a[0],
                    f.first().map(|f| f.as_ref()),
                )?))))
            },
        ),
        function(
            "to_json",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("json"),
            |a, f| {
                if a[0].is_null() {
                    return Ok(ScalarValue::Utf8(None));
                }
                Ok(ScalarValue::Utf8(Some(
                    to_json(&a[0], f.first().map(|f| f.as_ref()))?.to_string(),
                )))
            },
        ),
        // json_agg / jsonb_agg: the JSON texts of the values, collected,
        // as one array (`[a, b]` for json, normalized for jsonb).
        function(
            "prism_json_agg_text",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("json"),
            |a, _| {
                Ok(ScalarValue::Utf8(
                    json_texts(&a[0])?.map(|items| format!("[{}]", items.join(", "))),
                ))
            },
        ),
        function(
            "prism_jsonb_agg_text",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("jsonb"),
            |a, _| {
                let Some(items) = json_texts(&a[0])? else {
                    return Ok(ScalarValue::Utf8(None));
                };
                let values = items.iter().map(|t| parse(t)).collect::<Result<Vec<_>>>()?;
                Ok(ScalarValue::Utf8(Some(jsonb_out(&Json::Array(values)))))
            },
        ),
        function(
            "prism_json_elements",
            Signature::any(1, Volatility::Immutable),
            Returns::TextList,
            |a, _| elements(a, false, false),
        ),
        function(
            "prism_jsonb_elements",
            Signature::any(1, Volatility::Immutable),
            Returns::TextList,
            |a, _| elements(a, true, false),
        ),
        function(
            "prism_json_elements_text",
            Signature::any(1, Volatility::Immutable),
            Returns::TextList,
            |a, f| elements(a, is_jsonb(f), true),
        ),
        function(
            "prism_json_each",
            Signature::any(1, Volatility::Immutable),
            Returns::KeyValueList,
            |a, _| members(a, false, false),
        ),
        function(
            "prism_jsonb_each",
            Signature::any(1, Volatility::Immutable),
            Returns::KeyValueList,
            |a, _| members(a, true, false),
        ),
        function(
            "prism_json_each_text",
            Signature::any(1, Volatility::Immutable),
            Returns::KeyValueList,
            |a, f| members(a, is_jsonb(f), true),
        ),
        function(
            "jsonb_typeof",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("text"),
            |a, _| Ok(ScalarValue::Utf8(first_json(a)?.map(|v| type_name(&v)))),
        ),
        function(
            "json_typeof",
            Signature::any(1, Volatility::Immutable),
            Returns::Typed("text"),
            |a, _| Ok(ScalarValue::Utf8(first_json(a)?.map(|v| type_name(&v)))),
        ),
        function(
            "jsonb_array_length",
            Signature::any(1, Volatility::Immutable),
            Returns::Int32,
            |a, _| match first_json(a)? {
                None => Ok(ScalarValue::Int32(None)),
                Some(Json::Array(items)) => Ok(ScalarValue::Int32(Some(items.len() as i32))),
                Some(_) => Err(Error::InvalidParameterValue(
                    "cannot get array length of a non-array".into(),
                )),
            },
        ),
    ]
}

/// The text `json_build_array` gives: `[a, b]`, values compact inside.
fn json_build_out(v: &Json) -> String {
    match v {
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(Json::to_string).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A list of text values (NULL elements where `None`).
fn text_list(items: Vec<Option<String>>) -> ScalarValue {
    let values: Vec<ScalarValue> = items.into_iter().map(ScalarValue::Utf8).collect();
    ScalarValue::List(ScalarValue::new_list(&values, &DataType::Utf8, true))
}

/// A list of `{key, value}` records.
fn key_value_list(pairs: Vec<(String, Option<String>)>) -> Result<ScalarValue> {
    use datafusion::arrow::array::{ListArray, StringArray, StructArray};
    use datafusion::arrow::buffer::OffsetBuffer;
    let DataType::Struct(fields) = key_value_type() else {
        return Err(Error::Internal("record type".into()));
    };
    let n = pairs.len();
    let keys: StringArray = pairs.iter().map(|(k, _)| Some(k.as_str())).collect();
    let values: StringArray = pairs.iter().map(|(_, v)| v.as_deref()).collect();
    let records = StructArray::try_new(fields, vec![Arc::new(keys), Arc::new(values)], None)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let list = ListArray::try_new(
        Arc::new(Field::new_list_field(key_value_type(), true)),
        OffsetBuffer::from_lengths([n]),
        Arc::new(records),
        None,
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(ScalarValue::List(Arc::new(list)))
}

/// The elements of a JSON array as JSON texts (`as_text`: as `->>` gives
/// them); 22023 for a value that is not an array.
fn elements(a: &[ScalarValue], jsonb: bool, as_text: bool) -> Result<ScalarValue> {
    let Some(v) = first_json(a)? else {
        return Ok(ScalarValue::List(ScalarValue::new_list(
            &[],
            &DataType::Utf8,
            true,
        )));
    };
    let items = match v {
        Json::Array(items) => items,
        Json::Object(_) => {
            return Err(Error::InvalidParameterValue(
                "cannot extract elements from an object".into(),
            ));
        }
        _ => {
            return Err(Error::InvalidParameterValue(
                "cannot extract elements from a scalar".into(),
            ));
        }
    };
    Ok(text_list(
        items
            .iter()
            .map(|i| {
                if as_text {
                    json_text(i, jsonb)
                } else if jsonb {
                    Some(jsonb_out(i))
                } else {
                    Some(i.to_string())
                }
            })
            .collect(),
    ))
}

/// The members of a JSON object as `{key, value}` records; 22023 for a
/// value that is not an object.
fn members(a: &[ScalarValue], jsonb: bool, as_text: bool) -> Result<ScalarValue> {
    let Some(v) = first_json(a)? else {
        return key_value_list(Vec::new());
    };
    let map = match v {
        Json::Object(map) => map,
        Json::Array(_) => {
            return Err(Error::InvalidParameterValue(
                "cannot deconstruct an array as an object".into(),
            ));
        }
        _ => {
            return Err(Error::InvalidParameterValue(
                "cannot deconstruct a scalar".into(),
            ));
        }
    };
    let mut keys: Vec<&String> = map.keys().collect();
    if jsonb {
        keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    }
    key_value_list(
        keys.into_iter()
            .map(|k| {
                let v = &map[k];
                let value = if as_text {
                    json_text(v, jsonb)
                } else if jsonb {
                    Some(jsonb_out(v))
                } else {
                    Some(v.to_string())
                };
                (k.clone(), value)
            })
            .collect(),
    )
}

/// The elements of a list of JSON texts (NULL elements: `null`); `None`
/// for a NULL list.
fn json_texts(v: &ScalarValue) -> Result<Option<Vec<String>>> {
    let ScalarValue::List(l) = v else {
        return Ok(None);
    };
    if l.is_null(0) {
        return Ok(None);
    }
    let values = l.value(0);
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        let s = ScalarValue::try_from_array(&values, i)
            .map_err(|e| Error::Internal(format!("reading an array element: {e}")))?;
        out.push(text(&s).unwrap_or_else(|| "null".into()));
    }
    Ok(Some(out))
}

fn type_name(v: &Json) -> String {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
    .into()
}

fn build_object(a: &[ScalarValue], fields: &[FieldRef]) -> Result<Json> {
    if !a.len().is_multiple_of(2) {
        return Err(Error::InvalidParameterValue(
            "argument list must have even number of elements".into(),
        ));
    }
    let mut map = serde_json::Map::new();
    for (i, pair) in a.chunks(2).enumerate() {
        let key = match &pair[0] {
            k if k.is_null() => {
                return Err(Error::InvalidParameterValue(
                    "argument 1: key must not be null".into(),
                ));
            }
            k => text(k).unwrap_or_else(|| k.to_string()),
        };
        map.insert(
            key,
            to_json(&pair[1], fields.get(2 * i + 1).map(|f| f.as_ref()))?,
        );
    }
    Ok(Json::Object(map))
}

fn build_array(a: &[ScalarValue], fields: &[FieldRef]) -> Result<Json> {
    a.iter()
        .enumerate()
        .map(|(i, v)| to_json(v, fields.get(i).map(|f| f.as_ref())))
        .collect::<Result<Vec<_>>>()
        .map(Json::Array)
}

/// Checks and normalizes a value stored into a `json`, `jsonb` or `uuid`
/// column.
pub fn stored_text(ty: &prismdb_catalog::SqlType, text: &str) -> Result<Option<String>> {
    use prismdb_catalog::SqlType;
    Ok(match ty {
        SqlType::Json => Some(json_in(text)?),
        SqlType::Jsonb => Some(jsonb_in(text)?),
        SqlType::Uuid => Some(uuid_in(text)?),
        _ => None,
    })
}

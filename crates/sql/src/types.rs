//! Mapping of SQL type names (sqlparser's `DataType`) to [`SqlType`].

use crate::sqlparser::ast::{DataType, ExactNumberInfo, TimezoneInfo};
use prismdb_catalog::{DEFAULT_NUMERIC, SqlType};
use prismdb_common::{Error, Result};

/// The column type for a declared SQL type.
pub fn sql_type(dt: &DataType) -> Result<SqlType> {
    use DataType as D;
    Ok(match dt {
        D::Boolean | D::Bool => SqlType::Bool,
        D::SmallInt(_) | D::Int2(_) => SqlType::Int16,
        D::Int(_) | D::Integer(_) | D::Int4(_) => SqlType::Int32,
        D::BigInt(_) | D::Int8(_) => SqlType::Int64,
        D::Real | D::Float4 => SqlType::Float32,
        D::Float(info) => match float_bits(info) {
            Some(p) if p <= 24 => SqlType::Float32,
            _ => SqlType::Float64,
        },
        D::DoublePrecision | D::Double(_) | D::Float8 | D::Float64 => SqlType::Float64,
        D::Numeric(info) | D::Decimal(info) | D::Dec(info) => numeric(info)?,
        D::Text | D::String(_) => SqlType::Text,
        D::Varchar(len) | D::CharacterVarying(len) | D::CharVarying(len) => {
            SqlType::Varchar(char_len(len.as_ref())?)
        }
        D::Char(len) | D::Character(len) => SqlType::Char(char_len(len.as_ref())?.unwrap_or(1)),
        D::Bytea => SqlType::Bytea,
        D::JSON => SqlType::Json,
        D::JSONB => SqlType::Jsonb,
        D::Uuid => SqlType::Uuid,
        D::Date => SqlType::Date,
        D::Timestamp(_, TimezoneInfo::Tz | TimezoneInfo::WithTimeZone) => SqlType::TimestampTz,
        D::Timestamp(_, _) => SqlType::Timestamp,
        D::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => SqlType::Time,
        D::Interval { fields: None, .. } => SqlType::Interval,
        D::Array(
            crate::sqlparser::ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | crate::sqlparser::ast::ArrayElemTypeDef::AngleBracket(inner),
        ) => {
            let element = sql_type(inner)?;
            match prismdb_catalog::ArrayElement::of(&element) {
                Some(e) => SqlType::Array(e),
                None => {
                    return Err(Error::NotSupported(format!(
                        "arrays of type {} are not supported",
                        element.pg_name()
                    )));
                }
            }
        }
        D::Custom(name, args) if args.is_empty() => match crate::object_name(name)?.as_str() {
            "timestamptz" => SqlType::TimestampTz,
            "int2" => SqlType::Int16,
            "int4" => SqlType::Int32,
            "int8" => SqlType::Int64,
            "float4" => SqlType::Float32,
            "float8" => SqlType::Float64,
            "bpchar" => SqlType::Char(1),
            "json" => SqlType::Json,
            "jsonb" => SqlType::Jsonb,
            "uuid" => SqlType::Uuid,
            "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2" => {
                return Err(Error::NotSupported(format!(
                    "type {name} is only supported in CREATE TABLE"
                )));
            }
            other => {
                return Err(Error::UndefinedObject(format!(
                    "type \"{other}\" does not exist"
                )));
            }
        },
        other => {
            return Err(Error::NotSupported(format!(
                "type {other} is not supported"
            )));
        }
    })
}

fn float_bits(info: &ExactNumberInfo) -> Option<u64> {
    match info {
        ExactNumberInfo::None => None,
        ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _) => Some(*p),
    }
}

fn numeric(info: &ExactNumberInfo) -> Result<SqlType> {
    let (precision, scale, unconstrained) = match info {
        ExactNumberInfo::None => (DEFAULT_NUMERIC.0 as u64, DEFAULT_NUMERIC.1 as i64, true),
        ExactNumberInfo::Precision(p) => (*p, 0, false),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s, false),
    };
    if !(1..=38).contains(&precision) {
        return Err(Error::InvalidParameterValue(format!(
            "NUMERIC precision {precision} must be between 1 and 38"
        )));
    }
    if scale < 0 || scale as u64 > precision {
        return Err(Error::InvalidParameterValue(format!(
            "NUMERIC scale {scale} must be between 0 and precision {precision}"
        )));
    }
    Ok(SqlType::Numeric {
        precision: precision as u8,
        scale: scale as i8,
        unconstrained,
    })
}

fn char_len(len: Option<&crate::sqlparser::ast::CharacterLength>) -> Result<Option<u32>> {
    use crate::sqlparser::ast::CharacterLength;
    match len {
        None | Some(CharacterLength::Max) => Ok(None),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 || *length > 10_485_760 {
                return Err(Error::InvalidParameterValue(format!(
                    "length for type varchar must be between 1 and 10485760, not {length}"
                )));
            }
            Ok(Some(*length as u32))
        }
    }
}

/// The integer type a `SERIAL` spelling stands for (`serial` is `integer`,
/// `bigserial` `bigint`, `smallserial` `smallint`), if `data_type` is one.
pub fn serial_type(data_type: &crate::sqlparser::ast::DataType) -> Option<SqlType> {
    let crate::sqlparser::ast::DataType::Custom(name, args) = data_type else {
        return None;
    };
    if !args.is_empty() {
        return None;
    }
    match crate::object_name(name).ok()?.as_str() {
        "serial" | "serial4" => Some(SqlType::Int32),
        "bigserial" | "serial8" => Some(SqlType::Int64),
        "smallserial" | "serial2" => Some(SqlType::Int16),
        _ => None,
    }
}

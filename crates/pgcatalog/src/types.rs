//! Built-in types as `pg_type` lists them, and how column types map to
//! them.

use prismdb_catalog::SqlType;

/// One row of `pg_type`.
#[derive(Debug, Clone, Copy)]
pub struct PgType {
    pub oid: u32,
    pub name: &'static str,
    /// `typlen`: bytes, or -1 (varlena) / -2 (C string).
    pub len: i16,
    /// `typcategory`.
    pub category: char,
    /// The element type of an array type (0 otherwise).
    pub elem: u32,
    /// The array type of this type (0 if none).
    pub array: u32,
}

const fn t(oid: u32, name: &'static str, len: i16, category: char, array: u32) -> PgType {
    PgType {
        oid,
        name,
        len,
        category,
        elem: 0,
        array,
    }
}

const fn arr(oid: u32, name: &'static str, elem: u32) -> PgType {
    PgType {
        oid,
        name,
        len: -1,
        category: 'A',
        elem,
        array: 0,
    }
}

/// The built-in types clients look up, with PostgreSQL's OIDs.
pub const BUILTIN_TYPES: &[PgType] = &[
    t(16, "bool", 1, 'B', 1000),
    t(17, "bytea", -1, 'U', 1001),
    t(18, "char", 1, 'Z', 1002),
    t(19, "name", 64, 'S', 1003),
    t(20, "int8", 8, 'N', 1016),
    t(21, "int2", 2, 'N', 1005),
    t(22, "int2vector", -1, 'A', 1006),
    t(23, "int4", 4, 'N', 1007),
    t(24, "regproc", 4, 'N', 1008),
    t(25, "text", -1, 'S', 1009),
    t(26, "oid", 4, 'N', 1028),
    t(27, "tid", 6, 'U', 1010),
    t(28, "xid", 4, 'U', 1011),
    t(29, "cid", 4, 'U', 1012),
    t(30, "oidvector", -1, 'A', 1013),
    t(114, "json", -1, 'U', 199),
    t(142, "xml", -1, 'U', 143),
    t(700, "float4", 4, 'N', 1021),
    t(701, "float8", 8, 'N', 1022),
    t(705, "unknown", -2, 'X', 0),
    t(790, "money", 8, 'N', 791),
    t(1042, "bpchar", -1, 'S', 1014),
    t(1043, "varchar", -1, 'S', 1015),
    t(1082, "date", 4, 'D', 1182),
    t(1083, "time", 8, 'D', 1183),
    t(1114, "timestamp", 8, 'D', 1115),
    t(1184, "timestamptz", 8, 'D', 1185),
    t(1186, "interval", 16, 'T', 1187),
    t(1266, "timetz", 12, 'D', 1270),
    t(1560, "bit", -1, 'V', 1561),
    t(1562, "varbit", -1, 'V', 1563),
    t(1700, "numeric", -1, 'N', 1231),
    t(2205, "regclass", 4, 'N', 2210),
    t(2206, "regtype", 4, 'N', 2211),
    t(2249, "record", -1, 'P', 2287),
    t(2278, "void", 4, 'P', 0),
    t(2950, "uuid", 16, 'U', 2951),
    t(3802, "jsonb", -1, 'U', 3807),
    arr(199, "_json", 114),
    arr(143, "_xml", 142),
    arr(791, "_money", 790),
    arr(1000, "_bool", 16),
    arr(1001, "_bytea", 17),
    arr(1002, "_char", 18),
    arr(1003, "_name", 19),
    arr(1005, "_int2", 21),
    arr(1006, "_int2vector", 22),
    arr(1007, "_int4", 23),
    arr(1008, "_regproc", 24),
    arr(1009, "_text", 25),
    arr(1010, "_tid", 27),
    arr(1011, "_xid", 28),
    arr(1012, "_cid", 29),
    arr(1013, "_oidvector", 30),
    arr(1014, "_bpchar", 1042),
    arr(1015, "_varchar", 1043),
    arr(1016, "_int8", 20),
    arr(1021, "_float4", 700),
    arr(1022, "_float8", 701),
    arr(1028, "_oid", 26),
    arr(1115, "_timestamp", 1114),
    arr(1182, "_date", 1082),
    arr(1183, "_time", 1083),
    arr(1185, "_timestamptz", 1184),
    arr(1187, "_interval", 1186),
    arr(1231, "_numeric", 1700),
    arr(1270, "_timetz", 1266),
    arr(1561, "_bit", 1560),
    arr(1563, "_varbit", 1562),
    arr(2210, "_regclass", 2205),
    arr(2211, "_regtype", 2206),
    arr(2287, "_record", 2249),
    arr(2951, "_uuid", 2950),
    arr(3807, "_jsonb", 3802),
];

/// A built-in type by OID.
pub fn by_oid(oid: u32) -> Option<&'static PgType> {
    BUILTIN_TYPES.iter().find(|t| t.oid == oid)
}

/// The `pg_type` OID of a column type.
pub fn type_oid(ty: &SqlType) -> u32 {
    match ty {
        SqlType::Bool => 16,
        SqlType::Int16 => 21,
        SqlType::Int32 => 23,
        SqlType::Int64 => 20,
        SqlType::Float32 => 700,
        SqlType::Float64 => 701,
        SqlType::Numeric { .. } => 1700,
        SqlType::Text => 25,
        SqlType::Varchar(_) => 1043,
        SqlType::Char(_) => 1042,
        SqlType::Bytea => 17,
        SqlType::Date => 1082,
        SqlType::Timestamp => 1114,
        SqlType::TimestampTz => 1184,
        SqlType::Json => 114,
        SqlType::Jsonb => 3802,
        SqlType::Uuid => 2950,
        SqlType::Time => 1083,
        SqlType::Interval => 1186,
        // The element type's array type (`_int4` for `int[]`).
        SqlType::Array(e) => {
            let element = type_oid(&e.sql_type());
            by_oid(element).map_or(0, |t| t.array)
        }
    }
}

/// `atttypmod` of a column type: the declared length or precision, as
/// PostgreSQL encodes it (-1 when none).
pub fn type_modifier(ty: &SqlType) -> i32 {
    const VARHDRSZ: i32 = 4;
    match ty {
        SqlType::Varchar(Some(n)) | SqlType::Char(n) => *n as i32 + VARHDRSZ,
        SqlType::Numeric {
            precision,
            scale,
            unconstrained: false,
        } => ((i32::from(*precision) << 16) | (i32::from(*scale) & 0xffff)) + VARHDRSZ,
        _ => -1,
    }
}

/// `format_type(oid, typmod)`: the type's SQL name, with its modifier.
pub fn format_type(oid: u32, typmod: Option<i32>) -> Option<String> {
    const VARHDRSZ: i32 = 4;
    let m = typmod.filter(|m| *m >= VARHDRSZ).map(|m| m - VARHDRSZ);
    let name = match oid {
        16 => "boolean".to_string(),
        20 => "bigint".to_string(),
        21 => "smallint".to_string(),
        23 => "integer".to_string(),
        700 => "real".to_string(),
        701 => "double precision".to_string(),
        1043 => match m {
            Some(n) => format!("character varying({n})"),
            None => "character varying".to_string(),
        },
        1042 => match m {
            Some(n) => format!("character({n})"),
            None => "bpchar".to_string(),
        },
        1700 => match m {
            Some(m) => format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff),
            None => "numeric".to_string(),
        },
        1083 => "time without time zone".to_string(),
        1114 => "timestamp without time zone".to_string(),
        1184 => "timestamp with time zone".to_string(),
        1266 => "time with time zone".to_string(),
        18 => "\"char\"".to_string(),
        other => {
            let t = by_oid(other)?;
            match t.elem {
                0 => t.name.to_string(),
                elem => format!("{}[]", format_type(elem, None)?),
            }
        }
    };
    Some(name)
}

#[cfg(test)]
#[path = "types_test.rs"]
mod tests;

//! Renders binary-format result values the way PostgreSQL's text output would.
//!
//! tokio-postgres always asks for binary results in the extended protocol, so
//! the extended-mode test driver converts each value back to PostgreSQL's
//! canonical text form (DateStyle ISO, IntervalStyle postgres, bytea hex,
//! shortest-round-trip floats, timestamptz rendered in UTC) before comparing
//! it with the expected output of a `.slt` file.

use std::error::Error;

use tokio_postgres::types::{FromSql, Type};

type BoxError = Box<dyn Error + Sync + Send>;

/// A result value rendered as PostgreSQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgText(pub String);

impl<'a> FromSql<'a> for PgText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        render(ty, raw).map(PgText)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn be<const N: usize>(raw: &[u8], at: usize) -> Result<[u8; N], BoxError> {
    raw.get(at..at + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| "truncated binary value".into())
}

fn i16_at(raw: &[u8], at: usize) -> Result<i16, BoxError> {
    Ok(i16::from_be_bytes(be::<2>(raw, at)?))
}
fn u16_at(raw: &[u8], at: usize) -> Result<u16, BoxError> {
    Ok(u16::from_be_bytes(be::<2>(raw, at)?))
}
fn i32_at(raw: &[u8], at: usize) -> Result<i32, BoxError> {
    Ok(i32::from_be_bytes(be::<4>(raw, at)?))
}
fn i64_at(raw: &[u8], at: usize) -> Result<i64, BoxError> {
    Ok(i64::from_be_bytes(be::<8>(raw, at)?))
}

/// Renders a one-dimensional binary array (`ndim`, has-nulls flag,
/// element OID, then length and lower bound, then each element's length
/// and bytes) as PostgreSQL's text form, quoting elements as it does.
fn render_array(element: &Type, raw: &[u8]) -> Result<String, BoxError> {
    let ndim = i32_at(raw, 0)?;
    if ndim == 0 {
        return Ok("{}".into());
    }
    if ndim != 1 {
        return Err(format!("cannot render a {ndim}-dimensional array").into());
    }
    let count = i32_at(raw, 12)?;
    let mut at = 20;
    let mut parts = Vec::new();
    for _ in 0..count {
        let len = i32_at(raw, at)?;
        at += 4;
        if len < 0 {
            parts.push("NULL".to_string());
            continue;
        }
        let bytes = raw
            .get(at..at + len as usize)
            .ok_or("truncated array element")?;
        at += len as usize;
        let text = render(element, bytes)?;
        let quote = text.is_empty()
            || text.eq_ignore_ascii_case("null")
            || text
                .chars()
                .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
        parts.push(if quote {
            format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            text
        });
    }
    Ok(format!("{{{}}}", parts.join(",")))
}

/// Renders one non-NULL binary value of type `ty` as text.
pub fn render(ty: &Type, raw: &[u8]) -> Result<String, BoxError> {
    if let tokio_postgres::types::Kind::Array(element) = ty.kind() {
        return render_array(element, raw);
    }
    Ok(match *ty {
        Type::BOOL => match raw.first() {
            Some(0) => "f".to_string(),
            Some(_) => "t".to_string(),
            None => return Err("empty bool".into()),
        },
        Type::INT2 => i16_at(raw, 0)?.to_string(),
        Type::INT4 => i32_at(raw, 0)?.to_string(),
        Type::INT8 => i64_at(raw, 0)?.to_string(),
        Type::OID | Type::XID | Type::CID | Type::REGPROC | Type::REGTYPE | Type::REGCLASS => {
            u32::from_be_bytes(be::<4>(raw, 0)?).to_string()
        }
        Type::FLOAT4 => format_float4(f32::from_be_bytes(be::<4>(raw, 0)?)),
        Type::FLOAT8 => format_float8(f64::from_be_bytes(be::<8>(raw, 0)?)),
        Type::NUMERIC => format_numeric(raw)?,
        Type::CHAR => {
            // The internal one-byte "char" type.
            match raw.first() {
                Some(0) | None => String::new(),
                Some(b) if b.is_ascii() => (*b as char).to_string(),
                Some(b) => format!("\\{b:03o}"),
            }
        }
        Type::BYTEA => {
            let mut s = String::with_capacity(2 + raw.len() * 2);
            s.push_str("\\x");
            for b in raw {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
        Type::DATE => format_date(i32_at(raw, 0)?),
        Type::TIME => format_time(i64_at(raw, 0)?),
        Type::TIMESTAMP => format_timestamp(i64_at(raw, 0)?, false),
        Type::TIMESTAMPTZ => format_timestamp(i64_at(raw, 0)?, true),
        Type::INTERVAL => format_interval(i64_at(raw, 0)?, i32_at(raw, 8)?, i32_at(raw, 12)?),
        Type::UUID => {
            let b = be::<16>(raw, 0)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        }
        Type::JSONB => {
            // Version byte, then the JSON text.
            String::from_utf8(raw.get(1..).unwrap_or_default().to_vec())?
        }
        // TEXT, VARCHAR, BPCHAR, NAME, UNKNOWN, JSON, XML and anything else whose
        // binary form is its text form.
        _ => String::from_utf8(raw.to_vec()).map_err(|_| -> BoxError {
            format!("cannot render binary value of type {ty} as text").into()
        })?,
    })
}

/// Splits Rust's shortest round-trip `{:e}` output into (negative, digits, exponent).
fn shortest_digits(s: &str) -> (bool, String, i32) {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (neg, digits, exp.parse().unwrap_or(0))
}

/// PostgreSQL's float output with `extra_float_digits > 0`: shortest round-trip
/// digits, fixed notation when `-4 <= exponent < fixed_limit`, else `d.ddde+XX`.
fn format_shortest(sci: String, fixed_limit: i32) -> String {
    let (neg, digits, exp) = shortest_digits(&sci);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..fixed_limit).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

/// Renders a float8 like PostgreSQL 12+ with the default `extra_float_digits = 1`.
pub fn format_float8(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    format_shortest(format!("{v:e}"), 15)
}

/// Renders a float4 like PostgreSQL 12+ with the default `extra_float_digits = 1`.
pub fn format_float4(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    format_shortest(format!("{v:e}"), 6)
}

/// Decodes PostgreSQL's binary numeric (base-10000 digits) into its text form.
pub fn format_numeric(raw: &[u8]) -> Result<String, BoxError> {
    let ndigits = i16_at(raw, 0)?;
    let weight = i16_at(raw, 2)? as i32;
    let sign = u16_at(raw, 4)?;
    let dscale = u16_at(raw, 6)? as i32;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let mut digits = Vec::with_capacity(ndigits.max(0) as usize);
    for i in 0..ndigits.max(0) as usize {
        digits.push(i16_at(raw, 8 + 2 * i)?);
    }
    let digit = |i: i32| -> i16 {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                out.push_str(&digit(i).to_string());
            } else {
                out.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while (frac.len() as i32) < dscale {
            frac.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        frac.truncate(dscale as usize);
        out.push_str(&frac);
    }
    Ok(out)
}

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic Gregorian).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const USECS_PER_DAY: i64 = 86_400_000_000;

fn format_ymd(days_since_pg_epoch: i64) -> String {
    let (y, m, d) = civil_from_days(days_since_pg_epoch + PG_EPOCH_DAYS);
    if y <= 0 {
        // Year 0 is 1 BC in PostgreSQL's output.
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

fn split_bc(s: String) -> (String, bool) {
    match s.strip_suffix(" BC") {
        Some(rest) => (rest.to_string(), true),
        None => (s, false),
    }
}

/// Renders a date (days since 2000-01-01) in ISO style.
pub fn format_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => format_ymd(d as i64),
    }
}

/// `HH:MM:SS[.ffffff]` with trailing zeros of the fraction trimmed.
fn format_clock(usecs: i64) -> String {
    let secs = usecs / 1_000_000;
    let frac = usecs % 1_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = format!("{h:02}:{m:02}:{s:02}");
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// Renders a time of day (microseconds since midnight).
pub fn format_time(usecs: i64) -> String {
    format_clock(usecs)
}

/// Renders a timestamp (microseconds since 2000-01-01); `tz` appends `+00`
/// (timestamptz values are shown in UTC).
pub fn format_timestamp(usecs: i64, tz: bool) -> String {
    match usecs {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = usecs.div_euclid(USECS_PER_DAY);
    let time = usecs.rem_euclid(USECS_PER_DAY);
    let (date, bc) = split_bc(format_ymd(days));
    let mut out = format!("{date} {}", format_clock(time));
    if tz {
        out.push_str("+00");
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// Renders an interval in IntervalStyle `postgres`.
pub fn format_interval(usecs: i64, days: i32, months: i32) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut is_before = false;
    let mut field = |value: i64, unit: &str, parts: &mut Vec<String>| {
        if value == 0 {
            return;
        }
        let plus = if is_before && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        parts.push(format!("{plus}{value} {unit}{plural}"));
        is_before = value < 0;
    };
    let years = (months / 12) as i64;
    let mons = (months % 12) as i64;
    field(years, "year", &mut parts);
    field(mons, "mon", &mut parts);
    field(days as i64, "day", &mut parts);
    if usecs != 0 || parts.is_empty() {
        let neg = usecs < 0;
        let sign = if neg {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        };
        parts.push(format!(
            "{sign}{}",
            format_clock(usecs.unsigned_abs() as i64)
        ));
    }
    parts.join(" ")
}

#[cfg(test)]
#[path = "pgtext_test.rs"]
mod tests;

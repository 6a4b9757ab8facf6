//! [`Value`]: one SQL datum.
//!
//! Values are what the row store persists (one per column of a row), what the
//! primary-key encoding in [`crate::keycode`] orders, and what the server hands
//! the executor as bound parameters. Temporal values use the Arrow units the
//! executor computes with: dates are days since 1970-01-01, timestamps are
//! microseconds since the epoch (UTC for `timestamptz`). Decimals are a scaled
//! 128-bit integer whose scale is part of the column type.

use std::cmp::Ordering;

/// One SQL datum.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    /// Unscaled value and scale: `Decimal(1050, 2)` is 10.50.
    Decimal(i128, i8),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00:00, no time zone.
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(i64),
    /// A one-dimensional array.
    List(Vec<Value>),
    /// An `interval`: months, days and microseconds, kept apart as
    /// PostgreSQL keeps them.
    Interval(i32, i32, i64),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Orders two values of the same type the way SQL does, with NULL first.
    /// Values of different types compare by variant, which only matters for
    /// deterministic tie-breaking, never for SQL semantics.
    pub fn sql_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int16(a), Int16(b)) => a.cmp(b),
            (Int32(a), Int32(b)) => a.cmp(b),
            (Int64(a), Int64(b)) => a.cmp(b),
            (Float32(a), Float32(b)) => a.total_cmp(b),
            (Float64(a), Float64(b)) => a.total_cmp(b),
            (Decimal(a, s1), Decimal(b, s2)) if s1 == s2 => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (TimestampTz(a), TimestampTz(b)) => a.cmp(b),
            // PostgreSQL orders intervals by their length with 30-day
            // months and 24-hour days.
            (Interval(..), Interval(..)) => self.interval_micros().cmp(&other.interval_micros()),
            (List(a), List(b)) => a
                .iter()
                .zip(b)
                .map(|(x, y)| x.sql_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int16(_) => 2,
            Value::Int32(_) => 3,
            Value::Int64(_) => 4,
            Value::Float32(_) => 5,
            Value::Float64(_) => 6,
            Value::Decimal(..) => 7,
            Value::Text(_) => 8,
            Value::Bytes(_) => 9,
            Value::Date(_) => 10,
            Value::Timestamp(_) => 11,
            Value::TimestampTz(_) => 12,
            Value::List(_) => 13,
            Value::Interval(..) => 14,
        }
    }

    /// An interval's length in microseconds, months as 30 days.
    fn interval_micros(&self) -> i128 {
        match self {
            Value::Interval(months, days, micros) => {
                (i128::from(*months) * 30 + i128::from(*days)) * 86_400_000_000
                    + i128::from(*micros)
            }
            _ => 0,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => write!(f, "NULL"),
            Value::Bool(b) => write!(f, "{}", if *b { "t" } else { "f" }),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write!(f, "{v}"),
            Value::Float64(v) => write!(f, "{v}"),
            Value::Decimal(v, s) => write!(f, "{}", format_decimal(*v, *s)),
            Value::Text(s) => write!(f, "{s}"),
            Value::Bytes(b) => {
                write!(f, "\\x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            Value::Date(d) => write!(f, "{}", format_date(*d)),
            Value::Timestamp(t) => write!(f, "{}", format_timestamp(*t)),
            Value::TimestampTz(t) => write!(f, "{}+00", format_timestamp(*t)),
            // A form PostgreSQL's interval input reads back.
            Value::Interval(months, days, micros) => {
                let sign = if *micros < 0 { "-" } else { "" };
                let abs = micros.unsigned_abs();
                write!(
                    f,
                    "{months} mons {days} days {sign}{}.{:06} secs",
                    abs / 1_000_000,
                    abs % 1_000_000
                )
            }
            Value::List(items) => {
                write!(f, "{{")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    match v {
                        Value::Null => write!(f, "NULL")?,
                        Value::Text(s) => {
                            write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))?
                        }
                        other => write!(f, "{other}")?,
                    }
                }
                write!(f, "}}")
            }
        }
    }
}

/// Formats a scaled integer as PostgreSQL prints `numeric`: `1050, 2` → `10.50`.
pub fn format_decimal(v: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = v.to_string();
        s.extend(std::iter::repeat_n('0', (-scale) as usize));
        return s;
    }
    let scale = scale as usize;
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Formats days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    match chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(UNIX_EPOCH_DAYS_FROM_CE))
    {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("<date {days}>"),
    }
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn format_timestamp(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let t = t.naive_utc();
            if micros.rem_euclid(1_000_000) == 0 {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                let s = t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
                s.trim_end_matches('0').to_string()
            }
        }
        None => format!("<timestamp {micros}>"),
    }
}

/// Parses PostgreSQL's text forms of `bytea`: hex (`\x0102ff`) or escape
/// (`a\\b\001`). `None` if malformed.
pub fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return None;
        }
        return digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
            .collect();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = bytes.get(i + 1..i + 4)?;
            if !oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(oct).ok()?, 8).ok()?);
            i += 4;
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "value_test.rs"]
mod tests;

/// The elements of a one-dimensional array literal (`{1,2}`,
/// `{"a b",NULL}`), `None` for NULL elements.
pub fn parse_array_literal(text: &str) -> crate::Result<Vec<Option<String>>> {
    let malformed = || crate::Error::InvalidText(format!("malformed array literal: \"{text}\""));
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(malformed)?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => item.push(chars.next().ok_or_else(malformed)?),
                    Some('"') => break,
                    Some(c) => item.push(c),
                    None => return Err(malformed()),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    return Err(malformed());
                }
                chars.next();
                if c == '\\' {
                    item.push(chars.next().ok_or_else(malformed)?);
                } else {
                    item.push(c);
                }
            }
            item = item.trim_end().to_string();
            if item.is_empty() {
                return Err(malformed());
            }
        }
        items.push(if !quoted && item.eq_ignore_ascii_case("null") {
            None
        } else {
            Some(item)
        });
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(malformed()),
        }
    }
    Ok(items)
}

/// Appends one element of an array's text form, quoted as PostgreSQL
/// quotes it: when empty, when it is `NULL`, or when it holds a brace, a
/// comma, a double quote, a backslash or (ASCII) white space.
pub fn push_array_element(out: &mut impl Extend<u8>, text: &[u8]) {
    let quote = text.is_empty()
        || text.eq_ignore_ascii_case(b"null")
        || text
            .iter()
            .any(|b| matches!(b, b'{' | b'}' | b',' | b'"' | b'\\') || b.is_ascii_whitespace());
    if !quote {
        out.extend(text.iter().copied());
        return;
    }
    out.extend([b'"']);
    for &b in text {
        if b == b'"' || b == b'\\' {
            out.extend([b'\\']);
        }
        out.extend([b]);
    }
    out.extend([b'"']);
}

/// PostgreSQL's interval input (`1 day`, `2 hours 30 minutes`,
/// `1 mon 2 days 03:04:05.5`, `-1 days +02:00`, `@ 3 days ago`,
/// `1.5 days`): months, days and microseconds. Fractions spill as
/// PostgreSQL's do: a fraction of a month into 30-day days, of a day into
/// time.
pub fn parse_interval(text: &str) -> crate::Result<(i32, i32, i64)> {
    let bad = || {
        crate::Error::InvalidDatetime(format!(
            "invalid input syntax for type interval: \"{text}\""
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    if words.first() == Some(&"@") {
        words.remove(0);
    }
    let ago = words.last() == Some(&"ago");
    if ago {
        words.pop();
    }
    if words.is_empty() {
        return Err(bad());
    }
    const DAY: f64 = 86_400_000_000.0;
    let (mut months, mut days, mut micros) = (0f64, 0f64, 0f64);
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        // A time of day: [+-]HH:MM[:SS[.frac]].
        if word.contains(':') {
            let (sign, rest) = match word.as_bytes()[0] {
                b'-' => (-1.0, &word[1..]),
                b'+' => (1.0, &word[1..]),
                _ => (1.0, word),
            };
            let parts: Vec<&str> = rest.split(':').collect();
            if !(2..=3).contains(&parts.len()) {
                return Err(bad());
            }
            let h: f64 = parts[0].parse().map_err(|_| bad())?;
            let m: f64 = parts[1].parse().map_err(|_| bad())?;
            let s: f64 = match parts.get(2) {
                Some(s) => s.parse().map_err(|_| bad())?,
                None => 0.0,
            };
            if m >= 60.0 || s >= 60.0 || h < 0.0 || m < 0.0 || s < 0.0 {
                return Err(bad());
            }
            micros += sign * ((h * 60.0 + m) * 60.0 + s) * 1_000_000.0;
            i += 1;
            continue;
        }
        // A number, then its unit (the unit may be glued on: `10s`).
        let split = word
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))
            .unwrap_or(word.len());
        let (number, mut unit) = word.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        if !value.is_finite() {
            return Err(bad());
        }
        if unit.is_empty() {
            i += 1;
            // A bare number is seconds, as in PostgreSQL.
            unit = words.get(i).copied().unwrap_or("second");
            if words.get(i).is_none() {
                i -= 1;
            }
        }
        match unit {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => micros += value,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => micros += value * 1e3,
            "second" | "seconds" | "s" | "sec" | "secs" => micros += value * 1e6,
            "minute" | "minutes" | "m" | "min" | "mins" => micros += value * 6e7,
            "hour" | "hours" | "h" | "hr" | "hrs" => micros += value * 3.6e9,
            "day" | "days" | "d" => days += value,
            "week" | "weeks" | "w" => days += value * 7.0,
            "month" | "months" | "mon" | "mons" => months += value,
            "year" | "years" | "y" | "yr" | "yrs" => months += value * 12.0,
            "decade" | "decades" => months += value * 120.0,
            "century" | "centuries" => months += value * 1200.0,
            "millennium" | "millennia" => months += value * 12000.0,
            _ => return Err(bad()),
        }
        i += 1;
    }
    // Fractions spill downwards.
    let whole_months = months.trunc();
    days += (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    micros += (days - whole_days) * DAY;
    let sign = if ago { -1.0 } else { 1.0 };
    let fits = |v: f64, max: f64| v.abs() <= max;
    let (m, d, us) = (
        sign * whole_months,
        sign * whole_days,
        (sign * micros).round(),
    );
    if !fits(m, i32::MAX as f64) || !fits(d, i32::MAX as f64) || !fits(us, i64::MAX as f64) {
        return Err(crate::Error::DatetimeOverflow(
            "interval out of range".into(),
        ));
    }
    Ok((m as i32, d as i32, us as i64))
}

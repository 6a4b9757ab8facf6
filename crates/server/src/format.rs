//! PostgreSQL's wire formats of single values, both ways: the text output of
//! PostgreSQL 15 (DateStyle ISO, IntervalStyle postgres, extra_float_digits
//! 1, bytea_output hex, TimeZone UTC) and the binary send/receive formats,
//! plus the text input forms clients send as parameters.
//!
//! Temporal values use the engine's units (days and microseconds since
//! 1970-01-01); the binary formats count from 2000-01-01.

use bytes::{BufMut, BytesMut};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use prismdb_common::{Error, Result};
use std::fmt::Write;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;
const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SEC;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SEC;
/// chrono's day number of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

fn fmt_err(_: std::fmt::Error) -> Error {
    Error::Internal("formatting a value failed".into())
}

/// A small stack buffer for `{:e}` output of floats (no allocation).
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 48],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        // Only ASCII (float formatting and `digits`) is ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    fn byte(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// Appends `value` in decimal, zero-padded to at least `width` digits:
    /// what `{value:0width$}` writes, without the formatting machinery
    /// (dates and times are written for every row of a result).
    fn digits(&mut self, mut value: u64, width: usize) {
        let mut tmp = [b'0'; 20];
        let mut at = tmp.len();
        loop {
            at -= 1;
            tmp[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        let width = width.min(tmp.len());
        at = at.min(tmp.len() - width);
        for &b in &tmp[at..] {
            self.byte(b);
        }
    }
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes a `float8` as PostgreSQL 15 prints it: the shortest decimal that
/// reads back as the same double, in `%g`-like layout (fixed notation for
/// decimal exponents -4..15, else `1e+20` style).
pub fn write_float8<W: Write>(out: &mut W, v: f64) -> std::fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let mut sci = StackBuf::new();
    write!(sci, "{:e}", v.abs())?;
    write_shortest(out, sci.as_str(), v.is_sign_negative(), 15)
}

/// Writes a `float4` like PostgreSQL 15 (fixed notation for decimal exponents -4..6).
pub fn write_float4<W: Write>(out: &mut W, v: f32) -> std::fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let mut sci = StackBuf::new();
    write!(sci, "{:e}", v.abs())?;
    write_shortest(out, sci.as_str(), v.is_sign_negative(), 6)
}

/// Lays out Rust's shortest `{:e}` digits (`1.2345e3`) the way PostgreSQL's
/// Ryu-based output does.
fn write_shortest<W: Write>(
    out: &mut W,
    sci: &str,
    negative: bool,
    max_exp: i32,
) -> std::fmt::Result {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().map_err(|_| std::fmt::Error)?;
    let mut digits = StackBuf::new();
    for c in mantissa.chars().filter(char::is_ascii_digit) {
        digits.write_char(c)?;
    }
    let digits = digits.as_str();
    if negative {
        out.write_char('-')?;
    }
    if (-4..max_exp).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.write_str(digits)?;
                for _ in digits.len()..int_len {
                    out.write_char('0')?;
                }
            } else {
                out.write_str(&digits[..int_len])?;
                out.write_char('.')?;
                out.write_str(&digits[int_len..])?;
            }
        } else {
            out.write_str("0.")?;
            for _ in 0..(-exp - 1) {
                out.write_char('0')?;
            }
            out.write_str(digits)?;
        }
        Ok(())
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.write_str(first)?;
        if !rest.is_empty() {
            out.write_char('.')?;
            out.write_str(rest)?;
        }
        write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    }
}

/// Writes `bytea` in hex output format: `\x0102`.
pub fn write_bytea_hex<W: Write>(out: &mut W, bytes: &[u8]) -> std::fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_str("\\x")?;
    for b in bytes {
        out.write_char(HEX[(b >> 4) as usize] as char)?;
        out.write_char(HEX[(b & 0xf) as usize] as char)?;
    }
    Ok(())
}

fn date_from_days(days: i64) -> Result<NaiveDate> {
    i32::try_from(days + UNIX_EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| Error::InvalidDatetime("date out of range".into()))
}

fn write_ymd<W: Write>(out: &mut W, date: NaiveDate) -> std::fmt::Result {
    let year = date.year();
    let shown = if year > 0 { year } else { 1 - year };
    let mut buf = StackBuf::new();
    buf.digits(u64::from(shown.unsigned_abs()), 4);
    buf.byte(b'-');
    buf.digits(u64::from(date.month()), 2);
    buf.byte(b'-');
    buf.digits(u64::from(date.day()), 2);
    out.write_str(buf.as_str())
}

fn write_bc<W: Write>(out: &mut W, date: NaiveDate) -> std::fmt::Result {
    if date.year() <= 0 {
        out.write_str(" BC")
    } else {
        Ok(())
    }
}

/// Writes `HH:MM:SS[.ffffff]` with trailing zeros of the fraction trimmed.
fn write_hms<W: Write>(
    out: &mut W,
    hours: i64,
    minutes: i64,
    seconds: i64,
    micros: i64,
) -> std::fmt::Result {
    let mut buf = StackBuf::new();
    buf.digits(hours.unsigned_abs(), 2);
    buf.byte(b':');
    buf.digits(minutes.unsigned_abs(), 2);
    buf.byte(b':');
    buf.digits(seconds.unsigned_abs(), 2);
    if micros != 0 {
        let mut frac = micros.unsigned_abs();
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        buf.byte(b'.');
        buf.digits(frac, width);
    }
    out.write_str(buf.as_str())
}

/// Writes a `date` given in days since 1970-01-01: `2024-01-02`, `0044-03-15 BC`.
pub fn write_date<W: Write>(out: &mut W, days: i32) -> Result<()> {
    match days {
        i32::MAX => return out.write_str("infinity").map_err(fmt_err),
        i32::MIN => return out.write_str("-infinity").map_err(fmt_err),
        _ => {}
    }
    let date = date_from_days(days as i64)?;
    write_ymd(out, date)
        .and_then(|_| write_bc(out, date))
        .map_err(fmt_err)
}

/// Writes a `timestamp` (or with `tz`, a `timestamptz` in UTC) given in
/// microseconds since 1970-01-01: `2024-01-02 03:04:05.5`, `...+00`.
pub fn write_timestamp<W: Write>(out: &mut W, micros: i64, tz: bool) -> Result<()> {
    match micros {
        i64::MAX => return out.write_str("infinity").map_err(fmt_err),
        i64::MIN => return out.write_str("-infinity").map_err(fmt_err),
        _ => {}
    }
    let date = date_from_days(micros.div_euclid(MICROS_PER_DAY))?;
    let tod = micros.rem_euclid(MICROS_PER_DAY);
    let write = |out: &mut W| -> std::fmt::Result {
        write_ymd(out, date)?;
        out.write_char(' ')?;
        write_time_of_day(out, tod)?;
        if tz {
            out.write_str("+00")?;
        }
        write_bc(out, date)
    };
    write(out).map_err(fmt_err)
}

fn write_time_of_day<W: Write>(out: &mut W, micros: i64) -> std::fmt::Result {
    let secs = micros / MICROS_PER_SEC;
    write_hms(
        out,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros % MICROS_PER_SEC,
    )
}

/// Writes a `time` given in microseconds since midnight: `03:04:05.123`.
pub fn write_time<W: Write>(out: &mut W, micros: i64) -> Result<()> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err(Error::InvalidDatetime("time out of range".into()));
    }
    write_time_of_day(out, micros).map_err(fmt_err)
}

/// Writes an `interval` as PostgreSQL does with IntervalStyle `postgres`:
/// `1 year 2 mons 3 days 04:05:06`, `-1 days +02:00:00`, `00:00:00`.
pub fn write_interval<W: Write>(
    out: &mut W,
    months: i32,
    days: i32,
    micros: i64,
) -> std::fmt::Result {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |out: &mut W, value: i64, unit: &str| -> std::fmt::Result {
        if value == 0 {
            return Ok(());
        }
        write!(
            out,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value != 1 { "s" } else { "" },
        )?;
        is_before = value < 0;
        is_zero = false;
        Ok(())
    };
    part(out, (months / 12) as i64, "year")?;
    part(out, (months % 12) as i64, "mon")?;
    part(out, days as i64, "day")?;
    if is_zero || micros != 0 {
        let minus = micros < 0;
        let abs = micros.unsigned_abs();
        let (hours, rest) = (abs / MICROS_PER_HOUR as u64, abs % MICROS_PER_HOUR as u64);
        let (minutes, rest) = (
            rest / MICROS_PER_MINUTE as u64,
            rest % MICROS_PER_MINUTE as u64,
        );
        let (seconds, frac) = (rest / MICROS_PER_SEC as u64, rest % MICROS_PER_SEC as u64);
        write!(
            out,
            "{}{}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            }
        )?;
        write_hms(
            out,
            hours as i64,
            minutes as i64,
            seconds as i64,
            frac as i64,
        )?;
    }
    Ok(())
}

/// Writes a `numeric` of value `unscaled` × 10^-`scale` with exactly
/// `scale` decimals, as PostgreSQL prints it: (1050, 2) → `10.50`.
pub fn write_decimal<W: Write>(out: &mut W, unscaled: i128, scale: i8) -> std::fmt::Result {
    let mut digits = StackBuf::new();
    write!(digits, "{}", unscaled.unsigned_abs())?;
    write_decimal_digits(out, unscaled < 0, digits.as_str(), scale)
}

/// [`write_decimal`] for a magnitude given as decimal digits.
pub fn write_decimal_digits<W: Write>(
    out: &mut W,
    negative: bool,
    digits: &str,
    scale: i8,
) -> std::fmt::Result {
    let zero = digits.bytes().all(|d| d == b'0');
    if negative && !zero {
        out.write_char('-')?;
    }
    if scale <= 0 {
        out.write_str(digits)?;
        if !zero {
            for _ in 0..scale.unsigned_abs() {
                out.write_char('0')?;
            }
        }
        return Ok(());
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.write_str("0.")?;
        for _ in digits.len()..scale {
            out.write_char('0')?;
        }
        out.write_str(digits)
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.write_str(int)?;
        out.write_char('.')?;
        out.write_str(frac)
    }
}

/// Appends PostgreSQL's binary `numeric`: base-10000 digits with weight,
/// sign and display scale. `unscaled` × 10^-`scale` is the value.
pub fn put_numeric_binary(out: &mut BytesMut, unscaled: i128, scale: i8) {
    let mut digits = StackBuf::new();
    // 39 digits always fit the buffer.
    let _ = write!(digits, "{}", unscaled.unsigned_abs());
    put_numeric_digits(out, unscaled < 0, digits.as_str(), scale);
}

/// [`put_numeric_binary`] for a magnitude given as decimal digits.
pub fn put_numeric_digits(out: &mut BytesMut, negative: bool, digits: &str, scale: i8) {
    let mut digits = digits.to_owned();
    let dscale = scale.max(0) as usize;
    if scale < 0 {
        digits.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
    }
    if digits.len() <= dscale {
        digits.insert_str(0, &"0".repeat(dscale + 1 - digits.len()));
    }
    let (int, frac) = digits.split_at(digits.len() - dscale);
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let padded: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int.bytes())
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', frac_pad))
        .collect();
    let mut groups: Vec<i16> = padded
        .chunks(4)
        .map(|c| {
            c.iter()
                .fold(0i16, |acc, d| acc * 10 + d.wrapping_sub(b'0') as i16)
        })
        .collect();
    let mut weight = ((int.len() + int_pad) / 4) as i32 - 1;
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(dscale as u16);
    for g in groups {
        out.put_i16(g);
    }
}

fn pow10(exp: u32) -> Result<i128> {
    10i128
        .checked_pow(exp)
        .ok_or_else(|| Error::NumericOutOfRange("numeric field overflow".into()))
}

/// Reads PostgreSQL's binary `numeric` into (unscaled, display scale).
pub fn read_numeric_binary(bytes: &[u8]) -> Result<(i128, u16)> {
    let bad = || Error::Protocol("invalid binary numeric".into());
    let word = |i: usize| -> Result<u16> {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    let ndigits = word(0)? as i16;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)?;
    if ndigits < 0 || bytes.len() != 8 + 2 * ndigits as usize {
        return Err(bad());
    }
    match sign {
        0 | 0x4000 => {}
        0xC000 => {
            return Err(Error::InvalidParameterValue(
                "NaN is not supported for this numeric".into(),
            ));
        }
        _ => {
            return Err(Error::InvalidParameterValue(
                "infinite numeric is not supported".into(),
            ));
        }
    }
    let overflow = || Error::NumericOutOfRange("numeric field overflow".into());
    let mut acc: i128 = 0;
    for i in 0..ndigits as usize {
        let d = word(8 + 2 * i)? as i16;
        if !(0..10_000).contains(&d) {
            return Err(bad());
        }
        acc = acc
            .checked_mul(10_000)
            .and_then(|a| a.checked_add(d as i128))
            .ok_or_else(overflow)?;
    }
    // acc's last digit sits at 10000^(weight - ndigits + 1).
    let exp10 = 4 * (weight - ndigits as i32 + 1) + dscale as i32;
    let unscaled = if exp10 >= 0 {
        acc.checked_mul(pow10(exp10 as u32)?).ok_or_else(overflow)?
    } else {
        let div = 10i128.checked_pow(exp10.unsigned_abs());
        div.map_or(0, |d| acc / d)
    };
    Ok((if sign == 0x4000 { -unscaled } else { unscaled }, dscale))
}

/// Changes the scale of a decimal, rounding half away from zero like
/// PostgreSQL when digits are dropped.
pub fn rescale(unscaled: i128, from: i32, to: i32) -> Result<i128> {
    let overflow = || Error::NumericOutOfRange("numeric field overflow".into());
    if to >= from {
        unscaled
            .checked_mul(pow10((to - from) as u32)?)
            .ok_or_else(overflow)
    } else {
        let Ok(div) = pow10((from - to) as u32) else {
            return Ok(0);
        };
        let (q, r) = (unscaled / div, unscaled % div);
        let round = if r.unsigned_abs() * 2 >= div.unsigned_abs() {
            unscaled.signum()
        } else {
            0
        };
        q.checked_add(round).ok_or_else(overflow)
    }
}

/// Parses a numeric literal (`-12.50`, `1e3`, `.5`) into (unscaled, scale).
pub fn parse_decimal(text: &str) -> Result<(i128, i32)> {
    let invalid =
        || Error::InvalidText(format!("invalid input syntax for type numeric: \"{text}\""));
    let overflow = || Error::NumericOutOfRange("numeric field overflow".into());
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| invalid())?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    let mut acc: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return Err(invalid());
        }
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add((c - b'0') as i128))
            .ok_or_else(overflow)?;
    }
    let scale = frac.len() as i32 - exp;
    let acc = if negative { -acc } else { acc };
    if scale < 0 {
        Ok((rescale(acc, scale, 0)?, 0))
    } else {
        Ok((acc, scale))
    }
}

/// Parses a `date` literal into days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i32> {
    let s = text.trim();
    match s.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(i32::MIN),
        "epoch" => return Ok(0),
        _ => {}
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        Error::InvalidDatetime(format!("invalid input syntax for type date: \"{text}\""))
    })?;
    Ok((date.num_days_from_ce() as i64 - UNIX_EPOCH_DAYS_FROM_CE) as i32)
}

/// Splits a trailing UTC offset (`+05`, `-08:00`, `+0530`, `Z`, ` UTC`) off
/// a timestamp literal; returns the rest and the offset in seconds.
fn split_offset(s: &str) -> Result<(&str, Option<i64>), ()> {
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")) {
        return Ok((rest.trim_end(), Some(0)));
    }
    // An offset sign can only follow the time part, past `YYYY-MM-DD`.
    let Some(pos) = s
        .rfind(['+', '-'])
        .filter(|p| *p > 10 && s.as_bytes()[..*p].contains(&b':'))
    else {
        return Ok((s, None));
    };
    let sign = if s.as_bytes()[pos] == b'-' { -1 } else { 1 };
    let off = &s[pos + 1..];
    if !off.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return Err(());
    }
    let num = |t: &str| t.parse::<i64>().map_err(|_| ());
    let (h, m, sec) = match off.split(':').collect::<Vec<_>>().as_slice() {
        [h] if h.len() == 4 => (num(&h[..2])?, num(&h[2..])?, 0),
        [h] => (num(h)?, 0, 0),
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return Err(()),
    };
    if h > 15 || m > 59 || sec > 59 {
        return Err(());
    }
    Ok((s[..pos].trim_end(), Some(sign * (h * 3600 + m * 60 + sec))))
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// Parses a `timestamp` (`tz` false: any offset is ignored, as PostgreSQL
/// does) or `timestamptz` (`tz` true: converted to UTC; no offset means UTC,
/// the session time zone) into microseconds since 1970-01-01.
pub fn parse_timestamp(text: &str, tz: bool) -> Result<i64> {
    let type_name = if tz {
        "timestamp with time zone"
    } else {
        "timestamp without time zone"
    };
    let invalid = || {
        Error::InvalidDatetime(format!(
            "invalid input syntax for type {type_name}: \"{text}\""
        ))
    };
    let s = text.trim();
    match s.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        "epoch" => return Ok(0),
        _ => {}
    }
    let (naive, offset) = split_offset(s).map_err(|_| invalid())?;
    let t = parse_naive(naive).ok_or_else(invalid)?;
    let micros = t.and_utc().timestamp_micros();
    let offset = if tz { offset.unwrap_or(0) } else { 0 };
    micros
        .checked_sub(offset * MICROS_PER_SEC)
        .ok_or_else(invalid)
}

/// Parses a `time` literal into microseconds since midnight.
pub fn parse_time(text: &str) -> Result<i64> {
    let s = text.trim();
    let t = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| {
            Error::InvalidDatetime(format!("invalid input syntax for type time: \"{text}\""))
        })?;
    Ok(t.num_seconds_from_midnight() as i64 * MICROS_PER_SEC + (t.nanosecond() / 1000) as i64)
}

/// Parses a `bytea` literal: hex (`\x0102`) or escape format.
pub fn parse_bytea(text: &str) -> Result<Vec<u8>> {
    prismdb_common::value::parse_bytea(text)
        .ok_or_else(|| Error::InvalidText("invalid input syntax for type bytea".into()))
}

/// Parses a `bool` literal the way PostgreSQL's boolin does.
pub fn parse_bool(text: &str) -> Result<bool> {
    let s = text.trim().to_ascii_lowercase();
    let matches = |word: &str| !s.is_empty() && word.starts_with(s.as_str());
    match s.as_str() {
        "1" | "on" => Ok(true),
        "0" | "off" | "of" => Ok(false),
        _ if matches("true") || matches("yes") => Ok(true),
        _ if matches("false") || matches("no") => Ok(false),
        _ => Err(Error::InvalidText(format!(
            "invalid input syntax for type boolean: \"{text}\""
        ))),
    }
}

#[cfg(test)]
#[path = "format_test.rs"]
mod tests;

//! Memcomparable encoding of primary keys.
//!
//! `encode_key(values)` produces bytes whose lexicographic order equals the SQL
//! order of the value tuples (NULL first, then by value), so RocksDB's sorted
//! keys give primary-key order for free and a primary-key range predicate is a
//! byte range. Every value is self-delimiting, so a key can be extended with a
//! suffix (the row store appends the inverted version) and prefixes of a
//! composite key are byte prefixes of the full key.
//!
//! Layout per value: a marker byte (`0x00` NULL, `0x01` present) then
//! * integers, dates, timestamps, decimals: big-endian with the sign bit flipped;
//! * floats: IEEE bits, sign bit flipped for positives and all bits flipped for
//!   negatives (total order, -0.0 before +0.0);
//! * text and bytes: escaped in groups of 8 bytes: each group is padded with
//!   zeros and followed by a byte saying how many bytes are real (9 if more
//!   groups follow), the scheme also used by MyRocks and TiKV.

use crate::{Error, Result, Value};

const NULL: u8 = 0x00;
const PRESENT: u8 = 0x01;
const GROUP: usize = 8;
const MORE: u8 = GROUP as u8 + 1;

/// Kind of a key column, needed to decode a key back into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal(i8),
    Text,
    Bytes,
    Date,
    Timestamp,
    TimestampTz,
}

/// Appends the encoding of one value to `out`.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.extend([PRESENT, *b as u8]),
        Value::Int16(i) => {
            out.push(PRESENT);
            out.extend(((*i as u16) ^ 0x8000).to_be_bytes());
        }
        Value::Int32(i) | Value::Date(i) => {
            out.push(PRESENT);
            out.extend(((*i as u32) ^ 0x8000_0000).to_be_bytes());
        }
        Value::Int64(i) | Value::Timestamp(i) | Value::TimestampTz(i) => {
            out.push(PRESENT);
            out.extend(((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Decimal(i, _) => {
            out.push(PRESENT);
            out.extend(((*i as u128) ^ (1 << 127)).to_be_bytes());
        }
        Value::Float32(f) => {
            out.push(PRESENT);
            let bits = f.to_bits();
            let bits = if bits >> 31 == 1 {
                !bits
            } else {
                bits | (1 << 31)
            };
            out.extend(bits.to_be_bytes());
        }
        Value::Float64(f) => {
            out.push(PRESENT);
            let bits = f.to_bits();
            let bits = if bits >> 63 == 1 {
                !bits
            } else {
                bits | (1 << 63)
            };
            out.extend(bits.to_be_bytes());
        }
        Value::Text(s) => {
            out.push(PRESENT);
            encode_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(PRESENT);
            encode_bytes(out, b);
        }
        // No key column holds an array or an interval; they compare by
        // their text form.
        Value::List(_) | Value::Interval(..) => {
            out.push(PRESENT);
            encode_bytes(out, v.to_string().as_bytes());
        }
    }
}

fn encode_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let mut chunks = b.chunks(GROUP).peekable();
    if chunks.peek().is_none() {
        out.extend([0u8; GROUP]);
        out.push(0);
        return;
    }
    while let Some(chunk) = chunks.next() {
        out.extend(chunk);
        out.extend(std::iter::repeat_n(0u8, GROUP - chunk.len()));
        let last_full = chunk.len() == GROUP && chunks.peek().is_none();
        if chunks.peek().is_some() {
            out.push(MORE);
        } else if last_full {
            // A full final group still needs a terminator group so that
            // "abcdefgh" sorts before "abcdefgh\0".
            out.push(MORE);
            out.extend([0u8; GROUP]);
            out.push(0);
        } else {
            out.push(chunk.len() as u8);
        }
    }
}

/// Encodes a tuple of key values.
pub fn encode_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 9);
    for v in values {
        encode_value(&mut out, v);
    }
    out
}

/// Decodes a key produced by [`encode_key`] given the kinds of its columns.
/// Returns the values and the number of bytes consumed.
pub fn decode_key(mut buf: &[u8], kinds: &[KeyKind]) -> Result<(Vec<Value>, usize)> {
    let start = buf.len();
    let mut values = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let (v, rest) = decode_value(buf, *kind)?;
        values.push(v);
        buf = rest;
    }
    Ok((values, start - buf.len()))
}

fn take<const N: usize>(buf: &[u8]) -> Result<([u8; N], &[u8])> {
    if buf.len() < N {
        return Err(Error::Internal("truncated key".into()));
    }
    let (a, rest) = buf.split_at(N);
    let mut arr = [0u8; N];
    arr.copy_from_slice(a);
    Ok((arr, rest))
}

fn decode_value(buf: &[u8], kind: KeyKind) -> Result<(Value, &[u8])> {
    let ([marker], buf) = take::<1>(buf)?;
    if marker == NULL {
        return Ok((Value::Null, buf));
    }
    Ok(match kind {
        KeyKind::Bool => {
            let ([b], rest) = take::<1>(buf)?;
            (Value::Bool(b != 0), rest)
        }
        KeyKind::Int16 => {
            let (b, rest) = take::<2>(buf)?;
            (Value::Int16((u16::from_be_bytes(b) ^ 0x8000) as i16), rest)
        }
        KeyKind::Int32 | KeyKind::Date => {
            let (b, rest) = take::<4>(buf)?;
            let i = (u32::from_be_bytes(b) ^ 0x8000_0000) as i32;
            (
                if kind == KeyKind::Date {
                    Value::Date(i)
                } else {
                    Value::Int32(i)
                },
                rest,
            )
        }
        KeyKind::Int64 | KeyKind::Timestamp | KeyKind::TimestampTz => {
            let (b, rest) = take::<8>(buf)?;
            let i = (u64::from_be_bytes(b) ^ (1 << 63)) as i64;
            let v = match kind {
                KeyKind::Timestamp => Value::Timestamp(i),
                KeyKind::TimestampTz => Value::TimestampTz(i),
                _ => Value::Int64(i),
            };
            (v, rest)
        }
        KeyKind::Decimal(scale) => {
            let (b, rest) = take::<16>(buf)?;
            (
                Value::Decimal((u128::from_be_bytes(b) ^ (1 << 127)) as i128, scale),
                rest,
            )
        }
        KeyKind::Float32 => {
            let (b, rest) = take::<4>(buf)?;
            let bits = u32::from_be_bytes(b);
            let bits = if bits >> 31 == 1 {
                bits & !(1 << 31)
            } else {
                !bits
            };
            (Value::Float32(f32::from_bits(bits)), rest)
        }
        KeyKind::Float64 => {
            let (b, rest) = take::<8>(buf)?;
            let bits = u64::from_be_bytes(b);
            let bits = if bits >> 63 == 1 {
                bits & !(1 << 63)
            } else {
                !bits
            };
            (Value::Float64(f64::from_bits(bits)), rest)
        }
        KeyKind::Text | KeyKind::Bytes => {
            let mut out = Vec::new();
            let mut buf = buf;
            loop {
                let (group, rest) = take::<GROUP>(buf)?;
                let ([n], rest) = take::<1>(rest)?;
                buf = rest;
                if n == MORE {
                    out.extend(group);
                } else if (n as usize) <= GROUP {
                    out.extend(&group[..n as usize]);
                    break;
                } else {
                    return Err(Error::Internal("corrupt key group".into()));
                }
            }
            let v = if kind == KeyKind::Text {
                Value::Text(
                    String::from_utf8(out)
                        .map_err(|_| Error::Internal("key is not utf-8".into()))?,
                )
            } else {
                Value::Bytes(out)
            };
            (v, buf)
        }
    })
}

/// The length of the first encoded value of `buf`, a value of `kind`,
/// without decoding it: where a key's leading column ends.
pub fn value_len(buf: &[u8], kind: KeyKind) -> Result<usize> {
    let truncated = || Error::Internal("truncated key".into());
    match buf.first() {
        None => return Err(truncated()),
        Some(&NULL) => return Ok(1),
        Some(_) => {}
    }
    let width = match kind {
        KeyKind::Bool => 1,
        KeyKind::Int16 => 2,
        KeyKind::Int32 | KeyKind::Date | KeyKind::Float32 => 4,
        KeyKind::Int64 | KeyKind::Timestamp | KeyKind::TimestampTz | KeyKind::Float64 => 8,
        KeyKind::Decimal(_) => 16,
        KeyKind::Text | KeyKind::Bytes => {
            let mut at = 1;
            loop {
                let n = *buf.get(at + GROUP).ok_or_else(truncated)?;
                at += GROUP + 1;
                if n != MORE {
                    if n as usize > GROUP {
                        return Err(Error::Internal("corrupt key group".into()));
                    }
                    return Ok(at);
                }
            }
        }
    };
    if buf.len() < 1 + width {
        return Err(truncated());
    }
    Ok(1 + width)
}

/// Smallest key greater than every key that starts with `prefix`, or `None`
/// when no such key exists (all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
#[path = "keycode_test.rs"]
mod tests;

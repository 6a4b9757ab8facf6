//! Row encoding: how a row's values are stored in a RocksDB value.
//!
//! A stored value is a tag byte (`TOMBSTONE` or `ROW`) followed, for rows, by
//! a column count and then each value as a type tag plus payload. The format
//! is self-describing so that rows written before an `ADD COLUMN` still decode
//! (missing trailing columns read as NULL) and so that a value can be checked
//! without the catalog.

use prismdb_common::{Error, Result, Value};

pub const TOMBSTONE: u8 = 0;
pub const ROW: u8 = 1;

/// Rows in key order, each with its encoded key, and the key to continue
/// after when the limit ended the read (what range reads return).
pub type Rows = (Vec<(Vec<u8>, Vec<Value>)>, Option<Vec<u8>>);

/// Encodes a row (all stored columns, hidden ones included) as a stored value.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + values.len() * 9);
    out.push(ROW);
    put_varint(&mut out, values.len() as u64);
    for v in values {
        put_value(&mut out, v);
    }
    out
}

/// Appends one value: its type tag and payload.
fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend([1, *b as u8]),
        Value::Int16(i) => {
            out.push(2);
            out.extend(i.to_le_bytes());
        }
        Value::Int32(i) => {
            out.push(3);
            out.extend(i.to_le_bytes());
        }
        Value::Int64(i) => {
            out.push(4);
            out.extend(i.to_le_bytes());
        }
        Value::Float32(f) => {
            out.push(5);
            out.extend(f.to_le_bytes());
        }
        Value::Float64(f) => {
            out.push(6);
            out.extend(f.to_le_bytes());
        }
        Value::Decimal(i, s) => {
            out.push(7);
            out.push(*s as u8);
            out.extend(i.to_le_bytes());
        }
        Value::Text(s) => {
            out.push(8);
            put_varint(out, s.len() as u64);
            out.extend(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(9);
            put_varint(out, b.len() as u64);
            out.extend(b);
        }
        Value::Date(d) => {
            out.push(10);
            out.extend(d.to_le_bytes());
        }
        Value::Timestamp(t) => {
            out.push(11);
            out.extend(t.to_le_bytes());
        }
        Value::TimestampTz(t) => {
            out.push(12);
            out.extend(t.to_le_bytes());
        }
        Value::Interval(months, days, micros) => {
            out.push(14);
            out.extend(months.to_le_bytes());
            out.extend(days.to_le_bytes());
            out.extend(micros.to_le_bytes());
        }
        // An array: its element count, then each element as a value.
        Value::List(items) => {
            out.push(13);
            put_varint(out, items.len() as u64);
            for item in items {
                put_value(out, item);
            }
        }
    }
}

/// The stored value of a deleted row.
pub fn tombstone() -> Vec<u8> {
    vec![TOMBSTONE]
}

/// Decodes a stored value: `None` for a tombstone.
pub fn decode_row(buf: &[u8]) -> Result<Option<Vec<Value>>> {
    decode_columns(buf, None)
}

/// Decodes a stored value; with `keep`, only the columns it marks by stored
/// position (columns past its end too): the others read as NULL, so every
/// column keeps its position, and are skipped without being built. `None`
/// for a tombstone.
pub fn decode_columns(buf: &[u8], keep: Option<&[bool]>) -> Result<Option<Vec<Value>>> {
    let mut r = Reader { buf };
    match r.byte()? {
        TOMBSTONE => return Ok(None),
        ROW => {}
        t => return Err(corrupt(&format!("row tag {t}"))),
    }
    let n = r.varint()? as usize;
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        if keep.is_none_or(|k| k.get(i).copied().unwrap_or(true)) {
            values.push(r.value()?);
        } else {
            r.skip()?;
            values.push(Value::Null);
        }
    }
    Ok(Some(values))
}

fn corrupt(what: &str) -> Error {
    Error::Storage(format!("corrupt row: {what}"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(corrupt("truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt("varint"))
    }

    /// Steps over one value without building it.
    fn skip(&mut self) -> Result<()> {
        let fixed = match self.byte()? {
            0 => 0,
            1 => 1,
            2 => 2,
            3 | 5 | 10 => 4,
            4 | 6 | 11 | 12 => 8,
            7 => 17,
            14 => 16,
            8 | 9 => self.varint()? as usize,
            13 => {
                let n = self.varint()? as usize;
                if n > self.buf.len() {
                    return Err(corrupt("array length"));
                }
                for _ in 0..n {
                    if self.buf.first() == Some(&13) {
                        return Err(corrupt("nested array"));
                    }
                    self.skip()?;
                }
                0
            }
            t => return Err(corrupt(&format!("value tag {t}"))),
        };
        self.take(fixed)?;
        Ok(())
    }

    fn value(&mut self) -> Result<Value> {
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(self.byte()? != 0),
            2 => Value::Int16(i16::from_le_bytes(self.arr()?)),
            3 => Value::Int32(i32::from_le_bytes(self.arr()?)),
            4 => Value::Int64(i64::from_le_bytes(self.arr()?)),
            5 => Value::Float32(f32::from_le_bytes(self.arr()?)),
            6 => Value::Float64(f64::from_le_bytes(self.arr()?)),
            7 => {
                let s = self.byte()? as i8;
                Value::Decimal(i128::from_le_bytes(self.arr()?), s)
            }
            8 => {
                let n = self.varint()? as usize;
                let s = self.take(n)?;
                Value::Text(String::from_utf8(s.to_vec()).map_err(|_| corrupt("utf-8"))?)
            }
            9 => {
                let n = self.varint()? as usize;
                Value::Bytes(self.take(n)?.to_vec())
            }
            10 => Value::Date(i32::from_le_bytes(self.arr()?)),
            11 => Value::Timestamp(i64::from_le_bytes(self.arr()?)),
            12 => Value::TimestampTz(i64::from_le_bytes(self.arr()?)),
            14 => Value::Interval(
                i32::from_le_bytes(self.arr()?),
                i32::from_le_bytes(self.arr()?),
                i64::from_le_bytes(self.arr()?),
            ),
            13 => {
                let n = self.varint()? as usize;
                // Every element takes at least its tag byte.
                if n > self.buf.len() {
                    return Err(corrupt("array length"));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    // Arrays have one dimension: no list inside a list.
                    if self.buf.first() == Some(&13) {
                        return Err(corrupt("nested array"));
                    }
                    items.push(self.value()?);
                }
                Value::List(items)
            }
            t => return Err(corrupt(&format!("value tag {t}"))),
        })
    }
}

#[cfg(test)]
#[path = "row_test.rs"]
mod tests;

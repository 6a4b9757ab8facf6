//! Result rows on the wire: encodes Arrow record batches into DataRow
//! messages, each column in text or binary format as the client asked,
//! straight from the typed arrays.

use crate::format::{self, PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::types::{self, Wire};
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryViewArray, BooleanArray, Date32Array,
    Decimal128Array, Decimal256Array, DurationMicrosecondArray, FixedSizeBinaryArray, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray,
    LargeBinaryArray, LargeStringArray, ListArray, StringArray, StringViewArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Fields, IntervalUnit, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::{BufMut, BytesMut};
use pgwire::messages::data::{DataRow, RowDescription};
use prismdb_common::{Error, Result};
use std::fmt::Write;
use std::ops::Range;
use std::sync::Arc;

/// Encodes the rows of one result set: fixed column types and formats.
#[derive(Debug, Clone)]
pub struct ResultEncoder {
    columns: Vec<ColumnSpec>,
    fields: Fields,
    binary: Vec<bool>,
}

#[derive(Debug, Clone, Copy)]
struct ColumnSpec {
    wire: Wire,
    binary: bool,
}

impl ResultEncoder {
    /// An encoder for rows of `schema`; `binary[i]` asks for binary format in
    /// column `i` (missing entries mean text).
    pub fn new(schema: &Schema, binary: &[bool]) -> Self {
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| ColumnSpec {
                // Every type `pg_type` reports has a wire form; text is the fallback.
                wire: types::wire_of(&types::pg_type(field)).unwrap_or(Wire::Text),
                binary: binary.get(i).copied().unwrap_or(false),
            })
            .collect();
        ResultEncoder {
            columns,
            fields: schema.fields().clone(),
            binary: binary.to_vec(),
        }
    }

    /// The RowDescription matching the encoded rows.
    pub fn row_description(&self) -> RowDescription {
        types::row_description(self.fields.iter().map(|f| f.as_ref()), &self.binary)
    }

    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// Appends DataRows for `rows` of `batch` to `out`.
    pub fn encode(
        &self,
        batch: &RecordBatch,
        rows: Range<usize>,
        out: &mut Vec<DataRow>,
    ) -> Result<()> {
        if batch.num_columns() != self.columns.len() {
            return Err(Error::Internal(format!(
                "result batch has {} columns, its schema {}",
                batch.num_columns(),
                self.columns.len()
            )));
        }
        let arrays = batch
            .columns()
            .iter()
            .map(normalize)
            .collect::<Result<Vec<_>>>()?;
        let columns = arrays.iter().map(Column::new).collect::<Result<Vec<_>>>()?;
        let nulls: Vec<Option<NullBuffer>> = arrays.iter().map(|a| a.logical_nulls()).collect();
        let field_count = self.columns.len() as i16;
        let mut buf = BytesMut::new();
        out.reserve(rows.len());
        for row in rows.clone() {
            if buf.capacity() - buf.len() < 1024 {
                // Room for the rest of the rows at a guessed 64 bytes each,
                // in chunks of at most 64 KiB (rows that need more grow it).
                buf.reserve(((rows.end - row) * 64).clamp(256, 64 * 1024));
            }
            for ((column, spec), nulls) in columns.iter().zip(&self.columns).zip(&nulls) {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    buf.put_i32(-1);
                    continue;
                }
                let at = buf.len();
                buf.put_i32(0);
                if spec.binary {
                    column.write_binary(row, spec.wire, &mut buf)?;
                } else {
                    column.write_text(row, spec.wire, &mut buf)?;
                }
                let len = i32::try_from(buf.len() - at - 4)
                    .map_err(|_| Error::OutOfMemory("value too large for the wire".into()))?;
                buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
            out.push(DataRow::new(buf.split(), field_count));
        }
        Ok(())
    }
}

/// Encodes rows in a COPY data format (see [`crate::copy_out`]).
pub(crate) struct CopyEncoder {
    wires: Vec<Wire>,
}

impl CopyEncoder {
    pub(crate) fn new(schema: &Schema) -> Self {
        CopyEncoder {
            wires: schema
                .fields()
                .iter()
                .map(|f| types::wire_of(&types::pg_type(f)).unwrap_or(Wire::Text))
                .collect(),
        }
    }

    /// Calls `f` for every value of `batch` in row order, with its text
    /// form (binary form: `binary` set), or `None` for NULL, and once at
    /// the end of each row.
    pub(crate) fn each_value(
        &self,
        batch: &RecordBatch,
        binary: bool,
        mut f: impl FnMut(CopyEvent<'_>) -> Result<()>,
    ) -> Result<()> {
        let arrays = batch
            .columns()
            .iter()
            .map(normalize)
            .collect::<Result<Vec<_>>>()?;
        let columns = arrays.iter().map(Column::new).collect::<Result<Vec<_>>>()?;
        let nulls: Vec<Option<NullBuffer>> = arrays.iter().map(|a| a.logical_nulls()).collect();
        let mut scratch = BytesMut::new();
        for row in 0..batch.num_rows() {
            for (i, ((column, wire), nulls)) in
                columns.iter().zip(&self.wires).zip(&nulls).enumerate()
            {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    f(CopyEvent::Value(i, None))?;
                    continue;
                }
                scratch.clear();
                if binary {
                    column.write_binary(row, *wire, &mut scratch)?;
                } else {
                    column.write_text(row, *wire, &mut scratch)?;
                }
                f(CopyEvent::Value(i, Some(&scratch)))?;
            }
            f(CopyEvent::EndRow)?;
        }
        Ok(())
    }
}

/// What [`CopyEncoder::each_value`] reports.
pub(crate) enum CopyEvent<'a> {
    /// The value of a column (`None`: NULL).
    Value(usize, Option<&'a [u8]>),
    /// The row is complete.
    EndRow,
}

/// Casts arrays whose layout the encoder does not read directly to one it
/// does: dictionaries and run-end encoding to their values, and temporal and
/// small types to a single unit per kind.
fn normalize(array: &ArrayRef) -> Result<ArrayRef> {
    use DataType::*;
    let target = match array.data_type() {
        Dictionary(_, v) => v.as_ref().clone(),
        RunEndEncoded(_, v) => v.data_type().clone(),
        Float16 => Float32,
        Decimal32(p, s) | Decimal64(p, s) => Decimal128(*p, *s),
        Date64 => Date32,
        Timestamp(unit, tz) if *unit != TimeUnit::Microsecond => {
            Timestamp(TimeUnit::Microsecond, tz.clone())
        }
        Time32(_) | Time64(TimeUnit::Nanosecond) => Time64(TimeUnit::Microsecond),
        Duration(unit) if *unit != TimeUnit::Microsecond => Duration(TimeUnit::Microsecond),
        Interval(IntervalUnit::YearMonth | IntervalUnit::DayTime) => {
            Interval(IntervalUnit::MonthDayNano)
        }
        // Lists: one layout (32-bit offsets), elements normalized too.
        List(f) | LargeList(f) | FixedSizeList(f, _) => {
            let element = normalized_type(f.data_type());
            let target = List(Arc::new(f.as_ref().clone().with_data_type(element)));
            if &target == array.data_type() {
                return Ok(array.clone());
            }
            target
        }
        _ => return Ok(array.clone()),
    };
    let cast = arrow::compute::cast(array, &target)
        .map_err(|e| Error::Internal(format!("cannot encode {} column: {e}", array.data_type())))?;
    // A dictionary of dictionaries or of timestamps needs a second step.
    if matches!(array.data_type(), Dictionary(..) | RunEndEncoded(..)) {
        normalize(&cast)
    } else {
        Ok(cast)
    }
}

/// The type [`normalize`] turns arrays of `dt` into.
fn normalized_type(dt: &DataType) -> DataType {
    use DataType::*;
    match dt {
        Dictionary(_, v) => normalized_type(v),
        RunEndEncoded(_, v) => normalized_type(v.data_type()),
        Float16 => Float32,
        Decimal32(p, s) | Decimal64(p, s) => Decimal128(*p, *s),
        Date64 => Date32,
        Timestamp(_, tz) => Timestamp(TimeUnit::Microsecond, tz.clone()),
        Time32(_) | Time64(_) => Time64(TimeUnit::Microsecond),
        Duration(_) => Duration(TimeUnit::Microsecond),
        Interval(_) => Interval(IntervalUnit::MonthDayNano),
        List(f) | LargeList(f) | FixedSizeList(f, _) => List(Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(normalized_type(f.data_type())),
        )),
        other => other.clone(),
    }
}

/// One column of a batch, downcast once.
enum Column<'a> {
    Null,
    Bool(&'a BooleanArray),
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    U64(&'a UInt64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Dec128(&'a Decimal128Array, i8),
    Dec256(&'a Decimal256Array, i8),
    Str(&'a StringArray),
    LargeStr(&'a LargeStringArray),
    StrView(&'a StringViewArray),
    Bin(&'a BinaryArray),
    LargeBin(&'a LargeBinaryArray),
    BinView(&'a BinaryViewArray),
    FixedBin(&'a FixedSizeBinaryArray),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray),
    Time(&'a Time64MicrosecondArray),
    Duration(&'a DurationMicrosecondArray),
    Interval(&'a IntervalMonthDayNanoArray),
    /// A list (normalized to 32-bit offsets): its elements, their column
    /// and their wire form.
    List(&'a ListArray, Box<Column<'a>>, Wire),
    /// Anything else, shown as Arrow displays it and sent as text.
    Display(ArrayFormatter<'a>),
}

macro_rules! downcast {
    ($array:expr, $method:ident $(::<$t:ty>)?) => {
        $array
            .$method$(::<$t>)?()
            .ok_or_else(|| Error::Internal(format!("array does not match its type {}", $array.data_type())))?
    };
}

impl<'a> Column<'a> {
    fn new(array: &'a ArrayRef) -> Result<Self> {
        use arrow::datatypes::*;
        let a = array.as_ref();
        Ok(match a.data_type() {
            DataType::Null => Column::Null,
            DataType::Boolean => Column::Bool(downcast!(a, as_boolean_opt)),
            DataType::Int8 => Column::I8(downcast!(a, as_primitive_opt::<Int8Type>)),
            DataType::Int16 => Column::I16(downcast!(a, as_primitive_opt::<Int16Type>)),
            DataType::Int32 => Column::I32(downcast!(a, as_primitive_opt::<Int32Type>)),
            DataType::Int64 => Column::I64(downcast!(a, as_primitive_opt::<Int64Type>)),
            DataType::UInt8 => Column::U8(downcast!(a, as_primitive_opt::<UInt8Type>)),
            DataType::UInt16 => Column::U16(downcast!(a, as_primitive_opt::<UInt16Type>)),
            DataType::UInt32 => Column::U32(downcast!(a, as_primitive_opt::<UInt32Type>)),
            DataType::UInt64 => Column::U64(downcast!(a, as_primitive_opt::<UInt64Type>)),
            DataType::Float32 => Column::F32(downcast!(a, as_primitive_opt::<Float32Type>)),
            DataType::Float64 => Column::F64(downcast!(a, as_primitive_opt::<Float64Type>)),
            DataType::Decimal128(_, s) => {
                Column::Dec128(downcast!(a, as_primitive_opt::<Decimal128Type>), *s)
            }
            DataType::Decimal256(_, s) => {
                Column::Dec256(downcast!(a, as_primitive_opt::<Decimal256Type>), *s)
            }
            DataType::Utf8 => Column::Str(downcast!(a, as_string_opt::<i32>)),
            DataType::LargeUtf8 => Column::LargeStr(downcast!(a, as_string_opt::<i64>)),
            DataType::Utf8View => Column::StrView(downcast!(a, as_string_view_opt)),
            DataType::Binary => Column::Bin(downcast!(a, as_binary_opt::<i32>)),
            DataType::LargeBinary => Column::LargeBin(downcast!(a, as_binary_opt::<i64>)),
            DataType::BinaryView => Column::BinView(downcast!(a, as_binary_view_opt)),
            DataType::FixedSizeBinary(_) => {
                Column::FixedBin(downcast!(a, as_fixed_size_binary_opt))
            }
            DataType::Date32 => Column::Date(downcast!(a, as_primitive_opt::<Date32Type>)),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Column::Timestamp(downcast!(a, as_primitive_opt::<TimestampMicrosecondType>))
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                Column::Time(downcast!(a, as_primitive_opt::<Time64MicrosecondType>))
            }
            DataType::Duration(TimeUnit::Microsecond) => {
                Column::Duration(downcast!(a, as_primitive_opt::<DurationMicrosecondType>))
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => {
                Column::Interval(downcast!(a, as_primitive_opt::<IntervalMonthDayNanoType>))
            }
            DataType::List(f) => {
                let list = downcast!(a, as_list_opt::<i32>);
                let wire = types::wire_of(&types::pg_type(f)).unwrap_or(Wire::Text);
                Column::List(list, Box::new(Column::new(list.values())?), wire)
            }
            _ => Column::Display(
                ArrayFormatter::try_new(a, &FormatOptions::default()).map_err(|e| {
                    Error::NotSupported(format!(
                        "cannot send values of type {}: {e}",
                        a.data_type()
                    ))
                })?,
            ),
        })
    }

    fn int(&self, row: usize) -> Option<i128> {
        Some(match self {
            Column::I8(a) => a.value(row) as i128,
            Column::I16(a) => a.value(row) as i128,
            Column::I32(a) => a.value(row) as i128,
            Column::I64(a) => a.value(row) as i128,
            Column::U8(a) => a.value(row) as i128,
            Column::U16(a) => a.value(row) as i128,
            Column::U32(a) => a.value(row) as i128,
            Column::U64(a) => a.value(row) as i128,
            _ => return None,
        })
    }

    fn float(&self, row: usize) -> Option<f64> {
        match self {
            Column::F32(a) => Some(a.value(row) as f64),
            Column::F64(a) => Some(a.value(row)),
            _ => None,
        }
    }

    fn text(&self, row: usize) -> Option<&'a str> {
        match self {
            Column::Str(a) => Some(a.value(row)),
            Column::LargeStr(a) => Some(a.value(row)),
            Column::StrView(a) => Some(a.value(row)),
            _ => None,
        }
    }

    fn bytes(&self, row: usize) -> Option<&'a [u8]> {
        match self {
            Column::Bin(a) => Some(a.value(row)),
            Column::LargeBin(a) => Some(a.value(row)),
            Column::BinView(a) => Some(a.value(row)),
            Column::FixedBin(a) => Some(a.value(row)),
            _ => None,
        }
    }

    /// (months, days, microseconds) of an interval-like value.
    fn interval(&self, row: usize) -> Option<(i32, i32, i64)> {
        match self {
            Column::Interval(a) => {
                let v = a.value(row);
                Some((v.months, v.days, v.nanoseconds / 1000))
            }
            Column::Duration(a) => Some((0, 0, a.value(row))),
            _ => None,
        }
    }

    fn write_text(&self, row: usize, wire: Wire, out: &mut BytesMut) -> Result<()> {
        let fmt = |r: std::fmt::Result| {
            r.map_err(|_| Error::Internal("formatting a value failed".into()))
        };
        if let Some(v) = self.int(row) {
            return fmt(write!(out, "{v}"));
        }
        if let Some(v) = self.float(row) {
            return fmt(match (self, wire) {
                (Column::F32(a), Wire::Float4 | Wire::Text) => {
                    format::write_float4(out, a.value(row))
                }
                (_, Wire::Float4) => format::write_float4(out, v as f32),
                _ => format::write_float8(out, v),
            });
        }
        if let Some(s) = self.text(row) {
            out.put_slice(s.as_bytes());
            return Ok(());
        }
        if let Some(b) = self.bytes(row) {
            return fmt(format::write_bytea_hex(out, b));
        }
        if let Some((months, days, micros)) = self.interval(row) {
            return fmt(format::write_interval(out, months, days, micros));
        }
        match self {
            Column::Bool(a) => out.put_u8(if a.value(row) { b't' } else { b'f' }),
            Column::Dec128(a, scale) => fmt(format::write_decimal(out, a.value(row), *scale))?,
            Column::Dec256(a, scale) => {
                let v = a.value(row);
                let text = v.to_string();
                let digits = text.trim_start_matches('-');
                fmt(format::write_decimal_digits(
                    out,
                    digits.len() != text.len(),
                    digits,
                    *scale,
                ))?
            }
            Column::Date(a) => format::write_date(out, a.value(row))?,
            Column::Timestamp(a) => {
                format::write_timestamp(out, a.value(row), wire == Wire::TimestampTz)?
            }
            Column::Time(a) => format::write_time(out, a.value(row))?,
            Column::List(list, elements, element_wire) if wire == Wire::Vector => {
                let (start, end) = list_bounds(list, row);
                for i in start..end {
                    if i > start {
                        out.put_u8(b' ');
                    }
                    elements.write_text(i, *element_wire, out)?;
                }
            }
            Column::List(list, elements, element_wire) => {
                let (start, end) = list_bounds(list, row);
                let nulls = list.values().logical_nulls();
                let mut element = BytesMut::new();
                out.put_u8(b'{');
                for i in start..end {
                    if i > start {
                        out.put_u8(b',');
                    }
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        out.put_slice(b"NULL");
                        continue;
                    }
                    element.clear();
                    elements.write_text(i, *element_wire, &mut element)?;
                    prismdb_common::value::push_array_element(out, &element);
                }
                out.put_u8(b'}');
            }
            Column::Display(f) => fmt(write!(out, "{}", f.value(row)))?,
            _ => {}
        }
        Ok(())
    }

    fn write_binary(&self, row: usize, wire: Wire, out: &mut BytesMut) -> Result<()> {
        let out_of_range =
            |ty: &str| Error::NumericOutOfRange(format!("value out of range for type {ty}"));
        if let Some(v) = self.int(row) {
            match wire {
                Wire::Int2 => out.put_i16(i16::try_from(v).map_err(|_| out_of_range("smallint"))?),
                Wire::Int4 => out.put_i32(i32::try_from(v).map_err(|_| out_of_range("integer"))?),
                Wire::Oid => out.put_u32(u32::try_from(v).map_err(|_| out_of_range("oid"))?),
                Wire::Numeric => format::put_numeric_binary(out, v, 0),
                _ => out.put_i64(i64::try_from(v).map_err(|_| out_of_range("bigint"))?),
            }
            return Ok(());
        }
        if let Some(v) = self.float(row) {
            match (self, wire) {
                (Column::F32(a), Wire::Float4) => out.put_f32(a.value(row)),
                (_, Wire::Float4) => out.put_f32(v as f32),
                _ => out.put_f64(v),
            }
            return Ok(());
        }
        if let Some(s) = self.text(row) {
            return put_text_binary(s, wire, out);
        }
        if let Some(b) = self.bytes(row) {
            out.put_slice(b);
            return Ok(());
        }
        if let Some((months, days, micros)) = self.interval(row) {
            out.put_i64(micros);
            out.put_i32(days);
            out.put_i32(months);
            return Ok(());
        }
        match self {
            Column::Bool(a) => out.put_u8(a.value(row) as u8),
            Column::Dec128(a, scale) => format::put_numeric_binary(out, a.value(row), *scale),
            Column::Dec256(a, scale) => {
                let v = a.value(row);
                let text = v.to_string();
                let digits = text.trim_start_matches('-');
                format::put_numeric_digits(out, digits.len() != text.len(), digits, *scale);
            }
            Column::Date(a) => out.put_i32(match a.value(row) {
                d @ (i32::MIN | i32::MAX) => d,
                d => d
                    .checked_sub(PG_EPOCH_DAYS)
                    .ok_or_else(|| out_of_range("date"))?,
            }),
            Column::Timestamp(a) => out.put_i64(match a.value(row) {
                t @ (i64::MIN | i64::MAX) => t,
                t => t
                    .checked_sub(PG_EPOCH_MICROS)
                    .ok_or_else(|| out_of_range("timestamp"))?,
            }),
            Column::Time(a) => out.put_i64(a.value(row)),
            Column::List(list, elements, element_wire) => {
                let (start, end) = list_bounds(list, row);
                let nulls = list.values().logical_nulls();
                let has_nulls = (start..end).any(|i| nulls.as_ref().is_some_and(|n| n.is_null(i)));
                let element_type = types::pg_type(match list.data_type() {
                    DataType::List(f) => f.as_ref(),
                    _ => return Err(Error::Internal("list column without a list type".into())),
                });
                let count = i32::try_from(end - start)
                    .map_err(|_| Error::OutOfMemory("array too large for the wire".into()))?;
                out.put_i32(i32::from(count > 0));
                out.put_i32(i32::from(has_nulls));
                out.put_u32(element_type.oid());
                if count > 0 {
                    out.put_i32(count);
                    out.put_i32(1);
                }
                for i in start..end {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        out.put_i32(-1);
                        continue;
                    }
                    let at = out.len();
                    out.put_i32(0);
                    elements.write_binary(i, *element_wire, out)?;
                    let len = i32::try_from(out.len() - at - 4)
                        .map_err(|_| Error::OutOfMemory("value too large for the wire".into()))?;
                    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
                }
            }
            Column::Display(f) => write!(out, "{}", f.value(row))
                .map_err(|_| Error::Internal("formatting a value failed".into()))?,
            _ => {}
        }
        Ok(())
    }
}

/// The range of a list's elements in its values array.
fn list_bounds(list: &ListArray, row: usize) -> (usize, usize) {
    let offsets = list.value_offsets();
    (offsets[row] as usize, offsets[row + 1] as usize)
}

/// Binary form of a text-backed value of a text-like type.
fn put_text_binary(s: &str, wire: Wire, out: &mut BytesMut) -> Result<()> {
    match wire {
        Wire::Jsonb => {
            out.put_u8(1);
            out.put_slice(s.as_bytes());
        }
        Wire::Uuid => {
            let hex: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
            let invalid =
                || Error::InvalidText(format!("invalid input syntax for type uuid: \"{s}\""));
            if hex.len() != 32 {
                return Err(invalid());
            }
            for pair in hex.chunks(2) {
                let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
                out.put_u8(u8::from_str_radix(pair, 16).map_err(|_| invalid())?);
            }
        }
        _ => out.put_slice(s.as_bytes()),
    }
    Ok(())
}

#[cfg(test)]
#[path = "encode_test.rs"]
mod tests;

//! The data format of a `COPY ... TO STDOUT`, as its statement's options
//! chose it: decided by the executor, written by the wire layer (which
//! owns the text and binary forms of values).

/// How a COPY's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// Tab-separated (by default) text with backslash escapes.
    Text,
    /// Comma-separated (by default) values, quoted where needed.
    Csv,
    /// PostgreSQL's binary COPY format: a header, then each row's values
    /// in their binary wire form.
    Binary,
}

/// The format of a `COPY ... TO STDOUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutFormat {
    pub kind: CopyKind,
    pub delimiter: u8,
    /// How NULL is written (`\N` in text, empty in CSV by default).
    pub null: String,
    pub quote: u8,
    pub escape: u8,
    /// CSV: a first line naming the columns.
    pub header: bool,
    /// CSV: columns whose non-NULL values are always quoted.
    pub force_quote: Vec<bool>,
}

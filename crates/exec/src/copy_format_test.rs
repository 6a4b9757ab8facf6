//! Unit tests of the COPY text and CSV readers; the expected results were
//! checked against PostgreSQL 15.

use super::*;

type Row = Vec<Option<String>>;

/// Reads every row of `chunks`, delivered one chunk at a time.
fn read(format: CopyFormat, chunks: &[&[u8]]) -> Result<Vec<Row>> {
    let mut reader = RowReader::new(format);
    let mut fields = Fields::default();
    let mut rows = Vec::new();
    let mut collect = |reader: &mut RowReader, finished: bool| -> Result<bool> {
        loop {
            match reader.next_row(&mut fields, finished)? {
                Next::Row => rows.push(
                    (0..fields.len())
                        .map(|i| {
                            fields
                                .get(i)
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                        })
                        .collect(),
                ),
                Next::NeedMore => return Ok(false),
                Next::End => return Ok(true),
            }
        }
    };
    for chunk in chunks {
        reader.push(chunk);
        if collect(&mut reader, false)? {
            return Ok(rows);
        }
    }
    collect(&mut reader, true)?;
    Ok(rows)
}

fn text(chunks: &[&[u8]]) -> Result<Vec<Row>> {
    read(CopyFormat::new(Kind::Text), chunks)
}

fn csv(chunks: &[&[u8]]) -> Result<Vec<Row>> {
    read(CopyFormat::new(Kind::Csv), chunks)
}

fn row(fields: &[Option<&str>]) -> Row {
    fields.iter().map(|f| f.map(str::to_string)).collect()
}

fn message(r: Result<Vec<Row>>) -> String {
    match r {
        Ok(rows) => panic!("expected an error, got {rows:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn text_fields_escapes_and_nulls() {
    let rows = text(&[b"1\thello\n2\t\\N\n3\ttab\\there\\\\back\\nnl\\x41\\101\\q\n"]).unwrap();
    assert_eq!(
        rows,
        vec![
            row(&[Some("1"), Some("hello")]),
            row(&[Some("2"), None]),
            row(&[Some("3"), Some("tab\there\\back\nnlAAq")]),
        ]
    );
    // Octal and hex escapes take at most 3 and 2 digits.
    assert_eq!(
        text(&[b"\\101\\1012|\\x414|\\x4g\n"]).unwrap(),
        vec![row(&[Some("AA2|A4|\u{4}g")])]
    );
    // An escaped delimiter or newline is data.
    assert_eq!(
        text(&[b"a\\\tb\tc\\\nd\n"]).unwrap(),
        vec![row(&[Some("a\tb"), Some("c\nd")])]
    );
    // NULL is recognized on the raw text: an escaped \N is not NULL.
    assert_eq!(
        text(&[b"\\\\N\t\\N\n"]).unwrap(),
        vec![row(&[Some("\\N"), None])]
    );
}

#[test]
fn text_rows_span_chunks_at_any_byte() {
    let data: &[u8] = b"1\tab\\tc\r\n22\t\\N\r\n333\t\\101x\r\n\\.\r\n";
    let whole = text(&[data]).unwrap();
    assert_eq!(whole.len(), 3);
    for split in 1..data.len() {
        let (a, b) = data.split_at(split);
        assert_eq!(text(&[a, b]).unwrap(), whole, "split at {split}");
    }
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(text(&bytes).unwrap(), whole);
}

#[test]
fn text_end_marker() {
    assert_eq!(
        text(&[b"1\n\\.\n2\n"]).unwrap(),
        vec![row(&[Some("1")])],
        "data after the marker is ignored"
    );
    assert_eq!(
        text(&[b"x\\.\n"]).unwrap(),
        vec![row(&[Some("x")])],
        "a marker after data ends the line and the data"
    );
    assert_eq!(message(text(&[b"x\n\\."])), "end-of-copy marker corrupt");
    assert_eq!(message(text(&[b"x\n\\.x\n"])), "end-of-copy marker corrupt");
    assert_eq!(
        message(text(&[b"x\r\n\\.\n"])),
        "end-of-copy marker does not match previous newline style"
    );
}

#[test]
fn text_line_ends() {
    assert_eq!(
        text(&[b"1\tx\r\n2\ty\r\n"]).unwrap().len(),
        2,
        "CR LF line ends"
    );
    assert_eq!(text(&[b"a\rb\r"]).unwrap().len(), 2, "CR line ends");
    assert_eq!(
        text(&[b"1\tx"]).unwrap(),
        vec![row(&[Some("1"), Some("x")])],
        "a last line without a line end"
    );
    assert_eq!(
        message(text(&[b"1\tx\r\n2\ty\n"])),
        "literal newline found in data"
    );
    assert_eq!(
        message(text(&[b"a\nb\rc\n"])),
        "literal carriage return found in data"
    );
    assert_eq!(text(&[b"\n\n"]).unwrap(), vec![row(&[Some("")]); 2]);
    assert_eq!(text(&[b"x\\"]).unwrap(), vec![row(&[Some("x")])]);
}

#[test]
fn text_rejects_nul_bytes() {
    assert!(message(text(&[b"a\\0\n"])).contains("0x00"));
    assert!(message(text(&[b"a\0\n"])).contains("0x00"));
}

#[test]
fn text_options() {
    let mut f = CopyFormat::new(Kind::Text);
    f.delimiter = b'|';
    f.null = b"".to_vec();
    f.header = true;
    assert_eq!(
        read(f, &[b"a|b\n4|a\\|b\n5|\n"]).unwrap(),
        vec![row(&[Some("4"), Some("a|b")]), row(&[Some("5"), None])]
    );
}

#[test]
fn csv_quoting_and_nulls() {
    let rows = csv(&[
        b"10,\"quoted, comma\",5\n11,,6\n12,\"\",7\n13,\"a \"\"q\"\" b\",8\n14,\"multi\nline\",9\n",
    ])
    .unwrap();
    assert_eq!(
        rows,
        vec![
            row(&[Some("10"), Some("quoted, comma"), Some("5")]),
            row(&[Some("11"), None, Some("6")]),
            row(&[Some("12"), Some(""), Some("7")]),
            row(&[Some("13"), Some("a \"q\" b"), Some("8")]),
            row(&[Some("14"), Some("multi\nline"), Some("9")]),
        ]
    );
    assert_eq!(
        csv(&[b"1,a\"b\"c\n1,\"a\"b\n1, x \n1,\\N\n"]).unwrap(),
        vec![
            row(&[Some("1"), Some("abc")]),
            row(&[Some("1"), Some("ab")]),
            row(&[Some("1"), Some(" x ")]),
            row(&[Some("1"), Some("\\N")]),
        ]
    );
    assert_eq!(csv(&[b"\n"]).unwrap(), vec![row(&[None])]);
    assert_eq!(
        message(csv(&[b"1,\"abc\n"])),
        "unterminated CSV quoted field"
    );
}

#[test]
fn csv_rows_span_chunks_at_any_byte() {
    let data: &[u8] = b"1,\"a,\"\"b\"\"\r\nc\",x\r\n2,,\"\"\r\n";
    let whole = csv(&[data]).unwrap();
    assert_eq!(
        whole,
        vec![
            row(&[Some("1"), Some("a,\"b\"\r\nc"), Some("x")]),
            row(&[Some("2"), None, Some("")]),
        ]
    );
    for split in 1..data.len() {
        let (a, b) = data.split_at(split);
        assert_eq!(csv(&[a, b]).unwrap(), whole, "split at {split}");
    }
}

#[test]
fn csv_end_marker_only_alone_on_a_line() {
    assert_eq!(
        csv(&[b"1,x\n\\.\n2,y\n"]).unwrap(),
        vec![row(&[Some("1"), Some("x")])]
    );
    assert_eq!(
        csv(&[b"y\n\\."]).unwrap(),
        vec![row(&[Some("y")]), row(&[Some("\\.")])]
    );
    assert_eq!(
        csv(&[b"z\n\\.x\n\"\\.\"\n"]).unwrap(),
        vec![row(&[Some("z")]), row(&[Some("\\.x")]), row(&[Some("\\.")])]
    );
}

#[test]
fn csv_options() {
    let mut f = CopyFormat::new(Kind::Csv);
    f.quote = b'\'';
    f.escape = b'\\';
    assert_eq!(
        read(f, &[b"9,'a\\'b'\n"]).unwrap(),
        vec![row(&[Some("9"), Some("a'b")])]
    );
    let mut f = CopyFormat::new(Kind::Csv);
    f.null = b"\\N".to_vec();
    assert_eq!(
        read(f, &[b"1,\n2,\\N\n3,\"\\N\"\n"]).unwrap(),
        vec![
            row(&[Some("1"), Some("")]),
            row(&[Some("2"), None]),
            row(&[Some("3"), Some("\\N")]),
        ]
    );
    let mut f = CopyFormat::new(Kind::Csv);
    f.force_null = vec![false, true];
    f.force_not_null = vec![true, false];
    assert_eq!(
        read(f, &[b",\"\"\n"]).unwrap(),
        vec![row(&[Some(""), None])]
    );
    let mut f = CopyFormat::new(Kind::Csv);
    f.header = true;
    f.delimiter = b';';
    assert_eq!(
        read(f, &[b"a;\"b\nc\"\n1;2"]).unwrap(),
        vec![row(&[Some("1"), Some("2")])]
    );
}

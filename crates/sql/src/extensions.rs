//! PrismDB's own statement forms, which sqlparser does not parse.
//!
//! [`parse_statements`] splits a string into statements the way sqlparser's
//! `Parser::parse_statements` does, but at the start of every statement it
//! first tries the forms below; anything else is parsed by sqlparser as
//! usual. Each form becomes an ordinary sqlparser AST, so the rest of
//! PrismDB needs no statement type of its own:
//!
//! * `ALTER TABLE [IF EXISTS] [ONLY] name SET COLUMNAR REPLICA n` (keywords
//!   in any case, the name possibly quoted or qualified) becomes a
//!   `Statement::AlterTable` with one `SetTblProperties` operation whose
//!   single property is `columnar_replica = n`
//!   ([`crate::ddl::COLUMNAR_REPLICA_PROPERTY`]). `n` is read as a number
//!   literal (optionally signed); whether it is a valid count is decided
//!   when the statement is bound.
//! * `FETCH` and `MOVE` in PostgreSQL's full grammar
//!   (`FETCH [direction] [FROM | IN] cursor`, where the direction and the
//!   `FROM` are optional and counts may be signed) become
//!   `Statement::Fetch`; a MOVE is told apart by its `into` target,
//!   [`MOVE_MARKER`] (PostgreSQL's FETCH has no INTO).
//! * `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [(options)] [tables]` in
//!   PostgreSQL's grammar: with ANALYZE, `Statement::Analyze` of its table;
//!   without, a `Statement::Vacuum` that does nothing (the row store
//!   collects old versions itself).
//! * In a COPY, the boolean options written `on` / `off` / `1` / `0`
//!   (`WITH (FREEZE on)`, as pgbench sends it) read as TRUE / FALSE
//!   ([`copy_boolean_options`]).
//! * `CREATE SEQUENCE` with its options in any order (sqlparser takes
//!   them in one order only) becomes `Statement::CreateSequence`. Note that
//!   sqlparser's `SequenceOptions::Cycle(no)` is true for `NO CYCLE`.
//! * `CREATE USER` and `ALTER USER` in PostgreSQL's grammar (sqlparser
//!   reads them as Snowflake's) become `Statement::CreateRole` (with LOGIN
//!   unless NOLOGIN is given) and `Statement::AlterRole`.

use crate::ddl::COLUMNAR_REPLICA_PROPERTY;
use crate::sqlparser::ast::helpers::attached_token::AttachedToken;
use crate::sqlparser::ast::{
    AlterTable, AlterTableOperation, FetchDirection, FetchPosition, Ident, ObjectName, SqlOption,
    Statement, Value, ValueWithSpan,
};
use crate::sqlparser::keywords::Keyword;
use crate::sqlparser::parser::{Parser, ParserError};
use crate::sqlparser::tokenizer::Token;

/// Parses every statement of the parser's input, recognizing PrismDB's own
/// forms. Mirrors `Parser::parse_statements` (empty statements between
/// semicolons are skipped; statements must be separated by semicolons).
pub fn parse_statements(parser: &mut Parser<'_>) -> Result<Vec<Statement>, ParserError> {
    let mut stmts = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while parser.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        match &parser.peek_token_ref().token {
            Token::EOF => break,
            Token::Word(w) if expecting_delimiter && w.keyword == Keyword::END => break,
            _ => {}
        }
        if expecting_delimiter {
            return parser.expected_ref("end of statement", parser.peek_token_ref());
        }
        let stmt = match parser.maybe_parse(set_columnar_replica_prefix)? {
            Some(prefix) => set_columnar_replica(parser, prefix)?,
            None if let Some(temporary) = parser.maybe_parse(create_sequence_prefix)? => {
                create_sequence(parser, temporary)?
            }
            None => match fetch_keyword(parser) {
                Some(is_move) => fetch(parser, is_move)?,
                None if parser.peek_keyword(Keyword::VACUUM) => vacuum(parser)?,
                None => match user_statement(parser) {
                    Some(UserStatement::Create) => create_user(parser)?,
                    Some(UserStatement::Alter) => parser.parse_alter_role()?,
                    None => parser.parse_statement()?,
                },
            },
        };
        stmts.push(stmt);
        expecting_delimiter = true;
    }
    Ok(stmts)
}

/// What precedes the count in `ALTER TABLE ... SET COLUMNAR REPLICA n`.
struct AlterPrefix {
    name: ObjectName,
    if_exists: bool,
    only: bool,
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name SET COLUMNAR REPLICA`, or an error
/// (after which `maybe_parse` rewinds the parser).
fn set_columnar_replica_prefix(parser: &mut Parser<'_>) -> Result<AlterPrefix, ParserError> {
    parser.expect_keywords(&[Keyword::ALTER, Keyword::TABLE])?;
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let only = parser.parse_keyword(Keyword::ONLY);
    let name = parser.parse_object_name(false)?;
    parser.expect_keyword_is(Keyword::SET)?;
    expect_word(parser, "COLUMNAR")?;
    expect_word(parser, "REPLICA")?;
    Ok(AlterPrefix {
        name,
        if_exists,
        only,
    })
}

/// Consumes an unquoted word, compared case-insensitively (it need not be a
/// keyword sqlparser knows).
fn expect_word(parser: &mut Parser<'_>, word: &str) -> Result<(), ParserError> {
    let token = parser.next_token();
    match &token.token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => Ok(()),
        _ => parser.expected(word, token),
    }
}

/// The rest of `... SET COLUMNAR REPLICA n` after the prefix: the count.
fn set_columnar_replica(
    parser: &mut Parser<'_>,
    prefix: AlterPrefix,
) -> Result<Statement, ParserError> {
    let value = parser.parse_number()?;
    Ok(Statement::AlterTable(AlterTable {
        name: prefix.name,
        if_exists: prefix.if_exists,
        only: prefix.only,
        operations: vec![AlterTableOperation::SetTblProperties {
            table_properties: vec![SqlOption::KeyValue {
                key: Ident::new(COLUMNAR_REPLICA_PROPERTY),
                value,
            }],
        }],
        location: None,
        on_cluster: None,
        table_type: None,
        end_token: AttachedToken::empty(),
    }))
}

/// `CREATE [TEMP | TEMPORARY] SEQUENCE`: whether it is temporary, or an
/// error (after which `maybe_parse` rewinds the parser).
fn create_sequence_prefix(parser: &mut Parser<'_>) -> Result<bool, ParserError> {
    parser.expect_keyword_is(Keyword::CREATE)?;
    let temporary = parser
        .parse_one_of_keywords(&[Keyword::TEMP, Keyword::TEMPORARY])
        .is_some();
    parser.expect_keyword_is(Keyword::SEQUENCE)?;
    Ok(temporary)
}

/// The rest of `CREATE SEQUENCE`, with its options in any order (as
/// PostgreSQL takes them and `pg_dump` writes them: `START WITH` before
/// `INCREMENT BY`).
fn create_sequence(parser: &mut Parser<'_>, temporary: bool) -> Result<Statement, ParserError> {
    use crate::sqlparser::ast::SequenceOptions as O;
    let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = parser.parse_object_name(false)?;
    let mut data_type = None;
    let mut options = Vec::new();
    let mut owned_by = None;
    loop {
        if parser.parse_keyword(Keyword::AS) {
            data_type = Some(parser.parse_data_type()?);
        } else if parser.parse_keyword(Keyword::INCREMENT) {
            let by = parser.parse_keyword(Keyword::BY);
            options.push(O::IncrementBy(parser.parse_number()?, by));
        } else if parser.parse_keyword(Keyword::MINVALUE) {
            options.push(O::MinValue(Some(parser.parse_number()?)));
        } else if parser.parse_keyword(Keyword::MAXVALUE) {
            options.push(O::MaxValue(Some(parser.parse_number()?)));
        } else if parser.parse_keywords(&[Keyword::NO, Keyword::MINVALUE]) {
            options.push(O::MinValue(None));
        } else if parser.parse_keywords(&[Keyword::NO, Keyword::MAXVALUE]) {
            options.push(O::MaxValue(None));
        } else if parser.parse_keywords(&[Keyword::NO, Keyword::CYCLE]) {
            options.push(O::Cycle(true));
        } else if parser.parse_keyword(Keyword::CYCLE) {
            options.push(O::Cycle(false));
        } else if parser.parse_keyword(Keyword::START) {
            let with = parser.parse_keyword(Keyword::WITH);
            options.push(O::StartWith(parser.parse_number()?, with));
        } else if parser.parse_keyword(Keyword::CACHE) {
            options.push(O::Cache(parser.parse_number()?));
        } else if parser.parse_keywords(&[Keyword::OWNED, Keyword::BY]) {
            owned_by = Some(if parser.parse_keyword(Keyword::NONE) {
                ObjectName::from(vec![Ident::new("NONE")])
            } else {
                parser.parse_object_name(false)?
            });
        } else {
            break;
        }
    }
    Ok(Statement::CreateSequence {
        temporary,
        if_not_exists,
        name,
        data_type,
        sequence_options: options,
        owned_by,
    })
}

/// `VACUUM ...` as PostgreSQL writes it.
fn vacuum(parser: &mut Parser<'_>) -> Result<Statement, ParserError> {
    parser.expect_keyword_is(Keyword::VACUUM)?;
    let mut analyze = false;
    loop {
        if parser.consume_token(&Token::LParen) {
            // (FULL, ANALYZE, VERBOSE true, PARALLEL 2, ...)
            let mut depth = 1;
            while depth > 0 {
                let token = parser.next_token();
                match &token.token {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    Token::Word(w)
                        if matches!(w.keyword, Keyword::ANALYZE)
                            || w.value.eq_ignore_ascii_case("analyse") =>
                    {
                        analyze = true
                    }
                    Token::EOF => return parser.expected(")", token),
                    _ => {}
                }
            }
            continue;
        }
        match parser.parse_one_of_keywords(&[
            Keyword::FULL,
            Keyword::FREEZE,
            Keyword::VERBOSE,
            Keyword::ANALYZE,
        ]) {
            Some(Keyword::ANALYZE) => analyze = true,
            Some(_) => {}
            None => break,
        }
    }
    let mut tables = Vec::new();
    if matches!(parser.peek_token_ref().token, Token::Word(_)) {
        tables = parser.parse_comma_separated(|p| {
            let name = p.parse_object_name(false)?;
            // A column list (for ANALYZE) is read and ignored.
            if p.consume_token(&Token::LParen) {
                p.parse_comma_separated(|p| p.parse_identifier())?;
                p.expect_token(&Token::RParen)?;
            }
            Ok(name)
        })?;
    }
    if tables.len() > 1 && analyze {
        return Err(ParserError::ParserError(
            "VACUUM ANALYZE of more than one table is not supported".into(),
        ));
    }
    let table_name = tables.into_iter().next();
    if analyze {
        return Ok(Statement::Analyze(crate::sqlparser::ast::Analyze {
            table_name,
            partitions: None,
            for_columns: false,
            columns: Vec::new(),
            cache_metadata: false,
            noscan: false,
            compute_statistics: false,
            has_table_keyword: false,
        }));
    }
    Ok(Statement::Vacuum(crate::sqlparser::ast::VacuumStatement {
        full: false,
        sort_only: false,
        delete_only: false,
        reindex: false,
        recluster: false,
        table_name,
        threshold: None,
        boost: false,
    }))
}

/// A COPY statement with its boolean options' `on`, `off`, `1`, `0`
/// written as TRUE / FALSE (sqlparser reads only those); `None` when there
/// is nothing to change.
pub fn copy_boolean_options(sql: &str) -> Option<String> {
    let trimmed = sql.trim_start();
    if trimmed.len() < 4 || !trimmed.as_bytes()[..4].eq_ignore_ascii_case(b"copy") {
        return None;
    }
    let lower = sql.to_ascii_lowercase();
    let mut out = String::with_capacity(sql.len());
    let mut changed = false;
    let mut rest = 0;
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let at_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        // Byte comparisons: `i` may be inside a multi-byte character.
        let option = ["freeze", "header"]
            .into_iter()
            .find(|o| at_word && bytes[i..].starts_with(o.as_bytes()));
        if let Some(option) = option {
            let mut j = i + option.len();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let word_end = (j..bytes.len())
                .find(|&k| !(bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_'))
                .unwrap_or(bytes.len());
            let value = match &bytes[j..word_end] {
                b"on" | b"1" => Some("TRUE"),
                b"off" | b"0" => Some("FALSE"),
                _ => None,
            };
            if j > i + option.len()
                && let Some(value) = value
            {
                out.push_str(&sql[rest..j]);
                out.push_str(value);
                rest = word_end;
                changed = true;
                i = word_end;
                continue;
            }
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&sql[rest..]);
    Some(out)
}

enum UserStatement {
    Create,
    Alter,
}

/// Consumes `CREATE USER` or `ALTER USER` if the statement starts so.
fn user_statement(parser: &mut Parser<'_>) -> Option<UserStatement> {
    if parser.parse_keywords(&[Keyword::CREATE, Keyword::USER]) {
        Some(UserStatement::Create)
    } else if parser.parse_keywords(&[Keyword::ALTER, Keyword::USER]) {
        Some(UserStatement::Alter)
    } else {
        None
    }
}

/// The rest of `CREATE USER`: a `CREATE ROLE` that can log in by default.
fn create_user(parser: &mut Parser<'_>) -> Result<Statement, ParserError> {
    let mut role = parser.parse_create_role()?;
    role.login.get_or_insert(true);
    Ok(Statement::CreateRole(role))
}

/// The `into` target that marks a `Statement::Fetch` as a MOVE.
pub const MOVE_MARKER: &str = "__prism_move";

/// Whether a MOVE statement is this `Statement::Fetch`.
pub fn is_move(into: &Option<ObjectName>) -> bool {
    into.as_ref().is_some_and(|n| n.to_string() == MOVE_MARKER)
}

/// Consumes `FETCH` or `MOVE` at the start of a statement: `Some(true)`
/// for MOVE.
fn fetch_keyword(parser: &mut Parser<'_>) -> Option<bool> {
    let is_move = match &parser.peek_token_ref().token {
        Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::FETCH => false,
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("move") => true,
        _ => return None,
    };
    parser.next_token();
    Some(is_move)
}

/// A signed count: `5`, `-2`, `+1`.
fn signed_count(parser: &mut Parser<'_>) -> Result<ValueWithSpan, ParserError> {
    let negative = if parser.consume_token(&Token::Minus) {
        true
    } else {
        let _ = parser.consume_token(&Token::Plus);
        false
    };
    let mut v = parser.parse_number_value()?;
    if negative && let Value::Number(n, l) = &v.value {
        v.value = Value::Number(format!("-{n}"), *l);
    }
    Ok(v)
}

fn starts_count(parser: &Parser<'_>) -> bool {
    matches!(
        parser.peek_token_ref().token,
        Token::Number(..) | Token::Minus | Token::Plus
    )
}

/// The rest of a FETCH or MOVE after its keyword.
fn fetch(parser: &mut Parser<'_>, is_move: bool) -> Result<Statement, ParserError> {
    let direction = if parser.parse_keyword(Keyword::NEXT) {
        FetchDirection::Next
    } else if parser.parse_keyword(Keyword::PRIOR) {
        FetchDirection::Prior
    } else if parser.parse_keyword(Keyword::FIRST) {
        FetchDirection::First
    } else if parser.parse_keyword(Keyword::LAST) {
        FetchDirection::Last
    } else if parser.parse_keyword(Keyword::ABSOLUTE) {
        FetchDirection::Absolute {
            limit: signed_count(parser)?,
        }
    } else if parser.parse_keyword(Keyword::RELATIVE) {
        FetchDirection::Relative {
            limit: signed_count(parser)?,
        }
    } else if parser.parse_keyword(Keyword::FORWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            FetchDirection::ForwardAll
        } else if starts_count(parser) {
            FetchDirection::Forward {
                limit: Some(signed_count(parser)?),
            }
        } else {
            FetchDirection::Forward { limit: None }
        }
    } else if parser.parse_keyword(Keyword::BACKWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            FetchDirection::BackwardAll
        } else if starts_count(parser) {
            FetchDirection::Backward {
                limit: Some(signed_count(parser)?),
            }
        } else {
            FetchDirection::Backward { limit: None }
        }
    } else if parser.parse_keyword(Keyword::ALL) {
        FetchDirection::All
    } else if starts_count(parser) {
        FetchDirection::Count {
            limit: signed_count(parser)?,
        }
    } else {
        FetchDirection::Next
    };
    let position = if parser.parse_keyword(Keyword::IN) {
        FetchPosition::In
    } else {
        let _ = parser.parse_keyword(Keyword::FROM);
        FetchPosition::From
    };
    let name = parser.parse_identifier()?;
    Ok(Statement::Fetch {
        name,
        direction,
        position,
        into: is_move.then(|| ObjectName::from(vec![Ident::new(MOVE_MARKER)])),
    })
}

#[cfg(test)]
#[path = "extensions_test.rs"]
mod tests;

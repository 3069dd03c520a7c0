//! The search query parser: whitespace normalisation, a tokenizer for Anki's
//! quoting and escaping rules, and a recursive-descent parser that builds an
//! [`Expr`] tree with AND binding tighter than OR.
//!
//! What a single term means (`deck:`, `tag:`, field searches, …) is decided
//! in [`super::terms`]; this module only knows the query's structure. It must
//! not touch the collection or produce SQL.

use super::terms::{term_for_key_value, term_for_text, Term};
use super::SearchError;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// One search term.
    Term(Term),
    /// `-x`.
    Not(Box<Expr>),
    /// Terms joined by (implicit or explicit) AND, at least two.
    And(Vec<Expr>),
    /// Alternatives joined by OR, at least two.
    Or(Vec<Expr>),
    /// Parentheses the user wrote: `( … )`.
    Group(Box<Expr>),
}

/// Parses a whole query. An empty or all-whitespace query is the whole
/// collection.
pub(crate) fn parse(query: &str) -> Result<Expr, SearchError> {
    let normalized: String = query
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let input = normalized.trim_matches(' ');
    if input.is_empty() {
        return Ok(Expr::Term(Term::WholeCollection));
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.sequence()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some(_) => Err(parse_error(
            "a closing bracket `)` was found without an opening bracket `(`",
        )),
    }
}

pub(crate) fn parse_error(msg: impl Into<String>) -> SearchError {
    SearchError::Parse(format!("Invalid search: {}", msg.into()))
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    /// A `-` directly before a group or a term.
    Neg,
    And,
    Or,
    /// A term (quoted or not), converted already.
    Term(Term),
}

/// Characters that end an unquoted term.
fn ends_term(c: char) -> bool {
    matches!(c, '"' | '(' | ')' | ' ')
}

fn tokenize(input: &str) -> Result<Vec<Token>, SearchError> {
    let mut tokens = Vec::new();
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        match c {
            ' ' => rest = &rest[1..],
            '(' => {
                tokens.push(Token::Open);
                rest = &rest[1..];
            }
            ')' => {
                tokens.push(Token::Close);
                rest = &rest[1..];
            }
            '-' if !matches!(rest[1..].chars().next(), None | Some(' ' | ')')) => {
                tokens.push(Token::Neg);
                rest = &rest[1..];
                if !rest.starts_with('(') {
                    let (token, tail) = text_token(rest)?;
                    if matches!(token, Token::And | Token::Or) {
                        return Err(parse_error(
                            "`-` cannot negate `and` or `or`; quote the word to search for it",
                        ));
                    }
                    tokens.push(token);
                    rest = tail;
                }
            }
            _ => {
                let (token, tail) = text_token(rest)?;
                tokens.push(token);
                rest = tail;
            }
        }
    }
    Ok(tokens)
}

/// One term starting at the beginning of `s` (which is not a space or a
/// bracket): whole-term quoted, value-quoted (`key:"…"`) or unquoted.
fn text_token(s: &str) -> Result<(Token, &str), SearchError> {
    if s.starts_with('"') {
        let (inner, tail) = quoted(s)?;
        return Ok((Token::Term(term_for_text(inner)?), tail));
    }
    if let Some((key, after_colon)) = value_quoted_key(s) {
        let (value, tail) = quoted(after_colon)?;
        return Ok((Token::Term(term_for_key_value(key, value)?), tail));
    }
    let len = unquoted_len(s)?;
    let (term, tail) = s.split_at(len);
    let token = if term.eq_ignore_ascii_case("and") {
        Token::And
    } else if term.eq_ignore_ascii_case("or") {
        Token::Or
    } else {
        Token::Term(term_for_text(term)?)
    };
    Ok((token, tail))
}

/// `s` starts with `"`: the raw text up to the closing unescaped quote (a
/// backslash escapes any character) and what follows it.
fn quoted(s: &str) -> Result<(&str, &str), SearchError> {
    let body = &s[1..];
    if body.starts_with('"') {
        return Err(parse_error(
            "nothing between the quotes `\"\"`; quote some text or remove them",
        ));
    }
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            // an escaped character, whatever it is, does not close the quote
            '\\' => {
                chars.next();
            }
            '"' => return Ok((&body[..i], &body[i + 1..])),
            _ => {}
        }
    }
    Err(parse_error(
        "a quote `\"` was opened but never closed; to search for a literal quote, write `\\\"`",
    ))
}

/// For `key:"…"`: the key (no spaces, quotes, brackets or unescaped colons;
/// a backslash escapes any non-space character) and the text from the
/// opening quote on. `None` if `s` does not have that shape.
fn value_quoted_key(s: &str) -> Option<(&str, &str)> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n)) if n != ' ' => {}
                _ => return None,
            },
            ':' => {
                return (i > 0 && s[i + 1..].starts_with('"')).then(|| (&s[..i], &s[i + 1..]));
            }
            '"' | '(' | ')' | ' ' => return None,
            _ => {}
        }
    }
    None
}

/// Length of the unquoted term at the start of `s`: up to a space, quote or
/// bracket that is not escaped. A backslash before a space or at the end is
/// an error.
fn unquoted_len(s: &str) -> Result<usize, SearchError> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, ' ')) => return Err(unknown_escape("\\ ")),
                Some(_) => {}
                None => return Err(unknown_escape("\\")),
            },
            c if ends_term(c) => return Ok(i),
            _ => {}
        }
    }
    Ok(s.len())
}

pub(crate) fn unknown_escape(seq: &str) -> SearchError {
    parse_error(format!(
        "the escape sequence `{seq}` is not defined; to search for a literal backslash `\\`, \
         write `\\\\`"
    ))
}

// ---------------------------------------------------------------------------
// Recursive descent
// ---------------------------------------------------------------------------

/// How deeply groups and negations may nest (a bound on recursion; Anki's
/// own limit is SQLite's expression depth).
const MAX_DEPTH: usize = 100;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// A run of operands and operators up to a `)` or the end:
    /// `a (b or c) -d or e`. AND (explicit or implied by adjacency) binds
    /// tighter than OR. The run must not be empty, start or end with an
    /// operator, or have two operators in a row.
    fn sequence(&mut self) -> Result<Expr, SearchError> {
        let mut alternatives: Vec<Vec<Expr>> = vec![Vec::new()];
        let mut expect_operand = true;
        while let Some(token) = self.peek() {
            match token {
                Token::Close => break,
                Token::And | Token::Or => {
                    let or = *token == Token::Or;
                    if expect_operand {
                        return Err(misplaced(or));
                    }
                    self.pos += 1;
                    if or {
                        alternatives.push(Vec::new());
                    }
                    expect_operand = true;
                    if self.peek().is_none_or(|t| *t == Token::Close) {
                        return Err(misplaced(or));
                    }
                }
                _ => {
                    let operand = self.operand()?;
                    alternatives.last_mut().expect("one run").push(operand);
                    expect_operand = false;
                }
            }
        }
        let mut alternatives: Vec<Expr> = alternatives.into_iter().map(and_of).collect();
        Ok(if alternatives.len() == 1 {
            alternatives.pop().expect("one")
        } else {
            Expr::Or(alternatives)
        })
    }

    /// A term, a group, or either negated.
    fn operand(&mut self) -> Result<Expr, SearchError> {
        let token = self.tokens[self.pos].clone();
        self.pos += 1;
        let nests = matches!(token, Token::Open | Token::Neg);
        if nests {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(parse_error(format!(
                    "brackets and `-` nest more than {MAX_DEPTH} levels deep"
                )));
            }
        }
        let operand = self.operand_after(token);
        if nests {
            self.depth -= 1;
        }
        operand
    }

    fn operand_after(&mut self, token: Token) -> Result<Expr, SearchError> {
        match token {
            Token::Term(term) => Ok(Expr::Term(term)),
            Token::Open => self.group(),
            Token::Neg => match self.operand()? {
                // the tokenizer puts a term or `(` after every `-`
                inner @ (Expr::Term(_) | Expr::Group(_)) => Ok(Expr::Not(Box::new(inner))),
                _ => unreachable!("`-` is always followed by a term or a group"),
            },
            Token::Close | Token::And | Token::Or => unreachable!("not an operand"),
        }
    }

    /// After `(`: the group's contents and the closing `)`.
    fn group(&mut self) -> Result<Expr, SearchError> {
        if self.peek() == Some(&Token::Close) {
            return Err(parse_error(
                "an empty group `()` was found; put a search term inside it or remove it",
            ));
        }
        if self.peek().is_none() {
            return Err(unclosed_group());
        }
        let inner = self.sequence()?;
        if self.peek() != Some(&Token::Close) {
            return Err(unclosed_group());
        }
        self.pos += 1;
        Ok(Expr::Group(Box::new(inner)))
    }
}

fn and_of(mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        operands.pop().expect("one")
    } else {
        Expr::And(operands)
    }
}

fn misplaced(or: bool) -> SearchError {
    let word = if or { "or" } else { "and" };
    parse_error(format!(
        "`{word}` must stand between two search terms; to search for the word, quote it: \
         `\"{word}\"`"
    ))
}

fn unclosed_group() -> SearchError {
    parse_error(
        "an opening bracket `(` was found without a closing bracket `)`; to search for a \
         literal bracket, quote it or write `\\(`",
    )
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;

//! Card templates parsed only as deep as deciding card generation needs:
//! which `{{…}}` replacements and `{{#…}}`/`{{^…}}` sections a question
//! template has, and whether it renders non-empty for a set of non-empty
//! fields. Nothing is rendered and filters are never run.
//!
//! The rules match the real client (Anki 26.9.3, checked with its
//! `col.add_note`): the lexer takes the first `{{ … }}` (or `<% … %>` after a
//! leading `{{=<% %>=}}`) or `<!-- … -->` it finds, whichever starts first;
//! comments are skipped; a tag's text is trimmed after leading `{` are
//! dropped; a replacement names the field after its last `:`; conditionals
//! must close with exactly their own name, otherwise the template generates
//! no card.

use std::collections::HashSet;

const ALT_DIRECTIVE: &str = "{{=<% %>=}}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// A field replacement: the field name and whether a `cloze` filter is
    /// applied to it.
    Replacement {
        key: String,
        cloze: bool,
    },
    Conditional {
        key: String,
        children: Vec<Node>,
    },
    Negated {
        key: String,
        children: Vec<Node>,
    },
}

enum Token<'a> {
    Text,
    Replacement(&'a str),
    Open(&'a str),
    OpenNegated(&'a str),
    Close(&'a str),
}

/// A parsed question template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Node>);

impl Template {
    /// Parses a template; `None` when it does not parse (such a template
    /// generates no card).
    pub fn parse(text: &str) -> Option<Template> {
        let (mut rest, open, close) = if text.trim_start().starts_with(ALT_DIRECTIVE) {
            (
                text.trim_start().trim_start_matches(ALT_DIRECTIVE),
                "<%",
                "%>",
            )
        } else {
            (text, "{{", "}}")
        };
        let mut tokens = Vec::new();
        while let Some((token, after)) = next_token(rest, open, close) {
            tokens.push(token);
            rest = after;
        }
        let mut iter = tokens.into_iter();
        let nodes = parse_nodes(&mut iter, None)?;
        Some(Template(nodes))
    }

    /// True when the template renders something with these non-empty
    /// fields: one replacement of a non-empty field is enough; a `{{#F}}`
    /// section counts when F is non-empty and its contents count, a `{{^F}}`
    /// section when F is empty and its contents count.
    pub fn renders_with_fields(&self, nonempty: &HashSet<&str>) -> bool {
        !is_empty(&self.0, nonempty)
    }

    /// Names of the fields a `cloze` filter is applied to (outside
    /// conditional keys).
    pub fn cloze_field_names(&self) -> HashSet<&str> {
        let mut out = HashSet::new();
        collect_cloze_fields(&self.0, &mut out);
        out
    }
}

fn collect_cloze_fields<'a>(nodes: &'a [Node], out: &mut HashSet<&'a str>) {
    for node in nodes {
        match node {
            Node::Replacement { key, cloze } => {
                if *cloze {
                    out.insert(key);
                }
            }
            Node::Conditional { children, .. } | Node::Negated { children, .. } => {
                collect_cloze_fields(children, out)
            }
        }
    }
}

fn is_empty(nodes: &[Node], nonempty: &HashSet<&str>) -> bool {
    for node in nodes {
        match node {
            Node::Replacement { key, .. } => {
                if nonempty.contains(key.as_str()) {
                    return false;
                }
            }
            Node::Conditional { key, children } => {
                if nonempty.contains(key.as_str()) && !is_empty(children, nonempty) {
                    return false;
                }
            }
            Node::Negated { key, children } => {
                if !nonempty.contains(key.as_str()) && !is_empty(children, nonempty) {
                    return false;
                }
            }
        }
    }
    true
}

/// The next token of `input` and the rest after it.
fn next_token<'a>(input: &'a str, open: &str, close: &str) -> Option<(Token<'a>, &'a str)> {
    if input.is_empty() {
        return None;
    }
    // Once a closing marker is missing after some position it is missing
    // after every later one, so each search runs at most once per kind.
    let mut no_close = false;
    let mut no_comment_end = false;
    for (i, _) in input.char_indices() {
        let here = &input[i..];
        if !no_close && here.starts_with(open) {
            match here[open.len()..].find(close) {
                Some(end) => {
                    if i > 0 {
                        return Some((Token::Text, here));
                    }
                    let inner = &here[open.len()..open.len() + end];
                    return Some((classify(inner), &here[open.len() + end + close.len()..]));
                }
                None => no_close = true,
            }
        }
        if !no_comment_end && here.starts_with("<!--") {
            match here[4..].find("-->") {
                Some(end) => {
                    if i > 0 {
                        return Some((Token::Text, here));
                    }
                    return Some((Token::Text, &here[4 + end + 3..]));
                }
                None => no_comment_end = true,
            }
        }
    }
    Some((Token::Text, ""))
}

fn classify(inner: &str) -> Token<'_> {
    let start = inner.trim_start_matches('{').trim();
    if start.len() < 2 {
        return Token::Replacement(start);
    }
    if let Some(rest) = start.strip_prefix('#') {
        Token::Open(rest.trim_start())
    } else if let Some(rest) = start.strip_prefix('/') {
        Token::Close(rest.trim_start())
    } else if let Some(rest) = start.strip_prefix('^') {
        Token::OpenNegated(rest.trim_start())
    } else {
        Token::Replacement(start)
    }
}

fn parse_nodes<'a>(
    iter: &mut impl Iterator<Item = Token<'a>>,
    open_tag: Option<&'a str>,
) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    while let Some(token) = iter.next() {
        match token {
            Token::Text => {}
            Token::Replacement(text) => {
                let mut parts = text.rsplit(':');
                let key = parts.next().unwrap_or_default().to_owned();
                let cloze = parts.any(|f| f == "cloze");
                nodes.push(Node::Replacement { key, cloze });
            }
            Token::Open(key) => nodes.push(Node::Conditional {
                key: key.to_owned(),
                children: parse_nodes(iter, Some(key))?,
            }),
            Token::OpenNegated(key) => nodes.push(Node::Negated {
                key: key.to_owned(),
                children: parse_nodes(iter, Some(key))?,
            }),
            Token::Close(key) => {
                return (open_tag == Some(key)).then_some(nodes);
            }
        }
    }
    open_tag.is_none().then_some(nodes)
}

/// True when a field counts as empty for card generation: nothing but ASCII
/// whitespace and `<br>`/`<div>` tags (`<br>`, `</br>`, `<br/>`, `<br />`,
/// `<br >`, the same for `div`, any letter case).
pub fn field_is_empty(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() || b[i] == 0x0b {
            i += 1;
            continue;
        }
        if b[i] != b'<' {
            return false;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b'/') {
            j += 1;
        }
        let name_len = if b.len() >= j + 2 && b[j..j + 2].eq_ignore_ascii_case(b"br") {
            2
        } else if b.len() >= j + 3 && b[j..j + 3].eq_ignore_ascii_case(b"div") {
            3
        } else {
            return false;
        };
        j += name_len;
        if b.get(j) == Some(&b' ') {
            j += 1;
        }
        if b.get(j) == Some(&b'/') {
            j += 1;
        }
        if b.get(j) != Some(&b'>') {
            return false;
        }
        i = j + 1;
    }
    true
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;

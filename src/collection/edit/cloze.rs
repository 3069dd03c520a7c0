//! Cloze deletions as card generation sees them: the numbers of the
//! `{{cN::…}}` deletions in a field (closed ones only, nested up to ten
//! levels, `c0` and numbers over 65535 ignored, `{{c2,4::…}}` counting as
//! both), and whether a field holds a cloze at all. Hints and rendering are
//! not needed here.

use std::collections::BTreeSet;

/// How many clozes may be open at once; deeper ones are ignored.
const MAX_NESTING: usize = 10;

enum Token {
    Open(Vec<u16>),
    Text,
    Close,
}

/// `{{c` + digits/commas + `::` at the start of `text`: the numbers and the
/// length of the marker.
fn open_marker(text: &str) -> Option<(Vec<u16>, usize)> {
    let rest = text.strip_prefix("{{c")?;
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',')
        .count();
    let mut ordinals: Vec<u16> = rest[..len]
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    ordinals.sort_unstable();
    ordinals.dedup();
    if ordinals.is_empty() || !rest[len..].starts_with("::") {
        return None;
    }
    Some((ordinals, 3 + len + 2))
}

fn tokens(mut text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    while !text.is_empty() {
        if let Some((ordinals, len)) = open_marker(text) {
            out.push(Token::Open(ordinals));
            text = &text[len..];
        } else if let Some(rest) = text.strip_prefix("}}") {
            out.push(Token::Close);
            text = rest;
        } else {
            let end = text
                .char_indices()
                .skip(1)
                .find(|(i, _)| open_marker(&text[*i..]).is_some() || text[*i..].starts_with("}}"))
                .map(|(i, _)| i)
                .unwrap_or(text.len());
            out.push(Token::Text);
            text = &text[end..];
        }
    }
    out
}

/// A closed cloze: its numbers and the clozes nested in it.
struct Cloze {
    ordinals: Vec<u16>,
    nested: Vec<Cloze>,
}

/// The top-level closed clozes of `text`.
fn parse(text: &str) -> Vec<Cloze> {
    let mut open: Vec<Cloze> = Vec::new();
    let mut top = Vec::new();
    for token in tokens(text) {
        match token {
            Token::Open(ordinals) => {
                if open.len() < MAX_NESTING {
                    open.push(Cloze {
                        ordinals,
                        nested: Vec::new(),
                    });
                }
            }
            Token::Text => {}
            Token::Close => {
                if let Some(done) = open.pop() {
                    match open.last_mut() {
                        Some(outer) => outer.nested.push(done),
                        None => top.push(done),
                    }
                }
            }
        }
    }
    top
}

fn collect(clozes: &[Cloze], out: &mut BTreeSet<u16>) {
    for c in clozes {
        out.extend(c.ordinals.iter().copied().filter(|&o| o != 0));
        collect(&c.nested, out);
    }
}

/// Adds the cloze numbers (1 and up) of `text` to `out`.
pub fn add_cloze_numbers(text: &str, out: &mut BTreeSet<u16>) {
    collect(&parse(text), out);
}

/// True when `text` has a closed top-level cloze with a number above 0.
pub fn contains_cloze(text: &str) -> bool {
    parse(text)
        .iter()
        .any(|c| c.ordinals.iter().any(|&o| o != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Vec<u16> {
        let mut out = BTreeSet::new();
        add_cloze_numbers(text, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn closed_deletions_count_with_all_their_numbers() {
        assert_eq!(numbers("{{c1::a}} {{c3::b}}"), [1, 3]);
        assert_eq!(numbers("{{c2,4::x}}"), [2, 4]);
        assert_eq!(numbers("{{c01::x}}"), [1]);
        assert_eq!(numbers("{{c1::a::hint}}"), [1]);
        assert_eq!(numbers("{{c1::unclosed"), Vec::<u16>::new());
        assert_eq!(numbers("{{c0::x}} {{c70000::y}}"), Vec::<u16>::new());
        assert_eq!(numbers("{{c500::a}} {{c600::b}}"), [500, 600]);
    }

    #[test]
    fn the_marker_is_strict_and_case_sensitive() {
        assert_eq!(
            numbers("{{C1::a}} {{c 1::a}} {{c1:a}} {{c::a}}"),
            Vec::<u16>::new()
        );
    }

    #[test]
    fn nested_deletions_count_up_to_ten_levels() {
        assert_eq!(numbers("{{c1::a {{c2::b}} c}}"), [1, 2]);
        let deep = "{{c1::".repeat(11) + "x" + &"}}".repeat(11);
        assert_eq!(numbers(&deep), [1]);
        // an unclosed outer cloze takes its closed inner one with it
        assert_eq!(numbers("{{c1::a {{c2::b}}"), Vec::<u16>::new());
    }

    #[test]
    fn contains_cloze_needs_a_closed_nonzero_deletion() {
        assert!(contains_cloze("x {{c1::y}}"));
        assert!(!contains_cloze("{{c0::y}}"));
        assert!(!contains_cloze("{{c1::y"));
        assert!(!contains_cloze("plain"));
    }
}

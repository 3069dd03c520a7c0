//! Text helpers of the search engine: Anki's escape rules for search values
//! and the conversion of wildcard text (`*`, `_`, `\*`, `\_`, `\\`) into SQL
//! `LIKE` patterns, regular expressions and plain text; accent folding
//! (`nc:`), cloze stripping (`sc:`) and NFC normalisation.
//!
//! A *search value* here is the text of a term after [`unescape`]: the only
//! backslash sequences left in it are `\\`, `\*` and `\_`, which the
//! conversions below understand. This module owns no SQL and no parsing of
//! whole queries.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc, is_nfkd_quick, IsNormalized, UnicodeNormalization};

/// Characters a backslash may escape in a search term.
const ESCAPABLE: &[char] = &['\\', '"', ':', '*', '_', '(', ')', '-'];

/// Checks the escapes of `txt` and resolves the ones that only matter to the
/// parser (`\"`, `\:`, `\(`, `\)`, `\-`); `\\`, `\*` and `\_` stay as they
/// are for the wildcard conversions. Any other backslash sequence, or a lone
/// trailing backslash, is an error naming the sequence.
pub(crate) fn unescape(txt: &str) -> Result<String, String> {
    let mut out = String::with_capacity(txt.len());
    let mut chars = txt.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | '*' | '_')) => {
                out.push('\\');
                out.push(e);
            }
            Some(e) if ESCAPABLE.contains(&e) => out.push(e),
            Some(e) => return Err(format!("\\{e}")),
            None => return Err("\\".into()),
        }
    }
    Ok(out)
}

/// `\"` becomes `"`; nothing else changes (values of `re:` and friends).
pub(crate) fn unescape_quotes(s: &str) -> String {
    s.replace("\\\"", "\"")
}

/// `\"` becomes `"`, then `\\` becomes `\` (the text of `dupe:`).
pub(crate) fn unescape_quotes_and_backslashes(s: &str) -> String {
    s.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Splits a search value into units: an escape pair (`\` and the next
/// character) or a single character.
fn units(txt: &str) -> impl Iterator<Item = &str> {
    let mut rest = txt;
    std::iter::from_fn(move || {
        let mut it = rest.char_indices();
        let (_, c) = it.next()?;
        let len = if c == '\\' {
            it.next()
                .map(|(i, n)| i + n.len_utf8())
                .unwrap_or(c.len_utf8())
        } else {
            c.len_utf8()
        };
        let (unit, tail) = rest.split_at(len);
        rest = tail;
        Some(unit)
    })
}

/// True if the value has an unescaped `*` or `_`.
pub(crate) fn is_glob(txt: &str) -> bool {
    units(txt).any(|u| u == "*" || u == "_")
}

/// The value as a regular expression: `*` is `.*`, `_` is `.`, everything
/// else literal.
pub(crate) fn to_regex(txt: &str) -> String {
    to_regex_with(txt, ".")
}

/// The value as a regular expression whose wildcards use `any` for one
/// character (`*` becomes `any*`).
pub(crate) fn to_regex_with(txt: &str, any: &str) -> String {
    let mut out = String::with_capacity(txt.len() + 8);
    for unit in units(txt) {
        match unit {
            "\\\\" | "\\*" => out.push_str(unit),
            "\\_" => out.push('_'),
            "*" => {
                out.push_str(any);
                out.push('*');
            }
            "_" => out.push_str(any),
            other => out.push_str(&regex::escape(other)),
        }
    }
    out
}

/// The value as an SQL `LIKE` pattern with `\` as the escape character:
/// `*` is `%`, `_` stays a one-character wildcard, `%` is literal.
pub(crate) fn to_like(txt: &str) -> String {
    let mut out = String::with_capacity(txt.len() + 2);
    let mut chars = txt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('\\' | '*')) => {
                let next = chars.next().unwrap_or_default();
                if next == '\\' {
                    out.push_str("\\\\");
                } else {
                    out.push('*');
                }
            }
            '*' => out.push('%'),
            '%' => out.push_str("\\%"),
            other => out.push(other),
        }
    }
    out
}

/// The value with every escape resolved (`\x` becomes `x`).
pub(crate) fn to_text(txt: &str) -> String {
    units(txt)
        .map(|u| u.strip_prefix('\\').filter(|r| !r.is_empty()).unwrap_or(u))
        .collect()
}

/// A matcher for names (fields) against a value that may hold wildcards:
/// wildcard values match the whole name case-insensitively (Unicode), other
/// values compare equal under Unicode case folding.
pub(crate) enum NameMatcher {
    Glob(Regex),
    Exact(String),
}

impl NameMatcher {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        if is_glob(pattern) {
            Regex::new(&format!("^(?i){}$", to_regex(pattern)))
                .map(NameMatcher::Glob)
                .map_err(|e| format!("invalid name pattern: {e}"))
        } else {
            Ok(NameMatcher::Exact(to_text(pattern)))
        }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            NameMatcher::Glob(re) => re.is_match(name),
            NameMatcher::Exact(text) => unicase::eq(name, text.as_str()),
        }
    }
}

/// NFC form of `s`.
pub(crate) fn nfc(s: &str) -> Cow<'_, str> {
    if is_nfc(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// Letters that NFKD does not decompose but accent folding maps anyway.
fn extra_fold(c: char) -> Option<&'static str> {
    Some(match c {
        '€' => "E",
        'Æ' => "AE",
        'Ð' => "D",
        'Ø' => "O",
        'Þ' => "TH",
        'ß' => "s",
        'æ' => "ae",
        'ð' => "d",
        'ø' => "o",
        'þ' => "th",
        'Đ' => "D",
        'đ' => "d",
        'Ħ' => "H",
        'ħ' => "h",
        'ı' => "i",
        'ĸ' => "k",
        'Ł' => "L",
        'ł' => "l",
        'Ŋ' => "N",
        'ŋ' => "n",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŧ' => "T",
        'ŧ' => "t",
        'Ə' => "E",
        'ǝ' => "e",
        'ɑ' => "a",
        _ => return None,
    })
}

/// Accent folding for `nc:`: NFKD, combining marks removed, and a few
/// letters mapped to ASCII (`ß` → `s`, `ø` → `o`, …).
pub(crate) fn without_combining(s: &str) -> Cow<'_, str> {
    if matches!(is_nfkd_quick(s.chars()), IsNormalized::Yes)
        && !s
            .chars()
            .any(|c| is_combining_mark(c) || extra_fold(c).is_some())
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)) {
        match extra_fold(c) {
            Some(rep) => out.push_str(rep),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Replaces every cloze deletion `{{cN::text::hint}}` with its text.
pub(crate) fn strip_clozes(s: &str) -> Cow<'_, str> {
    static CLOZE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)\{\{c[\d,]+::(.*?)(::.*?)?\}\}").expect("cloze pattern"));
    CLOZE.replace_all(s, "$1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_keeps_wildcard_escapes_and_resolves_parser_escapes() {
        assert_eq!(unescape(r#"a\"b\:c\(d\)e\-f"#).unwrap(), r#"a"b:c(d)e-f"#);
        assert_eq!(unescape(r"\\ \* \_").unwrap(), r"\\ \* \_");
    }

    #[test]
    fn unescape_rejects_unknown_and_trailing_escapes() {
        assert_eq!(unescape(r"back\slash").unwrap_err(), r"\s");
        assert_eq!(unescape(r"\%").unwrap_err(), r"\%");
        assert_eq!(unescape(r"end\").unwrap_err(), r"\");
        assert_eq!(unescape(r"\\\q").unwrap_err(), r"\q");
        assert!(unescape(r"\\\\").is_ok());
    }

    #[test]
    fn like_patterns_translate_wildcards_and_keep_escapes() {
        assert_eq!(to_like("a*b_c%"), r"a%b_c\%");
        assert_eq!(to_like(r"a\*b\_c\\d"), r"a*b\_c\\d");
        assert_eq!(to_like(r"\\*"), r"\\%");
    }

    #[test]
    fn regexes_translate_wildcards_and_escape_the_rest() {
        assert_eq!(to_regex("a*b_c.d"), r"a.*b.c\.d");
        assert_eq!(to_regex(r"a\*b\_c\\d"), r"a\*b_c\\d");
        assert_eq!(to_regex_with("x*", r"\S"), r"x\S*");
    }

    #[test]
    fn plain_text_resolves_every_escape() {
        assert_eq!(to_text(r"a\*b\_c\\d"), r"a*b_c\d");
        assert!(is_glob("a_b"));
        assert!(is_glob(r"\\*"));
        assert!(!is_glob(r"a\_b\*"));
    }

    #[test]
    fn names_match_unicode_case_insensitively_with_wildcards() {
        let m = NameMatcher::new("ÜNÏ").unwrap();
        assert!(m.matches("ünï"));
        assert!(!m.matches("ünïx"));
        let m = NameMatcher::new("f*").unwrap();
        assert!(m.matches("Front"));
        assert!(!m.matches("Back"));
    }

    #[test]
    fn accent_folding_removes_marks_and_maps_special_letters() {
        assert_eq!(without_combining("Café"), "Cafe");
        assert_eq!(without_combining("straße øl"), "strase ol");
        assert!(matches!(without_combining("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn clozes_are_replaced_by_their_text() {
        assert_eq!(
            strip_clozes("{{c1::Paris::city}} is in {{c2,3::France}}"),
            "Paris is in France"
        );
    }

    #[test]
    fn nfc_composes_decomposed_text() {
        assert_eq!(nfc("e\u{301}"), "é");
    }
}

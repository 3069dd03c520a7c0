//! Notes as the sync server stores them: the cleaned field text and the two
//! derived columns `sfld` (sort field) and `csum` (first-field checksum).
//!
//! The rules were taken from what the real client (Anki 26.9.3) and the
//! official server store, checked with the fixture
//! `legacy/testdata/sort_fields.json` (notes added by the client) and the
//! experiments described in its generator script:
//!
//! * HTML is stripped in three passes over the field text: media tags
//!   (`img`, `audio`, `video`, `source`, `object` with a `src=` or `data=`
//!   attribute) become their file name padded with one space on each side;
//!   then HTML comments and `<style…>…</style>`, `<script…>…</script>`
//!   blocks are removed (whichever starts first), and finally all remaining
//!   `<…>` tags;
//! * HTML 4 character references are decoded last, all or nothing: one
//!   malformed or unknown `&…;` leaves the whole text undecoded; when
//!   decoding happens every U+00A0 becomes a plain space;
//! * `sfld` is stored in a column of integer affinity, so text that SQLite
//!   reads as a number is stored as an INTEGER or REAL
//!   ([`sqlite_integer_affinity`]).

use std::borrow::Cow;

use rusqlite::types::Value;
use sha1::{Digest, Sha1};

mod entities;
pub use entities::decode_entities;

/// Removes ASCII control characters other than `\n` and `\t` from one
/// field's text, as the official server does with incoming note fields
/// (`\r` goes too, so `\r\n` becomes `\n`). Apply it to each field, never to
/// the whole `\x1f`-joined `flds` string.
pub fn clean_field_text(text: &str) -> String {
    text.chars()
        .filter(|&c| !c.is_ascii_control() || c == '\n' || c == '\t')
        .collect()
}

/// The `sfld` and `csum` columns of a note whose fields (joined with `\x1f`,
/// as in `notes.flds`) are `flds` and whose notetype sorts by field
/// `sort_idx`.
///
/// `sfld` is the sort field with HTML stripped (media file names kept), as
/// [`Value::Integer`] for a plain integer and [`Value::Text`] otherwise (see
/// [`sqlite_integer_affinity`]: stored in `notes.sfld`, it becomes exactly
/// what the client stores); a `sort_idx` past the last field gives an empty
/// text. `csum` is the first 4
/// bytes of the SHA-1 of the stripped first field, as a big-endian `u32`.
pub fn sort_field_and_checksum(flds: &str, sort_idx: usize) -> (Value, i64) {
    let first = flds.split('\x1f').next().unwrap_or("");
    let first_stripped = strip_html_preserving_media_filenames(first);
    let csum = field_checksum(&first_stripped);
    let sort = if sort_idx == 0 {
        first_stripped.into_owned()
    } else {
        flds.split('\x1f')
            .nth(sort_idx)
            .map(|f| strip_html_preserving_media_filenames(f).into_owned())
            .unwrap_or_default()
    };
    (sqlite_integer_affinity(sort), csum)
}

/// First 4 bytes of the SHA-1 of `text`, as a big-endian `u32`.
pub fn field_checksum(text: &str) -> i64 {
    let digest = Sha1::digest(text.as_bytes());
    i64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// Strips HTML the way the client does for `sfld`/`csum`: media tags become
/// ` filename `, style/script blocks, comments and other tags are removed,
/// then character references are decoded (see the module docs).
pub fn strip_html_preserving_media_filenames(html: &str) -> Cow<'_, str> {
    if !html.contains(['<', '&']) {
        return Cow::Borrowed(html);
    }
    let text = replace_media_tags(html);
    let text = remove_blocks_and_comments(&text);
    let text = remove_tags(&text);
    Cow::Owned(decode_entities(&text).into_owned())
}

// ---------------------------------------------------------------------------
// SQLite integer affinity
// ---------------------------------------------------------------------------

/// The value to bind for `sfld`: an INTEGER when `text` is a plain integer
/// literal that fits in an `i64` (optional sign and digits, with the ASCII
/// spaces, tabs, line feeds, vertical tabs, form feeds and carriage returns
/// SQLite allows around it), TEXT otherwise.
///
/// Both store exactly what the client stores: the client binds text, and the
/// column's integer affinity makes SQLite turn numeric text into an INTEGER
/// or REAL on insert. Integers are converted here already; other numeric
/// text (`"1.5"`, `"1e5"`, `"5.0"`, integers too large for `i64`) is left to
/// SQLite, whose decimal-to-binary conversion is not always the correctly
/// rounded one and so cannot be reproduced with Rust's parser.
pub fn sqlite_integer_affinity(text: String) -> Value {
    let t = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = t.parse::<i64>() {
            return Value::Integer(v);
        }
    }
    Value::Text(text)
}

// ---------------------------------------------------------------------------
// HTML stripping
// ---------------------------------------------------------------------------

/// Tags whose `src`/`data` attribute names a media file.
const MEDIA_TAGS: [&str; 5] = ["img", "audio", "video", "source", "object"];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn char_at(s: &str, i: usize) -> Option<char> {
    s[i..].chars().next()
}

fn char_before(s: &str, i: usize) -> Option<char> {
    s[..i].chars().next_back()
}

/// Replaces every media tag with ` filename `.
fn replace_media_tags(s: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    let mut scanner: Option<Scanner<'_>> = None;
    while let Some(off) = s[from..].find('<') {
        let start = from + off;
        let found = media_tag_name_end(s, start).and_then(|after_name| {
            scanner
                .get_or_insert_with(|| Scanner::new(s))
                .match_tag(after_name)
        });
        match found {
            Some((end, (v_start, v_end))) => {
                out.push_str(&s[copied..start]);
                out.push(' ');
                out.push_str(&s[v_start..v_end]);
                out.push(' ');
                copied = end;
                from = end;
            }
            None => from = start + 1,
        }
    }
    if copied == 0 {
        Cow::Borrowed(s)
    } else {
        out.push_str(&s[copied..]);
        Cow::Owned(out)
    }
}

/// If a media tag name follows the `<` at `start` (ASCII case-insensitive,
/// then a non-word character), the position after the name.
fn media_tag_name_end(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let name_start = start + 1;
    let after_name = MEDIA_TAGS.iter().find_map(|t| {
        let end = name_start + t.len();
        (end <= b.len() && b[name_start..end].eq_ignore_ascii_case(t.as_bytes())).then_some(end)
    })?;
    match char_at(s, after_name) {
        Some(c) if !is_word_char(c) => Some(after_name),
        _ => None,
    }
}

/// Searches for the file-name attribute of media tags in one text, in
/// linear time overall: the next `>`, `"`, `'` and space-or-`>` after each
/// byte are precomputed, and positions from which the search failed are
/// remembered across tags (whether the search succeeds from a position does
/// not depend on where the tag started).
struct Scanner<'a> {
    s: &'a str,
    next_gt: Vec<u32>,
    next_dq: Vec<u32>,
    next_sq: Vec<u32>,
    next_stop: Vec<u32>,
    failed: Vec<bool>,
}

const NONE: u32 = u32::MAX;

impl<'a> Scanner<'a> {
    fn new(s: &'a str) -> Self {
        let b = s.as_bytes();
        let next = |pred: &dyn Fn(u8) -> bool| {
            let mut v = vec![NONE; b.len() + 1];
            for i in (0..b.len()).rev() {
                v[i] = if pred(b[i]) { i as u32 } else { v[i + 1] };
            }
            v
        };
        Scanner {
            s,
            next_gt: next(&|c| c == b'>'),
            next_dq: next(&|c| c == b'"'),
            next_sq: next(&|c| c == b'\''),
            next_stop: next(&|c| c == b'>' || c == b' '),
            failed: vec![false; b.len() + 1],
        }
    }

    fn find(table: &[u32], from: usize) -> Option<usize> {
        table
            .get(from)
            .copied()
            .filter(|&i| i != NONE)
            .map(|i| i as usize)
    }

    /// The end of the tag and the file name's byte range, if the tag whose
    /// name ends at `after_name` names a media file.
    ///
    /// Between the tag name and the attribute, any characters but `>` may
    /// appear, and quoted strings (which may contain `>`) are skipped whole
    /// when that is the only way on. The positions are tried depth first in
    /// the order a backtracking regex matcher would: the first one where
    /// `src=`/`data=` (after a non-word character) is followed by a file name
    /// and the end of the tag wins.
    fn match_tag(&mut self, after_name: usize) -> Option<(usize, (usize, usize))> {
        Self::find(&self.next_gt, after_name)?;
        // (position, next alternative: 0 attribute, 1 one char, 2 "…", 3 '…')
        let mut stack: Vec<(usize, u8)> = vec![(after_name, 1)];
        while let Some(top) = stack.last_mut() {
            let (pos, alt) = *top;
            top.1 += 1;
            let next = match alt {
                0 => {
                    if let Some(found) = self.match_attribute(pos) {
                        return Some(found);
                    }
                    None
                }
                1 => char_at(self.s, pos)
                    .filter(|&c| c != '>')
                    .map(|c| pos + c.len_utf8()),
                2 | 3 => {
                    let (quote, table) = if alt == 2 {
                        (b'"', &self.next_dq)
                    } else {
                        (b'\'', &self.next_sq)
                    };
                    if self.s.as_bytes().get(pos) == Some(&quote) {
                        Self::find(table, pos + 1)
                            .filter(|&close| close > pos + 1)
                            .map(|close| close + 1)
                    } else {
                        None
                    }
                }
                _ => {
                    self.failed[pos] = true;
                    stack.pop();
                    None
                }
            };
            // positions only grow along a path, so `p` is not on the stack
            if let Some(p) = next.filter(|&p| !self.failed[p]) {
                stack.push((p, 0));
            }
        }
        None
    }

    /// `src=`/`data=` at `pos` followed by a file name and the rest of the tag.
    fn match_attribute(&self, pos: usize) -> Option<(usize, (usize, usize))> {
        let b = self.s.as_bytes();
        if char_before(self.s, pos).is_none_or(is_word_char) {
            return None;
        }
        let rest = &b[pos..];
        let value_start = if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"src=") {
            pos + 4
        } else if rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"data=") {
            pos + 5
        } else {
            return None;
        };
        let tag_end = |from: usize| Self::find(&self.next_gt, from).map(|gt| gt + 1);
        // "name" or 'name' (not empty), then anything up to the first `>`
        if let Some(&quote) = b.get(value_start).filter(|&&q| q == b'"' || q == b'\'') {
            let table = if quote == b'"' {
                &self.next_dq
            } else {
                &self.next_sq
            };
            if let Some(close) = Self::find(table, value_start + 1) {
                if close > value_start + 1 {
                    if let Some(end) = tag_end(close + 1) {
                        return Some((end, (value_start + 1, close)));
                    }
                }
            }
        }
        // unquoted: at least one character, up to a space (then anything up
        // to the first `>`) or up to the `>` itself
        let first = char_at(self.s, value_start).filter(|&c| c != '>')?;
        let stop = Self::find(&self.next_stop, value_start + first.len_utf8())?;
        if b[stop] == b'>' {
            Some((stop + 1, (value_start, stop)))
        } else {
            tag_end(stop + 1).map(|end| (end, (value_start, stop)))
        }
    }
}

/// Removes `<!--…-->` comments and `<style…>…</style>`, `<script…>…</script>`
/// blocks (ASCII case-insensitive, shortest match) in one left-to-right pass:
/// whichever starts first wins, so a comment can hide a `<script>` and a
/// style block a `<!--`.
fn remove_blocks_and_comments(s: &str) -> Cow<'_, str> {
    // once a closing marker is missing after some position, it is missing
    // after every later one too
    let mut dead = [false; 3];
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(off) = s[from..].find('<') {
        let start = from + off;
        let rest = &s.as_bytes()[start..];
        let block = if rest.starts_with(b"<!--") {
            Some((0, 4, "-->", false))
        } else if rest.len() >= 6 && rest[..6].eq_ignore_ascii_case(b"<style") {
            Some((1, 6, "</style>", true))
        } else if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"<script") {
            Some((2, 7, "</script>", true))
        } else {
            None
        };
        let end = block.and_then(|(kind, open_len, close, needs_gt)| {
            if dead[kind] {
                return None;
            }
            let body = if needs_gt {
                start + open_len + s[start + open_len..].find('>')? + 1
            } else {
                start + open_len
            };
            let found = find_ascii_ci(s, body, close).map(|i| i + close.len());
            if found.is_none() {
                dead[kind] = true;
            }
            found
        });
        match end {
            Some(end) => {
                out.push_str(&s[copied..start]);
                copied = end;
                from = end;
            }
            None => from = start + 1,
        }
    }
    if copied == 0 {
        Cow::Borrowed(s)
    } else {
        out.push_str(&s[copied..]);
        Cow::Owned(out)
    }
}

fn find_ascii_ci(s: &str, from: usize, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    s.as_bytes()[from..]
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
        .map(|p| from + p)
}

/// Removes every `<…>` (shortest match, across lines).
fn remove_tags(s: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    while let Some(start) = s[copied..].find('<').map(|o| copied + o) {
        let Some(end) = s[start + 1..].find('>') else {
            break;
        };
        out.push_str(&s[copied..start]);
        copied = start + 1 + end + 1;
    }
    if copied == 0 {
        Cow::Borrowed(s)
    } else {
        out.push_str(&s[copied..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests;

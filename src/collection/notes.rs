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

/// Decodes HTML 4 character references (`&name;`, `&#123;`, `&#x7b;`), all
/// or nothing: any `&` that does not start a valid reference leaves the text
/// as it is. After a decode every U+00A0 (no-break space) becomes a space.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let Some((c, len)) = parse_reference(&rest[amp + 1..]) else {
            return Cow::Borrowed(s);
        };
        out.push(c);
        rest = &rest[amp + 1 + len..];
    }
    out.push_str(rest);
    Cow::Owned(out.replace('\u{a0}', " "))
}

/// Parses the reference after a `&`: the character and the bytes used
/// (including the `;`).
fn parse_reference(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let (code, len) = if b.first() == Some(&b'#') {
        let (digits, radix, skip) = if b.get(1) == Some(&b'x') {
            (&s[2..], 16, 2)
        } else {
            (&s[1..], 10, 1)
        };
        let n = digits
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if n == 0 || digits.as_bytes().get(n) != Some(&b';') {
            return None;
        }
        let digits = &digits[..n];
        if !digits.bytes().all(|c| (c as char).is_digit(radix)) {
            return None;
        }
        (u32::from_str_radix(digits, radix).ok()?, skip + n + 1)
    } else {
        let n = s.bytes().take_while(|c| c.is_ascii_alphanumeric()).count();
        if n == 0 || b.get(n) != Some(&b';') {
            return None;
        }
        let i = HTML4_ENTITIES
            .binary_search_by(|(name, _)| name.cmp(&&s[..n]))
            .ok()?;
        (HTML4_ENTITIES[i].1, n + 1)
    };
    Some((char::from_u32(code)?, len))
}

/// The 252 named character references of HTML 4.01 (W3C), sorted by name.
const HTML4_ENTITIES: &[(&str, u32)] = &[
    ("AElig", 198),
    ("Aacute", 193),
    ("Acirc", 194),
    ("Agrave", 192),
    ("Alpha", 913),
    ("Aring", 197),
    ("Atilde", 195),
    ("Auml", 196),
    ("Beta", 914),
    ("Ccedil", 199),
    ("Chi", 935),
    ("Dagger", 8225),
    ("Delta", 916),
    ("ETH", 208),
    ("Eacute", 201),
    ("Ecirc", 202),
    ("Egrave", 200),
    ("Epsilon", 917),
    ("Eta", 919),
    ("Euml", 203),
    ("Gamma", 915),
    ("Iacute", 205),
    ("Icirc", 206),
    ("Igrave", 204),
    ("Iota", 921),
    ("Iuml", 207),
    ("Kappa", 922),
    ("Lambda", 923),
    ("Mu", 924),
    ("Ntilde", 209),
    ("Nu", 925),
    ("OElig", 338),
    ("Oacute", 211),
    ("Ocirc", 212),
    ("Ograve", 210),
    ("Omega", 937),
    ("Omicron", 927),
    ("Oslash", 216),
    ("Otilde", 213),
    ("Ouml", 214),
    ("Phi", 934),
    ("Pi", 928),
    ("Prime", 8243),
    ("Psi", 936),
    ("Rho", 929),
    ("Scaron", 352),
    ("Sigma", 931),
    ("THORN", 222),
    ("Tau", 932),
    ("Theta", 920),
    ("Uacute", 218),
    ("Ucirc", 219),
    ("Ugrave", 217),
    ("Upsilon", 933),
    ("Uuml", 220),
    ("Xi", 926),
    ("Yacute", 221),
    ("Yuml", 376),
    ("Zeta", 918),
    ("aacute", 225),
    ("acirc", 226),
    ("acute", 180),
    ("aelig", 230),
    ("agrave", 224),
    ("alefsym", 8501),
    ("alpha", 945),
    ("amp", 38),
    ("and", 8743),
    ("ang", 8736),
    ("aring", 229),
    ("asymp", 8776),
    ("atilde", 227),
    ("auml", 228),
    ("bdquo", 8222),
    ("beta", 946),
    ("brvbar", 166),
    ("bull", 8226),
    ("cap", 8745),
    ("ccedil", 231),
    ("cedil", 184),
    ("cent", 162),
    ("chi", 967),
    ("circ", 710),
    ("clubs", 9827),
    ("cong", 8773),
    ("copy", 169),
    ("crarr", 8629),
    ("cup", 8746),
    ("curren", 164),
    ("dArr", 8659),
    ("dagger", 8224),
    ("darr", 8595),
    ("deg", 176),
    ("delta", 948),
    ("diams", 9830),
    ("divide", 247),
    ("eacute", 233),
    ("ecirc", 234),
    ("egrave", 232),
    ("empty", 8709),
    ("emsp", 8195),
    ("ensp", 8194),
    ("epsilon", 949),
    ("equiv", 8801),
    ("eta", 951),
    ("eth", 240),
    ("euml", 235),
    ("euro", 8364),
    ("exist", 8707),
    ("fnof", 402),
    ("forall", 8704),
    ("frac12", 189),
    ("frac14", 188),
    ("frac34", 190),
    ("frasl", 8260),
    ("gamma", 947),
    ("ge", 8805),
    ("gt", 62),
    ("hArr", 8660),
    ("harr", 8596),
    ("hearts", 9829),
    ("hellip", 8230),
    ("iacute", 237),
    ("icirc", 238),
    ("iexcl", 161),
    ("igrave", 236),
    ("image", 8465),
    ("infin", 8734),
    ("int", 8747),
    ("iota", 953),
    ("iquest", 191),
    ("isin", 8712),
    ("iuml", 239),
    ("kappa", 954),
    ("lArr", 8656),
    ("lambda", 955),
    ("lang", 9001),
    ("laquo", 171),
    ("larr", 8592),
    ("lceil", 8968),
    ("ldquo", 8220),
    ("le", 8804),
    ("lfloor", 8970),
    ("lowast", 8727),
    ("loz", 9674),
    ("lrm", 8206),
    ("lsaquo", 8249),
    ("lsquo", 8216),
    ("lt", 60),
    ("macr", 175),
    ("mdash", 8212),
    ("micro", 181),
    ("middot", 183),
    ("minus", 8722),
    ("mu", 956),
    ("nabla", 8711),
    ("nbsp", 160),
    ("ndash", 8211),
    ("ne", 8800),
    ("ni", 8715),
    ("not", 172),
    ("notin", 8713),
    ("nsub", 8836),
    ("ntilde", 241),
    ("nu", 957),
    ("oacute", 243),
    ("ocirc", 244),
    ("oelig", 339),
    ("ograve", 242),
    ("oline", 8254),
    ("omega", 969),
    ("omicron", 959),
    ("oplus", 8853),
    ("or", 8744),
    ("ordf", 170),
    ("ordm", 186),
    ("oslash", 248),
    ("otilde", 245),
    ("otimes", 8855),
    ("ouml", 246),
    ("para", 182),
    ("part", 8706),
    ("permil", 8240),
    ("perp", 8869),
    ("phi", 966),
    ("pi", 960),
    ("piv", 982),
    ("plusmn", 177),
    ("pound", 163),
    ("prime", 8242),
    ("prod", 8719),
    ("prop", 8733),
    ("psi", 968),
    ("quot", 34),
    ("rArr", 8658),
    ("radic", 8730),
    ("rang", 9002),
    ("raquo", 187),
    ("rarr", 8594),
    ("rceil", 8969),
    ("rdquo", 8221),
    ("real", 8476),
    ("reg", 174),
    ("rfloor", 8971),
    ("rho", 961),
    ("rlm", 8207),
    ("rsaquo", 8250),
    ("rsquo", 8217),
    ("sbquo", 8218),
    ("scaron", 353),
    ("sdot", 8901),
    ("sect", 167),
    ("shy", 173),
    ("sigma", 963),
    ("sigmaf", 962),
    ("sim", 8764),
    ("spades", 9824),
    ("sub", 8834),
    ("sube", 8838),
    ("sum", 8721),
    ("sup", 8835),
    ("sup1", 185),
    ("sup2", 178),
    ("sup3", 179),
    ("supe", 8839),
    ("szlig", 223),
    ("tau", 964),
    ("there4", 8756),
    ("theta", 952),
    ("thetasym", 977),
    ("thinsp", 8201),
    ("thorn", 254),
    ("tilde", 732),
    ("times", 215),
    ("trade", 8482),
    ("uArr", 8657),
    ("uacute", 250),
    ("uarr", 8593),
    ("ucirc", 251),
    ("ugrave", 249),
    ("uml", 168),
    ("upsih", 978),
    ("upsilon", 965),
    ("uuml", 252),
    ("weierp", 8472),
    ("xi", 958),
    ("yacute", 253),
    ("yen", 165),
    ("yuml", 255),
    ("zeta", 950),
    ("zwj", 8205),
    ("zwnj", 8204),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::Connection;

    /// The notes the real client stored (see `legacy/testdata/make_fixtures.py`).
    const CLIENT_SORT_FIELDS: &str = include_str!("legacy/testdata/sort_fields.json");

    /// A table with a column of the same affinity as `notes.sfld`.
    fn affinity_table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t (v integer not null)")
            .unwrap();
        conn
    }

    /// SQLite's `quote()` of what ends up stored when `value` is written.
    fn stored(conn: &Connection, value: &Value) -> String {
        conn.execute("delete from t", []).unwrap();
        conn.execute("insert into t (v) values (?1)", [value])
            .unwrap();
        conn.query_row("select quote(v) from t", [], |r| r.get(0))
            .unwrap()
    }

    /// What ends up stored when `value` is written.
    fn stored_value(conn: &Connection, value: &Value) -> Value {
        conn.execute("delete from t", []).unwrap();
        conn.execute("insert into t (v) values (?1)", [value])
            .unwrap();
        conn.query_row("select v from t", [], |r| r.get(0)).unwrap()
    }

    /// The fixture's stored `sfld`: its JSON value (exact for text, integers
    /// and finite reals; `null` for an infinite real), typed by `quote()`.
    fn client_sfld(case: &serde_json::Value) -> Value {
        let quoted = case["sfld_sql"].as_str().unwrap();
        match &case["sfld"] {
            serde_json::Value::String(s) => Value::Text(s.clone()),
            serde_json::Value::Null => Value::Real(if quoted.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            n if !quoted.contains(['.', 'e', 'E']) => Value::Integer(n.as_i64().unwrap()),
            n => Value::Real(n.as_f64().unwrap()),
        }
    }

    #[test]
    fn sort_field_and_checksum_match_what_the_client_stored() {
        let conn = affinity_table();
        let cases: Vec<serde_json::Value> = serde_json::from_str(CLIENT_SORT_FIELDS).unwrap();
        assert!(cases.len() > 150);
        for case in &cases {
            let flds = case["flds"].as_str().unwrap();
            let sort_idx = case["sort_idx"].as_u64().unwrap() as usize;
            let (sfld, csum) = sort_field_and_checksum(flds, sort_idx);
            assert_eq!(
                stored_value(&conn, &sfld),
                client_sfld(case),
                "sfld of {flds:?}"
            );
            assert_eq!(csum, case["csum"].as_i64().unwrap(), "csum of {flds:?}");
        }
    }

    #[test]
    fn plain_integers_are_returned_as_integers() {
        let v = |s: &str| sqlite_integer_affinity(s.to_string());
        assert_eq!(v("12"), Value::Integer(12));
        assert_eq!(v(" -7\n"), Value::Integer(-7));
        assert_eq!(v("+007"), Value::Integer(7));
        assert_eq!(v("-9223372036854775808"), Value::Integer(i64::MIN));
        assert_eq!(
            v("9223372036854775808"),
            Value::Text("9223372036854775808".into())
        );
        assert_eq!(v("1.5"), Value::Text("1.5".into()));
        assert_eq!(v("１２"), Value::Text("１２".into()));
        assert_eq!(v("12\u{a0}"), Value::Text("12\u{a0}".into()));
        assert_eq!(v("-"), Value::Text("-".into()));
    }

    #[test]
    fn media_file_names_are_kept_padded_with_spaces() {
        let strip = |s| strip_html_preserving_media_filenames(s).into_owned();
        assert_eq!(strip(r#"<img src="a.jpg">"#), " a.jpg ");
        assert_eq!(strip(r#"x<IMG class=y SRC='b c.png'/>z"#), "x b c.png z");
        assert_eq!(strip(r#"<object data="o.pdf" type="x">"#), " o.pdf ");
        assert_eq!(strip(r#"<img title=">" src="q.jpg">"#), " q.jpg ");
        assert_eq!(strip(r#"<img src="a.jpg" title=">">"#), r#" a.jpg ">"#);
        assert_eq!(strip(r#"<embed src="e.swf">"#), "");
        assert_eq!(strip("[sound:a.mp3]"), "[sound:a.mp3]");
    }

    #[test]
    fn entities_are_decoded_all_or_nothing() {
        assert_eq!(
            decode_entities("&lt;b&gt; &amp; &eacute;&#65;&#x42;"),
            "<b> & éAB"
        );
        assert_eq!(decode_entities("&amp; &bogus;"), "&amp; &bogus;");
        assert_eq!(decode_entities("&amp; a & b"), "&amp; a & b");
        assert_eq!(decode_entities("a\u{a0}b&nbsp;"), "a b ");
        assert_eq!(decode_entities("a\u{a0}b"), "a\u{a0}b");
        assert_eq!(HTML4_ENTITIES.len(), 252);
        assert!(HTML4_ENTITIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_sort_field_past_the_last_field_is_empty() {
        let (sfld, csum) = sort_field_and_checksum("<b>front</b>\x1f42", 5);
        assert_eq!(sfld, Value::Text(String::new()));
        assert_eq!(csum, field_checksum("front"));
        assert_eq!(sort_field_and_checksum("x\x1f42", 1).0, Value::Integer(42));
    }

    #[test]
    fn cleaning_removes_ascii_controls_but_newlines_and_tabs() {
        assert_eq!(clean_field_text("a\x01b\x7fc\td\r\ne\x1f"), "abc\td\ne");
        assert_eq!(clean_field_text("é\u{85}\u{a0}"), "é\u{85}\u{a0}");
    }

    #[test]
    fn long_unterminated_tags_and_blocks_stay_fast() {
        let start = std::time::Instant::now();
        let field = format!("<img {}", "a=\"b\" ".repeat(20_000));
        assert_eq!(strip_html_preserving_media_filenames(&field), field);
        let field = "<img src=\"x".repeat(20_000);
        strip_html_preserving_media_filenames(&field);
        let field = format!("{}>", "<img -src=x".repeat(20_000));
        strip_html_preserving_media_filenames(&field);
        let field = "<style>a<script>b<!--c".repeat(20_000);
        strip_html_preserving_media_filenames(&field);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn stored_sfld_equals_stored_text_for_tricky_numbers() {
        let conn = affinity_table();
        for text in [
            "",
            " ",
            "0",
            "-0",
            "00",
            " 12 ",
            "\t12\n",
            "12\u{a0}",
            "1.5",
            "5.0",
            "5.",
            ".5",
            "1e5",
            "1e400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "0x10",
            "+",
            "NaN",
            "37000006458599460864.1",
        ] {
            let ours = sqlite_integer_affinity(text.to_string());
            assert_eq!(
                stored(&conn, &ours),
                stored(&conn, &Value::Text(text.to_string())),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn stored_sfld_equals_stored_text(
            text in "[ \t]?[+-]?[0-9]{0,22}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{0,4})?[ \n]?"
        ) {
            let conn = affinity_table();
            let ours = sqlite_integer_affinity(text.clone());
            prop_assert_eq!(stored(&conn, &ours), stored(&conn, &Value::Text(text)));
        }

        #[test]
        fn stripping_never_panics_and_leaves_no_tags_behind(text in "[<>a-z =\"'/!&;#x0-9-]{0,40}") {
            let stripped = strip_html_preserving_media_filenames(&text);
            let _ = sort_field_and_checksum(&text, 0);
            if !text.contains('&') {
                if let Some(lt) = stripped.find('<') {
                    prop_assert!(!stripped[lt..].contains('>'), "{:?} -> {:?}", text, stripped);
                }
            }
        }
    }
}

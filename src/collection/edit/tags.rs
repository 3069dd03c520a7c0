//! Note tags as Anki stores them: split on spaces (and U+3000), each `::`
//! level normalised (NFC, control characters and separators removed,
//! trimmed, empty → `blank`), spelled as the tag registry (the `tags`
//! table, compared case-insensitively) already spells the tag or its nearest
//! registered parent, registered when new, de-duplicated
//! case-insensitively (first spelling wins) and sorted by Unicode case
//! folding; stored as `" a b "` (or `""`).

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};
use unicase::UniCase;
use unicode_normalization::UnicodeNormalization;

use crate::collection::Result;

fn is_separator(c: char) -> bool {
    c == ' ' || c == '\u{3000}'
}

/// The non-empty tags in a space-separated string.
pub fn split(tags: &str) -> impl Iterator<Item = &str> {
    tags.split(is_separator).filter(|t| !t.is_empty())
}

/// `" a b "` for `[a, b]`, `""` for none.
pub fn join(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(" {} ", tags.join(" "))
    }
}

fn normalize_component(comp: &str) -> String {
    let nfc: String = comp.nfc().collect();
    let cleaned: String = nfc
        .chars()
        .filter(|&c| !(c.is_ascii_control() || is_separator(c)))
        .collect();
    match cleaned.trim() {
        "" => "blank".to_owned(),
        t => t.to_owned(),
    }
}

/// One tag's name normalised level by level.
pub fn normalize(name: &str) -> String {
    name.split("::")
        .map(normalize_component)
        .collect::<Vec<_>>()
        .join("::")
}

fn registered(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("select tag from tags where tag = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// The spelling a tag takes and whether it is new to the registry.
fn prepare(conn: &Connection, raw: &str) -> Result<(String, bool)> {
    let name = normalize(raw);
    if let Some(existing) = registered(conn, &name)? {
        return Ok((existing, false));
    }
    let mut parent = name.as_str();
    while let Some((up, _)) = parent.rsplit_once("::") {
        if let Some(spelled) = registered(conn, up)? {
            let levels = spelled.matches("::").count() + 1;
            let rest: Vec<&str> = name.split("::").skip(levels).collect();
            return Ok((format!("{spelled}::{}", rest.join("::")), true));
        }
        parent = up;
    }
    Ok((name, true))
}

/// Normalises one tag, registering it (with `usn`) if it is new; returns
/// the spelling to store.
pub fn register(conn: &Connection, raw: &str, usn: i32) -> Result<String> {
    let (name, new) = prepare(conn, raw)?;
    if new {
        conn.prepare_cached(
            "insert or replace into tags (tag, usn, collapsed, config) values (?1, ?2, 1, null)",
        )?
        .execute(params![name, usn])?;
    }
    Ok(name)
}

/// The canonical tag list of a note: every string split, registered,
/// de-duplicated and sorted.
pub fn canonify(conn: &Connection, raw: &[String], usn: i32) -> Result<Vec<String>> {
    let mut seen: HashSet<UniCase<String>> = HashSet::new();
    for tag in raw.iter().flat_map(|t| split(t)) {
        let name = register(conn, tag, usn)?;
        seen.insert(UniCase::new(name));
    }
    let mut tags: Vec<UniCase<String>> = seen.into_iter().collect();
    tags.sort_unstable();
    Ok(tags.into_iter().map(UniCase::into_inner).collect())
}

/// The tags of a note (stored form) after adding `desired` (canonical
/// names); `None` when the note already has them all.
pub fn with_added(note_tags: &str, desired: &[String]) -> Option<String> {
    let mut tags: HashSet<UniCase<String>> = split(note_tags)
        .map(|t| UniCase::new(t.to_owned()))
        .collect();
    let mut changed = false;
    for tag in desired {
        changed |= tags.insert(UniCase::new(tag.clone()));
    }
    if !changed {
        return None;
    }
    let mut tags: Vec<UniCase<String>> = tags.into_iter().collect();
    tags.sort_unstable();
    let tags: Vec<String> = tags.into_iter().map(UniCase::into_inner).collect();
    Some(join(&tags))
}

/// True when `tag` is `pattern` or one of its children, ignoring case.
fn matches(tag: &str, pattern: &str) -> bool {
    if UniCase::new(tag) == UniCase::new(pattern) {
        return true;
    }
    tag.match_indices("::")
        .any(|(i, _)| UniCase::new(&tag[..i]) == UniCase::new(pattern))
}

/// The tags of a note (stored form) with every tag in `remove` (and its
/// children) taken out, as Anki's "remove tags" does; `None` when the note
/// is not touched. As in Anki, an empty `remove` list touches every note
/// without changing its tags.
pub fn with_removed(note_tags: &str, remove: &[&str]) -> Option<String> {
    if remove.is_empty() {
        return Some(note_tags.to_owned());
    }
    let hit = |t: &str| remove.iter().any(|p| matches(t, p));
    if !split(note_tags).any(hit) {
        return None;
    }
    let kept: Vec<String> = split(note_tags)
        .filter(|t| !hit(t))
        .map(str::to_owned)
        .collect();
    Some(join(&kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::collection::register_unicase(&conn).unwrap();
        conn.execute_batch(
            "create table tags (tag text not null primary key collate unicase, usn integer not null,
             collapsed boolean not null, config blob null) without rowid",
        )
        .unwrap();
        conn
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tags_are_split_normalised_deduplicated_and_sorted_case_insensitively() {
        let conn = tags_db();
        let out = canonify(
            &conn,
            &strings(&["b A a zeta ä Über C::e c::D", "", " ", "::", "foo::"]),
            5,
        )
        .unwrap();
        assert_eq!(
            join(&out),
            " A b blank::blank c::D C::e foo::blank zeta ä Über "
        );
        let usn: i64 = conn
            .query_row("select usn from tags where tag = 'zeta'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usn, 5);
    }

    #[test]
    fn the_registry_spelling_and_registered_parents_win() {
        let conn = tags_db();
        register(&conn, "Vocab", 1).unwrap();
        register(&conn, "Lang::ES", 1).unwrap();
        assert_eq!(canonify(&conn, &strings(&["vocab"]), 2).unwrap(), ["Vocab"]);
        // "lang" is not registered on its own: only a full tag lends its case
        assert_eq!(
            canonify(&conn, &strings(&["lang::es::verbs"]), 2).unwrap(),
            ["Lang::ES::verbs"]
        );
        assert_eq!(
            canonify(&conn, &strings(&["LANG::fr"]), 2).unwrap(),
            ["LANG::fr"]
        );
        // NFD is stored as NFC; an ideographic space separates tags
        assert_eq!(
            canonify(&conn, &strings(&["cafe\u{301}\u{3000}x"]), 2).unwrap(),
            ["caf\u{e9}", "x"]
        );
    }

    #[test]
    fn adding_keeps_the_notes_spelling_and_reports_no_change() {
        let desired = strings(&["xyz", "abc", "DEF"]);
        assert_eq!(with_added("", &desired).unwrap(), " abc DEF xyz ");
        assert_eq!(
            with_added(" XYZ deF aaa ", &desired).unwrap(),
            " aaa abc deF XYZ "
        );
        assert!(with_added(" def xyz abc ", &desired).is_none());
    }

    #[test]
    fn removing_takes_children_too_and_ignores_case() {
        assert_eq!(with_removed(" a A::b ab c ", &["a"]).unwrap(), " ab c ");
        assert_eq!(with_removed(" a b ", &["B", "a"]).unwrap(), "");
        assert!(with_removed(" a b ", &["c"]).is_none());
        assert_eq!(with_removed(" a ", &[]).unwrap(), " a ");
    }
}

use prost::Message;
use rusqlite::{params, Connection};

use super::*;
use crate::collection::proto::{
    DeckCommon, DeckFiltered, DeckKind, DeckKindContainer, DeckNormal, FieldConfig,
};
use crate::collection::search::{find_cards, find_notes, parser, SearchError};

/// 2026-11-27 10:00 UTC; the collection's day starts at 04:00 UTC.
const NOW_MS: i64 = 1_795_773_600_000;
const DAY: i64 = 86_400;

struct Col {
    conn: Connection,
    path: std::path::PathBuf,
    basic: i64,
}

impl Drop for Col {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

fn collection() -> Col {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let path = std::env::temp_dir().join(format!("kioku-search-{}.anki2", hex::encode(bytes)));
    crate::collection::create_collection(&path, NOW_MS - 30 * DAY * 1000).unwrap();
    let conn = crate::collection::open(&path).unwrap();
    conn.execute_batch(
        "update col set crt = 1793160000;
         insert or replace into config values ('creationOffset', 0, 0, cast('0' as blob));
         insert or replace into config values ('rollover', 0, 0, cast('4' as blob));",
    )
    .unwrap();
    let basic = conn
        .query_row("select id from notetypes where name = 'Basic'", [], |r| {
            r.get(0)
        })
        .unwrap();
    Col { conn, path, basic }
}

impl Col {
    fn note(&self, id: i64, mid: i64, flds: &[&str], tags: &str) {
        let flds = flds.join("\x1f");
        let (sfld, csum) = crate::collection::notes::sort_field_and_checksum(&flds, 0);
        self.conn
            .execute(
                "insert into notes values (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, 0, '')",
                params![id, format!("g{id}"), mid, id / 1000, tags, flds, sfld, csum],
            )
            .unwrap();
    }

    /// A card: (id, nid, did, ord, type, queue, due, odid).
    fn card(&self, c: (i64, i64, i64, i64, i64, i64, i64, i64)) {
        self.conn
            .execute(
                "insert into cards values (?1, ?2, ?3, ?4, 0, 0, ?5, ?6, ?7, 0, 0, 0, 0, 0, 0, ?8, 0, '')",
                params![c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7],
            )
            .unwrap();
    }

    fn deck(&self, id: i64, name: &str, filtered: bool) {
        let kind = DeckKindContainer {
            kind: Some(if filtered {
                DeckKind::Filtered(DeckFiltered::default())
            } else {
                DeckKind::Normal(DeckNormal {
                    config_id: 1,
                    ..Default::default()
                })
            }),
        };
        self.conn
            .execute(
                "insert into decks values (?1, ?2, 0, 0, ?3, ?4)",
                params![
                    id,
                    name,
                    DeckCommon::default().encode_to_vec(),
                    kind.encode_to_vec()
                ],
            )
            .unwrap();
    }

    fn notes(&self, q: &str) -> Vec<i64> {
        find_notes(&self.conn, q, NOW_MS).unwrap_or_else(|e| panic!("{q:?}: {e}"))
    }

    fn cards(&self, q: &str) -> Vec<i64> {
        find_cards(&self.conn, q, NOW_MS).unwrap_or_else(|e| panic!("{q:?}: {e}"))
    }

    fn sql(&self, q: &str, item: Item) -> Query {
        let ctx = Context::load(&self.conn, NOW_MS).unwrap();
        build(&self.conn, &ctx, &parser::parse(q).unwrap(), item).unwrap()
    }
}

#[test]
fn user_text_is_bound_never_written_into_the_sql() {
    let col = collection();
    for q in [
        "zqx'; drop table notes; --",
        "deck:zqx'or 1=1",
        "tag:'zqx",
        "front:'zqx",
        "note:zqx'b",
        "\"card:zqx' b\"",
        "re:'zqx",
        "dupe:1,zqx'",
    ] {
        let query = col.sql(q, Item::Notes);
        assert!(
            !query.sql.contains("zqx"),
            "{q:?} leaked into {}",
            query.sql
        );
        col.notes(q);
    }
    assert_eq!(
        col.conn
            .query_row(
                "select count(*) from sqlite_master where name = 'notes'",
                [],
                |r| { r.get::<_, i64>(0) }
            )
            .unwrap(),
        1
    );
}

#[test]
fn only_the_tables_the_terms_need_are_read() {
    let col = collection();
    let q = col.sql("tag:x", Item::Notes);
    assert!(
        q.sql.starts_with("select n.id from notes n where ("),
        "{}",
        q.sql
    );
    let q = col.sql("is:new", Item::Cards);
    assert!(
        q.sql.starts_with("select c.id from cards c where ("),
        "{}",
        q.sql
    );
    let q = col.sql("nid:5", Item::Cards);
    assert_eq!(q.sql, "select c.id from cards c where (c.nid in (5))");
    let q = col.sql("deck:x", Item::Notes);
    assert!(q
        .sql
        .starts_with("select distinct n.id from cards c, notes n"));
    let q = col.sql("card:1", Item::Cards);
    assert!(q
        .sql
        .starts_with("select c.id from cards c, notes n where c.nid = n.id"));
}

#[test]
fn and_or_keep_sql_precedence_and_only_user_groups_get_brackets() {
    let col = collection();
    let q = col.sql("is:new is:learn or -is:due (flag:1 or flag:2)", Item::Cards);
    assert!(
        q.sql.ends_with(
            "(c.type = 0 and c.type in (1, 3) or not ((c.queue in (2, 3) and c.due <= 30) \
             or (c.queue in (1, 4) and c.due <= 1795774800)) and ((c.flags & 7) = 1 or \
             (c.flags & 7) = 2))"
        ),
        "{}",
        q.sql
    );
}

#[test]
fn notes_without_cards_match_note_terms_but_not_card_terms() {
    let col = collection();
    col.note(10, col.basic, &["alone", ""], "");
    col.note(20, col.basic, &["with card", ""], "");
    col.card((21, 20, 1, 0, 0, 0, 1, 0));
    assert_eq!(col.notes(""), vec![10, 20]);
    assert_eq!(col.notes("front:*"), vec![10, 20]);
    assert_eq!(col.notes("deck:*"), vec![20]);
    assert_eq!(col.notes("-is:suspended"), vec![20]);
    assert_eq!(col.cards(""), vec![21]);
}

#[test]
fn a_note_matches_when_any_of_its_cards_does() {
    let col = collection();
    col.deck(100, "A", false);
    col.note(10, col.basic, &["x", "y"], "");
    col.card((11, 10, 1, 0, 0, 0, 1, 0));
    col.card((12, 10, 100, 1, 0, 0, 2, 0));
    assert_eq!(col.notes("deck:A"), vec![10]);
    assert_eq!(col.notes("-deck:A"), vec![10]);
    assert_eq!(col.cards("-deck:A"), vec![11]);
}

#[test]
fn field_values_match_the_whole_raw_field_ascii_case_insensitively() {
    let col = collection();
    col.note(10, col.basic, &["<b>Hello</b> World", "Öl"], "");
    col.note(20, col.basic, &["hello", ""], "");
    assert_eq!(col.notes("front:hello"), vec![20]);
    assert_eq!(col.notes("front:*HELLO*"), vec![10, 20]);
    assert_eq!(col.notes("FRONT:h_llo"), vec![20]);
    assert_eq!(col.notes("back:öl"), Vec::<i64>::new());
    assert_eq!(col.notes("*:öl"), vec![10]);
    assert_eq!(col.notes("back:"), vec![20]);
    assert_eq!(col.notes("back:_*"), vec![10]);
    assert_eq!(col.notes("hello_world"), vec![10]);
    assert_eq!(col.notes("nofield:*"), Vec::<i64>::new());
}

#[test]
fn adjacent_wildcard_fields_are_matched_as_one_run() {
    let col = collection();
    col.note(10, col.basic, &["a", "b"], "");
    // `*_*` matches both field names: Front and Back are one run.
    assert_eq!(col.notes("*_*:a"), Vec::<i64>::new());
    assert_eq!(col.notes("*_*:a*"), vec![10]);
    assert_eq!(col.notes("*_*:a\x1fb"), vec![10]);
    // a test for non-emptiness looks at each field on its own
    assert_eq!(col.notes("*_*:_*"), vec![10]);
}

#[test]
fn excluded_fields_are_skipped_by_plain_text_and_regex_only() {
    let col = collection();
    let config = FieldConfig {
        exclude_from_search: true,
        ..Default::default()
    };
    col.conn
        .execute(
            "update fields set config = ?1 where ntid = ?2 and ord = 1",
            params![config.encode_to_vec(), col.basic],
        )
        .unwrap();
    col.note(10, col.basic, &["front", "secret"], "");
    assert_eq!(col.notes("secret"), Vec::<i64>::new());
    assert_eq!(col.notes("re:secret"), Vec::<i64>::new());
    assert_eq!(col.notes("back:secret"), vec![10]);
    assert_eq!(col.notes("front"), vec![10]);
}

#[test]
fn decks_match_children_and_original_decks_of_filtered_cards() {
    let col = collection();
    col.deck(100, "Lang", false);
    col.deck(101, "Lang\x1fJP", false);
    col.deck(102, "Filt", true);
    col.note(10, col.basic, &["a", ""], "");
    col.card((11, 10, 101, 0, 0, 0, 1, 0));
    col.note(20, col.basic, &["b", ""], "");
    col.card((21, 20, 102, 0, 0, 0, 1, 101));
    assert_eq!(col.cards("deck:lang"), vec![11, 21]);
    assert_eq!(col.cards("deck:Lang::*"), vec![11, 21]);
    assert_eq!(col.cards("deck:jp"), Vec::<i64>::new());
    assert_eq!(col.cards("deck:filtered"), vec![21]);
    assert_eq!(col.cards("deck:filt"), vec![21]);
    assert_eq!(col.cards(&format!("did:{}", 101)), vec![11, 21]);
    assert_eq!(col.cards("deck:current"), Vec::<i64>::new());
    assert_eq!(native_deck_pattern("a:: b ::"), "a\x1fb\x1fblank");
}

#[test]
fn tags_match_descendants_case_insensitively() {
    let col = collection();
    col.note(10, col.basic, &["a", ""], " Lang::JP ünï ");
    col.note(20, col.basic, &["b", ""], "");
    assert_eq!(col.notes("tag:lang"), vec![10]);
    assert_eq!(col.notes("tag:jp"), Vec::<i64>::new());
    assert_eq!(col.notes("tag:ÜNÏ"), vec![10]);
    assert_eq!(col.notes("tag:none"), vec![20]);
    assert_eq!(col.notes("tag:re:^lang::"), vec![10]);
}

#[test]
fn time_terms_follow_the_collection_day() {
    let col = collection();
    // Today starts at 04:00 UTC on day 30 (the next day at NOW + 18 h).
    let next_day = NOW_MS / 1000 + 18 * 3600;
    col.note(10, col.basic, &["a", ""], "");
    col.card((
        (next_day - 3600) * 1000,
        10,
        1,
        0,
        1,
        1,
        NOW_MS / 1000 + 600,
        0,
    ));
    col.card(((next_day - DAY - 60) * 1000, 10, 1, 1, 2, 2, 30, 0));
    col.card(((next_day - 2 * DAY - 60) * 1000, 10, 1, 2, 2, 2, 31, 0));
    let [today, yesterday, older] = [
        (next_day - 3600) * 1000,
        (next_day - DAY - 60) * 1000,
        (next_day - 2 * DAY - 60) * 1000,
    ];
    assert_eq!(col.cards("added:1"), vec![yesterday.max(today)]);
    assert_eq!(col.cards("added:2"), vec![yesterday, today]);
    assert_eq!(col.cards("is:due"), vec![yesterday, today]);
    assert_eq!(col.cards("prop:due=1"), vec![older]);
    let timing = Context::load(&col.conn, NOW_MS).unwrap().timing;
    assert_eq!(timing.days_elapsed, 30);
    assert_eq!(timing.next_day_at, next_day);
}

#[test]
fn invalid_regexes_are_parse_errors_and_unsupported_terms_say_so() {
    let col = collection();
    col.note(10, col.basic, &["a", ""], "");
    assert!(matches!(
        find_notes(&col.conn, "\"re:(\"", NOW_MS),
        Err(SearchError::Parse(_))
    ));
    assert_eq!(col.notes("\"nofield:re:(\""), Vec::<i64>::new());
    for q in ["prop:s>1", "prop:cdn:x>1", "has-cd:x", "prop:r<0.5"] {
        match find_cards(&col.conn, q, NOW_MS) {
            Err(SearchError::Unsupported(msg)) => assert!(msg.contains("kioku"), "{msg}"),
            other => panic!("{q:?}: {other:?}"),
        }
    }
}

#[test]
fn searching_works_while_another_statement_is_running_on_the_connection() {
    let col = collection();
    col.note(10, col.basic, &["a", ""], " t ");
    col.notes("tag:t");
    let mut stmt = col.conn.prepare("select id from notes").unwrap();
    let mut rows = stmt.query([]).unwrap();
    assert!(rows.next().unwrap().is_some());
    assert_eq!(col.notes("re:a tag:t"), vec![10]);
}

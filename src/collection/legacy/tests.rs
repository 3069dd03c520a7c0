//! Conversions checked against what the real client and the official server
//! produce, and the table I/O on a freshly created collection.

use prost::Message;
use serde_json::{json, Value};

use super::*;
use crate::collection::proto::{DeckKind, FieldConfig, TemplateConfig};

/// A collection made by the real client (see `testdata/make_fixtures.py`):
/// each object's legacy JSON as the client sends it, and the rows it stored.
const CLIENT_OBJECTS: &str = include_str!("testdata/client_objects.json");
/// `legacy-json-examples.json` and the `applyChanges` bodies of samples 011
/// and 018 from docs/sync-samples.
const CAPTURED_SAMPLES: &str = include_str!("testdata/captured_samples.json");

fn captured() -> Value {
    serde_json::from_str(CAPTURED_SAMPLES).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn client_objects() -> Value {
    serde_json::from_str(CLIENT_OBJECTS).unwrap()
}

fn fixture_notetype(f: &Value) -> NotetypeRows {
    NotetypeRows {
        id: f["id"].as_i64().unwrap(),
        name: f["name"].as_str().unwrap().into(),
        mtime_secs: f["mtime_secs"].as_i64().unwrap(),
        usn: f["usn"].as_i64().unwrap() as i32,
        config: NotetypeConfig::decode(&unhex(f["config"].as_str().unwrap())[..]).unwrap(),
        fields: f["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| FieldRow {
                ord: r["ord"].as_u64().unwrap() as u32,
                name: r["name"].as_str().unwrap().into(),
                config: FieldConfig::decode(&unhex(r["config"].as_str().unwrap())[..]).unwrap(),
            })
            .collect(),
        templates: f["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| TemplateRow {
                ord: r["ord"].as_u64().unwrap() as u32,
                name: r["name"].as_str().unwrap().into(),
                mtime_secs: r["mtime_secs"].as_i64().unwrap(),
                usn: r["usn"].as_i64().unwrap() as i32,
                config: TemplateConfig::decode(&unhex(r["config"].as_str().unwrap())[..]).unwrap(),
            })
            .collect(),
    }
}

fn fixture_deck(f: &Value) -> DeckRow {
    DeckRow {
        id: f["id"].as_i64().unwrap(),
        name: f["name"].as_str().unwrap().into(),
        mtime_secs: f["mtime_secs"].as_i64().unwrap(),
        usn: f["usn"].as_i64().unwrap() as i32,
        common: DeckCommon::decode(&unhex(f["common"].as_str().unwrap())[..]).unwrap(),
        kind: DeckKindContainer::decode(&unhex(f["kind"].as_str().unwrap())[..]).unwrap(),
    }
}

fn fixture_deck_config(f: &Value) -> DeckConfigRow {
    DeckConfigRow {
        id: f["id"].as_i64().unwrap(),
        name: f["name"].as_str().unwrap().into(),
        mtime_secs: f["mtime_secs"].as_i64().unwrap(),
        usn: f["usn"].as_i64().unwrap() as i32,
        config: DeckConfigConfig::decode(&unhex(f["config"].as_str().unwrap())[..]).unwrap(),
    }
}

#[test]
fn client_notetypes_convert_to_the_blobs_and_json_the_client_has() {
    let objs = client_objects();
    let notetypes = objs["notetypes"].as_array().unwrap();
    assert_eq!(notetypes.len(), 7);
    for f in notetypes {
        let stored = fixture_notetype(f);
        // the client's blobs re-encode byte for byte
        assert_eq!(
            hex::encode_upper(stored.config.encode_to_vec()),
            f["config"]
        );
        // blobs → JSON gives the client's JSON
        assert_eq!(notetype::to_json(&stored), f["json"], "{}", stored.name);
        // JSON → rows gives the client's blobs (templates arrive with
        // mtime 0 and usn 0, as on the official server)
        let parsed = notetype::from_json(&f["json"]).unwrap();
        assert_eq!(
            (parsed.id, &parsed.name, parsed.mtime_secs, parsed.usn),
            (stored.id, &stored.name, stored.mtime_secs, stored.usn)
        );
        assert_eq!(
            hex::encode_upper(parsed.config.encode_to_vec()),
            f["config"]
        );
        assert_eq!(parsed.fields, stored.fields);
        for (p, (s, fx)) in parsed.templates.iter().zip(
            stored
                .templates
                .iter()
                .zip(f["templates"].as_array().unwrap()),
        ) {
            assert_eq!(
                (p.ord, &p.name, p.mtime_secs, p.usn),
                (s.ord, &s.name, 0, 0)
            );
            assert_eq!(hex::encode_upper(p.config.encode_to_vec()), fx["config"]);
        }
        for (p, fx) in parsed.fields.iter().zip(f["fields"].as_array().unwrap()) {
            assert_eq!(hex::encode_upper(p.config.encode_to_vec()), fx["config"]);
        }
    }
}

#[test]
fn client_decks_convert_to_the_blobs_and_json_the_client_has() {
    let objs = client_objects();
    let decks = objs["decks"].as_array().unwrap();
    assert_eq!(decks.len(), 5);
    let mut filtered = 0;
    for f in decks {
        let stored = fixture_deck(f);
        assert_eq!(
            hex::encode_upper(stored.common.encode_to_vec()),
            f["common"]
        );
        assert_eq!(hex::encode_upper(stored.kind.encode_to_vec()), f["kind"]);
        assert_eq!(deck::to_json(&stored), f["json"], "{}", stored.name);
        let parsed = deck::from_json(&f["json"]).unwrap();
        assert_eq!(parsed, stored);
        assert_eq!(
            hex::encode_upper(parsed.common.encode_to_vec()),
            f["common"]
        );
        assert_eq!(hex::encode_upper(parsed.kind.encode_to_vec()), f["kind"]);
        filtered += usize::from(matches!(parsed.kind.kind, Some(DeckKind::Filtered(_))));
    }
    assert_eq!(filtered, 1);
}

#[test]
fn client_deck_configs_convert_to_the_blobs_and_json_the_client_has() {
    let objs = client_objects();
    let confs = objs["deck_configs"].as_array().unwrap();
    assert_eq!(confs.len(), 2);
    for f in confs {
        let stored = fixture_deck_config(f);
        assert_eq!(
            hex::encode_upper(stored.config.encode_to_vec()),
            f["config"]
        );
        assert_eq!(deck_config::to_json(&stored), f["json"], "{}", stored.name);
        let parsed = deck_config::from_json(&f["json"]).unwrap();
        assert_eq!(parsed, stored);
        assert_eq!(
            hex::encode_upper(parsed.config.encode_to_vec()),
            f["config"]
        );
    }
}

#[test]
fn documented_examples_round_trip_unchanged() {
    let ex = &captured()["legacy_examples"];
    let nt = &ex["notetype_cloze (models element)"];
    assert_eq!(&notetype::to_json(&notetype::from_json(nt).unwrap()), nt);
    for key in [
        "normal_deck_default (decks element)",
        "filtered_deck (decks element)",
    ] {
        let d = &ex[key];
        assert_eq!(&deck::to_json(&deck::from_json(d).unwrap()), d, "{key}");
    }
    let dc = &ex["deck_config_default (dconf element)"];
    let row = deck_config::from_json(dc).unwrap();
    assert_eq!(&deck_config::to_json(&row), dc);
    // and the default deck config is the blob a new collection stores
    assert_eq!(row.config, crate::collection::create::default_deck_config());
}

#[test]
fn captured_apply_changes_objects_round_trip_unchanged() {
    let mut count = 0;
    let samples = captured();
    for (_, changes) in samples["applyChanges"].as_object().unwrap() {
        {
            for m in changes["models"].as_array().unwrap() {
                assert_eq!(&notetype::to_json(&notetype::from_json(m).unwrap()), m);
                count += 1;
            }
            for d in changes["decks"][0].as_array().unwrap() {
                assert_eq!(&deck::to_json(&deck::from_json(d).unwrap()), d);
                count += 1;
            }
            for c in changes["decks"][1].as_array().unwrap() {
                assert_eq!(
                    &deck_config::to_json(&deck_config::from_json(c).unwrap()),
                    c
                );
                count += 1;
            }
        }
    }
    assert_eq!(count, 8);
}

// ---------------------------------------------------------------------------
// Table I/O on a collection made by `create_collection`
// ---------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kioku-legacy-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CREATED_MS: i64 = 1_795_809_854_225;

fn new_collection() -> (TempDir, Connection) {
    let dir = TempDir::new();
    let path = dir.0.join("collection.anki2");
    crate::collection::create_collection(&path, CREATED_MS).unwrap();
    let conn = crate::collection::open(&path).unwrap();
    (dir, conn)
}

fn count(conn: &Connection, sql: &str, id: i64) -> i64 {
    conn.query_row(sql, [id], |r| r.get(0)).unwrap()
}

#[test]
fn stock_notetypes_survive_json_and_storage_unchanged() {
    let (_dir, conn) = new_collection();
    let all = load_notetypes_since(&conn, 0).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all[0].name, "Basic");
    for nt in &all {
        assert_eq!(load_notetype(&conn, nt.id).unwrap().as_ref(), Some(nt));
        let back = notetype::from_json(&notetype::to_json(nt)).unwrap();
        assert_eq!(&back, nt);
        store_notetype(&conn, &back).unwrap();
        assert_eq!(load_notetype(&conn, nt.id).unwrap().as_ref(), Some(nt));
    }
    assert_eq!(load_notetype(&conn, 42).unwrap(), None);
    assert!(load_notetypes_since(&conn, 1).unwrap().is_empty());
}

#[test]
fn storing_a_notetype_replaces_its_fields_and_templates() {
    let (_dir, conn) = new_collection();
    let mut nt = load_notetypes_since(&conn, 0).unwrap().remove(1); // Basic (and reversed)
    assert_eq!((nt.fields.len(), nt.templates.len()), (2, 2));
    nt.fields.truncate(1);
    nt.templates.pop();
    nt.templates[0].name = "Only card".into();
    nt.usn = 7;
    nt.mtime_secs = 123;
    store_notetype(&conn, &nt).unwrap();
    assert_eq!(load_notetype(&conn, nt.id).unwrap(), Some(nt.clone()));
    assert_eq!(
        count(&conn, "select count(*) from fields where ntid = ?1", nt.id),
        1
    );
    assert_eq!(
        count(
            &conn,
            "select count(*) from templates where ntid = ?1",
            nt.id
        ),
        1
    );
    assert_eq!(load_notetypes_since(&conn, 7).unwrap(), vec![nt.clone()]);

    // a brand-new notetype
    let mut new = nt.clone();
    new.id = 5;
    new.name = "Copy".into();
    store_notetype(&conn, &new).unwrap();
    assert_eq!(load_notetype(&conn, 5).unwrap(), Some(new));
    delete_notetype(&conn, 5).unwrap();
    assert_eq!(load_notetype(&conn, 5).unwrap(), None);
    assert_eq!(
        count(&conn, "select count(*) from fields where ntid = ?1", 5),
        0
    );
    assert_eq!(
        count(&conn, "select count(*) from templates where ntid = ?1", 5),
        0
    );
}

#[test]
fn a_notetype_name_clash_fails_without_touching_either_notetype() {
    let (_dir, conn) = new_collection();
    let all = load_notetypes_since(&conn, 0).unwrap();
    let mut other = all[1].clone();
    other.name = "BASIC".into();
    other.fields.pop();
    assert!(matches!(
        store_notetype(&conn, &other),
        Err(LegacyError::Sqlite(_))
    ));
    assert_eq!(
        load_notetype(&conn, all[0].id).unwrap().as_ref(),
        Some(&all[0])
    );
    assert_eq!(
        load_notetype(&conn, all[1].id).unwrap().as_ref(),
        Some(&all[1])
    );
    assert_eq!(
        find_notetype_id_by_name(&conn, "bAsIc").unwrap(),
        Some(all[0].id)
    );
    assert_eq!(
        find_notetype_id_by_name(&conn, "CLOZE").unwrap(),
        Some(all[4].id)
    );
    assert_eq!(find_notetype_id_by_name(&conn, "Basic+").unwrap(), None);
}

#[test]
fn decks_store_load_find_and_delete() {
    let (_dir, conn) = new_collection();
    let default = load_deck(&conn, 1).unwrap().unwrap();
    assert_eq!(default.name, "Default");
    assert_eq!(
        deck::to_json(&default),
        captured()["legacy_examples"]["normal_deck_default (decks element)"]
    );

    let objs = client_objects();
    let mut decks: Vec<DeckRow> = objs["decks"].as_array().unwrap()[1..]
        .iter()
        .map(fixture_deck)
        .collect();
    for (i, d) in decks.iter_mut().enumerate() {
        d.usn = i as i32 - 1; // -1, 0, 1, 2
        store_deck(&conn, d).unwrap();
    }
    for d in &decks {
        assert_eq!(load_deck(&conn, d.id).unwrap().as_ref(), Some(d));
    }
    let since_1: Vec<i64> = load_decks_since(&conn, 1)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(since_1, vec![decks[2].id, decks[3].id]);
    assert_eq!(load_decks_since(&conn, 0).unwrap().len(), 4); // Default has usn 0

    assert_eq!(
        find_deck_id_by_name(&conn, "languages\x1fSPANISH").unwrap(),
        Some(decks[2].id)
    );
    assert_eq!(
        find_deck_id_by_name(&conn, "Languages::Spanish").unwrap(),
        None
    );
    // a different deck with the same name is refused
    let mut clash = decks[0].clone();
    clash.id = 99;
    clash.name = "LANGUAGES".into();
    assert!(store_deck(&conn, &clash).is_err());
    assert_eq!(
        load_deck(&conn, decks[0].id).unwrap().as_ref(),
        Some(&decks[0])
    );
    // renaming a deck in place is fine
    let mut renamed = decks[0].clone();
    renamed.name = "Idiomas".into();
    store_deck(&conn, &renamed).unwrap();
    assert_eq!(load_deck(&conn, renamed.id).unwrap(), Some(renamed.clone()));
    delete_deck(&conn, renamed.id).unwrap();
    assert_eq!(load_deck(&conn, renamed.id).unwrap(), None);
}

#[test]
fn deck_configs_store_load_and_delete() {
    let (_dir, conn) = new_collection();
    let default = load_deck_config(&conn, 1).unwrap().unwrap();
    assert_eq!(
        deck_config::to_json(&default),
        captured()["legacy_examples"]["deck_config_default (dconf element)"]
    );
    let objs = client_objects();
    let mut custom = fixture_deck_config(&objs["deck_configs"][1]);
    custom.usn = 3;
    store_deck_config(&conn, &custom).unwrap();
    assert_eq!(
        load_deck_config(&conn, custom.id).unwrap(),
        Some(custom.clone())
    );
    // names need not be unique
    let mut twin = custom.clone();
    twin.id = 77;
    twin.name = "default".into();
    store_deck_config(&conn, &twin).unwrap();
    let ids: Vec<i64> = load_deck_configs_since(&conn, 0)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![1, 77, custom.id]);
    let ids: Vec<i64> = load_deck_configs_since(&conn, 1)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![77, custom.id]);
    delete_deck_config(&conn, 77).unwrap();
    assert_eq!(load_deck_config(&conn, 77).unwrap(), None);
}

#[test]
fn a_corrupt_blob_is_reported_with_its_table_and_id() {
    let (_dir, conn) = new_collection();
    conn.execute("update decks set kind = x'ff' where id = 1", [])
        .unwrap();
    let err = load_deck(&conn, 1).unwrap_err();
    assert!(
        matches!(
            err,
            LegacyError::BadBlob {
                table: "decks",
                id: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn tags_are_registered_once_case_insensitively_and_keep_their_usn() {
    let (_dir, conn) = new_collection();
    assert!(load_tags_since(&conn, 0).unwrap().is_empty());
    assert!(register_tag(&conn, "Spanish", 3).unwrap());
    assert!(!register_tag(&conn, "SPANISH", 9).unwrap());
    assert!(!register_tag(&conn, "spanish", 9).unwrap());
    let rows: Vec<(String, i32, bool)> = conn
        .prepare("select tag, usn, collapsed from tags")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rows, vec![("Spanish".to_string(), 3, true)]);
    assert!(register_tag(&conn, "zzz", 5).unwrap());
    assert_eq!(load_tags_since(&conn, 4).unwrap(), vec!["zzz".to_string()]);
    assert_eq!(load_tags_since(&conn, 0).unwrap().len(), 2);
}

#[test]
fn new_child_tags_take_the_spelling_of_their_longest_existing_ancestor() {
    // observed on the official server: with FOO and Zzz::Child stored,
    // foo::bar → FOO::bar, foo::baz::deep → FOO::baz::deep,
    // zzz::child::x → Zzz::Child::x, ZZZ::other stays (no tag Zzz)
    let (_dir, conn) = new_collection();
    for t in ["FOO", "Zzz::Child", "bar"] {
        assert!(register_tag(&conn, t, 1).unwrap());
    }
    for t in [
        "foo::bar",
        "foo::baz::deep",
        "zzz::child::x",
        "ZZZ::other",
        "BAR",
        "Bar::Q",
    ] {
        register_tag(&conn, t, 2).unwrap();
    }
    let mut tags = load_tags_since(&conn, 2).unwrap();
    tags.sort();
    assert_eq!(
        tags,
        [
            "FOO::bar",
            "FOO::baz::deep",
            "ZZZ::other",
            "Zzz::Child::x",
            "bar::Q"
        ]
    );
}

#[test]
fn tag_names_are_normalised_like_the_official_server() {
    // each pair observed on the official server (anki 26.9.3)
    for (incoming, stored) in [
        ("a::::b", "a::blank::b"),
        ("::lead", "blank::lead"),
        ("trail::", "trail::blank"),
        ("sp ace", "space"),
        ("t\tb", "tb"),
        ("i\u{3000}b", "ib"),
        ("n\u{a0}b", "n\u{a0}b"),
        ("x:y", "x:y"),
        ("a:::b", "a:::b"),
        ("", "blank"),
        ("::", "blank::blank"),
        ("j\u{85}", "j"),
        ("e\u{85}b", "e\u{85}b"),
        ("d\x7fb", "db"),
        ("a\u{85}::b", "a::b"),
        ("m\u{a0}::\u{a0}n", "m::n"),
        ("\x01\u{a0}x", "x"),
        ("zw\u{200b}s", "zw\u{200b}s"),
    ] {
        assert_eq!(normalize_tag_name(incoming), stored, "{incoming:?}");
    }
    let (_dir, conn) = new_collection();
    assert!(register_tag(&conn, " ", 1).unwrap());
    assert!(!register_tag(&conn, "", 1).unwrap());
    assert_eq!(
        load_tags_since(&conn, 0).unwrap(),
        vec!["blank".to_string()]
    );
}

#[test]
fn config_is_loaded_and_replaced_whole() {
    let (_dir, conn) = new_collection();
    let conf = load_config(&conn).unwrap();
    assert_eq!(conf.len(), 16);
    assert_eq!(conf["sortType"], json!("noteFld"));
    assert_eq!(conf["creationOffset"], Value::Null);
    assert_eq!(conf["curModel"], json!(CREATED_MS + 2));

    let captured = captured();
    let new_conf = captured["applyChanges"]["011 request"]["conf"]
        .as_object()
        .unwrap();
    replace_config(&conn, new_conf, 5, 1_795_807_605).unwrap();
    assert_eq!(&load_config(&conn).unwrap(), new_conf);
    let (rows, min_usn, max_mtime): (i64, i32, i64) = conn
        .query_row(
            "select count(*), min(usn), max(mtime_secs) from config",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (rows, min_usn, max_mtime),
        (new_conf.len() as i64, 5, 1_795_807_605)
    );
    let val: Vec<u8> = conn
        .query_row(
            "select val from config where KEY = 'activeDecks'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(val, b"[1]");

    conn.execute("update config set val = x'7b' where KEY = 'nextPos'", [])
        .unwrap();
    assert!(
        matches!(load_config(&conn), Err(LegacyError::BadConfigValue { key, .. }) if key == "nextPos")
    );
}

//! The rules below were observed on the official server (anki 26.9.3):
//! each case was sent to it in an `applyChanges` request, and the
//! status and the rows it stored were read back.

use super::*;
use prost::Message;

/// The Basic notetype of sample 011.
fn basic() -> Value {
    let samples: Value =
        serde_json::from_str(include_str!("testdata/captured_samples.json")).unwrap();
    samples["applyChanges"]["011 request"]["models"][0].clone()
}

fn with(f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut v = basic();
    f(v.as_object_mut().unwrap());
    v
}

fn set(key: &str, value: Value) -> Value {
    with(|m| {
        m.insert(key.into(), value);
    })
}

fn field0(key: &str, value: Option<Value>) -> Value {
    with(|m| {
        let f = m["flds"][0].as_object_mut().unwrap();
        match value {
            Some(v) => f.insert(key.into(), v),
            None => f.remove(key),
        };
    })
}

fn template0(key: &str, value: Option<Value>) -> Value {
    with(|m| {
        let t = m["tmpls"][0].as_object_mut().unwrap();
        match value {
            Some(v) => t.insert(key.into(), v),
            None => t.remove(key),
        };
    })
}

#[test]
fn required_keys_are_errors_when_missing() {
    for key in NOTETYPE_KEYS[..10].iter() {
        let v = with(|m| {
            m.remove(*key);
        });
        let err = from_json(&v).unwrap_err();
        assert!(
            matches!(&err, LegacyError::MissingKey { key: k, .. } if k == key),
            "{err}"
        );
    }
    for key in ["name", "sticky", "rtl", "font", "size"] {
        let err = from_json(&field0(key, None)).unwrap_err();
        assert!(err.to_string().contains("field 0"), "{err}");
    }
    for key in ["name", "qfmt"] {
        assert!(from_json(&template0(key, None)).is_err(), "{key}");
    }
    // optional ones
    for key in [
        "latexPre",
        "latexPost",
        "latexsvg",
        "req",
        "originalStockKind",
    ] {
        assert!(from_json(&with(|m| {
            m.remove(key);
        }))
        .is_ok());
    }
    assert!(from_json(&field0("ord", None)).is_ok());
    assert!(from_json(&template0("ord", None)).is_ok());
    assert!(from_json(&template0("afmt", None)).is_ok());
}

#[test]
fn values_the_official_server_rejects_are_errors() {
    let cases = [
        set("type", json!(2)),
        set("type", json!("1")),
        set("type", json!(true)),
        set("mod", json!("1795807605")),
        set("mod", json!(1795807605.7)),
        set("usn", json!("3")),
        set("usn", json!(3_000_000_000u32)),
        set("sortf", json!(-1)),
        set("sortf", json!("1")),
        set("id", json!("abc")),
        set("id", json!(1.5)),
        set("name", json!(5)),
        set("latexPre", Value::Null),
        set("originalStockKind", Value::Null),
        set("originalStockKind", json!("1")),
        set("originalId", json!("5")),
        field0("sticky", Some(json!(2))),
        field0("sticky", Some(json!("yes"))),
        field0("sticky", Some(Value::Null)),
        field0("size", Some(json!("20"))),
        field0("size", Some(json!(-1))),
        field0("size", Some(json!(65536))),
        field0("size", Some(json!(20.5))),
        field0("font", Some(Value::Null)),
        field0("font", Some(json!(5))),
        field0("name", Some(Value::Null)),
        field0("ord", Some(json!("1"))),
        field0("ord", Some(json!(-1))),
        field0("ord", Some(json!(70000))),
        template0("qfmt", Some(Value::Null)),
        template0("name", Some(Value::Null)),
        template0("afmt", Some(Value::Null)),
        template0("bqfmt", Some(Value::Null)),
        template0("ord", Some(json!("0"))),
        template0("ord", Some(json!(70000))),
        set("flds", json!({})),
        set("tmpls", json!([5])),
    ];
    for v in cases {
        assert!(from_json(&v).is_err(), "{v}");
    }
}

#[test]
fn values_the_official_server_reads_leniently() {
    let nt = |v: Value| from_json(&v).unwrap();
    assert_eq!(nt(set("id", json!("1700000000001"))).id, 1_700_000_000_001);
    for (did, stored) in [
        (json!("1795807604303"), 0),
        (json!(1.5), 0),
        (json!(true), 0),
        (Value::Null, 0),
        (json!(-5), -5),
    ] {
        assert_eq!(nt(set("did", did)).config.target_deck_id_unused, stored);
    }
    assert_eq!(nt(set("css", json!(5))).config.css, "");
    assert_eq!(nt(set("css", Value::Null)).config.css, "");
    for (svg, stored) in [(json!(1), false), (json!("1"), false), (json!(true), true)] {
        assert_eq!(nt(set("latexsvg", svg)).config.latex_svg, stored);
    }
    for req in [
        Value::Null,
        json!([[0, "bogus", [0]]]),
        json!([[0, "ANY", [0]]]),
        json!([[0, 1, [0]]]),
        json!([[0, "any"]]),
        json!([[0, "all", [0], 5]]),
        json!([[0, "any", [-1]]]),
        json!([[70000, "any", [0]]]),
        json!([[0, "any", [70000]]]),
        json!([[0, "any", [0]], "x"]),
    ] {
        assert!(nt(set("req", req.clone())).config.reqs.is_empty(), "{req}");
    }
    let reqs = nt(set(
        "req",
        json!([[0, "all", [0, 1]], {"card_ord": 1, "kind": "none", "field_ords": []}]),
    ))
    .config
    .reqs;
    assert_eq!(
        reqs,
        vec![
            CardRequirement {
                card_ord: 0,
                kind: CardRequirementKind::All as i32,
                field_ords: vec![0, 1]
            },
            CardRequirement {
                card_ord: 1,
                kind: CardRequirementKind::None as i32,
                field_ords: vec![]
            }
        ]
    );
    assert_eq!(
        nt(set("originalStockKind", json!(7)))
            .config
            .original_stock_kind,
        7
    );
    assert_eq!(
        nt(set("originalStockKind", json!(-1)))
            .config
            .original_stock_kind,
        -1
    );
    assert_eq!(nt(set("originalId", Value::Null)).config.original_id, None);
    assert_eq!(nt(set("originalId", json!(0))).config.original_id, Some(0));
    assert_eq!(nt(set("sortf", json!(7))).config.sort_field_idx, 7);

    let f = |key: &str, v: Value| nt(field0(key, Some(v))).fields[0].config.clone();
    assert!(f("sticky", json!(1)).sticky);
    assert!(f("rtl", json!(1)).rtl);
    assert!(!f("plainText", json!(1)).plain_text);
    assert!(!f("collapsed", json!(1)).collapsed);
    assert!(!f("preventDeletion", json!(1)).prevent_deletion);
    assert!(!f("excludeFromSearch", json!("x")).exclude_from_search);
    assert_eq!(f("description", json!(5)).description, "");
    assert_eq!(f("id", json!("5")).id, None);
    assert_eq!(f("id", json!(1.5)).id, None);
    assert_eq!(f("tag", json!(-1)).tag, None);
    assert_eq!(f("tag", json!(70000)).tag, Some(70000));
    assert_eq!(f("tag", json!(5_000_000_000u64)).tag, None);
    assert_eq!(f("size", json!(65535)).font_size, 65535);
    assert_eq!(nt(field0("ord", Some(json!(7)))).fields[0].ord, 0);
    assert_eq!(nt(field0("ord", Some(json!(7)))).fields[1].ord, 1);

    let t = |key: &str, v: Value| nt(template0(key, Some(v))).templates[0].config.clone();
    for (bsize, stored) in [
        (json!(255), 255),
        (json!(256), 0),
        (json!(-1), 0),
        (json!("20"), 0),
        (json!(20.5), 0),
        (json!(true), 0),
        (Value::Null, 0),
        (json!(20), 20),
    ] {
        assert_eq!(t("bsize", bsize).browser_font_size, stored);
    }
    assert_eq!(t("did", json!("5")).target_deck_id, 0);
    assert_eq!(t("did", json!(-3)).target_deck_id, -3);
    assert_eq!(t("did", json!(1.5)).target_deck_id, 0);
    assert_eq!(t("id", json!("5")).id, None);
    assert_eq!(t("id", json!(1.5)).id, None);
    assert_eq!(t("bfont", json!(5)).browser_font_name, "");
    assert_eq!(t("bfont", Value::Null).browser_font_name, "");
    let templates = nt(basic()).templates;
    assert_eq!((templates[0].mtime_secs, templates[0].usn), (0, 0));
}

#[test]
fn unknown_keys_are_kept_in_other_with_sorted_keys() {
    let v = with(|m| {
        m.insert("zUnknown".into(), json!({"b": [1, 2.5, null], "a": 2}));
        m.insert("aUnknown".into(), json!("x"));
        m.insert("mid".into(), json!(5));
        m["flds"][0]["extra"] = json!({"q": 1});
        m["tmpls"][0]["zz"] = json!(1);
        m["tmpls"][0]["aa"] = json!([1]);
    });
    let nt = from_json(&v).unwrap();
    assert_eq!(
        String::from_utf8(nt.config.other.clone()).unwrap(),
        r#"{"aUnknown":"x","mid":5,"zUnknown":{"a":2,"b":[1,2.5,null]}}"#
    );
    assert_eq!(nt.fields[0].config.other, br#"{"extra":{"q":1}}"#);
    assert!(nt.fields[1].config.other.is_empty());
    assert_eq!(nt.templates[0].config.other, br#"{"aa":[1],"zz":1}"#);
    assert_eq!(to_json(&nt), v);
    assert!(from_json(&basic()).unwrap().config.other.is_empty());
}

#[test]
fn other_keys_colliding_with_known_keys_are_dropped_on_output() {
    // blobs written directly into a client collection, then read with
    // the client's own legacy-JSON export
    let mut nt = from_json(&basic()).unwrap();
    nt.config.other = serde_json::to_vec(&json!({"originalId": 99, "originalStockKind": 3,
        "name": "X", "did": 5, "zz": 1, "req": 5, "latexsvg": 7}))
    .unwrap();
    nt.config.original_stock_kind = 0;
    nt.config.kind = 2;
    nt.config.target_deck_id_unused = -7;
    nt.config.reqs = vec![CardRequirement {
        card_ord: 0,
        kind: 5,
        field_ords: vec![0, 1],
    }];
    nt.templates[0].config.browser_font_size = 300;
    nt.templates[0].config.other = br#"{"bsize":1,"ord":9,"xx":2}"#.to_vec();
    nt.fields[0].config.font_size = 70000;
    nt.fields[0].config.other = br#"{"id":1,"tag":2,"font":"Z","yy":3,"media":[]}"#.to_vec();
    let out = to_json(&nt);
    assert_eq!(out["zz"], 1);
    assert_eq!(out["name"], "Basic");
    assert_eq!(out["type"], 0);
    assert_eq!(out["did"], -7);
    assert_eq!(out["latexsvg"], false);
    assert_eq!(out["req"], json!([[0, "none", [0, 1]]]));
    assert!(out.get("originalId").is_none() && out.get("originalStockKind").is_none());
    assert_eq!(out["tmpls"][0]["bsize"], 44);
    assert_eq!(out["tmpls"][0]["xx"], 2);
    assert_eq!(out["tmpls"][0]["ord"], 0);
    assert_eq!(out["flds"][0]["size"], 4464);
    assert_eq!(out["flds"][0]["font"], "Arial");
    assert_eq!(out["flds"][0]["yy"], 3);
    assert_eq!(out["flds"][0]["media"], json!([]));
    // original id present (even 0) is written
    nt.config.original_id = Some(0);
    assert_eq!(to_json(&nt)["originalId"], 0);
    // the blob itself is unaffected by encoding round trips
    assert_eq!(
        NotetypeConfig::decode(&nt.config.encode_to_vec()[..]).unwrap(),
        nt.config
    );
}

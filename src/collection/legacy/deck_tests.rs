//! The rules below were observed on the official server (anki 26.9.3):
//! each case was sent to it in an `applyChanges` request and the stored
//! row read back; the output cases come from blobs written into a client
//! collection and read with the client's own legacy-JSON export.

use super::*;

fn samples() -> Value {
    serde_json::from_str(include_str!("testdata/captured_samples.json")).unwrap()
}

/// "Languages::Spanish" of sample 011.
fn normal() -> Value {
    samples()["applyChanges"]["011 request"]["decks"][0][1].clone()
}

fn filtered() -> Value {
    samples()["legacy_examples"]["filtered_deck (decks element)"].clone()
}

fn with(mut v: Value, pairs: &[(&str, Value)]) -> Value {
    for (k, val) in pairs {
        v[*k] = val.clone();
    }
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn normal_kind(d: &DeckRow) -> &DeckNormal {
    match &d.kind.kind {
        Some(DeckKind::Normal(n)) => n,
        k => panic!("not normal: {k:?}"),
    }
}

fn filtered_kind(d: &DeckRow) -> &DeckFiltered {
    match &d.kind.kind {
        Some(DeckKind::Filtered(f)) => f,
        k => panic!("not filtered: {k:?}"),
    }
}

#[test]
fn required_and_rejected_keys() {
    for key in [
        "id",
        "name",
        "usn",
        "lrnToday",
        "revToday",
        "newToday",
        "timeToday",
        "collapsed",
        "dyn",
        "conf",
    ] {
        assert!(from_json(&without(normal(), key)).is_err(), "{key}");
    }
    for key in ["resched", "terms"] {
        assert!(from_json(&without(filtered(), key)).is_err(), "{key}");
    }
    for (k, v) in [
        ("dyn", json!("1")),
        ("dyn", json!(1.0)),
        ("dyn", json!(true)), // a filtered deck without resched/terms
        ("collapsed", json!(1)),
        ("browserCollapsed", json!(1)),
        ("md", json!(1)),
        ("desc", Value::Null),
        ("desc", json!(5)),
        ("name", json!(5)),
        ("id", json!(1.5)),
        ("id", json!(" 5")),
        ("usn", json!("2")),
        ("mod", json!(1.5)),
        ("mod", json!("abc")),
        ("conf", json!(1.5)),
        ("conf", json!("abc")),
        ("newToday", json!("x")),
        ("newToday", Value::Null),
        ("newToday", json!({"day": 2, "amount": 4})),
    ] {
        assert!(
            from_json(&with(normal(), &[(k, v.clone())])).is_err(),
            "{k}: {v}"
        );
    }
    for (k, v) in [
        ("resched", json!("x")),
        ("resched", Value::Null),
        ("resched", json!(2)),
        ("terms", json!("x")),
        ("terms", json!([["a", 5]])),
        ("terms", json!([["a", 5, 1, "extra"]])),
        ("terms", json!([["a", 5, "1"]])),
        ("terms", json!([["a", 3_000_000_000u32, 1]])),
        ("terms", json!([["a", "3000000000", 1]])),
        ("terms", json!([["a", " 5", 1]])),
        ("terms", json!([["a", 1.5, 1]])),
        ("terms", json!([[5, 1, 1]])),
        ("terms", json!([{"search": "a", "limit": 1}])),
        ("previewDelay", json!(-1)),
        ("previewAgainSecs", json!("5")),
        ("previewHardSecs", json!(1.5)),
    ] {
        assert!(
            from_json(&with(filtered(), &[(k, v.clone())])).is_err(),
            "{k}: {v}"
        );
    }
}

#[test]
fn ids_mod_and_conf_accept_numeric_strings() {
    let d = from_json(&with(
        normal(),
        &[
            ("id", json!("+5")),
            ("mod", json!("-3")),
            ("conf", json!("-3")),
        ],
    ))
    .unwrap();
    assert_eq!((d.id, d.mtime_secs, normal_kind(&d).config_id), (5, -3, -3));
    assert_eq!(from_json(&without(normal(), "mod")).unwrap().mtime_secs, 0);
}

#[test]
fn names_are_stored_with_unit_separators_and_cleaned_levels() {
    for (wire, stored) in [
        ("Languages::Spanish", "Languages\x1fSpanish"),
        ("A::::B", "A\x1fblank\x1fB"),
        (" sp ::x ", "sp\x1fx"),
        ("a\x1fb", "ab"),
        ("a\tb::c\nd", "ab\x1fcd"),
        ("a::b::", "a\x1fb\x1fblank"),
        ("\u{a0}x::y\u{3000}", "x\x1fy"),
        ("", "blank"),
        ("::", "blank\x1fblank"),
        ("a\u{3000}b", "a\u{3000}b"),
        ("a\u{85}b", "a\u{85}b"),
        ("a\x7fb", "ab"),
        ("a  b", "a  b"),
        (":a:", "a"),
        ("c: ", "c"),
        (" :d", "d"),
        ("e::f:", "e\x1ff"),
        (":", "blank"),
        (":\x1f:", "blank"),
        ("a:\x1f:b", "a::b"),
        ("x: :y", "x: :y"),
        ("g\x1f::h", "g\x1fh"),
    ] {
        let d = from_json(&with(normal(), &[("name", json!(wire))])).unwrap();
        assert_eq!(d.name, stored, "{wire:?}");
    }
    assert_eq!(wire_name("a\x1fb\x1fc"), "a::b::c");
}

#[test]
fn today_lists_collapse_into_the_last_day_studied() {
    let common = |pairs: &[(&str, Value)]| from_json(&with(normal(), pairs)).unwrap().common;
    let c = common(&[
        ("lrnToday", json!([5, 3])),
        ("revToday", json!([7, 4])),
        ("newToday", json!([6, 2])),
        ("timeToday", json!([7, 1000])),
    ]);
    assert_eq!(
        (
            c.last_day_studied,
            c.new_studied,
            c.review_studied,
            c.learning_studied
        ),
        (7, 0, 4, 0)
    );
    assert_eq!(c.milliseconds_studied, 1000);
    let c = common(&[
        ("lrnToday", json!([9, 3])),
        ("revToday", json!([7, 4])),
        ("newToday", json!([8, 2])),
        ("timeToday", json!([6, 1000])),
    ]);
    assert_eq!(
        (
            c.last_day_studied,
            c.new_studied,
            c.review_studied,
            c.learning_studied
        ),
        (8, 2, 0, 0)
    );
    assert_eq!(c.milliseconds_studied, 1000);
    // the last two elements count; non-integers are 0; integers wrap
    for (new_today, (day, amount)) in [
        (json!([3]), (0, 3)),
        (json!([3, 4, 5]), (4, 5)),
        (json!([null, 4]), (0, 4)),
        (json!([2.5, 4]), (0, 4)),
        (json!([2, "4"]), (2, 0)),
        (json!([true, 3]), (0, 3)),
        (json!([1, {}]), (1, 0)),
        (json!([]), (0, 0)),
        (json!([0, 5_000_000_000u64]), (0, 705_032_704)),
        (json!([0, 2_147_483_648u64]), (0, i32::MIN)),
        (json!([5_000_000_000u64, 1]), (705_032_704, 1)),
    ] {
        let c = common(&[
            ("newToday", new_today.clone()),
            ("revToday", json!([0, 0])),
            ("timeToday", json!([0, 0])),
        ]);
        assert_eq!(
            (c.last_day_studied as i32, c.new_studied),
            (day, amount),
            "{new_today}"
        );
    }
    // all days negative: the largest wraps into the unsigned field
    let c = common(&[
        ("newToday", json!([-5, 3])),
        ("revToday", json!([-2, 1])),
        ("timeToday", json!([-3, 0])),
    ]);
    assert_eq!(
        (c.last_day_studied, c.review_studied, c.new_studied),
        (4_294_967_294, 1, 0)
    );
    let d = from_json(&with(
        normal(),
        &[("newToday", json!([4_294_967_295u64, 1]))],
    ))
    .unwrap();
    assert_eq!((d.common.last_day_studied, d.common.new_studied), (0, 0));
}

#[test]
fn normal_deck_values_read_leniently() {
    let n =
        |pairs: &[(&str, Value)]| normal_kind(&from_json(&with(normal(), pairs)).unwrap()).clone();
    assert_eq!(
        n(&[("extendNew", json!(-3)), ("extendRev", json!("5"))]).extend_new,
        0
    );
    assert_eq!(n(&[("extendRev", json!("5"))]).extend_review, 0);
    assert_eq!(n(&[("extendRev", json!(1.5))]).extend_review, 0);
    assert_eq!(n(&[("extendNew", json!(3_000_000_000u32))]).extend_new, 0);
    assert_eq!(n(&[("extendNew", json!(7))]).extend_new, 7);
    assert_eq!(n(&[("reviewLimit", json!(-1))]).review_limit, None);
    assert_eq!(n(&[("reviewLimit", json!("5"))]).review_limit, None);
    assert_eq!(
        n(&[("reviewLimit", json!(5_000_000_000u64))]).review_limit,
        None
    );
    assert_eq!(n(&[("newLimit", json!(0))]).new_limit, Some(0));
    let day_limit = |v: Value| n(&[("reviewLimitToday", v)]).review_limit_today;
    assert_eq!(
        day_limit(json!({"limit": 3, "today": 9})),
        Some(DayLimit { limit: 3, today: 9 })
    );
    assert_eq!(
        day_limit(json!({"limit": 1, "today": 2, "x": 3})),
        Some(DayLimit { limit: 1, today: 2 })
    );
    assert_eq!(
        day_limit(json!([3, 9])),
        Some(DayLimit { limit: 3, today: 9 })
    );
    assert_eq!(day_limit(json!([3])), None);
    assert_eq!(day_limit(json!({"limit": 3})), None);
    assert_eq!(day_limit(json!({"limit": -1, "today": 2})), None);
    let dr = |v: Value| n(&[("desiredRetention", v)]).desired_retention;
    assert_eq!(dr(json!(90)), Some(0.9));
    assert_eq!(dr(json!(250)), Some(2.5));
    assert_eq!(dr(json!(0)), Some(0.0));
    for bad in [json!(85.7), json!(0.9), json!("90"), json!(-5), Value::Null] {
        assert_eq!(dr(bad.clone()), None, "{bad}");
    }
    let d = from_json(&with(
        normal(),
        &[("desc", json!("x")), ("md", json!(true))],
    ))
    .unwrap();
    assert_eq!(normal_kind(&d).description, "x");
    assert!(normal_kind(&d).markdown_description);
    assert!(
        !from_json(&without(normal(), "browserCollapsed"))
            .unwrap()
            .common
            .browser_collapsed
    );
    // dyn: any integer other than 1 is a normal deck, false too
    for dyn_ in [json!(0), json!(2), json!(-1), json!(false)] {
        assert!(matches!(
            from_json(&with(normal(), &[("dyn", dyn_)]))
                .unwrap()
                .kind
                .kind,
            Some(DeckKind::Normal(_))
        ));
    }
}

#[test]
fn filtered_deck_values() {
    let f = |pairs: &[(&str, Value)]| {
        filtered_kind(&from_json(&with(filtered(), pairs)).unwrap()).clone()
    };
    assert!(f(&[("resched", json!(1))]).reschedule);
    assert!(!f(&[("resched", json!(0))]).reschedule);
    assert_eq!(
        f(&[("terms", json!([["a", "5", 1], ["b", -3, 2], {"search": "c", "limit": "7", "order": 11, "x": 1}, ["d", "-5", -1]]))])
            .search_terms,
        vec![
            SearchTerm { search: "a".into(), limit: 5, order: 1 },
            SearchTerm { search: "b".into(), limit: 0, order: 2 },
            SearchTerm { search: "c".into(), limit: 7, order: 11 },
            SearchTerm { search: "d".into(), limit: 0, order: -1 },
        ]
    );
    assert!(f(&[("terms", json!([]))]).search_terms.is_empty());
    for (delays, stored) in [
        (json!([1, 2.5]), vec![1.0, 2.5]),
        (json!([1, -2]), vec![1.0, -2.0]),
        (json!([]), vec![]),
        (Value::Null, vec![]),
        (json!("x"), vec![]),
        (json!([1, "x"]), vec![]),
    ] {
        assert_eq!(f(&[("delays", delays)]).delays, stored);
    }
    let mut v = filtered();
    for k in [
        "previewDelay",
        "previewAgainSecs",
        "previewHardSecs",
        "previewGoodSecs",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    let k = filtered_kind(&from_json(&v).unwrap()).clone();
    assert_eq!(
        (
            k.preview_delay,
            k.preview_again_secs,
            k.preview_hard_secs,
            k.preview_good_secs
        ),
        (0, 0, 0, 0)
    );
    // separate is ignored; desc and md have nowhere to go; normal-deck
    // keys on a filtered deck are unknown keys
    let d = from_json(&with(
        filtered(),
        &[
            ("separate", json!(false)),
            ("desc", json!("hello")),
            ("md", json!(true)),
            ("conf", json!(5)),
            ("extendNew", json!(3)),
            ("return", json!(1)),
        ],
    ))
    .unwrap();
    assert_eq!(d.common.other, br#"{"conf":5,"extendNew":3}"#);
    let out = to_json(&d);
    assert_eq!(
        out,
        filtered(),
        "conf/extendNew from other are not written back"
    );
}

#[test]
fn unknown_and_obsolete_keys() {
    let d = from_json(&with(
        normal(),
        &[
            ("return", json!(true)),
            ("zz", json!({"b": 1, "a": 2})),
            ("aa", Value::Null),
            ("resched", json!(true)),
            ("terms", json!(5)),
        ],
    ))
    .unwrap();
    assert_eq!(
        d.common.other,
        br#"{"aa":null,"resched":true,"terms":5,"zz":{"a":2,"b":1}}"#
    );
    let out = to_json(&d);
    assert_eq!(out["zz"], json!({"a": 2, "b": 1}));
    assert_eq!(out["terms"], 5);
    assert!(out.get("return").is_none());
}

#[test]
fn output_of_foreign_blobs_matches_the_official_export() {
    // what the client's legacy export wrote for these blobs
    let other = serde_json::to_vec(&json!({"md": true, "desc": "X", "return": 1, "terms": 5,
        "separate": 1, "resched": 1, "previewDelay": 4, "dyn": 7, "conf": 9, "id": 5,
        "name": "Q", "collapsed": 1, "lrnToday": 1, "newLimitToday": 3, "zz": 1, "delays": 3}))
    .unwrap();
    let normal_row = DeckRow {
        id: 10,
        name: "N1".into(),
        mtime_secs: 11,
        usn: -1,
        common: DeckCommon {
            study_collapsed: true,
            last_day_studied: 4_294_967_294,
            new_studied: 3,
            review_studied: -2,
            milliseconds_studied: 55,
            other: other.clone(),
            ..Default::default()
        },
        kind: DeckKindContainer {
            kind: Some(DeckKind::Normal(DeckNormal {
                config_id: 1,
                extend_new: 3,
                description: "hello".into(),
                review_limit: Some(0),
                review_limit_today: Some(DayLimit { limit: 3, today: 9 }),
                new_limit_today: Some(DayLimit::default()),
                ..Default::default()
            })),
        },
    };
    assert_eq!(
        to_json(&normal_row),
        json!({"id": 10, "mod": 11, "name": "N1", "usn": -1, "lrnToday": [-2, 0],
            "revToday": [-2, -2], "newToday": [-2, 3], "timeToday": [-2, 55],
            "collapsed": true, "browserCollapsed": false, "desc": "hello", "dyn": 0,
            "md": true, "return": 1, "resched": 1, "separate": 1, "delays": 3, "terms": 5,
            "zz": 1, "previewDelay": 4, "conf": 1, "extendNew": 3, "extendRev": 0,
            "reviewLimit": 0, "newLimit": null, "reviewLimitToday": {"limit": 3, "today": 9},
            "newLimitToday": {"limit": 0, "today": 0}, "desiredRetention": null})
    );
    let filtered = DeckRow {
        common: DeckCommon {
            study_collapsed: true,
            other,
            ..Default::default()
        },
        kind: DeckKindContainer {
            kind: Some(DeckKind::Filtered(DeckFiltered {
                reschedule: true,
                search_terms: vec![SearchTerm {
                    search: "q".into(),
                    limit: 7,
                    order: 15,
                }],
                preview_delay: 3,
                ..Default::default()
            })),
        },
        name: "F1".into(),
        ..normal_row
    };
    // the official text has "resched":1 … "resched":true (and the like);
    // a client reading it keeps the later value
    assert_eq!(
        to_json(&filtered),
        json!({"id": 10, "mod": 11, "name": "F1", "usn": -1, "lrnToday": [0, 0],
            "revToday": [0, 0], "newToday": [0, 0], "timeToday": [0, 0],
            "collapsed": true, "browserCollapsed": false, "desc": "", "dyn": 1,
            "md": true, "return": 1, "zz": 1, "resched": true, "terms": [["q", 7, 15]],
            "separate": true, "delays": null, "previewDelay": 3, "previewAgainSecs": 0,
            "previewHardSecs": 0, "previewGoodSecs": 0})
    );
    // md from other wins over the deck's own md (it comes later)
    let mut md = DeckRow {
        common: DeckCommon {
            other: br#"{"md":"OTHER"}"#.to_vec(),
            ..Default::default()
        },
        ..from_json(&normal()).unwrap()
    };
    if let Some(DeckKind::Normal(n)) = &mut md.kind.kind {
        n.markdown_description = true;
    }
    assert_eq!(to_json(&md)["md"], "OTHER");
}

#[test]
fn desired_retention_percent_is_truncated_in_f32() {
    // the client's export of f32(p / 100) for p in 0..=200 differs from p
    // exactly for these
    let off: Vec<u32> = (0..=200u32)
        .filter(|&p| {
            let d = from_json(&with(normal(), &[("desiredRetention", json!(p))])).unwrap();
            to_json(&d)["desiredRetention"] != json!(p)
        })
        .collect();
    assert_eq!(off, vec![53, 59, 105, 106, 117, 118]);
}

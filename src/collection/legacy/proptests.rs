//! Property tests of the conversions.
//!
//! * For rows within their domains (values the JSON form can carry, unknown
//!   keys in `other`): `from_json(to_json(rows)) == rows`.
//! * For JSON objects: `to_json(from_json(x)) == canonical(x)`. The objects
//!   are made from such rows' canonical JSON by random variations the
//!   official server accepts and normalises (numbers as strings, 0/1 for
//!   booleans, missing optional keys, invalid values of lenient keys, array
//!   ↔ object forms, extra list elements, obsolete and misplaced keys, …);
//!   canonical(x) is the JSON they were made from.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    deck, deck_config, notetype, DeckConfigRow, DeckRow, FieldRow, NotetypeRows, TemplateRow,
};
use crate::collection::proto::{
    CardRequirement, DayLimit, DeckCommon, DeckConfigConfig, DeckFiltered, DeckKind,
    DeckKindContainer, DeckNormal, FieldConfig, NotetypeConfig, SearchTerm, TemplateConfig,
};

// --- arbitrary values ---------------------------------------------------------

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown keys: any names but `known`.
fn unknown_keys(known: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        prop_oneof![".{1,10}", "[a-zA-Z]{1,12}"]
            .prop_filter("unknown", move |k: &String| !known.contains(&k.as_str())),
        any_json(),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn bytes(m: Map<String, Value>) -> Vec<u8> {
    super::json::other_bytes(&m)
}

fn finite_f32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |f| f.is_finite())
}

fn f32s() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(finite_f32(), 0..5)
}

fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

/// A tiny deterministic generator for the variations.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

fn obj(v: &mut Value) -> &mut Map<String, Value> {
    v.as_object_mut().unwrap()
}

/// Replaces `key` (holding its default) by one of `alternatives` or removes it.
fn vary_default(
    d: &mut Dice,
    m: &mut Map<String, Value>,
    key: &str,
    default: Value,
    alternatives: &[Value],
) {
    if m.get(key) == Some(&default) && d.chance() {
        if d.chance() || alternatives.is_empty() {
            m.remove(key);
        } else {
            m.insert(key.into(), d.pick(alternatives));
        }
    }
}

/// Replaces `key` (holding its default) by one of `alternatives`.
fn replace_default(
    d: &mut Dice,
    m: &mut Map<String, Value>,
    key: &str,
    default: Value,
    alternatives: &[Value],
) {
    if m.get(key) == Some(&default) && d.chance() {
        m.insert(key.into(), d.pick(alternatives));
    }
}

fn as_string(d: &mut Dice, m: &mut Map<String, Value>, key: &str) {
    if d.chance() {
        let s = m[key].to_string();
        m.insert(key.into(), Value::String(s));
    }
}

// --- notetypes ----------------------------------------------------------------

fn field_row() -> impl Strategy<Value = (String, FieldConfig)> {
    (
        text(),
        (any::<bool>(), any::<bool>(), text(), any::<u16>(), text()),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<Option<i64>>(),
            any::<Option<u32>>(),
            any::<bool>(),
        ),
        unknown_keys(notetype::FIELD_KEYS),
    )
        .prop_map(
            |(
                name,
                (sticky, rtl, font, size, description),
                (plain, collapsed, exclude, id, tag, prevent),
                other,
            )| {
                (
                    name,
                    FieldConfig {
                        sticky,
                        rtl,
                        font_name: font,
                        font_size: u32::from(size),
                        description,
                        plain_text: plain,
                        collapsed,
                        exclude_from_search: exclude,
                        id,
                        tag,
                        prevent_deletion: prevent,
                        other: bytes(other),
                    },
                )
            },
        )
}

fn template_row() -> impl Strategy<Value = (String, TemplateConfig)> {
    (
        text(),
        (text(), text(), text(), text()),
        (
            prop_oneof![Just(0i64), any::<i64>()],
            text(),
            any::<u8>(),
            any::<Option<i64>>(),
        ),
        unknown_keys(notetype::TEMPLATE_KEYS),
    )
        .prop_map(|(name, (q, a, bq, ba), (did, bfont, bsize, id), other)| {
            (
                name,
                TemplateConfig {
                    q_format: q,
                    a_format: a,
                    q_format_browser: bq,
                    a_format_browser: ba,
                    target_deck_id: did,
                    browser_font_name: bfont,
                    browser_font_size: u32::from(bsize),
                    id,
                    other: bytes(other),
                },
            )
        })
}

fn notetype_rows() -> impl Strategy<Value = NotetypeRows> {
    (
        (any::<i64>(), text(), any::<i64>(), any::<i32>()),
        (
            0..=1i32,
            any::<u32>(),
            text(),
            prop_oneof![Just(0i64), any::<i64>()],
            text(),
            text(),
            any::<bool>(),
        ),
        prop::collection::vec(
            (
                any::<u16>(),
                0..=2i32,
                prop::collection::vec(any::<u16>(), 0..4),
            ),
            0..3,
        ),
        (
            prop_oneof![Just(0i32), any::<i32>()],
            any::<Option<i64>>(),
            unknown_keys(notetype::NOTETYPE_KEYS),
        ),
        prop::collection::vec(field_row(), 0..4),
        prop::collection::vec(template_row(), 0..3),
    )
        .prop_map(
            |(
                (id, name, mtime_secs, usn),
                (kind, sortf, css, did, pre, post, svg),
                reqs,
                (stock, original_id, other),
                fields,
                templates,
            )| NotetypeRows {
                id,
                name,
                mtime_secs,
                usn,
                config: NotetypeConfig {
                    kind,
                    sort_field_idx: sortf,
                    css,
                    target_deck_id_unused: did,
                    latex_pre: pre,
                    latex_post: post,
                    latex_svg: svg,
                    reqs: reqs
                        .into_iter()
                        .map(|(card_ord, kind, ords)| CardRequirement {
                            card_ord: u32::from(card_ord),
                            kind,
                            field_ords: ords.into_iter().map(u32::from).collect(),
                        })
                        .collect(),
                    original_stock_kind: stock,
                    original_id,
                    other: bytes(other),
                },
                fields: fields
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, config))| FieldRow {
                        ord: i as u32,
                        name,
                        config,
                    })
                    .collect(),
                templates: templates
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, config))| TemplateRow {
                        ord: i as u32,
                        name,
                        mtime_secs: 0,
                        usn: 0,
                        config,
                    })
                    .collect(),
            },
        )
}

fn vary_notetype(d: &mut Dice, mut v: Value) -> Value {
    let m = obj(&mut v);
    as_string(d, m, "id");
    replace_default(
        d,
        m,
        "did",
        Value::Null,
        &[json!("x"), json!(1.5), json!(true)],
    );
    replace_default(d, m, "css", json!(""), &[json!(5), Value::Null]);
    vary_default(d, m, "latexPre", json!(""), &[]);
    vary_default(d, m, "latexPost", json!(""), &[]);
    vary_default(
        d,
        m,
        "latexsvg",
        json!(false),
        &[json!(1), json!("true"), Value::Null],
    );
    vary_default(
        d,
        m,
        "req",
        json!([]),
        &[
            Value::Null,
            json!([[0, "bogus", [0]]]),
            json!([[0, "any"]]),
            json!("x"),
        ],
    );
    if let Some(Value::Array(reqs)) = m.get_mut("req") {
        for r in reqs.iter_mut() {
            if d.chance() {
                *r = json!({"card_ord": r[0], "kind": r[1], "field_ords": r[2]});
            }
        }
    }
    if !m.contains_key("originalStockKind") && d.chance() {
        m.insert("originalStockKind".into(), json!(0));
    }
    if !m.contains_key("originalId") && d.chance() {
        m.insert("originalId".into(), Value::Null);
    }
    for f in m["flds"].as_array_mut().unwrap() {
        let f = obj(f);
        for key in ["sticky", "rtl"] {
            if d.chance() {
                let b = f[key] == true;
                f.insert(key.into(), json!(i32::from(b)));
            }
        }
        vary_default(d, f, "ord", f["ord"].clone(), &[Value::Null, json!(65535)]);
        vary_default(d, f, "description", json!(""), &[json!(5), Value::Null]);
        for key in [
            "plainText",
            "collapsed",
            "excludeFromSearch",
            "preventDeletion",
        ] {
            vary_default(
                d,
                f,
                key,
                json!(false),
                &[json!(1), json!("true"), Value::Null],
            );
        }
        vary_default(d, f, "id", Value::Null, &[json!("5"), json!(1.5)]);
        vary_default(
            d,
            f,
            "tag",
            Value::Null,
            &[json!(-1), json!("5"), json!(5_000_000_000u64)],
        );
    }
    for t in m["tmpls"].as_array_mut().unwrap() {
        let t = obj(t);
        vary_default(d, t, "ord", t["ord"].clone(), &[Value::Null, json!(0)]);
        for key in ["afmt", "bqfmt", "bafmt"] {
            vary_default(d, t, key, json!(""), &[]);
        }
        vary_default(d, t, "did", Value::Null, &[json!("5"), json!(1.5)]);
        vary_default(d, t, "bfont", json!(""), &[json!(5), Value::Null]);
        vary_default(
            d,
            t,
            "bsize",
            json!(0),
            &[json!(256), json!(-1), json!("20"), Value::Null],
        );
        vary_default(d, t, "id", Value::Null, &[json!("5"), json!(1.5)]);
    }
    v
}

// --- decks --------------------------------------------------------------------

const ALL_DECK_KEYS: &[&str] = &[
    "id",
    "mod",
    "name",
    "usn",
    "lrnToday",
    "revToday",
    "newToday",
    "timeToday",
    "collapsed",
    "browserCollapsed",
    "desc",
    "md",
    "dyn",
    "conf",
    "extendNew",
    "extendRev",
    "reviewLimit",
    "newLimit",
    "reviewLimitToday",
    "newLimitToday",
    "desiredRetention",
    "resched",
    "terms",
    "separate",
    "delays",
    "previewDelay",
    "previewAgainSecs",
    "previewHardSecs",
    "previewGoodSecs",
    "return",
];

/// A percent whose f32 fraction reads back as the same percent.
fn retention() -> impl Strategy<Value = f32> {
    (0..2000u32).prop_filter_map("percent survives f32", |p| {
        let r = p as f32 / 100.0;
        ((r * 100.0) as u32 == p).then_some(r)
    })
}

fn deck_kind() -> impl Strategy<Value = DeckKind> {
    let day_limit =
        any::<Option<(u32, u32)>>().prop_map(|l| l.map(|(limit, today)| DayLimit { limit, today }));
    let normal = (
        (
            any::<i64>(),
            0..=i32::MAX as u32,
            0..=i32::MAX as u32,
            text(),
            any::<bool>(),
        ),
        (
            any::<Option<u32>>(),
            any::<Option<u32>>(),
            day_limit.clone(),
            day_limit,
            prop::option::of(retention()),
        ),
    )
        .prop_map(
            |(
                (config_id, extend_new, extend_review, description, md),
                (review_limit, new_limit, rlt, nlt, dr),
            )| {
                DeckKind::Normal(DeckNormal {
                    config_id,
                    extend_new,
                    extend_review,
                    description,
                    markdown_description: md,
                    review_limit,
                    new_limit,
                    review_limit_today: rlt,
                    new_limit_today: nlt,
                    desired_retention: dr,
                })
            },
        );
    let filtered = (
        any::<bool>(),
        prop::collection::vec((text(), 0..=i32::MAX as u32, any::<i32>()), 0..3),
        f32s(),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(|(reschedule, terms, delays, (pd, ph, pg, pa))| {
            DeckKind::Filtered(DeckFiltered {
                reschedule,
                search_terms: terms
                    .into_iter()
                    .map(|(search, limit, order)| SearchTerm {
                        search,
                        limit,
                        order,
                    })
                    .collect(),
                delays,
                preview_delay: pd,
                preview_hard_secs: ph,
                preview_good_secs: pg,
                preview_again_secs: pa,
            })
        });
    prop_oneof![normal, filtered]
}

fn deck_row() -> impl Strategy<Value = DeckRow> {
    (
        (any::<i64>(), ".{0,20}", any::<i64>(), any::<i32>()),
        (
            any::<bool>(),
            any::<bool>(),
            any::<u32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
        ),
        unknown_keys(ALL_DECK_KEYS),
        deck_kind(),
    )
        // names whose stored levels contain `::` do not survive (as on the
        // official server)
        .prop_filter("levels without ::", |(ids, ..)| {
            !deck::stored_name(&ids.1).contains("::")
        })
        .prop_map(
            |((id, name, mtime_secs, usn), (sc, bc, day, new, rev, lrn, ms), other, kind)| {
                DeckRow {
                    id,
                    name: deck::stored_name(&name),
                    mtime_secs,
                    usn,
                    common: DeckCommon {
                        study_collapsed: sc,
                        browser_collapsed: bc,
                        last_day_studied: day,
                        new_studied: new,
                        review_studied: rev,
                        learning_studied: lrn,
                        milliseconds_studied: ms,
                        other: bytes(other),
                    },
                    kind: DeckKindContainer { kind: Some(kind) },
                }
            },
        )
}

fn vary_deck(d: &mut Dice, mut v: Value) -> Value {
    let m = obj(&mut v);
    as_string(d, m, "id");
    as_string(d, m, "mod");
    vary_default(d, m, "mod", json!(0), &[]);
    vary_default(d, m, "browserCollapsed", json!(false), &[]);
    let day = m["newToday"][0].as_i64().unwrap();
    for key in ["lrnToday", "revToday", "newToday", "timeToday"] {
        let list = m[key].as_array_mut().unwrap();
        // an earlier day is fine when nothing was studied that day, and for
        // timeToday, whose amount counts whatever its day
        if (list[1] == 0 || key == "timeToday") && d.chance() {
            list[0] = json!(day
                .saturating_sub(1 + (d.next() % 5) as i64)
                .max(i32::MIN as i64));
        }
        if d.chance() {
            list.insert(0, d.pick(&[json!("junk"), json!(7), Value::Null]));
        }
    }
    if m.contains_key("return") {
        unreachable!()
    }
    if d.chance() {
        m.insert(
            "return".into(),
            d.pick(&[json!(true), json!(1), Value::Null]),
        );
    }
    match m["dyn"].as_i64().unwrap() {
        0 => {
            as_string(d, m, "conf");
            vary_default(d, m, "desc", json!(""), &[]);
            if !m.contains_key("md") && d.chance() {
                m.insert("md".into(), json!(false));
            }
            if d.chance() {
                m.insert("dyn".into(), d.pick(&[json!(false), json!(2), json!(-1)]));
            }
            vary_default(
                d,
                m,
                "extendNew",
                json!(0),
                &[json!(-3), json!("5"), json!(1.5), json!(3_000_000_000u32)],
            );
            vary_default(d, m, "extendRev", json!(0), &[json!(-3), Value::Null]);
            for key in ["reviewLimit", "newLimit"] {
                vary_default(
                    d,
                    m,
                    key,
                    Value::Null,
                    &[json!(-1), json!("5"), json!(5_000_000_000u64)],
                );
            }
            for key in ["reviewLimitToday", "newLimitToday"] {
                vary_default(
                    d,
                    m,
                    key,
                    Value::Null,
                    &[
                        json!([3]),
                        json!({"limit": 3}),
                        json!({"limit": -1, "today": 2}),
                    ],
                );
                if m.get(key).is_some_and(Value::is_object) && d.chance() {
                    let l = m[key].clone();
                    m.insert(key.into(), json!([l["limit"], l["today"]]));
                }
            }
            vary_default(
                d,
                m,
                "desiredRetention",
                Value::Null,
                &[json!(85.7), json!("90"), json!(-5)],
            );
        }
        _ => {
            if d.chance() {
                m.insert("dyn".into(), json!(true));
            }
            let b = m["resched"] == true;
            if d.chance() {
                m.insert("resched".into(), json!(i32::from(b)));
            }
            for t in m["terms"].as_array_mut().unwrap() {
                if d.chance() {
                    t[1] = Value::String(t[1].to_string());
                }
                if t[1] == 0 && d.chance() {
                    t[1] = json!(-7);
                }
                if d.chance() {
                    *t = json!({"search": t[0], "limit": t[1], "order": t[2], "x": 1});
                }
            }
            if d.chance() {
                m.insert("separate".into(), json!(false));
            }
            vary_default(
                d,
                m,
                "delays",
                Value::Null,
                &[json!([]), json!("x"), json!([1, "x"])],
            );
            for key in [
                "previewDelay",
                "previewAgainSecs",
                "previewHardSecs",
                "previewGoodSecs",
            ] {
                vary_default(d, m, key, json!(0), &[]);
            }
            // nowhere to keep these on a filtered deck
            if d.chance() {
                m.insert("desc".into(), json!("dropped"));
                m.insert("md".into(), json!(true));
            }
            if d.chance() {
                m.insert("conf".into(), json!(1));
                m.insert("extendNew".into(), json!(3));
            }
        }
    }
    v
}

// --- deck configs -------------------------------------------------------------

/// An initial ease whose permille survives the f32 round trip.
fn initial_ease() -> impl Strategy<Value = f32> {
    any::<u16>().prop_filter_map("permille survives f32", |k| {
        let e = f32::from(k) / 1000.0;
        ((e * 1000.0) as u16 == k).then_some(e)
    })
}

fn sub_other(known: &'static [&'static str]) -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(unknown_keys(known).prop_filter("not empty", |m| !m.is_empty()))
}

fn deck_config_row() -> impl Strategy<Value = DeckConfigRow> {
    (
        (any::<i64>(), text(), any::<i64>(), any::<i32>()),
        (f32s(), f32s(), f32s(), f32s(), f32s(), f32s()),
        (
            any::<u32>(),
            any::<u32>(),
            initial_ease(),
            finite_f32(),
            finite_f32(),
            finite_f32(),
            finite_f32(),
        ),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            0..=1i32,
            0..=1i32,
            any::<u32>(),
        ),
        (
            any::<bool>(),
            0..=i32::MAX as u32,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<u32>(),
            0..=1i32,
        ),
        (
            finite_f32(),
            any::<bool>(),
            finite_f32(),
            finite_f32(),
            finite_f32(),
            0..=4i32,
            any::<bool>(),
        ),
        (text(), text(), unknown_keys(deck_config::TOP_KEYS)),
        (
            sub_other(deck_config::NEW_KEYS),
            sub_other(deck_config::REV_KEYS),
            sub_other(deck_config::LAPSE_KEYS),
        ),
    )
        .prop_map(
            |(
                (id, name, mtime_secs, usn),
                (learn, relearn, p4, easy, p5, p6),
                (npd, rpd, ie, em, hm, lm, im),
                (maxivl, minivl, good, easy_ivl, order, leech, leech_t),
                (da, cap, timer, skip, bn, br, bil),
                (nm, ilm, nso, ro, ngp, npdm, qa),
                (dr, stop, hr, sq, sa, aa, wfa),
                (search, ignore, mut other),
                (new_o, rev_o, lapse_o),
            )| {
                for (key, sub) in [("new", new_o), ("rev", rev_o), ("lapse", lapse_o)] {
                    if let Some(sub) = sub {
                        other.insert(key.into(), Value::Object(sub));
                    }
                }
                DeckConfigRow {
                    id,
                    name,
                    mtime_secs,
                    usn,
                    config: DeckConfigConfig {
                        learn_steps: learn,
                        relearn_steps: relearn,
                        fsrs_params_4: p4,
                        easy_days_percentages: easy,
                        fsrs_params_5: p5,
                        fsrs_params_6: p6,
                        new_per_day: npd,
                        reviews_per_day: rpd,
                        initial_ease: ie,
                        easy_multiplier: em,
                        hard_multiplier: hm,
                        lapse_multiplier: lm,
                        interval_multiplier: im,
                        maximum_review_interval: maxivl,
                        minimum_lapse_interval: minivl,
                        graduating_interval_good: u32::from(good),
                        graduating_interval_easy: u32::from(easy_ivl),
                        new_card_insert_order: order,
                        leech_action: leech,
                        leech_threshold: leech_t,
                        disable_autoplay: da,
                        cap_answer_time_to_secs: cap,
                        show_timer: timer,
                        skip_question_when_replaying_answer: skip,
                        bury_new: bn,
                        bury_reviews: br,
                        bury_interday_learning: bil,
                        new_mix: nm,
                        interday_learning_mix: ilm,
                        new_card_sort_order: nso,
                        review_order: ro,
                        new_card_gather_priority: ngp,
                        new_per_day_minimum: npdm,
                        question_action: qa,
                        desired_retention: dr,
                        stop_timer_on_answer: stop,
                        historical_retention: hr,
                        seconds_to_show_question: sq,
                        seconds_to_show_answer: sa,
                        answer_action: aa,
                        wait_for_audio: wfa,
                        param_search: search,
                        ignore_revlogs_before_date: ignore,
                        other: bytes(other),
                    },
                }
            },
        )
}

fn vary_deck_config(d: &mut Dice, mut v: Value) -> Value {
    let m = obj(&mut v);
    as_string(d, m, "id");
    as_string(d, m, "mod");
    vary_default(d, m, "replayq", json!(false), &[]);
    vary_default(d, m, "waitForAudio", json!(true), &[]);
    if d.chance() {
        m.insert(
            "dyn".into(),
            d.pick(&[json!("x"), json!(true), Value::Null]),
        );
    }
    if m["timer"] == 1 && d.chance() {
        m.insert("timer".into(), json!(1 + d.next() % 255));
    }
    replace_default(
        d,
        m,
        "timer",
        json!(0),
        &[json!(-1), json!(256), json!("x"), json!(true), json!(1.5)],
    );
    replace_default(d, m, "maxTaken", json!(0), &[json!(-5), json!(i32::MIN)]);
    for (key, default) in [
        ("newMix", json!(0)),
        ("newPerDayMinimum", json!(0)),
        ("interdayLearningMix", json!(0)),
        ("reviewOrder", json!(0)),
        ("newSortOrder", json!(0)),
        ("newGatherPriority", json!(0)),
        ("buryInterdayLearning", json!(false)),
        ("fsrsWeights", json!([])),
        ("fsrsParams5", json!([])),
        ("fsrsParams6", json!([])),
        ("easyDaysPercentages", json!([])),
        ("desiredRetention", json!(0.0)),
        ("sm2Retention", json!(0.0)),
        ("secondsToShowQuestion", json!(0.0)),
        ("secondsToShowAnswer", json!(0.0)),
        ("stopTimerOnAnswer", json!(false)),
        ("questionAction", json!(0)),
        ("answerAction", json!(0)),
        ("ignoreRevlogsBeforeDate", json!("")),
        ("weightSearch", json!("")),
    ] {
        vary_default(d, m, key, default, &[]);
    }
    let new = obj(&mut m["new"]);
    vary_default(d, new, "bury", json!(false), &[]);
    if d.chance() {
        let extra = json!(d.next() % 65536);
        new["ints"].as_array_mut().unwrap()[2] = extra;
    }
    replace_default(
        d,
        new,
        "order",
        json!(1),
        &[json!(2), json!(-1), json!("0"), json!(1.5)],
    );
    replace_default(
        d,
        new,
        "perDay",
        json!(0),
        &[json!("20"), json!(-1), json!(1.5)],
    );
    replace_default(
        d,
        new,
        "delays",
        json!([]),
        &[json!("x"), json!([1, "x"]), Value::Null],
    );
    let rev = obj(&mut m["rev"]);
    vary_default(d, rev, "bury", json!(false), &[]);
    vary_default(d, rev, "hardFactor", json!(1.2), &[]);
    replace_default(d, rev, "perDay", json!(0), &[json!("20"), json!(-1)]);
    let lapse = obj(&mut m["lapse"]);
    replace_default(
        d,
        lapse,
        "leechAction",
        json!(1),
        &[json!(5), json!("0"), Value::Null, json!(0.0)],
    );
    replace_default(d, lapse, "delays", json!([]), &[json!("x"), Value::Null]);
    // a sub-object equal to the defaults may be replaced by anything invalid
    let defaults = deck_config::to_json(&DeckConfigRow {
        id: 0,
        name: String::new(),
        mtime_secs: 0,
        usn: 0,
        config: crate::collection::create::default_deck_config(),
    });
    for key in ["new", "rev", "lapse"] {
        if m[key] == defaults[key] && d.chance() {
            m.insert(
                key.into(),
                d.pick(&[json!("x"), Value::Null, json!({"perDay": 5})]),
            );
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn notetype_rows_survive_json(rows in notetype_rows()) {
        let json = notetype::to_json(&rows);
        prop_assert_eq!(notetype::from_json(&json).unwrap(), rows);
    }

    #[test]
    fn notetype_json_reads_back_in_canonical_form(rows in notetype_rows(), seed in 1..u64::MAX) {
        let canonical = notetype::to_json(&rows);
        let input = vary_notetype(&mut Dice(seed), canonical.clone());
        let parsed = notetype::from_json(&input);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), input);
        prop_assert_eq!(notetype::to_json(&parsed.unwrap()), canonical, "input {}", input);
    }

    #[test]
    fn deck_rows_survive_json(row in deck_row()) {
        let json = deck::to_json(&row);
        prop_assert_eq!(deck::from_json(&json).unwrap(), row);
    }

    #[test]
    fn deck_json_reads_back_in_canonical_form(row in deck_row(), seed in 1..u64::MAX) {
        let canonical = deck::to_json(&row);
        let input = vary_deck(&mut Dice(seed), canonical.clone());
        let parsed = deck::from_json(&input);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), input);
        prop_assert_eq!(deck::to_json(&parsed.unwrap()), canonical, "input {}", input);
    }

    #[test]
    fn deck_config_rows_survive_json(row in deck_config_row()) {
        let json = deck_config::to_json(&row);
        prop_assert_eq!(deck_config::from_json(&json).unwrap(), row);
    }

    #[test]
    fn deck_config_json_reads_back_in_canonical_form(row in deck_config_row(), seed in 1..u64::MAX) {
        let canonical = deck_config::to_json(&row);
        let input = vary_deck_config(&mut Dice(seed), canonical.clone());
        let parsed = deck_config::from_json(&input);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), input);
        prop_assert_eq!(deck_config::to_json(&parsed.unwrap()), canonical, "input {}", input);
    }
}

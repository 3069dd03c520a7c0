//! Property tests of the deck conversions: rows survive their JSON form, and
//! varied JSON reads back in canonical form (see `super`).

use super::*;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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
}

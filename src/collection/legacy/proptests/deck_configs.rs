//! Property tests of the deck config conversions: rows survive their JSON form, and
//! varied JSON reads back in canonical form (see `super`).

use super::*;

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

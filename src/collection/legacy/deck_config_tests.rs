//! The rules below were observed on the official server (anki 26.9.3):
//! each case was sent to it in an `applyChanges` request and the stored
//! blob read back.

use super::*;
use crate::collection::create::default_deck_config;

fn default_json() -> Value {
    let samples: Value =
        serde_json::from_str(include_str!("testdata/captured_samples.json")).unwrap();
    samples["legacy_examples"]["deck_config_default (dconf element)"].clone()
}

/// A config whose `new`/`rev`/`lapse` differ from the defaults everywhere.
fn custom() -> Value {
    let mut v = default_json();
    v["new"] = json!({"bury": true, "delays": [2.0, 3.0], "initialFactor": 2300,
        "ints": [3, 6, 0], "order": 0, "perDay": 33});
    v["rev"] = json!({"bury": true, "ease4": 1.5, "ivlFct": 1.1, "maxIvl": 999,
        "perDay": 77, "hardFactor": 1.4});
    v["lapse"] = json!({"delays": [5.0], "leechAction": 0, "leechFails": 4, "minInt": 3,
        "mult": 0.5});
    v
}

fn parse(v: &Value) -> DeckConfigConfig {
    from_json(v).unwrap().config
}

fn set(mut v: Value, path: &[&str], value: Option<Value>) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut target = &mut v;
    for p in parents {
        target = &mut target[*p];
    }
    match value {
        Some(x) => target[*last] = x,
        None => {
            target.as_object_mut().unwrap().remove(*last);
        }
    }
    v
}

#[test]
fn required_keys_and_strict_values() {
    for key in [
        "id", "mod", "name", "usn", "maxTaken", "autoplay", "timer", "new", "rev", "lapse",
    ] {
        assert!(
            from_json(&set(default_json(), &[key], None)).is_err(),
            "{key}"
        );
    }
    for (key, v) in [
        ("usn", json!("0")),
        ("autoplay", json!(0)),
        ("autoplay", Value::Null),
        ("replayq", json!(0)),
        ("maxTaken", json!("60")),
        ("maxTaken", json!(1.5)),
        ("maxTaken", json!(3_000_000_000u32)),
        ("newMix", json!("1")),
        ("newMix", json!(5_000_000_000u64)),
        ("reviewOrder", Value::Null),
        ("newPerDayMinimum", json!(-1)),
        ("newPerDayMinimum", json!("5")),
        ("buryInterdayLearning", json!(1)),
        ("stopTimerOnAnswer", json!(1)),
        ("waitForAudio", json!(1)),
        ("ignoreRevlogsBeforeDate", json!(5)),
        ("weightSearch", Value::Null),
        ("secondsToShowQuestion", json!("1")),
        ("sm2Retention", Value::Null),
        ("desiredRetention", json!("0.9")),
        ("easyDaysPercentages", json!("x")),
        ("fsrsWeights", json!([1, "x"])),
        ("fsrsParams5", Value::Null),
        ("questionAction", json!(2)),
        ("questionAction", json!("1")),
        ("answerAction", json!(5)),
        ("answerAction", json!(1.0)),
    ] {
        assert!(
            from_json(&set(default_json(), &[key], Some(v.clone()))).is_err(),
            "{key}: {v}"
        );
    }
    // ids and mod may be numeric strings
    let row = from_json(&set(
        set(default_json(), &["id"], Some(json!("1700000000002"))),
        &["mod"],
        Some(json!("1795807605")),
    ))
    .unwrap();
    assert_eq!((row.id, row.mtime_secs), (1_700_000_000_002, 1_795_807_605));
}

#[test]
fn defaults_of_missing_and_lenient_top_level_keys() {
    let c = |key: &str, v: Option<Value>| parse(&set(default_json(), &[key], v));
    assert!(c("replayq", None).skip_question_when_replaying_answer);
    assert!(c("waitForAudio", None).wait_for_audio);
    assert!(!c("waitForAudio", Some(json!(false))).wait_for_audio);
    assert_eq!(c("desiredRetention", None).desired_retention, 0.0);
    assert_eq!(c("sm2Retention", None).historical_retention, 0.0);
    assert!(c("easyDaysPercentages", None)
        .easy_days_percentages
        .is_empty());
    assert_eq!(c("dyn", None), default_deck_config());
    assert_eq!(c("dyn", Some(json!("x"))), default_deck_config());
    assert_eq!(c("maxTaken", Some(json!(-5))).cap_answer_time_to_secs, 0);
    assert!(c("autoplay", Some(json!(false))).disable_autoplay);
    for (timer, shown) in [
        (json!(1), true),
        (json!(5), true),
        (json!(255), true),
        (json!(256), false),
        (json!(-1), false),
        (json!(1.5), false),
        (json!("x"), false),
        (json!(true), false),
    ] {
        assert_eq!(c("timer", Some(timer.clone())).show_timer, shown, "{timer}");
    }
    assert_eq!(c("newMix", Some(json!(7))).new_mix, 7);
    assert_eq!(c("newSortOrder", Some(json!(-1))).new_card_sort_order, -1);
    assert_eq!(c("questionAction", Some(json!(1))).question_action, 1);
    assert_eq!(c("answerAction", Some(json!(4))).answer_action, 4);
    assert_eq!(c("desiredRetention", Some(json!(1))).desired_retention, 1.0);
    assert_eq!(
        c("easyDaysPercentages", Some(json!([0.5, 2]))).easy_days_percentages,
        vec![0.5, 2.0]
    );
    assert_eq!(c("newPerDayMinimum", Some(json!(5))).new_per_day_minimum, 5);
}

#[test]
fn an_unparsable_sub_object_takes_its_defaults() {
    let d = default_deck_config();
    let base = parse(&custom());
    assert_eq!(base.new_per_day, 33);
    let new_default = |c: &DeckConfigConfig| {
        (
            c.learn_steps.clone(),
            c.initial_ease,
            c.graduating_interval_good,
            c.graduating_interval_easy,
            c.new_card_insert_order,
            c.new_per_day,
            c.bury_new,
        ) == (
            d.learn_steps.clone(),
            d.initial_ease,
            d.graduating_interval_good,
            d.graduating_interval_easy,
            d.new_card_insert_order,
            d.new_per_day,
            d.bury_new,
        )
    };
    for v in [
        set(custom(), &["new", "delays"], None),
        set(custom(), &["new", "initialFactor"], None),
        set(custom(), &["new", "initialFactor"], Some(json!(2500.7))),
        set(custom(), &["new", "initialFactor"], Some(json!("2500"))),
        set(custom(), &["new", "initialFactor"], Some(json!(-5))),
        set(custom(), &["new", "initialFactor"], Some(json!(70000))),
        set(custom(), &["new", "bury"], Some(json!(1))),
        set(custom(), &["new"], Some(json!("x"))),
        set(custom(), &["new"], Some(Value::Null)),
    ] {
        let c = parse(&v);
        assert!(new_default(&c), "{}", v["new"]);
        assert_eq!(c.reviews_per_day, 77, "rev untouched");
    }
    let rev_default = |c: &DeckConfigConfig| {
        (
            c.easy_multiplier,
            c.interval_multiplier,
            c.maximum_review_interval,
            c.reviews_per_day,
            c.hard_multiplier,
            c.bury_reviews,
        ) == (
            d.easy_multiplier,
            d.interval_multiplier,
            d.maximum_review_interval,
            d.reviews_per_day,
            d.hard_multiplier,
            d.bury_reviews,
        )
    };
    for v in [
        set(custom(), &["rev", "ease4"], Some(json!("1.3"))),
        set(custom(), &["rev", "maxIvl"], Some(json!(-1))),
        set(custom(), &["rev", "hardFactor"], Some(json!("x"))),
        set(custom(), &["rev", "ivlFct"], Some(Value::Null)),
        set(custom(), &["rev", "ivlFct"], None),
    ] {
        let c = parse(&v);
        assert!(rev_default(&c), "{}", v["rev"]);
        assert_eq!(c.new_per_day, 33, "new untouched");
    }
    let lapse_default = |c: &DeckConfigConfig| {
        (
            c.relearn_steps.clone(),
            c.leech_action,
            c.leech_threshold,
            c.minimum_lapse_interval,
            c.lapse_multiplier,
        ) == (
            d.relearn_steps.clone(),
            d.leech_action,
            d.leech_threshold,
            d.minimum_lapse_interval,
            d.lapse_multiplier,
        )
    };
    for v in [
        set(custom(), &["lapse", "leechFails"], Some(json!(-1))),
        set(
            custom(),
            &["lapse", "leechFails"],
            Some(json!(5_000_000_000u64)),
        ),
        set(custom(), &["lapse", "mult"], Some(json!("x"))),
        set(custom(), &["lapse", "minInt"], Some(json!(1.5))),
        set(custom(), &["lapse", "delays"], None),
    ] {
        assert!(lapse_default(&parse(&v)), "{}", v["lapse"]);
    }
}

#[test]
fn lenient_values_inside_the_sub_objects() {
    let c = |path: &[&str], v: Option<Value>| parse(&set(custom(), path, v));
    assert!(!c(&["new", "bury"], None).bury_new);
    assert!(!c(&["rev", "bury"], None).bury_reviews);
    assert_eq!(c(&["rev", "hardFactor"], None).hard_multiplier, 1.2);
    assert_eq!(c(&["rev", "ease4"], Some(json!(1))).easy_multiplier, 1.0);
    for v in [json!("20"), json!(-1), json!(1.5), json!(5_000_000_000u64)] {
        assert_eq!(c(&["new", "perDay"], Some(v.clone())).new_per_day, 0, "{v}");
        assert_eq!(c(&["rev", "perDay"], Some(v)).reviews_per_day, 0);
    }
    assert_eq!(
        c(&["new", "perDay"], Some(json!(3_000_000_000u32))).new_per_day,
        3_000_000_000
    );
    for v in [json!("x"), json!([1, "x"])] {
        assert!(c(&["new", "delays"], Some(v.clone()))
            .learn_steps
            .is_empty());
        assert!(c(&["lapse", "delays"], Some(v)).relearn_steps.is_empty());
    }
    assert!(c(&["lapse", "delays"], Some(Value::Null))
        .relearn_steps
        .is_empty());
    assert_eq!(
        c(&["new", "delays"], Some(json!([1e40]))).learn_steps,
        vec![f32::INFINITY]
    );
    for (order, insert) in [
        (json!(0), NewCardInsertOrder::Random),
        (json!(1), NewCardInsertOrder::Due),
        (json!(2), NewCardInsertOrder::Due),
        (json!(-1), NewCardInsertOrder::Due),
        (json!(1.5), NewCardInsertOrder::Due),
        (json!("0"), NewCardInsertOrder::Due),
    ] {
        assert_eq!(
            c(&["new", "order"], Some(order)).new_card_insert_order,
            insert as i32
        );
    }
    for (action, leech) in [
        (json!(0), LeechAction::Suspend),
        (json!(1), LeechAction::TagOnly),
        (json!(5), LeechAction::TagOnly),
        (json!("0"), LeechAction::TagOnly),
        (json!(0.0), LeechAction::TagOnly),
        (Value::Null, LeechAction::TagOnly),
    ] {
        assert_eq!(
            c(&["lapse", "leechAction"], Some(action)).leech_action,
            leech as i32
        );
    }
    for (ints, stored) in [
        (json!([2, 5]), (2, 5)),
        (json!([2, 5, 9]), (2, 5)),
        (json!([65535, 2]), (65535, 2)),
        (json!([2]), (1, 4)),
        (json!([2, -5, 0]), (1, 4)),
        (json!([1, 2, -1]), (1, 4)),
        (json!([1, 2, "x"]), (1, 4)),
        (json!([70000, 2]), (1, 4)),
        (json!([1.5, 2]), (1, 4)),
        (json!("x"), (1, 4)),
    ] {
        let cfg = c(&["new", "ints"], Some(ints.clone()));
        assert_eq!(
            (cfg.graduating_interval_good, cfg.graduating_interval_easy),
            stored,
            "{ints}"
        );
    }
    assert_eq!(
        c(&["new", "initialFactor"], Some(json!(65535))).initial_ease,
        65.535
    );
    assert_eq!(
        c(&["lapse", "leechFails"], Some(json!(3_000_000_000u32))).leech_threshold,
        3_000_000_000
    );
}

#[test]
fn unknown_keys_go_to_other_and_come_back() {
    let mut v = custom();
    v["zz"] = json!(1);
    v["aa"] = json!([1]);
    v["new"]["zz"] = json!(1);
    v["new"]["separate"] = json!(true);
    v["rev"]["fuzz"] = json!(0.05);
    v["lapse"]["zz"] = json!({"q": null});
    let row = from_json(&v).unwrap();
    assert_eq!(
        String::from_utf8(row.config.other.clone()).unwrap(),
        r#"{"aa":[1],"lapse":{"zz":{"q":null}},"new":{"separate":true,"zz":1},"rev":{"fuzz":0.05},"zz":1}"#
    );
    assert_eq!(to_json(&row), v);
    assert!(from_json(&default_json()).unwrap().config.other.is_empty());
}

#[test]
fn other_keys_colliding_with_known_keys_are_dropped_on_output() {
    let mut row = from_json(&default_json()).unwrap();
    let known = |keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .map(|k| (k.to_string(), json!("OTHER")))
            .chain([("zz".to_string(), json!("OTHER"))])
            .collect()
    };
    let mut other = known(TOP_KEYS);
    other.insert("new".into(), Value::Object(known(NEW_KEYS)));
    other.insert(
        "rev".into(),
        Value::Object(known(&[
            "bury",
            "ease4",
            "ivlFct",
            "maxIvl",
            "perDay",
            "hardFactor",
            "fuzz",
            "minSpace",
        ])),
    );
    other.insert("lapse".into(), Value::Object(known(LAPSE_KEYS)));
    row.config.other = serde_json::to_vec(&other).unwrap();
    let mut expected = default_json();
    expected["zz"] = json!("OTHER");
    expected["new"]["zz"] = json!("OTHER");
    expected["rev"]["zz"] = json!("OTHER");
    expected["rev"]["fuzz"] = json!("OTHER");
    expected["rev"]["minSpace"] = json!("OTHER");
    expected["lapse"]["zz"] = json!("OTHER");
    assert_eq!(to_json(&row), expected);
}

#[test]
fn initial_factor_is_truncated_in_f32_like_the_client() {
    // the client stores 2001 and exports 2000, 2008 → 2007
    for (factor, exported) in [
        (2001, 2000),
        (2008, 2007),
        (2300, 2300),
        (2500, 2500),
        (1312, 1312),
        (3999, 3999),
    ] {
        let row = from_json(&set(
            default_json(),
            &["new", "initialFactor"],
            Some(json!(factor)),
        ))
        .unwrap();
        assert_eq!(to_json(&row)["new"]["initialFactor"], exported);
    }
}

#[test]
fn output_of_out_of_range_enums() {
    let mut row = from_json(&default_json()).unwrap();
    row.config.new_card_insert_order = 5;
    row.config.leech_action = 5;
    row.config.question_action = 5;
    row.config.answer_action = 7;
    row.config.desired_retention = f32::NAN;
    let out = to_json(&row);
    assert_eq!(
        (
            &out["new"]["order"],
            &out["lapse"]["leechAction"],
            &out["questionAction"],
            &out["answerAction"]
        ),
        (&json!(1), &json!(0), &json!(0), &json!(0))
    );
    assert_eq!(out["desiredRetention"], Value::Null);
}

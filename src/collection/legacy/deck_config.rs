//! Deck configs: the legacy JSON (`decks[1]` elements, sync-protocol.md §7.6)
//! ⇄ a `deck_config` row (`config` = `DeckConfig.Config`).
//!
//! Parsing follows the official server (checked against it key by key):
//!
//! * `id`, `mod`: required integers or numeric strings; `usn` a required
//!   `i32`; `name` a required string, stored as given;
//! * `maxTaken`: required `i32` (negative → 0); `autoplay`: required JSON
//!   boolean; `timer`: required, an integer 0–255 (anything else → 0);
//!   `replayq`: optional boolean (missing → false); `waitForAudio`:
//!   optional boolean (missing → **true**); `dyn`: ignored;
//! * `new`, `rev`, `lapse`: required keys; when the value does not parse as
//!   described below, the whole sub-object takes its defaults;
//! * every other known top-level key is optional and strict (missing →
//!   default, a wrong type → error): `newMix`, `interdayLearningMix`,
//!   `newSortOrder`, `reviewOrder`, `newGatherPriority` (`i32`, passed
//!   through), `newPerDayMinimum` (`u32`), `buryInterdayLearning`,
//!   `stopTimerOnAnswer` (booleans), the float lists, the floats,
//!   `ignoreRevlogsBeforeDate`, `weightSearch` (strings), `questionAction`
//!   (0–1), `answerAction` (0–4).
//!
//! Sub-objects (a required key missing or a strict value invalid → defaults
//! for the whole sub-object, its unknown keys lost):
//! * `new`: `delays` (required; invalid → `[]`), `initialFactor` (required,
//!   0–65535), `ints` (required; at least two elements, all 0–65535, else
//!   `[1, 4]`), `order` (required; 0 → random, anything else → due),
//!   `perDay` (required; `u32`, invalid → 0), `bury` (optional boolean);
//! * `rev`: `ease4`, `ivlFct` (required numbers), `maxIvl` (required `u32`),
//!   `perDay` (required; invalid → 0), `hardFactor` (optional number, 1.2),
//!   `bury` (optional boolean);
//! * `lapse`: `delays` (required; invalid → `[]`), `leechAction` (required;
//!   0 → suspend, anything else → tag only), `leechFails`, `minInt`
//!   (required `u32`), `mult` (required number).
//!
//! Unknown keys: top-level ones, and those of `new`/`rev`/`lapse` under the
//! keys `"new"`/`"rev"`/`"lapse"`, in `other`. On output, `other` entries
//! whose key is known (at the top level or in the sub-object) are dropped.

use serde_json::{json, Map, Value};

use super::json::{
    boolean, f32_value, f32_values, float, floats, int_in, int_or_numeric_string, merge_other,
    other_bytes, other_map, string, Obj,
};
use super::LegacyError;
use crate::collection::proto::{DeckConfigConfig, LeechAction, NewCardInsertOrder};

/// A `deck_config` row.
#[derive(Debug, Clone, PartialEq)]
pub struct DeckConfigRow {
    pub id: i64,
    pub name: String,
    pub mtime_secs: i64,
    pub usn: i32,
    pub config: DeckConfigConfig,
}

/// Top-level keys of a deck config object.
pub const TOP_KEYS: &[&str] = &[
    "id",
    "mod",
    "name",
    "usn",
    "maxTaken",
    "autoplay",
    "timer",
    "replayq",
    "new",
    "rev",
    "lapse",
    "dyn",
    "newMix",
    "newPerDayMinimum",
    "interdayLearningMix",
    "reviewOrder",
    "newSortOrder",
    "newGatherPriority",
    "buryInterdayLearning",
    "fsrsWeights",
    "fsrsParams5",
    "fsrsParams6",
    "desiredRetention",
    "ignoreRevlogsBeforeDate",
    "easyDaysPercentages",
    "stopTimerOnAnswer",
    "secondsToShowQuestion",
    "secondsToShowAnswer",
    "questionAction",
    "answerAction",
    "waitForAudio",
    "sm2Retention",
    "weightSearch",
];

/// Keys of the `new` sub-object.
pub const NEW_KEYS: &[&str] = &["bury", "delays", "initialFactor", "ints", "order", "perDay"];
/// Keys of the `rev` sub-object.
pub const REV_KEYS: &[&str] = &["bury", "ease4", "ivlFct", "maxIvl", "perDay", "hardFactor"];
/// Keys of the `lapse` sub-object.
pub const LAPSE_KEYS: &[&str] = &["delays", "leechAction", "leechFails", "minInt", "mult"];

struct New {
    delays: Vec<f32>,
    initial_factor: u16,
    ints: (u16, u16),
    random_order: bool,
    per_day: u32,
    bury: bool,
    other: Map<String, Value>,
}

impl Default for New {
    fn default() -> Self {
        New {
            delays: vec![1.0, 10.0],
            initial_factor: 2500,
            ints: (1, 4),
            random_order: false,
            per_day: 20,
            bury: false,
            other: Map::new(),
        }
    }
}

struct Rev {
    ease4: f32,
    ivl_fct: f32,
    max_ivl: u32,
    per_day: u32,
    hard_factor: f32,
    bury: bool,
    other: Map<String, Value>,
}

impl Default for Rev {
    fn default() -> Self {
        Rev {
            ease4: 1.3,
            ivl_fct: 1.0,
            max_ivl: 36_500,
            per_day: 200,
            hard_factor: 1.2,
            bury: false,
            other: Map::new(),
        }
    }
}

struct Lapse {
    delays: Vec<f32>,
    tag_only: bool,
    leech_fails: u32,
    min_int: u32,
    mult: f32,
    other: Map<String, Value>,
}

impl Default for Lapse {
    fn default() -> Self {
        Lapse {
            delays: vec![10.0],
            tag_only: true,
            leech_fails: 8,
            min_int: 1,
            mult: 0.0,
            other: Map::new(),
        }
    }
}

fn parse_new(v: &Value) -> Option<New> {
    let m = v.as_object()?;
    let req = |k: &str| m.get(k);
    let ints = |v: &Value| -> Option<(u16, u16)> {
        let a = v.as_array()?;
        let ints = a.iter().map(int_in::<u16>).collect::<Option<Vec<_>>>()?;
        (ints.len() >= 2).then(|| (ints[0], ints[1]))
    };
    Some(New {
        delays: floats(req("delays")?).unwrap_or_default(),
        initial_factor: int_in::<u16>(req("initialFactor")?)?,
        ints: ints(req("ints")?).unwrap_or((1, 4)),
        random_order: req("order")?.as_i64() == Some(0),
        per_day: int_in::<u32>(req("perDay")?).unwrap_or(0),
        bury: match m.get("bury") {
            None => false,
            Some(b) => boolean(b)?,
        },
        other: unknown(m, NEW_KEYS),
    })
}

fn parse_rev(v: &Value) -> Option<Rev> {
    let m = v.as_object()?;
    Some(Rev {
        ease4: float(m.get("ease4")?)?,
        ivl_fct: float(m.get("ivlFct")?)?,
        max_ivl: int_in::<u32>(m.get("maxIvl")?)?,
        per_day: int_in::<u32>(m.get("perDay")?).unwrap_or(0),
        hard_factor: match m.get("hardFactor") {
            None => 1.2,
            Some(f) => float(f)?,
        },
        bury: match m.get("bury") {
            None => false,
            Some(b) => boolean(b)?,
        },
        other: unknown(m, REV_KEYS),
    })
}

fn parse_lapse(v: &Value) -> Option<Lapse> {
    let m = v.as_object()?;
    Some(Lapse {
        delays: floats(m.get("delays")?).unwrap_or_default(),
        tag_only: m.get("leechAction")?.as_i64() != Some(0),
        leech_fails: int_in::<u32>(m.get("leechFails")?)?,
        min_int: int_in::<u32>(m.get("minInt")?)?,
        mult: float(m.get("mult")?)?,
        other: unknown(m, LAPSE_KEYS),
    })
}

fn unknown(m: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Converts a legacy deck config object into a row.
pub fn from_json(value: &Value) -> Result<DeckConfigRow, LegacyError> {
    let o = Obj::new(value, "deck config")?;
    let id = o.req("id", int_or_numeric_string, "an integer")?;
    let mut o = o;
    o.what = format!("deck config {id}");
    let mtime_secs = o.req("mod", int_or_numeric_string, "an integer")?;
    let name = o.req("name", string, "a string")?;
    let usn = o.req("usn", int_in::<i32>, "a 32-bit integer")?;
    let max_taken = o.req("maxTaken", int_in::<i32>, "a 32-bit integer")?;
    let autoplay = o.req("autoplay", boolean, "a boolean")?;
    let timer = int_in::<u8>(o.present("timer")?).unwrap_or(0);
    let replayq = o.opt("replayq", boolean, "a boolean")?.unwrap_or(false);
    let new = parse_new(o.present("new")?).unwrap_or_default();
    let rev = parse_rev(o.present("rev")?).unwrap_or_default();
    let lapse = parse_lapse(o.present("lapse")?).unwrap_or_default();

    let i32_key = |key: &str| -> Result<i32, LegacyError> {
        Ok(o.opt(key, int_in::<i32>, "a 32-bit integer")?.unwrap_or(0))
    };
    let bool_key = |key: &str| -> Result<bool, LegacyError> {
        Ok(o.opt(key, boolean, "a boolean")?.unwrap_or(false))
    };
    let floats_key = |key: &str| -> Result<Vec<f32>, LegacyError> {
        Ok(o.opt(key, floats, "a list of numbers")?.unwrap_or_default())
    };
    let float_key = |key: &str| -> Result<f32, LegacyError> {
        Ok(o.opt(key, float, "a number")?.unwrap_or(0.0))
    };
    let string_key = |key: &str| -> Result<String, LegacyError> {
        Ok(o.opt(key, string, "a string")?.unwrap_or_default())
    };
    let question_action = o
        .opt(
            "questionAction",
            |v| int_in::<i32>(v).filter(|a| (0..=1).contains(a)),
            "0 or 1",
        )?
        .unwrap_or(0);
    let answer_action = o
        .opt(
            "answerAction",
            |v| int_in::<i32>(v).filter(|a| (0..=4).contains(a)),
            "0 to 4",
        )?
        .unwrap_or(0);

    let mut other = o.unknown(TOP_KEYS);
    for (key, sub) in [
        ("new", new.other.clone()),
        ("rev", rev.other.clone()),
        ("lapse", lapse.other.clone()),
    ] {
        if !sub.is_empty() {
            other.insert(key.to_string(), Value::Object(sub));
        }
    }

    let config = DeckConfigConfig {
        learn_steps: new.delays,
        relearn_steps: lapse.delays,
        fsrs_params_4: floats_key("fsrsWeights")?,
        easy_days_percentages: floats_key("easyDaysPercentages")?,
        fsrs_params_5: floats_key("fsrsParams5")?,
        fsrs_params_6: floats_key("fsrsParams6")?,
        new_per_day: new.per_day,
        reviews_per_day: rev.per_day,
        initial_ease: f32::from(new.initial_factor) / 1000.0,
        easy_multiplier: rev.ease4,
        hard_multiplier: rev.hard_factor,
        lapse_multiplier: lapse.mult,
        interval_multiplier: rev.ivl_fct,
        maximum_review_interval: rev.max_ivl,
        minimum_lapse_interval: lapse.min_int,
        graduating_interval_good: u32::from(new.ints.0),
        graduating_interval_easy: u32::from(new.ints.1),
        new_card_insert_order: if new.random_order {
            NewCardInsertOrder::Random
        } else {
            NewCardInsertOrder::Due
        } as i32,
        leech_action: if lapse.tag_only {
            LeechAction::TagOnly
        } else {
            LeechAction::Suspend
        } as i32,
        leech_threshold: lapse.leech_fails,
        disable_autoplay: !autoplay,
        cap_answer_time_to_secs: max_taken.max(0) as u32,
        show_timer: timer != 0,
        skip_question_when_replaying_answer: !replayq,
        bury_new: new.bury,
        bury_reviews: rev.bury,
        bury_interday_learning: bool_key("buryInterdayLearning")?,
        new_mix: i32_key("newMix")?,
        interday_learning_mix: i32_key("interdayLearningMix")?,
        new_card_sort_order: i32_key("newSortOrder")?,
        review_order: i32_key("reviewOrder")?,
        new_card_gather_priority: i32_key("newGatherPriority")?,
        new_per_day_minimum: o
            .opt("newPerDayMinimum", int_in::<u32>, "a non-negative integer")?
            .unwrap_or(0),
        question_action,
        desired_retention: float_key("desiredRetention")?,
        stop_timer_on_answer: bool_key("stopTimerOnAnswer")?,
        historical_retention: float_key("sm2Retention")?,
        seconds_to_show_question: float_key("secondsToShowQuestion")?,
        seconds_to_show_answer: float_key("secondsToShowAnswer")?,
        answer_action,
        wait_for_audio: o.opt("waitForAudio", boolean, "a boolean")?.unwrap_or(true),
        param_search: string_key("weightSearch")?,
        ignore_revlogs_before_date: string_key("ignoreRevlogsBeforeDate")?,
        other: other_bytes(&other),
    };
    Ok(DeckConfigRow {
        id,
        name,
        mtime_secs,
        usn,
        config,
    })
}

/// Converts a row into the legacy deck config object the official server
/// sends.
pub fn to_json(row: &DeckConfigRow) -> Value {
    let c = &row.config;
    let mut other = other_map(&c.other);
    let mut sub_other = |key: &str| match other.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let (new_other, rev_other, lapse_other) =
        (sub_other("new"), sub_other("rev"), sub_other("lapse"));

    let mut new = Map::new();
    new.insert("bury".into(), c.bury_new.into());
    new.insert("delays".into(), f32_values(&c.learn_steps));
    new.insert(
        "initialFactor".into(),
        ((c.initial_ease * 1000.0) as u16).into(),
    );
    new.insert(
        "ints".into(),
        json!([c.graduating_interval_good, c.graduating_interval_easy, 0]),
    );
    new.insert(
        "order".into(),
        i32::from(c.new_card_insert_order != NewCardInsertOrder::Random as i32).into(),
    );
    new.insert("perDay".into(), c.new_per_day.into());
    merge_other(&mut new, new_other, NEW_KEYS);

    let mut rev = Map::new();
    rev.insert("bury".into(), c.bury_reviews.into());
    rev.insert("ease4".into(), f32_value(c.easy_multiplier));
    rev.insert("ivlFct".into(), f32_value(c.interval_multiplier));
    rev.insert("maxIvl".into(), c.maximum_review_interval.into());
    rev.insert("perDay".into(), c.reviews_per_day.into());
    rev.insert("hardFactor".into(), f32_value(c.hard_multiplier));
    merge_other(&mut rev, rev_other, REV_KEYS);

    let mut lapse = Map::new();
    lapse.insert("delays".into(), f32_values(&c.relearn_steps));
    lapse.insert(
        "leechAction".into(),
        i32::from(c.leech_action == LeechAction::TagOnly as i32).into(),
    );
    lapse.insert("leechFails".into(), c.leech_threshold.into());
    lapse.insert("minInt".into(), c.minimum_lapse_interval.into());
    lapse.insert("mult".into(), f32_value(c.lapse_multiplier));
    merge_other(&mut lapse, lapse_other, LAPSE_KEYS);

    let action = |a: i32, max: i32| if (1..=max).contains(&a) { a } else { 0 };
    let mut out = Map::new();
    out.insert("id".into(), row.id.into());
    out.insert("mod".into(), row.mtime_secs.into());
    out.insert("name".into(), row.name.clone().into());
    out.insert("usn".into(), row.usn.into());
    out.insert("maxTaken".into(), c.cap_answer_time_to_secs.into());
    out.insert("autoplay".into(), (!c.disable_autoplay).into());
    out.insert("timer".into(), i32::from(c.show_timer).into());
    out.insert(
        "replayq".into(),
        (!c.skip_question_when_replaying_answer).into(),
    );
    out.insert("new".into(), Value::Object(new));
    out.insert("rev".into(), Value::Object(rev));
    out.insert("lapse".into(), Value::Object(lapse));
    out.insert("dyn".into(), false.into());
    out.insert("newMix".into(), c.new_mix.into());
    out.insert("newPerDayMinimum".into(), c.new_per_day_minimum.into());
    out.insert("interdayLearningMix".into(), c.interday_learning_mix.into());
    out.insert("reviewOrder".into(), c.review_order.into());
    out.insert("newSortOrder".into(), c.new_card_sort_order.into());
    out.insert(
        "newGatherPriority".into(),
        c.new_card_gather_priority.into(),
    );
    out.insert(
        "buryInterdayLearning".into(),
        c.bury_interday_learning.into(),
    );
    out.insert("fsrsWeights".into(), f32_values(&c.fsrs_params_4));
    out.insert("fsrsParams5".into(), f32_values(&c.fsrs_params_5));
    out.insert("fsrsParams6".into(), f32_values(&c.fsrs_params_6));
    out.insert("desiredRetention".into(), f32_value(c.desired_retention));
    out.insert(
        "ignoreRevlogsBeforeDate".into(),
        c.ignore_revlogs_before_date.clone().into(),
    );
    out.insert(
        "easyDaysPercentages".into(),
        f32_values(&c.easy_days_percentages),
    );
    out.insert("stopTimerOnAnswer".into(), c.stop_timer_on_answer.into());
    out.insert(
        "secondsToShowQuestion".into(),
        f32_value(c.seconds_to_show_question),
    );
    out.insert(
        "secondsToShowAnswer".into(),
        f32_value(c.seconds_to_show_answer),
    );
    out.insert("questionAction".into(), action(c.question_action, 1).into());
    out.insert("answerAction".into(), action(c.answer_action, 4).into());
    out.insert("waitForAudio".into(), c.wait_for_audio.into());
    out.insert("sm2Retention".into(), f32_value(c.historical_retention));
    out.insert("weightSearch".into(), c.param_search.clone().into());
    merge_other(&mut out, other, TOP_KEYS);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
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
}

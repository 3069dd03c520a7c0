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
#[path = "deck_config_tests.rs"]
mod tests;

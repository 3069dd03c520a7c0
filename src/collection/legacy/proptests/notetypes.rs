//! Property tests of the notetype conversions: rows survive their JSON form, and
//! varied JSON reads back in canonical form (see `super`).

use super::*;

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
}

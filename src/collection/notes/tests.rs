use super::*;
use proptest::prelude::*;
use rusqlite::Connection;

use super::entities::HTML4_ENTITIES;

/// The notes the real client stored (see `legacy/testdata/make_fixtures.py`).
const CLIENT_SORT_FIELDS: &str = include_str!("../legacy/testdata/sort_fields.json");

/// A table with a column of the same affinity as `notes.sfld`.
fn affinity_table() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("create table t (v integer not null)")
        .unwrap();
    conn
}

/// SQLite's `quote()` of what ends up stored when `value` is written.
fn stored(conn: &Connection, value: &Value) -> String {
    conn.execute("delete from t", []).unwrap();
    conn.execute("insert into t (v) values (?1)", [value])
        .unwrap();
    conn.query_row("select quote(v) from t", [], |r| r.get(0))
        .unwrap()
}

/// What ends up stored when `value` is written.
fn stored_value(conn: &Connection, value: &Value) -> Value {
    conn.execute("delete from t", []).unwrap();
    conn.execute("insert into t (v) values (?1)", [value])
        .unwrap();
    conn.query_row("select v from t", [], |r| r.get(0)).unwrap()
}

/// The fixture's stored `sfld`: its JSON value (exact for text, integers
/// and finite reals; `null` for an infinite real), typed by `quote()`.
fn client_sfld(case: &serde_json::Value) -> Value {
    let quoted = case["sfld_sql"].as_str().unwrap();
    match &case["sfld"] {
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Null => Value::Real(if quoted.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        n if !quoted.contains(['.', 'e', 'E']) => Value::Integer(n.as_i64().unwrap()),
        n => Value::Real(n.as_f64().unwrap()),
    }
}

#[test]
fn sort_field_and_checksum_match_what_the_client_stored() {
    let conn = affinity_table();
    let cases: Vec<serde_json::Value> = serde_json::from_str(CLIENT_SORT_FIELDS).unwrap();
    assert!(cases.len() > 150);
    for case in &cases {
        let flds = case["flds"].as_str().unwrap();
        let sort_idx = case["sort_idx"].as_u64().unwrap() as usize;
        let (sfld, csum) = sort_field_and_checksum(flds, sort_idx);
        assert_eq!(
            stored_value(&conn, &sfld),
            client_sfld(case),
            "sfld of {flds:?}"
        );
        assert_eq!(csum, case["csum"].as_i64().unwrap(), "csum of {flds:?}");
    }
}

#[test]
fn plain_integers_are_returned_as_integers() {
    let v = |s: &str| sqlite_integer_affinity(s.to_string());
    assert_eq!(v("12"), Value::Integer(12));
    assert_eq!(v(" -7\n"), Value::Integer(-7));
    assert_eq!(v("+007"), Value::Integer(7));
    assert_eq!(v("-9223372036854775808"), Value::Integer(i64::MIN));
    assert_eq!(
        v("9223372036854775808"),
        Value::Text("9223372036854775808".into())
    );
    assert_eq!(v("1.5"), Value::Text("1.5".into()));
    assert_eq!(v("１２"), Value::Text("１２".into()));
    assert_eq!(v("12\u{a0}"), Value::Text("12\u{a0}".into()));
    assert_eq!(v("-"), Value::Text("-".into()));
}

#[test]
fn media_file_names_are_kept_padded_with_spaces() {
    let strip = |s| strip_html_preserving_media_filenames(s).into_owned();
    assert_eq!(strip(r#"<img src="a.jpg">"#), " a.jpg ");
    assert_eq!(strip(r#"x<IMG class=y SRC='b c.png'/>z"#), "x b c.png z");
    assert_eq!(strip(r#"<object data="o.pdf" type="x">"#), " o.pdf ");
    assert_eq!(strip(r#"<img title=">" src="q.jpg">"#), " q.jpg ");
    assert_eq!(strip(r#"<img src="a.jpg" title=">">"#), r#" a.jpg ">"#);
    assert_eq!(strip(r#"<embed src="e.swf">"#), "");
    assert_eq!(strip("[sound:a.mp3]"), "[sound:a.mp3]");
}

#[test]
fn entities_are_decoded_all_or_nothing() {
    assert_eq!(
        decode_entities("&lt;b&gt; &amp; &eacute;&#65;&#x42;"),
        "<b> & éAB"
    );
    assert_eq!(decode_entities("&amp; &bogus;"), "&amp; &bogus;");
    assert_eq!(decode_entities("&amp; a & b"), "&amp; a & b");
    assert_eq!(decode_entities("a\u{a0}b&nbsp;"), "a b ");
    assert_eq!(decode_entities("a\u{a0}b"), "a\u{a0}b");
    assert_eq!(HTML4_ENTITIES.len(), 252);
    assert!(HTML4_ENTITIES.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn a_sort_field_past_the_last_field_is_empty() {
    let (sfld, csum) = sort_field_and_checksum("<b>front</b>\x1f42", 5);
    assert_eq!(sfld, Value::Text(String::new()));
    assert_eq!(csum, field_checksum("front"));
    assert_eq!(sort_field_and_checksum("x\x1f42", 1).0, Value::Integer(42));
}

#[test]
fn cleaning_removes_ascii_controls_but_newlines_and_tabs() {
    assert_eq!(clean_field_text("a\x01b\x7fc\td\r\ne\x1f"), "abc\td\ne");
    assert_eq!(clean_field_text("é\u{85}\u{a0}"), "é\u{85}\u{a0}");
}

#[test]
fn long_unterminated_tags_and_blocks_stay_fast() {
    let start = std::time::Instant::now();
    let field = format!("<img {}", "a=\"b\" ".repeat(20_000));
    assert_eq!(strip_html_preserving_media_filenames(&field), field);
    let field = "<img src=\"x".repeat(20_000);
    strip_html_preserving_media_filenames(&field);
    let field = format!("{}>", "<img -src=x".repeat(20_000));
    strip_html_preserving_media_filenames(&field);
    let field = "<style>a<script>b<!--c".repeat(20_000);
    strip_html_preserving_media_filenames(&field);
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn stored_sfld_equals_stored_text_for_tricky_numbers() {
    let conn = affinity_table();
    for text in [
        "",
        " ",
        "0",
        "-0",
        "00",
        " 12 ",
        "\t12\n",
        "12\u{a0}",
        "1.5",
        "5.0",
        "5.",
        ".5",
        "1e5",
        "1e400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "0x10",
        "+",
        "NaN",
        "37000006458599460864.1",
    ] {
        let ours = sqlite_integer_affinity(text.to_string());
        assert_eq!(
            stored(&conn, &ours),
            stored(&conn, &Value::Text(text.to_string())),
            "{text:?}"
        );
    }
}

proptest! {
    #[test]
    fn stored_sfld_equals_stored_text(
        text in "[ \t]?[+-]?[0-9]{0,22}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{0,4})?[ \n]?"
    ) {
        let conn = affinity_table();
        let ours = sqlite_integer_affinity(text.clone());
        prop_assert_eq!(stored(&conn, &ours), stored(&conn, &Value::Text(text)));
    }

    #[test]
    fn stripping_never_panics_and_leaves_no_tags_behind(text in "[<>a-z =\"'/!&;#x0-9-]{0,40}") {
        let stripped = strip_html_preserving_media_filenames(&text);
        let _ = sort_field_and_checksum(&text, 0);
        if !text.contains('&') {
            if let Some(lt) = stripped.find('<') {
                prop_assert!(!stripped[lt..].contains('>'), "{:?} -> {:?}", text, stripped);
            }
        }
    }
}

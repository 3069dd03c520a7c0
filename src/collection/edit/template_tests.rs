use super::*;

fn set<'a>(names: &[&'a str]) -> HashSet<&'a str> {
    names.iter().copied().collect()
}

fn renders(tmpl: &str, nonempty: &[&str]) -> bool {
    Template::parse(tmpl)
        .map(|t| t.renders_with_fields(&set(nonempty)))
        .unwrap_or(false)
}

#[test]
fn one_nonempty_replacement_is_enough_whatever_its_filters() {
    assert!(renders("{{Front}}", &["Front"]));
    assert!(!renders("{{Front}}", &["Back"]));
    assert!(renders("x {{Back}} {{Front}}", &["Front"]));
    for t in [
        "{{text:F}}",
        "{{cloze:F}}",
        "{{hint:F}}",
        "{{type:F}}",
        "{{tts en_US:F}}",
    ] {
        assert!(renders(t, &["F"]), "{t}");
    }
    assert!(!renders("plain text only", &["F"]));
}

#[test]
fn tags_are_trimmed_but_the_field_after_a_colon_is_not() {
    assert!(renders("{{ F }}", &["F"]));
    assert!(!renders("{{text: F}}", &["F"]));
    assert!(renders("{{text: F}}", &[" F"]));
    assert!(renders("{{{F}}}", &["F"]));
}

#[test]
fn conditionals_need_their_field_and_nonempty_contents() {
    assert!(renders("{{#B}}{{A}}{{/B}}", &["A", "B"]));
    assert!(!renders("{{#B}}{{A}}{{/B}}", &["A"]));
    assert!(!renders("{{#B}}static text{{/B}}", &["B"]));
    assert!(renders("{{^B}}{{C}}{{/B}}", &["C"]));
    assert!(!renders("{{^B}}{{C}}{{/B}}", &["B", "C"]));
    assert!(!renders("{{FrontSide}}{{#C}}{{/C}}", &["C"]));
    assert!(renders("{{# B }}{{A}}{{/ B}}", &["A", "B"]));
}

#[test]
fn broken_templates_generate_nothing() {
    assert!(Template::parse("{{#A}}{{B}}").is_none());
    assert!(Template::parse("{{#A}}{{B}}{{/C}}").is_none());
    assert!(Template::parse("{{/A}}").is_none());
    assert!(Template::parse("{{A}} {{ unclosed").is_some());
}

#[test]
fn comments_are_skipped_and_hide_replacements() {
    assert!(!renders("<!-- {{F}} -->", &["F"]));
    assert!(renders("<!-- x -->{{F}}", &["F"]));
    assert!(renders("<!-- unclosed {{F}}", &["F"]));
}

#[test]
fn the_legacy_alternate_syntax_is_understood() {
    assert!(renders("{{=<% %>=}}<%Front%>", &["Front"]));
    assert!(!renders("{{=<% %>=}}{{Front}}", &["Front"]));
    assert!(renders("  {{=<% %>=}}<% #B %><%A%><%/B%>", &["A", "B"]));
}

#[test]
fn cloze_fields_are_those_with_a_cloze_filter() {
    let t = Template::parse("{{cloze:Text}}{{#X}}{{cloze:Other}}{{/X}}{{Back}}").unwrap();
    assert_eq!(t.cloze_field_names(), set(&["Text", "Other"]));
}

#[test]
fn empty_fields_are_whitespace_and_br_or_div_tags_only() {
    for empty in [
        "",
        " \t\n\r\x0b\x0c",
        "<br>",
        "<BR/>",
        "<br />",
        "</div><div>",
        "<Div >",
        "<br >",
    ] {
        assert!(field_is_empty(empty), "{empty:?}");
    }
    for content in [
        "x",
        "&nbsp;",
        "\u{a0}",
        "<p></p>",
        "<br  >",
        "<div class=x>",
        "<span></span>",
        "<b>",
    ] {
        assert!(!field_is_empty(content), "{content:?}");
    }
}

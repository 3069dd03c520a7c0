use super::*;
use crate::collection::search::terms::{FieldMode, Prop, Rating, State, Template, TextMode};

fn text(s: &str) -> Expr {
    Expr::Term(Term::Text {
        text: s.into(),
        mode: TextMode::Normal,
    })
}

fn field(f: &str, t: &str) -> Expr {
    Expr::Term(Term::Field {
        field: f.into(),
        text: t.into(),
        mode: FieldMode::Normal,
    })
}

fn term(q: &str) -> Term {
    match parse(q).unwrap() {
        Expr::Term(t) => t,
        other => panic!("{q:?} is not a single term: {other:?}"),
    }
}

fn error(q: &str) -> String {
    match parse(q) {
        Err(SearchError::Parse(msg)) => msg,
        other => panic!("{q:?} should be a parse error, got {other:?}"),
    }
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

fn group(e: Expr) -> Expr {
    Expr::Group(Box::new(e))
}

#[test]
fn empty_and_whitespace_queries_are_the_whole_collection() {
    for q in ["", "   ", "\t\n", "\u{a0}\u{3000}"] {
        assert_eq!(parse(q).unwrap(), Expr::Term(Term::WholeCollection));
    }
}

#[test]
fn every_unicode_whitespace_separates_terms_even_inside_quotes() {
    let ab = Expr::And(vec![text("a"), text("b")]);
    for q in ["a b", "a\tb", "a\nb", "a\u{a0}b", "a\u{3000}b", "  a   b  "] {
        assert_eq!(parse(q).unwrap(), ab, "{q:?}");
    }
    assert_eq!(parse("\"a\tb\"").unwrap(), text("a b"));
}

#[test]
fn adjacent_terms_are_joined_by_and_which_binds_tighter_than_or() {
    assert_eq!(
        parse("a b or c").unwrap(),
        Expr::Or(vec![Expr::And(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(
        parse("a OR b and c").unwrap(),
        Expr::Or(vec![text("a"), Expr::And(vec![text("b"), text("c")])])
    );
    assert_eq!(parse("a AnD b").unwrap(), parse("a b").unwrap());
}

#[test]
fn quoted_and_or_are_plain_text() {
    assert_eq!(parse("\"and\"").unwrap(), text("and"));
    assert_eq!(
        parse("a \"or\" b").unwrap(),
        Expr::And(vec![text("a"), text("or"), text("b")])
    );
}

#[test]
fn groups_and_negation_nest() {
    assert_eq!(
        parse("-(a or b) c").unwrap(),
        Expr::And(vec![
            not(group(Expr::Or(vec![text("a"), text("b")]))),
            text("c")
        ])
    );
    assert_eq!(
        parse("-a or b").unwrap(),
        Expr::Or(vec![not(text("a")), text("b")])
    );
    assert_eq!(parse("((a))").unwrap(), group(group(text("a"))));
    assert_eq!(parse("-\"a b\"").unwrap(), not(text("a b")));
}

#[test]
fn a_hyphen_that_does_not_start_a_term_is_text() {
    assert_eq!(parse("a-b").unwrap(), text("a-b"));
    assert_eq!(parse("-").unwrap(), text("-"));
    assert_eq!(parse("- a").unwrap(), Expr::And(vec![text("-"), text("a")]));
    assert_eq!(parse("--a").unwrap(), not(text("-a")));
    assert_eq!(parse("front:-x").unwrap(), field("front", "-x"));
    assert_eq!(parse("(-)").unwrap(), group(text("-")));
    assert_eq!(parse(r"\-a").unwrap(), text("-a"));
}

#[test]
fn unquoted_terms_end_at_quotes_and_brackets() {
    assert_eq!(
        parse("a\"b\"(c)").unwrap(),
        Expr::And(vec![text("a"), text("b"), group(text("c"))])
    );
}

#[test]
fn whole_term_quotes_still_split_at_the_colon() {
    assert_eq!(parse("\"front:a b\"").unwrap(), field("front", "a b"));
    assert_eq!(
        parse("\"deck:My Deck\"").unwrap(),
        parse("deck:\"My Deck\"").unwrap()
    );
    assert_eq!(term("\"deck:My Deck\""), Term::Deck("My Deck".into()));
}

#[test]
fn value_quotes_need_a_plain_key_right_before_them() {
    assert_eq!(parse("front:\"a b\"").unwrap(), field("front", "a b"));
    assert_eq!(
        parse("front:\"a\"b").unwrap(),
        Expr::And(vec![field("front", "a"), text("b")])
    );
    assert_eq!(
        parse("x:y:\"z\"").unwrap(),
        Expr::And(vec![field("x", "y:"), text("z")])
    );
}

#[test]
fn the_key_is_cut_at_the_first_unescaped_colon_and_lowercased() {
    assert_eq!(parse("a:b:c").unwrap(), field("a", "b:c"));
    assert_eq!(parse(r"a\:b").unwrap(), text("a:b"));
    assert_eq!(parse(r"a\:b:c").unwrap(), field("a:b", "c"));
    assert_eq!(term("DECK:x"), Term::Deck("x".into()));
    assert_eq!(
        term("Tag:x"),
        Term::Tag {
            tag: "x".into(),
            mode: FieldMode::Normal
        }
    );
    assert_eq!(parse("Front:x").unwrap(), field("Front", "x"));
}

#[test]
fn escapes_resolve_parser_characters_and_keep_wildcard_escapes() {
    assert_eq!(parse(r#""a\"b""#).unwrap(), text("a\"b"));
    assert_eq!(parse(r"\(\)").unwrap(), text("()"));
    assert_eq!(parse(r"a\*\_\\").unwrap(), text(r"a\*\_\\"));
    assert_eq!(
        parse(r#"front:"va\"lue""#).unwrap(),
        field("front", "va\"lue")
    );
}

#[test]
fn unknown_and_trailing_escapes_are_errors() {
    for (q, seq) in [
        (r"\q", r"\q"),
        (r"back\slash", r"\s"),
        (r"C:\Users", r"\U"),
        (r"\%", r"\%"),
        (r"\", r"\"),
        (r"foo\", r"\"),
        (r"a\ b", r"\ "),
        (r#""\ ""#, r"\ "),
        (r"fr\ont:x", r"\o"),
    ] {
        let msg = error(q);
        assert!(msg.contains(&format!("`{seq}`")), "{q:?}: {msg}");
    }
}

#[test]
fn regex_values_are_not_escape_checked() {
    assert_eq!(term(r"re:\d+"), Term::Regex(r"\d+".into()));
    assert_eq!(term(r#""re:a\"b""#), Term::Regex("a\"b".into()));
    assert_eq!(
        term(r"front:re:\w"),
        Term::Field {
            field: "front".into(),
            text: r"\w".into(),
            mode: FieldMode::Regex
        }
    );
    assert_eq!(
        term(r"tag:re:\w"),
        Term::Tag {
            tag: r"\w".into(),
            mode: FieldMode::Regex
        }
    );
    assert_eq!(
        term(r"dupe:5,a\\b\q"),
        Term::Dupe {
            notetype_id: 5,
            text: r"a\b\q".into()
        }
    );
}

#[test]
fn structural_errors_are_reported() {
    for (q, needle) in [
        ("(", "opening bracket"),
        ("(a (b)", "opening bracket"),
        (")", "closing bracket"),
        ("a ) b", "closing bracket"),
        ("-)", "closing bracket"),
        ("()", "empty group"),
        ("( )", "empty group"),
        ("(a () b)", "empty group"),
        ("and", "`and`"),
        ("a and", "`and`"),
        ("and a", "`and`"),
        ("or", "`or`"),
        ("a or", "`or`"),
        ("a and or b", "`or`"),
        ("a or and b", "`and`"),
        ("(a or)", "`or`"),
        ("\"", "never closed"),
        ("\" a", "never closed"),
        (r#""\"#, "never closed"),
        ("front:\"abc", "never closed"),
        ("\"\"", "nothing between the quotes"),
        ("front:\"\"", "nothing between the quotes"),
        (":", "colon"),
        (":a", "colon"),
        ("\":a\"", "colon"),
        ("-and", "cannot negate"),
        ("-or", "cannot negate"),
    ] {
        let msg = error(q);
        assert!(msg.contains(needle), "{q:?}: {msg}");
    }
}

#[test]
fn keyword_values_are_parsed_or_rejected() {
    assert_eq!(term("card:2"), Term::Template(Template::Ordinal(1)));
    assert_eq!(term("card:0"), Term::Template(Template::Ordinal(0)));
    assert_eq!(
        term("card:Card 1".replace(' ', "\\_").as_str()),
        Term::Template(Template::Name(r"Card\_1".into()))
    );
    assert_eq!(term("flag:0"), Term::Flag(0));
    assert_eq!(term("flag:+7"), Term::Flag(7));
    assert_eq!(term("added:0"), Term::AddedInDays(1));
    assert_eq!(term("edited:3"), Term::EditedInDays(3));
    assert_eq!(term("introduced:0"), Term::IntroducedInDays(1));
    assert_eq!(
        term("rated:3:2"),
        Term::Rated {
            days: -3,
            rating: Rating::Button(2)
        }
    );
    assert_eq!(
        term("resched:0"),
        Term::Rated {
            days: 0,
            rating: Rating::ManualReschedule
        }
    );
    assert_eq!(term("is:buried-sibling"), Term::State(State::BuriedSibling));
    assert_eq!(term("nid:1,22,333"), Term::NoteIds(vec![1, 22, 333]));
    assert_eq!(term("cid:5"), Term::CardIds(vec![5]));
    assert_eq!(term("did:1,2"), Term::DeckIds(vec![1, 2]));
    assert_eq!(term("mid:-4"), Term::NotetypeId(-4));
    assert_eq!(term("nid:99999999999999999999999"), Term::NoteIds(vec![]));
    assert_eq!(
        term("nc:café"),
        Term::Text {
            text: "café".into(),
            mode: TextMode::NoCombining
        }
    );
    assert_eq!(term("preset:a\\b"), Term::Preset("a\\b".into()));
    for q in [
        "is:foo",
        "is:DUE",
        "is:",
        "flag:8",
        "flag:-0",
        "flag:",
        "flag:1.1",
        "added:-1",
        "added:",
        "edited:x",
        "introduced:1.5",
        "resched:-1",
        "rated:1:",
        "rated:2:5",
        "rated:x",
        "nid:",
        "nid:1,",
        "nid:,1",
        "nid:1_2",
        "cid:x",
        "did:",
        "mid:1,2",
        "mid:",
        "dupe:",
        "dupe:x,y",
        "dupe:123",
    ] {
        error(q);
    }
}

#[test]
fn prop_clauses_are_parsed_or_rejected() {
    let prop = |q: &str| match term(q) {
        Term::Prop { op, prop } => (op, prop),
        other => panic!("{other:?}"),
    };
    assert_eq!(prop("prop:ivl>=10"), (">=", Prop::Interval(10)));
    assert_eq!(prop("prop:due=-1"), ("=", Prop::Due(-1)));
    assert_eq!(prop("prop:ease!=2.5"), ("!=", Prop::Ease(2.5)));
    assert_eq!(prop("prop:pos<3"), ("<", Prop::Position(3)));
    assert_eq!(prop("prop:reps>3"), (">", Prop::Reps(3)));
    assert_eq!(prop("prop:lapses<=0"), ("<=", Prop::Lapses(0)));
    assert_eq!(
        prop("prop:rated=-1:3"),
        ("=", Prop::Rated(-1, Rating::Button(3)))
    );
    assert_eq!(
        prop("prop:resched>-2"),
        (">", Prop::Rated(-2, Rating::ManualReschedule))
    );
    assert!(matches!(prop("prop:s>1").1, Prop::Unsupported(_)));
    assert!(matches!(prop("prop:cdn:key>1").1, Prop::Unsupported(_)));
    assert!(matches!(prop("prop:cds:key=v").1, Prop::Unsupported(_)));
    for q in [
        "prop:",
        "prop:=1",
        "prop:DUE<5",
        "prop:cdn=5",
        "prop:cdn:=5",
        "prop:lapses",
        "prop:pos~1",
        "prop:reps10",
        "prop:ivl>",
        "prop:ivl=0.5",
        "prop:ivl!=-1",
        "prop:due=0.5",
        "prop:ease>one",
        "prop:rated>1",
        "prop:rated=-1:5",
        "prop:s>x",
    ] {
        error(q);
    }
}

#[test]
fn nesting_is_bounded_instead_of_exhausting_the_stack() {
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(parse(&deep).is_ok());
    let deeper = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error(&deeper).contains("nest"));
    assert!(error(&format!("{}a", "-(".repeat(60))).contains("nest"));
}

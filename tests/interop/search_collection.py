"""A varied collection for search tests, built with the real Anki client.

`build(path, variant)` creates a new collection file at `path` and fills it
with notes, cards, decks, tags and review history chosen to exercise every
construct of the search syntax (docs/apis.md section 2): several notetypes
(Basic, reversed, Cloze, two custom ones; in the "main" variant one field and
one sort field are excluded from unqualified search), nested decks and a
filtered deck, hierarchical / Unicode / mixed-case tags, fields with HTML,
Unicode, NFD text, tabs and no-break spaces, `_`, `*`, `:`, quotes and
backslashes; cards in every state, with flags, revlog entries and creation
days spread around the scheduler's day boundaries.

Variants:
  main   - fields excluded from search; note text normalisation on (default).
  plain  - no excluded fields; `ignoreAccentsInSearch` on and
           `normalize_note_text` off (so NFD text is stored as typed).

Everything time-dependent is placed relative to the client's own "today"
(`col.sched.today`, `col.sched.day_cutoff`) and the current time, with
margins of many minutes, so the same queries give the same answers for the
whole run of a test. The returned dict says which "now" the data was built
around; searching must happen within a few minutes of it.

Used by search_oracle.py (kioku's oracle test); the AnkiConnect tests can
reuse it to build the same collection.
"""

import time

from anki.collection import Collection

VARIANTS = ("main", "plain")
DAY = 86_400


def _notetypes(col, variant):
    mm = col.models
    vocab = mm.new("Vocab ÜNÏ")
    for name in ["Wort", "Ünï", "Notes", "Extra_1", "Extra_2"]:
        mm.add_field(vocab, mm.new_field(name))
    if variant == "main":
        vocab["flds"][2]["excludeFromSearch"] = True
    vocab["sortf"] = 1
    for name, qfmt in [("Recognition", "{{Wort}}"), ("Production", "{{Ünï}}")]:
        t = mm.new_template(name)
        t["qfmt"] = qfmt
        t["afmt"] = "{{FrontSide}}<hr>{{Notes}}"
        mm.add_template(vocab, t)
    mm.add(vocab)

    uber = mm.new("Über Typ")
    for name in ["Front", "Hidden"]:
        mm.add_field(uber, mm.new_field(name))
    if variant == "main":
        uber["flds"][1]["excludeFromSearch"] = True
    uber["sortf"] = 1
    t = mm.new_template("Card 1")
    t["qfmt"] = "{{Front}}"
    t["afmt"] = "{{Hidden}}"
    mm.add_template(uber, t)
    mm.add(uber)
    return {
        "basic": mm.by_name("Basic"),
        "rev": mm.by_name("Basic (and reversed card)"),
        "cloze": mm.by_name("Cloze"),
        "vocab": mm.by_name("Vocab ÜNÏ"),
        "uber": mm.by_name("Über Typ"),
    }


# (notetype, fields, deck, tags)
NOTES = [
    ("basic", ["hello", "world"], "Default", "greeting"),
    ("basic", ["<b>Hello</b> World", "bold <i>text</i>"], "Japanese", "lang::jp vocab"),
    ("basic", ["食べる", "to eat"], "Japanese::Verbs", "lang::jp::verbs"),
    ("basic", ["飲む", "to drink"], "Japanese::Verbs", "lang::jp marked"),
    ("basic", ["寿司", "sushi"], "Japanese::Nouns::Food", "food Lang::FR"),
    ("basic", ["Öl", "oil ÖL öl"], "Français", "ünïcode"),
    ("basic", ["café", "CAFÉ straße"], "Français", "Ünïcode::sub"),
    ("basic", ["cafe-nfd", "nfd"], "Français", "nfd"),
    ("basic", ["a_b", "underscore"], "a_b", "x_y"),
    ("basic", ["star*", "asterisk a*b"], "Other", "star"),
    ("basic", ['say "hi"', "quote"], "Other", "quote"),
    ("basic", ["C:\\Users", "back\\slash"], "Other", "path"),
    ("basic", ["key:value", "colon"], "Other", ""),
    ("basic", ["42", "number sort field"], "Other", "num"),
    ("basic", ["a\tb", "tab"], "Other", "ws"),
    ("basic", ["a\u00a0b", "nbsp"], "Other", "ws"),
    ("basic", ["a b", "space"], "Other", "ws"),
    ("basic", ['<img src="cat.jpg">', "image"], "Other", "media"),
    ("basic", ["fish &amp; chips", "entity"], "Other", ""),
    ("basic", ["<b>hello</b>", "dupe of hello"], "Other", "dupe"),
    ("basic", ["orphan", "no cards"], "Other", "orphan"),
    ("basic", ["foo", "bar"], "Ünïcode Deck", "LANG_x"),
    ("basic", ["-dash", "minus"], "Other", "dash"),
    ("basic", ["and", "or"], "Other", "words"),
    ("basic", ["plus plus", "c++ language"], "C++ (Lang)", "c++"),
    ("rev", ["dog", "Hund"], "Japanese", "animal"),
    ("rev", ["", "only back"], "Japanese::Verbs", "animal::cat"),
    ("cloze", ["{{c1::Paris::city}} is in {{c2::France}}", "geo"], "Default", "geo"),
    ("cloze", ["{{c1::Tokyo}} and {{c3::Japan}}", ""], "Japanese", "geo::asia"),
    ("vocab", ["Haus", "house", "secretword", "e1", "e2"], "Other", "vocab"),
    ("vocab", ["Baum", "", "", "", ""], "Other", "vocab"),
    ("vocab", ["ÜBER", "über", "hidden öl", "x", ""], "Ünïcode Deck", "vocab ünïcode"),
    ("uber", ["visible", "onlyhidden"], "Other", "uber"),
    ("uber", ["sortme", "42"], "Other", "uber"),
]


def build(path, variant):
    """Creates the collection at `path`; returns facts the tests need."""
    assert variant in VARIANTS
    col = Collection(path)
    # A collection created 120 days ago whose days start at 02:00; reopened
    # so that the client computes "today" from these settings.
    col.set_config("rollover", 2)
    col.db.execute("update col set crt = crt - ?", 120 * DAY)
    if variant == "plain":
        col.set_config("ignoreAccentsInSearch", True)
        col.set_config("normalize_note_text", False)
    col.close()
    col = Collection(path)
    try:
        return _fill(col, variant)
    finally:
        col.close()


def _fill(col, variant):
    nts = _notetypes(col, variant)
    decks = {}
    nids = []
    for kind, fields, deck, tags in NOTES:
        if deck not in decks:
            decks[deck] = col.decks.id(deck)
        note = col.new_note(nts[kind])
        for i, value in enumerate(fields):
            note.fields[i] = value
        note.tags = tags.split()
        col.add_note(note, decks[deck])
        nids.append(note.id)
    by_front = {NOTES[i][1][0]: nid for i, nid in enumerate(nids)}

    # Stored text the client would not produce itself: a decomposed é, and
    # a note without cards.
    col.db.execute(
        "update notes set flds = ? where id = ?",
        "cafe\u0301\x1fnfd",
        by_front["cafe-nfd"],
    )
    col.db.execute("delete from cards where nid = ?", by_front["orphan"])

    today = col.sched.today
    cutoff = col.sched.day_cutoff
    now = int(time.time())

    cids = col.db.list("select id from cards order by nid, ord")
    # Creation times (card ids) and note mtimes spread over past days, each a
    # few hours away from a day boundary.
    ago = [0, 0, 1, 1, 2, 3, 5, 8, 13, 30, 60, 100]
    new_ids = {}
    for i, cid in enumerate(cids):
        days = ago[i % len(ago)]
        new_ids[cid] = (cutoff - days * DAY - 3 * 3600 - 60 * i) * 1000 - i
    for old, new in new_ids.items():
        col.db.execute("update cards set id = ? where id = ?", new, old)
    cids = [new_ids[c] for c in cids]
    for i, nid in enumerate(nids):
        days = ago[(i * 5) % len(ago)]
        col.db.execute(
            "update notes set mod = ? where id = ?", cutoff - days * DAY - 7200 - i, nid
        )

    # Card states: (type, queue, due, ivl, factor, reps, lapses)
    states = [
        (0, 0, 1, 0, 0, 0, 0),  # new
        (0, -1, 2, 0, 0, 0, 0),  # new, suspended
        (0, -2, 3, 0, 0, 0, 0),  # new, buried (sibling)
        (1, 1, now - 3600, 0, 0, 1, 0),  # learning, due
        (1, 1, now + 600, 0, 0, 1, 0),  # learning, due within learn-ahead
        (1, 1, now + 7200, 0, 0, 1, 0),  # learning, later today
        (1, 3, today, 0, 0, 2, 0),  # day learning, due today
        (2, 2, today - 3, 10, 2500, 5, 1),  # review, overdue
        (2, 2, today, 1, 1300, 2, 0),  # review, due today
        (2, 2, today + 5, 30, 2650, 9, 3),  # review, later
        (2, -3, today - 1, 4, 2500, 3, 0),  # review, buried by hand
        (2, -1, today + 1, 7, 2300, 4, 1),  # review, suspended
        (3, 1, now - 60, 1, 2100, 8, 2),  # relearning, due
        (3, 3, today + 1, 1, 2100, 8, 2),  # relearning, day, tomorrow
        (2, 2, today + 100, 200, 3100, 20, 0),  # review, far future
    ]
    for i, cid in enumerate(cids):
        ctype, queue, due, ivl, factor, reps, lapses = states[i % len(states)]
        col.db.execute(
            "update cards set type=?, queue=?, due=?, ivl=?, factor=?, reps=?,"
            " lapses=?, flags=? where id=?",
            ctype, queue, due, ivl, factor, reps, lapses, i % 8, cid,
        )

    # Review history: (card index, days before today's cutoff, ease)
    history = [
        (3, 0, 3), (3, 3, 1), (4, 1, 4), (5, 0, 0), (5, 10, 2), (6, 0, 2),
        (7, 0, 0), (8, 2, 3), (9, 6, 4), (10, 40, 1), (12, 0, 1), (12, 20, 3),
        (13, 1, 0), (14, 1, 2), (15, 5, 0),
    ]
    for n, (idx, days, ease) in enumerate(history):
        rid = (cutoff - days * DAY - 5 * 3600) * 1000 + n
        col.db.execute(
            "insert into revlog values (?, ?, -1, ?, 1, 0, 2500, 3000, ?)",
            rid, cids[idx % len(cids)], ease, 4 if ease == 0 else 1,
        )

    # A filtered deck holding the cards of Japanese::Verbs it can take.
    fdid = col.decks.new_filtered("Filtered::Verbs Review")
    fdeck = col.decks.get(fdid)
    fdeck["terms"] = [['"deck:Japanese::Verbs"', 100, 0]]
    col.decks.save(fdeck)
    col.sched.rebuild_filtered_deck(fdid)

    col.decks.select(decks["Japanese"])
    return {
        "now_ms": now * 1000,
        "today": today,
        "cutoff": cutoff,
        "notetype_ids": {k: v["id"] for k, v in nts.items()},
        "deck_ids": {**decks, "Filtered::Verbs Review": fdid},
        "note_ids": by_front,
        "card_ids": cids,
    }

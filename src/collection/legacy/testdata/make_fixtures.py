"""Regenerates the fixtures in this folder with the real Anki client.

Run with the interpreter of a venv holding `anki==26.9.3`:

    python src/collection/legacy/testdata/make_fixtures.py [objects] [sort_fields]

It writes:

* client_objects.json -- notetypes (with their fields/templates rows), decks,
  deck configs and tags of a collection made by the client, each with the
  client's own legacy JSON (what it sends on the wire) and the rows/blobs it
  stored (blobs as hex);
* sort_fields.json -- notes added by the client: the stored `flds`, the sort
  field index, and the `sfld`/`csum` the client computed (`sfld_sql` is
  SQLite's `quote(sfld)`, exact and typed).
"""

import json
import os
import sys
import tempfile

from anki.collection import Collection

HERE = os.path.dirname(os.path.abspath(__file__))


def rows(col, sql, *args):
    return col.db.all(sql, *args)


def objects(col):
    # --- notetypes -------------------------------------------------------
    basic = col.models.by_name("Basic")
    custom = col.models.copy(basic, add=False)
    custom["name"] = "Custom Vocab"
    mm = col.models
    for name in ["Reading", "Notes"]:
        mm.add_field(custom, mm.new_field(name))
    notes = custom["flds"][3]
    notes.update(sticky=True, rtl=True, font="Noto Sans", size=14,
                 description="a hint", plainText=True, collapsed=True,
                 excludeFromSearch=True)
    t = mm.new_template("Reverse")
    t["qfmt"] = "{{Back}}<br>{{Reading}}"
    t["afmt"] = "{{FrontSide}}<hr id=answer>{{Front}}"
    t["bqfmt"] = "{{Back}}"
    t["bafmt"] = "{{Front}}"
    t["bfont"] = "Arial"
    t["bsize"] = 12
    mm.add_template(custom, t)
    custom["sortf"] = 1
    custom["css"] = ".card { color: navy; }\n"
    custom["latexsvg"] = True
    custom["latexPre"] = "\\documentclass{article}\n\\begin{document}\n"
    mm.add(custom)
    custom = mm.by_name("Custom Vocab")
    deck_for_template = col.decks.id("Languages::Japanese")
    custom["tmpls"][1]["did"] = deck_for_template
    mm.update_dict(custom)

    # --- deck configs ----------------------------------------------------
    conf = col.decks.add_config_returning_id("Custom options")
    c = col.decks.get_config(conf)
    c["new"].update(delays=[2.0, 15.0, 60.0], perDay=33, ints=[2, 5, 0],
                    initialFactor=2300, order=0, bury=True)
    c["rev"].update(perDay=150, ease4=1.4, hardFactor=1.1, maxIvl=3650,
                    ivlFct=0.95, bury=True)
    c["lapse"].update(delays=[5.0, 20.0], leechAction=0, leechFails=6,
                      minInt=2, mult=0.2)
    c.update(maxTaken=90, autoplay=False, timer=1, replayq=False,
             fsrsWeights=[0.4, 0.6, 2.4, 5.8, 4.93, 0.94, 0.86, 0.01, 1.49,
                          0.14, 0.94, 2.18, 0.05, 0.34, 1.26, 0.29, 2.61],
             fsrsParams5=[0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345,
                          1.4604, 0.0046, 1.54575, 0.1192, 1.01925, 1.9395,
                          0.11, 0.29605, 2.2698, 0.2315, 2.9898, 0.51655,
                          0.6621],
             fsrsParams6=[0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334,
                          3.0194, 0.001, 1.8722, 0.1666, 0.796, 1.4835,
                          0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425,
                          0.0912, 0.0658, 0.1542],
             desiredRetention=0.87, ignoreRevlogsBeforeDate="2026-01-15",
             easyDaysPercentages=[1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0],
             newMix=1, interdayLearningMix=2, reviewOrder=3, newSortOrder=2,
             newGatherPriority=5, buryInterdayLearning=True,
             stopTimerOnAnswer=True, secondsToShowQuestion=2.5,
             secondsToShowAnswer=1.5, questionAction=1, answerAction=2,
             waitForAudio=False, sm2Retention=0.85,
             weightSearch="deck:Languages")
    col.decks.update_config(c)

    # --- decks -----------------------------------------------------------
    lang = col.decks.id("Languages")
    spanish = col.decks.id("Languages::Spanish")
    d = col.decks.get(lang)
    d.update(desc="<b>All</b> languages", md=True, collapsed=False,
             browserCollapsed=False)
    col.decks.save(d)
    d = col.decks.get(spanish)
    d.update(conf=conf, reviewLimit=50, newLimit=5,
             reviewLimitToday={"limit": 7, "today": col.sched.today},
             newLimitToday={"limit": 2, "today": col.sched.today},
             desiredRetention=85, extendNew=3, extendRev=4)
    col.decks.save(d)
    # study one card so the *Today counters are set
    n = col.new_note(basic)
    n["Front"], n["Back"] = "hola", "hello"
    n.tags = ["Foo::bar", "foo::Baz", "zzz"]
    col.add_note(n, spanish)
    col.decks.select(spanish)
    card = col.sched.getCard()
    col.sched.answerCard(card, 3)
    fid = col.decks.new_filtered("Filtered Spanish")
    f = col.decks.get(fid)
    f.update(terms=[["deck:Languages", 50, 5], ["is:due", 20, 1]],
             resched=False, delays=[1.0, 10.0], previewAgainSecs=30,
             previewHardSecs=300, previewGoodSecs=5)
    col.decks.save(f)

    out = {"notetypes": [], "decks": [], "deck_configs": [], "tags": []}
    for (ntid, name, mtime, usn, config) in rows(
            col, "select id, name, mtime_secs, usn, hex(config) from notetypes order by id"):
        out["notetypes"].append({
            "json": json.loads(col._backend.get_notetype_legacy(ntid)),
            "id": ntid, "name": name, "mtime_secs": mtime, "usn": usn,
            "config": config,
            "fields": [{"ord": o, "name": fn, "config": fc} for (o, fn, fc) in rows(
                col, "select ord, name, hex(config) from fields where ntid = ? order by ord", ntid)],
            "templates": [{"ord": o, "name": tn, "mtime_secs": tm, "usn": tu, "config": tc}
                          for (o, tn, tm, tu, tc) in rows(
                col, "select ord, name, mtime_secs, usn, hex(config) from templates"
                     " where ntid = ? order by ord", ntid)],
        })
    for (did, name, mtime, usn, common, kind) in rows(
            col, "select id, name, mtime_secs, usn, hex(common), hex(kind) from decks order by id"):
        out["decks"].append({
            "json": json.loads(col._backend.get_deck_legacy(did)),
            "id": did, "name": name, "mtime_secs": mtime, "usn": usn,
            "common": common, "kind": kind})
    for (cid, name, mtime, usn, config) in rows(
            col, "select id, name, mtime_secs, usn, hex(config) from deck_config order by id"):
        out["deck_configs"].append({
            "json": json.loads(col._backend.get_deck_config_legacy(cid)),
            "id": cid, "name": name, "mtime_secs": mtime, "usn": usn,
            "config": config})
    out["tags"] = rows(col, "select tag, usn, collapsed from tags order by tag")
    return out


SORT_FIELDS = [
    "hello", "<b>bold</b> text", '<img src="a.jpg">', '<img src="a.jpg"> caption',
    "[sound:x.mp3]", "123", "  123 ", "-5", "1.5", "007", "１２３", "", "Ünïcödé",
    "a&amp;b", "&nbsp;x", "<br>line<br/>two", "<div>x</div><div>y</div>",
    "<!-- comment -->z", "<style>p{}</style>q", "<script>x</script>w",
    '<img src="b.png" alt="y">', "<IMG SRC='c.gif'>", "<img src=d.svg>", "a\nb",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "12345678901234567890", "+5", " 5", "5 ", "0", "-0",
    "00", "1e5", "5.0", ".5", "5.", "1e400", "-", "0x10", "1_000", "12 ", "\t7\n",
    "[[type:x]]", "{{c1::cloze}}", "<span>12</span>", "<p>5</p>", "x<br>",
    "&lt;tag&gt;", "&#x41;", "<a href='x'>link</a>", '<img src="a b.jpg">',
    "<object data='x'>", "a\x01b\x7fc\td", "e\u0301", "x\u00a0y", "  spaced  ",
    '<img src="x.jpg"><img src="y.jpg">', "<img>", "<img src=''>", '<img src="">',
    't<img src="q.jpg"/>t', "[sound:a.mp3][sound:b.mp3]", "&amp;nbsp;", "&unknown;",
    "a &gt b", "<", "a < b", "a<b", "<<>>", "<b", "x</b>", '<img src="&amp;.jpg">',
    "\u200b", "  ", "\r\n", "a\rb",
    "<img src=a.jpg alt=x>", '<img alt="x" src="a.jpg">', "<img class=x src='y.png'>",
    '<img src = "a.jpg">', '<img data-src="a.jpg">', '<img srcset="a.jpg">',
    '<img\nsrc="a.jpg">', '<img src="a.jpg" / >', '<object data="x.svg" type="image/svg+xml">',
    '<audio src="a.mp3">', '<video src="v.mp4">', '<source src="s.mp3">', '<embed src="e">',
    '<img src="a"b.jpg">', "<img src='a\"b.jpg'>", '<imgsrc="a.jpg">', "<img src=a.jpg>x",
    '<img title=">" src="a.jpg">', '<img src="a.jpg"', '<object data="">',
    '<img src="a.jpg" title=">">', '<img data="x.jpg">', '<object src="y.pdf">',
    '<track src="t.vtt">', '<img src=a.jpg/>', '<img src= "a.jpg">', '<img src ="a.jpg">',
    "<img\n alt='>' src=q.jpg>", '<img\nsrc=\n"a.jpg">', '<img src="x" alt="a>b">',
    "<img SRC=a.jpg\n>", '<img src=">">', '<img alt="src=z.jpg" src="w.jpg">',
    "<img src=a\tb.jpg>", "<img src='a.jpg\">", '<img xsrc="x.jpg">', '<img/src="s.jpg">',
    '<img"x" src="q.jpg">', '<img"a>b" src="c.jpg">', "<img alt='<!--' src=\"a.jpg\">-->z",
    '<img src="a>b"', '<img src=>', '<img-x src="a.jpg">', '<img\u00a0src="n.jpg">',
    '<ímg src="a.jpg">', '<img src=""x.jpg">', '<img src=" a.jpg">',
    "<STYLE>x</STYLE>y", '<style type="text/css">a</style>b', "<style>a</style>b<style>c</style>d",
    "<style>a", "<style>a</style >b", "<styles>a</styles>f", "<styles>a</style>b",
    "<scriptx>a</script>g", "<script>x</style>y</script>z", "<style>a<!--</style>-->b",
    "<!-- a > b -->c", "<!--x-->", "<!--", "<br\n>", "a<br />b", "< b>m</ b>", "<>p", "<1>o",
    "&AMP;", "&amp", "&#65;", "&#0;", "&#x110000;", "&quot;", "&apos;", "&copy;",
    "&hellip;", "&eacute;&Eacute;&alpha;&rarr;", "&NotNestedGreaterGreater;", "&lt",
    "&#12345678;", "&nbsp;&nbsp;", "&#160;", "&#xa0;", "&amp;lt;", "&amp; &unknown;",
    "&amp; a &gt b", "&amp; & x", "&#x;", "&#X41;", "&#xD800;", "&#x0041;", "&#00065;",
    "&amp;&#4294967361;", "&sup2;&frac12;&amp;", "x\u00a0y &amp;", "x\u00a0y & b",
    "\u00a0<b>x</b>", "&amp;\u00a0&nbsp;", "&#x1F600;", "&#10;",
    "<style><script></style>x</script>y", "<script><style></script>x</style>y",
    "<!--<script>-->x</script>y", "<script><!--</script>x-->y", "<!--<style>-->x</style>y",
    '<!--x<img src="a.jpg" alt="-->">', '<style>x<img src="a.jpg" alt="</style>">y',
    "<b><style>s</style><!--c--><script>t</script>u",
]


def sort_fields(col):
    basic = col.models.by_name("Basic")
    out = []
    for text in SORT_FIELDS:
        n = col.new_note(basic)
        n["Front"], n["Back"] = text, "back"
        col.add_note(n, 1)
        out.append(n.id)
    m = col.models.copy(basic, add=False)
    m["name"] = "Basic sorted on Back"
    m["sortf"] = 1
    col.models.add(m)
    m = col.models.by_name("Basic sorted on Back")
    for back in ["<b>x</b>", "42", "", '<img src="k.png">']:
        n = col.new_note(m)
        n["Front"], n["Back"] = "first <i>A</i>", back
        col.add_note(n, 1)
        out.append(n.id)
    result = []
    for nid in out:
        flds, sfld, quoted, csum, mid = col.db.first(
            "select flds, sfld, quote(sfld), csum, mid from notes where id = ?", nid)
        sortf = col.models.get(mid)["sortf"]
        # `sfld_sql` is SQLite's quote() of the stored value: exact, with its type
        result.append({"flds": flds, "sort_idx": sortf, "sfld": sfld,
                       "sfld_sql": quoted, "csum": csum})
    return result


def main():
    """Arguments: which fixtures to write, `objects` and/or `sort_fields`
    (default both)."""
    which = sys.argv[1:] or ["objects", "sort_fields"]
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection(os.path.join(tmp, "fixtures.anki2"))
        try:
            objs = objects(col)
            sf = sort_fields(col)
        finally:
            col.close()
    if "objects" in which:
        with open(os.path.join(HERE, "client_objects.json"), "w") as f:
            json.dump(objs, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", len(objs["notetypes"]), "notetypes,", len(objs["decks"]), "decks,",
              len(objs["deck_configs"]), "deck configs", file=sys.stderr)
    if "sort_fields" in which:
        with open(os.path.join(HERE, "sort_fields.json"), "w") as f:
            json.dump(sf, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", len(sf), "sort fields", file=sys.stderr)


if __name__ == "__main__":
    main()

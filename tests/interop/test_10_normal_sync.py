"""Incremental ("normal") collection sync between two real-client devices.

Every test starts from its own server: device A (filled) full-uploads,
device B full-downloads; from then on every sync must be a normal one
(`clients.sync_normal` asserts NO_CHANGES or NORMAL_SYNC on each call) unless
the test makes a schema change on purpose.
"""

import time

import pytest
from anki.collection import AddNoteRequest

import clients
from clients import FULL_DOWNLOAD, FULL_SYNC, FULL_UPLOAD, NO_CHANGES
from conftest import USERS

PASSWORD = USERS["user1"]


def _pair(server, devices, prepare=None):
    """A (filled, plus `prepare(a)`) full-uploads; B full-downloads. Both equal."""
    return clients.uploaded_and_downloaded(devices, server.endpoint, "user1", PASSWORD, prepare)


def _note_fields(col, nid):
    return col.db.scalar("select flds from notes where id = ?", nid)


def _note_ids_with_tag(col, tag):
    return sorted(col.find_notes(f"tag:{tag}"))


# ---------------------------------------------------------------- scenario 1


def _add_doomed_deck(a):
    """Before the upload: a deck that A deletes (with its cards) later."""
    for i in range(2):
        clients.add_note(a, "Basic", [f"doomed {i}", "gone soon"], "Doomed", tags=["doomed"])
    clients.answer_cards(a, "Doomed", [3])


def _facts(col) -> dict:
    """What scenario 1 changed, as seen from one device."""
    decks = {d.name for d in col.decks.all_names_and_ids()}
    basic = col.models.by_name("Basic")
    conf1 = col.decks.get_config(1)
    created = col.decks.by_name("Created A")
    return {
        "note_count": col.note_count(),
        "card_count": col.card_count(),
        "revlog_count": col.db.scalar("select count() from revlog"),
        "notes_added_on_A": sorted(
            col.db.list("select flds from notes where flds like 'added A %' order by flds")
        ),
        "decks": decks,
        "default_conf": (conf1["new"]["perDay"], conf1["rev"]["perDay"]),
        "created_deck_conf": created and col.decks.get_config(created["conf"])["name"],
        "basic_qfmt": basic["tmpls"][0]["qfmt"],
        "basic_css_marker": ".edited-on-a" in basic["css"],
        "note_tags": clients.snapshot(col)["note_tags"],
        "vocab_notes": _note_ids_with_tag(col, "vocab"),
        "bulk_tag_notes": _note_ids_with_tag(col, "bulk_tag"),
    }


def test_changes_of_every_kind_travel_from_A_to_B_by_normal_sync(server, devices):
    a, auth_a, b, auth_b = _pair(server, devices, prepare=_add_doomed_deck)
    assert not a.schema_changed()
    notes_before = a.note_count()
    revlog_before = a.db.scalar("select count() from revlog")
    geo_notes = sorted(a.find_notes('"deck:Geography A"'))
    edited, deleted, tagged = geo_notes[0], geo_notes[1], geo_notes[2]
    doomed_cards = a.db.list("select id from cards where did = ?", a.decks.id("Doomed"))
    assert len(doomed_cards) == 2

    # Notes: add (three notetypes), edit fields and tags, delete.
    clients.add_note(a, "Basic", ["added A basic", "b"], "Default", tags=["new_on_a"])
    clients.add_note(a, "Basic (and reversed card)", ["added A reversed", "r"], "Lang::Spanish")
    clients.add_note(a, "Cloze", ["added A {{c1::cloze}} {{c2::two}}", ""], "Lang")
    note = a.get_note(edited)
    note.fields[0] = "A: edited front"
    note.fields[1] = "edited back <i>x</i>"
    note.add_tag("edited_tag")
    note.remove_tag("basic")
    a.update_note(note)
    a.remove_notes([deleted])
    # Reviews (revlog rows, card scheduling).
    answered = clients.answer_cards(a, "Lang::Spanish", [3, 4, 2])
    # Decks: create, rename, delete with its cards.
    created = a.decks.id("Created A")
    a.decks.rename(a.decks.id("Geography A"), "Geography Renamed")
    a.decks.remove([a.decks.id("Doomed")])
    # Deck options: the default preset, a new preset assigned to a deck.
    conf = a.decks.get_config(1)
    conf["new"]["perDay"] = 21
    conf["rev"]["perDay"] = 333
    a.decks.update_config(conf)
    relaxed = a.decks.add_config_returning_id("Relaxed A")
    rconf = a.decks.get_config(relaxed)
    rconf["new"]["perDay"] = 5
    a.decks.update_config(rconf)
    deck = a.decks.get(created)
    deck["conf"] = relaxed
    a.decks.save(deck)
    # Tags through the tag manager.
    a.tags.bulk_add([tagged], "bulk_tag")
    a.tags.remove("vocab")
    # Notetype: template and CSS only (no schema change).
    m = a.models.by_name("Basic")
    m["tmpls"][0]["qfmt"] += "<br>x"
    m["css"] += "\n.edited-on-a { color: red; }\n"
    a.models.update_dict(m)
    assert not a.schema_changed(), "a template/CSS edit must not need a full sync"

    expected = _facts(a)
    assert expected["note_count"] == notes_before + 3 - 1 - 2
    assert expected["revlog_count"] == revlog_before + len(answered)
    assert "Geography Renamed" in expected["decks"] and "Doomed" not in expected["decks"]
    assert expected["vocab_notes"] == [] and expected["bulk_tag_notes"] == [tagged]

    clients.sync_normal(a, auth_a, "A sends its changes")
    assert _facts(a) == expected, "A's own changes did not survive its sync"
    clients.sync_normal(b, auth_b, "B receives A's changes")
    assert _facts(b) == expected
    assert b.db.scalar("select count() from notes where id = ?", deleted) == 0
    assert b.db.scalar(f"select count() from cards where id in ({','.join(map(str, doomed_cards))})") == 0
    assert _note_fields(b, edited) == "A: edited front\x1fedited back <i>x</i>"
    assert set(b.get_note(edited).tags) == {"geo_A", "edited_tag"}
    # Removing a tag from the tag list is not synced (tags have no graves):
    # B still lists "vocab", though no note carries it any more.
    assert "vocab" not in a.tags.all()
    assert set(b.tags.all()) == set(a.tags.all()) | {"vocab"}
    assert {"bulk_tag", "edited_tag", "new_on_a"} <= set(b.tags.all())
    clients.assert_collections_equal(a, b, what="A and B after A's changes synced", tag_registry=False)
    # Nothing left over: both sides agree there is nothing to do.
    clients.sync_expect(a, auth_a, NO_CHANGES)
    clients.sync_expect(b, auth_b, NO_CHANGES)


# ---------------------------------------------------------------- scenario 2


def test_different_changes_on_both_devices_merge_with_normal_syncs(server, devices):
    a, auth_a, b, auth_b = _pair(server, devices)
    nid_x = sorted(a.find_notes('"deck:Geography A"'))[0]
    # A edits note X.
    note = a.get_note(nid_x)
    note.fields[1] = "changed on A"
    a.update_note(note)
    # B answers a card Y, adds a note and changes a deck's description.
    revlog_b = b.db.scalar("select count() from revlog")
    [card_y] = clients.answer_cards(b, "Lang", [3])
    reps_y = b.db.scalar("select reps from cards where id = ?", card_y)
    nid_b = clients.add_note(b, "Basic", ["added on B", "merge"], "Lang::Spanish", tags=["from_b"])
    deck = b.decks.by_name("Lang")
    deck["desc"] = "described on B"
    b.decks.save(deck)

    clients.sync_normal(a, auth_a, "A (1st)")
    clients.sync_normal(b, auth_b, "B")
    clients.sync_normal(a, auth_a, "A (2nd)")

    clients.assert_collections_equal(a, b, what="A and B after A, B, A syncs")
    for col in (a, b):
        assert _note_fields(col, nid_x).endswith("\x1fchanged on A")
        assert col.db.scalar("select reps from cards where id = ?", card_y) == reps_y
        assert col.db.scalar("select count() from revlog") == revlog_b + 1
        assert _note_fields(col, nid_b) == "added on B\x1fmerge"
        assert col.decks.by_name("Lang")["desc"] == "described on B"
        assert "from_b" in col.tags.all()
    clients.sync_expect(a, auth_a, NO_CHANGES)
    clients.sync_expect(b, auth_b, NO_CHANGES)


# ---------------------------------------------------------------- scenario 3


@pytest.mark.parametrize("first", ["earlier_editor_syncs_first", "later_editor_syncs_first"])
def test_both_devices_edit_one_note_and_the_later_edit_wins_everywhere(server, devices, first):
    a, auth_a, b, auth_b = _pair(server, devices)
    nid = sorted(a.find_notes('"deck:Geography A"'))[0]

    note = a.get_note(nid)
    note.fields[1] = "earlier edit on A"
    a.update_note(note)
    mod_a = a.db.scalar("select mod from notes where id = ?", nid)
    time.sleep(1.05)  # note mtimes are whole seconds
    note = b.get_note(nid)
    note.fields[1] = "later edit on B"
    b.update_note(note)
    mod_b = b.db.scalar("select mod from notes where id = ?", nid)
    assert mod_b > mod_a

    order = [(a, auth_a, "A"), (b, auth_b, "B")]
    if first == "later_editor_syncs_first":
        order.reverse()
    (c1, k1, n1), (c2, k2, n2) = order
    clients.sync_normal(c1, k1, n1)
    clients.sync_normal(c2, k2, n2)
    clients.sync_normal(c1, k1, n1 + " (again)")

    for col in (a, b):
        assert _note_fields(col, nid).endswith("\x1flater edit on B")
        assert col.db.scalar("select mod from notes where id = ?", nid) == mod_b
    clients.assert_collections_equal(a, b, what="A and B after the conflicting edits synced")


# ---------------------------------------------------------------- scenario 4


def test_schema_change_asks_for_a_full_sync_and_changes_nothing_on_the_server(server, devices):
    a, auth_a, b, auth_b = _pair(server, devices)
    # A normal change first, synced, so that the server's state is not the upload's.
    clients.add_note(a, "Basic", ["before the schema change", "s"], "Default")
    clients.sync_normal(a, auth_a)
    clients.sync_normal(b, auth_b)
    clients.assert_collections_equal(a, b)

    mm = a.models
    m = mm.by_name("Basic")
    mm.add_field(m, mm.new_field("Extra"))
    mm.update_dict(m)
    assert a.schema_changed()
    clients.add_note(a, "Basic", ["after the schema change", "s", "extra"], "Default")

    got = clients.sync(a, auth_a)
    assert got in (FULL_SYNC, FULL_UPLOAD), f"sync after a schema change returned {clients.required_name(got)}"
    # Asking again does not change the answer, and still nothing was sent.
    got = clients.sync(a, auth_a)
    assert got in (FULL_SYNC, FULL_UPLOAD), clients.required_name(got)

    # The server still holds exactly what B has: B has nothing to do...
    clients.sync_expect(b, auth_b, NO_CHANGES)
    # ...and a new device downloads B's collection (no Extra field, no new note).
    c = clients.fresh_download(devices, "C", server.endpoint, "user1", PASSWORD)
    clients.assert_collections_equal(b, c, what="B and a fresh download after A's schema change")
    assert [f["name"] for f in c.models.by_name("Basic")["flds"]] == ["Front", "Back"]
    assert c.db.scalar("select count() from notes where flds like 'after the schema change%'") == 0

    # Completing the full sync works: A uploads, the others must then take it.
    clients.full_upload(a, auth_a)
    clients.sync_expect(a, auth_a, NO_CHANGES)
    got = clients.sync(b, auth_b)
    assert got in (FULL_SYNC, FULL_DOWNLOAD), clients.required_name(got)
    clients.full_download(b, auth_b)
    clients.sync_expect(b, auth_b, NO_CHANGES)
    clients.assert_collections_equal(a, b, what="A and B after A's full upload")


# ---------------------------------------------------------------- scenario 5


def test_a_thousand_new_notes_and_their_edits_travel_in_many_chunks(server, devices):
    a, auth_a, b, auth_b = _pair(server, devices)
    base_notes = a.note_count()
    m = a.models.by_name("Basic")
    did = a.decks.id("Thousand")
    requests = []
    for i in range(1000):
        n = a.new_note(m)
        n.fields[0] = f"thousand {i:04d}"
        n.fields[1] = f"back {i}"
        requests.append(AddNoteRequest(note=n, deck_id=did))
    a.add_notes(requests)
    new_nids = sorted(a.find_notes('"deck:Thousand"'))
    assert len(new_nids) == 1000
    # 1000 notes + 1000 cards go up in applyChunk calls of at most 250 rows...
    sent = server.count_requests("/sync/applyChunk")
    clients.sync_normal(a, auth_a, "A sends 1000 notes")
    assert server.count_requests("/sync/applyChunk") - sent >= 8
    # ...and come down to B in chunk answers of at most 250 rows.
    received = server.count_requests("/sync/chunk")
    clients.sync_normal(b, auth_b, "B receives 1000 notes")
    assert server.count_requests("/sync/chunk") - received >= 8
    assert b.note_count() == base_notes + 1000
    assert sorted(b.find_notes('"deck:Thousand"')) == new_nids
    clients.assert_collections_equal(a, b, what="A and B after 1000 notes")

    # The way back: B changes all of them (tags and fields), A receives them.
    b.tags.bulk_add(new_nids, "touched_on_b")
    b.find_and_replace(note_ids=new_nids, search="back ", replacement="B back ", field_name="Back")
    sent = server.count_requests("/sync/applyChunk")
    clients.sync_normal(b, auth_b, "B sends 1000 edits")
    assert server.count_requests("/sync/applyChunk") - sent >= 4
    received = server.count_requests("/sync/chunk")
    clients.sync_normal(a, auth_a, "A receives 1000 edits")
    assert server.count_requests("/sync/chunk") - received >= 4
    assert len(a.find_notes("tag:touched_on_b")) == 1000
    assert a.db.scalar("select count() from notes where flds like '%' || char(31) || 'B back %'") == 1000
    clients.assert_collections_equal(a, b, what="A and B after 1000 edits")

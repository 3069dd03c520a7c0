"""The AnkiConnect API against the real client.

Oracle: notes added through kioku's API and synced into a real client have
the same fields, tags, sort field, checksum and cards (ords, decks, due
positions) as the same notes added by the client itself (`col.add_note`)
in an identical twin of the collection. Round trip: API edits reach the
client with a normal (never a full) sync, media through media sync. Load:
four tools writing at once while the client syncs lose nothing."""

from __future__ import annotations

import base64
import os
import threading
import time
import unicodedata
from pathlib import Path

import clients
import mediaclient
from ankiconnect import Api, ApiError, make_key
from conftest import USERS

NFD_CAFE = unicodedata.normalize("NFD", "café résumé")


def _prepare(col):
    """Note types, decks and options the cases need, made by the client."""
    mm = col.models
    cond = mm.copy(mm.by_name("Basic"), add=False)
    cond["name"] = "Conditional"
    mm.add_field(cond, mm.new_field("Extra"))
    cond["tmpls"][0]["qfmt"] = "{{#Extra}}{{Front}}{{/Extra}}"
    for name, qfmt in [
        ("Negated", "{{^Extra}}{{Back}}{{/Extra}}"),
        ("Deck", "{{Deck}}"),
        ("Comment", "<!-- {{Back}} --> {{Extra}}"),
        ("Static", "{{#Front}}static{{/Front}}{{^Front}}{{Extra}}{{/Front}}"),
        ("Tags", "{{#Tags}}{{Tags}}{{/Tags}}"),
    ]:
        t = mm.new_template(name)
        t["qfmt"] = qfmt
        t["afmt"] = "{{FrontSide}}"
        mm.add_template(cond, t)
    mm.add(cond)

    backfirst = mm.copy(mm.by_name("Basic"), add=False)
    backfirst["name"] = "BackFirst"
    backfirst["flds"][0]["name"] = "Answer"
    backfirst["flds"][1]["name"] = "Question"
    backfirst["tmpls"][0]["qfmt"] = "{{Question}}"
    backfirst["tmpls"][0]["afmt"] = "{{FrontSide}}<hr>{{Answer}}"
    backfirst["sortf"] = 1
    mm.add(backfirst)

    cloze2 = mm.copy(mm.by_name("Cloze"), add=False)
    cloze2["name"] = "Cloze2"
    mm.add_field(cloze2, mm.new_field("Other"))
    cloze2["tmpls"][0]["qfmt"] = "{{cloze:Text}}{{cloze:Other}}"
    mm.add(cloze2)

    override_did = col.decks.id("Overridden")
    over = mm.copy(mm.by_name("Basic (and reversed card)"), add=False)
    over["name"] = "Override"
    over["tmpls"][1]["did"] = override_did
    mm.add(over)

    col.decks.id("Lang::Spanish")
    rand = col.decks.id("Random")
    conf_id = col.decks.add_config_returning_id("Random order")
    conf = col.decks.get_config(conf_id)
    conf["new"]["order"] = 0  # random insertion
    col.decks.update_config(conf)
    deck = col.decks.get(rand)
    deck["conf"] = conf_id
    col.decks.save(deck)
    clients.add_note(col, "Basic", ["existing", "note"], "Default")


#: (note type, deck, fields by name, tags)
CASES = [
    ("Basic", "Default", {"Front": "dog", "Back": "Hund"}, ["animals"]),
    ("Basic", "Lang::Spanish", {"front": "perro", "BACK": "dog"}, ["b A a", "zeta ä Über C::e c::D"]),
    ("Basic", "Default", {"Front": '<b>Hello</b>&nbsp;World <img src="cat.jpg"> [sound:a.mp3]', "Back": "x"}, []),
    ("Basic", "Default", {"Front": "0012", "Back": "numeric sort field"}, []),
    ("Basic", "Default", {"Front": NFD_CAFE, "Back": "n\u0303"}, [NFD_CAFE]),
    ("Basic", "Default", {"Front": "Tom & Jerry &amp; <div>x</div>", "Back": "a\r\nb\x01c"}, []),
    ("Basic (and reversed card)", "Lang::Spanish", {"Front": "gato", "Back": "cat"}, []),
    ("Basic (and reversed card)", "Default", {"Front": "front only", "Back": "<br>"}, []),
    ("Basic (optional reversed card)", "Default", {"Front": "no reverse", "Back": "b"}, []),
    ("Basic (optional reversed card)", "Default", {"Front": "reverse", "Back": "b", "Add Reverse": "y"}, []),
    ("Basic (type in the answer)", "Default", {"Front": "type", "Back": "answer"}, []),
    ("Cloze", "Default", {"Text": "{{c1::Madrid}} is in {{c2::Spain}}", "Back Extra": "{{c3::extra}}"}, []),
    ("Cloze", "Default", {"Text": "{{c2,4::x}} {{c1::a {{c5::nested}} b}} {{c7::unclosed", "Back Extra": ""}, []),
    ("Cloze", "Default", {"Text": "{{c500::a}} {{c600::b}} {{c0::z}}", "Back Extra": ""}, []),
    ("Cloze", "Random", {"Text": "{{c1::random}} order", "Back Extra": ""}, []),
    ("Cloze2", "Default", {"Text": "{{c1::a}}", "Other": "{{c2::b}}", "Back Extra": "{{c9::c}}"}, []),
    ("Conditional", "Default", {"Front": "f", "Back": "b", "Extra": "e"}, []),
    ("Conditional", "Default", {"Front": "f", "Back": "b", "Extra": ""}, ["tagged"]),
    ("Conditional", "Default", {"Front": "f", "Back": "", "Extra": "<br/>"}, []),
    ("BackFirst", "Default", {"Answer": "the answer", "Question": ""}, []),
    ("BackFirst", "Default", {"Answer": "a2", "Question": "q2"}, []),
    ("Override", "Default", {"Front": "override", "Back": "to the other deck"}, []),
    ("Basic", "Random", {"Front": "random 1", "Back": "x"}, []),
    ("Basic (and reversed card)", "Random", {"Front": "random 2", "Back": "y"}, []),
]


def _client_add(col, model, deck, fields, tags):
    m = col.models.by_name(model)
    n = col.new_note(m)
    names = [f["name"] for f in m["flds"]]
    for key, value in fields.items():
        n.fields[[x.lower() for x in names].index(key.lower())] = value
    for t in tags:
        n.tags.append(t)
    col.add_note(n, col.decks.id(deck, create=False))
    return n.id


def _shape(col, nid):
    db = col.db
    flds, sfld, csum, tags, mid = db.first("select flds, sfld, csum, tags, mid from notes where id = ?", nid)
    cards = sorted(
        (ord_, col.decks.name(did), due, type_, queue, data)
        for ord_, did, due, type_, queue, data in db.all(
            "select ord, did, due, type, queue, data from cards where nid = ?", nid
        )
    )
    return {"flds": flds, "sfld": sfld, "csum": csum, "tags": tags, "mid": mid, "cards": cards}


def test_notes_added_through_the_api_are_the_notes_the_client_adds(server, devices, tmp_path):
    a = devices.new("A")
    _prepare(a)
    auth = clients.login(a, server.endpoint, "user1", USERS["user1"])
    clients.upload_new(a, auth)
    twin_dir = tmp_path / "devices" / "twin"
    twin_dir.mkdir(parents=True)
    clients.checkpointed_copy(a, twin_dir / "collection.anki2")
    twin = clients.open_collection(twin_dir)
    devices.cols.append(twin)
    before = set(a.db.list("select id from notes"))

    api = Api(server, make_key(server, "user1"))
    api_ids = []
    for model, deck, fields, tags in CASES:
        note = {
            "deckName": deck,
            "modelName": model,
            "fields": fields,
            "tags": tags,
            # deck scope: AnkiConnect then skips Anki's own fields check,
            # which refuses e.g. a cloze in "Back Extra"
            "options": {"allowDuplicate": True, "duplicateScope": "deck"},
        }
        api_ids.append(api.call("addNote", note=note))
        _client_add(twin, model, deck, fields, tags)
    clients.sync_normal(a, auth, "the client's sync after the API added notes")

    twin_ids = sorted(set(twin.db.list("select id from notes")) - before)
    assert sorted(set(a.db.list("select id from notes")) - before) == sorted(api_ids)
    assert len(twin_ids) == len(api_ids) == len(CASES)
    mismatches = []
    for case, api_id, twin_id in zip(CASES, api_ids, twin_ids):
        got, want = _shape(a, api_id), _shape(twin, twin_id)
        if got != want:
            mismatches.append(f"{case}:\n  kioku: {got}\n  anki:  {want}")
    assert not mismatches, "\n".join(mismatches)
    # The positions continue where the client's do.
    assert a.get_config("nextPos") == twin.get_config("nextPos")


def test_a_round_trip_of_edits_reaches_the_client_with_a_normal_sync(server, devices):
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", USERS["user1"])
    clients.upload_new(a, auth)
    api = Api(server, make_key(server, "user1"))

    keep = api.call(
        "addNote",
        note={"deckName": "Default", "modelName": "Basic (optional reversed card)",
              "fields": {"Front": "kept", "Back": "b"}, "tags": ["api"]},
    )
    gone = api.call(
        "addNote", note={"deckName": "Default", "modelName": "Basic", "fields": {"Front": "gone", "Back": "x"}}
    )
    clients.sync_normal(a, auth, "first sync after adding")
    assert a.get_note(keep)["Front"] == "kept" and a.get_note(gone)

    # Edit: a field that makes the reverse card required, tags, deck, suspend, delete.
    assert api.call("updateNoteFields", note={"id": keep, "fields": {"Add Reverse": "y", "Back": "b2"}}) is None
    api.call("addTags", notes=[keep], tags="tagged other::Child")
    api.call("removeTags", notes=[keep], tags="api")
    cards = api.call("findCards", query=f"nid:{keep}")
    assert len(cards) == 2
    api.call("changeDeck", cards=cards, deck="Moved::Here")
    assert api.call("suspend", cards=[cards[0]]) is True
    assert api.call("suspend", cards=[cards[0]]) is False
    api.call("deleteNotes", notes=[gone])
    # A client-side change in between must merge, not force a full sync.
    a_note = a.get_note(a.db.list("select id from notes order by id")[0])
    a_note.fields[1] = "edited on the device"
    a.update_note(a_note)

    clients.sync_normal(a, auth, "sync after the API's edits")
    note = a.get_note(keep)
    assert note["Back"] == "b2" and note["Add Reverse"] == "y"
    assert sorted(note.tags) == ["other::Child", "tagged"]
    assert a.db.scalar("select count() from notes where id = ?", gone) == 0
    assert a.db.scalar("select count() from cards where nid = ?", gone) == 0
    decks = {a.decks.name(c.did) for c in note.cards()}
    assert decks == {"Moved::Here"}
    assert sorted(c.ord for c in note.cards()) == [0, 1]
    assert a.get_card(cards[0]).queue == -1
    # ... and the box sees the device's edit.
    info = api.call("notesInfo", notes=[a_note.id])
    assert info[0]["fields"]["Back"]["value"] == "edited on the device"

    # Media stored through the API arrives with the media sync.
    data = os.urandom(3000)
    name = api.call("storeMediaFile", filename="Kioku API.png", data=base64.b64encode(data).decode())
    assert name == "kioku api.png"  # Anki's rule: lowercase unless the exact name holds the file
    api.call("updateNoteFields", note={"id": keep, "fields": {"Back": f'<img src="{name}">'}})
    clients.sync_normal(a, auth, "sync after storing media")
    mediaclient.sync_media(a, auth)
    assert (Path(a.media.dir()) / name).read_bytes() == data
    assert api.call("retrieveMediaFile", filename=name) == base64.b64encode(data).decode()
    api.call("deleteMediaFile", filename=name)
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, auth)
    assert not (Path(a.media.dir()) / name).exists()


def test_four_tools_writing_for_ten_seconds_while_the_client_syncs_lose_nothing(server, devices):
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", USERS["user1"])
    clients.upload_new(a, auth)
    key = make_key(server, "user1")
    start_notes = a.db.scalar("select count() from notes")
    added: list[list[int]] = [[] for _ in range(4)]
    errors: list[str] = []
    stop = time.monotonic() + 10

    def tool(i: int):
        api = Api(server, key)
        n = 0
        while time.monotonic() < stop and n < 2000:
            n += 1
            try:
                added[i].append(
                    api.call(
                        "addNote",
                        note={"deckName": "Default", "modelName": "Basic",
                              "fields": {"Front": f"tool {i} note {n}", "Back": "x"}, "tags": [f"tool{i}"]},
                    )
                )
            except (ApiError, AssertionError) as e:
                errors.append(str(e))
                return

    threads = [threading.Thread(target=tool, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    syncs = 0
    while any(t.is_alive() for t in threads) and syncs < 2000:
        clients.sync_normal(a, auth, f"sync {syncs} during the writes")
        syncs += 1
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a writer did not finish"
    assert not errors, errors[:3]
    clients.sync_normal(a, auth, "the last sync")
    ids = [i for tool_ids in added for i in tool_ids]
    assert len(ids) == len(set(ids))
    assert all(len(x) > 0 for x in added), [len(x) for x in added]
    assert a.db.scalar("select count() from notes") == start_notes + len(ids)
    missing = set(ids) - set(a.db.list("select id from notes"))
    assert not missing, f"{len(missing)} notes never reached the client"
    print(f"\n4 tools added {len(ids)} notes in 10 s while the client synced {syncs} times")

"""Normal sync under stress: server restarts, abandoned and concurrent
sessions, malformed requests in the middle of a sync.

Raw sessions (rawsync.Session) speak the protocol as the client would
(docs/sync-protocol.md §5.4, §6): meta, start, applyGraves, applyChanges,
chunk, applyChunk, sanityCheck2, finish.
"""

import copy
import itertools
import random
import string
import time

import pytest

import clients
import rawsync
from clients import NO_CHANGES, SyncError
from conftest import USERS

PASSWORD = USERS["user1"]
#: session idle timeout given to kioku in these tests (the official server has none)
SESSION_TIMEOUT_SECS = 2
ONLY_ONE_COPY = "only one copy of anki can sync"
_unique = itertools.count(1)


def _short_timeout_server(servers):
    return servers.new("kioku", extra_env={"KIOKU_SYNC_SESSION_TIMEOUT_SECS": str(SESSION_TIMEOUT_SECS)})


def _pair(server, devices):
    return clients.uploaded_and_downloaded(devices, server.endpoint, "user1", PASSWORD)


def _new_deck_json(col, name: str, usn: int) -> dict:
    """A deck as the client sends it in applyChanges (legacy JSON), new id."""
    deck = copy.deepcopy(col.decks.get(1))
    now = time.time()
    deck.update(id=int(now * 1000) + next(_unique), name=name, mod=int(now), usn=usn, desc="from a raw session")
    return deck


def _note_row(col, *, nid=None, mid=None, usn=0, fields=("raw front", "raw back")) -> list:
    """A note row as sent in applyChunk: [id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data]."""
    now = time.time()
    guid = "".join(random.choices(string.ascii_letters + string.digits, k=10))
    mid = mid if mid is not None else col.models.by_name("Basic")["id"]
    return [nid or int(now * 1000) + next(_unique), guid, mid, int(now), usn, " raw ", "\x1f".join(fields), "", "", 0, ""]


def _expect_sync_conflict(col, auth):
    with pytest.raises(SyncError) as e:
        clients.sync(col, auth)
    assert ONLY_ONE_COPY in str(e.value).lower(), f"expected the 409 message, got: {e.value}"


def _abandon_a_sync(server, a, auth_a) -> tuple[int, str]:
    """A raw client starts a sync, deletes note X, adds a deck, and dies."""
    nid = sorted(a.find_notes('"deck:Geography A"'))[0]
    cids = a.db.list("select id from cards where nid = ?", nid)
    s = rawsync.Session(server.endpoint, auth_a.hkey, "killed")
    meta = s.meta()
    r = s.start(meta["usn"], lnewer=True)
    assert r.json() == {"cards": [], "decks": [], "notes": []}
    assert s.apply_graves(cards=cids, notes=[nid]).json() is None
    conf = a.all_config()
    crt = a.db.scalar("select crt from col")
    r = s.apply_changes(decks=[_new_deck_json(a, "Abandoned Deck", meta["usn"])], conf=conf, crt=crt)
    assert r.status == 200, f"HTTP {r.status}: {r.raw_body[:200]!r}"
    # ...and nothing more: no chunk, no sanityCheck2, no finish, no abort.
    return nid, "Abandoned Deck"


# ---------------------------------------------------------------- scenario 6


def test_a_server_restart_between_every_step_loses_nothing(server, devices):
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth_a = clients.login(a, server.endpoint, "user1", PASSWORD)
    clients.upload_new(a, auth_a)
    server.restart()
    b = devices.new("B")
    auth_b = clients.make_auth(auth_a.hkey, server.endpoint)
    clients.download_new(b, auth_b)
    server.restart()

    nid_a = clients.add_note(a, "Basic", ["A after restart", "a"], "Default", tags=["from_a"])
    note = a.get_note(sorted(a.find_notes('"deck:Geography A"'))[0])
    note.fields[1] = "edited on A"
    a.update_note(note)
    clients.answer_cards(a, "Lang", [3])
    a.decks.id("Deck A")
    clients.sync_normal(a, auth_a, "A sends")
    server.restart()
    clients.sync_normal(b, auth_b, "B receives")
    clients.assert_collections_equal(a, b, what="A and B after A's changes")
    server.restart()

    nid_b = clients.add_note(b, "Cloze", ["B {{c1::after}} restart", ""], "Lang", tags=["from_b"])
    b.remove_notes([nid_a])
    clients.answer_cards(b, "Lang::Spanish", [4])
    conf = b.decks.get_config(1)
    conf["rev"]["perDay"] = 444
    b.decks.update_config(conf)
    clients.sync_normal(b, auth_b, "B sends")
    server.restart()
    clients.sync_normal(a, auth_a, "A receives")

    clients.assert_collections_equal(a, b, what="A and B after restarts between every step")
    assert a.db.scalar("select count() from notes where id = ?", nid_a) == 0
    assert a.db.scalar("select count() from notes where id = ?", nid_b) == 1
    assert a.decks.get_config(1)["rev"]["perDay"] == 444
    assert a.decks.by_name("Deck A") is not None
    server.restart()
    clients.sync_expect(a, auth_a, NO_CHANGES)
    clients.sync_expect(b, auth_b, NO_CHANGES)


# ---------------------------------------------------------------- scenario 7


def test_a_sync_abandoned_mid_way_changes_nothing_and_the_next_sync_works(servers, devices):
    server = _short_timeout_server(servers)
    a, auth_a, b, auth_b = _pair(server, devices)
    nid, deck_name = _abandon_a_sync(server, a, auth_a)

    # kioku rolls the abandoned sync back once it has been idle for the
    # timeout (the official server when the next device calls meta).
    time.sleep(SESSION_TIMEOUT_SECS + 1)
    added = clients.add_note(a, "Basic", ["after the abandoned sync", "a"], "Default")
    clients.sync_normal(a, auth_a, "A after the abandoned sync")
    clients.sync_normal(b, auth_b, "B after the abandoned sync")
    clients.assert_collections_equal(a, b, what="A and B after the abandoned sync")
    c = clients.fresh_download(devices, "C", server.endpoint, "user1", PASSWORD)
    clients.assert_collections_equal(a, c, what="A and a fresh download after the abandoned sync")
    for col in (a, b, c):
        assert col.db.scalar("select count() from notes where id = ?", nid) == 1, "the abandoned grave was applied"
        assert col.db.scalar("select count() from cards where nid = ?", nid) > 0
        assert col.decks.by_name(deck_name) is None, "the abandoned deck was kept"
        assert col.db.scalar("select count() from notes where id = ?", added) == 1


@pytest.mark.kioku_only
def test_an_abandoned_sync_blocks_others_until_it_times_out(servers, devices):
    """kioku keeps an abandoned session until it has been idle for
    KIOKU_SYNC_SESSION_TIMEOUT_SECS and meanwhile answers another session's
    `start` with 409; the official server aborts it on the next `meta`."""
    server = _short_timeout_server(servers)
    a, auth_a, b, auth_b = _pair(server, devices)
    before = clients.snapshot(b)
    nid, deck_name = _abandon_a_sync(server, a, auth_a)
    abandoned_at = time.monotonic()

    # B has a change, so its sync goes past meta to start: 409.
    clients.add_note(b, "Basic", ["B while A's sync hangs", "b"], "Default")
    _expect_sync_conflict(b, auth_b)
    assert time.monotonic() - abandoned_at < SESSION_TIMEOUT_SECS, "test too slow to see the 409 window"
    # B's failed sync left B as it was apart from its own new note.
    assert b.db.scalar("select count() from notes where flds like 'B while%'") == 1

    time.sleep(max(0.0, SESSION_TIMEOUT_SECS + 0.5 - (time.monotonic() - abandoned_at)))
    clients.sync_normal(b, auth_b, "B after the timeout")
    clients.sync_normal(a, auth_a, "A after the timeout")
    clients.assert_collections_equal(a, b, what="A and B after the timeout")
    for col in (a, b):
        assert col.db.scalar("select count() from notes where id = ?", nid) == 1
        assert col.decks.by_name(deck_name) is None
    c = clients.fresh_download(devices, "C", server.endpoint, "user1", PASSWORD)
    clients.assert_collections_equal(b, c, what="B and a fresh download")
    assert len(before["notes"]) + 1 == len(clients.snapshot(c)["notes"])


# ---------------------------------------------------------------- scenario 8


@pytest.mark.kioku_only
def test_a_sync_in_progress_keeps_its_session_against_other_devices(server, devices):
    """While a raw session S1 is mid-sync: a real client's sync fails with 409,
    an `abort` with another session key does not end S1, and S1 then
    finishes and its change reaches the devices."""
    a, auth_a, b, auth_b = _pair(server, devices)
    s1 = rawsync.Session(server.endpoint, auth_a.hkey, "session-one")
    meta = s1.meta()
    assert s1.start(meta["usn"], lnewer=False).json() == {"cards": [], "decks": [], "notes": []}
    deck = _new_deck_json(a, "Deck from S1", meta["usn"])
    theirs = s1.apply_changes(decks=[deck]).json()
    assert theirs["models"] == [] and theirs["decks"] == [[], []] and theirs["tags"] == []
    assert s1.chunks_until_done() == [{"done": True}]

    # Another device (with a change, so that it gets past meta) is refused.
    clients.add_note(b, "Basic", ["B during S1", "b"], "Default")
    _expect_sync_conflict(b, auth_b)
    # abort from another session (the client sends one after its failure;
    # here one more by hand) leaves S1 alone.
    r = rawsync.post(server.endpoint, "abort", auth_a.hkey, session="someone-else")
    assert r.status == 200 and r.json() is None, f"HTTP {r.status}: {r.raw_body[:200]!r}"

    assert s1.apply_chunk(done=True).json() is None
    counts = clients.sanity_counts(a)
    counts[6] += 1  # the deck S1 added
    counts[4] = 0
    check = s1.sanity_check(counts).json()
    assert check["status"] == "ok", check
    finished = s1.finish().json()
    assert isinstance(finished, int) and finished > meta["mod"], finished

    clients.sync_normal(a, auth_a, "A after S1")
    clients.sync_normal(b, auth_b, "B after S1")
    clients.sync_normal(a, auth_a, "A again")
    clients.assert_collections_equal(a, b, what="A and B after S1 finished")
    for col in (a, b):
        got = col.decks.by_name("Deck from S1")
        assert got is not None and got["desc"] == "from a raw session"
        assert col.db.scalar("select count() from notes where flds like 'B during S1%'") == 1


# ---------------------------------------------------------------- scenario 9


def _wrong_arity(a, usn):
    return {"notes": [_note_row(a, usn=usn)[:10]]}


def _string_id(a, usn):
    row = _note_row(a, usn=usn)
    row[0] = "not-a-note-id"
    return {"notes": [row]}


def _unknown_notetype(a, usn):
    return {"notes": [_note_row(a, usn=usn, mid=4242424242)]}


BAD_ROWS = pytest.mark.parametrize(
    "bad_rows",
    [_wrong_arity, _string_id, _unknown_notetype],
    ids=["note-row-with-10-elements", "string-as-note-id", "note-of-unknown-notetype"],
)


def _send_bad_chunk(server, a, auth_a, bad_rows) -> rawsync.Session:
    """A raw sync that adds a deck, then sends a chunk with a good note and a bad row: 400."""
    s = rawsync.Session(server.endpoint, auth_a.hkey, "malformed")
    meta = s.meta()
    usn = meta["usn"]
    assert s.start(usn, lnewer=False).status == 200
    assert s.apply_changes(decks=[_new_deck_json(a, "Deck before the bad chunk", usn)]).status == 200
    s.chunks_until_done()
    # A good note first, then the bad row(s): nothing of it may stay.
    good = _note_row(a, usn=usn, fields=("good raw note", "kept?"))
    bad = bad_rows(a, usn)
    r = s.apply_chunk(done=True, notes=[good] + bad.get("notes", []), cards=bad.get("cards", []))
    assert r.status == 400, f"applyChunk with a bad row: HTTP {r.status}: {r.raw_body[:300]!r}"
    return s


def _check_unchanged(server, devices, a, auth_a, b, auth_b, before):
    # Nothing changed on the server: A has nothing to do, a fresh device gets A's collection.
    clients.sync_expect(a, auth_a, NO_CHANGES)
    c = clients.fresh_download(devices, "C", server.endpoint, "user1", PASSWORD)
    clients.assert_collections_equal(a, c, what="A and a fresh download after the malformed chunk")
    assert clients.snapshot(a) == before
    assert c.decks.by_name("Deck before the bad chunk") is None
    assert c.db.scalar("select count() from notes where flds like 'good raw note%'") == 0
    # And normal syncing goes on.
    clients.add_note(b, "Basic", ["after the malformed chunk", "b"], "Default")
    clients.sync_normal(b, auth_b)
    clients.sync_normal(a, auth_a)
    clients.assert_collections_equal(a, b)


@BAD_ROWS
def test_malformed_chunk_mid_sync_is_refused_with_400_and_changes_nothing(server, devices, bad_rows):
    a, auth_a, b, auth_b = _pair(server, devices)
    before = clients.snapshot(a)
    s = _send_bad_chunk(server, a, auth_a, bad_rows)
    # The real client sends abort after any error.
    assert s.abort().status == 200
    _check_unchanged(server, devices, a, auth_a, b, auth_b, before)


@pytest.mark.kioku_only
@BAD_ROWS
def test_malformed_chunk_mid_sync_ends_the_session_at_once(server, devices, bad_rows):
    """kioku drops the session on any failing step, parse errors included (the
    official server keeps it when the body does not deserialise)."""
    a, auth_a, b, auth_b = _pair(server, devices)
    before = clients.snapshot(a)
    s = _send_bad_chunk(server, a, auth_a, bad_rows)
    # The session is gone: its next steps are refused as "no sync in progress".
    r = s.apply_chunk(done=True)
    assert r.status == 409, f"applyChunk after the 400: HTTP {r.status}: {r.raw_body[:300]!r}"
    r = s.sanity_check(clients.sanity_counts(a))
    assert r.status == 409, f"sanityCheck2 after the 400: HTTP {r.status}: {r.raw_body[:300]!r}"
    r = s.finish()
    assert r.status == 409, f"finish after the 400: HTTP {r.status}: {r.raw_body[:300]!r}"
    # No abort was sent: the rollback already happened.
    _check_unchanged(server, devices, a, auth_a, b, auth_b, before)

"""Issue 11's search oracle through the AnkiConnect API.

The real client builds the varied search collection (search_collection.py,
variant "main"), logs in to kioku and full-uploads it. Then every query of
search_queries.py is sent over the AnkiConnect HTTP API (`findNotes` and
`findCards`, batched in one `multi`, with a key made by `kioku apikey
create`) and must return exactly what the real client's `col.find_notes` /
`col.find_cards` return on the same (synced) collection, as sets — or an
error reply where the client raises. The queries kioku refuses on purpose
(search_queries.UNSUPPORTED) must get an error naming kioku's limit.
`guiBrowse` must return `findCards`' ids.

One server, one upload, two API requests: a few seconds.
"""

from __future__ import annotations

import pytest

import clients
import search_collection
import search_queries
from ankiconnect import Api, make_key

pytestmark = pytest.mark.kioku_only

MIN_QUERIES = 60


def client_answers(col, queries):
    """query -> {"notes": set | None, "cards": set | None} (None: the client raised)."""
    out = {}
    for q in queries:
        row = {}
        for kind, find in (("notes", col.find_notes), ("cards", col.find_cards)):
            try:
                row[kind] = set(find(q))
            except Exception:  # the client's refusal is the expected answer
                row[kind] = None
        out[q] = row
    return out


def api_answers(api, queries):
    """The same over the API: one `multi` of findNotes + findCards per query."""
    actions = []
    for q in queries:
        for action in ("findNotes", "findCards"):
            actions.append({"action": action, "version": 6, "key": api.key, "params": {"query": q}})
    replies = api.call("multi", actions=actions)
    assert len(replies) == len(actions)
    out = {}
    for i, q in enumerate(queries):
        out[q] = {"notes": replies[2 * i], "cards": replies[2 * i + 1]}
    return out


def compare(client, reply):
    """None when the API reply agrees with the client's answer, else why not."""
    assert set(reply) == {"result", "error"}, reply
    if client is None:
        return None if reply["result"] is None and reply["error"] else f"client raised, kioku {reply}"
    if reply["error"] is not None:
        return f"client {sorted(client)}, kioku error {reply['error']!r}"
    got = reply["result"]
    if len(got) != len(set(got)):
        return f"kioku returned duplicates: {got}"
    return None if set(got) == client else f"client {sorted(client)}, kioku {sorted(got)}"


def test_find_notes_and_cards_over_the_api_match_the_real_client(server, tmp_path):
    device = tmp_path / "device"
    device.mkdir()
    facts = search_collection.build(str(device / "collection.anki2"), "main")
    col = clients.open_collection(device)
    try:
        auth = clients.login(col, server.endpoint, "user1", "pass1")
        clients.upload_new(col, auth)
        api = Api(server, make_key(server, "user1"))
        queries = [search_queries.resolve(q, facts) for q in search_queries.QUERIES]
        queries = list(dict.fromkeys(queries))  # unique, in order
        assert len(queries) >= MIN_QUERIES

        for _attempt in range(2):
            cutoff = col.sched.day_cutoff
            want = client_answers(col, queries)
            got = api_answers(api, queries)
            if col.sched.day_cutoff == cutoff:
                break
        else:
            pytest.fail("the scheduler's day changed twice during the run")

        mismatches = []
        for q in queries:
            for kind in ("notes", "cards"):
                why = compare(want[q][kind], got[q][kind])
                if why:
                    mismatches.append(f"{q!r} {kind}: {why}")
        failed = {m.split(" notes: ")[0].split(" cards: ")[0] for m in mismatches}
        raised = sum(1 for q in queries if want[q]["notes"] is None)
        print(
            f"search over the AnkiConnect API: {len(queries) - len(failed)} of {len(queries)} "
            f"queries agree with the real client ({raised} of them errors on both sides)"
        )
        assert not mismatches, f"{len(failed)} of {len(queries)} queries differ:\n" + "\n".join(mismatches)
        assert raised < len(queries) // 4, "most queries must find something, not fail"

        # Valid Anki syntax kioku refuses on purpose: an error, never a wrong result.
        for q in search_queries.UNSUPPORTED:
            for action in ("findNotes", "findCards"):
                reply = api.raw({"action": action, "version": 6, "key": api.key, "params": {"query": q}}).json()
                assert reply["result"] is None and "kioku" in reply["error"], (q, reply)

        # guiBrowse (Yomitan's "view note") answers findCards' ids.
        for q in ["", "deck:Japanese", "tag:animal", "is:suspended", f"nid:{facts['note_ids']['hello']}"]:
            browsed = api.call("guiBrowse", query=q)
            assert sorted(browsed) == sorted(api.call("findCards", query=q)), q
            assert set(browsed) == set(col.find_cards(q)), q
    finally:
        col.close()

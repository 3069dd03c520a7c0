"""Driving the real Anki client (the `anki` package) in tests.

Everything here goes through `anki.collection.Collection`, i.e. Anki's own
Rust backend, so the requests a server sees are exactly those of Anki
desktop 26.9.3. See docs/real-client.md.
"""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

from anki import sync_pb2
from anki.collection import Collection
from anki.errors import SyncError, SyncErrorKind  # noqa: F401  (re-exported for tests)

SyncAuth = sync_pb2.SyncAuth
ChangesRequired = sync_pb2.SyncCollectionResponse.ChangesRequired
NO_CHANGES = sync_pb2.SyncCollectionResponse.NO_CHANGES
NORMAL_SYNC = sync_pb2.SyncCollectionResponse.NORMAL_SYNC
FULL_SYNC = sync_pb2.SyncCollectionResponse.FULL_SYNC
FULL_DOWNLOAD = sync_pb2.SyncCollectionResponse.FULL_DOWNLOAD
FULL_UPLOAD = sync_pb2.SyncCollectionResponse.FULL_UPLOAD


def required_name(value: int) -> str:
    return ChangesRequired.Name(value)


# ---------------------------------------------------------------- basics


def open_collection(directory: Path) -> Collection:
    """Open (creating it if needed) a client profile's collection in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return Collection(str(directory / "collection.anki2"))


def make_auth(hkey: str, endpoint: str) -> SyncAuth:
    """What the client stores after a login: the host key and the endpoint."""
    return SyncAuth(hkey=hkey, endpoint=endpoint)


def login(col: Collection, endpoint: str, user: str, password: str) -> SyncAuth:
    return col.sync_login(user, password, endpoint)


def sync(col: Collection, auth: SyncAuth) -> int:
    """One collection sync (no media); returns `out.required`."""
    out = col.sync_collection(auth, False)
    return out.required


def full_sync(col: Collection, auth: SyncAuth, *, upload: bool) -> None:
    """Full upload or download in the order Anki desktop uses."""
    col.close_for_full_sync()
    try:
        col.full_upload_or_download(auth=auth, server_usn=None, upload=upload)
    finally:
        col.reopen(after_full_sync=True)


def full_upload(col: Collection, auth: SyncAuth) -> None:
    full_sync(col, auth, upload=True)


def full_download(col: Collection, auth: SyncAuth) -> None:
    full_sync(col, auth, upload=False)


def sync_expect(col: Collection, auth: SyncAuth, expected: int) -> None:
    got = sync(col, auth)
    assert got == expected, f"sync_collection returned {required_name(got)}, expected {required_name(expected)}"


def upload_new(col: Collection, auth: SyncAuth) -> None:
    """First sync of a device with cards against an empty account."""
    sync_expect(col, auth, FULL_UPLOAD)
    full_upload(col, auth)
    sync_expect(col, auth, NO_CHANGES)


def download_new(col: Collection, auth: SyncAuth) -> None:
    """First sync of an empty device against an account with cards."""
    sync_expect(col, auth, FULL_DOWNLOAD)
    full_download(col, auth)
    sync_expect(col, auth, NO_CHANGES)


def checkpointed_copy(col: Collection, dest: Path) -> bytes:
    """Bytes of the collection file as a full upload would send it.

    Closes the collection (which checkpoints the WAL into the main file),
    copies the file, reopens. Returns the bytes and writes them to `dest`.
    """
    path = Path(col.path)
    col.close()
    data = path.read_bytes()
    Path(dest).write_bytes(data)
    col.reopen()
    return data


# ---------------------------------------------------------------- content


def add_note(col: Collection, notetype: str, fields: list[str], deck: str, tags: list[str] = ()) -> int:
    m = col.models.by_name(notetype)
    assert m is not None, f"no notetype {notetype!r}; have {sorted(col.models.all_names())}"
    n = col.new_note(m)
    assert len(n.fields) >= len(fields), f"{notetype} has {len(n.fields)} fields"
    for i, f in enumerate(fields):
        n.fields[i] = f
    for t in tags:
        n.add_tag(t)
    col.add_note(n, col.decks.id(deck))
    return n.id


def fill_device(col: Collection, label: str = "A") -> dict[str, Any]:
    """Fill a client collection with varied content.

    Notes of Basic, Basic (and reversed card) and Cloze (c1+c2), several
    decks including a nested one, tags, a changed default deck option and a
    new deck option preset assigned to a deck, answered cards (scheduling
    fields and revlog rows), a flagged and a suspended card. `label` goes
    into every field and deck name so that two filled collections differ.
    """
    geo = f"Geography {label}"
    spanish = "Lang::Spanish"
    ids: dict[str, Any] = {"notes": []}
    for i, (q, a) in enumerate(
        [("Capital of France", "Paris"), ("Capital of Peru", "Lima"), ("Longest river", "Nile")]
    ):
        ids["notes"].append(
            add_note(col, "Basic", [f"{label}: {q}", f"{a} <b>{i}</b>"], geo, tags=[f"geo_{label}", "basic"])
        )
    for es, en in [("perro", "dog"), ("gato", "cat"), ("árbol", "tree")]:
        ids["notes"].append(
            add_note(col, "Basic (and reversed card)", [f"{es} ({label})", en], spanish, tags=["lang::es", "vocab"])
        )
    ids["notes"].append(
        add_note(
            col,
            "Cloze",
            [f"{label}: {{{{c1::Madrid}}}} is the capital of {{{{c2::Spain}}}}", "extra 😀"],
            "Lang",
            tags=["cloze"],
        )
    )
    ids["notes"].append(
        add_note(col, "Cloze", [f"{label}: H{{{{c1::2}}}}O is {{{{c2::water}}}}", ""], "Default")
    )

    # Deck options: change the default preset, add a preset for a deck.
    conf = col.decks.get_config(1)
    conf["new"]["perDay"] = 37
    col.decks.update_config(conf)
    intense = col.decks.add_config_returning_id(f"Intense {label}")
    iconf = col.decks.get_config(intense)
    iconf["new"]["perDay"] = 99
    iconf["rev"]["perDay"] = 555
    col.decks.update_config(iconf)
    deck = col.decks.by_name(spanish)
    deck["conf"] = intense
    col.decks.save(deck)
    ids["intense_conf"] = intense

    # Answer cards so that cards carry real scheduling state and revlog rows.
    answered = 0
    for deck_name, eases in [(geo, [3, 1, 4]), (spanish, [4, 3, 2, 1])]:
        col.decks.select(col.decks.id(deck_name))
        for ease in eases:
            card = col.sched.getCard()
            assert card is not None, f"no card to answer in {deck_name}"
            col.sched.answerCard(card, ease)
            answered += 1
    assert col.db.scalar("select count() from revlog") == answered

    cids = col.db.list("select id from cards order by id")
    col.set_user_flag_for_cards(3, [cids[0], cids[-1]])
    col.sched.suspend_cards([cids[-2]])
    ids["cards"] = cids
    return ids


def random_text(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choices(alphabet, k=n))


def add_bulk_notes(col: Collection, total_bytes: int, *, seed: int = 1, alphabet: str | None = None) -> None:
    """Add Basic notes with random text until fields hold `total_bytes`."""
    rng = random.Random(seed)
    per_note = 20_000
    alphabet = alphabet or (string.ascii_letters + string.digits)
    for i in range(total_bytes // per_note + 1):
        add_note(col, "Basic", [f"bulk {i} " + random_text(rng, per_note, alphabet), str(i)], "Bulk")


# ---------------------------------------------------------------- comparison


def snapshot(col: Collection) -> dict[str, Any]:
    """Everything a full sync must carry over, in comparable form."""
    db = col.db
    return {
        "notes": db.all("select id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data from notes order by id"),
        "cards": db.all(
            "select id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left, "
            "odue, odid, flags, data from cards order by id"
        ),
        "revlog": db.all("select * from revlog order by id"),
        "decks": sorted(col.decks.all(), key=lambda d: d["id"]),
        "deck_configs": sorted(col.decks.all_config(), key=lambda c: c["id"]),
        "notetypes": sorted(col.models.all(), key=lambda m: m["id"]),
        "tags": sorted(col.tags.all()),
        "crt": db.scalar("select crt from col"),
    }


def _diff(key: str, a: Any, b: Any) -> str:
    if isinstance(a, list) and isinstance(b, list):
        lines = [f"{key}: {len(a)} vs {len(b)} entries"]
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                if isinstance(x, dict) and isinstance(y, dict):
                    keys = sorted(set(x) | set(y))
                    delta = {k: (x.get(k, "<missing>"), y.get(k, "<missing>")) for k in keys if x.get(k) != y.get(k)}
                    lines.append(f"  [{i}] id={x.get('id')} differs: {delta}")
                else:
                    lines.append(f"  [{i}] {x!r}\n   != {y!r}")
                if len(lines) > 8:
                    break
        return "\n".join(lines)
    return f"{key}: {a!r} != {b!r}"


def assert_collections_equal(a: Collection, b: Collection, *, what: str = "collections") -> None:
    sa, sb = snapshot(a), snapshot(b)
    problems = [_diff(k, sa[k], sb[k]) for k in sa if sa[k] != sb[k]]
    assert not problems, f"{what} differ:\n" + "\n".join(problems)


def notetype_shapes(col: Collection) -> dict[str, tuple[list[str], list[str]]]:
    """Notetype name → (field names, template names)."""
    return {
        m["name"]: ([f["name"] for f in m["flds"]], [t["name"] for t in m["tmpls"]])
        for m in col.models.all()
    }


def fresh_download(devices, name: str, endpoint: str, user: str, password: str):
    """A new, empty device logs in and full-downloads the account."""
    col = devices.new(name)
    auth = login(col, endpoint, user, password)
    download_new(col, auth)
    return col

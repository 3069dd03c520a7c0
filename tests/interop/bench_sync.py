"""Sync timing with the real client, for choosing the release profile.

    KIOKU_BIN=<binary or qemu wrapper> <venv>/bin/python tests/interop/bench_sync.py [NOTES]

Device A gets NOTES notes (20,000 by default) and full-uploads them; then A
adds 1,000 notes and edits 1,000 others and sends them by a normal sync, and
a second device B (downloaded before the changes) receives them by a normal
sync. Prints the time of each step in seconds. Not a test (pytest does not
collect it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from anki.collection import AddNoteRequest

import clients
from servers import KiokuServer


def add_notes(col, count: int, deck: str, prefix: str) -> None:
    m = col.models.by_name("Basic")
    did = col.decks.id(deck)
    reqs = []
    for i in range(count):
        n = col.new_note(m)
        n.fields[0] = f"{prefix} {i:06d} " + "front text " * 3
        n.fields[1] = f"back {i} " + "some longer back text " * 5
        reqs.append(AddNoteRequest(note=n, deck_id=did))
    col.add_notes(reqs)


def main() -> None:
    notes = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory(prefix="kioku-bench-") as tmp:
        tmp = Path(tmp)
        srv = KiokuServer(tmp / "base", ["user1:pass1"]).start()
        try:
            a = clients.open_collection(tmp / "A")
            add_notes(a, notes, "Bench", "note")
            auth = clients.login(a, srv.endpoint, "user1", "pass1")
            times = {}
            t = time.monotonic()
            clients.upload_new(a, auth)
            times["full upload"] = time.monotonic() - t
            b = clients.open_collection(tmp / "B")
            t = time.monotonic()
            clients.download_new(b, clients.login(b, srv.endpoint, "user1", "pass1"))
            times["full download"] = time.monotonic() - t
            add_notes(a, 1000, "Bench", "added")
            nids = a.find_notes('"deck:Bench" "note *"')[:1000]
            a.find_and_replace(note_ids=nids, search="back ", replacement="edited ", field_name="Back")
            t = time.monotonic()
            clients.sync_normal(a, auth, "A sends")
            times["normal sync, send 2,000 changes"] = time.monotonic() - t
            t = time.monotonic()
            clients.sync_normal(b, auth, "B receives")
            times["normal sync, receive 2,000 changes"] = time.monotonic() - t
            assert b.note_count() == notes + 1000, b.note_count()
            a.close()
            b.close()
        finally:
            srv.stop()
        for k, v in times.items():
            print(f"{k:40s} {v:7.2f} s")
        print(f"{'total':40s} {sum(times.values()):7.2f} s")


if __name__ == "__main__":
    main()

"""Driving the real client's media sync in tests (see docs/real-client.md):
the sync is a background job, and folder changes are noticed by mtime."""

from __future__ import annotations

from pathlib import Path

from anki.collection import Collection
from clients import SyncAuth


def sync_media(col: Collection, auth: SyncAuth, timeout: float = 300.0) -> float:
    """Runs one media sync to its end (it is a background job in the client)
    and returns how long it took. Raises what the client raised."""
    import time

    started = time.monotonic()
    col.sync_media(auth)
    while col.media_sync_status().active:
        if time.monotonic() - started > timeout:
            col.abort_media_sync()
            raise AssertionError(f"media sync did not finish in {timeout} s")
        time.sleep(0.05)
    col.media_sync_status()  # raises if the job failed
    return time.monotonic() - started


def wait_for_folder_mtime() -> None:
    """The client sees media-folder changes by the folder's mtime in whole
    seconds: changes made within the same second as its last scan are missed."""
    import time

    time.sleep(1.1)


def media_files(directory) -> dict[str, bytes]:
    """Name → bytes of every file in a media folder."""
    return {p.name: p.read_bytes() for p in Path(directory).iterdir() if p.is_file()}


def assert_media_equal(a: Collection, b: Collection, *, what: str = "media folders") -> None:
    fa, fb = media_files(a.media.dir()), media_files(b.media.dir())
    only_a = sorted(set(fa) - set(fb))
    only_b = sorted(set(fb) - set(fa))
    differ = sorted(n for n in set(fa) & set(fb) if fa[n] != fb[n])
    assert not (only_a or only_b or differ), (
        f"{what} differ: only in first {only_a[:5]} ({len(only_a)}), "
        f"only in second {only_b[:5]} ({len(only_b)}), different bytes {differ[:5]}"
    )

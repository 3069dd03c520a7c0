"""Backups with the real client: a full upload keeps the collection it
replaces as a snapshot; `kioku backup restore` (with the server stopped)
brings it back, and the real client then full-downloads exactly that
collection. The CLI refuses to restore while the server runs.
"""

from __future__ import annotations

import subprocess

import pytest

import clients
from clients import FULL_DOWNLOAD, FULL_SYNC, FULL_UPLOAD, NO_CHANGES
from servers import kioku_bin

pytestmark = pytest.mark.kioku_only

PASSWORD = "pass1"


def backup_cli(server, *args: str) -> subprocess.CompletedProcess:
    """`kioku backup …` on the server's data folder (its environment)."""
    return subprocess.run(
        [kioku_bin(), "backup", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def snapshot_names(server, user: str, kind: str) -> list[str]:
    """Names of `user`'s snapshots of `kind`, as `kioku backup list` prints them."""
    out = backup_cli(server, "list", user)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    return [row[1] for row in rows if len(row) > 2 and row[2] == kind]


def differences(expected: dict, got: dict) -> list[str]:
    return [key for key in expected if expected[key] != got[key]]


def full_upload_again(col, auth) -> None:
    """A schema change makes the next sync a full one; upload."""
    col.mod_schema(check=False)
    got = clients.sync(col, auth)
    assert got in (FULL_SYNC, FULL_UPLOAD), clients.required_name(got)
    clients.full_upload(col, auth)
    clients.sync_expect(col, auth, NO_CHANGES)


def test_a_restored_snapshot_is_what_the_real_client_full_downloads(server, devices):
    # A uploads collection X; B downloads it.
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth_a = clients.login(a, server.endpoint, "user1", PASSWORD)
    clients.upload_new(a, auth_a)
    x = clients.snapshot(a)
    b = clients.fresh_download(devices, "B", server.endpoint, "user1", PASSWORD)
    assert not differences(x, clients.snapshot(b))
    assert snapshot_names(server, "user1", "upload") == [], "the new account's empty collection is not kept"

    # A adds notes and full-uploads again: X is kept as a snapshot.
    for i in range(3):
        clients.add_note(a, "Basic", [f"added after X {i}", "y"], "Default")
    full_upload_again(a, auth_a)
    assert a.note_count() == len(x["notes"]) + 3
    [kept] = snapshot_names(server, "user1", "upload")

    server.stop()
    restored = backup_cli(server, "restore", "user1", kept)
    assert restored.returncode == 0, restored.stderr
    assert "choose Download" in restored.stdout
    server.start()
    assert len(snapshot_names(server, "user1", "restore")) == 1, "the replaced collection is kept"

    # A has cards, so the client reports a full sync and leaves the choice to
    # its user (Anki desktop asks Upload / Download); Download brings back X.
    assert clients.sync(a, auth_a) == FULL_SYNC
    clients.full_download(a, auth_a)
    clients.sync_expect(a, auth_a, NO_CHANGES)
    got = clients.snapshot(a)
    assert a.note_count() == len(x["notes"])
    assert not differences(x, got), f"differs from X: {differences(x, got)}"

    # B, which has X and no local changes, is asked too and gets the same.
    assert clients.sync(b, clients.make_auth(auth_a.hkey, server.endpoint)) == FULL_SYNC
    clients.full_download(b, clients.make_auth(auth_a.hkey, server.endpoint))
    assert not differences(x, clients.snapshot(b))

    # A device without cards is sent straight to the download.
    c = devices.new("C")
    auth_c = clients.login(c, server.endpoint, "user1", PASSWORD)
    clients.sync_expect(c, auth_c, FULL_DOWNLOAD)
    clients.full_download(c, auth_c)
    assert not differences(x, clients.snapshot(c))


def test_the_cli_refuses_a_restore_while_the_server_runs(uploaded):
    server, a, auth = uploaded
    clients.add_note(a, "Basic", ["a newer note", "n"], "Default")
    full_upload_again(a, auth)
    [kept] = snapshot_names(server, "user1", "upload")
    collection = server.collection_path("user1")
    before = collection.read_bytes()

    refused = backup_cli(server, "restore", "user1", kept)
    assert refused.returncode == 2, refused
    assert "kioku serve is running" in refused.stderr, refused.stderr
    assert collection.read_bytes() == before
    assert snapshot_names(server, "user1", "restore") == []
    # Nothing happened as far as the client can tell.
    clients.sync_expect(a, auth, NO_CHANGES)

"""Backups with the real client: a full upload keeps the collection it
replaces as a snapshot; a restore brings it back — `kioku backup restore`
with the server stopped, the same command while it runs (through the
control socket), or the admin page's Restore button — and the real client
is then offered a full sync and full-downloads exactly that collection.
"""

from __future__ import annotations

import html
import re
import subprocess

import pytest
import requests

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


def with_a_snapshot(server, devices, after_x=None):
    """Device A uploads X (then `after_x()` runs), then X plus three notes;
    returns (a, auth, X, the name of X's snapshot)."""
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", PASSWORD)
    clients.upload_new(a, auth)
    x = clients.snapshot(a)
    assert snapshot_names(server, "user1", "upload") == [], "the new account's empty collection is not kept"
    if after_x:
        after_x()
    for i in range(3):
        clients.add_note(a, "Basic", [f"added after X {i}", "y"], "Default")
    full_upload_again(a, auth)
    assert a.note_count() == len(x["notes"]) + 3
    [kept] = snapshot_names(server, "user1", "upload")
    return a, auth, x, kept


def test_a_restored_snapshot_is_what_the_real_client_full_downloads(server, devices):
    # A uploads collection X, B downloads it; then A uploads X + 3 notes.
    downloaded = []
    a, auth_a, x, kept = with_a_snapshot(
        server,
        devices,
        lambda: downloaded.append(clients.fresh_download(devices, "B", server.endpoint, "user1", PASSWORD)),
    )
    [b] = downloaded
    assert not differences(x, clients.snapshot(b))

    server.stop()
    restored = backup_cli(server, "restore", "user1", kept)
    assert restored.returncode == 0, restored.stderr
    assert "choose Download" in restored.stdout
    assert "done by the kioku serve" not in restored.stdout
    server.start()
    assert len(snapshot_names(server, "user1", "restore")) == 1, "the replaced collection is kept"

    # A has cards, so the client reports a full sync and leaves the choice to
    # its user (Anki desktop asks Upload / Download); Download brings back X.
    assert_client_gets_back(a, auth_a, x)

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


def assert_client_gets_back(a, auth, x) -> None:
    """After a restore: A (with cards) is offered a full sync; Download brings back X."""
    assert clients.sync(a, auth) == FULL_SYNC
    clients.full_download(a, auth)
    clients.sync_expect(a, auth, NO_CHANGES)
    assert a.note_count() == len(x["notes"])
    got = clients.snapshot(a)
    assert not differences(x, got), f"differs from X: {differences(x, got)}"


def test_the_cli_restores_through_the_running_server(server, devices):
    a, auth, x, kept = with_a_snapshot(server, devices)
    restored = backup_cli(server, "restore", "user1", kept)
    assert restored.returncode == 0, restored.stderr
    assert "done by the kioku serve running" in restored.stdout, restored.stdout
    assert server.running
    assert len(snapshot_names(server, "user1", "restore")) == 1, "the replaced collection is kept"
    assert_client_gets_back(a, auth, x)


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name!r} in the page:\n{page}"
    return html.unescape(m.group(1))


def test_an_admin_page_restore_makes_the_real_client_download_the_snapshot(servers, devices):
    server = servers.new("kioku", extra_env={"KIOKU_NO_TLS": "1"})
    add = subprocess.run(
        [kioku_bin(), "user", "add", "boss", "--admin", "--password-stdin"],
        env=server.env(),
        input="boss password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert add.returncode == 0, add.stderr
    a, auth, x, kept = with_a_snapshot(server, devices)

    web = requests.Session()
    admin = server.endpoint + "admin"
    token = hidden(web.get(admin, timeout=30).text, "token")
    r = web.post(admin + "/login", data={"token": token, "name": "boss", "password": "boss password"}, timeout=60)
    assert r.status_code == 200 and "Log out" in r.text, r.text
    page = web.get(admin + "/user/user1", timeout=30).text
    assert f"/admin/user/user1/backups/{kept}" in page, page
    form = {"csrf": hidden(page, "csrf"), "snapshot": kept}
    confirm = web.post(admin + "/user/user1/restore", data=form, timeout=30)
    assert confirm.status_code == 200 and "Restore this snapshot" in confirm.text, confirm.text
    done = web.post(admin + "/user/user1/restore", data={**form, "confirm": "yes"}, timeout=120)
    assert done.status_code == 200, done.text
    assert "will be asked to do a full sync" in done.text, done.text
    [undo] = snapshot_names(server, "user1", "restore")
    assert f"kept as the restore snapshot {undo}" in done.text, done.text

    assert_client_gets_back(a, auth, x)

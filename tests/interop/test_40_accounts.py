"""Accounts with the real client: `kioku user …` against a running server,
login protection as the client sees it, and kioku's stored password hashes
verified by the official server."""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import re
import time

import pytest
from anki.errors import NetworkError

import clients
import rawsync
from clients import SyncError, SyncErrorKind
from servers import HOST, kioku_bin

pytestmark = pytest.mark.kioku_only


def kioku_cli(srv, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Runs `kioku <args>` with the server's environment (its data folder)."""
    out = subprocess.run(
        [kioku_bin(), *args],
        env=srv.env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"kioku {' '.join(args)}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def assert_auth_refused(col, endpoint: str, user: str, password: str) -> None:
    with pytest.raises(SyncError) as e:
        clients.login(col, endpoint, user, password)
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"


def test_user_commands_on_a_running_server_and_the_real_client(servers, devices):
    srv = servers.new("kioku", users=[])
    kioku_cli(srv, "user", "add", "alice", "--password-stdin", stdin="first password\n")
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, srv.endpoint, "alice", "first password")
    clients.upload_new(a, auth)
    listed = kioku_cli(srv, "user", "list").stdout
    assert "alice" in listed and "users.toml" in listed, listed

    kioku_cli(srv, "user", "passwd", "alice", "--password-stdin", stdin="second password\n")
    # The logged-in client's host key no longer works: it must log in again.
    with pytest.raises(SyncError) as e:
        clients.sync(a, auth)
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"
    assert_auth_refused(a, srv.endpoint, "alice", "first password")
    auth2 = clients.login(a, srv.endpoint, "alice", "second password")
    assert auth2.hkey != auth.hkey
    clients.sync_normal(a, auth2, "sync after logging in again")
    # A second device gets the collection with the new password.
    b = devices.new("B")
    clients.download_new(b, clients.login(b, srv.endpoint, "alice", "second password"))
    clients.assert_collections_equal(a, b)

    kioku_cli(srv, "user", "remove", "alice")
    assert_auth_refused(a, srv.endpoint, "alice", "second password")
    with pytest.raises(SyncError) as e:
        clients.sync(a, auth2)
    assert e.value.kind == SyncErrorKind.AUTH
    assert (srv.base / "alice" / "collection.anki2").exists(), "remove without --delete-data keeps the data"


def raw_login(port: int, user: str, password: str, source: str) -> tuple[int, dict, bytes]:
    """A hostKey request from the local address `source`."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(source, 0))
    try:
        conn.request(
            "POST",
            "/sync/hostKey",
            body=rawsync.zstd(json.dumps({"u": user, "p": password}).encode()),
            headers={"anki-sync": rawsync.sync_header(""), "content-type": "application/octet-stream"},
        )
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_twenty_wrong_passwords_are_slowed_then_locked_out_for_that_address_only(servers, devices):
    first_delay = 0.02
    srv = servers.new(
        "kioku",
        extra_env={
            "KIOKU_LOGIN_FREE_FAILURES": "5",
            "KIOKU_LOGIN_DELAY_MS": str(int(first_delay * 1000)),
            "KIOKU_LOGIN_LOCKOUT_SECS": "1",
        },
    )
    attacker = "127.0.0.2"
    checked = []  # (time, status) of attempts the server checked (403)
    refused = 0
    locked_answer = None
    deadline = time.monotonic() + 20
    attempts = 0
    while attempts < 20:
        assert time.monotonic() < deadline, "the attack loop took too long"
        status, headers, body = raw_login(srv.port, "user1", f"guess{attempts}", attacker)
        if status == 403:
            checked.append(time.monotonic())
            attempts += 1
            continue
        assert status == 429, f"HTTP {status}: {body!r}"
        assert headers.get("retry-after", "").isdigit(), headers
        refused += 1
        if b"locked" in body and locked_answer is None:
            locked_answer = (len(checked), headers["retry-after"], body)
        if locked_answer is not None:
            attempts += 1  # locked out: the rest of the 20 are refused unchecked
            continue
        time.sleep(0.01)
    assert locked_answer is not None, f"never locked out; checked {len(checked)}, refused {refused}"
    failures_before_lockout, retry_after, body = locked_answer
    # 5 free, then waits of 20, 40, … ms doubling until the 1 s cap.
    assert failures_before_lockout == 12, (failures_before_lockout, body)
    assert retry_after == "1"
    assert b"address 127.0.0.2" in body, body
    for k in range(6, failures_before_lockout):
        waited = checked[k] - checked[k - 1]
        expected = first_delay * 2 ** (k - 6)
        assert waited >= expected * 0.9, f"failure {k + 1} came {waited:.3f} s after the one before, wait was {expected}"
    # Locked: even the right password from that address is refused unchecked.
    status, headers, _ = raw_login(srv.port, "user1", "pass1", attacker)
    assert status == 429
    # Meanwhile other addresses log in normally, as another user and as the
    # attacked user (one address alone cannot lock an account).
    col = devices.new("A")
    clients.login(col, srv.endpoint, "user2", "pass2")
    clients.login(col, srv.endpoint, "user1", "pass1")
    # After the lockout the address may try again.
    time.sleep(1.1)
    status, _, body = raw_login(srv.port, "user1", "pass1", attacker)
    assert status == 200, body
    log = srv.log_text()
    assert "locked out" in log and "client=127.0.0.2" in log, srv.log_tail(40)


def test_a_throttled_login_shows_the_real_client_too_many_requests(servers, devices):
    srv = servers.new(
        "kioku",
        extra_env={
            "KIOKU_LOGIN_FREE_FAILURES": "2",
            "KIOKU_LOGIN_DELAY_MS": "5000",
            "KIOKU_LOGIN_LOCKOUT_SECS": "10",
        },
    )
    col = devices.new("A")
    for _ in range(3):
        assert_auth_refused(col, srv.endpoint, "user1", "wrong")
    with pytest.raises(NetworkError) as e:
        clients.login(col, srv.endpoint, "user1", "pass1")
    assert "429 Too Many Requests" in str(e.value), str(e.value)


def test_a_user_stored_by_kioku_logs_in_to_the_official_server_with_the_same_host_key(
    servers, devices, tmp_path
):
    kioku_srv = servers.new("kioku", base=tmp_path / "kioku-base", users=[])
    kioku_cli(kioku_srv, "user", "add", "alice", "--password-stdin", stdin="shared password\n")
    stored = (tmp_path / "kioku-base" / "users.toml").read_text()
    # (tomllib would need Python 3.11; the suite runs on 3.9+)
    found = re.search(r'^password = "([^"]+)"$', stored, re.M)
    assert found, stored
    phc = found.group(1)
    assert phc.startswith("$pbkdf2-sha256$i=600000,l=32$"), phc
    col = devices.new("A")
    key_kioku = clients.login(col, kioku_srv.endpoint, "alice", "shared password").hkey
    assert key_kioku == hashlib.sha1(f"alice:{phc}".encode()).hexdigest()
    kioku_srv.stop()
    official = servers.new("official", base=tmp_path / "official-base", users=[f"alice:{phc}"], passwords_hashed=True)
    key_official = clients.login(col, official.endpoint, "alice", "shared password").hkey
    assert key_official == key_kioku, "clients keep their login across a switch"
    assert_auth_refused(col, official.endpoint, "alice", "wrong password")

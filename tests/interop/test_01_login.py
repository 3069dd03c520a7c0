"""Logging in with the real client (sync/hostKey) and host-key checks."""

import hashlib
import secrets

import pytest
import requests

import clients
from clients import SyncError, SyncErrorKind
from conftest import USERS


def test_login_returns_sha1_of_user_colon_password_as_host_key(server, devices):
    col = devices.new("A")
    auth = clients.login(col, server.endpoint, "user1", "pass1")
    assert auth.hkey == hashlib.sha1(b"user1:pass1").hexdigest()
    assert len(auth.hkey) == 40 and all(c in "0123456789abcdef" for c in auth.hkey)
    assert auth.endpoint == server.endpoint
    auth2 = clients.login(col, server.endpoint, "user2", "pass2")
    assert auth2.hkey == hashlib.sha1(b"user2:pass2").hexdigest()


def test_wrong_password_is_refused_with_auth_error(server, devices):
    col = devices.new("A")
    with pytest.raises(SyncError) as e:
        clients.login(col, server.endpoint, "user1", "pass2")
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"


def test_unknown_user_is_refused_with_auth_error(server, devices):
    col = devices.new("A")
    with pytest.raises(SyncError) as e:
        clients.login(col, server.endpoint, "nobody", "pass1")
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"


def test_empty_password_is_refused_with_auth_error(server, devices):
    col = devices.new("A")
    with pytest.raises(SyncError) as e:
        clients.login(col, server.endpoint, "user1", "")
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"


def test_sync_with_a_forged_host_key_is_refused_with_auth_error(server, devices):
    col = devices.new("A")
    clients.fill_device(col)
    forged = clients.make_auth(secrets.token_hex(20), server.endpoint)
    with pytest.raises(SyncError) as e:
        clients.sync(col, forged)
    assert e.value.kind == SyncErrorKind.AUTH, f"kind {e.value.kind}: {e.value}"


@pytest.mark.kioku_only
def test_health_reports_version_uptime_and_user_count(server):
    r = requests.get(server.endpoint + "health", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body.get("version"), str) and body["version"], body
    assert isinstance(body.get("uptime_secs"), int) and body["uptime_secs"] >= 0, body
    assert body.get("users") == len(USERS), body


@pytest.mark.kioku_only
def test_sigterm_stops_the_server_with_exit_status_zero(server):
    assert server.stop() == 0

"""Moving a SYNC_BASE between the official server and kioku, both ways.

Clients keep the host key they got at login; after the switch only the
endpoint (port) differs, so no device has to log in again.
"""

import hashlib

import pytest

import clients
from clients import FULL_DOWNLOAD, NO_CHANGES, SyncError, SyncErrorKind

U2_PHC = "$pbkdf2-sha256$i=600000,l=32$tonuvYGpksNFQBlEmm3lxg$3iCwc/+JdxZQcqYMz3NSe+3Xb17EGbqSRPryuL7snr8"
U2_HKEY = "567c5f0a7f928cc98f441e38120bd5299a2589d0"


def _migrate(servers, devices, tmp_path, first: str, second: str):
    base = tmp_path / "shared-base"
    old = servers.new(first, base=base)
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth_a = clients.login(a, old.endpoint, "user1", "pass1")
    clients.upload_new(a, auth_a)
    b = devices.new("B")
    auth_b = clients.login(b, old.endpoint, "user1", "pass1")
    old.stop()

    new = servers.new(second, base=base)
    assert new.endpoint != old.endpoint
    # The uploader is up to date on the new server, with its old key.
    clients.sync_expect(a, clients.make_auth(auth_a.hkey, new.endpoint), NO_CHANGES)
    # The second device never synced; it downloads from the new server without logging in.
    auth_b_new = clients.make_auth(auth_b.hkey, new.endpoint)
    clients.sync_expect(b, auth_b_new, FULL_DOWNLOAD)
    clients.full_download(b, auth_b_new)
    clients.sync_expect(b, auth_b_new, NO_CHANGES)
    clients.assert_collections_equal(a, b, what=f"A (uploaded to {first}) and B (downloaded from {second})")
    # A login against the new server gives the very same key.
    assert clients.login(b, new.endpoint, "user1", "pass1").hkey == auth_b.hkey


def test_data_of_the_official_server_is_served_by_kioku_with_the_same_host_key(servers, devices, tmp_path):
    _migrate(servers, devices, tmp_path, "official", "kioku")


def test_data_of_kioku_is_served_by_the_official_server_with_the_same_host_key(servers, devices, tmp_path):
    _migrate(servers, devices, tmp_path, "kioku", "official")


@pytest.mark.parametrize("kind", ["official", "kioku"])
def test_hashed_password_login_gives_the_official_host_key(servers, devices, kind):
    server = servers.new(kind, users=[f"u2:{U2_PHC}"], passwords_hashed=True)
    col = devices.new("A")
    auth = clients.login(col, server.endpoint, "u2", "secret")
    assert auth.hkey == U2_HKEY == hashlib.sha1(f"u2:{U2_PHC}".encode()).hexdigest()
    with pytest.raises(SyncError) as e:
        clients.login(col, server.endpoint, "u2", "Secret")
    assert e.value.kind == SyncErrorKind.AUTH
    # The hash string itself is not a password.
    with pytest.raises(SyncError) as e:
        clients.login(col, server.endpoint, "u2", U2_PHC)
    assert e.value.kind == SyncErrorKind.AUTH

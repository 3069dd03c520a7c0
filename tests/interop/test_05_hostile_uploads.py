"""Bad full uploads are refused and never damage the stored collection.

Each test starts from a server holding device A's good upload (fixture
`uploaded`), sends one bad upload, then checks that the stored file did not
change and that a fresh real-client device still downloads A's collection.
"""

import hashlib
import os
import sqlite3
import string

import pytest

import clients
import rawsync

CORRUPT = "Your upload was corrupt. Please use Check Database, or restore from backup."
TOO_BIG = "collection exceeds size limit"
MiB = 1024 * 1024


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Guard:
    """Records the stored collection before a bad upload; verifies it after."""

    def __init__(self, server, devices, a, user="user1", password="pass1"):
        self.server, self.devices, self.a = server, devices, a
        self.user, self.password = user, password
        self.path = server.collection_path(user)
        assert self.path.is_file(), f"no stored collection at {self.path}"
        self.before = sha256(self.path)

    def check_intact(self, name="fresh"):
        assert sha256(self.path) == self.before, f"{self.path} changed after a refused upload"
        fresh = clients.fresh_download(self.devices, name, self.server.endpoint, self.user, self.password)
        clients.assert_collections_equal(self.a, fresh, what="A and a fresh download after a bad upload")
        # A download may rewrite the stored file (the server bumps its usn).
        self.before = sha256(self.path)


@pytest.fixture
def guard(uploaded, devices):
    server, a, auth = uploaded
    g = Guard(server, devices, a)
    g.auth = auth
    return g


def test_upload_body_that_is_not_zstd_is_rejected_with_400(guard):
    r = rawsync.post(guard.server.endpoint, "upload", guard.auth.hkey, raw_body=b"SQLite format 3\0 but not zstd" * 50)
    assert r.status == 400, f"HTTP {r.status}: {r.raw_body[:200]!r}"
    guard.check_intact()


def test_upload_of_zstd_garbage_is_reported_as_corrupt(guard):
    r = rawsync.upload(guard.server.endpoint, guard.auth.hkey, os.urandom(50_000))
    assert r.text == CORRUPT
    guard.check_intact()


def test_upload_of_a_truncated_collection_file_is_reported_as_corrupt(guard, tmp_path):
    data = clients.checkpointed_copy(guard.a, tmp_path / "A-copy.anki2")
    assert data.startswith(b"SQLite format 3\0") and len(data) > 50_000
    r = rawsync.upload(guard.server.endpoint, guard.auth.hkey, data[: len(data) // 2])
    assert r.text == CORRUPT
    guard.check_intact()


@pytest.mark.kioku_only
def test_upload_of_a_sqlite_file_that_is_not_an_anki_collection_is_reported_as_corrupt(guard, tmp_path):
    """The official server answers OK here: it opens any SQLite file without
    a `col` table as a *new* collection, adds the Anki tables to it and so
    replaces the account's collection with an empty one."""
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("create table shopping (item text, qty integer)")
    db.executemany("insert into shopping values (?, ?)", [("apples", 3), ("pears", 2)])
    db.commit()
    db.close()
    r = rawsync.upload(guard.server.endpoint, guard.auth.hkey, path.read_bytes())
    assert r.text == CORRUPT
    guard.check_intact()


def test_upload_with_an_unknown_host_key_is_refused_with_403(guard, tmp_path):
    data = clients.checkpointed_copy(guard.a, tmp_path / "A-copy.anki2")
    r = rawsync.upload(guard.server.endpoint, "0" * 40, data)
    assert r.status == 403, f"HTTP {r.status}: {r.raw_body[:200]!r}"
    guard.check_intact()


def test_raw_upload_of_a_real_collection_file_is_accepted(uploaded, devices, tmp_path):
    """Positive control for the raw helper: the bytes of A's file are a good upload."""
    server, a, auth = uploaded
    clients.add_note(a, "Basic", ["added before raw upload", "z"], "Default")
    data = clients.checkpointed_copy(a, tmp_path / "A-copy.anki2")
    r = rawsync.upload(server.endpoint, auth.hkey, data)
    assert r.text == "OK"
    b = clients.fresh_download(devices, "B", server.endpoint, "user1", "pass1")
    assert b.db.scalar("select count() from notes where flds like 'added before raw upload%'") == 1
    clients.assert_collections_equal(a, b)


def test_upload_at_three_times_the_payload_limit_is_refused_and_just_below_is_not(servers, devices, tmp_path):
    server = servers.new("kioku", max_payload_megs=1)
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", "pass1")
    clients.upload_new(a, auth)
    g = Guard(server, devices, a)

    big = devices.new("big")
    clients.add_bulk_notes(big, 2_200_000)
    data = clients.checkpointed_copy(big, tmp_path / "big.anki2")
    assert len(data) > 4 * MiB, len(data)

    r = rawsync.upload(server.endpoint, auth.hkey, data[: 3 * MiB])
    assert r.text == TOO_BIG
    r = rawsync.upload(server.endpoint, auth.hkey, data)
    assert r.text == TOO_BIG
    g.check_intact("fresh1")
    # One byte less is within the limit: it is parsed (and is corrupt, being truncated).
    r = rawsync.upload(server.endpoint, auth.hkey, data[: 3 * MiB - 1])
    assert r.text == CORRUPT
    g.check_intact("fresh2")


@pytest.mark.kioku_only
@pytest.mark.parametrize(
    "alphabet",
    [string.ascii_letters + string.digits, "ab"],
    ids=["incompressible-text", "compressible-text"],
)
def test_real_client_upload_over_the_size_limit_shows_the_size_limit_message(servers, devices, alphabet):
    """The official server answers early without reading the body, so the
    real client (which streams its upload) sees a network error there;
    kioku must let the client read the message."""
    server = servers.new("kioku", max_payload_megs=1)
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", "pass1")
    clients.upload_new(a, auth)
    g = Guard(server, devices, a)

    big = devices.new("big")
    clients.add_bulk_notes(big, 2_200_000, alphabet=alphabet)
    big.close()
    size = os.path.getsize(big.path)
    big.reopen()
    assert size > 3 * MiB + 100_000, size
    auth_big = clients.login(big, server.endpoint, "user1", "pass1")
    # Both sides have cards and different schema times: the user must choose.
    assert clients.sync(big, auth_big) == clients.FULL_SYNC
    with pytest.raises(Exception) as e:
        clients.full_upload(big, auth_big)
    assert TOO_BIG in str(e.value), f"{type(e.value).__name__}: {e.value}"
    g.check_intact()

"""Media sync with the real client: unicode names, a large file, several
batches each way, deletions and changes, and server restarts in between."""

import os
import time
import unicodedata

import clients
import mediaclient
from conftest import DEV_OFFICIAL


def _rand(n: int) -> bytes:
    return os.urandom(n)


def test_media_round_trip_between_two_devices_across_restarts(uploaded, devices):
    server, a, auth_a = uploaded
    folder = a.media.dir()

    # A unicode name given in NFC (written straight into the folder) …
    nfc = unicodedata.normalize("NFC", "café 日本.jpg")
    with open(os.path.join(folder, nfc), "wb") as f:
        f.write(_rand(3000))
    # … and the same name given in NFD, added through the client, which
    # stores it under an NFC name (a unique one, as the content differs).
    nfd = unicodedata.normalize("NFD", "café 日本.jpg")
    assert nfd != nfc
    stored = a.media.write_data(nfd, _rand(2000))
    assert stored == unicodedata.normalize("NFC", stored) and stored != nfc
    other_nfd = unicodedata.normalize("NFD", "naïve résumé.png")
    stored_other = a.media.write_data(other_nfd, _rand(1500))
    assert stored_other == unicodedata.normalize("NFC", "naïve résumé.png")
    # A 5 MB random file and 300 small ones: several batches each way.
    with open(os.path.join(folder, "random-5mb.mp3"), "wb") as f:
        f.write(_rand(5 * 1024 * 1024))
    for i in range(300):
        with open(os.path.join(folder, f"small-{i:03}.txt"), "wb") as f:
            f.write(f"small file {i} ".encode() + _rand(100 + i))
    expected = mediaclient.media_files(folder)
    assert len(expected) == 304

    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, auth_a)
    on_server = mediaclient.media_files(server.user_dir("user1") / "media")
    assert {n: d for n, d in on_server.items() if not n.startswith(".")} == expected

    server.restart()

    b = clients.fresh_download(devices, "B", server.endpoint, "user1", "pass1")
    auth_b = clients.login(b, server.endpoint, "user1", "pass1")
    mediaclient.sync_media(b, auth_b)
    mediaclient.assert_media_equal(a, b, what="A (uploader) and B (after the first media sync)")

    # A deletes one file and changes another.
    os.remove(os.path.join(folder, "small-000.txt"))
    changed = b"changed on A " + _rand(4000)
    with open(os.path.join(folder, "small-001.txt"), "wb") as f:
        f.write(changed)
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, auth_a)

    server.restart()

    mediaclient.sync_media(b, auth_b)
    mediaclient.assert_media_equal(a, b, what="A and B after a deletion and a change")
    files_b = mediaclient.media_files(b.media.dir())
    assert "small-000.txt" not in files_b
    assert files_b["small-001.txt"] == changed
    assert len(files_b) == 303

    # Nothing left to do: a second sync on each side is a no-op and agrees.
    mediaclient.sync_media(a, auth_a)
    mediaclient.sync_media(b, auth_b)
    mediaclient.assert_media_equal(a, b, what="A and B after a no-op sync")


def _timed_uploads(server, devices, name):
    """Seconds the real client's media sync takes to upload one new file of
    10, 25 and 50 MB (one file per sync, same account)."""
    col = devices.new(name)
    clients.fill_device(col, name)
    auth = clients.login(col, server.endpoint, "user1", "pass1")
    clients.upload_new(col, auth)
    mediaclient.sync_media(col, auth)  # nothing yet: settles the media state
    times = {}
    for mb in (10, 25, 50):
        with open(os.path.join(col.media.dir(), f"upload-{mb}mb.bin"), "wb") as f:
            f.write(_rand(mb * 1000 * 1000))
        mediaclient.wait_for_folder_mtime()
        times[mb] = mediaclient.sync_media(col, auth)
    return times


def test_media_upload_time_grows_linearly_with_the_file_size(server, servers, devices):
    measured = _timed_uploads(server, devices, "T1")
    line = ", ".join(f"{mb} MB {t:.2f} s" for mb, t in measured.items())
    print(f"\nmedia upload through the real client ({server.name}): {line}")
    if os.environ.get("KIOKU_MEDIA_TIMING_OFFICIAL"):
        official = _timed_uploads(servers.new("official"), devices, "T2")
        line = ", ".join(f"{mb} MB {t:.2f} s" for mb, t in official.items())
        print(f"media upload through the real client (official): {line}")
    if not DEV_OFFICIAL:
        # Linear, not quadratic: 50 MB costs no more than a few times 10 MB
        # (plus slack for a busy machine), and stays far below the official
        # server's 19 s.
        assert measured[50] < 10.0, measured
        assert measured[50] < 8 * measured[10] + 2.0, measured


def _media_migrate(servers, devices, tmp_path, first: str, second: str):
    """Media synced to `first` is served by `second` from the same SYNC_BASE;
    a deletion and an addition made through `second` reach the first device."""
    base = tmp_path / "shared-base"
    old = servers.new(first, base=base)
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth_a = clients.login(a, old.endpoint, "user1", "pass1")
    clients.upload_new(a, auth_a)
    for i in range(30):
        with open(os.path.join(a.media.dir(), f"m{i:02}.png"), "wb") as f:
            f.write(_rand(500 + i))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, auth_a)
    old.stop()

    new = servers.new(second, base=base)
    auth_a = clients.make_auth(auth_a.hkey, new.endpoint)
    b = clients.fresh_download(devices, "B", new.endpoint, "user1", "pass1")
    auth_b = clients.login(b, new.endpoint, "user1", "pass1")
    mediaclient.sync_media(b, auth_b)
    mediaclient.assert_media_equal(a, b, what=f"A (synced to {first}) and B (from {second})")
    os.remove(os.path.join(b.media.dir(), "m00.png"))
    with open(os.path.join(b.media.dir(), "new-on-b.png"), "wb") as f:
        f.write(_rand(777))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(b, auth_b)
    mediaclient.sync_media(a, auth_a)
    mediaclient.assert_media_equal(a, b, what=f"A and B after changes through {second}")
    assert "m00.png" not in mediaclient.media_files(a.media.dir())


def test_media_of_the_official_server_is_served_by_kioku(servers, devices, tmp_path):
    _media_migrate(servers, devices, tmp_path, "official", "kioku")


def test_media_of_kioku_is_served_by_the_official_server(servers, devices, tmp_path):
    _media_migrate(servers, devices, tmp_path, "kioku", "official")

"""Two accounts on one server never see each other's data."""

import clients


def test_two_users_each_download_exactly_their_own_collection(server, devices):
    x = devices.new("X")
    clients.fill_device(x, "X")
    clients.add_note(x, "Basic", ["only user1 has this", "x"], "Only X")
    auth1 = clients.login(x, server.endpoint, "user1", "pass1")
    clients.upload_new(x, auth1)

    y = devices.new("Y")
    clients.fill_device(y, "Y")
    auth2 = clients.login(y, server.endpoint, "user2", "pass2")
    # user2's account is still empty although user1 uploaded: a device with
    # cards is asked to upload, not to download.
    clients.upload_new(y, auth2)

    assert auth1.hkey != auth2.hkey

    x2 = clients.fresh_download(devices, "X2", server.endpoint, "user1", "pass1")
    y2 = clients.fresh_download(devices, "Y2", server.endpoint, "user2", "pass2")
    clients.assert_collections_equal(x, x2, what="user1's upload and user1's download")
    clients.assert_collections_equal(y, y2, what="user2's upload and user2's download")
    assert x2.note_count() == 9 and y2.note_count() == 8
    assert x2.db.scalar("select count() from notes where flds like '%only user1%'") == 1
    assert y2.db.scalar("select count() from notes where flds like '%only user1%'") == 0
    assert y2.db.scalar("select count() from notes where flds like 'X:%'") == 0
    assert x2.db.scalar("select count() from notes where flds like 'Y:%'") == 0
    assert y2.decks.by_name("Only X") is None
    assert y2.decks.by_name("Geography Y") is not None

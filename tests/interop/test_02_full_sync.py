"""Full upload from one device, full download to another (the first sync of every user)."""

import clients
from clients import FULL_DOWNLOAD, FULL_UPLOAD, NO_CHANGES


def test_first_device_uploads_and_empty_second_device_downloads_an_equal_collection(server, devices):
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth_a = clients.login(a, server.endpoint, "user1", "pass1")

    clients.sync_expect(a, auth_a, FULL_UPLOAD)
    clients.full_upload(a, auth_a)
    clients.sync_expect(a, auth_a, NO_CHANGES)

    b = devices.new("B")
    auth_b = clients.login(b, server.endpoint, "user1", "pass1")
    assert auth_b.hkey == auth_a.hkey
    clients.sync_expect(b, auth_b, FULL_DOWNLOAD)
    clients.full_download(b, auth_b)
    clients.sync_expect(b, auth_b, NO_CHANGES)

    assert b.card_count() == a.card_count() == 13
    assert b.note_count() == 8
    assert {d.name for d in b.decks.all_names_and_ids()} >= {"Lang", "Lang::Spanish", "Geography A"}
    clients.assert_collections_equal(a, b, what="A (uploader) and B (downloader)")

    # The downloaded collection is a working collection.
    clients.add_note(b, "Basic", ["added on B", "after download"], "Lang::Spanish")
    assert b.note_count() == 9
    assert b.db.scalar("select count() from notes where flds like 'added on B%'") == 1


def test_the_uploaded_deck_options_arrive_on_the_downloading_device(uploaded, devices):
    server, a, _ = uploaded
    b = clients.fresh_download(devices, "B", server.endpoint, "user1", "pass1")
    assert b.decks.get_config(1)["new"]["perDay"] == 37
    spanish = b.decks.by_name("Lang::Spanish")
    conf = b.decks.get_config(spanish["conf"])
    assert conf["name"] == "Intense A"
    assert (conf["new"]["perDay"], conf["rev"]["perDay"]) == (99, 555)
    assert b.db.scalar("select count() from revlog") == 7
    assert b.db.scalar("select count() from cards where queue = -1") == 1
    assert b.db.scalar("select count() from cards where flags = 3") == 2

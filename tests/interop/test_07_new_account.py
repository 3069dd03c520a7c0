"""The collection a server creates for a brand-new account."""

import clients
from clients import NO_CHANGES


def _fresh_account_download(server, devices, name):
    col = devices.new(name)
    auth = clients.login(col, server.endpoint, "user1", "pass1")
    # Empty client, empty account: nothing to do...
    clients.sync_expect(col, auth, NO_CHANGES)
    # ...but the user may still force a one-way download.
    clients.full_download(col, auth)
    return col, auth


def test_new_account_collection_downloads_and_takes_new_notes_at_once(servers, devices):
    server = servers.new("kioku")
    col, auth = _fresh_account_download(server, devices, "new")
    assert col.card_count() == 0
    assert col.decks.by_name("Default") is not None
    assert col.decks.get_config(1) is not None

    nid = clients.add_note(col, "Basic", ["first note", "on a new account"], "Default")
    cid = clients.add_note(col, "Cloze", ["{{c1::Bern}} is the capital of {{c2::Switzerland}}", ""], "Default")
    assert col.card_count() == 3
    assert len(col.get_note(nid).cards()) == 1
    assert len(col.get_note(cid).cards()) == 2

    official = servers.new("official")
    ref, _ = _fresh_account_download(official, devices, "reference")
    assert sorted(col.models.all_names()) == sorted(ref.models.all_names())
    assert clients.notetype_shapes(col) == clients.notetype_shapes(ref)
    assert [d.name for d in col.decks.all_names_and_ids()] == [d.name for d in ref.decks.all_names_and_ids()]

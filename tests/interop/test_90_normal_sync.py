"""Beyond the first full sync: a change travels by a normal sync.

Kept last (file order) so that with -x the full-sync tests report first.
"""

import clients
from clients import NO_CHANGES


def test_note_added_after_a_download_reaches_the_uploading_device_by_normal_sync(uploaded, devices):
    server, a, auth_a = uploaded
    b = clients.fresh_download(devices, "B", server.endpoint, "user1", "pass1")
    clients.add_note(b, "Basic", ["added on B", "travels by normal sync"], "Lang::Spanish", tags=["fromB"])
    auth_b = clients.make_auth(auth_a.hkey, server.endpoint)
    # The 26.9.3 client reports NO_CHANGES once a normal sync has completed.
    clients.sync_expect(b, auth_b, NO_CHANGES)
    clients.sync_expect(a, auth_a, NO_CHANGES)
    assert a.db.scalar("select count() from notes where flds like 'added on B%'") == 1
    assert "fromB" in a.tags.all()
    clients.assert_collections_equal(a, b, what="A and B after normal syncs")

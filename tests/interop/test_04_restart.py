"""Data and host keys survive a server restart."""

import clients
from clients import NO_CHANGES


def test_collection_uploaded_before_a_restart_is_downloaded_after_it(uploaded, devices):
    server, a, auth_a = uploaded
    server.restart()
    # The key the client stored before the restart still works (no new login).
    clients.sync_expect(a, auth_a, NO_CHANGES)
    b = clients.fresh_download(devices, "B", server.endpoint, "user1", "pass1")
    clients.assert_collections_equal(a, b, what="A (uploaded before restart) and B (downloaded after)")

"""The real Anki client syncing through a `.local` name (tests/mdns.rs).

Not a pytest module: tests/mdns.rs runs it inside the client's network
namespace, where /etc/hosts maps the name to the address the test resolved
over mDNS (the client has no mDNS resolver of its own there).

    python mdns_sync.py URL CA_PEM WORKDIR USER PASSWORD

Two devices trust only kioku's CA (the backend's custom certificate, as
AnkiDroid's "Custom root certificate"): A full-uploads, B full-downloads,
a note added on B reaches A by normal syncs. Prints one line and exits 0 on
success; any failure raises (exit status 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402


def main() -> None:
    url, ca_path, workdir, user, password = sys.argv[1:6]
    ca = Path(ca_path).read_text()
    cols = []
    try:
        a = clients.open_collection(Path(workdir) / "A")
        cols.append(a)
        assert a._backend.set_custom_certificate(ca), "the client rejected the CA"
        clients.fill_device(a, "A")
        auth_a = clients.login(a, url, user, password)
        clients.upload_new(a, auth_a)

        b = clients.open_collection(Path(workdir) / "B")
        cols.append(b)
        assert b._backend.set_custom_certificate(ca), "the client rejected the CA"
        auth_b = clients.login(b, url, user, password)
        clients.download_new(b, auth_b)
        clients.add_note(b, "Basic", ["found over mDNS", "back"], "Default")
        clients.sync_normal(b, auth_b)
        clients.sync_normal(a, auth_a)
        clients.assert_collections_equal(a, b, what="A and B synced through " + url)
        print(f"synced two devices through {url}: {a.note_count()} notes each")
    finally:
        for col in cols:
            col.close()


if __name__ == "__main__":
    main()

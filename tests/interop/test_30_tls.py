"""The real Anki client over HTTPS, trusting only kioku's own CA.

Two routes users are told about on the setup page:
- the backend's custom root certificate (AnkiDroid 2.19+ "Custom root
  certificate (PEM)"; `set_custom_certificate` in the backend), in-process;
- `SSL_CERT_FILE` (Anki desktop on Linux: rustls with native roots), in a
  separate process, since the roots are read when the client is built.
Without either, login fails with a certificate error.
"""

import os
import subprocess
import sys
import textwrap

import pytest

import clients
import mediaclient
from conftest import USERS

pytestmark = pytest.mark.kioku_only


def _ca_pem(server) -> str:
    return (server.base / "tls" / "ca.pem").read_text()


def _trust(col, server) -> None:
    assert col._backend.set_custom_certificate(_ca_pem(server)), "the client rejected the CA PEM"


def test_full_incremental_and_media_sync_over_https_trusting_only_the_kioku_ca(server, devices):
    url = server.https_endpoint
    assert url.startswith("https://")
    a = devices.new("A")
    _trust(a, server)
    clients.fill_device(a, "A")
    auth_a = clients.login(a, url, "user1", USERS["user1"])
    clients.upload_new(a, auth_a)
    a.media.write_data("over-tls.txt", b"sent over TLS " + os.urandom(2000))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, auth_a)

    b = devices.new("B")
    _trust(b, server)
    auth_b = clients.login(b, url, "user1", USERS["user1"])
    clients.download_new(b, auth_b)
    mediaclient.sync_media(b, auth_b)
    mediaclient.assert_media_equal(a, b, what="A and B after media sync over HTTPS")

    # Incremental: a note added on B reaches A.
    clients.add_note(b, "Basic", ["added on B over TLS", "back"], "Default")
    clients.sync_normal(b, auth_b)
    clients.sync_normal(a, auth_a)
    clients.assert_collections_equal(a, b)
    log = server.log_text()
    assert "TLS handshake failed" not in log, log


def test_login_without_trusting_the_ca_fails_with_a_certificate_error(server, devices):
    c = devices.new("C")
    with pytest.raises(Exception) as err:
        clients.login(c, server.https_endpoint, "user1", USERS["user1"])
    text = str(err.value)
    # The client's message is generic ("error sending request"); the server
    # sees why: the client rejected the certificate's issuer.
    assert "network error" in text.lower() or "certificate" in text.lower(), text
    _assert_unknown_ca_alert(server)


def _assert_unknown_ca_alert(server) -> None:
    import time

    deadline = time.monotonic() + 5
    while "received fatal alert: UnknownCA" not in server.log_text():
        assert time.monotonic() < deadline, server.log_tail(20)
        time.sleep(0.1)


_SSL_CERT_FILE_SCRIPT = textwrap.dedent(
    """
    import sys
    from anki.collection import Collection
    col = Collection(sys.argv[1])
    try:
        auth = col.sync_login("user1", sys.argv[3], sys.argv[2])
        print("hkey", auth.hkey)
    except Exception as e:
        print("error", e)
    finally:
        col.close()
    """
)


def _login_in_subprocess(tmp_path, url: str, ssl_cert_file: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if ssl_cert_file:
        env["SSL_CERT_FILE"] = ssl_cert_file
    col = tmp_path / f"sub-{bool(ssl_cert_file)}" / "collection.anki2"
    col.parent.mkdir(parents=True)
    out = subprocess.run(
        [sys.executable, "-c", _SSL_CERT_FILE_SCRIPT, str(col), url, USERS["user1"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout + out.stderr


def test_ssl_cert_file_with_the_ca_lets_the_linux_client_log_in(server, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text(_ca_pem(server))
    ok = _login_in_subprocess(tmp_path, server.https_endpoint, str(ca))
    assert "hkey " in ok, ok
    refused = _login_in_subprocess(tmp_path, server.https_endpoint, None)
    assert "hkey " not in refused and "network error" in refused.lower(), refused
    _assert_unknown_ca_alert(server)

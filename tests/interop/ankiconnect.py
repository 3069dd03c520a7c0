"""A small AnkiConnect client for the interop tests: raw JSON over HTTP to a
running kioku, as the tools send it, plus making an API key with the CLI."""

from __future__ import annotations

import subprocess

import requests

from servers import kioku_bin


def make_key(server, user: str) -> str:
    """`kioku apikey create USER` on the server's data folder; the key."""
    out = subprocess.run(
        [kioku_bin(), "apikey", "create", user, "--base", str(server.base)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, f"kioku apikey create failed: {out.stderr}"
    key = out.stdout.strip()
    assert len(key) == 32, out.stdout
    return key


class Api:
    """Calls actions on kioku's AnkiConnect port with `version: 6`."""

    def __init__(self, server, key: str | None):
        self.url = f"http://127.0.0.1:{server.api_port}/"
        self.key = key
        self.session = requests.Session()

    def raw(self, body: dict, **kw) -> requests.Response:
        return self.session.post(self.url, json=body, timeout=kw.pop("timeout", 60), **kw)

    def call(self, action: str, **params):
        body = {"action": action, "version": 6, "params": params}
        if self.key is not None:
            body["key"] = self.key
        r = self.raw(body)
        assert r.status_code == 200, f"{action}: HTTP {r.status_code} {r.text[:300]}"
        reply = r.json()
        assert set(reply) == {"result", "error"}, reply
        if reply["error"] is not None:
            raise ApiError(reply["error"])
        return reply["result"]


class ApiError(Exception):
    pass

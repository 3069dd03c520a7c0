"""Raw HTTP access to a sync server, speaking the modern (v11) framing.

Used for inputs the real client never sends (garbage bodies, corrupt
uploads). See docs/sync-protocol.md §2.3: POST <base>sync/<method> with an
`anki-sync` JSON header and a zstd body; a 200 answer is zstd with an
`anki-original-size` header; an error answer is plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests
import zstandard

TIMEOUT_SECS = 30


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def unzstd(data: bytes) -> bytes:
    # A streamed frame need not record its content size, so use a stream
    # decompressor rather than ZstdDecompressor().decompress().
    dobj = zstandard.ZstdDecompressor().decompressobj()
    out = dobj.decompress(data)
    return out + dobj.flush()


@dataclass
class RawResponse:
    status: int
    headers: dict
    raw_body: bytes

    @property
    def body(self) -> bytes:
        """The decoded body of a 200 answer; asserts the v11 framing."""
        assert self.status == 200, f"HTTP {self.status}: {self.raw_body[:300]!r}"
        size = self.headers.get("anki-original-size")
        assert size is not None, f"200 answer without anki-original-size header: {self.headers}"
        assert size.isdigit(), f"anki-original-size is not a number: {size!r}"
        data = unzstd(self.raw_body)
        assert len(data) == int(size), (
            f"anki-original-size says {size} but the body decompresses to {len(data)} bytes"
        )
        return data

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def sync_header(hkey: str, session: str = "abc", version: int = 11) -> str:
    return json.dumps({"v": version, "k": hkey, "c": "test,0,linux", "s": session})


def post(
    endpoint: str,
    method: str,
    hkey: str,
    payload: bytes | None = None,
    *,
    json_payload=None,
    raw_body: bytes | None = None,
    prefix: str = "sync",
    session: str = "abc",
) -> RawResponse:
    """POST `<endpoint><prefix>/<method>`.

    The body is zstd(payload), zstd(json(json_payload)), or `raw_body` sent
    as is (for non-zstd garbage).
    """
    if raw_body is None:
        if json_payload is not None:
            payload = json.dumps(json_payload).encode()
        if payload is None:
            payload = b'{"_pad":null}'
        raw_body = zstd(payload)
    headers = {
        "anki-sync": sync_header(hkey, session),
        "content-type": "application/octet-stream",
    }
    r = requests.post(
        f"{endpoint}{prefix}/{method}", data=raw_body, headers=headers, timeout=TIMEOUT_SECS
    )
    return RawResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def upload(endpoint: str, hkey: str, collection_bytes: bytes) -> RawResponse:
    return post(endpoint, "upload", hkey, collection_bytes)


def meta(endpoint: str, hkey: str) -> dict:
    return post(endpoint, "meta", hkey, json_payload={"v": 11, "cv": "anki,26.09.3 (test),linux"}).json()


# ---------------------------------------------------------------- normal sync by hand


class Session:
    """One normal sync spoken by hand, as the client would (docs §5.4).

    Every call posts with this session key `s` and returns the RawResponse,
    so a test can look at statuses; `.json()` on the result asserts a 200.
    """

    def __init__(self, endpoint: str, hkey: str, skey: str = "rawS1"):
        self.endpoint, self.hkey, self.skey = endpoint, hkey, skey

    def post(self, method: str, json_payload=None) -> RawResponse:
        return post(self.endpoint, method, self.hkey, json_payload=json_payload, session=self.skey)

    def meta(self) -> dict:
        return self.post("meta", {"v": 11, "cv": "anki,26.09.3 (test),linux"}).json()

    def start(self, min_usn: int, lnewer: bool = True) -> RawResponse:
        return self.post("start", {"minUsn": min_usn, "lnewer": lnewer, "graves": None})

    def apply_graves(self, cards=(), notes=(), decks=()) -> RawResponse:
        return self.post("applyGraves", {"chunk": {"cards": list(cards), "notes": list(notes), "decks": list(decks)}})

    def apply_changes(self, *, models=(), decks=(), dconf=(), tags=(), conf=None, crt=None) -> RawResponse:
        changes = {"models": list(models), "decks": [list(decks), list(dconf)], "tags": list(tags)}
        if conf is not None:
            changes["conf"] = conf
        if crt is not None:
            changes["crt"] = crt
        return self.post("applyChanges", {"changes": changes})

    def chunk(self) -> RawResponse:
        return self.post("chunk")

    def chunks_until_done(self, limit: int = 100) -> list[dict]:
        got = []
        for _ in range(limit):
            c = self.chunk().json()
            got.append(c)
            if c["done"]:
                return got
        raise AssertionError(f"chunk never said done in {limit} calls")

    def apply_chunk(self, *, done: bool = True, revlog=(), cards=(), notes=()) -> RawResponse:
        chunk = {"done": done}
        for key, rows in (("revlog", revlog), ("cards", cards), ("notes", notes)):
            if rows:
                chunk[key] = list(rows)
        return self.post("applyChunk", {"chunk": chunk})

    def sanity_check(self, counts) -> RawResponse:
        return self.post("sanityCheck2", {"client": counts})

    def finish(self) -> RawResponse:
        return self.post("finish")

    def abort(self) -> RawResponse:
        return self.post("abort")

"""Fixtures of the kioku end-to-end interop suite.

Run (from the repo root, after `cargo build` and tests/interop/setup-venv):

    KIOKU_BIN=$PWD/target/debug/kioku <venv>/bin/pytest tests/interop -x -q

KIOKU_BIN must name the built binary; without it every test fails (it is
never skipped). For developing the suite itself, KIOKU_INTEROP_SERVER=official
runs the official server (`python -m anki.syncserver`) wherever kioku would
run, and skips the tests marked `kioku_only` (and only those).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import clients
from servers import KiokuServer, OfficialServer, ServerError, kioku_bin

TARGET = os.environ.get("KIOKU_INTEROP_SERVER", "kioku")
DEV_OFFICIAL = TARGET == "official"

#: the two accounts every default server has
USERS = {"user1": "pass1", "user2": "pass2"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "kioku_only: checks kioku-specific behaviour (or behaviour the official server lacks); "
        "skipped only when KIOKU_INTEROP_SERVER=official",
    )
    if TARGET not in ("kioku", "official"):
        raise pytest.UsageError(f"KIOKU_INTEROP_SERVER must be 'kioku' or 'official', not {TARGET!r}")


def pytest_report_header(config):
    if DEV_OFFICIAL:
        return "interop target: OFFICIAL server (dev mode, KIOKU_INTEROP_SERVER=official); kioku_only tests skipped"
    return f"interop target: kioku, KIOKU_BIN={os.environ.get('KIOKU_BIN', '<unset>')}"


def pytest_collection_modifyitems(config, items):
    if not DEV_OFFICIAL:
        return
    skip = pytest.mark.skip(reason="kioku_only test; KIOKU_INTEROP_SERVER=official (dev mode)")
    for item in items:
        if "kioku_only" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the tail of every server log to a failed test's report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in getattr(item, "_interop_servers", []):
            rep.sections.append((f"{srv.name} server log ({srv.endpoint})", srv.log_tail(80)))


# ---------------------------------------------------------------- servers


class ServerFactory:
    """Starts servers for one test and stops them at its end.

    kind: "kioku" (the server under test; the official one in dev mode) or
    "official" (always the reference server).
    """

    def __init__(self, node, tmp_path: Path):
        self.node = node
        self.tmp_path = tmp_path
        self.started: list = []
        node._interop_servers = self.started
        self.count = 0

    def cls(self, kind: str):
        if kind == "kioku":
            if DEV_OFFICIAL:
                return OfficialServer
            problem = None
            try:
                kioku_bin()
            except ServerError as e:
                problem = str(e)
            if problem:
                pytest.fail(problem, pytrace=False)
            return KiokuServer
        if kind == "official":
            return OfficialServer
        raise ValueError(kind)

    def new(self, kind: str = "kioku", *, base: Path | None = None, users=None, start: bool = True, **kw):
        self.count += 1
        if base is None:
            base = self.tmp_path / f"base{self.count}"
        if users is None:
            users = [f"{u}:{p}" for u, p in USERS.items()]
        srv = self.cls(kind)(base, users, **kw)
        self.started.append(srv)
        if start:
            srv.start()
        return srv

    def finish(self):
        errors = []
        for srv in self.started:
            if srv.running:
                try:
                    srv.stop()
                except Exception as e:  # keep stopping the others
                    errors.append(e)
            srv.cleanup()
        if errors:
            raise errors[0]


@pytest.fixture
def servers(request, tmp_path):
    factory = ServerFactory(request.node, tmp_path)
    yield factory
    factory.finish()


@pytest.fixture
def server(servers):
    """The server under test (kioku; the official server in dev mode), users user1/user2."""
    return servers.new("kioku")


# ---------------------------------------------------------------- clients


class Devices:
    """Client profiles (collections) in the test's tmp dir, closed at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.cols = []

    def new(self, name: str):
        path = self.tmp_path / "devices" / name
        assert not path.exists(), f"device {name} already exists"
        col = clients.open_collection(path)
        self.cols.append(col)
        return col

    def close_all(self):
        for col in self.cols:
            try:
                if col.db:
                    col.close()
            except Exception:
                pass


@pytest.fixture
def devices(tmp_path):
    d = Devices(tmp_path)
    yield d
    d.close_all()


@pytest.fixture
def uploaded(server, devices):
    """A server where device A (filled) has done its full upload as user1."""
    a = devices.new("A")
    clients.fill_device(a, "A")
    auth = clients.login(a, server.endpoint, "user1", USERS["user1"])
    clients.upload_new(a, auth)
    return server, a, auth

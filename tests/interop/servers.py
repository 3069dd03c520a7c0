"""Server processes driven by the interop suite.

`KiokuServer` runs the binary named by $KIOKU_BIN (`kioku serve`);
`OfficialServer` runs `python -m anki.syncserver` from the venv running the
tests. Both take the same environment variables (SYNC_USERn, SYNC_BASE,
SYNC_HOST, SYNC_PORT, MAX_SYNC_PAYLOAD_MEGS, PASSWORDS_HASHED), bind to
127.0.0.1 only, log to a file in their base directory and expose the same
interface: start(), stop(), restart(), endpoint, base, log_tail().
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

HOST = "127.0.0.1"
START_TIMEOUT_SECS = 20.0
STOP_TIMEOUT_SECS = 15.0


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now and was not handed out
    before in this process (the kernel may give a just-closed port again, and
    two servers would then be started on one port)."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
    raise ServerError("no loopback port left that this test run has not used")


def kioku_bin() -> str:
    """Path of the kioku binary from $KIOKU_BIN; raises if unusable."""
    path = os.environ.get("KIOKU_BIN", "")
    if not path:
        raise ServerError(
            "KIOKU_BIN is not set: set it to the built kioku binary, e.g. "
            "KIOKU_BIN=$PWD/target/debug/kioku (after `cargo build`)"
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise ServerError(f"KIOKU_BIN={path!r} is not an executable file (did `cargo build` run?)")
    return path


class ServerError(AssertionError):
    """A server did not start, did not stop cleanly, or exited badly."""


class _Server:
    """Common process handling; subclasses define `name` and `_argv()`."""

    name = "server"
    #: whether stop() must see exit status 0 after SIGTERM
    clean_exit_required = True

    def __init__(
        self,
        base: Path,
        users: list[str],
        *,
        port: int | None = None,
        max_payload_megs: int | None = None,
        passwords_hashed: bool = False,
        extra_env: dict[str, str] | None = None,
    ):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.users = list(users)
        self.port = port or free_port()
        self.max_payload_megs = max_payload_megs
        self.passwords_hashed = passwords_hashed
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        # The log sits next to (not inside) the data folder, so that it never
        # looks like a user directory.
        self.log_path = self.base.parent / f"{self.base.name}.{self.name}.log"
        self._log_file = None
        self.starts = 0

    # -- configuration -------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
        for k in ("MAX_SYNC_PAYLOAD_MEGS", "PASSWORDS_HASHED"):
            env.pop(k, None)
        for i, u in enumerate(self.users, start=1):
            env[f"SYNC_USER{i}"] = u
        env["SYNC_BASE"] = str(self.base)
        env["SYNC_HOST"] = HOST
        env["SYNC_PORT"] = str(self.port)
        if self.max_payload_megs is not None:
            env["MAX_SYNC_PAYLOAD_MEGS"] = str(self.max_payload_megs)
        if self.passwords_hashed:
            env["PASSWORDS_HASHED"] = "1"
        env.update(self.extra_env)
        return env

    def _argv(self) -> list[str]:
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "_Server":
        assert not self.running, f"{self.name} already running"
        self.starts += 1
        self._log_file = open(self.log_path, "ab", buffering=0)
        self._log_file.write(
            f"\n===== test harness: start #{self.starts} of {self.name} on {self.endpoint} "
            f"base={self.base} =====\n".encode()
        )
        self.proc = subprocess.Popen(
            self._argv(),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=str(self.base.parent),
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECS
        last = "no attempt"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(
                    f"{self.name} exited with status {code} during start-up\n{self.log_tail()}"
                )
            try:
                r = requests.get(self.endpoint + "health", timeout=2)
                if r.status_code == 200:
                    self.health_response = r
                    return
                last = f"HTTP {r.status_code}: {r.text[:200]!r}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.1)
        self._kill()
        raise ServerError(
            f"{self.name} did not answer GET /health with 200 within {START_TIMEOUT_SECS:.0f} s "
            f"(last: {last})\n{self.log_tail()}"
        )

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def stop(self) -> int:
        """SIGTERM, wait up to 15 s; kill -9 and fail after that.

        Returns the exit status (negative = killed by that signal, as in
        subprocess). For servers with `clean_exit_required`, a status other
        than 0 fails.
        """
        assert self.proc is not None, f"{self.name} was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                self._kill()
                raise ServerError(
                    f"{self.name} did not exit within {STOP_TIMEOUT_SECS:.0f} s of SIGTERM "
                    f"(killed with SIGKILL)\n{self.log_tail()}"
                )
        code = self.proc.returncode
        self._close_log()
        if self.clean_exit_required and code != 0:
            raise ServerError(
                f"{self.name} exited with status {code} after SIGTERM, expected 0\n{self.log_tail()}"
            )
        return code

    def restart(self) -> "_Server":
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Best-effort termination for fixture teardown (no assertions)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    # -- diagnostics ---------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = _strip_ansi(self.log_text())
        tail = text.splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)

    def count_requests(self, path: str, status: int = 200) -> int:
        """How many requests to `path` (e.g. "/sync/chunk") the log shows
        answered with `status`. Both servers log one line per request:
        kioku `endpoint=/sync/chunk status=200`, the official server
        `uri="/sync/chunk" … httpstatus=200`."""
        pat = re.compile(re.escape(path) + r'["\s].*status=' + str(status) + r"\b")
        return sum(1 for line in _strip_ansi(self.log_text()).splitlines() if pat.search(line))

    def user_dir(self, user: str) -> Path:
        return self.base / user

    def collection_path(self, user: str) -> Path:
        return self.base / user / "collection.anki2"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint} base={self.base}>"


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class KiokuServer(_Server):
    name = "kioku"
    clean_exit_required = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: the HTTPS port (kioku serves HTTPS beside plain HTTP)
        self.tls_port = free_port()
        #: the AnkiConnect API's own port
        self.api_port = free_port()

    @property
    def https_endpoint(self) -> str:
        return f"https://localhost:{self.tls_port}/"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in super().env().items() if not k.startswith("KIOKU_TLS_")}
        env["KIOKU_TLS_PORT"] = str(self.tls_port)
        env["KIOKU_ANKICONNECT_PORT"] = self.extra_env.get("KIOKU_ANKICONNECT_PORT", str(self.api_port))
        env.update({k: v for k, v in self.extra_env.items() if k.startswith("KIOKU_TLS_")})
        return env

    def _argv(self) -> list[str]:
        return [kioku_bin(), "serve"]


class OfficialServer(_Server):
    """The reference implementation from the `anki` package.

    It dies from SIGTERM (status -15) and leaves its SQLite WAL behind; that
    is normal for it, so a non-zero status is accepted.
    """

    name = "official"
    clean_exit_required = False

    def _argv(self) -> list[str]:
        return [sys.executable, "-m", "anki.syncserver"]

    def env(self) -> dict[str, str]:
        env = super().env()
        env.setdefault("RUST_LOG", "anki=info")
        return env

"""The SD image booted under qemu-system-aarch64, for tests/image.

`Box` copies the image to a disk file (one size bigger, like a bigger card),
edits its boot partition with mtools (what a user does with a card reader),
adds the test's report unit to the root file system with debugfs, and boots
it under `qemu-system-aarch64 -M virt` (TCG) with user networking: the box's
ports 80, 443, 8765 (AnkiConnect) and 22 are forwarded from free ports on
127.0.0.1 only. Every
wait is bounded; qemu is killed when the test process ends, however it ends
(PR_SET_PDEATHSIG), and its pid is written to $KIOKU_IMAGE_PIDFILE for
scripts/test-image's trap.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

# The interop suite's picker (conftest.py puts tests/interop on the path):
# it never hands out a port twice, so qemu's four forwards cannot clash.
from servers import free_port

HOST = "127.0.0.1"
REPORT_PREFIX = "KIOKU-TEST| "
REPORT_END = "KIOKU-TEST-END"

# Test-only additions to the copy under test (never in the image itself): a
# oneshot unit that prints a report on the serial console once kioku.service
# has started (or failed), and the script it runs (also run over SSH later).
REPORT_SCRIPT = r"""#!/bin/sh
# kioku image test: a report for scripts/test-image (test copy only).
{
echo "uptime $(cut -d' ' -f1 /proc/uptime)"
echo "kioku-active $(systemctl is-active kioku.service)"
echo "firstboot-active $(systemctl is-active kioku-firstboot.service)"
pid=$(systemctl show -p MainPID --value kioku.service)
echo "kioku-pid $pid"
echo "kioku-uid-expected $(id -u kioku)"
systemctl show -p NRestarts -p WatchdogUSec -p WatchdogTimestampMonotonic -p ActiveEnterTimestampMonotonic -p StatusText kioku.service
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
    grep -E '^(Uid|VmRSS|VmHWM|CapEff|CapAmb|NoNewPrivs|Seccomp):' "/proc/$pid/status"
fi
SYSTEMD_COLORS=0 systemd-analyze security --no-pager kioku.service
# `kioku status` as root with no flags (the settings through
# /etc/kioku/kioku.toml, the control socket as the data folder's owner),
# once discovery announces eth0 (DHCP may come after kioku starts; bounded).
for i in $(seq 40); do
    st=$(kioku status --json 2>&1 | tr -d '\n')
    case "$st" in *'"name": "eth0"'*|*'"name":"eth0"'*) break ;; esac
    sleep 1
done
echo "kioku-status $st"
df -B1M --output=target,size /var/lib/kioku /
echo "listening:"
ss -Hltn
echo "udp5353:"
ss -Hulpn 'sport = :5353'
echo "failed-units:"
systemctl --failed --no-legend --plain
echo "firstboot-log:"
journalctl -b -u kioku-firstboot --no-pager -o cat
echo "kioku-log:"
journalctl -b -u kioku --no-pager -o cat | tail -n 40
} 2>&1 | sed 's/^/KIOKU-TEST| /'
echo KIOKU-TEST-END
"""

REPORT_UNIT = """[Unit]
Description=kioku image test: report on the serial console
After=kioku.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kioku-test-report
StandardOutput=journal+console
"""


class BoxError(AssertionError):
    pass


def run(argv: list[str], *, input: bytes | None = None, timeout: float = 120) -> str:
    out = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise BoxError(f"{argv} failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
    return out.stdout.decode(errors="replace")


def _die_with_parent() -> None:
    # qemu gets SIGKILL when the test process goes away, whatever the reason.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Report:
    """What the report script printed, as lines (without the prefix)."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def value(self, key: str) -> str:
        for line in self.lines:
            if line.startswith(key + " ") or line.startswith(key + ":") or line.startswith(key + "="):
                return line[len(key) + 1 :].strip()
        raise BoxError(f"no {key!r} in the report:\n{self.text()}")

    def exposure(self) -> float:
        m = re.search(r"Overall exposure level for kioku\.service: ([0-9.]+)", self.text())
        if not m:
            raise BoxError(f"no exposure level in the report:\n{self.text()}")
        return float(m.group(1))

    def listening_ports(self) -> set[int]:
        ports = set()
        for line in self.lines:
            m = re.match(r"LISTEN\s+\d+\s+\d+\s+\S*:(\d+)\s", line)
            if m:
                ports.add(int(m.group(1)))
        return ports

    def mounted_mib(self, target: str) -> int:
        for line in self.lines:
            parts = line.split()
            if len(parts) == 2 and parts[0] == target and parts[1].isdigit():
                return int(parts[1])
        raise BoxError(f"no size of {target} in the report:\n{self.text()}")

    def status(self) -> dict:
        """`kioku status --json` as the report printed it."""
        raw = self.value("kioku-status")
        try:
            return json.loads(raw)
        except ValueError:
            raise BoxError(f"kioku status --json printed no JSON: {raw}\n{self.text()}")

    def section(self, title: str) -> str:
        out, inside = [], False
        for line in self.lines:
            if line.endswith(":") and not line.startswith(" ") and " " not in line:
                inside = line == title + ":"
                continue
            if inside:
                out.append(line)
        return "\n".join(out)

    def text(self) -> str:
        return "\n".join(self.lines)


class Box:
    def __init__(self, image: Path, work: Path, *, grow_bytes: int = 1 << 30):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.disk = self.work / "disk.img"
        run(["cp", "--sparse=always", str(image), str(self.disk)], timeout=300)
        # A bigger card than the image: the first boot grows the data partition.
        os.truncate(self.disk, self.disk.stat().st_size + grow_bytes)
        table = json.loads(run(["sfdisk", "-J", str(self.disk)]))["partitiontable"]
        sector = table.get("sectorsize", 512)
        self.offsets = [p["start"] * sector for p in table["partitions"]]
        self.proc: subprocess.Popen | None = None
        self.boots = 0
        self.ports: dict[str, int] = {}
        self.pidfile = os.environ.get("KIOKU_IMAGE_PIDFILE")
        self.started_at = 0.0

    # -- the card, as seen from a PC ---------------------------------
    def _fat(self) -> str:
        return f"{self.disk}@@{self.offsets[0]}"

    def fat_put(self, name: str, data: bytes) -> None:
        src = self.work / f"fat-{name}"
        src.write_bytes(data)
        run(["mcopy", "-o", "-i", self._fat(), str(src), f"::{name}"])
        src.unlink()

    def fat_names(self) -> set[str]:
        return set(run(["mdir", "-b", "-i", self._fat(), "::"]).replace("::/", "").split())

    def fat_get(self, name: str) -> bytes:
        dest = self.work / f"fat-get-{name}"
        run(["mcopy", "-o", "-i", self._fat(), f"::{name}", str(dest)])
        data = dest.read_bytes()
        dest.unlink()
        return data

    def add_report_unit(self) -> None:
        root = f"{self.disk}?offset={self.offsets[1]}"
        script = self.work / "kioku-test-report"
        unit = self.work / "kioku-test-report.service"
        script.write_text(REPORT_SCRIPT)
        script.chmod(0o755)
        unit.write_text(REPORT_UNIT)
        for cmd in [
            f"write {script} /usr/local/sbin/kioku-test-report",
            "set_inode_field /usr/local/sbin/kioku-test-report mode 0100755",
            f"write {unit} /etc/systemd/system/kioku-test-report.service",
            "symlink /etc/systemd/system/multi-user.target.wants/kioku-test-report.service "
            "/etc/systemd/system/kioku-test-report.service",
        ]:
            run(["debugfs", "-w", "-R", cmd, root])
        check = run(["debugfs", "-R", "ls -l /etc/systemd/system/multi-user.target.wants", root])
        if "kioku-test-report.service" not in check:
            raise BoxError(f"the report unit was not added:\n{check}")

    # -- power ----------------------------------------------------------
    def serial_path(self) -> Path:
        return self.work / f"serial-{self.boots}.log"

    def serial(self) -> str:
        try:
            return self.serial_path().read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def boot(self) -> None:
        assert not self.running, "the box is already running"
        self.boots += 1
        for name in ("vmlinuz", "initrd.img"):
            found = [n for n in self.fat_names() if n.startswith(name + "-")]
            if len(found) != 1:
                raise BoxError(f"expected one {name}-* on the boot partition, found {found}")
            (self.work / name).write_bytes(self.fat_get(found[0]))
        for attempt in range(3):
            guests = (("http", 80), ("https", 443), ("api", 8765), ("ssh", 22))
            self.ports = {k: free_port() for k, _ in guests}
            fwd = ",".join(f"hostfwd=tcp:{HOST}:{self.ports[k]}-:{guest}" for k, guest in guests)
            argv = [
                "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2",
                # The smallest board kioku is for has 512 MB.
                "-m", "512", "-nodefaults", "-display", "none", "-monitor", "none",
                "-serial", f"file:{self.serial_path()}",
                "-kernel", str(self.work / "vmlinuz"), "-initrd", str(self.work / "initrd.img"),
                "-append", "console=ttyAMA0 root=LABEL=RASPIROOT rw rootwait fsck.repair=yes net.ifnames=0",
                "-drive", f"if=none,file={self.disk},format=raw,id=hd0",
                "-device", "virtio-blk-pci,drive=hd0",
                "-netdev", f"user,id=n0,{fwd}", "-device", "virtio-net-pci,netdev=n0,romfile=",
                "-device", "virtio-rng-pci", "-no-reboot",
            ]
            log = open(self.work / f"qemu-{self.boots}.log", "wb")
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
            log.close()
            if self.pidfile:
                with open(self.pidfile, "a") as f:
                    f.write(f"{self.proc.pid}\n")
            time.sleep(1.0)
            if self.proc.poll() is None:
                return
            text = (self.work / f"qemu-{self.boots}.log").read_text(errors="replace")
            if "host forwarding" not in text:
                raise BoxError(f"qemu exited at once ({self.proc.returncode}):\n{text}")
        raise BoxError("qemu could not forward its ports after 3 tries")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Pulls the plug: SIGKILL to qemu, no shutdown in the guest."""
        if self.running:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def wait_stopped(self, limit: float) -> None:
        try:
            self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BoxError(f"the box did not power off within {limit:.0f} s\n{self.serial()[-3000:]}")

    # -- waiting --------------------------------------------------------
    @property
    def http(self) -> str:
        return f"http://{HOST}:{self.ports['http']}/"

    @property
    def https(self) -> str:
        return f"https://{HOST}:{self.ports['https']}/"

    @property
    def api(self) -> str:
        return f"http://{HOST}:{self.ports['api']}/"

    def wait_ready(self, limit: float) -> float:
        """Seconds from qemu's start until kioku answers /health through the
        forwarded plain-HTTP port."""
        deadline = self.started_at + limit
        last = "no attempt"
        while time.monotonic() < deadline:
            if not self.running:
                raise BoxError(f"qemu exited ({self.proc.returncode})\n{self.serial()[-4000:]}")
            try:
                r = requests.get(self.http + "health", timeout=5)
                if r.status_code == 200:
                    return time.monotonic() - self.started_at
                last = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(1.0)
        raise BoxError(
            f"kioku did not answer /health within {limit:.0f} s of boot (last: {last})\n"
            f"{self.serial()[-6000:]}"
        )

    def wait_report(self, limit: float) -> Report:
        deadline = self.started_at + limit
        while time.monotonic() < deadline:
            text = self.serial()
            if REPORT_END in text:
                return parse_report(text)
            if not self.running:
                break
            time.sleep(1.0)
        raise BoxError(f"no report on the serial console within {limit:.0f} s\n{self.serial()[-6000:]}")

    # -- SSH (after the authorized_keys opt-in) ---------------------------
    def ssh_argv(self, key: Path) -> list[str]:
        return [
            "ssh", "-i", str(key), "-p", str(self.ports["ssh"]),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", f"root@{HOST}",
        ]

    def ssh(self, key: Path, command: str, *, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.ssh_argv(key) + [command], capture_output=True, text=True, timeout=timeout
        )

    def wait_ssh(self, key: Path, limit: float) -> None:
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            last = self.ssh(key, "true", timeout=30)
            if last.returncode == 0:
                return
            time.sleep(2.0)
        raise BoxError(f"no SSH login within {limit:.0f} s: {last.stderr if last else ''}")


def parse_report(text: str) -> Report:
    lines = []
    for line in text.splitlines():
        i = line.find(REPORT_PREFIX)
        if i >= 0:
            lines.append(line[i + len(REPORT_PREFIX) :].rstrip("\r"))
    return Report(lines)

"""The SD image, booted under qemu-system-aarch64, with the real Anki client.

Run by scripts/test-image (which builds the image first); the tests run in
order and share one box:

  boot 1 (first boot): a kioku.toml written on the boot partition as Windows
    Notepad writes it (BOM, CRLF) is the only source of users; a bigger
    "card" than the image. Checks readiness, the sandbox (exposure score,
    user, capabilities, seccomp), the grown data partition, no SSH, the CA
    over plain HTTP, then the real client over HTTPS trusting only that CA:
    login, full upload and download, media sync, normal syncs.
  power cut: qemu killed while kioku idles; an authorized_keys file is put on
    the boot partition.
  boot 2: normal syncs only (no full sync); SSH with the key, never with a
    password; kioku has pinged the watchdog and never restarted;
    kioku-update: bad checksum refused, a broken release rolled back, a good
    one installed, --rollback; a frozen kioku (SIGSTOP) is restarted by the
    watchdog; scripts/uninstall keeps the data and scripts/install brings
    kioku back; a clean power-off over SSH; a kioku.toml kioku must refuse
    is put on the boot partition.
  boot 3: normal syncs only; the refused file changed nothing and is
    reported on the boot partition.

Environment: KIOKU_IMAGE (the raw image), KIOKU_IMAGE_WORK (a scratch
folder), KIOKU_IMAGE_MAX_EXPOSURE (the highest acceptable
`systemd-analyze security` score), KIOKU_IMAGE_BOOT_LIMIT (seconds a boot
may take until kioku answers, default 600), KIOKU_IMAGE_BINARY (the aarch64
binary inside the image, for the update test).
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import ssl
import subprocess
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import requests

import clients
import mediaclient
from box import Box, BoxError, parse_report


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set; run scripts/test-image", pytrace=False)
    return value


USERS = {"alice": "correct horse battery", "bob": "staple 42"}
# As Windows Notepad saves it: UTF-8 with a byte-order mark, CRLF line ends.
BOOT_TOML = (
    "\ufeff# written on a PC\r\n"
    f'users = ["alice:{USERS["alice"]}", "bob:{USERS["bob"]}"]\r\n'
).encode("utf-8")
BAD_TOML = b'users = ["carol:pw"]\nno_such_setting = 1\n'
CAP_NET_BIND_SERVICE = 1 << 10


class Run:
    def __init__(self):
        self.image = Path(env("KIOKU_IMAGE"))
        self.work = Path(env("KIOKU_IMAGE_WORK"))
        self.max_exposure = float(env("KIOKU_IMAGE_MAX_EXPOSURE"))
        self.boot_limit = float(os.environ.get("KIOKU_IMAGE_BOOT_LIMIT", "600"))
        self.box: Box | None = None
        self.figures: dict[str, str] = {}
        self.cols: dict = {}
        self.auth: dict = {}
        self.ca_pem = ""
        self.key = self.work / "id_ed25519"
        self.reports: list[str] = []

    def device(self, name: str):
        if name not in self.cols:
            self.cols[name] = clients.open_collection(self.work / "devices" / name)
        return self.cols[name]

    def trust(self, col) -> None:
        assert col._backend.set_custom_certificate(self.ca_pem), "the client rejected the CA PEM"

    def summary(self) -> None:
        lines = [f"{k}: {v}" for k, v in self.figures.items()]
        (self.work / "summary.txt").write_text("\n".join(lines) + "\n")
        (self.work / "reports.txt").write_text("\n\n".join(self.reports) + "\n")


@pytest.fixture(scope="module")
def run():
    r = Run()
    yield r
    for col in r.cols.values():
        try:
            col.close()
        except Exception:
            pass
    if r.box is not None:
        r.box.kill()
    r.summary()


def strip_escapes(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sync_both_normally(run, what: str) -> None:
    a, b = run.device("A"), run.device("B")
    clients.add_note(a, "Basic", [f"added on A: {what}", "back"], "Default")
    clients.sync_normal(a, run.auth["A"], what=f"A, {what}")
    clients.sync_normal(b, run.auth["B"], what=f"B, {what}")
    clients.add_note(b, "Basic", [f"added on B: {what}", "back"], "Default")
    clients.sync_normal(b, run.auth["B"], what=f"B, {what}")
    clients.sync_normal(a, run.auth["A"], what=f"A again, {what}")
    clients.assert_collections_equal(a, b)


def relogin(run) -> None:
    """The forwarded ports change with every boot: the devices log in again
    (a login only fetches the same host key; it never forces a full sync)."""
    for name in ("A", "B"):
        run.auth[name] = clients.login(run.device(name), run.box.https, "alice", USERS["alice"])


# ---------------------------------------------------------------- boot 1


def test_image_and_its_checksum_are_there(run):
    xz = Path(str(run.image) + ".xz")
    sums = Path(str(xz) + ".sha256")
    for f in (run.image, xz, sums):
        assert f.is_file(), f"{f} is missing (image/build)"
    out = subprocess.run(["sha256sum", "-c", sums.name], cwd=xz.parent, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    run.figures["image raw bytes"] = str(run.image.stat().st_size)
    run.figures["image xz bytes"] = str(xz.stat().st_size)


def test_first_boot_reaches_ready(run):
    run.box = box = Box(run.image, run.work / "box")
    assert "kioku.toml.example" in box.fat_names()
    box.fat_put("kioku.toml", BOOT_TOML)
    box.add_report_unit()
    box.boot()
    took = box.wait_ready(run.boot_limit)
    run.figures["first boot: qemu start to kioku ready (s)"] = f"{took:.1f}"
    report = box.wait_report(run.boot_limit)
    run.reports.append("== boot 1 (serial console)\n" + report.text())
    run.report1 = report
    run.figures["first boot: uptime when the report ran (s)"] = report.value("uptime")
    assert report.value("kioku-active") == "active", report.text()
    assert report.value("firstboot-active") == "active", report.text()


def test_kioku_runs_sandboxed_as_its_own_user(run):
    r = run.report1
    uid = r.value("Uid").split()[0]
    assert uid == r.value("kioku-uid-expected") and uid != "0", r.text()
    assert r.value("NoNewPrivs") == "1", r.text()
    assert r.value("Seccomp") == "2", r.text()  # a seccomp filter is in force
    assert int(r.value("CapEff"), 16) == CAP_NET_BIND_SERVICE, r.text()
    # Type=notify: ready with a status line; the watchdog (30 s) has been
    # pinged; no restart so far.
    assert r.value("StatusText").startswith("listening on http://0.0.0.0:80/"), r.text()
    assert r.value("WatchdogUSec") == "30s", r.text()
    assert int(r.value("WatchdogTimestampMonotonic")) > 0, r.text()
    assert r.value("NRestarts") == "0", r.text()
    exposure = r.exposure()
    run.figures["systemd-analyze security kioku (exposure)"] = f"{exposure} (limit {run.max_exposure})"
    assert exposure <= run.max_exposure, r.text()
    rss_kib = int(r.value("VmRSS").split()[0])
    run.figures["kioku RSS after boot (KiB)"] = str(rss_kib)
    assert rss_kib < 64 * 1024, r.text()


def test_first_boot_grew_the_data_partition_and_made_the_ca(run):
    r = run.report1
    size = r.mounted_mib("/var/lib/kioku")
    run.figures["data partition after first boot (MiB)"] = str(size)
    assert size > 900, f"the data partition was not grown (1 GiB more card): {size} MiB\n{r.text()}"
    assert "CA SHA-256:" in r.section("firstboot-log"), r.text()
    assert "settings imported from /boot/firmware/kioku.toml" in r.section("firstboot-log"), r.text()
    assert r.section("failed-units").strip() == "", r.text()


def test_no_ssh_by_default_and_kioku_on_80_and_443(run):
    ports = run.report1.listening_ports()
    assert {80, 443} <= ports, run.report1.text()
    assert 22 not in ports, run.report1.text()


def test_the_ca_comes_over_plain_http_and_matches_the_console(run):
    box = run.box
    page = requests.get(box.http, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    pem = requests.get(box.http + "ca.pem", timeout=30)
    assert pem.status_code == 200 and "BEGIN CERTIFICATE" in pem.text
    run.ca_pem = pem.text
    der = ssl.PEM_cert_to_DER_cert(pem.text)
    printed = re.search(r"CA SHA-256:\s+([0-9A-F:]+)", run.report1.section("firstboot-log"))
    assert printed, run.report1.text()
    assert printed.group(1).replace(":", "").lower() == sha256(der)


def test_real_client_syncs_over_https_trusting_only_the_box_ca(run):
    url = run.box.https
    a = run.device("A")
    run.trust(a)
    clients.fill_device(a, "A")
    run.auth["A"] = clients.login(a, url, "alice", USERS["alice"])
    clients.upload_new(a, run.auth["A"])
    a.media.write_data("from-the-box-test.txt", b"media over TLS " + os.urandom(3000))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, run.auth["A"])

    b = run.device("B")
    run.trust(b)
    run.auth["B"] = clients.login(b, url, "alice", USERS["alice"])
    clients.download_new(b, run.auth["B"])
    mediaclient.sync_media(b, run.auth["B"])
    mediaclient.assert_media_equal(a, b, what="A and B after media sync with the box")
    sync_both_normally(run, "boot 1")

    # The second user from the boot partition's kioku.toml logs in too.
    bob = run.device("bob")
    run.trust(bob)
    assert clients.login(bob, url, "bob", USERS["bob"]).hkey
    # A client that does not trust the box's CA cannot log in.
    c = run.device("C")
    with pytest.raises(Exception) as err:
        clients.login(c, url, "alice", USERS["alice"])
    assert "network" in str(err.value).lower() or "certificate" in str(err.value).lower()


# ---------------------------------------------------------------- power cut


def test_power_cut_while_idle_then_boot_with_ssh_opted_in(run):
    box = run.box
    time.sleep(5)  # kioku idles
    box.kill()
    names = box.fat_names()
    assert "kioku.toml" not in names, f"kioku.toml is still on the boot partition: {names}"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(run.key)], check=True)
    box.fat_put("authorized_keys", run.key.with_suffix(".pub").read_bytes())
    box.boot()
    took = box.wait_ready(run.boot_limit)
    run.figures["boot after a power cut: qemu start to kioku ready (s)"] = f"{took:.1f}"
    # The initramfs checked the root file system (replaying its journal),
    # systemd the others.
    serial = strip_escapes(box.serial())
    assert "Will now check root file system" in serial and "RASPIROOT: clean" in serial, serial[-4000:]
    assert re.search(r"Finished systemd-fsck@.*KIOKUDATA", serial), serial[-4000:]
    relogin(run)
    sync_both_normally(run, "after the power cut")
    a, b = run.device("A"), run.device("B")
    a.media.write_data("after-power-cut.txt", b"still here " + os.urandom(500))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, run.auth["A"])
    mediaclient.sync_media(b, run.auth["B"])
    mediaclient.assert_media_equal(a, b, what="media after the power cut")


def test_ssh_works_with_the_key_and_never_with_a_password(run):
    box = run.box
    box.wait_ssh(run.key, 180)
    out = box.ssh(run.key, "ls /boot/firmware; systemctl is-active kioku")
    assert out.returncode == 0, out.stderr
    assert "authorized_keys" not in out.stdout.split(), out.stdout
    assert out.stdout.split()[-1] == "active", out.stdout
    password_only = [
        "ssh", "-p", str(box.ports["ssh"]),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
        "root@127.0.0.1", "true",
    ]
    refused = subprocess.run(password_only, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused.stderr
    r = parse_report(box.ssh(run.key, "/usr/local/sbin/kioku-test-report").stdout)
    active_for = float(r.value("uptime")) - int(r.value("ActiveEnterTimestampMonotonic")) / 1e6
    if active_for < 40:  # let at least two watchdog periods pass
        time.sleep(40 - active_for)
        r = parse_report(box.ssh(run.key, "/usr/local/sbin/kioku-test-report").stdout)
    run.reports.append("== boot 2, after the syncs (over SSH)\n" + r.text())
    assert 22 in r.listening_ports(), r.text()
    # Minutes of syncs later: kioku never restarted, and it has pinged the
    # watchdog (every 15 s) since it became ready.
    assert r.value("NRestarts") == "0", r.text()
    active_for = float(r.value("uptime")) - int(r.value("ActiveEnterTimestampMonotonic")) / 1e6
    assert active_for > 35, f"kioku has been up only {active_for:.0f} s\n{r.text()}"
    pinged = int(r.value("WatchdogTimestampMonotonic")) - int(r.value("ActiveEnterTimestampMonotonic"))
    assert pinged > 10e6, f"no watchdog ping since kioku became ready\n{r.text()}"
    run.figures["kioku RSS after the syncs (KiB)"] = r.value("VmRSS").split()[0]
    run.figures["kioku peak RSS (VmHWM, KiB)"] = r.value("VmHWM").split()[0]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_kioku_update_checks_rolls_back_and_installs(run):
    box = run.box
    binary = Path(env("KIOKU_IMAGE_BINARY")).read_bytes()
    name = "kioku-" + env("KIOKU_IMAGE_VERSION") + "-aarch64-linux-musl"
    current = box.ssh(run.key, "sha256sum /usr/local/bin/kioku; kioku --version")
    assert current.returncode == 0 and current.stdout.split()[0] == sha256(binary), current.stdout
    version_line = current.stdout.splitlines()[-1]

    releases = run.work / "releases"
    good = binary + b"\0kioku image test: a new release\n"
    broken = (
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "{version_line}"; exit 0; fi\n'
        "exit 1\n"
    ).encode()
    for folder, data, listed in (
        ("good", good, sha256(good)),
        ("broken", broken, sha256(broken)),
        ("badsum", good, sha256(b"something else")),
    ):
        (releases / folder).mkdir(parents=True, exist_ok=True)
        (releases / folder / name).write_bytes(data)
        (releases / folder / "SHA256SUMS").write_text(f"{listed}  {name}\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(releases)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://10.0.2.2:{server.server_address[1]}"  # the host, seen from qemu's user network

    def update(args: str):
        return box.ssh(run.key, f"KIOKU_UPDATE_SETTLE_SECS=4 kioku-update {args}", timeout=300)

    def installed() -> str:
        out = box.ssh(run.key, "sha256sum /usr/local/bin/kioku; systemctl is-active kioku")
        return out.stdout

    try:
        out = update(f"{base}/badsum/{name}")
        assert out.returncode != 0 and "checksum mismatch" in out.stderr, out.stderr
        assert installed().split() == [sha256(binary), "/usr/local/bin/kioku", "active"]

        out = update(f"{base}/broken/{name}")
        assert out.returncode != 0 and "rolling back" in out.stderr, out.stderr
        assert installed().split() == [sha256(binary), "/usr/local/bin/kioku", "active"]
        relogin(run)
        sync_both_normally(run, "after a rolled-back update")

        out = update(f"{base}/good/{name}")
        assert out.returncode == 0, out.stderr
        assert installed().split() == [sha256(good), "/usr/local/bin/kioku", "active"]
        relogin(run)
        sync_both_normally(run, "after an update")

        out = update("--rollback")
        assert out.returncode == 0, out.stderr
        assert installed().split() == [sha256(binary), "/usr/local/bin/kioku", "active"]
    finally:
        server.shutdown()
    relogin(run)
    sync_both_normally(run, "after kioku-update --rollback")


def test_a_hung_kioku_is_restarted_by_the_watchdog(run):
    box = run.box
    show = "systemctl show -p MainPID -p NRestarts --value kioku.service"
    before = box.ssh(run.key, show).stdout.split()
    assert len(before) == 2 and before[0] != "0", before
    # Frozen: no more watchdog pings. systemd aborts it after WatchdogSec (30 s),
    # kills it after TimeoutStopSec (30 s), starts it again after RestartSec.
    assert box.ssh(run.key, f"kill -STOP {before[0]}").returncode == 0
    deadline = time.monotonic() + 150
    after = before
    while time.monotonic() < deadline:
        time.sleep(5)
        after = box.ssh(run.key, show + "; systemctl is-active kioku.service").stdout.split()
        if len(after) == 3 and after[0] not in ("0", before[0]) and after[2] == "active":
            break
    assert len(after) == 3 and after[0] != before[0] and after[2] == "active", (before, after)
    assert int(after[1]) == int(before[1]) + 1, (before, after)
    journal = box.ssh(run.key, "journalctl -b -u kioku.service --no-pager -o cat").stdout
    assert "Watchdog timeout" in journal, journal[-3000:]
    relogin(run)
    sync_both_normally(run, "after the watchdog restarted kioku")


def test_uninstall_keeps_the_data_and_install_brings_kioku_back(run):
    """scripts/uninstall and scripts/install on a real systemd machine (the box)."""
    box = run.box
    repo = Path(__file__).resolve().parents[2]
    files = ["Cargo.toml", "scripts/install", "scripts/uninstall", "systemd"]
    tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", *files], capture_output=True, check=True)
    copy = subprocess.run(
        box.ssh_argv(run.key) + ["rm -rf /root/kioku && mkdir /root/kioku && tar -C /root/kioku -xf - "
                                 "&& cp /usr/local/bin/kioku /root/kioku/kioku-binary"],
        input=tar.stdout, capture_output=True, timeout=120,
    )
    assert copy.returncode == 0, copy.stderr
    out = box.ssh(run.key, "cd /root/kioku && scripts/uninstall")
    assert out.returncode == 0 and "data and settings stay" in out.stdout, out.stdout + out.stderr
    gone = box.ssh(run.key, "ls /usr/local/bin/kioku; systemctl is-active kioku.service; ls /var/lib/kioku/data")
    assert "No such file" in gone.stderr and "inactive" in gone.stdout and "alice" in gone.stdout, gone
    with pytest.raises(requests.RequestException):
        requests.get(box.http + "health", timeout=10)
    out = box.ssh(run.key, "cd /root/kioku && scripts/install --binary /root/kioku/kioku-binary --appliance")
    assert out.returncode == 0 and "kioku is running" in out.stdout, out.stdout + out.stderr
    assert requests.get(box.http + "health", timeout=30).status_code == 200
    relogin(run)
    sync_both_normally(run, "after scripts/uninstall and scripts/install")


def test_clean_power_off_over_ssh(run):
    box = run.box
    box.ssh(run.key, "systemctl poweroff", timeout=60)  # the connection may drop
    box.wait_stopped(180)
    box.fat_put("kioku.toml", BAD_TOML)


# ---------------------------------------------------------------- boot 3


def test_after_a_clean_reboot_syncs_are_normal_and_a_bad_kioku_toml_changes_nothing(run):
    box = run.box
    box.boot()
    took = box.wait_ready(run.boot_limit)
    run.figures["boot after a clean power-off: qemu start to kioku ready (s)"] = f"{took:.1f}"
    relogin(run)  # alice still works: the refused file replaced nothing
    sync_both_normally(run, "after a clean reboot")
    box.wait_ssh(run.key, 180)
    error = box.ssh(run.key, "cat /boot/firmware/KIOKU-CONFIG-ERROR.txt")
    assert error.returncode == 0 and "no_such_setting" in error.stdout, error.stdout + error.stderr
    boot_files = box.ssh(run.key, "ls /boot/firmware").stdout.split()
    assert "kioku.toml" not in boot_files, boot_files
    state_files = box.ssh(run.key, "ls /var/lib/kioku").stdout.split()
    assert {"kioku.toml", "kioku.toml.rejected"} <= set(state_files), state_files
    box.ssh(run.key, "systemctl poweroff", timeout=60)
    box.wait_stopped(180)
    assert "kioku.toml" not in box.fat_names()

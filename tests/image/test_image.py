"""The SD image, booted under qemu-system-aarch64, with the real Anki client.

Run by scripts/test-image (which builds the image first); the tests run in
order and share one box:

  boot 1 (first boot): a fresh card with nothing on its boot partition, a
    bigger "card" than the image. Checks readiness, the sandbox (exposure
    score, user, capabilities, seccomp), the grown data partition, no SSH,
    the ports (80, 443, 8765), discovery (`kioku status` as root with no
    flags: kioku's own mDNS responder announces kioku.local on eth0 with
    the _https/_http/_kioku services, and nothing else listens on UDP 5353),
    the CA over plain HTTP; then onboarding: the first-run form over HTTPS
    creates the first account, whose admin page works; then the real client
    over HTTPS trusting only that CA logs in with it: full upload and
    download, media sync, normal syncs.
  power cut: qemu killed while kioku idles; a kioku.toml written as Windows
    Notepad writes it (BOM, CRLF), with the onboarded account (same
    password) and a new one, and an authorized_keys file are put on the
    boot partition.
  boot 2: the kioku.toml's users were merged into the accounts (the new one
    logs in with the real client; the onboarded one kept its host key:
    devices stay logged in) and left the file; normal syncs only (no full
    sync); SSH with the key, never with a password; kioku has pinged the
    watchdog and never restarted; AnkiConnect: a key made with `kioku apikey
    create` on the box, addNote through port 8765, the client's next sync is
    a normal one with the note; a second kioku in a network namespace on
    the box finds kioku.local taken and becomes kioku-2.local (the box's
    responder answered it); kioku-update: bad checksum refused, a broken
    release rolled back, a good one installed, --rollback; a frozen kioku
    (SIGSTOP) is restarted by the watchdog; scripts/uninstall keeps the data
    and scripts/install brings kioku back; a clean power-off over SSH; a
    kioku.toml kioku must refuse is put on the boot partition.
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
import json
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
from clients import make_auth


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set; run scripts/test-image", pytrace=False)
    return value


USERS = {"alice": "correct horse battery", "bob": "staple 42 staple"}
# As Windows Notepad saves it: UTF-8 with a byte-order mark, CRLF line ends.
# alice was made on the setup page with the same password; bob is new.
BOOT_TOML = (
    "\ufeff# written on a PC\r\n"
    "users = [\r\n"
    f'  "alice:{USERS["alice"]}",\r\n'
    f'  "bob:{USERS["bob"]}",\r\n'
    "]\r\n"
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
    assert "no settings yet: wrote /var/lib/kioku/kioku.toml" in r.section("firstboot-log"), r.text()
    assert r.section("failed-units").strip() == "", r.text()


def test_no_ssh_by_default_and_kioku_on_80_443_and_8765(run):
    ports = run.report1.listening_ports()
    assert {80, 443, 8765} <= ports, run.report1.text()
    assert 22 not in ports, run.report1.text()


def test_kioku_is_the_only_mdns_responder_and_announces_kioku_local_on_eth0(run):
    r = run.report1
    # `kioku status` ran as root with no flags: the settings came through
    # /etc/kioku/kioku.toml and the running server answered on its socket.
    status = r.status()
    assert status.get("running") is True, r.text()
    mdns = status["mdns"]
    run.figures["discovery (kioku status on the box)"] = (
        f"mode {mdns['mode']}, {', '.join(mdns['host_names'])} on "
        + ", ".join(i["name"] for i in mdns["interfaces"])
    )
    assert mdns["mode"] == "own" and mdns["note"] is None, mdns
    assert mdns["host_names"] == ["kioku.local"], mdns
    assert [i["name"] for i in mdns["interfaces"]] == ["eth0"], mdns
    assert any(a.startswith("10.0.2.") for a in mdns["interfaces"][0]["addresses"]), mdns
    services = {s["service_type"]: s for s in mdns["services"]}
    assert set(services) == {"_https._tcp", "_http._tcp", "_kioku._tcp"}, mdns
    assert services["_https._tcp"]["port"] == 443 and services["_http._tcp"]["port"] == 80, mdns
    assert services["_kioku._tcp"]["port"] == 443 and services["_kioku._tcp"]["instances"] == ["kioku"], mdns
    # Nothing but kioku on UDP 5353 (systemd-resolved's mDNS is off).
    sockets = [line for line in r.section("udp5353").splitlines() if line.strip()]
    assert sockets, f"nothing listens on UDP 5353\n{r.text()}"
    assert all('(("kioku",' in line for line in sockets), r.section("udp5353")


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


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden {name} in the page:\n{html[:3000]}"
    return m.group(1)


def cookies(r: requests.Response) -> dict:
    """The cookies a response sets (any name, also __Host- over an IP)."""
    out = {}
    for header in r.raw.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def cookie_header(jar: dict) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def test_onboarding_creates_the_first_account_and_its_admin_page_works(run):
    box = run.box
    ca = run.work / "box-ca.pem"
    ca.write_text(run.ca_pem)
    # Over plain HTTP the form is there and says to switch to HTTPS.
    plain = requests.get(box.http, timeout=30).text
    assert 'action="/setup/first-account"' in plain and "open it over HTTPS" in plain, plain[:3000]
    # Over HTTPS, trusting only the box's CA, as the page suggests.
    page = requests.get(box.https, timeout=30, verify=str(ca))
    assert page.status_code == 200 and 'action="/setup/first-account"' in page.text
    jar = cookies(page)
    form = {
        "token": hidden(page.text, "token"),
        "name": "alice",
        "password": USERS["alice"],
        "password2": USERS["alice"],
    }
    made = requests.post(
        box.https + "setup/first-account", data=form, headers=cookie_header(jar),
        timeout=120, verify=str(ca), allow_redirects=False,
    )
    assert made.status_code == 200 and "Account created" in made.text, made.text[:3000]
    assert requests.get(box.http + "health", timeout=30).json()["users"] == 1
    # The form is gone for good.
    again = requests.post(
        box.https + "setup/first-account", data=form, headers=cookie_header(jar),
        timeout=60, verify=str(ca), allow_redirects=False,
    )
    assert again.status_code == 403, again.text[:2000]
    # The admin page: plain HTTP is sent to HTTPS; there alice logs in.
    redirect = requests.get(box.http + "admin", timeout=30, allow_redirects=False)
    assert redirect.status_code == 307, redirect.status_code
    assert redirect.headers["location"] == "https://127.0.0.1:443/admin", redirect.headers
    login = requests.get(box.https + "admin", timeout=30, verify=str(ca))
    assert login.status_code == 200 and 'action="/admin/login"' in login.text, login.text[:2000]
    jar = cookies(login)
    fields = {"token": hidden(login.text, "token"), "name": "alice", "password": USERS["alice"]}
    session = requests.post(
        box.https + "admin/login", data=fields, headers=cookie_header(jar),
        timeout=120, verify=str(ca), allow_redirects=False,
    )
    assert session.status_code == 303, (session.status_code, session.text[:2000])
    jar.update(cookies(session))
    assert "__Host-kioku_session" in jar, jar
    overview = requests.get(box.https + "admin", headers=cookie_header(jar), timeout=60, verify=str(ca))
    assert overview.status_code == 200, overview.text[:2000]
    assert "alice" in overview.text and 'action="/admin/users"' in overview.text, overview.text[:3000]


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

    # A client that does not trust the box's CA cannot log in.
    c = run.device("C")
    with pytest.raises(Exception) as err:
        clients.login(c, url, "alice", USERS["alice"])
    assert "network" in str(err.value).lower() or "certificate" in str(err.value).lower()


# ---------------------------------------------------------------- power cut


def test_power_cut_while_idle_then_boot_with_accounts_and_ssh_on_the_card(run):
    box = run.box
    time.sleep(5)  # kioku idles
    box.kill()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(run.key)], check=True)
    box.fat_put("authorized_keys", run.key.with_suffix(".pub").read_bytes())
    box.fat_put("kioku.toml", BOOT_TOML)
    box.boot()
    took = box.wait_ready(run.boot_limit)
    run.figures["boot after a power cut: qemu start to kioku ready (s)"] = f"{took:.1f}"
    # The initramfs checked the root file system (replaying its journal),
    # systemd the others.
    serial = strip_escapes(box.serial())
    assert "Will now check root file system" in serial and "RASPIROOT: clean" in serial, serial[-4000:]
    assert re.search(r"Finished systemd-fsck@.*KIOKUDATA", serial), serial[-4000:]
    report = box.wait_report(run.boot_limit)
    run.reports.append("== boot 2 (serial console)\n" + report.text())
    log = report.section("firstboot-log")
    assert "settings imported from /boot/firmware/kioku.toml" in log, report.text()
    assert "import: alice: unchanged (same password)" in log, report.text()
    assert "import: bob: added" in log, report.text()
    # alice's devices are still logged in: the same host key works on the
    # new forwarded port without a login.
    for name in ("A", "B"):
        run.auth[name] = make_auth(run.auth[name].hkey, box.https)
    sync_both_normally(run, "after the power cut")
    a, b = run.device("A"), run.device("B")
    a.media.write_data("after-power-cut.txt", b"still here " + os.urandom(500))
    mediaclient.wait_for_folder_mtime()
    mediaclient.sync_media(a, run.auth["A"])
    mediaclient.sync_media(b, run.auth["B"])
    mediaclient.assert_media_equal(a, b, what="media after the power cut")


def test_the_cards_users_became_accounts_and_left_the_settings(run):
    box = run.box
    bob = run.device("bob")
    run.trust(bob)
    assert clients.login(bob, box.https, "bob", USERS["bob"]).hkey
    box.wait_ssh(run.key, 180)
    # `kioku user list` as root with no flags reads the service's settings.
    listed = box.ssh(run.key, "kioku user list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert set(rows) == {"alice", "bob"}, listed.stdout
    assert "admin" in rows["alice"] and "admin" not in rows["bob"], listed.stdout
    assert "users.toml" in rows["bob"], listed.stdout
    boot_files = box.ssh(run.key, "ls /boot/firmware").stdout.split()
    assert "kioku.toml" not in boot_files and "KIOKU-CONFIG-ERROR.txt" not in boot_files, boot_files
    settings = box.ssh(run.key, "cat /var/lib/kioku/kioku.toml; ls -l /etc/kioku/kioku.toml")
    assert settings.returncode == 0, settings.stderr
    assert USERS["alice"] not in settings.stdout and USERS["bob"] not in settings.stdout, settings.stdout
    assert 'base = "/var/lib/kioku/data"' in settings.stdout, settings.stdout
    assert "-> /var/lib/kioku/kioku.toml" in settings.stdout, settings.stdout


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


def test_a_note_added_over_ankiconnect_arrives_with_a_normal_sync(run):
    box = run.box
    made = box.ssh(run.key, "kioku apikey create alice --label 'image test'")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert len(key) == 32, made.stdout
    front = f"added over AnkiConnect {time.time_ns()}"
    body = {
        "action": "addNote", "version": 6, "key": key,
        "params": {"note": {
            "deckName": "Default", "modelName": "Basic",
            "fields": {"Front": front, "Back": "on the box"}, "tags": ["yomitan"],
        }},
    }
    reply = requests.post(box.api, json=body, timeout=60).json()
    assert reply["error"] is None and isinstance(reply["result"], int), reply
    wrong = requests.post(box.api, json={**body, "key": "0" * 32}, timeout=60).json()
    assert wrong["result"] is None and "api key" in wrong["error"], wrong
    a = run.device("A")
    clients.sync_normal(a, run.auth["A"], what="A, after an AnkiConnect addNote")
    found = a.find_notes(f'"Front:{front}"')
    assert len(found) == 1, f"the note from AnkiConnect did not arrive: {found}"
    assert a.get_note(found[0]).tags == ["yomitan"]
    sync_both_normally(run, "after AnkiConnect")


def test_a_second_responder_on_the_network_finds_kioku_local_taken(run):
    """A second kioku in a network namespace on the box, joined to it by a
    veth pair, probes for kioku.local: the box's responder answers over the
    veth, so the newcomer takes kioku-2.local and the box keeps its name."""
    box = run.box
    script = r"""
set -e
ip netns add kpeer
trap 'kill $peer 2>/dev/null; ip netns del kpeer; ip link del kv0 2>/dev/null; rm -rf /tmp/kpeer' EXIT
ip link add kv0 type veth peer name kv1 netns kpeer
ip addr add 10.77.0.1/24 dev kv0
ip link set kv0 up
ip -n kpeer addr add 10.77.0.2/24 dev kv1
ip -n kpeer link set kv1 up
ip -n kpeer link set lo up
# The box's kioku looks at its interfaces every 5 s, then probes kv0 for
# its name and announces it there; a newcomer probing at the same moment
# could win the tie-break (RFC 6762 8.2) and rename the box on kv0.
for i in $(seq 20); do
    kioku status --json | tr -d '\n' | grep -q '"name": "kv0"' && break
    sleep 1
done
sleep 5
mkdir -p /tmp/kpeer
KIOKU_CONFIG= ip netns exec kpeer kioku serve --base /tmp/kpeer --port 8081 --tls-port 8444     --no-ankiconnect > /tmp/kpeer/log 2>&1 &
peer=$!
for i in $(seq 30); do
    grep -q 'this one is now kioku-2.local' /tmp/kpeer/log && break
    sleep 1
done
cat /tmp/kpeer/log
echo "BOX-STATUS $(kioku status --json | tr -d '\n')"
"""
    out = box.ssh(run.key, script, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "another host already answers for kioku.local; this one is now kioku-2.local" in out.stdout, out.stdout
    status = json.loads(out.stdout.split("BOX-STATUS ", 1)[1])
    assert status["mdns"]["host_names"] == ["kioku.local"], status["mdns"]
    assert "kv0" in [i["name"] for i in status["mdns"]["interfaces"]], status["mdns"]
    run.figures["a second kioku beside the box"] = "became kioku-2.local (the box kept kioku.local)"


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
    listed = box.ssh(run.key, "kioku user list").stdout.split()
    assert "alice" in listed and "carol" not in listed, listed
    error = box.ssh(run.key, "cat /boot/firmware/KIOKU-CONFIG-ERROR.txt")
    assert error.returncode == 0 and "no_such_setting" in error.stdout, error.stdout + error.stderr
    boot_files = box.ssh(run.key, "ls /boot/firmware").stdout.split()
    assert "kioku.toml" not in boot_files, boot_files
    state_files = box.ssh(run.key, "ls /var/lib/kioku").stdout.split()
    assert {"kioku.toml", "kioku.toml.rejected"} <= set(state_files), state_files
    box.ssh(run.key, "systemctl poweroff", timeout=60)
    box.wait_stopped(180)
    assert "kioku.toml" not in box.fat_names()

"""``enms user`` and ``enms serve`` as a user runs them: the first admin without a
default password, a device and its key, and the server process answering on
loopback with the secret it generated (or refusing a weak one in one line)."""
import json
import os
import socket
import stat
import subprocess
import sys
import time

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("uvicorn")

PASSWORD = "first admin password 42"


def enms(tmp_path, *args, input=None, env=None, expect=0):
    environ = {**os.environ, "ENMS_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    for name in ("ENMS_DATABASE_URL", "ENMS_JWT_SECRET", "ENMS_USER_PASSWORD"):
        if name not in (env or {}):
            environ.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "engine.cli", "--db",
                           str(tmp_path / "enms.sqlite"), *args], input=input or "",
                          capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == expect, (done.returncode, done.stdout[-1000:], done.stderr[-1000:])
    return done


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_the_first_admin_needs_a_password_from_somewhere(tmp_path):
    refused = enms(tmp_path, "user", "add", "admin", "--role", "admin", expect=2)
    assert "no password: set ENMS_USER_PASSWORD, use --password-stdin" in one_line(refused)
    short = enms(tmp_path, "user", "add", "admin", "--role", "admin",
                 env={"ENMS_USER_PASSWORD": "short"}, expect=2)
    assert "too short: at least 12 characters" in one_line(short)
    made = json.loads(enms(tmp_path, "user", "add", "admin", "--role", "admin",
                           "--password-stdin", "--json", input=PASSWORD + "\n").stdout)
    assert made["role"] == "admin" and made["has_password"] is True
    again = enms(tmp_path, "user", "add", "admin", "--role", "auditor",
                 env={"ENMS_USER_PASSWORD": PASSWORD}, expect=2)
    assert "user 'admin' exists already" in one_line(again)
    listed = enms(tmp_path, "user", "list", "--json").stdout
    assert PASSWORD not in listed and "argon2" not in listed
    audited = json.loads(enms(tmp_path, "audit", "log", "--json").stdout)
    assert [(r["action"], r["actor"].startswith("cli:")) for r in audited] == [("user.add", True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_enms_serve_answers_on_loopback_with_a_generated_secret(tmp_path):
    enms(tmp_path, "user", "add", "admin", "--role", "admin",
         env={"ENMS_USER_PASSWORD": PASSWORD})
    device = enms(tmp_path, "user", "add", "speaker", "--role", "executive", "--device",
                  "--label", "hall speaker")
    key = device.stdout.strip()
    assert key.startswith("enms_") and "shown only now" in device.stderr
    port = _free_port()
    env = {**os.environ, "ENMS_DATA_DIR": str(tmp_path / "data")}
    env.pop("ENMS_JWT_SECRET", None)
    env.pop("ENMS_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "engine.cli", "--db",
                               str(tmp_path / "enms.sqlite"), "serve", "--port", str(port),
                               "--log-level", "warning"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, \
                    server.communicate()[1][-2000:]
                time.sleep(0.2)
        token = requests.post(f"{base}/auth/token", timeout=30, data={
            "username": "admin", "password": PASSWORD}).json()["access_token"]
        me = requests.get(f"{base}/auth/me", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}).json()
        assert (me["name"], me["role"]) == ("admin", "admin")
        by_key = requests.get(f"{base}/auth/me", timeout=30, headers={"X-API-Key": key}).json()
        assert (by_key["name"], by_key["role"]) == ("speaker", "executive")
        assert requests.get(f"{base}/docs", timeout=30).status_code == 200
    finally:
        server.terminate()
        server.wait(30)
    secret = tmp_path / "data" / "jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32


@pytest.mark.parametrize("variable, value, words", [
    ("ENMS_JWT_SECRET", "secret", "ENMS_JWT_SECRET is too short: at least 32 characters"),
    ("ENMS_JWT_TTL_S", "1h", "ENMS_JWT_TTL_S must be a positive whole number of seconds"),
    ("ENMS_API_MAX_UPLOAD_MB", "-5", "ENMS_API_MAX_UPLOAD_MB must be a positive whole number"),
])
def test_enms_serve_refuses_a_bad_setting_in_one_line(tmp_path, variable, value, words):
    refused = enms(tmp_path, "serve", "--port", str(_free_port()), env={variable: value},
                   expect=2)
    assert words in one_line(refused)

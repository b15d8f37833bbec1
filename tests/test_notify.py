"""Notifiers against local servers: an SMTP sink (aiosmtpd) and an HTTP server
on 127.0.0.1. The message arrives with the subject, kind and evidence; every
failure (refused, time-out, HTTP error, no STARTTLS) is one line; the
configuration comes from a file or the environment and never holds secrets.
"""
import email
import email.policy
import json
import socket
import threading
from contextlib import contextmanager
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine import notify
from engine.errors import EnmsError

ALERT = {
    "id": 7, "kind": "cusum_alarm", "severity": "critical", "status": "open",
    "subject_kind": "seu", "subject": "Compressor-EU-1 electricity",
    "seu": "Compressor-EU-1 electricity", "period": "2025-05",
    "first": date(2025, 5, 1), "last": date(2025, 5, 31),
    "message": "tabular CUSUM alarm (05-05 up): energy above the baseline",
    "evidence": {"direction": "above", "deviation_pct": 11.8, "actual": 23426.0,
                 "expected": 20955.0, "unit": "kWh",
                 "alarms": [{"week_of": "2025-05-05", "direction": "up"}]},
    "created_at": datetime(2025, 6, 1, 6, 0, tzinfo=timezone.utc),
    "updated_at": datetime(2025, 6, 1, 6, 0, tzinfo=timezone.utc),
    "last_seen_at": datetime(2025, 6, 1, 6, 0, tzinfo=timezone.utc),
    "acknowledged_by": None, "acknowledged_at": None, "comment": None, "notifications": {},
}


# --- local servers (also used by test_alerts) ------------------------------------------

def free_port() -> int:
    """A port nobody listens on (bound, then closed): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_sink():
    """An SMTP server on 127.0.0.1 keeping what it receives: (host, port, messages)."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.content,
                                                    policy=email.policy.default)})
            return "250 OK"

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port, handler.messages
    finally:
        controller.stop()


@contextmanager
def http_sink(status: int = 204):
    """An HTTP server on 127.0.0.1 keeping every POST: (url, requests)."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers),
                             "body": json.loads(body)})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server():
    """Accepts connections and never answers: for time-outs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def one_line(exc) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# --- e-mail --------------------------------------------------------------------------------

def test_email_arrives_with_subject_kind_and_evidence():
    with smtp_sink() as (host, port, messages):
        notifier = notify.EmailNotifier(host, "enms@plant.example", ["energy@plant.example"],
                                        port=port, timeout_s=5)
        notifier.send(ALERT)
    assert len(messages) == 1
    got = messages[0]
    assert got["from"] == "enms@plant.example" and got["to"] == ["energy@plant.example"]
    msg = got["message"]
    assert msg["Subject"] == "[EnMS critical] cusum alarm: Compressor-EU-1 electricity 2025-05"
    body = msg.get_content()
    assert "Kind:     cusum_alarm" in body
    assert "Compressor-EU-1 electricity" in body
    assert '"deviation_pct": 11.8' in body and '"week_of": "2025-05-05"' in body
    assert "enms alerts ack 7" in body


def test_email_failures_are_one_line():
    port = free_port()
    notifier = notify.EmailNotifier("127.0.0.1", "a@b.example", ["c@d.example"], port=port,
                                    timeout_s=2)
    with pytest.raises(notify.NotifyError) as refused:
        notifier.send(ALERT)
    assert one_line(refused.value).startswith(f"e-mail via 127.0.0.1:{port}: ")
    assert "refused" in str(refused.value).lower()

    with silent_server() as silent:
        slow = notify.EmailNotifier("127.0.0.1", "a@b.example", ["c@d.example"], port=silent,
                                    timeout_s=0.3)
        with pytest.raises(notify.NotifyError, match="no answer within 0.3 s") as waited:
            slow.send(ALERT)
        one_line(waited.value)

    # The sink offers no STARTTLS: asked for, it is a clear refusal, never plain text.
    with smtp_sink() as (host, port, messages):
        tls = notify.EmailNotifier(host, "a@b.example", ["c@d.example"], port=port,
                                   starttls=True, timeout_s=5)
        with pytest.raises(notify.NotifyError, match="does not support STARTTLS") as no_tls:
            tls.send(ALERT)
        one_line(no_tls.value)
        assert messages == []


# --- webhook ---------------------------------------------------------------------------------

def test_webhook_posts_the_alert_as_json():
    with http_sink() as (url, received):
        notifier = notify.WebhookNotifier(url + "?channel=energy", timeout_s=5,
                                          headers={"X-Plant": "Demo"}, token_env="HOOK_TOKEN",
                                          environ={"HOOK_TOKEN": "s3cret"})
        notifier.send(ALERT)
    assert len(received) == 1
    got = received[0]
    assert got["path"] == "/hook?channel=energy"
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["X-Plant"] == "Demo"
    assert got["headers"]["Authorization"] == "Bearer s3cret"
    body = got["body"]
    assert body["subject"] == "Compressor-EU-1 electricity" and body["kind"] == "cusum_alarm"
    assert body["severity"] == "critical" and body["period"] == "2025-05"
    assert body["evidence"] == ALERT["evidence"]
    assert body["first"] == "2025-05-01" and body["source"] == "enms"
    assert body["created_at"] == "2025-06-01T06:00:00+00:00"
    assert body["text"].startswith("[critical] cusum_alarm: Compressor-EU-1 electricity 2025-05")
    assert "notifications" not in body
    # The token is never part of how the notifier is described.
    assert "s3cret" not in notifier.describe() and "channel" not in notifier.describe()


def test_webhook_failures_are_one_line():
    port = free_port()
    refused = notify.WebhookNotifier(f"http://127.0.0.1:{port}/hook", timeout_s=2)
    with pytest.raises(notify.NotifyError, match="cannot connect") as exc:
        refused.send(ALERT)
    assert one_line(exc.value).startswith(f"webhook http://127.0.0.1:{port}/hook: ")

    with http_sink(status=500) as (url, received):
        with pytest.raises(notify.NotifyError, match="answered HTTP 500") as exc:
            notify.WebhookNotifier(url, timeout_s=5).send(ALERT)
        one_line(exc.value)
        assert len(received) == 1

    with silent_server() as silent:
        with pytest.raises(notify.NotifyError, match="no answer within 0.3 s") as exc:
            notify.WebhookNotifier(f"http://127.0.0.1:{silent}/", timeout_s=0.3).send(ALERT)
        one_line(exc.value)

    with pytest.raises(notify.NotifyError, match=r"no token in \$HOOK_TOKEN"):
        notify.WebhookNotifier("http://127.0.0.1:1/", token_env="HOOK_TOKEN",
                               environ={}).send(ALERT)


def test_min_severity_filters():
    notifier = notify.WebhookNotifier("http://127.0.0.1:1/")
    assert notifier.min_severity == "warning"
    assert notifier.wants(ALERT)
    assert not notifier.wants({**ALERT, "severity": "info"})
    notifier.min_severity = "critical"
    assert not notifier.wants({**ALERT, "severity": "warning"})


# --- configuration ---------------------------------------------------------------------------

def test_config_file_toml_and_json(tmp_path):
    toml = tmp_path / "notify.toml"
    toml.write_text("""
[[notifiers]]
type = "email"
host = "smtp.plant.example"
port = 587
from = "enms@plant.example"
to = ["energy@plant.example", "manager@plant.example"]
starttls = true
username = "enms"
password_env = "PLANT_SMTP_PASSWORD"

[[notifiers]]
type = "webhook"
url = "https://hooks.plant.example/enms"
timeout_s = 3
min_severity = "critical"

[[notifiers]]
type = "webhook"
url = "http://127.0.0.1:8080/second"
""")
    mail, hook, second = notify.load_notifiers(toml, environ={})
    assert isinstance(mail, notify.EmailNotifier) and mail.name == "email"
    assert (mail.host, mail.port, mail.starttls, mail.username) == \
        ("smtp.plant.example", 587, True, "enms")
    assert mail.to == ["energy@plant.example", "manager@plant.example"]
    assert mail.password_env == "PLANT_SMTP_PASSWORD"
    assert isinstance(hook, notify.WebhookNotifier)
    assert (hook.timeout_s, hook.min_severity, hook.name) == (3.0, "critical", "webhook")
    assert second.name == "webhook-2"

    as_json = tmp_path / "notify.json"
    as_json.write_text(json.dumps({"notifiers": [
        {"type": "webhook", "url": "http://127.0.0.1:9/x", "name": "ops"}]}))
    (ops,) = notify.load_notifiers(as_json, environ={})
    assert ops.name == "ops"

    # Found through ENMS_NOTIFY_CONFIG, or in the data directory.
    (found,) = notify.load_notifiers(environ={"ENMS_NOTIFY_CONFIG": str(as_json)})
    assert found.name == "ops"


def test_config_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ENMS_DATA_DIR", str(tmp_path))  # no file there
    environ = {"ENMS_SMTP_HOST": "127.0.0.1", "ENMS_SMTP_PORT": "2525",
               "ENMS_SMTP_FROM": "enms@plant.example", "ENMS_SMTP_TO": "a@x.example, b@x.example",
               "ENMS_SMTP_STARTTLS": "yes", "ENMS_SMTP_USER": "enms",
               "ENMS_SMTP_PASSWORD": "pw", "ENMS_WEBHOOK_URL": "http://127.0.0.1:9/h",
               "ENMS_WEBHOOK_TIMEOUT": "2.5", "ENMS_NOTIFY_MIN_SEVERITY": "info"}
    mail, hook = notify.load_notifiers(environ=environ)
    assert (mail.port, mail.to, mail.starttls) == (2525, ["a@x.example", "b@x.example"], True)
    assert mail.password_env == "ENMS_SMTP_PASSWORD" and mail.min_severity == "info"
    assert (hook.url, hook.timeout_s) == ("http://127.0.0.1:9/h", 2.5)
    assert notify.load_notifiers(environ={}) == []


@pytest.mark.parametrize("entry, message", [
    ({"type": "email", "host": "h", "from": "a@b.example", "to": ["c@d.example"],
      "password": "hunter2"}, "unknown setting(s) password (put secrets in the environment"),
    ({"type": "email", "host": "h", "from": "a@b.example"}, "'to' is missing"),
    ({"type": "email", "host": "h", "from": "a@b.example", "to": "c@d.example",
      "username": "u"}, "password_env"),
    ({"type": "pager"}, "type must be 'email' or 'webhook'"),
    ({"type": "webhook", "url": "ftp://x/y"}, "must start with http:// or https://"),
    ({"type": "webhook", "url": "http://x/", "timeout_s": 0}, "timeout_s must be above 0"),
    ({"type": "webhook", "url": "http://x/", "min_severity": "loud"}, "min_severity must be"),
])
def test_config_errors_are_one_line(tmp_path, entry, message):
    path = tmp_path / "notify.json"
    path.write_text(json.dumps({"notifiers": [entry]}))
    with pytest.raises(EnmsError) as exc:
        notify.load_notifiers(path, environ={})
    assert message in one_line(exc.value)
    assert str(path) in str(exc.value)


def test_config_file_that_is_not_valid(tmp_path):
    path = tmp_path / "notify.toml"
    path.write_text("[[notifiers]\ntype = ")
    with pytest.raises(EnmsError, match="notification config") as exc:
        notify.load_notifiers(path, environ={})
    one_line(exc.value)
    with pytest.raises(EnmsError, match="does not exist"):
        notify.load_notifiers(environ={"ENMS_NOTIFY_CONFIG": str(tmp_path / "nope.toml")})

"""Notifiers: tell people about new alerts, by e-mail (SMTP) or a webhook.

A notifier is anything with ``name``, ``min_severity`` and ``send(alert)``
(``Notifier``); ``send`` either delivers the alert or raises ``NotifyError``
with one line that says what failed. The engine records every delivery and
failure with the alert (``engine.alerts``), so a failed notification never
loses the alert: it stays stored and ``enms alerts notify`` retries it.

Configuration, so that no host, address or credential lives in code:

- a file: ``$ENMS_NOTIFY_CONFIG``, else ``notify.toml`` or ``notify.json`` in
  the data directory (``$ENMS_DATA_DIR`` or the user data dir), holding a list
  ``notifiers`` of tables (TOML ``[[notifiers]]``) with a ``type`` of
  ``email`` or ``webhook`` and the settings below;
- environment variables, each adding one notifier: ``ENMS_SMTP_HOST`` (with
  ``ENMS_SMTP_PORT``, ``ENMS_SMTP_FROM``, ``ENMS_SMTP_TO`` comma-separated,
  ``ENMS_SMTP_STARTTLS``, ``ENMS_SMTP_USER``, password in
  ``ENMS_SMTP_PASSWORD``) and ``ENMS_WEBHOOK_URL`` (with
  ``ENMS_WEBHOOK_TIMEOUT``, a bearer token in ``ENMS_WEBHOOK_TOKEN``);
  ``ENMS_NOTIFY_MIN_SEVERITY`` sets their threshold.

Passwords and tokens are never read from the file itself: the file names the
environment variable that holds them (``password_env``, ``token_env``).

E-mail settings: host, port (25; 465 with ``ssl``), from, to (a list),
starttls (false), ssl (false), username, password_env, timeout_s (10),
min_severity ("warning"), name ("email"). Webhook settings: url (http or
https), timeout_s (10), headers (a table of extra headers), token_env,
min_severity ("warning"), name ("webhook").

``min_severity`` defaults to "warning": "info" alerts (savings, a CUSUM
falling below the baseline) are listed but not sent unless asked for.
"""
import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from email.message import EmailMessage
from pathlib import Path

from .errors import EnmsError

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
DEFAULT_MIN_SEVERITY = "warning"
DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "enms-alerts/1"


class NotifyError(EnmsError):
    """A notification could not be delivered; the message is one line."""


class Notifier(ABC):
    """Delivers one alert (a dict as ``engine.alerts`` lists it) somewhere."""

    name: str = "notifier"
    min_severity: str = DEFAULT_MIN_SEVERITY

    def wants(self, alert: dict) -> bool:
        """Whether this notifier sends alerts of this severity."""
        return SEVERITY_RANK[alert["severity"]] >= SEVERITY_RANK[self.min_severity]

    @abstractmethod
    def send(self, alert: dict) -> None:
        """Deliver the alert, or raise ``NotifyError`` with one line."""

    @abstractmethod
    def describe(self) -> str:
        """Where it sends to, for messages (never a password or token)."""


# --- what is sent ---------------------------------------------------------------

def summary_line(alert: dict) -> str:
    """'[critical] cusum_alarm: Compressor-EU-1 electricity 2025-05: ...'"""
    return (f"[{alert['severity']}] {alert['kind']}: {alert['subject']} {alert['period']}: "
            f"{alert['message']}")


def payload(alert: dict) -> dict:
    """The alert as JSON for a webhook: every field, plus a one-line ``text``
    (which chat tools' incoming webhooks show as it is)."""
    body = {k: v for k, v in alert.items() if k != "notifications"}
    return json.loads(json.dumps({"source": "enms", "text": summary_line(alert), **body},
                                 default=_iso))


def _iso(value):
    """Dates and times as ISO 8601 text; anything else as its text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def email_message(alert: dict, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = (f"[EnMS {alert['severity']}] {alert['kind'].replace('_', ' ')}: "
                      f"{alert['subject']} {alert['period']}")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    seu = f"SEU:      {alert['seu']}\n" if alert.get("seu") and alert["seu"] != alert["subject"] \
        else ""
    text = (f"{alert['message']}\n\n"
            f"Alert:    {alert['id']}\n"
            f"Kind:     {alert['kind']}\n"
            f"Severity: {alert['severity']}\n"
            f"Subject:  {alert['subject_kind']} {alert['subject']}\n{seu}"
            f"Period:   {alert['period']} ({alert['first']} to {alert['last']})\n"
            f"Raised:   {alert['created_at']}\n\n"
            f"Evidence:\n{json.dumps(alert['evidence'], indent=2, default=_iso)}\n\n"
            f"Investigate, then record what was found and done:\n"
            f"  enms alerts ack {alert['id']} --by NAME --comment \"...\"\n")
    msg.set_content(text)
    return msg


# --- e-mail -------------------------------------------------------------------------

class EmailNotifier(Notifier):
    """One e-mail per alert through an SMTP server (smtplib)."""

    def __init__(self, host: str, sender: str, to: list[str], port: int | None = None,
                 starttls: bool = False, use_ssl: bool = False, username: str | None = None,
                 password_env: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 min_severity: str = DEFAULT_MIN_SEVERITY, name: str = "email",
                 environ=None):
        self.host, self.sender, self.to = host, sender, list(to)
        self.port = int(port) if port else (465 if use_ssl else 25)
        self.starttls, self.use_ssl = bool(starttls), bool(use_ssl)
        self.username, self.password_env = username, password_env
        self.timeout_s = float(timeout_s)
        self.min_severity, self.name = min_severity, name
        self._environ = os.environ if environ is None else environ

    def describe(self) -> str:
        return f"e-mail via {self.host}:{self.port} to {', '.join(self.to)}"

    def send(self, alert: dict) -> None:
        message = email_message(alert, self.sender, self.to)
        where = f"e-mail via {self.host}:{self.port}"
        try:
            if self.use_ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    password = self._environ.get(self.password_env or "")
                    if password is None:
                        raise NotifyError(f"{where}: user {self.username!r} needs a password in "
                                          f"${self.password_env or '(password_env not set)'}")
                    client.login(self.username, password)
                client.send_message(message)
        except NotifyError:
            raise
        except smtplib.SMTPNotSupportedError as exc:
            raise NotifyError(f"{where}: the server does not support "
                              f"{'STARTTLS' if self.starttls else 'this request'} ({_one(exc)})") \
                from None
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(f"{where}: login refused ({exc.smtp_code} "
                              f"{_one(exc.smtp_error)})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifyError(f"{where}: recipients refused: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(f"{where}: the server answered {exc.smtp_code} "
                              f"{_one(exc.smtp_error)}") from None
        except (TimeoutError, socket.timeout):
            raise NotifyError(f"{where}: no answer within {self.timeout_s:g} s") from None
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib turns a read time-out into a disconnect
                raise NotifyError(f"{where}: no answer within {self.timeout_s:g} s") from None
            raise NotifyError(f"{where}: the server closed the connection ({_one(exc)})") \
                from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"{where}: {_reason(exc)}") from None


# --- webhook ------------------------------------------------------------------------

class WebhookNotifier(Notifier):
    """An HTTP POST of the alert as JSON (urllib), with a time-out."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 headers: dict | None = None, token_env: str | None = None,
                 min_severity: str = DEFAULT_MIN_SEVERITY, name: str = "webhook", environ=None):
        if not url.lower().startswith(("http://", "https://")):
            raise EnmsError(f"webhook url must start with http:// or https://, got {url!r}")
        self.url, self.timeout_s = url, float(timeout_s)
        self.headers = {str(k): str(v) for k, v in (headers or {}).items()}
        self.token_env = token_env
        self.min_severity, self.name = min_severity, name
        self._environ = os.environ if environ is None else environ

    def describe(self) -> str:
        return f"webhook {self.url.split('?')[0]}"

    def send(self, alert: dict) -> None:
        where = self.describe()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **self.headers}
        if self.token_env:
            token = self._environ.get(self.token_env)
            if not token:
                raise NotifyError(f"{where}: no token in ${self.token_env}")
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(payload(alert)).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise NotifyError(f"{where}: answered HTTP {exc.code} {_one(exc.reason)}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise NotifyError(f"{where}: no answer within {self.timeout_s:g} s") from None
            raise NotifyError(f"{where}: cannot connect: {_reason(exc.reason)}") from None
        except (TimeoutError, socket.timeout):
            raise NotifyError(f"{where}: no answer within {self.timeout_s:g} s") from None
        except OSError as exc:  # connection reset while reading, and the like
            raise NotifyError(f"{where}: {_reason(exc)}") from None


def _one(value) -> str:
    """Bytes or text as one line."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())


def _reason(exc) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _one(exc) or type(exc).__name__


# --- configuration --------------------------------------------------------------------

def config_path(environ=None) -> Path | None:
    """The configuration file in use: $ENMS_NOTIFY_CONFIG, else notify.toml /
    notify.json in the data directory; None when there is none."""
    environ = os.environ if environ is None else environ
    named = environ.get("ENMS_NOTIFY_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise EnmsError(f"notification config {path} (ENMS_NOTIFY_CONFIG) does not exist")
        return path
    from .store import default_data_dir
    for name in ("notify.toml", "notify.json"):
        path = default_data_dir() / name
        if path.exists():
            return path
    return None


def _read_config(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib
            data = tomllib.loads(text)
    except (ValueError, ImportError) as exc:  # JSONDecodeError, TOMLDecodeError
        raise EnmsError(f"notification config {path}: {_one(exc)}") from None
    entries = data.get("notifiers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise EnmsError(f"notification config {path}: expected a list 'notifiers' of tables "
                        "(TOML [[notifiers]], JSON {\"notifiers\": [...]})")
    return entries


_EMAIL_KEYS = {"type", "name", "host", "port", "from", "to", "starttls", "ssl", "username",
               "password_env", "timeout_s", "min_severity"}
_WEBHOOK_KEYS = {"type", "name", "url", "timeout_s", "headers", "token_env", "min_severity"}


def _build(entry: dict, where: str, environ) -> Notifier:
    kind = entry.get("type")
    keys = {"email": _EMAIL_KEYS, "webhook": _WEBHOOK_KEYS}.get(kind)
    if keys is None:
        raise EnmsError(f"{where}: type must be 'email' or 'webhook', got {kind!r}")
    unknown = sorted(set(entry) - keys)
    if unknown:
        hint = " (put secrets in the environment: password_env / token_env)" if any(
            k in ("password", "token") for k in unknown) else ""
        raise EnmsError(f"{where}: unknown setting(s) {', '.join(unknown)}{hint}")
    severity = entry.get("min_severity", DEFAULT_MIN_SEVERITY)
    if severity not in SEVERITY_RANK:
        raise EnmsError(f"{where}: min_severity must be one of {', '.join(SEVERITIES)}")
    try:
        timeout = float(entry.get("timeout_s", DEFAULT_TIMEOUT_S))
    except (TypeError, ValueError):
        raise EnmsError(f"{where}: timeout_s must be a number of seconds") from None
    if timeout <= 0:
        raise EnmsError(f"{where}: timeout_s must be above 0")
    if kind == "email":
        for key in ("host", "from", "to"):
            if not entry.get(key):
                raise EnmsError(f"{where}: '{key}' is missing")
        to = entry["to"]
        to = [a.strip() for a in to.split(",") if a.strip()] if isinstance(to, str) else list(to)
        if entry.get("username") and not entry.get("password_env"):
            raise EnmsError(f"{where}: with a username, name the environment variable that "
                            "holds the password (password_env)")
        try:
            port = int(entry["port"]) if entry.get("port") else None
        except (TypeError, ValueError):
            raise EnmsError(f"{where}: port must be a number") from None
        return EmailNotifier(entry["host"], entry["from"], to, port,
                             starttls=_flag(entry.get("starttls", False), where, "starttls"),
                             use_ssl=_flag(entry.get("ssl", False), where, "ssl"),
                             username=entry.get("username"), password_env=entry.get("password_env"),
                             timeout_s=timeout, min_severity=severity,
                             name=entry.get("name", "email"), environ=environ)
    if not entry.get("url"):
        raise EnmsError(f"{where}: 'url' is missing")
    headers = entry.get("headers") or {}
    if not isinstance(headers, dict):
        raise EnmsError(f"{where}: headers must be a table of NAME = VALUE")
    try:
        return WebhookNotifier(entry["url"], timeout, headers, entry.get("token_env"), severity,
                               entry.get("name", "webhook"), environ=environ)
    except EnmsError as exc:
        raise EnmsError(f"{where}: {exc}") from None


def _flag(value, where: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise EnmsError(f"{where}: {key} must be true or false, got {value!r}")


def _from_environment(environ) -> list[dict]:
    entries = []
    severity = environ.get("ENMS_NOTIFY_MIN_SEVERITY") or DEFAULT_MIN_SEVERITY
    if environ.get("ENMS_SMTP_HOST"):
        entry = {"type": "email", "host": environ["ENMS_SMTP_HOST"],
                 "from": environ.get("ENMS_SMTP_FROM"), "to": environ.get("ENMS_SMTP_TO"),
                 "starttls": environ.get("ENMS_SMTP_STARTTLS", "false"),
                 "min_severity": severity}
        if environ.get("ENMS_SMTP_PORT"):
            entry["port"] = environ["ENMS_SMTP_PORT"]
        if environ.get("ENMS_SMTP_USER"):
            entry.update(username=environ["ENMS_SMTP_USER"], password_env="ENMS_SMTP_PASSWORD")
        entries.append(entry)
    if environ.get("ENMS_WEBHOOK_URL"):
        entry = {"type": "webhook", "url": environ["ENMS_WEBHOOK_URL"], "min_severity": severity}
        if environ.get("ENMS_WEBHOOK_TIMEOUT"):
            entry["timeout_s"] = environ["ENMS_WEBHOOK_TIMEOUT"]
        if environ.get("ENMS_WEBHOOK_TOKEN"):
            entry["token_env"] = "ENMS_WEBHOOK_TOKEN"
        entries.append(entry)
    return entries


def load_notifiers(path: str | Path | None = None, environ=None) -> list[Notifier]:
    """The configured notifiers: those of the file (``path``, else
    ``config_path()``) followed by those of the environment variables.

    Names must be unique (they key the delivery record of every alert); a
    second notifier of a type without a name is called 'webhook-2' etc.
    """
    environ = os.environ if environ is None else environ
    path = Path(path) if path is not None else config_path(environ)
    sourced = []
    if path is not None:
        sourced += [(entry, f"notification config {path}, notifier {i}")
                    for i, entry in enumerate(_read_config(path), start=1)]
    sourced += [(entry, f"notification settings from the environment ({entry['type']})")
                for entry in _from_environment(environ)]
    out, seen = [], {}
    for entry, where in sourced:
        notifier = _build(entry, where, environ)
        if notifier.name in seen:
            if "name" in entry:
                raise EnmsError(f"{where}: the name {notifier.name!r} is used twice")
            seen[notifier.name] += 1
            notifier.name = f"{notifier.name}-{seen[notifier.name]}"
        seen.setdefault(notifier.name, 1)
        out.append(notifier)
    return out

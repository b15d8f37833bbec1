"""Spoken alerts: a device that opted in says new alerts unasked (issue 8).

Alerts go through the engine's alert store (``engine.alerts``), the same one
the notifiers (e-mail, webhook) read. A repeating scheduled event
(``_schedule_announcements``, every ``announce_interval_s`` seconds) asks the
engine for the open alerts numbered above the last one this device handled
(``alerts.since``), at or above ``announce_min_severity`` (default critical),
and speaks them once:

- one: "Critical alert: Compressor-EU-1 electricity fourteen percent above
  expected in October 2025.";
- several: "Three new critical alerts; the first: ...", most severe first;
  "tell me more" reads each with its number.

Rules (docs/voice.md, "Spoken alerts"):

- off unless the device's setting ``announce_alerts`` is on;
- at start (and when switched on, or the database changes) the device starts
  from the newest alert there is (``alerts.newest_id``): the backlog is not
  read out; ``alerts`` ("any alerts") lists it;
- acknowledged alerts are not spoken (somebody is on it);
- in the quiet hours (``announce_quiet_hours``, 'HH:MM-HH:MM', site-local) it
  says nothing; what arrived meanwhile is said when they end, summarised;
- hearing alerts follows the role rules of the ``alerts`` intent
  (``skill_enms.roles``): open to every role.

The skill never runs SQL; ``engine.alerts`` is imported when the event fires,
so the skill loads without it.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from engine.notify import SEVERITIES, SEVERITY_RANK
from skill_enms import periods as sp
from skill_enms import roles
from skill_enms.common import pinned_lang

ANNOUNCE_EVENT = "enms_alert_announcements"
DEFAULT_INTERVAL_S = 60.0
MIN_INTERVAL_S = 10.0
DEFAULT_MIN_SEVERITY = "critical"


def quiet_window(value: str | None):
    """(start, end) site-local times of 'HH:MM-HH:MM' ('22:00-06:00' spans
    midnight); None when empty. ValueError names a bad value."""
    from engine import briefing
    text = (value or "").strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours {text!r}: use HH:MM-HH:MM, e.g. 22:00-06:00")
    try:
        return briefing.parse_shift_starts(start)[0], briefing.parse_shift_starts(end)[0]
    except Exception as exc:  # noqa: BLE001 - the engine's message says what is wrong
        raise ValueError(f"quiet hours {text!r}: {exc}") from None


def switched_on(value) -> bool:
    """A checkbox setting: True, or 'true' / 'yes' / 'on' / '1' as a settings UI may store it."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def is_quiet(window, local: datetime) -> bool:
    """True if the site-local clock time of ``local`` lies in [start, end)."""
    if window is None:
        return False
    start, end = window
    now = local.time().replace(tzinfo=None)
    return start <= now < end if start <= end else (now >= start or now < end)


class AnnouncementsMixin:
    """New alerts spoken unasked on a device that opted in (mixed into EnmsSkill)."""

    # --- the schedule ------------------------------------------------------------------

    def _schedule_announcements(self) -> float | None:
        """Poll for new alerts every ``announce_interval_s`` seconds if this device
        opted in; returns the interval, or None when off. The starting point is
        the newest alert now (kept when only other settings change)."""
        self.cancel_scheduled_event(ANNOUNCE_EVENT)
        if not switched_on(self.settings.get("announce_alerts")):
            self._announced = None
            return None
        url = self.settings.get("database_url") or None
        if self._announced is None or self._announced[0] != url:
            self._announced = (url, self._newest_alert())
        interval = self._announce_interval()
        self.schedule_repeating_event(self._scheduled_announcements, None, interval,
                                      name=ANNOUNCE_EVENT)
        return interval

    def _newest_alert(self) -> int | None:
        """The newest alert's number; None when the database cannot say (the
        first poll tries again)."""
        try:
            from engine import alerts
            return alerts.newest_id(self.store)
        except Exception as exc:  # noqa: BLE001 - no database yet: the poll retries
            self.log.warning(f"spoken alerts: no starting point yet: {exc}")
            return None

    def _announce_interval(self) -> float:
        value = self.settings.get("announce_interval_s", DEFAULT_INTERVAL_S)
        try:
            return max(MIN_INTERVAL_S, float(value))
        except (TypeError, ValueError):
            self.log.warning(f"spoken alerts: announce_interval_s {value!r} is not a number "
                             f"of seconds; using {DEFAULT_INTERVAL_S:g}")
            return DEFAULT_INTERVAL_S

    def _announce_severity(self) -> str:
        value = str(self.settings.get("announce_min_severity") or DEFAULT_MIN_SEVERITY)
        value = value.strip().lower()
        if value not in SEVERITIES:
            self.log.warning(f"spoken alerts: announce_min_severity {value!r} is not info, "
                             f"warning or critical; using {DEFAULT_MIN_SEVERITY}")
            return DEFAULT_MIN_SEVERITY
        return value

    def _quiet_now(self) -> bool:
        """In the quiet hours at the site's clock? A bad setting: one warning, not quiet."""
        try:
            window = quiet_window(self.settings.get("announce_quiet_hours"))
        except ValueError as exc:
            self.log.warning(f"spoken alerts: {exc}; no quiet hours")
            return False
        if window is None:
            return False
        from zoneinfo import ZoneInfo
        from engine import briefing
        tz = briefing.site_timezone(self.store, self.settings.get("site") or None)
        return is_quiet(window, datetime.now(timezone.utc).astimezone(ZoneInfo(tz)))

    # --- the poll ------------------------------------------------------------------------

    def _scheduled_announcements(self, message):
        self._announce_new_alerts(self._with_device_lang(message))

    @pinned_lang
    def _announce_new_alerts(self, message) -> list[dict]:
        """Speak the alerts new since the last poll; returns them. Errors are
        logged, never spoken: nobody asked."""
        if not switched_on(self.settings.get("announce_alerts")) or \
                not roles.allowed(self.role, "alerts"):
            return []
        if not self._announce_lock.acquire(blocking=False):
            return []          # the previous poll is still running
        try:
            from engine import alerts
            url, last = self._announced or (self.settings.get("database_url") or None, None)
            if last is None:   # the database could not say at start: start now
                self._announced = (url, alerts.newest_id(self.store))
                return []
            if self._quiet_now():
                return []      # held until the quiet hours end
            found = alerts.since(self.store, last, self._announce_severity())
            if not found:
                return []
            self._announced = (url, found[-1]["id"])   # spoken once, even if speaking fails
            text, detail = self._announcement(found)
            self._say(message, text, "announce_alerts", detail=detail,
                      result=[{k: a[k] for k in ("id", "kind", "severity", "subject", "seu",
                                                 "period", "message")} for a in found])
            return found
        except Exception as exc:  # noqa: BLE001 - log it, the next poll tries again
            self.log.warning(f"spoken alerts: {type(exc).__name__}: {exc}")
            return []
        finally:
            self._announce_lock.release()

    # --- the words -------------------------------------------------------------------------

    def _announcement(self, found: list[dict]) -> tuple[str, str]:
        """(short text, detail): one alert said whole; several counted, the most
        severe first, the rest with their numbers on "tell me more"."""
        ordered = sorted(found, key=lambda a: -SEVERITY_RANK.get(a["severity"], 0))
        first = ordered[0]
        severity = first["severity"]
        data = {"count": self._number(len(ordered)), "item": self._announce_item(first),
                "severity": self._render(f"severity.{severity}")}
        how = self._render("alerts.how.ack")
        if len(ordered) == 1:
            return self._render(f"announce.one.{severity}", data), \
                f"{self._say_alert(first, number=True)}. {how}"
        same = all(a["severity"] == severity for a in ordered)
        text = self._render(f"announce.some.{severity}" if same else "announce.some.mixed", data)
        text += " " + self._render("announce.more")
        detail = self._render("announce.detail", {"items": self._join(
            [self._say_alert(a, number=True) for a in ordered])})
        return text, f"{detail} {how}"

    def _announce_item(self, alert: dict) -> str:
        """What the alert is about: a live deviation as energy used today so far
        against the baseline; any other kind as the alerts intent says it."""
        if alert["kind"] != "live_deviation":
            return self._say_alert(alert)
        pct = (alert.get("evidence") or {}).get("deviation_pct") or 0.0
        day = alert["first"] if isinstance(alert["first"], date) else \
            date.fromisoformat(str(alert["first"])[:10])
        when = self._render("announce.today") if day == date.today() else \
            self._say_when(sp.Period(day, day, "range"))
        return self._render("announce.live.above" if pct > 0 else "announce.live.below", {
            "subject": self._alert_subject_name(alert), "pct": self._pct(pct), "when": when})

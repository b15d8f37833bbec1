"""Monitoring intents of the EnMS skill: the CUSUM trend of an SEU, data
quality, and the shift briefing.

The handlers stay thin, as in ``skill.py``: names from the slots, resolved
against the catalog (asking when unsure), one engine call
(``reports.build``, ``quality.period_score``, ``briefing.build``), and the
result spoken with the locale's dialogs, numbers in words. What to say is
chosen here; the words are in ``locale/<lang>/dialog``. The briefing is also
spoken unasked at every shift change (``_schedule_briefing``).

Rules the answers follow (docs/voice.md, "Trend, data quality, briefing"):

- the CUSUM is the report's running sum of actual - expected energy from the
  day after the baseline period (falling = savings), to the end of the latest
  complete month unless a period is said;
- a CUSUM alarm is *active* while the same side keeps alarming at least once
  every ``ACTIVE_WEEKS`` weeks up to the last week judged, and the other side
  has not alarmed since; it is active *since* the first alarm of that run;
- data quality without a period covers the ``RECENT_DAYS`` days up to the
  reference day; periods are cut at the reference day (no data after it);
- findings are grouped per meter or driver and kind; a spike that is also
  above rated power is one spike; a derived driver (degree days) missing
  because its parent (outdoor temperature) is missing is not said twice;
- the briefing is about the last shift that ended (``engine.briefing``): the
  SEUs outside their expected range for the shift, largest deviation in kWh
  first, and the ones without figures named, never given as zero.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ovos_workshop.decorators import intent_handler

from engine import names as nm
from skill_enms import periods as sp
from skill_enms.common import pinned_lang, sentence

ACTIVE_WEEKS = 13       # a quarter: a lasting shift of about 0.75 sigma re-alarms within it
RECENT_DAYS = 7
SHORT_ITEMS = 3         # items in a short answer; the rest on "tell me more"
SEVERITY = {"high": 0, "medium": 1, "low": 2}
GROUPS = {"outlier": "spike", "impossible": "spike", "missing_driver": "gap",
          "counter_rollover": "counter", "counter_reset": "counter"}
KNOWN_GROUPS = ("gap", "stuck", "spike", "negative", "counter")
BRIEFING_EVENT = "enms_shift_briefing"


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def active_alarm(alarms: list[dict], judged_to: date,
                 weeks: int = ACTIVE_WEEKS) -> tuple[str, date] | None:
    """(direction, since) of the CUSUM alarm active at ``judged_to``, or None.

    alarms: the report's ``cusum.alarms`` ({"week_of", "direction"}), in time
    order. The newest alarm is active if its week lies within ``weeks`` weeks
    of ``judged_to``; it has been active since the first alarm of the run of
    same-side alarms before it, each within ``weeks`` weeks of the next.
    """
    if not alarms:
        return None
    ordered = sorted(alarms, key=lambda a: _day(a["week_of"]))
    last = ordered[-1]
    direction, since = last["direction"], _day(last["week_of"])
    if (judged_to - since).days > 7 * weeks:
        return None
    for alarm in reversed(ordered[:-1]):
        week = _day(alarm["week_of"])
        if alarm["direction"] != direction or (since - week).days > 7 * weeks:
            break
        since = week
    return direction, since


class MonitoringMixin:
    """CUSUM trend, data quality and briefing intents (mixed into EnmsSkill)."""

    # --- periods ------------------------------------------------------------------------

    def _latest_complete_month(self) -> sp.Period:
        """The reference day's month if the reference day ends it, else the month before."""
        ref = self._reference_day()
        if (ref + timedelta(days=1)).month == ref.month:
            ref = ref.replace(day=1) - timedelta(days=1)
        return sp.Period(*sp._month(ref.year, ref.month), "month")

    def _recent(self, days: int = RECENT_DAYS) -> sp.Period:
        ref = self._reference_day()
        return sp.Period(ref - timedelta(days=days - 1), ref, "recent")

    def _clipped(self, period: sp.Period) -> sp.Period:
        """The period cut at the reference day (there are no data after it)."""
        ref = self._reference_day()
        if period.last <= ref or period.first > ref:
            return period
        return sp.Period(period.first, ref, "range")

    # --- cusum_status -------------------------------------------------------------------

    @intent_handler("cusum_status.intent")
    @pinned_lang
    def handle_cusum_status(self, message):
        intent = "cusum_status"
        try:
            from engine import reports
            from engine.errors import NotFound
            period, _ = self._split_period(message.data.get("utterance", ""))
            seu_text = self._split_period(self._slot_text(message, "seu", intent))[1]
            seu = self._resolve_seu(message, seu_text, intent)
            if seu is None:
                return
            equipment, source = seu
            period = period or self._latest_complete_month()
            try:
                report = reports.build(self.store, equipment, source, period.first, period.last)
            except NotFound:
                self._say(message, self._render("no.baseline", {
                    "seu": self._say_seu(equipment, source), "equipment": equipment}), intent)
                return
            text, detail, result = self._cusum_speech(report)
            self._say(message, text, intent, detail=detail, seu=f"{equipment} {source}",
                      equipment=equipment, energy_source=source,
                      period={"start": period.first, "end": period.last}, result=result)
        except Exception as exc:  # noqa: BLE001 - speak it, never crash the skill
            self._failed(message, intent, exc)

    def _seu_status(self, report: dict) -> dict:
        """What the answers say about one report: its active alarm and deviation."""
        c = report["cusum"]
        judged = _day(c.get("judged_to") or report["last"])
        alarm = active_alarm(c["alarms"], judged)
        return {"alarm": alarm[0] if alarm else None, "alarm_since": alarm[1] if alarm else None,
                "judged_to": judged, "to_date": c["to_date"], "since": _day(c["since"])}

    def _cusum_speech(self, report: dict) -> tuple[str, str, dict]:
        status = self._seu_status(report)
        seu = self._say_seu(report["equipment"], report["source"])
        if status["alarm"]:
            head = self._render(f"cusum.{status['alarm']}", {
                "seu": seu, "since": self._say_date(status["alarm_since"])})
        else:
            head = self._render("cusum.none", {"seu": seu})
        amount = status["to_date"]
        shown = float(f"{abs(amount):.3g}") if amount else 0.0
        total = self._render("cusum.total.zero" if shown == 0 else
                             "cusum.total.above" if amount > 0 else "cusum.total.below", {
            "span": self._say_span(status["since"], _day(report["last"])),
            "amount": self._number(abs(amount)), "unit": self._unit(report["unit"])})
        alarms = report["cusum"]["alarms"]
        up = sum(1 for a in alarms if a["direction"] == "up")
        data = {"count": self._number(len(alarms)), "up": self._number(up),
                "down": self._number(len(alarms) - up),
                "judged": self._say_date(status["judged_to"], year=True),
                "k": self._decimal(report["cusum"]["k"], 2),
                "h": self._decimal(report["cusum"]["h"], 2),
                "version": self._number(report["baseline_version"])}
        if alarms:
            data["last"] = self._say_date(_day(alarms[-1]["week_of"]), year=True)
            detail = self._render("cusum.detail", data)
        else:
            detail = self._render("cusum.detail.none", data)
        result = {"seu": report["seu"], "period": report["period"], "unit": report["unit"],
                  "cusum_to_date": amount, "cusum_since": status["since"],
                  "alarm": status["alarm"], "alarm_since": status["alarm_since"],
                  "alarms": len(alarms), "judged_to": status["judged_to"],
                  "baseline_version": report["baseline_version"]}
        return f"{head} {total}", detail, result

    # --- data_quality -------------------------------------------------------------------

    @intent_handler("data_quality.intent")
    @pinned_lang
    def handle_data_quality(self, message):
        intent = "data_quality"
        try:
            from engine import quality
            period, _ = self._split_period(message.data.get("utterance", ""))
            text = self._split_period(self._slot_text(message, "target", intent))[1]
            target = self._quality_target(message, text, intent)
            if target is None:
                return
            label, entries = target
            period = self._clipped(period) if period else self._recent()
            if period.first > self._reference_day():
                self._say(message, self._render("quality.no.data", {
                    "when": self._say_when(period),
                    "last": self._say_date(self._reference_day(), year=True)}), intent)
                return
            results = [quality.period_score(self.store, name, period.first, period.last,
                                            kind=kind) for kind, name in entries]
            text, detail, result = self._quality_speech(results, label, period)
            self._say(message, text, intent, detail=detail,
                      period={"start": period.first, "end": period.last}, result=result)
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _quality_target(self, message, text: str, intent: str):
        """(spoken label or None, [(kind, name)]) of what to check; None after
        speaking why not. No name: every meter and driver."""
        cat = self._catalog()
        filler = set(self._words("quality_words"))
        text = " ".join(w for w in text.split() if w.lower() not in filler)
        if not text.strip():
            return None, [("meter", m) for m in sorted(cat.meters)] + \
                [("driver", d) for d in sorted(cat.drivers)]
        aliases = self._aliases()
        said, rest = nm.find_mentions(text, {s: aliases.get(s, []) for s in cat.sources},
                                      **self._kw())
        sources = self._join([self._say_name(s) for s in said])
        if not rest.strip():
            meters = sorted(m for m, (_, s) in cat.meters.items() if s in said)
            return self._render("quality.source.meters", {"source": sources}), \
                [("meter", m) for m in meters]
        candidates = {e: aliases.get(e, []) for e in cat.equipment}
        candidates.update(cat.driver_candidates(aliases, self._num_lang))
        result = nm.resolve(rest, candidates, **self._kw())
        name = self._settle_name(message, result, candidates, intent, text,
                                 sorted(cat.equipment)[:3])
        if name is None:
            return None
        if name in cat.drivers:
            return self._say_name(name), [("driver", name)]
        meters = sorted(m for m, (e, s) in cat.meters.items()
                        if e == name and (not said or s in said))
        if not meters:
            self._say(message, self._render("quality.no.meter" if said else "quality.no.meter.any",
                                            {"equipment": name, "source": sources}),
                      intent, error="no_meter")
            return None
        label = self._say_seu(name, said[0]) if len(said) == 1 else name
        return label, [("meter", m) for m in meters]

    def _entity_name(self, kind: str, name: str) -> str:
        if kind == "meter":
            owner = self._catalog().meters.get(name)
            if owner:
                return self._render("meter.name", {"equipment": owner[0],
                                                   "source": self._say_name(owner[1])})
            return name
        return self._say_name(name)

    def _quality_items(self, results: list[dict]) -> list[dict]:
        """Findings grouped per meter/driver and kind, most severe first."""
        missing = {r["name"] for r in results for f in r["findings"]
                   if f["kind"] == "missing_driver"}
        groups: dict[tuple, dict] = {}
        for r in results:
            for f in r["findings"]:
                if f["kind"] == "missing_driver" and \
                        (f.get("evidence") or {}).get("derived_from") in missing:
                    continue   # said with its parent
                group = GROUPS.get(f["kind"], f["kind"])
                item = groups.setdefault((r["kind"], r["name"], group), {
                    "kind": r["kind"], "name": r["name"], "group": group, "events": {},
                    "severity": f["severity"], "start": f["start"]})
                # One event per start: a spike above rated power is one spike.
                item["events"].setdefault(f["start"], f)
                if SEVERITY[f["severity"]] < SEVERITY[item["severity"]]:
                    item["severity"] = f["severity"]
        items = sorted(groups.values(), key=lambda i: (SEVERITY[i["severity"]], i["start"]))
        for item in items:
            item["events"] = sorted(item["events"].values(), key=lambda f: f["start"])
        return items

    def _say_item(self, item: dict) -> str:
        events = item["events"]
        first = min(_day(e["first_day"]) for e in events)
        last = max(_day(e["last_day"]) for e in events)
        days = sorted({_day(e["first_day"]) for e in events})
        if len(events) > 1 and len(days) == len(events) and len(days) <= 4:
            when = self._render("when.days", {"days": self._join(
                [self._say_date(d) for d in days])})
        elif first == last:
            when = self._render("when.day", {"day": self._say_date(first)})
        else:
            when = self._render("when.range", {"first": self._say_date(first),
                                               "last": self._say_date(last)})
        group = item["group"] if item["group"] in KNOWN_GROUPS else "other"
        if group == "gap" and item["kind"] == "driver":
            group = "missing"
        name = f"quality.{group}" + ("s" if len(events) > 1 else "")
        return self._render(name, {
            "entity": self._entity_name(item["kind"], item["name"]), "when": when,
            "count": self._number(len(events)),
            "what": item["events"][0]["kind"].replace("_", " ")})

    def _quality_speech(self, results: list[dict], label: str | None,
                        period: sp.Period) -> tuple[str, str | None, dict]:
        items = self._quality_items(results)
        scored = [r for r in results if r["score"] is not None]
        worst = min(scored, key=lambda r: r["score"]) if scored else None
        count = sum(len(i["events"]) for i in items)
        said = [self._say_item(i) for i in items]
        data = {"when": self._say_when(period), "target": label,
                "count": self._number(count), "checked": self._number(len(results)),
                "score": self._score(worst["score"]) if worst else self._render("unknown.value"),
                "findings": self._join(said[:SHORT_ITEMS])}
        scope = "all" if label is None else "target"
        if not items:
            text = self._render(f"quality.none.{scope}", data)
        else:
            text = self._render(f"quality.{'one' if count == 1 else 'some'}.{scope}", data)
            if len(said) > SHORT_ITEMS:
                text += " " + self._render("quality.more", {
                    "count": self._number(len(said) - SHORT_ITEMS)})
        detail = None
        if worst is not None and (items or label is None):
            detail = self._render("quality.detail", {
                "findings": self._join(said) if said else self._render("quality.nothing"),
                "entity": self._entity_name(worst["kind"], worst["name"]),
                "score": self._score(worst["score"]), "checked": self._number(len(results))})
        result = {"first": period.first, "last": period.last, "checked": len(results),
                  "lowest": {"kind": worst["kind"], "name": worst["name"],
                             "score": worst["score"]} if worst else None,
                  "problems": count,
                  "findings": [{"kind": i["kind"], "name": i["name"], "group": i["group"],
                                "count": len(i["events"]), "severity": i["severity"],
                                "first_day": i["events"][0]["first_day"],
                                "last_day": i["events"][-1]["last_day"]} for i in items]}
        return text, detail, result

    def _score(self, score: float) -> str:
        """A 0-1 score as spoken percent: whole numbers, one decimal from 99 to 100
        (so 99.96 is not said as one hundred)."""
        pct = 100 * score
        if 99 <= pct < 100:
            return self._decimal(min(int(pct * 10) / 10, 99.9), 1)
        return self._decimal(pct, 0)

    # --- briefing -------------------------------------------------------------------------

    @intent_handler("briefing.intent")
    @pinned_lang
    def handle_briefing(self, message):
        self._speak_briefing(message, at=self.settings.get("reference_date") or None)

    def _speak_briefing(self, message, at=None):
        """The last shift's briefing (engine.briefing), short first, the rest on "tell me more"."""
        intent = "briefing"
        try:
            from engine import briefing
            if at and len(at) == 10:    # a reference day: as at its end
                at = f"{date.fromisoformat(at) + timedelta(days=1)}T00:00"
            b = briefing.build(self.store, "last", at=at, site=self.settings.get("site") or None,
                               shift_starts=self.settings.get("shift_times") or None)
            parts, details = [self._briefing_head(b)], []
            for section in (self._briefing_alerts(b["alerts"]), self._briefing_shift_seus(b),
                            self._briefing_alarms(b["cusum_alarms"]),
                            self._briefing_data(b["data_quality"])):
                if section is not None:
                    parts.append(section[0])
                    details += section[1]
            if details:
                parts.append(self._render("briefing.more"))
            self._say(message, " ".join(sentence(p) for p in parts if p), intent,
                      detail=" ".join(sentence(d) for d in details) or None,
                      period={"start": b["shift"]["start"][:10], "end": b["shift"]["end"][:10]},
                      result=b)
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _say_clock(self, stamp: str) -> str:
        """'14:00' as the locale says a time of day ('fourteen hundred')."""
        moment = datetime.fromisoformat(stamp)
        data = {"hour": self._number(moment.hour), "minute": self._number(moment.minute)}
        return self._render("clock.minutes" if moment.minute else "clock", data)

    def _briefing_head(self, b: dict) -> str:
        """Which shift (and, when the data end before now, how old they are)."""
        shift = b["shift"]
        start = datetime.fromisoformat(shift["start"])
        head = self._render(f"briefing.shift.{shift['which']}", {
            "day": self._say_date(start.date(), year=True),
            "start": self._say_clock(shift["start"]), "end": self._say_clock(shift["until"])})
        if not b["stale"]:
            return head
        last = datetime.fromisoformat(b["data_end"]) - timedelta(seconds=1)
        return sentence(self._render("briefing.stale", {
            "last": self._say_date(last.date(), year=True)})) + " " + head

    def _briefing_item(self, row: dict) -> str:
        pct = row["deviation_pct"] or 0.0
        shown = round(abs(pct), 1 if abs(pct) < 10 else 0)
        return self._render("briefing.item.equal" if shown == 0 else
                            "briefing.item.above" if pct > 0 else "briefing.item.below", {
            "seu": self._say_seu(row["equipment"], row["source"]), "pct": self._pct(pct)})

    def _briefing_shift_seus(self, b: dict) -> tuple[str, list[str]]:
        """The SEUs outside their expected range, largest deviation [kWh] first; the
        ones without figures named (missing, never zero)."""
        rows = b["seus"]
        compared = [r for r in rows if r["deviation_kwh"] is not None]
        outside = [r for r in compared if r["outside_range"]]
        data = {"total": self._number(len(compared)), "count": self._number(len(outside))}
        if not compared:
            text = self._render("briefing.shift.seus.empty")
        elif outside:
            data["items"] = self._join([self._briefing_item(r) for r in outside[:SHORT_ITEMS]])
            text = self._render("briefing.shift.seus.one" if len(outside) == 1
                                else "briefing.shift.seus", data)
        else:
            data["items"] = self._briefing_item(compared[0])
            text = self._render("briefing.shift.seus.none", data)
        missing = [self._say_seu(r["equipment"], r["source"]) for r in rows
                   if r["deviation_kwh"] is None]
        if missing and compared:   # none compared: the line above says so for all
            text = sentence(text) + " " + self._render("briefing.shift.missing", {
                "seus": self._join(missing)})
        details = []
        if compared:
            details.append(self._render("briefing.shift.detail", {"items": self._join([
                self._render("briefing.shift.figures", {
                    "item": self._briefing_item(r), "actual": self._number(r["actual"]),
                    "expected": self._number(r["expected"]), "unit": self._unit(r["unit"])})
                for r in compared])}))
        return text, details

    def _briefing_alarms(self, alarms: list[dict]) -> tuple[str, list[str]] | None:
        if not alarms:
            return None
        items = []
        for a in alarms:
            name = self._say_seu(*a["seu"].split(" ", 1)) if " " in a["seu"] else a["seu"]
            since = _day(a["since"]) if a["since"] else None
            items.append(self._render(f"briefing.drift.{a['direction']}", {
                "seu": name, "since": self._say_date(since) if since else "?"}))
        return self._render("briefing.drifts", {"items": self._join(items)}), []

    def _briefing_data(self, data: dict) -> tuple[str, list[str]]:
        """Findings of the data-quality log in the shift, grouped as the data_quality
        intent groups them, and the meters with hours missing."""
        results: dict[tuple, dict] = {}
        for f in data["findings"]:
            results.setdefault((f["entity"], f["name"]), {
                "kind": f["entity"], "name": f["name"], "findings": []})["findings"].append(f)
        items = self._quality_items(list(results.values()))
        said = [self._say_item(i) for i in items]
        when = self._render("when.shift")
        if not items:
            text = self._render("briefing.data.none", {"when": when})
        else:
            count = sum(len(i["events"]) for i in items)
            text = self._render("briefing.data.one" if count == 1 else "briefing.data", {
                "when": when, "count": self._number(count), "first": said[0]})
        if data["missing_meters"]:
            text = sentence(text) + " " + self._render("briefing.shift.gaps", {"meters": self._join(
                [self._entity_name("meter", m) for m in data["missing_meters"]])})
        details = [self._render("briefing.data.detail", {"when": when,
                                                         "findings": self._join(said)})] \
            if len(said) > 1 else []
        return text, details

    # --- the briefing at every shift change -----------------------------------------------

    def _schedule_briefing(self):
        """Schedule the spoken briefing at the next shift change in the site's time zone
        (one event at a time: shifts differ in length and clocks change)."""
        self.cancel_scheduled_event(BRIEFING_EVENT)
        if not self.settings.get("briefing_at_shift_change", True):
            return None
        try:
            from engine import briefing
            starts = briefing.parse_shift_starts(self.settings.get("shift_times") or None)
            when = briefing.next_shift_change(datetime.now(timezone.utc),
                                              briefing.site_timezone(
                                                  self.store, self.settings.get("site") or None),
                                              starts)
        except Exception as exc:  # noqa: BLE001 - no database or site yet: settings retry
            self.log.warning(f"shift briefing not scheduled: {exc}")
            return None
        self.schedule_event(self._scheduled_briefing, when, name=BRIEFING_EVENT)
        return when

    def _with_device_lang(self, message):
        """A scheduled event carries no utterance language: the skill setting
        ``lang`` says which language this device speaks unasked (the briefing,
        spoken alerts)."""
        if self.settings.get("lang"):
            message.data["lang"] = self.settings["lang"]
        return message

    def _scheduled_briefing(self, message):
        self._speak_scheduled_briefing(self._with_device_lang(message))
        self._schedule_briefing()

    @pinned_lang
    def _speak_scheduled_briefing(self, message):
        self._speak_briefing(message)

"""Savings and alerts intents of the EnMS skill.

``engine.savings`` (avoided energy, money, CO2) and ``engine.alerts`` (the
alert store: list, acknowledge) are imported inside the handlers only, so the
skill loads in an installation that lacks them; such a handler says that the
feature is not installed.

- savings: "how much did we save this year", "savings on natural gas in
  2025", "how much did boiler one save last month". No period: this year up
  to the reference day. Periods are cut at the reference day. The plant and
  several energy sources are said in megawatt hours; one source or one SEU in
  its own unit. Saved energy is positive; energy used above the baseline is
  said as a loss.
- alerts: "any alerts", "any alerts on the boiler". Open alerts, most severe
  first; a few in the short answer, all on "tell me more".
- acknowledge_alert: "acknowledge the compressor alert", "acknowledge alert
  twelve". Needs the energy engineer or admin role. The name is matched only
  against what has open alerts (so "compressor" is clear when one compressor
  has alerts); with several alerts the skill asks which one. The comment (the
  investigation record ISO 50001 asks for) is asked for with get_response
  and is required.
"""
from __future__ import annotations

from datetime import date

from ovos_workshop.decorators import intent_handler

from engine import names as nm
from skill_enms import periods as sp
from skill_enms.common import pinned_lang, sentence

SHORT_ALERTS = 3


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class AccountsMixin:
    """Savings, alerts and acknowledging alerts (mixed into EnmsSkill)."""

    def _engine_module(self, name: str, message, intent: str):
        """engine.<name>, or None after saying it is not installed here."""
        import importlib
        try:
            return importlib.import_module(f"engine.{name}")
        except ImportError:
            self._say(message, self._render("not.installed", {
                "feature": self._render(f"feature.{name}")}), intent, error="not_installed")
            return None

    # --- savings ----------------------------------------------------------------------------

    @intent_handler("savings.intent")
    @pinned_lang
    def handle_savings(self, message):
        intent = "savings"
        try:
            savings = self._engine_module("savings", message, intent)
            if savings is None:
                return
            utterance = message.data.get("utterance", "")
            period, rest_of_utterance = self._split_period(utterance)
            ref = self._reference_day()
            period = self._clipped(period) if period else \
                sp.Period(date(ref.year, 1, 1), ref, "range")
            cat = self._catalog()
            aliases = self._aliases()
            target = self._split_period(self._slot_text(message, "target", intent))[1]
            said, rest = nm.find_mentions(target or rest_of_utterance,
                                          {s: aliases.get(s, []) for s in cat.sources},
                                          **self._kw())
            equipment = source = None
            if target and rest.strip():
                seu = self._resolve_seu(message, target, intent)
                if seu is None:
                    return
                equipment, source = seu
            elif said:
                source = said[0]
            if period.first > ref:
                self._say(message, self._render("quality.no.data", {
                    "when": self._say_when(period), "last": self._say_date(ref, year=True)}),
                    intent)
                return
            # The answer says the period only: the figures since the
            # baseline would cost each SEU's expected energy a second time.
            result = savings.compute(self.store, period.first, period.last,
                                     equipment=equipment, source=source, cumulative=False)
            text, detail = self._savings_speech(result, period, equipment, source)
            self._say(message, text, intent, detail=detail,
                      seu=f"{equipment} {source}" if equipment else None,
                      equipment=equipment, energy_source=source,
                      period={"start": period.first, "end": period.last},
                      result={"total": result["total"]["period"],
                              "by_source": [{"source": b["source"], "unit": b["unit"],
                                             "period": b["period"]}
                                            for b in result["by_source"]],
                              "without_baseline": result["without_baseline"]})
        except Exception as exc:  # noqa: BLE001 - speak it, never crash the skill
            self._failed(message, intent, exc)

    def _co2(self, tonnes: float) -> str:
        """'three tonnes of C O two avoided' / '... more emitted' (kilograms below a tonne)."""
        way = "saved" if tonnes >= 0 else "lost"
        if abs(tonnes) < 1:
            return self._render(f"co2.kg.{way}", {"amount": self._number(abs(tonnes) * 1000)})
        return self._render(f"co2.{way}", {"amount": self._number(abs(tonnes))})

    def _money(self, money: dict) -> str:
        """Each currency with its own sign: 'x euros saved' / 'x euros more spent'."""
        return self._join([self._render("money.saved" if v >= 0 else "money.lost", {
            "amount": self._number(abs(v)), "currency": self._unit(c)})
            for c, v in money.items()])

    def _savings_speech(self, result: dict, period, equipment, source) -> tuple[str, str | None]:
        """Energy, money and CO2, each with its own sign: saving energy on gas and
        losing it on electricity can save energy overall and still cost money."""
        ok = [r for r in result["seus"] if r["status"] == "ok"]
        when = self._say_when(period)
        if equipment:
            target = self._say_seu(equipment, source)
        elif source:
            target = self._say_name(source)
        else:
            target = None
        if not ok:
            row = result["seus"][0] if result["seus"] else None
            if row and row["status"] == "no active baseline":
                return self._render("no.baseline", {"seu": target or row["seu"],
                                                    "equipment": row["equipment"]}), None
            since = min((_day(r["since"]) for r in result["seus"] if r.get("since")), default=None)
            if since is not None:
                return self._render("savings.none", {
                    "when": when, "since": self._say_date(since, year=True)}), None
            return self._render("savings.nothing", {"when": when}), None
        if equipment:
            figures, unit, amount = ok[0]["period"], ok[0]["unit"], ok[0]["period"]["avoided"]
        elif source:
            block = result["by_source"][0]
            figures, unit, amount = block["period"], block["unit"], block["period"]["avoided"]
        else:
            figures = result["total"]["period"]
            unit, amount = "MWh", figures["avoided_mwh"]
            if abs(amount) < 1:
                unit, amount = "kWh", figures["avoided_kwh"]
        money = figures.get("money")
        if isinstance(money, (int, float)):   # one SEU: its own currency
            money = {ok[0]["currency"]: money}
        pct = figures.get("avoided_pct") or 0.0
        data = {"target": target, "when": when,
                "energy": self._render("energy.saved" if amount >= 0 else "energy.lost", {
                    "amount": self._number(abs(amount)), "unit": self._unit(unit)}),
                "money": self._money(money or {}), "co2": self._co2(figures["co2_t"])}
        text = self._render(f"savings.head.{'target' if target else 'all'}", data)
        text += " " + self._render("savings.pct.saved" if pct >= 0 else "savings.pct.lost",
                                   {"pct": self._pct(pct)})
        if any(r.get("clipped") for r in ok):
            since = min(_day(r["since"]) for r in ok)
            text += " " + self._render("savings.clipped", {"since": self._say_date(since,
                                                                                   year=True)})
        items = []
        for r in sorted(ok, key=lambda r: -r["period"]["avoided_kwh"]):
            value = r["period"]["avoided"]
            items.append(self._render("savings.item.saved" if value >= 0 else
                                      "savings.item.lost", {
                "seu": self._say_seu(r["equipment"], r["source"]),
                "amount": self._number(abs(value)), "unit": self._unit(r["unit"])}))
        parts = [self._join(items) + "."]
        band = (figures.get("uncertainty") or {}).get("95")
        if band:
            value = band.get("band") if (equipment or source) else band.get("band_mwh")
            if value is not None:
                parts.append(self._render("savings.uncertainty", {
                    "band": self._number(value),
                    "unit": self._unit(unit if (equipment or source) else "MWh")}))
        if result.get("without_baseline"):
            parts.append(self._render("savings.without", {"seus": self._join(
                [self._say_seu(*n.split(" ", 1)) for n in result["without_baseline"]])}))
        return text, " ".join(parts)

    # --- alerts -----------------------------------------------------------------------------

    def _alert_equipment(self, alert: dict) -> str:
        """What an alert is about, as the catalog names it: equipment or driver."""
        cat = self._catalog()
        if alert.get("seu"):
            return alert["seu"].split(" ", 1)[0]
        if alert["subject_kind"] == "meter" and alert["subject"] in cat.meters:
            return cat.meters[alert["subject"]][0]
        if alert["subject_kind"] == "seu":
            return alert["subject"].split(" ", 1)[0]
        return alert["subject"]

    def _alert_subject_name(self, alert: dict) -> str:
        name = alert.get("seu")
        if name:
            return self._say_seu(*name.split(" ", 1)) if " " in name else name
        return self._entity_name(alert["subject_kind"], alert["subject"])

    def _say_alert(self, alert: dict, number: bool = False) -> str:
        """'Compressor-EU-1 electricity fourteen percent above expected in October 2025'
        (with number: 'alert two, critical: ...')."""
        ev = alert.get("evidence") or {}
        when = self._say_when(sp.Period(_day(alert["first"]), _day(alert["last"]), "range"))
        kind = alert["kind"]
        data = {"when": when, "severity": self._render(f"severity.{alert['severity']}"),
                "number": self._number(alert["id"])}
        if alert["subject_kind"] in ("meter", "driver"):
            data["subject"] = self._entity_name(alert["subject_kind"], alert["subject"])
        else:
            data["subject"] = self._alert_subject_name(alert)
        if kind == "significant_deviation":
            pct = ev.get("deviation_pct") or 0.0
            data["pct"] = self._pct(pct)
            key = "alert.deviation.above" if pct > 0 else "alert.deviation.below"
        elif kind == "cusum_alarm":
            key = "alert.cusum.up" if ev.get("direction") == "above" else "alert.cusum.down"
        elif kind == "missing_data":
            key = "alert.missing"
        elif kind == "data_quality_drop":
            data["score"] = self._score(ev.get("score") or 0.0)
            key = "alert.quality"
        else:
            data["what"] = kind.replace("_", " ")
            key = "alert.other"
        text = self._render(key, data)
        if not number:
            return text
        return f"{self._render('alert.head.number', data)} {text}"

    def _say_alerts(self, found: list[dict]) -> str:
        """Short list, grouped by severity: 'critical: A and B; warning: C'."""
        groups: dict[str, list[str]] = {}
        for a in found:
            groups.setdefault(a["severity"], []).append(self._say_alert(a))
        return "; ".join(self._render("alert.group", {
            "severity": self._render(f"severity.{severity}"), "items": self._join(items)})
            for severity, items in groups.items())

    def _open_alerts(self, alerts_module) -> list[dict]:
        return alerts_module.list_alerts(self.store, "open")

    @intent_handler("alerts.intent")
    @pinned_lang
    def handle_alerts(self, message):
        intent = "alerts"
        try:
            alerts = self._engine_module("alerts", message, intent)
            if alerts is None:
                return
            found = self._open_alerts(alerts)
            text = self._slot_text(message, "target", intent)
            label = None
            if text.strip():
                chosen = self._alert_subject(message, text, found, intent, speak_none=False)
                if chosen is None:
                    return
                label, found = chosen
            if not found:
                self._say(message, self._render("alerts.none.target" if label else "alerts.none",
                                                {"target": label}), intent, result=[])
                return
            data = {"count": self._number(len(found)), "target": label,
                    "items": sentence(self._say_alerts(found[:SHORT_ALERTS]))}
            scope = "target" if label else "all"
            text = self._render(f"alerts.{'one' if len(found) == 1 else 'some'}.{scope}", data)
            if len(found) > SHORT_ALERTS:
                text += " " + self._render("alerts.more", {
                    "count": self._number(len(found) - SHORT_ALERTS)})
            detail = self._join([self._say_alert(a, number=True) for a in found]) + ". " + \
                self._render("alerts.how.ack")
            self._say(message, text, intent, detail=detail,
                      result=[{k: a[k] for k in ("id", "kind", "severity", "subject", "seu",
                                                 "period", "message")} for a in found])
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _alert_subject(self, message, text: str, found: list[dict], intent: str,
                       speak_none: bool = True):
        """(label, the open alerts about what ``text`` names); None after speaking.

        Names are matched against the catalog's equipment, drivers and energy
        sources; a name that fits several is looked for among what has alerts."""
        cat = self._catalog()
        aliases = self._aliases()
        filler = set(self._words("alert_words"))
        text = " ".join(w for w in text.split() if w.lower() not in filler)
        said, rest = nm.find_mentions(text, {s: aliases.get(s, []) for s in cat.sources},
                                      **self._kw())
        if not rest.strip() and said:
            chosen = [a for a in found if (a.get("seu") or "").split(" ", 1)[-1] in said or
                      cat.meters.get(a["subject"], ("", ""))[1] in said]
            return self._say_name(said[0]), chosen
        if not rest.strip():
            return None, found
        with_alerts = {self._alert_equipment(a) for a in found}
        everything = {e: aliases.get(e, []) for e in cat.equipment}
        everything.update(cat.driver_candidates(aliases, self._num_lang))
        narrow = {k: v for k, v in everything.items() if k in with_alerts}
        # A name that fits one thing of the catalog is that thing ("compressor
        # one" is Compressor-1, with or without alerts); only a name that fits
        # several ("the compressor") is looked for among those with alerts.
        result = nm.resolve(rest, everything, **self._kw())
        if isinstance(result, nm.Ambiguous) and narrow:
            among = nm.resolve(rest, narrow, **self._kw())
            if isinstance(among, nm.Match):
                result = among
        name = self._settle_name(message, result, everything, intent, text,
                                 sorted(cat.equipment)[:3])
        if name is None:
            return None
        chosen = [a for a in found if self._alert_equipment(a) == name]
        if said:
            chosen = [a for a in chosen if (a.get("seu") or " ").split(" ", 1)[-1] in said or
                      cat.meters.get(a["subject"], ("", ""))[1] in said]
        return (self._say_seu(name, said[0]) if len(said) == 1 else self._say_name(name)), chosen

    # --- acknowledge_alert ------------------------------------------------------------------

    @intent_handler("acknowledge_alert.intent")
    @pinned_lang
    def handle_acknowledge_alert(self, message):
        intent = "acknowledge_alert"
        try:
            if not self._permitted(message, "acknowledge_alert", intent):
                return
            alerts = self._engine_module("alerts", message, intent)
            if alerts is None:
                return
            found = self._open_alerts(alerts)
            if not found:
                self._say(message, self._render("alerts.none"), intent)
                return
            alert = self._pick_alert(message, found, intent)
            if alert is None:
                return
            comment = self.get_response("ack.comment", {"alert": self._say_alert(alert)},
                                        num_retries=1, wait=False)
            if not comment or not comment.strip():
                self._say(message, self._render("ack.no.comment"), intent, error="no_comment")
                return
            by = self.settings.get("trained_by") or "voice"
            done = alerts.acknowledge(self.store, alert["id"], by=by, comment=comment.strip())
            self._say(message, self._render("ack.done", {
                "number": self._number(done["id"]), "subject": self._say_alert(done),
                "comment": done["comment"]}), intent,
                result={k: done[k] for k in ("id", "kind", "status", "acknowledged_by",
                                             "acknowledged_at", "comment")})
        except Exception as exc:  # noqa: BLE001
            self._failed(message, intent, exc)

    def _said_number(self, message) -> int | None:
        """'acknowledge alert twelve' / 'alert number 12' -> 12: a number right
        after an alert word or 'number' (not the 'one' of 'compressor one')."""
        words = nm.normalise(message.data.get("utterance", ""), self._num_lang, ()).split()
        before = set(self._words("alert_words")) | set(self._words("number_words"))
        numbers = [int(w) for i, w in enumerate(words)
                   if w.isdigit() and i > 0 and words[i - 1] in before]
        return numbers[-1] if numbers else None

    def _pick_alert(self, message, found: list[dict], intent: str) -> dict | None:
        number = self._said_number(message)
        if number is not None:
            alert = next((a for a in found if a["id"] == number), None)
            if alert is None:
                self._say(message, self._render("alert.not.open", {
                    "number": self._number(number)}), intent, error="not_open")
            return alert
        text = self._slot_text(message, "target", intent)
        chosen = found
        label = None
        if text.strip():
            subject = self._alert_subject(message, text, found, intent)
            if subject is None:
                return None
            label, chosen = subject
            if not chosen:
                self._say(message, self._render("alerts.none.target", {"target": label}),
                          intent)
                return None
        if len(chosen) == 1:
            return chosen[0]
        return self._ask_which_alert(message, chosen, intent)

    def _ask_which_alert(self, message, chosen: list[dict], intent: str) -> dict | None:
        shown = chosen[:SHORT_ALERTS]
        answer = self.get_response("ack.which", {
            "count": self._number(len(chosen)),
            "items": self._join([self._say_alert(a, number=True) for a in shown], "or")},
            num_retries=1, wait=False)
        if not answer:
            self._say(message, self._render("cancelled"), "cancelled")
            return None
        words = nm.normalise(answer, self._num_lang, ()).split()
        numbers = [int(w) for w in words if w.isdigit()]
        if numbers:
            alert = next((a for a in chosen if a["id"] == numbers[-1]), None)
            if alert is not None:
                return alert
        if self.voc_match(answer, "first"):
            return shown[0]
        if self.voc_match(answer, "second") and len(shown) > 1:
            return shown[1] if len(shown) == 2 or not self.voc_match(answer, "last") else shown[-1]
        self._say(message, self._render("still.unclear"), "unclear")
        return None

    # --- the briefing's part ------------------------------------------------------------------

    def _briefing_alerts(self, found: list[dict]):
        """(text, details) of the open alerts (engine.briefing lists them)."""
        if not found:
            return self._render("briefing.alerts.none"), []
        critical = [a for a in found if a["severity"] == "critical"]
        subjects = list(dict.fromkeys(self._alert_subject_name(a) for a in critical))
        data = {"count": self._number(len(found)), "critical": self._number(len(critical)),
                "subjects": self._join(subjects)}
        name = "briefing.alerts.one" if len(found) == 1 else "briefing.alerts"
        text = self._render(f"{name}.critical" if critical else name, data)
        details = [self._render("briefing.alerts.detail", {
            "items": self._join([self._say_alert(a, number=True) for a in found])})]
        return text, details

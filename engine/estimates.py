"""Estimates of missing energy by named rules, marked as such (DESIGN rule 5).

A day of an SEU whose energy is not fully metered (below
``baselines.ENERGY_COMPLETENESS_MIN`` of the day on any of its meters) is a
gap day. Missing never becomes zero: a gap day is either estimated by one of
two named rules, or stays missing and is listed with the reason.

- ``linear``: every gap of the day's meters is short (at most
  ``quality.ESTIMATE_MAX_INTERVALS`` nominal intervals, a reading on each
  side): the day's metered energy plus the missing intervals' rate
  interpolated linearly between the neighbouring readings
  (``quality.estimate_gaps``);
- ``baseline_model``: longer gaps: the whole day's energy is the SEU's active
  baseline's expected energy for that day from its drivers
  (``baselines.expected_days``). Needs a daily model and the day's drivers.

Estimates complete a period's energy total; they are never written into the
readings or rollups, and they never take part in the comparison with the
baseline (a model's estimate matches the model by construction, so it would
hide a deviation): reports' actual, expected, interval and CUSUM stay on
fully metered days.
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from . import baselines, catalog, quality
from .errors import NotFound

RULES = {
    "linear": (f"gaps of up to {quality.ESTIMATE_MAX_INTERVALS} nominal intervals with a reading "
               "on each side: the day's metered energy plus the rate interpolated linearly "
               "between the neighbouring readings"),
    "baseline_model": ("longer gaps: the whole day's energy is the active baseline's expected "
                       "energy for that day from its drivers (daily models only)"),
}
NOTE = ("Estimated days complete the period's energy (with_estimates) and are listed with their "
        "rule; the deviation, its interval and the CUSUM compare fully metered days only.")


def gap_days(meter_days: dict) -> list[date]:
    """Days on which any meter's energy is missing or below the completeness rule.

    meter_days: meter name -> daily rows (``queries.meter_series``), same days.
    """
    days = set()
    for rows in meter_days.values():
        days.update(r["day"] for r in rows if r["energy"] is None
                    or r["completeness"] < baselines.ENERGY_COMPLETENESS_MIN)
    return sorted(days)


def _linear_by_day(store, meter: str, first: date, last: date, zone: ZoneInfo) -> tuple:
    """Linear estimates of a meter's short gaps summed per local day, and the
    days that a gap too long for the rule touches."""
    found = quality.estimate_gaps(store, meter, first, last)
    energy, blocked = {}, set()
    for gap in found["estimated"]:
        for row in gap["rows"]:
            day = datetime.fromisoformat(row["ts"]).astimezone(zone).date()
            energy[day] = energy.get(day, 0.0) + row["value"]
    for gap in found["not_estimated"]:
        # The local end is exclusive: a gap ending at midnight leaves the next day alone.
        a = datetime.fromisoformat(gap["start_local"]).date()
        b = datetime.fromisoformat(gap["end_local"])
        b = b.date() if b.time() != datetime.min.time() else date.fromordinal(b.toordinal() - 1)
        blocked.update(_days(a, max(a, b)))
    return energy, blocked


def _days(a: date, b: date) -> list[date]:
    return [date.fromordinal(o) for o in range(a.toordinal(), b.toordinal() + 1)]


def fill(store, seu: dict, meter_days: dict, first: date, last: date,
         version: int | None = None) -> dict:
    """Measured and estimated energy of an SEU over [first, last].

    seu: the catalog entry (equipment, source, meters, unit); meter_days: its
    meters' daily rows over [first, last]. Returns measured (fully metered
    days), estimated, with_estimates, the rows (meter, from, to, rule,
    energy), the days left missing with why, and the rules.
    """
    gaps = gap_days(meter_days)
    complete = [d for d in _days(first, last) if d not in set(gaps)]
    by_day = {m: {r["day"]: r for r in rows} for m, rows in meter_days.items()}
    measured = sum(sum(by_day[m][d]["energy"] for m in by_day) for d in complete)
    rows, missing = [], []
    if gaps:
        zone = ZoneInfo(catalog.list_entries(store, "site")[0]["timezone"])
        linear = {m: _linear_by_day(store, m, gaps[0], gaps[-1], zone) for m in by_day}
        try:
            model = baselines.expected_days(store, seu["equipment"], seu["source"], gaps[0],
                                            gaps[-1], version)
        except NotFound:  # no baseline yet: no model-based rule
            model = {}
        for day in gaps:
            # Linear only where every incomplete meter has an interpolated part.
            short = all(day not in linear[m][1] and (day in linear[m][0] or (
                by_day[m][day]["energy"] is not None
                and by_day[m][day]["completeness"] >= baselines.ENERGY_COMPLETENESS_MIN))
                for m in by_day)
            if short:
                for m in by_day:
                    metered = by_day[m][day]["energy"] or 0.0  # the metered part, if any
                    added = linear[m][0].get(day, 0.0)
                    rows.append({"meter": m, "from": day, "to": day, "rule": "linear",
                                 "energy": metered + added, "interpolated": added})
            elif day in model:
                rows.append({"meter": ", ".join(by_day), "from": day, "to": day,
                             "rule": "baseline_model", "energy": model[day]})
            else:
                missing.append({"day": day, "reason": "gap too long for the linear rule and "
                                "no model estimate (drivers incomplete or not a daily model)"})
    rows = _merge(rows)
    estimated = sum(r["energy"] for r in rows)
    return {"used": bool(rows), "unit": seu["unit"], "measured": measured,
            "estimated": estimated, "with_estimates": measured + estimated if not missing else None,
            "days_estimated": sum((r["to"] - r["from"]).days + 1 for r in rows),
            "rows": rows, "not_estimated": missing, "rules": RULES, "note": NOTE}


def _merge(rows: list[dict]) -> list[dict]:
    """Consecutive days of one meter and rule as one row (from, to, energy summed)."""
    out = []
    for row in rows:
        last = out[-1] if out else None
        if last and last["meter"] == row["meter"] and last["rule"] == row["rule"] \
                and last["to"].toordinal() + 1 == row["from"].toordinal():
            last["to"] = row["to"]
            last["energy"] += row["energy"]
            if "interpolated" in row:
                last["interpolated"] += row["interpolated"]
            continue
        out.append(dict(row))
    return out

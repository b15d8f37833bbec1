"""Real-time checks as live readings arrive (``enms listen``).

After each written batch (``engine.stream.flush``) the ``Monitor`` looks at
the readings just stored and raises alerts through the same store and
notifiers as the monthly evaluation (``alerts.raise_conditions``):

- ``sensor_silence``: a meter that has reported since the listener started
  sends nothing for longer than its interval allows: no reading has ended
  within ``SILENCE_INTERVALS`` intervals (at least ``SILENCE_MIN_S``) of
  the monitor's clock. Checked on every batch and every few seconds between.
- ``stuck_value``: the newest readings repeat one non-zero value more than
  ``data_quality.STUCK_MIN_REPEATS`` times in a row (``dq.stuck_runs``, the
  rule of the data-quality scan).
- ``spike``: a reading whose rate stands out upwards by a robust z above
  ``dq.HAMPEL_THRESHOLD`` both from the readings before it and from the same
  local time of the week in the ``dq.HAMPEL_WEEKS`` weeks before (the two
  references of the scan's Hampel identifier; only the past exists live, so
  a shift start that is ordinary for its time of week is no spike).
- When the data's local day ends (the first reading of a new day), the
  month's evaluation (``alerts.evaluate``) runs on the completed day
  (``evaluate_ended``): the tabular CUSUM alarm, significant deviations and
  missing data are raised as soon as that day's rollups make them trip.
- ``live_deviation``: once ``LIVE_MIN_HOURS`` local hours of the day are
  complete, each SEU's energy of today so far against the baseline's
  expectation for today's drivers carried to the whole day, times the share
  of the day's energy in those hours on the baseline days most like today,
  within an interval widened by those days' spread (``expected_so_far``,
  ``engine.diurnal``, docs/methods.md section 14), at most once per SEU and
  day; weather-driven SEUs too (a mean temperature so far is corrected by the
  diurnal curve). Without a complete driver so far there is no expectation
  and no alert.

The clock is the data's: the newest reading end seen, advanced by wall time
since it arrived. Live it is the wall clock; a replay (``enms simulate``)
runs on the replayed time.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from . import (alerts, baselines, briefing, catalog, data_quality as dq, degree_days, diurnal,
               readings, rollups, schema as s)
from .localtime import (day_bounds, day_from_number, day_number, local_offsets, offset_segments,
                        utc_iso)
from .periods import label

log = logging.getLogger("enms.realtime")

SILENCE_INTERVALS = 3      # silent after three intervals without a reading ...
SILENCE_MIN_S = 300        # ... and never before five minutes
RECENT_READINGS = 2 * dq.HAMPEL_HALF_WINDOW + 1  # kept per meter for stuck values and spikes
# Today so far is judged from this many complete local hours on (fewer say too little).
LIVE_MIN_HOURS = 6
# Today so far is compared with the baseline days most like it: this many of
# its weekday (the profile of energy and sums by hour, and its spread) ...
REFERENCE_DAYS = 8
# ... and no expectation from fewer (a spread from three days says little).
REFERENCE_DAYS_MIN = 4
# This many days of any weekday give a mean driver's diurnal curve (it does
# not depend on the weekday, and more days average out the weather).
CURVE_DAYS = 31
# Each look at today so far tests at this level (1 - alpha interval).
LIVE_ALPHA = 0.05
# A sum so far is carried to the whole day once this share of the driver's day is in
# (from an hour or two the division multiplies that hour's noise many times).
SUM_DRIVER_SHARE_MIN = 0.25
HOUR_S = 3600

RULES = {
    "sensor_silence": f"no reading ended within {SILENCE_INTERVALS} intervals of the meter "
                      f"(at least {SILENCE_MIN_S} s)",
    "stuck_value": f"one non-zero value repeated more than {dq.STUCK_MIN_REPEATS} times in a row",
    "spike": f"rate above, with a robust z above {dq.HAMPEL_THRESHOLD:g}, the readings before "
             f"it and the same time of week in the {dq.HAMPEL_WEEKS} weeks before",
    "live_deviation": "today's energy so far outside the baseline's 95 % prediction interval "
                      "for today's drivers carried to the day, scaled by the share of the "
                      f"day's energy in those hours on the {REFERENCE_DAYS} baseline days of "
                      "the weekday most like today, widened by those days' spread (from "
                      f"{LIVE_MIN_HOURS} h on)",
}


# --- the rules: pure functions ----------------------------------------------------------

def silence_allowance_s(interval_s: int | None) -> int:
    """How long [s] a meter may send nothing before it is called silent."""
    return max(SILENCE_INTERVALS * int(interval_s or 0), SILENCE_MIN_S)


def silent(last_end_s: dict, interval_s: dict, now_s: float) -> dict:
    """Meters silent at ``now_s``: meter -> seconds since their last reading ended."""
    return {m: now_s - end for m, end in last_end_s.items()
            if now_s - end > silence_allowance_s(interval_s.get(m))}


def stuck_now(ts, duration_s, value) -> dict | None:
    """The stuck run that ends with the newest reading, if any (``dq.stuck_runs``)."""
    runs = dq.stuck_runs(ts, duration_s, value)
    return runs[-1] if runs and runs[-1]["last"] == len(ts) - 1 else None


def spike_z_before(rates, window: int) -> np.ndarray:
    """Robust z [-] of each rate above the ``window`` rates before it: 0 for a
    rate at or below their median (a drop is a stop, not a spike), NaN where
    fewer than ``dq.MIN_REFERENCE`` of them carry a value."""
    rates = np.asarray(rates, dtype=float)
    padded = np.r_[np.full(window, np.nan), rates]
    before = np.lib.stride_tricks.sliding_window_view(padded, window)[:-1]
    z, median, _, _ = dq.robust_z(rates, before)
    return np.where(rates > median, z, np.where(np.isnan(z), np.nan, 0.0))


def spike_z(rate: float, before, same_time_of_week) -> tuple[float, float]:
    """Robust z [-] of a rate against the readings before it and against the
    same local time of the week in earlier weeks (NaN where too few)."""
    x = np.array([rate])
    z_before = dq.robust_z(x, np.asarray(before, dtype=float)[None, :])[0][0]
    z_week = dq.robust_z(x, np.asarray(same_time_of_week, dtype=float)[None, :])[0][0]
    return float(z_before), float(z_week)


def driver_so_far(rollup: str, value, covered_s, window_s: int) -> float | None:
    """A driver's value over today so far from its hourly aggregates: the mean
    [driver unit] weighted by the seconds each hour covered for a mean-rolled
    driver, the sum for a sum-rolled one; None when less of the window is
    covered than a baseline's day needs (``baselines.*_DRIVER_COMPLETENESS_MIN``),
    and for a min or max driver (the extreme so far is not the day's)."""
    if rollup not in ("mean", "sum"):
        return None
    value, covered_s = np.asarray(value, dtype=float), np.asarray(covered_s, dtype=float)
    known = ~np.isnan(value)
    minimum = baselines.MEAN_DRIVER_COMPLETENESS_MIN if rollup == "mean" else \
        baselines.SUM_DRIVER_COMPLETENESS_MIN
    if covered_s[known].sum() < minimum * window_s:
        return None
    if rollup == "mean":
        return float((value[known] * covered_s[known]).sum() / covered_s[known].sum())
    return float(value[known].sum())


def measured_names(specs: list[dict], weather: str | None) -> tuple[set, set]:
    """The measured drivers a daily model reads: (mean-rolled, sum-rolled) names; a
    degree-day driver reads its temperature's mean."""
    means = {weather} - {None} | {d["derived_from"] for d in specs if d["derivation"]} | \
        {d["name"] for d in specs if d["kind"] == "measured" and d["rollup"] == "mean"}
    sums = {d["name"] for d in specs if d["kind"] == "measured" and d["rollup"] == "sum"}
    return means, sums


def model_drivers(specs: list[dict], weather: str | None, values: dict) -> dict:
    """The model's daily driver values from its measured drivers' day values
    (``values``: name -> [driver unit]): degree days [Kd] from the
    temperature's daily mean (docs/methods.md section 4), the temperature's
    mean under the weather driver's name."""
    out = {}
    for d in specs:
        if d["derivation"] in ("hdd", "cdd"):
            fn = degree_days.heating if d["derivation"] == "hdd" else degree_days.cooling
            out[d["name"]] = float(fn(np.array([values[d["derived_from"]]]), d["base_temp_c"])[0])
        else:
            out[d["name"]] = values[d["name"]]
    if weather:
        out[weather] = values[weather]
    return out


def expected_so_far(predict, specs: list[dict], weather: str | None, hours: int,
                    so_far: dict, reference: dict, today: int,
                    alpha: float = 0.05) -> dict | None:
    """Today's expected energy [native unit] over its first ``hours`` local clock
    hours, with its (1 - alpha) interval (docs/methods.md section 14):

        expected = s_E x E_day(x_hat)
        half     = sqrt((s_E h_day + t E_day sd(s_E))^2 + sum_k (t s_E dE_k)^2)

    - reference days: the baseline days with complete energy and drivers on
      which the same summed drivers were still at zero by this hour as today
      (so a holiday is not compared with working days); R, the
      ``REFERENCE_DAYS`` of today's weekday (of any weekday when it has fewer
      than ``REFERENCE_DAYS_MIN`` such days) most like today: the nearest
      temperature over the same hours for a model with a temperature, else
      the nearest time of year; C, the ``CURVE_DAYS`` of any weekday likewise;
    - x_hat: each measured driver's day value from its value so far: a sum
      divided by its share s_D of R's sums by this hour
      (``diurnal.sum_share``; None below ``SUM_DRIVER_SHARE_MIN``), a mean
      corrected by C's diurnal curve (``diurnal.mean_estimate``); error
      sd_k: s_D's day-to-day sd / s_D x the estimate, or the mean's RMS error;
    - E_day, h_day: the day's prediction and half-width (``predict``: measured
      day values -> (expected, half width)); dE_k: half the change of E_day
      from x_hat_k - sd_k to x_hat_k + sd_k; s_E, sd(s_E): R's share of the
      day's energy by this hour and its day-to-day sd; t: Student's t
      (1 - alpha/2) on len(R) - 1 degrees of freedom. The day's residual and
      the profile's departure are not independent (a day's residual changes
      its own profile), so their half-widths add (the bound for full
      correlation); the drivers' errors are independent of them.

    so_far: measured driver -> value so far (``driver_so_far``, None if missing);
    reference: {"day": day numbers [n], "energy": [n, 24] [native unit], driver:
    [n, 24] [driver unit]} of the baseline period (``diurnal.day_matrix``);
    today: today's day number [days since 1970-01-01].
    None when a driver so far is missing or min/max-rolled (a model's extreme
    of the day), or R has fewer than ``REFERENCE_DAYS_MIN`` days.
    """
    means, sums = measured_names(specs, weather)
    if any(d["kind"] == "measured" and d["rollup"] not in ("mean", "sum") for d in specs) \
            or any(so_far.get(n) is None for n in means | sums):
        return None
    days = np.asarray(reference["day"])
    complete = ~np.isnan(reference["energy"]).any(axis=1)
    for name in means | sums:
        complete &= ~np.isnan(reference[name]).any(axis=1)
    temperature = weather or next((d["derived_from"] for d in specs if d["derivation"]), None)
    if temperature:
        key = reference[temperature][:, :hours].mean(axis=1) if hours else np.zeros(len(days))
        key_today = so_far[temperature]
    else:
        key, key_today = diurnal.day_of_year_distance(days, today), 0.0
    idle = {name: reference[name][:, :hours].sum(axis=1) == 0 for name in sums}
    pool = np.flatnonzero(complete & np.logical_and.reduce(
        [idle[name] == (so_far[name] == 0) for name in sums] or [complete]))
    same = pool[(days[pool] + 3) % 7 == (today + 3) % 7]  # 1970-01-01 was a Thursday
    if len(same) < REFERENCE_DAYS_MIN:
        same = pool   # a day unlike its weekday (a holiday): days of its kind of any weekday
    if len(same) < REFERENCE_DAYS_MIN:
        return None
    near = same[diurnal.nearest(key_today, key[same], REFERENCE_DAYS)]
    curve = pool[diurnal.nearest(key_today, key[pool], CURVE_DAYS)]
    values, errors, shares = {}, {}, {}
    for name in means:
        values[name], errors[name] = diurnal.mean_estimate(so_far[name],
                                                           reference[name][curve], hours)
    for name in sums:
        share, sd = diurnal.sum_share(reference[name][near], hours)
        if not share >= SUM_DRIVER_SHARE_MIN:
            return None
        values[name] = so_far[name] / share
        errors[name] = values[name] * (sd / share if np.isfinite(sd) else 0.0)
        shares[name] = share
    day_expected, day_half = predict(values)
    s_e, sd_e = diurnal.sum_share(reference["energy"][near], hours)
    if not np.isfinite(s_e) or s_e <= 0:
        return None
    from scipy import special  # on use: the engine imports no scipy at start
    t = float(special.stdtrit(len(near) - 1, 1 - alpha / 2))
    parts = {"model": s_e * day_half,
             "energy_profile": t * day_expected * float(np.nan_to_num(sd_e))}
    for name, error in errors.items():
        up, down = (predict({**values, name: values[name] + sign * error})[0]
                    for sign in (1, -1))
        parts[name] = float(t * s_e * abs(up - down) / 2)
    half = float(np.hypot(parts["model"] + parts["energy_profile"],
                          np.sqrt(sum(parts[name] ** 2 for name in errors))))
    expected = s_e * day_expected
    return {"expected": expected, "lower": expected - half, "upper": expected + half,
            "share_of_day": s_e, "driver_shares": shares, "drivers_full_day": values,
            "driver_errors": errors, "half_width_parts": parts, "reference_days": len(near)}


def today_expected(baseline: dict, drivers: dict, share_so_far: float,
                   alpha: float = 0.05) -> tuple[float, float, float]:
    """(expected, lower, upper) [native unit] of today up to now: the baseline's
    prediction of the whole day from ``drivers`` (its daily driver values, with
    the temperature's mean under its weather driver's name) with its (1 - alpha)
    prediction interval, each times ``share_so_far`` (ISO 50006 normalisation,
    as the briefing's shifts)."""
    day = baselines.predict(baseline, drivers, alpha)  # one row: the whole day
    return tuple(float(day[k][0]) * share_so_far for k in ("expected", "lower", "upper"))


# --- the monitor ----------------------------------------------------------------------------

class Monitor:
    """The real-time checks of one listener, with what they remember between batches."""

    def __init__(self, notifiers=(), clock=time.time, min_hours: int = LIVE_MIN_HOURS,
                 alpha: float = LIVE_ALPHA):
        self.notifiers = list(notifiers)
        self.alpha = alpha
        self.min_hours = min_hours
        self.judged = {}          # site -> hour end [s] today so far was last judged at
        self.deviated = set()     # (SEU id, day) already raised
        self.references = {}      # (meters or driver, rule, tz, period, stamps) -> day matrix
        self.clock = clock
        self.meters = {}          # meter id -> name, interval_s, tz, seu_id, table
        self.last_end = {}        # meter id -> end [s] of its newest reading
        self.recent = {}          # meter id -> deque of (ts, duration_s, energy)
        self.stuck_since = {}     # meter id -> (value, ts of the reading repeated)
        self.data_now = None      # newest reading end seen [s] ...
        self.data_at = None       # ... and the wall time it was seen
        self.day = None           # the data's local day (first site's zone) ...
        self.ended = None         # ... and (first, last) days ended, not yet evaluated
        self.lock = threading.Lock()

    def now_s(self) -> float | None:
        if self.data_now is None:
            return None
        return self.data_now + max(0.0, self.clock() - self.data_at)

    def observe(self, store, written) -> list[dict]:
        """Check the readings of a written batch (``stream.Written``); returns new alerts."""
        conditions = []
        for source, (meter_ids, ts, duration_s, energy) in written.loaded.items():
            if not len(ts):
                continue
            self._describe(store, source, np.unique(meter_ids))
            for meter in np.unique(meter_ids):
                rows = np.flatnonzero(meter_ids == meter)
                rows = rows[np.argsort(ts[rows])]
                conditions += self._meter_checks(store, int(meter), ts[rows], duration_s[rows],
                                                 energy[rows])
            end = float((ts + duration_s).max())
            if self.data_now is None or end > self.data_now:
                self.data_now, self.data_at = end, self.clock()
        conditions += self._silence()
        conditions += self._today(store)
        new = self._raise(store, conditions)
        self._day_end()
        return new

    def tick(self, store) -> list[dict]:
        """Checks that need no new data (silence); returns new alerts."""
        return self._raise(store, self._silence())

    def _describe(self, store, source: str, meter_ids) -> None:
        missing = [int(m) for m in meter_ids if int(m) not in self.meters]
        if not missing:
            return
        seu = (sa.select(s.seus.c.id).where(s.seus.c.equipment_id == s.meters.c.equipment_id,
                                            s.seus.c.source_id == s.meters.c.source_id)
               .limit(1).scalar_subquery())
        with store.read() as conn:
            rows = conn.execute(
                sa.select(s.meters.c.id, s.meters.c.name, s.meters.c.interval_s,
                          s.sites.c.timezone.label("tz"), s.sites.c.name.label("site"),
                          seu.label("seu_id"))
                .join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id)
                .join(s.sites, s.sites.c.id == s.equipment.c.site_id)
                .where(s.meters.c.id.in_(missing))).mappings().all()
            energy = conn.execute(
                sa.select(s.source_columns.c.name).join(
                    s.energy_sources, s.energy_sources.c.id == s.source_columns.c.source_id)
                .where(s.energy_sources.c.name == source,
                       s.source_columns.c.kind == "energy")).scalar_one()
        table = readings.table(source, [energy])
        for r in rows:
            self.meters[r["id"]] = {**r, "table": table, "energy": table.c[energy]}

    def _meter_checks(self, store, meter: int, ts, duration_s, energy) -> list[dict]:
        recent = self.recent.setdefault(meter, deque(maxlen=RECENT_READINGS))
        self.last_end[meter] = max(self.last_end.get(meter, 0), int((ts + duration_s).max()))
        if recent:  # a late or repeated reading: the checks look forward only
            ahead = ts > recent[-1][0]
            ts, duration_s, energy = ts[ahead], duration_s[ahead], energy[ahead]
        out = []
        if len(ts):
            old = np.array(recent, dtype=float).reshape(-1, 3)
            rates = dq.rate_per_hour(np.r_[old[:, 2], energy], np.r_[old[:, 1], duration_s])
            z = spike_z_before(rates, RECENT_READINGS - 1)[len(old):]
            for i in np.flatnonzero(z > dq.HAMPEL_THRESHOLD):
                j = len(old) + i
                before = rates[max(0, j - RECENT_READINGS + 1):j]
                out += self._spike(store, meter, int(ts[i]), int(duration_s[i]),
                                   float(energy[i]), before[~np.isnan(before)])
            recent.extend(zip(ts.tolist(), duration_s.tolist(), energy.tolist()))
        series = np.array(recent, dtype=float).reshape(-1, 3)
        run = stuck_now(series[:, 0].astype(np.int64), series[:, 1].astype(np.int64),
                        series[:, 2])
        if run is None:
            self.stuck_since.pop(meter, None)
        else:
            out.append(self._stuck(meter, series, run))
        return out

    def _spike(self, store, meter: int, t: int, d: int, e: float, before) -> list[dict]:
        """A reading that stands out from the ones before it: is it ordinary
        for its time of the week?"""
        rate = dq.rate_per_hour(e, d)
        info = self.meters[meter]
        weeks = [t - k * dq.WEEK_S for k in range(1, dq.HAMPEL_WEEKS + 1)]
        table = info["table"]
        with store.read() as conn:
            rows = conn.execute(sa.select(info["energy"], table.c.duration_s).where(
                table.c.meter_id == meter, table.c.ts.in_(weeks))).all()
        week_rates = [dq.rate_per_hour(v, dur) for v, dur in rows if v is not None]
        z_before, z_week = spike_z(rate, before, week_rates)
        if not (z_week > dq.HAMPEL_THRESHOLD and rate > np.median(week_rates)):
            return []  # ordinary for this time of the week (or too little history to say)
        evidence = {"ts": utc_iso(t), "duration_s": d, "energy": e, "rate_per_h": rate,
                    "median_before_per_h": float(np.median(before)),
                    "median_same_time_of_week_per_h": float(np.median(week_rates)),
                    "z_before": z_before, "z_same_time_of_week": z_week,
                    "threshold": dq.HAMPEL_THRESHOLD, "rule": RULES["spike"]}
        message = (f"spike at {self._local(meter, t)}: {rate:,.4g} per hour against "
                   f"{np.median(before):,.4g} before and {np.median(week_rates):,.4g} at this "
                   "time last weeks")
        return [self._condition(meter, "spike", t, "warning", message, evidence)]

    def _stuck(self, meter: int, series, run: dict) -> dict:
        origin = int(series[run["origin"], 0])
        value, since = self.stuck_since.get(meter, (None, None))
        if run["origin"] == 0 and value == run["value"]:
            origin = since  # a run longer than the readings kept: the same alert
        self.stuck_since[meter] = (run["value"], origin)
        last = int(series[run["last"], 0])
        repeats = (last - origin) // int(series[run["last"], 1])
        evidence = {"value": run["value"], "repeats": repeats, "since": utc_iso(origin),
                    "until": utc_iso(last + int(series[run["last"], 1])),
                    "rule": RULES["stuck_value"]}
        message = (f"value {run['value']:,.6g} repeated {repeats} times since "
                   f"{self._local(meter, origin)} (a frozen register or a lost sensor?)")
        return self._condition(meter, "stuck_value", origin, "warning", message, evidence)

    def _silence(self) -> list[dict]:
        now = self.now_s()
        if now is None:
            return []
        intervals = {m: info["interval_s"] for m, info in self.meters.items()}
        out = []
        for meter, quiet_s in silent(self.last_end, intervals, now).items():
            since = self.last_end[meter]
            evidence = {"last_reading_end": utc_iso(since), "silent_s": round(quiet_s),
                        "allowed_s": silence_allowance_s(intervals.get(meter)),
                        "interval_s": intervals.get(meter), "rule": RULES["sensor_silence"]}
            message = (f"no data since {self._local(meter, since)} ({quiet_s / 60:,.0f} min; "
                       f"{evidence['allowed_s'] / 60:,.0f} min allowed)")
            out.append(self._condition(meter, "sensor_silence", since, "warning", message,
                                       evidence))
        return out

    def _today(self, store) -> list[dict]:
        """Today so far against the baseline, per site once per newly complete hour."""
        if self.data_now is None:
            return []
        end = int(self.data_now) // HOUR_S * HOUR_S
        out = []
        for site, tz in {i["site"]: i["tz"] for i in self.meters.values()}.items():
            day = _local_date(tz, end - 1)
            start = day_bounds(tz, day)[0]
            if (end - start) // HOUR_S < self.min_hours or self.judged.get(site) == end:
                continue
            self.judged[site] = end
            out += self.site_today(store, site, tz, day, start, end)
        return out

    def site_today(self, store, site: str, tz: str, day, start: int, end: int) -> list[dict]:
        """The live check of each SEU of the site over [start, end) of ``day``
        (``start`` its local midnight, ``end`` a whole hour): conditions of
        ``live_deviation`` alerts, not yet raised. Reads only the readings
        before ``end`` (and the baseline period), so a replay over stored data
        sees what a listener saw."""
        with store.read() as conn:
            seus = [x for x in briefing.site_seus(conn, site)
                    if x["meters"] and x["baseline_id"] is not None
                    and (x["id"], day) not in self.deviated
                    and briefing.as_date(x["period_end"]) < day]
            if not seus:
                return []
            tables = briefing.energy_tables(conn, {x["source_id"] for x in seus})
            energy = briefing.meter_energy(conn, seus, tables, start, end)
            stamps = briefing.baseline_stamps(conn, seus)
            measured = conn.execute(sa.select(s.drivers.c.id, s.drivers.c.name,
                                              s.drivers.c.rollup)
                                    .where(s.drivers.c.kind == "measured")).all()
            hours = {rule: rollups.hourly(conn, s.driver_readings, "driver_id", "value",
                                          [i for i, _, r in measured if r == rule], rule,
                                          start, end)
                     for rule in {r for _, _, r in measured}}
        so_far = {}
        for driver_id, name, rollup in measured:
            rows = [r for r in hours[rollup] if r["driver_id"] == driver_id]
            so_far[name] = driver_so_far(
                rollup, [np.nan if r["value"] is None else r["value"] for r in rows],
                [r["covered_s"] for r in rows], end - start)
        clock_hours = int(_local_text(tz, end - 1)[-5:-3]) + 1  # local clock hours complete
        out = []
        for seu in seus:
            parts = [energy[m] for m in seu["meters"]]
            if any(v is None or c < briefing.ENERGY_COMPLETENESS_MIN * (end - start)
                   for v, c in parts):
                continue  # today's energy so far is incomplete: nothing to judge
            baseline = baselines.get(store, seu["equipment"], seu["source"], seu["version"])
            spec = baseline["spec"]
            if spec["interval"] != "day":
                continue
            weather = spec.get("temperature_driver")
            reference = self._reference(store, seu, tz, tables, stamps, spec, measured)
            found = expected_so_far(_day_predictor(baseline, self.alpha), spec["drivers"],
                                    weather, clock_hours, so_far, reference, day_number(day),
                                    self.alpha)
            if found is None:
                continue  # a driver so far is missing: no expectation (never zero)
            actual = float(sum(v for v, _ in parts))
            if found["lower"] <= actual <= found["upper"]:
                continue
            self.deviated.add((seu["id"], day))
            out.append(self._deviation(seu, day, start, end, tz, actual, found))
        return out

    def _reference(self, store, seu: dict, tz: str, tables: dict, stamps: dict, spec: dict,
                   measured) -> dict:
        """The baseline period's days by local clock hour (``diurnal.day_matrix``):
        the SEU's energy (its meters summed) and the measured drivers its model
        reads, memoised (the energy keyed by the meters' rollup stamps)."""
        first, last = (briefing.as_date(seu[k]) for k in ("period_start", "period_end"))
        start, end = day_bounds(tz, first)[0], day_bounds(tz, last)[1]
        means, sums = measured_names(spec["drivers"], spec.get("temperature_driver"))
        wanted = [(i, name, "mean" if name in means else "sum") for i, name, _ in measured
                  if name in means | sums]
        keys = {"energy": (tuple(sorted(seu["meters"])), "sum", tz, first, last,
                           tuple(stamps.get(m) for m in sorted(seu["meters"])))}
        keys.update({name: (i, rule, tz, first, last) for i, name, rule in wanted})
        if all(k in self.references for k in keys.values()):
            return {"day": self.references["days", tz, first, last],
                    **{name: self.references[k] for name, k in keys.items()}}
        table, column = tables[seu["source_id"]]
        with store.read() as conn:
            rows = {"energy": rollups.hourly(conn, table, "meter_id", column,
                                             list(seu["meters"]), "sum", start, end)}
            for i, name, rule in wanted:
                rows[name] = rollups.hourly(conn, s.driver_readings, "driver_id", "value",
                                            [i], rule, start, end)
        for name, found in rows.items():
            owner = "meter_id" if name == "energy" else "driver_id"
            matrices = [diurnal.day_matrix(tz, [r["hour_ts"] for r in part],
                                           [np.nan if r["value"] is None else r["value"]
                                            for r in part],
                                           [r["covered_s"] for r in part], start, end)
                        for part in _by(found, owner)] or [
                diurnal.day_matrix(tz, [], [], [], start, end)]
            self.references["days", tz, first, last] = matrices[0][0]
            self.references[keys[name]] = sum(m for _, m in matrices)
        return {"day": self.references["days", tz, first, last],
                **{name: self.references[k] for name, k in keys.items()}}

    def _deviation(self, seu, day, start, end, tz, actual, found: dict) -> dict:
        name = catalog.seu_name(seu["equipment"], seu["source"])
        expected, lower, upper = found["expected"], found["lower"], found["upper"]
        pct = 100 * (actual - expected) / expected if expected else None
        until = _local_text(tz, end)[-5:]
        evidence = {"unit": seu["unit"], "since": utc_iso(start), "until": utc_iso(end),
                    "actual": actual, "deviation": actual - expected, "deviation_pct": pct,
                    **found, "baseline_version": seu["version"],
                    "rule": RULES["live_deviation"]}
        above = actual > upper
        message = (f"today to {until}: {actual:,.0f} {seu['unit']} against {expected:,.0f} "
                   f"expected ({lower:,.0f} to {upper:,.0f}), "
                   f"{'above' if above else 'below'} the baseline")
        return {"kind": "live_deviation", "subject_kind": "seu", "subject_id": seu["id"],
                "subject": name, "seu_id": seu["id"], "key": day.isoformat(),
                "period": label(day, day), "first": day, "last": day,
                "severity": "warning" if above else "info", "message": message,
                "evidence": evidence}

    def _local(self, meter: int, ts: int) -> str:
        return _local_text(self.meters[meter]["tz"], ts)

    def _condition(self, meter: int, kind: str, ts: int, severity: str, message: str,
                   evidence: dict) -> dict:
        info = self.meters[meter]
        day = _local_date(info["tz"], ts)
        return {"kind": kind, "subject_kind": "meter", "subject_id": meter,
                "subject": info["name"], "seu_id": info["seu_id"], "key": utc_iso(ts),
                "period": label(day, day), "first": day, "last": day, "severity": severity,
                "message": message, "evidence": evidence}

    def _raise(self, store, conditions: list[dict]) -> list[dict]:
        if not conditions:
            return []
        new = alerts.raise_conditions(store, conditions, notifiers=self.notifiers)
        for a in new:
            log.warning("alert %s %s %s: %s", a["id"], a["kind"], a["subject"], a["message"])
        return new

    def _day_end(self) -> None:
        """Note the data's local days that have ended, for ``evaluate_ended``."""
        if not self.meters or self.data_now is None:
            return
        tz = next(iter(self.meters.values()))["tz"]
        today = _local_date(tz, int(self.data_now) - 1)
        if self.day is not None and today > self.day:
            with self.lock:  # evaluate_ended may run in another thread
                first = self.ended[0] if self.ended else self.day
                self.ended = (first, today - timedelta(days=1))
        self.day = max(self.day or today, today)

    def evaluate_ended(self, store) -> list[dict]:
        """The evaluation of the months of the days ended since the last call
        (``alerts.evaluate``); returns the new alerts. Slow (a data-quality
        scan and the period reports): the listener runs it beside ingest."""
        with self.lock:
            if not self.ended:
                return []
            (first, last), self.ended = self.ended, None
        result = alerts.evaluate(store, first, last, notifiers=self.notifiers,
                                 now=float(self.data_now))
        for a in result["new"]:
            log.warning("alert %s %s %s: %s", a["id"], a["kind"], a["subject"], a["message"])
        return result["new"]


def _day_predictor(baseline: dict, alpha: float):
    """measured drivers' day values -> (expected [native unit], half-width of the
    (1 - alpha) prediction interval) of a day by the baseline (``today_expected``
    of the whole day)."""
    spec = baseline["spec"]

    def predict(values: dict) -> tuple[float, float]:
        expected, _, upper = today_expected(
            baseline, model_drivers(spec["drivers"], spec.get("temperature_driver"), values),
            1.0, alpha)
        return expected, upper - expected
    return predict


def _by(rows: list[dict], key: str) -> list[list[dict]]:
    """Rows grouped by ``key`` (rows sorted by it, as ``rollups.hourly`` gives them)."""
    groups = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return list(groups.values())


def _local_date(tz: str, ts: int):
    offset = local_offsets(offset_segments(tz, ts - 1, ts + 1), np.array([ts]))[0]
    return day_from_number(int((ts + offset) // 86400))


def _local_text(tz: str, ts: int) -> str:
    offset = int(local_offsets(offset_segments(tz, ts - 1, ts + 1), np.array([ts]))[0])
    return datetime.fromtimestamp(ts + offset, timezone.utc).strftime("%Y-%m-%d %H:%M")

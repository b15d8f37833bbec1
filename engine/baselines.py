"""Baselines: one model per SEU, trained on rollups, versioned, changed only by
a documented adjustment (ISO 50001 6.5, ISO 50006).

Training reads the daily rollups of the SEU's energy and of each driver (each
driver rolled up by its own rule, DESIGN rule 3), groups them into the model
interval (day, ISO week or calendar month), drops intervals whose data are
incomplete (listing them; missing is never 0, rule 5), and fits either the
given drivers or, automatically, every driver subset plus change-point
degree-day models with a searched balance point (``engine.changepoint``). The
chosen model must pass the DOE EnPI validity rules (``engine.regression``).

The stored spec (drivers, their roll-up rules, degree-day derivation, balance
points, interval) is what prediction rebuilds the model's inputs from, so a
baseline trained on daily means can never be fed daily sums.

Example::

    result = train(store, "Boiler-1", "natural_gas", date(2024, 1, 1), date(2024, 12, 31),
                   drivers=["heating_degree_days", "production_count"])
    expected(store, "Boiler-1", "natural_gas", date(2025, 3, 1), date(2025, 3, 31))
"""
import math
from collections import defaultdict
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from . import audit, catalog, changepoint, cusum, quality, queries, regression, rollups, schema as s
from .errors import EnmsError, NotFound
from .periods import label

INTERVALS = ("day", "week", "month")
# A day's energy counts when at least this share of it was metered; summed
# drivers likewise (a partial sum reads as a drop). Averaged drivers tolerate
# a few missing hours.
ENERGY_COMPLETENESS_MIN = 0.98
SUM_DRIVER_COMPLETENESS_MIN = 0.98
MEAN_DRIVER_COMPLETENESS_MIN = 0.90
# Findings of the data-quality scan that make a day unusable for a model.
DATA_QUALITY_EXCLUDES = frozenset({"outlier", "stuck", "impossible", "negative"})
# A training period needs this share of its intervals usable.
USABLE_SHARE_MIN = 0.80
ADJUSTMENT_TYPES = ("equipment_upgrade", "process_change", "schedule_change",
                    "static_factor", "data_correction", "other")
CHANGEPOINT_MODELS = ("3p_heating", "3p_cooling", "4p", "5p")
_LISTED_GAPS = 8


# --- the data a model sees ----------------------------------------------------

def driver_specs(store, names: list[str]) -> list[dict]:
    """Catalog facts about each driver that a baseline must remember."""
    parent = s.drivers.alias("parent")
    with store.read() as conn:
        rows = conn.execute(sa.select(s.drivers, parent.c.name.label("parent_name")).outerjoin(
            parent, parent.c.id == s.drivers.c.derived_from_id)).mappings().all()
    known = {r["name"]: r for r in rows}
    specs = []
    for name in names:
        if name not in known:
            raise NotFound(f"unknown driver {name!r} (known: {', '.join(sorted(known)) or 'none'})",
                           code="unknown_driver", params={"name": name, "known": sorted(known)})
        d = known[name]
        specs.append({"name": name, "unit": d["unit"], "rollup": d["rollup"], "kind": d["kind"],
                      "derivation": d["derivation"], "base_temp_c": d["base_temp_c"],
                      "derived_from": d["parent_name"], "product": d["product_id"] is not None})
    return specs


def _interval_keys(days: list[date], interval: str) -> list[date]:
    """The first day of the interval each day belongs to."""
    if interval == "day":
        return days
    if interval == "week":
        return [d - timedelta(days=d.weekday()) for d in days]
    return [d.replace(day=1) for d in days]


def _combine(values: np.ndarray, rule: str) -> float:
    return {"sum": np.sum, "mean": np.mean, "min": np.min, "max": np.max}[rule](values)


class Frame:
    """Rows of one model interval: energy, each driver, and what was left out.

    energy [native unit per interval]; drivers: name -> values per interval by
    the driver's roll-up rule; temperature_c: daily mean of the weather driver
    (day interval only, for change-point models); excluded: (interval start,
    reason) for intervals left out.
    """

    def __init__(self, starts, ends, energy, drivers, temperature_c, excluded, total):
        self.starts, self.ends = starts, ends
        self.energy, self.drivers = energy, drivers
        self.temperature_c = temperature_c
        self.excluded, self.total = excluded, total

    @property
    def n(self) -> int:
        return len(self.energy)

    def matrix(self, names) -> np.ndarray:
        return np.column_stack([self.drivers[n] for n in names]) if names else np.empty((self.n, 0))


class Days:
    """The daily inputs of an SEU's model over [first, last], read once and cut to
    any part of it (``frame``): its energy and each driver's values as arrays
    (``rollups.DaySeries``, NaN where missing), and per day the reasons it is
    unusable, by kind: energy or driver completeness, and data-quality findings
    of the SEU's meters or its drivers.

    baseline: the stored version (``get``) the inputs were read for, if any.
    """

    def __init__(self, days: list[date], seu, energy, drivers, problems, energy_checked: bool,
                 baseline=None):
        self.days, self.first, self.last, self.seu = days, days[0], days[-1], seu
        self.energy_checked = energy_checked  # the meters' data-quality findings read
        self.energy, self.drivers = energy, drivers
        self.problems, self.baseline = problems, baseline

    def frame(self, first: date, last: date, specs: list[dict], interval: str = "day",
              weather: str | None = None, energy_required: bool = True) -> Frame:
        """The model rows over [first, last] (inside the span read), as ``build_frame``."""
        if interval not in INTERVALS:
            raise EnmsError(f"unknown interval {interval!r} (use {', '.join(INTERVALS)})")
        if first < self.first or last > self.last or (energy_required and
                                                      not self.energy_checked):
            raise ValueError(f"{first}..{last}{' with energy' if energy_required else ''} is "
                             f"not in the days read ({self.first}..{self.last})")
        cut = slice((first - self.first).days, (last - self.first).days + 1)
        days = self.days[cut]
        # The reasons of a day in the order a reader expects: energy, drivers, then
        # the data-quality findings of the meters and of the drivers.
        kinds = ("energy", "drivers", "meter_flags", "driver_flags") if energy_required \
            else ("drivers", "driver_flags")
        problems = {}
        for day in sorted({d for kind in kinds for d in self.problems[kind] if first <= d <= last}):
            reasons = [why for kind in kinds for why in self.problems[kind].get(day, ())]
            if reasons:
                problems[day] = reasons
        driver_days = {name: self.drivers[name].value[cut]
                       for name in [sp["name"] for sp in specs] + ([weather] if weather else [])}
        return _group(days, problems, self.energy.value[cut], driver_days, specs, interval,
                      weather)


def build_frame(store, equipment: str, source: str, first: date, last: date,
                specs: list[dict], interval: str = "day", weather: str | None = None,
                energy_required: bool = True) -> Frame:
    """The model rows of an SEU over [first, last] for these drivers.

    energy_required=False keeps intervals whose energy is missing or flagged
    (energy NaN there): the rows a model-based estimate of the energy needs.
    """
    if interval not in INTERVALS:
        raise EnmsError(f"unknown interval {interval!r} (use {', '.join(INTERVALS)})")
    days = _read(store, catalog.get_seu(store, equipment, source), first, last, specs, weather,
                 energy_required)
    return days.frame(first, last, specs, interval, weather, energy_required)


def _needs(seu: dict, specs: list[dict], weather: str | None,
           energy_required: bool) -> tuple[list[str], dict]:
    """The driver series a model reads, and the meters and drivers whose
    data-quality findings rule days out (derived drivers have none of their own)."""
    names = list(dict.fromkeys([sp["name"] for sp in specs] + ([weather] if weather else [])))
    checked = {"meter": seu["meters"] if energy_required else [],
               "driver": [sp["name"] for sp in specs if sp.get("kind") != "derived"]}
    return names, checked


def _read(store, seu: dict, first: date, last: date, specs: list[dict], weather: str | None,
          energy_required: bool = True, daily=None) -> Days:
    """The days of an SEU and its drivers, from ``daily`` (``queries.Daily`` over
    the same days, read for many SEUs) or read here: one query for the meters'
    energy, one for the drivers, two per kind for the data-quality log."""
    names, checked = _needs(seu, specs, weather, energy_required)
    if daily is None:
        with store.read() as conn:
            daily = queries.Daily(conn, first, last, seu["meters"], names, checked)
    energy = daily.seu_energy(seu)
    problems = {kind: defaultdict(list) for kind in ("energy", "drivers", "meter_flags",
                                                     "driver_flags")}
    for day, share in _short_days(energy, ENERGY_COMPLETENESS_MIN, daily.days):
        problems["energy"][day].append(f"energy {100 * share:.0f} % metered")
    for spec in specs + ([{"name": weather, "rollup": "mean"}] if weather else []):
        need = SUM_DRIVER_COMPLETENESS_MIN if spec["rollup"] == "sum" else MEAN_DRIVER_COMPLETENESS_MIN
        for day, share in _short_days(daily.drivers[spec["name"]], need, daily.days):
            problems["drivers"][day].append(f"{spec['name']} {100 * share:.0f} % present")
    for kind, entries in checked.items():
        for name in entries:
            for day, kinds in _flagged_days(store, kind, name, daily.findings[kind][name], first,
                                            last).items():
                problems[kind + "_flags"][day].append(
                    f"{name}: {', '.join(kinds)} (data-quality scan)")
    return Days(daily.days, seu, energy, {n: daily.drivers[n] for n in names}, problems,
                energy_required)


def _short_days(series: rollups.DaySeries, minimum: float, days: list[date]):
    """(day, completeness) of the ``days`` of a series with no value or a
    completeness below ``minimum``."""
    short = np.flatnonzero(np.isnan(series.value) | (series.completeness < minimum))
    for i, share in zip(short.tolist(), series.completeness[short].tolist()):
        yield days[i], share


def _group(days: list[date], problems: dict, energy: np.ndarray, driver_days: dict,
           specs: list[dict], interval: str, weather: str | None) -> Frame:
    """Days into model intervals; an interval with any unusable day is left out.
    problems: {day: reasons} of the unusable days; energy and driver_days: arrays
    over ``days``, NaN where missing."""
    if interval == "day":  # one day per row: every roll-up rule gives the day's value
        used = np.array([i for i, day in enumerate(days) if day not in problems], dtype=int)
        starts = [days[i] for i in used.tolist()]
        drivers = {spec["name"]: driver_days[spec["name"]][used] for spec in specs}
        temperature = driver_days[weather][used] if weather else None
        return Frame(starts, list(starts), energy[used], drivers, temperature,
                     [(day, ", ".join(problems[day])) for day in days if day in problems],
                     len(days))
    keys = _interval_keys(days, interval)
    groups = defaultdict(list)
    for i, key in enumerate(keys):
        groups[key].append(i)
    starts, ends, rows, excluded = [], [], [], []
    for key, index in groups.items():
        whole = (_interval_keys([days[index[0]] - timedelta(days=1)], interval)[0] != key and
                 _interval_keys([days[index[-1]] + timedelta(days=1)], interval)[0] != key)
        bad = [days[i] for i in index if problems.get(days[i])]
        if not whole:
            excluded.append((key, "the period covers only part of this " + interval))
        elif bad:
            # A week or month names its incomplete days.
            excluded.append((key, "; ".join(f"{d}: {', '.join(problems[d])}" for d in bad[:3])))
        else:
            starts.append(days[index[0]])
            ends.append(days[index[-1]])
            rows.append(index)
    drivers = {spec["name"]: np.array([_combine(driver_days[spec["name"]][i], spec["rollup"])
                                       for i in rows]) for spec in specs}
    return Frame(starts, ends, np.array([energy[i].sum() for i in rows]), drivers,
                 None, excluded, len(groups))


def _flagged_days(store, kind: str, name: str, logged: tuple, first: date,
                  last: date) -> dict:
    """Days whose readings the data-quality scan flags as wrong (not merely missing:
    completeness is judged above), from what the log holds of a meter or driver
    (``queries.quality_findings``). Such days would teach or test the model on
    values no meter measured, e.g. a stuck register repeating a night reading."""
    days_logged, findings = logged
    if days_logged < (last - first).days + 1:  # scan the days not logged yet, once
        quality.period_score(store, name, first, last, kind=kind)
        findings = [(r["day"], r["findings"])
                    for r in quality.log_days(store, name, first, last, kind)]
    flagged = {}
    for day, found in findings:
        kinds = sorted({f["kind"] for f in found} & DATA_QUALITY_EXCLUDES)
        if kinds:
            flagged[day] = kinds
    return flagged


def _require_usable(frame: Frame, seu: str, first: date, last: date, interval: str) -> None:
    if frame.total and frame.n / frame.total >= USABLE_SHARE_MIN and frame.n >= 3:
        return
    listed = "; ".join(f"{key}: {why}" for key, why in frame.excluded[:_LISTED_GAPS])
    more = f" and {len(frame.excluded) - _LISTED_GAPS} more" if len(frame.excluded) > _LISTED_GAPS else ""
    raise EnmsError(
        f"{seu} {label(first, last)}: only {frame.n} of {frame.total} {interval}s have complete "
        f"energy and driver data (at least {USABLE_SHARE_MIN:.0%} needed). Missing: {listed}{more}. "
        "Import the missing data, or train on another period.", code="too_little_data",
        params={"seu": seu, "first": first, "last": last, "usable": frame.n,
                "total": frame.total, "interval": interval, "share_pct": 100 * USABLE_SHARE_MIN,
                "missing": [key for key, _ in frame.excluded]})


# --- fitting -------------------------------------------------------------------

def _expected_signs(specs: list[dict]) -> dict:
    """Energy rises with degree days and with counted production or hours."""
    signs = {sp["name"]: 1 for sp in specs if sp["kind"] == "derived" or sp["rollup"] == "sum"}
    return {**signs, changepoint.HDD: 1, changepoint.CDD: 1}


def _weather_driver(specs: list[dict]) -> str | None:
    """The outdoor temperature the degree-day candidates derive from (DESIGN rule 6)."""
    parents = {sp["derived_from"] for sp in specs if sp["kind"] == "derived"}
    return parents.pop() if len(parents) == 1 else None


def _fit_candidates(frame: Frame, specs: list[dict], interval: str, auto: bool) -> list[dict]:
    """Every model tried, ranked: DOE-valid first, then adjusted R2."""
    names = [sp["name"] for sp in specs]
    units = [sp["unit"] for sp in specs]
    try:
        if not auto:
            fits = [("linear", regression.fit_ols(frame.matrix(names), frame.energy, names, units),
                     None)]
        else:
            fits = [("linear", c.ols, None) for c in
                    regression.all_subsets(frame.matrix(names), frame.energy, names, units)]
    except ValueError as exc:
        raise EnmsError(f"cannot fit the model: {exc}", code="cannot_fit") from None
    if auto and frame.temperature_c is not None:
        fits += _changepoint_fits(frame, specs, fits)
    candidates = []
    for kind, ols, cp in fits:
        validity = regression.validity(ols, interval)
        signs = _expected_signs(specs)
        if kind == "4p":  # above its change point a 4P slope may take either sign (RP-1050)
            signs.pop(changepoint.CDD)
        warnings = validity.warnings + changepoint.sign_warnings(ols, signs)
        candidates.append({"kind": kind, "ols": ols, "changepoint": cp, "valid": validity.valid,
                           "reasons": validity.reasons, "warnings": warnings})
    candidates.sort(key=lambda c: (not c["valid"], -c["ols"].adj_r2))
    return candidates


def _changepoint_fits(frame: Frame, specs, linear_fits) -> list:
    """Change-point models on the weather temperature, with the non-weather drivers
    of the best valid linear model as extra terms."""
    # The temperature and every degree-day term of it are the hinge's job, not extras.
    weather_terms = {name for sp in specs if sp["kind"] == "derived"
                     for name in (sp["name"], sp["derived_from"])}
    best = next((ols for _, ols, _ in sorted(linear_fits, key=lambda f: -f[1].adj_r2)
                 if not regression.validity(ols).reasons), None)
    extras = [n for n in (best.names if best else []) if n not in weather_terms]
    units = {sp["name"]: sp["unit"] for sp in specs}
    fits = []
    for model in CHANGEPOINT_MODELS:
        try:
            cp = changepoint.fit_changepoint(model, frame.temperature_c, frame.energy,
                                             frame.matrix(extras), extras,
                                             [units[n] for n in extras])
        except ValueError:
            continue  # not enough temperature range or data for this shape
        fits.append((model, cp.ols, cp))
    return fits


def _spec(kind: str, ols, cp, specs: list[dict], interval: str, unit: str,
          weather: str | None) -> dict:
    """What prediction needs to rebuild this model's inputs."""
    by_name = {sp["name"]: sp for sp in specs}
    terms = [by_name[n] for n in ols.names if n in by_name]
    spec = {"kind": kind, "interval": interval, "energy_unit": unit, "drivers": terms,
            "names": list(ols.names)}
    if cp is not None:
        spec.update(temperature_driver=weather, heating_balance_c=cp.heating_balance_c,
                    cooling_balance_c=cp.cooling_balance_c)
    return spec


# --- storing versions ------------------------------------------------------------

def _seu_id(conn, equipment: str, source: str) -> int:
    return catalog.seu_row(conn, equipment, source)["id"]


def _next_version(conn, seu_id: int) -> int:
    return (conn.execute(sa.select(sa.func.max(s.baselines.c.version)).where(
        s.baselines.c.seu_id == seu_id)).scalar() or 0) + 1


def _active(conn, seu_id: int):
    return conn.execute(sa.select(s.baselines).where(
        s.baselines.c.seu_id == seu_id, s.baselines.c.status == "active")).mappings().first()


def _insert_version(conn, seu_id: int, values: dict, activate: bool, previous=None) -> int:
    now = datetime.now(timezone.utc)
    if activate and previous is not None:
        conn.execute(s.baselines.update().where(s.baselines.c.id == previous["id"])
                     .values(status="superseded"))
    version = _next_version(conn, seu_id)
    conn.execute(s.baselines.insert().values(
        seu_id=seu_id, version=version, status="active" if activate else "candidate",
        trained_at=now, activated_at=now if activate else None, **values))
    return version


def _audit(conn, seu_id: int, seu: str, action: str, actor: str, reason: str, version: int,
           replaced) -> None:
    """Record a new version, and the active one it replaced, in the audit trail."""
    def state(row) -> dict:
        return {"version": row["version"], "status": row["status"], "model": row["model_kind"],
                "formula": row["formula"], "r2": row["r2"],
                "period": label(row["period_start"], row["period_end"]),
                "static_adjustment": row["result"].get("static_adjustment"),
                "adjustment_type": row["adjustment_type"], "approved_by": row["approved_by"]}
    new = conn.execute(sa.select(s.baselines).where(
        s.baselines.c.seu_id == seu_id, s.baselines.c.version == version)).mappings().one()
    audit.record(conn, actor, action, "baseline", seu, reason=reason, after=state(new),
                 before=None if replaced is None else state(replaced))


def _describe(row, seu_name: str) -> dict:
    """A stored version as the interfaces show it."""
    result = row["result"]
    return {
        "seu": seu_name, "version": row["version"], "status": row["status"],
        "model": row["model_kind"], "interval": row["interval"],
        "period": label(row["period_start"], row["period_end"]),
        "period_start": row["period_start"], "period_end": row["period_end"],
        "formula": row["formula"], "r2": row["r2"], "adj_r2": row["adj_r2"],
        "cv_rmse_pct": row["cv_rmse_pct"],
        # A change-point model's weather term is its temperature driver.
        "drivers": [d["name"] for d in row["spec"]["drivers"]]
        + ([row["spec"]["temperature_driver"]] if row["spec"].get("temperature_driver") else []),
        "spec": row["spec"], "statistics": result["statistics"],
        "warnings": result["warnings"], "ranking": result.get("ranking", []),
        "excluded": result.get("excluded", []), "n_used": result.get("n_used"),
        "n_total": result.get("n_total"), "static_adjustment": result.get("static_adjustment"),
        "trained_by": row["trained_by"], "trained_at": row["trained_at"],
        "reason": row["reason"], "adjustment_type": row["adjustment_type"],
        "approved_by": row["approved_by"], "activated_at": row["activated_at"],
    }


# --- the public functions -----------------------------------------------------------

def train(store, equipment: str, source: str, first: date, last: date,
          drivers: list[str] | None = None, interval: str = "day", trained_by: str | None = None,
          reason: str = "initial baseline", _adjustment: dict | None = None) -> dict:
    """Train a baseline for one SEU on [first, last]; returns the stored version.

    drivers: the model's drivers; None or empty selects automatically among the
    SEU's candidate drivers (every subset, plus change-point models when a
    candidate is a degree-day driver). The first baseline of an SEU becomes
    active; later ones are stored as candidates until a documented
    ``adjust`` adopts one.
    """
    seu = catalog.get_seu(store, equipment, source)
    auto = not drivers
    names = list(dict.fromkeys(drivers or seu["drivers"]))
    if not names:
        raise EnmsError(f"{seu['name']} has no candidate drivers: name some (--drivers a,b) or "
                        "set its drivers (enms catalog set-drivers)", code="no_candidate_drivers",
                        params={"seu": seu["name"]})
    if auto and len(names) > 10:
        raise EnmsError(f"{seu['name']} has {len(names)} candidate drivers; automatic selection "
                        "takes at most 10", code="too_many_candidates",
                        params={"seu": seu["name"], "count": len(names), "limit": 10})
    specs = driver_specs(store, names)
    weather = _weather_driver(specs) if auto and interval == "day" else None
    frame = build_frame(store, equipment, source, first, last, specs, interval, weather)
    _require_usable(frame, seu["name"], first, last, interval)
    candidates = _fit_candidates(frame, specs, interval, auto)
    chosen = candidates[0]
    if not chosen["valid"]:
        reasons = " ".join(c.message for c in chosen["reasons"])
        raise EnmsError(f"{seu['name']} {label(first, last)}: no valid model "
                        f"({'best tried: ' + ', '.join(chosen['ols'].names) if auto else 'drivers ' + ', '.join(names)}, "
                        f"R2 {chosen['ols'].r2:.2f}). {reasons}", code="no_valid_model",
                        params={"seu": seu["name"], "first": first, "last": last,
                                "r2": chosen["ols"].r2, "drivers": list(chosen["ols"].names),
                                "reasons": [c.code for c in chosen["reasons"]]})
    ols, cp = chosen["ols"], chosen["changepoint"]
    unit = f"{seu['unit']}/{interval}"
    formula = cp.formula(unit) if cp is not None else ols.formula(unit)
    result = {
        "statistics": ols.as_dict(),
        "warnings": [w.as_dict() for w in chosen["warnings"]],
        "ranking": [{"model": c["kind"], "drivers": list(c["ols"].names), "valid": c["valid"],
                     "r2": c["ols"].r2, "adj_r2": c["ols"].adj_r2,
                     "reasons": [r.as_dict() for r in c["reasons"]]} for c in candidates[:20]],
        "excluded": [{"interval": key, "reason": why} for key, why in frame.excluded],
        "n_used": frame.n, "n_total": frame.total,
    }
    values = {"model_kind": chosen["kind"], "interval": interval, "period_start": first,
              "period_end": last, "spec": _spec(chosen["kind"], ols, cp, specs, interval,
                                                seu["unit"], weather),
              "result": _jsonable(result), "formula": formula, "r2": ols.r2,
              "adj_r2": ols.adj_r2, "cv_rmse_pct": ols.cv_rmse_pct,
              "trained_by": trained_by or audit.default_actor(), "reason": reason,
              **(_adjustment or {})}
    with store.begin() as conn:
        seu_id = _seu_id(conn, equipment, source)
        previous = _active(conn, seu_id)
        activate = previous is None or _adjustment is not None
        version = _insert_version(conn, seu_id, values, activate, previous)
        _audit(conn, seu_id, seu["name"], "baseline.adjust" if _adjustment else "baseline.train",
               values["trained_by"], reason, version, previous if activate else None)
    return get(store, equipment, source, version)


def adjust(store, equipment: str, source: str, *, reason: str, adjustment_type: str,
           adjusted_by: str | None = None, approved_by: str | None = None,
           version: int | None = None, retrain: dict | None = None,
           static_add: float | None = None, static_scale: float | None = None) -> dict:
    """A documented baseline adjustment (ISO 50006): who, why, old and new model.

    Exactly one of: adopt a stored candidate ``version``; ``retrain`` (keyword
    arguments of ``train``: first, last, drivers, interval); or a static-factor
    change of the active model's expectation (expected x static_scale +
    static_add per interval). The replaced version stays, marked superseded,
    so old reports keep pointing at what they used.
    """
    if not reason or not reason.strip():
        raise EnmsError("an adjustment needs a reason (--reason)")
    if adjustment_type not in ADJUSTMENT_TYPES:
        raise EnmsError(f"unknown adjustment type {adjustment_type!r} "
                        f"(use {', '.join(ADJUSTMENT_TYPES)})")
    # A non-positive scale would turn the interval inside out; NaN would reach the JSON.
    if static_scale is not None and not (math.isfinite(static_scale) and static_scale > 0):
        raise EnmsError(f"the static scale multiplies the expectation: it must be a number "
                        f"above 0, got {static_scale}")
    if static_add is not None and not math.isfinite(static_add):
        raise EnmsError(f"the static add must be a finite energy per interval, got {static_add}")
    ways = sum(x is not None for x in (version, retrain)) + \
        (static_add is not None or static_scale is not None)
    if ways != 1:
        raise EnmsError("say how to adjust: adopt a --version, retrain on a --period, "
                        "or give --static-add / --static-scale")
    by = adjusted_by or audit.default_actor()
    record = {"adjustment_type": adjustment_type, "approved_by": approved_by}
    with store.begin() as conn:
        seu_id = _seu_id(conn, equipment, source)
        previous = _active(conn, seu_id)
        if previous is None and retrain is None and version is None:
            raise EnmsError(f"{catalog.seu_name(equipment, source)} has no active baseline to adjust")
        if version is not None:
            row = conn.execute(sa.select(s.baselines).where(
                s.baselines.c.seu_id == seu_id, s.baselines.c.version == version)).mappings().first()
            if row is None or row["status"] != "candidate":
                raise EnmsError(f"version {version} of {catalog.seu_name(equipment, source)} is "
                                f"{'not stored' if row is None else row['status']}; only a "
                                "candidate can be adopted")
            if previous is not None:
                conn.execute(s.baselines.update().where(s.baselines.c.id == previous["id"])
                             .values(status="superseded"))
            # Adoption is recorded as a new version: the candidate row stays as trained.
            values = {k: row[k] for k in ("model_kind", "interval", "period_start", "period_end",
                                          "spec", "result", "formula", "r2", "adj_r2",
                                          "cv_rmse_pct")}
            new = _insert_version(conn, seu_id, {**values, **record, "trained_by": by,
                                                 "reason": reason, "parent_id": row["id"]},
                                  activate=True)
            conn.execute(s.baselines.update().where(s.baselines.c.id == row["id"])
                         .values(status="superseded"))
        elif retrain is None:
            result = dict(previous["result"])
            old = result.get("static_adjustment") or {"add": 0.0, "scale": 1.0}
            scale = 1.0 if static_scale is None else static_scale
            result["static_adjustment"] = {"add": old["add"] * scale + (static_add or 0.0),
                                           "scale": old["scale"] * scale}
            values = {k: previous[k] for k in ("model_kind", "interval", "period_start",
                                               "period_end", "spec", "formula", "r2", "adj_r2",
                                               "cv_rmse_pct")}
            new = _insert_version(conn, seu_id, {**values, **record, "result": result,
                                                 "trained_by": by, "reason": reason,
                                                 "parent_id": previous["id"]},
                                  activate=True, previous=previous)
        else:
            parent_id = previous["id"] if previous is not None else None
        if retrain is None:  # a retrained version is recorded by train
            _audit(conn, seu_id, catalog.seu_name(equipment, source), "baseline.adjust", by,
                   reason, new, previous)
    if retrain is not None:
        return train(store, equipment, source, trained_by=by, reason=reason,
                     _adjustment={**record, "parent_id": parent_id}, **retrain)
    # Read once committed: no other connection sees the new version before.
    return get(store, equipment, source, new)


def get(store, equipment: str, source: str, version: int | None = None) -> dict:
    """One stored version (the active one by default)."""
    with store.read() as conn:
        seu_id = _seu_id(conn, equipment, source)
        query = sa.select(s.baselines).where(s.baselines.c.seu_id == seu_id)
        query = query.where(s.baselines.c.version == version) if version is not None else \
            query.where(s.baselines.c.status == "active")
        row = conn.execute(query).mappings().first()
    name = catalog.seu_name(equipment, source)
    if row is None:
        raise NotFound(f"{name} has no {'version ' + str(version) if version else 'active'} "
                       "baseline" + ("" if version else "; train one first (enms baseline train)"),
                       code="no_baseline_version" if version else "no_baseline",
                       params={"seu": name, "version": version})
    return _describe(row, name)


def active(store) -> dict:
    """The active version of every SEU that has one, as ``get`` gives it, in one
    query: {(equipment, source): version}."""
    seus, eq, src = s.seus, s.equipment, s.energy_sources
    with store.read() as conn:
        rows = conn.execute(
            sa.select(s.baselines, eq.c.name.label("equipment_name"),
                      src.c.name.label("source_name"))
            .join(seus, seus.c.id == s.baselines.c.seu_id)
            .join(eq, eq.c.id == seus.c.equipment_id)
            .join(src, src.c.id == seus.c.source_id)
            .where(s.baselines.c.status == "active")).mappings().all()
    return {(r["equipment_name"], r["source_name"]):
            _describe(r, catalog.seu_name(r["equipment_name"], r["source_name"])) for r in rows}


def history(store, equipment: str, source: str) -> list[dict]:
    """Every version of an SEU's baseline, oldest first: the adjustment chain."""
    with store.read() as conn:
        seu_id = _seu_id(conn, equipment, source)
        rows = conn.execute(sa.select(s.baselines).where(s.baselines.c.seu_id == seu_id)
                            .order_by(s.baselines.c.version)).mappings().all()
        parents = {r["id"]: r["version"] for r in rows}
    name = catalog.seu_name(equipment, source)
    return [{**_describe(r, name), "parent_version": parents.get(r["parent_id"])} for r in rows]


def read_days(store, equipment: str, source: str, first: date, last: date,
              version: int | None = None, baseline: dict | None = None,
              energy_required: bool = True, seu: dict | None = None) -> Days:
    """The daily inputs the baseline (``version``, or the stored ``baseline`` as
    ``get`` gives it; the active one by default) needs over [first, last], read
    once: ``expected`` and ``expected_days`` over any part of the span then read
    nothing more (e.g. a report's month and its CUSUM since the baseline).
    energy_required=False: for ``expected_days`` only (meters' findings not read).
    seu: the catalog entry (``catalog.get_seu``), when the caller has it."""
    baseline = baseline or get(store, equipment, source, version)
    seu = seu or catalog.get_seu(store, equipment, source)
    days = read_many(store, [(seu, baseline, first)], last, energy_required)[seu["name"]]
    if isinstance(days, EnmsError):
        raise days
    return days


def read_many(store, seus: list[tuple[dict, dict, date]], last: date,
              energy_required: bool = True) -> dict:
    """``read_days`` of many SEUs to the same last day, each series read once for
    the SEUs whose days start together (a driver many SEUs use, such as the
    outdoor temperature, once for all).

    seus: (catalog entry, stored baseline, first day) triples. Returns {SEU name:
    Days, or the EnmsError that SEU raised (a driver changed, no meter), so one
    SEU's problem leaves the others' figures}."""
    out, starts = {}, {}
    for seu, baseline, first in seus:
        starts.setdefault(first, []).append((seu, baseline))
    for first, items in starts.items():
        out.update(_read_together(store, items, first, last, energy_required))
    return out


def _read_together(store, seus: list[tuple[dict, dict]], first: date, last: date,
                   energy_required: bool) -> dict:
    """``read_many`` of SEUs whose days start on the same day."""
    wanted = {sp["name"] for _, b in seus for sp in b["spec"]["drivers"]} | \
        {b["spec"]["temperature_driver"] for _, b in seus if b["spec"].get("temperature_driver")}
    now = {d["name"]: d for d in driver_specs(store, sorted(wanted))}
    out, meters, names, checked = {}, {}, {}, {"meter": {}, "driver": {}}
    for seu, baseline in seus:
        spec = baseline["spec"]
        try:
            _check_rollups_unchanged(spec, now)
        except EnmsError as exc:
            out[seu["name"]] = exc
            continue
        needed, seu_checked = _needs(seu, spec["drivers"], spec.get("temperature_driver"),
                                     energy_required)
        meters.update(dict.fromkeys(seu["meters"]))
        names.update(dict.fromkeys(needed))
        for kind, entries in seu_checked.items():
            checked[kind].update(dict.fromkeys(entries))
    with store.read() as conn:
        daily = queries.Daily(conn, first, last, list(meters), list(names),
                              {kind: list(entries) for kind, entries in checked.items()})
    for seu, baseline in seus:
        if seu["name"] in out:
            continue
        spec = baseline["spec"]
        try:
            days = _read(store, seu, first, last, spec["drivers"],
                         spec.get("temperature_driver"), energy_required, daily)
        except EnmsError as exc:
            out[seu["name"]] = exc
            continue
        days.baseline = baseline
        out[seu["name"]] = days
    return out


def _check_days(days: Days, equipment: str, source: str, version: int | None) -> Days:
    """Days read for this SEU and version (or the one they were read for)."""
    if (days.seu["equipment"], days.seu["source"]) != (equipment, source) or \
            version not in (None, days.baseline["version"]):
        raise ValueError(f"the days read are those of {days.baseline['seu']} version "
                         f"{days.baseline['version']}, not of {catalog.seu_name(equipment, source)}"
                         f" version {version}")
    return days


def expected(store, equipment: str, source: str, first: date, last: date,
             version: int | None = None, alpha: float = 0.05, groups: str | None = None,
             days: Days | None = None) -> dict:
    """Expected energy of an SEU over [first, last] from its baseline, with the
    (1 - alpha) prediction interval, against the actual energy.

    Intervals with incomplete energy or drivers are left out of both sums and
    listed. Deviation = actual - expected (negative: savings). Each of ``rows``
    (one per interval) carries its own prediction interval, ``lower`` to ``upper``.

    groups: 'week', 'month' or both, e.g. ('week', 'month'), adds ``groups``:
    {grouping: [...]}, per calendar group of rows its actual and expected
    totals, the standard deviation [energy] of its prediction (noise,
    autocorrelation and leverage, as for the period total), its (1 - alpha)
    prediction interval ``lower`` to ``upper``, and ``z``, its residual
    standardised given the earlier groups, for CUSUM alarms (``_grouped``).

    days: the inputs already read over a span that holds [first, last]
    (``read_days``); the same figures, without reading them again.
    """
    days = _check_days(days, equipment, source, version) if days is not None else \
        read_days(store, equipment, source, first, last, version)
    baseline = days.baseline
    spec = baseline["spec"]
    frame = days.frame(first, last, spec["drivers"], spec["interval"],
                       spec.get("temperature_driver"))
    if frame.n == 0:
        raise EnmsError(f"{baseline['seu']} {label(first, last)}: no {spec['interval']} with "
                        "complete energy and driver data", code="no_complete_data",
                        params={"seu": baseline["seu"], "first": first, "last": last,
                                "interval": spec["interval"]})
    ols = _ols_from_dict(baseline["statistics"])
    X = model_terms(frame, spec)
    prediction = regression.predict(ols, X, alpha=alpha)
    static = _static(baseline)
    add_total = static["add"] * frame.n
    total = prediction.total * static["scale"] + add_total
    lower = prediction.total_lower * static["scale"] + add_total
    upper = prediction.total_upper * static["scale"] + add_total
    actual = float(frame.energy.sum())
    deviation = actual - total
    savings_fraction = -deviation / total if total else float("nan")
    scale, add = static["scale"], static["add"]
    rows = [{"start": a, "end": b, "actual": e, "expected": float(p * scale + add),
             "lower": float(lo * scale + add), "upper": float(hi * scale + add)}
            for a, b, e, p, lo, hi in zip(frame.starts, frame.ends, frame.energy.tolist(),
                                          prediction.expected, prediction.lower, prediction.upper)]
    grouped = _grouped(ols, X, frame, rows, static["scale"], groups,
                       prediction.t_quantile) if groups else None
    fsu = None
    if savings_fraction and np.isfinite(savings_fraction) and savings_fraction != 0:
        fsu = regression.fractional_savings_uncertainty(ols, frame.n, abs(savings_fraction), alpha)
    return {
        "seu": baseline["seu"], "baseline_version": baseline["version"],
        "period": label(first, last), "interval": spec["interval"],
        "unit": spec["energy_unit"], "intervals_used": frame.n, "intervals_total": frame.total,
        "excluded": [{"interval": key, "reason": why} for key, why in frame.excluded],
        "expected": total, "lower": lower, "upper": upper, "actual": actual,
        "deviation": deviation, "deviation_pct": 100 * deviation / total if total else None,
        "significant": not (lower <= actual <= upper), "confidence": 1 - alpha,
        "fractional_savings_uncertainty": fsu, "rows": rows,
        **({"groups": grouped} if grouped is not None else {}),
    }


def expected_days(store, equipment: str, source: str, first: date, last: date,
                  version: int | None = None, days: Days | None = None) -> dict:
    """The baseline's expected energy [native unit] of each day over [first, last]
    whose drivers are complete, whatever its metered energy: {day: energy}.
    For model-based estimates of missing energy; {} for a model whose interval
    is not a day (it cannot say what one day needs). days: as for ``expected``."""
    if days is None:
        baseline = get(store, equipment, source, version)
        if baseline["spec"]["interval"] != "day":
            return {}
        days = read_days(store, equipment, source, first, last, baseline=baseline,
                         energy_required=False)
    baseline = _check_days(days, equipment, source, version).baseline
    spec = baseline["spec"]
    if spec["interval"] != "day":
        return {}
    frame = days.frame(first, last, spec["drivers"], "day", spec.get("temperature_driver"),
                       energy_required=False)
    if frame.n == 0:
        return {}
    return {day: float(e) for day, e in zip(frame.starts,
                                            _predict_frame(baseline, frame)["expected"])}


def predict(baseline: dict, drivers: dict, alpha: float = 0.05) -> dict:
    """Expected energy of a stored baseline for one or more model intervals
    given their driver values, with its (1 - alpha) prediction interval per
    interval (``regression.predict``) and the baseline's static adjustment
    applied, as ``expected`` gives for its rows.

    Parameters
    ----------
    baseline : a stored version (``get``).
    drivers : name -> value, or values of consecutive intervals, of each
        driver of the model [driver unit per interval, by its roll-up rule;
        degree days in Kd], and for a change-point model the interval's daily
        mean temperature [C] under the name of its weather driver
        (``spec['temperature_driver']``).
    alpha : 1 - the interval's confidence [-].

    Returns
    -------
    {"expected", "lower", "upper"}: arrays [native energy unit per interval],
    one value per interval.
    """
    columns = {name: np.atleast_1d(np.asarray(v, dtype=float)) for name, v in drivers.items()}
    n = max((len(c) for c in columns.values()), default=1)
    weather = baseline["spec"].get("temperature_driver")
    frame = Frame([None] * n, [None] * n, np.full(n, np.nan), columns,
                  columns.get(weather, np.full(n, np.nan)), [], n)
    return _predict_frame(baseline, frame, alpha)


def _predict_frame(baseline: dict, frame: Frame, alpha: float = 0.05) -> dict:
    """``predict`` of the rows of a frame."""
    p = regression.predict(_ols_from_dict(baseline["statistics"]),
                           model_terms(frame, baseline["spec"]), alpha=alpha)
    static = _static(baseline)
    return {key: np.array(getattr(p, key)) * static["scale"] + static["add"]
            for key in ("expected", "lower", "upper")}


def _static(baseline: dict) -> dict:
    """The baseline's static adjustment: expected x scale + add per interval."""
    return baseline["static_adjustment"] or {"add": 0.0, "scale": 1.0}


GROUPINGS = ("week", "month")


def _grouped(ols, X, frame: Frame, rows: list[dict], scale: float, groups, t: float) -> dict:
    """Totals, prediction intervals and standardised innovations per calendar
    week or month of rows: {grouping: [group, ...]}.

    Each group holds its actual and expected totals [energy], the standard
    deviation ``sd`` of its prediction error (noise, autocorrelation and
    leverage, as ``regression.predict`` gives for a period total), ``lower``
    and ``upper`` (expected -+ t sd), and ``z``: its residual standardised
    given the earlier groups (``cusum.innovations``), for CUSUM alarms.
    """
    names = (groups,) if isinstance(groups, str) else tuple(groups)
    unknown = [g for g in names if g not in GROUPINGS]
    if unknown:
        raise EnmsError(f"unknown grouping {unknown[0]!r} (use week or month)",
                        code="unknown_grouping", params={"name": unknown[0]})
    out = {}
    for name in names:
        keys = _interval_keys(frame.starts, name)
        order = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        member = np.array([order[k] for k in keys])
        cov = _group_covariance(ols, X, member, len(order)) * scale ** 2
        sd = np.sqrt(np.diag(cov))
        actual = np.bincount(member, weights=[r["actual"] for r in rows], minlength=len(order))
        expected = np.bincount(member, weights=[r["expected"] for r in rows],
                               minlength=len(order))
        z = cusum.innovations(actual - expected, cov)
        first = np.searchsorted(member, np.arange(len(order)))
        last = np.searchsorted(member, np.arange(len(order)), side="right") - 1
        out[name] = [{"start": rows[a]["start"], "end": rows[b]["end"], "intervals": int(b - a + 1),
                      "actual": float(act), "expected": float(exp), "sd": float(s_),
                      "lower": float(exp - t * s_), "upper": float(exp + t * s_), "z": float(z_)}
                     for a, b, act, exp, s_, z_ in zip(first, last, actual, expected, sd, z)]
    return out


def _group_covariance(ols, X, member: np.ndarray, n_groups: int) -> np.ndarray:
    """Covariance [energy^2] of the prediction errors of group totals.

    The row errors are the model's noise, AR(1) with the baseline's lag-1
    autocorrelation rho > 0 (else independent), plus the error of the fitted
    coefficients, shared by every row, with the leverage inflated by
    (1 + rho) / (1 - rho) (ASHRAE Guideline 14 Annex B): the terms of
    ``regression.predict`` for one total, here for every pair of groups.
    Rows are consecutive intervals in time order.
    """
    rows = np.asarray(X, dtype=float).reshape(len(member), len(ols.driver_means))
    rho = max(ols.autocorrelation_lag1, 0.0)
    inflation = (1 + rho) / (1 - rho)
    indicator = np.zeros((n_groups, len(member)))
    indicator[member, np.arange(len(member))] = 1.0
    lag = np.abs(np.subtract.outer(np.arange(len(member)), np.arange(len(member))))
    # rho ** |i - j|, each power computed once per lag rather than once per pair.
    noise = indicator @ ((rho ** np.arange(len(member)))[lag] if rho > 0
                         else np.eye(len(member))) @ indicator.T
    centred = indicator @ (rows - np.array(ols.driver_means))  # per group: sum of x - mean
    counts = indicator.sum(axis=1)
    parameters = np.outer(counts, counts) / ols.n \
        + centred @ np.array(ols.xtx_inv)[1:, 1:] @ centred.T
    return ols.sigma2 * (noise + inflation * parameters)


def _check_rollups_unchanged(spec: dict, now: dict) -> None:
    """A model trained on one roll-up rule must never be fed another (DESIGN rule 3).
    now: the drivers' catalog facts today (``driver_specs``) by name."""
    weather = spec.get("temperature_driver")
    if weather and now[weather]["rollup"] != "mean":
        raise EnmsError(f"driver {weather!r} no longer rolls up as a daily mean; retrain the baseline",
                        code="driver_changed", params={"name": weather})
    for d in spec["drivers"]:
        current = now[d["name"]]
        for key in ("rollup", "derivation", "base_temp_c", "derived_from"):
            if current[key] != d[key]:
                raise EnmsError(f"driver {d['name']!r} changed since this baseline was trained "
                                f"({key}: {d[key]} then, {current[key]} now); retrain the baseline",
                                code="driver_changed", params={"name": d["name"]})


def model_terms(frame: Frame, spec: dict) -> np.ndarray:
    """The value of each of the model's terms per row of the frame, in the
    model's term order (``statistics['names']``): the ``X`` of
    ``regression.predict``, without the intercept column. For a linear model
    the drivers [driver unit per interval]; for a change-point model the
    heating and cooling degree days [Kd] from its balance points and the
    frame's daily mean temperature (``changepoint.model_design``), then the
    other drivers.

    spec: the baseline's stored spec (``get(...)["spec"]``)."""
    if spec["kind"] == "linear":
        return frame.matrix(spec["names"])
    extras = [n for n in spec["names"] if n not in (changepoint.HDD, changepoint.CDD)]
    return changepoint.model_design(spec["kind"], spec["heating_balance_c"],
                                    spec["cooling_balance_c"], spec["names"],
                                    frame.temperature_c, frame.matrix(extras))


def _ols_from_dict(stored: dict) -> regression.OLSResult:
    values = {}
    for f in fields(regression.OLSResult):
        v = stored[f.name]
        if isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else (np.nan if x is None else x) for x in v)
        values[f.name] = np.nan if v is None else v
    return regression.OLSResult(**values)


def _jsonable(value):
    """Dates as ISO text, numpy numbers as Python numbers, non-finite as None."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value

"""Baselines on the demo factory, on SQLite and PostgreSQL: what the engine
recovers against the generator's ground truth, its numbers against
statsmodels, and the failure cases DESIGN.md names (rules 3, 5, 6, 7, 9, 10).

Reporting-period days with a known data fault on an SEU's own meter (the stuck
hydraulic-pump meter, the moulding-machine spikes) are avoided the way a user
can: by asking ``expected`` for the sub-periods around them. The engine cannot
leave fault days out of a training period yet (data quality is issue 4), so
the 2024 spikes stay in the moulding machine's training data.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
import statsmodels.api as sm
from scipy import stats

from conftest import BACKENDS, demo_database
from engine import baselines, catalog, ingest, quality, queries, readings, schema as s
from engine.errors import EnmsError, NotFound

SEED = 42  # the seed `enms demo` uses
BASELINE = (date(2024, 1, 1), date(2024, 12, 31))
REPORT = (date(2025, 1, 1), date(2025, 10, 31))
TOLERANCE_PP = 1.0  # issue 3: recovered savings within 1 percentage point


# --- the demo, built and trained once per backend -----------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """The demo plant with every SEU trained on 2024 (automatic selection)."""
    with demo_database(request, tmp_path_factory, SEED) as (store, truth, _):
        trained = {key: baselines.train(store, *key.split("/"), *BASELINE, trained_by="test")
                   for key in truth["models"]}
        yield SimpleNamespace(store=store, truth=truth, trained=trained)


def _seu(key):
    return key.split("/")


def _version(demo, key):
    return demo.trained[key]["version"]


# --- ground truth ------------------------------------------------------------------

def _local_days(start_iso, end_iso, tz):
    """Local days touched by the UTC window [start, end)."""
    start = datetime.fromisoformat(start_iso.replace("Z", "+00:00")).astimezone(tz)
    end = datetime.fromisoformat(end_iso.replace("Z", "+00:00")) - timedelta(seconds=1)
    day, last = start.date(), end.astimezone(tz).date()
    days = []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days


def _fault_days(demo, key) -> set:
    """Days with a known fault on the SEU's own meters (from the ground truth)."""
    meters = set(catalog.get_seu(demo.store, *_seu(key))["meters"])
    tz = ZoneInfo(demo.truth["timezone"])
    days = set()
    for fault in demo.truth["data_faults"]:
        if fault.get("meter") not in meters:
            continue
        if fault["type"] == "spike":
            days |= {_local_days(t, t, tz)[0] for t in fault["timestamps"]}
        else:
            days |= set(_local_days(fault["start"], fault["end"], tz))
    return days


def _hours(day, tz):
    """Length of a local day [h] (23 and 25 around the clock changes)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds() / 3600


def _effect_free(demo, key, rows):
    """Each row's energy without the generator's effects [native unit]: the truth
    the model should predict. Savings and degradation multiply the energy, the
    step adds to it (demo_plant.apply_effects)."""
    tz = ZoneInfo(demo.truth["timezone"])
    base = []
    for row in rows:
        day, energy = row["start"], row["actual"]
        for e in (e for e in demo.truth["effects"] if e["seu"] == key):
            start, end = date.fromisoformat(e["start"]), date.fromisoformat(e["end"])
            if e["type"] == "savings" and day >= start:
                energy /= 1 + e["size_pct"] / 100
            elif e["type"] == "degradation":
                ramp = min(max((day - start).days / (end - start).days, 0.0), 1.0)
                energy /= 1 + e["size_pct"] / 100 * ramp
            elif e["type"] == "step" and day >= start:
                energy -= e["size_per_hour"] * _hours(day, tz)
        base.append(energy)
    return np.array(base)


# --- reporting periods -------------------------------------------------------------

def _segments(first, last, avoid):
    """[first, last] split around the days in ``avoid``."""
    out, start = [], first
    for day in sorted(d for d in avoid if first <= d <= last):
        if day > start:
            out.append((start, day - timedelta(days=1)))
        start = max(start, day + timedelta(days=1))
    if start <= last:
        out.append((start, last))
    return out


def _evaluate(demo, key, first, last, version=None, avoid=()):
    """Actual against expected over [first, last] without the ``avoid`` days.

    Totals add up exactly over the sub-periods. Their interval half-widths are
    added too: the standard deviation of a sum is at most the sum of the
    standard deviations, so this interval is never narrower than the joint one
    (significant here implies significant there; for a single period it is exact).
    """
    parts = [baselines.expected(demo.store, *_seu(key), f, l,
                                version=version or _version(demo, key))
             for f, l in _segments(first, last, set(avoid))]
    actual = sum(p["actual"] for p in parts)
    expected = sum(p["expected"] for p in parts)
    half = sum(p["upper"] - p["expected"] for p in parts)
    rows = [r for p in parts for r in p["rows"]]
    truth = _effect_free(demo, key, rows)
    return SimpleNamespace(
        actual=actual, expected=expected, deviation_pct=100 * (actual - expected) / expected,
        half_pct=100 * half / expected, significant=abs(actual - expected) > half, rows=rows,
        true_pct=100 * (actual - truth.sum()) / truth.sum())


# --- 1. savings, step and degradation recovered ---------------------------------------

SAVINGS = ["Conveyor-A/electricity", "Hydraulic-Pump-1/electricity", "Boiler-1/natural_gas"]
NO_EFFECT = ["Compressor-1/electricity", "HVAC-Main/electricity", "Autoclave-1/steam",
             "Injection-Molding-1/electricity"]



def test_demo_truth_matches_the_tested_lists(demo):
    """The lists above are the generator's: a new effect must be tested too."""
    effects = defaultdict(set)
    for e in demo.truth["effects"]:
        effects[e["type"]].add(e["seu"])
    assert effects["savings"] == set(SAVINGS)
    assert set(NO_EFFECT) == set(demo.truth["models"]) - {e["seu"] for e in demo.truth["effects"]}
    assert all(b["status"] == "active" and b["version"] == 1 for b in demo.trained.values())


@pytest.mark.parametrize("key", SAVINGS)
def test_savings_recovered_within_one_point(demo, key):
    size = next(e["size_pct"] for e in demo.truth["effects"] if e["seu"] == key)
    result = _evaluate(demo, key, *REPORT, avoid=_fault_days(demo, key))
    assert result.true_pct == pytest.approx(size, abs=1e-9)  # the truth helper itself
    assert abs(result.deviation_pct - size) < TOLERANCE_PP, (key, result.deviation_pct, size)
    assert result.significant and result.deviation_pct < 0


def test_stuck_meter_days_are_left_out_by_the_engine(demo):
    """Hydraulic-Pump-1's meter repeats a night-time reading for three working days,
    each complete (100 % covered): only the data-quality scan can tell they are
    wrong. The engine leaves them out of the comparison, says why, and recovers the
    true saving over the whole period."""
    key = "Hydraulic-Pump-1/electricity"
    stuck = sorted(_fault_days(demo, key))
    assert stuck == [date(2025, 5, 19), date(2025, 5, 20), date(2025, 5, 21)]
    days = queries.seu_series(demo.store, *_seu(key), stuck[0], stuck[-1])
    assert all(d["completeness"] == 1.0 for d in days)
    assert len({d["energy"] for d in days}) == 1
    result = baselines.expected(demo.store, *_seu(key), *REPORT)
    left_out = {x["interval"]: x["reason"] for x in result["excluded"]}
    assert all("stuck" in left_out[d] for d in stuck)
    assert abs(result["deviation_pct"] - (-2.0)) < TOLERANCE_PP


@pytest.mark.parametrize("key", NO_EFFECT)
def test_no_effect_no_deviation(demo, key):
    result = _evaluate(demo, key, *REPORT, avoid=_fault_days(demo, key))
    assert not result.significant, (key, result.deviation_pct, result.half_pct)
    assert abs(result.deviation_pct) < TOLERANCE_PP, (key, result.deviation_pct)


def test_no_effect_within_the_interval_injection_molding(demo):
    """The per-product model's miss on clean days stays inside its own interval."""
    key = "Injection-Molding-1/electricity"
    result = _evaluate(demo, key, *REPORT, avoid=_fault_days(demo, key))
    assert not result.significant and abs(result.deviation_pct) < result.half_pct
    # As the engine reports the whole period, the 2025 spikes (+0.6 pp) included:
    whole = baselines.expected(demo.store, *_seu(key), *REPORT, version=_version(demo, key))
    assert not whole["significant"] and abs(whole["deviation_pct"]) < TOLERANCE_PP


def test_air_leak_step_is_a_significant_rise_of_its_size(demo):
    key = "Compressor-EU-1/electricity"
    step = next(e for e in demo.truth["effects"] if e["seu"] == key)
    start = date.fromisoformat(step["start"])
    before = _evaluate(demo, key, REPORT[0], start - timedelta(days=1))
    assert not before.significant and abs(before.deviation_pct) < TOLERANCE_PP
    after = _evaluate(demo, key, start, REPORT[1])
    leak = sum(step["size_per_hour"] * _hours(r["start"], ZoneInfo(demo.truth["timezone"]))
               for r in after.rows)
    assert leak == pytest.approx(step["size_per_day"] * len(after.rows) + 4)  # one 25-hour day
    assert after.significant
    assert abs((after.actual - after.expected) - leak) < TOLERANCE_PP / 100 * after.expected
    assert abs(after.deviation_pct - after.true_pct) < TOLERANCE_PP
    whole = _evaluate(demo, key, *REPORT)
    assert whole.significant and abs(whole.deviation_pct - whole.true_pct) < TOLERANCE_PP


def test_coil_fouling_shows_in_october(demo):
    key = "HVAC-EU-North/electricity"
    effect = next(e for e in demo.truth["effects"] if e["seu"] == key)
    start = date.fromisoformat(effect["start"])
    before = _evaluate(demo, key, REPORT[0], start - timedelta(days=1))
    assert not before.significant and abs(before.deviation_pct) < TOLERANCE_PP
    october = _evaluate(demo, key, date(2025, 10, 1), date(2025, 10, 31))
    # The ramp reaches 80 % of its 12 % on 1 October and 100 % on the 31st.
    assert 9.5 < october.true_pct < 11.0
    assert october.significant and abs(october.deviation_pct - october.true_pct) < TOLERANCE_PP
    whole = _evaluate(demo, key, *REPORT)
    assert whole.significant and abs(whole.deviation_pct - whole.true_pct) < TOLERANCE_PP


# --- 2. day intervals cover what they claim ----------------------------------------------

@pytest.mark.parametrize("key", NO_EFFECT)
def test_day_intervals_cover_held_out_days(demo, key):
    result = _evaluate(demo, key, *REPORT, avoid=_fault_days(demo, key))
    inside = [r["lower"] <= r["actual"] <= r["upper"] for r in result.rows]
    assert len(inside) >= 290
    assert 0.90 <= np.mean(inside) <= 0.98, (key, np.mean(inside))


def test_day_intervals_cover_all_clean_days_together(demo):
    """Pooled over the SEUs without effects and the effect SEUs' days before their
    effect starts: about 95 %, IM1 included."""
    periods = [(k, *REPORT) for k in NO_EFFECT] + [
        ("Compressor-EU-1/electricity", REPORT[0], date(2025, 4, 13)),
        ("HVAC-EU-North/electricity", REPORT[0], date(2025, 5, 31))]
    inside = [r["lower"] <= r["actual"] <= r["upper"]
              for key, first, last in periods
              for r in _evaluate(demo, key, first, last, avoid=_fault_days(demo, key)).rows]
    assert len(inside) > 1400
    assert 0.93 <= np.mean(inside) <= 0.975, np.mean(inside)


def test_rows_carry_their_interval_and_add_up(demo):
    key = "Compressor-1/electricity"
    result = baselines.expected(demo.store, *_seu(key), date(2025, 3, 1), date(2025, 3, 31),
                                version=_version(demo, key))
    rows = result["rows"]
    assert len(rows) == result["intervals_used"] == 31
    assert all(r["lower"] < r["expected"] < r["upper"] for r in rows)
    assert sum(r["expected"] for r in rows) == pytest.approx(result["expected"], rel=1e-12)
    assert sum(r["actual"] for r in rows) == pytest.approx(result["actual"], rel=1e-12)
    # A month's interval is far narrower than the sum of its days' (not 31 x a day's).
    month_half = result["upper"] - result["expected"]
    assert month_half < 0.3 * sum(r["upper"] - r["expected"] for r in rows)


# --- numbers against statsmodels ------------------------------------------------------

def _design_outside_engine(demo, key, first, last):
    """The model's rows rebuilt from the public daily series, without the engine's
    frame or design code: used days, energy, design matrix, and the left-out days."""
    model = demo.trained[key]
    spec = model["spec"]
    energy = queries.seu_series(demo.store, *_seu(key), first, last)
    ok = np.array([r["energy"] is not None and r["completeness"] >= 0.98 for r in energy])
    columns = {}
    needed = [(d["name"], d["rollup"]) for d in spec["drivers"]]
    if spec.get("temperature_driver"):
        needed.append((spec["temperature_driver"], "mean"))
    for name, rule in needed:
        series = queries.driver_series(demo.store, name, first, last)
        least = 0.98 if rule == "sum" else 0.90
        ok &= np.array([r["value"] is not None and r["completeness"] >= least for r in series])
        columns[name] = np.array([np.nan if r["value"] is None else r["value"] for r in series])
    # Days the data-quality log flags as wrong (stuck, outlier, ...) on the SEU's
    # meters or measured drivers are left out too (docs/methods.md section 8).
    days = [r["day"] for r in energy]
    seu = catalog.get_seu(demo.store, *_seu(key))
    measured = [d["name"] for d in spec["drivers"] if d["kind"] != "derived"]
    for name in seu["meters"] + measured:
        flagged = {row["day"] for row in quality.log_days(demo.store, name, first, last)
                   if {f["kind"] for f in row["findings"]} & baselines.DATA_QUALITY_EXCLUDES}
        ok &= np.array([d not in flagged for d in days])
    y = np.array([np.nan if r["energy"] is None else r["energy"] for r in energy])[ok]
    X = []
    for name in spec["names"]:
        if name == "hdd":
            X.append(np.maximum(0, spec["heating_balance_c"] - columns[spec["temperature_driver"]]))
        elif name == "cdd":
            X.append(np.maximum(0, columns[spec["temperature_driver"]] - spec["cooling_balance_c"]))
        else:
            X.append(columns[name])
    return (y, np.column_stack(X)[ok], [d for d, good in zip(days, ok) if good],
            [d for d, good in zip(days, ok) if not good])


@pytest.mark.parametrize("key", [
    "Compressor-1/electricity", "Compressor-EU-1/electricity", "HVAC-Main/electricity",
    "HVAC-EU-North/electricity", "Conveyor-A/electricity", "Hydraulic-Pump-1/electricity",
    "Injection-Molding-1/electricity", "Boiler-1/natural_gas", "Autoclave-1/steam"])
def test_stored_model_equals_statsmodels(demo, key):
    """Coefficients, standard errors, p-values and R2 of the stored version (after
    its JSON round trip) equal statsmodels OLS on the same days. A searched balance
    point costs one residual degree of freedom (two for 5p), which statsmodels does
    not know: its standard errors are rescaled to the engine's df."""
    model = demo.trained[key]
    st = model["statistics"]
    y, X, used, left_out = _design_outside_engine(demo, key, *BASELINE)
    assert [x["interval"] for x in model["excluded"]] == [d.isoformat() for d in left_out]
    assert model["n_used"] == st["n"] == len(y)
    ref = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    searched = st["searched_parameters"]
    assert searched == {"linear": 0, "3p_heating": 1, "3p_cooling": 1, "4p": 1,
                        "5p": 2}[model["model"]]
    df = ref.df_resid - searched
    assert st["df_resid"] == df
    close = dict(rtol=1e-8, atol=0)
    np.testing.assert_allclose([st["intercept"], *st["coefficients"]], ref.params, **close)
    se = ref.bse * np.sqrt(ref.df_resid / df)
    np.testing.assert_allclose([st["intercept_standard_error"], *st["standard_errors"]], se,
                               **close)
    p = 2 * stats.t.sf(np.abs(ref.params / se), df)
    np.testing.assert_allclose([st["intercept_p_value"], *st["p_values"]], p,
                               rtol=1e-7, atol=1e-300)
    assert st["r2"] == pytest.approx(ref.rsquared, rel=1e-10)
    assert st["adj_r2"] == pytest.approx(1 - (1 - ref.rsquared) * (len(y) - 1) / df, rel=1e-10)
    assert st["rmse"] == pytest.approx(np.sqrt(ref.ssr / df), rel=1e-10)
    residuals = ref.resid
    rho = np.sum(residuals[1:] * residuals[:-1]) / np.sum(residuals ** 2)
    assert st["autocorrelation_lag1"] == pytest.approx(rho, rel=1e-8, abs=1e-12)


def searched_free(model):
    return model["statistics"]["searched_parameters"] == 0


@pytest.mark.parametrize("key", ["HVAC-Main/electricity", "Compressor-1/electricity",
                                 "HVAC-EU-North/electricity"])
def test_intervals_equal_statsmodels(demo, key):
    """Single days: statsmodels' prediction interval for a new observation, with
    the leverage term widened by (1 + rho) / (1 - rho) when the baseline's lag-1
    residual autocorrelation rho is positive (ASHRAE Guideline 14 Annex B; exactly
    statsmodels' interval when rho <= 0). A month: the variance of a sum of m AR(1)
    errors plus the summed leverage, s' Cov(b) s, never 31 x a day's interval."""
    model = demo.trained[key]
    st = model["statistics"]
    y, X, _, _ = _design_outside_engine(demo, key, *BASELINE)
    ref = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    df = st["df_resid"]
    sigma2 = ref.ssr / df
    rho = max(st["autocorrelation_lag1"], 0.0)
    inflation = (1 + rho) / (1 - rho)
    t = stats.t.ppf(0.975, df)
    month = (date(2025, 3, 1), date(2025, 3, 31))
    result = baselines.expected(demo.store, *_seu(key), *month, version=model["version"])
    _, X_new, used, _ = _design_outside_engine(demo, key, *month)
    assert [r["start"] for r in result["rows"]] == used
    exog = sm.add_constant(X_new, has_constant="add")
    frame = ref.get_prediction(exog).summary_frame(alpha=0.05)
    leverage = np.asarray(frame["mean_se"]) ** 2 / ref.scale  # x (X'X)^-1 x'
    half = t * np.sqrt(sigma2 * (1 + inflation * leverage))
    column = {key: np.array([r[key] for r in result["rows"]])
              for key in ("expected", "lower", "upper")}
    np.testing.assert_allclose(column["expected"], frame["mean"], rtol=1e-9)
    np.testing.assert_allclose(column["upper"], frame["mean"] + half, rtol=1e-9)
    np.testing.assert_allclose(column["lower"], frame["mean"] - half, rtol=1e-9)
    if rho == 0 and searched_free(model):
        np.testing.assert_allclose(column["upper"], frame["obs_ci_upper"], rtol=1e-9)
    m = len(used)
    lags = np.arange(1, m)
    noise = m + 2 * np.sum((m - lags) * rho ** lags)
    total = exog.sum(axis=0)
    parameters = total @ ref.cov_params() @ total / ref.scale * sigma2
    month_half = t * np.sqrt(sigma2 * noise + inflation * parameters)
    assert result["upper"] - result["expected"] == pytest.approx(month_half, rel=1e-9)



def test_an_interval_is_not_1_96_rmse(demo):
    """One stated rule: the day interval uses the t-quantile and leverage, so it is
    wider than 1.96 x RMSE and varies from day to day."""
    key = "Injection-Molding-1/electricity"
    result = baselines.expected(demo.store, *_seu(key), *REPORT, version=_version(demo, key))
    rmse = demo.trained[key]["statistics"]["rmse"]
    halves = np.array([r["upper"] - r["expected"] for r in result["rows"]])
    assert halves.min() > 1.96 * rmse
    assert halves.max() - halves.min() > 0.01 * rmse  # 2025's mix has high leverage


# --- 3. product mix --------------------------------------------------------------------

@pytest.fixture(scope="module")
def parts_total(demo):
    """A homogeneous count, parts_total = parts_product_a + parts_product_b, loaded
    hour by hour through the catalog and ingest like any measured driver."""
    store = demo.store
    catalog.add_driver(store, "parts_total", "units", "sum", "both products, unweighted")
    with store.begin() as conn:
        ids = dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())
        by_product = [dict(conn.execute(
            sa.select(s.driver_readings.c.ts, s.driver_readings.c.value)
            .where(s.driver_readings.c.driver_id == ids[name])).all())
            for name in ("parts_product_a", "parts_product_b")]
        assert by_product[0].keys() == by_product[1].keys()
        ts = np.array(sorted(by_product[0]), dtype=np.int64)
        values = np.array([by_product[0][t] + by_product[1][t] for t in ts.tolist()])
        ingest.load_driver_values(conn, np.full(len(ts), ids["parts_total"]), ts,
                                  np.full(len(ts), 3600), values)
    return "parts_total"


def test_product_mix_needs_per_product_drivers(demo, parts_total):
    store, key = demo.store, "Injection-Molding-1/electricity"
    per_product = demo.trained[key]
    assert sorted(per_product["drivers"]) == ["parts_product_a", "parts_product_b"]
    shares = []
    for period in (BASELINE, REPORT):
        a, b = (sum(d["value"] or 0 for d in queries.driver_series(store, name, *period))
                for name in ("parts_product_a", "parts_product_b"))
        shares.append(b / (a + b))
    assert shares[1] > shares[0] + 0.1  # the high-energy product's share rises in 2025
    good = baselines.expected(store, *_seu(key), *REPORT, version=per_product["version"])
    assert not good["significant"] and abs(good["deviation_pct"]) < TOLERANCE_PP

    homogeneous = baselines.train(store, *_seu(key), *BASELINE, drivers=[parts_total])
    assert homogeneous["status"] == "candidate" and homogeneous["r2"] > 0.75  # it looks fine
    biased = baselines.expected(store, *_seu(key), *REPORT, version=homogeneous["version"])
    # More of the high-energy product reads as lost efficiency: a rise, significant.
    assert biased["significant"] and biased["deviation_pct"] > 3.0
    assert biased["deviation_pct"] - good["deviation_pct"] > 3.0


# --- 4. DESIGN failure cases -------------------------------------------------------------

def _tamper(store, sql):
    with store.begin() as conn:
        conn.execute(sa.text(sql))


@pytest.mark.parametrize("key,driver,column,tampered,original", [
    ("Compressor-1/electricity", "production_count", "rollup", "'mean'", "'sum'"),
    ("HVAC-Main/electricity", "heating_degree_days", "base_temp_c", "15.0", "18.0"),
    ("HVAC-EU-North/electricity", "outdoor_temp_c", "rollup", "'sum'", "'mean'"),
])
def test_rollup_changed_behind_the_baseline_is_refused(demo, key, driver, column, tampered,
                                                       original):
    """A model trained on daily sums is never fed daily means (the 24-fold bug)."""
    model = demo.trained[key]
    uses = [d["name"] for d in model["spec"]["drivers"]] + [model["spec"].get("temperature_driver")]
    assert driver in uses, (key, model["spec"])  # the demo's chosen model uses it
    where = f"WHERE name = '{driver}'"
    _tamper(demo.store, f"UPDATE drivers SET {column} = {tampered} {where}")
    try:
        with pytest.raises(EnmsError, match=f"{driver}.*retrain"):
            baselines.expected(demo.store, *_seu(key), *REPORT, version=model["version"])
    finally:
        _tamper(demo.store, f"UPDATE drivers SET {column} = {original} {where}")
    baselines.expected(demo.store, *_seu(key), *REPORT, version=model["version"])


def test_week_and_month_models_sum_daily_sums(demo):
    """Summed drivers are summed over the model interval, so a weekly or monthly
    model has the daily slopes and 7 (or ~30) times the daily intercept."""
    store, key = demo.store, "Compressor-1/electricity"
    truth = demo.truth["models"][key]
    weekly = baselines.train(store, *_seu(key), *BASELINE, drivers=["production_count"],
                             interval="week")
    st = weekly["statistics"]
    # 2024-12-30 starts a week that the period covers only in part.
    assert weekly["interval"] == "week" and weekly["n_used"] == 52
    assert abs(st["coefficients"][0] - truth["coefficients"]["production_count"]) < \
        4 * st["standard_errors"][0]
    assert abs(st["intercept"] - 7 * truth["intercept"]) < 4 * st["intercept_standard_error"]
    check = baselines.expected(store, *_seu(key), date(2025, 1, 6), date(2025, 3, 30),
                               version=weekly["version"])
    assert check["interval"] == "week" and check["intervals_used"] == 12
    daily = baselines.expected(store, *_seu(key), date(2025, 1, 6), date(2025, 3, 30),
                               version=_version(demo, key))
    assert check["actual"] == pytest.approx(daily["actual"], rel=1e-12)
    assert check["expected"] == pytest.approx(daily["expected"], rel=0.01)
    hvac = "HVAC-EU-North/electricity"
    monthly = baselines.train(store, *_seu(hvac), *BASELINE, interval="month",
                              drivers=["heating_degree_days", "cooling_degree_days"])
    st = monthly["statistics"]
    assert monthly["n_used"] == 12
    for name, slope, se in zip(st["names"], st["coefficients"], st["standard_errors"]):
        assert abs(slope - demo.truth["models"][hvac]["coefficients"][name]) < 4 * se


def test_missing_outdoor_temperature_is_refused_not_zero(demo):
    """The weather station's outage (2025-02-10..13, rows absent) on HVAC-EU-North."""
    store, key = demo.store, "HVAC-EU-North/electricity"
    outage = [date(2025, 2, d) for d in (10, 11, 12, 13)]
    temps = queries.driver_series(store, "outdoor_temp_c", outage[0], outage[-1])
    assert [t["value"] for t in temps] == [None] * 4
    with pytest.raises(EnmsError) as refused:
        baselines.train(store, *_seu(key), date(2025, 2, 5), date(2025, 2, 18))
    text = str(refused.value)
    assert "only 10 of 14 days" in text and "outdoor_temp_c 0 % present" in text
    assert all(d.isoformat() in text for d in outage)
    # A few missing days: left out and listed; the fit is that of the other days.
    ok = baselines.train(store, *_seu(key), date(2025, 1, 1), date(2025, 5, 31))
    assert [x["interval"] for x in ok["excluded"]] == [d.isoformat() for d in outage]
    assert all("outdoor_temp_c 0 % present" in x["reason"] for x in ok["excluded"])
    assert (ok["n_used"], ok["n_total"]) == (147, 151)
    feb = baselines.expected(store, *_seu(key), date(2025, 2, 1), date(2025, 2, 28),
                             version=ok["version"])
    assert (feb["intervals_used"], feb["intervals_total"]) == (24, 28)
    february = queries.seu_series(store, *_seu(key), date(2025, 2, 1), date(2025, 2, 28))
    energy = {d["day"]: d["energy"] for d in february}
    assert feb["actual"] == pytest.approx(sum(v for d, v in energy.items() if d not in outage))


def _clone_driver(store, name, new_name, values_of, degree_days=()):
    """A new measured driver with ``name``'s readings, ``values_of(ts, values)``
    applied, and the ``degree_days`` drivers ((name, 'hdd' or 'cdd'), base 18 C)
    derived from it, added before the readings (see test_degree_days_added_later)."""
    catalog.add_driver(store, new_name, "C", "mean")
    for derived, derivation in degree_days:
        catalog.add_driver(store, derived, "K d", derived_from=new_name, derivation=derivation,
                           base_temp_c=18)
    with store.begin() as conn:
        ids = dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())
        ts, duration, values = map(np.array, zip(*conn.execute(
            sa.select(s.driver_readings.c.ts, s.driver_readings.c.duration_s,
                      s.driver_readings.c.value)
            .where(s.driver_readings.c.driver_id == ids[name])
            .order_by(s.driver_readings.c.ts)).all()))
        ingest.load_driver_values(conn, np.full(len(ts), ids[new_name]), ts, duration,
                                  values_of(ts, values.astype(float)))


def test_null_temperature_values_are_missing_not_zero(demo):
    """Readings that arrive with an empty value (NULL) leave the day without a mean
    temperature and without degree days: excluded and listed, or refused."""
    store, tz = demo.store, ZoneInfo(demo.truth["timezone"])
    blank = (int(datetime(2024, 3, 4, tzinfo=tz).timestamp()),
             int(datetime(2024, 3, 9, tzinfo=tz).timestamp()))
    _clone_driver(store, "outdoor_temp_c", "yard_temp_c",
                  lambda ts, v: np.where((ts >= blank[0]) & (ts < blank[1]), np.nan, v),
                  [("yard_hdd", "hdd"), ("yard_cdd", "cdd")])
    days = queries.driver_series(store, "yard_hdd", date(2024, 3, 3), date(2024, 3, 9))
    assert [d["value"] is None for d in days] == [False] + [True] * 5 + [False]
    key, drivers = "HVAC-EU-North/electricity", ["yard_hdd", "yard_cdd"]
    model = baselines.train(store, *_seu(key), *BASELINE, drivers=drivers)
    assert [x["interval"] for x in model["excluded"]] == [f"2024-03-0{d}" for d in range(4, 9)]
    assert model["n_used"] == 361
    reference = baselines.train(store, *_seu(key), *BASELINE,
                                drivers=["heating_degree_days", "cooling_degree_days"])
    assert reference["n_used"] == 366
    for a, b, se in zip(model["statistics"]["coefficients"],
                        reference["statistics"]["coefficients"],
                        reference["statistics"]["standard_errors"]):
        assert abs(a - b) < se  # five fewer days, not five days at 0 C (18 K day each)
    with pytest.raises(EnmsError, match=r"only 9 of 14 days.*2024-03-04: yard_hdd 0 % present"):
        baselines.train(store, *_seu(key), date(2024, 3, 1), date(2024, 3, 14), drivers=drivers)


# catalog.add_driver does not derive a degree-day driver's days from its temperature's
# stored rollups: only readings loaded afterwards fill it, so a base temperature added
# later has no values, and every baseline on it is refused ("Import the missing data").
def test_degree_days_added_later_have_values(demo):
    catalog.add_driver(demo.store, "hdd_base_15", "K d", derived_from="outdoor_temp_c",
                       derivation="hdd", base_temp_c=15)
    days = queries.driver_series(demo.store, "hdd_base_15", *BASELINE)
    temps = queries.driver_series(demo.store, "outdoor_temp_c", *BASELINE)
    assert [d["value"] for d in days] == [max(0.0, 15 - t["value"]) for t in temps]


def _clone_seu(store, equipment, source, twin, drivers=None):
    """A new SEU (equipment ``twin`` on ``source``) metered by a copy of the readings
    of ``equipment``'s meter, loaded through ingest like any import."""
    src = catalog.get_energy_source(store, source)
    (meter,) = catalog.get_seu(store, equipment, source)["meters"]
    table = readings.table(source, [c["name"] for c in src["columns"]])
    with store.read() as conn:
        meter_id = conn.execute(sa.select(s.meters.c.id).where(s.meters.c.name == meter)).scalar()
        rows = conn.execute(sa.select(table).where(table.c.meter_id == meter_id)
                            .order_by(table.c.ts)).mappings().all()
    catalog.add_equipment(store, twin, "test twin")
    catalog.add_meter(store, f"M-{twin}", twin, source, 3600)
    with store.begin() as conn:
        new_id = conn.execute(sa.select(s.meters.c.id)
                              .where(s.meters.c.name == f"M-{twin}")).scalar()
        batch = readings.Batch(np.full(len(rows), new_id, dtype=np.int64),
                               np.array([r["ts"] for r in rows], dtype=np.int64),
                               np.array([r["duration_s"] for r in rows], dtype=np.int64),
                               {c["name"]: np.array([r[c["name"]] for r in rows], dtype=float)
                                for c in src["columns"]})
        ingest.load_readings(conn, src, batch)
    default = catalog.get_seu(store, equipment, source)["drivers"]
    catalog.add_seu(store, twin, source, drivers if drivers is not None else default)
    return twin, source


def test_degree_days_come_from_outdoor_air_only(demo):
    """A machine temperature is a driver of its own: no change-point model is
    searched on it, even where energy is V-shaped in it. Only the catalog's
    degree-day drivers bring the change-point models, on their outdoor parent."""
    store = demo.store
    _clone_driver(store, "outdoor_temp_c", "mould_temp_c", lambda ts, v: v + 25.0)
    twin = _clone_seu(store, "HVAC-EU-North", "electricity", "HVAC-Twin-Mould",
                      drivers=["mould_temp_c", "operating_hours"])
    machine = baselines.train(store, *twin, *BASELINE)
    assert machine["model"] == "linear"
    assert {r["model"] for r in machine["ranking"]} == {"linear"}
    assert "temperature_driver" not in machine["spec"]
    assert "hdd" not in machine["statistics"]["names"]
    catalog.set_seu_drivers(store, *twin, ["mould_temp_c", "heating_degree_days",
                                           "cooling_degree_days"])
    weather = baselines.train(store, *twin, *BASELINE)
    tried = {r["model"] for r in weather["ranking"]}
    assert {"3p_heating", "3p_cooling", "4p", "5p"} <= tried
    assert weather["model"] in ("3p_heating", "3p_cooling", "4p", "5p"), weather["model"]
    assert weather["spec"]["temperature_driver"] == "outdoor_temp_c"
    assert weather["r2"] > machine["r2"] + 0.1


# --- 5. versions and adjustments ------------------------------------------------------------

def test_versions_and_documented_adjustments(demo):
    store = demo.store
    twin = _clone_seu(store, "Compressor-1", "electricity", "Compressor-Twin-Versions")
    march = (date(2025, 3, 1), date(2025, 3, 31))

    first = baselines.train(store, *twin, *BASELINE, trained_by="e.engineer")
    assert (first["version"], first["status"], first["trained_by"]) == (1, "active", "e.engineer")
    v1_march = baselines.expected(store, *twin, *march)
    assert v1_march["baseline_version"] == 1

    second = baselines.train(store, *twin, date(2024, 1, 1), date(2024, 6, 30))
    assert (second["version"], second["status"]) == (2, "candidate")
    assert baselines.get(store, *twin)["version"] == 1  # training alone changes nothing

    adopted = baselines.adjust(store, *twin, version=2, reason="new compressor controller",
                               adjustment_type="equipment_upgrade", adjusted_by="e.engineer",
                               approved_by="p.manager")
    assert (adopted["version"], adopted["status"]) == (3, "active")
    assert (adopted["reason"], adopted["adjustment_type"], adopted["approved_by"],
            adopted["trained_by"]) == ("new compressor controller", "equipment_upgrade",
                                       "p.manager", "e.engineer")
    assert adopted["statistics"] == second["statistics"] and adopted["formula"] == second["formula"]
    assert adopted["period"] == "2024-01-01..2024-06-30"

    retrained = baselines.adjust(store, *twin, reason="second shift added",
                                 adjustment_type="schedule_change",
                                 retrain={"first": date(2024, 7, 1), "last": date(2024, 12, 31)})
    assert (retrained["version"], retrained["status"]) == (4, "active")
    assert retrained["period"] == "2024-07-01..2024-12-31"

    v4 = baselines.expected(store, *twin, *march)
    static = baselines.adjust(store, *twin, reason="second dryer on the air line",
                              adjustment_type="static_factor", static_scale=1.1, static_add=12.5)
    assert static["version"] == 5 and static["static_adjustment"] == {"add": 12.5, "scale": 1.1}
    assert static["statistics"] == retrained["statistics"]
    v5 = baselines.expected(store, *twin, *march)
    n = v4["intervals_used"]
    assert v5["expected"] == pytest.approx(v4["expected"] * 1.1 + 12.5 * n, rel=1e-12)
    for key in ("lower", "upper"):
        assert v5[key] == pytest.approx(v4[key] * 1.1 + 12.5 * n, rel=1e-12)
    for old, new in zip(v4["rows"], v5["rows"]):
        for key in ("expected", "lower", "upper"):
            assert new[key] == pytest.approx(old[key] * 1.1 + 12.5, rel=1e-12)
    assert v5["actual"] == v4["actual"]
    # A second static factor compounds on the first: (E x 1.1 + 12.5) x 0.5 + 1.
    compounded = baselines.adjust(store, *twin, reason="half the line moved",
                                  adjustment_type="static_factor", static_scale=0.5,
                                  static_add=1.0)
    assert compounded["static_adjustment"] == pytest.approx({"add": 7.25, "scale": 0.55})
    v6 = baselines.expected(store, *twin, *march)
    assert v6["expected"] == pytest.approx(v5["expected"] * 0.5 + n, rel=1e-12)

    chain = baselines.history(store, *twin)
    assert [(h["version"], h["status"], h["parent_version"], h["adjustment_type"])
            for h in chain] == [
        (1, "superseded", None, None), (2, "superseded", None, None),
        (3, "superseded", 2, "equipment_upgrade"), (4, "superseded", 3, "schedule_change"),
        (5, "superseded", 4, "static_factor"), (6, "active", 5, "static_factor")]
    assert all(h["reason"] for h in chain)
    # Old reports keep pointing at what they used: version 1 still answers, unchanged.
    again = baselines.expected(store, *twin, *march, version=1)
    assert again["baseline_version"] == 1
    assert {k: again[k] for k in ("expected", "lower", "upper", "actual")} == \
        {k: v1_march[k] for k in ("expected", "lower", "upper", "actual")}
    assert baselines.get(store, *twin, version=1)["formula"] == first["formula"]


@pytest.fixture(scope="module")
def refusal_twin(demo):
    """An SEU with an active version 1 and a candidate version 2."""
    twin = _clone_seu(demo.store, "Conveyor-A", "electricity", "Conveyor-Twin-Refusals")
    baselines.train(demo.store, *twin, *BASELINE)
    baselines.train(demo.store, *twin, date(2024, 1, 1), date(2024, 6, 30))
    return twin


@pytest.mark.parametrize("kwargs,message", [
    ({"reason": "", "adjustment_type": "process_change"}, "needs a reason"),
    ({"reason": "   ", "adjustment_type": "process_change"}, "needs a reason"),
    ({"reason": "new line", "adjustment_type": "whim"},
     "unknown adjustment type 'whim'.*static_factor"),
    ({"reason": "new line", "adjustment_type": "process_change"}, "say how to adjust"),
    ({"reason": "new line", "adjustment_type": "static_factor", "static_scale": 1.1,
      "version": 2}, "say how to adjust"),
    ({"reason": "re-adopt", "adjustment_type": "other", "version": 1}, "only a candidate"),
    ({"reason": "ghost", "adjustment_type": "other", "version": 99}, "not stored"),
    ({"reason": "odd", "adjustment_type": "static_factor", "static_scale": 0.0}, "scale"),
    ({"reason": "odd", "adjustment_type": "static_factor", "static_scale": -1.0}, "scale"),
    ({"reason": "odd", "adjustment_type": "static_factor", "static_add": float("nan")}, "add"),
    ({"reason": "odd", "adjustment_type": "static_factor", "static_scale": float("inf")}, "scale"),
])
def test_adjustments_refused_change_nothing(demo, refusal_twin, kwargs, message):
    store, twin = demo.store, refusal_twin
    before = baselines.history(store, *twin)
    assert [(h["version"], h["status"]) for h in before] == [(1, "active"), (2, "candidate")]
    with pytest.raises(EnmsError, match=message):
        baselines.adjust(store, *twin, **kwargs)
    assert baselines.history(store, *twin) == before


# --- 6. refusals ----------------------------------------------------------------------------

def _counts(store):
    with store.read() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (s.seus, s.drivers, s.baselines, s.seu_drivers, s.driver_daily)}


@pytest.mark.parametrize("name", ["production_cnt", "x; DROP TABLE seus", "Outdoor_Temp_C",
                                  "' OR '1'='1"])
def test_unknown_or_hostile_driver_names_are_not_found(demo, name):
    store = demo.store
    before = _counts(store)
    with pytest.raises(NotFound) as refused:
        baselines.train(store, "Compressor-1", "electricity", *BASELINE,
                        drivers=["production_count", name])
    text = str(refused.value)
    assert repr(name) in text
    known = text.split("known: ")[1]
    assert all(d in known for d in ("production_count", "outdoor_temp_c", "heating_degree_days",
                                    "parts_product_a", "operating_hours"))
    assert _counts(store) == before


def test_low_r2_is_refused_with_reasons(demo):
    store = demo.store
    before = _counts(store)
    with pytest.raises(EnmsError) as refused:
        baselines.train(store, "Autoclave-1", "steam", *BASELINE, drivers=["outdoor_temp_c"])
    text = str(refused.value)
    assert "no valid model" in text and "R2 0.0" in text
    assert "below the 0.50 the DOE EnPI rules accept" in text and "Try other drivers" in text
    assert _counts(store) == before


def test_incomplete_energy_is_refused_saying_which_and_how_much(demo):
    """Boiler-1's gas logger lost 2024-11-04..08: 10 of 15 days is too few."""
    store = demo.store
    before = _counts(store)
    with pytest.raises(EnmsError) as refused:
        baselines.train(store, "Boiler-1", "natural_gas", date(2024, 11, 1), date(2024, 11, 15))
    text = str(refused.value)
    assert "only 10 of 15 days" in text and "at least 80%" in text
    for day in range(4, 9):
        assert f"2024-11-0{day}: energy 0 % metered" in text
    assert "2024-11-04: 2024-11-04" not in text  # a day is named once
    assert "Import the missing data" in text
    assert _counts(store) == before
    # The whole year leaves the five days out and lists them.
    year = demo.trained["Boiler-1/natural_gas"]
    assert [x["interval"] for x in year["excluded"]] == [f"2024-11-0{d}" for d in range(4, 9)]
    assert all("energy 0 % metered" in x["reason"] for x in year["excluded"])


def test_expected_without_any_complete_day_is_refused(demo):
    key = "HVAC-EU-North/electricity"
    with pytest.raises(EnmsError, match="no day with complete energy and driver data"):
        baselines.expected(demo.store, *_seu(key), date(2025, 2, 10), date(2025, 2, 13),
                           version=_version(demo, key))

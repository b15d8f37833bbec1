"""Period reports on the demo factory: figures, CUSUM alarms and storage."""
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from conftest import BACKENDS, demo_database
from engine import baselines, catalog, cusum, queries, reports
from engine.demo import train_demo_baselines


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, truth, _):
        yield store, truth


def _effect(truth, kind):
    return next(e for e in truth["effects"] if e["type"] == kind)


def test_report_figures_are_consistent(demo):
    store, _ = demo
    r = reports.build(store, "Compressor-1", "electricity", date(2025, 3, 1), date(2025, 3, 31))
    assert r["baseline_version"] == 1 and r["period"] == "2025-03"
    assert r["lower"] < r["expected"] < r["upper"]
    assert r["deviation"] == pytest.approx(r["actual"] - r["expected"])
    assert r["senpi"] == pytest.approx(r["actual"] / r["expected"])
    assert r["actual_kwh"] == pytest.approx(r["actual"] * r["kwh_per_unit"])
    # Energy per unit produced, and kWh per Nm3 from the compressed-air output meter.
    names = [e["name"] for e in r["enpi"] + r["output_indicators"]]
    assert "kWh per units production_count" in names
    assert "kWh per Nm3 compressed_air" in names
    air = next(o for o in r["output_indicators"] if o["name"] == "kWh per Nm3 compressed_air")
    assert 0.09 < air["value"] < 0.13  # the generator's 0.11 kWh/Nm3


def _first_alarm_day(report, direction):
    """The day the first alarm of a direction is known: the end of its week."""
    week = next((a["week_of"] for a in report["cusum"]["alarms"]
                 if a["direction"] == direction), None)
    return None if week is None else date.fromisoformat(str(week)) + timedelta(days=6)


def test_cusum_alarms_find_the_injected_effects_in_time(demo):
    """The issue's demo criteria as far as the statistics allow (docs/methods.md,
    section 8): the leak within a month, the degradation after its start and
    before its end (within 2 months in 10 of 25 generated plants only). That
    SEUs without an injected effect stay silent holds per plant with a
    probability of about 0.7 (four SEUs, ARL0 465 weeks): it is checked over
    many plants below, not on one."""
    store, truth = demo
    october = {}
    for seu in {f"{s['equipment']}/{s['source']}" for s in catalog.list_entries(store, "seu")}:
        equipment, source = seu.split("/")
        october[seu] = reports.build(store, equipment, source, date(2025, 10, 1),
                                     date(2025, 10, 31))
    leak = _effect(truth, "step")
    start = date.fromisoformat(leak["start"])
    assert start <= _first_alarm_day(october[leak["seu"]], "up") <= start + timedelta(days=31)
    fouling = _effect(truth, "degradation")
    start, end = date.fromisoformat(fouling["start"]), date.fromisoformat(fouling["end"])
    assert start <= _first_alarm_day(october[fouling["seu"]], "up") <= end
    # Savings show as a falling CUSUM in energy units, and alarm downwards.
    for saving in (e for e in truth["effects"] if e["type"] == "savings"):
        assert october[saving["seu"]]["cusum"]["to_date"] < 0
        assert _first_alarm_day(october[saving["seu"]], "down") is not None


def _in_control_alarm_probability(weeks, k, h, runs=20000, seed=0):
    """P(a two-sided tabular CUSUM of iid N(0, 1) alarms within ``weeks``)."""
    z = np.random.default_rng(seed).normal(size=(runs, weeks))
    return np.mean([bool(cusum.tabular(row, k, h).alarms) for row in z])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_in_control_false_alarms_match_the_average_run_length(backend, tmp_path_factory):
    """On SEUs without an injected effect, over plants the baselines were never
    tuned on, the weekly innovations are independent N(0, 1) and the CUSUM
    false-alarm count is what the in-control run length predicts. Residuals
    merely divided by their sd fail this: the coefficients' error, shared by
    all weeks, makes their yearly means spread 1.6 times too wide."""
    request = SimpleNamespace(param=backend)
    runs, alarms = [], 0
    for seed in (201, 202, 203, 204, 205, 206):
        with demo_database(request, tmp_path_factory, seed=seed) as (store, truth, _):
            train_demo_baselines(store)
            injected = {e["seu"] for e in truth["effects"]}
            for seu in catalog.list_entries(store, "seu"):
                if f"{seu['equipment']}/{seu['source']}" in injected:
                    continue
                weeks = baselines.expected(store, seu["equipment"], seu["source"],
                                           date(2025, 1, 1), date(2025, 10, 31),
                                           groups="week")["groups"]["week"]
                z = np.array([w["z"] for w in weeks])
                runs.append(z)
                alarms += bool(cusum.tabular(z).alarms)
    z = np.concatenate(runs)
    assert 0.9 < z.std() < 1.1 and abs(z.mean()) < 0.1
    # Yearly means: variance 1 / weeks when independent (chi-square, 24 runs).
    spread = np.var([r.mean() for r in runs]) * len(runs[0])
    assert spread < 1.9
    p = _in_control_alarm_probability(len(runs[0]), cusum.DEFAULT_K, cusum.DEFAULT_H)
    assert 0.05 < p < 0.10   # ARL0 465 weeks (Montgomery Table 9.3) over ~44 weeks
    # At most the 99 % binomial quantile of the predicted count.
    assert alarms <= stats.binom.ppf(0.99, len(runs), p)


def test_rerun_replaces_and_adjustment_keeps_history(demo):
    store, _ = demo
    first, last = date(2025, 2, 1), date(2025, 2, 28)
    reports.generate(store, "Autoclave-1", "steam", first, last)
    reports.generate(store, "Autoclave-1", "steam", first, last)
    assert len(reports.stored(store, "Autoclave-1", "steam", "2025-02")) == 1
    baselines.adjust(store, "Autoclave-1", "steam", reason="new insulation", static_scale=0.97,
                     adjustment_type="equipment_upgrade")
    newer = reports.generate(store, "Autoclave-1", "steam", first, last)
    history = reports.stored(store, "Autoclave-1", "steam", "2025-02", include_superseded=True)
    assert [(h["status"], h["baseline_version"]) for h in history] == [
        ("current", newer["baseline_version"]), ("superseded", 1)]
    assert newer["expected"] == pytest.approx(0.97 * history[1]["expected"])


def test_report_refuses_the_baseline_period(demo):
    store, _ = demo
    with pytest.raises(Exception, match="overlaps the baseline period"):
        reports.build(store, "Compressor-1", "electricity", date(2024, 6, 1), date(2024, 6, 30))


# --- data quality, estimates, the many-months path ----------------------------------

def _approx_equal(fast, slow, where=""):
    """Same keys and values; floats to 1e-9 (sums taken in another order)."""
    if isinstance(fast, dict):
        assert set(fast) == set(slow), (where, set(fast) ^ set(slow))
        for key in fast:
            _approx_equal(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(fast, list):
        assert len(fast) == len(slow), (where, len(fast), len(slow))
        for i, (a, b) in enumerate(zip(fast, slow)):
            _approx_equal(a, b, f"{where}[{i}]")
    elif isinstance(fast, float):
        assert fast == pytest.approx(slow, rel=1e-9, abs=1e-6), where
    else:
        assert fast == slow, where


def test_report_scores_data_quality_and_shows_the_gap(demo):
    store, truth = demo
    gap = next(f for f in truth["data_faults"] if f["type"] == "gap"
               and f["meter"] == "M-Autoclave-1-ST")
    july = reports.build(store, "Autoclave-1", "steam", date(2025, 7, 1), date(2025, 7, 31))
    q = july["data_quality"]
    assert q["score"] < 0.9
    meter = next(i for i in q["inputs"] if i["name"] == "M-Autoclave-1-ST")
    assert meter["score"] == q["score"] and meter["completeness"] < 0.9
    assert {i["name"] for i in q["inputs"]} == {"M-Autoclave-1-ST", "production_count"}
    found = [f for f in q["findings"] if f["kind"] == "gap" and f["name"] == "M-Autoclave-1-ST"]
    assert len(found) == 1
    assert found[0]["from"].startswith("2025-07-21") and found[0]["to"].startswith("2025-07-26")
    assert gap["start"].startswith("2025-07-20T22:00")  # the same local midnight, in UTC
    # The missing days are left out of the comparison, and estimated by the
    # model-based rule for the period's energy: the baseline's expected energy
    # from each day's production, marked with its rule.
    assert july["intervals_used"] <= 31 - 5
    e = july["estimates"]
    [row] = e["rows"]
    assert (row["meter"], row["from"], row["to"], row["rule"]) == (
        "M-Autoclave-1-ST", date(2025, 7, 21), date(2025, 7, 25), "baseline_model")
    model = baselines.get(store, "Autoclave-1", "steam")
    stats, static = model["statistics"], model["static_adjustment"] or {"add": 0, "scale": 1}
    production = queries.driver_series(store, "production_count", row["from"], row["to"])
    by_hand = sum((stats["intercept"] + stats["coefficients"][0] * d["value"]) * static["scale"]
                  + static["add"] for d in production)
    assert list(stats["names"]) == ["production_count"]
    assert row["energy"] == pytest.approx(by_hand, rel=1e-9)
    metered = queries.meter_series(store, "M-Autoclave-1-ST", date(2025, 7, 1), date(2025, 7, 31))
    assert e["measured"] == pytest.approx(sum(d["energy"] for d in metered
                                              if d["completeness"] >= 0.98))
    assert e["with_estimates"] == pytest.approx(e["measured"] + row["energy"])
    assert e["days_estimated"] == 5 and e["rules"]["baseline_model"]
    assert q["estimated_days"] == [{"from": row["from"], "to": row["to"], "rule": "baseline_model"}]
    clean = reports.build(store, "Autoclave-1", "steam", date(2025, 3, 1), date(2025, 3, 31))
    assert clean["data_quality"]["score"] > 0.9 and not clean["data_quality"]["findings"]
    assert clean["estimates"]["used"] is False and clean["estimates"]["rows"] == []


def test_cusum_judges_weeks_once_they_have_ended(demo):
    store, _ = demo
    # 2025-03-31 is a Monday: its week belongs to the April report, never half to March.
    march = reports.build(store, "Compressor-EU-1", "electricity", date(2025, 3, 1),
                          date(2025, 3, 31))
    april = reports.build(store, "Compressor-EU-1", "electricity", date(2025, 4, 1),
                          date(2025, 4, 30))
    assert march["cusum"]["judged_to"] == date(2025, 3, 30)
    assert april["cusum"]["judged_to"] == date(2025, 4, 27)
    assert april["cusum"]["groups_judged"] == march["cusum"]["groups_judged"] + 4
    # The running sum takes every day to the period's end.
    assert march["cusum"]["by_month"]["2025-03"] == pytest.approx(march["cusum"]["to_date"])


def test_generate_all_equals_month_by_month_and_is_idempotent(demo):
    store, _ = demo
    done = reports.run(store, 2025, (1, 12))
    built = done["reports"]
    seus = {r["seu"] for r in built}
    assert len(seus) == 9 and len(built) == 90  # 9 SEUs x Jan-Oct
    # November and December have no data: listed, not silently dropped.
    assert {(s["period"], s["reason"].split(" ")[0]) for s in done["skipped"]} == {
        ("2025-11", "no"), ("2025-12", "no")}
    assert len(done["skipped"]) == 18
    for fast in built:
        slow = reports.build(store, fast["equipment"], fast["source"], fast["first"], fast["last"])
        _approx_equal(fast, slow, f"{fast['seu']} {fast['period']}")
    # Stored once per SEU and month; a rerun replaces.
    again = reports.generate_all(store, 2025, (1, 10))
    assert len(again) == 90
    for seu in ("Compressor-1", "Autoclave-1"):
        source = "electricity" if seu == "Compressor-1" else "steam"
        rows = reports.stored(store, seu, source)
        assert len([r for r in rows if r["period"].startswith("2025-")]) == 10
    # The baseline year is not a reporting period.
    assert {s["reason"].split(" (")[0] for s in reports.run(store, 2024, (12, 12),
                                                            save=False)["skipped"]} == {
        "overlaps the baseline period"}


def test_weekly_models_are_reported_month_by_month(demo):
    """A month cuts weeks, so a weekly model's months are built one by one: same figures."""
    store, _ = demo
    baselines.adjust(store, "Conveyor-A", "electricity", reason="weekly model for the test",
                     adjustment_type="other",
                     retrain={"first": date(2024, 1, 1), "last": date(2024, 12, 31),
                              "interval": "week", "drivers": ["production_count"]})
    done = reports.run(store, 2025, (2, 3), seus=[("Conveyor-A", "electricity")], save=False)
    assert [r["period"] for r in done["reports"]] == ["2025-02", "2025-03"]
    for fast in done["reports"]:
        slow = reports.build(store, "Conveyor-A", "electricity", fast["first"], fast["last"])
        _approx_equal(fast, slow)
        assert fast["excluded"]  # the weeks the month cuts are listed as left out

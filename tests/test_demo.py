"""The demo factory in a real database: what `enms demo` builds must be
findable by the engine, on SQLite and on PostgreSQL."""
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import statsmodels.api as sm

from conftest import BACKENDS, demo_database
from engine import catalog, queries
from engine.demo import existing_demo_seed, ground_truth_path

SEED = 7


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, SEED) as (store, truth, _):
        yield store, truth


def test_catalog_is_the_seed_plant(demo):
    store, _ = demo
    seus = {s["name"] for s in catalog.list_entries(store, "seu")}
    assert {"Compressor-1 electricity", "Compressor-EU-1 electricity", "HVAC-Main electricity",
            "HVAC-EU-North electricity", "Conveyor-A electricity",
            "Hydraulic-Pump-1 electricity", "Injection-Molding-1 electricity",
            "Boiler-1 natural_gas", "Autoclave-1 steam"} == seus
    sources = {s["name"]: s for s in catalog.list_entries(store, "energy source")}
    assert {"electricity", "natural_gas", "steam", "compressed_air"} <= set(sources)
    gas = catalog.get_energy_source(store, "natural_gas")
    assert [c["name"] for c in gas["columns"]] == ["consumption_m3", "flow_rate_m3h", "pressure_bar"]
    drivers = {d["name"]: d for d in catalog.list_entries(store, "driver")}
    assert drivers["outdoor_temp_c"]["rollup"] == "mean"
    assert drivers["production_count"]["rollup"] == "sum"
    assert drivers["heating_degree_days"]["kind"] == "derived"
    assert sum(d["product"] is not None for d in drivers.values()) >= 2
    # The compressed-air output meter is a meter on Compressor-1 without an SEU.
    meters = {m["name"]: m for m in catalog.list_entries(store, "meter")}
    assert any(m["source"] == "compressed_air" and m["equipment"] == "Compressor-1"
               for m in meters.values())


def test_row_counts_match_ground_truth(demo):
    store, truth = demo
    summary = queries.summary(store)["readings"]
    meters = {m["name"]: m["source"] for m in catalog.list_entries(store, "meter")}
    for source in {"electricity", "natural_gas", "steam", "compressed_air"}:
        expected = sum(n for name, n in truth["row_counts"].items() if meters.get(name) == source)
        assert summary[f"{source}_readings"]["rows"] == expected
    driver_rows = sum(n for name, n in truth["row_counts"].items() if name not in meters)
    assert summary["driver_readings"]["rows"] == driver_rows
    # Every meter has a daily rollup for each day of 2024 and Jan-Oct 2025, bar gaps.
    assert summary["meter_daily"]["first_day"] == date(2024, 1, 1)
    assert summary["meter_daily"]["last_day"] == date(2025, 10, 31)


def test_ground_truth_file_beside_database(demo):
    store, truth = demo
    path = ground_truth_path(store)
    on_disk = json.loads(path.read_text())
    assert on_disk["seed"] == SEED == existing_demo_seed(store)
    kinds = {e["type"] for e in on_disk["effects"]}
    assert {"savings", "degradation", "step"} <= kinds
    faults = {f["type"] for f in on_disk["data_faults"]}
    assert {"gap", "stuck", "spike", "missing_driver"} <= faults


def _daily_design(store, model, first, last):
    energy = queries.seu_series(store, *model["seu"].split("/"), first, last)
    y = np.array([np.nan if r["energy"] is None or r["completeness"] < 0.999 else r["energy"]
                  for r in energy])
    columns = []
    for driver in model["coefficients"]:
        values = queries.driver_series(store, driver, first, last)
        columns.append([np.nan if v["value"] is None else v["value"] for v in values])
    X = np.array(columns, dtype=float).T
    return y, X


def test_daily_regression_on_rollups_recovers_generator(demo):
    """OLS (statsmodels) on the engine's daily rollups of 2024 finds the
    coefficients the generator used, within 4 standard errors."""
    store, truth = demo
    for seu, model in truth["models"].items():
        y, X = _daily_design(store, {**model, "seu": seu}, date(2024, 1, 1), date(2024, 12, 31))
        ok = ~np.isnan(y) & ~np.isnan(X).any(axis=1)
        assert ok.sum() > 330, seu
        fit = sm.OLS(y[ok], sm.add_constant(X[ok])).fit()
        truth_b = [model["intercept"], *model["coefficients"].values()]
        assert np.all(np.abs(fit.params - truth_b) < 4 * fit.bse + 1e-9), (seu, fit.params, truth_b)


def test_one_minute_month_gives_whole_days(demo):
    store, truth = demo
    meter = truth["one_minute_data"]["meter"]
    days = queries.meter_series(store, meter, date(2025, 3, 1), date(2025, 3, 31))
    assert all(d["energy"] is not None for d in days)
    # March 30 is the 23-hour DST day: still complete at 1-minute resolution.
    assert [d["completeness"] for d in days] == [1.0] * 31


def _local_day(iso_utc: str, tz: str) -> date:
    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).date()


def test_faults_show_in_rollups(demo):
    store, truth = demo
    faults = {f["type"]: f for f in truth["data_faults"]}
    gap = faults["gap"]
    first, last = (_local_day(gap[k], truth["timezone"]) for k in ("start", "end"))
    days = queries.meter_series(store, gap["meter"], first, last)
    assert len(days) >= 3 and any(d["energy"] is None for d in days)
    missing = faults["missing_driver"]
    first, last = (_local_day(missing[k], truth["timezone"]) for k in ("start", "end"))
    hdd = queries.driver_series(store, "heating_degree_days", first, last)
    # Missing temperature means missing degree days, never 0.
    assert any(d["value"] is None for d in hdd)
    assert all(d["value"] is not None or d["completeness"] == 0 for d in hdd)

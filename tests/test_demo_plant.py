"""Tests of the demo plant generator: structure, row layout, the daily
models behind the readings, the stated effects and the data faults.

The checks roll readings up to local days the way the engine must (sums of
interval energies, duration-weighted mean temperature, degree days from the
daily mean) and compare with ``ground_truth`` only, never with generator
internals.
"""

import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from engine.demo_plant import build_demo_plant

TZ = ZoneInfo("Europe/Berlin")
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2025, 10, 31)
DAYS = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
# UTC epoch [s] of each local midnight, plus the end of the last day.
MIDNIGHT_S = np.array([int(datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())
                       for d in DAYS + [LAST_DAY + timedelta(days=1)]], dtype=np.int64)
DAY_LENGTH_S = np.diff(MIDNIGHT_S)
BASELINE = np.array([d.year == 2024 for d in DAYS])
REPORTING = ~BASELINE
WEATHER_OR_PRODUCTION_R2 = 0.75


@pytest.fixture(scope="module", params=[42, 7])
def plant(request):
    return build_demo_plant(request.param)


def day_of(ts):
    """Index into DAYS of the local day each timestamp [s] falls in."""
    return np.searchsorted(MIDNIGHT_S, ts, side="right") - 1


def parse_utc(text):
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def daily(ts, duration_s, values, how):
    """Daily rollup over DAYS: (value, covered seconds). Sums integrate the
    interval values; means are duration weighted. Days without rows are NaN."""
    day = day_of(ts)
    covered = np.bincount(day, weights=duration_s, minlength=len(DAYS))
    total = np.bincount(day, weights=values if how == "sum" else values * duration_s, minlength=len(DAYS))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = total if how == "sum" else total / covered
    return np.where(covered > 0, value, np.nan), covered


def energy_column(plant, meter):
    source = next(m["source"] for m in plant.meters if m["name"] == meter)
    columns = next(s["columns"] for s in plant.energy_sources if s["name"] == source)
    return next(c["name"] for c in columns if c["kind"] == "energy")


def seu_meter(plant, key):
    equipment, source = key.split("/")
    return next(m["name"] for m in plant.meters if m["equipment"] == equipment and m["source"] == source)


def fault_days(plant, name):
    """Days touched by any ground-truth fault of the meter or driver ``name``."""
    touched = np.zeros(len(DAYS), dtype=bool)
    for fault in plant.ground_truth["data_faults"]:
        if name not in (fault.get("meter"), fault.get("driver")):
            continue
        if "timestamps" in fault:
            touched[day_of(np.array([parse_utc(t) for t in fault["timestamps"]]))] = True
        else:
            touched[day_of(parse_utc(fault["start"])):day_of(parse_utc(fault["end"]) - 1) + 1] = True
    return touched


def daily_driver(plant, name):
    """Daily driver values per the driver's own rollup spec and whether each
    day is complete and fault free."""
    spec = next(d for d in plant.drivers if d["name"] == name)
    source = spec["derived_from"] or name
    r = plant.driver_readings[source]
    how = next(d for d in plant.drivers if d["name"] == source)["rollup"]
    value, covered = daily(r["ts"], r["duration_s"], r["value"], how)
    if spec["derivation"] == "hdd":
        value = np.maximum(0.0, spec["base_temp_c"] - value)
    elif spec["derivation"] == "cdd":
        value = np.maximum(0.0, value - spec["base_temp_c"])
    return value, (covered == DAY_LENGTH_S) & ~fault_days(plant, source)


def seu_daily(plant, key):
    """Daily energy, driver matrix (intercept first) and clean-day mask of an SEU."""
    meter = seu_meter(plant, key)
    r = plant.meter_readings[meter]
    energy, covered = daily(r["ts"], r["duration_s"], r["columns"][energy_column(plant, meter)], "sum")
    clean = (covered == DAY_LENGTH_S) & ~fault_days(plant, meter)
    columns = [np.ones(len(DAYS))]
    for name in plant.ground_truth["models"][key]["coefficients"]:
        value, ok = daily_driver(plant, name)
        columns.append(value)
        clean &= ok
    return energy, np.column_stack(columns), clean


def ols(y, x):
    """Coefficients, standard errors, R2 and residual s.d. of y on x."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = len(y) - x.shape[1]
    s2 = resid @ resid / dof
    se = np.sqrt(np.diag(s2 * np.linalg.inv(x.T @ x)))
    r2 = 1.0 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return coef, se, r2, np.sqrt(s2)


def residual_contrast(plant, key, weights):
    """Weighted sum of daily residuals against the 2024 clean-day OLS fit, its
    s.d. (day noise plus the fit's own uncertainty) and the weighted sum of
    predictions. ``weights`` are per day; unclean days are dropped."""
    energy, x, clean = seu_daily(plant, key)
    fit = BASELINE & clean
    coef, _, _, resid_sd = ols(energy[fit], x[fit])
    w = np.where(clean, weights, 0.0)
    used = w != 0
    g = w[used] @ x[used]
    value = w[used] @ (energy[used] - x[used] @ coef)
    sd = resid_sd * np.sqrt(w @ w + g @ np.linalg.inv(x[fit].T @ x[fit]) @ g)
    return value, sd, g @ coef


def relative_deviation(plant, key, window):
    """(actual / predicted - 1, its s.d.) summed over the clean days of ``window``."""
    value, sd, predicted = residual_contrast(plant, key, window.astype(float))
    return value / predicted, sd / predicted


def effect(plant, kind, seu=None):
    return next(e for e in plant.ground_truth["effects"] if e["type"] == kind and seu in (None, e["seu"]))


def mask_between(start, end):
    return np.array([date.fromisoformat(start) <= d <= date.fromisoformat(end) for d in DAYS])


# --- determinism ---------------------------------------------------------

def test_same_seed_gives_identical_arrays():
    a, b = build_demo_plant(3), build_demo_plant(3)
    for meter, r in a.meter_readings.items():
        assert np.array_equal(r["ts"], b.meter_readings[meter]["ts"])
        assert np.array_equal(r["duration_s"], b.meter_readings[meter]["duration_s"])
        for name, values in r["columns"].items():
            assert np.array_equal(values, b.meter_readings[meter]["columns"][name], equal_nan=True)
    for driver, r in a.driver_readings.items():
        assert np.array_equal(r["value"], b.driver_readings[driver]["value"])
    assert json.dumps(a.ground_truth, sort_keys=True) == json.dumps(b.ground_truth, sort_keys=True)


def test_other_seed_gives_other_data():
    a, b = build_demo_plant(3), build_demo_plant(4)
    for meter, r in a.meter_readings.items():
        energy = energy_column(a, meter)
        assert not np.array_equal(r["columns"][energy], b.meter_readings[meter]["columns"][energy])
    for driver, r in a.driver_readings.items():
        if driver != "operating_hours":  # the shift calendar does not depend on the seed
            assert not np.array_equal(r["value"], b.driver_readings[driver]["value"])


def test_build_is_fast():
    started = time.perf_counter()
    build_demo_plant(5)
    assert time.perf_counter() - started < 3.0


# --- catalog structure ---------------------------------------------------

def test_catalog_references_resolve(plant):
    equipment = {e["name"] for e in plant.equipment}
    sources = {s["name"] for s in plant.energy_sources}
    drivers = {d["name"]: d for d in plant.drivers}
    products = {p["name"] for p in plant.products}
    assert plant.site == {"name": "Demo Plant", "timezone": "Europe/Berlin"}
    for item in plant.meters + plant.seus:
        assert item["equipment"] in equipment and item["source"] in sources
    for seu in plant.seus:
        assert seu["drivers"] and set(seu["drivers"]) <= set(drivers)
        assert f"{seu['equipment']}/{seu['source']}" in plant.ground_truth["models"]
    for d in drivers.values():
        assert d["rollup"] in {"sum", "mean", "min", "max"}
        assert d["kind"] in {"measured", "derived"} and d["derivation"] in {"hdd", "cdd", None}
        assert (d["kind"] == "derived") == (d["derived_from"] is not None) == (d["name"] not in plant.driver_readings)
        assert d["derived_from"] is None or drivers[d["derived_from"]]["kind"] == "measured"
        assert d["product"] is None or d["product"] in products
    assert {d["product"] for d in drivers.values()} >= products


def test_catalog_contents(plant):
    rated = {e["name"]: e["rated_power_kw"] for e in plant.equipment}
    assert rated["Compressor-1"] == 55 and rated["Compressor-EU-1"] == 90 and rated["HVAC-Main"] == 150
    assert rated["HVAC-EU-North"] == 200 and rated["Conveyor-A"] == 22
    assert rated["Hydraulic-Pump-1"] == 45 and rated["Injection-Molding-1"] == 120
    electric = {s["equipment"] for s in plant.seus if s["source"] == "electricity"}
    assert len(electric) == 7 and len(plant.seus) == 9
    assert {(m["equipment"], m["source"]) for m in plant.meters} == (
        {(s["equipment"], s["source"]) for s in plant.seus} | {("Compressor-1", "compressed_air")})
    assert all(m["kind"] == "interval" and m["interval_s"] > 0 for m in plant.meters)
    sources = {s["name"]: s for s in plant.energy_sources}
    assert sources["natural_gas"]["kwh_per_unit"] == pytest.approx(10.55)
    assert 0.6 < sources["steam"]["kwh_per_unit"] < 0.9
    assert 0.08 < sources["compressed_air"]["kwh_per_unit"] < 0.15
    assert all(s["co2_kg_per_unit"] > 0 and s["tariff_per_unit"] > 0 for s in sources.values())
    hdd = next(d for d in plant.drivers if d["derivation"] == "hdd")
    assert hdd["derived_from"] == "outdoor_temp_c" and hdd["base_temp_c"] == 18.0 and hdd["rollup"] == "sum"


def test_each_source_has_one_energy_column_and_meters_carry_its_columns(plant):
    for source in plant.energy_sources:
        kinds = [c["kind"] for c in source["columns"]]
        assert kinds.count("energy") == 1 and set(kinds) <= {"energy", "measure"}
    columns = {s["name"]: [c["name"] for c in s["columns"]] for s in plant.energy_sources}
    for meter in plant.meters:
        assert list(plant.meter_readings[meter["name"]]["columns"]) == columns[meter["source"]]


def test_series_are_well_formed(plant):
    series = [(r, list(r["columns"].values())) for r in plant.meter_readings.values()]
    series += [(r, [r["value"]]) for r in plant.driver_readings.values()]
    for r, values in series:
        ts, duration = r["ts"], r["duration_s"]
        assert ts.dtype == np.int64 and duration.dtype == np.int64
        assert np.all(np.diff(ts) > 0)
        assert np.all(ts[:-1] + duration[:-1] <= ts[1:])
        assert np.all(ts % duration == 0)  # aligned to UTC hours / minutes
        assert ts[0] >= MIDNIGHT_S[0] and ts[-1] + duration[-1] <= MIDNIGHT_S[-1]
        for v in values:
            assert v.dtype == np.float64 and len(v) == len(ts)


def test_row_counts_match_ground_truth(plant):
    counts = plant.ground_truth["row_counts"]
    assert set(counts) == set(plant.meter_readings) | set(plant.driver_readings)
    for name, r in {**plant.meter_readings, **plant.driver_readings}.items():
        assert counts[name] == len(r["ts"])


def test_ground_truth_is_json_and_complete(plant):
    gt = json.loads(json.dumps(plant.ground_truth))
    assert gt["baseline_period"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert gt["reporting_period"] == {"start": "2025-01-01", "end": "2025-10-31"}
    assert gt["timezone"] == "Europe/Berlin"
    assert set(gt["models"]) == {f"{s['equipment']}/{s['source']}" for s in plant.seus}
    assert {e["type"] for e in gt["effects"]} == {"savings", "degradation", "step"}
    assert {f["type"] for f in gt["data_faults"]} == {"gap", "stuck", "spike", "missing_driver"}
    assert any(f["start"] < "2025" for f in gt["data_faults"])


# --- one-minute month ----------------------------------------------------

def test_one_minute_month_replaces_hourly_rows(plant):
    info = plant.ground_truth["one_minute_data"]
    assert info["month"] == "2025-03"
    r = plant.meter_readings[info["meter"]]
    in_month = np.array([DAYS[i].strftime("%Y-%m") == info["month"] for i in day_of(r["ts"])])
    assert np.all(r["duration_s"][in_month] == 60) and np.all(r["duration_s"][~in_month] == 3600)
    march = mask_between("2025-03-01", "2025-03-31")
    assert in_month.sum() == DAY_LENGTH_S[march].sum() // 60  # every minute, once
    for meter, other in plant.meter_readings.items():
        if meter != info["meter"]:
            assert np.all(other["duration_s"] == 3600)


def test_daily_totals_do_not_depend_on_granularity(plant):
    samples = plant.ground_truth["daily_totals_sample"]
    minute_meter = plant.ground_truth["one_minute_data"]["meter"]
    assert len(samples[minute_meter]) >= 31
    for meter, totals in samples.items():
        r = plant.meter_readings[meter]
        rolled, _ = daily(r["ts"], r["duration_s"], r["columns"][energy_column(plant, meter)], "sum")
        for day, total in totals.items():
            assert rolled[DAYS.index(date.fromisoformat(day))] == pytest.approx(total, rel=1e-9)


def test_rates_are_energy_per_hour(plant):
    for r in plant.meter_readings.values():
        energy, rate = list(r["columns"].values())[:2]
        assert np.allclose(rate, energy / (r["duration_s"] / 3600))
        assert np.all(energy >= 0)


def test_hourly_electricity_stays_below_rated_power(plant):
    rated = {e["name"]: e["rated_power_kw"] for e in plant.equipment}
    for meter in plant.meters:
        if meter["source"] != "electricity":
            continue
        r = plant.meter_readings[meter["name"]]
        ok = ~fault_days(plant, meter["name"])[day_of(r["ts"])]
        assert np.all(r["columns"]["power_kw"][ok] <= rated[meter["equipment"]])


# --- drivers -------------------------------------------------------------

def test_climate_is_central_european(plant):
    temp, _ = daily_driver(plant, "outdoor_temp_c")
    month = np.array([d.month for d in DAYS])
    assert -6 < np.nanmean(temp[month == 1]) < 4
    assert 15 < np.nanmean(temp[month == 7]) < 25
    clean = ~np.isnan(temp)
    pairs = clean[:-1] & clean[1:]
    assert 0.5 < np.corrcoef(temp[:-1][pairs], temp[1:][pairs])[0, 1]  # weather persists


def test_production_follows_the_calendar(plant):
    prod, _ = daily_driver(plant, "production_count")
    weekday = np.array([d.weekday() for d in DAYS])
    assert np.all(prod[weekday == 6] == 0)
    assert prod[weekday == 5].mean() < 0.6 * prod[weekday < 5].mean()
    assert prod[DAYS.index(date(2024, 12, 25))] == 0
    hours = plant.driver_readings["operating_hours"]["value"]
    assert set(np.unique(hours)) <= {0.0, 1.0}


def test_product_mix_shifts_to_high_energy_product(plant):
    a, _ = daily_driver(plant, "parts_product_a")
    b, _ = daily_driver(plant, "parts_product_b")
    share = lambda mask: b[mask].sum() / (a[mask].sum() + b[mask].sum())
    assert share(mask_between("2025-10-01", "2025-10-31")) > share(mask_between("2024-01-01", "2024-03-31")) + 0.2


# --- models --------------------------------------------------------------

MODEL_KEYS = [
    "Compressor-1/electricity", "Compressor-EU-1/electricity", "HVAC-Main/electricity",
    "HVAC-EU-North/electricity", "Conveyor-A/electricity", "Hydraulic-Pump-1/electricity",
    "Injection-Molding-1/electricity", "Boiler-1/natural_gas", "Autoclave-1/steam",
]


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_daily_ols_on_2024_recovers_the_model(plant, key):
    truth = plant.ground_truth["models"][key]
    energy, x, clean = seu_daily(plant, key)
    fit = BASELINE & clean
    assert fit.sum() > 330
    coef, se, r2, resid_sd = ols(energy[fit], x[fit])
    expected = [truth["intercept"], *truth["coefficients"].values()]
    assert np.all(np.abs(coef - expected) < 4 * se), (coef, expected, se)
    assert resid_sd == pytest.approx(truth["noise_sd"], rel=0.2)
    assert r2 > WEATHER_OR_PRODUCTION_R2


# --- effects -------------------------------------------------------------

def test_savings_are_visible(plant):
    for e in plant.ground_truth["effects"]:
        if e["type"] == "savings":
            deviation, sd = relative_deviation(plant, e["seu"], mask_between(e["start"], e["end"]))
            assert abs(deviation - e["size_pct"] / 100.0) < 4 * sd, e["seu"]
            assert sd < 0.25 * abs(e["size_pct"]) / 100.0  # detectable, not lost in noise


def test_effect_free_seus_do_not_drift(plant):
    touched = {e["seu"] for e in plant.ground_truth["effects"]}
    for key in set(MODEL_KEYS) - touched:
        deviation, sd = relative_deviation(plant, key, REPORTING)
        assert abs(deviation) < 4 * sd and sd < 0.015, key


def test_degradation_grows_linearly(plant):
    e = effect(plant, "degradation")
    deviation, sd = relative_deviation(plant, e["seu"], REPORTING & ~mask_between(e["start"], e["end"]))
    assert abs(deviation) < 4 * sd  # nothing before it starts
    start, end = date.fromisoformat(e["start"]), date.fromisoformat(e["end"])
    october = mask_between("2025-10-01", "2025-10-31")
    ramp = np.clip([(d - start).days / (end - start).days for d in DAYS], 0.0, 1.0)
    _, x, clean = seu_daily(plant, e["seu"])
    truth = plant.ground_truth["models"][e["seu"]]
    expected = x @ [truth["intercept"], *truth["coefficients"].values()]
    w = october & clean
    stated = e["size_pct"] / 100.0 * (ramp[w] * expected[w]).sum() / expected[w].sum()
    deviation, sd = relative_deviation(plant, e["seu"], october)
    assert stated > 0.8 * e["size_pct"] / 100.0
    assert abs(deviation - stated) < 4 * sd


def test_step_is_visible(plant):
    e = effect(plant, "step")
    after = mask_between(e["start"], e["end"])
    before = REPORTING & ~after
    _, _, clean = seu_daily(plant, e["seu"])
    weights = np.where(after, 1.0 / (after & clean).sum(), 0.0) - np.where(before, 1.0 / (before & clean).sum(), 0.0)
    step_per_day, sd, _ = residual_contrast(plant, e["seu"], weights)
    assert abs(step_per_day - e["size_per_day"]) < 4 * sd and sd < 0.25 * e["size_per_day"]


def test_one_production_count_misreads_the_product_mix(plant):
    # Domain rule 10: a single count of all parts turns the mix shift into a
    # false deviation; the per-product model (test above) does not.
    key = "Injection-Molding-1/electricity"
    energy, x, clean = seu_daily(plant, key)
    x_total = np.column_stack([x[:, 0], x[:, 1] + x[:, 2]])
    fit = BASELINE & clean
    coef, *_ = ols(energy[fit], x_total[fit])
    late = mask_between("2025-07-01", "2025-10-31") & clean
    assert energy[late].sum() / (x_total[late] @ coef).sum() - 1.0 > 0.05


# --- data faults ---------------------------------------------------------

def faults(plant, kind):
    found = [f for f in plant.ground_truth["data_faults"] if f["type"] == kind]
    assert found
    return found


def test_gaps_are_absent_rows(plant):
    for f in faults(plant, "gap"):
        ts = plant.meter_readings[f["meter"]]["ts"]
        start, end = parse_utc(f["start"]), parse_utc(f["end"])
        assert end - start >= 3 * 86400
        assert not np.any((ts >= start) & (ts < end))
        assert start - 3600 in ts and end in ts


def test_missing_driver_rows_are_absent(plant):
    for f in faults(plant, "missing_driver"):
        r = plant.driver_readings[f["driver"]]
        start, end = parse_utc(f["start"]), parse_utc(f["end"])
        assert 3 * 86400 <= end - start <= 5 * 86400
        assert not np.any((r["ts"] >= start) & (r["ts"] < end))
        assert not np.isnan(r["value"]).any()


def test_stuck_values_are_constant(plant):
    for f in faults(plant, "stuck"):
        r = plant.meter_readings[f["meter"]]
        window = (r["ts"] >= parse_utc(f["start"])) & (r["ts"] < parse_utc(f["end"]))
        assert window.sum() >= 48
        first = np.flatnonzero(window)[0]
        for values in r["columns"].values():
            assert np.all(values[window] == values[first - 1])
        energy = r["columns"][energy_column(plant, f["meter"])]
        assert np.unique(energy[first - 48:first]).size > 1  # it moved before


def test_stuck_days_would_bias_a_baseline(plant):
    # Frozen at the night load, the stuck meter under-reads whole working days.
    for f in faults(plant, "stuck"):
        key = next(k for k in MODEL_KEYS if seu_meter(plant, k) == f["meter"])
        energy, x, _ = seu_daily(plant, key)
        truth = plant.ground_truth["models"][key]
        expected = x @ [truth["intercept"], *truth["coefficients"].values()]
        stuck = fault_days(plant, f["meter"])
        assert np.any(energy[stuck] < expected[stuck] - 4 * truth["noise_sd"])


def test_spikes_stand_out(plant):
    for f in faults(plant, "spike"):
        r = plant.meter_readings[f["meter"]]
        energy = r["columns"][energy_column(plant, f["meter"])]
        assert len(f["timestamps"]) >= 4 and f["timestamps"][0] < "2025"
        for text, factor in zip(f["timestamps"], f["factors"]):
            i = int(np.searchsorted(r["ts"], parse_utc(text)))
            assert r["ts"][i] == parse_utc(text) and 5 <= factor <= 10
            neighbours = np.concatenate([energy[i - 3:i], energy[i + 1:i + 4]])
            assert energy[i] > 4 * np.median(neighbours)
        spike_rows = np.isin(r["ts"], [parse_utc(t) for t in f["timestamps"]])
        assert np.sort(energy)[-len(f["timestamps"]):].min() == energy[spike_rows].min()

"""A plant the voice interface was never built around: a brewery in Vienna.

Built only through what a user's plant goes through (the user guide's
section 2 to 4 and 9 as engine calls): ``engine.catalog`` for the site,
energy sources, equipment, meters, drivers, SEUs and aliases,
``engine.ingest.import_readings`` / ``import_drivers`` for hourly CSV files
(timestamps in UTC, so no clock change is ambiguous), and
``engine.baselines.train`` on 2024. 2025 is the reporting year; its data end
on 2025-12-31, so "March" is March 2025, "last month" November 2025 and
"this week" 29 to 31 December 2025 (docs/voice.md, "Periods").

Each SEU's daily energy is intercept + slope x driver + noise; the hours
share it by an operating profile with a little noise of their own. What
happens in 2025 (so that the answers have something to say):

- Chiller-2 electricity: +15 % from 1 March 2025 (a fouled condenser);
- Bottling-Line-3 electricity: +12 % from 1 September 2025 (a drift);
- Brewhouse-Kettle natural gas: -8 % all 2025 (wort-boiling heat recovery);
- Pasteuriser steam: no readings from 29 December 08:00 to 30 December
  14:00 local (a gap "this week").
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from engine import baselines, catalog, ingest

SITE = "Vienna Brewery"
TIMEZONE = "Europe/Vienna"
SEED = 2024
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2025, 12, 31)
BASELINE_PERIOD = (date(2024, 1, 1), date(2024, 12, 31))
CDD_BASE_C = 18.0
HOUR_S = 3600

SOURCES = [
    {"name": "electricity", "unit": "kWh", "kwh_per_unit": 1.0, "co2_kg_per_unit": 0.11,
     "tariff_per_unit": 0.19, "energy_column": "consumption_kwh",
     "columns": [{"name": "consumption_kwh", "unit": "kWh", "kind": "energy"},
                 {"name": "power_kw", "unit": "kW", "kind": "measure"}]},
    {"name": "natural_gas", "unit": "m3", "kwh_per_unit": 10.3, "co2_kg_per_unit": 2.0,
     "tariff_per_unit": 0.48, "energy_column": "consumption_m3",
     "columns": [{"name": "consumption_m3", "unit": "m3", "kind": "energy"}]},
    {"name": "steam", "unit": "kg", "kwh_per_unit": 0.7, "co2_kg_per_unit": 0.16,
     "tariff_per_unit": 0.04, "energy_column": "consumption_kg",
     "columns": [{"name": "consumption_kg", "unit": "kg", "kind": "energy"}]},
]

EQUIPMENT = [
    {"name": "Chiller-2", "type": "chiller", "rated_power_kw": 400},
    {"name": "Brewhouse-Kettle", "type": "wort_kettle", "rated_power_kw": None},
    {"name": "Bottling-Line-3", "type": "bottling_line", "rated_power_kw": 250},
    {"name": "Pasteuriser", "type": "tunnel_pasteuriser", "rated_power_kw": None},
    {"name": "CIP-Station", "type": "cleaning_in_place", "rated_power_kw": 200},
]

# (equipment, source, meter, candidate drivers, daily model, 2025 effect)
# daily model: energy [source unit / day] = intercept + per_hl x hl + per_cdd x CDD,
# noise standard deviation noise_sd; effect: (first day, factor).
SEUS = [
    ("Chiller-2", "electricity", "M-Chiller-2-EL", ["cooling_degree_days", "hectolitres_brewed"],
     {"intercept": 2400.0, "per_hl": 0.0, "per_cdd": 160.0, "noise_sd": 45.0},
     (date(2025, 3, 1), 1.15)),
    ("Brewhouse-Kettle", "natural_gas", "M-Brewhouse-Kettle-NG", ["hectolitres_brewed"],
     {"intercept": 60.0, "per_hl": 0.11, "per_cdd": 0.0, "noise_sd": 5.0},
     (date(2025, 1, 1), 0.92)),
    ("Bottling-Line-3", "electricity", "M-Bottling-Line-3-EL", ["hectolitres_brewed"],
     {"intercept": 300.0, "per_hl": 0.9, "per_cdd": 0.0, "noise_sd": 20.0},
     (date(2025, 9, 1), 1.12)),
    ("Pasteuriser", "steam", "M-Pasteuriser-ST", ["hectolitres_brewed"],
     {"intercept": 2000.0, "per_hl": 6.0, "per_cdd": 0.0, "noise_sd": 120.0}, None),
    ("CIP-Station", "electricity", "M-CIP-Station-EL", ["hectolitres_brewed"],
     {"intercept": 150.0, "per_hl": 0.15, "per_cdd": 0.0, "noise_sd": 8.0}, None),
    ("CIP-Station", "natural_gas", "M-CIP-Station-NG", ["hectolitres_brewed"],
     {"intercept": 20.0, "per_hl": 0.03, "per_cdd": 0.0, "noise_sd": 2.0}, None),
]

# Local times (site clock) with no pasteuriser readings: [start, end).
PASTEURISER_GAP = (datetime(2025, 12, 29, 8), datetime(2025, 12, 30, 14))

ALIASES = [("equipment", "Bottling-Line-3", "the bottler", "en-us"),
           ("equipment", "Brewhouse-Kettle", "Sudhaus", "de-de")]


def build_catalog(store) -> None:
    """Site, energy sources, equipment, meters, drivers, SEUs and aliases."""
    catalog.add_site(store, SITE, TIMEZONE)
    for src in SOURCES:
        catalog.add_energy_source(store, src["name"], src["unit"], src["kwh_per_unit"],
                                  src["columns"], co2_kg_per_unit=src["co2_kg_per_unit"],
                                  tariff_per_unit=src["tariff_per_unit"])
    for eq in EQUIPMENT:
        catalog.add_equipment(store, eq["name"], eq["type"], eq["rated_power_kw"])
    catalog.add_driver(store, "hectolitres_brewed", "hl", rollup="sum")
    catalog.add_driver(store, "outdoor_temp_c", "C", rollup="mean")
    catalog.add_driver(store, "cooling_degree_days", "K d", derived_from="outdoor_temp_c",
                       derivation="cdd", base_temp_c=CDD_BASE_C)
    for equipment, source, meter, drivers, _, _ in SEUS:
        catalog.add_meter(store, meter, equipment, source, interval_s=HOUR_S)
        catalog.add_seu(store, equipment, source, drivers)
    for kind, name, alias, lang in ALIASES:
        catalog.add_alias(store, kind, name, alias, lang)


def _hours():
    """UTC start [epoch s] of every hour of the two years, with its local day
    index (0 = FIRST_DAY) and local hour of day."""
    tz = ZoneInfo(TIMEZONE)
    first = int(datetime(FIRST_DAY.year, 1, 1, tzinfo=tz).timestamp())
    end = int(datetime(LAST_DAY.year + 1, 1, 1, tzinfo=tz).timestamp())
    ts = np.arange(first, end, HOUR_S, dtype=np.int64)
    # One offset per UTC hour (two clock changes a year): 17,544 look-ups.
    offset = np.array([datetime.fromtimestamp(int(t), tz).utcoffset().total_seconds()
                       for t in ts], dtype=np.int64)
    local = ts + offset
    local_day = local // 86400
    day = local_day - local_day[0]
    hour = (local % 86400) // HOUR_S
    return ts, day.astype(np.int64), hour


def generate(seed: int = SEED) -> dict:
    """Hourly drivers and meter readings, vectorised from one seed."""
    rng = np.random.default_rng(seed)
    ts, day, hour = _hours()
    days = int(day.max()) + 1
    day_dates = np.array([FIRST_DAY.toordinal() + d for d in range(days)])
    doy = np.array([date.fromordinal(int(o)).timetuple().tm_yday for o in day_dates])
    day_weekday = np.array([date.fromordinal(int(o)).weekday() for o in day_dates])

    # Vienna weather: daily mean 11 C +- 10.5 C over the year, weather noise
    # smoothed over three days, and a diurnal swing of 4 C peaking at 15:00.
    noise = np.convolve(rng.normal(0, 3.0, days + 2), np.ones(3) / 3, mode="valid")
    t_day = 11.0 - 10.5 * np.cos(2 * np.pi * (doy - 15) / 365.25) + noise
    t_hour = t_day[day] + 4.0 * np.sin(2 * np.pi * (hour - 9) / 24)
    cdd = np.maximum(0.0, t_day - CDD_BASE_C)

    # Brewing: weekdays about 820 hl (more in summer), Saturdays 300, Sundays
    # none, in the 16 hours 06:00-22:00.
    base_hl = np.select([day_weekday < 5, day_weekday == 5], [
        820 + 150 * np.sin(2 * np.pi * (doy - 100) / 365.25), np.full(days, 300.0)], 0.0)
    hl_day_plan = np.maximum(0.0, base_hl + rng.normal(0, 80, days) * (base_hl > 0))
    producing = (hour >= 6) & (hour < 22)
    hl_hour = np.where(producing, hl_day_plan[day] / 16 * rng.normal(1, 0.05, len(ts)), 0.0)
    hl_hour = np.round(np.maximum(hl_hour, 0.0), 2)
    hl_day = np.bincount(day, weights=hl_hour, minlength=days)
    hours_in_day = np.bincount(day, minlength=days)

    meters = {}
    for equipment, source, meter, _, model, effect in SEUS:
        energy_day = (model["intercept"] + model["per_hl"] * hl_day + model["per_cdd"] * cdd
                      + rng.normal(0, model["noise_sd"], days))
        if effect is not None:
            start, factor = effect
            energy_day = np.where(day_dates >= start.toordinal(), energy_day * factor,
                                  energy_day)
        # The hours share the day's energy: the base evenly, the production
        # part with the brewing hours, each hour with 3 % noise of its own.
        base_part = (model["intercept"] + model["per_cdd"] * cdd) / \
            (model["intercept"] + model["per_hl"] * hl_day + model["per_cdd"] * cdd)
        share = base_part[day] / hours_in_day[day] + \
            (1 - base_part[day]) * np.divide(hl_hour, hl_day[day], out=np.zeros(len(ts)),
                                             where=hl_day[day] > 0)
        energy = np.round(energy_day[day] * share * rng.normal(1, 0.03, len(ts)), 3)
        keep = np.ones(len(ts), dtype=bool)
        if equipment == "Pasteuriser":
            gap = [int(datetime(*t.timetuple()[:6], tzinfo=ZoneInfo(TIMEZONE)).timestamp())
                   for t in PASTEURISER_GAP]
            keep = (ts < gap[0]) | (ts >= gap[1])
        meters[meter] = {"source": source, "ts": ts[keep], "energy": energy[keep]}
    return {"ts": ts, "outdoor_temp_c": np.round(t_hour, 2), "hectolitres_brewed": hl_hour,
            "meters": meters}


def _utc(ts: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object) + "Z"


def write_csvs(data: dict, folder) -> dict:
    """One readings file per energy source and one wide drivers file, as a
    user would export them; returns {source or 'drivers': path}."""
    files = {}
    drivers = folder / "brewery-drivers.csv"
    rows = np.column_stack([_utc(data["ts"]), data["outdoor_temp_c"].astype(str),
                            data["hectolitres_brewed"].astype(str)])
    drivers.write_text("timestamp,outdoor_temp_c,hectolitres_brewed\n" +
                       "\n".join(",".join(r) for r in rows) + "\n")
    files["drivers"] = drivers
    for src in SOURCES:
        lines = [f"timestamp,meter,{src['energy_column']}"]
        for meter, series in data["meters"].items():
            if series["source"] != src["name"]:
                continue
            rows = np.column_stack([_utc(series["ts"]),
                                    np.full(len(series["ts"]), meter, dtype=object),
                                    series["energy"].astype(str)])
            lines.extend(",".join(r) for r in rows)
        path = folder / f"brewery-{src['name']}.csv"
        path.write_text("\n".join(lines) + "\n")
        files[src["name"]] = path
    return files


def build_brewery(store, folder) -> dict:
    """The brewery in an empty store: catalog, imported files, each SEU's
    2024 baseline (automatic driver selection). Returns the trained baselines."""
    build_catalog(store)
    files = write_csvs(generate(), folder)
    for kind, path in files.items():
        report = (ingest.import_drivers(store, path) if kind == "drivers" else
                  ingest.import_readings(store, path, kind))
        assert report.loaded and not report.rejects, (path, report.as_dict())
    return {(equipment, source): baselines.train(store, equipment, source, *BASELINE_PERIOD,
                                                 trained_by="brewery test",
                                                 reason="2024 baseline year")
            for equipment, source, *_ in SEUS}

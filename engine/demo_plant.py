"""A deterministic demo factory: catalog, readings and the truth behind them.

``build_demo_plant(seed)`` returns everything a fresh EnMS needs to show its
whole flow (ingest, daily rollups, baselines, CUSUM, savings, data quality)
on data whose answers are known: the linear daily model of every significant
energy use (SEU), the savings, degradation and step effects, and the data
faults, all recorded in ``ground_truth``.

Conventions
-----------
- Timestamps are int64 UTC epoch seconds marking the START of an interval;
  ``duration_s`` is the interval length. Hours are aligned to UTC hours.
- Days are local days of the site (Europe/Berlin), so a day has 23, 24 or
  25 hours around the clock changes.
- Energy columns hold the consumption per interval in the source's native
  unit; rate columns (power, flow) are consumption / interval length.
- Missing data is absent rows (gaps) or NaN, never zero.
- Ground-truth fault windows are half-open ``[start, end)`` UTC timestamps;
  effect and period dates are inclusive local dates.

The generator works day first: each SEU's daily energy is an exact linear
function of the daily drivers (intercept + slopes + Gaussian noise), then is
spread over the hours of that day, so a daily OLS of the rolled-up readings
recovers the stated coefficients and the daily sums are exact.

Only numpy and the standard library are used; nothing here touches a database.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

SITE_NAME = "Demo Plant"
TIMEZONE = "Europe/Berlin"
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2025, 10, 31)
BASELINE_PERIOD = {"start": "2024-01-01", "end": "2024-12-31"}
REPORTING_PERIOD = {"start": "2025-01-01", "end": "2025-10-31"}
HOUR_S = 3600
MINUTE_S = 60
BASE_TEMP_C = 18.0

# Energy sources with their native unit; each lists its energy column first
# and that column's rate (consumption per hour) second. Compressed air carries the embodied
# electricity of its compressors, so kwh_per_unit is not zero; its meter
# measures an output of Compressor-1 and must not be added to plant totals
# next to that compressor's electricity.
ENERGY_SOURCES = [
    {
        "name": "electricity",
        "unit": "kWh",
        "kwh_per_unit": 1.0,
        "co2_kg_per_unit": 0.380,  # German grid mix, location based
        "tariff_per_unit": 0.22,  # industrial tariff incl. grid fees [EUR/kWh]
        "columns": [
            {"name": "consumption_kwh", "unit": "kWh", "kind": "energy"},
            {"name": "power_kw", "unit": "kW", "kind": "measure"},
        ],
    },
    {
        "name": "natural_gas",
        "unit": "m3",
        "kwh_per_unit": 10.55,  # gross calorific value, H-gas
        "co2_kg_per_unit": 2.12,  # 0.201 kg/kWh x 10.55 kWh/m3
        "tariff_per_unit": 0.55,
        "columns": [
            {"name": "consumption_m3", "unit": "m3", "kind": "energy"},
            {"name": "flow_rate_m3h", "unit": "m3/h", "kind": "measure"},
            {"name": "pressure_bar", "unit": "bar", "kind": "measure"},
        ],
    },
    {
        "name": "steam",
        "unit": "kg",
        "kwh_per_unit": 0.75,  # usable enthalpy of 8 bar(g) saturated steam
        "co2_kg_per_unit": 0.17,  # gas-fired supply at 90 % efficiency
        "tariff_per_unit": 0.045,
        "columns": [
            {"name": "consumption_kg", "unit": "kg", "kind": "energy"},
            {"name": "flow_rate_kg_h", "unit": "kg/h", "kind": "measure"},
            {"name": "pressure_bar", "unit": "bar", "kind": "measure"},
            {"name": "temp_c", "unit": "C", "kind": "measure"},
        ],
    },
    {
        "name": "compressed_air",
        "unit": "Nm3",
        "kwh_per_unit": 0.11,  # specific power of a screw compressor
        "co2_kg_per_unit": 0.042,  # 0.11 kWh/Nm3 x 0.380 kg/kWh
        "tariff_per_unit": 0.024,  # 0.11 kWh/Nm3 x 0.22 EUR/kWh
        "columns": [
            {"name": "consumption_nm3", "unit": "Nm3", "kind": "energy"},
            {"name": "flow_rate_nm3h", "unit": "Nm3/h", "kind": "measure"},
            {"name": "pressure_bar", "unit": "bar", "kind": "measure"},
        ],
    },
]

EQUIPMENT = [
    {"name": "Compressor-1", "type": "air_compressor", "rated_power_kw": 55.0,
     "description": "Screw compressor, main compressed-air supply of hall 1",
     "responsible": "Utilities engineer"},
    {"name": "Compressor-EU-1", "type": "air_compressor", "rated_power_kw": 90.0,
     "description": "Screw compressor of the extension unit",
     "responsible": "Utilities engineer"},
    {"name": "HVAC-Main", "type": "hvac", "rated_power_kw": 150.0,
     "description": "Air handling and chillers of the production hall",
     "responsible": "Facilities manager"},
    {"name": "HVAC-EU-North", "type": "hvac", "rated_power_kw": 200.0,
     "description": "Heat pump and air handling of the north extension",
     "responsible": "Facilities manager"},
    {"name": "Conveyor-A", "type": "conveyor", "rated_power_kw": 22.0,
     "description": "Assembly line conveyor",
     "responsible": "Assembly line lead"},
    {"name": "Hydraulic-Pump-1", "type": "hydraulic_pump", "rated_power_kw": 45.0,
     "description": "Central hydraulic power unit of the presses",
     "responsible": "Maintenance lead"},
    {"name": "Injection-Molding-1", "type": "injection_molding", "rated_power_kw": 120.0,
     "description": "Injection moulding machine for products A and B",
     "responsible": "Moulding shop lead"},
    {"name": "Boiler-1", "type": "boiler", "rated_power_kw": 800.0,
     "description": "Gas-fired hot-water boiler (thermal output): space heating and process water",
     "responsible": "Utilities engineer"},
    {"name": "Autoclave-1", "type": "autoclave", "rated_power_kw": 300.0,
     "description": "Curing autoclave on purchased process steam (steam input)",
     "responsible": "Composites production lead"},
]

# Daily models [native unit per local day]: the generator's truth and the
# catalog's SEU driver lists in one place.
MODELS = {
    "Compressor-1/electricity": {
        "intercept": 160.0, "coefficients": {"production_count": 0.40}, "noise_sd": 40.0},
    "Compressor-EU-1/electricity": {
        "intercept": 300.0, "coefficients": {"production_count": 0.60}, "noise_sd": 60.0},
    "HVAC-Main/electricity": {
        "intercept": 600.0,
        "coefficients": {"operating_hours": 15.0, "heating_degree_days": 25.0,
                         "cooling_degree_days": 45.0},
        "noise_sd": 50.0},
    "HVAC-EU-North/electricity": {
        "intercept": 350.0,
        "coefficients": {"heating_degree_days": 40.0, "cooling_degree_days": 60.0},
        "noise_sd": 30.0},
    "Conveyor-A/electricity": {
        "intercept": 40.0, "coefficients": {"production_count": 0.12}, "noise_sd": 6.0},
    "Hydraulic-Pump-1/electricity": {
        "intercept": 90.0, "coefficients": {"operating_hours": 22.0}, "noise_sd": 15.0},
    "Injection-Molding-1/electricity": {
        "intercept": 200.0,
        "coefficients": {"parts_product_a": 0.35, "parts_product_b": 0.90},
        "noise_sd": 50.0},
    "Boiler-1/natural_gas": {
        "intercept": 120.0,
        "coefficients": {"heating_degree_days": 14.0, "production_count": 0.12},
        "noise_sd": 15.0},
    "Autoclave-1/steam": {
        "intercept": 300.0, "coefficients": {"production_count": 1.50}, "noise_sd": 80.0},
}

SEU_DESCRIPTIONS = {
    "Compressor-1/electricity": "Compressed air for assembly, follows production",
    "Compressor-EU-1/electricity": "Compressed air for the extension unit, follows production",
    "HVAC-Main/electricity": "Hall climate: occupancy, heating and cooling load",
    "HVAC-EU-North/electricity": "Heat pump climate control, weather driven",
    "Conveyor-A/electricity": "Assembly conveyor, follows production",
    "Hydraulic-Pump-1/electricity": "Press hydraulics, runs with the shifts",
    "Injection-Molding-1/electricity": "Moulding, per-product energy intensity",
    "Boiler-1/natural_gas": "Space heating and process hot water",
    "Autoclave-1/steam": "Curing cycles, follows production",
}

PRODUCTS = [
    {"name": "Product-A", "description": "Small clip housing, thin wall, short cycle (low energy)",
     "energy_intensity_kwh_per_unit":
         MODELS["Injection-Molding-1/electricity"]["coefficients"]["parts_product_a"]},
    {"name": "Product-B", "description": "Large structural housing, thick wall, long cycle (high energy)",
     "energy_intensity_kwh_per_unit":
         MODELS["Injection-Molding-1/electricity"]["coefficients"]["parts_product_b"]},
]


def _driver(name, unit, rollup, kind="measured", derived_from=None,
            base_temp_c=None, derivation=None, product=None):
    return {"name": name, "unit": unit, "rollup": rollup, "kind": kind,
            "derived_from": derived_from, "base_temp_c": base_temp_c,
            "derivation": derivation, "product": product}


DRIVERS = [
    _driver("production_count", "units", "sum"),
    _driver("outdoor_temp_c", "C", "mean"),
    _driver("heating_degree_days", "Kd", "sum", "derived", "outdoor_temp_c", BASE_TEMP_C, "hdd"),
    _driver("cooling_degree_days", "Kd", "sum", "derived", "outdoor_temp_c", BASE_TEMP_C, "cdd"),
    _driver("operating_hours", "h", "sum"),
    _driver("parts_product_a", "units", "sum", product="Product-A"),
    _driver("parts_product_b", "units", "sum", product="Product-B"),
]

# Other names of catalog entries, per language (catalog.add_alias): what
# people on the shop floor call them. Catalog names said with number words
# ("boiler one") need no alias; names in another language and nicknames do.
ALIASES = {
    "en-us": {
        "equipment": {"Compressor-EU-1": ["extension compressor"],
                      "HVAC-EU-North": ["north heat pump"],
                      "Injection-Molding-1": ["moulding machine"],
                      "Autoclave-1": ["curing autoclave"]},
        "source": {"natural_gas": ["gas"], "electricity": ["power", "electric"]},
        "driver": {"outdoor_temp_c": ["outside temperature"],
                   "operating_hours": ["running hours"]},
    },
    "de-de": {
        "equipment": {"Boiler-1": ["Kessel eins", "Heizkessel", "Gaskessel"],
                      "Compressor-1": ["Kompressor eins", "Verdichter eins"],
                      "Compressor-EU-1": ["Kompressor E U eins", "Erweiterungskompressor"],
                      "HVAC-Main": ["Lüftung Haupthalle", "Klimaanlage Haupthalle", "Hauptlüftung"],
                      "HVAC-EU-North": ["Wärmepumpe Nord", "Lüftung Nord"],
                      "Conveyor-A": ["Förderband A"],
                      "Hydraulic-Pump-1": ["Hydraulikpumpe eins", "Hydraulikpumpe"],
                      "Injection-Molding-1": ["Spritzgießmaschine eins", "Spritzgussmaschine"],
                      "Autoclave-1": ["Autoklav eins", "Autoklav"]},
        "source": {"natural_gas": ["Erdgas", "Gas"], "electricity": ["Strom"],
                   "steam": ["Dampf"], "compressed_air": ["Druckluft"]},
        "driver": {"outdoor_temp_c": ["Außentemperatur", "Aussentemperatur"],
                   "production_count": ["Produktionsmenge", "Stückzahl"],
                   "heating_degree_days": ["Heizgradtage"],
                   "cooling_degree_days": ["Kühlgradtage"],
                   "operating_hours": ["Betriebsstunden"],
                   "parts_product_a": ["Teile Produkt A"],
                   "parts_product_b": ["Teile Produkt B"]},
        "product": {"Product-A": ["Produkt A"], "Product-B": ["Produkt B"]},
        "site": {SITE_NAME: ["Demowerk"]},
    },
}

# Production: two shifts on working days, one on Saturdays [local clock hours].
SHIFT_HOURS = {2: (6, 22), 1: (6, 14)}
ASSEMBLY_RATE_PER_H = 55.0
MOLDING_RATE_PER_H = 75.0
# Share of the high-energy Product-B on the moulding machine: nearly flat in
# 2024, rising through 2025 (linear between the knots, plus daily noise).
PRODUCT_B_SHARE = ((FIRST_DAY, 0.30), (date(2025, 1, 1), 0.34), (LAST_DAY, 0.60))
SUMMER_SLOWDOWN = ((8, 5), (8, 16), 0.85)  # holiday weeks run at reduced output

SAVINGS_START = date(2025, 1, 1)
SAVINGS_PCT = {
    "Conveyor-A/electricity": (-3.0, "Variable-speed drive retrofit on the conveyor"),
    "Hydraulic-Pump-1/electricity": (-2.0, "Pump idles at low pressure between press cycles"),
    "Boiler-1/natural_gas": (-4.0, "Burner tuning and flue-gas heat recovery"),
}
DEGRADATION = {"seu": "HVAC-EU-North/electricity", "start": date(2025, 6, 1),
               "end": date(2025, 10, 31), "size_pct": 12.0,
               "description": "Fouling of the heat-pump coils: consumption grows linearly "
                              "from +0 % on the start day to the size on the end day"}
STEP = {"seu": "Compressor-EU-1/electricity", "start": date(2025, 4, 14),
        "size_per_hour": 4.0,
        "description": "Compressed-air leak: a constant +4 kWh every hour from the start "
                       "(+96 kWh on a 24-hour day, +100 kWh on 2025-10-26)"}

# Data faults; windows are whole local days [start, end).
GAPS = [
    ("M-Boiler-1-NG", date(2024, 11, 4), date(2024, 11, 9), "Gas meter logger offline, rows lost"),
    ("M-Autoclave-1-ST", date(2025, 7, 21), date(2025, 7, 26), "Steam meter gateway failure, rows lost"),
]
STUCK = ("M-Hydraulic-Pump-1-EL", date(2025, 5, 19), date(2025, 5, 22),
         "Meter frozen: every column repeats the last good reading")
# Spikes hit 10:00 local, inside the first shift, on working days.
SPIKES = ("M-Injection-Molding-1-EL",
          [date(2024, 6, 12), date(2024, 10, 9), date(2025, 2, 19),
           date(2025, 5, 7), date(2025, 8, 20), date(2025, 9, 17)],
          10, "Transmission errors: single hourly readings multiplied by 6-10")
MISSING_DRIVER = ("outdoor_temp_c", date(2025, 2, 10), date(2025, 2, 14),
                  "Weather station outage, temperature rows absent")
ONE_MINUTE = ("M-Conveyor-A-EL", date(2025, 3, 1), date(2025, 4, 1))

METER_SUFFIX = {"electricity": "EL", "natural_gas": "NG", "steam": "ST", "compressed_air": "CA"}
# The compressed-air output meter sits on this compressor and is no SEU.
AIR_METER_EQUIPMENT = "Compressor-1"
NOMINAL_PRESSURE_BAR = {"natural_gas": 1.0, "steam": 8.0, "compressed_air": 7.0}  # [bar(g)]
STEAM_SUPERHEAT_K = 3.0


@dataclass(frozen=True)
class DemoPlant:
    """The demo factory: catalog entries, readings and the ground truth."""

    site: dict
    energy_sources: list
    equipment: list
    meters: list
    seus: list
    drivers: list
    products: list
    meter_readings: dict
    driver_readings: dict
    ground_truth: dict


def rng_for(seed, stream):
    """An independent generator per named stream, so adding one stream never
    changes the numbers of another."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def local_midnight_s(day, tz):
    """UTC epoch [s] of local midnight starting ``day`` in ``tz``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def iso_utc(epoch_s):
    """ISO 8601 UTC text of an epoch [s]."""
    return datetime.fromtimestamp(int(epoch_s), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_calendar(first_day, last_day, timezone_name):
    """Hourly UTC grid over whole local days.

    Returns a dict with ``days`` (list of dates), ``day_start_s`` (UTC epoch
    of each local midnight plus the end of the last day [s]), ``ts`` (hour
    starts [s]), ``day_index`` (local day of each hour) and ``local_hour``
    (local clock hour of each hour, 0-23).
    """
    tz = ZoneInfo(timezone_name)
    n_days = (last_day - first_day).days + 1
    days = [first_day + timedelta(days=i) for i in range(n_days)]
    day_start_s = np.array([local_midnight_s(d, tz) for d in days]
                           + [local_midnight_s(last_day + timedelta(days=1), tz)], dtype=np.int64)
    ts = np.arange(day_start_s[0], day_start_s[-1], HOUR_S, dtype=np.int64)
    offset_s = np.array([datetime.fromtimestamp(t, tz).utcoffset().total_seconds()
                         for t in ts.tolist()], dtype=np.int64)
    return {"days": days, "day_start_s": day_start_s, "ts": ts,
            "day_index": np.searchsorted(day_start_s, ts, side="right") - 1,
            "local_hour": ((ts + offset_s) // HOUR_S) % 24}


def easter_sunday(year):
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, (b, c) = year % 19, divmod(year, 100)
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def plant_holidays(years):
    """German nationwide public holidays plus the Christmas/New Year's Eve
    shutdown days."""
    holidays = set()
    for year in years:
        easter = easter_sunday(year)
        holidays |= {easter + timedelta(days=n) for n in (-2, 1, 39, 50)}
        holidays |= {date(year, m, d) for m, d in
                     ((1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31))}
    return holidays


def day_kinds(days):
    """2 = working day (two shifts), 1 = Saturday (one shift), 0 = closed."""
    holidays = plant_holidays({d.year for d in days})
    return np.array([0 if d in holidays or d.weekday() == 6 else 1 if d.weekday() == 5 else 2
                     for d in days])


def ar1(n, phi, sd, rng):
    """Stationary AR(1) series with innovation s.d. ``sd``."""
    x = np.empty(n)
    x[0] = rng.normal(0.0, sd / np.sqrt(1.0 - phi ** 2))
    innovations = rng.normal(0.0, sd, n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + innovations[i]
    return x


def seasonal_phase(days):
    """Annual phase [rad], 0 on the coldest day of a typical year (20 Jan)."""
    day_of_year = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    return 2.0 * np.pi * (day_of_year - 20.0) / 365.25


def outdoor_temp_c(days, day_index, local_hour, rng):
    """Hourly outdoor air temperature [C] of a central-European site.

    A seasonal sinusoid of the daily mean (about 0 C in January, 20 C in July),
    autocorrelated day-to-day weather, a diurnal cycle peaking at 15:00 that
    is wider in summer, and small hour-to-hour noise.
    """
    phase = seasonal_phase(days)
    daily_mean_c = 9.5 - 10.5 * np.cos(phase) + ar1(len(days), 0.8, 2.0, rng)
    diurnal_amplitude_c = 3.0 - 1.5 * np.cos(phase)
    diurnal = np.cos(2.0 * np.pi * (local_hour - 15) / 24.0)
    return (daily_mean_c[day_index] + diurnal_amplitude_c[day_index] * diurnal
            + ar1(len(day_index), 0.6, 0.3, rng))


def degree_days(temp_mean_c, base_temp_c, derivation):
    """Daily degree days [Kd] from the daily mean temperature [C]:
    HDD = max(0, base - Tmean), CDD = max(0, Tmean - base)."""
    sign = 1.0 if derivation == "hdd" else -1.0
    return np.maximum(0.0, sign * (base_temp_c - temp_mean_c))


def daily_sum(hourly, day_index, n_days):
    """Per-local-day sum of an hourly array."""
    return np.bincount(day_index, weights=hourly, minlength=n_days)


def spread_over_day(daily_total, weights, day_index, n_days):
    """Split each day's total over its hours in proportion to ``weights``
    (uniformly on days whose weights sum to zero); day sums are exact."""
    weight_sum = daily_sum(weights, day_index, n_days)
    hours_per_day = np.bincount(day_index, minlength=n_days)
    zero = weight_sum[day_index] <= 0.0
    share = np.where(zero, 1.0 / hours_per_day[day_index],
                     weights / np.where(zero, 1.0, weight_sum[day_index]))
    return daily_total[day_index] * share


def operating_hours(kinds, day_index, local_hour):
    """Operating hours per hour [h]: 1 inside the day's shift window, else 0."""
    hours = np.zeros(len(day_index))
    for kind, (start, end) in SHIFT_HOURS.items():
        hours[(kinds[day_index] == kind) & (local_hour >= start) & (local_hour < end)] = 1.0
    return hours


def demand_factor(days, rng, sd):
    """Daily demand multiplier: autocorrelated orders, bounded, lower in the
    summer holiday weeks."""
    factor = np.clip(1.0 + ar1(len(days), 0.7, sd, rng), 0.7, 1.3)
    (m0, d0), (m1, d1), slow = SUMMER_SLOWDOWN
    summer = np.array([date(d.year, m0, d0) <= d <= date(d.year, m1, d1) for d in days])
    return np.where(summer, factor * slow, factor)


def production(days, day_index, op_hours, seed):
    """Hourly counts [units]: plant output and the moulding machine's parts
    per product, with Product-B's share rising over time."""
    rng = rng_for(seed, "production")
    assembly_rate = ASSEMBLY_RATE_PER_H * demand_factor(days, rng, 0.07)
    molding_rate = MOLDING_RATE_PER_H * demand_factor(days, rng, 0.06)
    knots = [(d - days[0]).days for d, _ in PRODUCT_B_SHARE]
    share_b = np.clip(np.interp(np.arange(len(days)), knots, [s for _, s in PRODUCT_B_SHARE])
                      + rng.normal(0.0, 0.12, len(days)), 0.05, 0.95)
    parts_rate = molding_rate[day_index] * op_hours
    return {
        "production_count": rng.poisson(assembly_rate[day_index] * op_hours).astype(float),
        "parts_product_a": rng.poisson(parts_rate * (1.0 - share_b[day_index])).astype(float),
        "parts_product_b": rng.poisson(parts_rate * share_b[day_index]).astype(float),
    }


def driver_shares(drivers_hourly, temp_c, day_index, n_days):
    """Hourly shares of every summed driver; a day's shares sum to the daily
    driver value.

    A count's share is the hourly value itself. A degree-day driver's daily
    value, from the daily mean temperature, is spread over the hours in
    proportion to each hour's heating (or cooling) need, so weather energy
    lands in the cold (or hot) hours.
    """
    temp_mean_c = daily_sum(temp_c, day_index, n_days) / np.bincount(day_index, minlength=n_days)
    shares = {}
    for driver in DRIVERS:
        if driver["derivation"] is not None:
            daily = degree_days(temp_mean_c, driver["base_temp_c"], driver["derivation"])
            need = degree_days(temp_c, driver["base_temp_c"], driver["derivation"])
            shares[driver["name"]] = spread_over_day(daily, need, day_index, n_days)
        elif driver["rollup"] == "sum":
            shares[driver["name"]] = drivers_hourly[driver["name"]]
    return shares


def seu_energy(model, shares, day_index, n_days, rng):
    """Hourly energy of one SEU [native unit] before effects.

    Daily energy = intercept + sum(slope x daily driver) + noise, the noise
    N(0, noise_sd) truncated at 3.5 s.d. so that no day goes negative (every
    intercept exceeds 3.5 noise_sd). The
    intercept and noise are spread evenly over the day, each driver term
    follows its driver's hourly shares, then a small hourly jitter is added
    and rescaled so the daily totals stay exact.
    """
    hours_per_day = np.bincount(day_index, minlength=n_days)
    base_daily = model["intercept"] + model["noise_sd"] * np.clip(rng.normal(0.0, 1.0, n_days), -3.5, 3.5)
    hourly = base_daily[day_index] / hours_per_day[day_index]
    for name, slope in model["coefficients"].items():
        hourly = hourly + slope * shares[name]
    jittered = hourly * np.clip(1.0 + rng.normal(0.0, 0.03, len(hourly)), 0.5, None)
    return spread_over_day(daily_sum(hourly, day_index, n_days), jittered, day_index, n_days)


def saturation_temp_c(pressure_bar_g):
    """Approximate saturation temperature [C] of steam at a gauge pressure
    [bar(g)]: 100 x p_abs^0.25 is within 2 K between 1 and 10 bar(a)."""
    return 100.0 * (pressure_bar_g + 1.013) ** 0.25


def meter_columns(source, consumption, duration_s, rng):
    """All columns of one meter: the energy column, its rate (consumption /
    interval [unit/h]) and plausible pressures/temperatures that sag a
    little at high load."""
    energy_col, rate_col, *measure_cols = [c["name"] for c in source_spec(source)["columns"]]
    rate = consumption / (duration_s / HOUR_S)
    load = rate / rate.max()
    columns = {energy_col: consumption.copy(), rate_col: rate}
    if "pressure_bar" in measure_cols:
        nominal_bar = NOMINAL_PRESSURE_BAR[source]
        columns["pressure_bar"] = (nominal_bar * (1.0 - 0.03 * load)
                                   + rng.normal(0.0, 0.01 * nominal_bar, len(rate)))
    if "temp_c" in measure_cols:
        columns["temp_c"] = (saturation_temp_c(columns["pressure_bar"]) + STEAM_SUPERHEAT_K
                             + rng.normal(0.0, 0.5, len(rate)))
    return columns


def source_spec(name):
    """The ENERGY_SOURCES entry called ``name``."""
    return next(s for s in ENERGY_SOURCES if s["name"] == name)


def to_minutes(readings, minute_mask, rng):
    """Replace the hourly rows under ``minute_mask`` by 60 one-minute rows.

    Minute energies are the hour's energy times positive weights that sum to
    one per hour, so hourly and daily totals are unchanged; the rate column
    is recomputed from the minute energies. Rows never overlap.
    """
    energy_col, rate_col = list(readings["columns"])[:2]
    hour_ts = readings["ts"][minute_mask]
    weights = rng.lognormal(0.0, 0.15, (len(hour_ts), 60))
    weights /= weights.sum(axis=1, keepdims=True)
    minute_energy = (readings["columns"][energy_col][minute_mask][:, None] * weights).ravel()
    minute_ts = (hour_ts[:, None] + MINUTE_S * np.arange(60)).ravel()
    minute_columns = {energy_col: minute_energy, rate_col: minute_energy * HOUR_S / MINUTE_S}
    all_ts = np.concatenate([readings["ts"][~minute_mask], minute_ts])
    order = np.argsort(all_ts, kind="stable")
    return {
        "ts": all_ts[order],
        "duration_s": np.concatenate([readings["duration_s"][~minute_mask],
                                      np.full(len(minute_ts), MINUTE_S, dtype=np.int64)])[order],
        "columns": {name: np.concatenate([values[~minute_mask], minute_columns[name]])[order]
                    for name, values in readings["columns"].items()},
    }


def drop_window(readings, start_s, end_s):
    """Readings without the rows starting in ``[start_s, end_s)``: a gap is
    absent rows, never zeros."""
    keep = (readings["ts"] < start_s) | (readings["ts"] >= end_s)
    return {name: ({n: v[keep] for n, v in values.items()} if isinstance(values, dict) else values[keep])
            for name, values in readings.items()}


def freeze_window(readings, start_s, end_s):
    """Stuck sensor: every column repeats its last reading before ``start_s``
    on the rows inside ``[start_s, end_s)``. Modifies ``readings``."""
    stuck = (readings["ts"] >= start_s) & (readings["ts"] < end_s)
    last_good = np.flatnonzero(stuck)[0] - 1
    for values in readings["columns"].values():
        values[stuck] = values[last_good]


def apply_effects(seu_hourly, days, ts, day_index, step_start_s):
    """Hourly energy with the savings, degradation and step effects."""
    factors = {key: np.where([d >= SAVINGS_START for d in days], 1.0 + pct / 100.0, 1.0)
               for key, (pct, _) in SAVINGS_PCT.items()}
    start, end = DEGRADATION["start"], DEGRADATION["end"]
    # Linear ramp: 0 on the start day, the full size on the end day.
    ramp = np.clip(np.array([(d - start).days for d in days]) / (end - start).days, 0.0, 1.0)
    factors[DEGRADATION["seu"]] = 1.0 + DEGRADATION["size_pct"] / 100.0 * ramp
    result = {key: energy * factors[key][day_index] if key in factors else energy.copy()
              for key, energy in seu_hourly.items()}
    result[STEP["seu"]] += STEP["size_per_hour"] * (ts >= step_start_s)
    return result


def meter_name(equipment, source):
    """Meter naming of the demo plant, e.g. M-Boiler-1-NG."""
    return f"M-{equipment}-{METER_SUFFIX[source]}"


def build_demo_plant(seed: int = 42) -> DemoPlant:
    """Build the demo factory for ``seed``: the same seed gives identical
    arrays, another seed other weather, production, noise and spike sizes
    (the catalog, models, effects and fault windows stay the same)."""
    cal = local_calendar(FIRST_DAY, LAST_DAY, TIMEZONE)
    days, ts, day_index = cal["days"], cal["ts"], cal["day_index"]
    n_days = len(days)
    midnight = dict(zip(days + [LAST_DAY + timedelta(days=1)], cal["day_start_s"].tolist()))

    temp_c = outdoor_temp_c(days, day_index, cal["local_hour"], rng_for(seed, "weather"))
    op_hours = operating_hours(day_kinds(days), day_index, cal["local_hour"])
    drivers_hourly = {"outdoor_temp_c": temp_c, "operating_hours": op_hours,
                      **production(days, day_index, op_hours, seed)}
    shares = driver_shares(drivers_hourly, temp_c, day_index, n_days)
    modelled_hourly = {key: seu_energy(model, shares, day_index, n_days, rng_for(seed, key))
                       for key, model in MODELS.items()}
    seu_hourly = apply_effects(modelled_hourly, days, ts, day_index, midnight[STEP["start"]])

    # (equipment, source, hourly consumption [native unit]) per meter.
    meter_energy = {meter_name(*key.split("/")): (*key.split("/"), energy)
                    for key, energy in seu_hourly.items()}
    air_rng = rng_for(seed, "compressed_air")
    meter_energy[meter_name(AIR_METER_EQUIPMENT, "compressed_air")] = (
        AIR_METER_EQUIPMENT, "compressed_air",
        seu_hourly[f"{AIR_METER_EQUIPMENT}/electricity"] / source_spec("compressed_air")["kwh_per_unit"]
        * (1.0 + air_rng.normal(0.0, 0.02, len(ts))))  # specific power varies with load
    meter_readings = {
        meter: {"ts": ts.copy(), "duration_s": np.full(len(ts), HOUR_S, dtype=np.int64),
                "columns": meter_columns(source, energy, np.full(len(ts), HOUR_S), rng_for(seed, meter))}
        for meter, (_, source, energy) in meter_energy.items()}
    daily_totals_sample = {meter: {days[i].isoformat(): float(total) for i, total in
                                   enumerate(daily_sum(energy, day_index, n_days)[:7])}
                           for meter, (_, _, energy) in meter_energy.items()}

    # Faults go onto the hourly rows first; the one-minute month and the gaps
    # then change the row layout.
    data_faults = []
    meter, start, end, text = STUCK
    freeze_window(meter_readings[meter], midnight[start], midnight[end])
    data_faults.append({"type": "stuck", "meter": meter, "start": iso_utc(midnight[start]),
                        "end": iso_utc(midnight[end]), "description": text})

    meter, spike_days, hour, text = SPIKES
    spike_ts = [midnight[d] + hour * HOUR_S for d in spike_days]
    # At least x6, so a spike clears 4x its neighbours despite hour-to-hour scatter.
    spike_factors = np.round(rng_for(seed, "spikes").uniform(6.0, 10.0, len(spike_ts)), 2)
    rows = np.searchsorted(meter_readings[meter]["ts"], spike_ts)
    for name in list(meter_readings[meter]["columns"])[:2]:  # energy and its rate
        meter_readings[meter]["columns"][name][rows] *= spike_factors
    data_faults.append({"type": "spike", "meter": meter, "start": iso_utc(spike_ts[0]),
                        "end": iso_utc(spike_ts[-1] + HOUR_S),
                        "timestamps": [iso_utc(t) for t in spike_ts],
                        "factors": spike_factors.tolist(), "description": text})

    meter, start, end = ONE_MINUTE
    readings = meter_readings[meter]
    minute_mask = (readings["ts"] >= midnight[start]) & (readings["ts"] < midnight[end])
    meter_readings[meter] = to_minutes(readings, minute_mask, rng_for(seed, meter + "/minutes"))
    month_energy = daily_sum(meter_energy[meter][2], day_index, n_days)
    daily_totals_sample[meter].update({d.isoformat(): float(month_energy[i])
                                       for i, d in enumerate(days) if start <= d < end})

    for meter, start, end, text in GAPS:
        meter_readings[meter] = drop_window(meter_readings[meter], midnight[start], midnight[end])
        data_faults.append({"type": "gap", "meter": meter, "start": iso_utc(midnight[start]),
                            "end": iso_utc(midnight[end]), "description": text})

    driver_readings = {d["name"]: {"ts": ts.copy(), "duration_s": np.full(len(ts), HOUR_S, dtype=np.int64),
                                   "value": drivers_hourly[d["name"]].copy()}
                       for d in DRIVERS if d["kind"] == "measured"}
    driver, start, end, text = MISSING_DRIVER
    driver_readings[driver] = drop_window(driver_readings[driver], midnight[start], midnight[end])
    data_faults.append({"type": "missing_driver", "driver": driver, "start": iso_utc(midnight[start]),
                        "end": iso_utc(midnight[end]), "description": text})

    effects = [{"type": "savings", "seu": key, "start": SAVINGS_START.isoformat(),
                "end": LAST_DAY.isoformat(), "size_pct": pct, "description": text}
               for key, (pct, text) in SAVINGS_PCT.items()]
    effects.append({"type": "degradation", "seu": DEGRADATION["seu"],
                    "start": DEGRADATION["start"].isoformat(), "end": DEGRADATION["end"].isoformat(),
                    "size_pct": DEGRADATION["size_pct"], "description": DEGRADATION["description"]})
    effects.append({"type": "step", "seu": STEP["seu"], "start": STEP["start"].isoformat(),
                    "end": LAST_DAY.isoformat(), "size_per_day": 24 * STEP["size_per_hour"],
                    "size_per_hour": STEP["size_per_hour"], "description": STEP["description"]})

    ground_truth = {
        "seed": int(seed),
        "site": SITE_NAME,
        "timezone": TIMEZONE,
        "baseline_period": dict(BASELINE_PERIOD),
        "reporting_period": dict(REPORTING_PERIOD),
        "models": {key: {"interval": "day", "unit": source_spec(key.split("/")[1])["unit"],
                         "intercept": m["intercept"], "coefficients": dict(m["coefficients"]),
                         "noise_sd": m["noise_sd"]} for key, m in MODELS.items()},
        "effects": effects,
        "data_faults": data_faults,
        "one_minute_data": {"meter": ONE_MINUTE[0], "month": ONE_MINUTE[1].strftime("%Y-%m")},
        "product_mix": {"driver": "parts_product_b",
                        "share_of_parts": {d.isoformat(): share for d, share in PRODUCT_B_SHARE}},
        "row_counts": {**{m: len(r["ts"]) for m, r in meter_readings.items()},
                       **{d: len(r["ts"]) for d, r in driver_readings.items()}},
        # Clean daily totals [native unit] before faults: the first week for
        # every meter, the whole one-minute month for its meter.
        "daily_totals_sample": daily_totals_sample,
        "conventions": "ts = UTC epoch seconds at interval start; fault windows [start, end) in UTC; "
                       "period and effect dates are inclusive local dates; days are local days",
    }
    return DemoPlant(
        site={"name": SITE_NAME, "timezone": TIMEZONE},
        energy_sources=[{**s, "columns": [dict(c) for c in s["columns"]]} for s in ENERGY_SOURCES],
        equipment=[dict(e) for e in EQUIPMENT],
        meters=[{"name": meter, "equipment": equipment, "source": source, "interval_s": HOUR_S,
                 "kind": "interval"} for meter, (equipment, source, _) in meter_energy.items()],
        seus=[{"equipment": key.split("/")[0], "source": key.split("/")[1],
               "description": SEU_DESCRIPTIONS[key], "drivers": list(MODELS[key]["coefficients"])}
              for key in MODELS],
        drivers=[dict(d) for d in DRIVERS],
        products=[dict(p) for p in PRODUCTS],
        meter_readings=meter_readings,
        driver_readings=driver_readings,
        ground_truth=ground_truth,
    )

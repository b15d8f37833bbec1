"""Automatic selection on a synthetic SEU: the change-point search must run
even when the best linear model uses the outdoor temperature itself."""
from datetime import date, timedelta

import numpy as np

from engine import baselines

SPECS = [
    {"name": "production_count", "unit": "units", "rollup": "sum", "kind": "measured",
     "derivation": None, "base_temp_c": None, "derived_from": None, "product": False},
    {"name": "outdoor_temp_c", "unit": "C", "rollup": "mean", "kind": "measured",
     "derivation": None, "base_temp_c": None, "derived_from": None, "product": False},
    {"name": "heating_degree_days", "unit": "K d", "rollup": "sum", "kind": "derived",
     "derivation": "hdd", "base_temp_c": 18.0, "derived_from": "outdoor_temp_c", "product": False},
]


def test_changepoint_models_compete_when_temperature_is_a_candidate():
    rng = np.random.default_rng(5)
    n = 730
    temp = 10 + 11 * np.sin(np.arange(n) * 2 * np.pi / 365) + rng.normal(0, 3, n)
    production = rng.uniform(500, 1500, n)
    energy = 200 + 30 * np.maximum(0, 15.5 - temp) + 0.2 * production + rng.normal(0, 10, n)
    days = [date(2023, 1, 1) + timedelta(days=i) for i in range(n)]
    frame = baselines.Frame(days, days, energy,
                            {"production_count": production, "outdoor_temp_c": temp,
                             "heating_degree_days": np.maximum(0, 18 - temp)},
                            temp, [], n)
    ranked = baselines._fit_candidates(frame, SPECS, "day", auto=True)
    kinds = {c["kind"] for c in ranked}
    assert {"3p_heating", "4p", "5p"} & kinds, kinds
    best = ranked[0]
    assert best["kind"] == "3p_heating" and best["valid"]
    assert abs(best["changepoint"].heating_balance_c - 15.5) <= 0.5
    assert set(best["ols"].names) == {"hdd", "production_count"}

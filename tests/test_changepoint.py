"""Change-point temperature models: balance points and slopes recovered, model choice,
degrees of freedom charged for the search, missing temperatures refused."""
import doctest
import itertools
import json

import numpy as np
import pytest

from engine import changepoint
from engine.changepoint import (balance_point_grid, compare_models, design_matrix,
                                fit_changepoint, sign_warnings)
from engine.regression import fit_ols, predict

DAYS = 730


def weather(seed: int, days: int = DAYS):
    """Daily mean outdoor temperature [C] over two years and a production count [units]."""
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    temp = 10 + 11 * np.sin(2 * np.pi * (day - 100) / 365) + rng.normal(0, 3, days)
    production = rng.normal(1000, 150, days)
    return rng, temp, production


def hdd(temp, base):
    return np.maximum(0.0, base - temp)


def cdd(temp, base):
    return np.maximum(0.0, temp - base)


def assert_within_3_se(result, name, true_value):
    j = result.ols.names.index(name)
    assert abs(result.ols.coefficients[j] - true_value) <= 3 * result.ols.standard_errors[j], name


def test_3p_heating_with_production_recovers_balance_point_and_slopes():
    rng, temp, production = weather(1)
    energy = 200 + 12 * hdd(temp, 15.3) + 0.5 * production + rng.normal(0, 15, DAYS)
    cp = fit_changepoint("3p_heating", temp, energy, production[:, None], ["production_count"],
                         ["units"])
    assert abs(cp.heating_balance_c - 15.3) <= cp.grid_step_c and cp.cooling_balance_c is None
    assert cp.ols.names == ("hdd", "production_count")
    assert_within_3_se(cp, "hdd", 12.0)
    assert_within_3_se(cp, "production_count", 0.5)
    assert cp.valid and cp.ols.searched_parameters == 1
    assert cp.ols.df_resid == DAYS - 4  # intercept, hdd, production, balance point


def test_3p_cooling_recovers_balance_point_and_slope():
    rng, temp, _ = weather(2)
    energy = 150 + 9 * cdd(temp, 18.2) + rng.normal(0, 10, DAYS)
    cp = fit_changepoint("3p_cooling", temp, energy)
    assert abs(cp.cooling_balance_c - 18.2) <= 0.5 and cp.heating_balance_c is None
    assert_within_3_se(cp, "cdd", 9.0)


def test_4p_recovers_change_point_and_both_slopes():
    rng, temp, _ = weather(3)
    energy = 300 + 10 * hdd(temp, 12.4) + 4 * cdd(temp, 12.4) + rng.normal(0, 8, DAYS)
    cp = fit_changepoint("4p", temp, energy)
    assert cp.heating_balance_c == cp.cooling_balance_c
    assert abs(cp.heating_balance_c - 12.4) <= 0.5
    assert_within_3_se(cp, "hdd", 10.0)
    assert_within_3_se(cp, "cdd", 4.0)


def test_5p_with_production_recovers_both_balance_points():
    rng, temp, production = weather(4)
    energy = (250 + 8 * hdd(temp, 11.3) + 7 * cdd(temp, 19.6) + 0.3 * production
              + rng.normal(0, 8, DAYS))
    cp = fit_changepoint("5p", temp, energy, production, ["production_count"])
    assert abs(cp.heating_balance_c - 11.3) <= 0.5 and abs(cp.cooling_balance_c - 19.6) <= 0.5
    assert cp.heating_balance_c < cp.cooling_balance_c
    for name, value in (("hdd", 8.0), ("cdd", 7.0), ("production_count", 0.3)):
        assert_within_3_se(cp, name, value)
    assert cp.ols.searched_parameters == 2 and cp.ols.df_resid == DAYS - 6


@pytest.mark.parametrize("model", ["3p_heating", "3p_cooling", "4p", "5p"])
def test_search_finds_the_least_squares_balance_points(model):
    """The batched search agrees with brute force (fit_ols at every candidate): the
    coarse grid's best point, then the best of the step/10 grid within a step of it."""
    rng, temp, production = weather(5, 200)
    energy = 100 + 5 * hdd(temp, 13.0) + 3 * cdd(temp, 17.0) + 0.2 * production + rng.normal(0, 6, 200)
    cp = fit_changepoint(model, temp, energy, production, ["production_count"], step_c=1.0)
    coarse = balance_point_grid(temp, 1.0)

    def sse(pair):
        heating, cooling = pair
        cols = [hdd(temp, heating)] if heating is not None else []
        cols += [cdd(temp, cooling)] if cooling is not None else []
        return fit_ols(np.column_stack(cols + [production]), energy,
                       [f"t{i}" for i in range(len(cols) + 1)]).sse

    def best(heating_grid, cooling_grid):
        if model == "3p_heating":
            pairs = [(h, None) for h in heating_grid]
        elif model == "3p_cooling":
            pairs = [(None, c) for c in cooling_grid]
        elif model == "4p":
            pairs = [(b, b) for b in heating_grid]
        else:
            pairs = [(h, c) for h, c in itertools.product(heating_grid, cooling_grid) if h < c]
        return min(pairs, key=sse)

    def fine(value):
        if value is None:
            return []
        points = [round(value + 0.1 * k, 10) for k in range(-9, 10)]
        return [v for v in points if coarse[0] <= v <= coarse[-1]]

    heating, cooling = best(coarse, coarse)
    heating, cooling = best(fine(heating), fine(cooling))
    assert (cp.heating_balance_c, cp.cooling_balance_c) == (heating, cooling)
    assert cp.ols.sse == pytest.approx(sse((heating, cooling)), rel=1e-10)
    assert cp.resolution_c == pytest.approx(0.1) and cp.search_range_c == (coarse[0], coarse[-1])


def test_searched_balance_point_costs_a_degree_of_freedom():
    rng, temp, _ = weather(6)
    energy = 80 + 6 * hdd(temp, 16.0) + rng.normal(0, 4, DAYS)
    cp = fit_changepoint("3p_heating", temp, energy)
    plain = fit_ols(hdd(temp, cp.heating_balance_c)[:, None], energy, ["hdd"])
    assert cp.ols.coefficients == pytest.approx(plain.coefficients, rel=1e-12)
    assert cp.ols.r2 == pytest.approx(plain.r2, rel=1e-12)
    assert (cp.ols.df_resid, plain.df_resid) == (DAYS - 3, DAYS - 2)
    assert cp.ols.adj_r2 == pytest.approx(1 - (1 - cp.ols.r2) * (DAYS - 1) / (DAYS - 3), rel=1e-12)
    assert cp.ols.adj_r2 < plain.adj_r2 and cp.ols.rmse > plain.rmse
    assert cp.ols.parameters == 3


def test_3p_chosen_when_there_is_a_change_point_and_linear_when_not():
    rng, temp, production = weather(7)
    noise = rng.normal(0, 10, DAYS)
    bent = 120 + 9 * hdd(temp, 14.0) + 0.4 * production + noise
    straight = 700 - 9 * temp + 0.4 * production + noise
    pair = ("2p", "3p_heating")
    extra = dict(extra=production, extra_names=["production_count"])
    assert compare_models(temp, bent, models=pair, **extra)[0].model == "3p_heating"
    assert compare_models(temp, straight, models=pair, **extra)[0].model == "2p"
    # Over all five forms the bent data still pick a model with the heating change point.
    best = compare_models(temp, bent, **extra)[0]
    assert best.model in ("3p_heating", "4p", "5p") and abs(best.heating_balance_c - 14.0) <= 0.5


def test_missing_temperature_is_refused_never_zero():
    rng, temp, production = weather(8)
    energy = 200 + 10 * hdd(temp, 15.0) + rng.normal(0, 5, DAYS)
    temp[40] = np.nan
    message = r"outdoor temperature has 1 missing .*row 40.*never treated as 0"
    for call in (lambda: fit_changepoint("3p_heating", temp, energy),
                 lambda: compare_models(temp, energy),
                 lambda: balance_point_grid(temp)):
        with pytest.raises(ValueError, match=message):
            call()
    clean = np.nan_to_num(temp, nan=5.0)
    cp = fit_changepoint("3p_heating", clean, energy)
    with pytest.raises(ValueError, match=message):
        design_matrix(cp, temp)
    production[3] = np.nan
    with pytest.raises(ValueError, match="production_count has 1 missing"):
        fit_changepoint("3p_heating", clean, energy, production, ["production_count"])
    energy[5] = np.nan
    with pytest.raises(ValueError, match="energy has 1 missing"):
        compare_models(clean, energy)


def test_bad_requests_are_refused():
    rng, temp, _ = weather(9)
    energy = 100 + rng.normal(0, 1, DAYS)
    with pytest.raises(ValueError, match="unknown change-point model"):
        fit_changepoint("6p", temp, energy)
    with pytest.raises(ValueError, match="varies too little"):
        fit_changepoint("3p_heating", np.full(DAYS, 12.2) + rng.normal(0, 0.05, DAYS), energy)
    with pytest.raises(ValueError, match="clash"):
        fit_changepoint("3p_heating", temp, energy, temp, ["hdd"])
    with pytest.raises(ValueError, match="production_count is constant"):
        compare_models(temp, energy, np.full(DAYS, 7.0), ["production_count"])


def test_design_matrix_and_prediction_follow_the_model():
    rng, temp, production = weather(10)
    energy = 250 + 8 * hdd(temp, 11.0) + 7 * cdd(temp, 20.0) + 0.3 * production + rng.normal(0, 8, DAYS)
    cp = fit_changepoint("5p", temp, energy, production, ["production_count"], ["units"])
    new_temp, new_production = np.array([0.0, 15.0, 30.0]), np.array([900.0, 1000.0, 1100.0])
    X = design_matrix(cp, new_temp, new_production)
    b0, (bh, bc, bp) = cp.ols.intercept, cp.ols.coefficients
    manual = (b0 + bh * hdd(new_temp, cp.heating_balance_c) + bc * cdd(new_temp, cp.cooling_balance_c)
              + bp * new_production)
    np.testing.assert_allclose(predict(cp.ols, X).expected, manual, rtol=1e-12)
    text = cp.formula("kWh/day")
    assert f"hdd = max(0, {cp.heating_balance_c:g} C - T)" in text and "x production_count [units]" in text
    assert json.loads(json.dumps(cp.as_dict(), allow_nan=False))["model"] == "5p"


def test_sign_warnings():
    rng, temp, production = weather(11)
    energy = 500 - 3 * hdd(temp, 15.0) - 0.2 * production + rng.normal(0, 5, DAYS)
    cp = fit_changepoint("3p_heating", temp, energy, production, ["production_count"])
    checks = sign_warnings(cp.ols, {"hdd": 1, "cdd": 1, "production_count": 1, "absent": -1})
    assert [c.code for c in checks] == ["wrong_sign", "wrong_sign"]
    assert "hdd" in checks[0].message and "production_count" in checks[1].message
    assert sign_warnings(cp.ols, {"hdd": -1, "production_count": -1}) == ()


def test_grid_spans_the_quantiles_in_steps():
    _, temp, _ = weather(12)
    grid = balance_point_grid(temp, 0.5)
    low, high = np.quantile(temp, [0.1, 0.9])
    assert grid[0] >= low and grid[-1] <= high and grid[0] - 0.5 < low and grid[-1] + 0.5 > high
    np.testing.assert_allclose(np.diff(grid), 0.5)
    np.testing.assert_allclose(grid / 0.5, np.round(grid / 0.5))


def test_docstring_examples():
    assert doctest.testmod(changepoint).failed == 0

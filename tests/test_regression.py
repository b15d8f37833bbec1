"""OLS baselines: statistics equal statsmodels, refusals, validity, prediction intervals."""
import dataclasses
import doctest
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from engine import regression
from engine.regression import (CALIBRATION_LIMITS_PCT, all_subsets, fit_ols,
                               fractional_savings_uncertainty, predict, validity)

NAMES = ["outdoor_temp_c", "production_count", "hdd", "product_share", "shifts", "small_scale"]
UNITS = ["C", "units", "K day", "-", "shifts", "kg"]


def plant_problem(seed: int, n: int, p: int):
    """Daily-plant-like drivers on very different scales, partly correlated."""
    rng = np.random.default_rng(seed)
    day = np.arange(n)
    temp = 10 + 9 * np.sin(2 * np.pi * day / 365) + rng.normal(0, 3, n)
    columns = [temp, rng.normal(2e5, 3e4, n), np.maximum(0, 16 - temp) + rng.normal(0, 0.5, n),
               rng.normal(0.5, 0.1, n), rng.poisson(3, n) + rng.normal(0, 0.1, n),
               rng.normal(1e-3, 2e-4, n)]
    X = np.column_stack(columns[:p])
    coefficients = rng.normal(0, 1, p) / X.std(axis=0) * 50
    y = 5000 + X @ coefficients + rng.normal(0, 40, n)
    return X, y


CASES = [(1, 15, 1), (2, 15, 3), (3, 24, 2), (4, 36, 5), (5, 48, 6), (6, 365, 1),
         (7, 365, 4), (8, 730, 6), (9, 730, 2), (10, 100, 3), (11, 60, 6), (12, 12, 2)]


def statsmodels_fit(X, y):
    exog = sm.add_constant(X, has_constant="add")
    return exog, sm.OLS(y, exog).fit()


@pytest.mark.parametrize("seed,n,p", CASES)
def test_statistics_equal_statsmodels(seed, n, p):
    X, y = plant_problem(seed, n, p)
    r = fit_ols(X, y, NAMES[:p], UNITS[:p])
    exog, ref = statsmodels_fit(X, y)
    close = dict(rtol=1e-8, atol=0)
    np.testing.assert_allclose((r.intercept,) + r.coefficients, ref.params, **close)
    np.testing.assert_allclose((r.intercept_standard_error,) + r.standard_errors, ref.bse, **close)
    np.testing.assert_allclose((r.intercept_t,) + r.t_values, ref.tvalues, **close)
    np.testing.assert_allclose((r.intercept_p_value,) + r.p_values, ref.pvalues, **close)
    np.testing.assert_allclose([r.r2, r.adj_r2, r.f_statistic, r.f_p_value],
                               [ref.rsquared, ref.rsquared_adj, ref.fvalue, ref.f_pvalue], **close)
    np.testing.assert_allclose([r.sse, r.sigma2, r.rmse], [ref.ssr, ref.mse_resid,
                                                          math.sqrt(ref.mse_resid)], **close)
    assert (r.n, r.df_resid, r.parameters) == (n, int(ref.df_resid), p + 1)
    vif = [variance_inflation_factor(exog, j) for j in range(1, p + 1)]
    np.testing.assert_allclose(r.vif, vif, **close)
    np.testing.assert_allclose(r.xtx_inv, np.linalg.inv(exog.T @ exog), rtol=1e-6)
    np.testing.assert_allclose(r.cv_rmse_pct, 100 * math.sqrt(ref.mse_resid) / y.mean(), **close)
    residuals = ref.resid
    np.testing.assert_allclose(r.autocorrelation_lag1,
                               residuals[1:] @ residuals[:-1] / (residuals @ residuals), rtol=1e-7)
    assert abs(r.nmbe_pct) < 1e-9


def test_one_driver_has_vif_one_and_cv_uses_n_minus_p():
    X, y = plant_problem(3, 40, 1)
    r = fit_ols(X, y, ["outdoor_temp_c"])
    assert r.vif == (1.0,)
    residual_ss = r.sse
    assert r.cv_rmse_pct == pytest.approx(100 * math.sqrt(residual_ss / (40 - 2)) / y.mean(), rel=1e-12)


def exact_ols(X, y):
    """Coefficients and SSE in exact rational arithmetic (normal equations)."""
    A = [[Fraction(1)] + [Fraction(float(v)) for v in row] for row in X]
    b = [Fraction(float(v)) for v in y]
    k = len(A[0])
    M = [[sum(r[i] * r[j] for r in A) for j in range(k)] + [sum(r[i] * v for r, v in zip(A, b))]
         for i in range(k)]
    for c in range(k):
        for r in range(k):
            if r != c:
                f = M[r][c] / M[c][c]
                M[r] = [a - f * e for a, e in zip(M[r], M[c])]
    beta = [M[i][k] / M[i][i] for i in range(k)]
    sse = sum((v - sum(a * bb for a, bb in zip(row, beta))) ** 2 for row, v in zip(A, b))
    return np.array([float(v) for v in beta]), float(sse)


def test_badly_scaled_drivers_stay_accurate():
    """Production near 1e5 varying by 1 and a driver near 1e-3: exact to 1e-10."""
    rng = np.random.default_rng(1)
    X = np.column_stack([1e5 + rng.normal(0, 1.0, 30), rng.normal(1e-3, 1e-4, 30)])
    y = 40 + 3.0 * (X[:, 0] - 1e5) + 2e4 * X[:, 1] + rng.normal(0, 0.5, 30)
    r = fit_ols(X, y, ["production_count", "small"])
    beta, sse = exact_ols(X, y)
    np.testing.assert_allclose((r.intercept,) + r.coefficients, beta, rtol=1e-10)
    assert r.sse == pytest.approx(sse, rel=1e-10)


@pytest.mark.parametrize("seed,n,p", [(2, 15, 3), (7, 365, 4), (11, 60, 6)])
def test_single_row_intervals_equal_statsmodels(seed, n, p):
    X, y = plant_problem(seed, n, p)
    r = fit_ols(X, y, NAMES[:p])
    _, ref = statsmodels_fit(X, y)
    new = plant_problem(seed + 100, 20, p)[0]
    pred = predict(r, new, alpha=0.05, autocorrelation=False)
    frame = ref.get_prediction(sm.add_constant(new, has_constant="add")).summary_frame(alpha=0.05)
    np.testing.assert_allclose(pred.expected, frame["mean"], rtol=1e-10)
    np.testing.assert_allclose(pred.lower, frame["obs_ci_lower"], rtol=1e-8)
    np.testing.assert_allclose(pred.upper, frame["obs_ci_upper"], rtol=1e-8)


def test_total_interval_is_the_prediction_of_a_sum():
    """Var(sum) = sigma^2 (m + 1'X0 (X'X)^-1 X0'1): noise of m days + the summed row's leverage."""
    X, y = plant_problem(7, 365, 3)
    r = fit_ols(X, y, NAMES[:3])
    _, ref = statsmodels_fit(X, y)
    new = plant_problem(8, 30, 3)[0]
    pred = predict(r, new, alpha=0.05, autocorrelation=False)
    summed_row = sm.add_constant(new, has_constant="add").sum(axis=0)[None, :]
    mean_se = ref.get_prediction(summed_row).se_mean[0]
    t = stats.t.ppf(0.975, ref.df_resid)
    expected_half = t * math.sqrt(30 * ref.mse_resid + mean_se ** 2)
    assert pred.total == pytest.approx(sum(pred.expected), rel=1e-12)
    assert pred.total_half_width == pytest.approx(expected_half, rel=1e-9)
    assert pred.total_lower == pytest.approx(pred.total - expected_half, rel=1e-12)
    assert pred.t_quantile == pytest.approx(t, rel=1e-12) and pred.df == 361


def ar1_plant(rng, n, rho, sigma=20.0):
    day = np.arange(n)
    temp = 10 + 9 * np.sin(2 * np.pi * day / 365) + rng.normal(0, 3, n)
    production = rng.normal(1000, 150, n)
    noise = np.empty(n)
    noise[0] = rng.normal(0, sigma)
    innovations = rng.normal(0, sigma * math.sqrt(1 - rho ** 2), n)
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + innovations[i]
    X = np.column_stack([np.maximum(0, 16 - temp), production])
    return X, 300 + 12 * X[:, 0] + 0.4 * X[:, 1] + noise


def test_autocorrelation_correction_restores_coverage_of_monthly_totals():
    """AR(1) residuals (rho 0.6): the Guideline 14 correction brings 95 % intervals of
    30-day totals back near 95 %; without it they cover far less."""
    rng = np.random.default_rng(2024)
    covered = {True: 0, False: 0}
    runs = 300
    for _ in range(runs):
        X, y = ar1_plant(rng, 395, 0.6)
        r = fit_ols(X[:365], y[:365], ["hdd", "production_count"])
        actual = y[365:].sum()
        for corrected in (True, False):
            pred = predict(r, X[365:], autocorrelation=corrected)
            covered[corrected] += pred.total_lower <= actual <= pred.total_upper
    assert 0.90 <= covered[True] / runs <= 0.985
    assert covered[False] / runs < 0.80


def test_autocorrelation_correction_details():
    rng = np.random.default_rng(5)
    X, y = ar1_plant(rng, 365, 0.5)
    r = fit_ols(X, y, ["hdd", "production_count"])
    rho = r.autocorrelation_lag1
    assert 0.35 < rho < 0.65
    on, off = predict(r, X[:30]), predict(r, X[:30], autocorrelation=False)
    assert on.autocorrelation_lag1_used == rho and off.autocorrelation_lag1_used == 0.0
    assert on.effective_n == pytest.approx(365 * (1 - rho) / (1 + rho))
    # Total of m = 30 rows: q = m + 2 sum (m - k) rho^k, leverage term times (1 + rho) / (1 - rho).
    m = 30
    q = m + 2 * sum((m - k) * rho ** k for k in range(1, m))
    inflation = (1 + rho) / (1 - rho)
    leverage_off = (off.total_half_width / off.t_quantile) ** 2 / r.sigma2 - m
    expected = on.t_quantile * math.sqrt(r.sigma2 * (q + inflation * leverage_off))
    assert on.total_half_width == pytest.approx(expected, rel=1e-10)
    # A single row is not one AR(1) sum: only its (small) leverage term grows.
    one_on, one_off = predict(r, X[:1]), predict(r, X[:1], autocorrelation=False)
    assert 1 < one_on.total_half_width / one_off.total_half_width < 1.01
    # rho <= 0: nothing to correct.
    anti = dataclasses.replace(r, autocorrelation_lag1=-0.3)
    assert predict(anti, X[:30]).total_half_width == predict(anti, X[:30], autocorrelation=False).total_half_width


def test_fractional_savings_uncertainty_formula():
    rng = np.random.default_rng(6)
    X, y = ar1_plant(rng, 365, 0.4)
    r = fit_ols(X, y, ["hdd", "production_count"])
    rho = r.autocorrelation_lag1
    n_eff = 365 * (1 - rho) / (1 + rho)
    t = stats.t.ppf(1 - 0.10 / 2, r.df_resid)
    cv = r.cv_rmse_pct / 100
    expected = t * 1.26 * cv * math.sqrt((365 / n_eff) * (1 + 2 / n_eff) / 365) / 0.15
    assert fractional_savings_uncertainty(r, 365, 0.15, 0.10) == pytest.approx(expected, rel=1e-12)
    assert fractional_savings_uncertainty(r, 90, 0.15, 0.10) > expected
    white = dataclasses.replace(r, autocorrelation_lag1=-0.2)
    plain = t * 1.26 * cv * math.sqrt((1 + 2 / 365) / 365) / 0.15
    assert fractional_savings_uncertainty(white, 365, 0.15, 0.10) == pytest.approx(plain, rel=1e-12)
    for bad in [dict(m=0), dict(savings_fraction=0.0), dict(alpha=1.0)]:
        args = dict(m=365, savings_fraction=0.15, alpha=0.10) | bad
        with pytest.raises(ValueError):
            fractional_savings_uncertainty(r, **args)


def assert_same(a, b, path=""):
    """Nested as_dict values equal to 1e-10 relative (numbers) or exactly (others)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-12), path
    else:
        assert a == b, path


def test_all_subsets_equal_fit_ols_per_subset():
    X, y = plant_problem(8, 730, 6)
    ranked = all_subsets(X, y, NAMES, UNITS)
    assert len(ranked) == 63
    for candidate in ranked:
        cols = [NAMES.index(name) for name in candidate.ols.names]
        alone = fit_ols(X[:, cols], y, candidate.ols.names, [UNITS[c] for c in cols])
        assert_same(candidate.ols.as_dict(), alone.as_dict())
        assert candidate.reasons == regression.validity(alone).reasons


def test_p_values_take_part_in_selection():
    """An irrelevant driver raises adjusted R2 (|t| > 1) but fails p <= 0.20."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 3))
    y = 5 + 3 * x[:, 0] + rng.normal(size=60)
    ranked = all_subsets(x, y, ["relevant", "irrelevant", "other"])
    by_adj = max(ranked, key=lambda c: c.ols.adj_r2)
    assert by_adj.ols.names == ("relevant", "irrelevant") and not by_adj.valid
    assert [c.code for c in by_adj.reasons] == ["driver_not_significant"]
    assert "irrelevant" in by_adj.reasons[0].message
    assert ranked[0].ols.names == ("relevant",) and ranked[0].valid
    flags = [c.valid for c in ranked]
    assert flags == sorted(flags, reverse=True)
    for group in (True, False):
        adj = [c.ols.adj_r2 for c in ranked if c.valid is group]
        assert adj == sorted(adj, reverse=True)


def test_all_subsets_leaves_out_collinear_subsets_and_caps_candidates():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(2, 50))
    X = np.column_stack([a, b, a + 2 * b])
    y = 1 + a + rng.normal(size=50)
    names = {c.ols.names for c in all_subsets(X, y, ["a", "b", "c"])}
    assert ("a", "b", "c") not in names and len(names) == 6
    with pytest.raises(ValueError, match="more than 2"):
        all_subsets(X, y, ["a", "b", "c"], max_candidates=2)


# --- refusals ---------------------------------------------------------------

def test_missing_driver_value_is_refused_never_zero():
    """The seed's failure case: a NULL outdoor temperature once became 0 C."""
    X, y = plant_problem(3, 40, 2)
    X[7, 0] = np.nan
    for call in (lambda: fit_ols(X, y, NAMES[:2]), lambda: all_subsets(X, y, NAMES[:2])):
        with pytest.raises(ValueError, match=r"outdoor_temp_c has 1 missing .*row 7.*never treated as 0"):
            call()
    r = fit_ols(plant_problem(3, 40, 2)[0], y, NAMES[:2])
    new = plant_problem(4, 5, 2)[0]
    new[2, 1] = np.nan
    with pytest.raises(ValueError, match="production_count has 1 missing"):
        predict(r, new)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_missing_energy_is_refused(bad):
    X, y = plant_problem(3, 40, 2)
    y[3] = bad
    with pytest.raises(ValueError, match="energy has 1 missing or non-finite"):
        fit_ols(X, y, NAMES[:2])


def test_too_few_rows_constant_and_collinear_are_refused():
    X, y = plant_problem(3, 40, 3)
    with pytest.raises(ValueError, match="3 rows cannot fit 2 driver.*need at least 4 rows"):
        fit_ols(X[:3, :2], y[:3], NAMES[:2])
    constant = X.copy()
    constant[:, 1] = 5.0
    with pytest.raises(ValueError, match="production_count is constant"):
        fit_ols(constant, y, NAMES[:3])
    with pytest.raises(ValueError, match="energy is constant"):
        fit_ols(X, np.full(40, 3.0), NAMES[:3])
    collinear = np.column_stack([X, 2 * X[:, 0] - 3 * X[:, 2]])
    with pytest.raises(ValueError) as info:
        fit_ols(collinear, y, ["outdoor_temp_c", "production_count", "hdd", "mix"])
    message = str(info.value)
    assert "collinear" in message and "production_count" not in message
    assert all(name in message for name in ("outdoor_temp_c", "hdd", "mix"))
    with pytest.raises(ValueError, match=r"exact linear function of outdoor_temp_c .R2 = 1"):
        fit_ols(X[:, :1], 4 + 2 * X[:, 0], ["outdoor_temp_c"])
    with pytest.raises(ValueError, match="2 driver columns but 1 names"):
        fit_ols(X[:, :2], y, ["a"])


# --- formula, validity, JSON -------------------------------------------------

def test_formula_text():
    X, y = plant_problem(3, 40, 2)
    r = fit_ols(X, y, ["outdoor_temp_c", "production_count"], ["C", "units"])
    r = dataclasses.replace(r, intercept=45.2, coefficients=(-1.8, 0.003))
    assert r.formula("kWh/day") == ("Energy [kWh/day] = 45.2 - 1.8 x outdoor_temp_c [C] "
                                    "+ 0.003 x production_count [units]")
    r = dataclasses.replace(r, intercept=32028.73, coefficients=(0.070111, 0.000012345),
                            units=("", "units"))
    assert r.formula("MMBtu") == ("Energy [MMBtu] = 32029 + 0.0701 x outdoor_temp_c "
                                  "+ 0.0000123 x production_count [units]")
    assert r.formula("MMBtu", significant_digits=5) == (
        "Energy [MMBtu] = 32029 + 0.070111 x outdoor_temp_c + 0.000012345 x production_count [units]")
    assert r.formula("MMBtu", significant_digits=7).startswith("Energy [MMBtu] = 32028.73 + ")
    assert dataclasses.replace(r, intercept=-7722.3).formula().startswith("Energy = -7722 + ")


def warning_codes(r, interval="day"):
    return [c.code for c in validity(r, interval).warnings]


def test_validity_rules_and_warnings():
    rng = np.random.default_rng(11)
    n = 120
    x = rng.normal(size=(n, 2))
    good = fit_ols(x, 100 + 3 * x[:, 0] + 2 * x[:, 1] + rng.normal(0, 1.5, n), ["a", "b"])
    v = validity(good, "day")
    assert v.valid and v.reasons == () and 0.75 < good.r2 < 0.99 and v.warnings == ()

    weak = fit_ols(x[:, :1], 100 + 1 * x[:, 0] + rng.normal(0, 1.0, n), ["a"])
    v = validity(weak, "day")
    assert v.valid and 0.5 <= weak.r2 < 0.75 and warning_codes(weak) == ["r2_low"]

    poor = fit_ols(x, 100 + 0.5 * x[:, 0] + rng.normal(0, 1.0, n), ["a", "b"])
    v = validity(poor)
    codes = [c.code for c in v.reasons]
    assert not v.valid and "r2_too_low" in codes and "driver_not_significant" in codes
    assert "Try other drivers" in next(c.message for c in v.reasons if c.code == "r2_too_low")

    tight = fit_ols(x, 100 + 30 * x[:, 0] + rng.normal(0, 0.5, n), ["a", "b"])
    assert "r2_over_fit" in warning_codes(tight)

    twin = np.column_stack([x[:, 0], x[:, 0] + 0.05 * x[:, 1]])
    collinear = fit_ols(twin, 100 + 3 * x[:, 0] + 2 * x[:, 1] + rng.normal(0, 0.5, n), ["a", "a2"])
    check = next(c for c in validity(collinear).warnings if c.code == "collinearity")
    assert "a (" in check.message and "a2 (" in check.message

    noisy = fit_ols(x, 20 + 3 * x[:, 0] + rng.normal(0, 4, n), ["a", "b"])
    assert 15 < noisy.cv_rmse_pct < 30
    assert "cv_rmse_above_limit" in warning_codes(noisy, "month")
    assert "limit for monthly data" in validity(noisy, "month").warnings[-1].message
    assert "cv_rmse_above_limit" not in warning_codes(noisy, "day")
    assert CALIBRATION_LIMITS_PCT["month"] == (15.0, 5.0) and CALIBRATION_LIMITS_PCT["hour"] == (30.0, 10.0)

    X, y = ar1_plant(np.random.default_rng(3), 365, 0.6)
    autocorrelated = fit_ols(X, y, ["hdd", "production_count"])
    check = next(c for c in validity(autocorrelated, "day").warnings
                 if c.code == "residual_autocorrelation")
    assert "consecutive days" in check.message

    with pytest.raises(ValueError, match="unknown interval"):
        validity(good, "fortnight")
    for c in validity(poor).reasons + validity(autocorrelated).warnings:
        assert c.code.isidentifier() and c.message.endswith(".")


def test_f_test_rule():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(14, 1))
    r = fit_ols(x, rng.normal(size=14), ["noise"])
    assert r.f_p_value >= 0.10
    assert "f_test_not_significant" in [c.code for c in regression.doe_reasons(r)]


def test_as_dict_is_json_friendly():
    X, y = plant_problem(5, 48, 3)
    r = fit_ols(X, y, NAMES[:3], UNITS[:3])
    pred = predict(r, X[:5])
    for d in (r.as_dict(), pred.as_dict(), validity(r).as_dict(), all_subsets(X, y, NAMES[:3])[0].as_dict()):
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text) == d

    def no_numpy(value):
        if isinstance(value, dict):
            return all(no_numpy(v) for v in value.values())
        if isinstance(value, list):
            return all(no_numpy(v) for v in value)
        return type(value) in (int, float, str, bool, type(None))
    assert no_numpy(r.as_dict()) and no_numpy(pred.as_dict())
    assert r.as_dict()["parameters"] == 4 and len(r.as_dict()["xtx_inv"]) == 4


def test_docstring_examples():
    assert doctest.testmod(regression).failed == 0

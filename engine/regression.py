"""Ordinary least squares baselines with the statistics an energy auditor signs.

One model, fitted on rows in time order (one row per hour, day, week or month):

    E_i = b0 + b_1 x_1i + ... + b_p x_pi + e_i

with E the energy of the interval [energy unit] and x_j the drivers (relevant
variables) rolled up to the same interval. Every statistic is computed from one
centred, unit-scaled Gram (cross-product) matrix of the drivers and the energy,
so all 2^p - 1 driver subsets cost one matrix product plus one small inverse
each, batched by subset size (``all_subsets``), and a fit of one subset is the
same computation (``fit_ols``). Scaling the columns to unit length first keeps the solve
well conditioned when drivers differ by orders of magnitude (production in
units per day next to degree days).

Definitions (n rows, p drivers, k = parameters searched outside OLS, such as a
change-point temperature; P = p + 1 + k is Guideline 14's "number of model
parameters"):

- residual degrees of freedom df = n - P; RMSE = sqrt(SSE / df)
- CV(RMSE) = 100 * RMSE / mean(E) and NMBE = 100 * sum(E - E_hat) / (df * mean(E)),
  ASHRAE Guideline 14-2014 [1] (both with the n - P denominator)
- R2 = 1 - SSE / SST; adjusted R2 = 1 - (1 - R2) (n - 1) / df
- F = (R2 / (p + k)) / ((1 - R2) / df), p-value from the F(p + k, df) distribution
- t_j = b_j / SE(b_j), SE from sigma^2 (X'X)^-1 with sigma^2 = SSE / df; two-sided
  p-values from Student's t with df degrees of freedom (``scipy.special.stdtr``,
  the function ``scipy.stats.t.sf`` evaluates)
- VIF_j = 1 / (1 - R2_j) of driver j on the other drivers (with intercept),
  the diagonal of the inverse driver correlation matrix [3]
- lag-1 autocorrelation of the residuals r1 = sum e_t e_(t-1) / sum e_t^2 [4]

Validity follows the DOE EnPI tool / Superior Energy Performance rules [2]
(F-test p < 0.10, every driver p <= 0.20, at least one driver p <= 0.10,
R2 >= 0.50) and adds the warnings of ASHRAE Guideline 14 [1].

Missing values are never zero: any NaN or infinite input is refused with the
driver's name (DESIGN rule 5).

References
----------
[1] ASHRAE Guideline 14-2014, Measurement of Energy, Demand, and Water Savings,
    Section 4 and Annex B (CV(RMSE), NMBE, calibration criteria, savings
    uncertainty with autocorrelated residuals).
[2] US DOE, Energy Performance Indicator (EnPI) Tool and Superior Energy
    Performance measurement protocol: regression model validity rules; as
    implemented in ORNL-AMO/Py-EnPI (``SEP_ModelValidityCheck``).
[3] D. C. Montgomery, E. A. Peck, G. G. Vining, Introduction to Linear
    Regression Analysis, 5th ed., Wiley 2012, sections 3.2-3.5 and 9.4.
[4] G. E. P. Box, G. M. Jenkins, G. C. Reinsel, Time Series Analysis, 4th ed.,
    Wiley 2008, eq. 2.1.12 (sample autocorrelation).
[5] T. A. Reddy, D. E. Claridge, Uncertainty of "measured" energy savings from
    statistical baseline models, HVAC&R Research 6(1), 3-20, 2000.
"""
import itertools
import math
from dataclasses import dataclass, fields
from typing import NamedTuple, Sequence

import numpy as np

INTERVALS = ("hour", "day", "week", "month")

# ASHRAE Guideline 14-2014 calibration criteria [1]: (CV(RMSE) [%], |NMBE| [%]).
# The guideline states them for monthly (15 %, 5 %) and hourly (30 %, 10 %)
# data only; daily and weekly models are held to the hourly limits, the
# looser pair, because the guideline sets no stricter one for them.
CALIBRATION_LIMITS_PCT = {
    "hour": (30.0, 10.0),
    "day": (30.0, 10.0),
    "week": (30.0, 10.0),
    "month": (15.0, 5.0),
}

# DOE EnPI / SEP model validity thresholds [2].
F_TEST_P_MAX = 0.10        # model F-test p must be below this
DRIVER_P_MAX = 0.20        # every driver p must be at or below this
BEST_DRIVER_P_MAX = 0.10   # at least one driver p must be at or below this
R2_MIN = 0.50              # below: refused
R2_WARN = 0.75             # below: accepted with a warning
R2_OVERFIT = 0.99          # above: over-fitting warning
VIF_WARN = 10.0            # above: collinearity warning

# 1.26: Guideline 14's empirical factor for the model (leverage) part of the
# savings uncertainty [1], [5].
FSU_FACTOR = 1.26

_COLLINEAR_VIF = 1e10      # a VIF this large is numerical rank deficiency
_INTERVAL_WORDS = {"hour": ("hours", "hourly"), "day": ("days", "daily"),
                   "week": ("weeks", "weekly"), "month": ("months", "monthly")}


@dataclass(frozen=True)
class Check:
    """One finding about a model: a short machine code and a sentence to say or print."""
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class OLSResult:
    """An OLS baseline: coefficients, their uncertainty, and goodness of fit.

    Units: intercept, its standard error, ``rmse`` and ``mean_energy`` [energy
    unit]; coefficients and their standard errors [energy unit per driver
    unit]; ``sse`` and ``sigma2`` [energy unit^2]; ``cv_rmse_pct`` and
    ``nmbe_pct`` [%]; ``driver_means`` [driver units]; r2, t, p, VIF,
    autocorrelation [-]. Coefficient tuples follow ``names``.

    ``xtx_inv`` is (X'X)^-1 of the design [1, x_1 .. x_p] (intercept first);
    with ``sigma2`` and ``driver_means`` it is all that prediction intervals
    need. ``searched_parameters`` counts parameters chosen by search on the
    same data (change-point temperatures): they are charged to the degrees of
    freedom of every statistic.
    """
    names: tuple[str, ...]
    units: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    intercept_standard_error: float
    standard_errors: tuple[float, ...]
    intercept_t: float
    t_values: tuple[float, ...]
    intercept_p_value: float
    p_values: tuple[float, ...]
    r2: float
    adj_r2: float
    f_statistic: float
    f_p_value: float
    sse: float
    sigma2: float
    rmse: float
    cv_rmse_pct: float
    nmbe_pct: float
    mean_energy: float
    driver_means: tuple[float, ...]
    n: int
    df_resid: int
    searched_parameters: int
    autocorrelation_lag1: float
    vif: tuple[float, ...]
    xtx_inv: tuple[tuple[float, ...], ...]

    @property
    def parameters(self) -> int:
        """Guideline 14's p: intercept + drivers + searched parameters."""
        return len(self.names) + 1 + self.searched_parameters

    def formula(self, energy_unit: str = "", significant_digits: int = 3) -> str:
        """The model as one line of text, each number to ``significant_digits``.

        Integer digits are never rounded away and small coefficients keep
        their leading digits, so no coefficient prints as 0.

        >>> r = fit_ols(np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([3.1, 4.9, 7.2, 8.8]),
        ...             ["outdoor_temp_c"], ["C"])
        >>> r.formula("kWh/day")
        'Energy [kWh/day] = 1.15 + 1.94 x outdoor_temp_c [C]'
        """
        lhs = f"Energy [{energy_unit}]" if energy_unit else "Energy"
        text = f"{lhs} = {_significant(self.intercept, significant_digits)}"
        for coefficient, name, unit in zip(self.coefficients, self.names, self.units):
            sign = "-" if coefficient < 0 else "+"
            text += f" {sign} {_significant(abs(coefficient), significant_digits)} x {name}"
            text += f" [{unit}]" if unit else ""
        return text

    def as_dict(self) -> dict:
        """JSON-friendly values: floats, ints, strings, lists; non-finite numbers as None."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        out["parameters"] = self.parameters
        return out


@dataclass(frozen=True)
class Candidate:
    """One driver subset from ``all_subsets``: its fit and why it is not valid (if so)."""
    ols: OLSResult
    reasons: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        return {"valid": self.valid, "reasons": [c.as_dict() for c in self.reasons],
                "ols": self.ols.as_dict()}


@dataclass(frozen=True)
class Validity:
    """The verdict on a model: valid or not (with reasons), and warnings either way."""
    valid: bool
    reasons: tuple[Check, ...]
    warnings: tuple[Check, ...]

    def as_dict(self) -> dict:
        return {"valid": self.valid, "reasons": [c.as_dict() for c in self.reasons],
                "warnings": [c.as_dict() for c in self.warnings]}


@dataclass(frozen=True)
class Prediction:
    """Expected energy per row and for the total over the rows, with intervals.

    All energies are in the unit of the model's energy; ``alpha`` is the
    two-sided miss probability (0.05: 95 % intervals);
    ``autocorrelation_lag1_used`` is the rho applied (0 when the correction is
    off or rho <= 0) and ``effective_n`` the n' it implies.
    """
    expected: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    total: float
    total_lower: float
    total_upper: float
    total_half_width: float
    alpha: float
    t_quantile: float
    df: int
    autocorrelation_lag1_used: float
    effective_n: float

    def as_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


class _Gram(NamedTuple):
    """Centred, unit-scaled cross products of [x_1 .. x_p, E] (E last)."""
    names: tuple[str, ...]
    units: tuple[str, ...]
    n: int
    mean: np.ndarray      # (p + 1,)
    scale: np.ndarray     # (p + 1,) length of each centred column
    corr: np.ndarray      # (p + 1, p + 1) correlation matrix
    lag: np.ndarray       # (p + 1, p + 1) sum_t z_t z_(t-1)'


def require_complete(values: np.ndarray, name: str) -> None:
    """Refuse missing or non-finite values, naming the column and rows (DESIGN rule 5).

    >>> require_complete(np.array([1.0, np.nan]), "outdoor_temp_c")
    Traceback (most recent call last):
    ...
    ValueError: outdoor_temp_c has 1 missing or non-finite value (row 1); missing values are never treated as 0: exclude or estimate those rows first
    """
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        rows = ", ".join(str(r) for r in bad[:5]) + (", ..." if bad.size > 5 else "")
        plural = "s" if bad.size > 1 else ""
        raise ValueError(f"{name} has {bad.size} missing or non-finite value{plural} "
                         f"(row{plural} {rows}); missing values are never treated as 0: "
                         "exclude or estimate those rows first")


def fit_ols(X, y, names: Sequence[str], units: Sequence[str] | None = None, *,
            searched_parameters: int = 0) -> OLSResult:
    """Fit energy ``y`` [energy unit per interval] on drivers ``X`` by OLS with intercept.

    Parameters
    ----------
    X : array (n, p) of driver values [driver units], rows in time order
    y : array (n,) of energy per interval [energy unit]
    names, units : one per driver column ([driver unit] strings, for the formula)
    searched_parameters : parameters found by search on these data (a change-point
        temperature counts one); they reduce the residual degrees of freedom.

    Raises ValueError (one line) when a value is missing, a column is constant,
    drivers are collinear (naming them), or n <= p + 1 + searched_parameters.

    >>> x = np.array([[0.0, 10], [1, 30], [2, 20], [3, 50], [4, 40], [5, 60]])
    >>> r = fit_ols(x, 100 + 5 * x[:, 0] + 2 * x[:, 1] + np.array([1, -1, 0.5, 0, -0.5, 0]),
    ...             ["hdd", "production_count"], ["K day", "units"])
    >>> round(r.r2, 4), r.df_resid
    (0.9998, 3)
    """
    gram = _gram(X, y, names, units)
    (result,) = _fit_batch(gram, np.arange(len(gram.names))[None, :], searched_parameters)
    if isinstance(result, ValueError):
        raise result
    return result


def all_subsets(X, y, names: Sequence[str], units: Sequence[str] | None = None,
                max_candidates: int = 10) -> tuple[Candidate, ...]:
    """Every non-empty driver subset, fitted from one Gram matrix, ranked.

    Ranking: valid models (DOE EnPI rules, p-values included) first, each group by
    adjusted R2, highest first; ties keep the smaller subset first. Each entry
    holds the same ``OLSResult`` that ``fit_ols`` returns for that subset.
    Subsets that cannot be fitted (collinear drivers, too few rows) are left out.

    >>> rng = np.random.default_rng(4)
    >>> x = rng.normal(size=(60, 3))
    >>> ranked = all_subsets(x, 5 + 3 * x[:, 0] + rng.normal(size=60), ["a", "b", "c"])
    >>> [(c.ols.names, c.valid, round(c.ols.adj_r2, 4)) for c in ranked[:2]]
    [(('a',), True, 0.9002), (('a', 'b'), False, 0.9003)]
    """
    gram = _gram(X, y, names, units)
    p = len(gram.names)
    if p > max_candidates:
        raise ValueError(f"{p} candidate drivers is more than {max_candidates} "
                         f"({2 ** p - 1} subsets): choose the likeliest drivers first")
    candidates = []
    for size in range(1, min(p, gram.n - 2) + 1):
        subsets = np.array(list(itertools.combinations(range(p), size)))
        candidates += [Candidate(ols, doe_reasons(ols)) for ols in _fit_batch(gram, subsets, 0)
                       if isinstance(ols, OLSResult)]
    return rank(candidates)


def rank(candidates):
    """Valid first, then by adjusted R2 (highest first); works on anything with
    ``.valid`` and ``.ols`` (``Candidate``, change-point results), so lists of
    both can be merged and ranked together.

    >>> x = np.arange(12.0)[:, None]
    >>> good = Candidate(fit_ols(x, 2 * x[:, 0] + np.tile([1.0, -1.0], 6), ["a"]), ())
    >>> flagged = Candidate(good.ols, (Check("r2_too_low", "R squared is low."),))
    >>> [c.valid for c in rank([flagged, good])]
    [True, False]
    """
    return tuple(sorted(candidates, key=lambda c: (not c.valid, -c.ols.adj_r2)))


def doe_reasons(result: OLSResult) -> tuple[Check, ...]:
    """Why a model fails the DOE EnPI / SEP validity rules [2]; empty when valid.

    >>> x = np.arange(10.0)[:, None]
    >>> doe_reasons(fit_ols(x, 3 + 2 * x[:, 0] + np.tile([0.1, -0.1], 5), ["t"]))
    ()
    """
    reasons = []
    if not result.f_p_value < F_TEST_P_MAX:
        reasons.append(Check("f_test_not_significant",
                             f"The model F-test p-value is {result.f_p_value:.2f}; "
                             f"the DOE EnPI rules need it below {F_TEST_P_MAX:.2f}."))
    weak = [(n, p) for n, p in zip(result.names, result.p_values) if not p <= DRIVER_P_MAX]
    if weak:
        listed = ", ".join(f"{n} (p {p:.2f})" for n, p in weak)
        reasons.append(Check("driver_not_significant",
                             f"Not shown to affect energy: {listed}; the DOE EnPI rules "
                             f"need every driver's p-value at or below {DRIVER_P_MAX:.2f}."))
    if not min(result.p_values) <= BEST_DRIVER_P_MAX:
        reasons.append(Check("no_significant_driver",
                             f"No driver has a p-value at or below {BEST_DRIVER_P_MAX:.2f}."))
    if not result.r2 >= R2_MIN:
        reasons.append(Check("r2_too_low",
                             f"R squared is {result.r2:.2f}, below the {R2_MIN:.2f} the DOE "
                             "EnPI rules accept. Try other drivers, a change-point "
                             "temperature model, or a longer or cleaner period."))
    return tuple(reasons)


def validity(result: OLSResult, interval: str = "day") -> Validity:
    """Judge a model: DOE EnPI / SEP rules [2] and ASHRAE Guideline 14 warnings [1].

    Invalid (``reasons``): F-test p >= 0.10, a driver p > 0.20, no driver
    p <= 0.10, R2 < 0.50. Warnings: R2 < 0.75, R2 > 0.99 (over-fitting), VIF > 10
    (collinearity), CV(RMSE) or |NMBE| above ``CALIBRATION_LIMITS_PCT[interval]``,
    and lag-1 residual autocorrelation beyond 1.96 / sqrt(n), the 95 % band of a
    white-noise series (Bartlett) [4].

    >>> x = np.arange(12.0)[:, None]
    >>> v = validity(fit_ols(x, 10 + x[:, 0] + np.tile([3.0, -3.0], 6), ["hdd"]), "month")
    >>> v.valid, [w.code for w in v.warnings]
    (True, ['r2_low', 'cv_rmse_above_limit', 'residual_autocorrelation'])
    """
    if interval not in CALIBRATION_LIMITS_PCT:
        raise ValueError(f"unknown interval {interval!r} (known: {', '.join(INTERVALS)})")
    warnings = []
    if R2_MIN <= result.r2 < R2_WARN:
        warnings.append(Check("r2_low", f"R squared is {result.r2:.2f}, below {R2_WARN:.2f}: "
                                        "the drivers explain energy only in part, so expect "
                                        "wide intervals."))
    if result.r2 > R2_OVERFIT:
        warnings.append(Check("r2_over_fit", f"R squared is {result.r2:.3f}, above {R2_OVERFIT}: "
                                             "check that no driver is computed from the energy "
                                             "itself and that the model is not over-fitted."))
    collinear = [(n, v) for n, v in zip(result.names, result.vif) if v > VIF_WARN]
    if collinear:
        listed = ", ".join(f"{n} ({v:.0f})" for n, v in collinear)
        warnings.append(Check("collinearity",
                              f"Drivers move together (variance inflation factor above "
                              f"{VIF_WARN:.0f}): {listed}; their separate coefficients are "
                              "unreliable."))
    cv_limit, nmbe_limit = CALIBRATION_LIMITS_PCT[interval]
    plural, adjective = _INTERVAL_WORDS[interval]
    if not result.cv_rmse_pct <= cv_limit:
        warnings.append(Check("cv_rmse_above_limit",
                              f"CV(RMSE) is {result.cv_rmse_pct:.1f} %, above the {cv_limit:.0f} % "
                              f"ASHRAE Guideline 14 limit for {adjective} data."))
    if not abs(result.nmbe_pct) <= nmbe_limit:
        warnings.append(Check("nmbe_above_limit",
                              f"NMBE is {result.nmbe_pct:.1f} %, beyond the {nmbe_limit:.0f} % "
                              f"ASHRAE Guideline 14 limit for {adjective} data."))
    rho = result.autocorrelation_lag1
    if abs(rho) > 1.96 / math.sqrt(result.n):
        if rho > 0:
            text = (f"Residuals of consecutive {plural} are correlated (lag-1 autocorrelation "
                    f"{rho:.2f}): a slow effect is missing from the model; intervals over "
                    "several of them are widened for it (ASHRAE Guideline 14).")
        else:
            text = (f"Residuals of consecutive {plural} alternate in sign (lag-1 autocorrelation "
                    f"{rho:.2f}): check for readings booked to the wrong {interval}.")
        warnings.append(Check("residual_autocorrelation", text))
    reasons = doe_reasons(result)
    return Validity(not reasons, reasons, tuple(warnings))


def predict(result: OLSResult, X_new, alpha: float = 0.05,
            autocorrelation: bool = True) -> Prediction:
    """Expected energy with prediction intervals per row and for the total of the rows.

    For rows x_i (with a leading 1) the interval is  E_hat_i +- t * sqrt(V_i)  with
    t the 1 - alpha/2 quantile of Student's t on the model's residual degrees of
    freedom [3]:

    - one row:        V_i = sigma^2 (1 + f * x_i (X'X)^-1 x_i')
    - total of m rows: V = sigma^2 (q + f * s (X'X)^-1 s'), s = 1' X0 the column sums

    Without the autocorrelation correction (or when the lag-1 residual
    autocorrelation rho <= 0) f = 1 and q = m: the prediction of a sum of m
    new observations with the parameter uncertainty through their leverage.

    With it (rho > 0), after ASHRAE Guideline 14 Annex B [1], [5]: the baseline
    holds only n' = n (1 - rho) / (1 + rho) independent observations, so the
    parameter (leverage) term is inflated by f = n / n' = (1 + rho) / (1 - rho);
    the new-observation term is the variance of a sum of m consecutive AR(1)
    errors, q = m + 2 sum_{k=1}^{m-1} (m - k) rho^k, which tends to Guideline
    14's m n / n' for long periods and stays 1 for a single row. Rows of
    ``X_new`` must therefore be consecutive intervals in time order. The
    t-quantile keeps the residual degrees of freedom.

    >>> x = np.arange(10.0)[:, None]
    >>> r = fit_ols(x, 3 + 2 * x[:, 0] + np.tile([0.1, -0.1], 5), ["t"])
    >>> pred = predict(r, np.array([[10.0], [11.0]]))
    >>> round(pred.total, 2), round(pred.total_half_width, 2)
    (47.93, 0.52)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    rows = _driver_rows(result, X_new)
    m = rows.shape[0]
    expected = result.intercept + rows @ np.array(result.coefficients)
    # x (X'X)^-1 x' in centred form, 1/n + d S d' with d = x - mean and
    # S = (Xc'Xc)^-1: equal to it and free of cancellation for large means.
    slopes_inverse = np.array(result.xtx_inv)[1:, 1:]
    centred = rows - np.array(result.driver_means)
    leverage = 1.0 / result.n + np.einsum("ij,jk,ik->i", centred, slopes_inverse, centred)
    centred_sum = centred.sum(axis=0)
    total_leverage = m * m / result.n + float(centred_sum @ slopes_inverse @ centred_sum)

    rho = max(result.autocorrelation_lag1, 0.0) if autocorrelation else 0.0
    inflation = (1 + rho) / (1 - rho)
    noise = m + 2 * rho * (m * (1 - rho) - (1 - rho ** m)) / (1 - rho) ** 2
    t = _t_quantile(result.df_resid, 1 - alpha / 2)
    half = t * np.sqrt(result.sigma2 * (1 + inflation * leverage))
    total = float(expected.sum())
    total_half = t * math.sqrt(result.sigma2 * (noise + inflation * total_leverage))
    return Prediction(
        expected=tuple(expected.tolist()), lower=tuple((expected - half).tolist()),
        upper=tuple((expected + half).tolist()), total=total,
        total_lower=total - total_half, total_upper=total + total_half,
        total_half_width=total_half, alpha=alpha, t_quantile=t, df=result.df_resid,
        autocorrelation_lag1_used=rho, effective_n=result.n / inflation)


def fractional_savings_uncertainty(result: OLSResult, m: int, savings_fraction: float,
                                   alpha: float) -> float:
    """Fractional savings uncertainty [-] of ASHRAE Guideline 14-2014 Annex B [1], [5].

        FSU = t * 1.26 * CV * sqrt((n / n') * (1 + 2 / n') / m) / F

    with CV the baseline's CV(RMSE) as a fraction (n - P denominator), n the
    baseline rows, n' = n (1 - rho) / (1 + rho) for lag-1 residual
    autocorrelation rho > 0 (else n' = n), m the reporting-period rows at the
    same interval, F the expected savings as a fraction of the baseline energy,
    and t the 1 - alpha/2 Student-t quantile on the residual degrees of freedom.
    1.26 is the guideline's empirical factor for the leverage term (its
    later refinements for monthly and daily data are not applied). The result is
    the half-width of the savings interval as a fraction of the savings; the
    guideline's whole-building compliance test asks for below 0.5 at 68 %
    confidence (alpha = 0.32).

    >>> x = np.arange(24.0)[:, None]
    >>> r = fit_ols(x, 100 + x[:, 0] + np.tile([4.0, 1.0, -4.0, -1.0], 6), ["hdd"])
    >>> round(fractional_savings_uncertainty(r, 12, 0.10, 0.32), 3)
    0.107
    """
    if m < 1:
        raise ValueError(f"the reporting period needs at least one row, got m={m}")
    if not savings_fraction > 0:
        raise ValueError(f"savings_fraction must be above 0, got {savings_fraction}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    rho = max(result.autocorrelation_lag1, 0.0)
    n_eff = result.n * (1 - rho) / (1 + rho)
    t = _t_quantile(result.df_resid, 1 - alpha / 2)
    cv = result.cv_rmse_pct / 100
    return float(t * FSU_FACTOR * cv * math.sqrt((result.n / n_eff) * (1 + 2 / n_eff) / m)
                 / savings_fraction)


# --- internals ---------------------------------------------------------------

def _gram(X, y, names, units) -> _Gram:
    """Validate inputs and build the centred, unit-scaled cross products."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"drivers must be an (n, p) table and energy n values, "
                         f"got shapes {X.shape} and {y.shape}")
    names = tuple(str(n) for n in names)
    if len(names) != X.shape[1]:
        raise ValueError(f"{X.shape[1]} driver columns but {len(names)} names")
    if not names:
        raise ValueError("a baseline needs at least one driver")
    if len(set(names)) != len(names):
        raise ValueError(f"driver names repeat: {', '.join(names)}")
    units = unit_labels(units, len(names))
    if len(units) != len(names):
        raise ValueError(f"{len(names)} drivers but {len(units)} units")
    Z = np.vstack([X.T, y])                 # one row per column: fast row reductions
    labels = names + ("energy",)
    if not np.isfinite(Z).all():
        for label, row in zip(labels[::-1], Z[::-1]):  # energy first, then the drivers
            require_complete(row, label)
    mean = Z.mean(axis=1)
    centred = Z - mean[:, None]
    scale = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    # Constant: no spread beyond rounding of the mean (1e-12 of its size).
    for j in np.flatnonzero(scale <= 1e-12 * math.sqrt(Z.shape[1]) * np.abs(mean)):
        what = "it cannot be told apart from the intercept" if j < len(names) \
            else "there is nothing to explain"
        raise ValueError(f"{labels[j]} is constant (every value {Z[j, 0]:g}): {what}")
    Zs = centred / scale[:, None]
    corr = Zs @ Zs.T
    np.fill_diagonal(corr, 1.0)  # unit-length columns; exact, so one driver has VIF 1
    return _Gram(names, units, Z.shape[1], mean, scale, corr, Zs[:, 1:] @ Zs[:, :-1].T)


def _t_quantile(df: int, probability: float) -> float:
    """Student's t quantile (``scipy.stats.t.ppf``'s function), scipy imported on use."""
    from scipy import special
    return float(special.stdtrit(df, probability))


def unit_labels(units, count: int) -> tuple[str, ...]:
    """The ``count`` terms' unit labels, '' where none is given (units None: all '')."""
    return ("",) * count if units is None else tuple("" if u is None else str(u) for u in units)


@np.errstate(divide="ignore", invalid="ignore")  # refused subsets carry NaN and inf
def _fit_batch(g: _Gram, subsets: np.ndarray, searched: int) -> list:
    """The OLS statistics of each row of ``subsets`` (c, k driver indices), all of
    one size k, from the Gram matrix: vectorized over the subsets. Returns one
    ``OLSResult`` per subset, or the ValueError that refuses it (collinear
    drivers, exact fit); raises when n is too small for k drivers."""
    c, k = subsets.shape
    n = g.n
    df = n - k - 1 - searched
    if df < 1:
        raise ValueError(f"{n} rows cannot fit {k} driver(s), an intercept"
                         + (f" and {searched} searched parameter(s)" if searched else "")
                         + f": need at least {k + 2 + searched} rows")
    yi = len(g.names)
    R = g.corr[subsets[:, :, None], subsets[:, None, :]]
    r = g.corr[subsets, yi]
    Rinv = _inverses(R)
    vif = np.diagonal(Rinv, axis1=1, axis2=2)
    collinear = ~np.all(np.isfinite(vif) & (vif <= _COLLINEAR_VIF), axis=1)
    b_std = np.einsum("cij,cj->ci", Rinv, r)
    r2 = np.einsum("ci,ci->c", r, b_std)
    unexplained = 1.0 - r2
    scale_y, mean_y = float(g.scale[yi]), float(g.mean[yi])
    scale_x, mean_x = g.scale[subsets], g.mean[subsets]
    beta = b_std * scale_y / scale_x
    intercept = mean_y - np.einsum("ci,ci->c", mean_x, beta)
    sse = unexplained * scale_y ** 2
    sigma2 = sse / df
    inverse = np.empty((c, k + 1, k + 1))                      # (X'X)^-1, intercept first
    inverse[:, 1:, 1:] = Rinv / (scale_x[:, :, None] * scale_x[:, None, :])
    S_mean = np.einsum("cij,cj->ci", inverse[:, 1:, 1:], mean_x)
    inverse[:, 0, 0] = 1.0 / n + np.einsum("ci,ci->c", mean_x, S_mean)
    inverse[:, 0, 1:] = inverse[:, 1:, 0] = -S_mean
    se = np.sqrt(sigma2[:, None] * np.diagonal(inverse, axis1=1, axis2=2))
    t = np.column_stack([intercept, beta]) / se
    from scipy import special  # imported on first fit: keeps engine start-up light
    p = 2 * special.stdtr(df, -np.abs(t))
    df_model = k + searched
    f_stat = (r2 / df_model) / (unexplained / df)
    f_p = special.fdtrc(df_model, df, f_stat)
    rmse = np.sqrt(sigma2)
    ends = np.column_stack([subsets, np.full(c, yi)])
    weights = np.column_stack([-b_std, np.ones(c)])
    lagged = np.einsum("ci,cij,cj->c", weights, g.lag[ends[:, :, None], ends[:, None, :]], weights)
    columns = dict(
        intercept=intercept, beta=beta, se=se, t=t, p=p, r2=r2, unexplained=unexplained,
        f_stat=f_stat, f_p=f_p, sse=sse, sigma2=sigma2, rmse=rmse, rho=lagged / unexplained,
        vif=vif, mean_x=mean_x, inverse=inverse, subsets=subsets)
    rows = {key: value.tolist() for key, value in columns.items()}
    out = []
    for i in range(c):
        cols = rows["subsets"][i]
        names = tuple(g.names[j] for j in cols)
        if collinear[i]:
            out.append(ValueError(_collinear_message(R[i], list(names))))
            continue
        if rows["unexplained"][i] <= 1e-13:
            out.append(ValueError(f"energy is an exact linear function of {', '.join(names)} "
                                  "(R2 = 1): the data look computed, not measured"))
            continue
        se_i, t_i, p_i = rows["se"][i], rows["t"][i], rows["p"][i]
        out.append(OLSResult(
            names=names, units=tuple(g.units[j] for j in cols), intercept=rows["intercept"][i],
            coefficients=tuple(rows["beta"][i]), intercept_standard_error=se_i[0],
            standard_errors=tuple(se_i[1:]), intercept_t=t_i[0], t_values=tuple(t_i[1:]),
            intercept_p_value=p_i[0], p_values=tuple(p_i[1:]), r2=rows["r2"][i],
            adj_r2=1.0 - rows["unexplained"][i] * (n - 1) / df, f_statistic=rows["f_stat"][i],
            f_p_value=rows["f_p"][i], sse=rows["sse"][i], sigma2=rows["sigma2"][i],
            rmse=rows["rmse"][i], cv_rmse_pct=100.0 * rows["rmse"][i] / mean_y,
            # In-sample residuals of OLS with an intercept sum to zero by construction.
            nmbe_pct=0.0, mean_energy=mean_y, driver_means=tuple(rows["mean_x"][i]), n=n,
            df_resid=df, searched_parameters=searched, autocorrelation_lag1=rows["rho"][i],
            vif=tuple(rows["vif"][i]), xtx_inv=tuple(map(tuple, rows["inverse"][i]))))
    return out


def _inverses(R: np.ndarray) -> np.ndarray:
    """Inverse of each matrix in the stack; NaN where one is singular."""
    try:
        return np.linalg.inv(R)
    except np.linalg.LinAlgError:
        out = np.full_like(R, np.nan)
        for i, matrix in enumerate(R):
            try:
                out[i] = np.linalg.inv(matrix)
            except np.linalg.LinAlgError:
                pass
        return out


def _collinear_message(R: np.ndarray, names: list[str]) -> str:
    """Name the drivers in the (near-)null space of their correlation matrix."""
    values, vectors = np.linalg.eigh(R)
    null = vectors[:, values < max(values.max(), 1.0) / _COLLINEAR_VIF]
    involved = [name for name, row in zip(names, np.abs(null)) if row.size and row.max() > 1e-4]
    listed = ", ".join(involved or names)
    return (f"drivers {listed} are collinear (one is a linear combination of the others): "
            "drop one of them")


def _driver_rows(result: OLSResult, X_new) -> np.ndarray:
    rows = np.asarray(X_new, dtype=float)
    p = len(result.names)
    if rows.ndim == 1 and p == 1:
        rows = rows[:, None]
    if rows.ndim != 2 or rows.shape[1] != p or rows.shape[0] == 0:
        raise ValueError(f"prediction needs an (m >= 1, {p}) table of "
                         f"{', '.join(result.names)}, got shape {rows.shape}")
    for j, name in enumerate(result.names):
        require_complete(rows[:, j], name)
    return rows


def _significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant figures, never dropping integer digits."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plain(value):
    """numpy and tuples to JSON-friendly Python values; NaN and infinity to None."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value

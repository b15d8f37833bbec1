"""CUSUM of energy deviations: the running sum in energy units, and tabular
CUSUM alarms on standardised residuals.

Running CUSUM (ISO 50006 Annex, DOE EnPI "CUSUM of savings"): with actual and
expected energy per interval,

    S_t = sum_{i <= t} (E_actual,i - E_expected,i)   [energy]

kept in energy units from the start of the reporting period: a falling line is
savings, a rising one a loss (DESIGN rule 8).

Tabular CUSUM (Page 1954; Montgomery, Introduction to Statistical Quality
Control, 6th ed., section 9.1.2) on residuals z_t standardised by the
baseline's residual spread:

    C+_t = max(0, C+_{t-1} + z_t - k),   C-_t = max(0, C-_{t-1} - z_t - k)

an alarm when C+ > h (energy above the baseline: a loss, e.g. a leak or
fouling) or C- > h (below: savings). After an alarm the side restarts from 0,
so a lasting shift alarms again. k = 0.5 and h = 5 detect a one-sigma shift
after about 10 intervals on average, and give a false alarm about once every
465 in-control intervals (two-sided; Montgomery Table 9.3), provided the z
are independent N(0, 1): ``innovations`` makes them so for the correlated
prediction errors of a fitted baseline (docs/methods.md, section 11).

>>> running([10.0, 12.0, 9.0], [10.0, 10.0, 10.0]).tolist()
[0.0, 2.0, 1.0]
>>> tabular(np.array([0.0, 3.0, 3.5]), k=0.5, h=5.0).alarms
((2, 'up'),)
"""
from dataclasses import dataclass

import numpy as np

DEFAULT_K = 0.5
DEFAULT_H = 5.0


def running(actual, expected) -> np.ndarray:
    """Running sum of actual - expected [energy]; a falling line is savings."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise ValueError(f"{actual.size} actual values but {expected.size} expected")
    if np.isnan(actual).any() or np.isnan(expected).any():
        raise ValueError("a CUSUM needs every interval's actual and expected energy; "
                         "leave incomplete intervals out instead of passing NaN")
    return np.cumsum(actual - expected)


@dataclass(frozen=True)
class Tabular:
    """Upper and lower CUSUM statistics per interval and the alarms raised.

    alarms: (index, 'up' | 'down') in time order; 'up' means energy above the
    baseline (a loss), 'down' below it (savings).
    """
    upper: np.ndarray
    lower: np.ndarray
    alarms: tuple
    k: float
    h: float

    def first_alarm(self, direction: str | None = None) -> int | None:
        """Index of the first alarm (of one direction, if given), else None."""
        return next((i for i, d in self.alarms if direction in (None, d)), None)


def tabular(z, k: float = DEFAULT_K, h: float = DEFAULT_H) -> Tabular:
    """Two-sided tabular CUSUM of standardised residuals z [-].

    k: reference value (half the shift to detect, in sigmas); h: decision
    interval [sigmas].
    """
    z = np.asarray(z, dtype=float)
    if np.isnan(z).any():
        raise ValueError("standardised residuals contain NaN")
    if k < 0 or h <= 0:
        raise ValueError(f"need k >= 0 and h > 0, got k={k}, h={h}")
    upper, lower = np.empty_like(z), np.empty_like(z)
    c_up = c_down = 0.0
    alarms = []
    for i, value in enumerate(z):
        c_up = max(0.0, c_up + value - k)
        c_down = max(0.0, c_down - value - k)
        upper[i], lower[i] = c_up, c_down
        if c_up > h:
            alarms.append((i, "up"))
            c_up = 0.0
        if c_down > h:
            alarms.append((i, "down"))
            c_down = 0.0
    return Tabular(upper, lower, tuple(alarms), k, h)


def innovations(residuals, covariance) -> np.ndarray:
    """Residuals standardised given the earlier ones [-]: the innovations
    z = L^-1 e of the residuals e with covariance C = L L' (Cholesky).

    z_t is (e_t - E[e_t | e_1 .. e_t-1]) / sd(e_t | e_1 .. e_t-1): each
    depends only on residuals up to its own interval, so a prefix gives the
    same values, and z is independent N(0, 1) when the residuals are
    multivariate normal with covariance C. A tabular CUSUM assumes
    independent z; prediction errors of an estimated model are not, as the
    error of the fitted coefficients is shared by every interval, and with
    residuals merely divided by their sd this common offset shortens the
    in-control run length (Jones, Champ and Rigdon, Technometrics 46, 2004).
    With a diagonal C this is ``standardise``.

    >>> innovations([2.0, 2.0], [[4.0, 2.0], [2.0, 4.0]]).round(3).tolist()
    [1.0, 0.577]
    """
    residuals = np.asarray(residuals, dtype=float)
    lower = np.linalg.cholesky(np.asarray(covariance, dtype=float))
    return np.linalg.solve(lower, residuals) if residuals.size else residuals


def standardise(actual, expected, sigma) -> np.ndarray:
    """Residuals in units of their standard deviation: (actual - expected) / sigma.

    sigma: per interval [energy], e.g. the baseline's prediction standard error
    for that interval (scalar or array).
    """
    sigma = np.asarray(sigma, dtype=float)
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    return (np.asarray(actual, dtype=float) - np.asarray(expected, dtype=float)) / sigma

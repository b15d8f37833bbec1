"""Change-point temperature models with a searched balance point (ASHRAE RP-1050).

On daily rows, with T the day's mean outdoor air temperature [C] and
optional extra linear drivers z (production, say) in every model [1], [2]:

==========  ======================================================  ==========
model       energy per day                                          searched
==========  ======================================================  ==========
2p          b0 + b1 T                                               none
3p_heating  b0 + b1 max(0, Tb - T)                                  Tb
3p_cooling  b0 + b1 max(0, T - Tb)                                  Tb
4p          b0 + b1 max(0, Tb - T) + b2 max(0, T - Tb)              Tb
5p          b0 + b1 max(0, Th - T) + b2 max(0, T - Tc), Th < Tc     Th, Tc
==========  ======================================================  ==========

each + c_1 z_1 + ... + c_q z_q. The terms max(0, Tb - T) and max(0, T - Tb)
are the day's heating and cooling degree days ``hdd`` and ``cdd`` [K day]
(``engine.degree_days``), so "HDD with a searched base + production" is the
3p_heating model with one extra driver.

Balance points are searched on a grid (``step_c`` [K], default 0.5 K) spanning
the 10 % to 90 % quantiles of T, so every candidate has data on both sides;
the grid point with the lowest sum of squared errors wins (RP-1050 fits by
least squares over the change point [1]). A second grid of step_c / 10 within
one coarse step of the winner (and inside the span) then refines it, so a
balance point between coarse grid points does not bias the slopes. Each
candidate's error comes from one set of cross products and a batched small
solve, and the winner is refitted by ``regression.fit_ols`` for its full
statistics.

A searched balance point is a model parameter fitted to the same data (RP-1050
counts it: a "3P" model has three parameters). It is charged one residual
degree of freedom each (two for 5p): ``OLSResult.searched_parameters``, the
residual df = n - (drivers + 1 + searched), and with it adjusted R2, the F-test
(on drivers + searched numerator degrees of freedom), RMSE, CV(RMSE), t and p
values. Standard errors and p-values remain conditional on the chosen balance
point: a hinge's slope and its balance point are correlated, so they understate
the slopes' uncertainty. In simulations of 730 days with the balance point
between grid points, a true slope fell outside +-3 standard errors in 3.5 % to
10 % of runs instead of 0.3 %: read them as lower bounds.

References
----------
[1] J. K. Kissock, J. S. Haberl, D. E. Claridge, Inverse Modeling Toolkit:
    Numerical Algorithms (ASHRAE RP-1050), ASHRAE Transactions 109(2), 2003.
[2] ASHRAE Guideline 14-2014, Measurement of Energy, Demand, and Water Savings,
    change-point regression models for the whole-building approach.
"""
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from . import degree_days
from .regression import (Check, OLSResult, doe_reasons, fit_ols, rank, require_complete,
                         unit_labels)

MODELS = ("2p", "3p_heating", "3p_cooling", "4p", "5p")
TEMPERATURE = "outdoor_temp_c"
HDD = "hdd"
CDD = "cdd"
_SEARCHED = {"2p": 0, "3p_heating": 1, "3p_cooling": 1, "4p": 1, "5p": 2}


@dataclass(frozen=True)
class ChangePointResult:
    """A fitted change-point model: its balance point(s) [C] (found to
    ``resolution_c`` [K] after a ``grid_step_c`` [K] grid over ``search_range_c``
    [C]), its OLS fit, and why it fails the DOE EnPI validity rules
    (``reasons``, empty when valid)."""
    model: str
    heating_balance_c: float | None
    cooling_balance_c: float | None
    grid_step_c: float
    resolution_c: float
    search_range_c: tuple[float, float] | None
    ols: OLSResult
    reasons: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        return not self.reasons

    def formula(self, energy_unit: str = "", significant_digits: int = 3) -> str:
        """The model as text, with the degree-day definitions it uses.

        >>> t = np.linspace(-5, 25, 60)
        >>> e = 50 + 4 * np.maximum(0, 15 - t) + np.tile([1.0, -1.0], 30)
        >>> cp = fit_changepoint("3p_heating", t, e)
        >>> cp.formula("kWh/day")
        'Energy [kWh/day] = 50 + 4 x hdd [K day]; hdd = max(0, 15 C - T) per day'
        """
        text = self.ols.formula(energy_unit, significant_digits)
        terms = []
        if HDD in self.ols.names:
            terms.append(f"hdd = max(0, {self.heating_balance_c:g} C - T)")
        if CDD in self.ols.names:
            terms.append(f"cdd = max(0, T - {self.cooling_balance_c:g} C)")
        return f"{text}; {', '.join(terms)} per day" if terms else text

    def as_dict(self) -> dict:
        return {"model": self.model, "heating_balance_c": self.heating_balance_c,
                "cooling_balance_c": self.cooling_balance_c, "grid_step_c": self.grid_step_c,
                "resolution_c": self.resolution_c,
                "search_range_c": list(self.search_range_c) if self.search_range_c else None,
                "valid": self.valid, "reasons": [c.as_dict() for c in self.reasons],
                "ols": self.ols.as_dict()}


def balance_point_grid(temp_c, step_c: float = 0.5,
                       quantiles: tuple[float, float] = (0.10, 0.90)) -> np.ndarray:
    """Candidate balance points [C]: multiples of ``step_c`` [K] within the quantiles of T.

    >>> balance_point_grid(np.linspace(0.0, 20.0, 101))
    array([ 2. ,  2.5,  3. ,  3.5,  4. ,  4.5,  5. ,  5.5,  6. ,  6.5,  7. ,
            7.5,  8. ,  8.5,  9. ,  9.5, 10. , 10.5, 11. , 11.5, 12. , 12.5,
           13. , 13.5, 14. , 14.5, 15. , 15.5, 16. , 16.5, 17. , 17.5, 18. ])
    """
    if not step_c > 0:
        raise ValueError(f"the balance-point step must be above 0 K, got {step_c}")
    temp = _temperature(temp_c)
    low, high = np.quantile(temp, quantiles)
    first = math.ceil(low / step_c - 1e-9)
    last = math.floor(high / step_c + 1e-9)
    if last < first:
        raise ValueError(f"outdoor temperature varies too little ({quantiles[0]:.0%}-"
                         f"{quantiles[1]:.0%} range {low:.1f} to {high:.1f} C) to search a "
                         f"balance point in {step_c:g} K steps")
    return np.round(np.arange(first, last + 1) * step_c, 10)


def fit_changepoint(model: str, temp_c, energy, extra=None, extra_names: Sequence[str] = (),
                    extra_units: Sequence[str] | None = None, step_c: float = 0.5,
                    quantiles: tuple[float, float] = (0.10, 0.90)) -> ChangePointResult:
    """Fit one change-point model on daily rows, searching its balance point(s).

    Parameters
    ----------
    model : one of ``MODELS``
    temp_c : (n,) daily mean outdoor air temperature [C], rows in time order
    energy : (n,) energy per day [energy unit]
    extra : optional (n, q) extra linear drivers [their units], in every candidate fit
    extra_names, extra_units : one per extra column
    step_c : grid step [K]; quantiles : grid span as quantiles of T

    A missing temperature, energy or extra value is refused, never taken as 0.

    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(-5, 30, 365)
    >>> e = 80 + 6 * np.maximum(0, 16 - t) + rng.normal(0, 3, 365)
    >>> cp = fit_changepoint("3p_heating", t, e)
    >>> cp.heating_balance_c, round(cp.ols.coefficients[0], 1), cp.ols.df_resid
    (15.9, 6.0, 362)
    """
    if model not in MODELS:
        raise ValueError(f"unknown change-point model {model!r} (known: {', '.join(MODELS)})")
    temp = _temperature(temp_c)
    y = np.asarray(energy, dtype=float)
    if y.shape != temp.shape:
        raise ValueError(f"{temp.size} temperatures but energy has shape {y.shape}")
    require_complete(y, "energy")
    extra_cols, extra_names, extra_units = _extras(extra, extra_names, extra_units, temp.size)
    heating = cooling = None
    span = None
    resolution = step_c / 10
    if model != "2p":
        grid = balance_point_grid(temp, step_c, quantiles)
        coarse_heating = np.empty(0) if model == "3p_cooling" else grid
        coarse_cooling = np.empty(0) if model == "3p_heating" else grid
        heating, cooling = _search(model, temp, y, extra_cols, coarse_heating, coarse_cooling)
        fine_heating = _around(heating, grid, resolution)
        fine_cooling = fine_heating if model == "4p" else _around(cooling, grid, resolution)
        heating, cooling = _search(model, temp, y, extra_cols, fine_heating, fine_cooling)
        span = (float(grid[0]), float(grid[-1]))
    X, names, units = _design(model, temp, heating, cooling)
    ols = fit_ols(np.column_stack([X, extra_cols]), y, names + extra_names, units + extra_units,
                  searched_parameters=_SEARCHED[model])
    return ChangePointResult(model, heating, cooling, step_c, resolution, span, ols,
                             doe_reasons(ols))


def compare_models(temp_c, energy, extra=None, extra_names: Sequence[str] = (),
                   extra_units: Sequence[str] | None = None, models: Sequence[str] = MODELS,
                   step_c: float = 0.5,
                   quantiles: tuple[float, float] = (0.10, 0.90)) -> tuple[ChangePointResult, ...]:
    """Fit each of ``models`` and rank them: DOE-valid first, then adjusted R2.

    Adjusted R2 charges the searched balance points, so a change point must earn
    its extra parameter. A model whose search range is too narrow or whose data
    cannot support it is left out (if none is left, the first model's reason is
    raised); missing values are refused for all.

    >>> rng = np.random.default_rng(1)
    >>> t = rng.uniform(-5, 30, 365)
    >>> e = 80 + 6 * np.maximum(0, 16 - t) + rng.normal(0, 3, 365)
    >>> [(r.model, r.valid) for r in compare_models(t, e)]  # 4p, 5p: cdd not significant
    [('3p_heating', True), ('2p', True), ('3p_cooling', True), ('4p', False), ('5p', False)]
    """
    temp = _temperature(temp_c)
    require_complete(np.asarray(energy, dtype=float), "energy")
    _extras(extra, extra_names, extra_units, temp.size)
    fitted, refused = [], []
    for model in models:
        try:
            fitted.append(fit_changepoint(model, temp, energy, extra, extra_names, extra_units,
                                          step_c, quantiles))
        except ValueError as exc:
            refused.append(exc)
    if not fitted and refused:
        raise refused[0]
    return rank(fitted)


def design_matrix(result: ChangePointResult, temp_c, extra=None) -> np.ndarray:
    """The driver table of ``result`` for new days, ready for ``regression.predict``.

    >>> t = np.linspace(-5, 25, 60)
    >>> e = 50 + 4 * np.maximum(0, 15 - t) + np.tile([1.0, -1.0], 30)
    >>> cp = fit_changepoint("3p_heating", t, e)
    >>> design_matrix(cp, np.array([5.0, 20.0]))
    array([[10.],
           [ 0.]])
    """
    return model_design(result.model, result.heating_balance_c, result.cooling_balance_c,
                        result.ols.names, temp_c, extra)


def model_design(model: str, heating_balance_c, cooling_balance_c, names: Sequence[str],
                 temp_c, extra=None) -> np.ndarray:
    """The driver table of a stored change-point model (its form, balance points
    [C] and term names) for new days; ``extra`` holds the non-temperature terms."""
    temp = _temperature(temp_c)
    X, hinge_names, _ = _design(model, temp, heating_balance_c, cooling_balance_c)
    extra_cols, _, _ = _extras(extra, tuple(names)[len(hinge_names):], None, temp.size)
    return np.column_stack([X, extra_cols])


def sign_warnings(result: OLSResult, expected_signs: Mapping[str, int]) -> tuple[Check, ...]:
    """Coefficients whose sign contradicts the physics, e.g. ``{"hdd": 1, "cdd": 1,
    "production_count": 1}``: energy rises with heating and cooling degree days
    and with production. Names not in the model are ignored; 0 is never wrong.

    In a 4p model the slope above the change point may have either sign (RP-1050
    heating and cooling 4P shapes), so leave ``cdd`` out for it.

    >>> x = np.arange(10.0)[:, None]
    >>> r = fit_ols(x, 50 - 2 * x[:, 0] + np.tile([0.3, -0.3], 5), ["production_count"])
    >>> [c.code for c in sign_warnings(r, {"production_count": 1})]
    ['wrong_sign']
    """
    checks = []
    for name, coefficient in zip(result.names, result.coefficients):
        expected = expected_signs.get(name, 0)
        if expected * coefficient < 0:
            direction = "rise" if expected > 0 else "fall"
            checks.append(Check("wrong_sign",
                                f"The {name} coefficient is {coefficient:.3g}: energy should "
                                f"{direction} with {name}. Check the data, the driver's roll-up "
                                "and the model form."))
    return tuple(checks)


# --- internals ---------------------------------------------------------------

def _temperature(temp_c) -> np.ndarray:
    temp = np.asarray(temp_c, dtype=float)
    if temp.ndim != 1 or temp.size == 0:
        raise ValueError(f"outdoor temperature must be one value per day, got shape {temp.shape}")
    require_complete(temp, "outdoor temperature")
    return temp


def _extras(extra, names, units, n):
    names = tuple(str(x) for x in names)
    if extra is None:
        if names:
            raise ValueError(f"extra driver names {', '.join(names)} given without their values")
        return np.empty((n, 0)), (), ()
    cols = np.asarray(extra, dtype=float)
    if cols.ndim == 1:
        cols = cols[:, None]
    if cols.ndim != 2 or cols.shape[0] != n or cols.shape[1] != len(names):
        raise ValueError(f"extra drivers must be an ({n}, {len(names)}) table for "
                         f"{', '.join(names) or 'no names'}, got shape {cols.shape}")
    clash = set(names) & {TEMPERATURE, HDD, CDD}
    if clash:
        raise ValueError(f"extra driver names clash with the model's own terms: {', '.join(clash)}")
    for j, name in enumerate(names):
        require_complete(cols[:, j], name)
    units = unit_labels(units, len(names))
    if len(units) != len(names):
        raise ValueError(f"{len(names)} extra drivers but {len(units)} units")
    return cols, names, units


def _design(model, temp, heating, cooling):
    """The temperature columns of ``model`` with their names and units."""
    if model == "2p":
        return temp[:, None], (TEMPERATURE,), ("C",)
    cols, names = [], []
    if model in ("3p_heating", "4p", "5p"):
        cols.append(degree_days.heating(temp, heating))
        names.append(HDD)
    if model in ("3p_cooling", "4p", "5p"):
        cols.append(degree_days.cooling(temp, cooling))
        names.append(CDD)
    return np.column_stack(cols), tuple(names), ("K day",) * len(names)


def _around(value, grid, resolution):
    """A fine grid [C] within one coarse step of ``value`` and inside the coarse grid."""
    if value is None:
        return np.empty(0)
    fine = np.round(value + resolution * np.arange(-9, 10), 10)
    return fine[(fine >= grid[0]) & (fine <= grid[-1])]


def _search(model, temp, y, extra, heating_grid, cooling_grid):
    """The balance point(s) [C] of least squared error: (heating, cooling), None if unused.

    Every candidate's R2 (hence SSE) comes from cross products of centred,
    unit-length rows: degree days at each grid point, the extra drivers, energy.
    4p uses ``heating_grid`` for its one change point (``cooling_grid`` is the
    same array); 5p pairs heating < cooling."""
    B = _standardize_rows(extra.T)
    ys = _standardize_rows(y[None, :])[0]
    if model == "3p_heating":
        H = _standardize_rows(np.maximum(0.0, heating_grid[:, None] - temp))
        families, index = [H], [np.arange(heating_grid.size)]
    elif model == "3p_cooling":
        C = _standardize_rows(np.maximum(0.0, temp - cooling_grid[:, None]))
        families, index = [C], [np.arange(cooling_grid.size)]
    else:
        H = _standardize_rows(np.maximum(0.0, heating_grid[:, None] - temp))
        C = _standardize_rows(np.maximum(0.0, temp - cooling_grid[:, None]))
        if model == "4p":
            index = [np.arange(heating_grid.size)] * 2
            cross = np.einsum("ij,ij->i", H, C)
        else:
            index = list(np.nonzero(heating_grid[:, None] < cooling_grid[None, :]))
            if index[0].size == 0:
                raise ValueError("a 5p model needs at least two candidate balance points; "
                                 "widen the temperature range or use a finer step")
            cross = (H @ C.T)[index[0], index[1]]
        families = [H, C]
    h, q, c = len(families), B.shape[0], index[0].size
    A = np.empty((c, h + q, h + q))
    r = np.empty((c, h + q))
    A[:, h:, h:] = B @ B.T
    r[:, h:] = B @ ys
    for a, (rows, ix) in enumerate(zip(families, index)):
        A[:, a, a] = np.einsum("ij,ij->i", rows, rows)[ix]  # 1, or 0 for a zero column
        A[:, a, h:] = A[:, h:, a] = (rows @ B.T)[ix]
        r[:, a] = (rows @ ys)[ix]
    if h == 2:
        A[:, 0, 1] = A[:, 1, 0] = cross
    best = int(np.argmax(_batched_r2(A, r)))
    first = float((cooling_grid if model == "3p_cooling" else heating_grid)[index[0][best]])
    if model == "3p_heating":
        return first, None
    if model == "3p_cooling":
        return None, first
    return first, float(cooling_grid[index[1][best]])


def _standardize_rows(a: np.ndarray) -> np.ndarray:
    """Each row centred and scaled to unit length (a constant row stays 0)."""
    centred = a - a.mean(axis=1, keepdims=True)
    length = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    return centred / np.where(length > 0, length, 1.0)[:, None]


def _batched_r2(A: np.ndarray, r: np.ndarray) -> np.ndarray:
    """r' A^-1 r per candidate; -inf where A is singular (a constant column)."""
    try:
        return np.einsum("ci,ci->c", r, np.linalg.solve(A, r[..., None])[..., 0])
    except np.linalg.LinAlgError:
        out = np.full(len(A), -np.inf)
        for c in range(len(A)):
            try:
                out[c] = r[c] @ np.linalg.solve(A[c], r[c])
            except np.linalg.LinAlgError:
                pass
        return out

"""The DOE EnPI tool's regression "forecast" method, as pure functions.

The US DOE Energy Performance Indicator (EnPI) tool [1], used for Superior
Energy Performance and 50001 Ready, tracks a facility's energy performance
against a model year (here the first year, "forecast" adjustment):

1. Per energy source, fit every non-empty subset of the candidate drivers on
   the model year's rows (``regression.all_subsets``); keep the models that
   pass the validity rules (model F-test p < 0.10, every driver p <= 0.20, at
   least one driver p <= 0.10, R2 >= 0.50) and take the highest adjusted R2
   (``select_model``), or the subset the user chose if it is valid.
2. Predict each later year's energy from that year's drivers (``modeled_totals``).
3. Per year (``forecast``), with A the total actual and M the total modeled
   energy over all sources [energy unit, e.g. MMBtu]:

   - SEnPI = A / M
   - total improvement [%] = (1 - SEnPI) * 100
   - annual improvement [%] = this year's total improvement - last year's
   - savings since the model year [energy/year] = M - A (per source: M_s - A_s)
   - new savings for the year = this year's savings since the model year - last year's
   - cumulative savings = the running sum of the savings since the model year
   - adjustment for baseline primary energy use = A + (M - A) - A_model_year

   The model year's savings and improvements are 0.

References
----------
[1] US DOE Advanced Manufacturing Office, Energy Performance Indicator Tool
    (EnPI V5) and its Python re-implementation ORNL-AMO/Py-EnPI
    (``EnPI_FacilitySavings``, forecasting branch).
"""
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from .regression import (Candidate, OLSResult, all_subsets, doe_reasons, fit_ols, predict,
                         require_complete)


@dataclass(frozen=True)
class EnpiYear:
    """One year of the EnPI table; per-source tuples follow ``Forecast.sources``.
    Energies [energy unit of the inputs], improvements [%]."""
    year: int
    method: str
    actual: tuple[float, ...]
    modeled: tuple[float, ...]
    savings: tuple[float, ...]
    total_actual: float
    total_modeled: float
    senpi: float
    total_improvement_pct: float
    annual_improvement_pct: float
    savings_since_baseline: float
    new_savings: float
    cumulative_savings: float
    baseline_adjustment: float


@dataclass(frozen=True)
class Forecast:
    """The EnPI forecast table: energy sources and one ``EnpiYear`` per year."""
    sources: tuple[str, ...]
    years: tuple[EnpiYear, ...]

    def as_dict(self) -> dict:
        rows = []
        for year in self.years:
            row = asdict(year)
            for name in ("actual", "modeled", "savings"):
                row[name] = dict(zip(self.sources, row[name]))
            rows.append(row)
        return {"sources": list(self.sources), "years": rows}


def select_model(X, y, names: Sequence[str], units: Sequence[str] | None = None,
                 drivers: Sequence[str] | None = None) -> Candidate:
    """The model-year model of one energy source under the DOE EnPI rules.

    Without ``drivers``: the valid subset with the highest adjusted R2. With
    ``drivers``: that subset (as the tool lets a user choose among valid models),
    refused if it is not valid. Raises ValueError when no model is valid.

    >>> rng = np.random.default_rng(3)
    >>> x = rng.uniform(0, 100, size=(12, 2))
    >>> chosen = select_model(x, 500 + 4 * x[:, 0] + rng.normal(0, 20, 12), ["hdd", "cdd"])
    >>> chosen.ols.names, chosen.valid
    (('hdd',), True)
    """
    if drivers is None:
        ranked = all_subsets(X, y, names, units)
        if not ranked or not ranked[0].valid:
            detail = ""
            if ranked:
                best = ranked[0]
                detail = (f"; the best, {' + '.join(best.ols.names)}, fails: "
                          + " ".join(c.message for c in best.reasons))
            raise ValueError("no driver subset passes the DOE EnPI validity rules" + detail)
        return ranked[0]
    names = list(names)
    unknown = [d for d in drivers if d not in names]
    if unknown:
        raise ValueError(f"unknown drivers {', '.join(unknown)} (known: {', '.join(names)})")
    cols = [names.index(d) for d in drivers]
    X = np.asarray(X, dtype=float)
    ols = fit_ols(X[:, cols], y, list(drivers), None if units is None else [units[c] for c in cols])
    reasons = doe_reasons(ols)
    if reasons:
        raise ValueError(f"the model {' + '.join(drivers)} is not valid under the DOE EnPI "
                         "rules: " + " ".join(c.message for c in reasons))
    return Candidate(ols, ())


def modeled_totals(result: OLSResult, X, periods) -> dict:
    """Modeled energy [energy unit] summed per period label (e.g. year), in first-seen order.

    >>> x = np.arange(8.0)[:, None]
    >>> r = fit_ols(x, 10 + 2 * x[:, 0] + np.tile([0.5, -0.5], 4), ["production"])
    >>> totals = modeled_totals(r, np.array([[1.0], [2.0], [3.0]]), [2008, 2008, 2009])
    >>> {year: round(total, 2) for year, total in totals.items()}
    {2008: 26.19, 2009: 16.02}
    """
    X = np.asarray(X, dtype=float)
    periods = np.asarray(periods)
    if X.shape[0] != periods.shape[0]:
        raise ValueError(f"{X.shape[0]} rows but {periods.shape[0]} period labels")
    labels = dict.fromkeys(periods.tolist())
    return {label: predict(result, X[periods == label], autocorrelation=False).total
            for label in labels}


def forecast(years: Sequence[int], actual: Mapping[str, Sequence[float]],
             modeled: Mapping[str, Sequence[float]]) -> Forecast:
    """The EnPI forecast table from yearly actual and modeled energy per source.

    ``years[0]`` is the model year; ``actual`` and ``modeled`` map each energy
    source to one total per year [energy unit].

    >>> f = forecast([2007, 2008], {"gas": [100.0, 90.0]}, {"gas": [100.0, 96.0]})
    >>> second = f.years[1]
    >>> round(second.senpi, 4), round(second.total_improvement_pct, 2), second.cumulative_savings
    (0.9375, 6.25, 6.0)
    """
    sources = tuple(actual)
    if set(modeled) != set(sources):
        raise ValueError(f"actual sources {', '.join(sources)} differ from modeled "
                         f"{', '.join(modeled)}")
    A = np.array([actual[s] for s in sources], dtype=float)
    M = np.array([modeled[s] for s in sources], dtype=float)
    if A.shape != (len(sources), len(years)) or M.shape != A.shape:
        raise ValueError(f"every source needs one actual and one modeled total per year "
                         f"({len(years)} years)")
    for s, a_row, m_row in zip(sources, A, M):
        require_complete(a_row, f"actual {s}")
        require_complete(m_row, f"modeled {s}")
    total_a, total_m = A.sum(axis=0), M.sum(axis=0)
    senpi = total_a / total_m
    improvement = (1 - senpi) * 100
    improvement[0] = 0.0
    savings = M - A
    savings[:, 0] = 0.0
    since = total_m - total_a
    since[0] = 0.0
    cumulative = np.cumsum(since)
    new = np.diff(since, prepend=0.0)
    annual = np.diff(improvement, prepend=0.0)
    adjustment = total_a + since - total_a[0]
    rows = tuple(EnpiYear(
        year=int(year), method="model year" if i == 0 else "forecast",
        actual=tuple(A[:, i].tolist()), modeled=tuple(M[:, i].tolist()),
        savings=tuple(savings[:, i].tolist()), total_actual=float(total_a[i]),
        total_modeled=float(total_m[i]), senpi=float(senpi[i]),
        total_improvement_pct=float(improvement[i]), annual_improvement_pct=float(annual[i]),
        savings_since_baseline=float(since[i]), new_savings=float(new[i]),
        cumulative_savings=float(cumulative[i]), baseline_adjustment=float(adjustment[i]))
        for i, year in enumerate(years))
    return Forecast(sources, rows)

"""Heating and cooling degree days from daily mean outdoor air temperature.

Per ASHRAE Guideline 14 and ISO 15927-6 (daily-mean method): for a day with
mean outdoor air temperature Tmean and base (balance-point) temperature Tbase,
HDD = max(0, Tbase - Tmean) and CDD = max(0, Tmean - Tbase). A missing
temperature gives a missing degree day (NaN), never 0 (DESIGN rule 5).

>>> heating(np.array([5.0, 20.0, np.nan]), 18.0)
array([13.,  0., nan])
"""
import numpy as np


def heating(mean_temp_c: np.ndarray, base_temp_c: float) -> np.ndarray:
    """Heating degree days [K day] per day from daily mean temperature [C]."""
    return np.where(np.isnan(mean_temp_c), np.nan, np.maximum(0.0, base_temp_c - mean_temp_c))


def cooling(mean_temp_c: np.ndarray, base_temp_c: float) -> np.ndarray:
    """Cooling degree days [K day] per day from daily mean temperature [C]."""
    return np.where(np.isnan(mean_temp_c), np.nan, np.maximum(0.0, mean_temp_c - base_temp_c))

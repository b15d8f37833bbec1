"""CUSUM: the running sum in energy units and the tabular alarm scheme,
checked against the published average run lengths (Montgomery, Introduction
to Statistical Quality Control, 6th ed., Table 9.3: k = 1/2)."""
import numpy as np
import pytest

from engine import cusum


def test_running_sum_is_in_energy_units_and_falls_with_savings():
    actual = np.array([95.0, 96.0, 94.0])
    expected = np.array([100.0, 100.0, 100.0])
    assert cusum.running(actual, expected).tolist() == [-5.0, -9.0, -15.0]


def test_running_refuses_missing_values():
    with pytest.raises(ValueError, match="leave incomplete intervals out"):
        cusum.running([1.0, np.nan], [1.0, 1.0])


def _run_lengths(shift, h, runs, seed):
    rng = np.random.default_rng(seed)
    lengths = []
    for _ in range(runs):
        z = rng.normal(shift, 1.0, 400)
        result = cusum.tabular(z, k=0.5, h=h)
        first = result.first_alarm()
        while first is None:  # rare long runs: extend
            z = np.concatenate([z, rng.normal(shift, 1.0, 400)])
            first = cusum.tabular(z, k=0.5, h=h).first_alarm()
        lengths.append(first + 1)
    return np.array(lengths)


@pytest.mark.parametrize("shift, h, published", [(1.0, 5.0, 10.4), (1.0, 4.0, 8.38),
                                                  (0.5, 4.0, 26.6), (2.0, 5.0, 4.01)])
def test_average_run_length_matches_the_published_table(shift, h, published):
    lengths = _run_lengths(shift, h, runs=3000, seed=int(10 * shift + h))
    standard_error = lengths.std() / np.sqrt(len(lengths))
    assert abs(lengths.mean() - published) < 4 * standard_error + 0.02 * published


def test_in_control_false_alarm_rate_matches_the_published_table():
    # Two-sided, k = 1/2, h = 4: ARL0 = 168 intervals.
    lengths = _run_lengths(0.0, 4.0, runs=1500, seed=3)
    assert 168 * 0.85 < lengths.mean() < 168 * 1.15


def test_alarm_direction_and_restart():
    z = np.concatenate([np.zeros(5), np.full(10, 2.0), np.full(10, -2.0)])
    result = cusum.tabular(z)
    assert result.first_alarm("up") == 8          # 1.5 per step: 4.5 after 3, 6.0 after 4
    assert result.first_alarm("down") == 18
    assert [d for _, d in result.alarms].count("up") >= 2  # a lasting shift alarms again


def test_bad_parameters_refused():
    with pytest.raises(ValueError):
        cusum.tabular([0.0], k=-1)
    with pytest.raises(ValueError):
        cusum.standardise([1.0], [1.0], 0.0)

"""``baselines.predict``: a stored baseline's expected energy and prediction
interval for driver values given by the caller (the live check of today so
far, ``engine.realtime``), the same figures ``baselines.expected`` reports for
the same days of the demo factory: for a linear model and a change-point
model, before and after a static adjustment."""
from datetime import date

import numpy as np
import pytest

from conftest import BACKENDS, demo_database
from engine import baselines

MARCH = date(2025, 3, 1), date(2025, 3, 31)
SEUS = (("Compressor-1", "electricity"), ("Boiler-1", "natural_gas"))


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (opened, _, _url):
        yield opened


def march_drivers(store, equipment: str, source: str) -> dict:
    """The model's driver values of March's complete days, by name, as
    ``expected`` reads them (the daily mean temperature under the weather
    driver's name for a change-point model)."""
    spec = baselines.get(store, equipment, source)["spec"]
    weather = spec.get("temperature_driver")
    frame = baselines.build_frame(store, equipment, source, *MARCH, spec["drivers"],
                                  spec["interval"], weather)
    return {**frame.drivers, **({weather: frame.temperature_c} if weather else {})}


def assert_same_as_expected(store, equipment: str, source: str) -> None:
    reported = baselines.expected(store, equipment, source, *MARCH)["rows"]
    predicted = baselines.predict(baselines.get(store, equipment, source),
                                  march_drivers(store, equipment, source))
    assert len(reported) > 20
    for key in ("expected", "lower", "upper"):
        np.testing.assert_allclose(predicted[key], [r[key] for r in reported], rtol=1e-12)


@pytest.mark.parametrize("equipment,source", SEUS)
def test_predict_gives_the_expected_energy_and_interval_expected_reports(store, equipment,
                                                                         source):
    kind = baselines.get(store, equipment, source)["spec"]["kind"]
    assert kind == ("linear" if source == "electricity" else "4p")
    assert_same_as_expected(store, equipment, source)


def test_one_day_from_plain_numbers_is_that_row_and_wider_interval_at_lower_alpha(store):
    equipment, source = SEUS[1]
    baseline = baselines.get(store, equipment, source)
    drivers = march_drivers(store, equipment, source)
    all_days = baselines.predict(baseline, drivers)
    one = baselines.predict(baseline, {name: float(v[3]) for name, v in drivers.items()})
    for key in ("expected", "lower", "upper"):
        assert one[key].shape == (1,)
        assert one[key][0] == pytest.approx(all_days[key][3], rel=1e-12)
    wide = baselines.predict(baseline, {name: float(v[3]) for name, v in drivers.items()},
                             alpha=0.01)
    assert wide["expected"][0] == pytest.approx(one["expected"][0], rel=1e-12)
    assert wide["lower"][0] < one["lower"][0] < one["expected"][0] < one["upper"][0] \
        < wide["upper"][0]


def test_a_static_adjustment_changes_predict_as_it_changes_expected(store):
    equipment, source = SEUS[0]
    before = baselines.predict(baselines.get(store, equipment, source),
                               march_drivers(store, equipment, source))
    baselines.adjust(store, equipment, source, reason="second shift added",
                     adjustment_type="static_factor", static_scale=1.1, static_add=25.0)
    after = baselines.predict(baselines.get(store, equipment, source),
                              march_drivers(store, equipment, source))
    np.testing.assert_allclose(after["expected"], before["expected"] * 1.1 + 25.0, rtol=1e-12)
    assert_same_as_expected(store, equipment, source)

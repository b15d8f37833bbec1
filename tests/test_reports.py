"""Period reports on the demo factory: figures, CUSUM alarms and storage."""
from datetime import date, timedelta

import pytest

from conftest import BACKENDS, fresh_database, open_store
from engine import baselines, reports
from engine.demo import build_demo, train_demo_baselines


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"reports-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENMS_DATA_DIR", str(directory))
        with fresh_database(request.param, directory) as url, open_store(url) as store:
            truth = build_demo(store, seed=42)
            train_demo_baselines(store)
            yield store, truth


def _effect(truth, kind):
    return next(e for e in truth["effects"] if e["type"] == kind)


def test_report_figures_are_consistent(demo):
    store, _ = demo
    r = reports.build(store, "Compressor-1", "electricity", date(2025, 3, 1), date(2025, 3, 31))
    assert r["baseline_version"] == 1 and r["period"] == "2025-03"
    assert r["lower"] < r["expected"] < r["upper"]
    assert r["deviation"] == pytest.approx(r["actual"] - r["expected"])
    assert r["senpi"] == pytest.approx(r["actual"] / r["expected"])
    assert r["actual_kwh"] == pytest.approx(r["actual"] * r["kwh_per_unit"])
    # Energy per unit produced, and kWh per Nm3 from the compressed-air output meter.
    names = [e["name"] for e in r["enpi"] + r["output_indicators"]]
    assert "kWh per units production_count" in names
    assert "kWh per Nm3 compressed_air" in names
    air = next(o for o in r["output_indicators"] if o["name"] == "kWh per Nm3 compressed_air")
    assert 0.09 < air["value"] < 0.13  # the generator's 0.11 kWh/Nm3


def test_cusum_alarms_find_the_injected_effects_in_time(demo):
    store, truth = demo
    leak = _effect(truth, "step")
    equipment, source = leak["seu"].split("/")
    r = reports.build(store, equipment, source, date(2025, 10, 1), date(2025, 10, 31))
    first_up = next(a for a in r["cusum"]["alarms"] if a["direction"] == "up")
    start = date.fromisoformat(leak["start"])
    assert start <= date.fromisoformat(str(first_up["week_of"])) + timedelta(days=6) \
        <= start + timedelta(days=31)
    fouling = _effect(truth, "degradation")
    equipment, source = fouling["seu"].split("/")
    r = reports.build(store, equipment, source, date(2025, 10, 1), date(2025, 10, 31))
    first_up = next(a for a in r["cusum"]["alarms"] if a["direction"] == "up")
    start = date.fromisoformat(fouling["start"])
    assert start <= date.fromisoformat(str(first_up["week_of"])) <= start + timedelta(days=61)
    # Savings show as a falling CUSUM in energy units.
    saving = _effect(truth, "savings")
    equipment, source = saving["seu"].split("/")
    r = reports.build(store, equipment, source, date(2025, 10, 1), date(2025, 10, 31))
    assert r["cusum"]["to_date"] < 0


def test_rerun_replaces_and_adjustment_keeps_history(demo):
    store, _ = demo
    first, last = date(2025, 2, 1), date(2025, 2, 28)
    reports.generate(store, "Autoclave-1", "steam", first, last)
    reports.generate(store, "Autoclave-1", "steam", first, last)
    assert len(reports.stored(store, "Autoclave-1", "steam", "2025-02")) == 1
    baselines.adjust(store, "Autoclave-1", "steam", reason="new insulation", static_scale=0.97,
                     adjustment_type="equipment_upgrade")
    newer = reports.generate(store, "Autoclave-1", "steam", first, last)
    history = reports.stored(store, "Autoclave-1", "steam", "2025-02", include_superseded=True)
    assert [(h["status"], h["baseline_version"]) for h in history] == [
        ("current", newer["baseline_version"]), ("superseded", 1)]
    assert newer["expected"] == pytest.approx(0.97 * history[1]["expected"])


def test_report_refuses_the_baseline_period(demo):
    store, _ = demo
    with pytest.raises(Exception, match="overlaps the baseline period"):
        reports.build(store, "Compressor-1", "electricity", date(2024, 6, 1), date(2024, 6, 30))

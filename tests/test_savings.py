"""Savings on the demo factory: avoided energy against the ground truth, units,
totals, uncertainty, SEUs without a baseline, and ``enms savings``."""
import json
import math
from datetime import date

import pytest

from conftest import BACKENDS, demo_database
from engine import catalog, savings
from engine.cli.main import main

JAN, OCT = date(2025, 1, 1), date(2025, 10, 31)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, truth, url):
        yield store, truth, url


@pytest.fixture(scope="module")
def result(demo):
    store, _, _ = demo
    return savings.compute(store, JAN, OCT)


def _by_seu(result):
    return {r["seu"].replace(" ", "/"): r for r in result["seus"]}


def test_savings_match_the_ground_truth(demo, result):
    _, truth, _ = demo
    rows = _by_seu(result)
    assert len(rows) == 9 and all(r["status"] == "ok" for r in rows.values())
    effects = {e["seu"]: e for e in truth["effects"]}
    for key, row in rows.items():
        p = row["period"]
        band = p["uncertainty"]["95"]["band"]
        effect = effects.get(key)
        if effect is None:  # no change in energy performance: zero within the band
            assert abs(p["avoided"]) < band, key
        elif effect["type"] == "savings":  # 3 %, 2 % and 4 % saved
            assert p["avoided_pct"] == pytest.approx(-effect["size_pct"], abs=0.5), key
            assert p["avoided"] - band > 0, key  # significant at 95 %
            true = -effect["size_pct"] / 100 * p["expected"]
            assert abs(p["avoided"] - true) < band, key
        else:  # the air leak and the coil fouling: energy lost
            assert p["avoided"] + band < 0, key
    leak = next(e for e in truth["effects"] if e["type"] == "step")
    days = (OCT - date.fromisoformat(leak["start"])).days + 1
    lost = -rows[leak["seu"]]["period"]["avoided"]
    assert lost == pytest.approx(days * leak["size_per_day"], rel=0.1)


def test_units_money_and_co2_follow_the_catalog(demo, result):
    store, _, _ = demo
    sources = {s["name"]: s for s in catalog.list_entries(store, "energy source")}
    for row in result["seus"]:
        src, p = sources[row["source"]], row["period"]
        assert row["currency"] == src["currency"]
        assert p["avoided_kwh"] == pytest.approx(p["avoided"] * src["kwh_per_unit"])
        assert p["avoided_mwh"] == pytest.approx(p["avoided_kwh"] / 1000)
        assert p["money"] == pytest.approx(p["avoided"] * src["tariff_per_unit"])
        assert p["co2_t"] == pytest.approx(p["avoided"] * src["co2_kg_per_unit"] / 1000)
        assert p["avoided"] == pytest.approx(p["expected"] - p["actual"])
        u = p["uncertainty"]
        assert u["95"]["band"] > u["68"]["band"] > 0
        assert u["68"]["fsu"] == pytest.approx(u["68"]["band"] / abs(p["avoided"]))
        assert u["95"]["band_money"] == pytest.approx(u["95"]["band"] * src["tariff_per_unit"])


def test_totals_add_kwh_and_combine_uncertainty_in_quadrature(result):
    rows = [r for r in result["seus"] if r["status"] == "ok"]
    total = result["total"]["period"]
    assert total["avoided_kwh"] == pytest.approx(sum(r["period"]["avoided_kwh"] for r in rows))
    assert total["co2_t"] == pytest.approx(sum(r["period"]["co2_t"] for r in rows))
    assert total["money"] == {"EUR": pytest.approx(sum(r["period"]["money"] for r in rows))}
    assert total["uncertainty"]["95"]["band_kwh"] == pytest.approx(math.sqrt(sum(
        r["period"]["uncertainty"]["95"]["band_kwh"] ** 2 for r in rows)))
    assert "avoided" not in total  # native units of different sources never add
    assert "quadrature" in result["uncertainty_note"]
    by_source = {b["source"]: b for b in result["by_source"]}
    assert set(by_source) == {"electricity", "natural_gas", "steam"}
    electricity = [r for r in rows if r["source"] == "electricity"]
    assert by_source["electricity"]["period"]["avoided"] == pytest.approx(
        sum(r["period"]["avoided"] for r in electricity))
    assert sum(b["period"]["avoided_kwh"] for b in by_source.values()) == pytest.approx(
        total["avoided_kwh"])


def test_compressed_air_output_is_never_consumption(result):
    assert result["not_counted"]["meters"] == ["M-Compressor-1-CA"]
    assert all(r["source"] != "compressed_air" for r in result["seus"])
    assert all(b["source"] != "compressed_air" for b in result["by_source"])


def test_cumulative_runs_from_the_day_after_the_baseline(demo, result):
    store, _, _ = demo
    part = savings.compute(store, date(2025, 7, 1), OCT, equipment="Boiler-1",
                           source="natural_gas")
    (row,) = part["seus"]
    assert row["since"] == JAN and row["period"]["first"] == date(2025, 7, 1)
    whole = _by_seu(result)["Boiler-1/natural_gas"]["period"]
    assert row["cumulative"]["avoided"] == pytest.approx(whole["avoided"])
    assert 0 < row["period"]["avoided"] < row["cumulative"]["avoided"]
    # A period reaching into the baseline year counts from the day after it.
    early = savings.compute(store, date(2024, 7, 1), OCT, equipment="Boiler-1")
    assert early["seus"][0]["clipped"] and early["seus"][0]["period"]["first"] == JAN
    inside = savings.compute(store, date(2024, 1, 1), date(2024, 12, 31), source="steam")
    assert inside["seus"][0]["status"] == "period within the baseline period"


def test_period_only_gives_the_same_period_figures(demo):
    """cumulative=False (the voice answer) leaves the since-baseline figures
    out and changes nothing else."""
    store, _, _ = demo
    both = savings.compute(store, date(2025, 7, 1), OCT)
    period_only = savings.compute(store, date(2025, 7, 1), OCT, cumulative=False)
    assert [r["period"] for r in period_only["seus"]] == [r["period"] for r in both["seus"]]
    assert all(r["cumulative"] is None for r in period_only["seus"])
    assert period_only["total"]["period"] == both["total"]["period"]
    assert period_only["total"]["cumulative"] is None
    assert [b["period"] for b in period_only["by_source"]] == \
        [b["period"] for b in both["by_source"]]


def test_enms_savings_json_parses(demo, capsys):
    _, _, url = demo
    assert main(["--db", url, "savings", "--from", "2025-01-01", "--to", "2025-10-31",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"] == "2025-01-01..2025-10-31" and len(data["seus"]) == 9
    assert main(["--db", url, "savings", "--seu", "Conveyor-A", "--source", "electricity"]) == 0
    out = capsys.readouterr().out
    assert "Conveyor-A electricity" in out and "quadrature" in out
    # No period: the year of the latest data, to its last day.
    assert main(["--db", url, "savings", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"] == "2025-01-01..2025-10-31"
    assert main(["--db", url, "savings", "--to", "2025-10-31"]) == 2


def test_seus_without_a_baseline_are_listed(demo):
    store, _, _ = demo
    catalog.add_equipment(store, "Spare-Pump", "pump", 15.0)
    catalog.add_seu(store, "Spare-Pump", "electricity")
    result = savings.compute(store, JAN, OCT)
    assert result["without_baseline"] == ["Spare-Pump electricity"]
    spare = _by_seu(result)["Spare-Pump/electricity"]
    assert spare["status"] == "no active baseline" and "period" not in spare
    assert result["total"]["period"]["seus"] == 9

"""`enms baseline ...` as a user runs it: real processes against an SQLite demo
built once with `enms demo` (which trains every SEU on 2024)."""
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("baseline-cli")
    built = enms(directory, "demo", "--json", expect=0)
    assert len(json.loads(built.stdout)["baselines"]) == 9
    return directory


def enms(directory, *args, expect=None):
    env = {**os.environ, "ENMS_DATA_DIR": str(directory / "data")}
    env.pop("ENMS_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "engine.cli", "--db",
                             str(directory / "demo.sqlite"), *args],
                            capture_output=True, text=True, env=env, timeout=120)
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    return result


def as_json(directory, *args):
    return json.loads(enms(directory, *args, "--json", expect=0).stdout)


def one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("enms: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_train_json_reports_formula_r2_statistics(demo_dir):
    trained = as_json(demo_dir, "baseline", "train", "Compressor-1", "--source", "electricity",
                      "--period", "2024")
    assert (trained["version"], trained["status"]) == (2, "candidate")  # the demo's v1 stays active
    assert trained["formula"].startswith("Energy [kWh/day] = ")
    assert "x production_count [units]" in trained["formula"]
    st = trained["statistics"]
    for key in ("intercept", "coefficients", "standard_errors", "t_values", "p_values", "r2",
                "adj_r2", "f_p_value", "rmse", "cv_rmse_pct", "nmbe_pct", "n", "df_resid",
                "autocorrelation_lag1", "vif"):
        assert st[key] is not None, key
    assert st["names"] == ["production_count"] and st["n"] == trained["n_used"] == 366
    assert trained["r2"] == st["r2"] and 0.9 < trained["r2"] < 0.99
    assert abs(st["coefficients"][0] - 0.40) < 4 * st["standard_errors"][0]  # the generator's slope
    assert isinstance(trained["warnings"], list) and trained["ranking"]
    # The same data and selection give the demo's own version 1, number for number.
    shown = as_json(demo_dir, "baseline", "show", "Compressor-1", "--source", "electricity",
                    "--version", "1")
    assert shown["status"] == "active"
    assert (shown["formula"], shown["statistics"]) == (trained["formula"], st)


def test_unknown_driver_names_the_known_ones(demo_dir):
    known = [d["name"] for d in as_json(demo_dir, "catalog", "list", "drivers")]
    assert len(known) == 7
    for bad in ("speed_rpm", "x; DROP TABLE seus"):
        result = enms(demo_dir, "baseline", "train", "Conveyor-A", "--source", "electricity",
                      "--period", "2024", "--drivers", f"production_count,{bad}", expect=2)
        line = one_line_error(result)
        assert repr(bad) in line
        assert all(name in line.split("known: ")[1] for name in known)
    assert len(as_json(demo_dir, "catalog", "list", "seus")) == 9
    history = as_json(demo_dir, "baseline", "history", "Conveyor-A", "--source", "electricity")
    assert [h["version"] for h in history] == [1]


def test_expected_prints_actual_expected_deviation(demo_dir):
    args = ("baseline", "expected", "Boiler-1", "--source", "natural_gas", "--period", "2025-03")
    numbers = as_json(demo_dir, *args)
    assert numbers["period"] == "2025-03" and numbers["intervals_used"] == 31
    assert len(numbers["rows"]) == 31
    assert all(r["lower"] < r["expected"] < r["upper"] for r in numbers["rows"])
    assert numbers["significant"] and -5.0 < numbers["deviation_pct"] < -3.0  # 4 % burner savings
    text = enms(demo_dir, *args, expect=0).stdout
    assert f"actual {numbers['actual']:,.1f} m3" in text
    assert f"expected {numbers['expected']:,.1f} m3" in text
    assert f"95 % interval {numbers['lower']:,.1f} to {numbers['upper']:,.1f}" in text
    assert f"deviation {numbers['deviation']:+,.1f} m3 ({numbers['deviation_pct']:+.1f} %)" in text
    assert "significant" in text


def test_adjust_needs_a_reason_then_history_shows_the_chain(demo_dir):
    seu = ("Hydraulic-Pump-1", "--source", "electricity")
    candidate = as_json(demo_dir, "baseline", "train", *seu, "--from", "2024-01-01",
                        "--to", "2024-06-30", "--drivers", "operating_hours")
    assert (candidate["version"], candidate["status"]) == (2, "candidate")
    adopt = ("--version", "2", "--type", "equipment_upgrade")

    missing = enms(demo_dir, "baseline", "adjust", *seu, *adopt, expect=2)
    assert "--reason" in missing.stderr and "Traceback" not in missing.stderr
    blank = enms(demo_dir, "baseline", "adjust", *seu, *adopt, "--reason", "  ", expect=2)
    assert "needs a reason" in one_line_error(blank)
    wrong = enms(demo_dir, "baseline", "adjust", *seu, "--type", "static_factor",
                 "--reason", "odd", "--static-scale", "0", expect=2)
    assert "above 0" in one_line_error(wrong)
    before = as_json(demo_dir, "baseline", "history", *seu)
    assert [(h["version"], h["status"]) for h in before] == [(1, "active"), (2, "candidate")]

    adopted = as_json(demo_dir, "baseline", "adjust", *seu, *adopt, "--reason",
                      "pump controller replaced", "--by", "e.engineer",
                      "--approved-by", "p.manager")
    assert (adopted["version"], adopted["status"], adopted["adjustment_type"],
            adopted["approved_by"], adopted["trained_by"]) == (
        3, "active", "equipment_upgrade", "p.manager", "e.engineer")
    static = as_json(demo_dir, "baseline", "adjust", *seu, "--type", "static_factor",
                     "--reason", "second press added", "--static-scale", "1.05")
    assert static["version"] == 4 and static["static_adjustment"]["scale"] == 1.05

    history = as_json(demo_dir, "baseline", "history", *seu)
    assert [(h["version"], h["status"], h["parent_version"]) for h in history] == [
        (1, "superseded", None), (2, "superseded", None), (3, "superseded", 2), (4, "active", 3)]
    text = enms(demo_dir, "baseline", "history", *seu, expect=0).stdout
    assert "Hydraulic-Pump-1 electricity baseline history" in text
    # (Piped output is 160 columns wide: long cells wrap, so single words are looked for.)
    for word in ("superseded", "active", "equipment_upgrade", "static_factor", "controller",
                 "e.engineer"):
        assert word in text, word
    # The version an old report used still answers.
    old = as_json(demo_dir, "baseline", "expected", *seu, "--period", "2025-03", "--version", "1")
    now = as_json(demo_dir, "baseline", "expected", *seu, "--period", "2025-03")
    assert (old["baseline_version"], now["baseline_version"]) == (1, 4)

"""The `enms` command as a user runs it: a real process, exit codes, one-line errors."""
import json
import os
import subprocess
import sys

import pytest


def enms(tmp_path, *args, expect=None):
    env = {**os.environ, "ENMS_DATA_DIR": str(tmp_path / "data")}
    env.pop("ENMS_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "engine.cli", "--db", str(tmp_path / "cli.sqlite"),
                             *args], capture_output=True, text=True, env=env, timeout=120)
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    return result


def one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("enms: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def gas_plant(tmp_path):
    enms(tmp_path, "catalog", "add", "site", "Plant", "--timezone", "Europe/Berlin", expect=0)
    enms(tmp_path, "catalog", "add", "source", "natural_gas", "--unit", "m3", "--kwh-per-unit",
         "10.55", "--column", "consumption_m3:m3:energy", "--column", "pressure_bar:bar", expect=0)
    enms(tmp_path, "catalog", "add", "equipment", "Boiler-1", "--type", "boiler", expect=0)
    enms(tmp_path, "catalog", "add", "meter", "M-B1", "--equipment", "Boiler-1",
         "--source", "natural_gas", expect=0)
    enms(tmp_path, "catalog", "add", "seu", "Boiler-1", "--source", "natural_gas", expect=0)
    return tmp_path


def test_hostile_names_refused_in_one_line(tmp_path):
    result = enms(tmp_path, "catalog", "add", "source", "x; DROP TABLE seus", "--unit", "m3",
                  "--kwh-per-unit", "1", "--column", "c:m3:energy", expect=2)
    assert "invalid energy source name" in one_line_error(result)
    listing = enms(tmp_path, "catalog", "list", "sources", "--json", expect=0)
    assert json.loads(listing.stdout) == []


def test_unknown_names_listed(gas_plant):
    result = enms(gas_plant, "catalog", "show", "seu", "Boiler-2", "--source", "natural_gas", expect=2)
    assert "Boiler-1 natural_gas" in one_line_error(result)


def test_missing_file_is_one_line(gas_plant):
    result = enms(gas_plant, "import", "readings", str(gas_plant / "nope.csv"),
                  "--source", "natural_gas", expect=2)
    assert "no such file" in one_line_error(result)


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_reports_rejects_with_lines_and_exit_3(gas_plant):
    csv_path = _write(gas_plant / "gas.csv", [
        "timestamp,meter,consumption_m3,pressure_bar",
        "2025-01-06 00:00,M-B1,10.5,2.0",
        "2025-01-06 01:00,M-B1,11.0,2.0",
        "2025-01-06 02:00,M-B1,eleven,2.0",
        "2025-01-06 03:00,M-B2,9.0,2.0",
        "2025-01-06 04:00,M-B1,12.0,2.1",
    ])
    result = enms(gas_plant, "--json", "import", "readings", str(csv_path),
                  "--source", "natural_gas", expect=3)
    report = json.loads(result.stdout)
    assert report["rows_inserted"] == 3
    assert {(r["line"], r["reason"].split(":")[0]) for r in report["rejects"]} == {
        (4, "consumption_m3"), (5, "unknown natural_gas meter 'M-B2' (known")}
    rejects = (gas_plant / "gas.csv.rejects.csv").read_text().splitlines()
    assert rejects[0].startswith("line,reason,timestamp")
    assert [r.split(",")[0] for r in rejects[1:]] == ["4", "5"]
    # Running it again loads nothing new and counts the duplicates.
    again = json.loads(enms(gas_plant, "--json", "import", "readings", str(csv_path),
                            "--source", "natural_gas", expect=3).stdout)
    assert (again["rows_inserted"], again["rows_duplicate"]) == (0, 3)


def test_strict_import_loads_nothing(gas_plant):
    csv_path = _write(gas_plant / "gas.csv", [
        "timestamp,meter,consumption_m3,pressure_bar",
        "2025-01-06 00:00,M-B1,10.5,2.0",
        "2025-01-06 01:00,M-B1,-1,2.0",
    ])
    result = enms(gas_plant, "import", "readings", str(csv_path), "--source", "natural_gas",
                  "--strict", expect=2)
    assert "line 3" in result.stderr and "negative" in result.stderr
    status = json.loads(enms(gas_plant, "status", "--json", expect=0).stdout)
    assert status["readings"]["natural_gas_readings"]["rows"] == 0


def test_rollup_json_monthly(gas_plant):
    lines = ["timestamp,meter,consumption_m3,pressure_bar"]
    lines += [f"2025-02-{d:02d},M-B1,{100 + d},2.0" for d in range(1, 29)]
    enms(gas_plant, "import", "readings", str(_write(gas_plant / "daily.csv", lines)),
         "--source", "natural_gas", expect=0)
    rows = json.loads(enms(gas_plant, "rollup", "--seu", "Boiler-1", "--source", "natural_gas",
                           "--from", "2025-02-01", "--to", "2025-03-31", "--interval", "month",
                           "--json", expect=0).stdout)
    assert rows[0] == {"month": "2025-02", "energy": sum(100 + d for d in range(1, 29)),
                       "completeness": 1.0}
    # March has no data: missing, not zero.
    assert rows[1]["month"] == "2025-03" and rows[1]["energy"] is None


def test_demo_twice_is_safe(tmp_path):
    first = json.loads(enms(tmp_path, "demo", "--json", expect=0).stdout)
    assert first["catalog"]["seu"] == 9
    assert os.path.exists(first["ground_truth"])
    # The reporting period's alerts are raised (sent to nobody), so "any
    # alerts" has answers; a second run updates them, never doubles them.
    assert first["alerts"]["open"] > first["alerts"]["critical"] > 0
    second = json.loads(enms(tmp_path, "demo", "--json", expect=0).stdout)
    assert second["readings"] == first["readings"]
    assert second["alerts"] == first["alerts"]


def test_catalog_changes_at_run_time(gas_plant):
    changed = json.loads(enms(gas_plant, "catalog", "set", "source", "natural_gas",
                              "tariff_per_unit=0.61", "co2_kg_per_unit=2.0", "--json",
                              expect=0).stdout)
    assert (changed["tariff_per_unit"], changed["co2_kg_per_unit"]) == (0.61, 2.0)
    # Renaming would orphan history; the refusal names what can change.
    refused = enms(gas_plant, "catalog", "set", "source", "natural_gas", "name=gas", expect=2)
    assert "tariff_per_unit" in one_line_error(refused)
    enms(gas_plant, "catalog", "add", "column", "natural_gas", "flow_rate_m3h", "--unit", "m3/h",
         expect=0)
    shown = json.loads(enms(gas_plant, "catalog", "show", "source", "natural_gas", "--json",
                            expect=0).stdout)
    assert [c["name"] for c in shown["columns"]] == ["consumption_m3", "pressure_bar", "flow_rate_m3h"]
    csv_path = _write(gas_plant / "flow.csv", ["timestamp,meter,consumption_m3,flow_rate_m3h",
                                                "2025-01-06 00:00,M-B1,10.5,10.5",
                                                "2025-01-06 01:00,M-B1,10.5,"])
    enms(gas_plant, "import", "readings", str(csv_path), "--source", "natural_gas", expect=0)
    hours = json.loads(enms(gas_plant, "rollup", "--meter", "M-B1", "--from", "2025-01-06",
                            "--to", "2025-01-06", "--interval", "hour", "--json", expect=0).stdout)
    assert [h["energy"] for h in hours[:3]] == [10.5, 10.5, None]
    assert hours[0]["hour"] == "2025-01-06T00:00+01:00" and len(hours) == 24


# --- enms ask / enms chat -----------------------------------------------------------------------

def test_ask_refuses_a_bad_bus_or_language_in_one_line(tmp_path):
    line = one_line_error(enms(tmp_path, "ask", "--bus", "http://127.0.0.1:8181", "hi", expect=2))
    assert "--bus 'http://127.0.0.1:8181': expected ws://host:port" in line
    line = one_line_error(enms(tmp_path, "ask", "--lang", "xx-yy", "hi", expect=2))
    assert "--lang xx-yy" in line and "en-us" in line


def test_ask_says_when_no_bus_answers(tmp_path):
    import socket
    with socket.socket() as probe:       # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = one_line_error(enms(tmp_path, "chat", "--bus", f"ws://127.0.0.1:{port}", expect=2))
    assert line == f"enms: error: no OVOS messagebus answers at ws://127.0.0.1:{port} (waited 5 s)"


def test_ask_json_lines_in_process(tmp_path):
    """One JSON object per stdin line; nothing matched is intent null and the
    locale's not-understood line, not a crash; standard error stays empty."""
    pytest.importorskip("ovoscope")
    env = {**os.environ, "ENMS_DATA_DIR": str(tmp_path / "data")}
    env.pop("ENMS_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "engine.cli", "--db", str(tmp_path / "cli.sqlite"),
                           "ask", "--lang", "en-us", "--json", "-"],
                          input="what can you do\nflibber the quux\n",
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # no OVOS log lines or deprecation notices for the user
    helped, nonsense = [json.loads(line) for line in done.stdout.splitlines()]
    assert helped["intent"] == "help" and helped["speech"]
    assert nonsense["intent"] is None and nonsense["question"] is None
    from engine.cli.chat import not_understood_line
    assert nonsense["speech"] == not_understood_line("en-us") != ""
    assert set(helped) == set(nonsense) >= {"utterance", "intent", "slots", "seu", "energy_source",
                                            "drivers", "period", "question", "speech", "result"}

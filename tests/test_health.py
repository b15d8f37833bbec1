"""``enms health``: the database, every meter's last data, the last backup, the broker."""
import json
import socket
from datetime import datetime

import numpy as np

from engine import backup, health, ingest, readings
from engine.catalog import get_energy_source
from engine.cli.main import main

from conftest import open_store

T = 1748851200  # 2025-06-02 08:00 UTC


def one_hour(store, meter_id=1, ts=T):
    src = get_energy_source(store, "electricity")
    with store.begin() as conn:
        ingest.load_readings(conn, src, readings.Batch(
            np.array([meter_id]), np.array([ts]), np.array([3600]),
            {"consumption_kwh": np.array([40.0]), "power_kw": np.array([40.0])}))


def test_meters_are_silent_after_three_intervals_and_never_read_is_said(store, plant):
    plant(store)
    one_hour(store)
    end = T + 3600
    report = health.check(store, now_s=end + 3 * 3600)
    by_meter = {m["meter"]: m for m in report["meters"]}
    assert by_meter["M-Compressor-1"]["status"] == "ok"
    assert by_meter["M-Compressor-1"]["last_reading_end"] == "2025-06-02T09:00:00Z"
    assert by_meter["M-Boiler-1-NG"]["detail"] == "no readings yet"      # not "silent since 1970"
    assert by_meter["M-Boiler-1-NG"]["age_s"] is None
    assert report["status"] == "warning"
    later = health.check(store, now_s=end + 3 * 3600 + 1)
    assert {m["meter"]: m["status"] for m in later["meters"]}["M-Compressor-1"] == "warning"


def test_backup_older_than_a_day_warns(store, plant, tmp_path):
    plant(store)
    assert health.last_backup(tmp_path, T)["status"] == "warning"     # none yet
    backup.backup(store, tmp_path / "enms-today.enmsbak")
    made = backup.read_manifest(tmp_path / "enms-today.enmsbak")["created_at"]
    at = datetime.fromisoformat(made).timestamp()
    assert health.last_backup(tmp_path, at + 3600)["status"] == "ok"
    old = health.last_backup(tmp_path, at + 27 * 3600)
    assert old["status"] == "warning" and "27.0 h ago" in old["detail"]
    (tmp_path / "broken.enmsbak").write_bytes(b"not a zip")
    assert health.last_backup(tmp_path, at)["status"] == "failed"


def test_cli_exit_codes(db_url, plant, capsys):
    with open_store(db_url) as store:
        plant(store)
    assert main(["--db", db_url, "--json", "health"]) == 3           # meters without data
    report = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in report["checks"]] == ["database", "meters"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]   # nothing listens there once the socket is closed
    assert main(["--db", db_url, "--json", "health", "--mqtt", f"mqtt://127.0.0.1:{closed}"]) == 2
    broker = json.loads(capsys.readouterr().out)["checks"][-1]
    assert broker["check"] == "broker" and broker["status"] == "failed"

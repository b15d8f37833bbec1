"""``enms service install``: systemd units that systemd accepts and whose jobs run."""
import os
import shutil
import subprocess
import sys
from datetime import date

from engine.cli import service
from engine.cli.main import main

from conftest import open_store


def exec_start(text: str) -> str:
    """A unit's ExecStart as the shell gets it: systemd turns '%%' into '%' and '$$' into '$'."""
    line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
    return line[len("ExecStart="):].replace("%%", "%").replace("$$", "$")


def test_units_restart_on_failure_and_timers_catch_up(tmp_path):
    units = service.units("/opt/enms/bin/enms", "enms", "postgresql+psycopg://enms@db/enms",
                          mqtt_url="mqtt://broker:1883", backups="/var/backups/enms", host="h1")
    assert sorted(units) == sorted([
        "enms-api.service", "enms-listen.service", "enms-backup.service", "enms-backup.timer",
        "enms-alerts.service", "enms-alerts.timer", "enms-reports.service", "enms-reports.timer"])
    for name in ("enms-api.service", "enms-listen.service"):
        assert "Restart=on-failure" in units[name]
        assert 'Environment="ENMS_DATABASE_URL=postgresql+psycopg://enms@db/enms"' in units[name]
    assert "--client-id enms-listen-h1" in units["enms-listen.service"]
    for name in ("enms-backup.timer", "enms-alerts.timer", "enms-reports.timer"):
        assert "Persistent=true" in units[name]
    without = service.units("/opt/enms/bin/enms", "enms", None)
    assert "enms-listen.service" not in without and "enms-backup.service" not in without
    if shutil.which("systemd-analyze"):
        for name, text in units.items():
            (tmp_path / name).write_text(text.replace("/opt/enms/bin/enms", sys.executable))
        done = subprocess.run(["systemd-analyze", "verify", *map(str, tmp_path.iterdir())],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_install_writes_units_whose_jobs_run(db_url, plant, tmp_path):
    with open_store(db_url) as store:
        plant(store)
    units = tmp_path / "units"
    backups = tmp_path / "backups"
    backups.mkdir()
    argv = ["--db", db_url, "service", "install", "--dir", str(units), "--user", "enms",
            "--backups", str(backups), "--mqtt", "mqtt://127.0.0.1:1883"]
    assert main(argv) == 0
    assert main(argv) == 2                                   # never overwritten silently
    assert main([*argv, "--force"]) == 0
    env = {k: v for k, v in os.environ.items() if k != "ENMS_DATABASE_URL"}
    env["ENMS_DATA_DIR"] = str(tmp_path)
    for name in ("enms-backup.service", "enms-alerts.service"):
        command = exec_start((units / name).read_text())
        url = next(l for l in (units / name).read_text().splitlines()
                   if l.startswith('Environment="ENMS_DATABASE_URL='))
        env["ENMS_DATABASE_URL"] = url.split("=", 2)[2].rstrip('"')
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (name, command, done.stderr)
    assert [p.name for p in backups.iterdir()] == [f"enms-{date.today():%Y-%m-%d}.enmsbak"]


def test_install_refuses_an_unwritable_folder_in_one_line(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["--db", str(tmp_path / "x.sqlite"), "service", "install",
                 "--dir", str(blocked / "units")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the units" in err and "\n" == err[-1] and err.count("\n") == 1

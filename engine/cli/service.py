"""``enms service install``: systemd units that run the EnMS without intervention.

    sudo enms service install --user enms --mqtt mqtt://127.0.0.1:1883 --backups /var/backups/enms
    enms service install --dir ./units --database-url postgresql+psycopg://enms@db/enms   # to review first

Writes, into --dir (default /etc/systemd/system):

- ``enms-api.service``: the HTTP API (``enms serve``, loopback);
- ``enms-listen.service``: live data (``enms listen``), with --mqtt;
- ``enms-backup.service`` + ``.timer``: a backup every night at 02:30, with --backups;
- ``enms-alerts.service`` + ``.timer``: every night at 03:00, the alerts of
  last month and this month (``enms alerts evaluate``);
- ``enms-reports.service`` + ``.timer``: on the 1st at 04:00, every SEU x
  month report of the year so far (``enms report all``).

Every service restarts on failure; the timers catch up after a power cut
(``Persistent=true``). Rollups need no job: ingest keeps them current. An
existing unit file is not overwritten without --force. Then:
``systemctl daemon-reload && systemctl enable --now enms-api enms-listen
enms-backup.timer enms-alerts.timer enms-reports.timer``.
"""
import os
import shutil
import socket
import sys
from pathlib import Path

from ..errors import EnmsError
from . import mqtt

DEFAULT_DIR = "/etc/systemd/system"


def register(sub, common) -> None:
    """Add ``service`` to the ``enms`` subcommands."""
    p = sub.add_parser("service", parents=[common], help="systemd units for a 24/7 installation")
    actions = p.add_subparsers(dest="service_action", required=True, metavar="ACTION")
    inst = actions.add_parser("install", parents=[common],
                              help="write the systemd units (API, listener, nightly jobs)")
    inst.add_argument("--dir", default=DEFAULT_DIR, help=f"where to write (default {DEFAULT_DIR})")
    inst.add_argument("--user", default="enms", help="the account the services run as")
    inst.add_argument("--database-url", help="ENMS_DATABASE_URL for the services (default: "
                      "--db or $ENMS_DATABASE_URL; else each service user's SQLite file)")
    inst.add_argument("--mqtt", metavar="URL", help="broker for enms listen (no listener without)")
    inst.add_argument("--backups", metavar="DIR", help="folder of the nightly backups "
                      "(no backup job without)")
    inst.add_argument("--api-port", type=int, default=8000, help="port of enms serve (default 8000)")
    inst.add_argument("--force", action="store_true", help="replace existing unit files")
    inst.set_defaults(func=cmd_install)


def _enms_path() -> str:
    """The ``enms`` executable of this installation (absolute, as systemd needs)."""
    beside = Path(sys.executable).with_name("enms")
    found = str(beside) if beside.exists() else shutil.which("enms")
    if not found:
        raise EnmsError("cannot find the enms executable: install the package "
                        "(pip install -e .) in the environment that runs the services")
    return str(Path(found).resolve())


def _service(description: str, exec_start: str, env: list[str], user: str, *,
             long_running: bool) -> str:
    lines = ["[Unit]", f"Description={description}",
             "After=network-online.target postgresql.service mosquitto.service",
             "Wants=network-online.target", "", "[Service]", f"User={user}",
             *[f"Environment={e}" for e in env], f"ExecStart={exec_start}"]
    if long_running:
        lines += ["Restart=on-failure", "RestartSec=5", "KillSignal=SIGTERM", "TimeoutStopSec=60",
                  "", "[Install]", "WantedBy=multi-user.target"]
    else:
        lines += ["Type=oneshot"]
    return "\n".join(lines) + "\n"


def _timer(description: str, on_calendar: str) -> str:
    return "\n".join(["[Unit]", f"Description={description}", "", "[Timer]",
                      f"OnCalendar={on_calendar}", "Persistent=true", "RandomizedDelaySec=300",
                      "", "[Install]", "WantedBy=timers.target"]) + "\n"


def units(enms: str, user: str, database_url: str | None, *, mqtt_url: str | None = None,
          backups: str | None = None, api_port: int = 8000, host: str | None = None) -> dict:
    """File name -> content of every unit. In ExecStart, systemd reads '%%' as
    '%' and '$$' as '$'; the shell then runs date."""
    env = [f'"ENMS_DATABASE_URL={database_url}"'] if database_url else []
    out = {"enms-api.service": _service(
        "EnMS HTTP API", f"{enms} serve --host 127.0.0.1 --port {api_port}", env, user,
        long_running=True)}
    if mqtt_url:
        client_id = f"enms-listen-{host or socket.gethostname()}"
        out["enms-listen.service"] = _service(
            "EnMS live data listener (MQTT)",
            f"{enms} listen --mqtt {mqtt_url} --client-id {client_id}", env, user,
            long_running=True)
    if backups:
        out["enms-backup.service"] = _service(
            "EnMS nightly backup",
            f"/bin/sh -c '{enms} backup --out \"{backups}/enms-$$(date +%%F).enmsbak\"'", env, user,
            long_running=False)
        out["enms-backup.timer"] = _timer("EnMS nightly backup", "*-*-* 02:30:00")
    out["enms-alerts.service"] = _service(
        "EnMS nightly alert evaluation",
        f"/bin/sh -c '{enms} alerts evaluate --from $$(date -d \"-1 month\" +%%Y-%%m-01) "
        "--to $$(date +%%F)'", env, user, long_running=False)
    out["enms-alerts.timer"] = _timer("EnMS nightly alert evaluation", "*-*-* 03:00:00")
    out["enms-reports.service"] = _service(
        "EnMS monthly reports",
        f"/bin/sh -c '{enms} report all --year $$(date -d yesterday +%%Y)'", env, user,
        long_running=False)
    out["enms-reports.timer"] = _timer("EnMS monthly reports", "*-*-01 04:00:00")
    return out


def cmd_install(store, args):
    if args.mqtt:
        mqtt.parse_url(args.mqtt)  # a bad URL stops here, not at the service's first start
    target = Path(args.dir)
    database_url = args.database_url or args.db or os.environ.get("ENMS_DATABASE_URL")
    if database_url and "://" not in database_url:
        database_url = str(Path(database_url).resolve())  # an SQLite file, from any directory
    written = units(_enms_path(), args.user, database_url, mqtt_url=args.mqtt,
                    backups=str(Path(args.backups).resolve()) if args.backups else None,
                    api_port=args.api_port)
    existing = [name for name in written if (target / name).exists()]
    if existing and not args.force:
        raise EnmsError(f"{target}: {', '.join(existing)} exist already (--force replaces them)")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in written.items():
            (target / name).write_text(text)
    except OSError as exc:
        raise EnmsError(f"cannot write the units to {target}: {exc.strerror} "
                        "(as root, or --dir a folder you can write)") from None
    enable = " ".join(n if n.endswith(".timer") else n.removesuffix(".service")
                      for n in written if n.endswith(".timer") or n in
                      ("enms-api.service", "enms-listen.service"))
    return {"written": [str(target / n) for n in written],
            "next": f"systemctl daemon-reload && systemctl enable --now {enable}"}

"""``enms health``: is the system doing its work?

    enms health                                    # database and every meter's last data
    enms health --mqtt mqtt://127.0.0.1:1883 --backups /var/backups/enms --json

Exit code 0 when every check is ok, 3 when one warns (a silent meter, no
backup for over a day: the system runs, someone should look), 2 when one
failed (the database cannot be read, the broker does not answer). For a
service monitor or a cron mail. Checks: engine/health.py.
"""
import json
import threading

from .. import health
from . import mqtt, output

BROKER_TIMEOUT_S = 5.0
EXIT = {"ok": 0, "warning": 3, "failed": 2}


def register(sub, common) -> None:
    """Add ``health`` to the ``enms`` subcommands."""
    p = sub.add_parser("health", parents=[common],
                       help="database, broker, last data per meter, last backup")
    p.add_argument("--mqtt", metavar="URL", help="also check this broker (mqtt://host[:port])")
    p.add_argument("--backups", metavar="DIR", help="also check the newest backup in this folder")
    p.set_defaults(func=cmd_health)


def broker(url_text: str) -> dict:
    """Does the broker accept an MQTT connection within BROKER_TIMEOUT_S?"""
    url = mqtt.parse_url(url_text)
    answered = threading.Event()
    result = {}

    def on_connect(client, userdata, flags, reason_code, properties):
        result["reason"] = str(reason_code)
        result["ok"] = not reason_code.is_failure
        answered.set()

    client = mqtt.client(url, "")
    client.on_connect = on_connect
    try:
        client.connect(url["host"], url["port"], keepalive=10)
    except OSError as exc:
        return {"check": "broker", "status": "failed", "detail": f"{url_text}: {exc}"}
    client.loop_start()
    try:
        if not answered.wait(BROKER_TIMEOUT_S):
            return {"check": "broker", "status": "failed",
                    "detail": f"{url_text}: no answer within {BROKER_TIMEOUT_S:g} s"}
    finally:
        client.disconnect()
        client.loop_stop()
    return {"check": "broker", "status": "ok" if result["ok"] else "failed",
            "detail": f"{url_text}: {result['reason']}"}


def cmd_health(store, args):
    report = health.check(store, backups=args.backups)
    if args.mqtt:
        report["checks"].append(broker(args.mqtt))
        report["status"] = health.worst(c["status"] for c in report["checks"])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        output.print_rows(report["checks"], title=f"health: {report['status']}")
        output.print_rows([{k: m[k] for k in ("meter", "status", "last_reading_end", "age_s",
                                              "allowed_s")} for m in report["meters"]],
                          title="last data per meter")
    return EXIT[report["status"]]

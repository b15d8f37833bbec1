"""``enms simulate``: the demo factory's readings published over MQTT in accelerated time.

    enms simulate --mqtt mqtt://127.0.0.1:1883 --from 2025-06-02 --to 2025-06-08
    enms simulate --mqtt mqtt://127.0.0.1:1883 --speed 0              # as fast as possible
    enms simulate --mqtt mqtt://127.0.0.1:1883 --from 2025-10-04 --to 2025-10-31 --shift-weeks 4

Every meter and measured driver of the demo factory (``engine.demo_plant``,
the same seed gives the same numbers) is published on the topic scheme of
``engine.stream`` (``enms/<site>/meter/<meter>``, ``enms/<site>/driver/<driver>``),
QoS 1, in time order: ``--speed 3600`` plays an hour of plant time per
second. ``--shift-weeks`` moves the replay later by whole weeks on the
site's clock (weekdays stay weekdays, 06:00 stays 06:00), so a database
built with ``enms demo`` receives new days instead of duplicates.
"""
import json
import time
from datetime import date

import numpy as np

from .. import demo_plant
from ..errors import EnmsError
from ..localtime import DAY_S, day_bounds, local_offsets, offset_segments, utc_iso
from ..stream import DEFAULT_ROUTES
from . import mqtt
from .args import parse_date

WEEK_S = 7 * 86400


def register(sub, common) -> None:
    """Add ``simulate`` to the ``enms`` subcommands."""
    p = sub.add_parser("simulate", parents=[common],
                       help="publish the demo factory's readings over MQTT in accelerated time")
    p.add_argument("--mqtt", required=True, metavar="URL", help="broker, mqtt://host[:port]")
    p.add_argument("--speed", type=float, default=3600.0,
                   help="plant seconds per real second (default 3600; 0: no waiting)")
    p.add_argument("--from", dest="first", type=parse_date, default=date(2025, 6, 2),
                   help="first local day replayed (default 2025-06-02)")
    p.add_argument("--to", dest="last", type=parse_date, default=date(2025, 6, 8),
                   help="last local day replayed (default 2025-06-08)")
    p.add_argument("--shift-weeks", type=int, default=0,
                   help="publish the readings this many weeks later, same local times (default 0)")
    p.add_argument("--seed", type=int, default=42, help="the demo's random seed (default 42)")
    p.add_argument("--client-id", default="", help="MQTT client id (default: chosen by the broker)")
    p.set_defaults(func=cmd_simulate)


def messages(plant, first: date, last: date, weeks: int = 0) -> list[tuple[int, str, dict]]:
    """(ts [s], topic, payload) of every reading starting on the local days
    [first, last], in time order, moved ``weeks`` later on the local clock."""
    tz = plant.site["timezone"]
    lo, hi = day_bounds(tz, first)[0], day_bounds(tz, last)[1]
    meter_topic, driver_topic = (r.topic.replace("{site}", plant.site["name"])
                                 for r in DEFAULT_ROUTES)
    series = [(meter_topic.replace("{meter}", name), s["ts"], s["duration_s"], s["columns"])
              for name, s in plant.meter_readings.items()]
    series += [(driver_topic.replace("{driver}", name), s["ts"], s["duration_s"],
                {"value": s["value"]}) for name, s in plant.driver_readings.items()]
    out = []
    for topic, ts, duration_s, columns in series:
        rows = np.flatnonzero((ts >= lo) & (ts < hi))
        moved = later_local(ts[rows], weeks * WEEK_S, tz)
        for i, when in zip(rows.tolist(), moved.tolist()):
            payload = {"ts": utc_iso(when), "duration_s": int(duration_s[i])}
            for column, values in columns.items():
                value = float(values[i])
                payload[column] = None if np.isnan(value) else value  # missing stays missing
            out.append((when, topic, payload))
    out.sort(key=lambda m: m[0])
    return out


def later_local(ts, shift_s: int, tz: str) -> np.ndarray:
    """UTC instants [s] moved ``shift_s`` later on the site's local clock, so a
    shift starting at 06:00 still starts at 06:00 across a daylight-saving
    change. The two readings of an hour the clocks repeat land on one hour
    (a clash the listener refuses); an hour they skip stays empty."""
    ts = np.asarray(ts, dtype=np.int64)
    if not shift_s or not len(ts):
        return ts
    segments = offset_segments(tz, int(ts.min()) - DAY_S, int(ts.max()) + shift_s + DAY_S)
    wall = ts + local_offsets(segments, ts) + shift_s
    guess = wall - local_offsets(segments, ts + shift_s)
    return wall - local_offsets(segments, guess)


def cmd_simulate(store, args):
    if args.last < args.first:
        raise EnmsError(f"--to {args.last} is before --from {args.first}")
    if args.speed < 0:
        raise EnmsError("--speed must be >= 0")
    if not (demo_plant.FIRST_DAY <= args.first and args.last <= demo_plant.LAST_DAY):
        raise EnmsError(f"the demo factory has data from {demo_plant.FIRST_DAY} to "
                        f"{demo_plant.LAST_DAY}; use --shift-weeks to publish it later")
    url = mqtt.parse_url(args.mqtt)
    plan = messages(demo_plant.build_demo_plant(args.seed), args.first, args.last,
                    args.shift_weeks)
    if not plan:
        raise EnmsError(f"no readings from {args.first} to {args.last}")
    client = mqtt.client(url, args.client_id)
    client.max_queued_messages_set(0)      # no limit: the replay is in memory already
    client.max_inflight_messages_set(1000)
    try:
        client.connect(url["host"], url["port"])
    except OSError as exc:
        raise EnmsError(f"cannot reach the broker at {args.mqtt}: {exc}") from None
    client.loop_start()
    started, t0 = time.monotonic(), plan[0][0]
    try:
        sent = []
        for ts, topic, payload in plan:
            if args.speed:
                wait = (ts - t0) / args.speed - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
            sent.append(client.publish(topic, json.dumps(payload), qos=1))
        for info in sent:  # every message handed to the broker before we leave
            info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
    return {"published": len(plan), "first": utc_iso(plan[0][0]),
            "last": utc_iso(plan[-1][0]), "seconds": round(time.monotonic() - started, 2)}

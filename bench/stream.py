"""Streaming ingest: readings per second an ``enms listen`` process sustains, and its lag.

    python bench/stream.py --backend postgresql --meters 200 --rate 20000 --seconds 60
    python bench/stream.py --backend sqlite --meters 200 --rate 5000 --per-message 1

A fresh database with --meters one-minute electricity meters; a real
listener process (``enms listen``, real-time checks on, notifications off)
on the Mosquitto broker at --mqtt; a publisher sending --rate readings per
second for --seconds, as bulk messages of --per-message consecutive
minutes of one meter (QoS 1). Reported:

- sustained: readings stored / seconds from the first publish to the last
  row stored;
- lag: per batch, from the arrival of its oldest message to its commit
  (the listener's ``max_lag_s``), and after the last publish, the time
  until every reading is stored (``drain_s``).
"""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import sqlalchemy as sa
from common import drop_store, electricity_plant, fresh_store, machine

START_TS = 1704063600  # 2024-01-01 00:00 Europe/Berlin


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20000, help="readings per second offered")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5000,
                        help="messages per write (the listener's --batch, default 5000)")
    parser.add_argument("--no-monitor", action="store_true")
    args = parser.parse_args()
    import paho.mqtt.client as mqtt

    from engine.cli.mqtt import parse_url

    url = parse_url(args.mqtt)
    workdir = tempfile.mkdtemp()
    store = fresh_store(args.backend, workdir)
    try:
        electricity_plant(store, args.meters)
        prefix = "bench" + secrets.token_hex(3)
        mapping = os.path.join(workdir, "topics.toml")
        with open(mapping, "w") as handle:
            handle.write(f'[[route]]\ntopic = "{prefix}/{{meter}}"\nkind = "meter"\n')
        command = [sys.executable, "-m", "engine.cli", "--db", store.url, "--json", "listen",
                   "--mqtt", args.mqtt, "--topic", f"{prefix}/#", "--mapping", mapping,
                   "--client-id", prefix, "--stats-every", "0", "--no-notify",
                   "--batch", str(args.batch)]
        if args.no_monitor:
            command.append("--no-monitor")
        log = open(os.path.join(workdir, "listen.log"), "w+")
        listener = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                    env={**os.environ, "ENMS_DATA_DIR": workdir})
        while "connected" not in open(log.name).read():
            time.sleep(0.1)
            assert listener.poll() is None, open(log.name).read()

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(1000)
        client.connect(url["host"], url["port"])
        client.loop_start()
        rng = np.random.default_rng(1)
        per_second = args.rate / args.per_message      # messages per second
        total_messages = int(per_second * args.seconds)
        minute = np.zeros(args.meters, dtype=np.int64)  # next minute of each meter
        started = time.monotonic()
        sent = []
        for k in range(total_messages):
            wait = k / per_second - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
            m = k % args.meters
            ts = START_TS + 60 * (minute[m] + np.arange(args.per_message))
            minute[m] += args.per_message
            kwh = rng.uniform(0.1, 1.5, args.per_message).round(4)
            body = [{"ts": f"{np.datetime64(int(t), 's')}Z", "duration_s": 60,
                     "consumption_kwh": float(e), "power_kw": float(e) * 60}
                    for t, e in zip(ts, kwh)]
            sent.append(client.publish(f"{prefix}/M-{m}", json.dumps(body), qos=1))
        for info in sent:
            info.wait_for_publish(timeout=120)
        published = time.monotonic()
        expected = total_messages * args.per_message
        count = 0
        while count < expected and time.monotonic() - published < 600:
            with store.read() as conn:
                count = conn.execute(sa.text("SELECT count(*) FROM electricity_readings")).scalar()
            time.sleep(0.05)
        stored = time.monotonic()
        listener.send_signal(signal.SIGTERM)
        out, _ = listener.communicate(timeout=120)
        counts = json.loads(out)
        client.disconnect()
        client.loop_stop()
    finally:
        drop_store(store)
    print(f"machine: {machine()}")
    print(f"backend {args.backend}, {args.meters} meters, offered {args.rate:,.0f} readings/s "
          f"for {args.seconds:g} s as {args.per_message} per message, batches of "
          f"{args.batch} messages, monitor "
          f"{'off' if args.no_monitor else 'on'}")
    print(f"published {expected:,} readings in {published - started:.1f} s "
          f"({expected / (published - started):,.0f}/s)")
    print(f"stored {count:,} readings; sustained {count / (stored - started):,.0f} readings/s; "
          f"drain after the last publish {stored - published:.2f} s; batch lag max "
          f"{counts['max_lag_s']:.2f} s; batches {counts['batches']}; "
          f"duplicates {counts['duplicate']}, rejected {counts['rejected']}")


if __name__ == "__main__":
    main()

"""``enms listen`` end to end: a real listener process, a real Mosquitto broker
on loopback, the database on both backends.

The shared broker is the one at 127.0.0.1:1883 (running on CI machines);
without it these tests skip with one line, except under CI=true, where they
fail. The broker-restart test starts its own ``mosquitto`` on a free port.
Each test uses its own topic prefix and client id, so tests running at the
same time never see each other's messages.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import open_store

BROKER = ("127.0.0.1", 1883)
WAIT_S = 30


def _broker_answers(host, port) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def broker():
    if not _broker_answers(*BROKER):
        message = f"no MQTT broker at {BROKER[0]}:{BROKER[1]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true requires the MQTT tests", pytrace=False)
        pytest.skip(message)
    return BROKER


def publisher(host, port):
    import paho.mqtt.client as mqtt
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    return client


def publish(client, topic, payload):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    client.publish(topic, body, qos=1).wait_for_publish(timeout=10)


class Listener:
    """An ``enms listen`` process on a test's own topic prefix."""

    def __init__(self, db_url, tmp_path, host, port):
        self.prefix = "t" + secrets.token_hex(4)
        mapping = tmp_path / "topics.toml"
        mapping.write_text(f'[[route]]\ntopic = "{self.prefix}/{{site}}/meter/{{meter}}"\n'
                           f'kind = "meter"\n\n[[route]]\ntopic = "{self.prefix}/{{site}}/'
                           'driver/{driver}"\nkind = "driver"\n')
        self.log = tmp_path / "listen.log"
        env = {**os.environ, "ENMS_DATA_DIR": str(tmp_path)}
        env.pop("ENMS_NOTIFY_CONFIG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--db", db_url, "--json", "listen",
             "--mqtt", f"mqtt://{host}:{port}", "--topic", f"{self.prefix}/#",
             "--mapping", str(mapping), "--client-id", f"enms-test-{self.prefix}",
             "--batch-age", "0.3", "--stats-every", "0"],
            stdout=subprocess.PIPE, stderr=open(self.log, "w"), env=env, text=True)
        self.wait_for_log("connected", 1)

    def topic(self, meter):
        return f"{self.prefix}/Test Plant/meter/{meter}"

    def log_text(self) -> str:
        return self.log.read_text()

    def wait_for_log(self, text, count):
        deadline = time.monotonic() + WAIT_S
        while self.log_text().count(text) < count:
            assert self.process.poll() is None, f"listener exited: {self.log_text()}"
            assert time.monotonic() < deadline, f"no {text!r} in the log: {self.log_text()}"
            time.sleep(0.1)

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=WAIT_S)
        assert self.process.returncode == 0, self.log_text()
        return json.loads(out)


@pytest.fixture
def listen(db_url, tmp_path, plant):
    started = []

    def start(host, port):
        with open_store(db_url) as store:
            plant(store)
        listener = Listener(db_url, tmp_path, host, port)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        if listener.process.poll() is None:
            listener.process.kill()
            listener.process.wait()


def hour(h: int, day: int = 2) -> str:
    return f"2025-06-{day:02d}T{h:02d}:00:00+02:00"


def stored_hours(db_url) -> list:
    with open_store(db_url) as store, store.read() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT ts, consumption_kwh FROM electricity_readings ORDER BY ts"))]


def wait_for_rows(db_url, count) -> list:
    deadline = time.monotonic() + WAIT_S
    while True:
        rows = stored_hours(db_url)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_listen_writes_replays_once_and_survives_malformed(broker, listen, db_url):
    listener = listen(*broker)
    client = publisher(*broker)
    topic = listener.topic("M-Compressor-1")
    for h in range(6):
        publish(client, topic, {"ts": hour(h), "consumption_kwh": 30.0 + h, "power_kw": 30.0 + h})
    publish(client, topic, b"\x00 not json")
    publish(client, topic, {"ts": hour(7), "consumption_kwh": "lots"})
    for h in range(6):  # at-least-once: the publisher sends them all again
        publish(client, topic, {"ts": hour(h), "consumption_kwh": 30.0 + h, "power_kw": 30.0 + h})
    publish(client, f"{listener.prefix}/Test Plant/driver/production_count",
            {"ts": hour(8), "duration_s": 3600, "value": 120})
    publish(client, topic, {"ts": hour(9), "consumption_kwh": 39.0})  # after the bad ones
    rows = wait_for_rows(db_url, 7)
    listener.wait_for_log("rejected", 1)
    assert listener.process.poll() is None          # still listening
    counts = listener.stop()
    client.disconnect()
    assert [e for _, e in rows] == [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 39.0]
    assert counts["inserted"] == 8                  # 7 meter hours + 1 driver value
    assert counts["duplicate"] == 6
    assert counts["malformed"] == 1 and counts["rejected"] == 1
    log = listener.log_text()
    assert "malformed topic=" in log and "payload is not JSON" in log
    assert "consumption_kwh: not a number: 'lots'" in log
    assert "Traceback" not in log


def _outage(db_url):
    """A database that refuses writes for a while: (start, end) callables."""
    url = sa.make_url(db_url) if "://" in db_url else None
    if url is None:  # SQLite: another writer holds the write lock
        import sqlite3
        holder = sqlite3.connect(db_url, isolation_level=None)

        def start():
            holder.execute("BEGIN IMMEDIATE")

        def end():
            holder.execute("COMMIT")
            holder.close()
        return start, end
    import psycopg
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    name = url.database

    def pg(sql):
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    def start():  # no new connections, and the listener's own killed
        pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        pg(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    def end():
        pg(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    return start, end


def test_listen_keeps_messages_through_a_database_outage(broker, listen, db_url):
    listener = listen(*broker)
    client = publisher(*broker)
    topic = listener.topic("M-Compressor-1")
    publish(client, topic, {"ts": hour(0), "consumption_kwh": 10.0})
    assert len(wait_for_rows(db_url, 1)) == 1
    start, end = _outage(db_url)
    start()
    try:
        for h in range(1, 6):
            publish(client, topic, {"ts": hour(h), "consumption_kwh": 10.0 + h})
        if "://" in db_url:  # PostgreSQL: the writes fail and are retried
            listener.wait_for_log("database write failed", 2)
        else:                # SQLite: the writer waits for the lock
            time.sleep(3)
        assert listener.process.poll() is None
    finally:
        end()
    rows = wait_for_rows(db_url, 6)
    counts = listener.stop()
    client.disconnect()
    assert [e for _, e in rows] == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]   # nothing lost
    assert counts["inserted"] == 6 and counts["held"] == 0
    if "://" in db_url:
        assert counts["write_failures"] >= 2


def test_listen_turns_counter_readings_into_intervals(broker, listen, db_url):
    listener = listen(*broker)
    client = publisher(*broker)
    topic = listener.topic("M-Compressor-1")
    # one register reading a message, each in a batch of its own: the first
    # anchors, each later one is the energy since the one before
    for h, register in enumerate([1000.0, 1040.0, 1081.5]):
        publish(client, topic, {"ts": hour(h), "counter": register})
        wait_for_rows(db_url, h)
    publish(client, topic, {"ts": hour(2), "counter": 1081.5})      # a replay
    publish(client, topic, {"ts": hour(3), "counter": 5.0})         # the meter was reset
    rows = wait_for_rows(db_url, 3)
    listener.wait_for_log("counter reset", 1)
    counts = listener.stop()
    client.disconnect()
    assert [e for _, e in rows] == [40.0, 41.5, 5.0]
    assert [ts for ts, _ in rows] == [1748815200, 1748818800, 1748822400]  # from 00:00 +02:00
    assert counts["inserted"] == 3 and counts["duplicate"] == 1 and counts["rejected"] == 0
    assert "only anchors the counter" in listener.log_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mosquitto(port, tmp_path):
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("no mosquitto binary; CI=true requires the broker-restart test",
                        pytrace=False)
        pytest.skip("no mosquitto binary to start a private broker")
    process = subprocess.Popen([binary, "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "mosquitto.log", "a"))
    deadline = time.monotonic() + 10
    while not _broker_answers("127.0.0.1", port):
        assert time.monotonic() < deadline, "the private mosquitto did not start"
        time.sleep(0.1)
    return process


def test_listen_reconnects_after_a_broker_restart(listen, db_url, tmp_path):
    port = _free_port()
    mosquitto = _mosquitto(port, tmp_path)
    try:
        listener = listen("127.0.0.1", port)
        client = publisher("127.0.0.1", port)
        topic = listener.topic("M-Compressor-1")
        for h in range(3):
            publish(client, topic, {"ts": hour(h), "consumption_kwh": 20.0 + h})
        assert len(wait_for_rows(db_url, 3)) == 3
        client.disconnect()
        mosquitto.terminate()
        mosquitto.wait(timeout=10)
        listener.wait_for_log("broker connection lost", 1)
        time.sleep(1)
        assert listener.process.poll() is None
        mosquitto = _mosquitto(port, tmp_path)
        listener.wait_for_log("connected", 2)
        client = publisher("127.0.0.1", port)
        for h in range(3, 6):
            publish(client, topic, {"ts": hour(h), "consumption_kwh": 20.0 + h})
        rows = wait_for_rows(db_url, 6)
        counts = listener.stop()
        client.disconnect()
    finally:
        mosquitto.terminate()
        mosquitto.wait(timeout=10)
    assert [e for _, e in rows] == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]
    assert counts["reconnects"] == 1


def test_simulate_replays_the_demo_into_a_listener(broker, tmp_path):
    """The whole loop: ``enms simulate`` publishes a demo day a week later, a
    listener on the enms/ scheme stores it, and the day's totals are the demo's
    (SQLite: the loop, not the backend, is under test here)."""
    from engine.demo import build_demo
    from engine.demo_plant import build_demo_plant
    db = str(tmp_path / "demo.sqlite")
    env = {**os.environ, "ENMS_DATA_DIR": str(tmp_path)}
    env.pop("ENMS_NOTIFY_CONFIG", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENMS_DATA_DIR", str(tmp_path))
        with open_store(db) as store:
            build_demo(store)
    plant = build_demo_plant(42)
    series = len(plant.meter_readings) + len(plant.driver_readings)
    log = tmp_path / "listen.log"
    listener = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--db", db, "--json", "listen", "--mqtt",
         f"mqtt://{broker[0]}:{broker[1]}", "--client-id", "enms-test-" + secrets.token_hex(4),
         "--batch-age", "0.3", "--stats-every", "0", "--no-notify"],
        stdout=subprocess.PIPE, stderr=open(log, "w"), env=env, text=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while "connected" not in log.read_text():
            assert listener.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "--db", str(tmp_path / "unused.sqlite"), "--json",
             "simulate", "--mqtt", f"mqtt://{broker[0]}:{broker[1]}", "--from", "2025-10-25",
             "--to", "2025-10-25", "--shift-weeks", "1", "--speed", "86400"],
            capture_output=True, text=True, env=env, timeout=120)
        took = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        sent = json.loads(done.stdout)
        # every meter and measured driver, 24 hours (no clock change on either day)
        # moved on the local clock: Oct 25 is summer time (UTC+2), Nov 1 winter (UTC+1)
        assert sent["published"] == series * 24 and sent["first"] == "2025-10-31T23:00:00Z"
        assert took >= 23 * 3600 / 86400   # paced: 23 h of plant time at 86400x
        query = sa.text("SELECT m.name, d.energy, d.covered_s FROM meter_daily d JOIN meters m "
                        "ON m.id = d.meter_id WHERE d.day = :day ORDER BY m.name")
        deadline = time.monotonic() + WAIT_S
        with open_store(db) as store:
            while True:
                with store.read() as conn:
                    new = conn.execute(query, {"day": "2025-11-01"}).all()
                if sum(r.covered_s for r in new) == len(plant.meter_readings) * 86400 or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            with store.read() as conn:
                old = conn.execute(query, {"day": "2025-10-25"}).all()
        assert [(n, round(e, 6)) for n, e, _ in new] == [(n, round(e, 6)) for n, e, _ in old]
    finally:
        listener.send_signal(signal.SIGTERM)
        out, _ = listener.communicate(timeout=WAIT_S)
    counts = json.loads(out)
    assert counts["inserted"] == series * 24 and counts["rejected"] == counts["malformed"] == 0

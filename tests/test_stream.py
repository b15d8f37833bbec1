"""Live ingest without a broker: topics, payloads, the mapping file, batches,
writing through the CSV validation, and the real-time checks (engine.stream,
engine.realtime)."""
import json
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from engine import alerts, catalog, realtime, stream
from engine.errors import EnmsError

METER_TOPIC = "enms/Test Plant/meter/M-Compressor-1"


def msg(payload) -> bytes:
    return json.dumps(payload).encode()


# --- topics and payloads ------------------------------------------------------------------

def test_default_scheme_meter_and_driver_messages():
    r = stream.parse_message(METER_TOPIC, msg(
        {"ts": "2025-06-02T08:00:00+02:00", "duration_s": 60, "consumption_kwh": 1.25,
         "power_kw": None}))
    assert (r.kind, r.name, r.site, len(r)) == ("meter", "M-Compressor-1", "Test Plant", 1)
    assert (r.times, r.duration_s) == (["2025-06-02T08:00:00+02:00"], [60])
    assert r.values == {"consumption_kwh": [1.25], "power_kw": [None]}
    d = stream.parse_message("enms/Test Plant/driver/outdoor_temp_c",
                             msg({"ts": "2025-06-02T08:00:00Z", "value": 21.5}))
    assert (d.kind, d.name, d.values, d.duration_s) == ("driver", "outdoor_temp_c",
                                                         {"value": [21.5]}, [None])


def test_bulk_payload_is_one_reading_per_object():
    got = stream.parse_message(METER_TOPIC, msg([
        {"ts": f"2025-06-02T0{h}:00:00Z", "consumption_kwh": h} for h in range(3)]))
    assert [t[11:13] for t in got.times] == ["00", "01", "02"]
    assert got.values == {"consumption_kwh": [0, 1, 2]} and not got.absent
    # readings that leave a column out: which ones is kept per column
    got = stream.parse_message(METER_TOPIC, msg([
        {"ts": "2025-06-02T00:00:00Z", "consumption_kwh": 1, "power_kw": 4},
        {"ts": "2025-06-02T01:00:00Z", "consumption_kwh": 2}]))
    assert got.values == {"consumption_kwh": [1, 2], "power_kw": [4, None]}
    assert got.absent["power_kw"].tolist() == [False, True]


@pytest.mark.parametrize("topic, payload, reason", [
    (METER_TOPIC, b"not json", "payload is not JSON"),
    (METER_TOPIC, b"[1, 2]", "a JSON object or a list of objects"),
    (METER_TOPIC, msg({"consumption_kwh": 1}), "no 'ts'"),
    (METER_TOPIC, msg({"ts": "2025-06-02T08:00:00Z"}), "no values"),
    ("enms/Test Plant/pump/M-1", msg({"ts": "2025-06-02T08:00:00Z", "x": 1}), "matches no route"),
    (METER_TOPIC, msg([{"ts": "2025-06-02T08:00:00Z", "consumption_kwh": 1}, {"x": 2}]),
     "reading 2 of 2: no 'ts'"),
    (METER_TOPIC, msg([{"ts": "2025-06-02T08:00:00Z", "consumption_kwh": 1},
                       {"ts": 1748851200, "consumption_kwh": 1}]),
     "reading 2 of 2: time 1748851200 is not ISO 8601 text"),
])
def test_malformed_messages_say_what_is_wrong(topic, payload, reason):
    with pytest.raises(stream.MessageError, match=reason):
        stream.parse_message(topic, payload)


def test_route_matching_and_subscription():
    route = stream.Route("plant/{meter}/+/energy", "meter")
    assert route.subscription == "plant/+/+/energy"
    assert route.match("plant/M-1/x/energy") == {"meter": "M-1"}
    assert route.match("plant/M-1/x/power") is None
    assert route.match("plant/M-1/x/energy/extra") is None
    assert stream.Route("plant/#", "meter", name="M").match("plant/a/b") == {}


def test_mapping_file_scales_units_and_reads_epoch_times(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('''
[[route]]
topic = "factory/line1/{meter}"
kind = "meter"
timestamp = "time"
timestamp_format = "epoch_ms"
duration_s = 900
[route.fields]
wh = "consumption_kwh"
w = "power_kw"
[route.scale]
consumption_kwh = 0.001
power_kw = 0.001
''')
    routes = stream.load_mapping(path)
    r = stream.parse_message("factory/line1/M-Compressor-1",
                             msg({"time": 1748851200000, "wh": 12500, "w": 50000,
                                  "status": "run"}), routes)
    # unmapped keys ('status') are left out; Wh -> kWh; epoch ms -> UTC
    assert (r.times, r.duration_s) == (["2025-06-02T08:00:00Z"], [900])
    assert r.values == {"consumption_kwh": [12500], "power_kw": [50000]}
    assert r.scale == {"consumption_kwh": 0.001, "power_kw": 0.001}
    with pytest.raises(stream.MessageError, match="out of range"):
        stream.parse_message("factory/line1/M-1", msg({"time": 1e20, "wh": 1}), routes)
    with pytest.raises(stream.MessageError, match="is not a number"):
        stream.parse_message("factory/line1/M-1", msg({"time": "noon", "wh": 1}), routes)


@pytest.mark.parametrize("text, reason", [
    ('[[route]]\ntopic = "a/{meter}"\nkind = "pump"', "'kind' must be meter or driver"),
    ('[[route]]\ntopic = "a/b"\nkind = "meter"', "give meter = NAME or a {meter} level"),
    ('[[route]]\ntopic = "a/{meter}"\nkind = "meter"\ncolour = 1', "unknown key"),
    ('[[route]]\ntopic = "a/{meter}"\nkind = "meter"\ntimestamp_format = "rfc"',
     "timestamp_format must be one of"),
    ('[[route]]\ntopic = "a/{meter}"\nkind = "meter"\nscale = {x = 0}', "non-zero numbers"),
    ('title = "x"', "no \\[\\[route\\]\\] entries"),
    ('[[route', "not a TOML mapping file"),
])
def test_bad_mapping_file_is_one_line_naming_the_route(tmp_path, text, reason):
    path = tmp_path / "map.toml"
    path.write_text(text)
    with pytest.raises(EnmsError, match=reason) as err:
        stream.load_mapping(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


# --- batches -----------------------------------------------------------------------------

def test_batch_is_due_by_count_or_age_and_kept_until_done():
    b = stream.Batcher(max_messages=3, max_age_s=1.0)
    for i in range(2):
        b.add(stream.Message("t", b"", received_s=100.0 + i))
    assert not b.due(100.5)
    assert b.due(101.0)                        # the oldest waited a second
    b.add(stream.Message("t", b"", received_s=101.1))
    b.add(stream.Message("t", b"", received_s=101.2))
    assert b.due(101.2) and len(b.next_batch()) == 3   # by count
    b.done(3)
    assert [m.received_s for m in b.pending] == [101.2]


def test_backoff_doubles_to_its_ceiling_and_resets():
    backoff = stream.Backoff(0.5, 4.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


# --- writing through the CSV validation ------------------------------------------------------

def reading(store, meter="M-Compressor-1", ts="2025-06-02T08:00:00+02:00", **values):
    topic = f"enms/Test Plant/meter/{meter}"
    return stream.Message(topic, msg({"ts": ts, **values}), received_s=0.0)


def stored(store, table="electricity_readings"):
    with store.read() as conn:
        return conn.execute(sa.text(f"SELECT ts, duration_s, consumption_kwh FROM {table} "
                                    "ORDER BY ts")).all()


def test_flush_writes_validates_and_never_counts_a_replay_twice(store, plant):
    plant(store)
    stats = stream.Stats()
    good = [reading(store, ts=f"2025-06-02T0{h}:00:00+02:00", consumption_kwh=40.0 + h)
            for h in range(8, 10)]
    bad = [reading(store, ts="2025-06-02T10:00:00+02:00", consumption_kwh=-3),
           reading(store, meter="M-Nope", consumption_kwh=1),
           reading(store, ts="2025-06-02T11:00:00+02:00", consumption_kwh=1, colour=2),
           reading(store, ts="2025-06-02T12:00:00+02:00", power_kw=4),
           stream.Message("enms/Other Site/meter/M-Compressor-1",
                          msg({"ts": "2025-06-02T13:00:00Z", "consumption_kwh": 1}), 0.0),
           stream.Message(METER_TOPIC, b"{", 0.0)]
    written, _ = stream.flush(store, good + bad, stream.DEFAULT_ROUTES, stats)
    assert (stats.inserted, stats.rejected, stats.malformed) == (2, 5, 1)
    reasons = dict(written.rejected)
    assert "negative interval energy" in reasons[2]
    assert "unknown meter 'M-Nope'" in reasons[3]
    assert "column(s) colour not declared by energy source 'electricity'" in reasons[4]
    assert "no 'consumption_kwh'" in reasons[5]
    assert "belongs to site 'Test Plant', not 'Other Site'" in reasons[6]
    # at-least-once: the same messages again (and twice in one batch) add nothing
    stream.flush(store, good + good, stream.DEFAULT_ROUTES, stats)
    assert stats.inserted == 2 and stats.duplicate == 4
    assert [tuple(r) for r in stored(store)] == [(1748844000, 3600, 48.0), (1748847600, 3600, 49.0)]
    # the same time with another value is refused, the stored value kept
    written, _ = stream.flush(store, [reading(store, ts="2025-06-02T08:00:00+02:00",
                                              consumption_kwh=99.0)], stream.DEFAULT_ROUTES, stats)
    assert written.rejected == [(0, "a different value is already stored for this time")]
    assert stored(store)[0][2] == 48.0


def test_flush_reads_json_values_as_csv_cells_reading_by_reading(store, plant, tmp_path):
    plant(store)
    stats = stream.Stats()
    bulk = stream.Message(METER_TOPIC, msg([
        {"ts": "2025-06-02T08:00:00+02:00", "consumption_kwh": 40.5, "power_kw": None},
        {"ts": "2025-06-02T09:00:00+02:00", "consumption_kwh": "41.5", "power_kw": 41,
         "duration_s": 1800},
        {"ts": "2025-06-02T10:00:00+02:00", "power_kw": 40},             # no energy
        {"ts": "2025-06-02T11:00:00+02:00", "consumption_kwh": 1, "colour": 2},
        {"ts": "2025-06-02T12:00:00+02:00", "consumption_kwh": True},
        {"ts": "2025-06-02T13:00:00+02:00", "consumption_kwh": None}]), 0.0)
    written, _ = stream.flush(store, [bulk], stream.DEFAULT_ROUTES, stats)
    assert [r for _, r in written.rejected] == [
        "no 'consumption_kwh' (the energy of source 'electricity')",
        "column(s) colour not declared by energy source 'electricity' "
        "(its columns: consumption_kwh, power_kw)",
        "consumption_kwh: not a number: 'True'"]
    with store.read() as conn:
        rows = conn.execute(sa.text("SELECT ts, duration_s, consumption_kwh, power_kw, "
                                    "counter_end FROM electricity_readings ORDER BY ts")).all()
    # numeric text counts as in a CSV cell; null is stored as NULL, never 0; a
    # reading's own duration_s wins over the meter's declared interval
    assert [tuple(r) for r in rows] == [(1748844000, 3600, 40.5, None, None),
                                        (1748847600, 1800, 41.5, 41.0, None),
                                        (1748862000, 3600, None, None, None)]
    # a mapped route's scale applies to every reading of the batch it routes
    path = tmp_path / "map.toml"
    path.write_text('[[route]]\ntopic = "hall/{meter}"\nkind = "meter"\n'
                    'fields = {wh = "consumption_kwh"}\nscale = {consumption_kwh = 0.001}\n')
    routes = stream.load_mapping(path) + list(stream.DEFAULT_ROUTES)
    wh = [stream.Message("hall/M-Compressor-1",
                         msg({"ts": "2025-06-02T14:00:00+02:00", "wh": 12500}), 0.0),
          reading(store, ts="2025-06-02T15:00:00+02:00", consumption_kwh=12.5)]
    stream.flush(store, wh, routes, stats)
    assert [r[2] for r in stored(store)[-2:]] == [12.5, 12.5]


def test_counter_readings_become_intervals_as_in_a_counter_csv(store, plant):
    plant(store)
    catalog.add_meter(store, "M-Register", "Compressor-1", "electricity", counter_max=1e6)
    stats, anchors = stream.Stats(), {}
    topic = "enms/Test Plant/meter/M-Register"

    def send(*payloads):
        return stream.flush(store, [stream.Message(topic, msg(p), 0.0) for p in payloads],
                            stream.DEFAULT_ROUTES, stats, anchors=anchors)[0]

    first = send({"ts": "2025-06-02T08:00:00+02:00", "counter": 999_950})
    assert first.inserted == 0 and "only anchors the counter" in first.notes[0]
    # one reading a batch: each pairs with the one before (kept until stored)
    assert send({"ts": "2025-06-02T09:00:00+02:00", "counter": 999_990, "power_kw": 40}).inserted == 1
    rolled = send({"ts": "2025-06-02T10:00:00+02:00", "counter": 30})
    assert rolled.notes == ["message 1: counter rolled over at 1,000,000"]
    # a replay adds nothing; a later one continues from the stored register
    replay = send({"ts": "2025-06-02T10:00:00+02:00", "counter": 30})
    assert (replay.inserted, replay.duplicate) == (0, 1)
    refused = send({"ts": "2025-06-02T11:00:00+02:00", "counter": 70, "consumption_kwh": 40},
                   {"ts": "2025-06-02T11:00:00+02:00", "counter": None},
                   {"ts": "2025-06-02T11:00:00+02:00", "counter": 70})
    assert [r.split(":")[0] for _, r in refused.rejected] == [
        "both 'consumption_kwh' and 'counter'", "counter"]
    with store.read() as conn:
        rows = conn.execute(sa.text(
            "SELECT ts, duration_s, consumption_kwh, power_kw, counter_end FROM "
            "electricity_readings r JOIN meters m ON m.id = r.meter_id "
            "WHERE m.name = 'M-Register' ORDER BY ts")).all()
    hour = 3600
    start = 1748844000   # 2025-06-02 08:00 +02:00
    assert [tuple(r) for r in rows] == [
        (start, hour, 40.0, 40.0, 999_990.0), (start + hour, hour, 40.0, None, 30.0),
        (start + 2 * hour, hour, 40.0, None, 70.0)]
    # the daily rollup counts the intervals, as for any reading
    with store.read() as conn:
        day = conn.execute(sa.text(
            "SELECT sum(energy) FROM meter_daily d JOIN meters m ON m.id = d.meter_id "
            "WHERE m.name = 'M-Register'")).scalar()
    assert day == 120.0


def test_flush_writes_driver_values_and_rolls_them_up(store, plant):
    plant(store)
    stats = stream.Stats()
    values = [stream.Message("enms/Test Plant/driver/production_count",
                             msg({"ts": f"2025-06-02T{h:02d}:00:00+02:00", "duration_s": 3600,
                                  "value": 10}), 0.0) for h in range(24)]
    values.append(stream.Message("enms/Test Plant/driver/production_count",
                                 msg({"ts": "2025-06-03T00:00:00+02:00", "value": 1, "x": 2}), 0.0))
    values.append(stream.Message("enms/Test Plant/driver/production_count",
                                 msg({"ts": "2025-06-03T01:00:00+02:00", "value": None}), 0.0))
    written, _ = stream.flush(store, values, stream.DEFAULT_ROUTES, stats)
    assert stats.inserted == 24
    assert [(i, r.split(" (")[0]) for i, r in written.rejected] == [
        (24, "field(s) x are not a driver's"), (25, "no 'value'")]
    with store.read() as conn:
        day = conn.execute(sa.text("SELECT value FROM driver_daily d JOIN drivers r ON "
                                   "r.id = d.driver_id WHERE r.name = 'production_count' "
                                   "AND d.day = '2025-06-02'")).scalar()
    assert day == 240  # the daily rollup is kept current, as for a CSV import


# --- real-time rules ---------------------------------------------------------------------------

def test_silence_allows_three_intervals_and_at_least_five_minutes():
    last = {1: 1000, 2: 1000}
    interval = {1: 3600, 2: 1}
    assert realtime.silent(last, interval, 1300) == {}        # a 1-s meter: five minutes
    assert realtime.silent(last, interval, 1301) == {2: 301}
    assert realtime.silent(last, interval, 1000 + 3 * 3600) == {2: 3 * 3600}
    assert realtime.silent(last, interval, 1000 + 3 * 3600 + 1) == {1: 10801, 2: 10801}


def test_stuck_value_only_when_the_run_reaches_the_newest_reading():
    ts = np.arange(10) * 60
    d = np.full(10, 60)
    v = np.array([1.0, 2, 3, 5, 5, 5, 5, 5, 5, 5])
    run = realtime.stuck_now(ts, d, v)
    assert run["value"] == 5 and run["repeats"] == 6
    v[-1] = 6
    assert realtime.stuck_now(ts, d, v) is None


def test_spike_needs_both_references():
    before = [10.0, 11.0, 9.5, 10.5, 10.0]
    z_before, z_week = realtime.spike_z(80.0, before, [78.0, 81.0, 79.0])
    assert z_before > 6 and z_week < 6       # a shift start, ordinary at this time of week
    assert min(realtime.spike_z(80.0, before, [10.0, 11.0, 10.5])) > 6
    # the screen on the readings before: upward only (a drop is a stop)
    z = realtime.spike_z_before([10.0, 11.0, 9.5, 10.5, 80.0, 0.5], window=4)
    assert np.isnan(z[:3]).all() and z[4] > 6 and z[5] == 0


def hourly(store, first_ts, energies, meter="M-Compressor-1"):
    msgs = [stream.Message(f"enms/Test Plant/meter/{meter}",
                           msg({"ts": f"{np.datetime64(first_ts + 3600 * i, 's')}Z",
                                "consumption_kwh": e}), 0.0) for i, e in enumerate(energies)]
    return msgs


def test_monitor_raises_stuck_spike_and_silence_alerts_once(store, plant):
    plant(store)
    clock = [0.0]
    monitor = realtime.Monitor([], clock=lambda: clock[0])
    stats = stream.Stats()
    start = 1748736000  # 2025-06-01 00:00 UTC
    rng = np.random.default_rng(1)
    # four weeks of ordinary hours: the history a spike is judged against
    history = 40 + rng.normal(0, 1, 4 * 168)
    stream.flush(store, hourly(store, start, history.round(2)), stream.DEFAULT_ROUTES, stats)
    now = start + 4 * 168 * 3600
    spike = [41.2, 40.3, 39.8, 400.0, 40.9]
    stream.flush(store, hourly(store, now, spike), stream.DEFAULT_ROUTES, stats, monitor)
    stuck = [42.5] * 8
    stream.flush(store, hourly(store, now + 5 * 3600, stuck), stream.DEFAULT_ROUTES, stats,
                 monitor)
    stream.flush(store, hourly(store, now + 13 * 3600, stuck), stream.DEFAULT_ROUTES, stats,
                 monitor)  # the run goes on past the readings kept: the same alert
    stream.flush(store, hourly(store, now + 5 * 3600, stuck), stream.DEFAULT_ROUTES, stats,
                 monitor)  # a replay: no second alert
    found = alerts.list_alerts(store, "open")
    kinds = sorted(a["kind"] for a in found)
    assert kinds == ["spike", "stuck_value"], kinds
    stuck_alert = next(a for a in found if a["kind"] == "stuck_value")
    assert stuck_alert["evidence"]["repeats"] == 15    # 16 equal hours: 15 repeats
    spike_alert = next(a for a in found if a["kind"] == "spike")
    assert spike_alert["evidence"]["energy"] == 400.0
    assert spike_alert["subject"] == "M-Compressor-1" and spike_alert["seu"]
    clock[0] += 3 * 3600 + 1    # three hourly intervals without data
    assert [a["kind"] for a in monitor.tick(store)] == ["sensor_silence"]
    assert monitor.tick(store) == []          # the same silence: no second alert


def test_monitor_evaluates_the_days_that_ended(store, plant):
    plant(store)
    monitor = realtime.Monitor([])
    stats = stream.Stats()
    start = 1748815200  # 2025-06-02 00:00 Europe/Berlin
    stream.flush(store, hourly(store, start, [40.0] * 5), stream.DEFAULT_ROUTES, stats, monitor)
    assert monitor.ended is None
    stream.flush(store, hourly(store, start + 5 * 3600, [41.0, 40.5] * 12),
                 stream.DEFAULT_ROUTES, stats, monitor)      # into 3 June
    assert monitor.ended == (date(2025, 6, 2), date(2025, 6, 2))
    stream.flush(store, hourly(store, start + 29 * 3600, [41.0, 40.5] * 12),
                 stream.DEFAULT_ROUTES, stats, monitor)      # into 4 June
    assert monitor.ended == (date(2025, 6, 2), date(2025, 6, 3))
    new = monitor.evaluate_ended(store)
    assert monitor.ended is None and monitor.evaluate_ended(store) == []
    # the driver values never came: the month's evaluation says so
    assert {a["subject"] for a in new if a["kind"] == "missing_data"} >= {"production_count"}

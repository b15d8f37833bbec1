"""Today so far against the baseline, live (engine.realtime, ``live_deviation``): a day
of the demo factory taken out of the database and fed back hour by hour through
the stream's writer and the real-time monitor."""
import json
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, demo_database
from engine import alerts, readings, realtime, schema as s, stream
from engine.demo_plant import SITE_NAME, STEP
from engine.localtime import day_bounds

TZ = "Europe/Berlin"
LEAK = "Compressor-EU-1/electricity"
METERS = ("M-Compressor-EU-1-EL", "M-Compressor-1-EL")


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, truth, _):
        yield store, truth


def iso(ts: int) -> str:
    return f"{np.datetime64(int(ts), 's')}Z"


def take_out(store, day: date) -> tuple[list, int]:
    """The day's readings of METERS and of every measured driver, removed from the
    database and returned as (ts, the message a plant would publish), oldest
    first, with the day's start [s]."""
    start, end = day_bounds(TZ, day)
    table = readings.table("electricity", ["consumption_kwh"])
    with store.begin() as conn:
        meters = dict(conn.execute(sa.select(s.meters.c.id, s.meters.c.name)
                                   .where(s.meters.c.name.in_(METERS))).all())
        drivers = dict(conn.execute(sa.select(s.drivers.c.id, s.drivers.c.name)
                                    .where(s.drivers.c.kind == "measured")).all())
        in_day = (table.c.ts >= start) & (table.c.ts < end) & table.c.meter_id.in_(meters)
        energy = conn.execute(sa.select(table.c.meter_id, table.c.ts, table.c.duration_s,
                                        table.c.consumption_kwh).where(in_day)).all()
        conn.execute(table.delete().where(in_day))
        dr = s.driver_readings
        in_day = (dr.c.ts >= start) & (dr.c.ts < end)
        values = conn.execute(sa.select(dr.c.driver_id, dr.c.ts, dr.c.duration_s, dr.c.value)
                              .where(in_day)).all()
        conn.execute(dr.delete().where(in_day))
    out = [(ts, stream.Message(f"enms/{SITE_NAME}/meter/{meters[m]}",
                               json.dumps({"ts": iso(ts), "duration_s": d,
                                           "consumption_kwh": e}).encode(), 0.0))
           for m, ts, d, e in energy]
    out += [(ts, stream.Message(f"enms/{SITE_NAME}/driver/{drivers[i]}",
                                json.dumps({"ts": iso(ts), "duration_s": d,
                                            "value": v}).encode(), 0.0))
            for i, ts, d, v in values]
    return sorted(out, key=lambda x: x[0]), start


def replay(store, day: date, without: str | None = None) -> dict:
    """Feed the day back one hour at a time (leaving out the driver ``without``):
    SEU -> (local hours complete when its alert came, the alert)."""
    messages, start = take_out(store, day)
    monitor = realtime.Monitor([])
    stats = stream.Stats()
    raised = {}
    for hour in range(24):
        lo, hi = start + hour * 3600, start + (hour + 1) * 3600
        batch = [m for ts, m in messages
                 if lo <= ts < hi and not (without and m.topic.endswith("/" + without))]
        stream.flush(store, batch, stream.DEFAULT_ROUTES, stats, monitor)
        for a in alerts.list_alerts(store, "open", kind="live_deviation"):
            if a["first"] == day:
                raised.setdefault(a["seu"] or a["subject"], (hour + 1, a))
    return raised


def test_driver_so_far_needs_a_baselines_coverage_and_never_reads_missing_as_zero():
    hour = np.full(10, 3600.0)
    assert realtime.driver_so_far("sum", np.full(10, 5.0), hour, 36000) == 50.0
    gap = np.r_[np.full(9, 5.0), np.nan]    # one hour of ten missing: a sum is unknown ...
    assert realtime.driver_so_far("sum", gap, hour, 36000) is None
    # ... a mean tolerates it (90 % covered), weighted by the seconds covered
    assert realtime.driver_so_far("mean", gap, hour, 36000) == 5.0
    assert realtime.driver_so_far("mean", [], [], 36000) is None


def test_leak_day_raises_by_the_afternoon_once_and_a_clean_day_does_not(demo):
    store, truth = demo
    # A Wednesday nine weeks into the compressed-air leak, one of the days whose
    # leak and noise together leave the day's interval (as the day-end check says):
    # +4 kWh/h is +96 kWh a day, inside a day's 95 % interval of about +-117 kWh.
    day = date(2025, 6, 18)
    assert any(e["type"] == "step" and e["seu"] == LEAK for e in truth["effects"])
    assert day > STEP["start"]
    raised = replay(store, day)
    hours, alert = raised["Compressor-EU-1 electricity"]
    assert hours <= 15, hours   # by 15:00 local
    ev = alert["evidence"]
    assert alert["severity"] == "warning" and ev["actual"] > ev["upper"] > ev["expected"]
    # the excess so far is the leak's size, not noise many times over
    leak_kwh = STEP["size_per_hour"] * hours
    assert 0.5 * leak_kwh < ev["actual"] - ev["expected"] < 2 * leak_kwh
    assert 0 < ev["share_of_day"] < 1 and ev["until"].endswith(f"{(hours - 2) % 24:02d}:00:00Z")
    # outside the interval for hours after: still one alert for the SEU and the day
    assert len([a for a in alerts.list_alerts(store, "open", kind="live_deviation")
                if a["seu"] == "Compressor-EU-1 electricity" and a["first"] == day]) == 1
    assert "Compressor-1 electricity" not in raised       # the clean compressor's normal day


def test_missing_temperature_gives_no_expectation_and_no_alert(demo):
    store, _ = demo
    day = date(2025, 6, 10)
    raised = replay(store, day, without="outdoor_temp_c")
    # read as 0 degC the day would need 18 degree days of heating: far above, an alert
    assert "HVAC-EU-North electricity" not in raised
    assert "HVAC-Main electricity" not in raised
    assert "Compressor-EU-1 electricity" in raised        # production came: judged as ever

"""``alerts.since`` and ``alerts.newest_id`` on SQLite and PostgreSQL: what a
listener (the voice skill's spoken alerts) asks for, the alerts numbered above
the last one it handled, at or above a severity, open ones only by default,
with the SEU's name and the evidence the speech needs.
"""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from engine import alerts, schema
from engine.errors import EnmsError

DAY = date(2025, 11, 24)


def _ids(store):
    with store.read() as conn:
        seus = {f"{e} {s}": i for i, e, s in conn.execute(
            sa.select(schema.seus.c.id, schema.equipment.c.name, schema.energy_sources.c.name)
            .join(schema.equipment, schema.equipment.c.id == schema.seus.c.equipment_id)
            .join(schema.energy_sources, schema.energy_sources.c.id == schema.seus.c.source_id))}
        meters = dict(conn.execute(sa.select(schema.meters.c.name, schema.meters.c.id)).all())
    return seus, meters


def _seu_condition(seu_id, name, severity, key, pct):
    return {"kind": "significant_deviation", "subject_kind": "seu", "subject_id": seu_id,
            "subject": name, "seu_id": seu_id, "key": key, "period": key, "first": DAY,
            "last": DAY, "severity": severity, "message": f"{pct} % above",
            "evidence": {"direction": "above", "deviation_pct": pct, "unit": "kWh"}}


def _gap_condition(meter_id, name, severity, key):
    return {"kind": "missing_data", "subject_kind": "meter", "subject_id": meter_id,
            "subject": name, "seu_id": None, "key": key, "period": key, "first": DAY,
            "last": DAY, "severity": severity, "message": "no readings",
            "evidence": {"missing_s": 86400.0 * 3}}


def _raise(store, *conditions):
    return [a["id"] for a in alerts.raise_conditions(
        store, list(conditions), now=datetime(2025, 11, 24, 12, tzinfo=timezone.utc))]


def test_since_lists_what_is_new_by_severity_and_status(store, plant):
    plant(store)
    assert alerts.newest_id(store) == 0
    assert alerts.since(store, 0) == []
    seus, meters = _ids(store)
    compressor = seus["Compressor-1 electricity"]
    [old] = _raise(store, _seu_condition(compressor, "Compressor-1 electricity", "critical",
                                         "2025-10", 31.0))
    start = alerts.newest_id(store)
    assert start == old       # a listener starting now does not read this one out
    critical, warning, info, gap = _raise(
        store,
        _seu_condition(compressor, "Compressor-1 electricity", "critical", "2025-11", 30.4),
        _seu_condition(seus["Boiler-1 natural_gas"], "Boiler-1 natural_gas", "warning",
                       "2025-11", 6.0),
        _gap_condition(meters["M-Boiler-1-NG"], "M-Boiler-1-NG", "info", "2025-11-20T00:00"),
        _gap_condition(meters["M-Compressor-1"], "M-Compressor-1", "critical",
                       "2025-11-21T00:00"))
    assert alerts.newest_id(store) == gap

    found = alerts.since(store, start)
    assert [a["id"] for a in found] == [critical, gap]      # critical only, oldest first
    first = found[0]
    assert first["seu"] == "Compressor-1 electricity" and first["kind"] == "significant_deviation"
    assert first["severity"] == "critical" and first["status"] == "open"
    assert first["evidence"]["deviation_pct"] == 30.4
    assert first["first"] == DAY and first["created_at"].tzinfo is not None
    assert found[1]["seu"] is None and found[1]["subject"] == "M-Compressor-1"
    # The same dictionaries as list_alerts gives.
    assert found == [alerts.get(store, critical), alerts.get(store, gap)]

    # One SELECT, however many alerts and SEUs it returns.
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert len(alerts.since(store, 0, "info")) == 5
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1

    assert [a["id"] for a in alerts.since(store, start, "warning")] == [critical, warning, gap]
    assert [a["id"] for a in alerts.since(store, start, "info")] == [critical, warning, info, gap]
    assert [a["id"] for a in alerts.since(store, critical)] == [gap]
    assert alerts.since(store, gap) == []

    # Acknowledged: needs nobody's attention, so not listed unless asked for.
    alerts.acknowledge(store, gap, by="e.engineer", comment="logger replaced")
    assert [a["id"] for a in alerts.since(store, start)] == [critical]
    assert [a["id"] for a in alerts.since(store, start, status="acknowledged")] == [gap]
    assert [a["id"] for a in alerts.since(store, 0, status="all")] == [old, critical, gap]


def test_since_refuses_unknown_severity_and_status(store):
    with pytest.raises(EnmsError, match="unknown severity 'urgent'"):
        alerts.since(store, 0, "urgent")
    with pytest.raises(EnmsError, match="unknown status 'closed'"):
        alerts.since(store, 0, status="closed")

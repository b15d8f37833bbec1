"""Backup and restore on SQLite and PostgreSQL: a filled database (readings,
baselines, reports, audit trail) backed up and restored into an empty one has
equal content table by table and produces the same reports; a backup taken
while another thread writes is one moment of the database; a damaged file is
refused with one line before anything changes.
"""
import json
import threading
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from conftest import BACKENDS, build_plant, fresh_database, open_store
from engine import audit, backup, baselines, catalog, reports, schema
from engine.cli.main import main
from engine.errors import EnmsError
from engine.store import HEAD_REVISION, Store
from test_audit import COMPRESSOR, START, load_compressor_year

JANUARY = (date(2025, 1, 1), date(2025, 1, 31))


def _same(a, b) -> bool:
    # NaN compares unequal to itself; as JSON text equal figures are equal.
    return json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


def _checksums(store) -> dict:
    with store.read() as conn:
        return backup.table_checksums(conn)


def _restored_as_backed_up(restored, manifest: dict, original_log: list[dict]) -> dict:
    """Check every table against the backup, the audit trail up to the record
    restore appends; returns that record."""
    found = _checksums(restored)
    assert {t: c for t, c in found.items() if t != "audit_log"} == \
        {t: c for t, c in manifest["tables"].items() if t != "audit_log"}
    *kept, restored_record = audit.log(restored)
    assert _same(kept, original_log)
    return restored_record


@pytest.fixture(scope="module", params=BACKENDS)
def filled(request, tmp_path_factory):
    """(backend, store, a backup file of it) for a plant with a year of readings,
    an active baseline and stored reports."""
    directory = tmp_path_factory.mktemp(f"filled-{request.param}")
    with fresh_database(request.param, directory) as url, open_store(url) as store:
        build_plant(store)
        load_compressor_year(store)
        baselines.train(store, *COMPRESSOR, date(2024, 1, 1), date(2024, 12, 31),
                        drivers=["production_count"], trained_by="e.engineer")
        assert reports.run(store, 2025, (1, 2), generated_by="p.manager")["reports"]
        out = directory / "plant.enmsbak"
        manifest = backup.backup(store, out)
        yield request.param, store, out, manifest


@pytest.fixture
def empty(filled, tmp_path):
    """A new, migrated, empty database of the same kind as ``filled``."""
    (tmp_path / "empty").mkdir()
    with fresh_database(filled[0], tmp_path / "empty") as url, open_store(url) as store:
        yield store


def test_the_manifest_holds_every_table_and_the_schema(filled):
    _, store, _, manifest = filled
    assert (manifest["format"], manifest["format_version"], manifest["schema_revision"]) == \
        ("enms-backup", 1, HEAD_REVISION)
    assert manifest["tables"] == _checksums(store)
    with store.read() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        readings = conn.execute(sa.select(sa.func.count()).select_from(
            sa.table("electricity_readings"))).scalar()
    assert set(manifest["tables"]) <= tables and "audit_log" in manifest["tables"]
    assert manifest["tables"]["electricity_readings"]["rows"] == readings > 9000
    assert manifest["tables"]["baselines"]["rows"] == 1
    assert manifest["tables"]["reports"]["rows"] >= 1


def test_restore_into_an_empty_database_gives_equal_content_and_the_same_reports(filled, empty):
    _, store, out, manifest = filled
    assert backup.restore(empty, out, actor="it.admin") == manifest
    record = _restored_as_backed_up(empty, manifest, audit.log(store))
    assert (record["actor"], record["action"], record["entity"], record["before"]) == \
        ("it.admin", "database.restore", "plant.enmsbak", {"rows_replaced": 0})
    assert (record["after"]["sha256"], record["after"]["rows"]) == (
        manifest["payload"]["sha256"], sum(t["rows"] for t in manifest["tables"].values()))
    assert _same(reports.stored(empty, *COMPRESSOR), reports.stored(store, *COMPRESSOR))
    assert _same(reports.build(empty, *COMPRESSOR, *JANUARY),
                 reports.build(store, *COMPRESSOR, *JANUARY))
    assert _same(baselines.history(empty, *COMPRESSOR), baselines.history(store, *COMPRESSOR))
    # The restored audit trail is as append-only as the original.
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with empty.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_log")
    # One changed value is one changed checksum: the comparison can fail.
    with empty.begin() as conn:
        conn.exec_driver_sql("UPDATE electricity_readings SET consumption_kwh = consumption_kwh "
                             "+ 1 WHERE ts = (SELECT min(ts) FROM electricity_readings)")
    changed = _checksums(empty)
    assert [t for t in changed if changed[t] != manifest["tables"][t]] == \
        ["audit_log", "electricity_readings"]  # the trail holds the restore itself


def test_restore_refuses_a_database_with_data_unless_forced(filled, empty, capsys):
    _, store, out, manifest = filled
    build_plant(empty)
    catalog.add_meter(empty, "M-Extra", "Boiler-1", "natural_gas")
    before = _checksums(empty)
    with pytest.raises(EnmsError, match="not empty .* restore with --force"):
        backup.restore(empty, out)
    assert _checksums(empty) == before
    url = empty.url
    empty.dispose()
    assert main(["--db", url, "restore", str(out), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == \
        sum(t["rows"] for t in manifest["tables"].values())
    record = _restored_as_backed_up(empty, manifest, audit.log(store))
    assert record["before"]["rows_replaced"] > 0
    assert [m["name"] for m in catalog.list_entries(empty, "meter")] == \
        ["M-Boiler-1-NG", "M-Compressor-1"]


def test_a_backup_of_another_database_kind_is_refused(filled, tmp_path):
    backend, _, out, _ = filled
    other = "postgresql" if backend == "sqlite" else "sqlite"
    with fresh_database(other, tmp_path) as url, open_store(url) as target:
        with pytest.raises(EnmsError, match=f"is a backup of {backend}"):
            backup.restore(target, out)


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "not a backup"])
def test_a_damaged_backup_is_one_line_and_changes_nothing(filled, empty, damage, tmp_path,
                                                         capsys):
    _, _, out, _ = filled
    data = out.read_bytes()
    bad = tmp_path / "bad.enmsbak"
    if damage == "truncated":
        bad.write_bytes(data[:len(data) // 2])
    elif damage == "flipped byte":
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    else:
        bad.write_text("timestamp,meter,consumption_kwh\n")
    url = empty.url
    before = _checksums(empty)
    empty.dispose()
    assert main(["--db", url, "restore", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"enms: error: {bad}: not a usable EnMS backup"), err
    assert _checksums(empty) == before


def test_backup_never_overwrites_a_file(filled, capsys):
    _, store, out, _ = filled
    size = out.stat().st_size
    assert main(["--db", store.url, "backup", "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert out.stat().st_size == size


def test_a_backup_while_another_thread_writes_is_one_moment(store, tmp_path, plant):
    """Each write adds 50 driver readings and one audit record in one transaction:
    any consistent snapshot holds exactly 50 readings per record. On PostgreSQL
    this also proves dump and manifest come from one snapshot (restore checks
    the one against the other)."""
    plant(store)
    load_compressor_year(store)
    with store.read() as conn:
        driver = conn.execute(sa.select(schema.drivers.c.id).where(
            schema.drivers.c.name == "outdoor_temp_c")).scalar()
    stop, written = threading.Event(), []

    def writer():
        ts = START
        while not stop.is_set():
            with store.begin() as conn:
                conn.execute(schema.driver_readings.insert(), [
                    {"driver_id": driver, "ts": ts + 60 * i, "duration_s": 60, "value": 1.0}
                    for i in range(50)])
                audit.record(conn, "writer", "test.write", "driver", "outdoor_temp_c",
                             after={"rows": 50})
            ts += 60 * 50
            written.append(ts)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        at_start = len(written)
        backup.backup(store, tmp_path / "live.enmsbak")
        at_end = len(written)
        while len(written) < at_end + 5:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    with fresh_database(store.dialect, tmp_path / "restored") as url, \
            open_store(url) as restored:
        backup.restore(restored, tmp_path / "live.enmsbak")
        with restored.read() as conn:
            readings = conn.execute(sa.select(sa.func.count()).where(
                schema.driver_readings.c.driver_id == driver)).scalar()
        records = len(audit.log(restored, action="test.write"))
    # A commit is counted just after it: one may be in the snapshot yet counted after it.
    assert at_start <= records <= at_end + 1 < len(written)
    assert readings == 50 * records


def test_an_older_schema_is_restored_then_upgraded_and_a_newer_one_refused(db_url, tmp_path):
    old = Store(db_url, upgrade=False)
    try:
        old.upgrade("0008")  # before the audit trail (0009), which today's catalog writes to
        with old.begin() as conn:
            conn.execute(schema.sites.insert().values(name="Old Plant", timezone="Europe/Berlin"))
        manifest = backup.backup(old, tmp_path / "old.enmsbak")
    finally:
        old.dispose()
    assert manifest["schema_revision"] == "0008" and "audit_log" not in manifest["tables"]
    with fresh_database(manifest["database"], tmp_path / "new") as url, open_store(url) as new:
        backup.restore(new, tmp_path / "old.enmsbak")
        assert new.revision() == HEAD_REVISION
        assert [s["name"] for s in catalog.list_entries(new, "site")] == ["Old Plant"]
        assert [r["action"] for r in audit.log(new)] == ["database.restore"]

        newer = tmp_path / "newer.enmsbak"
        with zipfile.ZipFile(tmp_path / "old.enmsbak") as source, \
                zipfile.ZipFile(newer, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "manifest.json":
                    data = json.dumps({**json.loads(data), "schema_revision": "9999"}).encode()
                target.writestr(item, data)
        with pytest.raises(EnmsError, match="schema revision 9999, newer than this EnMS"):
            backup.restore(new, newer, force=True)
        assert [s["name"] for s in catalog.list_entries(new, "site")] == ["Old Plant"]

"""The read path behind the voice answers: a report or a savings answer reads each
series once (a bounded number of SQL statements, whatever the period's length),
and figures computed from days read once equal those read period by period."""
from contextlib import contextmanager
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, demo_database
from engine import baselines, catalog, reports, savings

# Statements one report build may run, warm (data-quality log filled): the SEU,
# its baseline and drivers, one read per series, the log per kind, the meters.
# When every call read its own series a build took 97-113; now 35-38.
REPORT_STATEMENTS_MAX = 45
# Per SEU of a plant-wide savings answer (its baseline; the days and the log are
# read once for all SEUs). Before: 310 statements for the demo's 9 SEUs, now 23.
SAVINGS_STATEMENTS_PER_SEU_MAX = 10


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, _, _url):
        yield store


@contextmanager
def statements(store):
    """Count the SQL statements sent to the database inside the block."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


def _build(store, first, last):
    return reports.build(store, "Boiler-1", "natural_gas", first, last)


def test_a_report_reads_each_series_once(demo):
    month, months = (date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 3, 1), date(2025, 9, 30))
    for period in (month, months):
        _build(demo, *period)  # the first build may scan days missing from the log
    with statements(demo) as one_month:
        _build(demo, *month)
    with statements(demo) as seven_months:
        _build(demo, *months)
    assert 0 < len(one_month) <= REPORT_STATEMENTS_MAX, one_month
    # Seven months read the same series as one: nothing is read per day or month.
    assert len(seven_months) == len(one_month)


def test_plant_savings_statements_grow_with_seus_only(demo):
    first, last = date(2025, 1, 1), date(2025, 10, 31)
    savings.compute(demo, first, last, cumulative=False)
    with statements(demo) as seen:
        result = savings.compute(demo, first, last, cumulative=False)
    with statements(demo) as seen_cumulative:
        savings.compute(demo, date(2025, 6, 1), last)
    seus = len(result["seus"])
    assert [r["status"] for r in result["seus"]] == ["ok"] * seus
    assert len(seen) <= SAVINGS_STATEMENTS_PER_SEU_MAX * seus, len(seen)
    # The figures since the baseline come from the same read as the period's.
    assert len(seen_cumulative) == len(seen)


def test_figures_from_days_read_once_equal_a_read_per_period(demo):
    """``expected`` on a part of days read once over a longer span equals a read of
    the part alone: rows, totals, interval, exclusions and groups."""
    for seu in catalog.list_entries(demo, "seu"):
        equipment, source = seu["equipment"], seu["source"]
        days = baselines.read_days(demo, equipment, source, date(2025, 1, 1),
                                   date(2025, 10, 31))
        for first, last in [(date(2025, 2, 11), date(2025, 3, 20)),
                            (date(2025, 10, 1), date(2025, 10, 31))]:
            alone = baselines.expected(demo, equipment, source, first, last,
                                       groups=("week", "month"))
            cut = baselines.expected(demo, equipment, source, first, last,
                                     groups=("week", "month"), days=days)
            assert cut == alone, seu["name"]
        model_days = baselines.read_days(demo, equipment, source, date(2025, 1, 1),
                                         date(2025, 10, 31), energy_required=False)
        assert baselines.expected_days(demo, equipment, source, date(2025, 4, 1),
                                       date(2025, 4, 30), days=model_days) == \
            baselines.expected_days(demo, equipment, source, date(2025, 4, 1),
                                    date(2025, 4, 30))


@pytest.mark.parametrize("interval", ["week", "month"])
def test_a_frame_cut_from_a_longer_read_drops_the_cut_intervals(demo, interval):
    """Weeks or months the part covers only in part are left out, as when read alone."""
    days = baselines.read_days(demo, "Boiler-1", "natural_gas", date(2024, 1, 1),
                               date(2024, 12, 31))
    specs = days.baseline["spec"]["drivers"]
    first, last = date(2024, 2, 7), date(2024, 9, 16)
    alone = baselines.build_frame(demo, "Boiler-1", "natural_gas", first, last, specs, interval)
    cut = days.frame(first, last, specs, interval)
    assert cut.excluded == alone.excluded and cut.starts == alone.starts
    assert cut.excluded[0][1] == f"the period covers only part of this {interval}"
    np.testing.assert_array_equal(cut.energy, alone.energy)
    for name in alone.drivers:
        np.testing.assert_array_equal(cut.drivers[name], alone.drivers[name])


def test_days_of_another_seu_or_version_are_refused(demo):
    days = baselines.read_days(demo, "Boiler-1", "natural_gas", date(2025, 1, 1),
                               date(2025, 3, 31))
    with pytest.raises(ValueError, match="not of Compressor-1"):
        baselines.expected(demo, "Compressor-1", "electricity", date(2025, 1, 1),
                           date(2025, 1, 31), days=days)
    with pytest.raises(ValueError, match="version 99"):
        baselines.expected(demo, "Boiler-1", "natural_gas", date(2025, 1, 1),
                           date(2025, 1, 31), 99, days=days)
    with pytest.raises(ValueError, match="not in the days read"):
        baselines.expected(demo, "Boiler-1", "natural_gas", date(2025, 3, 1),
                           date(2025, 4, 30), days=days)

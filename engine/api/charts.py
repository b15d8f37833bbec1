"""/api/v1/charts: the charts of an SEU and of the plant as PNG or SVG, drawn
by ``engine.figures`` exactly as the PDF reports and the audit package draw
them (the web dashboard shows these).

An SEU's charts belong to its period report (the report carries the CUSUM
and the data quality too), so they need ``report.read``: actual vs expected
by month (the year to the period's month) and by day, the CUSUM since the
baseline with its control limits, and the daily data completeness of the
year to the period. The plant's: consumption by SEU and by energy source and
the savings to date.
"""
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from .. import figures, reports, savings
from ..errors import EnmsError
from ..periods import label
from . import sites
from .auth import Permitted
from .common import PeriodText, SeuQuery, SourceQuery, StoreDep, built_file, period_query

router = APIRouter(prefix="/charts", tags=["charts"])
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
Format = Enum("Format", {k: k for k in MEDIA}, type=str)
SeuChart = Enum("SeuChart", {k: k for k in ("monthly", "daily", "cusum", "completeness")},
                type=str)
PlantChart = Enum("PlantChart", {k: k for k in ("by-seu", "by-source", "savings")}, type=str)
IMAGE = {"content": {m: {} for m in MEDIA.values()}, "description": "the chart"}


def _reported(store, first_month: date, last: date, seus=None) -> list[dict]:
    """The period reports of each month from ``first_month`` to ``last`` (of
    the SEUs given, else every SEU); none is an error that says why."""
    done = reports.run(store, last.year, (first_month.month, last.month), seus=seus, save=False)
    if not done["reports"]:
        why = f" ({done['skipped'][0]['reason']})" if done["skipped"] else ""
        raise EnmsError(f"{', '.join(' '.join(s) for s in seus) if seus else 'the plant'}: no "
                        f"month from {first_month:%Y-%m} to {last:%Y-%m} can be reported{why}")
    return done["reports"]


def _months(store, equipment: str, source: str, last: date) -> list[dict]:
    """The SEU's period reports of each month of ``last``'s year up to it."""
    return _reported(store, last.replace(month=1), last, [(equipment, source)])


@router.get("/seu/{chart}", response_class=FileResponse, responses={200: IMAGE})
def seu_chart(chart: SeuChart, seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
              user: Permitted("report.read"), bounds=Depends(period_query),
              format: Format = Format.png):  # noqa: A002 - the query parameter's name
    """One chart of an SEU for a period (a month, usually)."""
    sites.check_equipment(store, user, seu)
    suffix = f".{format.value}"

    def draw(folder):
        if chart.value == "monthly":
            return figures.monthly_chart(_months(store, seu, energy_source, bounds[1]), folder,
                                         suffix)
        if chart.value == "completeness":
            return figures.completeness_chart(
                store, _months(store, seu, energy_source, bounds[1]), folder, suffix)
        report = reports.build(store, seu, energy_source, *bounds)
        draw_one = figures.daily_chart if chart.value == "daily" else figures.cusum_file
        return draw_one(store, report, folder, suffix)
    return built_file(draw, MEDIA[format.value])


@router.get("/baseline/drivers", response_class=FileResponse, responses={200: IMAGE})
def drivers_chart(seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
                  user: Permitted("baseline.read"),
                  version: Annotated[int | None, Query(ge=1)] = None,
                  format: Format = Format.png):  # noqa: A002 - the query parameter's name
    """Energy against each driver of a baseline version (default: the active
    one) with the fitted line: the baseline's training data, so it needs
    ``baseline.read``."""
    sites.check_equipment(store, user, seu)
    return built_file(lambda folder: figures.drivers_chart(
        store, seu, energy_source, version, folder, f".{format.value}"), MEDIA[format.value])


@router.get("/plant/{chart}", response_class=FileResponse, responses={200: IMAGE})
def plant_chart(chart: PlantChart, store: StoreDep, user: Permitted("report.read"),
                period: Annotated[PeriodText | None, Query(examples=["2025"])] = None,
                first: Annotated[date | None, Query(alias="from")] = None,
                last: Annotated[date | None, Query(alias="to")] = None,
                format: Format = Format.png):  # noqa: A002 - the query parameter's name
    """One chart of the plant over a period within one year (?period= or
    ?from=&to=); none: the year of the latest data, to its latest day."""
    sites.check_plant_wide(store, user, "plant charts")
    first, last = period_query(period, first, last) if period or first or last \
        else savings.default_period(store)
    if first.year != last.year:
        raise EnmsError(f"period {label(first, last)}: plant charts cover one year at most")
    path = Path(f"plant_{chart.value}.{format.value}")

    def draw(folder):
        if chart.value == "savings":
            return figures.savings_to_date_chart(
                _reported(store, first, last), f"Savings to date, {label(first, last)}",
                Path(folder) / path)
        consumption = figures.plant_consumption(store, first, last)
        draw_one = (figures.by_seu_chart if chart.value == "by-seu"
                    else figures.by_source_chart)
        return draw_one(consumption, first, last, Path(folder) / path)
    return built_file(draw, MEDIA[format.value])

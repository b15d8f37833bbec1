"""/api/v1/reports, /cusum, /quality and /savings: period reports of an SEU
(also as a PDF to sign) and of every SEU x month, its CUSUM, the data-quality
scan and savings (``enms report [--pdf]``, ``enms quality``, ``enms savings``)."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import Field

from .. import figures, quality, report_pdf, reports, savings
from . import sites
from .auth import Permitted
from .common import (Body, EngineJSON, Identifier, Name, PeriodBody, SeuQuery, SourceQuery,
                     StoreDep, built_file, period_query)

router = APIRouter(tags=["reports"])
Bounds = Annotated[tuple, Depends(period_query)]


@router.get("/reports/seu-performance")
def seu_performance(seu: SeuQuery, energy_source: SourceQuery, bounds: Bounds,
                    store: StoreDep, user: Permitted("report.read")):
    """The period report of one SEU: expected, actual, deviation and its 95 %
    interval, CUSUM, EnPI, data quality (built, not stored)."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(reports.build(store, seu, energy_source, *bounds))


@router.get("/reports/seu-performance/pdf", response_class=FileResponse)
def seu_performance_pdf(seu: SeuQuery, energy_source: SourceQuery, bounds: Bounds,
                        store: StoreDep, user: Permitted("report.read")):
    """The period report of one SEU as a PDF to sign (``enms report --pdf``):
    numbers, charts, baseline version, data quality, investigation status."""
    sites.check_equipment(store, user, seu)
    report = reports.build(store, seu, energy_source, *bounds)
    name = f"{figures.slug(report['seu'])}_{figures.slug(report['period'])}.pdf"
    return built_file(lambda folder: report_pdf.write(store, report, Path(folder) / name)["pdf"],
                      "application/pdf", name)


@router.get("/reports/monthly")
def monthly(seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
            user: Permitted("report.read"), year: Annotated[int, Query(ge=1970, le=2200)],
            last_month: Annotated[int, Query(ge=1, le=12)] = 12):
    """The SEU's period report of each month of ``year`` to ``last_month`` (built,
    not stored); months that cannot be reported are under ``skipped`` with why."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(reports.run(store, year, (1, last_month), seus=[(seu, energy_source)],
                                  save=False))


class ReportIn(PeriodBody):
    seu: Name = Field(examples=["Boiler-1"])
    energy_source: Identifier = Field(examples=["natural_gas"])


@router.post("/reports/seu-performance", status_code=201)
def generate_seu_performance(body: ReportIn, store: StoreDep,
                             user: Permitted("report.generate")):
    """Build the period report of one SEU and store it as the current one."""
    sites.check_equipment(store, user, body.seu)
    return EngineJSON(reports.generate(store, body.seu, body.energy_source, *body.bounds(),
                                       generated_by=user["name"]), status_code=201)


class MonthlyIn(Body):
    year: int = Field(ge=1970, le=2200, examples=[2025])
    first_month: int = Field(1, ge=1, le=12)
    last_month: int = Field(12, ge=1, le=12)


@router.post("/reports/generate-all-monthly", status_code=201)
def generate_all_monthly(body: MonthlyIn, store: StoreDep, user: Permitted("report.generate")):
    """Every SEU x every month of the range, stored; months that cannot be
    reported are listed under ``skipped`` with the reason."""
    if body.last_month < body.first_month:
        raise HTTPException(422, "last_month comes before first_month")
    done = reports.run(store, body.year, (body.first_month, body.last_month),
                       generated_by=user["name"], seus=sites.site_seus(store, user))
    return EngineJSON(done, status_code=201)


@router.get("/cusum")
def cusum(seu: SeuQuery, energy_source: SourceQuery, bounds: Bounds, store: StoreDep,
          user: Permitted("cusum.read")):
    """The SEU's CUSUM (running sum of actual - expected, in energy units, since
    the baseline) and the tabular CUSUM alarms up to the end of the period."""
    sites.check_equipment(store, user, seu)
    report = reports.build(store, seu, energy_source, *bounds)
    return EngineJSON({"seu": report["seu"], "period": report["period"],
                       "unit": report["unit"], "cusum": report["cusum"]})


Names = Annotated[list[Name] | None, Query(max_length=100)]
Drivers = Annotated[list[Identifier] | None, Query(max_length=100)]


@router.get("/quality")
def quality_read(bounds: Bounds, store: StoreDep, user: Permitted("quality.read"),
                 meter: Names = None, driver: Drivers = None):
    """Scan meters and drivers (every one, or those named) without saving."""
    meters, drivers = _scope(store, user, meter, driver)
    return EngineJSON(quality.scan(store, *bounds, meters=meters, drivers=drivers, write=False))


class ScanIn(PeriodBody):
    meters: list[Name] | None = Field(None, max_length=100)
    drivers: list[Identifier] | None = Field(None, max_length=100)


@router.post("/quality/scan")
def quality_scan(body: ScanIn, store: StoreDep, user: Permitted("quality.scan")):
    """Scan and save the scores and findings in the data-quality log."""
    meters, drivers = _scope(store, user, body.meters, body.drivers)
    return EngineJSON(quality.scan(store, *body.bounds(), meters=meters, drivers=drivers,
                                   write=True))


def _scope(store, user, meters, drivers):
    """The meters and drivers to scan: those named (of the user's site), else a
    site-limited user's site's meters, else everything."""
    sites.check_meters(store, user, meters)
    if meters is None and drivers is None:
        return sites.site_meters(store, user), None
    return meters, drivers


@router.get("/savings")
def savings_read(store: StoreDep, user: Permitted("savings.read"),
                 period: Annotated[str | None, Query(max_length=20)] = None,
                 seu: Annotated[Name | None, Query(description="only this equipment's SEUs")] = None,
                 energy_source: Identifier | None = None):
    """Avoided energy, money and CO2 per SEU, energy source and plant, with the
    ASHRAE Guideline 14 uncertainty; no period: the year of the latest data."""
    if seu is not None:
        sites.check_equipment(store, user, seu)
    else:
        sites.check_plant_wide(store, user, "savings")
    first, last = period_query(period) if period is not None else (None, None)
    return EngineJSON(savings.compute(store, first, last, equipment=seu, source=energy_source))

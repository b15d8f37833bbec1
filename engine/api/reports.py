"""/api/v1/reports, /cusum, /quality and /savings: period reports of an SEU and
of every SEU x month, its CUSUM, the data-quality scan and savings
(``enms report``, ``enms quality``, ``enms savings``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import Field

from .. import catalog, quality, reports, savings
from . import sites
from .auth import Permitted
from .common import (Body, EngineJSON, Identifier, Name, PeriodBody, SeuQuery, SourceQuery,
                     StoreDep, period_query)

router = APIRouter(tags=["reports"])
Bounds = Annotated[tuple, Depends(period_query)]


@router.get("/reports/seu-performance")
def seu_performance(seu: SeuQuery, energy_source: SourceQuery, bounds: Bounds,
                    store: StoreDep, user: Permitted("report.read")):
    """The period report of one SEU: expected, actual, deviation and its 95 %
    interval, CUSUM, EnPI, data quality (built, not stored)."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(reports.build(store, seu, energy_source, *bounds))


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
    elif sites.limited(user) and len(catalog.list_entries(store, "site")) > 1:
        raise HTTPException(403, f"savings are plant-wide and {user['name']} may use the site "
                            f"{user['site']} only: name an SEU (?seu=)")
    first, last = period_query(period) if period is not None else (None, None)
    return EngineJSON(savings.compute(store, first, last, equipment=seu, source=energy_source))

"""/api/v1/baseline/seu: train, show, history, adjust and expected energy of an
SEU's baseline (``enms baseline train|show|history|adjust|expected``)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from .. import baselines
from . import sites
from .auth import Permitted
from .common import (EngineJSON, Identifier, Name, PeriodBody, SeuQuery, SourceQuery,
                     StoreDep, Text, period_query)

router = APIRouter(prefix="/baseline/seu", tags=["baselines"])

Drivers = Annotated[list[Identifier] | None, Field(
    None, max_length=20, description="the model's drivers; omitted or empty: automatic "
    "selection among the SEU's candidate drivers",
    examples=[["outdoor_temp_c", "heating_degree_days", "production_count"]])]
Interval = Literal[baselines.INTERVALS]


class TrainIn(PeriodBody):
    seu: Name = Field(description="the SEU's equipment", examples=["Boiler-1"])
    energy_source: Identifier = Field(examples=["natural_gas"])
    drivers: Drivers = None
    interval: Interval = "day"
    reason: Text = "initial baseline"


class AdjustIn(PeriodBody):
    """Adopt a stored candidate (``version``), retrain on a period, or apply a
    static factor; the reason is required (ISO 50001 6.5, ISO 50006)."""
    seu: Name
    energy_source: Identifier
    reason: Text = Field(min_length=1)
    adjustment_type: Literal[baselines.ADJUSTMENT_TYPES]
    approved_by: Name | None = None
    version: int | None = Field(None, ge=1)
    drivers: Drivers = None
    interval: Interval = "day"
    static_add: float | None = Field(None, allow_inf_nan=False)
    static_scale: float | None = Field(None, gt=0, allow_inf_nan=False)


@router.post("/train", status_code=201)
def train(body: TrainIn, store: StoreDep, user: Permitted("baseline.train")):
    """Train a baseline of one SEU on a period; the first becomes active, later
    ones are stored as candidates for a documented adjustment."""
    sites.check_equipment(store, user, body.seu)
    first, last = body.bounds()
    result = baselines.train(store, body.seu, body.energy_source, first, last,
                             drivers=body.drivers or None, interval=body.interval,
                             trained_by=user["name"], reason=body.reason)
    return EngineJSON(result, status_code=201)


@router.post("/adjust", status_code=201)
def adjust(body: AdjustIn, store: StoreDep, user: Permitted("baseline.adjust")):
    """A documented adjustment; the new version becomes active."""
    sites.check_equipment(store, user, body.seu)
    retrain = None
    if body.period or body.first or body.last:
        first, last = body.bounds()
        retrain = {"first": first, "last": last, "interval": body.interval,
                   "drivers": body.drivers or None}
    result = baselines.adjust(
        store, body.seu, body.energy_source, reason=body.reason,
        adjustment_type=body.adjustment_type, adjusted_by=user["name"],
        approved_by=body.approved_by, version=body.version, retrain=retrain,
        static_add=body.static_add, static_scale=body.static_scale)
    return EngineJSON(result, status_code=201)


Version = Annotated[int | None, Query(ge=1, description="default: the active baseline")]


@router.get("")
def show(seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
         user: Permitted("baseline.read"), version: Version = None):
    """One baseline version in full."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(baselines.get(store, seu, energy_source, version))


@router.get("/history")
def history(seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
            user: Permitted("baseline.read")):
    """Every version and adjustment of an SEU's baseline."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(baselines.history(store, seu, energy_source))


@router.get("/expected")
def expected(seu: SeuQuery, energy_source: SourceQuery, store: StoreDep,
             user: Permitted("baseline.read"), bounds=Depends(period_query),
             version: Version = None):
    """Expected against actual energy over a period, with the 95 % prediction interval."""
    sites.check_equipment(store, user, seu)
    return EngineJSON(baselines.expected(store, seu, energy_source, *bounds, version))

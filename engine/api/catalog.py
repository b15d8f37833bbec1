"""/api/v1/catalog: list, show and add sites, energy sources, equipment,
meters, drivers, products and SEUs (``enms catalog list|show|add``)."""

from enum import Enum
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from .. import catalog
from . import sites
from .auth import Permitted
from .common import Body, EngineJSON, Identifier, Name, StoreDep, Text

router = APIRouter(prefix="/catalog", tags=["catalog"])

# The URL's plural -> the catalog's kind.
KINDS = {"sites": "site", "sources": "energy source", "equipment": "equipment",
         "meters": "meter", "drivers": "driver", "products": "product", "seus": "seu"}
Kind = Enum("Kind", {k: k for k in KINDS}, type=str)


@router.get("/{kind}")
def list_entries(kind: Kind, store: StoreDep, user: Permitted("catalog.read")):
    """Every entry of one kind, by name (of the user's site, for equipment,
    meters and SEUs, when the user has one)."""
    rows = catalog.list_entries(store, KINDS[kind.value])
    return EngineJSON(sites.visible_entries(store, user, KINDS[kind.value], rows))


@router.get("/{kind}/{name}")
def show_entry(kind: Kind, name: Name, store: StoreDep, user: Permitted("catalog.read"),
               energy_source: Identifier | None = None):
    """One entry in full; an SEU is named by its equipment and ``?energy_source=``."""
    if kind.value in ("equipment", "seus"):
        sites.check_equipment(store, user, name)
    elif kind.value == "meters":
        sites.check_meters(store, user, [name])
    if kind.value == "seus":
        if energy_source is None:
            raise HTTPException(422, "an SEU is equipment x energy source: "
                                "add ?energy_source=NAME")
        return EngineJSON(catalog.get_seu(store, name, energy_source))
    return EngineJSON(catalog.get_entry(store, KINDS[kind.value], name))


class SiteIn(Body):
    name: Name
    timezone: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$", examples=["Europe/Berlin"])


class ColumnIn(Body):
    name: Identifier
    unit: str = Field(max_length=20)
    kind: Literal["energy", "measure"] = "measure"


class SourceIn(Body):
    name: Identifier
    unit: str = Field(max_length=20, examples=["m3"])
    kwh_per_unit: float = Field(gt=0, allow_inf_nan=False)
    columns: list[ColumnIn] = Field(min_length=1, max_length=40)
    co2_kg_per_unit: float = Field(0.0, ge=0, allow_inf_nan=False)
    tariff_per_unit: float = Field(0.0, ge=0, allow_inf_nan=False)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    description: Text = ""


class EquipmentIn(Body):
    name: Name
    type: Text = ""
    rated_power_kw: float | None = Field(None, gt=0, allow_inf_nan=False)
    description: Text = ""
    site: Name | None = None


class MeterIn(Body):
    name: Name
    equipment: Name
    energy_source: Identifier
    interval_s: int | None = Field(None, gt=0)
    counter_max: float | None = Field(None, gt=0, allow_inf_nan=False)
    description: Text = ""


class DriverIn(Body):
    name: Identifier
    unit: str = Field(max_length=20)
    rollup: Literal[catalog.ROLLUPS] = "sum"
    description: Text = ""
    derived_from: Identifier | None = None
    derivation: Literal[catalog.DERIVATIONS] | None = None
    base_temp_c: float | None = Field(None, ge=-50, le=50, allow_inf_nan=False)
    product: Name | None = None


class ProductIn(Body):
    name: Name
    unit: str = Field("units", max_length=20)
    description: Text = ""


class SeuIn(Body):
    equipment: Name
    energy_source: Identifier
    drivers: list[Identifier] = Field([], max_length=50)
    description: Text = ""


def _add_site(store, b: SiteIn, actor):
    return catalog.add_site(store, b.name, b.timezone, actor=actor)


def _add_source(store, b: SourceIn, actor):
    return catalog.add_energy_source(
        store, b.name, b.unit, b.kwh_per_unit, [c.model_dump() for c in b.columns],
        b.co2_kg_per_unit, b.tariff_per_unit, b.currency, b.description, actor=actor)


def _add_equipment(store, b: EquipmentIn, actor):
    return catalog.add_equipment(store, b.name, b.type, b.rated_power_kw, b.description, b.site,
                                 actor=actor)


def _add_meter(store, b: MeterIn, actor):
    return catalog.add_meter(store, b.name, b.equipment, b.energy_source, b.interval_s,
                             b.counter_max, b.description, actor=actor)


def _add_driver(store, b: DriverIn, actor):
    return catalog.add_driver(store, b.name, b.unit, b.rollup, b.description, b.derived_from,
                              b.derivation, b.base_temp_c, b.product, actor=actor)


def _add_product(store, b: ProductIn, actor):
    return catalog.add_product(store, b.name, b.unit, b.description, actor=actor)


def _add_seu(store, b: SeuIn, actor):
    return catalog.add_seu(store, b.equipment, b.energy_source, b.drivers, b.description,
                           actor=actor)


ADDERS = {"sites": (SiteIn, _add_site), "sources": (SourceIn, _add_source),
          "equipment": (EquipmentIn, _add_equipment), "meters": (MeterIn, _add_meter),
          "drivers": (DriverIn, _add_driver), "products": (ProductIn, _add_product),
          "seus": (SeuIn, _add_seu)}


def _adder(model, add):
    def add_entry(body: model, store: StoreDep, user: Permitted("catalog.write")):
        return EngineJSON(add(store, body, user["name"]), status_code=201)
    return add_entry


for _kind, (_model, _add) in ADDERS.items():
    router.add_api_route(f"/{_kind}", _adder(_model, _add), methods=["POST"], status_code=201,
                         summary=f"Add {KINDS[_kind]}", name=f"add_{_kind}")

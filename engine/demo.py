"""Build the demo factory in a database: catalog, readings, ground truth.

The plant itself (models, effects, faults) comes from ``engine.demo_plant``;
this module only loads it through the same catalog and ingest functions a
user's plant goes through, and writes the ground truth JSON beside the
database so tests and users can check what the engine finds.
"""
import json
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from datetime import date

from . import baselines, catalog, ingest, readings, schema as s
from .demo_plant import ALIASES, build_demo_plant
from .errors import EnmsError, NotFound
from .store import default_data_dir


def ground_truth_path(store) -> Path:
    """<database>_ground_truth.json beside an SQLite file, else in the data directory."""
    if store.sqlite_path:
        return store.sqlite_path.with_name(store.sqlite_path.stem + "_ground_truth.json")
    return default_data_dir() / f"{store.engine.url.database}_ground_truth.json"


def existing_demo_seed(store) -> int | None:
    """The seed of the demo this database holds, None if it holds none."""
    path = ground_truth_path(store)
    with store.read() as conn:
        has_site = conn.execute(sa.select(s.sites.c.id).where(
            s.sites.c.name == "Demo Plant")).first()
    if has_site and path.exists():
        return json.loads(path.read_text()).get("seed")
    return None


def build_demo(store, seed: int = 42, progress=None) -> dict:
    """Create the demo plant in an empty database; returns its ground truth.

    progress: optional callable(step_label, done, total) for long steps.
    """
    if any(catalog.counts(store).values()):
        raise EnmsError(f"database {store.describe()} already holds a plant; "
                        "use 'enms demo --force' to rebuild it, or another --db")
    plant = build_demo_plant(seed)
    _build_catalog(store, plant)
    meters = {m["name"]: m for m in catalog.list_entries(store, "meter")}
    total = sum(len(r["ts"]) for r in plant.meter_readings.values()) + \
        sum(len(r["ts"]) for r in plant.driver_readings.values())
    done = 0
    for source in plant.energy_sources:
        src = catalog.get_energy_source(store, source["name"])
        for name, series in plant.meter_readings.items():
            if meters[name]["source"] != source["name"]:
                continue
            with store.begin() as conn:
                meter_id = conn.execute(sa.select(s.meters.c.id).where(
                    s.meters.c.name == name)).scalar_one()
                batch = readings.Batch(
                    np.full(len(series["ts"]), meter_id, dtype=np.int64),
                    np.asarray(series["ts"], dtype=np.int64),
                    np.asarray(series["duration_s"], dtype=np.int64),
                    {c: np.asarray(v, dtype=np.float64) for c, v in series["columns"].items()})
                ingest.load_readings(conn, src, batch)
            done += len(series["ts"])
            if progress:
                progress(f"meter {name}", done, total)
    with store.begin() as conn:
        driver_ids = dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())
    for name, series in plant.driver_readings.items():
        with store.begin() as conn:
            ingest.load_driver_values(conn, np.full(len(series["ts"]), driver_ids[name]),
                                      series["ts"], series["duration_s"], series["value"])
        done += len(series["ts"])
        if progress:
            progress(f"driver {name}", done, total)
    truth = plant.ground_truth
    path = ground_truth_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2, default=str))
    return truth


def _build_catalog(store, plant) -> None:
    catalog.add_site(store, plant.site["name"], plant.site["timezone"])
    for src in plant.energy_sources:
        catalog.add_energy_source(store, src["name"], src["unit"], src["kwh_per_unit"],
                                  src["columns"], src["co2_kg_per_unit"], src["tariff_per_unit"])
    for eq in plant.equipment:
        catalog.add_equipment(store, eq["name"], eq["type"], eq["rated_power_kw"],
                              eq["description"], responsible=eq.get("responsible"))
    for product in plant.products:
        catalog.add_product(store, product["name"], description=product["description"])
    # Measured drivers first: degree days name their temperature parent.
    for d in sorted(plant.drivers, key=lambda d: d["kind"] == "derived"):
        catalog.add_driver(store, d["name"], d["unit"], d["rollup"],
                           derived_from=d["derived_from"], derivation=d["derivation"],
                           base_temp_c=d["base_temp_c"], product=d["product"])
    for m in plant.meters:
        catalog.add_meter(store, m["name"], m["equipment"], m["source"], m["interval_s"])
    for seu in plant.seus:
        catalog.add_seu(store, seu["equipment"], seu["source"], seu["drivers"],
                        seu["description"])
    for lang, kinds in ALIASES.items():
        for kind, entries in kinds.items():
            for name, aliases in entries.items():
                for alias in aliases:
                    catalog.add_alias(store, kind, name, alias, lang)


def train_demo_baselines(store) -> list[dict]:
    """Each SEU's baseline on the demo's baseline year (automatic selection),
    and its reporting period against it: what ``enms demo`` shows a newcomer.

    SEUs that already have an active baseline keep it.
    """
    truth = json.loads(ground_truth_path(store).read_text())
    base = [date.fromisoformat(truth["baseline_period"][k]) for k in ("start", "end")]
    report = [date.fromisoformat(truth["reporting_period"][k]) for k in ("start", "end")]
    out = []
    for seu in catalog.list_entries(store, "seu"):
        equipment, source = seu["equipment"], seu["source"]
        try:
            model = baselines.get(store, equipment, source)
        except NotFound:
            model = baselines.train(store, equipment, source, *base, trained_by="enms demo",
                                    reason="demo baseline year")
        check = baselines.expected(store, equipment, source, *report)
        out.append({"seu": seu["name"], "version": model["version"], "model": model["model"],
                    "r2": model["r2"], "formula": model["formula"],
                    "unit": check["unit"], "actual": check["actual"],
                    "expected": check["expected"], "deviation_pct": check["deviation_pct"],
                    "significant": check["significant"], "period": check["period"]})
    return out

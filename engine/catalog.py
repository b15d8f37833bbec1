"""The catalog: sites, energy sources, equipment, meters, SEUs, drivers, products.

Nothing about one plant lives in code; all of it is rows that users add and
change at run time. Registering an energy source creates its readings table
with the measurement columns it declares (see ``engine.readings``).

Every function takes a ``Store`` and returns plain dicts, so the command line,
the HTTP API and the voice skill can all show the same thing.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from . import audit, readings, rollups, schema as s
from .errors import EnmsError, NotFound
from .identifiers import RESERVED_COLUMNS, sql_identifier

ROLLUPS = ("sum", "mean", "min", "max")
DERIVATIONS = ("hdd", "cdd")

# What each kind of entry is called in messages, and its table.
_TABLES = {
    "site": s.sites, "energy source": s.energy_sources, "equipment": s.equipment,
    "meter": s.meters, "driver": s.drivers, "product": s.products,
}


def entry_row(conn, kind: str, name: str) -> dict:
    """The catalog entry ``name`` of ``kind``; NotFound lists the known names."""
    table = _TABLES[kind]
    row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    if row is None:
        known = conn.execute(sa.select(table.c.name).order_by(table.c.name)).scalars().all()
        listing = ", ".join(known) if known else "none yet"
        raise NotFound(f"unknown {kind} {name!r} (known: {listing})",
                       code="unknown_" + kind.replace(" ", "_"),
                       params={"name": name, "known": list(known)})
    return dict(row)


def _insert(conn, kind: str, values: dict, actor: str | None, **named) -> int:
    """Insert an entry and its audit record; ``named``: the entries it refers to, by name."""
    table = _TABLES[kind]
    exists = conn.execute(sa.select(table.c.id).where(table.c.name == values["name"])).first()
    if exists:
        raise EnmsError(f"{kind} {values['name']!r} already exists")
    new_id = conn.execute(table.insert().values(**values)).inserted_primary_key[0]
    # Row ids mean nothing to an auditor: the record names what the entry refers to.
    audit.record(conn, actor, "catalog.add", kind, values["name"],
                 after={**{k: v for k, v in values.items() if not k.endswith("_id")}, **named})
    return new_id


def _positive(value, what: str, allow_zero: bool = True) -> float | None:
    if value is None:
        return None
    value = float(value)
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise EnmsError(f"{what} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


# --- sites -----------------------------------------------------------------

def add_site(store, name: str, timezone: str, actor: str | None = None) -> dict:
    """Add a site; its time zone defines its days and months."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnmsError(f"unknown time zone {timezone!r} (use an IANA name such as Europe/Berlin)") from None
    with store.begin() as conn:
        _insert(conn, "site", {"name": name, "timezone": timezone}, actor)
    return {"name": name, "timezone": timezone}


def site_row(conn, name: str | None) -> dict:
    """The row of the site ``name``, or of the only site when no name is given
    (an EnmsError when there is none or several)."""
    if name is not None:
        return entry_row(conn, "site", name)
    rows = conn.execute(sa.select(s.sites)).mappings().all()
    if len(rows) == 1:
        return dict(rows[0])
    if not rows:
        raise EnmsError("no site yet: add one first (enms catalog add site NAME --timezone ZONE)",
                        code="no_site")
    raise EnmsError("several sites exist: say which one (--site NAME)", code="several_sites",
                    params={"known": [r["name"] for r in rows]})


# --- energy sources --------------------------------------------------------

def add_energy_source(store, name: str, unit: str, kwh_per_unit: float,
                      columns: list[dict], co2_kg_per_unit: float = 0.0,
                      tariff_per_unit: float = 0.0, currency: str = "EUR",
                      description: str = "", actor: str | None = None) -> dict:
    """Register an energy source and create its readings table.

    columns: dicts with ``name``, ``unit`` and ``kind`` ('energy' for the
    consumption per interval in ``unit``, exactly one; 'measure' for the rest).

    Example::

        add_energy_source(store, "natural_gas", "m3", 10.55, [
            {"name": "consumption_m3", "unit": "m3", "kind": "energy"},
            {"name": "flow_rate_m3h", "unit": "m3/h", "kind": "measure"},
            {"name": "pressure_bar", "unit": "bar", "kind": "measure"}])
    """
    sql_identifier(name, "energy source name")
    kwh_per_unit = _positive(kwh_per_unit, "kwh_per_unit", allow_zero=False)
    co2_kg_per_unit = _positive(co2_kg_per_unit, "co2_kg_per_unit")
    tariff_per_unit = _positive(tariff_per_unit, "tariff_per_unit")
    columns = _check_columns(columns)
    with store.begin() as conn:
        source_id = _insert(conn, "energy source", {
            "name": name, "unit": unit, "kwh_per_unit": kwh_per_unit,
            "co2_kg_per_unit": co2_kg_per_unit, "tariff_per_unit": tariff_per_unit,
            "currency": currency, "description": description}, actor, columns=columns)
        conn.execute(s.source_columns.insert(), [
            {"source_id": source_id, "position": i, **c} for i, c in enumerate(columns)])
        readings.create_table(conn, name, columns)
    return get_energy_source(store, name)


def _check_columns(columns: list[dict]) -> list[dict]:
    checked, seen = [], set()
    for column in columns:
        name = sql_identifier(column.get("name"), "column name")
        if name in RESERVED_COLUMNS or name in seen:
            raise EnmsError(f"column name {name!r} is reserved or repeated")
        kind = column.get("kind", "measure")
        if kind not in ("energy", "measure"):
            raise EnmsError(f"column {name!r}: kind must be 'energy' or 'measure', got {kind!r}")
        seen.add(name)
        checked.append({"name": name, "unit": str(column.get("unit") or ""), "kind": kind})
    if sum(c["kind"] == "energy" for c in checked) != 1:
        raise EnmsError("an energy source needs exactly one column of kind 'energy' "
                        "(its consumption per interval, e.g. consumption_m3)")
    return checked


def add_source_column(store, source: str, name: str, unit: str,
                      actor: str | None = None) -> dict:
    """Add a measurement column to an existing source and its readings table."""
    column = _check_columns([{"name": name, "unit": unit, "kind": "measure"},
                             {"name": "x_placeholder", "unit": "", "kind": "energy"}])[0]
    with store.begin() as conn:
        src = entry_row(conn, "energy source", source)
        taken = conn.execute(sa.select(s.source_columns.c.name).where(
            s.source_columns.c.source_id == src["id"])).scalars().all()
        if name in taken:
            raise EnmsError(f"energy source {source!r} already has a column {name!r}")
        conn.execute(s.source_columns.insert().values(
            source_id=src["id"], position=len(taken), **column))
        readings.add_column(conn, source, name)
        audit.record(conn, actor, "catalog.add_column", "energy source", source,
                     before={"columns": taken}, after={"columns": [*taken, name], "unit": unit})
    return get_energy_source(store, source)


def source_columns(conn, source_id: int) -> list[dict]:
    rows = conn.execute(sa.select(s.source_columns).where(
        s.source_columns.c.source_id == source_id).order_by(s.source_columns.c.position))
    return [{"name": r.name, "unit": r.unit, "kind": r.kind} for r in rows]


def get_energy_source(store, name: str) -> dict:
    with store.read() as conn:
        src = entry_row(conn, "energy source", name)
        src["columns"] = source_columns(conn, src["id"])
    src["energy_column"] = next(c["name"] for c in src["columns"] if c["kind"] == "energy")
    src["readings_table"] = readings.table_name(name)
    return src


# --- equipment, meters, products --------------------------------------------

def add_equipment(store, name: str, type: str = "", rated_power_kw: float | None = None,
                  description: str = "", site: str | None = None,
                  actor: str | None = None, responsible: str | None = None) -> dict:
    """A piece of equipment; ``responsible``: the person (or role) answerable
    for its energy performance, named in the energy review."""
    with store.begin() as conn:
        place = site_row(conn, site)
        _insert(conn, "equipment", {
            "name": name, "site_id": place["id"], "type": type, "description": description,
            "rated_power_kw": _positive(rated_power_kw, "rated power [kW]", allow_zero=False),
            # Only when given: databases before migration 0011 lack the column.
            **({"responsible": responsible} if responsible else {})},
            actor, site=place["name"])
    return get_entry(store, "equipment", name)


def add_meter(store, name: str, equipment: str, source: str, interval_s: int | None = None,
              counter_max: float | None = None, description: str = "",
              actor: str | None = None) -> dict:
    """A meter measures one energy source on one piece of equipment."""
    with store.begin() as conn:
        eq = entry_row(conn, "equipment", equipment)
        src = entry_row(conn, "energy source", source)
        _insert(conn, "meter", {
            "name": name, "equipment_id": eq["id"], "source_id": src["id"],
            "interval_s": int(_positive(interval_s, "interval [s]", allow_zero=False))
            if interval_s else None,
            "counter_max": _positive(counter_max, "counter maximum", allow_zero=False),
            "description": description}, actor, equipment=equipment, source=source)
    return get_entry(store, "meter", name)


def add_product(store, name: str, unit: str = "units", description: str = "",
                actor: str | None = None) -> dict:
    with store.begin() as conn:
        _insert(conn, "product", {"name": name, "unit": unit, "description": description}, actor)
    return get_entry(store, "product", name)


# --- drivers ----------------------------------------------------------------

def add_driver(store, name: str, unit: str, rollup: str = "sum", description: str = "",
               derived_from: str | None = None, derivation: str | None = None,
               base_temp_c: float | None = None, product: str | None = None,
               actor: str | None = None) -> dict:
    """Add a relevant variable.

    A measured driver has readings and rolls up to a day by ``rollup``. A
    derived one (``derivation`` 'hdd' or 'cdd') is computed per day from the
    daily mean of ``derived_from`` (an outdoor air temperature) with
    ``base_temp_c``: HDD = max(0, base - Tmean), CDD = max(0, Tmean - base).
    """
    sql_identifier(name, "driver name")
    if rollup not in ROLLUPS:
        raise EnmsError(f"driver {name!r}: rollup must be one of {', '.join(ROLLUPS)}, got {rollup!r}")
    values = {"name": name, "unit": unit, "rollup": rollup, "kind": "measured",
              "description": description}
    with store.begin() as conn:
        if derivation is not None or derived_from is not None:
            if derivation not in DERIVATIONS:
                raise EnmsError(f"driver {name!r}: derivation must be 'hdd' or 'cdd', got {derivation!r}")
            if derived_from is None or base_temp_c is None:
                raise EnmsError(f"driver {name!r}: a degree-day driver needs --from (the outdoor "
                                "temperature driver) and --base-temp")
            parent = entry_row(conn, "driver", derived_from)
            if parent["kind"] != "measured" or parent["rollup"] != "mean":
                raise EnmsError(f"driver {name!r}: degree days come from a measured temperature "
                                f"with rollup 'mean'; {derived_from!r} is not one")
            values.update(kind="derived", derived_from_id=parent["id"], derivation=derivation,
                          base_temp_c=float(base_temp_c), rollup="sum")
        if product is not None:
            values["product_id"] = entry_row(conn, "product", product)["id"]
        driver_id = _insert(conn, "driver", values, actor, derived_from=derived_from,
                            product=product)
        if values["kind"] == "derived":
            # Temperatures already stored give the new degree-day driver its days at once.
            span = conn.execute(sa.select(sa.func.min(s.driver_daily.c.day),
                                          sa.func.max(s.driver_daily.c.day)).where(
                s.driver_daily.c.driver_id == values["derived_from_id"])).one()
            if span[0] is not None:
                rollups.refresh_degree_days(conn, {**values, "id": driver_id}, *span)
    return get_entry(store, "driver", name)


# --- SEUs ------------------------------------------------------------------

def seu_name(equipment: str, source: str) -> str:
    """An SEU's display name: 'Boiler-1 natural_gas'."""
    return f"{equipment} {source}"


def add_seu(store, equipment: str, source: str, drivers: list[str] = (),
            description: str = "", actor: str | None = None) -> dict:
    """A significant energy use: one piece of equipment on one energy source."""
    with store.begin() as conn:
        eq = entry_row(conn, "equipment", equipment)
        src = entry_row(conn, "energy source", source)
        if conn.execute(sa.select(s.seus.c.id).where(
                s.seus.c.equipment_id == eq["id"], s.seus.c.source_id == src["id"])).first():
            raise EnmsError(f"SEU {seu_name(equipment, source)!r} already exists")
        seu_id = conn.execute(s.seus.insert().values(
            equipment_id=eq["id"], source_id=src["id"], description=description)
        ).inserted_primary_key[0]
        _set_seu_drivers(conn, seu_id, drivers)
        audit.record(conn, actor, "catalog.add", "seu", seu_name(equipment, source),
                     after={"drivers": list(dict.fromkeys(drivers)), "description": description})
    return get_seu(store, equipment, source)


def set_seu_drivers(store, equipment: str, source: str, drivers: list[str],
                    actor: str | None = None) -> dict:
    """Replace an SEU's default (candidate) drivers."""
    with store.begin() as conn:
        seu = seu_row(conn, equipment, source)
        before = _seu_dicts(conn, [seu])[0]["drivers"]
        conn.execute(s.seu_drivers.delete().where(s.seu_drivers.c.seu_id == seu["id"]))
        _set_seu_drivers(conn, seu["id"], drivers)
        audit.record(conn, actor, "catalog.set_drivers", "seu", seu_name(equipment, source),
                     before={"drivers": before}, after={"drivers": list(dict.fromkeys(drivers))})
    return get_seu(store, equipment, source)


def _set_seu_drivers(conn, seu_id: int, drivers) -> None:
    ids = [entry_row(conn, "driver", d)["id"] for d in dict.fromkeys(drivers)]
    if ids:
        conn.execute(s.seu_drivers.insert(), [{"seu_id": seu_id, "driver_id": i} for i in ids])


def _seu_query():
    return (sa.select(s.seus.c.id, s.seus.c.description,
                      s.equipment.c.name.label("equipment"),
                      s.energy_sources.c.name.label("source"),
                      s.energy_sources.c.unit)
            .join(s.equipment, s.equipment.c.id == s.seus.c.equipment_id)
            .join(s.energy_sources, s.energy_sources.c.id == s.seus.c.source_id))


def seu_row(conn, equipment: str, source: str) -> dict:
    row = conn.execute(_seu_query().where(s.equipment.c.name == equipment,
                                          s.energy_sources.c.name == source)).mappings().first()
    if row is None:
        known = [seu_name(r.equipment, r.source) for r in conn.execute(_seu_query())]
        raise NotFound(f"unknown SEU {seu_name(equipment, source)!r} "
                       f"(known: {', '.join(sorted(known)) or 'none yet'})", code="unknown_seu",
                       params={"equipment": equipment, "source": source})
    return dict(row)


def _seu_dicts(conn, rows) -> list[dict]:
    """SEU rows with their name, drivers and meters: one query per table for all
    of them, not two per SEU (a plant-wide answer lists every SEU)."""
    seus = [dict(r) for r in rows]
    ids = [seu["id"] for seu in seus]
    drivers: dict[int, list[str]] = {}
    for seu_id, name in conn.execute(
            sa.select(s.seu_drivers.c.seu_id, s.drivers.c.name)
            .join(s.seu_drivers, s.seu_drivers.c.driver_id == s.drivers.c.id)
            .where(s.seu_drivers.c.seu_id.in_(ids)).order_by(s.drivers.c.name)):
        drivers.setdefault(seu_id, []).append(name)
    meters: dict[tuple[str, str], list[str]] = {}
    for name, equipment, source in conn.execute(
            sa.select(s.meters.c.name, s.equipment.c.name, s.energy_sources.c.name)
            .join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id)
            .join(s.energy_sources, s.energy_sources.c.id == s.meters.c.source_id)
            .where(s.equipment.c.name.in_({seu["equipment"] for seu in seus}))
            .order_by(s.meters.c.name)):
        meters.setdefault((equipment, source), []).append(name)
    for seu in seus:
        seu["name"] = seu_name(seu["equipment"], seu["source"])
        seu["drivers"] = drivers.get(seu["id"], [])
        seu["meters"] = meters.get((seu["equipment"], seu["source"]), [])
    return seus


def get_seu(store, equipment: str, source: str) -> dict:
    with store.read() as conn:
        return _seu_dicts(conn, [seu_row(conn, equipment, source)])[0]


# --- changing entries ----------------------------------------------------------

# Fields a user may change in place. Names, sources of meters, roll-up rules and
# time zones are not here: changing them would silently rewrite history.
_EDITABLE = {
    "energy source": {"kwh_per_unit": "positive", "co2_kg_per_unit": "non-negative",
                      "tariff_per_unit": "non-negative", "currency": "text",
                      "description": "text"},
    "equipment": {"type": "text", "rated_power_kw": "positive", "description": "text",
                  "responsible": "text"},
    "meter": {"interval_s": "positive", "counter_max": "positive", "description": "text"},
    "driver": {"unit": "text", "description": "text"},
    "product": {"unit": "text", "description": "text"},
}


def update_entry(store, kind: str, name: str, fields: dict, actor: str | None = None) -> dict:
    """Change editable fields of a catalog entry; returns the entry as it is now."""
    editable = _EDITABLE.get(kind)
    if editable is None:
        raise EnmsError(f"{kind} entries cannot be changed in place")
    values = {}
    for field, raw in fields.items():
        check = editable.get(field)
        if check is None:
            raise EnmsError(f"{kind} field {field!r} cannot be changed "
                            f"(changeable: {', '.join(sorted(editable))})")
        if check == "text":
            values[field] = str(raw)
        else:
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise EnmsError(f"{kind} field {field!r}: not a number: {raw!r}") from None
            values[field] = _positive(number, field, allow_zero=check == "non-negative")
            if field == "interval_s":
                values[field] = int(values[field])
    table = _TABLES[kind]
    with store.begin() as conn:
        old = entry_row(conn, kind, name)
        if values:
            conn.execute(table.update().where(table.c.name == name).values(**values))
            audit.record(conn, actor, "catalog.update", kind, name,
                         before={f: old[f] for f in values}, after=values)
    return get_entry(store, kind, name)


# --- listing and showing -----------------------------------------------------

_LIST_QUERIES = {
    "site": lambda: sa.select(s.sites.c.name, s.sites.c.timezone),
    "energy source": lambda: sa.select(
        s.energy_sources.c.name, s.energy_sources.c.unit, s.energy_sources.c.kwh_per_unit,
        s.energy_sources.c.co2_kg_per_unit, s.energy_sources.c.tariff_per_unit,
        s.energy_sources.c.currency),
    "equipment": lambda: sa.select(
        s.equipment.c.name, s.equipment.c.type, s.equipment.c.rated_power_kw,
        s.sites.c.name.label("site"), s.equipment.c.description, s.equipment.c.responsible
    ).join(s.sites, s.sites.c.id == s.equipment.c.site_id),
    "meter": lambda: sa.select(
        s.meters.c.name, s.equipment.c.name.label("equipment"),
        s.energy_sources.c.name.label("source"), s.meters.c.interval_s, s.meters.c.counter_max,
        s.meters.c.description
    ).join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id
           ).join(s.energy_sources, s.energy_sources.c.id == s.meters.c.source_id),
    "driver": lambda: sa.select(
        s.drivers.c.name, s.drivers.c.unit, s.drivers.c.rollup, s.drivers.c.kind,
        s.drivers.c.derivation, s.drivers.c.base_temp_c,
        s.products.c.name.label("product")
    ).outerjoin(s.products, s.products.c.id == s.drivers.c.product_id),
    "product": lambda: sa.select(s.products.c.name, s.products.c.unit, s.products.c.description),
}
KINDS = tuple(_LIST_QUERIES) + ("seu",)


def list_entries(store, kind: str) -> list[dict]:
    """All entries of one kind ('site', 'energy source', ..., 'seu'), by name."""
    with store.read() as conn:
        if kind == "seu":
            rows = conn.execute(_seu_query().order_by(s.equipment.c.name, s.energy_sources.c.name))
            return _seu_dicts(conn, rows.mappings())
        if kind not in _LIST_QUERIES:
            raise EnmsError(f"unknown catalog kind {kind!r} (known: {', '.join(KINDS)})")
        query = _LIST_QUERIES[kind]()
        name = query.selected_columns[0]
        return [dict(r) for r in conn.execute(query.order_by(name)).mappings()]


def get_entry(store, kind: str, name: str) -> dict:
    """One entry by name, with what other entries say about it."""
    if kind == "energy source":
        return get_energy_source(store, name)
    if kind not in _LIST_QUERIES:
        raise EnmsError(f"unknown catalog kind {kind!r} (known: {', '.join(KINDS)})")
    query = _LIST_QUERIES[kind]()
    with store.read() as conn:
        row = conn.execute(query.where(query.selected_columns[0] == name)).mappings().first()
        if row is None:
            entry_row(conn, kind, name)  # raises NotFound with the known names
    return dict(row)


def counts(store) -> dict:
    """How many entries of each kind the catalog holds."""
    with store.read() as conn:
        result = {kind: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for kind, t in _TABLES.items()}
        result["seu"] = conn.execute(sa.select(sa.func.count()).select_from(s.seus)).scalar()
    return result


# --- aliases ---------------------------------------------------------------------

# Kinds of entries that may have aliases (the aliases table's ``kind``) and
# the catalog kind each names.
ALIAS_KINDS = {"equipment": "equipment", "source": "energy source", "driver": "driver",
               "product": "product", "site": "site"}


def language_tag(lang: str) -> str:
    """A language tag as aliases are stored: 'de_DE' -> 'de-de'."""
    tag = str(lang or "").strip().replace("_", "-").lower()
    if not tag or not all(part.isalnum() for part in tag.split("-")):
        raise EnmsError(f"not a language tag: {lang!r} (use e.g. en-us or de-de)",
                        code="bad_language", params={"lang": str(lang)})
    return tag


def _alias_kind(kind: str) -> str:
    if kind not in ALIAS_KINDS:
        raise EnmsError(f"aliases are for {', '.join(ALIAS_KINDS)}, not {kind!r}",
                        code="unknown_alias_kind", params={"kind": kind})
    return ALIAS_KINDS[kind]


def _alias_rows(conn, lang: str | None = None) -> list[dict]:
    """Every alias (of one language) with the name of the entry it stands for."""
    rows = []
    for kind, catalog_kind in ALIAS_KINDS.items():
        table = _TABLES[catalog_kind]
        query = (sa.select(s.aliases.c.alias, s.aliases.c.lang, table.c.name)
                 .join(table, table.c.id == s.aliases.c.entity_id)
                 .where(s.aliases.c.kind == kind))
        if lang is not None:
            query = query.where(s.aliases.c.lang == lang)
        rows += [{"kind": kind, "name": r.name, "alias": r.alias, "lang": r.lang}
                 for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (r["lang"], r["kind"], r["name"], r["alias"].lower()))


def add_alias(store, kind: str, name: str, alias: str, lang: str = "en-us",
              actor: str | None = None) -> dict:
    """Another name of a catalog entry, in one language ('Kessel eins' for
    Boiler-1 in de-de), for spoken and typed names (``engine.names``).

    Refused when the entry does not exist, and when the alias says the same as
    another entry's name or alias in that language: compared as spoken
    (``names.normalise``: case, punctuation, number words and digits alike),
    so 'Kessel 1' for one entry and 'kessel eins' for another cannot both be.
    """
    from .names import normalise
    catalog_kind = _alias_kind(kind)
    lang = language_tag(lang)
    alias = " ".join(str(alias or "").split())
    spoken = normalise(alias, lang, ())
    if not spoken:
        raise EnmsError(f"an alias of {name!r} needs a word or number, got {alias!r}",
                        code="empty_alias", params={"name": name})
    with store.begin() as conn:
        entity_id = entry_row(conn, catalog_kind, name)["id"]
        for other_kind, other_catalog_kind in ALIAS_KINDS.items():
            table = _TABLES[other_catalog_kind]
            for other in conn.execute(sa.select(table.c.name)).scalars():
                if normalise(other, lang, ()) == spoken and \
                        (other_kind, other) != (kind, name):
                    raise EnmsError(f"alias {alias!r} ({lang}) sounds like the "
                                    f"{other_catalog_kind} {other!r}",
                                    code="alias_taken", params={"alias": alias, "other": other})
        for row in _alias_rows(conn, lang):
            if normalise(row["alias"], lang, ()) == spoken:
                if (row["kind"], row["name"]) == (kind, name):
                    raise EnmsError(f"{name!r} already has the alias {row['alias']!r} ({lang})",
                                    code="alias_exists", params={"alias": alias, "name": name})
                raise EnmsError(f"alias {alias!r} ({lang}) is already an alias of "
                                f"{ALIAS_KINDS[row['kind']]} {row['name']!r}",
                                code="alias_taken", params={"alias": alias,
                                                            "other": row["name"]})
        conn.execute(s.aliases.insert().values(kind=kind, entity_id=entity_id, alias=alias,
                                               lang=lang))
        audit.record(conn, actor, "catalog.add_alias", catalog_kind, name,
                     after={"alias": alias, "lang": lang})
    return {"kind": kind, "name": name, "alias": alias, "lang": lang}


def list_aliases(store, kind: str | None = None, name: str | None = None,
                 lang: str | None = None) -> list[dict]:
    """Aliases ({kind, name, alias, lang}), optionally of one kind, entry or language."""
    if kind is not None:
        _alias_kind(kind)
    with store.read() as conn:
        if kind is not None and name is not None:
            entry_row(conn, ALIAS_KINDS[kind], name)
        rows = _alias_rows(conn, language_tag(lang) if lang else None)
    return [r for r in rows if (kind is None or r["kind"] == kind)
            and (name is None or r["name"] == name)]


def remove_alias(store, kind: str, name: str, alias: str, lang: str = "en-us",
                 actor: str | None = None) -> dict:
    """Remove one alias of an entry; NotFound lists the entry's aliases."""
    catalog_kind = _alias_kind(kind)
    lang = language_tag(lang)
    alias = " ".join(str(alias or "").split())
    with store.begin() as conn:
        entity_id = entry_row(conn, catalog_kind, name)["id"]
        where = (s.aliases.c.kind == kind, s.aliases.c.entity_id == entity_id,
                 s.aliases.c.lang == lang)
        gone = conn.execute(s.aliases.delete().where(*where, s.aliases.c.alias == alias)).rowcount
        if not gone:
            own = conn.execute(sa.select(s.aliases.c.alias).where(*where)
                               .order_by(s.aliases.c.alias)).scalars().all()
            raise NotFound(f"{name!r} has no alias {alias!r} in {lang} "
                           f"(its aliases: {', '.join(own) or 'none'})",
                           code="unknown_alias", params={"alias": alias, "name": name})
        audit.record(conn, actor, "catalog.remove_alias", catalog_kind, name,
                     before={"alias": alias, "lang": lang})
    return {"kind": kind, "name": name, "alias": alias, "lang": lang}


def alias_table(store) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Every alias in one read: {lang: {kind: {name: [aliases]}}}."""
    out: dict = {}
    with store.read() as conn:
        for row in _alias_rows(conn):
            out.setdefault(row["lang"], {}).setdefault(row["kind"], {}) \
                .setdefault(row["name"], []).append(row["alias"])
    return out

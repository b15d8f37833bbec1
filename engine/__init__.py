"""The embedded EnMS engine: catalog, storage, ingestion and rollups.

Public entry points::

    from engine import Store, catalog, ingest, queries
    store = Store()                      # SQLite in the user's data directory
    catalog.add_site(store, "Plant", "Europe/Berlin")
    ingest.import_readings(store, "gas.csv", source="natural_gas")
    queries.seu_series(store, "Boiler-1", "natural_gas", first, last)

The engine imports no interface (command line, HTTP, voice) and no OVOS code.
"""
from .errors import EnmsError, InvalidName, NotFound
from .store import Store

__all__ = ["Store", "EnmsError", "NotFound", "InvalidName"]

"""Shared set-up for the benchmarks: a fresh database with one source and N
meters, or the demo factory with its baselines."""
import argparse
import contextlib
import os
import platform
import subprocess
import tempfile
import time
import uuid

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from engine import Store, catalog  # noqa: E402

PG_ADMIN_URL = os.environ.get("ENMS_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_store(backend: str, workdir: str) -> Store:
    """An empty database of the backend, migrated to head."""
    if backend == "sqlite":
        path = os.path.join(workdir, f"bench-{uuid.uuid4().hex[:8]}.sqlite")
        return Store(path)
    import psycopg
    name = f"enms_bench_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return Store(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)


def demo_arguments(doc: str) -> argparse.Namespace:
    """--backend and --repeat, for a benchmark on the demo factory."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


@contextlib.contextmanager
def demo_stores(backend: str, extra: int = 0):
    """The demo factory with its baselines trained (as ``enms demo`` does; not
    timed) in a fresh database, plus ``extra`` empty ones; all dropped after.
    Yields (workdir, [demo store, *extra stores])."""
    from engine.demo import build_demo, train_demo_baselines
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["ENMS_DATA_DIR"] = workdir
        stores = [fresh_store(backend, workdir) for _ in range(1 + extra)]
        try:
            build_demo(stores[0], seed=42)
            train_demo_baselines(stores[0])
            yield workdir, stores
        finally:
            for store in reversed(stores):
                drop_store(store)


def drop_store(store: Store) -> None:
    if store.is_postgres:
        import psycopg
        name = store.engine.url.database
        store.dispose()
        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        path = store.sqlite_path
        store.dispose()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                os.remove(f"{path}{suffix}")


def electricity_plant(store: Store, meters: int) -> list[int]:
    """A site, electricity, and `meters` meters on one piece of equipment each."""
    catalog.add_site(store, "Bench Plant", "Europe/Berlin")
    catalog.add_energy_source(store, "electricity", "kWh", 1.0, [
        {"name": "consumption_kwh", "unit": "kWh", "kind": "energy"},
        {"name": "power_kw", "unit": "kW", "kind": "measure"}])
    for i in range(meters):
        catalog.add_equipment(store, f"EQ-{i}", "machine", 100.0)
        catalog.add_meter(store, f"M-{i}", f"EQ-{i}", "electricity", 60)
    return list(range(1, meters + 1))


def minute_series(meter_ids, start_ts: int, minutes: int, seed: int = 1):
    """Arrays of 1-minute readings for every meter: (meter_id, ts, duration_s, kWh, kW)."""
    rng = np.random.default_rng(seed)
    n = len(meter_ids) * minutes
    meter = np.repeat(np.asarray(meter_ids, dtype=np.int64), minutes)
    ts = np.tile(start_ts + 60 * np.arange(minutes, dtype=np.int64), len(meter_ids))
    kwh = rng.uniform(0.1, 1.5, n)
    return meter, ts, np.full(n, 60, dtype=np.int64), kwh, kwh * 60.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next(l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name"))
    except Exception:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start

"""Shared fixtures: the same database tests on SQLite and on PostgreSQL.

``store`` (and ``db_url`` for tests that open the database themselves) is
parametrized over two backends:

- ``sqlite``: a fresh file in the test's tmp_path;
- ``postgresql``: a fresh throwaway database ``enms_t_<random>`` on the server
  at ENMS_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test),
  dropped afterwards.

When the server cannot be reached the PostgreSQL cases skip with one reason
line, except under CI=true, where they fail: CI must run them.
"""
import os
import secrets
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from engine import catalog
from engine.demo import build_demo, train_demo_baselines
from engine.store import Store

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
PG_UNREACHABLE = "PostgreSQL not reachable at"

_pg_state = {}  # probed once per session: {"error": str | None}


def pg_admin_url() -> sa.URL:
    return sa.make_url(os.environ.get("ENMS_TEST_POSTGRES_URL") or PG_DEFAULT_URL)


def _conninfo(url: sa.URL) -> str:
    """A libpq URI for psycopg (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _shown(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _require_postgres() -> None:
    """Skip (or, under CI=true, fail) when the PostgreSQL server is unreachable."""
    if "error" not in _pg_state:
        import psycopg
        try:
            with psycopg.connect(_conninfo(pg_admin_url()), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            _pg_state["error"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable
            text = str(exc).strip()
            _pg_state["error"] = text.splitlines()[0] if text else repr(exc)
    if _pg_state["error"] is not None:
        message = f"{PG_UNREACHABLE} {_shown(pg_admin_url())}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} ({_pg_state['error']}); CI=true requires the PostgreSQL tests",
                        pytrace=False)
        pytest.skip(message)


@contextmanager
def fresh_database(backend: str, directory):
    """Yield the URL of a new, empty database; remove it afterwards.

    sqlite: a file in ``directory``; postgresql: CREATE DATABASE enms_t_<random>,
    then terminate its connections and DROP it.
    """
    if backend == "sqlite":
        yield str(directory / "enms.sqlite")
        return
    _require_postgres()
    import psycopg
    admin = pg_admin_url()
    name = "enms_t_" + secrets.token_hex(6)
    with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def open_store(url: str):
    store = Store(url)
    try:
        yield store
    finally:
        store.dispose()


@contextmanager
def demo_database(request, tmp_path_factory, seed: int = 42, trained: bool = False):
    """The demo factory in a fresh database of a backend-parametrized fixture
    (with every SEU's baseline trained as ``enms demo`` does if ``trained``):
    yields (store, ground truth, url), with ENMS_DATA_DIR beside the database."""
    directory = tmp_path_factory.mktemp(f"demo-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENMS_DATA_DIR", str(directory))
        with fresh_database(request.param, directory) as url, open_store(url) as store:
            truth = build_demo(store, seed=seed)
            if trained:
                train_demo_baselines(store)
            yield store, truth, url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """URL of a fresh, empty (not migrated) database on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url):
    """A fresh database migrated to head, on each backend."""
    with open_store(db_url) as opened:
        yield opened


def build_plant(store) -> None:
    """A small plant: two sources, two machines, their meters, drivers and SEUs."""
    catalog.add_site(store, "Test Plant", "Europe/Berlin")
    catalog.add_energy_source(store, "electricity", "kWh", 1.0, [
        {"name": "consumption_kwh", "unit": "kWh", "kind": "energy"},
        {"name": "power_kw", "unit": "kW", "kind": "measure"}], co2_kg_per_unit=0.4)
    catalog.add_energy_source(store, "natural_gas", "m3", 10.55, [
        {"name": "consumption_m3", "unit": "m3", "kind": "energy"},
        {"name": "flow_rate_m3h", "unit": "m3/h", "kind": "measure"},
        {"name": "pressure_bar", "unit": "bar", "kind": "measure"}], co2_kg_per_unit=2.0)
    catalog.add_equipment(store, "Compressor-1", type="compressor", rated_power_kw=55)
    catalog.add_equipment(store, "Boiler-1", type="boiler")
    catalog.add_meter(store, "M-Compressor-1", "Compressor-1", "electricity", interval_s=3600)
    catalog.add_meter(store, "M-Boiler-1-NG", "Boiler-1", "natural_gas")
    catalog.add_driver(store, "outdoor_temp_c", "C", rollup="mean")
    catalog.add_driver(store, "production_count", "units", rollup="sum")
    catalog.add_driver(store, "heating_degree_days", "K d", derived_from="outdoor_temp_c",
                       derivation="hdd", base_temp_c=18)
    catalog.add_driver(store, "cooling_degree_days", "K d", derived_from="outdoor_temp_c",
                       derivation="cdd", base_temp_c=18)
    catalog.add_seu(store, "Compressor-1", "electricity", drivers=["production_count"])
    catalog.add_seu(store, "Boiler-1", "natural_gas",
                    drivers=["outdoor_temp_c", "heating_degree_days"])


@pytest.fixture(scope="session")
def plant():
    """The function that builds the small test plant in a store: ``plant(store)``."""
    return build_plant


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report every 'PostgreSQL not reachable' skip at one place, so -ra shows one line."""
    report = yield
    if (report.skipped and isinstance(report.longrepr, tuple)
            and PG_UNREACHABLE in report.longrepr[2]):
        where = _require_postgres.__code__.co_firstlineno
        report.longrepr = (__file__, where, report.longrepr[2])
    return report


# --- the skill end to end ----------------------------------------------------------------------

@contextmanager
def voice_plant(tmp_path_factory, name: str, build):
    """A plant built by ``build(store, folder)`` in a SQLite file that the
    in-process skill opens (it finds its database through ENMS_DATABASE_URL),
    notifiers switched off: yields the store. For a module-scoped fixture
    beside an ``Assistant``.

    XDG_CONFIG_HOME is the module's own folder, so is the skill's settings
    file: the user's ~/.config/mycroft/skills/skill-enms.openvoiceos/
    settings.json is neither read (another run's reference_date there would
    move "last month") nor written (the skill stores its settings when it
    shuts down)."""
    folder = tmp_path_factory.mktemp(name)
    url = str(folder / "enms.sqlite")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENMS_DATA_DIR", str(folder))
        mp.setenv("ENMS_DATABASE_URL", url)
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        for variable in ("ENMS_NOTIFY_CONFIG", "ENMS_SMTP_HOST", "ENMS_WEBHOOK_URL"):
            mp.delenv(variable, raising=False)
        store = Store(url)
        try:
            build(store, folder)
            yield store
        finally:
            store.dispose()


def voice_demo(tmp_path_factory, name: str):
    """``voice_plant`` with the demo factory, every baseline trained."""
    def build(store, folder):
        build_demo(store)
        train_demo_baselines(store)
    return voice_plant(tmp_path_factory, name, build)


def running_assistant(lang: str = "en-us"):
    """An in-process OVOS core with the skill, for a module-scoped fixture
    (``yield from running_assistant()``), stopped at the module's end."""
    from engine.cli.chat import Assistant
    helper = Assistant(lang=lang)
    yield helper
    helper.close()


def say(assistant, utterance: str):
    """The assistant's turn for an utterance it must understand."""
    turn = assistant.ask(utterance)
    assert not turn.unmatched, f"not understood: {utterance!r}"
    return turn


def pct_words(value: float, lang: str = "en") -> str:
    """A percentage's size as the skill says it: one decimal below ten, whole
    above, in words."""
    from num2words import num2words
    value = abs(value)
    rounded = round(value, 1 if value < 10 else 0)
    return num2words(int(rounded) if rounded == int(rounded) else rounded, lang=lang)

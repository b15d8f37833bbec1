"""Generated bodies and CSV rows against the API over HTTP (hypothesis): never
a 500, never a traceback in an answer, every refusal one JSON message, and
no CSV row lost or doubled (read = inserted + duplicate + rejected, and the
readings table grows by exactly the inserted rows)."""
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine import users
from test_api import HOSTILE, Server, password

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANSWERS = {200, 201, 400, 404, 413, 422}


def examples(n: int):
    """n generated cases, the same on every run (derandomized, no example database)."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
KNOWN = ["Boiler-1", "Compressor-1", "natural_gas", "electricity", "outdoor_temp_c",
         "heating_degree_days", "production_count", "M-Boiler-1-NG"]

names = st.one_of(st.text(max_size=50), st.sampled_from(HOSTILE + KNOWN))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | names,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=12)
periods = st.one_of(st.sampled_from(["2024", "2025-Q1", "2025-03", "2024-13", "", "Q5"]),
                    st.text(max_size=12))
train_bodies = st.fixed_dictionaries(
    {"seu": names, "energy_source": names, "drivers": st.lists(names, max_size=4),
     "period": periods},
    optional={"interval": st.sampled_from(["day", "week", "month", "year", ""]),
              "reason": st.text(max_size=40), "first": json_values, "last": json_values})
catalog_bodies = st.fixed_dictionaries(
    {"name": names}, optional={"type": st.text(max_size=20), "site": names,
                               "rated_power_kw": st.one_of(st.floats(), st.integers()),
                               "unit": names, "equipment": names, "energy_source": names})
loose_bodies = st.dictionaries(
    st.sampled_from(["seu", "energy_source", "drivers", "period", "year", "first_month",
                     "last_month", "comment", "name", "role", "password", "label", "x"]),
    json_values, max_size=6)
ENDPOINTS = ["/baseline/seu/train", "/baseline/seu/adjust", "/reports/seu-performance",
             "/reports/generate-all-monthly", "/catalog/equipment", "/catalog/drivers",
             "/catalog/seus", "/catalog/meters", "/quality/scan", "/alerts/1/acknowledge",
             "/users", "/users/x/api-keys", "/ask"]


@pytest.fixture
def fuzz_api(store, plant, monkeypatch):
    """The small test plant (no readings: every valid training is refused fast)."""
    monkeypatch.delenv("ENMS_DATABASE_URL", raising=False)
    plant(store)
    users.create_user(store, "admin", "admin", password=password("admin"), actor="test")
    server = Server(store, store.url)
    yield server
    server.stop()


def assert_answer(answer) -> None:
    assert answer.status_code in ANSWERS, (answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    if answer.status_code >= 400:
        assert isinstance(answer.json()["detail"], str)


def test_generated_json_bodies_never_break_the_server(fuzz_api):
    # No generated body has an 'utterance' key: /ask always refuses it with 422, so
    # no voice assistant starts here.
    @examples(1500)
    @given(path=st.sampled_from(ENDPOINTS),
           body=st.one_of(train_bodies, catalog_bodies, loose_bodies, json_values))
    def post(path, body):
        # Serialised here: NaN and Infinity go out as Python writes them (not JSON).
        assert_answer(fuzz_api.call("POST", path, role="admin", data=json.dumps(body),
                                    headers={"Content-Type": "application/json"}))

    post()

    @examples(300)
    @given(raw=st.binary(max_size=120))
    def raw_bytes(raw):
        assert_answer(fuzz_api.call("POST", "/baseline/seu/train", role="admin", data=raw,
                                    headers={"Content-Type": "application/json"}))

    raw_bytes()


def _readings(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM natural_gas_readings")).scalar()


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


timestamps = st.one_of(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31))
    .map(lambda d: d.replace(minute=0, second=0, microsecond=0).isoformat() + "+00:00"),
    st.text(max_size=25))
rows = st.lists(st.tuples(timestamps,
                          st.sampled_from(["M-Boiler-1-NG", "M-Compressor-1", "nope", ""]),
                          st.one_of(st.floats(min_value=-10, max_value=1e4).map(str),
                                    st.sampled_from(["", "nan", "-1", "1e309", "x"]),
                                    st.text(max_size=8))),
                max_size=40)


def test_generated_csv_rows_are_each_counted_once(fuzz_api):
    store = fuzz_api.store

    @examples(150)
    @given(rows=rows, strict=st.booleans())
    def upload(rows, strict):
        csv = "timestamp,meter,consumption_m3\n" + "".join(
            ",".join(_cell(c) for c in row) + "\n" for row in rows)
        before = _readings(store)
        answer = fuzz_api.call("POST", "/import/readings", role="admin",
                               params={"energy_source": "natural_gas", "strict": strict},
                               files={"file": ("fuzz.csv", csv.encode("utf-8"))})
        assert_answer(answer)
        added = _readings(store) - before
        report = answer.json()
        if answer.status_code == 200:
            assert report["loaded"]
            assert report["rows_read"] == (report["rows_inserted"] + report["rows_duplicate"]
                                           + report["rows_rejected"]), report
            assert added == report["rows_inserted"]
        else:   # refused whole: a strict file with a bad row, or no usable header
            assert added == 0, answer.text
            assert report.get("rows_inserted", 0) == 0

    upload()

"""The HTTP API over real HTTP: a uvicorn server on a free loopback port, on the
demo factory, on SQLite and PostgreSQL.

Sign-in, tokens and API keys, the sign-in rate limit, training through the
API against the command line, hostile names (422, nothing changed), uploads
within their limits, and errors as one JSON message. test_api_roles.py walks
every endpoint x every role.
"""
import json
import re
import subprocess
import sys
import threading
import time
from datetime import date

import pytest
import sqlalchemy as sa

from conftest import BACKENDS, demo_database
from engine import alerts, audit, baselines, permissions, queries, reports, users
from engine import schema as s
from engine.demo import train_demo_baselines

pytest.importorskip("fastapi")
requests = pytest.importorskip("requests")
uvicorn = pytest.importorskip("uvicorn")
from engine.api import create_app  # noqa: E402
from engine.api.auth import FailureLimit, issue_token  # noqa: E402

SECRET = "test-only-secret-" + "0123456789" * 4
SIGN_IN_LIMIT = 3
TRAIN = {"seu": "Boiler-1", "energy_source": "natural_gas",
         "drivers": ["outdoor_temp_c", "heating_degree_days", "production_count"],
         "period": "2024"}
HOSTILE = ["x; DROP TABLE seus", "outdoor_temp_c)--", "Boiler-1' OR '1'='1", "../../etc/passwd",
           "", "a" * 300]


def password(role: str) -> str:
    return f"pw for {role} 0123456789"


class Server:
    """The API of ``store`` on uvicorn in a thread, on a free loopback port."""

    def __init__(self, store, db_url: str):
        self.store, self.db_url = store, db_url
        self.app = create_app(store, jwt_secret=SECRET,
                              sign_in_limit=FailureLimit(limit=SIGN_IN_LIMIT, window_s=600))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.http = requests.Session()
        self._tokens = {}

    def stop(self):
        self.server.should_exit = True
        self.thread.join(30)

    def sign_in(self, name: str, secret: str):
        return self.http.post(f"{self.base}/auth/token", timeout=60,
                              data={"username": name, "password": secret})

    def token(self, role: str) -> str:
        if role not in self._tokens:
            answer = self.sign_in(role, password(role))
            assert answer.status_code == 200, answer.text
            self._tokens[role] = answer.json()["access_token"]
        return self._tokens[role]

    def call(self, method: str, path: str, role: str | None = None, token: str | None = None,
             headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if role is not None:
            token = self.token(role)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.base + path, headers=headers, timeout=300,
                                 **kwargs)


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory):
    """The demo factory with its baselines, one user per role (named as the
    role), the alerts of 2025-03, and the API serving it."""
    with demo_database(request, tmp_path_factory) as (store, _truth, url), \
            pytest.MonkeyPatch.context() as mp:
        # The voice assistant behind /ask names its database in the environment.
        mp.delenv("ENMS_DATABASE_URL", raising=False)
        for role in permissions.ROLES:
            users.create_user(store, role, role, password=password(role), actor="test")
        train_demo_baselines(store)
        alerts.evaluate(store, date(2025, 3, 1), date(2025, 3, 31), notifiers=[])
        server = Server(store, url)
        try:
            yield server
        finally:
            server.stop()


def counts(store) -> dict:
    """Rows per table of everything a request could change."""
    tables = (s.sites, s.energy_sources, s.equipment, s.meters, s.drivers, s.products, s.seus,
              s.seu_drivers, s.baselines, s.reports, s.alerts, s.users, s.api_keys,
              s.import_batches, s.audit_log)
    with store.read() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in tables}


def assert_one_message(answer, status: int) -> str:
    """The status, and a body of one JSON message without a traceback."""
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    body = answer.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    return body["detail"]


# --- identity -----------------------------------------------------------------------------

def test_sign_in_gives_a_token_for_the_users_role(api):
    answer = api.sign_in("plant_manager", password("plant_manager"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = api.call("GET", "/auth/me", token=body["access_token"]).json()
    assert me["name"] == "plant_manager" and me["role"] == "plant_manager"
    assert "password_hash" not in me
    assert set(me["may"]) == {a for a in permissions.ACTIONS
                              if "plant_manager" in permissions.roles_for(a)}


def test_passwords_are_stored_as_argon2_hashes(api):
    with api.store.read() as conn:
        stored = conn.execute(sa.select(s.users.c.password_hash)
                              .where(s.users.c.name == "auditor")).scalar()
    assert stored.startswith("$argon2id$") and password("auditor") not in stored


def test_failed_sign_ins_are_limited(api):
    users.create_user(api.store, "limited", "auditor", password=password("limited"),
                      actor="test")
    for _ in range(SIGN_IN_LIMIT):
        assert_one_message(api.sign_in("limited", "wrong password!"), 401)
    refused = api.sign_in("limited", password("limited"))   # even the right one, for now
    assert "too many failed sign-ins" in assert_one_message(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    # Another name from the same address is not locked out.
    assert api.sign_in("auditor", password("auditor")).status_code == 200
    # An unknown name fails like a wrong password: names are not told apart.
    unknown = assert_one_message(api.sign_in("nobody", "wrong password!"), 401)
    wrong = assert_one_message(api.sign_in("executive", "wrong password!"), 401)
    assert unknown == wrong


def test_bad_tokens_are_refused(api):
    admin = users.get_user(api.store, "admin")
    expired = issue_token(SECRET, admin, ttl_s=-5)
    forged = issue_token("another secret " * 4, admin, ttl_s=600)
    header, payload, _ = api.token("executive").split(".")
    tampered = issue_token(SECRET, {**admin}, ttl_s=600).split(".")
    swapped = ".".join([header, tampered[1], api.token("executive").split(".")[2]])
    for token, words in ((None, "not signed in"), (expired, "expired"), (forged, "invalid"),
                         (swapped, "invalid"), ("not.a.token", "invalid")):
        answer = api.call("GET", "/users", token=token)
        assert words in assert_one_message(answer, 401)
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_disabling_a_user_ends_its_token_and_keys(api):
    users.create_user(api.store, "leaver", "energy_engineer", password=password("leaver"),
                      actor="test")
    token = api.sign_in("leaver", password("leaver")).json()["access_token"]
    key = api.call("POST", "/users/leaver/api-keys", role="admin",
                   json={"label": "laptop"}).json()["key"]
    assert api.call("GET", "/auth/me", token=token).status_code == 200
    assert api.call("GET", "/auth/me", headers={"X-API-Key": key}).status_code == 200
    assert api.call("POST", "/users/leaver/disable", role="admin").json()["active"] is False
    assert_one_message(api.call("GET", "/auth/me", token=token), 401)
    assert_one_message(api.call("GET", "/auth/me", headers={"X-API-Key": key}), 401)
    assert_one_message(api.sign_in("leaver", password("leaver")), 401)
    actions = [r["action"] for r in audit.log(api.store, entity="leaver")]
    assert actions == ["user.add", "user.api_key.add", "user.disable"]
    assert audit.log(api.store, action="user.disable")[-1]["actor"] == "admin"


def test_a_role_change_applies_to_the_next_request(api):
    users.create_user(api.store, "mover", "energy_engineer", password=password("mover"),
                      actor="test")
    token = api.sign_in("mover", password("mover")).json()["access_token"]
    args = {"seu": "Boiler-1", "energy_source": "natural_gas"}
    assert api.call("GET", "/baseline/seu/history", token=token, params=args).status_code == 200
    moved = api.call("POST", "/users/mover/role", role="admin", json={"role": "executive"})
    assert moved.json()["role"] == "executive"
    refused = api.call("GET", "/baseline/seu/history", token=token, params=args)
    assert "the role executive may not baseline.read" in assert_one_message(refused, 403)
    record = audit.log(api.store, action="user.role")[-1]
    assert (record["actor"], record["before"], record["after"]) == \
        ("admin", {"role": "energy_engineer"}, {"role": "executive"})


def test_a_device_signs_in_by_api_key_with_its_role(api):
    made = api.call("POST", "/users", role="admin",
                    json={"name": "hall-speaker", "role": "plant_manager"})
    assert made.status_code == 201 and made.json()["has_password"] is False
    key = api.call("POST", "/users/hall-speaker/api-keys", role="admin",
                   json={"label": "hall speaker"}).json()
    assert key["key"].startswith(f"enms_{key['prefix']}_")
    with api.store.read() as conn:
        stored = conn.execute(sa.select(s.api_keys.c.key_hash)
                              .where(s.api_keys.c.prefix == key["prefix"])).scalar()
    assert key["key"] not in stored                      # kept only as a hash
    listed = api.call("GET", "/users", role="admin").json()
    assert key["key"] not in json.dumps(listed)          # and never shown again
    device = {"X-API-Key": key["key"]}
    assert api.call("GET", "/auth/me", headers=device).json()["role"] == "plant_manager"
    assert api.call("GET", "/savings", headers=device, params={"period": "2025-03"}).ok
    assert_one_message(api.call("POST", "/baseline/seu/train", headers=device, json=TRAIN), 403)
    wrong = key["key"][:-4] + ("AAAA" if not key["key"].endswith("AAAA") else "BBBB")
    assert_one_message(api.call("GET", "/auth/me", headers={"X-API-Key": wrong}), 401)
    users.revoke_api_key(api.store, key["prefix"], actor="test")
    assert_one_message(api.call("GET", "/auth/me", headers=device), 401)


def test_no_password_no_user(api):
    """A person's password has a minimum length; there is no default user."""
    short = api.call("POST", "/users", role="admin",
                     json={"name": "shorty", "role": "auditor", "password": "short"})
    assert "password" in assert_one_message(short, 422)
    assert_one_message(api.sign_in("admin", ""), 422)


# --- the engine over HTTP ----------------------------------------------------------------

def _model(result: dict) -> dict:
    return {k: result[k] for k in ("model", "formula", "r2", "period_start", "period_end",
                                   "drivers", "spec", "statistics", "excluded")}


def test_train_through_the_api_gives_the_cli_model(api):
    before = baselines.history(api.store, "Boiler-1", "natural_gas")
    answer = api.call("POST", "/baseline/seu/train", role="energy_engineer", json=TRAIN)
    assert answer.status_code == 201, answer.text
    trained = answer.json()
    assert trained["version"] == len(before) + 1 and trained["trained_by"] == "energy_engineer"
    assert sorted(trained["drivers"]) == sorted(TRAIN["drivers"])
    cli = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--db", api.db_url, "baseline", "train", "Boiler-1",
         "--source", "natural_gas", "--period", "2024", "--drivers", ",".join(TRAIN["drivers"]),
         "--json"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    by_cli = json.loads(cli.stdout)
    assert by_cli["version"] == trained["version"] + 1
    assert _model(by_cli) == _model(trained)
    record = audit.log(api.store, action="baseline.train")[-2]
    assert record["actor"] == "energy_engineer" and record["entity"] == "Boiler-1 natural_gas"


def test_hostile_names_are_refused_and_change_nothing(api):
    before = counts(api.store)
    for name in HOSTILE:
        requests_ = [
            ("POST", "/baseline/seu/train", {"json": {**TRAIN, "seu": name}}),
            ("POST", "/baseline/seu/train", {"json": {**TRAIN, "drivers": [name]}}),
            ("POST", "/baseline/seu/train", {"json": {**TRAIN, "energy_source": name}}),
            ("POST", "/baseline/seu/adjust", {"json": {**TRAIN, "seu": name, "reason": "x",
                                                       "adjustment_type": "process_change"}}),
            ("GET", "/baseline/seu/history", {"params": {"seu": name,
                                                         "energy_source": "natural_gas"}}),
            ("GET", "/reports/seu-performance", {"params": {"seu": "Boiler-1",
                                                            "energy_source": name,
                                                            "period": "2025-03"}}),
            ("POST", "/catalog/drivers", {"json": {"name": name, "unit": "C"}}),
            ("POST", "/catalog/equipment", {"json": {"name": name}}),
            ("POST", "/catalog/seus", {"json": {"equipment": "Boiler-1",
                                                "energy_source": "natural_gas",
                                                "drivers": [name]}}),
            ("POST", "/quality/scan", {"json": {"period": "2025-03", "meters": [name]}}),
            ("POST", "/import/readings", {"params": {"energy_source": name},
                                          "files": {"file": ("r.csv", b"timestamp,meter\n")}}),
            ("POST", "/users", {"json": {"name": name, "role": "admin",
                                         "password": "long enough password"}}),
        ]
        for method, path, kwargs in requests_:
            answer = api.call(method, path, role="admin", **kwargs)
            detail = assert_one_message(answer, 422)
            assert "not a valid name" in detail or "String should" in detail, (path, detail)
    assert_one_message(api.call("POST", "/baseline/seu/train", role="admin",
                                json={**TRAIN, "unexpected": 1}), 422)
    assert_one_message(api.call("POST", "/baseline/seu/train", role="admin", data="{oops",
                                headers={"Content-Type": "application/json"}), 422)
    assert_one_message(api.call("POST", "/baseline/seu/train", role="admin",
                                json={**TRAIN, "period": "2024-13"}), 422)
    assert counts(api.store) == before


def test_engine_errors_are_one_json_message(api):
    unknown = api.call("GET", "/baseline/seu/history", role="auditor",
                       params={"seu": "Boiler-9", "energy_source": "natural_gas"})
    assert "unknown SEU 'Boiler-9 natural_gas'" in assert_one_message(unknown, 404)
    assert unknown.json()["code"] == "unknown_seu"
    poor = api.call("POST", "/baseline/seu/train", role="admin",
                    json={**TRAIN, "drivers": ["outdoor_temp_c"], "period": "2024-01"})
    assert "no valid model" in assert_one_message(poor, 400)
    assert_one_message(api.call("GET", "/alerts/99999", role="auditor"), 404)
    assert_one_message(api.call("GET", "/nowhere", role="auditor"), 404)


def test_reads_equal_the_engines(api):
    args = {"seu": "Boiler-1", "energy_source": "natural_gas", "period": "2025-03"}
    report = api.call("GET", "/reports/seu-performance", role="executive", params=args).json()
    direct = reports.build(api.store, "Boiler-1", "natural_gas", date(2025, 3, 1),
                           date(2025, 3, 31))
    for key in ("expected", "actual", "deviation_pct", "significant", "baseline_version"):
        assert report[key] == pytest.approx(direct[key]), key
    cusum = api.call("GET", "/cusum", role="auditor", params=args).json()
    assert cusum["cusum"]["to_date"] == pytest.approx(direct["cusum"]["to_date"])
    expected = api.call("GET", "/baseline/seu/expected", role="plant_manager",
                        params={**args, "period": None, "from": "2025-03-01",
                                "to": "2025-03-31"}).json()
    assert expected["expected"] == pytest.approx(direct["expected"])


def test_generate_all_monthly_stores_reports_as_the_caller(api):
    answer = api.call("POST", "/reports/generate-all-monthly", role="plant_manager",
                      json={"year": 2025, "first_month": 4, "last_month": 5})
    assert answer.status_code == 201, answer.text
    done = answer.json()
    seus = {r["seu"] for r in done["reports"]}
    assert len(seus) >= 8 and {r["period"] for r in done["reports"]} == {"2025-04", "2025-05"}
    stored = reports.stored(api.store, "Boiler-1", "natural_gas", "2025-04")
    assert stored[0]["generated_by"] == "plant_manager"


def test_acknowledging_an_alert_records_the_caller(api):
    alert = api.call("GET", "/alerts", role="plant_manager").json()[-1]
    answer = api.call("POST", f"/alerts/{alert['id']}/acknowledge", role="plant_manager",
                      json={"comment": "burner retuned"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["acknowledged_by"] == "plant_manager"
    again = api.call("POST", f"/alerts/{alert['id']}/acknowledge", role="admin",
                     json={"comment": "again"})
    assert "already acknowledged by plant_manager" in assert_one_message(again, 400)
    assert_one_message(api.call("POST", f"/alerts/{alert['id']}/acknowledge",
                                role="plant_manager", json={"comment": ""}), 422)


# --- uploads -------------------------------------------------------------------------------

def _readings_csv(days: int) -> bytes:
    lines = ["timestamp,meter,consumption_m3"]
    for hour in range(24 * days):
        lines.append(f"2025-11-{1 + hour // 24:02d}T{hour % 24:02d}:00:00+01:00,"
                     f"M-Boiler-1-NG,{30 + hour % 7}")
    return ("\n".join(lines) + "\n").encode()


def test_import_csv_upload_loads_each_row_once(api):
    body = _readings_csv(2)
    files = {"file": ("boiler-november.csv", body, "text/csv")}
    first = api.call("POST", "/import/readings", role="energy_engineer",
                     params={"energy_source": "natural_gas"}, files=files)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows_read"], report["rows_inserted"], report["rows_rejected"]) == (48, 48, 0)
    assert report["file"] == "boiler-november.csv"
    again = api.call("POST", "/import/readings", role="energy_engineer",
                     params={"energy_source": "natural_gas"}, files=files).json()
    assert (again["rows_inserted"], again["rows_duplicate"]) == (0, 48)
    batch = audit.log(api.store, action="import")[-1]
    assert batch["actor"] == "energy_engineer" and batch["entity"] == "boiler-november.csv"


def test_concurrent_imports_of_one_meters_days_add_up(api):
    """Six uploads at once, one UTC day each of one meter: every local day the
    uploads share is summed from both (a day refreshed by two imports at once
    must wait for the first, on PostgreSQL too)."""
    def day_csv(day: int) -> bytes:
        return ("timestamp,meter,consumption_m3\n" + "".join(
            f"2025-12-{day:02d}T{hour:02d}:00:00+00:00,M-Boiler-1-NG,10\n"
            for hour in range(24))).encode()

    token = api.token("energy_engineer")
    answers = {}
    # December's readings partition (PostgreSQL) made first, by one import alone:
    # concurrent first imports of a month can deadlock creating it (one fails cleanly).
    upload_first = api.call("POST", "/import/readings", role="energy_engineer",
                            params={"energy_source": "natural_gas"},
                            files={"file": ("dec-8.csv", day_csv(8))})
    assert upload_first.status_code == 200, upload_first.text

    def upload(day: int) -> None:
        answers[day] = requests.post(
            f"{api.base}/import/readings", params={"energy_source": "natural_gas"},
            headers={"Authorization": f"Bearer {token}"}, timeout=300,
            files={"file": (f"dec-{day}.csv", day_csv(day))})
    threads = [threading.Thread(target=upload, args=(day,)) for day in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a.status_code == 200 and a.json()["rows_inserted"] == 24
               for a in answers.values()), [a.text[:200] for a in answers.values()]
    days = {r["day"]: r["energy"] for r in queries.meter_series(
        api.store, "M-Boiler-1-NG", date(2025, 12, 1), date(2025, 12, 7))}
    # Local days of Europe/Berlin (UTC+1): Dec 1 lacks 23:00 UTC Nov 30, Dec 7 has one hour.
    assert days == {date(2025, 12, 1): 230, **{date(2025, 12, d): 240 for d in range(2, 7)},
                    date(2025, 12, 7): 10}


def test_uploads_beyond_the_limits_are_refused(api):
    before = counts(api.store)
    limits = api.app.state.upload_limits
    try:
        api.app.state.upload_limits = (limits[0], 10)
        rows = api.call("POST", "/import/readings", role="admin",
                        params={"energy_source": "natural_gas"},
                        files={"file": ("big.csv", _readings_csv(1))})
        assert "more than 10 rows" in assert_one_message(rows, 413)
        api.app.state.upload_limits = (2000, limits[1])
        size = api.call("POST", "/import/readings", role="admin",
                        params={"energy_source": "natural_gas"},
                        files={"file": ("big.csv", _readings_csv(2))})
        assert "larger than 2,000 bytes" in assert_one_message(size, 413)
    finally:
        api.app.state.upload_limits = limits
    json_body = api.call("POST", "/baseline/seu/train", role="admin",
                         json={**TRAIN, "reason": "x" * 2_000_000})
    assert_one_message(json_body, 413)
    assert counts(api.store) == before


# --- OpenAPI and ask ---------------------------------------------------------------------------

def test_openapi_documents_every_route_with_its_permission(api):
    spec = api.http.get(f"{api.base}/openapi.json", timeout=30).json()
    page = api.http.get(f"{api.base}/docs", timeout=30)
    assert page.status_code == 200
    # Swagger UI comes from the server itself (plant networks are often
    # offline), not from a CDN.
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(url.startswith("/api/v1/docs/static/") for url in scripts), scripts
    for url in scripts:
        assert api.http.get(f"{api.base.split('/api/v1')[0]}{url}", timeout=30).status_code == 200
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path == "/api/v1/auth/token":
                continue
            assert operation["x-permission"] in permissions.ACTIONS, (method, path)
    assert "/api/v1/baseline/seu/train" in spec["paths"]
    assert "/api/v1/reports/generate-all-monthly" in spec["paths"]


def test_an_auditor_exports_the_audit_package_as_pdf(api):
    pytest.importorskip("reportlab")
    answer = api.call("GET", "/audit-pack", role="auditor", params={"year": 2024})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == "application/pdf"
    assert 'filename="audit-pack-2024.pdf"' in answer.headers["content-disposition"]
    assert answer.content.startswith(b"%PDF-") and len(answer.content) > 10_000
    assert_one_message(api.call("GET", "/audit-pack", role="executive",
                                params={"year": 2024}), 403)


def test_ask_answers_as_enms_ask_json(api):
    pytest.importorskip("ovoscope")
    utterance = "how much did we save in 2025"
    answer = api.call("POST", "/ask", role="energy_engineer", json={"utterance": utterance})
    assert answer.status_code == 200, answer.text
    cli = subprocess.run([sys.executable, "-m", "engine.cli", "--db", api.db_url, "ask",
                          "--json", utterance], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    by_api, by_cli = answer.json(), json.loads(cli.stdout.splitlines()[-1])
    assert by_api["intent"] == "savings" and by_api["speech"]
    by_api.pop("seconds"), by_cli.pop("seconds")
    assert by_api == by_cli


# --- sites (last: it adds a second site to the shared database) ----------------------------------

def test_a_site_users_reads_and_acts_on_its_site_only(api):
    from engine import catalog
    catalog.add_site(api.store, "North Plant", "Europe/Berlin", actor="test")
    catalog.add_equipment(api.store, "Boiler-N", "boiler", site="North Plant", actor="test")
    catalog.add_meter(api.store, "M-Boiler-N-NG", "Boiler-N", "natural_gas", 3600, actor="test")
    catalog.add_seu(api.store, "Boiler-N", "natural_gas", ["heating_degree_days"], actor="test")
    for name, site in (("demo.manager", "Demo Plant"), ("north.manager", "North Plant")):
        users.create_user(api.store, name, "plant_manager", password=password(name), site=site,
                          actor="test")
    demo, north = ({"token": api.sign_in(n, password(n)).json()["access_token"]}
                   for n in ("demo.manager", "north.manager"))

    def seus(who):
        return {r["equipment"] for r in api.call("GET", "/catalog/seus", **who).json()}
    assert "Boiler-N" not in seus(demo) and "Boiler-1" in seus(demo)
    assert seus(north) == {"Boiler-N"}
    assert {"Boiler-N", "Boiler-1"} <= seus({"role": "admin"})        # no site: every site
    history = "/baseline/seu/history"
    refused = api.call("GET", history, params={"seu": "Boiler-1", "energy_source": "natural_gas"},
                       **north)
    assert "may use the site North Plant only; Boiler-1 is at Demo Plant" in \
        assert_one_message(refused, 403)
    assert api.call("GET", history, params={"seu": "Boiler-1", "energy_source": "natural_gas"},
                    **demo).status_code == 200
    demo_alerts = api.call("GET", "/alerts", params={"status": "all"}, **demo).json()
    assert demo_alerts and all(a["seu"] is None or not a["seu"].startswith("Boiler-N")
                               for a in demo_alerts)
    north_alerts = api.call("GET", "/alerts", params={"status": "all"}, **north).json()
    assert all(a["seu"] is None and a["subject_kind"] == "driver" for a in north_alerts)
    seu_alert = next(a for a in demo_alerts if a["seu"] and a["status"] == "open")
    assert_one_message(api.call("POST", f"/alerts/{seu_alert['id']}/acknowledge", **north,
                                json={"comment": "not mine"}), 403)
    assert alerts.get(api.store, seu_alert["id"])["status"] == "open"
    assert_one_message(api.call("GET", "/briefing", params={"site": "Demo Plant"}, **north), 403)
    assert "name an SEU" in assert_one_message(api.call("GET", "/savings", **north), 403)
    generated = api.call("POST", "/reports/generate-all-monthly", **north,
                         json={"year": 2025, "first_month": 7, "last_month": 7}).json()
    assert generated["reports"] == [] and {x["seu"] for x in generated["skipped"]} == \
        {"Boiler-N natural_gas"}

"""Every endpoint x every role against the permission matrix (engine/permissions.py),
over HTTP on loopback: 401 without a token and with an expired or forged one,
403 for a role the matrix does not allow (and nothing changed), a success for
one it does. The endpoints are read from the server's OpenAPI document, so a
new endpoint without a request here fails the test.
"""
import re
from pathlib import Path

import pytest

from engine import alerts, permissions, users
from test_api import SECRET, api, counts  # noqa: F401 - the server fixture
from test_api import _readings_csv as readings_csv
from engine.api.auth import issue_token

DOCS = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
SEU = {"seu": "Boiler-1", "energy_source": "natural_gas"}


def _request(ctx, method: str, path: str, role: str) -> tuple[str, dict]:
    """A valid request for the endpoint, unique per role where it adds something."""
    tag = role.replace("_", "-")
    requests = {
        ("GET", "/auth/me"): ({}, None),
        ("GET", "/users"): ({}, None),
        ("POST", "/users"): ({"json": {"name": f"new-{tag}", "role": "auditor",
                                       "password": "a long password 123"}}, None),
        ("POST", "/users/{name}/disable"): ({}, {"name": f"gone-{tag}"}),
        ("POST", "/users/{name}/role"): ({"json": {"role": "executive"}},
                                         {"name": f"moved-{tag}"}),
        ("POST", "/users/{name}/api-keys"): ({"json": {"label": f"key by {role}"}},
                                             {"name": "executive"}),
        ("GET", "/audit"): ({"params": {"limit": 5}}, None),
        # The baseline year: no monthly reports, so the package is quick to build.
        ("GET", "/audit-pack"): ({"params": {"year": 2024}}, None),
        ("GET", "/catalog/{kind}"): ({}, {"kind": "seus"}),
        ("GET", "/catalog/{kind}/{name}"): ({"params": {"energy_source": "natural_gas"}},
                                            {"kind": "seus", "name": "Boiler-1"}),
        ("POST", "/catalog/sites"): ({"json": {"name": f"Site {tag}",
                                               "timezone": "Europe/Berlin"}}, None),
        ("POST", "/catalog/sources"): ({"json": {
            "name": f"heat_{role}", "unit": "kWh", "kwh_per_unit": 1.0,
            "columns": [{"name": "consumption_kwh", "unit": "kWh", "kind": "energy"}]}}, None),
        ("POST", "/catalog/equipment"): ({"json": {"name": f"Pump-{tag}",
                                                   "site": "Demo Plant"}}, None),
        # On the new equipment: a meter without readings on Boiler-1 would leave
        # Boiler-1's energy incomplete.
        ("POST", "/catalog/meters"): ({"json": {"name": f"M-Pump-{tag}",
                                                "equipment": f"Pump-{tag}",
                                                "energy_source": "natural_gas"}}, None),
        ("POST", "/catalog/drivers"): ({"json": {"name": f"shifts_{role}", "unit": "1"}}, None),
        ("POST", "/catalog/products"): ({"json": {"name": f"Widget {tag}"}}, None),
        ("POST", "/catalog/seus"): ({"json": {"equipment": "Boiler-1",
                                              "energy_source": f"heat_{role}"}}, None),
        ("POST", "/import/readings"): ({"params": {"energy_source": "natural_gas"},
                                        "files": {"file": ("r.csv", readings_csv(1))}}, None),
        ("POST", "/import/drivers"): ({"files": {"file": (
            "d.csv", b"timestamp,driver,value\n2025-11-01T00:00:00+01:00,outdoor_temp_c,4.5\n")}},
            None),
        ("POST", "/baseline/seu/train"): ({"json": {**SEU, "period": "2024",
                                                    "drivers": ["heating_degree_days",
                                                                "production_count"]}}, None),
        ("POST", "/baseline/seu/adjust"): ({"json": {
            **SEU, "reason": f"new burner ({role})", "adjustment_type": "equipment_upgrade",
            "static_scale": 0.97}}, None),
        ("GET", "/baseline/seu"): ({"params": SEU}, None),
        ("GET", "/baseline/seu/history"): ({"params": SEU}, None),
        ("GET", "/baseline/seu/expected"): ({"params": {**SEU, "period": "2025-03"}}, None),
        ("GET", "/reports/seu-performance"): ({"params": {**SEU, "period": "2025-03"}}, None),
        ("POST", "/reports/seu-performance"): ({"json": {**SEU, "period": "2025-02"}}, None),
        ("GET", "/reports/seu-performance/pdf"): ({"params": {**SEU, "period": "2025-03"}}, None),
        ("GET", "/reports/monthly"): ({"params": {**SEU, "year": 2025, "last_month": 3}}, None),
        ("GET", "/charts/seu/{chart}"): ({"params": {**SEU, "period": "2025-03"}},
                                         {"chart": "daily"}),
        ("GET", "/charts/baseline/drivers"): ({"params": SEU}, None),
        ("GET", "/charts/plant/{chart}"): ({"params": {"period": "2025-03"}},
                                           {"chart": "by-source"}),
        ("POST", "/reports/generate-all-monthly"): ({"json": {"year": 2025, "first_month": 6,
                                                              "last_month": 6}}, None),
        ("GET", "/cusum"): ({"params": {**SEU, "period": "2025-03"}}, None),
        ("GET", "/quality"): ({"params": {"period": "2025-03", "meter": "M-Boiler-1-NG"}}, None),
        ("POST", "/quality/scan"): ({"json": {"period": "2025-03",
                                              "meters": ["M-Boiler-1-NG"]}}, None),
        ("GET", "/savings"): ({"params": {"period": "2025-03"}}, None),
        ("GET", "/alerts"): ({}, None),
        ("GET", "/alerts/{alert_id}"): ({}, {"alert_id": ctx["show"]}),
        ("POST", "/alerts/{alert_id}/acknowledge"): (
            {"json": {"comment": f"checked by {role}"}}, {"alert_id": ctx["ack"][role]}),
        ("GET", "/briefing"): ({"params": {"at": "2025-10-31T23:00:00+01:00"}}, None),
        ("GET", "/health"): ({}, None),
        ("GET", "/metrics"): ({}, None),
        ("POST", "/ask"): ({"json": {"utterance": "what are the significant energy uses"}},
                           None),
    }
    kwargs, fields = requests[(method, path)]
    return path.format(**(fields or {})), kwargs


def _operations(api):
    spec = api.http.get(f"{api.base}/openapi.json", timeout=30).json()
    for full, operations in spec["paths"].items():
        for method, operation in operations.items():
            if full != "/api/v1/auth/token":
                yield method.upper(), full.removeprefix("/api/v1"), operation["x-permission"]


def test_every_endpoint_by_every_role_follows_the_matrix(api):
    pytest.importorskip("ovoscope")   # /ask answers with the voice skill
    store = api.store
    open_alerts = [a["id"] for a in alerts.list_alerts(store, "open")]
    assert len(open_alerts) >= len(permissions.ROLES)
    # Each role that may acknowledge gets an alert of its own: an alert is acknowledged once.
    ctx = {"show": open_alerts[0], "ack": dict(zip(permissions.ROLES, open_alerts))}
    for role in permissions.ROLES:
        for kind in ("gone", "moved"):
            users.create_user(store, f"{kind}-{role.replace('_', '-')}", "auditor",
                              password="a long password 123", actor="test")
    admin = users.get_user(store, "admin")
    bad_tokens = {"none": None, "expired": issue_token(SECRET, admin, ttl_s=-1),
                  "forged": issue_token("not the server's secret " * 2, admin, ttl_s=600)}
    operations = sorted(_operations(api), key=lambda op: op[0] == "POST")  # reads first
    assert len(operations) >= 30
    seen = set()
    for method, path, action in operations:
        seen.add(action)
        url, kwargs = _request(ctx, method, path, "admin")
        for why, token in bad_tokens.items():
            answer = api.call(method, url, token=token, **kwargs)
            assert answer.status_code == 401, (method, path, why, answer.text[:300])
        for role in permissions.ROLES:
            url, kwargs = _request(ctx, method, path, role)
            before = None if permissions.allowed(role, action) else counts(store)
            answer = api.call(method, url, role=role, **kwargs)
            if permissions.allowed(role, action):
                assert 200 <= answer.status_code < 300, (method, path, role, answer.text[:500])
            else:
                assert answer.status_code == 403, (method, path, role, answer.text[:300])
                assert f"the role {role} may not {action}" in answer.json()["detail"]
                assert counts(store) == before, (method, path, role)
    assert seen == set(permissions.ACTIONS), set(permissions.ACTIONS) - seen


def test_the_documented_matrix_is_the_code():
    """docs/permissions.md's table lists every action with exactly its roles."""
    text = DOCS.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| action"))
    roles = [c.strip() for c in header.strip("|").split("|")[2:]]
    assert roles == list(permissions.ROLES)
    documented = {}
    for line in text.splitlines():
        match = re.match(r"\| `([a-z_.]+)` \|(.*)\|\s*$", line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            documented[match.group(1)] = tuple(r for r, c in zip(roles, cells[1:]) if c == "yes")
    assert documented == {a: entry.roles for a, entry in permissions.ACTIONS.items()}

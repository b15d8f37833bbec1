"""The installed package (a wheel, not the source tree) finds its locale and
registers its intents; the skill is an `opm.skill` entry point."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INTENTS = {"train_baseline", "seu_report", "list_seus", "list_drivers", "explain_baseline",
           "help", "tell_more", "cusum_status", "data_quality", "briefing", "savings", "alerts",
           "acknowledge_alert"}

PROBE = r"""
import json, sys
import skill_enms
from skill_enms.skill import EnmsSkill, resources_dir
from ovos_utils.fakebus import FakeBus
bus, seen = FakeBus(), []
bus.on("padatious:register_intent", lambda m: seen.append(m.data))
skill = EnmsSkill(bus=bus, skill_id="skill-enms.openvoiceos")
skill.default_shutdown()
print("REPORT " + json.dumps({"package": skill_enms.__file__, "resources": resources_dir(),
                  "intents": [{"name": d["name"], "file": d.get("file_name", "")} for d in seen]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [path] = out.glob("enms-*.whl")
    return path


def test_wheel_ships_locale_and_entry_point(wheel):
    with zipfile.ZipFile(wheel) as z:
        files = z.namelist()
        entry_points = next(z.read(n).decode() for n in files if n.endswith("entry_points.txt"))
    for name in INTENTS:
        assert f"skill_enms/locale/en-us/intents/{name}.intent" in files
    assert "skill_enms/locale/en-us/dialog/trained.dialog" in files
    assert "skill_enms/settingsmeta.json" in files
    assert "[opm.skill]" in entry_points
    assert "skill-enms.openvoiceos = skill_enms:EnmsSkill" in entry_points


def test_installed_skill_finds_its_locale(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:   # a pure-Python wheel installs by unpacking
        z.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "ENMS_DATABASE_URL": str(tmp_path / "x.sqlite"),
           "OVOS_DEFAULT_LOG_LEVEL": "ERROR"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("REPORT "))
    report = json.loads(line[len("REPORT "):])
    assert report["package"].startswith(str(site))
    assert report["resources"] == str(site / "skill_enms")
    registered = {i["name"].split(":")[-1].removesuffix(".intent") for i in report["intents"]}
    assert INTENTS <= registered
    assert all(i["file"].startswith(str(site)) for i in report["intents"])


WITHOUT = r"""
import json, sys
sys.modules["engine.savings"] = None      # as if these engine modules were not installed
sys.modules["engine.alerts"] = None
from skill_enms.skill import EnmsSkill
from ovos_utils.fakebus import FakeBus
from ovos_bus_client.message import Message
bus, seen, said = FakeBus(), [], []
bus.on("padatious:register_intent", lambda m: seen.append(m.data["name"]))
bus.on("speak", lambda m: said.append(m.data["utterance"]))
skill = EnmsSkill(bus=bus, skill_id="skill-enms.openvoiceos")
for name, text in (("handle_savings", "how much did we save this year"),
                   ("handle_alerts", "any alerts")):
    getattr(skill, name)(Message("x", {"utterance": text, "lang": "en-US"}, {}))
skill.default_shutdown()
print("REPORT " + json.dumps({"intents": seen, "said": said}))
"""


def test_skill_loads_without_the_savings_and_alerts_modules(tmp_path):
    """The skill must not need engine.savings or engine.alerts to load; their
    intents then say that the feature is not installed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENMS_DATABASE_URL": str(tmp_path / "x.sqlite"),
           "OVOS_DEFAULT_LOG_LEVEL": "ERROR"}
    done = subprocess.run([sys.executable, "-c", WITHOUT], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("REPORT "))
    report = json.loads(line[len("REPORT "):])
    registered = {i.split(":")[-1].removesuffix(".intent") for i in report["intents"]}
    assert INTENTS <= registered
    assert report["said"] == ["Sorry, savings are not installed in this energy management "
                              "system yet.", "Sorry, alerts are not installed in this energy "
                              "management system yet."]

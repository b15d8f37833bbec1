"""``enms ask --bus`` and ``enms chat --bus`` against a real OVOS messagebus.

Three processes, as on a device: the reference messagebus server
(ovos-messagebus) on a free loopback port, ovos-core's skills service
(``python -m ovos_core``: skill manager and intent service on a real
MessageBusClient) with the EnMS skill loaded by its entry point, and the
``enms`` command as a subprocess. Their mycroft.conf (bus address, language,
intent pipeline) lives in a temporary XDG_CONFIG_HOME; the demo plant is an
SQLite file.
"""
import json
import os
import socket
import subprocess
import sys
import time
from datetime import date

import pytest
from num2words import num2words

pytest.importorskip("ovos_messagebus")
pytest.importorskip("ovos_core")

from engine import Store, baselines  # noqa: E402
from engine.cli.chat import PIPELINE, SKILL_ID, Turn, not_understood_line  # noqa: E402
from engine.demo import build_demo, train_demo_baselines  # noqa: E402

OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))
BOOT_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process, log, deadline: float) -> None:
    while time.time() < deadline:
        assert process.poll() is None, f"messagebus exited: {log.read_text()[-2000:]}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"messagebus not listening on {port}: {log.read_text()[-2000:]}")


def wait_for_skills(url_port: int, process, log, deadline: float) -> None:
    """Until ovos-core says its skills are loaded and trained, and the EnMS
    skill is among them."""
    from ovos_bus_client import MessageBusClient
    from ovos_bus_client.message import Message
    client = MessageBusClient(host="127.0.0.1", port=url_port)
    client.run_in_thread()
    try:
        assert client.connected_event.wait(10)
        while time.time() < deadline:
            assert process.poll() is None, f"ovos-core exited: {log.read_text()[-3000:]}"
            ready = client.wait_for_response(Message("mycroft.skills.is_ready"), timeout=2)
            if ready and ready.data.get("status"):
                listed = client.wait_for_response(Message("skillmanager.list"),
                                                  "mycroft.skills.list", timeout=5)
                assert listed and SKILL_ID in listed.data, \
                    f"ovos-core is ready without {SKILL_ID}: {log.read_text()[-3000:]}"
                return
            time.sleep(0.5)
        raise AssertionError(f"ovos-core not ready in {BOOT_TIMEOUT_S} s: "
                             f"{log.read_text()[-3000:]}")
    finally:
        client.close()


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bus-demo")
    url = str(folder / "enms.sqlite")
    store = Store(url)
    build_demo(store)
    train_demo_baselines(store)
    yield store, url, folder
    store.dispose()


@pytest.fixture(scope="module")
def bus(demo):
    """ws://127.0.0.1:<port> with ovos-core and the EnMS skill on it; yields
    (url, environment for the ``enms`` subprocesses)."""
    _, url, folder = demo
    port = free_port()
    config = folder / "config" / "mycroft"
    config.mkdir(parents=True)
    (config / "mycroft.conf").write_text(json.dumps({
        "websocket": {"host": "127.0.0.1", "port": port, "route": "/core", "ssl": False},
        "lang": "en-US",
        "intents": {"pipeline": PIPELINE}}))
    env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config"),
           "ENMS_DATABASE_URL": url, "ENMS_DATA_DIR": str(folder),
           "OVOS_DEFAULT_LOG_LEVEL": "INFO"}
    bus_log, core_log = folder / "bus.log", folder / "core.log"
    deadline = time.time() + BOOT_TIMEOUT_S
    with open(bus_log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "ovos_messagebus"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    core = None
    try:
        wait_for_port(port, server, bus_log, deadline)
        with open(core_log, "w") as out:
            core = subprocess.Popen([sys.executable, "-m", "ovos_core", "--disable-installer",
                                     "--disable-file-watcher", "--disable-event-scheduler"],
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_for_skills(port, core, core_log, deadline)
        yield f"ws://127.0.0.1:{port}", env
    finally:
        if core is not None:
            stop(core)
        stop(server)


def enms(env, *args, stdin=None):
    done = subprocess.run([sys.executable, "-m", "engine.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def pct_words(value):
    rounded = round(abs(value), 1 if abs(value) < 10 else 0)
    return num2words(int(rounded) if rounded == int(rounded) else rounded, lang="en")


def test_ask_json_over_the_bus(bus, demo):
    url, env = bus
    truth = baselines.expected(demo[0], "HVAC-EU-North", "electricity", *OCTOBER)
    out = enms(env, "ask", "--bus", url, "--json", "how did HVAC north do in October")
    answer = json.loads(out)
    # The same object as the in-process core answers with.
    assert list(answer) == list(Turn("").as_dict())
    assert answer["intent"] == "seu_report"
    assert answer["slots"] == {"seu": "HVAC north"}
    assert answer["seu"] == "HVAC-EU-North electricity"
    assert answer["period"] == {"start": "2025-10-01", "end": "2025-10-31"}
    assert answer["question"] is None
    assert "HVAC-EU-North electricity in October 2025" in answer["speech"]
    assert f"{pct_words(truth['deviation_pct'])} percent above expected" in answer["speech"]
    assert answer["result"]["actual"] == pytest.approx(truth["actual"])


def test_ask_lines_from_stdin_over_the_bus(bus):
    url, env = bus
    out = enms(env, "ask", "--bus", url, "--json", "-",
               stdin="what equipment do you track\nplease sing me a lullaby backwards\n")
    listed, nonsense = [json.loads(line) for line in out.splitlines()]
    assert listed["intent"] == "list_seus"
    assert "Boiler-1 natural gas" in listed["speech"]
    assert nonsense["intent"] is None and nonsense["seu"] is None
    assert nonsense["speech"] == not_understood_line("en-us")


def test_chat_clarification_over_the_bus(bus, demo):
    """Two turns: the skill asks which compressor (get_response on the
    remote core), the next stdin line answers it."""
    url, env = bus
    truth = baselines.expected(demo[0], "Compressor-EU-1", "electricity", *OCTOBER)
    out = enms(env, "chat", "--bus", url,
               stdin="how did the compressor do in October\ncompressor E U one\nquit\n")
    said = [line.split("enms> ", 1)[1] for line in out.splitlines() if "enms> " in line]
    assert said[0] == "Did you mean Compressor-1 or Compressor-EU-1?"
    assert "Compressor-EU-1 electricity in October 2025" in said[1]
    assert f"{pct_words(truth['deviation_pct'])} percent above expected" in said[1]
    assert len(said) == 2

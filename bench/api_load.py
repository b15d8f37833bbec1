"""Load on the HTTP API: N concurrent clients for S seconds on loopback.

    python bench/api_load.py --backend sqlite                  # 20 clients, 60 s
    python bench/api_load.py --backend postgresql --clients 20 --seconds 60

Set-up (not timed): the demo with its baselines in a fresh database, an
energy engineer, and ``enms serve`` in its own process on a free loopback
port (the clients run in this one, so they do not share the server's
interpreter).

The mix: one client posts a training request (Boiler-1 natural gas on 2024,
three drivers) once a second; the others loop over report reads (the period
report, the CUSUM and the expected energy of a random SEU and month of 2025)
and, every tenth request, an import of one day of new hourly readings of one
meter (a CSV upload; each upload a new day, so every row is new). Every
answer must be a success: the script prints the error count and exits 1 if
it is not zero. Printed: requests, throughput, p50 and p95 latency per kind.
Only 127.0.0.1 is ever addressed; the run ends after --seconds (at most 600).
"""
import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta

import requests
from common import drop_store, fresh_store, machine

from engine import catalog, users
from engine.demo import build_demo, train_demo_baselines

PASSWORD = "load test password 0123"
MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]
TRAIN = {"seu": "Boiler-1", "energy_source": "natural_gas",
         "drivers": ["outdoor_temp_c", "heating_degree_days", "production_count"],
         "period": "2024", "reason": "load test"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, port: int, data_dir: str) -> subprocess.Popen:
    env = {**os.environ, "ENMS_DATA_DIR": data_dir, "ENMS_JWT_SECRET": secrets.token_urlsafe(48)}
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--db", url, "serve", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return server
        except requests.ConnectionError:
            if server.poll() is not None:
                raise SystemExit(f"enms serve exited with {server.returncode}")
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("enms serve did not answer within 60 s")


class Load:
    """The clients' shared state: results per kind, and the next day to import."""

    def __init__(self, base: str, token: str, seus: list[dict], meters: list[dict],
                 columns: dict, until: float):
        self.base, self.until = base, until
        self.headers = {"Authorization": f"Bearer {token}"}
        self.seus, self.meters, self.columns = seus, meters, columns
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.next_day = date(2025, 11, 1)

    def record(self, kind: str, seconds: float, answer) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if isinstance(answer, Exception):
                self.errors.append(f"{kind}: {type(answer).__name__}: {answer}")
            elif not answer.ok:
                self.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")

    def send(self, http, kind: str, method: str, path: str, **kwargs) -> None:
        started = time.perf_counter()
        try:
            answer = http.request(method, self.base + path, headers=self.headers, timeout=120,
                                  **kwargs)
        except requests.RequestException as exc:
            answer = exc
        self.record(kind, time.perf_counter() - started, answer)

    def new_day_csv(self) -> tuple[str, bytes, str]:
        with self.lock:
            day, self.next_day = self.next_day, self.next_day + timedelta(days=1)
        meter = random.choice(self.meters)
        column = self.columns[meter["source"]]
        rows = [f"timestamp,meter,{column}"] + [
            f"{day}T{hour:02d}:00:00+00:00,{meter['name']},{random.uniform(5, 50):.3f}"
            for hour in range(24)]
        return meter["source"], ("\n".join(rows) + "\n").encode(), f"{meter['name']}-{day}.csv"

    def reader(self) -> None:
        http = requests.Session()
        n = 0
        while time.monotonic() < self.until:
            n += 1
            if n % 10 == 0:
                source, body, name = self.new_day_csv()
                self.send(http, "import", "POST", "/import/readings",
                          params={"energy_source": source}, files={"file": (name, body)})
                continue
            seu = random.choice(self.seus)
            args = {"seu": seu["equipment"], "energy_source": seu["source"],
                    "period": random.choice(MONTHS)}
            kind, path = random.choice((("report", "/reports/seu-performance"),
                                        ("cusum", "/cusum"),
                                        ("expected", "/baseline/seu/expected")))
            self.send(http, kind, "GET", path, params=args)

    def trainer(self) -> None:
        http = requests.Session()
        tick = time.monotonic()
        while tick < self.until:
            self.send(http, "train", "POST", "/baseline/seu/train", json=TRAIN)
            tick += 1.0
            time.sleep(max(0.0, tick - time.monotonic()))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def run(backend: str, clients: int, seconds: float) -> int:
    workdir = tempfile.mkdtemp(prefix="enms-api-load-")
    store = fresh_store(backend, workdir)
    server = None
    try:
        build_demo(store)
        train_demo_baselines(store)
        users.create_user(store, "load.engineer", "energy_engineer", password=PASSWORD,
                          actor="bench")
        seus = catalog.list_entries(store, "seu")
        meters = catalog.list_entries(store, "meter")
        columns = {m["source"]: catalog.get_energy_source(store, m["source"])["energy_column"]
                   for m in meters}
        port = free_port()
        server = start_server(store.url, port, workdir)
        base = f"http://127.0.0.1:{port}/api/v1"
        token = requests.post(f"{base}/auth/token", timeout=60, data={
            "username": "load.engineer", "password": PASSWORD}).json()["access_token"]
        started = time.monotonic()
        load = Load(base, token, seus, meters, columns, started + seconds)
        threads = [threading.Thread(target=load.trainer)] + [
            threading.Thread(target=load.reader) for _ in range(clients - 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        drop_store(store)
    total = sum(len(v) for v in load.latencies.values())
    print(f"{machine()}; {backend}, {clients} clients, {elapsed:.1f} s")
    print(f"{total} requests, {total / elapsed:.1f} per second, {len(load.errors)} errors")
    for kind, values in sorted(load.latencies.items()):
        print(f"  {kind:9s} n={len(values):5d}  p50 {1000 * statistics.median(values):7.1f} ms"
              f"  p95 {1000 * percentile(values, 95):7.1f} ms")
    everything = [v for values in load.latencies.values() for v in values]
    print(f"  {'all':9s} n={total:5d}  p50 {1000 * statistics.median(everything):7.1f} ms"
          f"  p95 {1000 * percentile(everything, 95):7.1f} ms")
    for line in load.errors[:10]:
        print("  error:", line)
    return 1 if load.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not 2 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        parser.error("--clients 2..200 and --seconds 1..600")
    return run(args.backend, args.clients, args.seconds)


if __name__ == "__main__":
    sys.exit(main())

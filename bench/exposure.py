"""GET /v1/slots with warm exposure caches, next to a bare aiohttp endpoint, in one run.

    python -m bench.exposure [--duration 8] [--connections 64] [--people 10] [--visitors 200]
                             [--processes 1]

Provisions a scratch database and Redis db index (as the test suite does), seeds one
location with `--people` people and 90 days of 15-minute slots (some booked, some held),
starts `python -m web` and a bare aiohttp app as separate processes, warms every
visitor's exposure cache, then drives each with `wrk` (Debian's `wrk` package; the
aiohttp client in a separate process otherwise) and prints requests/s, p50/p95/p99 and
the ratio. `--processes N` runs N of each server on one port (SO_REUSEPORT): `WEB_PROCESSES=N`
for the platform, N bare processes. The target compares with bare aiohttp on its
default asyncio loop; the platform runs on uvloop, so a bare endpoint on uvloop is
measured too and its ratio printed beside. Targets: at least 0.15x the bare endpoint's requests/s
and p99 under 50 ms. The load generator shares the machine's cores with the servers, as
a real client would not.
"""

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import uvloop
from aiohttp import web

from bench.services import migrated
from common.ids import new_id
from common.pii import generate_key
from common.tokens import issue_token
from tests.support.platform import free_port

ZONE = ZoneInfo("Asia/Dubai")
JWT_SECRET = "bench-secret-" + "x" * 32
DAYS = 90
WRK_SCRIPT = """
local tokens = {}
local n = 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  n = math.random(#tokens)
end
function request()
  n = n % #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[n]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Figures:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    def line(self, name: str) -> str:
        return (
            f"{name:<14} {self.requests_per_second:>9.0f} req/s   p50 {self.p50_ms:6.2f} ms"
            f"   p95 {self.p95_ms:6.2f} ms   p99 {self.p99_ms:6.2f} ms   errors {self.errors}"
        )


async def _seed(database_url: str, people: int) -> tuple[uuid.UUID, dt.date]:
    """One location, `people` people, 90 days of 09:00-17:00 slots every 15 minutes."""
    conn = await asyncpg.connect(database_url)
    try:
        location_id = new_id()
        await conn.execute(
            "INSERT INTO locations (id, name, timezone) VALUES ($1, 'Bench', 'Asia/Dubai')",
            location_id,
        )
        person_ids = [new_id() for _ in range(people)]
        await conn.copy_records_to_table(
            "people",
            records=[(p, location_id, f"P{i}") for i, p in enumerate(person_ids)],
            columns=["id", "location_id", "name"],
        )
        first = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
        rng = random.Random(7)
        slots = []
        for person_id in person_ids:
            for offset in range(DAYS):
                day = first + dt.timedelta(days=offset)
                for quarter in range(32):
                    start = dt.datetime.combine(day, dt.time(9), tzinfo=ZONE) + dt.timedelta(
                        minutes=15 * quarter
                    )
                    booked = 1 if rng.random() < 0.1 else 0
                    status = "full" if booked else "open"
                    slots.append(
                        (new_id(), location_id, person_id, day, start,
                         start + dt.timedelta(minutes=30), 1, booked, status)
                    )  # fmt: skip
        await conn.copy_records_to_table(
            "slot_instances",
            records=slots,
            columns=[
                "id", "location_id", "person_id", "date", "start_at", "end_at",
                "capacity", "booked", "status",
            ],
        )  # fmt: skip
        await conn.execute("ANALYZE")
        return location_id, first
    finally:
        await conn.close()


def _bare_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **env})


async def _wait_ready(url: str, deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.2)


async def _warm(url: str, tokens: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for tok in tokens:
            async with session.get(url, headers={"Authorization": f"Bearer {tok}"}) as response:
                body = await response.json()
                assert response.status == 200, body
                assert body["slots"], body


def _wrk(url: str, tokens_file: str, connections: int, duration: float) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "5s",
        "-s", script.name, url, "--", tokens_file,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests, micros, p50, p95, p99, errors = (int(v) for v in line.split()[1:])
    return Figures(requests / (micros / 1e6), p50 / 1000, p95 / 1000, p99 / 1000, errors)


async def _drive(url: str, tokens: list[str], connections: int, duration: float) -> Figures:
    """The fallback load generator: `connections` keep-alive clients in a loop."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + duration
    connector = aiohttp.TCPConnector(limit=connections)

    async def client(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            n += 1
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                errors += response.status != 200
            latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session, i) for i in range(connections)))
    elapsed = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100)
    return Figures(len(latencies) / elapsed, q[49] * 1000, q[94] * 1000, q[98] * 1000, errors)


def _measure(url: str, tokens_file: str, connections: int, duration: float) -> Figures:
    if shutil.which("wrk"):
        return _wrk(url, tokens_file, connections, duration)
    tokens = Path(tokens_file).read_text().split()
    return asyncio.run(_drive(url, tokens, connections, duration))


def run(
    duration: float = 8,
    connections: int = 64,
    people: int = 10,
    visitors: int = 200,
    server_processes: int = 1,
) -> dict:
    with migrated() as services:
        processes: list[subprocess.Popen] = []
        try:
            location_id, first_day = asyncio.run(_seed(services.database_url, people))
            app_port, bare_port, uvloop_port = free_port(), free_port(), free_port()
            env = {
                "DATABASE_URL": services.database_url,
                "REDIS_URL": services.redis_url,
                "JWT_SECRET": JWT_SECRET,
                "PII_KEY": f"k1:{generate_key()}",
                "EXPOSURE_SALT": "bench-salt",
                "HTTP_PORT": str(app_port),
                "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_USER_GET": "100000000/minute",
            }
            processes.append(_start(["-m", "web"], {**env, "WEB_PROCESSES": str(server_processes)}))
            for _ in range(server_processes):
                bare_args = ["-m", "bench.exposure", "--serve-bare", str(bare_port)]
                processes.append(_start(bare_args, {}))
                processes.append(
                    _start(["-m", "bench.exposure", "--serve-bare-uvloop", str(uvloop_port)], {})
                )
            day = first_day + dt.timedelta(days=2)
            slots_url = f"http://127.0.0.1:{app_port}/v1/slots?location_id={location_id}&date={day}"
            bare_url = f"http://127.0.0.1:{bare_port}/"
            uvloop_url = f"http://127.0.0.1:{uvloop_port}/"
            asyncio.run(_wait_ready(f"http://127.0.0.1:{app_port}/healthz"))
            asyncio.run(_wait_ready(bare_url))
            asyncio.run(_wait_ready(uvloop_url))
            tokens = [
                issue_token(JWT_SECRET, "general-scheduler", f"visitor-{i}", ["user"], 3600)
                for i in range(visitors)
            ]
            asyncio.run(_warm(slots_url, tokens))
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as tokens_file:
                tokens_file.write("\n".join(tokens) + "\n")
            bare = _measure(bare_url, tokens_file.name, connections, duration)
            bare_uvloop = _measure(uvloop_url, tokens_file.name, connections, duration)
            floor = _measure(slots_url + "&floor=1", tokens_file.name, connections, duration)
            slots = _measure(slots_url, tokens_file.name, connections, duration)
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    generator = "wrk" if shutil.which("wrk") else "aiohttp client"
    print(
        f"GET /v1/slots, warm caches, {connections} connections, {duration:.0f} s each,"
        f" {people} people x 32 slots a day, {visitors} visitors,"
        f" {server_processes} process(es) per server, load from {generator}"
    )
    print(bare.line("bare aiohttp"))
    print(bare_uvloop.line("bare aiohttp, uvloop"))
    print(floor.line("pipeline floor"))
    print(slots.line("GET /v1/slots"))
    print(
        "(pipeline floor: the same URL plus an unknown parameter, answered 400 after the token"
        " check and rate limit, before the handler; its 'errors' are those 400s)"
    )
    ratio = slots.requests_per_second / bare.requests_per_second
    print(f"ratio {ratio:.3f}x (target >= 0.15x); p99 {slots.p99_ms:.1f} ms (target < 50 ms)")
    uvloop_ratio = slots.requests_per_second / bare_uvloop.requests_per_second
    print(f"ratio to the bare endpoint on uvloop {uvloop_ratio:.3f}x")
    floor_ratio = slots.requests_per_second / floor.requests_per_second
    print(f"GET /v1/slots runs at {floor_ratio:.2f}x the pipeline floor")
    return {
        "bare": bare.__dict__,
        "bare_uvloop": bare_uvloop.__dict__,
        "ratio_to_bare_uvloop": uvloop_ratio,
        "pipeline_floor": floor.__dict__,
        "slots": slots.__dict__,
        "ratio_to_bare": ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare-uvloop", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare or args.serve_bare_uvloop:
        web.run_app(
            _bare_app(),
            host="127.0.0.1",
            port=args.serve_bare or args.serve_bare_uvloop,
            reuse_port=True,
            print=None,
            loop=uvloop.new_event_loop() if args.serve_bare_uvloop else asyncio.new_event_loop(),
        )
        return

    run(args.duration, args.connections, args.people, args.visitors, args.processes)


if __name__ == "__main__":
    main()

"""Where the time goes during a bench scenario: py-spy samples of the web and the worker.

    python -m bench.profile_holds [slot|drop|crowd] [--seconds 15]

Runs the scenario against a platform alone (no plain server) while `py-spy record`
samples each process; writes collapsed stacks to /tmp/profile-{process}.txt and prints
each process's top functions by own time and by total time.
"""

import argparse
import asyncio
import collections
import subprocess
import threading

from bench.holds import CROWD, _days, _expose_crowd, _slots, expose, platform_env, sessions, tokens
from bench.load import drive
from bench.services import migrated
from tests.support.platform import Platform


def _record(pid: int, name: str, seconds: float) -> str:
    out = f"/tmp/profile-{name}.txt"
    subprocess.run(
        ["py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds)), "--format",
         "raw", "--output", out, "--rate", "200", "--subprocesses", "--nonblocking", "--gil"],
        capture_output=True, check=False,
    )  # fmt: skip
    return out


def _top(path: str, title: str, count: int = 25) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    with open(path) as handle:
        for line in handle:
            stack, _, n = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            weight = int(n)
            samples += weight
            own[frames[-1]] += weight
            for frame in set(frames):
                total[frame] += weight
    print(f"== {title}: {samples} samples; own time")
    for frame, n in own.most_common(count):
        print(f"{100 * n / samples:5.1f}%  {frame[:150]}")
    print(f"== {title}: total time")
    for frame, n in total.most_common(count):
        print(f"{100 * n / samples:5.1f}%  {frame[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["slot", "drop", "crowd"])
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with (
        migrated() as services,
        Platform(env=platform_env(services), worker_processes=1, worker_threads=8) as p,
    ):
        p.start("web", "worker", "scheduler")
        count, capacity = (1, 30_000) if args.scenario == "slot" else (10, 1)
        slots = asyncio.run(_slots(services.database_url, count, capacity))
        mode = "platform"
        if args.scenario == "crowd":
            visitors, mode = sessions(CROWD), "crowd"
            days = asyncio.run(_days(services.database_url, slots))
            asyncio.run(_expose_crowd(p.base_url, days, visitors))
        else:
            visitors = tokens()
            expose(p.base_url, services.database_url, slots, visitors)
        outputs = {}
        threads = [
            threading.Thread(
                target=lambda n=name: outputs.__setitem__(
                    n, _record(p.processes[n].pid, n, args.seconds - 2)
                )
            )
            for name in ("web", "worker")
        ]
        for thread in threads:
            thread.start()
        figures = drive(p.base_url, mode, slots, visitors, "prof", args.seconds).require_holds()
        print(figures.line("platform"))
        for thread in threads:
            thread.join()
        for name, path in outputs.items():
            _top(path, name)


if __name__ == "__main__":
    main()

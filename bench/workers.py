"""Hold throughput as worker processes go from 1 to 4, holds spread over many lanes.

python -m bench.workers [--duration 6]
"""

import argparse
import asyncio

from bench.holds import _slots, platform_env, tokens
from bench.load import drive
from bench.services import migrated
from tests.support.platform import Platform

LANES = 200


def run(duration: float = 6, connections: int = 64) -> dict:
    results: dict = {}
    with migrated() as services:
        # 200 lanes are more slots than a visitor is shown: this measures the workers.
        env = {**platform_env(services), "EXPOSURE_ENFORCED": "false"}
        visitors = tokens()
        for processes in (1, 2, 3, 4):
            slots = asyncio.run(_slots(services.database_url, LANES, 1000))
            with Platform(env=dict(env), worker_processes=processes, worker_threads=8) as platform:
                platform.start("web", "worker")
                figures = drive(
                    platform.base_url, "platform", slots, visitors, f"w{processes}", duration,
                    connections,
                ).require_holds()  # fmt: skip
            results[f"workers_{processes}"] = figures.as_dict()
            print(figures.line(f"{processes} worker process(es)"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=6)
    run(parser.parse_args().duration)


if __name__ == "__main__":
    main()

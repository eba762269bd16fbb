"""Run every benchmark scenario in one go: `make bench` (`python -m bench`).

    python -m bench [--duration 8] [--quick]

Each scenario is a module under `bench/` exposing `run(duration: float) -> dict` of named
figures (ratios measured in the same run, p50/p95/p99). A scenario whose module is missing
or has no `run` is skipped, so the runner works while scenarios are still being written.
Prints a table and writes `bench/results.json` and `bench/results.png`.
"""

import argparse
import importlib
import json
from pathlib import Path

SCENARIOS = (
    "holds",
    "ceiling",
    "exposure",
    "generation",
    "expiry",
    "waitlist",
    "workers",
    "reminders",
    "webhooks",
)
HERE = Path(__file__).parent


def _scenario(name: str):
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return None
        raise
    return getattr(module, "run", None)


def _flatten(prefix: str, value: object, into: dict[str, float]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, into)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        into[prefix] = float(value)


def _chart(figures: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(figures)
    fig, ax = plt.subplots(figsize=(10, max(3, 0.3 * len(names))))
    ax.barh(names, [figures[n] for n in names])
    ax.invert_yaxis()
    ax.set_xscale("symlog")
    ax.set_title("General Scheduler bench (same-run figures)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--quick", action="store_true", help="2 s per scenario, for checks")
    args = parser.parse_args()
    duration = 2.0 if args.quick else args.duration

    results: dict[str, dict] = {}
    for name in SCENARIOS:
        run = _scenario(name)
        if run is None:
            print(f"skip {name}: no bench/{name}.py with run()")
            continue
        print(f"run {name} ({duration:g} s)", flush=True)
        results[name] = run(duration)

    flat: dict[str, float] = {}
    for name, figures in results.items():
        _flatten(name, figures, flat)
    width = max((len(n) for n in flat), default=10)
    for name, value in flat.items():
        print(f"{name:<{width}}  {value:>12.2f}")
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    if flat:
        _chart(flat, HERE / "results.png")


if __name__ == "__main__":
    main()

"""Overhead of the in-loop progress bar (``run(..., progress=True)``).

    python benchmarks/progress_overhead.py [--repeats 5]

Times ``run_seeds`` on the shipped NAS-Bench-201 table with and without the progress
callback (an enabled bar drawing to stderr, throttled to 2 redraws a second), each
compiled beforehand, alternating the two; prints the median times, the overhead in %,
the host calls the loop made per run and the machine load. Checks that both give the
same results.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import numpy as np

from nasjax import _progress, data, search, spaces

CONFIGS = (  # (strategy, seeds, queries, objective): runs of ~0.1 s to a few s
    ("rea", 100, 100, "cifar100/valid_acc"),
    ("random", 1000, 1000, "cifar100/valid_acc"),
    ("rea", 1000, 300, "cifar100/valid_acc"),
    ("nsga2", 300, 1000, ("cifar100/valid_acc", "cifar10/edgegpu_latency")),
)


class CountingBar(_progress.Bar):
    """Counts the host calls the compiled loop makes."""

    calls = 0

    def update(self, done, rounds):
        self.calls += 1
        return super().update(done, rounds)


def host_call_seconds(steps: int = 2000) -> float:
    """Seconds one ``_progress.tick`` host call adds to a compiled loop (no bar)."""
    import jax.numpy as jnp

    def loop(report: bool):
        def body(_, count):
            extra = jnp.minimum(_progress.tick(count, count), 0) if report else 0
            return count + 1 + extra

        return jax.jit(lambda: jax.lax.fori_loop(0, steps, body, jnp.int32(0)))

    seconds = {}
    for report in (False, True):
        compiled = loop(report)
        compiled().block_until_ready()
        start = time.perf_counter()
        compiled().block_until_ready()
        seconds[report] = time.perf_counter() - start
    return (seconds[True] - seconds[False]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.pop("NASJAX_DATA", None)
    table = data.load_table("nb201")
    space = spaces.nb201()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__}, load before: {os.getloadavg()}"
    )
    print(
        f"{'config':<34} {'off (s)':>9} {'on (s)':>9} {'overhead':>9} "
        f"{'host calls/run':>15}"
    )
    most_calls = 0.0
    for name, seeds, queries, objective in CONFIGS:
        strategy = search.get(name)(space)
        keys = jax.random.split(jax.random.key(0), seeds)

        def call(
            progress, strategy=strategy, keys=keys, queries=queries, objective=objective
        ):
            result = search.run_seeds(
                strategy, table, keys, queries, objective=objective, progress=progress
            )
            return jax.block_until_ready(result)

        times = {False: [], True: []}
        bar = CountingBar(seeds * queries, "benchmark")
        with bar:
            outputs = {p: call(p) for p in (False, True)}  # compile both
            for _ in range(args.repeats):
                for progress in (False, True):
                    start = time.perf_counter()
                    call(progress)
                    times[progress].append(time.perf_counter() - start)
        for field in ("archs", "objective", "num_queries"):
            np.testing.assert_array_equal(
                getattr(outputs[False], field), getattr(outputs[True], field)
            )
        off, on = (statistics.median(times[p]) for p in (False, True))
        label = f"{name}, {seeds} seeds x {queries} queries"
        calls = bar.calls / (args.repeats + 1)
        most_calls = max(most_calls, calls)
        print(
            f"{label:<34} {off:9.3f} {on:9.3f} {100 * (on / off - 1):8.1f}% "
            f"{calls:15.1f}"
        )
    cost = host_call_seconds()
    print(
        f"one host call: {1e3 * cost:.3f} ms, so {1e3 * cost * most_calls:.2f} ms for "
        f"the {most_calls:.1f} calls of the run with the most"
    )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Seeds per second of the table-lookup strategies (random search, REA) on NB201.

Each configuration runs all its seeds in one jitted, vmapped call (``run_seeds``).
Compile time is reported apart; the run time is the median of ``--repeats`` calls
after one warm-up. Usage:

    NASJAX_DATA=../shared/data python benchmarks/search_throughput.py \
        [--seeds 1 10 100 1000] [--queries 100]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import jax

from nasjax import data, search, spaces


def measure(strategy, table, num_seeds, num_queries, objective, report, repeats):
    keys = jax.random.split(jax.random.key(0), num_seeds)

    def call():
        result = search.run_seeds(
            strategy, table, keys, num_queries, objective=objective, report=report
        )
        return jax.block_until_ready(result)

    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    run_time = statistics.median(times)
    return first - run_time, run_time, int(result.num_queries.min())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    args = parser.parse_args()

    space = spaces.nb201()
    objective, report = data.search_columns("nb201", args.dataset)
    table = data.load_table("nb201", args.data, require=(objective, report))
    device = jax.devices()[0]
    print(
        f"# {platform.processor() or platform.machine()}, {device.platform} "
        f"({device.device_kind}), jax {jax.__version__}; NB201 {args.dataset}, "
        f"{args.queries} unique queries per seed"
    )
    print("| strategy | seeds | compile (s) | run (s) | seeds/s | vs 1 seed |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("random", "rea"):
        strategy = search.get(name)(space)
        base = None
        for num_seeds in args.seeds:
            compile_s, run_s, queries = measure(
                strategy,
                table,
                num_seeds,
                args.queries,
                objective,
                report,
                args.repeats,
            )
            assert queries == args.queries, "a seed stopped before its budget"
            rate = num_seeds / run_s
            base = base or rate
            print(
                f"| {name} | {num_seeds} | {compile_s:.2f} | {run_s:.4f} | "
                f"{rate:,.0f} | {rate / base:.1f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

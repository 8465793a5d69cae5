"""Wall time of local search, BANANAS and NPENAS trials on NAS-Bench-201 (this CPU).

For each method: one trial (one seed) and ``--trials`` trials vmapped in one call, of
``--queries`` unique queries each, searching the cifar10-valid validation accuracy.
Each call is compiled ahead (its compile time is printed apart), then timed; the
load average is printed, since the machine may be shared. The issue's target:
100 BANANAS trials of 150 queries in one call::

    NASJAX_DATA=../shared/data python benchmarks/baselines_speed.py \\
        [--trials 100] [--queries 150] [--methods bananas,local-search,npenas]

Compare with naszilla's own trial time from ``benchmarks/naszilla_reference_time.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax

from nasjax import data, search


def timed_call(strategy, table, keys, queries: int, objective: str):
    """``(compile seconds, run seconds)`` of one vmapped call over ``keys``."""
    call = jax.jit(
        lambda table, keys: search.run_seeds(
            strategy, table, keys, queries, objective=objective
        )
    )
    start = time.perf_counter()
    compiled = call.lower(table, keys).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(compiled(table, keys).best_objective)
    return compile_seconds, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NASJAX_DATA"))
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--methods", default="bananas,local-search,npenas")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(search.REGISTRY))
    if unknown or args.trials < 1 or args.queries < 1:
        print(f"error: bad --methods/--trials/--queries {unknown}", file=sys.stderr)
        return 2
    try:
        table = data.load_table("nb201", args.data)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    objective, _ = data.search_columns("nb201", "cifar10")
    print(f"load before: {os.getloadavg()}", flush=True)
    for method in methods:
        strategy = search.get(method)(table.space)
        for trials in (1, args.trials):
            keys = jax.random.split(jax.random.key(1), trials)
            compile_seconds, seconds = timed_call(
                strategy, table, keys, args.queries, objective
            )
            print(
                f"{method}: {trials} trial(s) x {args.queries} queries in one call: "
                f"{seconds:.2f} s ({seconds / trials:.3f} s a trial; compiling "
                f"{compile_seconds:.1f} s apart); load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale of the table-lookup strategies: seeds/s, vmap vs a loop, devices, hypervolume.

Four measurements on NAS-Bench-201 (single-objective: ``cifar100/valid_acc``;
multi-objective: ``cifar10-valid/valid_acc`` and ``cifar10/edgegpu_latency``):

1. seeds per second of random search, REA, NSGA-II and MO-REA against the number of
   seeds, all seeds vmapped in one jitted call;
2. 1,000 vmapped seeds (``run_seeds``) against two Python loops over the same seeds:
   one calling the jitted round (ask, table lookup, tell) round after round, one
   calling the whole jitted search (``nasjax.run``) seed after seed;
3. the sweep's sharded path (``nasjax.search.run_sharded``) on 1 and 8 forced host
   devices (``XLA_FLAGS=--xla_force_host_platform_device_count=8``, in a subprocess);
4. exact hypervolume of 10,000 random points in 2-D and 3-D.

Compile time is apart; times are the median of ``--repeats`` calls after a warm-up.

    NASJAX_DATA=../shared/data python benchmarks/multi_objective_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from nasjax import data, pareto, search, spaces

SINGLE = ("cifar100/valid_acc",)
MULTI = ("cifar10-valid/valid_acc", "cifar10/edgegpu_latency")


def timed(call, repeats):
    """``(compile + first call - median, median)`` seconds of ``call``."""
    start = time.perf_counter()
    jax.block_until_ready(call())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return first - median, median


def strategies(space):
    return {
        "random": (search.random_search(space), SINGLE[0]),
        "rea": (search.regularized_evolution(space), SINGLE[0]),
        "nsga2": (search.nsga2(space), MULTI),
        "mo-rea": (search.multi_objective_evolution(space), MULTI),
    }


def seeds_per_second(table, space, seed_counts, queries, repeats):
    print(f"\n## 1. Seeds per second, {queries} unique queries per seed\n")
    print("| strategy | seeds | compile (s) | run (s) | seeds/s |")
    print("|---|---:|---:|---:|---:|")
    for name, (strategy, objective) in strategies(space).items():
        for num_seeds in seed_counts:
            keys = jax.random.split(jax.random.key(0), num_seeds)

            def call(strategy=strategy, objective=objective, keys=keys):
                return search.run_seeds(
                    strategy, table, keys, queries, objective=objective
                )

            compile_s, run_s = timed(call, repeats if num_seeds < 10_000 else 1)
            print(
                f"| {name} | {num_seeds:,} | {compile_s:.2f} | {run_s:.4f} | "
                f"{num_seeds / run_s:,.0f} |",
                flush=True,
            )


def round_function(strategy, objective):
    """One jitted ask -> table lookup -> tell round (no budget bookkeeping)."""
    columns = (objective,) if isinstance(objective, str) else objective
    signs = jnp.asarray(pareto.minimisation_signs(columns))

    @jax.jit
    def one_round(table, state, key):
        archs, state = strategy.ask(key, state)
        fitness = table.query_many(archs, columns) * signs
        return strategy.tell(
            state, archs, fitness[:, 0] if len(columns) == 1 else fitness
        )

    return one_round


def vmap_against_loop(table, space, num_seeds, queries):
    print(f"\n## 2. {num_seeds:,} vmapped seeds against Python loops over seeds\n")
    print(
        "| strategy | rounds/seed | loop of jitted rounds (s) "
        "| loop of jitted runs (s) | vmapped (s) | speed-up vs rounds | vs runs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    keys = jax.random.split(jax.random.key(0), num_seeds)
    for name, (strategy, objective) in strategies(space).items():

        def vmapped(strategy=strategy, objective=objective):
            return search.run_seeds(strategy, table, keys, queries, objective=objective)

        _, vmap_s = timed(vmapped, 3)
        rounds = int(np.median(vmapped().num_steps))
        one_round = round_function(strategy, objective)
        jax.block_until_ready(one_round(table, strategy.init(keys[0]), keys[0]))
        start = time.perf_counter()
        for key in keys:
            state = strategy.init(key)
            for round_key in jax.random.split(key, rounds):
                state = one_round(table, state, round_key)
        jax.block_until_ready(state)
        rounds_s = time.perf_counter() - start
        search.run(strategy, table, keys[0], queries, objective=objective)  # compile
        start = time.perf_counter()
        for key in keys:
            result = search.run(strategy, table, key, queries, objective=objective)
        jax.block_until_ready(result)
        runs_s = time.perf_counter() - start
        print(
            f"| {name} | {rounds} | {rounds_s:.2f} | {runs_s:.2f} | {vmap_s:.3f} | "
            f"{rounds_s / vmap_s:.0f}x | {runs_s / vmap_s:.1f}x |",
            flush=True,
        )


def sharded(args):
    """Child process: time ``run_sharded`` on every visible device; print JSON."""
    space = spaces.nb201()
    table = data.load_table("nb201", args.data)
    strategy = search.regularized_evolution(space)
    keys = jax.random.split(jax.random.key(0), args.sharded_seeds)
    mesh = search.seed_mesh()
    compile_s, run_s = timed(
        lambda: search.run_sharded(
            strategy, table, keys, args.queries, objective=SINGLE[0], mesh=mesh
        ),
        args.repeats,
    )
    print(json.dumps({"devices": mesh.size, "compile": compile_s, "run": run_s}))


def device_scaling(args):
    print(
        f"\n## 3. REA, {args.sharded_seeds:,} seeds sharded over forced host devices\n"
    )
    print("| devices | compile (s) | run (s) | seeds/s |")
    print("|---:|---:|---:|---:|")
    for count in (1, 8):
        env = dict(
            os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}"
        )
        command = [
            sys.executable,
            __file__,
            "--child-sharded",
            "--queries",
            str(args.queries),
            "--sharded-seeds",
            str(args.sharded_seeds),
            "--repeats",
            str(args.repeats),
        ]
        if args.data:
            command += ["--data", args.data]
        output = subprocess.run(
            command, env=env, capture_output=True, text=True, check=True
        )
        figures = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"| {figures['devices']} | {figures['compile']:.2f} | "
            f"{figures['run']:.4f} | "
            f"{args.sharded_seeds / figures['run']:,.0f} |",
            flush=True,
        )


def hypervolume_of_many(num_points, repeats):
    print(f"\n## 4. Exact hypervolume of {num_points:,} random points\n")
    print("| objectives | compile (s) | run (s) |")
    print("|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for dims in (2, 3):
        points = jnp.asarray(rng.uniform(0, 1, (num_points, dims)), jnp.float32)
        valid = jnp.ones(num_points, bool)
        function = jax.jit(pareto.hypervolume)

        def call(points=points, function=function, valid=valid):
            return function(points, jnp.ones(points.shape[1]), valid)

        compile_s, run_s = timed(call, repeats)
        print(f"| {dims} | {compile_s:.2f} | {run_s:.4f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 10, 100, 1000, 10_000]
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--loop-seeds", type=int, default=1000)
    parser.add_argument("--sharded-seeds", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument("--child-sharded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sharded:
        return sharded(args)

    space = spaces.nb201()
    table = data.load_table("nb201", args.data, require=SINGLE + MULTI)
    device = jax.devices()[0]
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, {device.platform} "
        f"({device.device_kind}), jax {jax.__version__}"
    )
    seeds_per_second(table, space, args.seeds, args.queries, args.repeats)
    vmap_against_loop(table, space, args.loop_seeds, args.queries)
    device_scaling(args)
    hypervolume_of_many(args.points, args.repeats)


if __name__ == "__main__":
    main()

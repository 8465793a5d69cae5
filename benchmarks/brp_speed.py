"""Speed of BRP-NAS in nasjax: a search trial (faithful and fast), vmapped seeds, and
ranking all 15,625 NAS-Bench-201 cells.

Usage::

    NASJAX_DATA=../shared/data python benchmarks/brp_speed.py \
        [--faithful-rounds 2] [--fast-seeds 1 16] [--skip-faithful]

Every timing excludes compilation (reported apart: the first call minus a second one
is not affordable for a 30-minute trial, so programs are lowered and compiled ahead
with ``jit(...).lower(...).compile()``). A faithful trial on a 2-core CPU takes hours,
so ``--faithful-rounds K`` times its first ``K`` rounds (the reference's figure is
for rounds 0-2) and prints the optimizer steps and graph passes they hold. The fast
trial runs the whole schedule, including the last round's training. Peak memory is
the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import jax
import numpy as np

from nasjax import data, metrics, search, spaces, surrogates
from nasjax.search.brp import BRPSettings


def schedule_work(settings, rounds: int) -> tuple[int, int]:
    """Optimizer steps and GCN graph passes of the first ``rounds`` rounds, faithful
    mode, without early stopping (an upper bound; patience-35 stops rarely trigger
    before the last epochs)."""
    steps = passes = 0
    per_round = settings.per_round
    for i in range(rounds):
        epochs, batch = settings.round_schedule(i)
        models = per_round * (i + 1)
        pairs = models * (models - 1)
        round_steps = epochs * -(-pairs // batch)
        steps += round_steps
        passes += epochs * pairs * 2  # two GCN passes a pair
    return steps, passes


def compiled_run(strategy, table, keys, queries, objective, report):
    """The jitted, vmapped search compiled ahead; returns ``(callable, seconds)``."""

    def trial(keys):
        return search.run_seeds(
            strategy, table, keys, queries, objective=objective, report=report
        )

    start = time.perf_counter()
    compiled = jax.jit(trial).lower(keys).compile()
    return compiled, time.perf_counter() - start


def timed(call, *args):
    start = time.perf_counter()
    result = jax.block_until_ready(call(*args))
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--faithful-rounds", type=int, default=2)
    parser.add_argument("--skip-faithful", action="store_true")
    parser.add_argument("--fast-seeds", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    args = parser.parse_args()

    space = spaces.nb201()
    objective, report = data.search_columns("nb201", args.dataset)
    table = data.load_table("nb201", args.data, require=(objective, report))
    device = jax.devices()[0]
    print(
        f"# {platform.processor() or platform.machine()} x{os.cpu_count()}, "
        f"{device.platform} ({device.device_kind}), jax {jax.__version__}; NB201 "
        f"{args.dataset}; load average at start {os.getloadavg()[0]:.1f}"
    )

    if not args.skip_faithful:
        rounds = args.faithful_rounds
        strategy = search.brp(space, mode="faithful")
        settings = BRPSettings(mode="faithful")
        steps, passes = schedule_work(settings, rounds)
        total_steps, total_passes = schedule_work(settings, settings.iterations)
        keys = jax.random.split(jax.random.key(0), 1)
        call, compile_s = compiled_run(
            strategy, table, keys, settings.per_round * rounds, objective, report
        )
        _, run_s = timed(call, keys)
        print(
            f"faithful: rounds 0-{rounds - 1} ({steps:,} optimizer steps, "
            f"{passes / 1e6:.2f} M graph passes) in {run_s:.1f} s after a "
            f"{compile_s:.1f} s compile: {1e3 * run_s / passes:.3f} ms a graph pass"
        )
        print(
            f"faithful: the whole schedule is {total_steps:,} steps and "
            f"{total_passes / 1e6:.2f} M graph passes: about "
            f"{run_s * total_passes / passes / 60:.0f} min at that rate"
        )

    final_state = None
    for num_seeds in args.fast_seeds:
        strategy = search.brp(space, mode="fast")
        keys = jax.random.split(jax.random.key(0), num_seeds)
        call, compile_s = compiled_run(strategy, table, keys, 100, objective, report)
        result, run_s = timed(call, keys)
        best = np.asarray(result.best_objective_report[:, -1])
        print(
            f"fast: {num_seeds} seed(s), whole schedule with the final training, "
            f"{run_s:.1f} s after a {compile_s:.1f} s compile "
            f"({run_s / num_seeds:.1f} s a trial); test of best valid "
            f"{best.mean():.2f}"
        )
        final_state = jax.tree.map(lambda x: x[0], result.state)

    # Ranking every cell with the last trained predictor.
    model = surrogates.Predictor(head="binary")
    archs = np.asarray(space.enumerate())
    inputs = jax.jit(lambda a: surrogates.graph_inputs(space, a))(archs)
    params = final_state.params

    @jax.jit
    def rank(params, adjacency, features):
        return surrogates.scores(params, model.apply(params, adjacency, features))

    jax.block_until_ready(rank(params, *inputs))
    times = []
    for _ in range(5):
        score, seconds = timed(rank, params, *inputs)
        times.append(seconds)
    embeddings = jax.jit(model.apply)(params, *inputs)
    start = time.perf_counter()
    position = surrogates.comparator_ranking(params, embeddings)
    sort_s = time.perf_counter() - start
    tau = metrics.kendall_tau(np.asarray(score), position.astype(np.float32))
    print(
        f"ranking all {len(archs):,} cells: {1e3 * np.median(times):.1f} ms (embed + "
        f"score, jitted); the reference's comparator sort {sort_s:.2f} s on the host "
        f"on top of the same embeddings; Kendall tau between the two orders {tau:.4f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory {peak:.2f} GiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Speed of few-shot latency prediction (nasjax.fewshot) on this machine.

Usage::

    python benchmarks/fewshot_speed.py [--data DIR] [--repeats 20]

Prints, for NAS-Bench-201 and FBNet: pre-training the prior on every latency column
of the table; adapting to one device from 10 samples (compile, then per call);
adapting 100 devices x 10 seeds in one vmapped call; predicting the whole NAS-Bench-201
space (15,625 cells) or 100,000 random FBNet architectures; choosing 10 architectures
to measure. Times are medians over ``--repeats`` calls after one warm-up call, with
``block_until_ready``; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from nasjax import data, fewshot, spaces


def _time(fn, repeats: int) -> tuple[float, float]:
    """(first call incl. compile, median of the next ``repeats``) in seconds."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def bench(space_name: str, data_dir, repeats: int) -> None:
    space = {"nb201": spaces.nb201(), "fbnet": spaces.fbnet()}[space_name]
    table = data.load_table(space_name, data_dir)
    columns = fewshot.latency_columns(table)
    archs = np.asarray(table.archs)
    start = time.perf_counter()
    prior = jax.block_until_ready(fewshot.table_prior(space, table, columns))
    pretrain_s = time.perf_counter() - start
    target = np.asarray(table.query(jnp.asarray(archs), columns[0]))
    known = np.flatnonzero(np.isfinite(target))
    rng = np.random.default_rng(0)
    rows = rng.choice(known, 10, replace=False)
    first, per_call = _time(
        lambda: fewshot.adapt(prior, space, archs[rows], target[rows]), repeats
    )
    many = jnp.asarray(rng.choice(known, (1000, 10)))
    archs_j, target_j = jnp.asarray(archs), jnp.asarray(target)
    batched = jax.jit(
        jax.vmap(lambda r: fewshot.adapt(prior, space, archs_j[r], target_j[r]))
    )
    first_many, per_many = _time(lambda: batched(many), max(repeats // 4, 3))
    adapted = fewshot.adapt(prior, space, archs[rows], target[rows])
    if space_name == "nb201":
        every = jnp.asarray(space.enumerate())
    else:
        every = space.sample(jax.random.key(0), 100_000)
    predict = jax.jit(lambda a: fewshot.predict(adapted, space, a))
    first_predict, per_predict = _time(lambda: predict(every), repeats)
    first_select, per_select = _time(
        lambda: fewshot.select(prior, space, jnp.asarray(archs), 10), 3
    )
    print(f"## {space_name}: {len(columns)} latency columns, {len(archs)} rows")
    print(f"pre-train the prior (host + jit, incl. compile): {pretrain_s:.2f} s")
    print(
        f"adapt one device, K=10: compile+first {first:.2f} s, "
        f"then {per_call * 1e3:.2f} ms"
    )
    print(
        "adapt 1,000 (device, seed) pairs in one vmapped call: "
        f"first {first_many:.2f} s, "
        f"then {per_many:.3f} s ({per_many / 1000 * 1e3:.3f} ms each, "
        f"{per_call / (per_many / 1000):.0f}x the single call)"
    )
    print(
        f"predict {every.shape[0]:,} archs: first {first_predict:.2f} s, then "
        f"{per_predict * 1e3:.2f} ms"
    )
    print(
        f"select 10 of {len(archs):,}: first {first_select:.2f} s, then "
        f"{per_select * 1e3:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (default: embedded)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if not 1 <= args.repeats <= 10_000:
        parser.error("--repeats must be an integer from 1 to 10000")
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} cores")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for space_name in ("nb201", "fbnet"):
        bench(space_name, args.data, args.repeats)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Milliseconds per retraining step of AG-Net (one ``tell``), by decoder.

A trial's time is almost all retraining (``ticks x ceil(N / 16)`` steps of 16 graphs
after every round), so this times that loop alone: one jitted ``tell`` on a state
holding ``--models`` queried models (``30 x ceil(models / 16)`` steps), vmapped over
one seed as ``run_seeds`` runs it; compiled ahead, then the median and minimum of
``--repeats`` timed calls. No data folder is needed (random cells and fitness). Usage::

    python benchmarks/agnet_step.py [--decoders gnn oneshot] [--models 160]
        [--repeats 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp

from nasjax import search, spaces
from nasjax.encodings import adapter


def timed_tell(decoder: str, num_models: int, repeats: int) -> dict:
    """Compile and run one AG-Net ``tell`` that records 16 models on top of
    ``num_models - 16`` and retrains; returns its figures."""
    space = spaces.nb201()
    strategy = search.agnet(space, decoder=decoder, pretrain_steps=0)
    params, batch = strategy.params, strategy.batch_size
    stored = num_models - batch
    archs = space.sample(jax.random.key(1), stored)
    fitness = -90.0 * jax.random.uniform(jax.random.key(2), (stored, 1))
    state = strategy.init_fn(jax.random.key(0), params)
    state = state._replace(
        archs=state.archs.at[:stored].set(archs),
        ids=state.ids.at[:stored].set(adapter(space).ids(archs)),
        fitness=state.fitness.at[:stored].set(fitness),
        count=jnp.int32(stored),
        round=jnp.int32(stored // batch),
    )
    new = space.sample(jax.random.key(3), batch)
    new_fitness = -90.0 * jax.random.uniform(jax.random.key(4), (batch,))
    args = jax.tree.map(lambda x: x[None], (state, new, new_fitness))
    tell = jax.vmap(lambda s, a, f: strategy.tell_fn(s, a, f, params))
    start = time.perf_counter()
    compiled = jax.jit(tell).lower(*args).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(*args))
    steps = strategy.settings.ticks * -(
        -num_models // strategy.settings.train_batch_size
    )
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append((time.perf_counter() - start) / steps * 1e3)
    return {
        "steps": steps,
        "compile_s": compile_s,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoders", nargs="+", default=["gnn", "oneshot"])
    parser.add_argument("--models", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args(argv)
    if args.models < 32 or args.models > 320 or args.repeats < 1:
        print("error: --models must be in [32, 320], --repeats >= 1", file=sys.stderr)
        return 2
    if not set(args.decoders) <= {"gnn", "oneshot"}:
        print("error: --decoders takes gnn and/or oneshot", file=sys.stderr)
        return 2
    device = jax.devices()[0]
    print(
        f"# {device.platform} ({device.device_kind}); AG-Net tell, {args.models} models"
    )
    print("| decoder | steps | compile (s) | ms / step (median) | ms / step (min) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for decoder in args.decoders:
        f = timed_tell(decoder, args.models, args.repeats)
        print(
            f"| {decoder} | {f['steps']} | {f['compile_s']:.1f} | "
            f"{f['median_ms']:.3f} | {f['min_ms']:.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

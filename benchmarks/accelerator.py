"""Every figure the earlier issues asked of an accelerator in one run, and a projection.

Measure (the default), on JAX's default backend (a GPU or TPU when there is one):

1. ``brp_trial``: one faithful BRP-NAS trial (NB201 CIFAR-100, 100 queries, rounds 0-3
   trained, as ``experiments/brpnas.py``), its compile timed apart;
2. ``brp_seeds``: 100 BRP-NAS trials (fast mode) in one vmapped call;
3. ``ranking``: embedding and scoring all 15,625 NB201 cells with the GCN (median of 5
   calls, after one);
4. ``agnet``: 100 AG-Net trials (GNN decoder, CIFAR-10, 320 queries) in one call, the
   generator's shared pretraining apart;
5. ``nsga2``: 10,000 NSGA-II seeds x 1,000 unique queries (CIFAR-10 accuracy x edge-GPU
   latency) in one call;
6. ``measure``: ``nasjax measure`` on this backend for a random sample of cells (a
   subprocess, as a user runs it).

It writes ``accelerator.json`` (the device: ``jax.devices()``, backend, versions; every
figure) and ``accelerator.md`` (a table) under ``--out``, each atomically. ``--tiny``
runs the same programs at sizes a CPU does in seconds (the test does). ``--seed-chunk
N`` runs the vmapped seeds N at a time inside one call (``lax.map``), bounding memory.
``--matmul-precision`` sets ``jax.default_matmul_precision`` (default: JAX's own).

``--project`` runs nothing: it lowers the programs at their full sizes on
``jax.ShapeDtypeStruct`` inputs, compiles them for this (CPU) backend, and reads XLA's
``cost_analysis()`` (FLOPs, bytes accessed) and ``memory_analysis()`` (arguments +
outputs + temporaries - aliased = peak). XLA counts the body of a loop once, whatever
its trip count, so a search's totals are built from loop bodies compiled alone, times
the trip counts of the schedule (see :func:`projection_terms`); where a body still holds
a loop (AG-Net's decoder scans, NSGA-II's front peeling) the total is a lower bound.
Times are roofline estimates at an H100 SXM's published peaks: ``max(FLOPs / peak,
bytes / bandwidth)``, every FLOP at the named precision's peak (optimistic: only matmuls
run on tensor cores). Writes ``projection.json`` and ``projection.md``.

Usage::

    python benchmarks/accelerator.py [--tiny] [--out DIR] [--data DIR]
        [--only brp_trial ranking ...] [--seed-chunk N] [--project]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nasjax import data, search, spaces, surrogates
from nasjax.io import dumps_json, write_atomic
from nasjax.search.brp import BRPSettings

# NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column
# (https://www.nvidia.com/en-us/data-center/h100/, datasheet PDF, 2023): FP32 67
# teraFLOPS; TF32 Tensor Core 989 teraFLOPS and BF16 Tensor Core 1,979 teraFLOPS, both
# "with sparsity" (footnote), so dense is half; GPU memory 80 GB; GPU memory bandwidth
# 3.35 TB/s.
H100_FP32_FLOPS = 67e12
H100_TF32_DENSE_FLOPS = 989e12 / 2
H100_BF16_DENSE_FLOPS = 1979e12 / 2
H100_HBM_BYTES_PER_S = 3.35e12
H100_MEMORY_BYTES = 80e9
PEAKS = {
    "fp32": H100_FP32_FLOPS,
    "tf32": H100_TF32_DENSE_FLOPS,
    "bf16": H100_BF16_DENSE_FLOPS,
}

WORKLOADS = ("brp_trial", "brp_seeds", "ranking", "agnet", "nsga2", "measure")
NSGA2_COLUMNS = ("cifar10-valid/valid_acc", "cifar10/edgegpu_latency")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Workload sizes (:data:`FULL`: the issues'; :data:`TINY`: a test's)."""

    brp: dict  # options of search.brp besides mode
    brp_seeds: int
    agnet: dict  # options of search.agnet
    agnet_queries: int
    agnet_trials: int
    nsga2_seeds: int
    nsga2_queries: int
    measure: tuple[int, int, int]  # cells, warm-up runs, timed runs
    ranking_repeats: int = 5


FULL = Sizes(
    brp=dict(budget=100),
    brp_seeds=100,
    agnet=dict(decoder="gnn", max_queries=320),
    agnet_queries=320,
    agnet_trials=100,
    nsga2_seeds=10_000,
    nsga2_queries=1_000,
    measure=(20, 3, 30),
)
TINY = Sizes(
    brp=dict(budget=10, hidden=8, epochs=5, batch_pairs=5),
    brp_seeds=2,
    agnet=dict(
        decoder="gnn",
        max_queries=8,
        batch_size=4,
        train_batch_size=4,
        num_candidates=8,
        num_ranked=4,
        max_chunks=1,
        ticks=1,
        latent_dim=4,
        node_dim=4,
        hidden=8,
        pretrain_steps=1,
    ),
    agnet_queries=8,
    agnet_trials=2,
    nsga2_seeds=4,
    nsga2_queries=40,
    measure=(1, 1, 2),
    ranking_repeats=2,
)


# ----------------------------------------------------------------------- device
def device_record() -> dict:
    """The backend, its devices and the versions that produced the figures."""
    versions = {"python": platform.python_version()}
    for package in ("jax", "jaxlib", "flax", "optax", "nasjax"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "backend": jax.default_backend(),
        "devices": [repr(d) for d in jax.devices()],
        "device_kind": jax.devices()[0].device_kind,
        "process_count": jax.process_count(),
        "host": f"{platform.machine()} x{os.cpu_count()}",
        "load_average": list(os.getloadavg()),
        "versions": versions,
    }


def device_peak_mib() -> float | None:
    """The default device's peak memory so far (MiB), where the backend tells it."""
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


# ---------------------------------------------------------------------- running
def seeds_call(strategy, table, keys, queries, seed_chunk, **options):
    """``run_seeds``; with ``seed_chunk``, the seeds that many at a time (one call)."""
    if not seed_chunk or seed_chunk >= keys.shape[0]:
        return search.run_seeds(strategy, table, keys, queries, **options)
    return jax.lax.map(  # no final states: lax.map fails on their empty arrays
        lambda key: search.run(strategy, table, key, queries, **options)._replace(
            state=None
        ),
        keys,
        batch_size=seed_chunk,
    )


def compile_and_run(function, *args):
    """``(output, compile seconds, run seconds)`` of ``jit(function)(*args)``."""
    start = time.perf_counter()
    compiled = jax.jit(function).lower(*args).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    output = jax.block_until_ready(compiled(*args))
    return output, compile_s, time.perf_counter() - start


def keys_of(count: int):
    return jax.random.split(jax.random.key(0), count)


def run_search(name, strategy, table, count, queries, seed_chunk, columns) -> dict:
    objective, report = columns
    keys = keys_of(count)
    result, compile_s, run_s = compile_and_run(
        lambda table, keys: seeds_call(
            strategy,
            table,
            keys,
            queries,
            seed_chunk,
            objective=objective,
            report=report,
        ),
        table,
        keys,
    )
    figures = {
        "seeds": count,
        "queries": queries,
        "compile_s": compile_s,
        "run_s": run_s,
        "seeds_per_s": count / run_s,
        "min_queries_made": int(np.min(result.num_queries)),
        "report_of_best_mean": float(np.nanmean(result.best_objective_report[:, -1])),
    }
    print(f"{name}: {count} seed(s) in {run_s:.2f} s (+{compile_s:.2f} s compile)")
    return figures, result


def brp_trial(context) -> dict:
    sizes, table = context["sizes"], context["table"]
    strategy = search.brp(
        context["space"], mode="faithful", fit_final=False, **sizes.brp
    )
    figures, result = run_search(
        "brp_trial",
        strategy,
        table,
        1,
        sizes.brp["budget"],
        None,
        context["brp_columns"],
    )
    context["brp_params"] = jax.tree.map(lambda x: x[0], result.state.params)
    return figures


def brp_seeds(context) -> dict:
    sizes = context["sizes"]
    strategy = search.brp(context["space"], mode="fast", fit_final=False, **sizes.brp)
    figures, _ = run_search(
        "brp_seeds",
        strategy,
        context["table"],
        sizes.brp_seeds,
        sizes.brp["budget"],
        context["seed_chunk"],
        context["brp_columns"],
    )
    return {"mode": "fast", **figures}


def ranking_program(settings: BRPSettings, dtype=jnp.float32):
    """``(rank, model)``: scores ``[C]`` of candidates from the binary-head GCN."""
    model = surrogates.Predictor(
        head="binary",
        hidden=settings.hidden,
        num_layers=settings.num_layers,
        dropout=settings.dropout,
        dtype=dtype,
    )

    def rank(params, adjacency, features):
        return surrogates.scores(params, model.apply(params, adjacency, features))

    return rank, model


def ranking(context) -> dict:
    sizes, space = context["sizes"], context["space"]
    settings = BRPSettings(mode="faithful", **sizes.brp)
    rank, model = ranking_program(settings)
    inputs = jax.jit(lambda a: surrogates.graph_inputs(space, a))(space.enumerate())
    params = context.get("brp_params")
    if params is None:
        params = surrogates.init_params(
            model, jax.random.key(0), *(x[:1] for x in inputs)
        )
    _, compile_s, first_s = compile_and_run(rank, params, *inputs)
    compiled = jax.jit(rank)
    times = []
    for _ in range(sizes.ranking_repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(params, *inputs))
        times.append(time.perf_counter() - start)
    median_ms = 1e3 * statistics.median(times)
    print(f"ranking: {inputs[0].shape[0]:,} cells in {median_ms:.2f} ms")
    return {
        "cells": int(inputs[0].shape[0]),
        "compile_s": compile_s,
        "first_call_s": first_s,
        "median_ms": median_ms,
    }


def agnet(context) -> dict:
    sizes = context["sizes"]
    start = time.perf_counter()
    strategy = search.agnet(context["space"], **sizes.agnet)
    pretrain_s = time.perf_counter() - start
    figures, _ = run_search(
        "agnet",
        strategy,
        context["table"],
        sizes.agnet_trials,
        sizes.agnet_queries,
        context["seed_chunk"],
        data.search_columns("nb201", "cifar10"),
    )
    return {"decoder": sizes.agnet["decoder"], "pretrain_s": pretrain_s, **figures}


def nsga2(context) -> dict:
    sizes = context["sizes"]
    figures, result = run_search(
        "nsga2", search.nsga2(context["space"]), context["table"], sizes.nsga2_seeds,
        sizes.nsga2_queries, context["seed_chunk"], (NSGA2_COLUMNS, None),
    )  # fmt: skip
    return {**figures, "median_rounds": float(np.median(result.num_steps))}


def measure(context) -> dict:
    cells, warmup, repeats = context["sizes"].measure
    path = context["out"] / "measure.parquet"
    command = [
        sys.executable, "-m", "nasjax.cli", "measure", "--sample", str(cells),
        "--seed", "0", "--warmup", str(warmup), "--repeats", str(repeats),
        "--device", jax.default_backend(), "--out", str(path), "--json",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"nasjax measure failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    import pandas as pd

    latency = pd.read_parquet(path)["latency_ms"].to_numpy()
    print(f"measure: {cells} cell(s) in {wall_s:.1f} s")
    return {
        "cells": cells,
        "warmup": warmup,
        "repeats": repeats,
        "wall_s": wall_s,
        "mean_compile_s": report["mean_compile_s"],
        "mean_measure_s": report["mean_measure_s"],
        "median_latency_ms": float(np.median(latency)),
        "median_cv": report["median_cv"],
        "setup": report["setup"],
    }


RUNNERS = {
    "brp_trial": brp_trial,
    "brp_seeds": brp_seeds,
    "ranking": ranking,
    "agnet": agnet,
    "nsga2": nsga2,
    "measure": measure,
}


def measurement_table(results: dict) -> str:
    lines = [
        "| workload | size | compile (s) | run (s) | per unit | figure |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, f in results.items():
        if "error" in f:
            lines.append(f"| {name} | | | | | failed: {f['error']} |")
        elif name == "ranking":
            lines.append(
                f"| ranking | {f['cells']:,} cells | {f['compile_s']:.2f} | "
                f"{f['median_ms'] / 1e3:.4f} | {f['median_ms']:.2f} ms a ranking | |"
            )
        elif name == "measure":
            lines.append(
                f"| measure | {f['cells']} cells, {f['repeats']} runs | "
                f"{f['mean_compile_s']:.2f} (mean) | {f['wall_s']:.1f} | "
                f"{f['mean_measure_s']:.3f} s a cell | median latency "
                f"{f['median_latency_ms']:.3f} ms |"
            )
        else:
            figure = (
                f"median rounds {f['median_rounds']:.0f}"
                if name == "nsga2"
                else f"report of best {f['report_of_best_mean']:.2f}"
            )
            lines.append(
                f"| {name} | {f['seeds']:,} seeds x {f['queries']:,} queries | "
                f"{f['compile_s']:.2f} | {f['run_s']:.2f} | "
                f"{f['run_s'] / f['seeds']:.3f} s a seed | {figure} |"
            )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- projection
def analysis(function, *args) -> dict:
    """XLA's cost and memory analysis of ``jit(function)`` compiled for ``args``."""
    compiled = jax.jit(function).lower(*args).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    memory = compiled.memory_analysis()
    peak = (
        memory.argument_size_in_bytes
        + memory.output_size_in_bytes
        + memory.temp_size_in_bytes
        - memory.alias_size_in_bytes
    )
    return {
        "flops": float(cost.get("flops", 0.0)),
        "bytes": float(cost.get("bytes accessed", 0.0)),
        "peak_bytes": float(peak),
    }


def key_specs(count: int):
    return jax.eval_shape(lambda: keys_of(count))


def brp_units(space, settings: BRPSettings, trained_rounds: int) -> list:
    """Loop-free pieces of a BRP trial and how often a trial runs each."""
    config = settings.fit_config()
    rank, model = ranking_program(settings)
    example = surrogates.graph_inputs(space, jnp.zeros((1, space.num_slots), jnp.int32))
    params = jax.eval_shape(
        lambda: surrogates.init_params(model, jax.random.key(0), *example)
    )
    faithful = config.pairing == "pairs"
    graphs = 2 * config.chunk if faithful else config.batch_size

    def inputs(count):
        archs = jax.ShapeDtypeStruct((count, space.num_slots), jnp.int32)
        return jax.eval_shape(lambda a: surrogates.graph_inputs(space, a), archs)

    def step_gradient(params, adjacency, features, key):
        def loss(params):
            embeddings = model.apply(
                params, adjacency, features, train=True, rngs={"dropout": key}
            )
            half = graphs // 2 if faithful else graphs
            first, second = embeddings[:half], embeddings[-half:]
            return -jnp.mean(
                jax.nn.log_sigmoid(surrogates.pair_margins(params, first, second))
            )

        return jax.grad(loss)(params)

    adamw = optax.adamw(1e-3)

    def adamw_update(params, grads, state):
        updates, state = adamw.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    gradients = steps = epochs_total = 0
    for i in range(trained_rounds):
        epochs, batch = settings.round_schedule(i)
        models = settings.per_round * (i + 1)
        if faithful:
            epoch_steps = -(-models * (models - 1) // batch)
            gradients += epochs * epoch_steps * -(-batch // config.chunk)
        else:
            epoch_steps = -(-models // batch)
            gradients += epochs * epoch_steps
        steps += epochs * epoch_steps
        epochs_total += epochs
    key = jax.eval_shape(lambda: jax.random.key(0))
    adamw_state = jax.eval_shape(adamw.init, params)
    candidates = inputs(space.size)
    units = [
        (f"gradient of {graphs} graphs", step_gradient, (params, *inputs(graphs), key),
         gradients),
        ("AdamW update", adamw_update, (params, params, adamw_state), steps),
        (f"ranking {space.size:,} cells", rank, (params, *candidates),
         settings.iterations),
    ]  # fmt: skip
    if config.monitor == "eval":
        budget_inputs = inputs(settings.budget)
        units.append(
            (f"eval of {settings.budget} models", rank, (params, *budget_inputs),
             epochs_total)
        )  # fmt: skip
    return units


def state_units(strategy, table, seeds: int, round_count, step_count):
    """The vmapped ``ask`` and ``tell`` of a strategy on their full-size state."""
    keys = key_specs(seeds)
    state = jax.eval_shape(jax.vmap(strategy.init), keys)
    archs = jax.ShapeDtypeStruct(
        (seeds, strategy.batch_size, table.space.num_slots), jnp.int32
    )
    shape = (seeds, strategy.batch_size) + (
        (strategy.num_objectives,) if strategy.num_objectives > 1 else ()
    )
    fitness = jax.ShapeDtypeStruct(shape, jnp.float32)
    ask = jax.vmap(strategy.ask)
    tell = jax.vmap(strategy.tell)
    return [
        ("ask (one decoded chunk)", ask, (keys, state), round_count),
        ("tell (one retraining step)", tell, (state, archs, fitness), step_count),
    ]


def whole_program(context, strategy, seeds, queries, objective, report=None):
    """The search as the measurement runs it: ``(function, (table, key specs))``."""
    return (
        lambda table, keys: seeds_call(
            strategy, table, keys, queries, context["seed_chunk"],
            objective=objective, report=report,
        ),
        (context["table"], key_specs(seeds)),
    )  # fmt: skip


def project_brp(context, mode: str, seeds: int):
    sizes, space = context["sizes"], context["space"]
    settings = BRPSettings(mode=mode, fit_final=False, **sizes.brp)
    strategy = search.brp(space, mode=mode, fit_final=False, **sizes.brp)
    units = [
        (unit, function, args, count * seeds)
        for unit, function, args, count in brp_units(
            space, settings, settings.iterations - 1
        )
    ]
    program = whole_program(
        context, strategy, seeds, settings.budget, *context["brp_columns"]
    )
    note = (
        f"{mode}; units x the schedule's counts (rounds 0-{settings.iterations - 2} "
        "trained, no early stop: an upper bound)"
    )
    return program, units, note


def project_ranking(context, dtype):
    space = context["space"]
    settings = BRPSettings(mode="faithful", **context["sizes"].brp)
    rank, model = ranking_program(settings, dtype)
    archs = jax.ShapeDtypeStruct((space.size, space.num_slots), jnp.int32)
    candidates = jax.eval_shape(lambda a: surrogates.graph_inputs(space, a), archs)
    params = jax.eval_shape(
        lambda: surrogates.init_params(
            model,
            jax.random.key(0),
            *surrogates.graph_inputs(space, jnp.zeros((1, space.num_slots), jnp.int32)),
        )
    )
    note = "loop-free: XLA's count is the total"
    if dtype != jnp.float32:
        note += "; GCN in bfloat16 (Predictor(dtype=bfloat16))"
    return (rank, (params, *candidates)), [], note


def project_agnet(context):
    sizes = context["sizes"]
    strategy = search.agnet(context["space"], **sizes.agnet)
    rounds = -(-sizes.agnet_queries // strategy.batch_size)
    ticks = sizes.agnet.get("ticks", 30)
    train_batch = sizes.agnet.get("train_batch_size", 16)
    steps = sum(
        ticks * -(-strategy.batch_size * (r + 1) // train_batch) for r in range(rounds)
    )
    trials = sizes.agnet_trials
    program = whole_program(
        context, strategy, trials, sizes.agnet_queries,
        *data.search_columns("nb201", "cifar10"),
    )  # fmt: skip
    units = state_units(strategy, context["table"], trials, rounds, steps)
    note = (
        f"{rounds} rounds of one decoded chunk (up to "
        f"{sizes.agnet.get('max_chunks', 8)}), {steps:,} retraining steps a trial; "
        "the decoder's scans over nodes counted once: a lower bound"
    )
    return program, units, note


def project_nsga2(context):
    sizes = context["sizes"]
    strategy = search.nsga2(context["space"])
    rounds = nsga2_rounds(context)
    program = whole_program(
        context, strategy, sizes.nsga2_seeds, sizes.nsga2_queries, NSGA2_COLUMNS
    )
    units = [("whole program (init + one round)", *program, rounds)]
    note = (
        f"{rounds:.0f} rounds (median of 8 seeds run at the same queries); the front "
        "peeling counted once: a lower bound"
    )
    return program, units, note


# workload -> [(row name, builder of (whole program, units, note))]
PROJECTIONS = {
    "brp_trial": [("brp_trial", lambda c: project_brp(c, "faithful", 1))],
    "brp_seeds": [
        ("brp_seeds", lambda c: project_brp(c, "fast", c["sizes"].brp_seeds))
    ],
    "ranking": [
        ("ranking", lambda c: project_ranking(c, jnp.float32)),
        ("ranking_bf16", lambda c: project_ranking(c, jnp.bfloat16)),
    ],
    "agnet": [("agnet", project_agnet)],
    "nsga2": [("nsga2", project_nsga2)],
}


def nsga2_rounds(context) -> float:
    """Median ask/tell rounds of NSGA-II at the workload's queries (8 seeds)."""
    sizes = context["sizes"]
    result = search.run_seeds(
        search.nsga2(context["space"]), context["table"], keys_of(8),
        sizes.nsga2_queries, objective=NSGA2_COLUMNS,
    )  # fmt: skip
    return float(np.median(result.num_steps))


def project(context) -> list[dict]:
    rows = []
    builders = [
        entry for name in context["only"] for entry in PROJECTIONS.get(name, [])
    ]
    for name, build in builders:
        program, units, note = build(context)
        start = time.perf_counter()
        whole = analysis(program[0], *program[1])
        flops, nbytes = whole["flops"], whole["bytes"]
        unit_rows = []
        if units:
            flops = nbytes = 0.0
            for unit, function, args, count in units:
                same = function is program[0] and args is program[1]
                figures = whole if same else analysis(function, *args)
                flops += figures["flops"] * count
                nbytes += figures["bytes"] * count
                unit_rows.append({"unit": unit, "count": count, **figures})
        times = {p: max(flops / peak, nbytes / H100_HBM_BYTES_PER_S)
                 for p, peak in PEAKS.items()}  # fmt: skip
        rows.append({
            "workload": name,
            "flops": flops,
            "bytes": nbytes,
            "peak_bytes": whole["peak_bytes"],
            "fits_80gb": whole["peak_bytes"] <= H100_MEMORY_BYTES,
            "seed_chunks": max(1, math.ceil(whole["peak_bytes"] / H100_MEMORY_BYTES)),
            "h100_s": times,
            "bound_fp32": "compute" if flops / H100_FP32_FLOPS
            >= nbytes / H100_HBM_BYTES_PER_S else "memory",
            "bound_bf16": "compute" if flops / H100_BF16_DENSE_FLOPS
            >= nbytes / H100_HBM_BYTES_PER_S else "memory",
            "units": unit_rows,
            "note": note,
            "analysis_s": time.perf_counter() - start,
        })  # fmt: skip
        print(f"projected {name} ({rows[-1]['analysis_s']:.0f} s)", flush=True)
    return rows


def projection_table(rows: list[dict]) -> str:
    lines = [
        "| workload | GFLOP | GB accessed | peak memory (GB) | fits 80 GB | "
        "H100 s fp32 / TF32 / bf16 | bound fp32 / bf16 | note |",
        "|---|---:|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        fits = "yes" if r["fits_80gb"] else f"no: {r['seed_chunks']} seed chunks"
        t = r["h100_s"]
        lines.append(
            f"| {r['workload']} | {r['flops'] / 1e9:,.1f} | {r['bytes'] / 1e9:,.2f} | "
            f"{r['peak_bytes'] / 1e9:,.3f} | {fits} | {t['fp32']:.3g} / "
            f"{t['tf32']:.3g} / {t['bf16']:.3g} | {r['bound_fp32']} / "
            f"{r['bound_bf16']} | {r['note']} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="sizes for a CPU test")
    parser.add_argument("--out", default="results/accelerator", help="output folder")
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, default=WORKLOADS)
    parser.add_argument("--seed-chunk", type=int, help="vmap the seeds N at a time")
    parser.add_argument(
        "--matmul-precision", choices=("default", "tensorfloat32", "bfloat16",
                                       "float32", "highest")
    )  # fmt: skip
    parser.add_argument("--project", action="store_true", help="XLA's analysis only")
    args = parser.parse_args(argv)
    if args.seed_chunk is not None and args.seed_chunk < 1:
        parser.exit(2, f"--seed-chunk must be >= 1, got {args.seed_chunk}\n")
    try:
        table = data.load_table(
            "nb201", args.data, require=NSGA2_COLUMNS + data.search_columns(
                "nb201", "cifar100")
        )  # fmt: skip
    except data.DataError as error:
        parser.exit(2, f"{error}\n")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    context = {
        "sizes": TINY if args.tiny else FULL,
        "space": spaces.nb201(),
        "table": table,
        "out": out,
        "seed_chunk": args.seed_chunk,
        "brp_columns": data.search_columns("nb201", "cifar100"),
        "only": args.only,
    }
    record = {
        "device": device_record(),
        "sizes": "tiny" if args.tiny else "full",
        "seed_chunk": args.seed_chunk,
        "matmul_precision": args.matmul_precision,
        "sizes_detail": dataclasses.asdict(context["sizes"]),
    }
    if args.project:
        record["projection"] = project(context)
        record["note"] = (
            f"XLA analysis of the programs compiled for {jax.default_backend()}, "
            "not for a GPU"
        )
        write_atomic(out / "projection.json", dumps_json(record, indent=1).encode())
        markdown = (
            f"{record['note']}; sizes {record['sizes']}; H100 SXM peaks (NVIDIA's "
            "datasheet) in the script.\n\n" + projection_table(record["projection"])
        )
        write_atomic(out / "projection.md", markdown.encode())
        print(markdown)
        return 0
    results = {}
    with jax.default_matmul_precision(args.matmul_precision):
        for name in WORKLOADS:
            if name not in args.only:
                continue
            try:
                results[name] = RUNNERS[name](context)
            except Exception as error:  # noqa: BLE001 (one failure must not lose all)
                results[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
            results[name]["device_peak_mib_so_far"] = device_peak_mib()
            record["results"] = results
            write_atomic(
                out / "accelerator.json", dumps_json(record, indent=1).encode()
            )
    device = record["device"]
    markdown = (
        f"Backend {device['backend']} ({device['device_kind']}), "
        f"{len(device['devices'])} device(s), jax {device['versions']['jax']}, "
        f"sizes {record['sizes']}.\n\n" + measurement_table(results)
    )
    write_atomic(out / "accelerator.md", markdown.encode())
    print(markdown)
    return 1 if any("error" in f for f in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

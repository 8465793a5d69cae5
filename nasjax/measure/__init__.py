"""Inference latency on the local JAX backend, LatBench-style. Host-side.

For one architecture (:func:`time_network`): build its flax network
(:mod:`nasjax.networks`, eval mode), fill its variables host-side (weights drawn at
random; latency does not depend on their values), trace, lower and compile the jitted
``apply`` for a batch of ``batch_size`` images (``compile_s``), run it ``warmup``
times, then time ``repeats`` runs, each ended by ``block_until_ready``. The latency is
the mean of the timings between their 25th and 75th percentiles (as LatBench, eagle's
``tools/calc_stats.py``); ``cv`` is the std / mean of all the timings.

The network is timed as defined: a ``none`` edge adds zeros, a ``skip`` the identity,
and XLA folds whatever that makes constant or dead (as a deployment compiler would).

:func:`measure` times a set of architectures into a measurement file
(:mod:`nasjax.data.measured`), resumably: the file is rewritten atomically every
``flush_every_s`` seconds and at the end, and a rerun skips what it holds. With
``unique=True`` one member of each isomorphism class is timed and the others copy its
row (``measured_as`` names the timed one).

Runs on one file share it: each write holds an ``fcntl.flock`` on ``FILE.lock``,
re-reads the file and adds only the rows it lacks, so concurrent runs lose no rows;
before timing an architecture a run re-reads the file when another run changed it and
skips what that one measured. On resume a row is trusted only when its ``arch_str`` and
``measured_as`` are architectures of the space (written as the space writes them) and
its latency is a positive number; other rows are named, dropped and timed again.

On a CPU the timings are steadier on cores nothing else uses: :func:`pin_cores`, called
before JAX starts its backends, confines the process to given cores and, on one core,
runs XLA single-threaded (``nasjax measure --cores``).

The device helpers live in ``_devices.py``, the checks of stored rows in ``_rows.py``.
"""

from __future__ import annotations

import math
import os
import pathlib
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np
import pandas as pd
import tqdm

from nasjax import networks
from nasjax.data import measured
from nasjax.io import locked
from nasjax.measure import _rows
from nasjax.measure._devices import (
    KNOWN_BACKENDS,
    SINGLE_THREAD_XLA_FLAGS,
    device_setup,
    pin_cores,
    resolve_device,
)
from nasjax.networks import Network

__all__ = [
    "KNOWN_BACKENDS",
    "SINGLE_THREAD_XLA_FLAGS",
    "MeasureResult",
    "Timing",
    "device_setup",
    "measure",
    "pin_cores",
    "resolve_device",
    "time_network",
    "timing_summary",
    "trimmed_mean",
]


class Timing(NamedTuple):
    """The timing of one network.

    Attributes:
        latency_ms: mean of the timings between their 25th and 75th percentiles.
        cv: std / mean of all the timings.
        compile_s: variables, trace, lower and compile.
        measure_s: warm-up and timed runs.
    """

    latency_ms: float
    cv: float
    compile_s: float
    measure_s: float


class MeasureResult(NamedTuple):
    """What :func:`measure` did.

    Attributes:
        frame: the whole measurement file after this run.
        timed: its rows timed by this run.
        num_copied: architectures that copied an isomorphic cell's timing.
        num_skipped: requested architectures already in the file.
        num_left: requested architectures still missing (``max_new`` reached).
        wall_s: wall time of this run.
        num_invalid: rows of the file that failed validation and were dropped (their
            architectures, when requested, were timed again).
    """

    frame: pd.DataFrame
    timed: pd.DataFrame
    num_copied: int
    num_skipped: int
    num_left: int
    wall_s: float
    num_invalid: int = 0


# ------------------------------------------------------------------- devices
# ------------------------------------------------------------------- timing
def trimmed_mean(times: np.ndarray) -> float:
    """Mean of ``times`` between their 25th and 75th percentiles (inclusive; the
    percentiles are timings themselves, so at least one is kept)."""
    times = np.asarray(times, dtype=np.float64)
    low, high = np.percentile(times, [25, 75], method="nearest")
    return float(times[(times >= low) & (times <= high)].mean())


def _random_variables(shapes: dict, seed: int) -> dict:
    """Host-side variables of ``shapes``: N(0, 1/fan_in) kernels, BN at its init."""
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = path[-1].key
        if name == "kernel":
            std = 1.0 / math.sqrt(math.prod(leaf.shape[:-1]))
            return (rng.standard_normal(leaf.shape) * std).astype(leaf.dtype)
        if name in ("scale", "var"):
            return np.ones(leaf.shape, leaf.dtype)
        return np.zeros(leaf.shape, leaf.dtype)

    return jax.tree_util.tree_map_with_path(fill, shapes)


def time_network(
    network: Network,
    *,
    batch_size: int = 1,
    warmup: int = 3,
    repeats: int = 30,
    device: str | jax.Device | None = None,
    seed: int = 0,
) -> Timing:
    """Compiles and times one network's inference (see the module docstring).

    Args:
        network: from :func:`nasjax.networks.network`.
        batch_size: images per call.
        warmup: untimed runs after compiling.
        repeats: timed runs (at least 2).
        device: ``"BACKEND[:INDEX]"`` or a device; default JAX's default device.
        seed: seeds the random weights and images.

    Raises:
        ValueError: bad counts or device.
    """
    _check_counts(batch_size, warmup, repeats)
    device = resolve_device(device)
    start = time.perf_counter()
    shapes = networks.variable_shapes(network.module, network.input_shape)
    variables = jax.device_put(_random_variables(shapes, seed), device)
    images = np.random.default_rng(seed).standard_normal(
        (batch_size, *network.input_shape), dtype=np.float32
    )
    images = jax.device_put(images, device)
    compiled = jax.jit(network.module.apply).lower(variables, images).compile()
    compile_s = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(warmup):
        compiled(variables, images).block_until_ready()
    times = np.empty(repeats)
    for i in range(repeats):
        begin = time.perf_counter()
        compiled(variables, images).block_until_ready()
        times[i] = time.perf_counter() - begin
    measure_s = time.perf_counter() - start
    times_ms = times * 1e3
    return Timing(
        latency_ms=trimmed_mean(times_ms),
        cv=float(times_ms.std(ddof=1) / times_ms.mean()),
        compile_s=compile_s,
        measure_s=measure_s,
    )


def _check_counts(batch_size: int, warmup: int, repeats: int) -> None:
    if batch_size < 1 or warmup < 0 or repeats < 2:
        raise ValueError(
            f"need batch_size >= 1, warmup >= 0 and repeats >= 2; got {batch_size}, "
            f"{warmup}, {repeats}"
        )


def timing_summary(frame: pd.DataFrame) -> dict:
    """Means of ``compile_s`` and ``measure_s`` and the median ``cv`` over the timed
    rows of a measurement frame (``None`` when there are none)."""
    timed = frame[frame["arch_str"] == frame["measured_as"]]
    if not len(timed):
        return dict.fromkeys(("mean_compile_s", "mean_measure_s", "median_cv"))
    return {
        "mean_compile_s": float(timed["compile_s"].mean()),
        "mean_measure_s": float(timed["measure_s"].mean()),
        "median_cv": float(timed["cv"].median()),
    }


# ---------------------------------------------------------------- many archs
def measure(
    space: str,
    archs,
    out: str | os.PathLike,
    *,
    dataset: str | None = None,
    batch_size: int = 1,
    warmup: int = 3,
    repeats: int = 30,
    device: str | jax.Device | None = None,
    unique: bool = False,
    max_new: int | None = None,
    flush_every_s: float = 10.0,
    progress: bool = False,
    note: Callable[[str], None] | None = None,
) -> MeasureResult:
    """Times ``archs`` into the measurement file ``out``, resuming it. Host-side.

    Args:
        space: a space with networks (``"nb201"``, ``"fbnet"``).
        archs: ``[A, S]`` architectures, in the order to measure them.
        out: the parquet file (created, or resumed: what it holds is skipped).
        dataset: the network's dataset (default
            :func:`nasjax.networks.default_dataset`).
        batch_size, warmup, repeats, device: as :func:`time_network`.
        unique: time one member per isomorphism class; the others copy its row.
        max_new: time at most this many architectures in this run (default all).
        flush_every_s: seconds between rewrites of ``out``.
        progress: show a progress bar on stderr.
        note: called with a line naming each stored row that is dropped (and timed
            again) because it failed validation.

    Raises:
        ValueError: bad arguments, an architecture outside the space, or a file that
            holds another setup (space, dataset, batch size, backend, device kind).
    """
    begin = time.perf_counter()
    _check_counts(batch_size, warmup, repeats)
    if max_new is not None and max_new < 0:
        raise ValueError(f"max_new must be >= 0, got {max_new}")
    dataset = networks.check_dataset(space, dataset)
    search_space = networks.find(space).space
    archs = np.asarray(archs, dtype=np.int32)
    if archs.ndim != 2 or archs.shape[1] != search_space.num_slots:
        raise ValueError(
            f"archs must be [A, {search_space.num_slots}] {space} architectures, got "
            f"shape {archs.shape}"
        )
    strings = [search_space.to_string(a) for a in archs]  # ValueError if invalid
    indices = measured.arch_indices(search_space, archs)
    classes = _rows.class_strings(search_space, archs)
    device = resolve_device(device)
    info = device_setup(device)
    setup = {
        "space": space,
        "dataset": dataset,
        "batch_size": batch_size,
        "backend": info["backend"],
        "device_kind": info["device_kind"],
    }

    path = pathlib.Path(out)

    def read_valid(report) -> tuple[pd.DataFrame, int]:
        """The file's trusted rows and how many rows it held."""
        if not path.exists():
            return measured.empty_measurements(), 0
        frame = measured.read_measurements(path)
        _rows.check_resumable(path, frame, setup)  # before dropping any row
        return _rows.valid_rows(path, frame, search_space, report), len(frame)

    signature = _rows.signature(path)
    existing, num_rows = read_valid(note)
    num_invalid = num_rows - len(existing)
    done = set(existing["arch_str"])
    timed_row: dict[str, dict] = {}  # class -> the row of its timed member

    def remember_timed(frame: pd.DataFrame) -> None:
        timed_before = frame[frame["arch_str"] == frame["measured_as"]]
        if unique and len(timed_before):
            held = search_space.from_strings(list(timed_before["arch_str"]))
            for cls, row in zip(
                _rows.class_strings(search_space, held), timed_before.to_dict("records")
            ):
                timed_row.setdefault(cls, row)

    remember_timed(existing)

    rows: list[dict] = []
    counts = {"timed": 0, "copied": 0, "skipped": 0, "left": 0}
    last_flush = time.perf_counter()

    def flush() -> pd.DataFrame:
        """Merges this run's rows into the file under its lock (no row lost)."""
        nonlocal signature
        with locked(path):
            on_disk, _ = read_valid(None)
            new = pd.DataFrame(rows, columns=list(measured.COLUMNS))
            new = new[~new["arch_str"].isin(set(on_disk["arch_str"]))]
            frame = pd.concat([on_disk, new]) if len(on_disk) else new
            frame = frame.reset_index(drop=True).astype(measured.COLUMNS)
            measured.write_measurements(path, frame)
            signature = _rows.signature(path)
        return frame

    def refresh() -> None:
        """Takes in what another run on this file measured since the last look."""
        nonlocal signature
        if _rows.signature(path) == signature:
            return
        signature = _rows.signature(path)
        frame, _ = read_valid(None)
        done.update(frame["arch_str"])
        remember_timed(frame)

    seen = set()
    frame = existing
    try:
        for arch, string, index, cls in tqdm.tqdm(
            list(zip(archs, strings, indices.tolist(), classes)),
            desc=f"measuring on {device}",
            unit="arch",
            disable=not progress,
        ):
            if string in seen:  # requested twice
                continue
            seen.add(string)
            keys = {"arch_str": string, "arch_idx": index}
            if string not in done and not (unique and cls in timed_row):
                refresh()
            if string in done:
                counts["skipped"] += 1
            elif unique and cls in timed_row:
                rows.append({**timed_row[cls], **keys})
                counts["copied"] += 1
            elif max_new is not None and counts["timed"] >= max_new:
                counts["left"] += 1
            else:
                timing = time_network(
                    networks.network(space, arch, dataset),
                    batch_size=batch_size,
                    warmup=warmup,
                    repeats=repeats,
                    device=device,
                )
                row = {
                    **keys,
                    **timing._asdict(),
                    "measured_as": string,
                    **setup,
                    **info,
                    "warmup": warmup,
                    "repeats": repeats,
                }
                rows.append(row)
                timed_row.setdefault(cls, row)
                counts["timed"] += 1
                if time.perf_counter() - last_flush > flush_every_s:
                    flush()
                    last_flush = time.perf_counter()
    finally:
        if rows or num_invalid:
            frame = flush()
    timed_here = {
        row["arch_str"] for row in rows if row["arch_str"] == row["measured_as"]
    }
    return MeasureResult(
        frame=frame,
        timed=frame[frame["arch_str"].isin(timed_here)],
        num_copied=counts["copied"],
        num_skipped=counts["skipped"],
        num_left=counts["left"],
        wall_s=time.perf_counter() - begin,
        num_invalid=num_invalid,
    )

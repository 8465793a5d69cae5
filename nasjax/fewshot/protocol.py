"""Evaluation protocols for few-shot latency prediction: HELP's splits, and grids.

HELP (Lee et al., NeurIPS 2021; github HayeonLee/HELP, ``loader.py``, ``parser.py``)
evaluates a device as follows, reproduced by :func:`help_indices`: architectures are
taken in HELP's order (NAS-Bench-201: the benchmark index; FBNet: HELP's 5,000
sampled architectures); the first ``pool`` (900 / 4,000) form the device's sample
pool and the next ``query`` (1,000) its test set; each set is trimmed to the middle
80% by that device's latency (``remove_outlier``: ranks 10%..90%); ``K`` samples are
drawn at random from the trimmed pool, and Spearman's rho is computed over the trimmed
test set. Meta-training uses only the pools of the meta-train devices.

:func:`evaluate_grid` runs a whole grid (devices x sample sets) in one jitted call.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from nasjax import metrics
from nasjax.fewshot.model import HardwarePrior, adapt, predict, pretrain
from nasjax.spaces._base import SearchSpace


class Split(NamedTuple):
    """HELP's device split and sample pool of one search space."""

    meta_train: tuple[str, ...]
    meta_valid: tuple[str, ...]
    meta_test: tuple[str, ...]
    pool: int  # HELP's num_meta_train_sample
    query: int  # HELP's num_query


HELP_SPLITS = {
    "nb201": Split(
        meta_train=(
            "1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r",
            "samsung_a50", "pixel3", "essential_ph_1", "samsung_s7",
        ),
        meta_valid=("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
        meta_test=("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"),
        pool=900,
        query=1000,
    ),
    "fbnet": Split(
        meta_train=(
            "1080ti_1", "1080ti_32", "1080ti_64", "silver_4114", "silver_4210r",
            "samsung_a50", "pixel3", "essential_ph_1", "samsung_s7",
        ),
        meta_valid=("titanx_1", "titanx_32", "titanx_64", "gold_6240"),
        meta_test=("fpga", "raspi4", "eyeriss"),
        pool=4000,
        query=1000,
    ),
}  # fmt: skip

# HELP's published Spearman rho with 10 samples (its README, Tables 2 and 3).
HELP_PUBLISHED = {
    "nb201": {
        "titan_rtx_256": 0.987, "gold_6226": 0.989, "fpga": 0.985, "pixel2": 0.802,
        "raspi4": 0.890, "eyeriss": 0.940,
    },
    "fbnet": {"fpga": 0.892, "raspi4": 0.887, "eyeriss": 0.943},
}  # fmt: skip
HELP_PUBLISHED_MEAN = {"nb201": 0.932, "fbnet": 0.910}  # as printed there


def trimmed(indices: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """``indices`` whose latency ranks between 10% and 90% among them (HELP's
    ``remove_outlier``; a stable sort breaks ties by position). Host-side."""
    order = indices[np.argsort(latency[indices], kind="stable")]
    return order[int(len(order) * 0.1) : int(len(order) * 0.9)]


def help_indices(latency: np.ndarray, pool: int, query: int):
    """HELP's trimmed sample pool and test set of one device. Host-side.

    Args:
        latency: ``[A]`` the device's latencies in HELP's architecture order.
        pool: size of the sample pool (the first architectures).
        query: size of the test set (the next ones).

    Returns:
        ``(pool_indices, query_indices)``, int arrays into ``latency``.
    """
    every = np.arange(len(latency))
    return (
        trimmed(every[:pool], latency),
        trimmed(every[pool : pool + query], latency),
    )


class Grid(NamedTuple):
    """Sample sets of a device grid: ``G`` sets of up to ``K`` samples per device."""

    samples: Int[Array, "T G K"]  # row indices into the table's architectures
    sample_mask: Bool[Array, "T G K"]
    query_mask: Bool[Array, "T A"]  # rows each device is evaluated on


def random_grid(
    pools: list[np.ndarray],
    queries: list[np.ndarray],
    num_rows: int,
    sizes: tuple[int, ...],
    num_seeds: int,
    seed: int = 0,
) -> Grid:
    """Random sample sets: for each device, size and seed, ``size`` distinct rows drawn
    from the device's pool; ``G = len(sizes) * num_seeds`` (size-major). Host-side.

    Raises:
        ValueError: a pool smaller than the largest size.
    """
    rng = np.random.default_rng(seed)
    k = max(sizes)
    num_sets = len(sizes) * num_seeds
    samples = np.zeros((len(pools), num_sets, k), np.int32)
    mask = np.zeros((len(pools), num_sets, k), bool)
    query_mask = np.zeros((len(pools), num_rows), bool)
    for t, (pool, query) in enumerate(zip(pools, queries)):
        if len(pool) < k:
            raise ValueError(f"a device's pool has {len(pool)} rows, fewer than {k}")
        query_mask[t, query] = True
        for g in range(num_sets):
            size = sizes[g // num_seeds]
            samples[t, g] = rng.permutation(pool)[:k]
            mask[t, g, :size] = True
    return Grid(jnp.asarray(samples), jnp.asarray(mask), jnp.asarray(query_mask))


@functools.partial(jax.jit, static_argnames=("space", "per_device_prior"))
def evaluate_grid(
    prior: HardwarePrior,
    space: SearchSpace,
    archs: Int[Array, "A S"],
    latencies: Float[Array, "A T"],
    grid: Grid,
    per_device_prior: bool = False,
) -> Float[Array, "T G"]:
    """Spearman's rho of the adapted predictor on each device and sample set. Jittable.

    One call adapts and evaluates every (device, sample set): vmapped, no Python loop.
    The sampled rows never count in the evaluation.

    Args:
        prior: one prior, or ``T`` stacked priors with ``per_device_prior`` (e.g. the
            leave-one-device-out priors).
        space: the search space (static).
        archs: ``[A, S]`` the table's architectures.
        latencies: ``[A, T]`` the evaluated devices' latencies (ms).
        grid: the sample sets.
        per_device_prior: whether ``prior`` is stacked per device (static).

    Returns:
        ``[T, G]`` rho over each device's query rows.
    """

    def one_device(prior, latency, samples, sample_mask, query_mask):
        def one_set(rows, mask):
            adapted = adapt(prior, space, archs[rows], latency[rows], mask)
            predicted = predict(adapted, space, archs)
            sampled = jnp.where(mask, False, query_mask[rows])
            unsampled = query_mask.at[rows].set(sampled)
            return metrics.spearman_rho(predicted, latency, unsampled)

        return jax.vmap(one_set)(samples, sample_mask)

    prior_axis = 0 if per_device_prior else None
    return jax.vmap(one_device, in_axes=(prior_axis, 1, 0, 0, 0))(
        prior, latencies, grid.samples, grid.sample_mask, grid.query_mask
    )


_BATCH_SIZES = ("1", "32", "64", "256")  # HELP's GPU settings: titan_rtx_{1,32,256}


def help_column(space: str, device: str) -> str:
    """The table column of HELP's ``device`` in ``space``'s table.

    NAS-Bench-201's HW-NAS-Bench devices (eyeriss, fpga, pixel3, raspi4) are the
    CIFAR-10 ``{device}_latency`` columns; everything else is ``help/{device}``.
    """
    if space == "nb201" and device in ("eyeriss", "fpga", "pixel3", "raspi4"):
        return f"cifar10/{device}_latency"
    return f"help/{device}"


def hardware_of(column: str) -> str:
    """The hardware a latency column was measured on, without batch size or dataset:
    ``help/titan_rtx_256`` -> ``titan_rtx``, ``cifar10/eyeriss_latency`` -> ``eyeriss``.
    """
    name = column.split("/", 1)[-1].removesuffix("_latency")
    stem, _, batch = name.rpartition("_")
    is_batch = batch in _BATCH_SIZES and not stem.endswith("_ph")  # Essential PH-1
    return stem if stem and is_batch else name


def leave_one_out_masks(columns: list[str]) -> Bool[Array, "T T"]:
    """``[t, u]``: whether column ``u`` may pre-train the prior that is evaluated on
    column ``t``: never a column of the same hardware (any batch size or dataset)."""
    hardware = [hardware_of(c) for c in columns]
    return jnp.asarray([[h != g for g in hardware] for h in hardware])


# The analytic cost whose direction :func:`table_prior` adds to the prior.
COST_COLUMNS = {"nb201": "cifar10/flops", "fbnet": "cifar100/flops"}


def latency_columns(table) -> list[str]:
    """Every device latency column of a table, one per device setting: HELP's
    ``help/*`` and the ``*_latency`` columns, less those that repeat a ``help/*``
    column of the same device (FBNet's CIFAR-100 lookup-table latencies of the devices
    HELP also took from HW-NAS-Bench: equal to 1e-6). Host-side."""
    columns = [
        c for c in table.column_names if c.startswith("help/") or c.endswith("_latency")
    ]
    query = jnp.asarray(table.archs)

    def repeats_help(column: str) -> bool:
        twin = "help/" + column.split("/", 1)[1].removesuffix("_latency")
        if column.startswith("help/") or twin not in columns:
            return False
        ours = np.asarray(table.query(query, column), np.float64)
        theirs = np.asarray(table.query(query, twin), np.float64)
        both = np.isfinite(ours) & np.isfinite(theirs)
        return bool(both.any()) and bool(
            np.allclose(ours[both], theirs[both], rtol=1e-5, atol=0)
        )

    return [c for c in columns if not repeats_help(c)]


def table_prior(
    space: SearchSpace,
    table,
    columns: list[str],
    *,
    archs: np.ndarray | None = None,
    row_mask: np.ndarray | None = None,
) -> HardwarePrior:
    """The prior pre-trained on ``columns`` of ``table`` (and its FLOPs). Host-side.

    Args:
        space: the table's search space.
        table: a :class:`~nasjax.data.Table`.
        columns: the training devices' latency columns.
        archs: ``[A, S]`` rows to use (default the table's rows).
        row_mask: ``[A, T]`` rows each device may use (default all known).
    """
    archs = np.asarray(table.archs if archs is None else archs)
    query = jnp.asarray(archs)
    latencies = np.stack(
        [np.asarray(table.query(query, c), np.float32) for c in columns], axis=1
    )
    cost = COST_COLUMNS.get(space.name)
    costs = (
        np.asarray(table.query(query, cost), np.float32)[:, None]
        if cost in table.columns
        else None
    )
    return pretrain(space, archs, latencies, row_mask=row_mask, costs=costs)

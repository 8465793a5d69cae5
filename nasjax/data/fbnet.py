"""FBNet data: HW-NAS-Bench's block lookup table, HELP latencies, analytic costs.

HW-NAS-Bench measures FBNet per block, not per network: a network's cost is the sum of
its stem, its 22 blocks, the head ConvNorm, the average pool and the classifier
(``hw_nas_bench_api.fbnet_get_metrics``). nasjax stores that as
:class:`~nasjax.data.table.AdditiveColumn`\\ s (``per_slot[s, op]`` = the lookup-table
value of block ``op`` at layer ``s``; ``offset`` = stem + head + pool + classifier),
named ``"{dataset}/{metric}"`` with dataset ``cifar100`` or ``ImageNet``. Such a table
has zero rows and answers every architecture of the space.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from nasjax.data._files import PROVENANCE_HINT, DataError, read_parquet, require_file
from nasjax.data.table import AdditiveColumn, Table
from nasjax.hardware import fbnet_costs
from nasjax.spaces.fbnet import (
    BLOCKS,
    DATASETS,
    NUM_LAYERS,
    OPS,
    SKIP,
    FBNetSpace,
    Layer,
    macro_network,
)

METRICS = (
    "edgegpu_latency",
    "edgegpu_energy",
    "raspi4_latency",
    "pixel3_latency",
    "eyeriss_latency",
    "eyeriss_energy",
    "fpga_latency",
    "fpga_energy",
)
LUT_FILE = "raw/fracapuano_sim-is-more__fbnet_cached_metrics.json"
HELP_FILE = "fbnet_help_latency_cifar100.parquet"
HELP_NUM_ARCHS = 5000


# ------------------------------------------------------------ lookup-table keys
def _block_key(layer: Layer, op: int) -> str:
    size, c_in, c_out, stride = layer
    prefix = f"H{size}_W{size}_Cin{c_in}_Cout{c_out}"
    if op == SKIP:
        return f"Skip_{prefix}_stride{stride}"
    expansion, kernel, group = BLOCKS[op]
    return (
        f"ConvBlock_{prefix}_exp{expansion}_kernel{kernel}_stride{stride}_group{group}"
    )


def lut_keys(dataset: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The lookup-table keys of ``dataset``'s network. Host-side.

    Returns:
        ``(per_slot, fixed)``: ``per_slot[s][op]`` is the key of block ``op`` at layer
        ``s`` (stride-2 layers use the ``stride2`` key); ``fixed`` holds the stem,
        head ConvNorm, AvgP and FC keys.
    """
    net = macro_network(dataset)
    per_slot = tuple(
        tuple(_block_key(la, op) for op in range(len(OPS))) for la in net.layers
    )

    def conv_norm(layer: Layer, kernel: int) -> str:
        size, c_in, c_out, stride = layer
        return (
            f"ConvNorm_H{size}_W{size}_Cin{c_in}_Cout{c_out}_kernel{kernel}"
            f"_stride{stride}_group1"
        )

    head = net.head
    fixed = (
        conv_norm(net.stem, 3),
        conv_norm(head, 1),
        (
            f"AvgP_H{head.size}_W{head.size}_Cin{head.c_out}_Cout{head.c_out}"
            f"_kernel{net.pool_size}_stride1"
        ),
        f"FC_Cin{head.c_out}_Cout{net.num_classes}",
    )
    return per_slot, fixed


def lut_columns(
    lut: Mapping, dataset: str, *, source: str = "the FBNet lookup table"
) -> dict[str, AdditiveColumn]:
    """Additive columns ``"{dataset}/{metric}"`` of the 8 metrics. Host-side.

    Args:
        lut: HW-NAS-Bench's ``HW_metrics['fbnet']``: metric -> {block key -> value}.
        dataset: ``"cifar100"`` or ``"ImageNet"``.
        source: how error messages name where ``lut`` came from.

    Raises:
        DataError: ``lut`` lacks a metric or a key (named in the message).
    """
    if not isinstance(lut, Mapping):
        raise DataError(
            f"{source}: expected a dict of metric -> {{block key -> value}}"
        )
    per_slot_keys, fixed_keys = lut_keys(dataset)
    columns = {}
    for metric in METRICS:
        values = lut.get(metric)
        if not isinstance(values, Mapping):
            raise DataError(
                f"{source}: no {metric!r} lookup table (expected HW-NAS-Bench's "
                f"HW_metrics['fbnet'] with metrics {METRICS}); {PROVENANCE_HINT}"
            )

        def get(key, values=values, metric=metric):
            try:
                return float(values[key])
            except KeyError:
                raise DataError(
                    f"{source}: {metric!r} has no entry {key!r} (needed for the "
                    f"{dataset} network); {PROVENANCE_HINT}"
                ) from None
            except (TypeError, ValueError):
                raise DataError(
                    f"{source}: {metric!r}[{key!r}] is not a number"
                ) from None

        per_slot = np.array([[get(k) for k in row] for row in per_slot_keys])
        offset = np.sum([get(k) for k in fixed_keys])
        columns[f"{dataset}/{metric}"] = AdditiveColumn(per_slot, offset)
    return columns


def lut_table(lut: Mapping, dataset: str | Sequence[str] = DATASETS, **kwargs) -> Table:
    """A zero-row FBNet table of the lookup table's additive columns. Host-side.

    Reproduces ``HWNASBenchAPI(..., "fbnet").query_by_index(arch, dataset)`` for every
    architecture (to float32 precision).

    Args:
        lut: HW-NAS-Bench's ``HW_metrics['fbnet']`` (or its JSON dump).
        dataset: one dataset name or several (default both).
        **kwargs: passed to :func:`lut_columns` (``source``).
    """
    datasets = (dataset,) if isinstance(dataset, str) else tuple(dataset)
    additive = {}
    for name in datasets:
        additive.update(lut_columns(lut, name, **kwargs))
    return _empty_table(additive)


def _empty_table(additive: Mapping[str, AdditiveColumn]) -> Table:
    return Table.from_rows(
        FBNetSpace(), np.zeros((0, NUM_LAYERS), np.int32), {}, additive=additive
    )


# ---------------------------------------------------------------- the loaders
def load_fbnet_lut(folder: pathlib.Path) -> Table:
    """HW-NAS-Bench FBNet costs of both datasets from the lookup-table JSON."""
    what = "HW-NAS-Bench FBNet block lookup table (json.dump of HW_metrics['fbnet'])"
    path = require_file(pathlib.Path(folder), LUT_FILE, what)
    try:
        lut = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"cannot read {str(path)!r} as JSON ({type(error).__name__}); "
            f"expected {what}; "
            f"{PROVENANCE_HINT}"
        ) from None
    return lut_table(lut, DATASETS, source=repr(str(path)))


def load_fbnet_help(folder: pathlib.Path) -> Table:
    """HELP latencies (ms) of 5,000 FBNet archs on CIFAR-100, as ``help/{device}``.

    The architecture comes from ``op_idx_list``; ``op_names`` is checked against it.
    """
    what = "HELP latencies of 5,000 FBNet archs (CIFAR-100) on 27 device settings"
    frame = read_parquet(
        pathlib.Path(folder),
        HELP_FILE,
        what,
        ["arch_id", "op_idx_list"],
        HELP_NUM_ARCHS,
    )
    try:
        archs = np.array([[int(v) for v in s.split()] for s in frame["op_idx_list"]])
        if archs.shape != (len(frame), NUM_LAYERS):
            raise ValueError
    except (ValueError, AttributeError):
        raise DataError(
            f"{HELP_FILE}: op_idx_list must hold {NUM_LAYERS} space-separated integers "
            f"per row; expected {what}; {PROVENANCE_HINT}"
        ) from None
    if np.any((archs < 0) | (archs >= len(OPS))):
        raise DataError(f"{HELP_FILE}: op_idx_list values must be in 0..{len(OPS) - 1}")
    if "op_names" in frame.columns:
        names = [" ".join(OPS[i] for i in row) for row in archs]
        if list(frame["op_names"]) != names:
            raise DataError(f"{HELP_FILE}: op_names does not match op_idx_list")
    if len(np.unique(archs, axis=0)) != len(archs):
        raise DataError(f"{HELP_FILE}: the same architecture appears twice")
    skip = {"arch_id", "op_idx_list", "op_names"}
    columns = {
        f"help/{name}": frame[name].to_numpy(dtype=np.float64)
        for name in frame.columns
        if name not in skip
    }
    return Table.from_rows(FBNetSpace(), archs, columns)


def analytic_costs() -> Table:
    """Params (M) and FLOPs (M) of both FBNet networks, as additive columns."""
    additive = {}
    for dataset in DATASETS:
        additive[f"{dataset}/flops"] = AdditiveColumn(
            fbnet_costs.per_slot_flops(dataset), fbnet_costs.fixed_flops(dataset)
        )
        additive[f"{dataset}/params"] = AdditiveColumn(
            fbnet_costs.per_slot_params(dataset), fbnet_costs.fixed_params(dataset)
        )
    return _empty_table(additive)

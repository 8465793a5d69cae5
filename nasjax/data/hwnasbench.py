"""Importer for the official HW-NAS-Bench pickle (``HW-NAS-Bench-v1_0.pickle``).

Get the file from https://github.com/GATECH-EIC/HW-NAS-Bench (it is in the repository
root). Its structure, as ``hw_nas_bench_api.HWNASBenchAPI`` reads it::

    {"nasbench201": {dataset: {metric: values indexed by arch_idx, "config": ...}},
     "fbnet": {metric: {block key: value}, "devices": ..., "operations": ...}}

with ``dataset`` in ``cifar10``, ``cifar100``, ``ImageNet16-120`` and the NB201 metrics
of :data:`NB201_METRICS`; ``-1`` marks a value HW-NAS-Bench does not have (edgetpu) and
becomes NaN. ``average_hw_metric`` is derived as the official API does (the product of
the nine latencies and energies; NaN where one is missing).

A pickle can run code when loaded: only load files from a source you trust.
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Mapping

import numpy as np

from nasjax.data._files import DataError, load_pickle
from nasjax.data.fbnet import lut_table
from nasjax.data.nb201 import table_from_benchmark_columns
from nasjax.data.table import Table
from nasjax.spaces.nb201 import NUM_ARCHS

# HW-NAS-Bench's devices, in its paper's order; FBNet has no EdgeTPU measurements.
DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
FBNET_DEVICES = tuple(device for device in DEVICES if device != "edgetpu")
PICKLE_FILE = "HW-NAS-Bench-v1_0.pickle"
URL = "https://github.com/GATECH-EIC/HW-NAS-Bench"
NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NB201_METRICS = (
    "edgegpu_latency",
    "edgegpu_energy",
    "raspi4_latency",
    "edgetpu_latency",
    "pixel3_latency",
    "eyeriss_latency",
    "eyeriss_energy",
    "eyeriss_arithmetic_intensity",
    "fpga_latency",
    "fpga_energy",
)
_AVERAGE_OF = tuple(m for m in NB201_METRICS if m != "eyeriss_arithmetic_intensity")
_HINT = f"expected the official {PICKLE_FILE} from {URL}"


def _nb201_values(values, where: str) -> np.ndarray:
    """``[15625]`` float64 from a list/array by ``arch_idx`` or an int-keyed dict."""
    if isinstance(values, Mapping):
        out = np.full(NUM_ARCHS, np.nan)
        try:
            for index, value in values.items():
                if not 0 <= int(index) < NUM_ARCHS:
                    raise ValueError
                out[int(index)] = float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"{where}: keys must be arch indices 0..{NUM_ARCHS - 1} "
                f"and values numbers; {_HINT}"
            ) from None
    else:
        try:
            out = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{where}: values are not numbers; {_HINT}") from None
        if out.shape != (NUM_ARCHS,):
            raise DataError(
                f"{where}: expected {NUM_ARCHS} values (one per NAS-Bench-201 arch), "
                f"got "
                f"shape {out.shape}; {_HINT}"
            )
    return np.where(out == -1.0, np.nan, out)


def nb201_table(
    metrics: Mapping, *, source: str = "HW_metrics['nasbench201']"
) -> Table:
    """NAS-Bench-201 table of HW-NAS-Bench's ``HW_metrics['nasbench201']``. Host-side.

    Columns are ``"{dataset}/{metric}"`` for the three datasets, the ten metrics and
    ``average_hw_metric``; rows are all 15,625 ``arch_idx``.

    Raises:
        DataError: a dataset or metric is missing or malformed (named in the message).
    """
    if not isinstance(metrics, Mapping):
        raise DataError(f"{source}: expected a dict keyed by dataset; {_HINT}")
    columns = {}
    for dataset in NB201_DATASETS:
        part = metrics.get(dataset)
        if not isinstance(part, Mapping):
            raise DataError(
                f"{source}: no dataset {dataset!r} (expected {NB201_DATASETS}); {_HINT}"
            )
        for metric in NB201_METRICS:
            if metric not in part:
                raise DataError(f"{source}[{dataset!r}]: no metric {metric!r}; {_HINT}")
            where = f"{source}[{dataset!r}][{metric!r}]"
            columns[f"{dataset}/{metric}"] = _nb201_values(part[metric], where)
        columns[f"{dataset}/average_hw_metric"] = functools.reduce(
            np.multiply, (columns[f"{dataset}/{m}"] for m in _AVERAGE_OF)
        )
    return table_from_benchmark_columns(columns)


def load_hwnasbench_pickle(path: str | os.PathLike) -> dict[str, Table]:
    """Reads the official HW-NAS-Bench pickle. Host-side.

    Returns:
        ``{"nb201": Table, "fbnet": Table}``: the NAS-Bench-201 metrics (columns
        ``"{dataset}/{metric}"``) and the FBNet lookup table as additive columns
        (``"cifar100/{metric}"``, ``"ImageNet/{metric}"``, see
        :func:`nasjax.data.fbnet.lut_table`).

    Raises:
        DataError: the file is missing, not a pickle, or not structured as HW-NAS-Bench.
    """
    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"missing HW-NAS-Bench pickle {str(path)!r}; {_HINT}")
    stat = path.stat()
    tables = _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return dict(tables)


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, Table], ...]:
    del mtime_ns, size  # cache keys only: a changed file is read again
    try:
        metrics = load_pickle(pathlib.Path(path))
    except DataError as error:
        raise DataError(f"{error}; {_HINT}") from None
    if not isinstance(metrics, Mapping) or not {"nasbench201", "fbnet"} <= set(metrics):
        found = (
            sorted(map(str, metrics)) if isinstance(metrics, Mapping) else type(metrics)
        )
        raise DataError(
            f"{path!r} is not HW-NAS-Bench's pickle: expected a dict with keys "
            f"'nasbench201' and 'fbnet', found {found}; {_HINT}"
        )
    nb201 = nb201_table(metrics["nasbench201"], source=f"{path!r}['nasbench201']")
    fbnet = lut_table(metrics["fbnet"], source=f"{path!r}['fbnet']")
    return (("nb201", nb201), ("fbnet", fbnet))


def load_hwnasbench_nb201(folder: pathlib.Path) -> Table:
    """The NAS-Bench-201 part of ``folder / HW-NAS-Bench-v1_0.pickle``."""
    return load_hwnasbench_pickle(pathlib.Path(folder) / PICKLE_FILE)["nb201"]


def load_hwnasbench_fbnet(folder: pathlib.Path) -> Table:
    """The FBNet part of ``folder / HW-NAS-Bench-v1_0.pickle``."""
    return load_hwnasbench_pickle(pathlib.Path(folder) / PICKLE_FILE)["fbnet"]

"""Loaders for the NAS-Bench-201 files of the data folder (see its ``PROVENANCE.md``).

Every file is keyed by the benchmark index ``arch_idx``; where a file has ``arch_str``
it is checked against the index order nasjax ships, so a shuffled or foreign file is
refused rather than silently misaligned.
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np
import pandas as pd

from nasjax import encodings
from nasjax.data._files import DataError, read_parquet
from nasjax.data.table import Table
from nasjax.hardware.costs import nb201_flops, nb201_params
from nasjax.spaces.nb201 import (
    DATASETS,
    NUM_ARCHS,
    NUM_CLASSES,
    RESOLUTION,
    NB201Space,
)

TEST_ACC_FILE = "nb201_test_acc_200ep_natstss.parquet"
VALID_ACC_FILE = "nb201_valid_acc_200ep_natstss_perseed.parquet"
LOW_FIDELITY_FILE = "nb201_acc_12ep_minibench.parquet"
HELP_FILE = "nb201_help_latency.parquet"
HWNASBENCH_FILE = "hwnasbench_nb201_cifar10_partial.parquet"


@functools.cache
def benchmark_archs() -> np.ndarray:
    """``[15625, 6]``: the architecture of each benchmark ``arch_idx``."""
    return encodings.nb201.benchmark_archs()


@functools.cache
def benchmark_strings() -> tuple[str, ...]:
    """The benchmark's ``arch_str`` of each ``arch_idx``."""
    space = NB201Space()
    return tuple(space.to_string(a) for a in benchmark_archs())


def table_from_benchmark_columns(columns: dict[str, np.ndarray], index=None) -> Table:
    """A NAS-Bench-201 table from columns keyed by ``arch_idx`` (``index``; all)."""
    index = np.arange(NUM_ARCHS) if index is None else np.asarray(index)
    return Table.from_rows(NB201Space(), benchmark_archs()[index], columns)


def _read(
    folder: pathlib.Path, name: str, what: str, columns, num_rows
) -> pd.DataFrame:
    frame = read_parquet(folder, name, what, ["arch_idx", *columns], num_rows)
    not_numeric = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if not pd.api.types.is_integer_dtype(frame["arch_idx"]) or not_numeric:
        raise DataError(
            f"{name}: expected integer arch_idx and numeric {not_numeric or 'columns'}"
        )
    index = frame["arch_idx"].to_numpy()
    if np.any((index < 0) | (index >= NUM_ARCHS)) or len(np.unique(index)) != len(
        index
    ):
        raise DataError(
            f"{name}: arch_idx must be distinct values in 0..{NUM_ARCHS - 1}"
        )
    if "arch_str" in frame.columns:
        expected = np.asarray(benchmark_strings(), dtype=object)[index]
        if not np.array_equal(frame["arch_str"].to_numpy(dtype=object), expected):
            raise DataError(
                f"{name}: arch_str does not match NAS-Bench-201's arch_idx order "
                "(expected NATS-Bench-TSS indexing)"
            )
    return frame


def load_test_accuracy(folder: pathlib.Path) -> Table:
    """200-epoch test accuracy (seed mean) on cifar10, cifar100, ImageNet16-120."""
    what = "NAS-Bench-201 200-epoch test accuracy, 15,625 rows"
    renames = {
        "cifar10_test": "cifar10/test_acc",
        "cifar100_test": "cifar100/test_acc",
        "imagenet16_120_test": "ImageNet16-120/test_acc",
    }
    frame = _read(folder, TEST_ACC_FILE, what, renames, NUM_ARCHS)
    columns = {new: frame[old].to_numpy() for old, new in renames.items()}
    return table_from_benchmark_columns(columns, frame["arch_idx"])


def load_valid_accuracy(folder: pathlib.Path) -> Table:
    """200-epoch validation accuracy (seed mean) and training time.

    ``cifar10-valid/valid_acc`` is the x-valid accuracy of the cifar10-valid setting;
    ``cifar100/valid_acc`` and ``ImageNet16-120/valid_acc`` are x-valid means.
    """
    what = "NAS-Bench-201 200-epoch validation accuracy per seed, 15,625 rows"
    renames = {
        "cifar10valid_valid_mean": "cifar10-valid/valid_acc",
        "cifar100_xvalid_mean_derived": "cifar100/valid_acc",
        "imagenet16_120_xvalid_mean_derived": "ImageNet16-120/valid_acc",
        "cifar10_train_all_time_s": "cifar10-valid/train_time_s",
        "cifar100_train_all_time_s": "cifar100/train_time_s",
        "imagenet_train_all_time_s": "ImageNet16-120/train_time_s",
        "cifar10_params_mb": "cifar10/benchmark_params",
        "cifar100_params_mb": "cifar100/benchmark_params",
        "imagenet_params_mb": "ImageNet16-120/benchmark_params",
    }
    frame = _read(folder, VALID_ACC_FILE, what, renames, NUM_ARCHS)
    columns = {new: frame[old].to_numpy() for old, new in renames.items()}
    return table_from_benchmark_columns(columns, frame["arch_idx"])


def load_low_fidelity(folder: pathlib.Path) -> Table:
    """12-epoch validation and test accuracy (NB201 v1_1, ``hp='12'``)."""
    what = "NAS-Bench-201 12-epoch accuracies, 15,625 rows"
    renames = {
        "cifar10valid_xvalid_hp12": "cifar10-valid/valid_acc_12ep",
        "cifar10_test_hp12": "cifar10/test_acc_12ep",
        "cifar100_xvalid_hp12": "cifar100/valid_acc_12ep",
        "cifar100_xtest_hp12": "cifar100/test_acc_12ep",
        "imagenet16_120_xvalid_hp12": "ImageNet16-120/valid_acc_12ep",
        "imagenet16_120_xtest_hp12": "ImageNet16-120/test_acc_12ep",
    }
    frame = _read(folder, LOW_FIDELITY_FILE, what, renames, NUM_ARCHS)
    columns = {new: frame[old].to_numpy() for old, new in renames.items()}
    return table_from_benchmark_columns(columns, frame["arch_idx"])


def load_help_latency(folder: pathlib.Path) -> Table:
    """HELP latencies (ms). Its eyeriss/fpga/pixel3/raspi4 columns are HW-NAS-Bench's
    CIFAR-10 latencies and become ``cifar10/{device}_latency``; the other 22 device
    settings become ``help/{device}``."""
    what = "HELP latencies of all 15,625 NAS-Bench-201 archs on 26 device settings"
    hw = {d: f"cifar10/{d}_latency" for d in ("eyeriss", "fpga", "pixel3", "raspi4")}
    frame = _read(folder, HELP_FILE, what, list(hw), NUM_ARCHS)
    columns = {
        hw.get(name, f"help/{name}"): frame[name].to_numpy()
        for name in frame.columns
        if name not in ("arch_idx", "arch_str")
    }
    return table_from_benchmark_columns(columns, frame["arch_idx"])


def load_hwnasbench_partial(folder: pathlib.Path) -> Table:
    """HW-NAS-Bench CIFAR-10 edgegpu/edgetpu latency and energies (12,554 archs).

    ``-1`` (HW-NAS-Bench's "not measured") becomes NaN.
    """
    what = "HW-NAS-Bench NB201 CIFAR-10 metrics for 12,554 archs"
    metrics = (
        "edgegpu_latency",
        "edgegpu_energy",
        "edgetpu_latency",
        "eyeriss_energy",
        "eyeriss_arithmetic_intensity",
        "fpga_energy",
    )
    frame = _read(folder, HWNASBENCH_FILE, what, metrics, None)
    columns = {}
    for metric in metrics:
        values = frame[metric].to_numpy(dtype=np.float64)
        columns[f"cifar10/{metric}"] = np.where(values == -1.0, np.nan, values)
    return table_from_benchmark_columns(columns, frame["arch_idx"])


def analytic_costs() -> Table:
    """Params (M) and FLOPs (M) computed by nasjax for every dataset setting."""
    archs = benchmark_archs()
    columns = {}
    for dataset in DATASETS:
        classes, size = NUM_CLASSES[dataset], RESOLUTION[dataset]
        columns[f"{dataset}/params"] = np.asarray(nb201_params(archs, classes))
        columns[f"{dataset}/flops"] = np.asarray(nb201_flops(archs, classes, size))
    return table_from_benchmark_columns(columns)

"""Latency tables nasjax measures itself: the ``nasjax measure`` file format, and the
NAS-Bench-201 CPU table shipped with the package.

A measurement file is a parquet table with one row per architecture:

* ``arch_str`` (the space's string), ``arch_idx`` (the benchmark's own index where
  the space's adapter has one, NAS-Bench-201's; -1 otherwise, FBNet);
* ``latency_ms`` (trimmed mean of the timings between their 25th and 75th
  percentiles), ``cv`` (std / mean of all timings), ``compile_s`` (variables, trace,
  lower, compile), ``measure_s`` (warm-up and timed runs), ``measured_as`` (the
  ``arch_str`` that was timed: itself, or an isomorphic cell whose timing it copies);
* the setup, equal on every row: ``space``, ``dataset``, ``batch_size``, ``backend``,
  ``device_kind``; and ``host_cpu``, ``jax_version``, ``warmup``, ``repeats``.

:func:`load_measured` reads such a file into a :class:`Table` with one column,
``"{dataset}/{device}_latency"`` (ms), so :func:`~nasjax.data.device_column` and the
searches use it like any other device.

The shipped table (``nasjax/resources/nb201_cifar10_latency_cpu.npy``) holds one
float32 per NAS-Bench-201 isomorphism class (6,466, ordered by the space index of the
class's lowest member; NaN where not measured) and a ``.json`` of its setup.
:func:`shipped_latency` expands it to every architecture as the column
:data:`SHIPPED_COLUMN`; it needs no data folder.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import json
import os
import pathlib

import numpy as np
import pandas as pd

from nasjax import encodings, spaces
from nasjax.data._files import DataError
from nasjax.data._validate import check_table
from nasjax.data.nb201 import benchmark_archs, table_from_benchmark_columns
from nasjax.data.table import Table
from nasjax.io import write_atomic
from nasjax.spaces._base import SearchSpace
from nasjax.spaces.nb201 import NB201Space

SETUP_COLUMNS = ("space", "dataset", "batch_size", "backend", "device_kind")
COLUMNS = {  # name -> dtype
    "arch_str": "object",
    "arch_idx": "int64",
    "latency_ms": "float64",
    "cv": "float64",
    "compile_s": "float64",
    "measure_s": "float64",
    "measured_as": "object",
    "space": "object",
    "dataset": "object",
    "batch_size": "int64",
    "backend": "object",
    "device_kind": "object",
    "host_cpu": "object",
    "jax_version": "object",
    "warmup": "int64",
    "repeats": "int64",
}

SHIPPED_RESOURCE = "nb201_cifar10_latency_cpu"
SHIPPED_DEVICE = "nasjax_cpu"
SHIPPED_COLUMN = f"cifar10/{SHIPPED_DEVICE}_latency"


# ------------------------------------------------------------ measurement files
def arch_indices(space: SearchSpace, archs) -> np.ndarray:
    """``[A]`` the ``arch_idx`` column of ``archs``: the benchmark's own index (the
    space's adapter's ``benchmark_index``), or -1 where the space has none."""
    archs = np.asarray(archs, np.int32)
    found = encodings.find(space)
    if found is None or found.benchmark_index is None:
        return np.full(len(archs), -1)
    return np.asarray(found.benchmark_index(archs))


def empty_measurements() -> pd.DataFrame:
    """A measurement frame with no rows."""
    return pd.DataFrame({name: pd.Series(dtype=t) for name, t in COLUMNS.items()})


def read_measurements(path: str | os.PathLike) -> pd.DataFrame:
    """Reads a ``nasjax measure`` file. Host-side.

    Raises:
        DataError: missing or unreadable file, missing columns, or rows of more than
            one setup.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"no measurement file {str(path)!r}")
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise DataError(
            f"cannot read {str(path)!r} as parquet ({type(error).__name__}); expected "
            "a latency table written by `nasjax measure`"
        ) from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{str(path)!r} lacks columns {missing}; expected a latency table written "
            "by `nasjax measure`"
        )
    if len(frame) and len(frame[list(SETUP_COLUMNS)].drop_duplicates()) > 1:
        raise DataError(f"{str(path)!r} mixes measurements of several setups")
    return frame


def write_measurements(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Writes ``frame`` (columns :data:`COLUMNS`) atomically as parquet."""
    buffer = io.BytesIO()
    frame[list(COLUMNS)].astype(COLUMNS).to_parquet(buffer, index=False)
    write_atomic(pathlib.Path(path), buffer.getvalue())


def load_measured(path: str | os.PathLike, *, device: str | None = None) -> Table:
    """A ``nasjax measure`` file as a one-column table (ms). Host-side.

    Args:
        path: the file.
        device: the device part of the column name ``"{dataset}/{device}_latency"``;
            default ``local_{backend}`` (``local_cpu``, ``local_gpu``, ...), apart
            from the shipped ``nasjax_cpu``.

    Raises:
        DataError: unreadable file, empty file, an architecture string that does
            not parse, or implausible latencies (:func:`~nasjax.data._validate.
            check_table`: too few known, or not positive).
    """
    frame = read_measurements(path)
    if not len(frame):
        raise DataError(f"{str(path)!r} holds no measurements")
    setup = frame.iloc[0]
    device = f"local_{setup['backend']}" if device is None else device
    try:
        space = spaces.get(str(setup["space"]))
        archs = space.from_strings(list(frame["arch_str"]))
        column = f"{setup['dataset']}/{device}_latency"
        table = Table.from_rows(space, archs, {column: frame["latency_ms"].to_numpy()})
    except ValueError as error:
        raise DataError(f"{str(path)!r}: {error}") from None
    return check_table(table, path)


# ------------------------------------------------------- the shipped CPU table
@functools.cache
def nb201_class_of_benchmark_index() -> np.ndarray:
    """``[15625]`` int: the isomorphism class (0..6465) of each ``arch_idx``.

    Classes are ordered by the space index of their lowest member (the ``canonical``
    form).
    """
    space = NB201Space()
    canonical = np.asarray(space.index(space.canonical(benchmark_archs())))
    return np.unique(canonical, return_inverse=True)[1].reshape(-1)


def nb201_class_latencies(frame: pd.DataFrame) -> np.ndarray:
    """``[6466]`` float32: the mean timed latency (ms) of each class in a NAS-Bench-201
    measurement frame, NaN where none of its members was timed. Host-side."""
    space = NB201Space()
    classes = nb201_class_of_benchmark_index()
    num_classes = int(classes.max()) + 1
    timed = frame[frame["arch_str"] == frame["measured_as"]]
    if not len(timed):
        return np.full(num_classes, np.nan, np.float32)
    index = space.to_benchmark_index(space.from_strings(list(timed["arch_str"])))
    timed_classes = classes[np.asarray(index)]
    totals = np.bincount(timed_classes, timed["latency_ms"], minlength=num_classes)
    counts = np.bincount(timed_classes, minlength=num_classes)
    with np.errstate(invalid="ignore"):
        return (totals / counts).astype(np.float32)


def _resource(suffix: str):
    return (
        importlib.resources.files("nasjax") / "resources" / (SHIPPED_RESOURCE + suffix)
    )


@functools.cache
def shipped_metadata() -> dict:
    """The setup of the shipped table: backend, CPU, jax version, repeats, median CV,
    how many classes were measured, when."""
    return json.loads(_resource(".json").read_text())


def shipped_class_latencies() -> np.ndarray:
    """``[6466]`` float32: the shipped CPU latency (ms) of each isomorphism class."""
    with _resource(".npy").open("rb") as file:
        return np.load(file)


@functools.cache
def shipped_latency() -> Table:
    """NAS-Bench-201 CIFAR-10 latency (ms, batch 1) measured by nasjax on a CPU, for
    every architecture (its class's value): the column :data:`SHIPPED_COLUMN`. Needs
    no data folder."""
    values = shipped_class_latencies()[nb201_class_of_benchmark_index()]
    return table_from_benchmark_columns({SHIPPED_COLUMN: values})

"""LatBench (BRP-NAS, ``SamsungLabs/eagle``): measured NAS-Bench-201 latencies.

The eagle README describes each device file (``desktop-gpu-gtx-1080-ti-fp32.pickle``,
...) as a pickled dict ``{arch_vector: latency in seconds}``, where ``arch_vector`` is
a tuple of 6 op indices. eagle's ``tools/calc_stats.py`` writes these dicts: keys are
``eagle.utils.freeze(point)`` (a tuple of ints) and values ``np.mean(...)`` (numpy
float64), after dropping outliers outside the 25-75 percentile range. Files of raw
measurements (``tools/combine.py``: a list of ``(point, times)``) are refused.

Vector convention (confirmed from ``eagle/models/nasbench201/utils.py``):
``get_arch_str_from_arch_vector`` writes ``'|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|'``
with ``_opname_to_index = {none: 0, skip_connect: 1, nor_conv_1x1: 2, nor_conv_3x3:
3, avg_pool_3x3: 4}``. So entry ``s`` is the op of the ``s``-th edge of the arch
string, which is nasjax's slot order (:data:`nasjax.spaces.nb201.EDGES`), and the op
indices equal :data:`nasjax.spaces.nb201.OPS`: an eagle vector *is* a nasjax
architecture. ``op_names`` keeps that mapping an explicit, documented parameter.

Host-side.
"""

from __future__ import annotations

import math
import numbers
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from nasjax.data._files import DataError, load_pickle
from nasjax.data.table import Table
from nasjax.spaces.nb201 import EDGES, OPS, NB201Space

# eagle's op index -> op name (eagle/models/nasbench201/utils.py, _opname_to_index).
EAGLE_NB201_OPS = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)

# The device files listed in the eagle README (names as distributed, typos included).
LATBENCH_FILES = (
    "desktop-cpu-core-i7-7820x-fp32.pickle",
    "desktop-gpu-gtx-1080-ti-fp32.pickle",
    "embedded-gpu-jetson-nono-fp16.pickle",
    "embedded-gpu-jetson-nono-fp32.pickle",
    "embeeded-tpu-edgetpu-int8.pickle",
    "mobile-cpu-snapdragon-450-contex-a53-int8.pickle",
    "mobile-cpu-snapdragon-675-kryo-460-int8.pickle",
    "mobile-cpu-snapdragon-855-kryo-485-int8.pickle",
    "mobile-dsp-snapdragon-675-hexagon-685-int8.pickle",
    "mobile-dsp-snapdragon-855-hexagon-690-int8.pickle",
    "mobile-gpu-snapdragon-450-adreno-506-int8.pickle",
    "mobile-gpu-snapdragon-675-adren0-612-int8.pickle",
    "mobile-gpu-snapdragon-855-adren0-640-int8.pickle",
)


def column_name(device: str) -> str:
    """The table column of a LatBench device: ``latbench/{device}_latency`` (ms)."""
    return f"latbench/{device}_latency"


def load_latbench(
    path: pathlib.Path,
    *,
    device: str | None = None,
    space: str = "nb201",
    op_names: Sequence[str] = EAGLE_NB201_OPS,
) -> Table:
    """Reads one LatBench device pickle into a table with one column, in ms.

    Args:
        path: the ``.pickle`` file.
        device: column name part; default the file stem
            (``latbench/desktop-gpu-gtx-1080-ti-fp32_latency``).
        space: the search space; LatBench covers ``"nb201"`` only.
        op_names: the op name of each vector index, in the file's convention
            (default eagle's); entries are edges in arch-string order.

    Returns:
        A NAS-Bench-201 :class:`Table`, one row per architecture in the file; NaN
        where the file holds NaN.

    Raises:
        DataError: unreadable file, or a key or value that is not an architecture
            vector / a non-negative number of seconds (the message names the file).
    """
    path = pathlib.Path(path)
    if space != "nb201":
        raise DataError(f"LatBench holds NAS-Bench-201 latencies only, not {space!r}")
    if sorted(op_names) != sorted(OPS):
        raise DataError(
            f"op_names must order the NAS-Bench-201 ops {OPS}, got {op_names}"
        )
    to_nasjax = np.asarray([OPS.index(name) for name in op_names], dtype=np.int32)
    data = load_pickle(path)
    if isinstance(data, (list, tuple)):
        raise DataError(
            f"{str(path)!r} is a list, as eagle's raw measurements are; LatBench files "
            "are dicts {arch_vector: seconds} (run eagle's tools/calc_stats.py first)"
        )
    if not isinstance(data, Mapping) or not data:
        raise DataError(
            f"{str(path)!r}: expected a non-empty dict {{arch_vector: seconds}}, got "
            f"{type(data).__name__}"
        )
    num_slots, num_ops = len(EDGES), len(op_names)
    archs = np.empty((len(data), num_slots), dtype=np.int32)
    millis = np.empty(len(data), dtype=np.float64)
    for row, (vector, seconds) in enumerate(data.items()):
        if (
            not isinstance(vector, (tuple, list))
            or len(vector) != num_slots
            or not all(_is_int(op) and 0 <= op < num_ops for op in vector)
        ):
            raise DataError(
                f"{str(path)!r}: key {vector!r} is not a NAS-Bench-201 arch vector "
                f"({num_slots} op indices in 0..{num_ops - 1})"
            )
        if not isinstance(seconds, numbers.Real) or isinstance(seconds, bool):
            raise DataError(
                f"{str(path)!r}: value {seconds!r} of {vector!r} is not a latency in s"
            )
        seconds = float(seconds)
        if seconds < 0 or math.isinf(seconds):
            raise DataError(
                f"{str(path)!r}: latency {seconds!r} s of {vector!r} is not a duration"
            )
        archs[row] = to_nasjax[np.asarray(vector, dtype=np.int64)]
        millis[row] = seconds * 1000.0
    device = path.name.removesuffix(".pickle") if device is None else device
    try:
        return Table.from_rows(NB201Space(), archs, {column_name(device): millis})
    except ValueError as error:  # the same architecture twice
        raise DataError(f"{str(path)!r}: {error}") from None


def load_latbench_in(folder: pathlib.Path) -> Table:
    """All :data:`LATBENCH_FILES` present in ``folder``, merged (for the registry).

    Raises:
        DataError: none is present, or one is unreadable.
    """
    folder = pathlib.Path(folder)
    paths = [folder / name for name in LATBENCH_FILES if (folder / name).is_file()]
    if not paths:
        raise DataError(
            f"no LatBench file ({LATBENCH_FILES[0]}, ...) in {str(folder)!r}"
        )
    table = load_latbench(paths[0])
    for path in paths[1:]:
        table = table.merge(load_latbench(path))
    return table


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

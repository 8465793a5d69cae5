"""A user's own latency files: measurements to adapt to, and the column files that
``nasjax adapt`` writes for searches.

Two kinds of file hold one device's latencies (ms):

* **latency files** (:func:`read_latencies`): the parquet that ``nasjax measure``
  writes (its ``space`` column must name the space), or any CSV or parquet with an
  ``arch_str`` column (the space's string) and a latency column (``latency_ms``, or
  ``value_column``). One row per architecture.
* **column files** (:func:`write_column_file`): what ``nasjax adapt`` writes.
  NAS-Bench-201: a CSV ``arch_str,latency_ms`` of every architecture (itself a latency
  file). FBNet (``9**22`` architectures): a JSON additive cost table,
  ``{"format": "nasjax-additive-latency", "space", "unit": "ms", "ops", "offset",
  "per_slot": [S][K]}``: the latency of an architecture is ``offset`` plus, over its
  slots, ``per_slot[slot][choice]``.

:func:`load_user_table` reads either into a :class:`~nasjax.data.Table` with one
column named after the file (``my_cpu.csv`` -> ``"user/my_cpu_latency"``), which
:meth:`Table.merge` adds to the benchmark table; :func:`resolve_column` does that for a
command-line flag that takes a column name or a file.

Every problem raises ``ValueError`` with one sentence naming the file and the problem,
before anything is written.
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pandas as pd

from nasjax.data.table import AdditiveColumn, Table
from nasjax.io import dumps_json, write_atomic
from nasjax.spaces._base import SearchSpace

ARCH_COLUMN = "arch_str"
LATENCY_COLUMN = "latency_ms"
ADDITIVE_FORMAT = "nasjax-additive-latency"
FILE_SUFFIXES = (".csv", ".parquet", ".json")
COLUMN_PREFIX = "user"


def column_name(path: str | os.PathLike) -> str:
    """The table column a user file provides: ``"user/{file stem}_latency"``."""
    return f"{COLUMN_PREFIX}/{pathlib.Path(path).stem}_latency"


def looks_like_file(text: str) -> bool:
    """Whether a flag's value names a file (an existing path, or one ending in
    ``.csv``, ``.parquet`` or ``.json``) rather than a table column."""
    return os.path.exists(text) or pathlib.Path(text).suffix.lower() in FILE_SUFFIXES


def _shown(path: pathlib.Path) -> str:
    text = str(path)
    return repr(text if len(text) <= 80 else text[:40] + "..." + text[-20:])


def _read_frame(path: pathlib.Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(
            f"{_shown(path)} is not a latency file: expected a .csv or .parquet file"
        )
    if not path.is_file():
        raise ValueError(f"no latency file {_shown(path)}")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except Exception as error:  # pandas and pyarrow raise many types
        kind = "CSV" if suffix == ".csv" else "parquet"
        raise ValueError(
            f"cannot read {_shown(path)} as {kind} ({type(error).__name__})"
        ) from None
    if not len(frame):
        raise ValueError(f"{_shown(path)} holds no rows")
    return frame


def read_latencies(
    path: str | os.PathLike,
    space: SearchSpace,
    *,
    value_column: str | None = None,
    min_rows: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """One device's latencies from a latency file (see the module docstring). Host-side.

    Args:
        path: a ``nasjax measure`` parquet, or a CSV or parquet with ``arch_str`` and
            a latency column.
        space: the search space the file must hold.
        value_column: the latency column (default ``latency_ms``).
        min_rows: the fewest rows accepted.

    Returns:
        ``(archs [K, S] int32, latencies [K] float64 ms)`` in the file's row order.

    Raises:
        ValueError: one sentence naming the file and the problem: unreadable or empty,
            another space, a missing column, an arch string that does not parse,
            the same architecture twice, a latency that is missing, not a number,
            zero or negative, or fewer rows than ``min_rows``. Rows are counted from
            1, the first row after the header.
    """
    path = pathlib.Path(path)
    frame = _read_frame(path)
    shown = _shown(path)
    if "space" in frame.columns:
        others = sorted({str(s) for s in frame["space"]} - {space.name})
        if others:
            raise ValueError(
                f"{shown} holds measurements of the {others[0]} space, not {space.name}"
            )
    value_column = LATENCY_COLUMN if value_column is None else value_column
    for name, hint in (
        (ARCH_COLUMN, ""),
        (value_column, "; name it with --value-column"),
    ):
        if name not in frame.columns:
            columns = ", ".join(map(str, frame.columns[:12]))
            raise ValueError(
                f"{shown} has no {name!r} column (it has: {columns}){hint}"
            )
    if len(frame) < min_rows:
        raise ValueError(
            f"{shown} holds {len(frame)} measured architectures, fewer than {min_rows}"
        )
    archs = np.empty((len(frame), space.num_slots), np.int32)
    for row, text in enumerate(frame[ARCH_COLUMN]):
        try:
            archs[row] = space.from_string(text)
        except (ValueError, TypeError, IndexError, KeyError):
            raise ValueError(
                f"{shown} row {row + 1}: {str(text)[:60]!r} is not a {space.name} "
                "architecture string"
            ) from None
    _, first, inverse = np.unique(archs, axis=0, return_index=True, return_inverse=True)
    repeated = np.flatnonzero(first[inverse.reshape(-1)] != np.arange(len(archs)))
    if len(repeated):
        row = int(repeated[0])
        raise ValueError(
            f"{shown} rows {int(first[inverse.reshape(-1)[row]]) + 1} and {row + 1} "
            f"hold the same architecture {frame[ARCH_COLUMN].iloc[row]!r}"
        )
    raw = frame[value_column]
    latencies = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(latencies) | (latencies <= 0)
    if bad.any():
        row = int(np.argmax(bad))
        value = raw.iloc[row]
        problem = (
            "is missing"
            if pd.isna(value)
            else f"{str(value)[:30]!r} is not a positive number of ms"
        )
        raise ValueError(f"{shown} row {row + 1}: {value_column} {problem}")
    return archs, latencies


# ------------------------------------------------------------------ column files
def write_column_file(
    path: str | os.PathLike,
    space: SearchSpace,
    *,
    archs: np.ndarray | None = None,
    latencies: np.ndarray | None = None,
    additive: AdditiveColumn | None = None,
    about: dict | None = None,
) -> None:
    """Writes a column file atomically: a CSV of ``archs`` and their ``latencies``,
    or (``additive``) a JSON cost table with ``about`` recorded in it. Host-side.

    Raises:
        ValueError: neither or both kinds given, mismatched shapes, non-finite or
            non-positive latencies.
    """
    path = pathlib.Path(path)
    if (additive is None) == (latencies is None):
        raise ValueError("write_column_file takes latencies or an additive table")
    if additive is not None:
        per_slot = np.asarray(additive.per_slot, np.float64)
        offset = float(additive.offset)
        if per_slot.shape != (space.num_slots, max(space.num_choices)):
            raise ValueError(
                f"an additive {space.name} table has shape {per_slot.shape}"
            )
        if not (np.all(np.isfinite(per_slot)) and np.isfinite(offset)):
            raise ValueError("the additive table holds non-finite costs")
        document = {
            "format": ADDITIVE_FORMAT,
            "version": 1,
            "space": space.name,
            "unit": "ms",
            "ops": list(getattr(space, "ops", ())),
            "offset": offset,
            "per_slot": per_slot.tolist(),
            "about": about or {},
        }
        write_atomic(path, (dumps_json(document) + "\n").encode())
        return
    archs = np.asarray(archs).reshape(-1, space.num_slots)
    latencies = np.asarray(latencies, np.float64)
    if latencies.shape != (len(archs),):
        raise ValueError(f"{len(archs)} architectures but {latencies.shape} latencies")
    if not np.all(np.isfinite(latencies) & (latencies > 0)):
        raise ValueError("latencies must be positive numbers of ms")
    frame = pd.DataFrame(
        {
            ARCH_COLUMN: [space.to_string(a) for a in archs],
            LATENCY_COLUMN: latencies,
        }
    )
    write_atomic(path, frame.to_csv(index=False, float_format="%.6g").encode())


def read_additive(path: str | os.PathLike, space: SearchSpace) -> AdditiveColumn:
    """The cost table of a JSON column file. Host-side.

    Raises:
        ValueError: unreadable, not a ``nasjax adapt`` cost table, of another space,
            of the wrong shape, or holding non-finite costs.
    """
    path = pathlib.Path(path)
    shown = _shown(path)
    if not path.is_file():
        raise ValueError(f"no column file {shown}")
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"cannot read {shown} as JSON ({type(error).__name__})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != ADDITIVE_FORMAT:
        raise ValueError(f"{shown} is not a cost table written by `nasjax adapt`")
    if document.get("space") != space.name:
        raise ValueError(
            f"{shown} is a cost table of the {document.get('space')} space, not "
            f"{space.name}"
        )
    try:
        per_slot = np.asarray(document["per_slot"], np.float64)
        offset = float(document["offset"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{shown} lacks numeric 'per_slot' and 'offset'") from None
    if per_slot.shape != (space.num_slots, max(space.num_choices)):
        raise ValueError(
            f"{shown}: per_slot has shape {per_slot.shape}, expected "
            f"({space.num_slots}, {max(space.num_choices)})"
        )
    if not (np.all(np.isfinite(per_slot)) and np.isfinite(offset)):
        raise ValueError(f"{shown} holds costs that are not finite numbers")
    return AdditiveColumn(per_slot.astype(np.float32), np.float32(offset))


def load_user_table(
    path: str | os.PathLike, space: SearchSpace, *, value_column: str | None = None
) -> Table:
    """A latency file or column file as a one-column table, the column named
    :func:`column_name` (ms). Host-side.

    Raises:
        ValueError: as :func:`read_latencies` or :func:`read_additive`.
    """
    path = pathlib.Path(path)
    name = column_name(path)
    if path.suffix.lower() == ".json":
        additive = read_additive(path, space)
        empty = np.zeros((0, space.num_slots), np.int32)
        return Table.from_rows(space, empty, {}, additive={name: additive})
    archs, latencies = read_latencies(path, space, value_column=value_column)
    return Table.from_rows(space, archs, {name: latencies})


def resolve_column(table: Table, column: str) -> tuple[Table, str]:
    """``(table, column)`` for a flag that takes a column name or a user file.

    A name of ``table`` is returned as is; a file (:func:`looks_like_file`) is read
    with :func:`load_user_table` and merged into the table, and its column's name is
    returned. Anything else is returned unchanged (the caller reports an unknown
    column). Host-side.

    Raises:
        ValueError: a file that cannot be used (see :func:`load_user_table`).
    """
    if column in table.columns or not looks_like_file(column):
        return table, column
    user = load_user_table(column, table.space)
    (name,) = user.columns
    if name in table.columns:
        raise ValueError(
            f"the table already has a column {name!r}; rename {column!r} to use it"
        )
    return table.merge(user), name

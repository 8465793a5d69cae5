"""Plausibility checks of each data file's table, applied as the file is loaded.

A file's table is refused (:class:`DataError` naming the file and the column) when a
column is not numeric, holds an infinity, has too few known values (fewer than
:data:`MIN_KNOWN_SHARE` of the file's rows, or none), or holds values out of range:
an accuracy (:func:`~nasjax.data.table.higher_is_better`) outside [0, 100], a latency,
energy, time or device column (``help/``, ``latbench/``) not positive, anything else
(FLOPs, parameters, intensities) negative. NaN means unknown and is allowed. An
additive (lookup-table) column is checked for numbers, infinities and known values.
"""

from __future__ import annotations

import pathlib

import numpy as np

from nasjax.data._files import DataError
from nasjax.data.table import AdditiveColumn, Table, higher_is_better

ACCURACY_RANGE = (0.0, 100.0)  # percent
MIN_KNOWN_SHARE = 0.01  # of a file's rows, per column
COST_WORDS = ("latency", "energy", "time")
COST_PREFIXES = ("help/", "latbench/")


def _is_cost(column: str) -> bool:
    last = column.rsplit("/", 1)[-1]
    return column.startswith(COST_PREFIXES) or any(w in last for w in COST_WORDS)


def column_problem(column: str, values, *, ranges: bool = True) -> str | None:
    """Why ``values`` (``[A]``) are implausible for ``column``, or ``None``.

    ``ranges=False`` checks only numbers, infinities and known values."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return f"column {column!r} is not numeric"
    if np.isinf(values).any():
        return f"column {column!r} holds an infinite value"
    known = values[~np.isnan(values)]
    if values.size and (known.size == 0 or known.size < MIN_KNOWN_SHARE * values.size):
        return (
            f"column {column!r} has {known.size} known values of {values.size} "
            f"(at least {MIN_KNOWN_SHARE:.0%} needed)"
        )
    if not ranges:
        return None
    if higher_is_better(column):
        low, high = ACCURACY_RANGE
        bad = known[(known < low) | (known > high)]
        if bad.size:
            return (
                f"column {column!r} is an accuracy but holds {bad.size} values outside "
                f"[{low:g}, {high:g}] (e.g. {bad[0]:.4g})"
            )
    elif _is_cost(column):
        bad = known[known <= 0]
        if bad.size:
            return (
                f"column {column!r} is a cost but holds {bad.size} values <= 0 "
                f"(e.g. {bad[0]:.4g})"
            )
    elif (known < 0).any():
        return f"column {column!r} holds negative values (e.g. {known.min():.4g})"
    return None


def check_table(table: Table, path: str | pathlib.Path) -> Table:
    """``table`` (read from the file ``path``) if every column is plausible.

    Raises:
        DataError: naming ``path`` and the first implausible column.
    """
    for column in table.column_names:
        values = table.columns[column]
        if isinstance(values, AdditiveColumn):
            parts = [np.ravel(np.asarray(part)) for part in values]
            problem = column_problem(column, np.concatenate(parts), ranges=False)
        else:
            problem = column_problem(column, values)
        if problem is not None:
            raise DataError(f"{str(path)!r}: {problem}")
    return table


def load_checked(file, folder: pathlib.Path) -> Table:
    """``file.load(folder)`` (a registry ``DataFile``), its errors and implausible
    values raised as a :class:`DataError` that names the file."""
    path = folder / file.name
    try:
        table = file.load(folder)
    except DataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise DataError(
            f"cannot load {str(path)!r} ({type(error).__name__}: {reason[:200]})"
        ) from None
    return check_table(table, path)

"""The rows of a measurement file a resumed run can trust. Host-side.

A stored row is trusted only when its ``arch_str`` and ``measured_as`` are
architectures of the space, written as the space writes them, and its latency is a
positive number (:func:`valid_rows`); a file holding another setup is refused
(:func:`check_resumable`).
"""

from __future__ import annotations

import math
import pathlib

import jax.numpy as jnp
import numpy as np
import pandas as pd


def class_strings(search_space, archs: np.ndarray) -> list[str]:
    """The string of each architecture's canonical form (its isomorphism class)."""
    if not len(archs):
        return []
    canonical = np.asarray(search_space.canonical(jnp.asarray(archs)))
    return [search_space.to_string(a) for a in canonical]


def check_resumable(path: pathlib.Path, existing: pd.DataFrame, setup: dict):
    if not len(existing):
        return
    for name, value in setup.items():
        held = existing[name].iloc[0]
        if held != value:
            raise ValueError(
                f"{str(path)!r} holds measurements with {name} {held!r}, not "
                f"{value!r}; write to another file"
            )


def row_problem(search_space, row: dict) -> str | None:
    """Why a stored row cannot be trusted, or ``None``."""
    for name in ("arch_str", "measured_as"):
        text = row[name]
        try:
            spelled = search_space.to_string(search_space.from_string(str(text)))
        except (ValueError, TypeError, IndexError, KeyError):
            return f"{name} {str(text)[:60]!r} is not an architecture"
        if spelled != text:
            return f"{name} {str(text)[:60]!r} is not written as {spelled!r}"
    latency = row["latency_ms"]
    if not (isinstance(latency, int | float) and math.isfinite(latency)):
        return f"latency_ms is {latency!r}"
    if latency <= 0:
        return f"latency_ms is {latency!r}, not positive"
    return None


def valid_rows(
    path: pathlib.Path, frame: pd.DataFrame, search_space, note
) -> pd.DataFrame:
    """``frame`` without the rows that fail :func:`row_problem` (named by ``note``)
    and without repeated ``arch_str`` (the first is kept)."""
    records = frame.to_dict("records")
    problems = [row_problem(search_space, row) for row in records]
    for i, problem in enumerate(problems):
        if problem is not None and note is not None:
            note(f"{path}: row {i} is dropped and timed again: {problem}")
    keep = np.array([p is None for p in problems], dtype=bool)
    keep &= ~frame["arch_str"].duplicated().to_numpy()
    return frame[keep].reset_index(drop=True)


def signature(path: pathlib.Path):
    """What changes when the file is replaced: inode, size, modification time."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns

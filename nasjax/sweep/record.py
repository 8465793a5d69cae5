"""The record of a search, written by ``nasjax search`` and by every sweep
configuration: the best-so-far curves per seed and, with two or more front columns,
the hypervolume curves and fronts (:func:`nasjax.pareto.analyse`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasjax import pareto
from nasjax.data.table import Table
from nasjax.search.strategy import SearchResult

FINAL_NAMES = ("best_valid", "test_of_best_valid", "best_test")


def nan_to_none(values) -> Any:
    """Nested lists of floats with ``None`` for NaN (JSON's ``null``)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        return None if np.isnan(array) else float(array)
    return [nan_to_none(v) for v in array]


def search_record(result: SearchResult, objective: str, report: str) -> dict:
    """The curves of a search over ``[R]`` seeds, JSON-ready (``null`` for NaN).

    Args:
        result: a host :class:`nasjax.search.SearchResult` of ``R`` seeds.
        objective: the column searched (validation accuracy).
        report: the column reported alongside (test accuracy).

    Returns:
        ``{"labels", "num_queries", "final", "curves"}``: ``curves[name]`` is
        ``[R, Q]`` best-so-far values and ``final[name]`` its last column, for each
        of :data:`FINAL_NAMES`; ``labels[name]`` says what the name means.
    """
    finals = (result.best_objective, result.best_objective_report, result.best_report)
    return {
        "labels": {
            "best_valid": f"best {objective} so far (best by validation)",
            "test_of_best_valid": f"{report} of the best-by-validation architecture",
            "best_test": f"best {report} so far (oracle)",
        },
        "num_queries": np.asarray(result.num_queries).tolist(),
        "final": {n: nan_to_none(c[:, -1]) for n, c in zip(FINAL_NAMES, finals)},
        "curves": {n: nan_to_none(c) for n, c in zip(FINAL_NAMES, finals)},
    }


def hypervolume_record(
    table: Table,
    archs: np.ndarray,
    columns: Sequence[str],
    *,
    hv_every: int,
    constraint: str | None = None,
    limit: float | None = None,
) -> dict:
    """Hypervolume curves and fronts of recorded searches, JSON-ready.

    Args:
        table: the table searched.
        archs: ``[R, Q, S]`` the architectures recorded per seed.
        columns: the ``M >= 2`` front columns.
        hv_every: queries between two points of the curves.
        constraint: the column the table's front rows keep within ``limit``.
        limit: the constraint's bound.

    Returns:
        ``columns``, ``normalisation`` (best and worst per column), ``reference``,
        ``queries`` (``[T]`` query counts), ``curves`` (``[R, T]``), ``final``
        (``[R]``), ``table_hv``, ``table_front`` (``[F, M]``) and ``fronts`` (per
        seed, its distinct non-dominated values, sorted).
    """
    num_queries = archs.shape[1]
    ends = np.arange(hv_every, num_queries + hv_every, hv_every)
    ends = np.minimum(ends, num_queries)
    found = pareto.analyse(
        table, archs, columns, ends=ends, constraint=constraint, limit=limit
    )
    fronts = []
    for seed_values, seed_mask in zip(found.values, found.on_front):
        front = np.unique(seed_values[seed_mask], axis=0)
        fronts.append(front[np.lexsort(front.T[::-1])].tolist())
    return {
        "columns": list(columns),
        "normalisation": {
            c: {"best": float(b), "worst": float(w)}
            for c, b, w in zip(columns, found.best, found.worst)
        },
        "reference": [1.0] * len(columns),
        "queries": ends.tolist(),
        "curves": nan_to_none(found.curves),
        "final": nan_to_none(found.curves[:, -1]),
        "table_hv": found.table_hv,
        "table_front": found.table_front.tolist(),
        "fronts": fronts,
    }

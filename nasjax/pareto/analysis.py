"""The fronts and hypervolumes of searches run on a table, against its exact front.

:func:`analyse` is the one entry point: the sweeps, ``nasjax search`` and
``experiments/hwnasbench.py`` all call it on the architectures a search recorded.

**Normalisation.** Each column ``c`` is mapped to
``x = (v - best_c) / (worst_c - best_c)``, where ``best_c`` and ``worst_c`` are the
best and worst values of ``c`` (max and min for an accuracy, min and max otherwise,
:func:`nasjax.data.higher_is_better`) over the table rows where every column is known.
So 0 is the table's best value and 1 its worst, every objective is minimised and the
reference point of every hypervolume is ``(1, ..., 1)``.

Shape letters: ``R`` seeds, ``Q`` queries, ``S`` slots, ``M`` columns, ``T`` curve
points, ``F`` points of the table's front.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from nasjax.data.table import Table, higher_is_better, within_limit
from nasjax.pareto._core import hypervolume, hypervolume_2d, non_dominated, table_front


class Analysis(NamedTuple):
    """What :func:`analyse` finds; host NumPy arrays.

    Attributes:
        values: ``[R, Q, M]`` the columns' values of the recorded architectures
            (NaN where unknown or where no architecture was recorded).
        valid: ``[R, Q]`` bool, every column known.
        points: ``[R, Q, M]`` float64 normalised values (0 best, 1 worst); invalid
            points are set to the reference ``1``.
        best: ``[M]`` the table's best value per column.
        worst: ``[M]`` the table's worst value per column.
        curves: ``[R, T]`` hypervolume of each seed's first ``ends[t]`` points.
        on_front: ``[R, Q]`` bool, the valid points none of the seed's others
            dominates.
        table_front: ``[F, M]`` values of the exact front of the table rows that
            meet the constraint (sorted, natural units).
        table_hv: the hypervolume of ``table_front``, the most a search can reach.
    """

    values: np.ndarray
    valid: np.ndarray
    points: np.ndarray
    best: np.ndarray
    worst: np.ndarray
    curves: np.ndarray
    on_front: np.ndarray
    table_front: np.ndarray
    table_hv: float


def analyse(
    table: Table,
    archs: Int[np.ndarray, "R Q S"],
    columns: Sequence[str],
    *,
    ends: Sequence[int],
    constraint: str | None = None,
    limit: float | None = None,
) -> Analysis:
    """Normalised points, hypervolume curves and fronts of recorded searches. Host-side.

    Args:
        table: the benchmark table the searches queried.
        archs: ``[R, Q, S]`` architectures recorded per seed (``-1`` rows: none).
        columns: the ``M >= 2`` front columns (table columns).
        ends: ``[T]`` query counts at which the curves are taken.
        constraint: a column the table's front rows must keep within ``limit``
            (:func:`nasjax.data.within_limit`); the searches' points are taken as
            recorded (a constrained search records only feasible ones).
        limit: the constraint's bound.

    Returns:
        An :class:`Analysis`.
    """
    columns = tuple(columns)
    values = lookup_values(table, archs, columns)
    valid = np.all(np.isfinite(values), axis=-1)
    best, worst = _ranges(table, columns)
    points = np.where(valid[..., None], _normalise(values, best, worst), 1.0)
    curves = _hypervolume_curves(
        jnp.asarray(points, jnp.float32),
        jnp.asarray(valid),
        jnp.asarray(np.asarray(ends)),
    )
    on_front = _non_dominated_per_seed(
        jnp.asarray(points, jnp.float32), jnp.asarray(valid)
    )
    front = _table_front(table, columns, constraint, limit)
    front_points = _normalise(front, best, worst)
    table_hv = _hypervolume_curves(
        jnp.asarray(front_points[None], jnp.float32),
        jnp.ones((1, len(front_points)), bool),
        jnp.asarray([len(front_points)]),
    )
    return Analysis(
        values=values,
        valid=valid,
        points=points,
        best=best,
        worst=worst,
        curves=np.asarray(curves),
        on_front=np.asarray(on_front),
        table_front=front,
        table_hv=float(np.asarray(table_hv)[0, 0]),
    )


@functools.partial(jax.jit, static_argnames=("columns",))
def _query_many(table: Table, archs, columns: tuple[str, ...]):
    return table.query_many(archs, columns)


def lookup_values(
    table: Table, archs: Int[np.ndarray, "... S"], columns: Sequence[str]
) -> Float[np.ndarray, "... M"]:
    """The values of ``columns`` for ``archs`` (NaN for ``-1`` rows). Host-side."""
    return np.asarray(_query_many(table, jnp.asarray(archs), tuple(columns)))


def _ranges(table: Table, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst value per column over rows where every column is known."""
    values = np.stack(
        [np.asarray(table.values(c), dtype=np.float64) for c in columns], axis=-1
    )
    values = values[np.all(np.isfinite(values), axis=1)]
    maximise = np.array([higher_is_better(c) for c in columns])
    best = np.where(maximise, values.max(0), values.min(0))
    worst = np.where(maximise, values.min(0), values.max(0))
    return best, worst


def _normalise(values: np.ndarray, best: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """Maps ``best`` to 0 and ``worst`` to 1 per column (a constant column: shifted)."""
    return (values - best) / np.where(worst == best, 1.0, worst - best)


@jax.jit
def _hypervolume_curves(
    points: Float[Array, "R Q M"], valid: Bool[Array, "R Q"], ends: Int[Array, "T"]
) -> Float[Array, "R T"]:
    """HV (reference 1) of the first ``ends[t]`` points of each seed. Jittable."""
    reference = jnp.ones(points.shape[-1])
    volume = hypervolume_2d if points.shape[-1] == 2 else hypervolume
    positions = jnp.arange(points.shape[1])

    def one(objs, mask, end):
        return volume(objs, reference, mask & (positions < end))

    per_end = jax.vmap(one, in_axes=(None, None, 0))
    return jax.vmap(per_end, in_axes=(0, 0, None))(points, valid, ends)


@jax.jit
def _non_dominated_per_seed(
    points: Float[Array, "R Q M"], valid: Bool[Array, "R Q"]
) -> Bool[Array, "R Q"]:
    """Which valid points of each seed none of its others dominates."""
    return jax.vmap(non_dominated)(points, valid)


def _table_front(
    table: Table,
    columns: tuple[str, ...],
    constraint: str | None,
    limit: float | None,
) -> np.ndarray:
    """``[F, M]`` values of the exact front of the feasible table rows."""
    values = np.stack(
        [np.asarray(table.values(c), dtype=np.float64) for c in columns], axis=-1
    )
    keep = np.all(np.isfinite(values), axis=1)
    if constraint is not None:
        bound = np.asarray(table.values(constraint), dtype=np.float64)
        keep &= within_limit(bound, constraint, limit)
    archs = np.asarray(table.archs)[keep]
    sub = Table.from_rows(
        table.space, archs, {c: values[keep, i] for i, c in enumerate(columns)}
    )
    _, front = table_front(sub, columns)  # sorted, natural units
    return np.asarray(front, dtype=np.float64)

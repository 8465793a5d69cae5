"""Dominance, non-dominated sorting, crowding, hypervolume, IGD; a table's exact front.

Every objective is **minimised** (negate accuracies first: :func:`minimisation_signs`
gives the signs for table columns). Functions take a fixed population ``P`` with a
``valid: Bool[P]`` mask instead of filtering, so they jit and vmap; a point with a NaN
objective is treated as invalid. Invalid points never dominate, never count towards a
front, a hypervolume or a distance, and their values never change any result.

Shape letters: ``P`` population, ``M`` objectives, ``R`` reference-front points,
``K`` front size, ``S`` slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from nasjax.data.table import higher_is_better

if TYPE_CHECKING:
    from nasjax.data.table import Table

# Slabs of the 3-D hypervolume computed at once: memory O(_HV3D_BATCH * P).
_HV3D_BATCH = 256


def _usable(objs: Float[Array, "P M"], valid: Bool[Array, "P"]) -> Bool[Array, "P"]:
    """``valid`` minus the points with a NaN objective."""
    return jnp.asarray(valid, bool) & ~jnp.any(jnp.isnan(objs), axis=-1)


# ------------------------------------------------------------------ dominance
def dominates(a: Float[Array, "M"], b: Float[Array, "M"]) -> Bool[Array, ""]:
    """Whether ``a`` dominates ``b``: ``a <= b`` everywhere, ``<`` somewhere. Jittable.

    Args:
        a: ``[M]`` objectives (minimised).
        b: ``[M]`` objectives (minimised).

    Returns:
        ``[]`` bool; False when either holds a NaN.
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    return jnp.all(a <= b, axis=-1) & jnp.any(a < b, axis=-1)


def domination_matrix(
    objs: Float[Array, "P M"], valid: Bool[Array, "P"]
) -> Bool[Array, "P P"]:
    """Pairwise dominance among the valid points. Jittable; O(P^2 M).

    Args:
        objs: ``[P, M]`` objectives (minimised).
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[P, P]`` bool, ``[i, j]``: ``i`` dominates ``j`` and both are valid.
    """
    objs = jnp.asarray(objs)
    ok = _usable(objs, valid)
    le = jnp.all(objs[:, None, :] <= objs[None, :, :], axis=-1)
    lt = jnp.any(objs[:, None, :] < objs[None, :, :], axis=-1)
    return le & lt & ok[:, None] & ok[None, :]


def non_dominated(
    objs: Float[Array, "P M"], valid: Bool[Array, "P"]
) -> Bool[Array, "P"]:
    """The first front: valid points that no valid point dominates. Jittable.

    Args:
        objs: ``[P, M]`` objectives (minimised).
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[P]`` bool; duplicates of a non-dominated point are all non-dominated.
    """
    objs = jnp.asarray(objs)
    ok = _usable(objs, valid)
    return ok & ~jnp.any(domination_matrix(objs, ok), axis=0)


def pareto_ranks(objs: Float[Array, "P M"], valid: Bool[Array, "P"]) -> Int[Array, "P"]:
    """Non-dominated sorting: the index of each point's front. Jittable.

    Peels fronts off the domination matrix in a ``lax.while_loop``: O(P^2 M) time to
    build the matrix plus O(P^2) per front, O(P^2) memory.

    Args:
        objs: ``[P, M]`` objectives (minimised).
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[P]`` int32: 0 for the first front, 1 for the second, ...; equal points share
        a rank; invalid points get ``P`` (worse than any front).
    """
    objs = jnp.asarray(objs)
    num_points = objs.shape[0]
    ok = _usable(objs, valid)
    dom = domination_matrix(objs, ok)

    def cond(carry):
        _, remaining, front_index = carry
        return jnp.any(remaining) & (front_index < num_points)

    def body(carry):
        ranks, remaining, front_index = carry
        dominated = jnp.any(dom & remaining[:, None], axis=0)
        front = remaining & ~dominated
        return (
            jnp.where(front, front_index, ranks),
            remaining & ~front,
            front_index + 1,
        )

    ranks = jnp.full(num_points, num_points, jnp.int32)
    ranks, _, _ = jax.lax.while_loop(cond, body, (ranks, ok, jnp.int32(0)))
    return ranks


def crowding_distance(
    objs: Float[Array, "P M"], ranks: Int[Array, "P"], valid: Bool[Array, "P"]
) -> Float[Array, "P"]:
    """NSGA-II crowding distance within each front. Jittable; O(M P log P).

    For each objective, the points of a front (same rank) are sorted by value, ties
    broken by index; the two ends of the front get ``+inf`` and every other point adds
    ``(next - previous) / (front max - front min)``, or 0 when the front's range in
    that objective is zero or not finite. Fronts of one or two points are all ``+inf``.

    Args:
        objs: ``[P, M]`` objectives (minimised).
        ranks: ``[P]`` front of each point, e.g. from :func:`pareto_ranks`.
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[P]`` distances, ``+inf`` at the ends of each front, ``-inf`` for invalid
        points (so they sort last by descending distance).
    """
    objs = jnp.asarray(objs)
    num_points, num_objs = objs.shape
    ok = _usable(objs, valid)
    num_groups = num_points + 1
    group = jnp.where(ok, jnp.clip(ranks, 0, num_points - 1), num_points)
    group = group.astype(jnp.int32)
    values = jnp.where(ok[:, None], objs, 0.0)
    index = jnp.arange(num_points, dtype=jnp.int32)
    low = jax.ops.segment_min(values, group, num_segments=num_groups)
    high = jax.ops.segment_max(values, group, num_segments=num_groups)
    span = (high - low)[group]  # [P, M]

    def one_objective(column, span_column):
        g, v, i = jax.lax.sort((group, column, index), num_keys=3)
        s = span_column[i]
        has_prev = jnp.concatenate([jnp.zeros(1, bool), g[1:] == g[:-1]])
        has_next = jnp.concatenate([g[:-1] == g[1:], jnp.zeros(1, bool)])
        gap = jnp.roll(v, -1) - jnp.roll(v, 1)
        usable_span = (s > 0) & jnp.isfinite(s)
        share = jnp.where(usable_span, gap / jnp.where(usable_span, s, 1.0), 0.0)
        share = jnp.where(has_prev & has_next, share, jnp.inf)
        return jnp.zeros(num_points, share.dtype).at[i].set(share)

    if num_objs == 0 or num_points == 0:
        return jnp.where(ok, 0.0, -jnp.inf)
    shares = jax.vmap(one_objective, in_axes=(1, 1))(values, span)  # [M, P]
    return jnp.where(ok, jnp.sum(shares, axis=0), -jnp.inf)


# ---------------------------------------------------------------- hypervolume
def _in_box(objs, reference, valid):
    """Valid points strictly better than ``reference`` in every objective."""
    return _usable(objs, valid) & jnp.all(objs < reference, axis=-1)


def _staircase_area(x, y, ref_x, ref_y):
    """Area dominated by points sorted by ``x``; a point at ``y = ref_y`` adds none."""
    widths = jnp.diff(x, append=ref_x[None])
    heights = ref_y - jax.lax.cummin(y)
    return jnp.sum(widths * heights)


def hypervolume_2d(
    objs: Float[Array, "P 2"], reference: Float[Array, "2"], valid: Bool[Array, "P"]
) -> Float[Array, ""]:
    """Exact area dominated by the valid points, bounded by ``reference``. Jittable.

    Sort by the first objective, then a running minimum of the second: O(P log P).

    Args:
        objs: ``[P, 2]`` objectives (minimised).
        reference: ``[2]`` reference (nadir) point.
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[]`` hypervolume; points not strictly better than ``reference`` in both
        objectives add nothing.
    """
    objs = jnp.asarray(objs)
    reference = jnp.asarray(reference, objs.dtype)
    inside = _in_box(objs, reference, valid)
    x = jnp.where(inside, objs[:, 0], reference[0])
    y = jnp.where(inside, objs[:, 1], reference[1])
    x, y = jax.lax.sort((x, y), num_keys=1)
    return _staircase_area(x, y, reference[0], reference[1])


def hypervolume_3d(
    objs: Float[Array, "P 3"], reference: Float[Array, "3"], valid: Bool[Array, "P"]
) -> Float[Array, ""]:
    """Exact volume dominated by the valid points, bounded by ``reference``. Jittable.

    Slices along the third objective: the slab between consecutive third-objective
    values has the 2-D area of the points below it, each area an O(P) staircase over
    one shared sort by the first objective. O(P^2) time, O(256 P) memory.

    Args:
        objs: ``[P, 3]`` objectives (minimised).
        reference: ``[3]`` reference (nadir) point.
        valid: ``[P]`` mask; points with a NaN objective count as invalid.

    Returns:
        ``[]`` hypervolume; points not strictly better than ``reference`` in every
        objective add nothing.
    """
    objs = jnp.asarray(objs)
    num_points = objs.shape[0]
    reference = jnp.asarray(reference, objs.dtype)
    if num_points == 0:
        return jnp.zeros((), objs.dtype)
    inside = _in_box(objs, reference, valid)
    pts = jnp.where(inside[:, None], objs, reference)
    # Position of each point in the sweep along the third objective.
    z_sorted, z_order = jax.lax.sort(
        (pts[:, 2], jnp.arange(num_points, dtype=jnp.int32)), num_keys=1
    )
    z_position = (
        jnp.zeros(num_points, jnp.int32)
        .at[z_order]
        .set(jnp.arange(num_points, dtype=jnp.int32))
    )
    thickness = jnp.diff(z_sorted, append=reference[2][None])  # [P]
    # One sort by the first objective shared by every slab.
    x, y, position = jax.lax.sort((pts[:, 0], pts[:, 1], z_position), num_keys=1)

    def slab_area(k):
        y_k = jnp.where(position <= k, y, reference[1])
        return _staircase_area(x, y_k, reference[0], reference[1])

    slabs = jnp.arange(num_points, dtype=jnp.int32)
    areas = jax.lax.map(slab_area, slabs, batch_size=min(num_points, _HV3D_BATCH))
    return jnp.sum(areas * thickness)


def hypervolume(
    objs: Float[Array, "P M"], reference: Float[Array, "M"], valid: Bool[Array, "P"]
) -> Float[Array, ""]:
    """Exact hypervolume for ``M = 2`` or ``3`` (static). Jittable.

    Raises:
        ValueError: for any other number of objectives.
    """
    num_objs = objs.shape[-1]
    if num_objs == 2:
        return hypervolume_2d(objs, reference, valid)
    if num_objs == 3:
        return hypervolume_3d(objs, reference, valid)
    raise ValueError(f"exact hypervolume supports 2 or 3 objectives, got {num_objs}")


# ------------------------------------------------------------------ distances
def _mean_min_distance(distance, points, valid, reference_front, reference_valid):
    points, reference_front = jnp.asarray(points), jnp.asarray(reference_front)
    ok = _usable(points, valid)
    ref_ok = _usable(reference_front, reference_valid)
    d = distance(reference_front[:, None, :], points[None, :, :])  # [R, P]
    nearest = jnp.min(jnp.where(ok[None, :], d, jnp.inf), axis=1, initial=jnp.inf)
    total = jnp.sum(jnp.where(ref_ok, nearest, 0.0))
    return total / jnp.sum(ref_ok)


def igd(
    points: Float[Array, "P M"],
    valid: Bool[Array, "P"],
    reference_front: Float[Array, "R M"],
    reference_valid: Bool[Array, "R"],
) -> Float[Array, ""]:
    """Inverted generational distance. Jittable; O(R P M).

    Args:
        points: ``[P, M]`` approximation set (minimised).
        valid: ``[P]`` mask; points with a NaN objective count as invalid.
        reference_front: ``[R, M]`` reference front (minimised).
        reference_valid: ``[R]`` mask of the reference front.

    Returns:
        ``[]`` mean over valid reference points of the Euclidean distance to the
        nearest valid point; ``inf`` with no valid point, NaN with no valid reference
        point.
    """

    def euclidean(z, a):
        return jnp.sqrt(jnp.sum((a - z) ** 2, axis=-1))

    return _mean_min_distance(
        euclidean, points, valid, reference_front, reference_valid
    )


def igd_plus(
    points: Float[Array, "P M"],
    valid: Bool[Array, "P"],
    reference_front: Float[Array, "R M"],
    reference_valid: Bool[Array, "R"],
) -> Float[Array, ""]:
    """IGD+ (Ishibuchi et al. 2015), weakly Pareto-compliant. Jittable; O(R P M).

    Like :func:`igd` with ``d+(z, a) = sqrt(sum_i max(a_i - z_i, 0)^2)`` from
    reference point ``z`` to point ``a`` (minimisation): only the objectives where
    ``a`` is worse than ``z`` count.

    Returns:
        ``[]``; ``inf`` with no valid point, NaN with no valid reference point.
    """

    def plus(z, a):
        return jnp.sqrt(jnp.sum(jnp.maximum(a - z, 0.0) ** 2, axis=-1))

    return _mean_min_distance(plus, points, valid, reference_front, reference_valid)


def normalise(
    objs: Float[Array, "P M"],
    valid: Bool[Array, "P"],
    ideal: Float[Array, "M"] | None = None,
    nadir: Float[Array, "M"] | None = None,
) -> Float[Array, "P M"]:
    """Maps ``ideal`` to 0 and ``nadir`` to 1 in each objective. Jittable.

    Args:
        objs: ``[P, M]`` objectives (minimised).
        valid: ``[P]`` mask; points with a NaN objective count as invalid.
        ideal: ``[M]``; default the valid points' minimum.
        nadir: ``[M]``; default the valid points' maximum.

    Returns:
        ``[P, M]``; an objective with ``nadir == ideal`` is only shifted; invalid
        rows are returned unchanged.
    """
    objs = jnp.asarray(objs)
    ok = _usable(objs, valid)
    if ideal is None:
        ideal = jnp.min(jnp.where(ok[:, None], objs, jnp.inf), axis=0)
    if nadir is None:
        nadir = jnp.max(jnp.where(ok[:, None], objs, -jnp.inf), axis=0)
    span = nadir - ideal
    span = jnp.where((span > 0) & jnp.isfinite(span), span, 1.0)
    return jnp.where(ok[:, None], (objs - ideal) / span, objs)


# ------------------------------------------------------------------ host-side
def minimisation_signs(columns: Sequence[str]) -> np.ndarray:
    """``[M]`` float32: -1 for higher-is-better columns (accuracies), +1 otherwise.

    ``values * minimisation_signs(columns)`` turns natural values into minimised
    objectives (and back). Host-side.
    """
    return np.array(
        [-1.0 if higher_is_better(c) else 1.0 for c in columns], dtype=np.float32
    )


def _front_mask(objs: np.ndarray) -> np.ndarray:
    """Exact non-dominated mask of ``[A, M]`` finite minimised points. Host-side.

    Sweeps the points in lexicographic order (a dominator always comes first), so
    each point is checked against the front found so far: O(A log A + A F M) for a
    front of ``F`` points.
    """
    num_rows, num_objs = objs.shape
    order = np.lexsort(objs.T[::-1])
    front = np.empty((0, num_objs), objs.dtype)
    keep = np.zeros(num_rows, bool)
    for row in order:
        point = objs[row]
        if len(front) and np.any(
            np.all(front <= point, axis=1) & np.any(front < point, axis=1)
        ):
            continue
        keep[row] = True
        front = np.concatenate([front, point[None]])
    return keep


def table_front(table: Table, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The exact Pareto front of a whole table. Host-side.

    Each column is oriented by :func:`nasjax.data.higher_is_better` (accuracies are
    maximised, everything else minimised). Rows with NaN in any column are excluded.

    Args:
        table: a :class:`nasjax.data.Table`.
        columns: the ``M`` objective columns (row or additive columns).

    Returns:
        ``(archs, values)``: ``[K, S]`` int32 architectures of the front and their
        ``[K, M]`` values in the columns' natural units (not negated), sorted by the
        minimised objectives lexicographically. Rows with equal values are all kept.
    """
    columns = list(columns)
    if not columns:
        raise ValueError("table_front needs at least one column")
    values = np.stack([np.asarray(table.values(c)) for c in columns], axis=1)
    archs = np.asarray(table.archs)
    keep = ~np.any(np.isnan(values), axis=1)
    archs, values = archs[keep], values[keep]
    signed = values.astype(np.float64) * minimisation_signs(columns)
    on_front = _front_mask(signed)
    archs, values, signed = archs[on_front], values[on_front], signed[on_front]
    order = np.lexsort(signed.T[::-1])
    return archs[order].astype(np.int32), values[order]

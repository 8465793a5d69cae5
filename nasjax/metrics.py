"""Predictor metrics over masked vectors: rank correlations (Kendall's tau-b,
Spearman's rho), precision of the top-k, regret of the predicted best, and the share
of predictions within a relative tolerance (BRP-NAS's +-1/5/10/20% accuracy).

All take a fixed ``N`` with an optional ``valid: Bool[N]`` mask instead of filtering,
so they jit and vmap; an entry with a NaN in ``x`` or ``y`` counts as invalid. Only
pairs (Kendall) or entries (Spearman) that are valid in both vectors count.

Shape letter: ``N`` entries (e.g. the rows of a benchmark table).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

__all__ = [
    "kendall_tau",
    "precision_at_k",
    "regret_at_k",
    "spearman_rho",
    "within_tolerance",
]

# Rows of the pairwise sign matrix evaluated at once: memory O(_KENDALL_BLOCK * N).
_KENDALL_BLOCK = 256


def _usable(x, y, valid) -> Bool[Array, "N"]:
    ok = ~(jnp.isnan(x) | jnp.isnan(y))
    return ok if valid is None else ok & jnp.asarray(valid, bool)


def kendall_tau(
    x: Float[Array, "N"],
    y: Float[Array, "N"],
    valid: Bool[Array, "N"] | None = None,
    *,
    block_size: int = _KENDALL_BLOCK,
) -> Float[Array, ""]:
    """Kendall's tau-b over the entries valid in both vectors. Jittable.

    ``tau_b = (C - D) / sqrt((n0 - n1) (n0 - n2))``: ``C``/``D`` concordant/discordant
    pairs, ``n0`` pairs, ``n1``/``n2`` pairs tied in ``x``/``y``. All ``N^2`` pairs
    are visited, ``block_size`` rows of the sign matrix at a time (``lax.map``), so
    time is O(N^2) and memory O(block_size N): ``N = 15,625`` fits easily.

    Args:
        x: ``[N]`` values.
        y: ``[N]`` values.
        valid: ``[N]`` mask (default all); entries with a NaN count as invalid.
        block_size: rows per block (static).

    Returns:
        ``[]`` float32 in ``[-1, 1]``; NaN when fewer than two valid entries remain or
        either vector is constant over them.
    """
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    ok = _usable(x, y, valid)
    num = x.shape[0]
    if num == 0:
        return jnp.float32(jnp.nan)
    block = max(1, min(block_size, num))
    num_blocks = -(-num // block)
    pad = num_blocks * block - num
    xs = jnp.pad(x, (0, pad)).reshape(num_blocks, block)
    ys = jnp.pad(y, (0, pad)).reshape(num_blocks, block)
    oks = jnp.pad(ok, (0, pad)).reshape(num_blocks, block)  # padding is invalid

    def one_block(args):
        xb, yb, okb = args  # [b]
        pair = okb[:, None] & ok[None, :]  # [b, N]; i == j gives sign 0 below
        sx = jnp.where(pair, jnp.sign(xb[:, None] - x[None, :]), 0.0).astype(jnp.int32)
        sy = jnp.where(pair, jnp.sign(yb[:, None] - y[None, :]), 0.0).astype(jnp.int32)
        sums = jnp.stack([jnp.sum(sx * sy), jnp.sum(jnp.abs(sx)), jnp.sum(jnp.abs(sy))])
        return sums.astype(jnp.float32)  # per-block counts are exact in int32

    # Ordered pairs: every count is twice the unordered one, which cancels.
    concord, untied_x, untied_y = jnp.sum(jax.lax.map(one_block, (xs, ys, oks)), axis=0)
    denominator = jnp.sqrt(untied_x) * jnp.sqrt(untied_y)
    return jnp.where(denominator > 0, concord / denominator, jnp.nan)


def _average_ranks(values: Float[Array, "N"], ok: Bool[Array, "N"]) -> Array:
    """1-based ranks among the valid entries, ties sharing their average rank."""
    num_valid = jnp.sum(ok)
    ordered = jnp.sort(jnp.where(ok, values, jnp.inf))  # invalid entries sort last
    less = jnp.searchsorted(ordered, values, side="left")
    less_or_equal = jnp.minimum(
        jnp.searchsorted(ordered, values, side="right"), num_valid
    )
    return less + (less_or_equal - less + 1) / 2.0


def spearman_rho(
    x: Float[Array, "N"],
    y: Float[Array, "N"],
    valid: Bool[Array, "N"] | None = None,
) -> Float[Array, ""]:
    """Spearman's rho (Pearson correlation of average ranks). Jittable; O(N log N).

    Args:
        x: ``[N]`` values.
        y: ``[N]`` values.
        valid: ``[N]`` mask (default all); entries with a NaN count as invalid.

    Returns:
        ``[]`` float32 in ``[-1, 1]``; NaN when fewer than two valid entries remain or
        either vector is constant over them.
    """
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    ok = _usable(x, y, valid)
    if x.shape[0] == 0:
        return jnp.float32(jnp.nan)
    rank_x = _average_ranks(x, ok)
    rank_y = _average_ranks(y, ok)
    count = jnp.maximum(jnp.sum(ok), 1)

    def centred(rank):
        mean = jnp.sum(jnp.where(ok, rank, 0.0)) / count
        return jnp.where(ok, rank - mean, 0.0)

    cx, cy = centred(rank_x), centred(rank_y)
    denominator = jnp.sqrt(jnp.sum(cx * cx)) * jnp.sqrt(jnp.sum(cy * cy))
    return jnp.where(denominator > 0, jnp.sum(cx * cy) / denominator, jnp.nan)


def _top_k_mask(values, ok, k: int):
    """``[N]`` mask of the ``k`` largest valid entries (ties broken by position)."""
    order = jnp.argsort(jnp.where(ok, -values, jnp.inf), stable=True)
    return jnp.zeros(values.shape, bool).at[order[:k]].set(True) & ok


def precision_at_k(
    predicted: Float[Array, "N"],
    true: Float[Array, "N"],
    k: int,
    valid: Bool[Array, "N"] | None = None,
) -> Float[Array, ""]:
    """Share of the ``k`` predicted-best entries that are among the ``k`` truly best.

    Higher is better in both vectors (negate latencies). ``k`` is static. Jittable.
    """
    predicted = jnp.asarray(predicted, jnp.float32)
    true = jnp.asarray(true, jnp.float32)
    ok = _usable(predicted, true, valid)
    hits = _top_k_mask(predicted, ok, k) & _top_k_mask(true, ok, k)
    return jnp.sum(hits) / jnp.maximum(jnp.minimum(jnp.sum(ok), k), 1)


def regret_at_k(
    predicted: Float[Array, "N"],
    true: Float[Array, "N"],
    k: int = 1,
    valid: Bool[Array, "N"] | None = None,
) -> Float[Array, ""]:
    """Best true value overall minus the best true value among the ``k`` predicted
    best (0: the predictor's top-k holds the optimum). Higher is better. Jittable.
    """
    predicted = jnp.asarray(predicted, jnp.float32)
    true = jnp.asarray(true, jnp.float32)
    ok = _usable(predicted, true, valid)
    best = jnp.max(jnp.where(ok, true, -jnp.inf))
    chosen = jnp.max(jnp.where(_top_k_mask(predicted, ok, k), true, -jnp.inf))
    return best - chosen


def within_tolerance(
    predicted: Float[Array, "N"],
    true: Float[Array, "N"],
    tolerance: float,
    valid: Bool[Array, "N"] | None = None,
) -> Float[Array, ""]:
    """Share of entries whose true value lies within ``+-tolerance`` of the prediction
    (``(1 - t) p <= y <= (1 + t) p``, BRP-NAS's latency accuracy). Jittable.
    """
    predicted = jnp.asarray(predicted, jnp.float32)
    true = jnp.asarray(true, jnp.float32)
    ok = _usable(predicted, true, valid)
    low = (1.0 - tolerance) * predicted
    high = (1.0 + tolerance) * predicted
    inside = (true >= jnp.minimum(low, high)) & (true <= jnp.maximum(low, high))
    return jnp.sum(inside & ok) / jnp.maximum(jnp.sum(ok), 1)

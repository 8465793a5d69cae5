"""Rank correlations against brute-force pure-Python/NumPy definitions."""

import functools
import itertools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import metrics

NUM_CASES = 30


def ref_kendall(x, y):
    """tau-b by enumerating every pair."""
    n0 = n1 = n2 = score = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        n0 += 1
        n1 += dx == 0
        n2 += dy == 0
        score += dx * dy
    denominator = math.sqrt((n0 - n1) * (n0 - n2))
    return score / denominator if denominator > 0 else math.nan


def ref_average_ranks(values):
    ranks = np.empty(len(values))
    for i, v in enumerate(values):
        less = sum(w < v for w in values)
        equal = sum(w == v for w in values)
        ranks[i] = less + (equal + 1) / 2
    return ranks


def ref_spearman(x, y):
    rx, ry = ref_average_ranks(x), ref_average_ranks(y)
    cx, cy = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(np.sum(cx * cx) * np.sum(cy * cy))
    return float(np.sum(cx * cy) / denominator) if denominator > 0 else math.nan


def random_case(rng):
    """Small vectors with many ties, some NaNs and a random mask."""
    n = int(rng.integers(2, 14))
    x = rng.integers(0, 4, n).astype(np.float32)
    y = (x * rng.choice([-1, 0, 1]) + rng.integers(0, 3, n)).astype(np.float32)
    x[rng.random(n) < 0.1] = np.nan
    y[rng.random(n) < 0.1] = np.nan
    valid = rng.random(n) < 0.85
    return x, y, valid


def reference(fn, x, y, valid):
    keep = valid & ~np.isnan(x) & ~np.isnan(y)
    if keep.sum() < 2:
        return math.nan
    return fn(x[keep].astype(np.float64), y[keep].astype(np.float64))


@pytest.mark.parametrize(
    "name, ref_fn",
    [("kendall_tau", ref_kendall), ("spearman_rho", ref_spearman)],
)
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_matches_brute_force(name, ref_fn, transform):
    fn = getattr(metrics, name)
    rng = np.random.default_rng(0)
    if name == "kendall_tau":  # tiny blocks: exercises the padding of the last one
        fn = functools.partial(fn, block_size=3)
    fn = transform(fn)
    for _ in range(NUM_CASES if transform is jax.jit else 8):
        x, y, valid = random_case(rng)
        got = float(fn(jnp.asarray(x), jnp.asarray(y), jnp.asarray(valid)))
        want = reference(ref_fn, x, y, valid)
        if math.isnan(want):
            assert math.isnan(got), (x, y, valid)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_agree_with_scipy_on_larger_input():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, 700).astype(np.float32)
    y = (x + rng.normal(0, 20, 700)).round().astype(np.float32)
    np.testing.assert_allclose(
        metrics.kendall_tau(x, y, block_size=64),
        stats.kendalltau(x, y).statistic,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        metrics.spearman_rho(x, y), stats.spearmanr(x, y).statistic, rtol=1e-5
    )


@pytest.mark.parametrize("fn", [metrics.kendall_tau, metrics.spearman_rho])
def test_perfect_and_reversed_orders(fn):
    x = jnp.arange(40.0) ** 2
    chex.assert_trees_all_close(fn(x, 3 * x + 1), 1.0, atol=1e-6)
    chex.assert_trees_all_close(fn(x, -x), -1.0, atol=1e-6)


@pytest.mark.parametrize("fn", [metrics.kendall_tau, metrics.spearman_rho])
def test_invalid_entries_never_matter(fn):
    rng = np.random.default_rng(2)
    x = rng.normal(size=30).astype(np.float32)
    y = (x + rng.normal(size=30)).astype(np.float32)
    valid = rng.random(30) < 0.6
    base = fn(x, y, valid)
    x2, y2 = x.copy(), y.copy()
    x2[~valid] = rng.normal(size=(~valid).sum()) * 100
    y2[~valid] = np.nan
    chex.assert_trees_all_close(fn(x2, y2, valid), base, atol=1e-6)
    chex.assert_trees_all_close(fn(x[valid], y[valid]), base, atol=1e-6)


@pytest.mark.parametrize("fn", [metrics.kendall_tau, metrics.spearman_rho])
def test_degenerate_inputs_are_nan(fn):
    assert np.isnan(fn(jnp.ones(5), jnp.arange(5.0)))
    assert np.isnan(fn(jnp.arange(5.0), jnp.arange(5.0), jnp.arange(5) == 0))


def test_vmap_over_columns():
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(3, 20)).astype(np.float32)
    y = rng.normal(size=20).astype(np.float32)
    got = jax.vmap(metrics.kendall_tau, in_axes=(0, None))(xs, y)
    want = [ref_kendall(x.astype(np.float64), y.astype(np.float64)) for x in xs]
    chex.assert_trees_all_close(got, jnp.asarray(want, jnp.float32), atol=1e-6)

"""Few-shot latency prediction: a prior over op-wise costs, adapted in closed form.

The model. On the benchmark devices, latency (ms) is close to a sum of per-slot costs:
``latency(arch) ~ scale * features(arch) @ w`` with ``features`` a constant and the
indicator of each slot's choice other than its first (``D = 1 + sum(num_choices - 1)``;
the first choice is the reference, so ``w`` is identifiable), and ``w`` the device's
*op-wise costs* relative to its mean latency: its hardware embedding. Fitted on 900
architectures this additive form ranks NAS-Bench-201 latencies at Spearman 0.85-1.0
on the HELP devices (``benchmarks/RESULTS.md``).

Pre-training (:func:`pretrain`) fits ``w`` on every training device and keeps their
mean and covariance: a Gaussian **hardware prior** ``w ~ N(mean, cov)`` that says which
op costs move together across devices (a 3x3 conv costs more where a 1x1 conv does).
Analytic costs (FLOPs) add a direction to it: the op-wise costs of a cost proportional
to FLOPs, with std :data:`COST_PRIOR_STD` (it raised the meta-valid devices' mean rho
from 0.956 to 0.961 on NAS-Bench-201 and 0.951 to 0.959 on FBNet, and the figure hardly
moves between 0.1 and 1).

Adaptation (:func:`adapt`) to a new device from ``K`` measured architectures is exact
Bayesian linear regression under that prior (a Gaussian process with kernel
``features @ S @ features.T``), with ``S = prior_scale * cov + isotropic^2 I`` and a
relative noise ``noise``; those three are chosen per device by the marginal likelihood
of its ``K`` samples over a fixed grid (type-II maximum likelihood), so nothing is
tuned by hand per device. ``scale`` is the mean of the ``K`` measured latencies.
Everything is jittable and vmaps over devices, seeds and sample counts (samples are
masked, not filtered).

:func:`select` picks which ``K`` architectures to measure: greedily the one whose
latency the prior is least sure of, then conditions on it (a D-optimal design).

Shape letters: ``A`` table rows, ``S`` slots, ``D`` features, ``K`` samples, ``T``
training devices, ``N`` architectures to predict or choose from, ``G`` grid entries.
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from nasjax.spaces._base import SearchSpace

# Type-II maximum-likelihood grid (relative units: targets are latency / mean latency).
PRIOR_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # multiplies the prior covariance
ISOTROPIC_STDS = (0.003, 0.01, 0.03, 0.1)  # per-weight std beyond the prior's span
NOISE_STDS = (0.003, 0.01, 0.03, 0.1, 0.3)  # measurement noise std
# The design that :func:`select` uses (the grid's middle).
SELECT_HYPERPARAMETERS = (1.0, 0.01, 0.03)
RIDGE = 1e-3  # ridge of the per-device least squares in :func:`pretrain`
COST_PRIOR_STD = 0.3  # prior std along each analytic cost's direction (relative)


class HardwarePrior(NamedTuple):
    """A Gaussian prior over a device's relative op-wise costs ``w``."""

    mean: Float[Array, "D"]
    cov: Float[Array, "D D"]
    num_devices: Int[Array, ""]  # training devices it was fitted on


class Adapted(NamedTuple):
    """A predictor adapted to one device."""

    weights: Float[Array, "D"]  # relative op-wise costs: the device's embedding
    scale: Float[Array, ""]  # ms; the mean of the measured latencies
    hyperparameters: Float[Array, "3"]  # chosen (prior_scale, isotropic, noise)
    log_evidence: Float[Array, ""]  # of the samples under the chosen ones
    num_samples: Int[Array, ""]


def num_features(space: SearchSpace) -> int:
    """``D = 1 + sum(num_choices - 1)``."""
    return 1 + sum(c - 1 for c in space.num_choices)


def features(space: SearchSpace, archs: Int[Array, "... S"]) -> Float[Array, "... D"]:
    """A constant and, per slot, the one-hot of its choice without the first. Jittable.

    Args:
        space: the search space (static).
        archs: ``[..., S]`` architectures.

    Returns:
        ``[..., D]`` float32.
    """
    archs = jnp.asarray(archs)
    parts = [jnp.ones((*archs.shape[:-1], 1), jnp.float32)]
    for slot, choices in enumerate(space.num_choices):
        one_hot = jax.nn.one_hot(archs[..., slot], choices, dtype=jnp.float32)
        parts.append(one_hot[..., 1:])
    return jnp.concatenate(parts, axis=-1)


def _usable(latencies: Array, mask: Array | None) -> Bool[Array, "..."]:
    ok = jnp.isfinite(latencies) & (latencies > 0)
    return ok if mask is None else ok & jnp.asarray(mask, bool)


@functools.partial(jax.jit, static_argnames="space")
def pretrain(
    space: SearchSpace,
    archs: Int[Array, "A S"],
    latencies: Float[Array, "A T"],
    device_mask: Bool[Array, "T"] | None = None,
    row_mask: Bool[Array, "A T"] | None = None,
    costs: Float[Array, "A C"] | None = None,
) -> HardwarePrior:
    """The hardware prior from the latencies of ``T`` training devices. Jittable.

    Each device's costs are fitted by ridge least squares on its known rows (finite,
    positive, and in ``row_mask``), relative to its mean latency over them; the prior
    is their mean and covariance over the devices in ``device_mask``. vmap over
    ``device_mask`` for a leave-one-device-out grid.

    Args:
        space: the search space (static).
        archs: ``[A, S]`` architectures (the table's rows).
        latencies: ``[A, T]`` ms; NaN where unknown.
        device_mask: ``[T]`` devices to pre-train on (default all).
        row_mask: ``[A, T]`` rows each device may use (default all known).
        costs: ``[A, C]`` analytic costs of the rows (e.g. FLOPs), each adding its
            direction to the prior; rows with a NaN cost are ignored.

    Returns:
        A :class:`HardwarePrior` with ``D = num_features(space)``.
    """
    x = features(space, archs)
    ok = _usable(latencies, row_mask)
    y = jnp.where(ok, latencies, 0.0)
    y = y / (jnp.sum(y, axis=0) / jnp.maximum(ok.sum(axis=0), 1))

    def fit(y_device, ok_device):
        xw = x * ok_device[:, None]
        gram = xw.T @ x + RIDGE * jnp.eye(x.shape[1])
        return jnp.linalg.solve(gram, xw.T @ y_device)

    weights = jax.vmap(fit, in_axes=(1, 1))(y, ok)  # [T, D]
    use = ok.any(axis=0)
    if device_mask is not None:
        use = use & jnp.asarray(device_mask, bool)
    count = use.sum()
    mean = jnp.sum(weights * use[:, None], axis=0) / jnp.maximum(count, 1)
    centred = (weights - mean) * use[:, None]
    cov = centred.T @ centred / jnp.maximum(count - 1, 1)
    if costs is not None:
        costs = jnp.asarray(costs, jnp.float32).reshape(x.shape[0], -1)
        known = jnp.isfinite(costs)
        relative = jnp.where(known, costs, 0.0)
        relative = relative / (relative.sum(axis=0) / jnp.maximum(known.sum(axis=0), 1))
        directions = jax.vmap(fit, in_axes=(1, 1))(relative, known)  # [C, D]
        cov = cov + COST_PRIOR_STD**2 * directions.T @ directions
    return HardwarePrior(mean, cov, count)


def _grid() -> Float[Array, "G 3"]:
    return jnp.asarray(
        list(itertools.product(PRIOR_SCALES, ISOTROPIC_STDS, NOISE_STDS)), jnp.float32
    )


def _posterior(prior, x, residual, ok, hyperparameters):
    """Log evidence and posterior mean of ``w`` under one hyperparameter setting."""
    prior_scale, isotropic, noise = hyperparameters
    cov = prior_scale * prior.cov + isotropic**2 * jnp.eye(prior.cov.shape[0])
    okf = ok.astype(jnp.float32)
    gram = (x @ cov @ x.T) * okf[:, None] * okf[None, :]
    gram = gram + jnp.diag(okf * noise**2 + (1.0 - okf))  # masked samples: identity
    chol = jnp.linalg.cholesky(gram)
    alpha = jax.scipy.linalg.cho_solve((chol, True), residual)
    log_evidence = (
        -0.5 * residual @ alpha
        - jnp.sum(jnp.log(jnp.diag(chol)))
        - 0.5 * okf.sum() * jnp.log(2 * jnp.pi)
    )
    weights = prior.mean + cov @ (x.T @ (alpha * okf))
    return log_evidence, weights


@functools.partial(jax.jit, static_argnames="space")
def adapt(
    prior: HardwarePrior,
    space: SearchSpace,
    archs: Int[Array, "K S"],
    latencies: Float[Array, "K"],
    mask: Bool[Array, "K"] | None = None,
) -> Adapted:
    """Adapts the prior to a device from ``K`` measured architectures. Jittable.

    Samples that are masked out, NaN or non-positive are ignored, so a grid over
    ``K`` pads to the largest and masks; vmap over devices and seeds.

    Args:
        prior: from :func:`pretrain`.
        space: the search space (static).
        archs: ``[K, S]`` measured architectures.
        latencies: ``[K]`` their latencies (ms).
        mask: ``[K]`` samples to use (default all).

    Returns:
        An :class:`Adapted` predictor; :func:`predict` evaluates it.
    """
    ok = _usable(latencies, mask)
    count = ok.sum()
    scale = jnp.sum(jnp.where(ok, latencies, 0.0)) / jnp.maximum(count, 1)
    x = features(space, archs)
    target = jnp.where(ok, latencies / scale, 0.0)
    residual = jnp.where(ok, target - x @ prior.mean, 0.0)
    grid = _grid()
    evidence, weights = jax.vmap(lambda h: _posterior(prior, x, residual, ok, h))(grid)
    best = jnp.argmax(evidence)
    return Adapted(weights[best], scale, grid[best], evidence[best], count)


def predict(
    adapted: Adapted, space: SearchSpace, archs: Int[Array, "... S"]
) -> Float[Array, "..."]:
    """Predicted latency (ms) of ``archs`` on the adapted device. Jittable."""
    return features(space, archs) @ adapted.weights * adapted.scale


@functools.partial(jax.jit, static_argnames=("space", "k"))
def select(
    prior: HardwarePrior,
    space: SearchSpace,
    candidates: Int[Array, "N S"],
    k: int,
    candidate_mask: Bool[Array, "N"] | None = None,
) -> Int[Array, "k"]:
    """Which ``k`` candidates to measure: greedy maximum prior variance. Jittable.

    Each step takes the candidate whose relative latency the current posterior is
    least sure of and conditions on it (the variance does not depend on the measured
    value, so the whole design is chosen before measuring). Uses
    :data:`SELECT_HYPERPARAMETERS`.

    Args:
        prior: from :func:`pretrain`.
        space: the search space (static).
        candidates: ``[N, S]`` architectures to choose from.
        k: how many to choose (static), at most ``N``.
        candidate_mask: ``[N]`` candidates allowed (default all).

    Returns:
        ``[k]`` indices into ``candidates``, distinct.
    """
    prior_scale, isotropic, noise = SELECT_HYPERPARAMETERS
    x = features(space, candidates)
    cov = prior_scale * prior.cov + isotropic**2 * jnp.eye(prior.cov.shape[0])
    allowed = (
        jnp.ones(x.shape[0], bool)
        if candidate_mask is None
        else jnp.asarray(candidate_mask, bool)
    )

    def step(carry, _):
        cov, allowed = carry
        variance = jnp.einsum("nd,de,ne->n", x, cov, x)
        chosen = jnp.argmax(jnp.where(allowed, variance, -jnp.inf))
        direction = cov @ x[chosen]
        cov = cov - jnp.outer(direction, direction) / (variance[chosen] + noise**2)
        return (cov, allowed.at[chosen].set(False)), chosen

    _, chosen = jax.lax.scan(step, (cov, allowed), None, length=k)
    return chosen


def check_samples(
    space: SearchSpace, archs: np.ndarray, latencies: np.ndarray, k: int | None = None
) -> None:
    """Host-side checks of a user's measurements before adapting.

    Raises:
        ValueError: naming the problem: wrong shape, architectures outside the space,
            duplicates, NaN / infinite / non-positive latencies, fewer rows than ``k``.
    """
    archs = np.asarray(archs)
    latencies = np.asarray(latencies, dtype=np.float64)
    if archs.ndim != 2 or archs.shape[1] != space.num_slots:
        raise ValueError(
            f"architectures must be [K, {space.num_slots}] for {space.name}, "
            f"got shape {archs.shape}"
        )
    if latencies.shape != (archs.shape[0],):
        raise ValueError(
            f"{archs.shape[0]} architectures but {latencies.shape} latencies"
        )
    if not bool(np.all(np.asarray(space.is_valid(jnp.asarray(archs))))):
        raise ValueError(f"some architectures are not valid {space.name} architectures")
    if len(np.unique(archs, axis=0)) != len(archs):
        raise ValueError("the same architecture is measured twice")
    if not np.all(np.isfinite(latencies)):
        raise ValueError("latencies must be finite numbers (found NaN or inf)")
    if np.any(latencies <= 0):
        raise ValueError("latencies must be positive (ms)")
    if len(latencies) < 2:
        raise ValueError("at least 2 measured architectures are needed")
    if k is not None and len(latencies) < k:
        raise ValueError(f"{len(latencies)} measured architectures, fewer than {k}")

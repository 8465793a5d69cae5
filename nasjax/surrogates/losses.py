"""Losses of the predictors, masked so that padded models and pairs count for nothing.

Regression: :func:`l1` (BRP-NAS's unary loss, summed as in the reference) and
:func:`mse`. Pairwise: :func:`brp_kl`, BRP-NAS's binary-relation loss (KL divergence
from the soft target ``softmax([y_i, y_j])`` to the head's log-probabilities, summed),
and the ranking losses :func:`hinge` and :func:`logistic` over score differences.

Shape letters: ``B`` models, ``P`` pairs (any shape; masks broadcast).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

__all__ = ["PAIRWISE", "REGRESSION", "brp_kl", "hinge", "l1", "logistic", "mse"]


def _masked_sum(values, mask):
    return jnp.sum(jnp.where(mask, values, 0.0))


def l1(
    predicted: Float[Array, "B"], target: Float[Array, "B"], mask: Bool[Array, "B"]
) -> Float[Array, ""]:
    """Summed absolute error over the live models."""
    return _masked_sum(jnp.abs(predicted - target), mask)


def mse(
    predicted: Float[Array, "B"], target: Float[Array, "B"], mask: Bool[Array, "B"]
) -> Float[Array, ""]:
    """Summed squared error over the live models."""
    return _masked_sum(jnp.square(predicted - target), mask)


def brp_kl(
    margin: Float[Array, "P"],
    first: Float[Array, "P"],
    second: Float[Array, "P"],
    mask: Bool[Array, "P"],
) -> Float[Array, ""]:
    """BRP-NAS's loss: ``sum KL(softmax([y_1, y_2]) || softmax([l_0, l_1]))``.

    ``margin = l_0 - l_1`` is the head's logit difference (first model better when
    positive); ``first``/``second`` are the pair's normalised targets.
    """
    target = jax.nn.sigmoid(first - second)  # softmax([y_1, y_2])[0]
    log_p = jax.nn.log_sigmoid(margin)
    log_q = jax.nn.log_sigmoid(-margin)
    kl = jax.scipy.special.xlogy(target, target) - target * log_p
    kl = kl + jax.scipy.special.xlogy(1 - target, 1 - target) - (1 - target) * log_q
    return _masked_sum(kl, mask)


def hinge(
    margin: Float[Array, "P"],
    first: Float[Array, "P"],
    second: Float[Array, "P"],
    mask: Bool[Array, "P"],
    *,
    slack: float = 0.1,
) -> Float[Array, ""]:
    """Summed ``max(0, slack - sign(y_1 - y_2) margin)`` over untied pairs."""
    sign = jnp.sign(first - second)
    return _masked_sum(jax.nn.relu(slack - sign * margin), mask & (sign != 0))


def logistic(
    margin: Float[Array, "P"],
    first: Float[Array, "P"],
    second: Float[Array, "P"],
    mask: Bool[Array, "P"],
) -> Float[Array, ""]:
    """Summed ``log(1 + exp(-sign(y_1 - y_2) margin))`` over untied pairs."""
    sign = jnp.sign(first - second)
    return _masked_sum(jax.nn.softplus(-sign * margin), mask & (sign != 0))


REGRESSION = {"l1": l1, "mse": mse}
PAIRWISE = {"brp": brp_kl, "hinge": hinge, "logistic": logistic}

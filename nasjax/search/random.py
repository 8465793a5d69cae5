"""Random search: every round asks ``batch_size`` uniform samples of the space."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Int

from nasjax.search.strategy import Strategy
from nasjax.spaces._base import SearchSpace


class RandomState(NamedTuple):
    step: Int[Array, ""]


def random_search(
    space: SearchSpace, *, batch_size: int = 16, num_objectives: int = 1
) -> Strategy:
    """Uniform random sampling of valid architectures (no memory but a step count).

    ``num_objectives > 1`` makes it a multi-objective baseline (it ignores fitness).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")

    def init(key):
        del key
        return RandomState(step=jnp.int32(0))

    def ask(key, state):
        return space.sample(key, batch_size), state

    def tell(state, archs, fitness):
        del archs, fitness
        return RandomState(step=state.step + 1)

    return Strategy(init, ask, tell, batch_size, "random", num_objectives)

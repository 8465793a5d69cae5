"""Random search: every round asks ``batch_size`` uniform samples of the space."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Int

from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace


class RandomState(NamedTuple):
    step: Int[Array, ""]


@dataclasses.dataclass(frozen=True)
class RandomSettings(Settings):
    """Random search's settings (nothing traced).

    Attributes:
        batch_size: models asked a round.
        num_objectives: ``M``; ``M > 1`` makes it a multi-objective baseline (it
            ignores fitness, but is told ``[B, M]``).
    """

    batch_size: int = 16
    num_objectives: int = 1

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(
                f"batch_size must be a positive integer, got {self.batch_size}"
            )
        if self.num_objectives < 1:
            raise ValueError(f"num_objectives must be >= 1, got {self.num_objectives}")


def random_search(space: SearchSpace, **options) -> Strategy:
    """Uniform random sampling of valid architectures (no memory but a step count).

    Args:
        space: the search space.
        **options: the fields of :class:`RandomSettings`.
    """
    settings = configure(RandomSettings, "random", options)
    batch_size = settings.batch_size

    def init(key, params):
        del key, params
        return RandomState(step=jnp.int32(0))

    def ask(key, state, params):
        del params
        return space.sample(key, batch_size), state

    def tell(state, archs, fitness, params):
        del archs, fitness, params
        return RandomState(step=state.step + 1)

    return Strategy(
        init,
        ask,
        tell,
        batch_size,
        "random",
        settings.num_objectives,
        settings.params(),
        settings,
        space,
    )

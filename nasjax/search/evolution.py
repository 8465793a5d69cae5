"""Regularized evolution (aging evolution; Real et al., AAAI 2019).

The population is a FIFO of the last ``population_size`` evaluated architectures.
Until it is full, ``ask`` samples at random; then each child is a one-edit mutation of
the fittest of ``tournament_size`` members drawn at random, and ``tell`` replaces the
oldest members. NATS-Bench runs it on NAS-Bench-201 with population 10, sample 3 and
one child per round, the defaults here.

With ``num_objectives = M > 1`` (multi-objective REA) fitness is ``[B, M]`` and the
tournament picks the member of best Pareto rank within the population, then the
largest crowding distance (as NSGA-II's selection).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from nasjax.search.nsga2 import selection_key
from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace


class EvolutionState(NamedTuple):
    population: Int[Array, "P S"]
    fitness: Float[Array, "P ..."]  # [P] or [P, M]; +inf: empty, not evaluated
    birth: Int[Array, "P"]  # round of insertion; -1 = empty
    step: Int[Array, ""]


@dataclasses.dataclass(frozen=True)
class EvolutionSettings(Settings):
    """Regularized evolution's settings (nothing traced: all fix shapes).

    Attributes:
        population_size: ``P``, the FIFO's length (NATS-Bench: 10).
        tournament_size: members drawn (with replacement) per tournament (3).
        batch_size: children asked a round (1).
        num_objectives: ``M``; ``M > 1`` is multi-objective REA (``mo-rea``).
    """

    population_size: int = 10
    tournament_size: int = 3
    batch_size: int = 1
    num_objectives: int = 1

    def __post_init__(self):
        if not 1 <= self.tournament_size <= self.population_size:
            raise ValueError(
                "tournament_size must be in 1..population_size="
                f"{self.population_size}, got {self.tournament_size}"
            )
        if not 1 <= self.batch_size <= self.population_size:
            raise ValueError(
                f"batch_size must be in 1..{self.population_size}, "
                f"got {self.batch_size}"
            )
        if self.num_objectives < 1:
            raise ValueError(f"num_objectives must be >= 1, got {self.num_objectives}")


@dataclasses.dataclass(frozen=True)
class MultiObjectiveEvolutionSettings(EvolutionSettings):
    """As :class:`EvolutionSettings`, with ``num_objectives >= 2`` (default 2)."""

    num_objectives: int = 2

    def __post_init__(self):
        if self.num_objectives < 2:
            raise ValueError(f"need >= 2 objectives, got {self.num_objectives}")
        super().__post_init__()


def regularized_evolution(space: SearchSpace, **options) -> Strategy:
    """Regularized evolution over ``space``; fitness ``[B]`` or ``[B, M]`` (min).

    Args:
        space: the search space.
        **options: the fields of :class:`EvolutionSettings`.
    """
    return _evolution(space, configure(EvolutionSettings, "rea", options))


def multi_objective_evolution(space: SearchSpace, **options) -> Strategy:
    """Regularized evolution with a Pareto tournament over ``num_objectives >= 2``.

    Args:
        space: the search space.
        **options: the fields of :class:`MultiObjectiveEvolutionSettings`.
    """
    settings = configure(MultiObjectiveEvolutionSettings, "mo-rea", options)
    return _evolution(space, settings)


def _evolution(space: SearchSpace, settings: EvolutionSettings) -> Strategy:
    population_size = settings.population_size
    tournament_size = settings.tournament_size
    batch_size = settings.batch_size
    num_objectives = settings.num_objectives

    def fitness_shape(rows):
        return (rows,) if num_objectives == 1 else (rows, num_objectives)

    def init(key, params):
        del key, params
        return EvolutionState(
            population=jnp.zeros((population_size, space.num_slots), jnp.int32),
            fitness=jnp.full(fitness_shape(population_size), jnp.inf),
            birth=jnp.full((population_size,), -1, jnp.int32),
            step=jnp.int32(0),
        )

    def ask(key, state, params):
        del params
        sample_key, pick_key, mutate_key = jax.random.split(key, 3)
        filled = jnp.sum(state.birth >= 0)
        if num_objectives == 1:
            score = state.fitness
        else:
            valid = jnp.all(jnp.isfinite(state.fitness), axis=-1)
            score = selection_key(state.fitness, valid)[2]

        def tournament(key):
            # With replacement, as Real et al. (and NATS-Bench) draw the sample.
            members = jax.random.randint(key, (tournament_size,), 0, population_size)
            return state.population[members[jnp.argmin(score[members])]]

        parents = jax.vmap(tournament)(jax.random.split(pick_key, batch_size))
        children = jax.vmap(space.mutate)(
            jax.random.split(mutate_key, batch_size), parents
        )
        archs = jnp.where(
            filled < population_size, space.sample(sample_key, batch_size), children
        )
        return archs, state

    def tell(state, archs, fitness, params):
        del params
        chex.assert_shape(archs, (batch_size, space.num_slots))
        chex.assert_shape(fitness, fitness_shape(batch_size))
        oldest = jax.lax.top_k(-state.birth, batch_size)[1]
        return EvolutionState(
            population=state.population.at[oldest].set(archs),
            fitness=state.fitness.at[oldest].set(fitness),
            birth=state.birth.at[oldest].set(state.step),
            step=state.step + 1,
        )

    name = "rea" if num_objectives == 1 else "mo-rea"
    return Strategy(
        init,
        ask,
        tell,
        batch_size,
        name,
        num_objectives,
        settings.params(),
        settings,
        space,
    )

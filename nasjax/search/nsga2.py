"""NSGA-II (Deb et al., IEEE TEC 2002) as an ask/tell strategy over ``M`` objectives.

Each round asks ``batch_size`` children: two binary tournaments on (Pareto rank, then
crowding distance) pick the parents, uniform crossover mixes them and a one-edit
mutation follows. ``tell`` pools the population with the evaluated children and keeps
the best ``population_size`` by non-dominated sorting and crowding (environmental
selection). Until the first population is evaluated, ``ask`` samples at random.
``batch_size = population_size`` (the default) is the generational algorithm; smaller
batches give the steady-state variant. Fitness ``[B, M]`` is minimised; NaN or +inf
rows (not evaluated, infeasible) never enter the population while valid ones can.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from nasjax import pareto
from nasjax.search.strategy import (
    Settings,
    Strategy,
    configure,
    first_occurrence,
    seen_in,
)
from nasjax.spaces._base import SearchSpace


class NSGA2State(NamedTuple):
    population: Int[Array, "P S"]
    fitness: Float[Array, "P M"]  # +inf rows: empty slots
    rank: Int[Array, "P"]  # Pareto rank within the population (0 = front)
    crowding: Float[Array, "P"]  # crowding distance in the last selection's pool
    step: Int[Array, ""]


def selection_key(
    fitness: Float[Array, "P M"], valid: Bool[Array, "P"]
) -> tuple[Int[Array, "P"], Float[Array, "P"], Float[Array, "P"]]:
    """Pareto rank, crowding distance and one scalar to minimise that orders by both."""
    rank = pareto.pareto_ranks(fitness, valid)
    crowding = pareto.crowding_distance(fitness, rank, valid)
    return rank, crowding, order_key(rank, crowding, valid)


def order_key(
    rank: Int[Array, "P"], crowding: Float[Array, "P"], valid: Bool[Array, "P"]
) -> Float[Array, "P"]:
    """``rank + 0.5 / (1 + crowding)``: any lower rank wins, then a larger crowding
    distance; invalid points sort last."""
    spread = jnp.where(
        jnp.isposinf(crowding), 0.0, 0.5 / (1.0 + jnp.maximum(crowding, 0.0))
    )
    return jnp.where(valid, rank + spread, jnp.inf)


def _is_valid_fitness(fitness: Float[Array, "P M"]) -> Bool[Array, "P"]:
    return jnp.all(jnp.isfinite(fitness), axis=-1)


class NSGA2Params(NamedTuple):
    crossover_rate: float | Array  # share of children made by crossover


@dataclasses.dataclass(frozen=True)
class NSGA2Settings(Settings):
    """NSGA-II's settings; ``crossover_rate`` is traced (:class:`NSGA2Params`).

    Attributes:
        num_objectives: ``M >= 2`` minimised objectives.
        population_size: ``P >= 2``.
        batch_size: children a round, in 1..P (None: ``P``, the generational
            algorithm; fewer: steady-state).
        crossover_rate: probability a child is a crossover (then mutated), in [0, 1].
    """

    Params = NSGA2Params
    num_objectives: int = 2
    population_size: int = 20
    batch_size: int | None = None
    crossover_rate: float = 0.9

    def __post_init__(self):
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", self.population_size)
        if self.population_size < 2 or not 1 <= self.batch_size <= self.population_size:
            raise ValueError(
                "need population_size >= 2 and batch_size in 1..population_size, "
                f"got {self.population_size} and {self.batch_size}"
            )
        if self.num_objectives < 2:
            raise ValueError(
                f"NSGA-II needs >= 2 objectives, got {self.num_objectives}"
            )
        if not 0.0 <= self.crossover_rate <= 1.0:
            raise ValueError(
                f"crossover_rate must lie in [0, 1], got {self.crossover_rate}"
            )


def nsga2(space: SearchSpace, **options) -> Strategy:
    """NSGA-II over ``space`` for ``num_objectives`` minimised objectives.

    Args:
        space: the search space.
        **options: the fields of :class:`NSGA2Settings`.
    """
    settings = configure(NSGA2Settings, "nsga2", options)
    num_objectives = settings.num_objectives
    population_size = settings.population_size
    batch_size = settings.batch_size

    def init(key, params):
        del key, params
        return NSGA2State(
            population=jnp.zeros((population_size, space.num_slots), jnp.int32),
            fitness=jnp.full((population_size, num_objectives), jnp.inf),
            rank=jnp.full((population_size,), population_size, jnp.int32),
            crowding=jnp.zeros((population_size,)),
            step=jnp.int32(0),
        )

    def ask(key, state, params: NSGA2Params):
        sample_key, pick_key, cross_key, coin_key, mutate_key = jax.random.split(key, 5)
        # Rank and crowding from the last environmental selection, as in Deb et al.
        order = order_key(state.rank, state.crowding, _is_valid_fitness(state.fitness))

        def binary_tournament(key):
            a, b = jax.random.randint(key, (2,), 0, population_size)
            return jnp.where(order[a] <= order[b], a, b)

        parents = jax.vmap(binary_tournament)(
            jax.random.split(pick_key, 2 * batch_size)
        ).reshape(batch_size, 2)
        mothers, fathers = (
            state.population[parents[:, 0]],
            state.population[parents[:, 1]],
        )
        mixed = jax.vmap(space.crossover)(
            jax.random.split(cross_key, batch_size), mothers, fathers
        )
        crossed = jax.random.bernoulli(coin_key, params.crossover_rate, (batch_size, 1))
        children = jax.vmap(space.mutate)(
            jax.random.split(mutate_key, batch_size), jnp.where(crossed, mixed, mothers)
        )
        warm = jnp.any(_is_valid_fitness(state.fitness))
        return jnp.where(warm, children, space.sample(sample_key, batch_size)), state

    def tell(state, archs, fitness, params):
        del params
        chex.assert_shape(archs, (batch_size, space.num_slots))
        chex.assert_shape(fitness, (batch_size, num_objectives))
        # A child equal to a member or to an earlier child adds nothing: drop it.
        repeated = seen_in(
            archs, state.population, _is_valid_fitness(state.fitness)
        ) | ~first_occurrence(archs)
        fitness = jnp.where(repeated[:, None], jnp.inf, fitness)
        pool = jnp.concatenate([state.population, archs])
        pool_fitness = jnp.concatenate([state.fitness, fitness])
        rank, crowding, order = selection_key(
            pool_fitness, _is_valid_fitness(pool_fitness)
        )
        # Whole fronts are kept before any worse point, so every point that dominates a
        # kept one is kept too: pool ranks are the kept population's ranks.
        keep = jnp.argsort(order)[:population_size]
        return NSGA2State(
            pool[keep], pool_fitness[keep], rank[keep], crowding[keep], state.step + 1
        )

    return Strategy(
        init,
        ask,
        tell,
        batch_size,
        "nsga2",
        num_objectives,
        settings.params(),
        settings,
        space,
    )

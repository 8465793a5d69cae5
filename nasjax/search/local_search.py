"""Local search (White, Nolen-Dockery and others, "Local search is state of the art
for NAS benchmarks", 2020; naszilla's ``local_search``, NASLib's ``LocalSearch``).

One architecture per ask. A run starts with ``num_init`` random models and moves to
the best of them; then it queries the current model's one-edit neighbours
(``space.neighbours``, invalid ones skipped) in a random order and moves to the first
that is better (``first_improvement=True``, naszilla's default
``query_full_nbhd=False``), or, with ``first_improvement=False``, queries the whole
neighbourhood and moves to its best if that beats the current model. When no
neighbour is better (a local optimum) the search restarts from ``num_init`` fresh
random models (naszilla's ``stop_at_minimum=True``). Defaults are naszilla's
(``num_init=10``).

Re-queries are free in :func:`~nasjax.search.run` and told their value, so a
neighbour queried before is compared like a new one (naszilla skips it), and a random
restart model that was queried before counts towards ``num_init`` (naszilla draws
again). Fitness is minimised; NaN (not evaluated) never counts as better.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace


class LocalSearchState(NamedTuple):
    centre: Int[Array, "S"]  # the current model
    centre_fitness: Float[Array, ""]  # +inf until the first model is told
    best_neighbour: Int[Array, "S"]  # best of this scan (whole-neighbourhood mode)
    best_neighbour_fitness: Float[Array, ""]
    order: Int[Array, "E"]  # neighbour indices in query order, valid ones first
    num_valid: Int[Array, ""]  # valid neighbours of the centre
    position: Int[Array, ""]  # next neighbour to ask (scanning)
    num_random: Int[Array, ""]  # random models told in this start (< num_init)
    scanning: Bool[Array, ""]  # False: drawing the random start models
    step: Int[Array, ""]


@dataclasses.dataclass(frozen=True)
class LocalSearchSettings(Settings):
    """Local search's settings (nothing traced). It asks one model a round.

    Attributes:
        num_init: random models drawn at the start and at each restart; the search
            starts from the best of them (naszilla: 10).
        first_improvement: move to the first better neighbour (naszilla's default);
            False: query the whole neighbourhood, then move to its best.
    """

    num_init: int = 10
    first_improvement: bool = True

    def __post_init__(self):
        if self.num_init < 1:
            raise ValueError(
                f"num_init must be a positive integer, got {self.num_init}"
            )


def local_search(space: SearchSpace, **options) -> Strategy:
    """Local search over one-edit neighbourhoods, restarting at local optima.

    Args:
        space: the search space (its ``neighbours`` define the moves).
        **options: the fields of :class:`LocalSearchSettings`.

    Returns:
        A :class:`~nasjax.search.Strategy` asking one architecture a round.
    """
    settings = configure(LocalSearchSettings, "local-search", options)
    num_init = settings.num_init
    num_moves = space.num_neighbours

    def init(key, params):
        del key, params
        zeros = jnp.zeros((space.num_slots,), jnp.int32)
        return LocalSearchState(
            centre=zeros,
            centre_fitness=jnp.float32(jnp.inf),
            best_neighbour=zeros,
            best_neighbour_fitness=jnp.float32(jnp.inf),
            order=jnp.arange(num_moves, dtype=jnp.int32),
            num_valid=jnp.int32(0),
            position=jnp.int32(0),
            num_random=jnp.int32(0),
            scanning=jnp.bool_(False),
            step=jnp.int32(0),
        )

    def ask(key, state: LocalSearchState, params):
        del params
        sample_key, order_key = jax.random.split(key)
        neighbours, valid = space.neighbours(state.centre)
        # A new scan draws its random order (valid neighbours first).
        draw = jax.random.uniform(order_key, (num_moves,))
        fresh_order = jnp.argsort(jnp.where(valid, draw, 2.0)).astype(jnp.int32)
        new_scan = state.scanning & (state.position == 0)
        order = jnp.where(new_scan, fresh_order, state.order)
        num_valid = jnp.where(new_scan, jnp.sum(valid), state.num_valid)
        neighbour = neighbours[order[jnp.minimum(state.position, num_moves - 1)]]
        # No valid neighbour: re-ask the centre (free), and restart when told.
        neighbour = jnp.where(num_valid > 0, neighbour, state.centre)
        random_model = space.sample(sample_key, 1)[0]
        arch = jnp.where(state.scanning, neighbour, random_model)
        return arch[None], state._replace(
            order=order, num_valid=num_valid.astype(jnp.int32)
        )

    def tell(state: LocalSearchState, archs, fitness, params):
        del params
        chex.assert_shape(archs, (1, space.num_slots))
        chex.assert_shape(fitness, (1,))
        arch, value = archs[0], fitness[0]

        # Drawing the start models: keep the best; scan from it after num_init.
        better_start = value < state.centre_fitness
        start_centre = jnp.where(better_start, arch, state.centre)
        start_fitness = jnp.minimum(value, state.centre_fitness)
        num_random = state.num_random + 1
        start_done = num_random >= num_init

        # Scanning: first or best improvement.
        improved = value < state.centre_fitness
        best_neighbour_better = value < state.best_neighbour_fitness
        best_neighbour = jnp.where(best_neighbour_better, arch, state.best_neighbour)
        best_neighbour_fitness = jnp.minimum(value, state.best_neighbour_fitness)
        position = state.position + 1
        scan_done = position >= state.num_valid
        if settings.first_improvement:
            move = improved
            moved_to, moved_fitness = arch, value
        else:
            move = scan_done & (best_neighbour_fitness < state.centre_fitness)
            moved_to, moved_fitness = best_neighbour, best_neighbour_fitness
        restart = ~move & scan_done  # a local optimum
        rescan = move | restart

        scanning = jnp.where(state.scanning, ~restart, start_done)
        centre = jnp.where(
            state.scanning, jnp.where(move, moved_to, state.centre), start_centre
        )
        scan_fitness = jnp.where(restart, jnp.inf, state.centre_fitness)
        centre_fitness = jnp.where(
            state.scanning, jnp.where(move, moved_fitness, scan_fitness), start_fitness
        )
        return LocalSearchState(
            centre=centre,
            centre_fitness=centre_fitness,
            best_neighbour=jnp.where(state.scanning & ~rescan, best_neighbour, arch),
            best_neighbour_fitness=jnp.where(
                state.scanning & ~rescan, best_neighbour_fitness, jnp.inf
            ),
            order=state.order,
            num_valid=state.num_valid,
            position=jnp.where(state.scanning & ~rescan, position, 0),
            num_random=jnp.where(state.scanning | start_done, 0, num_random),
            scanning=scanning,
            step=state.step + 1,
        )

    return Strategy(
        init, ask, tell, 1, "local-search", 1, settings.params(), settings, space
    )

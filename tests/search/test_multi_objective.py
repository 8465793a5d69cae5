"""Multi-objective strategies: NSGA-II's selection, MO-REA's tournament, quality."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import pareto, search
from nasjax.data import Table

COLUMNS = ("toy/acc", "toy/latency")


@pytest.fixture(scope="module")
def conflicting_table(nb201_space):
    """Accuracy and latency both grow with the op indices: a real trade-off."""
    rng = np.random.default_rng(0)
    archs = np.asarray(nb201_space.from_index(np.arange(15625)))
    size = archs.sum(axis=1).astype(float)
    acc = size + rng.normal(0, 1.0, 15625)
    latency = size + (archs == 3).sum(axis=1) + rng.normal(0, 1.0, 15625)
    return Table.from_rows(nb201_space, archs, {"toy/acc": acc, "toy/latency": latency})


def test_nsga2_environmental_selection_keeps_the_front(nb201_space, key):
    strategy = search.nsga2(nb201_space, population_size=4, batch_size=4)
    archs = nb201_space.from_index(jnp.arange(4) * 7)
    state = strategy.tell(
        strategy.init(key), archs, jnp.array([[4.0, 4], [5, 5], [6, 6], [7, 7]])
    )
    children = nb201_space.from_index(jnp.arange(4) * 7 + 1)
    # Two children join the front; one duplicates a member; one is infeasible.
    children = children.at[2].set(archs[0])
    fitness = jnp.array([[1.0, 9], [9, 1], [0, 0], [jnp.inf, jnp.inf]])
    state = strategy.tell(state, children, fitness)
    kept = {tuple(a) for a in np.asarray(state.population).tolist()}
    assert tuple(children[0].tolist()) in kept and tuple(children[1].tolist()) in kept
    assert tuple(archs[0].tolist()) in kept  # front member [4, 4] stays
    assert tuple(children[3].tolist()) not in kept
    assert np.isfinite(np.asarray(state.fitness)).all()
    # The duplicate did not enter with its (better) fitness.
    assert not np.any(np.all(np.asarray(state.fitness) == [0.0, 0.0], axis=1))
    np.testing.assert_array_equal(np.sort(np.asarray(state.rank)), [0, 0, 0, 1])


def test_mo_rea_tournament_favours_the_dominating_member(nb201_space, key):
    strategy = search.multi_objective_evolution(
        nb201_space, population_size=4, tournament_size=4, batch_size=4
    )
    archs = jnp.repeat(jnp.arange(4)[:, None], 6, axis=1)  # 6 edits apart
    fitness = jnp.array([[1.0, 1], [2, 2], [3, 3], [2, 4]])  # member 0 dominates
    state = strategy.tell(strategy.init(key), archs, fitness)
    ask = jax.jit(strategy.ask)
    children = jnp.concatenate(
        [ask(k, state)[0] for k in jax.random.split(jax.random.key(3), 50)]
    )
    parent = np.argmin(
        np.sum(np.asarray(children)[:, None] != np.asarray(archs)[None], axis=-1),
        axis=1,
    )
    # A tournament of 4 drawn with replacement holds member 0 with probability
    # 1 - (3/4)^4 = 0.68 and then always picks it; a uniform pick would give 0.25.
    assert np.mean(parent == 0) > 0.55


def final_hypervolume(result, table):
    signs = pareto.minimisation_signs(COLUMNS)
    values = np.asarray(table.query_many(table.archs, COLUMNS)) * signs
    low, high = values.min(axis=0), values.max(axis=0)
    points = (np.asarray(result.objective) * signs - low) / (high - low)
    valid = np.all(np.isfinite(points), axis=-1)
    return jax.vmap(pareto.hypervolume_2d, in_axes=(0, None, 0))(
        jnp.asarray(points), jnp.ones(2), jnp.asarray(valid)
    )


@pytest.mark.parametrize("name", ["nsga2", "mo-rea"])
def test_multi_objective_search_beats_random_hypervolume(
    name, nb201_space, conflicting_table
):
    keys = jax.random.split(jax.random.key(0), 16)
    volumes = {}
    for label, strategy in [
        ("random", search.random_search(nb201_space, num_objectives=2)),
        (name, search.get(name)(nb201_space, num_objectives=2)),
    ]:
        result = search.run_seeds(
            strategy, conflicting_table, keys, 150, objective=COLUMNS
        )
        assert np.all(np.asarray(result.num_queries) == 150)
        volumes[label] = float(final_hypervolume(result, conflicting_table).mean())
    assert volumes[name] > volumes["random"]


def test_multi_objective_factories_check_their_options(nb201_space):
    with pytest.raises(ValueError, match=">= 2 objectives"):
        search.nsga2(nb201_space, num_objectives=1)
    with pytest.raises(ValueError, match=">= 2 objectives"):
        search.multi_objective_evolution(nb201_space, num_objectives=1)
    with pytest.raises(ValueError, match="batch_size"):
        search.nsga2(nb201_space, population_size=4, batch_size=8)

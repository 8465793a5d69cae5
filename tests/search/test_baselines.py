"""Local search, BANANAS, NPENAS and the path encoding (the family API tests are in
search/test_strategy.py, which parametrises over ``search.REGISTRY``)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import search, spaces
from nasjax.data import Table
from nasjax.encodings import path
from nasjax.search.bananas import BananasState, mutation_candidates, record_models

SMALL = {
    "local-search": {"num_init": 3},
    "bananas": {
        "num_init": 4,
        "batch_size": 4,
        "num_ensemble": 2,
        "num_layers": 2,
        "layer_width": 8,
        "epochs": 3,
        "num_candidates": 16,
        "capacity": 32,
    },
    "npenas": {
        "num_init": 4,
        "batch_size": 4,
        "hidden": 8,
        "num_layers": 2,
        "epochs": 3,
        "num_candidates": 16,
        "capacity": 32,
    },
}


@pytest.fixture(scope="module")
def sum_table():
    """NAS-Bench-201 with ``valid = sum(arch)``: one optimum, no plateaus off it."""
    space = spaces.nb201()
    archs = np.asarray(space.from_index(np.arange(15625)))
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 0.01, len(archs))  # breaks ties, keeps the order of sums
    values = archs.sum(axis=1) + noise
    return Table.from_rows(
        space, archs, {"toy/valid_acc": values, "toy/test_acc": values}
    )


@pytest.fixture(scope="module")
def flat_table():
    space = spaces.nb201()
    archs = np.asarray(space.from_index(np.arange(15625)))
    return Table.from_rows(space, archs, {"toy/valid_acc": np.ones(len(archs))})


# ------------------------------------------------------------ path encoding
def _nb201_reference(arch):
    """naszilla's rule, written out: paths 0->3, 0->1->3, 0->2->3, 0->1->2->3."""
    features = np.zeros(155)
    for blueprint in ((3,), (0, 4), (1, 5), (0, 2, 5)):
        offset = {1: 0, 2: 5, 3: 30}[len(blueprint)]
        features[offset + sum(arch[s] * 5**j for j, s in enumerate(blueprint))] = 1
    return features


def test_nb201_path_encoding_matches_the_path_rule(nb201_space):
    archs = np.asarray(nb201_space.from_index(np.arange(0, 15625, 7)))
    encoded = np.asarray(jax.jit(path.nb201)(archs))
    np.testing.assert_array_equal(encoded, [_nb201_reference(a) for a in archs])
    np.testing.assert_array_equal(
        np.asarray(path.encode("nb201", archs[:5], cutoff=30)), encoded[:5, :30]
    )


def _nb101_paths_by_search(space, arch):
    """Path indices of an NB101 cell by depth-first search over its pruned spec."""
    matrix, ops = space.to_spec(arch, prune=True)
    last = len(ops) - 1
    found = set()

    def walk(node, sequence):
        if node == last:
            offset = sum(3**n for n in range(len(sequence)))
            found.add(offset + sum(op * 3**j for j, op in enumerate(sequence)))
            return
        for nxt in np.flatnonzero(matrix[node]):
            step = [] if nxt == last else [space.ops.index(ops[nxt])]
            walk(int(nxt), sequence + step)

    walk(0, [])
    return found


def test_nb101_path_encoding_matches_a_depth_first_search():
    space = spaces.nb101()
    archs = np.asarray(space.sample(jax.random.key(3), 40))
    encoded = np.asarray(jax.jit(path.nb101)(archs))
    assert encoded.shape == (40, 364)
    for arch, features in zip(archs, encoded):
        assert set(np.flatnonzero(features)) == _nb101_paths_by_search(space, arch)


def test_path_encoding_rejects_other_spaces_and_bad_cutoffs():
    with pytest.raises(ValueError, match="no path encoding"):
        path.num_features("fbnet")
    with pytest.raises(ValueError, match="cutoff"):
        path.encode("nb201", jnp.zeros((1, 6), jnp.int32), cutoff=200)


# ------------------------------------------------------------- local search
def test_first_improvement_always_steps_from_the_best_so_far(key, sum_table):
    strategy = search.local_search(sum_table.space, num_init=10)
    result = search.run(strategy, sum_table, key, 60, objective="toy/valid_acc")
    archs, values = np.asarray(result.archs), np.asarray(result.objective)
    optimum = np.full(6, 4)
    for q in range(10, 60):
        best = archs[np.argmax(values[:q])]
        if np.array_equal(best, optimum):
            break
        # On a single-peaked table every move is up: the centre is the best so far.
        assert np.sum(archs[q] != best) == 1, q


def test_local_search_reaches_the_optimum_of_a_single_peak(sum_table):
    keys = jax.random.split(jax.random.key(5), 8)
    for first in (True, False):
        strategy = search.local_search(sum_table.space, first_improvement=first)
        result = search.run_seeds(
            strategy, sum_table, keys, 150, objective="toy/valid_acc"
        )
        best = np.asarray(result.best_objective)[:, -1]
        np.testing.assert_array_less(24.0 - 1e-6, best)  # sum(4 * 6) + noise


def test_local_search_restarts_at_a_local_optimum(key, flat_table):
    # All equal: the best of the 3 start models has no better neighbour; the full
    # neighbourhood (24) is scanned around it, then 3 fresh random starts follow.
    strategy = search.local_search(flat_table.space, num_init=3)
    result = search.run(strategy, flat_table, key, 40, objective="toy/valid_acc")
    archs = np.asarray(result.archs)
    centre = archs[0]  # first of equals wins
    scanned = archs[3:27]
    assert np.all(np.sum(scanned != centre, axis=1) == 1)
    assert len({tuple(a) for a in scanned}) == 24
    # The restart: 3 random models, then the neighbours of the first of them.
    assert np.all(np.sum(archs[27:30] != centre, axis=1) > 1)
    assert np.all(np.sum(archs[30:] != archs[27], axis=1) == 1)
    assert bool(result.state.scanning) and int(result.state.position) == 10


# ---------------------------------------------------------- BANANAS / NPENAS
@pytest.mark.parametrize("space_name", ["nb201", "nb101"])
def test_mutation_candidates_are_new_valid_and_unique(space_name):
    space = getattr(spaces, space_name)()
    queried = space.sample(jax.random.key(1), 12)
    fitness = jnp.arange(12.0)
    live = jnp.ones(12, bool).at[11].set(False)
    candidates, mask = jax.jit(
        lambda k: mutation_candidates(
            space, k, queried, fitness, live, num_candidates=30, num_parents=1
        )
    )(jax.random.key(2))
    picked = np.asarray(candidates)[np.asarray(mask)]
    assert len(picked) >= 30
    assert len({tuple(a) for a in picked}) == len(picked)
    assert np.all(np.asarray(space.is_valid(picked)))
    kept = {tuple(a) for a in np.asarray(queried)[:11]}
    assert not kept & {tuple(a) for a in picked}
    # The first block mutates the best (lowest fitness) model.
    first = np.asarray(candidates)[:30][np.asarray(mask)[:30]]
    assert np.all(np.sum(first != np.asarray(queried)[0], axis=1) >= 1)


def test_record_models_skips_repeats_and_failures_and_replaces_the_worst():
    state = BananasState(
        archs=jnp.zeros((3, 2), jnp.int32),
        fitness=jnp.full((3,), jnp.inf),
        live=jnp.zeros((3,), bool),
        step=jnp.int32(0),
    )
    archs = jnp.array([[1, 1], [2, 2], [1, 1], [3, 3], [4, 4], [5, 5]])
    fitness = jnp.array([5.0, 4.0, 5.0, jnp.nan, 3.0, 9.0])
    state = record_models(state, archs, fitness)
    kept = {tuple(a): f for a, f, alive in zip(*map(np.asarray, state[:3])) if alive}
    # [1,1] once, NaN skipped, [4,4] fills the last slot, [5,5] is worse than all.
    assert kept == {(1, 1): 5.0, (2, 2): 4.0, (4, 4): 3.0}
    state = record_models(state, jnp.array([[6, 6]]), jnp.array([1.0]))
    kept = {
        tuple(a)
        for a, alive in zip(np.asarray(state.archs), np.asarray(state.live))
        if alive
    }
    assert kept == {(6, 6), (2, 2), (4, 4)}  # replaced the worst, [1,1]


@pytest.mark.parametrize("name", ["bananas", "npenas"])
def test_predictor_guided_search_beats_random_on_a_smooth_table(name, sum_table):
    keys = jax.random.split(jax.random.key(7), 4)
    means = {}
    options = {
        "bananas": {"num_ensemble": 3, "epochs": 20, "capacity": 40},
        "npenas": {"hidden": 16, "epochs": 20, "capacity": 40},
    }[name]
    for method, strategy in (
        ("random", search.random_search(sum_table.space, batch_size=10)),
        (name, search.get(name)(sum_table.space, **options)),
    ):
        result = search.run_seeds(
            strategy, sum_table, keys, 40, objective="toy/valid_acc"
        )
        means[method] = float(np.asarray(result.best_objective)[:, -1].mean())
    assert means[name] > means["random"] + 1.0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_new_keys_and_tables_do_not_retrace(name, sum_table):
    strategy = search.get(name)(sum_table.space, **SMALL[name])
    other = jax.tree.map(lambda x: x + 0, sum_table)
    chex.clear_trace_counter()  # one counter per parametrised function

    @chex.assert_max_traces(n=1)
    def traced(table, key):
        return search.run(strategy, table, key, 16, objective="toy/valid_acc")

    jitted = jax.jit(traced)
    for seed, table in enumerate([sum_table, other, sum_table]):
        jitted(table, jax.random.key(seed))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_nb101_runs_and_asks_valid_cells(name):
    space = spaces.nb101()
    archs = np.unique(
        np.asarray(space.canonical(space.sample(jax.random.key(0), 800))), axis=0
    )
    values = np.random.default_rng(0).uniform(80, 95, len(archs))
    table = Table.from_rows(
        space, archs, {"toy/valid_acc": values}, canonical_keys=True
    )
    strategy = search.get(name)(space, **SMALL[name])
    state = strategy.init(jax.random.key(1))
    asked, _ = jax.jit(strategy.ask)(jax.random.key(2), state)
    assert np.all(np.asarray(space.is_valid(asked)))
    result = search.run(
        strategy, table, jax.random.key(3), 8, objective="toy/valid_acc"
    )
    assert int(result.num_queries) == 8


@pytest.mark.parametrize(
    ("factory", "options", "match"),
    [
        (search.local_search, {"num_init": 0}, "num_init"),
        (search.local_search, {"batch_size": 4}, "no option 'batch_size'"),
        (search.bananas, {"encoding": "adjacency"}, "encoding"),
        (search.bananas, {"acquisition": "ei"}, "acquisition"),
        (search.bananas, {"num_init": 15}, "multiple of batch_size"),
        (search.bananas, {"num_candidates": 5}, "num_candidates"),
        (search.npenas, {"capacity": 5}, "capacity"),
        (search.npenas, {"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_options_are_value_errors(factory, options, match, nb201_space):
    with pytest.raises(ValueError, match=match):
        factory(nb201_space, **options)


def test_bananas_encodings_are_selectable(nb201_space, key, sum_table):
    archs = nb201_space.sample(key, 4)
    fitness = -sum_table.query(archs, "toy/valid_acc")
    for encoding in ("path", "onehot", "graph"):
        strategy = search.bananas(
            nb201_space, encoding=encoding, **{**SMALL["bananas"], "epochs": 2}
        )
        state = strategy.tell(strategy.init(key), archs, fitness)  # then guided
        asked, _ = jax.jit(strategy.ask)(key, state)
        assert np.all(np.asarray(nb201_space.is_valid(asked)))
        seen = {tuple(a) for a in np.asarray(archs)}
        assert not seen & {tuple(a) for a in np.asarray(asked)}
    with pytest.raises(ValueError, match="no path encoding"):
        search.bananas(spaces.fbnet(), encoding="path")

"""The ask/tell loop: every strategy on a synthetic table, eager/jit/vmap/scan."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import search
from nasjax.data import Table
from nasjax.search import strategy as strategy_module
from nasjax.search.strategy import Strategy

TRANSFORMS = [pytest.param(lambda f: f, id="eager"), pytest.param(jax.jit, id="jit")]
SMALL = {
    "random": {"batch_size": 4},
    "rea": {"population_size": 8, "tournament_size": 3, "batch_size": 2},
    "nsga2": {"population_size": 8, "batch_size": 4},
    "mo-rea": {"population_size": 8, "tournament_size": 3, "batch_size": 2},
    "brp": {
        "budget": 30,
        "iterations": 3,
        "hidden": 8,
        "num_layers": 2,
        "epochs": 6,
        "max_candidates": 0,
        "pool_size": 256,
    },
    **{
        name: {
            "decoder": "oneshot",
            "latent_dim": 4,
            "node_dim": 4,
            "hidden": 16,
            "ticks": 2,
            "batch_size": 4,
            "num_candidates": 64,
            "max_chunks": 2,
            "num_ranked": 8,
            "max_queries": 48,
            "pretrain_steps": 10,
        }
        for name in ("agnet", "agnet-hw")
    },
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
MULTI = ("toy/valid_acc", "toy/latency")


@pytest.fixture(scope="module")
def toy_table():
    from nasjax.spaces import nb201

    space = nb201()
    rng = np.random.default_rng(0)
    archs = np.asarray(space.from_index(np.arange(15625)))
    valid = rng.uniform(0, 100, 15625)
    smooth = archs.sum(axis=1) + rng.normal(0, 1, 15625)  # neighbours look alike
    return Table.from_rows(
        space,
        archs,
        {
            "toy/valid_acc": valid,
            "toy/test_acc": valid + rng.normal(0, 1, 15625),
            "toy/latency": rng.uniform(1, 10, 15625),
            "toy/smooth_acc": smooth,
        },
    )


@functools.cache
def _small_strategy(name):
    from nasjax.spaces import nb201

    return search.get(name)(nb201(), **SMALL[name])


@pytest.fixture(params=sorted(search.REGISTRY))
def strategy(request):
    # One object per name, so tests with the same arguments share compilations.
    return _small_strategy(request.param)


def objectives_of(strategy, first="toy/valid_acc"):
    """The objective argument for ``strategy``: one column, or ``first`` + latency."""
    if strategy.num_objectives == 1:
        return first
    return (first, "toy/valid_acc" if first == "toy/latency" else "toy/latency")


def first_objective(result):
    return np.asarray(result.objective).reshape(result.objective.shape[0], -1)[:, 0]


def run(strategy, table, key, num_queries=20, **kwargs):
    first = kwargs.pop("objective", "toy/valid_acc")
    return search.run(
        strategy,
        table,
        key,
        num_queries,
        objective=objectives_of(strategy, first),
        report="toy/test_acc",
        **kwargs,
    )


def toy_fitness(strategy, table, archs):
    """Minimised fitness of ``archs`` with the shape ``strategy`` is told."""
    columns = objectives_of(strategy)
    if isinstance(columns, str):
        return -table.query(archs, columns)
    return table.query_many(archs, columns) * jnp.array([-1.0, 1.0])


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_ask_tell_keeps_state_shapes(transform, strategy, key, nb201_space):
    state = strategy.init(key)
    archs, state = transform(strategy.ask)(key, state)
    chex.assert_shape(archs, (strategy.batch_size, nb201_space.num_slots))
    assert bool(jnp.all(nb201_space.is_valid(archs)))
    shape = (strategy.batch_size,)
    if strategy.num_objectives > 1:
        shape += (strategy.num_objectives,)
    fitness = jnp.full(shape, jnp.nan).at[0].set(1.0)  # NaN = not evaluated
    new_state = transform(strategy.tell)(state, archs, fitness)
    chex.assert_trees_all_equal_shapes_and_dtypes(new_state, state)
    assert all(
        bool(jnp.all(~jnp.isnan(x)))
        for x in jax.tree.leaves(new_state)
        if jnp.issubdtype(x.dtype, jnp.floating)
    )


def test_ask_tell_under_scan(strategy, key, toy_table):
    def step(state, key):
        archs, state = strategy.ask(key, state)
        fitness = toy_fitness(strategy, toy_table, archs)
        return strategy.tell(state, archs, fitness), fitness.min()

    state, best = jax.jit(
        lambda k: jax.lax.scan(step, strategy.init(k), jax.random.split(k, 10))
    )(key)
    chex.assert_shape(best, (10,))
    assert bool(jnp.all(jnp.isfinite(best)))


def test_run_counts_unique_queries_keeps_running_bests_and_vmaps_per_key(
    strategy, key, toy_table
):
    """Every check shares one compiled ``run`` per strategy (compiling is the cost)."""
    keys = jax.random.split(key, 3)
    batched = search.run_seeds(
        strategy,
        toy_table,
        keys,
        20,
        objective=objectives_of(strategy),
        report="toy/test_acc",
    )
    alone = [run(strategy, toy_table, k) for k in keys]
    chex.assert_trees_all_equal(alone[0], run(strategy, toy_table, keys[0]))

    # Exactly the budget of unique queries, each told its table values.
    result = alone[0]
    assert int(result.num_queries) == 20
    archs = np.asarray(result.archs)
    assert len(np.unique(archs, axis=0)) == 20 and np.all(archs >= 0)
    columns = objectives_of(strategy)
    expected = (
        toy_table.query(archs, columns)
        if isinstance(columns, str)
        else toy_table.query_many(archs, columns)
    )
    np.testing.assert_array_equal(result.objective, expected)
    np.testing.assert_array_equal(result.report, toy_table.query(archs, "toy/test_acc"))

    # The curves are running bests.
    objective, report = first_objective(result), np.asarray(result.report)
    np.testing.assert_array_equal(
        result.best_objective, np.maximum.accumulate(objective)
    )
    np.testing.assert_array_equal(result.best_report, np.maximum.accumulate(report))
    at_best = [report[np.argmax(objective[: q + 1])] for q in range(20)]
    np.testing.assert_array_equal(result.best_objective_report, at_best)

    # vmap over keys gives each key's run alone.
    for i in range(3):
        seed = jax.tree.map(lambda x, i=i: x[i], batched)
        chex.assert_trees_all_close(
            seed._replace(state=None), alone[i]._replace(state=None)
        )
        # Trained states (BRP's predictor) may differ by batched-matmul rounding.
        chex.assert_trees_all_close(seed.state, alone[i].state, rtol=1e-3, atol=1e-5)
    assert not np.array_equal(batched.archs[0], batched.archs[1])


@pytest.mark.parametrize("name", ["random", "nsga2"])
def test_minimised_objective_takes_running_minimum(name, key, toy_table):
    # The running best is run's bookkeeping, the same for every strategy: one single-
    # and one multi-objective strategy cover it.
    strategy = _small_strategy(name)
    result = run(strategy, toy_table, key, num_queries=15, objective="toy/latency")
    np.testing.assert_array_equal(
        result.best_objective, np.minimum.accumulate(first_objective(result))
    )


def test_rea_beats_random_on_average(nb201_space, toy_table):
    keys = jax.random.split(jax.random.key(1), 32)
    means = {}
    for name in ("random", "rea"):
        strategy = search.get(name)(nb201_space)
        result = search.run_seeds(
            strategy, toy_table, keys, 150, objective="toy/smooth_acc"
        )
        means[name] = float(result.best_objective[:, -1].mean())
    assert means["rea"] > means["random"]


def test_requeries_are_free_and_the_step_cap_stops_the_loop(
    nb201_space, key, toy_table
):
    same = Strategy(
        init_fn=lambda k, p: jnp.int32(0),
        ask_fn=lambda k, s, p: (jnp.zeros((2, 6), jnp.int32), s),
        tell_fn=lambda s, a, f, p: s + 1,
        batch_size=2,
        name="same",
    )
    result = search.run(same, toy_table, key, 5, objective="toy/valid_acc", max_steps=7)
    assert int(result.num_queries) == 1 and int(result.num_steps) == 7
    assert np.all(np.isnan(np.asarray(result.objective)[1:]))


def test_unknown_strategy_names_the_valid_ones():
    with pytest.raises(ValueError, match="choose from"):
        search.get("bayesian")


def recording_strategy(batches):
    """Asks the given batches in turn; its state records every fitness it is told."""
    batches = jnp.asarray(batches, jnp.int32)

    def init(key, params):
        return jnp.int32(0), jnp.zeros((len(batches), batches.shape[1]))

    def ask(key, state, params):
        return batches[state[0]], state

    def tell(state, archs, fitness, params):
        step, told = state
        return step + 1, told.at[step].set(fitness)

    return Strategy(init, ask, tell, batches.shape[1], "recording")


def test_budget_overflow_tells_nan_also_to_repeats(nb201_space, key, toy_table):
    a, b = [[0] * 6, [1] * 6]
    strategy = recording_strategy([[a, b, b]])
    result = search.run(strategy, toy_table, key, 1, objective="toy/valid_acc")
    told = np.asarray(result.state[1][0])
    assert int(result.num_queries) == 1
    assert told[0] == -float(toy_table.query(jnp.array(a), "toy/valid_acc"))
    # b was never paid for: told NaN by run, which Strategy.tell passes on as +inf
    assert np.isposinf(told[1]) and np.isposinf(told[2])


def test_archs_missing_from_the_table_cost_nothing(nb201_space, key):
    archs = np.asarray(nb201_space.from_index(np.arange(15625)))
    kept = archs[::3]
    table = Table.from_rows(nb201_space, kept, {"toy/valid_acc": np.ones(len(kept))})
    strategy = search.random_search(nb201_space, batch_size=8)
    result = search.run(strategy, table, key, 40, objective="toy/valid_acc")
    assert int(result.num_queries) == 40
    assert np.all(np.asarray(table.rows(result.archs)) >= 0)  # only archs in the table
    np.testing.assert_array_equal(result.objective, 1.0)


def test_new_keys_and_tables_do_not_retrace(nb201_space, toy_table):
    strategy = search.regularized_evolution(nb201_space, population_size=8)
    other_table = jax.tree.map(lambda x: x + 0, toy_table)  # same shapes, new arrays

    @chex.assert_max_traces(n=1)
    def traced(table, key):
        return search.run(strategy, table, key, 12, objective="toy/valid_acc")

    jitted = jax.jit(traced)
    for seed, table in enumerate([toy_table, other_table, toy_table]):
        jitted(table, jax.random.key(seed))


def test_constraint_keeps_every_query_feasible_and_infeasible_ones_free(
    nb201_space, key, toy_table
):
    strategy = search.regularized_evolution(nb201_space, population_size=8)
    result = search.run(
        strategy,
        toy_table,
        key,
        30,
        objective="toy/valid_acc",
        constraint="toy/latency",
        limit=3.0,
    )
    assert int(result.num_queries) == 30
    latency = np.asarray(toy_table.query(result.archs, "toy/latency"))
    assert np.all(latency <= 3.0)
    # The limit is traced: a vmap over limits compiles once and honours each limit.
    limits = jnp.array([2.0, 5.0, 9.0])
    runs = jax.vmap(
        lambda limit: search.run(
            strategy,
            toy_table,
            key,
            10,
            objective="toy/valid_acc",
            constraint="toy/latency",
            limit=limit,
        )
    )(limits)
    worst = np.nanmax(np.asarray(toy_table.query(runs.archs, "toy/latency")), axis=1)
    assert np.all(worst <= np.asarray(limits))


def test_multi_objective_strategies_are_told_minimised_vectors(key, toy_table):
    batches = jnp.asarray([[[0] * 6, [1] * 6]], jnp.int32)

    def tell(state, archs, fitness, params):
        return state.at[:].set(fitness)

    strategy = Strategy(
        init_fn=lambda k, p: jnp.zeros((2, 2)),
        ask_fn=lambda k, s, p: (batches[0], s),
        tell_fn=tell,
        batch_size=2,
        name="two",
        num_objectives=2,
    )
    columns = ("toy/valid_acc", "toy/latency")
    result = search.run(strategy, toy_table, key, 2, objective=columns)
    expected = toy_table.query_many(batches[0], columns) * jnp.array([-1.0, 1.0])
    np.testing.assert_array_equal(result.state, expected)
    assert result.objective.shape == (2, 2)
    with pytest.raises(ValueError, match="optimises 2 objective"):
        search.run(strategy, toy_table, key, 2, objective="toy/valid_acc")


@pytest.mark.parametrize(
    "name, field, values",
    [
        ("nsga2", "crossover_rate", (0.0, 1.0)),
        ("bananas", "learning_rate", (1e-3, 0.1)),
    ],
)
def test_vmap_over_traced_params_compiles_once_and_equals_each_run(
    name, field, values, key, toy_table
):
    strategy = _small_strategy(name)
    each = [strategy.with_params(**{field: v}) for v in values]
    stacked = jax.tree.map(lambda *x: jnp.stack([jnp.float32(v) for v in x]), *each)
    chex.clear_trace_counter()  # one counter per parametrised function

    @jax.jit
    @chex.assert_max_traces(n=1)
    def runs(params):
        return run(strategy, toy_table, key, 16, params=params)

    batched = jax.vmap(runs)(stacked)
    for i, params in enumerate(each):
        alone = run(
            strategy, toy_table, key, 16, params=jax.tree.map(jnp.float32, params)
        )
        np.testing.assert_array_equal(batched.archs[i], alone.archs)
        np.testing.assert_array_equal(batched.best_objective[i], alone.best_objective)
    # The two settings search differently (the parameter reaches the strategy).
    assert not np.array_equal(batched.archs[0], batched.archs[1])


def test_equal_settings_make_equal_strategies_that_share_a_compilation(
    nb201_space, toy_table
):
    first = search.regularized_evolution(nb201_space, population_size=8)
    second = search.regularized_evolution(nb201_space, population_size=8)
    assert first == second and hash(first) == hash(second)
    assert first != search.regularized_evolution(nb201_space, population_size=9)

    @chex.assert_max_traces(n=1)
    def traced(strategy, key):
        return search.run(strategy, toy_table, key, 12, objective="toy/valid_acc")

    jitted = jax.jit(traced, static_argnums=0)
    for seed, strategy in enumerate([first, second]):
        jitted(strategy, jax.random.key(seed))


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("rea", {"population_size": 4, "tournament_size": 5}, "tournament_size"),
        ("nsga2", {"crossover_rate": 1.5}, "crossover_rate"),
        ("brp", {"budget": 7, "iterations": 2}, "budget"),
        ("agnet", {"learning_rate": -1.0}, "learning_rate"),
        ("agnet-hw", {"device": "abacus"}, "device"),
        ("bananas", {"acquisition": "guess"}, "acquisition"),
        ("npenas", {"dropout": 1.0}, "dropout"),
        ("local-search", {"num_init": 0}, "num_init"),
        ("random", {"batch_size": 0}, "batch_size"),
        ("brp", {"batch_size": 4}, "no option 'batch_size'"),
        ("local-search", {"batch_size": 1}, "no option 'batch_size'"),
    ],
)
def test_settings_check_every_option_before_any_work(
    name, options, message, nb201_space
):
    with pytest.raises(ValueError, match=message):
        search.get(name)(nb201_space, **options)


def test_with_params_checks_values_and_refuses_static_settings(nb201_space):
    strategy = search.nsga2(nb201_space, population_size=8)
    assert strategy.with_params(crossover_rate=0.5).crossover_rate == 0.5
    with pytest.raises(ValueError, match="crossover_rate"):
        strategy.with_params(crossover_rate=2.0)
    with pytest.raises(ValueError, match="population_size"):
        strategy.with_params(population_size=4)


def test_registry_entries_carry_their_number_of_objectives(nb201_space):
    multi = {n for n, e in search.REGISTRY.items() if e.num_objectives > 1}
    assert multi == {"nsga2", "mo-rea", "agnet-hw"}
    assert search.entry("nsga2").make(nb201_space, num_objectives=3).num_objectives == 3
    assert (
        search.entry("random").make(nb201_space, num_objectives=2).num_objectives == 2
    )
    with pytest.raises(ValueError, match="optimises 2 objective"):
        search.entry("agnet-hw").make(nb201_space, num_objectives=3)
    with pytest.raises(ValueError, match="optimises 1 objective"):
        search.entry("brp").make(nb201_space, num_objectives=2)


def test_seen_helpers_match_numpy():
    rng = np.random.default_rng(0)
    items = jnp.asarray(rng.integers(0, 3, (40, 2)))
    pool = jnp.asarray(rng.integers(0, 3, (5, 2)))
    mask = jnp.asarray([True, False, True, True, False])
    rows = [tuple(r) for r in np.asarray(items)]
    first = [rows.index(r) == i for i, r in enumerate(rows)]
    np.testing.assert_array_equal(strategy_module.first_occurrence(items), first)
    ids = items[:, 0] * 3 + items[:, 1]
    np.testing.assert_array_equal(strategy_module.first_occurrence(ids), first)
    live = {tuple(r) for r, m in zip(np.asarray(pool), np.asarray(mask)) if m}
    np.testing.assert_array_equal(
        strategy_module.seen_in(items, pool, mask), [r in live for r in rows]
    )

"""BRP-NAS's iterative data selection as a strategy: what each round asks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import search, surrogates

TINY = {"budget": 20, "iterations": 2, "hidden": 8, "num_layers": 2, "epochs": 4}


@pytest.fixture(scope="module")
def after_one_round(nb201_space):
    strategy = search.brp(nb201_space, **TINY)
    state = strategy.init(jax.random.key(0))
    archs, state = jax.jit(strategy.ask)(jax.random.key(1), state)
    fitness = -jnp.asarray((np.asarray(archs) == 3).sum(1), jnp.float32)
    state = jax.jit(strategy.tell)(state, archs, fitness)
    return strategy, archs, state


def test_round_zero_is_random_and_distinct(after_one_round, nb201_space):
    strategy, archs, state = after_one_round
    assert len(np.unique(np.asarray(archs), axis=0)) == strategy.batch_size == 10
    assert int(state.count) == 10 and int(state.iteration) == 1
    assert int(state.queried.sum()) == 10 and bool(state.live[:10].all())


def test_next_round_takes_the_top_predictions_then_the_top_half(
    after_one_round, nb201_space
):
    strategy, first, state = after_one_round
    archs, _ = jax.jit(strategy.ask)(jax.random.key(2), state)
    archs = np.asarray(archs)
    model = surrogates.Predictor(head="binary", hidden=8, num_layers=2)
    every = np.asarray(nb201_space.enumerate())
    score = np.asarray(
        surrogates.scores(
            state.params,
            model.apply(state.params, *surrogates.graph_inputs(nb201_space, every)),
        )
    )
    index = np.asarray(nb201_space.index(archs))
    open_score = score.copy()
    open_score[np.asarray(nb201_space.index(first))] = -np.inf  # queried before
    # (Scores here come from one batch, the strategy's from chunks: allow rounding.)
    assert np.all(open_score[index[:5]] >= np.sort(open_score)[-5] - 1e-6)
    top_half = np.sort(score)[::-1][len(score) // 2]
    assert np.all(score[index[5:]] > top_half - 1e-6)
    assert len(set(index.tolist())) == 10
    assert not set(index.tolist()) & set(nb201_space.index(first).tolist())


def test_no_training_after_the_budget_without_fit_final(nb201_space):
    strategy = search.brp(
        nb201_space, **{**TINY, "budget": 10, "iterations": 1}, fit_final=False
    )
    state = strategy.init(jax.random.key(0))
    archs, state = strategy.ask(jax.random.key(1), state)
    told = strategy.tell(state, archs, -jnp.arange(10.0))
    jax.tree.map(np.testing.assert_array_equal, told.params, state.params)
    trained = search.brp(nb201_space, **{**TINY, "budget": 10, "iterations": 1})
    told = trained.tell(state, archs, -jnp.arange(10.0))
    assert not np.allclose(
        told.params["params"]["out"]["kernel"], state.params["params"]["out"]["kernel"]
    )


@pytest.mark.parametrize(
    "options, message",
    [
        ({"budget": 25, "iterations": 2}, "multiple of iterations"),
        ({"alpha": 1.5}, "alpha"),
        ({"mode": "slow"}, "unknown BRP mode"),
        ({"loss": "nope"}, "unknown loss"),
        ({"max_candidates": 0, "pool_size": 5}, "cannot supply"),
    ],
)
def test_bad_options_raise(nb201_space, options, message):
    with pytest.raises(ValueError, match=message):
        search.brp(nb201_space, **options)

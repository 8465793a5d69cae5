"""The AG-Net strategies: the loop, masking, the reference's weights and ranks."""

import importlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import search, spaces
from nasjax.data import Table

steps = importlib.import_module("nasjax.search._agnet_steps")

SMALL = dict(
    decoder="oneshot",
    latent_dim=4,
    node_dim=4,
    hidden=16,
    ticks=2,
    batch_size=4,
    num_candidates=64,
    max_chunks=2,
    num_ranked=8,
    max_queries=48,
    pretrain_steps=1000,
)
COLUMNS = ("toy/valid_acc", "toy/latency")


@pytest.fixture(scope="module")
def toy_table():
    space = spaces.nb201()
    rng = np.random.default_rng(0)
    archs = np.asarray(space.from_index(np.arange(15625)))
    valid = archs.sum(axis=1) * 5.0 + rng.normal(0, 1, 15625)
    return Table.from_rows(
        space,
        archs,
        {
            "toy/valid_acc": valid,
            "toy/test_acc": valid + rng.normal(0, 1, 15625),
            "toy/latency": np.where(
                rng.uniform(size=15625) < 0.2, np.nan, rng.uniform(1, 10, 15625)
            ),
        },
    )


def test_runs_inside_run_under_vmap(nb201_space, toy_table, key):
    strategy = search.agnet(nb201_space, **SMALL)
    assert search.agnet(nb201_space, **SMALL) == strategy  # one compilation
    result = search.run_seeds(
        strategy, toy_table, jax.random.split(key, 2), 40, objective="toy/valid_acc"
    )
    np.testing.assert_array_equal(result.num_queries, [40, 40])
    for archs in np.asarray(result.archs):
        assert len(np.unique(archs, axis=0)) == 40
        assert bool(jnp.all(nb201_space.is_valid(archs)))
    state = result.state
    np.testing.assert_array_equal(state.count, [40, 40])
    assert int(state.has_latent.sum()) > 0  # some asks came from the generator
    told = np.asarray(state.fitness[0, :40, 0])
    np.testing.assert_allclose(-told, np.asarray(result.objective[0]))


def test_asks_are_fresh_and_fall_back_to_random(nb201_space, key):
    """Queried archs are masked; with none fresh left the batch is random."""
    strategy = search.agnet(nb201_space, **{**SMALL, "max_queries": 15625})
    ask = jax.jit(strategy.ask)
    left = np.arange(0, 15625, 5)  # the only unqueried indices
    queried = np.setdiff1d(np.arange(15625), left)
    state = strategy.init(key)
    ids = state.ids.at[: queried.size].set(queried)
    state = state._replace(
        ids=ids,
        archs=nb201_space.from_index(jnp.maximum(ids, 0)),
        fitness=state.fitness.at[: queried.size].set(0.0),
        count=jnp.int32(queried.size),
        round=jnp.int32(1),
    )
    archs, asked = ask(key, state)
    generated = np.asarray(asked.asked_has_latent)
    index = np.asarray(nb201_space.index(archs))
    assert generated.sum() > 0 and np.isin(index[generated], left).all()
    assert len(np.unique(index[generated])) == generated.sum()
    full = state._replace(ids=jnp.arange(15625, dtype=jnp.int32))
    _, asked = ask(key, full)
    assert not bool(asked.asked_has_latent.any())


def test_retraining_weights_follow_the_reference():
    """``1 / (k N + rank)``, rank 0 the best; empty slots weigh nothing."""
    settings = search.AGNetSettings(weight_factor=0.01)
    fitness = jnp.array([[-3.0], [-1.0], [-2.0], [jnp.inf], [0.0]])
    ids = jnp.array([0, 1, 2, 3, -1])
    state = steps.AGNetState(
        *[None] * 12,
    )._replace(fitness=fitness, ids=ids)
    weights = steps._weights(state, settings, settings.params())
    np.testing.assert_allclose(
        weights, [1 / 0.03, 1 / 2.03, 1 / 1.03, 0.0, 0.0], rtol=1e-6
    )


@pytest.mark.parametrize("joint", [0, 1])
def test_hardware_ranking_is_the_reference_rank(joint):
    """``(acc_rank + joint lat_rank) x (1000 if latency > L else 1)``."""
    rng = np.random.default_rng(joint)
    acc, lat = rng.uniform(80, 90, 12), rng.uniform(1, 10, 12)
    limit = 5.0
    settings = search.AGNetHWSettings(limit=limit, joint=joint)
    valid = np.ones(12, bool)
    valid[3] = False
    key = steps._order_key(
        jnp.asarray(acc),
        jnp.asarray(lat),
        jnp.asarray(valid),
        settings,
        settings.params(),
    )
    # Search_HW.py rank_generated over the valid candidates.
    a, b = acc[valid], lat[valid]
    ranking = np.argsort(np.argsort(-a)) + 1
    ranking = ranking + joint * (np.argsort(np.argsort(b)) + 1)
    ranking = ranking * np.where(b > limit, 1000, 1)
    np.testing.assert_array_equal(np.asarray(key)[valid], ranking)
    assert np.isposinf(np.asarray(key)[3])


def test_agnet_hw_interface_in_the_vae_mode(nb201_space, toy_table, key):
    """agnet-hw, here with the VAE generator and latents near the best models."""
    strategy = search.agnet_hw(
        nb201_space,
        limit=5.0,
        joint=0,
        mode="vae",
        latent="best",
        **{**SMALL, "pretrain_steps": 0},
    )
    assert (strategy.name, strategy.num_objectives) == ("agnet-hw", 2)
    result = search.run(strategy, toy_table, key, 24, objective=COLUMNS)
    chex.assert_shape(result.objective, (24, 2))
    assert int(result.num_queries) == 24
    assert "encoder" in result.state.params
    # An unknown latency is kept as +inf: ranked last, penalised, never regressed.
    latency = np.asarray(result.objective[:, 1])
    told = np.asarray(result.state.fitness[:24, 1])
    np.testing.assert_array_equal(told, np.where(np.isnan(latency), np.inf, latency))


def test_nb101_ask_and_tell(key):
    """On NAS-Bench-101 (no table here): asks valid cells, records told values."""
    space = spaces.nb101()
    strategy = search.agnet(space, **{**SMALL, "pretrain_steps": 0})
    state = strategy.init(key)

    @jax.jit
    def round_(key, state):
        archs, state = strategy.ask(key, state)
        return archs, strategy.tell(state, archs, -jnp.arange(4.0))

    archs, state = round_(key, state)
    assert bool(jnp.all(space.is_valid(archs)))
    assert int(state.count) == len(
        np.unique(np.asarray(space.canonical(archs)), axis=0)
    )
    archs, state = round_(jax.random.key(1), state)
    assert bool(jnp.all(space.is_valid(archs))) and int(state.round) == 2


def test_bad_options_raise(nb201_space):
    for options, match in [
        ({"mode": "gan"}, "mode"),
        ({"decoder": "rnn"}, "decoder"),
        ({"alpha": 1.5}, "alpha"),
        ({"latent": "posterior"}, "latent"),
        ({"num_ranked": 2}, "num_ranked"),
        ({"ticks": 0}, "ticks"),
    ]:
        with pytest.raises(ValueError, match=match):
            search.agnet(nb201_space, **options)
    with pytest.raises(ValueError, match="device"):
        search.agnet_hw(nb201_space, device="tpu")
    with pytest.raises(ValueError, match="joint"):
        search.agnet_hw(nb201_space, joint=2)
    with pytest.raises(ValueError, match="no option 'num_objectives'"):
        search.agnet_hw(nb201_space, num_objectives=3)
    with pytest.raises(ValueError, match="fbnet"):
        search.agnet(spaces.fbnet())

"""NAS-Bench-201 space: strings, indices, canonical form, local moves."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nasjax.spaces.nb201 import NUM_ARCHS, nb201, unique_string

TRANSFORMS = [pytest.param(lambda f: f, id="eager"), pytest.param(jax.jit, id="jit")]


@pytest.fixture(scope="module")
def all_archs():
    space = nb201()
    return np.asarray(space.from_index(np.arange(NUM_ARCHS)))


def test_all_strings_round_trip(nb201_space, all_archs):
    strings = [nb201_space.to_string(a) for a in all_archs]
    assert len(set(strings)) == 15625
    np.testing.assert_array_equal(nb201_space.from_strings(strings), all_archs)


def test_string_format_is_the_benchmarks(nb201_space):
    arch = nb201_space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    )
    np.testing.assert_array_equal(arch, [3, 3, 3, 1, 0, 4])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "|nor_conv_3x3~0|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_malformed_string_raises(nb201_space, text):
    with pytest.raises(ValueError, match="not a NAS-Bench-201 arch string"):
        nb201_space.from_string(text)


def test_benchmark_index_both_ways(nb201_space, all_archs):
    index = np.asarray(nb201_space.to_benchmark_index(all_archs))
    assert sorted(index.tolist()) == list(range(15625))
    back = np.asarray(nb201_space.from_benchmark_index(index))
    np.testing.assert_array_equal(back, all_archs)


def test_benchmark_index_matches_data_order(nb201_space, data_folder):
    frame = pd.read_parquet(data_folder / "nb201_test_acc_200ep_natstss.parquet")
    archs = nb201_space.from_strings(frame["arch_str"])
    np.testing.assert_array_equal(
        nb201_space.to_benchmark_index(archs), frame["arch_idx"]
    )


def test_canonical_gives_6466_classes(nb201_space, all_archs):
    canonical = np.asarray(nb201_space.canonical(all_archs))
    assert len(np.unique(canonical, axis=0)) == 6466
    np.testing.assert_array_equal(nb201_space.canonical(canonical), canonical)


def test_canonical_matches_nats_unique_str(nb201_space, data_folder):
    frame = pd.read_parquet(data_folder / "nb201_test_acc_200ep_natstss.parquet")
    archs = nb201_space.from_strings(frame["arch_str"])
    keys = np.asarray(nb201_space.index(nb201_space.canonical(archs)))
    # Same partition: each unique_str maps to one canonical key and vice versa.
    pairs = set(zip(frame["unique_str"], keys.tolist()))
    assert (
        len(pairs) == frame["unique_str"].nunique() == len(set(keys.tolist())) == 6466
    )


def test_a_whole_isomorphism_class_shares_one_canonical_form(nb201_space, all_archs):
    # NATS-Bench lists 275 cells whose output is a single conv3x3 of the input.
    members = np.array(
        [a for a in all_archs if unique_string(a) == "#+#+(0)@nor_conv_3x3"]
    )
    assert len(members) == 275
    canonical = np.asarray(nb201_space.canonical(members))
    assert len(np.unique(canonical, axis=0)) == 1
    other = nb201_space.from_string(
        "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
    )
    assert not np.array_equal(nb201_space.canonical(other), canonical[0])


def test_341_cells_are_disconnected(nb201_space, all_archs):
    assert int(jnp.sum(~nb201_space.is_connected(all_archs))) == 341


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_sample_mutate_crossover_are_valid(transform, nb201_space, key):
    keys = jax.random.split(key, 3)
    archs = transform(lambda k: nb201_space.sample(k, 64))(keys[0])
    chex.assert_shape(archs, (64, 6))
    assert bool(jnp.all(nb201_space.is_valid(archs)))
    children = transform(jax.vmap(nb201_space.mutate))(
        jax.random.split(keys[1], 64), archs
    )
    assert bool(jnp.all(jnp.sum(children != archs, axis=1) == 1))
    mixed = transform(jax.vmap(nb201_space.crossover))(
        jax.random.split(keys[2], 64), archs, children
    )
    from_a_or_b = (mixed == archs) | (mixed == children)
    assert bool(jnp.all(from_a_or_b)) and bool(jnp.all(nb201_space.is_valid(mixed)))


def test_same_key_same_sample(nb201_space, key):
    np.testing.assert_array_equal(
        nb201_space.sample(key, 8), nb201_space.sample(key, 8)
    )
    other = nb201_space.sample(jax.random.key(1), 8)
    assert not np.array_equal(nb201_space.sample(key, 8), other)


def test_neighbours_are_all_one_edit_moves(nb201_space):
    arch = jnp.array([0, 1, 2, 3, 4, 0])
    neighbours, valid = jax.jit(nb201_space.neighbours)(arch)
    chex.assert_shape(neighbours, (24, 6))
    assert bool(jnp.all(valid))
    assert bool(jnp.all(jnp.sum(neighbours != arch, axis=1) == 1))
    assert len(np.unique(np.asarray(neighbours), axis=0)) == 24


def test_enumerate_lists_the_space(nb201_space):
    archs = nb201_space.enumerate()
    chex.assert_shape(archs, (15625, 6))
    np.testing.assert_array_equal(nb201_space.index(archs), np.arange(15625))

"""Table pytree: lookups inside jit, NaN for unknown entries, additive columns."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax.data import AdditiveColumn, Table, higher_is_better


@pytest.fixture
def half_table(nb201_space):
    rng = np.random.default_rng(0)
    archs = np.asarray(nb201_space.from_index(np.arange(15625)))
    rows = rng.permutation(15625)[:7000]
    values = rng.normal(size=7000)
    values[:10] = np.nan  # missing values inside the table
    return (
        Table.from_rows(nb201_space, archs[rows], {"toy/valid_acc": values}),
        archs,
        rows,
        values,
    )


def test_query_returns_each_rows_value_and_nan_elsewhere(half_table):
    table, archs, rows, values = half_table
    got = np.asarray(jax.jit(lambda t, a: t.query(a, "toy/valid_acc"))(table, archs))
    expected = np.full(15625, np.nan, np.float32)
    expected[rows] = values
    np.testing.assert_array_equal(got, expected)  # NaNs compare equal here


def test_rows_are_minus_one_when_absent(half_table):
    table, archs, rows, _ = half_table
    found = np.asarray(table.rows(archs))
    absent = np.setdiff1d(np.arange(15625), rows)
    assert np.all(found[absent] == -1)
    np.testing.assert_array_equal(np.asarray(table.archs)[found[rows]], archs[rows])


def test_out_of_range_archs_are_never_a_real_row(half_table, nb201_space):
    table, archs, _, _ = half_table
    full = Table.from_rows(nb201_space, archs, {"toy/valid_acc": np.arange(15625.0)})
    bad = jnp.array([[4, 4, 4, 4, 4, 5], [0, 0, 0, 0, 0, -1], [-1] * 6])
    for t in (table, full):
        np.testing.assert_array_equal(t.rows(bad), [-1, -1, -1])
        assert bool(jnp.all(jnp.isnan(t.query(bad, "toy/valid_acc"))))


def test_query_vmaps_over_leading_axes(half_table):
    table, archs, _, _ = half_table
    grid = archs[:24].reshape(2, 3, 4, 6)
    got = jax.vmap(lambda a: table.query(a, "toy/valid_acc"))(grid)
    chex.assert_shape(got, (2, 3, 4))
    np.testing.assert_array_equal(
        got.reshape(-1), table.query(archs[:24], "toy/valid_acc")
    )


def test_additive_column_sums_slots(nb201_space):
    per_slot = np.arange(30, dtype=np.float32).reshape(6, 5)
    table = Table.from_rows(
        nb201_space,
        np.zeros((0, 6)),
        {},
        additive={"toy/latency": AdditiveColumn(per_slot, 1.5)},
    )
    arch = jnp.array([0, 1, 2, 3, 4, 0])
    assert float(table.query(arch, "toy/latency")) == 1.5 + 0 + 6 + 12 + 18 + 24 + 25
    assert np.isnan(float(table.query(jnp.array([0, 0, 0, 0, 0, 9]), "toy/latency")))
    batch = jnp.stack([arch, jnp.zeros(6, jnp.int32)]).reshape(2, 1, 6)
    np.testing.assert_array_equal(table.query(batch, "toy/latency"), [[86.5], [76.5]])


def test_bad_tables_and_columns_raise(nb201_space):
    with pytest.raises(ValueError, match="twice"):
        Table.from_rows(nb201_space, np.zeros((2, 6)), {"a": np.zeros(2)})
    with pytest.raises(ValueError, match="outside"):
        Table.from_rows(nb201_space, np.full((1, 6), 7), {"a": np.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        Table.from_rows(nb201_space, np.zeros((1, 6)), {"a": np.zeros(3)})
    table = Table.from_rows(nb201_space, np.zeros((1, 6)), {"a/test_acc": np.zeros(1)})
    with pytest.raises(ValueError, match="available: a/test_acc"):
        table.query(jnp.zeros(6, int), "nope")


def test_merge_unions_rows_and_fills_missing(nb201_space):
    first = Table.from_rows(nb201_space, [[0] * 6, [1] * 6], {"x": [1.0, np.nan]})
    second = Table.from_rows(
        nb201_space, [[1] * 6, [2] * 6], {"x": [5.0, 6.0], "y": [7.0, 8.0]}
    )
    merged = first.merge(second)
    archs = jnp.array([[0] * 6, [1] * 6, [2] * 6])
    np.testing.assert_array_equal(merged.query(archs, "x"), [1.0, 5.0, 6.0])
    np.testing.assert_array_equal(merged.query(archs, "y"), [np.nan, 7.0, 8.0])


def test_direction_of_columns():
    assert higher_is_better("cifar100/valid_acc") and higher_is_better(
        "cifar10/test_acc_12ep"
    )
    assert not higher_is_better("cifar10/edgegpu_latency")
    assert not higher_is_better("cifar10/params")


def test_within_limit_follows_the_columns_direction():
    from nasjax.data import within_limit

    values = np.array([1.0, 5.0, np.nan])
    np.testing.assert_array_equal(within_limit(values, "x/latency", 2.0), [1, 0, 0])
    np.testing.assert_array_equal(within_limit(values, "x/test_acc", 2.0), [0, 1, 0])

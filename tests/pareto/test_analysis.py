"""pareto.analyse: normalised points, hypervolume curves and fronts of recorded
searches against the table's exact front."""

import numpy as np
import pytest

from nasjax import pareto

COLUMNS = ("cifar10-valid/valid_acc", "cifar10/edgegpu_latency")


@pytest.fixture(scope="module")
def recorded(synthetic_table):
    """Seed 0 queried the table's exact front, then nothing (two -1 rows); seed 1
    queried the table's first rows."""
    front_archs, front_values = pareto.table_front(synthetic_table, COLUMNS)
    num_front = len(front_archs)
    seed0 = np.concatenate([front_archs, -np.ones((2, front_archs.shape[1]), int)])
    seed1 = np.asarray(synthetic_table.archs)[: num_front + 2]
    return np.stack([seed0, seed1]), front_values, num_front


def test_analyse_finds_the_table_front_and_its_hypervolume(synthetic_table, recorded):
    archs, front_values, num_front = recorded
    ends = [1, num_front, num_front + 2]
    found = pareto.analyse(synthetic_table, archs, COLUMNS, ends=ends)

    np.testing.assert_allclose(found.values[0, :num_front], front_values, rtol=1e-6)
    assert found.valid[0].tolist() == [True] * num_front + [False, False]
    assert np.all(found.points[0, num_front:] == 1.0)  # missing: the reference
    accuracy = np.asarray(synthetic_table.values(COLUMNS[0]), np.float64)
    latency = np.asarray(synthetic_table.values(COLUMNS[1]), np.float64)
    np.testing.assert_allclose(found.best, [accuracy.max(), latency.min()])
    np.testing.assert_allclose(found.worst, [accuracy.min(), latency.max()])
    assert np.all((found.points >= 0) & (found.points <= 1))

    np.testing.assert_allclose(found.table_front, front_values, rtol=1e-6)
    assert 0 < found.table_hv < 1
    assert found.curves.shape == (2, 3)
    assert np.all(np.diff(found.curves, axis=1) >= -1e-6)
    assert found.curves[0, 1] == pytest.approx(found.table_hv, rel=1e-5)
    assert found.curves[0, 2] == found.curves[0, 1]  # invalid points add nothing
    assert found.curves[1, -1] <= found.table_hv + 1e-6
    assert found.on_front[0].tolist() == [True] * num_front + [False, False]
    assert not np.any(found.on_front[1] & ~found.valid[1])


def test_a_constraint_shrinks_the_table_front(synthetic_table, recorded):
    archs, _, _ = recorded
    latency = np.asarray(synthetic_table.values(COLUMNS[1]))
    limit = float(np.median(latency))
    free = pareto.analyse(synthetic_table, archs, COLUMNS, ends=[4])
    bound = pareto.analyse(
        synthetic_table, archs, COLUMNS, ends=[4], constraint=COLUMNS[1], limit=limit
    )
    assert np.all(bound.table_front[:, 1] <= limit)
    assert len(bound.table_front) < len(free.table_front)
    assert bound.table_hv < free.table_hv
    np.testing.assert_array_equal(bound.curves, free.curves)  # points as recorded


def test_lookup_values_gives_nan_for_missing_rows(synthetic_table):
    archs = np.asarray(synthetic_table.archs)[:2]
    archs = np.stack([archs, -np.ones_like(archs)])  # [2, 2, S]
    values = pareto.lookup_values(synthetic_table, archs, COLUMNS)
    assert values.shape == (2, 2, 2)
    assert np.all(np.isfinite(values[0])) and np.all(np.isnan(values[1]))
